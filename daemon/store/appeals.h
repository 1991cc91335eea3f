/* Appeal records, SLA timers and the outbox in Redis.
 *
 * Keys (P = redis.prefix; {…} is a Redis Cluster hash tag, so every key of
 * one appeal lives in one slot; the shared zsets below do not, so the scripts
 * need a standalone Redis or a cluster proxy that keeps them on one node):
 *
 *   P a:{ID}          hash   the record (fields below); `seq` is its version
 *   P a:{ID}:text     string the citizen's text (kept out of the hash so the
 *                            hash stays a small listpack: every value ≤ 64 bytes)
 *   P a:{ID}:audit    list   JSON audit entries, oldest first, at most 1000
 *   P d:KEY           string platform delivery id -> "TAG|SEQ", expires after
 *                            redis.dedup_ttl: drops redelivered webhooks; also
 *                            d:st:TOPIC:PARTITION:OFFSET for agency statuses
 *   P sla:due         zset   ID scored by the instant its next SLA stage is due
 *   P sla:lease       zset   ID of appeals a daemon claimed, scored by lease expiry
 *   P outbox          zset   EVENT_ID (ID#SEQ) stored but not yet acknowledged by
 *                            Kafka, scored by lease expiry
 *   P outbox:b        hash   EVENT_ID -> envelope (lifecycle/outbox.h)
 *   P idx:open        zset   ids of appeals not resolved/closed/withdrawn (nor texts
 *                            that are no appeal: not_appeal, feedback, dropped), by
 *                            received_ms
 *   P idx:org:ORG     zset   the same per organisation
 *   P stats:open      hash   "DIM:VALUE|STATE" and "DIM:VALUE|overdue" -> count of
 *                            open appeals (DIM: org, cat, muni)
 *   P stats:day:DATE  hash   "DIM:VALUE|EVENT" -> count that local day (closed,
 *                            breached, fr_met, fr_ontime); kept 8 days
 *   P stats:frt:DATE:DIM:VALUE zset  ID -> working seconds to the first response
 *   P meta:epoch      string set once; its absence after a reconnect means Redis
 *                            came back empty (store/redis.c)
 *
 * Record fields (absent = unset; values are short so the hash stays a listpack):
 *   seq, source, page, org, state, prev_state, link, author (pseudonym),
 *   item_kind, rule, triage ("1"), kind, category, municipality, priority,
 *   created_ms, received_ms, policy, formal (59-FZ policy), formal_ms,
 *   ext_days, exts, fr_link, and per clock C in fr, res, fz:
 *   C (state: r running, p paused, s stopped, m met), C_due, C_left, C_bud,
 *   C_st (next stage: 0 warning, 1 breach, 2.. escalation level + 1), C_at, C_used.
 *   daemon/lifecycle/record.h parses them.
 *
 * Every script is idempotent or guarded by a compare-and-set on `seq`, so a
 * replay after a crash or a race between daemons is harmless.
 * Loop thread only. */
#ifndef APPEALSD_APPEALS_H
#define APPEALSD_APPEALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct redisReply;

enum claim_status {
    CLAIM_FAILED,   /* no answer: Redis is away, retry later */
    CLAIM_NEW,      /* first time: publish with seq */
    CLAIM_REPLAY,   /* our own earlier claim (crash or retry): go on, same seq */
    CLAIM_DUP,      /* another delivery of the same event: drop */
    CLAIM_EXISTS,   /* a creation of an appeal that exists: drop */
    CLAIM_ABSENT,   /* an update of an appeal we never saw: drop */
};

struct claim_result {
    enum claim_status status;
    int64_t seq;
    char org[64];
    char state[32];
    int64_t first_response_due_ms;
    char copies[512];         /* org codes that get copies, comma-separated */
    bool triage;              /* routed to the triage topic */
    bool dropped;             /* a drop rule took it: recorded, never published */
    char kind[32];            /* the classifier's kind (event_class.h), or "" */
    char author[24];          /* the author's pseudonym stored at creation, or "" */
};

