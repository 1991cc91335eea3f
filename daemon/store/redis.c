#include "redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "units.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SENTINEL_BACKOFF_MAX_MS 1000

struct pending {
    struct redis *r;
    redis_cb cb;
    void *arg;
    int64_t sent_ms;
    /* for EVALSHA -> EVAL fallback */
    struct redis_script *script;
    int argc;
    char **argv;
    size_t *argvlen;
    struct pending *prev, *next;
};

struct up_hook {
    void (*fn)(void *);
    void *arg;
    struct up_hook *next;
};

struct repl_waiter {
    redis_repl_cb cb;
    void *arg;
    struct repl_waiter *next;
};

struct sentinel {
    char *host;
    int port;
};

struct redis {
    struct event_base *base;
    redisAsyncContext *ac;
    char *host;        /* resolved IP literal */
    int port;
    char *unix_path;
    char *password;
    char *user;
    int db;
    char *prefix;
    int64_t connect_timeout_ms, command_timeout_ms;
    bool up, connecting, ever_up, had_marker, closing, skip_marker;
    int prio;                      /* libevent priority of the socket, -1: default */
    int backoff_ms;
    struct event *reconnect_ev, *watch_ev;
    int64_t connect_started_ms;
    struct pending *head, *tail;   /* in send order */
    struct up_hook *hooks;
    struct up_hook *empty_hooks;
    struct redis_stats st;
    struct mfam *m_errors;
    uint64_t epoch;
    /* Sentinel (nsent > 0): every connect asks them for the master first */
    struct sentinel *sent;
    int nsent, sidx, stried;
    char *master_name, *sent_user, *sent_password;
    redisAsyncContext *sac;        /* the question in flight */
    int64_t sent_started_ms;
    bool resolved;                 /* the next connect uses the answer */
    struct mfam *m_master, *m_master_since, *m_master_changes;
    /* WAIT: waiters not yet covered by a WAIT sent, one WAIT at a time */
    int min_replicas;
    int64_t replica_timeout_ms;
    struct repl_waiter *wq_head, *wq_tail;
    bool wait_inflight;
    int64_t wait_hold_ms;          /* after a short WAIT: none before (monotonic) */
    struct mfam *m_repl;
};

static void schedule_reconnect(struct redis *r);
static void sentinel_next(struct redis *r, const char *why);
static void do_connect(struct redis *r);
static void sentinel_ask(struct redis *r);
static void repl_fail_all(struct redis *r);

static void pend_link(struct redis *r, struct pending *p)
{
    /* A pending re-sent after NOSCRIPT is linked again: clear both links. */
    p->next = NULL;
    p->prev = r->tail;
    if (r->tail)
        r->tail->next = p;
    else
        r->head = p;
    r->tail = p;
    r->st.pending++;
}

static void pend_unlink(struct redis *r, struct pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        r->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        r->tail = p->prev;
    p->prev = p->next = NULL;
    r->st.pending--;
}

static void pend_free(struct pending *p)
{
    for (int i = 0; i < p->argc; i++)
        free(p->argv[i]);
    free(p->argv);
    free(p->argvlen);
    free(p);
}

static int send_pending(struct redis *r, struct pending *p, int argc, const char **argv,
                        const size_t *argvlen);

/* The server became a replica under us (a failover we missed, or the old
 * master back as a replica): leave it, and ask the sentinels again. */
