/* classify_spam: advertising and spam, whatever the classifiers before it
 * decided.
 *
 * Runs after the main classifier and overrides its decision when the text
 * sells, recruits or lures: its score is the sum of the [spam] phrases of
 * its lexicon plus weights for links (more for link shorteners and
 * messenger invitations), phone numbers and mentions; at `threshold` the
 * text becomes noise ("spam" in the evidence) and, unless `final` is off,
 * the chain stops.  A text the main classifier found to be an appeal with
 * a strong topic needs `appeal_margin` more: a citizen who leaves a phone
 * number with a complaint is not advertising. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "appealsd/plugin.h"
#include "lex.h"

struct spam_config {
    struct {
        char **v;
        size_t n;
    } lexicon;
    bool final;
};

static const struct apd_config_key spam_keys[] = {
    {"lexicon", APD_KEY_PATH_LIST, offsetof(struct spam_config, lexicon), NULL, 0, 0,
     "spam lexicon files or directories (sections [spam], [domain CODE], [param])"},
    {"final", APD_KEY_BOOL, offsetof(struct spam_config, final), "yes", 0, 0,
     "stop the chain when a text is found to be spam"},
    {0},
};

static const struct lex_schema spam_schema[] = {
    {"spam", false, false, false},
    {"domain", true, false, true},   /* [domain shortener], [domain official]: host names */
    {NULL, false, false, false},
};

static const char *const param_names[] = {"threshold", "link", "phone", "mention",
                                          "appeal_margin", NULL};

struct spam {
    const struct apd_host_api *api;
    void *handle;
    struct lex *lx;
    struct lex_matcher *m;
    bool final;
    double threshold, link, phone, mention, appeal_margin;
    int spam_sec;
    char term[256];
};

static void spam_destroy(void *state)
{
    struct spam *sp = state;
    if (sp == NULL)
        return;
    lex_matcher_free(sp->m);
    lex_free(sp->lx);
    free(sp);
}

static void *spam_init(const struct apd_host_api *api, void *handle, const void *config,
                       char *err, size_t errlen)
{
    const struct spam_config *cfg = config;
    if (cfg->lexicon.n == 0) {
        snprintf(err, errlen, "lexicon: no files given");
        return NULL;
    }
    struct spam *sp = calloc(1, sizeof(*sp));
    if (sp == NULL)
        abort();
    sp->api = api;
    sp->handle = handle;
    sp->final = cfg->final;
    sp->lx = lex_load(api, handle, spam_schema, (const char *const *)cfg->lexicon.v,
                      cfg->lexicon.n, 0, err, errlen);
    if (sp->lx == NULL || lex_check_params(sp->lx, param_names, err, errlen) != 0) {
        spam_destroy(sp);
        return NULL;
    }
    sp->threshold = lex_param(sp->lx, "threshold", 4);
    sp->link = lex_param(sp->lx, "link", 1.5);
    sp->phone = lex_param(sp->lx, "phone", 1.5);
    sp->mention = lex_param(sp->lx, "mention", 0.5);
    sp->appeal_margin = lex_param(sp->lx, "appeal_margin", 2);
    sp->spam_sec = lex_section(sp->lx, "spam", NULL);
    sp->m = lex_matcher_new(sp->lx, api, handle);
    return sp;
}

/* The host of a URL as written: "https://bit.ly/x" -> "bit.ly". */
static size_t url_host(const char *url, const char **host)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    if (strncasecmp(p, "www.", 4) == 0)
        p += 4;
    *host = p;
    return strcspn(p, "/?#:");
}

/* The weight of the [domain ...] entry naming this host, or 0.  Entries are
 * words of the host ("bit", "ly"), so the lexicon's own matching is used:
 * each entry's text is compared with the host. */
