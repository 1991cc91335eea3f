/* Process-wide metrics in the Prometheus text format.
 *
 * Families are declared once (name, type, help, label names); series are
 * created on first use with their label values.  Gauges that mirror live
 * state (spool bytes, queue lengths) are refreshed by render hooks just
 * before /metrics is written, so the hot path pays nothing for them. */
#ifndef APPEALSD_METRICS_H
#define APPEALSD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct sbuf;
struct mfam;

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

/* labels: comma-separated label names ("source,status"), or NULL. */
struct mfam *metrics_family(const char *name, enum mtype type, const char *help,
                            const char *labels);
/* The family registered under name, or NULL (pre-registration of label
 * values known from the config, without owning the family). */
struct mfam *metrics_find(const char *name);
/* Histogram bucket bounds for a family whose unit is not seconds-scale
 * latency (bounds: ascending, static storage).  Only before its first
 * observation. */
void metrics_set_buckets(struct mfam *f, const double *bounds, size_t n);
/* Label values follow in the order of the family's names. */
void metrics_add(struct mfam *f, double v, ...);       /* counters */
void metrics_set(struct mfam *f, double v, ...);       /* gauges */
void metrics_observe(struct mfam *f, double v, ...);   /* histograms */
/* Drops every series of a gauge family (before a hook re-sets them). */
void metrics_clear(struct mfam *f);
/* Current value of a counter/gauge series (tests and `appealsctl stats`). */
double metrics_get(struct mfam *f, ...);

typedef void (*metrics_hook_fn)(void *arg);
void metrics_on_render(metrics_hook_fn fn, void *arg);
void metrics_remove_hook(metrics_hook_fn fn, void *arg);
void metrics_render(struct sbuf *out);
void metrics_reset_all(void);

#endif
