/* Routing rules: the ordered [rule "NAME"] sections of the configuration.
 *
 *   [rule "maykop-water"]
 *   category = housing            # conditions: every one given must hold;
 *   municipality = maykop         # a list matches when any value does
 *   keywords = вода, водопровод, канализац
 *   org = maykop-vodokanal        # actions
 *   copy = maykop
 *   sla_policy = utilities
 *
 * Rules are tried in file order (conf.d files sorted), first match wins.
 * Conditions: source, page (SOURCE:ID), owner (the page owner's code),
 * owner_type, item_kind, kind, category, municipality, priority — each a
 * list; the value `unknown` matches a field the classifier left empty —
 * and text conditions: keywords (folded substrings, any), exclude (folded
 * substrings, none), pattern (POSIX extended regex, case-insensitive, any;
 * one per line, repeatable).
 * Actions: action = route (default) | triage | drop; org = CODE | @municipality
 * (the administration of the municipality in question) | @owner (the page's
 * owner); copy = CODE, ...; sla_policy; set_priority.
 *
 * A rule whose recipient cannot be resolved (@municipality with no known
 * municipality, or one without an administration) does not match, and the
 * search goes on: the next rule is the fallback.
 *
 * Built once per config snapshot and read-only afterwards; the compiled
 * regexes are used on the loop thread and by one-shot tools. */
#ifndef APPEALSD_RULES_H
#define APPEALSD_RULES_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "bind.h"

struct apd_config;

enum rule_action { RULE_ROUTE, RULE_TRIAGE, RULE_DROP };

struct rule_pattern {
    char *src;                  /* as written, for explanations */
    regex_t re;
};

struct rule {
    char *name;
    char *file;                 /* where the section starts, for messages */
    int line;
    /* conditions (empty list: any value) */
    struct strlist source, page, owner, owner_type, item_kind, kind, category, municipality,
        priority;
    struct strlist keywords;    /* folded (textfold.h) */
    struct strlist exclude;     /* folded */
    struct rule_pattern *patterns;
    size_t npatterns;
    /* actions */
    int action;                 /* enum rule_action */
    char *org;                  /* code, "@municipality" or "@owner"; NULL unless route */
    struct strlist copy;
    char *sla_policy;
    char *set_priority;
    bool catch_all;             /* no conditions at all */
};

struct rules {
    struct rule *v;
    size_t n;
};

/* The rules of a config snapshot (never NULL once the snapshot is built). */
const struct rules *rules_of(const struct apd_config *c);

/* Runs a compiled pattern against folded text; fills match with the matched
 * text (cut to matchlen) and returns true on a match. */
bool rules_pattern_match(const struct rule_pattern *p, const char *text, char *match,
                         size_t matchlen);

#endif