typedef void (*claim_cb)(void *arg, const struct claim_result *res);

/* Pipeline, before anything else: drop repeats of the platform event and
 * number the event (seq).  tag identifies the claimant. */
int appeals_claim(struct redis *r, const char *dedup_key, const char *appeal_id,
                  const char *tag, int64_t ttl_ms, const char *event, claim_cb cb, void *arg);

/* Reads a record and its text: the reply is [HGETALL array, text or nil]. */
int appeals_read(struct redis *r, const char *appeal_id, redis_cb cb, void *arg);

/**
 * @brief Writes a change of one appeal if its `seq` is still expect_seq.
 *
 * ops is a flat list of further writes, each a code and its arguments:
 *   HI key field delta | ZA key score member | ZR key member |
 *   RP key value (RPUSH, list kept to 1000) | SS key value (SET) |
 *   HS key field value | DL key | PX key ms (PEXPIRE) | PP key (PERSIST)
 * Keys in ops are complete (prefix included).  Everything is validated before
 * the first write, so a bad request changes nothing.
 *
 * @param idem  a key (complete) that marks the change as done for idem_ttl_ms,
 *              or NULL: a second request with the same key is a "dup".
 * @returns 0 (cb follows with ["ok", seq] | ["conflict", current seq] |
 *          ["dup", seq], or NULL when the connection failed), -1 not connected.
 */
struct apply_req {
    const char *appeal_id;
    int64_t expect_seq;
    const char *idem;
    int64_t idem_ttl_ms;
    const char *const *set;      /* field, value, field, value ... */
    size_t nset;                 /* pairs */
    const char *const *del;
    size_t ndel;
    const char *const *ops;
    size_t nops;                 /* strings */
};
int appeals_apply(struct redis *r, const struct apply_req *q, redis_cb cb, void *arg);
/* The script's KEYS and ARGV for q (argv needs APPEALS_APPLY_ARGC(q) slots;
 * nums holds the numbers it formats); returns how many were written. */
#define APPEALS_APPLY_ARGC(q) (6 + (q)->nset * 2 + (q)->ndel + (q)->nops)
size_t appeals_apply_argv(const char *record_key, const struct apply_req *q,
                          const char **argv, char nums[4][32]);

/**
 * @brief One round of the SLA scheduler, atomically: takes over outbox events
 *        and claimed appeals whose lease expired, and claims appeals whose
 *        next stage is due (moving them from sla:due to sla:lease).
 *
 * Reply: [[EVENT_ID, envelope, ...], [ID, HGETALL array, ...], next due score
 * or ""].  At most `limit` of each.
 */
int appeals_claim_due(struct redis *r, int64_t now_ms, int64_t lease_ms, int64_t limit,
                      redis_cb cb, void *arg);

/* Removes published events from the outbox. */
int appeals_outbox_ack(struct redis *r, const char *const *event_ids, size_t n, redis_cb cb,
                       void *arg);

/* Gauge sources: [stats:open HGETALL, [org, count due within window_ms ...],
 * stats:day HGETALL].  At most scan_limit timers are examined. */
int appeals_gauges(struct redis *r, int64_t now_ms, int64_t window_ms, const char *day,
                   int64_t scan_limit, redis_cb cb, void *arg);

/* `stats` sources for one dimension (org, cat, muni): [stats:open HGETALL,
 * stats:day HGETALL, [VALUE, median working seconds to first response ...]]. */
int appeals_stats(struct redis *r, const char *dim, const char *day, redis_cb cb, void *arg);

/* The source of a script by name ("apply", "claim_due", ...), for tools that
 * talk to Redis without the daemon's connection (the benchmark loader). */
const char *appeals_script_source(const char *name);

/* "P a:{ID}" into buf. */
void appeals_key(const struct redis *r, const char *id, char *buf, size_t len);
/* Prefix + formatted rest ("sla:due", "idx:org:%s", ...); returns buf. */
char *appeals_keyf(const struct redis *r, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
