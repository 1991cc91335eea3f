/* One asynchronous Redis connection on the event loop (hiredis + libevent).
 *
 * Debian's hiredis 0.14 has no timeouts in its libevent adapter and resolves
 * names with a blocking getaddrinfo, so this module: resolves the host once at
 * start, arms its own connect and command deadlines, and reconnects from a
 * timer with capped exponential backoff.  Commands issued while disconnected
 * fail at once (-1): callers keep their work (the spool does) and retry when
 * the connection is back (redis_on_up). */
#ifndef APPEALSD_REDIS_H
#define APPEALSD_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct apd_config;
struct redisReply;
struct redis;

/* reply is NULL when the connection failed before the answer came; it is
 * borrowed for the duration of the callback. */
typedef void (*redis_cb)(struct redis *r, struct redisReply *reply, void *arg);

/* A Lua script run with EVALSHA, falling back to EVAL when Redis lost it. */
struct redis_script {
    const char *name;
    const char *src;
    char sha[41];
};

struct redis *redis_new(const struct apd_config *c, struct event_base *base);
void redis_free(struct redis *r);
bool redis_up(const struct redis *r);
const char *redis_prefix(const struct redis *r);
/* Called every time the connection becomes usable (after AUTH/SELECT). */
void redis_on_up(struct redis *r, void (*fn)(void *arg), void *arg);
/* Called when Redis came back without the daemon's marker key: its data is
 * gone (restart without persistence, failover to an empty replica, FLUSHALL). */
void redis_on_empty(struct redis *r, void (*fn)(void *arg), void *arg);
/* A second connection of the same daemon leaves the empty-Redis check to the
 * first (two connections racing for the marker would hide the loss from one
 * of them).  Call right after redis_new(). */
void redis_skip_marker(struct redis *r);
/* Serves this connection's socket at libevent priority prio (0 = first;
 * the base must have been given priorities).  Call right after redis_new(). */
void redis_set_priority(struct redis *r, int prio);

/* argv-style command; returns 0 (cb will be called) or -1 (not connected). */
int redis_cmd(struct redis *r, redis_cb cb, void *arg, int argc, const char **argv,
              const size_t *argvlen);
/* printf-style convenience (hiredis format: %s, %b, %lld). */
int redis_cmdf(struct redis *r, redis_cb cb, void *arg, const char *fmt, ...);
int redis_eval(struct redis *r, struct redis_script *s, redis_cb cb, void *arg, int nkeys,
               int argc, const char **argv, const size_t *argvlen);

/* Replication of this connection's writes (WAIT), for what must survive a
 * failover: OK, the writes sent before the call are on redis.min_replicas
 * replicas; SHORT, connected but fewer replicas had them within
 * redis.replica_timeout (ask again later); LOST, the connection went away, so
 * whether they survived is unknown (do them again). */
enum redis_repl { REDIS_REPL_OK, REDIS_REPL_SHORT, REDIS_REPL_LOST };
typedef void (*redis_repl_cb)(void *arg, enum redis_repl res);
/* Coalesces callers into one WAIT at a time; with min_replicas 0 or when not
 * connected the callback runs before this returns. */
void redis_replicated(struct redis *r, redis_repl_cb cb, void *arg);
int redis_min_replicas(const struct redis *r);
/* Changes every time a connection is established: writes made under one
 * epoch are not covered by a WAIT sent under another. */
uint64_t redis_epoch(const struct redis *r);

struct redis_stats {
    uint64_t commands, errors, timeouts, reconnects;
    int pending;
    bool up;
    bool empty_detected;   /* came back without our marker key: data lost */
    /* Sentinel: the master in use ("HOST:PORT", "" before the first answer) */
    bool sentinel;
    char master[80];
    int64_t master_since_ms;     /* wall clock of the last change, 0 none */
    uint64_t master_changes;     /* failovers followed */
    uint64_t repl_ok, repl_short, repl_lost;
};
void redis_get_stats(const struct redis *r, struct redis_stats *st);
/* Walks the list of commands awaiting replies and checks its links and its
 * count: a self-check for tests (returns true when consistent). */
bool redis_pending_consistent(const struct redis *r);

#endif
