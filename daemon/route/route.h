/* Routing: which body receives an appeal, on which topic, under which SLA
 * policy, and why.  Pure: no I/O, so `appealsd route --explain` and the
 * pipeline give the same answer for the same input. */
#ifndef APPEALSD_ROUTE_H
#define APPEALSD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

struct apd_config;
struct org;

struct route_input {
    const char *source;
    const char *page;           /* page id within the source */
    const char *text;
    const char *kind;           /* classifier fields, NULL when unknown */
    const char *category;
    const char *municipality;
    const char *priority;
};

#define ROUTE_MAX_COPIES 8

struct route_result {
    const struct org *org;      /* primary recipient; NULL for triage without a ЦУР */
    const char *topic;          /* where the primary copy goes */
    bool triage;
    bool drop;                  /* noise: counted, not routed */
    const char *rule;           /* name of the rule that decided */
    const char *sla_policy;     /* NULL: the organisation's default */
    const struct org *copies[ROUTE_MAX_COPIES];
    size_t ncopies;
    char reason[256];
};

void route_decide(const struct apd_config *c, const struct route_input *in,
                  struct route_result *out);

#endif