static void demoted(struct redis *r)
{
    if (!r->up || r->ac == NULL)
        return;
    log_warn("redis: %s:%d answers READONLY: it is a replica now; %s", r->host, r->port,
             r->nsent ? "asking the sentinels for the master" : "reconnecting");
    r->up = false;
    metrics_add(r->m_errors, 1, "readonly");
    redisAsyncDisconnect(r->ac);    /* pending replies come first, then on_disconnect */
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct pending *p = privdata;
    struct redis *r = p->r;
    redisReply *rep = reply;
    pend_unlink(r, p);
    if (rep && rep->type == REDIS_REPLY_ERROR && p->script &&
        strncmp(rep->str, "NOSCRIPT", 8) == 0 && r->up) {
        /* Redis restarted or flushed its script cache: send the source. */
        const char *argv0 = "EVAL";
        free(p->argv[1]);
        p->argv[1] = strdup(p->script->src);
        p->argvlen[1] = strlen(p->script->src);
        const char **av = malloc(sizeof(char *) * (size_t)p->argc);
        av[0] = argv0;
        size_t *al = malloc(sizeof(size_t) * (size_t)p->argc);
        al[0] = 4;
        for (int i = 1; i < p->argc; i++) {
            av[i] = p->argv[i];
            al[i] = p->argvlen[i];
        }
        struct redis_script *s = p->script;
        p->script = NULL;    /* one fallback only */
        int rc = send_pending(r, p, p->argc, av, al);
        free(av);
        free(al);
        if (rc == 0)
            return;
        p->script = s;
        rep = NULL;
    }
    if (rep == NULL)
        r->st.errors++;
    else if (rep->type == REDIS_REPLY_ERROR) {
        r->st.errors++;
        metrics_add(r->m_errors, 1, "reply");
        if (strncmp(rep->str, "READONLY", 8) == 0)
            demoted(r);
        else
            log_warn("redis: command failed: %s", rep->str);
    }
    if (p->cb)
        p->cb(r, rep, p->arg);
    pend_free(p);
}

static int send_pending(struct redis *r, struct pending *p, int argc, const char **argv,
                        const size_t *argvlen)
{
    if (r->ac == NULL || !r->up)
        return -1;
    if (redisAsyncCommandArgv(r->ac, on_reply, p, argc, argv, argvlen) != REDIS_OK)
        return -1;
    p->sent_ms = mono_ms();
    pend_link(r, p);
    r->st.commands++;
    return 0;
}

int redis_cmd(struct redis *r, redis_cb cb, void *arg, int argc, const char **argv,
              const size_t *argvlen)
{
    struct pending *p = calloc(1, sizeof(*p));
    p->r = r;
    p->cb = cb;
    p->arg = arg;
    if (send_pending(r, p, argc, argv, argvlen) != 0) {
        free(p);
        return -1;
    }
    return 0;
}

int redis_cmdf(struct redis *r, redis_cb cb, void *arg, const char *fmt, ...)
{
    if (r->ac == NULL || !r->up)
        return -1;
    struct pending *p = calloc(1, sizeof(*p));
    p->r = r;
    p->cb = cb;
    p->arg = arg;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(r->ac, on_reply, p, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        free(p);
        return -1;
    }
    p->sent_ms = mono_ms();
    pend_link(r, p);
    r->st.commands++;
    return 0;
}

int redis_eval(struct redis *r, struct redis_script *s, redis_cb cb, void *arg, int nkeys,
               int argc, const char **argv, const size_t *argvlen)
{
    if (s->sha[0] == '\0') {
        unsigned char md[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)s->src, strlen(s->src), md);
        for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
            sprintf(s->sha + 2 * i, "%02x", md[i]);
    }
    int n = argc + 3;
    struct pending *p = calloc(1, sizeof(*p));
    p->r = r;
    p->cb = cb;
    p->arg = arg;
    p->script = s;
    p->argc = n;
    /* Kept until the reply: a NOSCRIPT answer resends them with EVAL. */
    p->argv = calloc((size_t)n, sizeof(char *));
    p->argvlen = calloc((size_t)n, sizeof(size_t));
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    p->argv[0] = strdup("EVALSHA");
    p->argv[1] = strdup(s->sha);
    p->argv[2] = strdup(nk);
    p->argvlen[0] = 7;
    p->argvlen[1] = 40;
    p->argvlen[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        size_t l = argvlen ? argvlen[i] : strlen(argv[i]);
        p->argv[3 + i] = malloc(l + 1);
        memcpy(p->argv[3 + i], argv[i], l);
        p->argv[3 + i][l] = '\0';
        p->argvlen[3 + i] = l;
    }
    if (send_pending(r, p, n, (const char **)p->argv, p->argvlen) != 0) {
        pend_free(p);
        return -1;
    }
    return 0;
}

