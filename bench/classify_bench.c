/* classify_bench: texts per second through the classifier chain, against
 * baselines measured in the same run on the same texts:
 *
 *   scan      a wc-like pass: bytes, lines and UTF-8 characters counted
 *   analyze   the host's text analysis only (cleaning, words, stems,
 *             negation), what every classifier receives
 *   chain     the configured chain (classify_ru + classify_spam by default)
 *   chain+json  the chain and the JSON of the decision, as the pipeline
 *             publishes it
 *
 * Texts are the corpus's, joined to about --chars characters each.  Each
 * mode runs for --seconds of CPU time in five rounds, of which the median is
 * reported (after the first pass over the texts, reported as "cold": stem
 * cache and word memo empty); rates are per CPU
 * second of the one thread, i.e. per core, so a busy machine slows the run
 * but not the figure (the wall-clock rate is shown for comparison).
 * Resident memory is read from /proc/self/status.
 *
 *   classify_bench -c CONFIG --set daemon.plugin_dir=DIR --corpus FILE.jsonl... */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appealsd/classify.h"
#include "chain.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "sbuf.h"

struct texts {
    char **v;
    size_t *len;
    size_t n, cap;
    size_t bytes;
};

/* CPU time of this thread: texts per CPU second is texts per second on one
 * core, whatever else the machine is doing (wall time is reported too). */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static void add_text(struct texts *t, struct sbuf *b)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->v = realloc(t->v, t->cap * sizeof(*t->v));
        t->len = realloc(t->len, t->cap * sizeof(*t->len));
        if (t->v == NULL || t->len == NULL)
            abort();
    }
    t->len[t->n] = b->len;
    t->bytes += b->len;
    t->v[t->n++] = sbuf_steal(b);
}

/* The corpus texts, joined with spaces until each reaches `chars` characters. */
static int load_texts(struct texts *t, char **files, size_t nfiles, size_t chars)
{
    struct sbuf cur = SBUF_INIT;
    size_t cur_chars = 0;
    for (size_t i = 0; i < nfiles; i++) {
        FILE *f = fopen(files[i], "r");
        if (f == NULL) {
            fprintf(stderr, "classify_bench: cannot open %s\n", files[i]);
            return -1;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) > 0) {
            char err[128];
            struct json_doc *d = json_parse(line, (size_t)n, 8, err, sizeof(err));
            const struct json *txt = d ? json_get(&d->root, "text") : NULL;
            if (txt && txt->type == JSON_STRING) {
                if (cur.len)
                    sbuf_addc(&cur, ' ');
                sbuf_add(&cur, txt->u.s, txt->len);
                for (uint32_t k = 0; k < txt->len; k++)
                    cur_chars += ((unsigned char)txt->u.s[k] & 0xC0) != 0x80;
                if (cur_chars >= chars) {
                    add_text(t, &cur);
                    cur_chars = 0;
                }
            }
            json_free(d);
        }
        free(line);
        fclose(f);
    }
    sbuf_free(&cur);
    return t->n ? 0 : -1;
}

enum mode { M_SCAN, M_ANALYZE, M_CHAIN, M_JSON };
static const char *const mode_names[] = {"scan", "analyze", "chain", "chain+json"};

static volatile uint64_t sink;

static void one(enum mode m, struct classify_chain *ch, const char *s, size_t len,
                struct classify_result *res, struct sbuf *json)
{
    switch (m) {
    case M_SCAN: {
        uint64_t lines = 0, chars = 0;
        for (size_t i = 0; i < len; i++) {
            lines += s[i] == '\n';
            chars += ((unsigned char)s[i] & 0xC0) != 0x80;
        }
        sink += lines + chars + len;
        break;
    }
    case M_ANALYZE:
        sink += classify_chain_analyze(ch, s, len)->ntokens;
        break;
    case M_CHAIN:
    case M_JSON: {
        struct classify_request rq = {.text = s, .len = len, .source = "vk"};
        classify_text(ch, &rq, res);
        sink += res->nevidence;
        if (m == M_JSON) {
            sbuf_reset(json);
            classify_result_json(res, json);
            sink += json->len;
        }
        break;
    }
    }
}

struct result {
    double cold_per_s, per_s, wall_per_s;
};

