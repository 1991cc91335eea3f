/* `appealsd route [--explain]`: the routing decision for each JSON line on
 * stdin, made by the same code and config the daemon uses.
 *
 *   in:  {"id":"a1","text":"...","page":"vk:100001","category":"roads",...}
 *   out: {"id":"a1","rule":"maykop-local","org":"maykop","recipients":[...],
 *         "topic":"appeals.org.maykop","sla_policy":...,"classification":{...},
 *         "why":[{"key":"category","value":"roads"},...],"reason":"..."}
 *
 * A bad line gets {"id":...,"error":"..."} and the next line is read.
 * Exit: 0 every line answered, 1 unusable configuration, 2 usage, 3 some
 * lines were bad. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "directory.h"
#include "json.h"
#include "route.h"
#include "sbuf.h"

struct route_opts {
    bool explain;
    const char *config;
    const char **sets;
    size_t nsets;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: appealsd route [--explain] [-c FILE] [--set SECTION.KEY=VALUE]... "
               "< appeals.jsonl\n"
               "One JSON object per line: {\"id\", \"text\", \"page\"?, \"source\"?, "
               "\"item_kind\"?, \"kind\"?, \"category\"?, \"municipality\"?, \"priority\"?};\n"
               "\"page\" is SOURCE:ID, or ID with \"source\".  One answer per line.\n");
}

static const char *field(const struct json *obj, const char *key, char *err, size_t errlen)
{
    const struct json *v = json_get(obj, key);
    if (v == NULL || v->type == JSON_NULL)
        return NULL;
    if (v->type != JSON_STRING) {
        snprintf(err, errlen, "\"%s\" must be a string", key);
        return NULL;
    }
    return v->u.s;
}

static void write_recipients(struct jw *w, const struct route_result *r)
{
    jw_key(w, "recipients");
    jw_arr(w);
    if (r->org && !r->drop)
        jw_str(w, r->org->code);
    for (size_t i = 0; i < r->ncopies; i++)
        jw_str(w, r->copies[i]->code);
    jw_arr_end(w);
    jw_key(w, "http");
    jw_arr(w);
    if (r->org && !r->drop && r->org->http_url)
        jw_str(w, r->org->code);
    for (size_t i = 0; i < r->ncopies; i++)
        if (r->copies[i]->http_url)
            jw_str(w, r->copies[i]->code);
    jw_arr_end(w);
}

static void write_classification(struct jw *w, const struct route_input *in,
                                 const struct route_result *r)
{
    jw_key(w, "classification");
    jw_obj(w);
    jw_kstr(w, "kind", in->kind);
    jw_kstr(w, "category", in->category);
    jw_kstr(w, "municipality", r->municipality);
    jw_kstr(w, "municipality_from", r->municipality == NULL ? NULL
                                    : r->municipality_from_page ? "page" : "input");
    jw_kstr(w, "priority", in->priority);
    jw_obj_end(w);
}

static void answer(struct sbuf *out, const char *id, const struct route_input *in,
                   const struct route_result *r, bool explain)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_kstr(&w, "id", id);
    jw_kstr(&w, "rule", r->rule);
    jw_kstr(&w, "action", route_action_name(r->action));
    jw_kstr(&w, "org", r->drop || r->org == NULL ? NULL : r->org->code);
    write_recipients(&w, r);
    jw_kstr(&w, "topic", r->topic);
    jw_kstr(&w, "sla_policy", r->sla_policy);
    jw_kstr(&w, "priority", r->priority);
    if (explain) {
        write_classification(&w, in, r);
        jw_kstr(&w, "reason", r->reason);
        jw_key(&w, "why");
        jw_arr(&w);
        for (size_t i = 0; i < r->nwhy; i++) {
            jw_obj(&w);
            jw_kstr(&w, "key", r->why[i].key);
            jw_kstr(&w, "value", r->why[i].value);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
        if (r->skipped[0])
            jw_kstr(&w, "skipped", r->skipped);
    }
    jw_obj_end(&w);
}

static void error_line(struct sbuf *out, const char *id, const char *msg)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_kstr(&w, "id", id);
    jw_kstr(&w, "error", msg);
    jw_obj_end(&w);
}

/* Answers one input line into out; returns false for a bad line. */
static bool route_line(const struct apd_config *c, const char *line, size_t len, bool explain,
                       struct sbuf *out)
{
    char err[256] = "";
    struct json_doc *doc = json_parse(line, len, 16, err, sizeof(err));
    if (doc == NULL || doc->root.type != JSON_OBJECT) {
        error_line(out, NULL, doc ? "a line must be a JSON object" : err);
        json_free(doc);
        return false;
    }
    const struct json *o = &doc->root;
    const char *id = field(o, "id", err, sizeof(err));
    struct route_input in = {
        .text = field(o, "text", err, sizeof(err)),
        .source = field(o, "source", err, sizeof(err)),
        .page = field(o, "page", err, sizeof(err)),
        .item_kind = field(o, "item_kind", err, sizeof(err)),
        .kind = field(o, "kind", err, sizeof(err)),
        .category = field(o, "category", err, sizeof(err)),
        .municipality = field(o, "municipality", err, sizeof(err)),
        .priority = field(o, "priority", err, sizeof(err)),
    };
    if (err[0] == '\0' && id == NULL)
        snprintf(err, sizeof(err), "\"id\" is required");
    if (err[0] == '\0' && in.text == NULL)
        snprintf(err, sizeof(err), "\"text\" is required");
    char source[128];
    const char *colon = in.page ? strchr(in.page, ':') : NULL;
    if (err[0] == '\0' && colon && in.source == NULL) {
        snprintf(source, sizeof(source), "%.*s", (int)(colon - in.page), in.page);
        in.source = source;
        in.page = colon + 1;
    }
    if (err[0] == '\0' && in.page && in.source == NULL)
        snprintf(err, sizeof(err), "\"page\" must be SOURCE:ID, or give \"source\"");
    if (err[0] == '\0' && in.page && directory_page(c->dir, in.source, in.page) == NULL)
        snprintf(err, sizeof(err), "page %s:%s is not in the directory", in.source, in.page);
    if (err[0]) {
        error_line(out, id, err);
        json_free(doc);
        return false;
    }
    in.text_len = json_get(o, "text")->len;   /* exact: the text may hold an escaped NUL */
    struct route_result r;
    route_decide(c, &in, &r);
    answer(out, id, &in, &r, explain);
    json_free(doc);
    return true;
}