static void on_marker(struct redis *r, redisReply *rep, void *arg)
{
    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER)
        return;
    if (rep->integer == 1 && r->had_marker) {
        /* SETNX succeeded although we saw the marker before: Redis came
         * back without its data (restart without persistence, failover to an
         * empty replica, FLUSHALL). */
        r->st.empty_detected = true;
        log_error("redis: %s came back EMPTY: appeal records and SLA timers were lost; run "
                  "`appealsctl rebuild` to re-arm open appeals from Kafka", r->host ? r->host
                  : r->unix_path);
        for (struct up_hook *h = r->empty_hooks; h; h = h->next)
            h->fn(h->arg);
    }
    r->had_marker = true;
}

static void on_select(struct redis *r, redisReply *rep, void *arg)
{
    if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
        log_error("redis: AUTH/SELECT refused (%s); reconnecting", rep ? rep->str : "no reply");
        if (r->ac)
            redisAsyncDisconnect(r->ac);
        return;
    }
    if (arg == NULL)
        return;   /* the AUTH reply; SELECT follows */
    r->backoff_ms = BACKOFF_MIN_MS;
    if (!r->ever_up)
        log_info("redis: connected to %s:%d db %d", r->host ? r->host : r->unix_path, r->port,
                 r->db);
    else
        log_notice("redis: connection restored; resuming appeals that waited for it");
    r->ever_up = true;
    char key[256];
    snprintf(key, sizeof(key), "%smeta:epoch", r->prefix);
    char now[32];
    snprintf(now, sizeof(now), "%lld", (long long)now_ms());
    if (!r->skip_marker)
        redis_cmdf(r, on_marker, NULL, "SETNX %s %s", key, now);
    for (struct up_hook *h = r->hooks; h; h = h->next)
        h->fn(h->arg);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct redis *r = ac->data;
    r->connecting = false;
    if (status != REDIS_OK) {
        log_warn("redis: cannot connect to %s:%d (%s); retrying in %d ms",
                 r->host ? r->host : r->unix_path, r->port, ac->errstr, r->backoff_ms);
        r->ac = NULL;     /* hiredis frees the context after a failed connect */
        schedule_reconnect(r);
        return;
    }
    /* AUTH and SELECT go first; other commands wait for `up`. */
    r->up = true;
    r->epoch++;
    if (r->password && r->user)
        redis_cmdf(r, on_select, NULL, "AUTH %s %s", r->user, r->password);
    else if (r->password)
        redis_cmdf(r, on_select, NULL, "AUTH %s", r->password);
    char db[16];
    snprintf(db, sizeof(db), "%d", r->db);
    redis_cmdf(r, on_select, r, "SELECT %s", db);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis *r = ac->data;
    bool was_up = r->up;
    r->ac = NULL;
    r->up = false;
    r->connecting = false;
    repl_fail_all(r);
    if (r->closing)
        return;
    if (was_up)
        log_warn("redis: connection lost (%s); appeals wait in the spool, reconnecting",
                 status == REDIS_OK ? "closed" : ac->errstr);
    metrics_add(r->m_errors, 1, "disconnect");
    schedule_reconnect(r);
}

static void do_connect(struct redis *r)
{
    if (r->ac || r->connecting || r->sac || r->closing)
        return;
    if (r->nsent > 0 && !r->resolved) {
        r->stried = 0;
        sentinel_ask(r);
        return;
    }
    r->resolved = false;     /* every reconnect asks the sentinels again */
    redisAsyncContext *ac = r->unix_path ? redisAsyncConnectUnix(r->unix_path)
                                         : redisAsyncConnect(r->host, r->port);
    if (ac == NULL || ac->err) {
        log_warn("redis: connect to %s failed: %s", r->host ? r->host : r->unix_path,
                 ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    ac->data = r;
    redisLibeventAttach(ac, r->base);
    if (r->prio >= 0) {
        redisLibeventEvents *ev = ac->ev.data;
        event_priority_set(ev->rev, r->prio);
        event_priority_set(ev->wev, r->prio);
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    r->connecting = true;
    r->connect_started_ms = mono_ms();
    r->st.reconnects++;
}

static void on_reconnect(evutil_socket_t fd, short what, void *arg) { do_connect(arg); }

static void schedule_reconnect(struct redis *r)
{
    struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};
    evtimer_add(r->reconnect_ev, &tv);
    /* With sentinels each attempt first asks them (cheap): a short cap finds
     * the promoted master within a second of the failover. */
    int cap = r->nsent ? SENTINEL_BACKOFF_MAX_MS : BACKOFF_MAX_MS;
    r->backoff_ms = r->backoff_ms * 2 > cap ? cap : r->backoff_ms * 2;
}

static char *resolve(const char *host)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return NULL;
    char buf[INET6_ADDRSTRLEN] = "";
    if (res->ai_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, buf, sizeof(buf));
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, buf, sizeof(buf));
    freeaddrinfo(res);
    return strdup(buf);
}

