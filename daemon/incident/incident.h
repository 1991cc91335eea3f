/* Incidents: appeals about one problem (one outage, one pothole, one heap of
 * rubbish) reported by several citizens, under several posts, joined into one.
 *
 * Two appeals are about one problem when
 *   - they have the same municipality (an unknown one matches any when
 *     they share a place) and the same category or a topic in common (the
 *     category is the classifier's, and its weakest decision);
 *   - the later came within `window` of the incident's latest report;
 *   - they speak of the same thing, or at least not of different ones: a
 *     small table of topic words (свет/электричество, вода, мусор/контейнер,
 *     яма/асфальт, автобус/маршрут, ...) puts each text in topics, and two
 *     texts with topics that share none are about different problems;
 *   - they name the same place, or at least not different ones: the places
 *     are the words after a street or object marker ("ул. Ленина",
 *     "переулок Школьный", "мкр Восход", "школа № 5") and a capitalised name
 *     followed by a house number ("Пушкина, 12"); two appeals that each name
 *     a place and share none are about different problems;
 *   - their texts are alike: the share of the shorter text's content words
 *     (stemmed to their first letters, grammar words left out) that the
 *     other has, at least `min_similarity`, or `min_similarity_place` when
 *     they share a place (a shared street says much of what the words would).
 *
 * Everything here is pure and allocation-free except the in-memory grouper
 * (`appealsd incidents`, tests); the daemon keeps the same features in Redis
 * (incident_store.h) and decides with the same inc_best() on what it read. */
#ifndef APPEALSD_INCIDENT_H
#define APPEALSD_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf;

#define INC_CODE_MAX 64
#define INC_MAX_PLACES 6
#define INC_MAX_WORDS 48

/* What an appeal brings to grouping. */
struct inc_features {
    char category[INC_CODE_MAX];       /* "" when unknown */
    char municipality[INC_CODE_MAX];   /* "" when unknown */
    uint32_t places[INC_MAX_PLACES];   /* hashes of the places named, unique */
    size_t nplaces;
    uint32_t topics;                   /* bit per topic word class (power, water, ...) */
    uint32_t words[INC_MAX_WORDS];     /* hashes of the content stems, sorted, unique */
    size_t nwords;
    int64_t at_ms;                     /* when the appeal was written */
};

struct inc_params {
    int64_t window_ms;              /* after the incident's latest report */
    double min_similarity;          /* no place in common */
    double min_similarity_place;    /* a place in common */
    size_t max_size;                /* an incident this large takes no more (0: no cap) */
};

/* The defaults of [incidents] (docs/incidents in appealsd(8)). */
void inc_params_default(struct inc_params *p);

/**
 * @brief Extract the features of one appeal.
 * @param text UTF-8 (invalid bytes are skipped as separators)
 * @param category, municipality the classification's codes, or NULL
 */
void inc_features_of(const char *text, size_t len, const char *category,
                     const char *municipality, int64_t at_ms, struct inc_features *f);

/* The share of the shorter word set found in the other (0..1; 0 when either
 * has no content words). */
double inc_similarity(const struct inc_features *a, const struct inc_features *b);

/* Whether a and b share a place; *both_named says whether both name one. */
bool inc_same_place(const struct inc_features *a, const struct inc_features *b, bool *both_named);

/**
 * @brief How well a joins the report m of an incident whose latest report
 *        was at last_ms.
 * @returns a score above 0 when it may join (the text similarity, plus 1 for
 *          a place in common so that the place decides first), else 0.
 */
double inc_match(const struct inc_params *p, const struct inc_features *a,
                 const struct inc_features *m, int64_t last_ms);

/* One incident as the deciding function sees it. */
struct inc_candidate {
    const struct inc_features *members;   /* its reports (the latest few) */
    size_t nmembers;
    size_t size;                          /* all its reports */
    int64_t last_ms;                      /* its latest report */
};

/* The index of the candidate a joins (the best score), or -1: a new incident. */
int inc_best(const struct inc_params *p, const struct inc_features *a,
             const struct inc_candidate *c, size_t n);

/* Compact text form for Redis: "CATEGORY|MUNICIPALITY|AT|TOPICS|P,P|W,W,..." with
 * hex hashes.  Decoding returns -1 on anything malformed. */
void inc_features_encode(const struct inc_features *f, struct sbuf *out);
int inc_features_decode(const char *s, size_t len, struct inc_features *f);

/* The in-memory grouper of `appealsd incidents`: appeals in time order in,
 * incident ids out ("inc-1", "inc-2", ... in order of creation). */
struct inc_grouper;
struct inc_grouper *inc_grouper_new(const struct inc_params *p);
void inc_grouper_free(struct inc_grouper *g);
/* Returns the incident's number (1-based); the first report's number is the
 * incident's. */
size_t inc_grouper_add(struct inc_grouper *g, const struct inc_features *f);

#endif
