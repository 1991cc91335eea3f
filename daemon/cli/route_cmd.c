/* `appealsd route [--explain]`: the routing decision for each JSON line on
 * stdin, made by the same code and config the daemon uses.
 *
 *   in:  {"id":"a1","text":"...","page":"vk:100001","category":"roads",...}
 *   out: {"id":"a1","rule":"maykop-local","org":"maykop","recipients":[...],
 *         "topic":"appeals.org.maykop","sla_policy":...,"classification":{...},
 *         "why":[{"key":"category","value":"roads"},...],"reason":"..."}
 *
 * As in the daemon, the configured classifier chain reads the text first;
 * the fields a line gives (kind, category, municipality, priority) override
 * what it says, and a line that gives a kind or a category is an appeal
 * unless its kind says otherwise.  A text the chain finds not to be an appeal
 * is not routed (action "kept": appeals.all only, as the daemon does).
 * --no-classify routes on the line's fields alone, without loading plugins.
 *
 * A bad line gets {"id":...,"error":"..."} and the next line is read.
 * Exit: 0 every line answered, 1 unusable configuration, 2 usage, 3 some
 * lines were bad. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "cli.h"
#include "config.h"
#include "directory.h"
#include "json.h"
#include "route.h"
#include "sbuf.h"

struct route_opts {
    bool explain, no_classify;
    const char *config;
    const char **sets;
    size_t nsets;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: appealsd route [--explain] [--no-classify] [-c FILE] "
               "[--set SECTION.KEY=VALUE]... < appeals.jsonl\n"
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

/* What the classifier chain said about a line, and which fields the line
 * itself gave (they win). */
struct line_class {
    bool ran, kept;
    const char *given[4];
    size_t ngiven;
    const char *municipality_from;   /* of the route input's municipality */
    struct classify_result r;
};

static const char *nz(const char *s) { return s && s[0] ? s : NULL; }

static void take(const char **field, const char *name, const char *theirs,
                 struct line_class *lc)
{
    if (*field)
        lc->given[lc->ngiven++] = name;
    else
        *field = nz(theirs);
}

/* Classifies the line's text as the pipeline does (event_class.c), unless
 * told not to or no chain is configured, and fills the route input's empty
 * classifier fields from the decision. */
static void classify_line(const struct apd_config *c, struct route_input *in, bool run,
                          struct line_class *lc)
{
    struct classify_chain *ch = run ? classify_chain_of(c) : NULL;
    lc->ran = lc->kept = false;
    lc->ngiven = 0;
    lc->municipality_from = in->municipality ? "input" : NULL;
    bool told = in->kind || in->category;
    const struct classify_result *r = &lc->r;
    if (ch) {
        const struct page *p = in->page ? directory_page(c->dir, in->source, in->page) : NULL;
        struct classify_request rq = {.text = in->text, .len = in->text_len,
                                      .source = in->source, .page = in->page,
                                      .item_kind = in->item_kind,
                                      .page_municipality = p ? p->municipality : NULL};
        classify_text(ch, &rq, &lc->r);
        lc->ran = true;
    }
    take(&in->kind, "kind", !lc->ran || (told && !r->is_appeal) ? NULL : r->kind, lc);
    take(&in->category, "category", lc->ran ? r->category : NULL, lc);
    bool from_text = lc->ran && r->municipality_from && strcmp(r->municipality_from, "text") == 0;
    take(&in->municipality, "municipality", from_text ? r->municipality : NULL, lc);
    if (from_text && lc->municipality_from == NULL && in->municipality)
        lc->municipality_from = "text";
    take(&in->priority, "priority", lc->ran ? r->priority : NULL, lc);
    lc->kept = lc->ran && !told && !r->is_appeal;
}