/* ---- Sentinel: ask for the master before every connect ---- */

/* The daemon's first connection reports for both (the SLA scheduler's
 * follows the same master). */
static void master_metrics(struct redis *r, bool changed)
{
    if (r->skip_marker)
        return;
    if (changed)
        metrics_add(r->m_master_changes, 1);
    metrics_clear(r->m_master);
    metrics_set(r->m_master, 1, r->st.master);
    metrics_set(r->m_master_since, (double)r->st.master_since_ms / 1000.0);
}

static void set_master(struct redis *r, const char *host, int port)
{
    char addr[sizeof(r->st.master)];
    snprintf(addr, sizeof(addr), "%s:%d", host, port);
    if (strcmp(addr, r->st.master) == 0)
        return;
    bool changed = r->st.master[0] != '\0';
    if (changed) {
        r->st.master_changes++;
        log_notice("redis: the sentinels name %s master of '%s' (was %s); connecting to it",
                   addr, r->master_name, r->st.master);
    } else {
        log_info("redis: the sentinels name %s master of '%s'", addr, r->master_name);
    }
    snprintf(r->st.master, sizeof(r->st.master), "%s", addr);
    r->st.master_since_ms = now_ms();
    master_metrics(r, changed);
    free(r->host);
    r->host = strdup(host);
    r->port = port;
}

/* The question to the current sentinel failed: the next one, or a pause
 * once every one was asked. */
static void sentinel_next(struct redis *r, const char *why)
{
    const struct sentinel *s = &r->sent[r->sidx];
    log_warn("redis: sentinel %s:%d did not name the master of '%s' (%s)", s->host, s->port,
             r->master_name, why);
    r->sidx = (r->sidx + 1) % r->nsent;
    if (r->closing)
        return;
    if (r->stried >= r->nsent) {
        log_warn("redis: none of %d sentinels named the master of '%s'; appeals wait in the "
                 "spool, asking again in %d ms", r->nsent, r->master_name, r->backoff_ms);
        schedule_reconnect(r);
        return;
    }
    sentinel_ask(r);
}

static void on_sentinel_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct redis *r = privdata;
    redisReply *rep = reply;
    if (ac != r->sac)
        return;            /* an abandoned question */
    if (rep == NULL) {
        r->sac = NULL;     /* hiredis is freeing it */
        sentinel_next(r, ac->errstr[0] ? ac->errstr : "connection lost");
        return;
    }
    r->sac = NULL;
    redisAsyncDisconnect(ac);
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[1]->type != REDIS_REPLY_STRING) {
        sentinel_next(r, rep->type == REDIS_REPLY_ERROR ? rep->str : "it does not know it");
        return;
    }
    int port = atoi(rep->element[1]->str);
    if (port <= 0 || port > 65535) {
        sentinel_next(r, "bad port in its answer");
        return;
    }
    set_master(r, rep->element[0]->str, port);
    r->resolved = true;
    do_connect(r);
}

static void on_sentinel_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct redis *r = privdata;
    redisReply *rep = reply;
    if (ac != r->sac || rep == NULL || rep->type != REDIS_REPLY_ERROR)
        return;
    r->sac = NULL;
    redisAsyncDisconnect(ac);
    sentinel_next(r, rep->str);
}

static void on_sentinel_connect(const redisAsyncContext *ac, int status)
{
    struct redis *r = ac->data;
    if (status == REDIS_OK || ac != r->sac)
        return;
    r->sac = NULL;         /* hiredis frees it after a failed connect */
    sentinel_next(r, ac->errstr);
}

