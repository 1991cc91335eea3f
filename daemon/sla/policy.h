/* SLA policies: how long an organisation has to respond to and resolve an
 * appeal, when to warn, whom to escalate to, and what pauses the clock.
 *
 *   [policy "health-critical"]
 *   regime = social             social (a message) or 59fz (a formal обращение)
 *   org = minzdrav              selection: every listed criterion must match
 *   category = health
 *   priority = critical, high
 *   first_response = 2h         working time by default ("time = calendar")
 *   resolution = 1d
 *   warning = 75%               share of the allowed time, or a time before the deadline
 *   pause = waiting             appeal states that stop the clock
 *   escalate = after=0 to=up                 level 1: at the breach, one step up
 *   escalate = after=4h to=up:2 via=kafka    level 2
 *   escalate = after=200% to=cur via=topic:appeals.duty
 *   reroute = keep              keep the elapsed time on a re-route, or restart
 *
 *   59fz only: registration = 3d, forward = 7d, due_on_day_off = preceding
 *
 * Built and validated with the config (sla.c); immutable afterwards. */
#ifndef APPEALSD_POLICY_H
#define APPEALSD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bind.h"
#include "worktime.h"

enum sla_regime { REGIME_SOCIAL, REGIME_59FZ };

/* Escalation levels a policy may have (a clock's stages fit in 32 bits). */
#define SLA_MAX_LEVELS 16

enum esc_to {
    ESC_UP,      /* `up:N` steps up the responsible organisation's parent chain */
    ESC_TOP,     /* the top of the chain (the ЦУР) */
    ESC_OWNER,   /* the responsible organisation itself (its management) */
    ESC_ORGS,    /* named organisations */
};

enum esc_via {
    VIA_KAFKA,   /* each recipient's own topic (and the SLA topic) */
    VIA_TOPIC,   /* one named topic (and the SLA topic) */
    VIA_HTTP,    /* each recipient's http_url (and the SLA topic) */
};

struct escalation {
    int level;                 /* 1-based, in the order of the escalate lines */
    bool pct;                  /* after is a share of the allowed time ... */
    int64_t after_pct;         /* ... in percent (150 = half the allowance past the deadline) */
    struct wdur after;         /* ... else a duration past the deadline */
    enum esc_to to;
    int up;                    /* ESC_UP: steps */
    struct strlist orgs;       /* ESC_ORGS: codes */
    enum esc_via via;
    char *topic;               /* VIA_TOPIC */
    char *text;                /* the line as written, for messages and logs */
};

struct policy {
    char *name;
    int regime;                /* enum sla_regime */
    struct strlist match_org, match_category, match_priority;
    bool has_first_response, has_resolution;
    struct wdur first_response;
    struct wdur resolution;    /* 59fz: the formal term (30 days) */
    bool calendar_time;        /* time = calendar: around the clock, every day */
    bool warn_pct;
    int64_t warn_value;        /* percent of the allowance, or ms before the deadline */
    bool has_warning;
    struct strlist pause;      /* states in which the clock stops */
    struct escalation *esc;
    size_t nesc;
    bool reroute_restart;
    struct wdur extension_max; /* 59fz: the longest extension (30 days) */
    int64_t extensions;        /* how many extensions are allowed (1) */
    /* 59fz, counted as the law counts (calendar time, whole days): from the
     * day after registration to the end of the last day, a last day off
     * moved by due_on_day_off (enum day_off_rule). */
    bool legal_days;
    int due_on_day_off;
    bool has_registration;
    struct wdur registration;  /* 59fz: to register after receipt (art. 8 ch. 2: 3 days) */
    bool has_forward;
    struct wdur forward;       /* 59fz: to forward to the competent body (art. 8 ch. 3: 7) */
    bool builtin;              /* made from [sla] defaults, not a [policy] section */
    /* Answer quality (social): a formal answer does not meet the first
     * response (answer_required), or meets it and starts the rework clock. */
    bool answer_required;
    bool has_rework;
    struct wdur rework;        /* time for a substantive answer after a formal one (3d) */
};

/* Parses one `escalate` value; 0, or -1 with the reason in why. */
int escalation_parse(const char *v, int level, struct escalation *e, char *why, size_t wl);
void escalation_free(struct escalation *e);
/* Parses `warning`: "80%" or a duration; 0 or -1. */
int warning_parse(const char *v, bool *pct, int64_t *value);

/* Number of selection criteria a policy has (0: never chosen by matching). */
int policy_specificity(const struct policy *p);
/* Whether every criterion the policy lists matches (NULL values match only
 * policies that do not list that criterion; priority NULL counts as "normal"). */
bool policy_matches(const struct policy *p, const char *org, const char *category,
                    const char *priority);
/* Whether the appeal state pauses clocks of this policy. */
bool policy_pauses_in(const struct policy *p, const char *state);

void policy_free(struct policy *p);

#endif
