/* The durable outbox of HTTP deliveries, in Redis.
 *
 * The pipeline releases a spool record only after its deliveries are
 * durable somewhere: Kafka for topics, this outbox for HTTP endpoints (an
 * organisation without Kafka, or a platform API for the acknowledgement to
 * the citizen).  A slow or dead endpoint therefore holds nothing but its own
 * entries.  Entries leave the outbox only after a 2xx (or, for
 * acknowledgements, after a definite refusal or the last attempt).
 *
 * Keys (P = redis.prefix; "{out}" is a Redis Cluster hash tag, so every
 * outbox key lives in one slot and one script may touch them all):
 *   P{out}:eps           zset  endpoint -> earliest due time of its entries
 *   P{out}:due:EP        zset  delivery id -> due time, or lease expiry while
 *                              an instance is sending it
 *   P{out}:q:EP|APPEAL   list  the endpoint's pending ids of one appeal, in
 *                              order: only the head is in due:EP, so an
 *                              endpoint sees an appeal's events in seq order
 *   P{out}:d:ID          hash  ep, appeal, attempts, first_ms, last_error, and
 *                              the caller's fields (body, event, ...)
 *   P{out}:done:ID       string, expires after redis.dedup_ttl: a replayed
 *                              add of a delivered id is a no-op
 *   P{out}:dead          list  JSON of entries given up on (acks only)
 *
 * Endpoints are "org:CODE" and "ack:SOURCE:PAGE".  Several daemons share
 * one outbox: take() leases entries atomically, and a lease that expires
 * (an instance died mid-send) makes the entry due again.
 * Loop thread only; callbacks run on the loop. */
#ifndef APPEALSD_OUTBOX_H
#define APPEALSD_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redis;

struct outbox_entry {
    const char *id;
    const char *ep;
    const char *appeal;
    int64_t attempts;             /* including the one now starting */
    int64_t first_ms;
    /* the fields given to outbox_add, by name */
    const char *const *names;
    const char *const *values;
    const size_t *lens;
    size_t n;
};

/* Value of a field of an entry, or NULL; *len gets its length. */
const char *outbox_field(const struct outbox_entry *e, const char *name, size_t *len);

/* ok: the script ran (added is false when the id was known already). */
typedef void (*outbox_add_cb)(void *arg, bool ok, bool added);
/* ok false: Redis did not answer; entries are borrowed for the call. */
typedef void (*outbox_take_cb)(void *arg, bool ok, const struct outbox_entry *e, size_t n);
typedef void (*outbox_eps_cb)(void *arg, bool ok, const char *const *eps, size_t n);
typedef void (*outbox_done_cb)(void *arg, bool ok);

/**
 * @brief Adds one delivery; idempotent by id.
 * @param names,values,lens  extra fields stored with it (n of them).
 * @returns 0 (cb follows) or -1 (Redis is not connected; no callback).
 */
int outbox_add(struct redis *r, const char *id, const char *ep, const char *appeal,
               int64_t now_ms, const char *const *names, const char *const *values,
               const size_t *lens, size_t n, outbox_add_cb cb, void *arg);
/* Endpoints with an entry due at now_ms (at most max). */
int outbox_due_endpoints(struct redis *r, int64_t now_ms, size_t max, outbox_eps_cb cb,
                         void *arg);
/* Leases up to max due entries of ep until lease_until_ms. */
int outbox_take(struct redis *r, const char *ep, int64_t now_ms, int64_t lease_until_ms,
                size_t max, outbox_take_cb cb, void *arg);
/* Delivered (or given up with dead_json != NULL): removes the entry, makes
 * the appeal's next entry due, remembers the id for done_ttl_ms. */
int outbox_done(struct redis *r, const char *id, const char *ep, const char *appeal,
                int64_t now_ms, int64_t done_ttl_ms, const char *dead_json, outbox_done_cb cb,
                void *arg);
/* Not delivered: due again at at_ms, with the error kept for operators. */
int outbox_retry(struct redis *r, const char *id, const char *ep, int64_t at_ms,
                 const char *error, outbox_done_cb cb, void *arg);

#endif
