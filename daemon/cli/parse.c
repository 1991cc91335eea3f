/* appealsd parse: what the daemon makes of one raw webhook body.
 *
 *   appealsd parse --source NAME [-c CONFIG] [--set K=V]... [--path PATH] [FILE]
 *
 * For operators debugging a platform's payload: the body (FILE, or stdin) goes
 * through the source's plugin exactly as a spooled record is replayed: no
 * authentication, no spool, no Redis, no Kafka.  Each normalised event is
 * printed as one JSON object per line; a refusal is printed as
 * {"source", "rejected": {"status", "reason"}} and the exit status is 1.
 * Exit 2: bad usage or an unusable configuration.
 *
 * --path is what follows the source's webhook path, e.g. /TOKEN for OK,
 * which names the page. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "pevent.h"
#include "sbuf.h"
#include "sources.h"
#include "units.h"

#define PARSE_MAX_BODY (64u << 20)

int cli_parse(int argc, char **argv);

static void usage(FILE *f)
{
    fprintf(f, "usage: appealsd parse --source NAME [-c CONFIG] [--set SECTION.KEY=VALUE]... "
               "[--path PATH] [FILE]\n"
               "Prints the normalised events of one raw webhook body (FILE or stdin) as JSON "
               "lines;\nno authentication, nothing stored or sent.  Exit 1 when the source "
               "refuses the body.\n");
}

static char *read_all(FILE *f, size_t *len)
{
    struct sbuf b = SBUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > PARSE_MAX_BODY) {
            sbuf_free(&b);
            errno = EFBIG;
            return NULL;
        }
        sbuf_add(&b, chunk, n);
    }
    if (ferror(f)) {
        sbuf_free(&b);
        return NULL;
    }
    *len = b.len;
    sbuf_addc(&b, '\0');   /* plugins get a terminated string, as from the listener */
    return sbuf_steal(&b);
}

/* Absent fields are null (jw_kstr writes null for NULL), so every object
 * has the same keys. */
static void print_event(const char *source, const struct pevent *e, const char *tz)
{
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "source", source);
    jw_kstr(&w, "event", pevent_type_name(e->type));
    jw_kstr(&w, "appeal_id", e->appeal_id);
    jw_kstr(&w, "page", e->page);
    jw_kstr(&w, "author", e->author_id);
    jw_kstr(&w, "author_name", e->author_name);
    jw_key(&w, "text");
    if (e->text && (e->text_len || e->type != APD_EV_IGNORED))
        jw_strn(&w, e->text, e->text_len);
    else
        jw_null(&w);
    jw_key(&w, "created_at");
    if (e->created_ms) {
        char ts[48];
        format_iso8601(e->created_ms, tz, ts, sizeof(ts));
        jw_str(&w, ts);
    } else {
        jw_null(&w);
    }
    jw_kstr(&w, "link", e->link);
    jw_kstr(&w, "reply_to", e->reply_to);
    jw_kstr(&w, "thread", e->thread);
    jw_kstr(&w, "item_kind", e->item_kind);
    jw_kstr(&w, "platform_type", e->platform_type);
    jw_kstr(&w, "dedup_key", e->dedup_key);
    jw_kstr(&w, "quarantine", e->quarantine);
    jw_obj_end(&w);
    printf("%s\n", b.p);
    sbuf_free(&b);
}

static void print_refusal(const char *source, const struct apd_reply *r)
{
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "source", source);
    jw_key(&w, "rejected");
    jw_obj(&w);
    jw_kint(&w, "status", r->status ? r->status : 400);
    jw_kstr(&w, "reason", r->reason ? r->reason : "rejected by the plugin");
    jw_obj_end(&w);
    jw_obj_end(&w);
    printf("%s\n", b.p);
    sbuf_free(&b);
}

static const char *header_none(const struct apd_request *req, const char *name) { return NULL; }

/* Runs the body through the source; returns the exit status. */
static int run(struct apd_config *c, const char *name, const char *path, const char *body,
               size_t len)
{
    char err[1024];
    struct sources *srcs = sources_start(c, err, sizeof(err));
    if (srcs == NULL) {
        fprintf(stderr, "appealsd parse: %s\n", err);
        return 2;
    }
    struct source *src = sources_find(srcs, name);
    if (src == NULL) {
        fprintf(stderr, "appealsd parse: no enabled source '%s' in %s (configured:", name,
                c->path);
        for (size_t i = 0; i < c->nsources; i++)
            fprintf(stderr, " %s", c->sources[i].name);
        fprintf(stderr, ")\n");
        sources_stop(srcs);
        return 2;
    }
    struct apd_request req = {.struct_size = sizeof(req), .path = path, .body = body,
                              .body_len = len, .header = header_none};
    struct apd_reply reply = {0};
    struct pevents ev = {0};
    enum apd_verdict v = src->ops->handle(src->state, &req, APD_HANDLE_NOAUTH, &reply,
                                          pevents_collect, &ev);
    int rc = 0;
    if (v == APD_ACCEPT) {
        for (size_t i = 0; i < ev.n; i++)
            print_event(name, ev.v[i], c->daemon.timezone);
    } else if (v == APD_RESPOND) {
        printf("{\"source\":\"%s\",\"response\":", name);
        struct sbuf b = SBUF_INIT;
        sbuf_json_str(&b, reply.body, strlen(reply.body));
        printf("%s}\n", b.p);
        sbuf_free(&b);
    } else {
        print_refusal(name, &reply);
        fprintf(stderr, "appealsd parse: %s refuses the body (%d): %s\n", name,
                reply.status ? reply.status : 400, reply.reason ? reply.reason : "rejected");
        rc = 1;
    }
    pevents_free(&ev);
    sources_stop(srcs);
    return rc;
}

int cli_parse(int argc, char **argv)
{
    enum { OPT_SET = 256, OPT_PATH };
    static const struct option opts[] = {
        {"source", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, OPT_SET},
        {"path", required_argument, NULL, OPT_PATH},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *source = NULL, *config = cli_default_config(), *path = "";
    const char **sets = calloc((size_t)argc + 1, sizeof(char *));
    size_t nsets = 0;
    int opt, rc = 2;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "s:c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 's': source = optarg; break;
        case 'c': config = optarg; break;
        case OPT_SET: sets[nsets++] = optarg; break;
        case OPT_PATH: path = optarg; break;
        case 'h': usage(stdout); free(sets); return 0;
        default: usage(stderr); free(sets); return 2;
        }
    }
    if (source == NULL || argc - optind > 1) {
        usage(stderr);
        free(sets);
        return 2;
    }
    const char *file = optind < argc ? argv[optind] : NULL;
    FILE *f = file && strcmp(file, "-") != 0 ? fopen(file, "rb") : stdin;
    if (f == NULL) {
        fprintf(stderr, "appealsd parse: cannot open %s: %s\n", file, strerror(errno));
        free(sets);
        return 2;
    }
    size_t len = 0;
    char *body = read_all(f, &len);
    if (f != stdin)
        fclose(f);
    if (body == NULL) {
        fprintf(stderr, "appealsd parse: cannot read %s: %s\n", file ? file : "stdin",
                errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
        free(sets);
        return 2;
    }
    log_set_level(LOG_LVL_WARN);
    struct diag d = {0};
    struct config_opts o = {.path = config, .overrides = sets};
    struct apd_config *c = config_load(&o, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msg[i]);
    if (c != NULL) {
        rc = run(c, source, path, body, len);
        config_unref(c);
    } else {
        fprintf(stderr, "appealsd parse: the configuration %s is not usable\n", config);
    }
    diag_free(&d);
    free(body);
    free(sets);
    return rc;
}