#define ROUNDS 5

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static struct result measure(enum mode m, struct classify_chain *ch, const struct texts *t,
                             double seconds, struct classify_result *res, struct sbuf *json)
{
    struct result r = {0};
    double t0 = cpu_s();
    for (size_t i = 0; i < t->n; i++)
        one(m, ch, t->v[i], t->len[i], res, json);
    r.cold_per_s = (double)t->n / (cpu_s() - t0);
    /* the median of ROUNDS rounds: a shared machine disturbs some of them */
    double rate[ROUNDS], wall[ROUNDS];
    for (int k = 0; k < ROUNDS; k++) {
        uint64_t done = 0;
        double w0 = wall_s();
        t0 = cpu_s();
        double t1 = t0;
        while (t1 - t0 < seconds / ROUNDS) {
            for (size_t i = 0; i < t->n; i++)
                one(m, ch, t->v[i], t->len[i], res, json);
            done += t->n;
            t1 = cpu_s();
        }
        rate[k] = (double)done / (t1 - t0);
        wall[k] = (double)done / (wall_s() - w0);
    }
    qsort(rate, ROUNDS, sizeof(double), cmp_double);
    qsort(wall, ROUNDS, sizeof(double), cmp_double);
    r.per_s = rate[ROUNDS / 2];
    r.wall_per_s = wall[ROUNDS / 2];
    return r;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
        {"corpus", required_argument, NULL, 'f'}, {"chars", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 't'}, {NULL, 0, NULL, 0},
    };
    const char *config = "config/appealsd.conf";
    const char *sets[16] = {0};
    char *files[16];
    size_t nsets = 0, nfiles = 0, chars = 300;
    double seconds = 2;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 's': if (nsets < 15) sets[nsets++] = optarg; break;
        case 'f': if (nfiles < 16) files[nfiles++] = optarg; break;
        case 'n': chars = (size_t)atol(optarg); break;
        case 't': seconds = atof(optarg); break;
        default:
            fprintf(stderr, "usage: classify_bench [-c CONFIG] [--set K=V] --corpus FILE "
                            "[--chars N] [--seconds S]\n");
            return 2;
        }
    }
    log_init("classify_bench");
    log_set_level(LOG_LVL_WARN);
    long rss_start = status_kib("VmRSS");
    struct diag d = {0};
    struct config_opts o = {.path = config, .overrides = sets};
    struct apd_config *cfg = config_load(&o, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msg[i]);
    struct classify_chain *ch = classify_chain_of(cfg);
    struct texts t = {0};
    if (cfg == NULL || ch == NULL || nfiles == 0 || load_texts(&t, files, nfiles, chars) != 0) {
        fprintf(stderr, "classify_bench: need a configuration with classifiers and a corpus\n");
        return 1;
    }
    long rss_loaded = status_kib("VmRSS");
    printf("texts: %zu of %.0f bytes on average (about %zu characters), chain of %zu "
           "classifiers, %.1f s per mode\n", t.n, (double)t.bytes / (double)t.n, chars,
           classify_chain_length(ch), seconds);
    struct classify_result res;
    classify_result_init(&res);
    struct sbuf json = SBUF_INIT;
    struct result r[4];
    for (int m = M_SCAN; m <= M_JSON; m++)
        r[m] = measure((enum mode)m, ch, &t, seconds, &res, &json);
    printf("%-11s %12s %9s %12s %12s %10s %10s\n", "mode", "texts/s", "us/text",
           "cold texts/s", "wall texts/s", "/ analyze", "/ scan");
    for (int m = M_SCAN; m <= M_JSON; m++)
        printf("%-11s %12.0f %9.2f %12.0f %12.0f %10.3f %10.4f\n", mode_names[m], r[m].per_s,
               1e6 / r[m].per_s, r[m].cold_per_s, r[m].wall_per_s,
               r[m].per_s / r[M_ANALYZE].per_s, r[m].per_s / r[M_SCAN].per_s);
    printf("resident memory: %.1f MiB at start, %.1f MiB with the lexicons loaded, "
           "%.1f MiB after the run, peak %.1f MiB\n", (double)rss_start / 1024,
           (double)rss_loaded / 1024, (double)status_kib("VmRSS") / 1024,
           (double)status_kib("VmHWM") / 1024);
    sbuf_free(&json);
    classify_result_free(&res);
    for (size_t i = 0; i < t.n; i++)
        free(t.v[i]);
    free(t.v);
    free(t.len);
    config_unref(cfg);
    diag_free(&d);
    return 0;
}