static int parse_args(int argc, char **argv, struct route_opts *ro)
{
    enum { OPT_SET = 256, OPT_EXPLAIN };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, OPT_SET},
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': ro->config = optarg; break;
        case OPT_SET: ro->sets[ro->nsets++] = optarg; break;
        case OPT_EXPLAIN: ro->explain = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "appealsd route: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

int route_main(int argc, char **argv)
{
    struct route_opts ro = {.config = cli_default_config()};
    ro.sets = calloc((size_t)argc + 1, sizeof(char *));
    int rc = parse_args(argc, argv, &ro);
    if (rc >= 0) {
        free(ro.sets);
        return rc;
    }
    struct diag d = {0};
    struct config_opts o = {.path = ro.config, .overrides = ro.sets, .skip_plugins = true};
    struct apd_config *c = config_load(&o, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msg[i]);
    diag_free(&d);
    free(ro.sets);
    if (c == NULL) {
        fprintf(stderr, "appealsd route: the configuration %s is not usable\n", ro.config);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0, lines = 0, bad = 0;
    ssize_t n;
    struct sbuf out = SBUF_INIT;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        lines++;
        sbuf_reset(&out);
        if (!route_line(c, line, (size_t)n, ro.explain, &out))
            bad++;
        sbuf_addc(&out, '\n');
        fwrite(out.p, 1, out.len, stdout);
        fflush(stdout);
    }
    free(line);
    sbuf_free(&out);
    config_unref(c);
    if (bad)
        fprintf(stderr, "appealsd route: %zu of %zu lines were bad\n", bad, lines);
    return bad ? 3 : 0;
}
