/* classify_ru: plugin glue — config keys, loading the lexicons, the
 * per-text call. */
#include "ru.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apd_build.h"

struct ru_config {
    struct {
        char **v;
        size_t n;
    } lexicon;
    int64_t fuzzy_min_length;
    char *model;
};

static const struct apd_config_key ru_keys[] = {
    {"lexicon", APD_KEY_PATH_LIST, offsetof(struct ru_config, lexicon),
     APD_SYSCONF_DIR "/classifier/ru", 0, 0,
     "lexicon files or directories of *.lex files, read in order"},
    {"fuzzy_min_length", APD_KEY_INT, offsetof(struct ru_config, fuzzy_min_length), "6", 0, 30,
     "letters a stem needs before misspellings of it are matched (0: never)"},
    {"model", APD_KEY_PATH, offsetof(struct ru_config, model), NULL, 0, 0,
     "trained model file (tools/classify_train) that decides kind and category over the "
     "lexicons' scores; empty: the lexicons decide alone"},
    {0},
};

/* Section types the lexicons may use. */
static const struct lex_schema ru_schema[] = {
    {"category", true, false, false}, {"kind", true, false, false},
    {"priority", true, false, false}, {"place", true, false, false},
    {"learned", true, false, false},  {"marker", false, true, false},
    {"street", false, true, false},   {"landmark", false, true, false},
    {NULL, false, false, false},
};

const char *const ru_kind_codes[RU_NKINDS] = {"complaint", "question", "request", "gratitude",
                                              "noise"};

static const char *const param_names[] = {
    "topic_weight", "topic_cap", "no_topic", "negation", "negative_emoji", "exclaim", "caps",
    "question_mark", "later_sentence", "lead_words", "lead_topic", "landmark", "positive_emoji", "thanks_vs_problem", "noise_base", "short_text", "short_topic",
    "short_words", "link", "phone", "topic_vs_noise", "category_min", "fuzzy_factor",
    "critical_min", "high_min", "place_min", "kind_temperature", "private_message",
    "fallback_category", "model_fallback_min", NULL,
};

static void read_params(struct ru *ru)
{
    const struct lex *lx = ru->lx;
    struct ru_params *p = &ru->p;
    p->topic_weight = lex_param(lx, "topic_weight", 0.5);
    p->topic_cap = lex_param(lx, "topic_cap", 6);
    p->no_topic = lex_param(lx, "no_topic", 1.5);
    p->negation = lex_param(lx, "negation", 0.8);
    p->negative_emoji = lex_param(lx, "negative_emoji", 0.6);
    p->exclaim = lex_param(lx, "exclaim", 0.5);
    p->caps = lex_param(lx, "caps", 0.8);
    p->question_mark = lex_param(lx, "question_mark", 2.0);
    p->later_sentence = lex_param(lx, "later_sentence", 0.5);
    p->lead_words = lex_param(lx, "lead_words", 6);
    p->lead_topic = lex_param(lx, "lead_topic", 0.2);
    p->landmark = lex_param(lx, "landmark", 0.5);
    p->positive_emoji = lex_param(lx, "positive_emoji", 0.8);
    p->thanks_vs_problem = lex_param(lx, "thanks_vs_problem", 0.6);
    p->noise_base = lex_param(lx, "noise_base", 1.2);
    p->short_text = lex_param(lx, "short_text", 1.5);
    p->short_topic = lex_param(lx, "short_topic", 0.5);
    p->short_words = lex_param(lx, "short_words", 2);
    p->link = lex_param(lx, "link", 1.5);
    p->phone = lex_param(lx, "phone", 1.0);
    p->topic_vs_noise = lex_param(lx, "topic_vs_noise", 0.4);
    p->category_min = lex_param(lx, "category_min", 1.0);
    p->fuzzy_factor = lex_param(lx, "fuzzy_factor", 0.8);
    p->critical_min = lex_param(lx, "critical_min", 1.0);
    p->high_min = lex_param(lx, "high_min", 1.0);
    p->place_min = lex_param(lx, "place_min", 1.0);
    p->kind_temperature = lex_param(lx, "kind_temperature", 1.0);
    p->private_message = lex_param(lx, "private_message", 0);
    p->model_fallback_min = lex_param(lx, "model_fallback_min", 3.0);
    p->fallback_category = lex_param_str(lx, "fallback_category");
    if (p->fallback_category == NULL)
        p->fallback_category = "other";
    if (p->kind_temperature <= 0)
        p->kind_temperature = 1;
}

