/* SLA gauges for /metrics, refreshed from Redis periodically (gauges.c).
 * Loop thread only. */
#ifndef APPEALSD_GAUGES_H
#define APPEALSD_GAUGES_H

struct app;
struct sla_gauges;

struct sla_gauges *sla_gauges_new(struct app *app);
void sla_gauges_free(struct sla_gauges *g);
/* Reads the counters now (also done every [sla] metrics_interval). */
void sla_gauges_refresh(struct sla_gauges *g);
/* Raises appealsd_redis_came_back_empty. */
void sla_gauges_redis_empty(struct sla_gauges *g);

#endif
