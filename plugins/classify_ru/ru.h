/* classify_ru: the default Russian classifier.  It reads its knowledge from
 * lexicon files (the .lex files of config/classifier/ru), matches them against the
 * host's analysis of a text, and decides kind, category, municipality and
 * priority from weighted evidence plus a few structural signals (question
 * marks, negations, emoji, links, length) whose weights are [param]s of the
 * same files.  See docs/classifier.md for how the decision is made. */
#ifndef APPEALSD_RU_H
#define APPEALSD_RU_H

#include <stddef.h>

#include "appealsd/plugin.h"
#include "fvec.h"
#include "lex.h"
#include "model.h"

/* Numbers from [param]; defaults in ru.c. */
struct ru_params {
    double topic_weight, topic_cap, no_topic, negation, negative_emoji, exclaim, caps;
    double question_mark, later_sentence, lead_words, lead_topic, landmark, positive_emoji, thanks_vs_problem;
    double noise_base, short_text, short_topic, short_words, link, phone, topic_vs_noise;
    double category_min, fuzzy_factor, critical_min, high_min, place_min;
    double kind_temperature, private_message, model_fallback_min;
    const char *fallback_category;
};

enum ru_kind { RU_COMPLAINT, RU_QUESTION, RU_REQUEST, RU_GRATITUDE, RU_NOISE, RU_NKINDS };

struct ru {
    const struct apd_host_api *api;
    void *handle;
    struct lex *lx;
    struct lex_matcher *m;
    struct ru_params p;
    int kind_sec[RU_NKINDS];    /* section of each kind, -1 if the lexicon has none */
    int crit_sec, high_sec;
    uint8_t *sec_role;          /* per section: enum ru_role */
    int *sec_target;            /* per section: the section its weights add to (a
                                   [learned CODE] adds to [category CODE]) */
    double *score;              /* per section, for the current text */
    double *lead_bonus;         /* per category: what its early words add to its choice */
    uint16_t lead;              /* the lead sentence of the current text */
    uint8_t *ok;                /* per hit of the current text: it counts */
    size_t okcap;
    char reason[160];
    /* the trained model, when the configuration names one */
    struct model *model;
    struct feat_state *fs;
    struct fvec fv;
    char term[160];             /* the words behind a model feature, for evidence */
    double *tokw;               /* per token: what its features added (evidence) */
    size_t tokwcap;
    /* per vocabulary word id: the summed weights of the word's own features
     * for every class (model width), valid while wgen[id] is the host's
     * vocabulary generation + 1 */
    float *wsum;
    uint32_t *wgen;
};

enum ru_role { ROLE_NONE, ROLE_CATEGORY, ROLE_KIND, ROLE_PRIORITY, ROLE_PLACE };

extern const char *const ru_kind_codes[RU_NKINDS];

/* Decides everything for one matched text (ru->m holds the match); with a
 * model, in->analysis also feeds its features. */
void ru_decide(struct ru *ru, const struct apd_classify_input *in, bool message,
               struct apd_classification *io, apd_evidence_fn evidence, void *ctx);

/* The lexicon scores of a matched text (ru->score) and of each kind, as
 * ru_decide weighs them; the model's features include them. */
void ru_score(struct ru *ru, const struct apd_text *t, bool message,
              double kind_score[RU_NKINDS]);

/* Kind and category from the trained model (model_decide.c).  lex_cat is
 * the lexicons' best category section (-1: none) and lex_best its score:
 * where the model is sure of no category, a lexicon category that reaches
 * model_fallback_min is taken (the lexicons know topics the real data has
 * few examples of). */
void ru_model_decide(struct ru *ru, const struct apd_classify_input *in,
                     const double kind_score[RU_NKINDS], int lex_cat, double lex_best,
                     struct apd_classification *io, apd_evidence_fn evidence, void *ctx);

#endif