static void write_classification(struct jw *w, const struct route_input *in,
                                 const struct route_result *r, const struct line_class *lc)
{
    jw_key(w, "classification");
    jw_obj(w);
    jw_kstr(w, "kind", in->kind);
    jw_kstr(w, "category", in->category);
    jw_kstr(w, "municipality", r->municipality);
    jw_kstr(w, "municipality_from", r->municipality == NULL ? NULL
                                    : r->municipality_from_page ? "page"
                                    : lc->municipality_from ? lc->municipality_from : "input");
    jw_kstr(w, "priority", in->priority);
    jw_key(w, "given");
    jw_arr(w);
    for (size_t i = 0; i < lc->ngiven; i++)
        jw_str(w, lc->given[i]);
    jw_arr_end(w);
    if (lc->ran) {
        jw_key(w, "classifier");
        jw_obj(w);
        classify_result_members(&lc->r, w, true);
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

/* A text the chain found not to be an appeal: the daemon keeps it on
 * appeals.all and routes it nowhere. */
static void answer_kept(struct sbuf *out, const char *id, const struct route_input *in,
                        const struct line_class *lc, bool explain)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_kstr(&w, "id", id);
    if (explain) {
        struct route_result none = {0};
        write_classification(&w, in, &none, lc);
    }
    jw_kstr(&w, "rule", NULL);
    jw_kstr(&w, "action", "kept");
    jw_kstr(&w, "org", NULL);
    jw_key(&w, "recipients");
    jw_arr(&w);
    jw_arr_end(&w);
    jw_kstr(&w, "state", strcmp(lc->r.kind, "gratitude") == 0 ? "feedback" : "not_appeal");
    if (explain) {
        char why[192];
        snprintf(why, sizeof(why), "the classifiers found %s, not an appeal: kept on "
                 "appeals.all only, routed nowhere, no SLA clock", lc->r.kind);
        jw_kstr(&w, "reason", why);
    }
    jw_obj_end(&w);
}

static void answer(struct sbuf *out, const char *id, const struct route_input *in,
                   const struct route_result *r, const struct line_class *lc, bool explain)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_kstr(&w, "id", id);
    if (explain)
        write_classification(&w, in, r, lc);
    jw_kstr(&w, "rule", r->rule);
    jw_kstr(&w, "action", route_action_name(r->action));
    jw_kstr(&w, "org", r->drop || r->org == NULL ? NULL : r->org->code);
    write_recipients(&w, r);
    jw_kstr(&w, "topic", r->topic);
    jw_kstr(&w, "sla_policy", r->sla_policy);
    jw_kstr(&w, "priority", r->priority);
    if (explain) {
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
static bool route_line(const struct apd_config *c, const char *line, size_t len,
                       const struct route_opts *ro, struct line_class *lc, struct sbuf *out)
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
    classify_line(c, &in, !ro->no_classify, lc);
    if (lc->kept) {
        answer_kept(out, id, &in, lc, ro->explain);
    } else {
        struct route_result r;
        route_decide(c, &in, &r);
        answer(out, id, &in, &r, lc, ro->explain);
    }
    json_free(doc);
    return true;
}

static int parse_args(int argc, char **argv, struct route_opts *ro)
{
    enum { OPT_SET = 256, OPT_EXPLAIN, OPT_NO_CLASSIFY };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, OPT_SET},
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"no-classify", no_argument, NULL, OPT_NO_CLASSIFY},
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
        case OPT_NO_CLASSIFY: ro->no_classify = true; break;
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
    struct config_opts o = {.path = ro.config, .overrides = ro.sets,
                            .skip_plugins = ro.no_classify};
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
    struct line_class lc = {0};
    classify_result_init(&lc.r);
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        lines++;
        sbuf_reset(&out);
        if (!route_line(c, line, (size_t)n, &ro, &lc, &out))
            bad++;
        sbuf_addc(&out, '\n');
        fwrite(out.p, 1, out.len, stdout);
        fflush(stdout);
    }
    free(line);
    sbuf_free(&out);
    classify_result_free(&lc.r);
    config_unref(c);
    if (bad)
        fprintf(stderr, "appealsd route: %zu of %zu lines were bad\n", bad, lines);
    return bad ? 3 : 0;
}
