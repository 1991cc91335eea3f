/* classify_ru: kind and category from the trained model.
 *
 * The appeal head says whether the text is an appeal (at the threshold
 * chosen on the dev set); the kind head then picks the kind within that
 * side.  The category head picks a category only when its probability
 * reaches that category's minimum: a category the model is not sure of is
 * `other`, for an operator to look at, not a guess sent to the wrong body.
 * The evidence is the features that weighed most, as the citizen wrote
 * them.
 *
 * Scoring is where the time goes: a text has hundreds of features, each a
 * random read into the weights.  Most of them are a word's own (its stem
 * and character n-grams), so their summed weights are remembered per word
 * of the host's vocabulary: a known word costs one read of the model's
 * width.  The vector then holds only the other features (bigrams, negation,
 * structure, lexicon scores). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The words of the text that added most to class c of head h (sign 1) or
 * took most from it (sign -1): a word's stem, its character n-grams and its
 * bigrams summed, so each word is named once. */
#define VOCAB_MAX 65536u

/* The summed weights of the own features of token i (model width of them),
 * worked out on the word's first use in this vocabulary generation. */
static const float *word_sum(struct ru *ru, const struct apd_text *t, size_t i)
{
    const struct model *m = ru->model;
    uint32_t id = t->word_ids ? t->word_ids[i] : VOCAB_MAX;
    float *w;
    if (id < VOCAB_MAX) {
        if (ru->wsum == NULL) {
            ru->wsum = malloc((size_t)VOCAB_MAX * m->width * sizeof(float));
            ru->wgen = calloc(VOCAB_MAX, sizeof(uint32_t));
            if (ru->wsum == NULL || ru->wgen == NULL)
                abort();
        }
        w = ru->wsum + (size_t)id * m->width;
        if (ru->wgen[id] == t->vocabulary + 1)
            return w;
        ru->wgen[id] = t->vocabulary + 1;
    } else {
        static float scratch[MODEL_MAX_WIDTH];
        w = scratch;
    }
    memset(w, 0, m->width * sizeof(float));
    size_t n;
    const uint32_t *f = feat_word(ru->fs, t, i, &n);
    for (size_t k = 0; k < n; k++)
        for (int h = 0; h < NHEADS; h++)
            for (size_t c = 0; c < m->nclass[h]; c++)
                w[m->col0[h] + c] += (float)model_weight(m, h, c, f[k]);
    return w;
}

/* Adds the words' own features to the scores of heads from..to. */
static void score_words(struct ru *ru, const struct apd_text *t, enum model_head from,
                        enum model_head to, double *z)
{
    const struct model *m = ru->model;
    size_t c0 = m->col0[from], c1 = m->col0[to] + m->nclass[to];
    for (size_t i = 0; i < t->ntokens; i++) {
        const float *w = word_sum(ru, t, i);
        for (size_t c = c0; c < c1; c++)
            z[c] += w[c] * ru->fv.scale;
    }
}

/* The words of the text that added most to class c of head h (sign 1) or
 * took most from it (sign -1), by their own features, each word once. */
static void say_words(struct ru *ru, const struct apd_text *t, enum model_head h, size_t c,
                      int sign, const char *field, const char *value, apd_evidence_fn evidence,
                      void *ctx)
{
    size_t col = ru->model->col0[h] + c;
    uint32_t said[TOP];
    for (int k = 0; k < TOP; k++) {
        double best = 0;
        size_t at = 0;
        for (size_t i = 0; i < t->ntokens; i++) {
            double x = sign * word_sum(ru, t, i)[col] * ru->fv.scale;
            bool dup = false;
            for (int j = 0; j < k; j++)
                dup |= t->word_ids && t->word_ids[i] == said[j];
            if (x > best && !dup) {
                best = x;
                at = i;
            }
        }
        if (best <= 0)
            return;
        said[k] = t->word_ids ? t->word_ids[at] : UINT32_MAX;
        const struct apd_token *tk = &t->tokens[at];
        struct apd_evidence ev = {.struct_size = sizeof(ev), .field = field, .value = value,
                                  .term = tk->word, .rule = "model", .weight = sign * best,
                                  .start = tk->start, .len = tk->len};
        evidence(ctx, &ev);
    }
}

