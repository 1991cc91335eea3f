/* Turning a plan into the arguments of the apply script (write.c).
 * Pure; loop thread or a one-shot tool (the benchmark loader). */
#ifndef APPEALSD_WRITE_H
#define APPEALSD_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transition.h"

struct apd_config;

/* A growable list of owned strings. */
struct strv {
    char **v;
    size_t n, cap;
};

void sv_add(struct strv *s, const char *x);
void sv_addf(struct strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strv_free(struct strv *s);

struct lc_write {
    struct strv set;    /* field, value, ... that differ from the record read */
    struct strv del;    /* fields to remove */
    struct strv ops;    /* the op list of appeals_apply */
};

/**
 * @brief What writing a plan takes.
 * @param px          the key prefix ([redis] prefix)
 * @param restore     a rebuild: the audit list is replaced, not appended to
 * @param lease_until how long the outbox events belong to this daemon
 */
void lc_write_build(struct lc_write *w, const char *px, const struct apd_config *cfg,
                    const struct appeal_rec *before, const struct lc_plan *plan,
                    bool release_lease, bool restore, int64_t lease_until);
void lc_write_free(struct lc_write *w);

/* The value counters use for a missing org, category or municipality. */
const char *lc_dim_value(const char *v);

#endif
