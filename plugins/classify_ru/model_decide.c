/* classify_ru: kind and category from the trained model.
 *
 * The appeal head says whether the text is an appeal (at the threshold
 * chosen on the dev set); the kind head then picks the kind within that
 * side.  The category head picks a category only when its probability
 * reaches that category's minimum: a category the model is not sure of is
 * `other`, for an operator to look at, not a guess sent to the wrong body.
 * The evidence is the features that weighed most, as the citizen wrote
 * them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ru.h"

#define TOP 3

/* The evidence of the feature at position i of the vector. */
static void say_feature(struct ru *ru, const struct apd_text *t, size_t i, const char *field,
                        const char *value, double w, apd_evidence_fn evidence, void *ctx)
{
    const struct feat_origin *o = &ru->fv.from[i];
    struct apd_evidence ev = {.struct_size = sizeof(ev), .field = field, .value = value,
                              .rule = "model", .weight = w};
    if (o->token >= 0) {
        const struct apd_token *tk = &t->tokens[o->token];
        ev.term = tk->word;
        ev.start = tk->start;
        ev.len = tk->len;
    } else if (o->token <= -2) {
        const struct lex_section *s = &ru->lx->sections[-2 - o->token];
        snprintf(ru->term, sizeof(ru->term), "model:lexicon %s %s", s->type, s->code);
        ev.rule = ru->term;
    } else {
        snprintf(ru->term, sizeof(ru->term), "model:%s", o->name);
        ev.rule = ru->term;
    }
    evidence(ctx, &ev);
}

static void say_top(struct ru *ru, const struct apd_text *t, enum model_head h, size_t c,
                    int sign, const char *field, const char *value, apd_evidence_fn evidence,
                    void *ctx)
{
    size_t pos[TOP];
    double w[TOP];
    size_t n = model_top(ru->model, h, c, sign, &ru->fv, pos, w, TOP);
    for (size_t i = 0; i < n; i++)
        say_feature(ru, t, pos[i], field, value, w[i], evidence, ctx);
}

/* The likeliest of the kinds named, by the kind head; its share of them in
 * *share. */
static int best_kind(const struct model *m, const double *pk, const char *const *names,
                     size_t n, double *share)
{
    int best = -1;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        int c = model_class(m, HEAD_KIND, names[i]);
        if (c < 0)
            continue;
        sum += pk[c];
        if (best < 0 || pk[c] > pk[best])
            best = c;
    }
    *share = best >= 0 && sum > 0 ? pk[best] / sum : 0;
    return best;
}

static void decide_kind(struct ru *ru, const struct apd_text *t, struct apd_classification *io,
                        apd_evidence_fn evidence, void *ctx)
{
    static const char *const appeal_kinds[] = {"complaint", "question", "request"};
    static const char *const other_kinds[] = {"gratitude", "noise"};
    const struct model *m = ru->model;
    double pa, pk[MODEL_MAX_CLASSES], share;
    model_predict(m, HEAD_APPEAL, &ru->fv, &pa);
    model_predict(m, HEAD_KIND, &ru->fv, pk);
    bool appeal = pa >= m->appeal_threshold;
    int k = appeal ? best_kind(m, pk, appeal_kinds, 3, &share)
                   : best_kind(m, pk, other_kinds, 2, &share);
    io->kind = k >= 0 ? m->classes[HEAD_KIND][k] : appeal ? "complaint" : "noise";
    if (k < 0)
        share = 1;
    io->kind_confidence = (appeal ? pa : 1 - pa) * share;
    say_top(ru, t, HEAD_APPEAL, 0, appeal ? 1 : -1, "kind", io->kind, evidence, ctx);
    if (k >= 0)
        say_top(ru, t, HEAD_KIND, (size_t)k, 1, "kind", io->kind, evidence, ctx);
}

static void decide_category(struct ru *ru, const struct apd_text *t,
                            struct apd_classification *io, apd_evidence_fn evidence, void *ctx)
{
    const struct model *m = ru->model;
    double p[MODEL_MAX_CLASSES];
    model_predict(m, HEAD_CATEGORY, &ru->fv, p);
    size_t best = 0;
    for (size_t c = 1; c < m->nclass[HEAD_CATEGORY]; c++)
        if (p[c] > p[best])
            best = c;
    int other = model_class(m, HEAD_CATEGORY, ru->p.fallback_category);
    if (p[best] >= m->minimum[best] && (int)best != other) {
        io->category = m->classes[HEAD_CATEGORY][best];
        io->category_confidence = p[best];
        say_top(ru, t, HEAD_CATEGORY, best, 1, "category", io->category, evidence, ctx);
        return;
    }
    /* no category is sure enough: the fallback, as sure as the model is
     * that none of the others fits */
    io->category = ru->p.fallback_category;
    io->category_confidence = other >= 0 ? p[other] : 1 - p[best];
    struct apd_evidence ev = {.struct_size = sizeof(ev), .field = "category",
                              .value = io->category, .rule = "model:no-confident-category",
                              .weight = p[best]};
    evidence(ctx, &ev);
}

void ru_model_decide(struct ru *ru, const struct apd_classify_input *in,
                     const double kind_score[RU_NKINDS], struct apd_classification *io,
                     apd_evidence_fn evidence, void *ctx)
{
    feat_extract(ru->fs, ru, in, kind_score, &ru->fv);
    decide_kind(ru, in->analysis, io, evidence, ctx);
    if (strcmp(io->kind, "gratitude") != 0 && strcmp(io->kind, "noise") != 0)
        decide_category(ru, in->analysis, io, evidence, ctx);
}
