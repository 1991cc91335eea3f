/* The SLA configuration: [sla] global defaults, [calendar "NAME"] production
 * calendars, [hours "NAME"] working hours and [policy "NAME"] policies, and
 * the lookups the rest of the daemon needs (an organisation's schedule, the
 * policy that governs an appeal).
 *
 * Part of a config snapshot (config.h): built and validated with it, read-only
 * afterwards (calendars cache the years they computed).  docs/sla.md is the
 * operator's reference. */
#ifndef APPEALSD_SLA_H
#define APPEALSD_SLA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bind.h"
#include "policy.h"
#include "worktime.h"

struct apd_config;
struct org;
struct calendar;
struct hours;

struct sla_config {
    /* [sla] as written */
    char *first_response, *resolution, *warning, *formal_resolution, *formal_extension;
    char *calendar_name, *hours_name, *policy_name, *formal_policy_name;
    int time;                    /* 0 working, 1 calendar */
    struct strlist pause;
    struct strlist critical;     /* priority values that count as critical */
    int64_t tick_ms;             /* longest sleep of the timer scheduler */
    int64_t lease_ms;            /* claimed timers and unpublished events belong to a daemon */
    int64_t batch;               /* timers claimed per round */
    int64_t metrics_interval_ms; /* gauges refreshed from Redis this often */
    int64_t retention_ms;        /* closed appeals' keys expire this long after closing */
    char *status_group;          /* consumer group of kafka.topic_status */
    bool status_shared;          /* also consume kafka.topic_status itself (anyone's) */
    int64_t status_session_ms;   /* a silent member leaves the group after this */
    int64_t status_max_bytes;    /* larger status messages go to the DLQ */
    /* built */
    struct calendar **cals;
    size_t ncals;
    struct hours **hours;
    size_t nhours;
    struct policy **pols;        /* [policy] sections in config order, then the built-ins */
    size_t npols;
    struct calendar *def_cal;
    struct hours *def_hours;
    struct policy *def_social, *def_formal;
    struct escalation *def_esc;  /* [sla] escalate lines: levels of policies with none */
    size_t ndef_esc;
};

const struct sla_config *sla_cfg(const struct apd_config *c);

/* The schedule an organisation works by (its calendar and hours, or the
 * [sla] defaults); org may be NULL. */
struct sched sla_sched(const struct apd_config *c, const struct org *org);

const struct policy *sla_policy_find(const struct apd_config *c, const char *name);

/**
 * @brief The policy that governs an appeal's clocks in one regime.
 *
 * In order: the routing rule's choice (route_policy), the most specific
 * [policy] whose org/category/priority lists all match (first in the config
 * on a tie), the organisation's sla_policy, [sla] policy / formal_policy, the
 * built-in policy made from the [sla] defaults.  A candidate of the other
 * regime is skipped.  Never NULL.
 */
const struct policy *sla_policy_select(const struct apd_config *c, const struct org *org,
                                       const char *category, const char *priority,
                                       int regime, const char *route_policy);

/* Whether a priority value is critical ([sla] critical; NULL is "normal"). */
bool sla_is_critical(const struct apd_config *c, const char *priority);

#endif
