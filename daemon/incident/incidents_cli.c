/* `appealsd incidents`: the incident grouping of a configuration over JSON
 * lines of appeals on stdin, in time order, one incident per line on stdout.
 *
 *   {"id": "a1", "text": "...", "category": "utilities"?, "municipality": "maykop"?,
 *    "page": "vk:100001"?, "created_at": "2026-05-12T08:30:00+03:00" or epoch seconds}
 *   → {"id": "a1", "incident": "inc-1"}
 *
 * A missing category or municipality is taken from the classifier chain (with
 * the page's municipality as its fallback), as the daemon would.  Incidents
 * are numbered in order of their first report.  A bad line gets {"id", "line",
 * "error"}; exit status 0, 1 when some lines had errors, 2 when the
 * configuration is unusable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "cli.h"
#include "config.h"
#include "directory.h"
#include "incident.h"
#include "incident_conf.h"
#include "json.h"
#include "jsonl.h"
#include "sbuf.h"
#include "units.h"

struct run {
    struct apd_config *cfg;
    struct classify_chain *ch;
    struct inc_grouper *g;
    struct classify_result res;
    int64_t last_at;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: appealsd incidents [-c FILE] [--set SECTION.KEY=VALUE]... < appeals.jsonl\n"
               "  each input line, in time order: {\"id\": ..., \"text\": \"...\",\n"
               "    \"category\": ..., \"municipality\": ..., \"page\": \"SOURCE:ID\",\n"
               "    \"created_at\": ISO 8601 or epoch seconds}\n"
               "  each output line: {\"id\": ..., \"incident\": \"inc-N\"} (or id, line, error)\n");
}

static int parse_at(const struct json *v, const char *tz, int64_t *ms)
{
    int64_t s;
    if (v && v->type == JSON_NUMBER && json_int64(v, &s)) {
        *ms = s * 1000;
        return 0;
    }
    if (v && v->type == JSON_STRING)
        return parse_iso8601(v->u.s, tz, ms);
    return -1;
}

static const char *opt_str(const struct json *v)
{
    return v && v->type == JSON_STRING && v->len ? v->u.s : NULL;
}

/* The page of "SOURCE:ID". */
static const struct page *find_page(const struct directory *dir, const char *ref)
{
    const char *colon = ref ? strchr(ref, ':') : NULL;
    char source[64];
    if (colon == NULL || (size_t)(colon - ref) >= sizeof(source))
        return NULL;
    memcpy(source, ref, (size_t)(colon - ref));
    source[colon - ref] = '\0';
    return directory_page(dir, source, colon + 1);
}

/* Category and municipality as given, else as the chain decides. */
static void classify_missing(struct run *r, const struct json *root, const char *text,
                             size_t len, const char **cat, const char **mun)
{
    *cat = opt_str(json_get(root, "category"));
    *mun = opt_str(json_get(root, "municipality"));
    if (*cat && *mun)
        return;
    const struct page *p = find_page(r->cfg->dir, opt_str(json_get(root, "page")));
    struct classify_request rq = {
        .text = text, .len = len,
        .source = p ? p->source : NULL, .page = p ? p->id : NULL,
        .page_municipality = p ? p->municipality : NULL,
    };
    classify_text(r->ch, &rq, &r->res);
    if (*cat == NULL)
        *cat = r->res.category;
    if (*mun == NULL)
        *mun = r->res.municipality;
}

static int group_line(void *arg, const struct json *obj, const struct json *id,
                      const struct json *text, size_t lineno, struct sbuf *out)
{
    struct run *r = arg;
    int rc = -1;
    int64_t at;
    if (parse_at(json_get(obj, "created_at"), r->cfg->daemon.timezone, &at) != 0) {
        jsonl_put_error(out, id, lineno, "\"created_at\" must be ISO 8601 or epoch seconds");
    } else if (at < r->last_at) {
        jsonl_put_error(out, id, lineno, "\"created_at\" is earlier than the line before: "
                                   "the input must be in time order");
    } else {
        const char *cat, *mun;
        classify_missing(r, obj, text->u.s, text->len, &cat, &mun);
        struct inc_features f;
        inc_features_of(text->u.s, text->len, cat, mun, at, &f);
        size_t n = inc_grouper_add(r->g, &f);
        r->last_at = at;
        struct jw w;
        jw_init(&w, out);
        jw_obj(&w);
        jsonl_put_id(&w, id);
        char inc[32];
        snprintf(inc, sizeof(inc), "inc-%zu", n);
        jw_kstr(&w, "incident", inc);
        jw_obj_end(&w);
        sbuf_addc(out, '\n');
        rc = 0;
    }
    return rc;
}

static int run_lines(struct run *r)
{
    return jsonl_run("incidents", group_line, r);
}

int incidents_main(int argc, char **argv)
{
    int rc;
    struct apd_config *cfg = jsonl_config(argc, argv, "incidents", usage, &rc);
    if (cfg == NULL)
        return rc;
    struct inc_params p;
    incident_params_of(incident_config_of(cfg), &p);
    struct run r = {.cfg = cfg, .ch = classify_chain_of(cfg), .g = inc_grouper_new(&p)};
    classify_result_init(&r.res);
    rc = r.g ? run_lines(&r) : 2;
    classify_result_free(&r.res);
    inc_grouper_free(r.g);
    config_unref(cfg);
    return rc;
}
