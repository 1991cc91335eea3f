/* classify_ru: the feature vector of a text for the trained model.
 *
 * Every feature is a name hashed into FEAT_DIM buckets (FNV-1a), so the
 * model needs no vocabulary and a word never seen in training costs nothing:
 *   w:STEM        each word's Snowball stem (numbers as one "num")
 *   c:NGRAM       character 3- and 4-grams of each word with its boundaries
 *                 ("^яма$" → "^ям", "яма", "ма$", "^яма", "яма$"): misspelt
 *                 and unknown forms still share most of them
 *   b:STEM STEM   neighbouring stems within a sentence
 *   n:STEM        a word inside a negation ("не горит", "воды нет")
 *   f:STEM        the first two words of the text (how it opens)
 * every occurrence counts, and together they are scaled by 1 / sqrt(the
 * number of occurrences); then, at their own scale:
 *   L:TYPE:CODE   log(1 + score) of each category, kind and priority
 *                 section of the lexicons (what the operators' lexicons say)
 *   K:KIND        the lexicon classifier's score of each kind, squashed
 *   S:NAME        structure: question mark, exclamation, link, phone,
 *                 emoji, capitals, a reply to a named person or to a
 *                 community (the page), length band
 *
 * FEAT_VERSION names this recipe: a model file states the version it was
 * trained on and is refused by a plugin that computes another. */
#ifndef APPEALSD_RU_FVEC_H
#define APPEALSD_RU_FVEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appealsd/classify.h"

#define FEAT_VERSION 3
#define FEAT_DIM (1u << 18)

struct ru;

/* What a feature came from, for the evidence: a token, or a name. */
struct feat_origin {
    int32_t token;          /* index into apd_text.tokens, or -1 */
    const char *name;       /* static name of a non-word feature, or NULL */
};

/* One text's features (reused across texts). */
struct fvec {
    uint32_t *idx;
    float *val;
    struct feat_origin *from;
    size_t n, cap;
    float scale;            /* what the text's word features were scaled by */
};

struct feat_state;

struct feat_state *feat_new(void);
void feat_free(struct feat_state *fs);
void fvec_free(struct fvec *v);

/* The features of t, after ru has scored it (ru->score, kind scores).
 * Without words, the words' own features (stem, character n-grams) are left
 * out of the vector, for a caller that scores them word by word from
 * feat_word(); out->scale is what each of them would have been worth. */
void feat_extract(struct feat_state *fs, const struct ru *ru, const struct apd_classify_input *in,
                  const double kind_score[], bool words, struct fvec *out);

/* The buckets of the own features of token i of t (n of them, repeats
 * included); valid until the next call. */
const uint32_t *feat_word(struct feat_state *fs, const struct apd_text *t, size_t i, size_t *n);

/* Sorts v by index (the features op reports them in order). */
void fvec_sort(struct fvec *v);

#endif