static int map_sections(struct ru *ru, char *err, size_t errlen)
{
    const struct lex *lx = ru->lx;
    ru->sec_role = calloc(lx->nsections + 1, 1);
    ru->sec_target = calloc(lx->nsections + 1, sizeof(int));
    ru->score = calloc(lx->nsections + 1, sizeof(double));
    ru->lead_bonus = calloc(lx->nsections + 1, sizeof(double));
    if (ru->sec_role == NULL || ru->score == NULL || ru->sec_target == NULL ||
        ru->lead_bonus == NULL)
        abort();
    for (int k = 0; k < RU_NKINDS; k++)
        ru->kind_sec[k] = lex_section(lx, "kind", ru_kind_codes[k]);
    ru->crit_sec = lex_section(lx, "priority", "critical");
    ru->high_sec = lex_section(lx, "priority", "high");
    size_t categories = 0;
    for (size_t i = 0; i < lx->nsections; i++) {
        const struct lex_section *s = &lx->sections[i];
        ru->sec_target[i] = (int)i;
        if (strcmp(s->type, "learned") == 0) {
            int cat = lex_section(lx, "category", s->code);
            if (cat < 0) {
                snprintf(err, errlen, "[learned %s]: there is no [category %s] to add to",
                         s->code, s->code);
                return -1;
            }
            ru->sec_role[i] = ROLE_CATEGORY;
            ru->sec_target[i] = cat;
            continue;
        }
        if (strcmp(s->type, "category") == 0) {
            ru->sec_role[i] = ROLE_CATEGORY;
            categories++;
        } else if (strcmp(s->type, "place") == 0) {
            ru->sec_role[i] = ROLE_PLACE;
        } else if (strcmp(s->type, "priority") == 0) {
            ru->sec_role[i] = ROLE_PRIORITY;
            if (strcmp(s->code, "critical") != 0 && strcmp(s->code, "high") != 0) {
                snprintf(err, errlen, "[priority %s]: priorities are critical and high "
                         "(normal is what is left)", s->code);
                return -1;
            }
        } else if (strcmp(s->type, "kind") == 0) {
            ru->sec_role[i] = ROLE_KIND;
            bool known = false;
            for (int k = 0; k < RU_NKINDS; k++)
                known |= strcmp(s->code, ru_kind_codes[k]) == 0;
            if (!known) {
                snprintf(err, errlen, "[kind %s]: kinds are complaint, question, request, "
                         "gratitude and noise", s->code);
                return -1;
            }
        }
    }
    if (categories == 0) {
        snprintf(err, errlen, "the lexicons define no [category ...] section");
        return -1;
    }
    return 0;
}

static void ru_destroy(void *state)
{
    struct ru *ru = state;
    if (ru == NULL)
        return;
    lex_matcher_free(ru->m);
    lex_free(ru->lx);
    free(ru->sec_role);
    free(ru->sec_target);
    free(ru->score);
    free(ru->lead_bonus);
    free(ru->ok);
    model_free(ru->model);
    feat_free(ru->fs);
    fvec_free(&ru->fv);
    free(ru->tokw);
    free(ru->wsum);
    free(ru->wgen);
    free(ru);
}

static void *ru_init(const struct apd_host_api *api, void *handle, const void *config,
                     char *err, size_t errlen)
{
    const struct ru_config *cfg = config;
    if (cfg->lexicon.n == 0) {
        snprintf(err, errlen, "lexicon: no files given");
        return NULL;
    }
    struct ru *ru = calloc(1, sizeof(*ru));
    if (ru == NULL)
        abort();
    ru->api = api;
    ru->handle = handle;
    ru->lx = lex_load(api, handle, ru_schema, (const char *const *)cfg->lexicon.v,
                      cfg->lexicon.n, (unsigned)cfg->fuzzy_min_length, err, errlen);
    if (ru->lx == NULL || lex_check_params(ru->lx, param_names, err, errlen) != 0 ||
        map_sections(ru, err, errlen) != 0) {
        ru_destroy(ru);
        return NULL;
    }
    read_params(ru);
    if (cfg->model && cfg->model[0]) {
        if ((ru->model = model_load(cfg->model, err, errlen)) == NULL) {
            ru_destroy(ru);
            return NULL;
        }
        ru->fs = feat_new();
        api->log(handle, APD_LOG_INFO, "model %s: %zu features, %zu categories (%s)",
                 cfg->model, ru->model->nrows, ru->model->nclass[HEAD_CATEGORY],
                 ru->model->source[0] ? ru->model->source : "no source line");
    }
    ru->m = lex_matcher_new(ru->lx, api, handle);
    api->log(handle, APD_LOG_INFO, "%zu phrases in %zu sections, %zu rules, from %zu path%s",
             ru->lx->nentries, ru->lx->nsections, ru->lx->nrules, cfg->lexicon.n,
             cfg->lexicon.n == 1 ? "" : "s");
    return ru;
}

static int ru_classify(void *state, const struct apd_classify_input *in,
                       struct apd_classification *io, apd_evidence_fn evidence, void *ctx)
{
    struct ru *ru = state;
    if (in->analysis == NULL)
        return -1;
    lex_match(ru->m, in->analysis);
    /* a private message to the page is written to the authority, not to
     * other readers: chatter there is rarer than under a post */
    bool message = in->item_kind && strcmp(in->item_kind, "message") == 0;
    ru_decide(ru, in, message, io, evidence, ctx);
    return 0;
}

/* The model's feature vector, whether or not a model is loaded: the
 * trainer asks a configuration without one. */
static uint32_t ru_features(void *state, const struct apd_classify_input *in,
                            apd_feature_fn emit, void *ctx)
{
    struct ru *ru = state;
    if (in->analysis == NULL)
        return 0;
    if (ru->fs == NULL)
        ru->fs = feat_new();
    lex_match(ru->m, in->analysis);
    bool message = in->item_kind && strcmp(in->item_kind, "message") == 0;
    double kind_score[RU_NKINDS];
    ru_score(ru, in->analysis, message, kind_score);
    feat_extract(ru->fs, ru, in, kind_score, true, &ru->fv);
    fvec_sort(&ru->fv);
    for (size_t i = 0; i < ru->fv.n; i++)
        emit(ctx, ru->fv.idx[i], ru->fv.val[i]);
    return FEAT_DIM;
}

static const struct apd_classifier_ops ru_ops = {
    .struct_size = sizeof(struct apd_classifier_ops),
    .classify = ru_classify,
    .features = ru_features,
};

APD_PLUGIN_DEFINE(
    .kind = APD_PLUGIN_CLASSIFIER,
    .name = "classify_ru",
    .version = "1.0",
    .description = "Russian appeals: kind, category, municipality and priority from lexicons",
    .keys = ru_keys,
    .config_size = sizeof(struct ru_config),
    .init = ru_init,
    .destroy = ru_destroy,
    .classifier = &ru_ops,
);
