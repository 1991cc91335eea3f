/* The figures a ЦУР reports, kept per day in Redis so that a report over a
 * period reads a few keys per day (`appealsctl report`), and the same as
 * Prometheus counters.
 *
 * Keys (P = redis.prefix, DAY = local date of [daemon] timezone, DIM = org
 * or muni, V = its code or "-"; each kept REPORT_RETENTION_DAYS):
 *   P rpt:d:DAY             hash "DIM:V|WHAT" -> count; WHAT is appeals,
 *                           fr_met, fr_ontime, reopened_by_operator,
 *                           reopened_by_citizen, incidents, or ev:EVENT for
 *                           every event the lifecycle published (answered,
 *                           closed, breach, and any event added later, such
 *                           as formal answers, reworks and confirmations:
 *                           counted by name without a change here)
 *   P rpt:frt:DAY:DIM:V     zset appeal -> working seconds to its first response
 *   P rpt:inc:DAY:DIM:V     zset incident -> its size (DAY of its first report)
 *
 * Each stored change is counted once, by the instance that stored it, with
 * one script after the lifecycle's write (a crash between the two loses
 * that change's counts; the appeals' records are unaffected).
 * Loop thread only. */
#ifndef APPEALSD_REPORT_H
#define APPEALSD_REPORT_H

#include <stdint.h>

#define REPORT_RETENTION_DAYS 400
#define REPORT_MAX_DAYS 366

struct app;
struct report;
struct ctl_client;
struct json;
struct jw;

struct report *report_new(struct app *app);
void report_free(struct report *rp);

/* An incident reached size reports; its first report came in at first_ms. */
void report_incident(struct report *rp, const char *incident, const char *org,
                     const char *municipality, int64_t first_ms, int64_t size);

/* An incident of size reports was answered for the first time: its size
 * goes into the histogram appealsd_incident_size{org,municipality}. */
void report_incident_answered(struct report *rp, const char *org, const char *municipality,
                              int64_t size);

/* The control command `report`: {"from": DATE, "to": DATE, "by": "org" |
 * "municipality"} -> {"from", "to", "by", "rows": [{"key", "appeals",
 * "answered", "answered_on_time", "on_time_share", "median_first_response_s",
 * "p90_first_response_s", "formal_answers", "formal_share", "reworks",
 * "reopened_by_citizen", "reopened_by_operator", "confirmed", "incidents",
 * "incident_reports", "largest_incident", "events": {EVENT: N}}]}. */
int ctl_cmd_report(struct ctl_client *c, struct app *app, const struct json *args,
                   struct jw *w);

#endif
