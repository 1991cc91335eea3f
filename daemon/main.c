/* appealsd: the daemon, and its one-shot operator tools.
 *
 *   appealsd [-c FILE] [--set K=V]...        run the daemon
 *   appealsd --check-config [-c FILE]        validate and exit
 *   appealsd --create-topics [-c FILE]       create the Kafka topics
 *   appealsd SUBCOMMAND ...                  see `appealsd --help` */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apd_build.h"
#include "app.h"
#include "calyears.h"
#include "cli.h"
#include "config.h"
#include "directory.h"
#include "kafka.h"
#include "log.h"
#include "rules.h"
#include "sources.h"
#include "tls.h"
#include "topics.h"
#include "units.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: appealsd [-c FILE] [--set SECTION.KEY=VALUE]...   run the daemon\n"
            "       appealsd --check-config [-c FILE] [--set ...]   validate the configuration\n"
            "       appealsd --create-topics [-c FILE]              create the Kafka topics\n"
            "       appealsd --help-config[=tsv]                    list every setting\n"
            "       appealsd --version | --help\n");
    for (const struct subcommand *s = subcommands; s->name; s++)
        fprintf(f, "       appealsd %s\n", s->synopsis);
    fprintf(f, "\n  -c, --config FILE   the configuration (default: $APPEALSD_CONFIG, else %s)\n"
               "See appealsd(8) and appealsd.conf(5).\n",
            APD_SYSCONF_DIR "/appealsd.conf");
}

/* The listener's certificate and key load, and belong together. */
static int check_tls(const struct apd_config *c, const char *path)
{
    if (c->http.tls_cert == NULL)
        return 0;
    char err[1024];
    SSL_CTX *ctx = tls_ctx_load(c->http.tls_cert, c->http.tls_key, err, sizeof(err));
    if (ctx == NULL) {
        fprintf(stderr, "[http] tls_cert/tls_key: %s\n%s: the configuration is not usable\n",
                err, path);
        return -1;
    }
    SSL_CTX_free(ctx);
    return 0;
}

static int check_config(const char *path, const char *const *sets)
{
    struct diag d = {0};
    struct config_opts o = {.path = path, .overrides = sets};
    struct apd_config *c = config_load(&o, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msg[i]);
    for (size_t i = 0; i < d.nwarn; i++)
        fprintf(stderr, "warning: %s\n", d.warn[i]);
    if (c == NULL) {
        fprintf(stderr, "%s: %zu problem%s; the configuration is not usable\n", path, d.n,
                d.n == 1 ? "" : "s");
        diag_free(&d);
        return 1;
    }
    /* Plugins validate some of their keys only when they start. */
    char err[1024];
    struct sources *srcs = sources_start(c, err, sizeof(err));
    if (srcs == NULL) {
        fprintf(stderr, "%s: %s\n%s: the configuration is not usable\n", path, err, path);
        diag_free(&d);
        config_unref(c);
        return 1;
    }
    sources_stop(srcs);
    if (check_tls(c, path) != 0) {
        diag_free(&d);
        config_unref(c);
        return 1;
    }
    /* Warnings, not errors: the daemon runs, but some deadlines may be off. */
    calyears_check(c, now_ms(), stderr);
    calyears_check_hours(c, stderr);
    printf("%s: ok (%zu sources, %zu organisations, %zu pages, %zu rules)\n", path,
           c->nsources, c->dir->norgs, c->dir->npages, rules_of(c)->n);
    diag_free(&d);
    config_unref(c);
    return 0;
}

static int create_topics(const char *path, const char *const *sets)
{
    struct diag d = {0};
    struct config_opts o = {.path = path, .overrides = sets, .skip_plugins = true};
    struct apd_config *c = config_load(&o, &d);
    if (c == NULL) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.msg[i]);
        diag_free(&d);
        return 1;
    }
    size_t n;
    const char **topics = kafka_topics_required(c, &n);
    for (size_t i = 0; i < c->dir->norgs; i++)
        if (!c->dir->orgs[i].kafka)
            printf("organisation %s takes HTTP deliveries only: no topic\n",
                   c->dir->orgs[i].code);
    char err[512];
    int rc = kafka_create_topics(c, topics, n, 15000, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "appealsd: cannot create topics: %s\n", err);
    free(topics);
    diag_free(&d);
    config_unref(c);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    log_init("appealsd");
    if (argc > 1 && argv[1][0] != '-') {
        for (const struct subcommand *s = subcommands; s->name; s++)
            if (strcmp(s->name, argv[1]) == 0)
                return s->run(argc - 1, argv + 1);
        fprintf(stderr, "appealsd: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    enum { OPT_SET = 256, OPT_CHECK, OPT_TOPICS, OPT_HELPCONF };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, OPT_SET},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"create-topics", no_argument, NULL, OPT_TOPICS},
        {"help-config", optional_argument, NULL, OPT_HELPCONF},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = cli_default_config();
    const char **sets = calloc((size_t)argc + 1, sizeof(char *));
    size_t nsets = 0;
    int mode = 0, opt;
    bool tsv = false;
    while ((opt = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case OPT_SET: sets[nsets++] = optarg; break;
        case OPT_CHECK:
        case OPT_TOPICS: mode = opt; break;
        case OPT_HELPCONF:
            if (optarg && strcmp(optarg, "tsv") != 0) {
                fprintf(stderr, "appealsd: --help-config=%s: only 'tsv' is known\n", optarg);
                return 2;
            }
            tsv = optarg != NULL;
            mode = opt;
            break;
        case 'V': printf("appealsd %s\n", APD_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "appealsd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    int rc;
    switch (mode) {
    case OPT_CHECK: rc = check_config(config, sets); break;
    case OPT_TOPICS: rc = create_topics(config, sets); break;
    case OPT_HELPCONF:
        if (tsv)
            config_print_reference_tsv();
        else
            config_print_reference();
        rc = 0;
        break;
    default: rc = app_run(config, sets); break;
    }
    free(sets);
    return rc;
}