static void on_sentinel_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis *r = ac->data;
    if (ac != r->sac)
        return;
    r->sac = NULL;
    sentinel_next(r, "connection closed");
}

static void sentinel_ask(struct redis *r)
{
    const struct sentinel *s = &r->sent[r->sidx];
    r->stried++;
    redisAsyncContext *ac = redisAsyncConnect(s->host, s->port);
    if (ac == NULL || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        sentinel_next(r, "cannot connect");
        return;
    }
    ac->data = r;
    redisLibeventAttach(ac, r->base);
    redisAsyncSetConnectCallback(ac, on_sentinel_connect);
    redisAsyncSetDisconnectCallback(ac, on_sentinel_disconnect);
    if (r->sent_password && r->sent_user)
        redisAsyncCommand(ac, on_sentinel_auth, r, "AUTH %s %s", r->sent_user,
                          r->sent_password);
    else if (r->sent_password)
        redisAsyncCommand(ac, on_sentinel_auth, r, "AUTH %s", r->sent_password);
    redisAsyncCommand(ac, on_sentinel_reply, r, "SENTINEL get-master-addr-by-name %s",
                      r->master_name);
    r->sac = ac;
    r->sent_started_ms = mono_ms();
}

static void parse_sentinels(struct redis *r, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        char *colon = strrchr(t, ':');
        if (colon == NULL)
            continue;      /* config validation refused it already */
        *colon = '\0';
        r->sent = realloc(r->sent, sizeof(*r->sent) * (size_t)(r->nsent + 1));
        if (r->sent == NULL)
            abort();
        /* IP literals: hiredis would resolve on the loop (blocking). */
        char *ip = resolve(t);
        r->sent[r->nsent].host = ip ? ip : strdup(t);
        r->sent[r->nsent].port = atoi(colon + 1);
        r->nsent++;
    }
    free(copy);
}

/* ---- WAIT: writes on replicas before what depends on them ---- */

static void repl_count(struct redis *r, enum redis_repl res)
{
    static const char *const names[] = {"ok", "short", "lost"};
    if (res == REDIS_REPL_OK)
        r->st.repl_ok++;
    else if (res == REDIS_REPL_SHORT)
        r->st.repl_short++;
    else
        r->st.repl_lost++;
    metrics_add(r->m_repl, 1, names[res]);
}

static void repl_call(struct redis *r, struct repl_waiter *list, enum redis_repl res)
{
    while (list) {
        struct repl_waiter *n = list->next;
        repl_count(r, res);
        list->cb(list->arg, res);
        free(list);
        list = n;
    }
}

static void send_wait(struct redis *r);

static void on_wait(struct redis *r, redisReply *rep, void *arg)
{
    struct repl_waiter *batch = arg;
    r->wait_inflight = false;
    enum redis_repl res = REDIS_REPL_LOST;
    if (rep && rep->type == REDIS_REPLY_INTEGER)
        res = rep->integer >= r->min_replicas ? REDIS_REPL_OK : REDIS_REPL_SHORT;
    /* A WAIT blocks the connection: after a short one, leave it to the
     * other commands for as long again before the next (on_watch sends it). */
    if (res == REDIS_REPL_SHORT) {
        r->wait_hold_ms = mono_ms() + r->replica_timeout_ms;
        log_limited(LOG_LVL_WARN, 5, 60000, "redis: only %lld of %d replicas confirmed the "
                    "writes within %lld ms; spool records stay until they do",
                    rep->integer, r->min_replicas, (long long)r->replica_timeout_ms);
    }
    repl_call(r, batch, res);
    send_wait(r);
}

static void send_wait(struct redis *r)
{
    if (r->wait_inflight || r->wq_head == NULL || r->closing || mono_ms() < r->wait_hold_ms)
        return;
    struct repl_waiter *batch = r->wq_head;
    r->wq_head = r->wq_tail = NULL;
    char n[16], ms[24];
    snprintf(n, sizeof(n), "%d", r->min_replicas);
    snprintf(ms, sizeof(ms), "%lld", (long long)r->replica_timeout_ms);
    r->wait_inflight = true;
    if (redis_cmdf(r, on_wait, batch, "WAIT %s %s", n, ms) != 0) {
        r->wait_inflight = false;
        repl_call(r, batch, REDIS_REPL_LOST);
    }
}

