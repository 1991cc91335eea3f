/* `appealsd classify`: the classifier chain of a configuration over JSON
 * lines on stdin, one decision per line on stdout.
 *
 *   {"id": 1, "text": "...", "page": "vk:100001"}     page optional: SOURCE:ID
 *                                                     or a bare page id;
 *                                                     "item_kind" optional:
 *                                                     comment, message, ...
 *   → {"id": 1, "is_appeal": true, "kind": ..., "category": ..., "municipality": ...,
 *      "municipality_from": ..., "priority": ..., "priority_reason": ...,
 *      "confidence": 0.83, "confidences": {...}, "evidence": [...], "classifiers": [...]}
 *   (unknown codes are null here; see classify_result_members())
 *
 * A line that cannot be classified gets {"id": …, "line": N, "error": "…"}
 * and the next line is read.  Exit status: 0 when every line was
 * classified, 1 when some had errors, 2 when the configuration is unusable. */
#include "classify_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appealsd/classify.h"
#include "chain.h"
#include "cli.h"
#include "config.h"
#include "directory.h"
#include "json.h"
#include "jsonl.h"
#include "sbuf.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: appealsd classify [-c FILE] [--set SECTION.KEY=VALUE]... [--analysis] [--features]"
               " < texts.jsonl\n"
               "  each input line: {\"id\": ..., \"text\": \"...\", \"page\": \"SOURCE:ID\"}\n"
               "  each output line: id, is_appeal, kind, category, municipality, priority,\n"
               "  priority_reason, confidence, evidence (or id, line and error)\n"
               "  --analysis adds the words the classifiers saw: [word, stem, flags] each\n"
               "  --features adds the feature vector of the trained model: \"features\":\n"
               "    [[index, value], ...], \"feature_space\": size, \"model_by\": classifier\n");
}

static bool with_analysis;
static bool with_features;

static void put_feature(void *ctx, uint32_t index, double value)
{
    struct jw *w = ctx;
    jw_arr(w);
    jw_int(w, index);
    jw_double(w, value, 6);
    jw_arr_end(w);
}

/* The model's feature vector (what tools/classify_train learns from). */
static void put_features(struct jw *w, struct classify_chain *ch,
                         const struct classify_request *rq)
{
    const char *by;
    jw_key(w, "features");
    jw_arr(w);
    uint32_t dim = classify_chain_features(ch, rq, put_feature, w, &by);
    jw_arr_end(w);
    jw_kint(w, "feature_space", dim);
    jw_key(w, "model_by");
    if (by)
        jw_str(w, by);
    else
        jw_null(w);
}

/* The words as the classifiers saw them (to see why a lexicon word did or
 * did not match): [word, stem, flags] per token. */
static void put_analysis(struct jw *w, struct classify_chain *ch, const char *text, size_t len)
{
    const struct apd_text *t = classify_chain_analyze(ch, text, len);
    jw_key(w, "analysis");
    jw_arr(w);
    for (size_t i = 0; i < t->ntokens; i++) {
        jw_arr(w);
        jw_str(w, t->tokens[i].word);
        jw_str(w, t->tokens[i].stem);
        jw_int(w, t->tokens[i].flags);
        jw_arr_end(w);
    }
    jw_arr_end(w);
}

/* The page of "SOURCE:ID", or of a bare id in any source. */
static const struct page *find_page(const struct directory *dir, const char *ref)
{
    const char *colon = strchr(ref, ':');
    if (colon) {
        char source[64];
        size_t n = (size_t)(colon - ref);
        if (n < sizeof(source)) {
            memcpy(source, ref, n);
            source[n] = '\0';
            const struct page *p = directory_page(dir, source, colon + 1);
            if (p)
                return p;
        }
    }
    for (size_t i = 0; dir && i < dir->npages; i++)
        if (strcmp(dir->pages[i].id, ref) == 0)
            return &dir->pages[i];
    return NULL;
}

struct run {
    struct apd_config *cfg;
    struct classify_chain *ch;
    struct classify_result res;
};

/* Classifies one input line into out; returns 0, or -1 after an error line. */
static int classify_line(void *arg, const struct json *obj, const struct json *id,
                         const struct json *text, size_t lineno, struct sbuf *out)
{
    struct run *r = arg;
    const struct json *page = json_get(obj, "page");
    const struct json *item_kind = json_get(obj, "item_kind");
    if (page && page->type != JSON_STRING && page->type != JSON_NULL) {
        jsonl_put_error(out, id, lineno, "\"page\" must be a string such as \"vk:100001\"");
        return -1;
    }
    if (item_kind && item_kind->type != JSON_STRING && item_kind->type != JSON_NULL) {
        jsonl_put_error(out, id, lineno, "\"item_kind\" must be a string such as \"message\"");
        return -1;
    }
    const struct page *p = page && page->type == JSON_STRING ? find_page(r->cfg->dir, page->u.s)
                                                             : NULL;
    struct classify_request rq = {
        .text = text->u.s, .len = text->len,
        .source = p ? p->source : NULL, .page = p ? p->id : NULL,
        .page_municipality = p ? p->municipality : NULL,
        .item_kind = item_kind && item_kind->type == JSON_STRING ? item_kind->u.s : NULL,
    };
    classify_text(r->ch, &rq, &r->res);
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jsonl_put_id(&w, id);
    classify_result_members(&r->res, &w, true);
    if (page && page->type == JSON_STRING && p == NULL)
        jw_kstr(&w, "warning", "the page is not in the directory; no municipality fallback");
    if (with_analysis)
        put_analysis(&w, r->ch, text->u.s, text->len);
    if (with_features)
        put_features(&w, r->ch, &rq);
    jw_obj_end(&w);
    sbuf_addc(out, '\n');
    return 0;
}

static int run(struct apd_config *cfg, struct classify_chain *ch)
{
    struct run r = {.cfg = cfg, .ch = ch};
    classify_result_init(&r.res);
    int rc = jsonl_run("classify", classify_line, &r);
    classify_result_free(&r.res);
    return rc;
}

int classify_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"analysis", no_argument, NULL, 'a'},
        {"features", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = cli_default_config();
    const char **sets = calloc((size_t)argc + 1, sizeof(char *));
    size_t nsets = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'a': with_analysis = true; break;
        case 'f': with_features = true; break;
        case 'h': usage(stdout); free(sets); return 0;
        default: usage(stderr); free(sets); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "appealsd classify: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        free(sets);
        return 2;
    }
    struct diag d = {0};
    struct config_opts o = {.path = path, .overrides = sets};
    struct apd_config *cfg = config_load(&o, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msg[i]);
    diag_free(&d);
    free(sets);
    if (cfg == NULL) {
        fprintf(stderr, "appealsd classify: %s is not usable\n", path);
        return 2;
    }
    struct classify_chain *ch = classify_chain_of(cfg);
    if (ch == NULL) {
        fprintf(stderr, "appealsd classify: %s has no enabled [classifier \"NAME\"] section\n",
                path);
        config_unref(cfg);
        return 2;
    }
    int rc = run(cfg, ch);
    config_unref(cfg);
    return rc;
}
