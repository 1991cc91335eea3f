/* The daemon's own health: the spool, Kafka, Redis, build and process series
 * of /metrics, and the checks behind /healthz.
 *
 * Live state is read by a render hook just before /metrics is written.  Two
 * things need time and are kept by a 1 s timer: how long Kafka has had no
 * broker up, and the Redis round trip, measured with a PING every
 * REDIS_PING_S seconds on the daemon's main connection.  A PING rather than
 * the replies the daemon already gets: those include the time Redis spends
 * in the daemon's own Lua scripts (a gauge refresh scans thousands of
 * timers), they stop when the daemon is idle, and a PING also shows a stuck
 * connection while nothing else is sent.  Loop thread only. */
#ifndef APPEALSD_HEALTH_H
#define APPEALSD_HEALTH_H

#include <stdbool.h>

struct app;
struct sbuf;
struct health;

struct health *health_new(struct app *app);
void health_free(struct health *h);
/* Pre-registers at 0 the label values the config names (sources,
 * organisations, topics) in families other modules own.  After they all
 * registered theirs, and again after a reload. */
void health_preregister(struct app *app);

/**
 * @brief The checks of /healthz, one line each ("spool: ok: ..."), after a
 *        first line that is "ok" or the failed checks' reasons.
 * @returns true when healthy (200), false for 503.
 */
bool health_check(struct health *h, struct sbuf *out);

#endif
