/* SLA gauges for /metrics, refreshed from Redis periodically (gauges.c).
 * Loop thread only. */
#ifndef APPEALSD_GAUGES_H
#define APPEALSD_GAUGES_H

#include <stdbool.h>

struct app;
struct sla_gauges;

struct sla_gauges *sla_gauges_new(struct app *app);
void sla_gauges_free(struct sla_gauges *g);
/* Reads the counters now (also done every [sla] metrics_interval). */
void sla_gauges_refresh(struct sla_gauges *g);
/* Counts what one stored change did (the lifecycle, after its write):
 * breach stages fired, a first response and whether it was on time.  A
 * no-op before sla_gauges_new. */
void sla_gauges_count(const char *org, const char *municipality, int breaches, bool fr_met,
                      bool fr_on_time);
/* Raises appealsd_redis_came_back_empty. */
void sla_gauges_redis_empty(struct sla_gauges *g);

#endif
