/* libFuzzer harness for the text analysis, on whatever bytes a citizen (or a
 * forged webhook) can put in a text: the cleaning and tokenisation
 * (classify/clean.c, text.c), the shipped classifier chain (conf.d's
 * classify_ru with its model and classify_spam, loaded as the daemon loads
 * them) with its model's features, the answer judge and the incident text
 * features.
 *
 * The configuration is the repository's own conf.d, included from a file
 * written at start (APD_FUZZ_SOURCE_ROOT and APD_FUZZ_BUILD_DIR come from the
 * build).  Checked besides crashes: the cleaned text is valid UTF-8, tokens
 * lie inside it, the decision's JSON parses, a text is fully like itself. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "clean.h"
#include "config.h"
#include "diag.h"
#include "incident.h"
#include "judge.h"
#include "json.h"
#include "log.h"
#include "text.h"
#include "utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct apd_config *cfg;
static struct text_analyzer *an;
static struct clean_out co;
static struct classify_result res;

static struct apd_config *load_shipped(void)
{
    char path[] = "/tmp/apd-fuzz-text-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (f == NULL)
        abort();
    const char *src = APD_FUZZ_SOURCE_ROOT;
    fprintf(f, "[daemon]\nplugin_dir = %s/plugins\n", APD_FUZZ_BUILD_DIR);
    const char *parts[] = {"10-organisations", "20-pages", "30-classifier", "35-answer"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        fprintf(f, "include %s/config/conf.d/%s.conf\n", src, parts[i]);
    fclose(f);
    struct diag d = {0};
    struct config_opts o = {.path = path};
    struct apd_config *c = config_load(&o, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "fuzz_text: %s\n", d.msg[i]);
    diag_free(&d);
    unlink(path);
    return c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(LOG_LVL_ERROR - 1);
    cfg = load_shipped();
    char err[256];
    an = text_analyzer_new(err, sizeof(err));
    if (cfg == NULL || an == NULL || classify_chain_of(cfg) == NULL ||
        answer_judge_of(cfg) == NULL) {
        fprintf(stderr, "fuzz_text: the shipped classifier configuration does not load\n");
        abort();
    }
    classify_result_init(&res);
    return 0;
}

static void check_analysis(const struct apd_text *t)
{
    if (!utf8_valid(t->text, t->text_len) || t->ntokens > TEXT_MAX_TOKENS)
        abort();
    for (size_t i = 0; i < t->ntokens; i++) {
        const struct apd_token *k = &t->tokens[i];
        if ((size_t)k->start + k->len > t->text_len || k->word == NULL || k->stem == NULL ||
            strlen(k->word) != k->wlen || strlen(k->stem) != k->slen ||
            t->word_ids[i] >= t->vocabulary_size)
            abort();
    }
}

static void check_decision(void)
{
    struct sbuf b = SBUF_INIT;
    char err[160];
    classify_result_json(&res, &b);
    struct json_doc *d = json_parse(b.p, b.len, 32, err, sizeof(err));
    if (d == NULL || d->root.type != JSON_OBJECT)
        abort();
    json_free(d);
    sbuf_free(&b);
}

struct feat_seen {
    uint32_t max_index;
    bool bad_value;
};

static void on_feature(void *ctx, uint32_t index, double value)
{
    struct feat_seen *fs = ctx;
    if (index > fs->max_index)
        fs->max_index = index;
    if (!isfinite(value))
        fs->bad_value = true;
}

/* The model's features (tools/classify_train reads the same): inside the
 * space the model declares, and numbers. */
static void check_features(const struct classify_request *rq)
{
    struct feat_seen fs = {0, false};
    const char *name = NULL;
    uint32_t space = classify_chain_features(classify_chain_of(cfg), rq, on_feature, &fs, &name);
    if (fs.bad_value || (space && fs.max_index >= space))
        abort();
}

static void check_incident(const char *s, size_t len)
{
    struct inc_features a, b;
    inc_features_of(s, len, "roads", "maykop", 0, &a);
    inc_features_of(s + len / 2, len - len / 2, "roads", NULL, 1, &b);
    double self = inc_similarity(&a, &a), half = inc_similarity(&a, &b);
    if ((a.nwords && self != 1.0) || half < 0 || half > 1 || a.nwords > INC_MAX_WORDS ||
        a.nplaces > INC_MAX_PLACES)
        abort();
    struct sbuf enc = SBUF_INIT;
    struct inc_features back;
    inc_features_encode(&a, &enc);
    if (inc_features_decode(enc.p, enc.len, &back) != 0 || back.nwords != a.nwords)
        abort();
    sbuf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    clean_text(s, size, &co);
    if (!utf8_valid(co.text.p ? co.text.p : "", co.text.len))
        abort();
    check_analysis(text_analyze(an, s, size));
    struct classify_request rq = {.text = s, .len = size, .source = "vk", .page = "100001",
                                  .item_kind = "comment"};
    classify_text(classify_chain_of(cfg), &rq, &res);
    check_decision();
    check_features(&rq);
    struct answer_verdict v;
    answer_judge_text(answer_judge_of(cfg), s, size, size & 1, &v);
    if (v.quality == AQ_NONE)
        abort();
    check_incident(s, size);
    return 0;
}
