/* The lifecycle engine: applies events to appeals in Redis, exactly once,
 * whoever sends them (the pipeline, agencies, operators, the SLA scheduler)
 * and however many daemons share the Redis.
 *
 * For each event: read the record (or take the one the caller has), plan the
 * transition (transition.h), and write the plan with one script that checks
 * the record's `seq` is still what was read, stores the new fields, the
 * audit entries, index and counter updates, the next SLA stage in sla:due and
 * the events to publish in the outbox.  On a conflict (someone else wrote
 * first) it reads again and plans again.  When the write succeeded it
 * publishes the events (outbox.h) and shows them to operators (`tail`).
 *
 * Loop thread only. */
#ifndef APPEALSD_LIFECYCLE_H
#define APPEALSD_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "transition.h"

struct app;
struct apd_config;
struct redisReply;
struct lifecycle;
struct eventbox;

struct lc_request {
    const char *appeal_id;
    struct lc_event ev;              /* strings borrowed for the call (copied) */
    const char *idem;                /* idempotency token ("st:TOPIC:P:OFFSET"), or NULL */
    bool release_lease;              /* a scheduler claim: give the lease back */
    bool fresh;                      /* LC_CREATED: the record holds only seq = expect_seq */
    int64_t expect_seq;
    const struct redisReply *record; /* HGETALL the caller already has, or NULL (borrowed) */
    struct apd_config *cfg;          /* snapshot to plan with (NULL: the running one) */
    struct redis *redis;             /* connection to use (NULL: the daemon's) */
    /* Rebuild: write this record (and replace the audit trail with these
     * entries) unless Redis already holds the appeal at this seq or later. */
    const struct appeal_rec *restore;
    const char *const *audit;
    size_t naudit;
};

enum lcr_status {
    LCR_OK,        /* stored; its events are being published */
    LCR_NOOP,      /* nothing to change (a repeat, nothing due) */
    LCR_REFUSED,   /* not allowed: code and msg say why (not_found, conflict, ...) */
    LCR_RETRY,     /* Redis went away mid-way: nothing or everything was stored; retry */
};

struct lc_result {
    enum lcr_status status;
    const char *code;
    const char *msg;
    const char *state;               /* the appeal's state afterwards */
    int64_t seq;
    const struct appeal_rec *rec;    /* afterwards (borrowed for the callback) */
    const struct lc_plan *plan;      /* LCR_OK: what was stored (borrowed likewise) */
};

typedef void (*lc_done_fn)(void *arg, const struct lc_result *res);

struct lifecycle *lifecycle_new(struct app *app);
/* Operations still running complete with LCR_RETRY. */
void lifecycle_free(struct lifecycle *lc);
struct eventbox *lifecycle_eventbox(struct lifecycle *lc);

/**
 * @brief Apply one event.
 * @returns 0 (cb follows, possibly before this returns), or -1 when Redis is
 *          not connected (no callback).
 */
int lifecycle_submit(struct lifecycle *lc, const struct lc_request *rq, lc_done_fn cb,
                     void *arg);

/* Operations in flight (drain, status). */
unsigned lifecycle_inflight(const struct lifecycle *lc);

/* Called after every stored change whose appeal has a pending SLA stage, with
 * its instant: the scheduler wakes earlier when a new stage comes sooner. */
void lifecycle_on_armed(struct lifecycle *lc, void (*fn)(void *arg, int64_t at), void *arg);

/* Called after every stored change with the event and what it did (the
 * incidents: a new appeal joins one, an answer answers its incident; the
 * report's daily counters).  Up to four observers; -1 when full. */
typedef void (*lc_stored_fn)(void *arg, const struct lc_event *ev, const struct lc_plan *plan);
int lifecycle_on_stored(struct lifecycle *lc, lc_stored_fn fn, void *arg);

#endif