/* The evidence of a model decision: the strongest features that are not
 * words (often the lexicons' own scores) and the strongest words, so an
 * operator sees both what the lexicons said and what was read. */
static void say_top(struct ru *ru, const struct apd_text *t, enum model_head h, size_t c,
                    int sign, const char *field, const char *value, apd_evidence_fn evidence,
                    void *ctx)
{
    size_t pos[2];
    double w[2];
    size_t n = model_top(ru->model, h, c, sign, false, &ru->fv, pos, w, 2);
    for (size_t i = 0; i < n; i++)
        say_feature(ru, t, pos[i], field, value, w[i], evidence, ctx);
    say_words(ru, t, h, c, sign, field, value, evidence, ctx);
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

static void decide_kind(struct ru *ru, const struct apd_text *t, const double *z,
                        struct apd_classification *io, apd_evidence_fn evidence, void *ctx)
{
    static const char *const appeal_kinds[] = {"complaint", "question", "request"};
    static const char *const other_kinds[] = {"gratitude", "noise"};
    const struct model *m = ru->model;
    double pa, pk[MODEL_MAX_CLASSES], share;
    model_predict(m, HEAD_APPEAL, z, &pa);
    model_predict(m, HEAD_KIND, z, pk);
    bool appeal = pa >= m->appeal_threshold;
    int k = appeal ? best_kind(m, pk, appeal_kinds, 3, &share)
                   : best_kind(m, pk, other_kinds, 2, &share);
    io->kind = k >= 0 ? m->classes[HEAD_KIND][k] : appeal ? "complaint" : "noise";
    if (k < 0)
        share = 1;
    io->kind_confidence = (appeal ? pa : 1 - pa) * share;
    say_top(ru, t, HEAD_APPEAL, 0, appeal ? 1 : -1, "kind", io->kind, evidence, ctx);
}

static void decide_category(struct ru *ru, const struct apd_text *t, const double *z,
                            int lex_cat, double lex_best, struct apd_classification *io,
                            apd_evidence_fn evidence, void *ctx)
{
    const struct model *m = ru->model;
    double p[MODEL_MAX_CLASSES];
    model_predict(m, HEAD_CATEGORY, z, p);
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
    if (lex_cat >= 0 && lex_best >= ru->p.model_fallback_min) {
        /* the model is sure of none, the lexicons clearly name one */
        io->category = ru->lx->sections[lex_cat].code;
        io->category_confidence = fmin(0.8, lex_best / (lex_best + 2));
        struct apd_evidence ev = {.struct_size = sizeof(ev), .field = "category",
                                  .value = io->category, .rule = "model:lexicon-fallback",
                                  .weight = lex_best};
        evidence(ctx, &ev);
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
                     const double kind_score[RU_NKINDS], int lex_cat, double lex_best,
                     struct apd_classification *io, apd_evidence_fn evidence, void *ctx)
{
    double z[MODEL_MAX_WIDTH];
    const struct apd_text *t = in->analysis;
    feat_extract(ru->fs, ru, in, kind_score, false, &ru->fv);
    /* the category head only for appeals: most comments are not */
    model_scores(ru->model, &ru->fv, HEAD_APPEAL, HEAD_KIND, z);
    score_words(ru, t, HEAD_APPEAL, HEAD_KIND, z);
    decide_kind(ru, t, z, io, evidence, ctx);
    if (strcmp(io->kind, "gratitude") != 0 && strcmp(io->kind, "noise") != 0) {
        model_scores(ru->model, &ru->fv, HEAD_CATEGORY, HEAD_CATEGORY, z);
        score_words(ru, t, HEAD_CATEGORY, HEAD_CATEGORY, z);
        decide_category(ru, t, z, lex_cat, lex_best, io, evidence, ctx);
    }
}
