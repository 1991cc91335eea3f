#include "chain.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appealsd/plugin.h"
#include "config.h"
#include "loader.h"
#include "log.h"
#include "module.h"
#include "text.h"

/* One [classifier "NAME"] section and its running instance. */
struct classifier {
    char *name;
    char *plugin_name;
    int64_t order;
    bool enabled;
    size_t index;               /* section order: breaks ties of `order` */
    struct plugin *plugin;
    void *pcfg;                 /* the plugin's config block */
    void *state;                /* the instance, NULL when not started */
    struct classify_chain *chain;
    bool failure_logged;
};

struct classify_chain {
    struct classifier *v;
    size_t n;
    struct classifier **run;    /* started instances, by order */
    size_t nrun;
    struct text_analyzer *ta;
};

#define CL(f) offsetof(struct classifier, f)
static const struct conf_key classifier_keys[] = {
    {"plugin", CT_STR, CL(plugin_name), NULL, 0, 0, NULL, 0,
     "plugin implementing the classifier (default classify_NAME)"},
    {"order", CT_INT, CL(order), "100", 0, 100000, NULL, 0,
     "position in the chain: lower runs first, later ones may override"},
    {"enabled", CT_BOOL, CL(enabled), "yes", 0, 0, NULL, 0, "run this classifier"},
    {0},
};

/* ---- the host API classifier plugins get (handle: struct classifier) ---- */

static void host_log(void *handle, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_log(void *handle, int level, const char *fmt, ...)
{
    struct classifier *c = handle;
    char who[256];
    snprintf(who, sizeof(who), "classify: classifier %s (%s)", c->name, c->plugin_name);
    va_list ap;
    va_start(ap, fmt);
    plugin_vlog(level, who, fmt, ap);
    va_end(ap);
}

static const struct apd_page *host_no_page(void *handle, const char *id) { return NULL; }

static const struct apd_text *host_analyze(void *handle, const char *s, size_t len)
{
    struct classifier *c = handle;
    return text_analyze_owned(c->chain->ta, s, len);
}

static void host_text_free(void *handle, const struct apd_text *t) { text_release(t); }

static const struct apd_host_api classifier_host_api = {
    .abi_major = APD_PLUGIN_ABI_MAJOR,
    .abi_minor = APD_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct apd_host_api),
    .log = host_log,
    .page_find = host_no_page,
    .page_by_token = host_no_page,
    .text_analyze = host_analyze,
    .text_free = host_text_free,
};

/* ---- config module ---- */

static void mark_used(struct ini_section *sec)
{
    for (size_t i = 0; i < sec->n; i++)
        sec->e[i].used = true;
}

/* Binds one section, loads its plugin and starts the instance. */
static void build_one(struct classifier *c, struct ini_section *sec, const struct apd_config *cfg,
                      const struct config_opts *o, struct diag *d)
{
    char label[160];
    snprintf(label, sizeof(label), "[classifier \"%s\"]", c->name);
    int errors = conf_bind(classifier_keys, sec, c, label, d);
    if (c->plugin_name == NULL && asprintf(&c->plugin_name, "classify_%s", c->name) < 0)
        abort();
    if (o->skip_plugins) {
        mark_used(sec);
        return;
    }
    char err[512];
    c->plugin = plugin_get(cfg->daemon.plugin_dir, c->plugin_name, err, sizeof(err));
    if (c->plugin == NULL) {
        diag_add(d, sec->file, sec->line, "%s: %s", label, err);
        mark_used(sec);
        return;
    }
    if (c->plugin->desc.kind != APD_PLUGIN_CLASSIFIER) {
        diag_add(d, sec->file, sec->line, "%s: plugin %s is not a classifier plugin", label,
                 c->plugin_name);
        mark_used(sec);
        return;
    }
    c->pcfg = calloc(1, c->plugin->desc.config_size + 1);
    if (c->pcfg == NULL)
        abort();
    errors += conf_bind(c->plugin->keys, sec, c->pcfg, label, d);
    if (errors || !c->enabled)
        return;
    char why[768] = "";
    c->state = c->plugin->desc.init(&classifier_host_api, c, c->pcfg, why, sizeof(why));
    if (c->state == NULL)
        diag_add(d, sec->file, sec->line, "%s: plugin %s failed to start: %s", label,
                 c->plugin_name, why[0] ? why : "no reason given");
}

