/* Appeal records in Redis.
 *
 * Keys (P = redis.prefix; {…} is a Redis Cluster hash tag, so every key of
 * one appeal lives in one slot):
 *   P a:{ID}         hash   the record: state, org, seq, times, text, link...
 *   P a:{ID}:audit   list   JSON audit entries, oldest first
 *   P d:KEY          string platform delivery id -> "TAG|SEQ", expires after
 *                           redis.dedup_ttl: drops redelivered webhooks
 *   P sla:due        zset   "ID|TIMER" scored by due time (ms)
 *   P idx:open       zset   ids of appeals not closed/withdrawn/resolved, by received_ms
 *   P idx:org:ORG    zset   the same per organisation (a re-route must ZREM the old org)
 *
 * Two scripts, both idempotent so a replay after a crash is harmless:
 *   claim  — before publishing: drop repeats, assign the event's seq;
 *   commit — after Kafka confirmed: write fields, arm/disarm timers, audit. */
#ifndef APPEALSD_APPEALS_H
#define APPEALSD_APPEALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redis;
struct redisReply;

enum claim_status {
    CLAIM_FAILED,   /* no answer: Redis is away, retry later */
    CLAIM_NEW,      /* first time: publish with seq */
    CLAIM_REPLAY,   /* our own earlier claim (crash or retry): publish again, same seq */
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
};

typedef void (*claim_cb)(void *arg, const struct claim_result *res);
typedef void (*commit_cb)(void *arg, int ok);

/* tag identifies the claimant (spool record and event index). */
int appeals_claim(struct redis *r, const char *dedup_key, const char *appeal_id,
                  const char *tag, int64_t ttl_ms, const char *event, claim_cb cb, void *arg);

struct commit_req {
    const char *appeal_id;
    const char *const *fields;     /* name, value, name, value, ... */
    size_t nfields;                /* number of names */
    const char *const *arm;        /* timer names to arm ... */
    const int64_t *arm_at;         /* ... at these instants (ms) */
    size_t narm;
    const char *const *disarm;     /* timer names to cancel */
    size_t ndisarm;
    const char *audit_json;        /* one audit entry, or NULL */
};

int appeals_commit(struct redis *r, const struct commit_req *req, commit_cb cb, void *arg);

/* "P a:{ID}" into buf. */
void appeals_key(const struct redis *r, const char *id, char *buf, size_t len);

#endif
