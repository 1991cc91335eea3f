/* The SLA engine of a running daemon: the lifecycle (and its outbox), the
 * timer scheduler, the agency status consumer, the gauges, and what happens
 * when Redis comes back empty.  app.c starts and stops it from one place each.
 *
 * Start after Kafka and Redis; stop (no new work) at the start of teardown;
 * free after Kafka's last delivery reports and Redis's last replies were
 * served, because they still call into it.  Loop thread only. */
#ifndef APPEALSD_ENGINE_H
#define APPEALSD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

struct app;
struct lifecycle;

struct sla_engine;

int sla_engine_start(struct app *app, char *err, size_t errlen);
void sla_engine_stop(struct app *app);
/* Graceful shutdown began: claim no more timers, take no more statuses. */
void sla_engine_drain(struct app *app);
void sla_engine_free(struct app *app);
/* Nothing of the engine's is in flight (graceful shutdown waits for it). */
bool sla_engine_idle(struct app *app);

struct lifecycle *sla_engine_lifecycle(struct app *app);
struct sla_timers *sla_engine_timers(struct app *app);
struct status_consumer *sla_engine_status(struct app *app);
struct rebuild *sla_engine_rebuild(struct app *app);

#endif