static int by_order(const void *a, const void *b)
{
    const struct classifier *x = *(struct classifier *const *)a, *y = *(struct classifier *const *)b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void chain_build(struct apd_config *cfg, struct ini *ini, const struct config_opts *o,
                        struct diag *d)
{
    size_t n = 0;
    for (size_t i = 0; i < ini->n; i++)
        n += strcmp(ini->s[i]->type, "classifier") == 0;
    if (n == 0)
        return;
    struct classify_chain *ch = calloc(1, sizeof(*ch));
    ch->v = calloc(n, sizeof(*ch->v));
    ch->run = calloc(n, sizeof(*ch->run));
    if (ch == NULL || ch->v == NULL || ch->run == NULL)
        abort();
    cfg->classifier = ch;
    if (!o->skip_plugins) {
        char err[256];
        if ((ch->ta = text_analyzer_new(err, sizeof(err))) == NULL) {
            diag_add(d, NULL, 0, "[classifier]: %s", err);
            return;
        }
    }
    for (size_t i = 0; i < ini->n; i++) {
        struct ini_section *sec = ini->s[i];
        if (strcmp(sec->type, "classifier") != 0)
            continue;
        if (sec->name == NULL) {
            diag_add(d, sec->file, sec->line, "[classifier] needs a name: [classifier \"ru\"]");
            sec->used = true;
            mark_used(sec);
            continue;
        }
        struct classifier *c = &ch->v[ch->n];
        c->name = strdup(sec->name);
        c->index = ch->n++;
        c->chain = ch;
        build_one(c, sec, cfg, o, d);
        if (c->state)
            ch->run[ch->nrun++] = c;
    }
    qsort(ch->run, ch->nrun, sizeof(*ch->run), by_order);
}

static void chain_free(struct apd_config *cfg)
{
    struct classify_chain *ch = cfg->classifier;
    if (ch == NULL)
        return;
    for (size_t i = ch->n; i-- > 0;) {
        struct classifier *c = &ch->v[i];
        if (c->state && c->plugin->desc.destroy)
            c->plugin->desc.destroy(c->state);
        if (c->plugin) {
            if (c->pcfg)
                conf_unbind(c->plugin->keys, c->pcfg);
            plugin_put(c->plugin);
        }
        free(c->pcfg);
        conf_unbind(classifier_keys, c);
        free(c->name);
    }
    text_analyzer_free(ch->ta);
    free(ch->run);
    free(ch->v);
    free(ch);
    cfg->classifier = NULL;
}

static void chain_reference(void)
{
    conf_print_keys("classifier \"NAME\"", classifier_keys);
    printf("  (plus the keys of the classifier's plugin)\n\n");
}

const struct conf_module classifier_conf_module = {
    .name = "classifier",
    .build = chain_build,
    .free = chain_free,
    .restart_diff = NULL,       /* lexicons and the chain change on reload */
    .reference = chain_reference,
};

struct classify_chain *classify_chain_of(const struct apd_config *c)
{
    struct classify_chain *ch = c ? c->classifier : NULL;
    return ch && ch->nrun > 0 ? ch : NULL;
}

size_t classify_chain_length(const struct classify_chain *ch) { return ch ? ch->nrun : 0; }

const struct apd_text *classify_chain_analyze(struct classify_chain *ch, const char *s, size_t len)
{
    return text_analyze(ch->ta, s, len);
}

/* ---- running ---- */

void classify_result_init(struct classify_result *r)
{
    memset(r, 0, sizeof(*r));
}

void classify_result_free(struct classify_result *r)
{
    sbuf_free(&r->evidence);
}

static void result_reset(struct classify_result *r)
{
    struct sbuf ev = r->evidence;
    memset(r, 0, sizeof(*r));
    r->evidence = ev;
    sbuf_reset(&r->evidence);
}

/* Two decimals without printf: this runs for every piece of evidence. */
static void put_fixed2(struct sbuf *b, double v)
{
    char buf[32];
    size_t n = 0;
    if (v != v)
        v = 0;
    if (v < 0) {
        buf[n++] = '-';
        v = -v;
    }
    if (v > 1e9)
        v = 1e9;
    long long x = (long long)(v * 100 + 0.5);
    long long ip = x / 100;
    int fp = (int)(x % 100);
    char tmp[24];
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    while (k)
        buf[n++] = tmp[--k];
    buf[n++] = '.';
    buf[n++] = (char)('0' + fp / 10);
    buf[n++] = (char)('0' + fp % 10);
    sbuf_add(b, buf, n);
}

struct evidence_ctx {
    struct classify_result *out;
    const struct apd_text *text;
    const char *by;
};

static void add_str(struct sbuf *b, const char *key, const char *v)
{
    sbuf_add(b, ",\"", 2);
    sbuf_adds(b, key);
    sbuf_add(b, "\":", 2);
    sbuf_json_str(b, v, strlen(v));
}

static void on_evidence(void *arg, const struct apd_evidence *ev)
{
    struct evidence_ctx *x = arg;
    struct classify_result *r = x->out;
    if (ev == NULL || ev->field == NULL || ev->value == NULL)
        return;
    if (r->nevidence >= CLASSIFY_MAX_EVIDENCE) {
        r->evidence_dropped++;
        return;
    }
    struct sbuf *b = &r->evidence;
    if (r->nevidence++)
        sbuf_addc(b, ',');
    sbuf_adds(b, "{\"by\":");
    sbuf_json_str(b, x->by, strlen(x->by));
    add_str(b, "field", ev->field);
    add_str(b, "value", ev->value);
    if (ev->term)
        add_str(b, "term", ev->term);
    if (ev->rule)
        add_str(b, "rule", ev->rule);
    const struct apd_text *t = x->text;
    if (ev->len && t && (size_t)ev->start + ev->len <= t->text_len) {
        sbuf_adds(b, ",\"text\":");
        sbuf_json_str(b, t->text + ev->start, ev->len);
    }
    sbuf_adds(b, ",\"weight\":");
    put_fixed2(b, ev->weight);
    if (ev->flags & APD_EVD_FUZZY)
        sbuf_adds(b, ",\"fuzzy\":true");
    if (ev->flags & APD_EVD_SPLIT)
        sbuf_adds(b, ",\"split\":true");
    sbuf_addc(b, '}');
}

static double clamp01(double v) { return v != v || v < 0 ? 0 : v > 1 ? 1 : v; }

/* Copies a code a plugin returned; a code that does not fit is dropped and
 * logged, never cut (a cut code would route somewhere else). */
static bool take_code(char *dst, const char *src, const struct classifier *c, const char *field)
{
    if (src == NULL) {
        dst[0] = '\0';
        return false;
    }
    size_t n = strlen(src);
    if (n == 0 || n >= CLASSIFY_CODE_MAX) {
        log_warn("classify: classifier %s returned a %s code of %zu bytes; ignored", c->name,
                 field, n);
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

static void finish(struct classify_result *r, const struct apd_classification *io,
                   const struct classifier *last, const struct classify_request *rq,
                   const struct apd_text *t)
{
    if (last) {
        r->classified = take_code(r->kind, io->kind, last, "kind");
        take_code(r->category, io->category, last, "category");
        take_code(r->municipality, io->municipality, last, "municipality");
        take_code(r->priority, io->priority, last, "priority");
        snprintf(r->priority_reason, sizeof(r->priority_reason), "%s",
                 io->priority_reason ? io->priority_reason : "");
    }
    r->kind_confidence = clamp01(io->kind_confidence);
    r->category_confidence = clamp01(io->category_confidence);
    r->municipality_confidence = clamp01(io->municipality_confidence);
    r->priority_confidence = clamp01(io->priority_confidence);
    r->is_appeal = !(strcmp(r->kind, "gratitude") == 0 || strcmp(r->kind, "noise") == 0);
    if (!r->is_appeal) {
        r->category[0] = '\0';
        r->category_confidence = 0;
    }
    if (r->municipality[0]) {
        r->municipality_from = "text";
    } else if (rq->page_municipality && strlen(rq->page_municipality) < CLASSIFY_CODE_MAX) {
        strcpy(r->municipality, rq->page_municipality);
        r->municipality_from = "page";
        r->municipality_confidence = 0.6;
        struct evidence_ctx x = {r, t, "host"};
        char page[160];
        snprintf(page, sizeof(page), "%s:%s", rq->source ? rq->source : "?",
                 rq->page ? rq->page : "?");
        struct apd_evidence ev = {.struct_size = sizeof(ev), .field = "municipality",
                                  .value = r->municipality, .rule = "page",
                                  .term = page, .weight = 1};
        on_evidence(&x, &ev);
    } else {
        r->municipality_confidence = 0;
    }
    if (r->priority[0] == '\0' || !r->is_appeal) {
        strcpy(r->priority, "normal");
        r->priority_reason[0] = '\0';
        if (!r->is_appeal || r->priority_confidence == 0)
            r->priority_confidence = r->is_appeal ? 0.5 : 1;
    }
}

/* What a classifier plugin is given for a request and its analysis. */
static struct apd_classify_input input_of(const struct classify_request *rq,
                                          const struct apd_text *t)
{
    return (struct apd_classify_input){
        .struct_size = sizeof(struct apd_classify_input), .text = rq->text,
        .text_len = rq->len, .analysis = t, .source = rq->source, .page = rq->page,
        .page_municipality = rq->page_municipality, .item_kind = rq->item_kind,
    };
}

void classify_text(struct classify_chain *ch, const struct classify_request *rq,
                   struct classify_result *out)
{
    result_reset(out);
    struct apd_classification io = {.struct_size = sizeof(io)};
    const struct apd_text *t = NULL;
    const struct classifier *last = NULL;
    if (ch && ch->nrun) {
        t = text_analyze(ch->ta, rq->text, rq->len);
        struct apd_classify_input in = input_of(rq, t);
        size_t bylen = 0;
        for (size_t i = 0; i < ch->nrun; i++) {
            struct classifier *c = ch->run[i];
            struct evidence_ctx x = {out, t, c->name};
            int rc = c->plugin->desc.classifier->classify(c->state, &in, &io, on_evidence, &x);
            if (rc != 0 && !c->failure_logged) {
                c->failure_logged = true;
                log_warn("classify: classifier %s could not classify a text; the chain goes on "
                         "without it (logged once per configuration)", c->name);
            }
            int w = snprintf(out->by + bylen, sizeof(out->by) - bylen, "%s%s", bylen ? "," : "",
                             c->name);
            if (w > 0 && bylen + (size_t)w < sizeof(out->by))
                bylen += (size_t)w;
            last = c;
            if (io.flags & APD_CLS_FINAL)
                break;
        }
    }
    finish(out, &io, last, rq, t);
}

/* The first classifier of the chain that has a trained model reports the
 * feature vector of the text (appealsd classify --features). */
uint32_t classify_chain_features(struct classify_chain *ch, const struct classify_request *rq,
                                 apd_feature_fn emit, void *ctx, const char **name)
{
    *name = NULL;
    for (size_t i = 0; ch && i < ch->nrun; i++) {
        struct classifier *c = ch->run[i];
        const struct apd_classifier_ops *o = c->plugin->desc.classifier;
        if (o->features == NULL)
            continue;
        struct apd_classify_input in = input_of(rq, text_analyze(ch->ta, rq->text, rq->len));
        *name = c->name;
        return o->features(c->state, &in, emit, ctx);
    }
    return 0;
}

/* ---- output ---- */

/* A code or text member; unknown ones are null (nulls) or left out. */
static void kstr_opt(struct jw *w, const char *k, const char *v, bool nulls)
{
    if (v && v[0]) {
        jw_kstr(w, k, v);
    } else if (nulls) {
        jw_key(w, k);
        jw_null(w);
    }
}

static void kfixed(struct jw *w, const char *k, double v)
{
    jw_key(w, k);
    jw_raw(w, "", 0);           /* the separator; the number follows */
    put_fixed2(w->b, v);
}

double classify_result_confidence(const struct classify_result *r)
{
    if (r->kind[0] == '\0')
        return 0;
    if (!r->is_appeal || r->category[0] == '\0')
        return r->kind_confidence;
    return r->category_confidence < r->kind_confidence ? r->category_confidence
                                                       : r->kind_confidence;
}

void classify_result_members(const struct classify_result *r, struct jw *w, bool nulls)
{
    jw_kbool(w, "is_appeal", r->is_appeal);
    kstr_opt(w, "kind", r->kind, nulls);
    kstr_opt(w, "category", r->category, nulls);
    kstr_opt(w, "municipality", r->municipality, nulls);
    kstr_opt(w, "municipality_from", r->municipality_from, nulls);
    kstr_opt(w, "priority", r->priority, nulls);
    kstr_opt(w, "priority_reason", r->priority_reason, nulls);
    kfixed(w, "confidence", classify_result_confidence(r));
    jw_key(w, "confidences");
    jw_obj(w);
    kfixed(w, "kind", r->kind_confidence);
    kfixed(w, "category", r->category_confidence);
    kfixed(w, "municipality", r->municipality_confidence);
    kfixed(w, "priority", r->priority_confidence);
    jw_obj_end(w);
    jw_key(w, "evidence");
    jw_raw(w, "[", 1);
    sbuf_add(w->b, r->evidence.p ? r->evidence.p : "", r->evidence.len);
    sbuf_addc(w->b, ']');
    if (r->evidence_dropped)
        jw_kint(w, "evidence_dropped", (int64_t)r->evidence_dropped);
    jw_key(w, "classifiers");
    jw_arr(w);
    for (const char *p = r->by; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        jw_strn(w, p, n);
        p += n + (e != NULL);
    }
    jw_arr_end(w);
}

void classify_result_json(const struct classify_result *r, struct sbuf *out)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    classify_result_members(r, &w, false);
    jw_obj_end(&w);
}
