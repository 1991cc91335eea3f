/* Incidents in the daemon: new appeals join them in Redis, an answer to one
 * appeal answers every appeal of its incident, operators merge and split.
 *
 * Keys (P = redis.prefix):
 *   P inc:seq        the last incident number given ("inc-N")
 *   P inc:ver        grows with every change: the compare-and-set version
 *   P inc:recent     zset: open incident id -> its latest report (ms)
 *   P inc:ID         hash: size, lead (the earliest appeal), first_ms,
 *                    last_ms, category, municipality, org, state (open,
 *                    answered, merged), merged_into, priority
 *   P inc:ID:f       list: the features of its latest reports (incident.h)
 *   P inc:ID:a       zset: appeal id -> its created time
 *   P inc:ID:fa      hash: appeal id -> its features (split and merge regroup)
 *   P inc:of:APPEAL  string: the appeal's incident id
 *
 * Incident keys expire 400 days after their last change (as the report's
 * figures); P inc:recent forgets incidents quiet for 31 days (longer than
 * the longest window).
 *
 * Joining is optimistic and race-free across instances: read the open
 * incidents of the window with P inc:ver (one script), decide in C with
 * inc_best() (incident.h, pure), and commit with a script that does nothing
 * unless P inc:ver is still what was read; on a conflict read again.  The
 * commit stores the incident event in the lifecycle's outbox (eventbox.h)
 * in the same script, so it is published even if this daemon dies.
 *
 * Loop thread only. */
#ifndef APPEALSD_INCIDENT_STORE_H
#define APPEALSD_INCIDENT_STORE_H

#include <stdbool.h>

struct app;
struct incidents;
struct ctl_client;
struct json;
struct jw;

/* Starts watching the lifecycle (sla_engine_lifecycle() must exist). */
struct incidents *incidents_new(struct app *app);
/* Joins still running are dropped: their appeals stay alone. */
void incidents_free(struct incidents *in);
/* Joins and answers in flight (drain). */
unsigned incidents_inflight(const struct incidents *in);

/* Control commands (incident_ctl.c): incident_show {"id": INCIDENT or
 * APPEAL}; incident_merge {"id": INTO, "from": OTHER}: every appeal of
 * OTHER joins INTO; incident_split {"id": INCIDENT, "appeals": [APPEAL,
 * ...]}: they leave it for a new incident. */
int ctl_cmd_incident_show(struct ctl_client *c, struct app *app, const struct json *args,
                          struct jw *w);
int ctl_cmd_incident_merge(struct ctl_client *c, struct app *app, const struct json *args,
                           struct jw *w);
int ctl_cmd_incident_split(struct ctl_client *c, struct app *app, const struct json *args,
                           struct jw *w);

#endif
