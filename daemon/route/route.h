/* Routing: which body receives an appeal, on which topic, under which SLA
 * policy, and why.
 *
 * route_decide() walks the [rule "NAME"] sections in file order (rules.h);
 * the first rule whose conditions all hold decides.  When no rule matches,
 * the appeal goes to the ЦУР's triage topic.  Pure: no I/O and no state, so
 * `appealsd route --explain` and the pipeline give the same answer for the
 * same input and config snapshot.  Any thread, as long as the config
 * snapshot stays referenced. */
#ifndef APPEALSD_ROUTE_H
#define APPEALSD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

struct apd_config;
struct org;
struct page;

/* What a decision is made from.  Every field is borrowed; NULL means
 * unknown.  The classifier fills kind, category, municipality and priority
 * (taxonomy codes); the source and the page come from the event. */
struct route_input {
    const char *source;
    const char *page;           /* page id within the source */
    const char *text;
    size_t text_len;            /* 0: strlen(text) */
    const char *item_kind;      /* "comment", "message", ... */
    const char *kind;           /* classifier fields, NULL when unknown */
    const char *category;
    const char *municipality;
    const char *priority;
};

#define ROUTE_MAX_COPIES 8
#define ROUTE_MAX_WHY 12

enum route_action { ROUTE_ORG, ROUTE_TRIAGE, ROUTE_DROP };

/* One piece of evidence: which condition of the rule held, and on what. */
struct route_why {
    const char *key;            /* "category", "keyword", "pattern", "page", ... */
    char value[112];
};

struct route_result {
    enum route_action action;
    const struct org *org;      /* primary recipient; the ЦУР for triage; NULL for drop */
    const char *topic;          /* Kafka topic of the primary copy; NULL when the
                                   recipient takes HTTP deliveries only, or drop */
    bool triage;                /* action == ROUTE_TRIAGE (kept for readers) */
    bool drop;                  /* action == ROUTE_DROP: counted, not routed */
    const char *rule;           /* the deciding rule's name, or "triage" */
    const char *sla_policy;     /* the rule's, else the recipient's, else NULL */
    const char *priority;       /* the rule's set_priority, else the input's */
    const char *municipality;   /* the one the decision used (input, else page) */
    bool municipality_from_page;
    const struct page *page;    /* the page in the directory, or NULL */
    const struct org *copies[ROUTE_MAX_COPIES];
    size_t ncopies;
    struct route_why why[ROUTE_MAX_WHY];
    size_t nwhy;
    char reason[512];           /* one line for people: "category=roads, ... → maykop" */
    char skipped[256];          /* rules that matched but could not resolve a recipient */
};

void route_decide(const struct apd_config *c, const struct route_input *in,
                  struct route_result *out);

/* "org", "triage" or "drop". */
const char *route_action_name(enum route_action a);

struct jw;
/* Writes the decision as the members of an already opened JSON object:
 * action, rule, reason, triage, sla_policy, priority, copies, and with
 * evidence also why[] and skipped.  Used by Kafka messages and by
 * `appealsd route --explain`, so both show the same explanation. */
void route_write_json(struct jw *w, const struct route_result *r, bool evidence);

#endif