static double domain_weight(const struct spam *sp, const char *url, const char **which)
{
    const char *host;
    size_t n = url_host(url, &host);
    const struct lex *lx = sp->lx;
    for (size_t e = 0; e < lx->nentries; e++) {
        const struct lex_entry *en = &lx->entries[e];
        if (strcmp(lx->sections[en->section].type, "domain") != 0)
            continue;
        size_t k = strlen(en->text);
        /* the host is the entry or ends with "." + entry */
        if (n >= k && strncasecmp(host + n - k, en->text, k) == 0 &&
            (n == k || host[n - k - 1] == '.')) {
            *which = en->text;
            return en->weight;
        }
    }
    return 0;
}

static void say(apd_evidence_fn fn, void *ctx, const char *term, const char *rule, double w,
                uint32_t start, uint32_t len)
{
    struct apd_evidence ev = {.struct_size = sizeof(ev), .field = "kind", .value = "noise",
                              .term = term, .rule = rule, .weight = w, .start = start,
                              .len = len};
    fn(ctx, &ev);
}

static double score_of(struct spam *sp, const struct apd_text *t, apd_evidence_fn fn, void *ctx,
                       bool speak)
{
    double s = 0;
    for (size_t i = 0; i < sp->m->nhits; i++) {
        const struct lex_hit *h = &sp->m->hits[i];
        const struct lex_entry *e = &sp->lx->entries[h->entry];
        if ((int)e->section != sp->spam_sec)
            continue;
        s += e->weight;
        if (speak)
            say(fn, ctx, e->text, NULL, e->weight, h->start, h->len);
    }
    for (size_t i = 0; i < t->nurls; i++) {
        const char *which = NULL;
        double w = sp->link + domain_weight(sp, t->urls[i], &which);
        s += w;
        if (speak) {
            snprintf(sp->term, sizeof(sp->term), "%s", t->urls[i]);
            say(fn, ctx, sp->term, which ? "link-to-known-domain" : "link", w, 0, 0);
        }
    }
    double ph = sp->phone * fmin(t->phones, 2), mn = sp->mention * fmin(t->mentions, 3);
    s += ph + mn;
    if (speak && ph)
        say(fn, ctx, NULL, "phone-number", ph, 0, 0);
    if (speak && mn)
        say(fn, ctx, NULL, "mention", mn, 0, 0);
    return s;
}

static int spam_classify(void *state, const struct apd_classify_input *in,
                         struct apd_classification *io, apd_evidence_fn evidence, void *ctx)
{
    struct spam *sp = state;
    const struct apd_text *t = in->analysis;
    if (t == NULL)
        return -1;
    lex_match(sp->m, t);
    double s = score_of(sp, t, evidence, ctx, false);
    bool appeal = io->kind && strcmp(io->kind, "noise") != 0 && strcmp(io->kind, "gratitude") != 0;
    double need = sp->threshold + (appeal && io->category_confidence >= 0.5 ? sp->appeal_margin : 0);
    if (s < need)
        return 0;
    score_of(sp, t, evidence, ctx, true);
    say(evidence, ctx, NULL, "spam", s, 0, 0);
    io->kind = "noise";
    io->kind_confidence = fmin(0.99, 0.5 + s / 20);
    io->category = NULL;
    io->category_confidence = 0;
    io->priority = "normal";
    io->priority_confidence = 1;
    io->priority_reason = NULL;
    if (sp->final)
        io->flags |= APD_CLS_FINAL;
    return 0;
}

static const struct apd_classifier_ops spam_ops = {
    .struct_size = sizeof(struct apd_classifier_ops),
    .classify = spam_classify,
};

APD_PLUGIN_DEFINE(
    .kind = APD_PLUGIN_CLASSIFIER,
    .name = "classify_spam",
    .version = "1.0",
    .description = "advertising and spam: turns what sells or lures into noise",
    .keys = spam_keys,
    .config_size = sizeof(struct spam_config),
    .init = spam_init,
    .destroy = spam_destroy,
    .classifier = &spam_ops,
);