void redis_replicated(struct redis *r, redis_repl_cb cb, void *arg)
{
    if (r->min_replicas <= 0) {
        cb(arg, REDIS_REPL_OK);
        return;
    }
    if (!redis_up(r)) {
        repl_count(r, REDIS_REPL_LOST);
        cb(arg, REDIS_REPL_LOST);
        return;
    }
    struct repl_waiter *w = calloc(1, sizeof(*w));
    if (w == NULL)
        abort();
    w->cb = cb;
    w->arg = arg;
    if (r->wq_tail)
        r->wq_tail->next = w;
    else
        r->wq_head = w;
    r->wq_tail = w;
    send_wait(r);
}

/* The connection went away: waiters not yet sent cannot be covered by a WAIT
 * on the next one (the one in flight gets its NULL reply from hiredis). */
static void repl_fail_all(struct redis *r)
{
    struct repl_waiter *list = r->wq_head;
    r->wq_head = r->wq_tail = NULL;
    repl_call(r, list, REDIS_REPL_LOST);
}

int redis_min_replicas(const struct redis *r) { return r->min_replicas; }
uint64_t redis_epoch(const struct redis *r) { return r->epoch; }

/* Our own deadlines: the 0.14 adapter has none. */
static void on_watch(evutil_socket_t fd, short what, void *arg)
{
    struct redis *r = arg;
    int64_t now = mono_ms();
    if (r->sac && now - r->sent_started_ms > r->connect_timeout_ms) {
        redisAsyncContext *ac = r->sac;
        r->sac = NULL;     /* its callbacks see a stale context and ignore it */
        r->st.timeouts++;
        redisAsyncFree(ac);
        sentinel_next(r, "no answer in time");
        return;
    }
    if (r->wq_head && !r->wait_inflight)
        send_wait(r);
    if (r->ac && r->connecting && now - r->connect_started_ms > r->connect_timeout_ms) {
        log_warn("redis: connect to %s:%d timed out after %lld ms; retrying",
                 r->host ? r->host : r->unix_path, r->port, (long long)r->connect_timeout_ms);
        r->st.timeouts++;
        /* Not connected yet, so hiredis will not call on_disconnect: forget
         * the context ourselves before freeing it. */
        redisAsyncContext *ac = r->ac;
        r->ac = NULL;
        r->connecting = false;
        redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    if (r->ac && r->head && now - r->head->sent_ms > r->command_timeout_ms) {
        log_warn("redis: no reply for %lld ms; dropping the connection (pending commands "
                 "are retried)", (long long)(now - r->head->sent_ms));
        r->st.timeouts++;
        metrics_add(r->m_errors, 1, "timeout");
        redisAsyncFree(r->ac);    /* pending callbacks get NULL replies */
    }
}

static void sentinel_init(struct redis *r, const struct apd_config *c)
{
    parse_sentinels(r, c->redis.sentinels);
    r->master_name = strdup(c->redis.master_name);
    r->sent_user = c->redis.sentinel_user ? strdup(c->redis.sentinel_user) : NULL;
    r->sent_password = c->redis.sentinel_password ? strdup(c->redis.sentinel_password) : NULL;
    r->st.sentinel = true;
    r->m_master = metrics_family("appealsd_redis_master", M_GAUGE,
                                 "1 for the Redis master the sentinels named (HOST:PORT)",
                                 "addr");
    r->m_master_since = metrics_family("appealsd_redis_master_since_seconds", M_GAUGE,
                                       "Unix time the daemon moved to its current Redis master",
                                       NULL);
    r->m_master_changes = metrics_family("appealsd_redis_master_changes_total", M_COUNTER,
                                         "Redis failovers the daemon followed", NULL);
}

struct redis *redis_new(const struct apd_config *c, struct event_base *base)
{
    struct redis *r = calloc(1, sizeof(*r));
    r->base = base;
    r->port = c->redis.port;
    r->db = c->redis.db;
    r->prefix = strdup(c->redis.prefix);
    r->password = c->redis.password ? strdup(c->redis.password) : NULL;
    r->user = c->redis.user ? strdup(c->redis.user) : NULL;
    r->min_replicas = (int)c->redis.min_replicas;
    r->replica_timeout_ms = c->redis.replica_timeout_ms;
    r->connect_timeout_ms = c->redis.connect_timeout_ms;
    r->command_timeout_ms = c->redis.command_timeout_ms;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->prio = -1;
    r->m_errors = metrics_family("appealsd_redis_errors_total", M_COUNTER,
                                 "Redis failures: lost connections, timeouts, error replies",
                                 "kind");
    r->m_repl = metrics_family("appealsd_redis_replica_waits_total", M_COUNTER,
                               "Waits for redis.min_replicas replicas (WAIT): ok, short (fewer "
                               "replicas in time: retried), lost (connection gone: redone)",
                               "result");
    if (c->redis.sentinels)
        sentinel_init(r, c);
    else if (c->redis.unix_path) {
        r->unix_path = strdup(c->redis.unix_path);
    } else {
        /* Resolve once here: hiredis would call getaddrinfo on the loop. */
        r->host = resolve(c->redis.host);
        if (r->host == NULL) {
            log_warn("redis: cannot resolve %s; using it as given", c->redis.host);
            r->host = strdup(c->redis.host);
        }
    }
    r->reconnect_ev = evtimer_new(base, on_reconnect, r);
    r->watch_ev = event_new(base, -1, EV_PERSIST, on_watch, r);
    struct timeval tv = {0, 200000};
    event_add(r->watch_ev, &tv);
    do_connect(r);
    return r;
}

void redis_free(struct redis *r)
{
    if (r == NULL)
        return;
    for (struct up_hook *h = r->hooks, *n; h; h = n) {
        n = h->next;
        free(h);
    }
    for (struct up_hook *h = r->empty_hooks, *n; h; h = n) {
        n = h->next;
        free(h);
    }
    r->hooks = r->empty_hooks = NULL;
    r->closing = true;
    if (r->sac) {
        redisAsyncContext *sac = r->sac;
        r->sac = NULL;
        redisAsyncFree(sac);
    }
    if (r->ac)
        redisAsyncFree(r->ac);
    repl_fail_all(r);
    for (int i = 0; i < r->nsent; i++)
        free(r->sent[i].host);
    free(r->sent);
    free(r->master_name);
    free(r->sent_user);
    free(r->sent_password);
    free(r->user);
    event_free(r->reconnect_ev);
    event_free(r->watch_ev);
    free(r->host);
    free(r->unix_path);
    free(r->password);
    free(r->prefix);
    free(r);
}

bool redis_up(const struct redis *r) { return r->up && r->ever_up && r->ac != NULL; }
const char *redis_prefix(const struct redis *r) { return r->prefix; }

void redis_on_up(struct redis *r, void (*fn)(void *arg), void *arg)
{
    struct up_hook *h = calloc(1, sizeof(*h));
    h->fn = fn;
    h->arg = arg;
    h->next = r->hooks;
    r->hooks = h;
}

void redis_on_empty(struct redis *r, void (*fn)(void *arg), void *arg)
{
    struct up_hook *h = calloc(1, sizeof(*h));
    if (h == NULL)
        abort();
    h->fn = fn;
    h->arg = arg;
    h->next = r->empty_hooks;
    r->empty_hooks = h;
}

void redis_skip_marker(struct redis *r) { r->skip_marker = true; }
void redis_set_priority(struct redis *r, int prio)
{
    r->prio = prio;
    if (r->ac && r->ac->ev.data) {     /* the connection redis_new() started */
        redisLibeventEvents *ev = r->ac->ev.data;
        event_priority_set(ev->rev, prio);
        event_priority_set(ev->wev, prio);
    }
}

void redis_get_stats(const struct redis *r, struct redis_stats *st)
{
    *st = r->st;
    st->up = redis_up(r);
}

bool redis_pending_consistent(const struct redis *r)
{
    int n = 0;
    const struct pending *prev = NULL;
    for (const struct pending *p = r->head; p; p = p->next) {
        if (p->prev != prev || ++n > r->st.pending)
            return false;
        prev = p;
    }
    return prev == r->tail && n == r->st.pending;
}
