/* The classifier chain: [classifier "NAME"] sections, their plugin
 * instances, and running them over one text.
 *
 *   [classifier "ru"]
 *   plugin = classify_ru          (default classify_NAME)
 *   order = 10                    (lower runs first; ties in file order)
 *   enabled = yes
 *   ...                           (the plugin's own keys)
 *
 * The instances belong to the configuration snapshot: they are created
 * when the configuration is built (so `appealsd --check-config` reports a
 * broken lexicon with its file and line) and destroyed with the snapshot.
 * A reload therefore builds new instances from the new files and swaps them
 * in with the rest of the configuration; a job that started on the old
 * snapshot finishes with the old chain.
 *
 * Threading: everything here runs on one thread at a time per snapshot (the
 * loop thread in the daemon, the main thread in the tools). */
#ifndef APPEALSD_CHAIN_H
#define APPEALSD_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appealsd/classify.h"
#include "sbuf.h"

struct apd_config;
struct classify_chain;

/* What the chain is asked to classify; all borrowed. */
struct classify_request {
    const char *text;
    size_t len;
    const char *source;             /* "vk", or NULL */
    const char *page;               /* page id within the source, or NULL */
    const char *page_municipality;  /* fallback municipality, or NULL */
    const char *item_kind;
};

#define CLASSIFY_CODE_MAX 64
#define CLASSIFY_MAX_EVIDENCE 48

/* The chain's decision, owned by the caller (reuse it across texts). */
struct classify_result {
    bool classified;          /* some classifier decided the kind */
    bool is_appeal;           /* true unless the kind is gratitude or noise */
    char kind[CLASSIFY_CODE_MAX];          /* "" when undecided */
    char category[CLASSIFY_CODE_MAX];      /* "" for non-appeals and when undecided */
    char municipality[CLASSIFY_CODE_MAX];  /* "" when unknown */
    char priority[CLASSIFY_CODE_MAX];      /* always set: "normal" when nobody said */
    char priority_reason[160];
    const char *municipality_from;       /* "text", "page" or NULL */
    double kind_confidence, category_confidence, municipality_confidence,
        priority_confidence;
    struct sbuf evidence;     /* JSON array elements, comma-separated */
    size_t nevidence, evidence_dropped;
    char by[128];             /* names of the classifiers that ran, comma-separated */
};

void classify_result_init(struct classify_result *r);
void classify_result_free(struct classify_result *r);

/* The chain of a configuration snapshot, or NULL when it has no enabled
 * classifier (or was built without plugins). */
struct classify_chain *classify_chain_of(const struct apd_config *c);
size_t classify_chain_length(const struct classify_chain *ch);

/* Runs the chain (ch may be NULL: then every text is an appeal of unknown
 * kind, so nothing is lost when no classifier is configured).  Resets out
 * first. */
void classify_text(struct classify_chain *ch, const struct classify_request *rq,
                   struct classify_result *out);

/* Writes the decision's members into an open JSON object: is_appeal,
 * kind, category, municipality, municipality_from ("text" or "page"),
 * priority, priority_reason, confidence (of the decision as a whole: the
 * lower of kind's and category's), confidences (per field), evidence
 * (evidence_dropped when the cap cut some), classifiers (the names that
 * ran).  Unknown codes are null when nulls is set, else left out (the
 * Kafka contract, docs/schemas/v1/common.json "classification"). */
struct jw;
void classify_result_members(const struct classify_result *r, struct jw *w, bool nulls);
/* The same as one complete JSON object without nulls, into out (appended). */
void classify_result_json(const struct classify_result *r, struct sbuf *out);
/* The overall confidence written as "confidence". */
double classify_result_confidence(const struct classify_result *r);

/* The feature vector of a text as the first classifier with a trained
 * model computes it (ABI 1.3 features op): emit gets each index and value;
 * name gets that classifier's name.  Returns the size of its feature space,
 * or 0 (name NULL) when no classifier in the chain has a model. */
uint32_t classify_chain_features(struct classify_chain *ch, const struct classify_request *rq,
                                 apd_feature_fn emit, void *ctx, const char **name);

/* The analysis the chain would hand to its classifiers (tests, bench). */
const struct apd_text *classify_chain_analyze(struct classify_chain *ch, const char *s,
                                              size_t len);

#endif
