/* route_bench: what a routing decision costs, against baselines measured in
 * the same run.
 *
 *   route_bench -c CONFIG [-n DECISIONS]
 *
 * Decides DECISIONS appeals (typical Russian comments on the example pages,
 * with and without a classification) with route_decide() and the config's
 * rules, and times three baselines on the same inputs: the page lookup alone
 * (what routing was before rules), folding the text alone (textfold.c), and
 * copying the text (memcpy: the floor of touching it at all).  Prints one JSON
 * object; ratios are "how many times the baseline's time a decision takes". */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "directory.h"
#include "route.h"
#include "rules.h"
#include "textfold.h"

struct sample {
    const char *page, *text, *category, *municipality, *kind;
};

static const struct sample samples[] = {
    {"100001", "Добрый день. На ул. Пионерской третий день яма на дороге, машины бьют колёса",
     "roads", NULL, "complaint"},
    {"100002", "Когда откроют поликлинику в Яблоновском? Записаться к терапевту невозможно",
     "health", "takhtamukaysky", "question"},
    {"100001", "Третий день нет воды в доме на Чкалова, 12. Водоканал не отвечает",
     "housing", "maykop", "complaint"},
    {"100003", "Просим установить светофор у школы №3 в Энеме, дети переходят дорогу",
     "roads", "takhtamukaysky", "request"},
    {"100005", "👍👍👍 Спасибо за новости!", NULL, NULL, "gratitude"},
    {"100004", "В детском саду №12 опять не хватает мест, очередь не движется",
     "education", "maykop", "complaint"},
    {"100005", "Мусор не вывозят неделю, контейнерная площадка переполнена",
     "waste", "giaginsky", "complaint"},
    {"100001", "Когда уберут снег во дворе? Пройти невозможно", NULL, NULL, NULL},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile size_t sink;

int main(int argc, char **argv)
{
    const char *config = NULL;
    long n = 200000;
    int opt;
    while ((opt = getopt(argc, argv, "c:n:")) != -1) {
        if (opt == 'c')
            config = optarg;
        else if (opt == 'n')
            n = strtol(optarg, NULL, 10);
        else
            return 2;
    }
    if (config == NULL || n <= 0) {
        fprintf(stderr, "usage: route_bench -c CONFIG [-n DECISIONS]\n");
        return 2;
    }
    struct diag d = {0};
    struct config_opts o = {.path = config, .skip_plugins = true};
    struct apd_config *c = config_load(&o, &d);
    if (c == NULL) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.msg[i]);
        return 1;
    }
    size_t ns = sizeof(samples) / sizeof(samples[0]);
    char buf[512];
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        const struct sample *s = &samples[i % (long)ns];
        size_t len = strlen(s->text);
        memcpy(buf, s->text, len < sizeof(buf) ? len : sizeof(buf));
        sink += (unsigned char)buf[i % 7];
    }
    double t_copy = now_s() - t0;
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        const struct sample *s = &samples[i % (long)ns];
        sink += directory_page(c->dir, "vk", s->page) != NULL;
    }
    double t_lookup = now_s() - t0;
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        const struct sample *s = &samples[i % (long)ns];
        char *f = text_fold(s->text, strlen(s->text), NULL);
        sink += (unsigned char)f[0];
        free(f);
    }
    double t_fold = now_s() - t0;
    struct route_result r;
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        const struct sample *s = &samples[i % (long)ns];
        struct route_input in = {.source = "vk", .page = s->page, .text = s->text,
                                 .category = s->category, .municipality = s->municipality,
                                 .kind = s->kind};
        route_decide(c, &in, &r);
        sink += r.nwhy;
    }
    double t_route = now_s() - t0;
    printf("{\"decisions\":%ld,\"rules\":%zu,\"route_us\":%.3f,\"decisions_per_s\":%.0f,"
           "\"lookup_us\":%.3f,\"fold_us\":%.3f,\"copy_us\":%.3f,"
           "\"route_vs_lookup\":%.1f,\"route_vs_fold\":%.2f}\n",
           n, rules_of(c)->n, t_route / (double)n * 1e6, (double)n / t_route,
           t_lookup / (double)n * 1e6, t_fold / (double)n * 1e6, t_copy / (double)n * 1e6,
           t_route / t_lookup, t_route / t_fold);
    config_unref(c);
    diag_free(&d);
    return 0;
}
