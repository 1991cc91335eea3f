#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "redis.h"

/* Recomputes an endpoint's earliest due time in the eps index; shared by
 * the scripts below (Lua has no includes: it is pasted into each). */
#define LUA_REFRESH_EPS                                                         \
    "local function refresh(b, ep)\n"                                           \
    "  local f = redis.call('ZRANGE', b .. 'due:' .. ep, 0, 0, 'WITHSCORES')\n"  \
    "  if #f == 0 then redis.call('ZREM', b .. 'eps', ep)\n"                    \
    "  else redis.call('ZADD', b .. 'eps', f[2], ep) end\n"                     \
    "end\n"

/* KEYS[1] = P{out}:  ARGV: id, ep, appeal, now, name, value, ... */
static struct redis_script add_script = {
    .name = "outbox_add",
    .src = LUA_REFRESH_EPS
        "local b, id, ep, appeal = KEYS[1], ARGV[1], ARGV[2], ARGV[3]\n"
        "if redis.call('EXISTS', b .. 'd:' .. id) == 1 or\n"
        "   redis.call('EXISTS', b .. 'done:' .. id) == 1 then return 0 end\n"
        "local h = {'ep', ep, 'appeal', appeal, 'attempts', 0, 'first_ms', ARGV[4]}\n"
        "for i = 5, #ARGV do h[#h + 1] = ARGV[i] end\n"
        "redis.call('HSET', b .. 'd:' .. id, unpack(h))\n"
        "if redis.call('RPUSH', b .. 'q:' .. ep .. '|' .. appeal, id) == 1 then\n"
        "  redis.call('ZADD', b .. 'due:' .. ep, ARGV[4], id)\n"
        "  refresh(b, ep)\n"
        "end\n"
        "return 1\n",
};

/* KEYS[1] = P{out}:  ARGV: ep, now, lease_until, max
 * -> {id, {field, value, ...}, id, {...}, ...} */
static struct redis_script take_script = {
    .name = "outbox_take",
    .src = LUA_REFRESH_EPS
        "local b, ep = KEYS[1], ARGV[1]\n"
        "local due = b .. 'due:' .. ep\n"
        "local ids = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[2], 'LIMIT', 0, ARGV[4])\n"
        "local out = {}\n"
        "for _, id in ipairs(ids) do\n"
        "  local d = b .. 'd:' .. id\n"
        "  if redis.call('EXISTS', d) == 0 then\n"
        "    redis.call('ZREM', due, id)\n"
        "  else\n"
        "    redis.call('ZADD', due, ARGV[3], id)\n"
        "    redis.call('HINCRBY', d, 'attempts', 1)\n"
        "    out[#out + 1] = id\n"
        "    out[#out + 1] = redis.call('HGETALL', d)\n"
        "  end\n"
        "end\n"
        "refresh(b, ep)\n"
        "return out\n",
};

/* KEYS[1] = P{out}:  ARGV: id, ep, appeal, now, done_ttl, dead_json */
static struct redis_script done_script = {
    .name = "outbox_done",
    .src = LUA_REFRESH_EPS
        "local b, id, ep, appeal = KEYS[1], ARGV[1], ARGV[2], ARGV[3]\n"
        "redis.call('DEL', b .. 'd:' .. id)\n"
        "redis.call('ZREM', b .. 'due:' .. ep, id)\n"
        "redis.call('SET', b .. 'done:' .. id, '1', 'PX', ARGV[5])\n"
        "if ARGV[6] ~= '' then\n"
        "  redis.call('RPUSH', b .. 'dead', ARGV[6])\n"
        "  redis.call('LTRIM', b .. 'dead', -10000, -1)\n"
        "end\n"
        "local q = b .. 'q:' .. ep .. '|' .. appeal\n"
        "redis.call('LREM', q, 1, id)\n"
        "local nxt = redis.call('LINDEX', q, 0)\n"
        "if nxt then redis.call('ZADD', b .. 'due:' .. ep, ARGV[4], nxt) end\n"
        "refresh(b, ep)\n"
        "return 1\n",
};

/* KEYS[1] = P{out}:  ARGV: id, ep, at, error */
static struct redis_script retry_script = {
    .name = "outbox_retry",
    .src = LUA_REFRESH_EPS
        "local b, id, ep = KEYS[1], ARGV[1], ARGV[2]\n"
        "if redis.call('EXISTS', b .. 'd:' .. id) == 0 then return 0 end\n"
        "redis.call('HSET', b .. 'd:' .. id, 'last_error', ARGV[4])\n"
        "redis.call('ZADD', b .. 'due:' .. ep, 'XX', ARGV[3], id)\n"
        "refresh(b, ep)\n"
        "return 1\n",
};

/* The caller's callback (one of them is set) and argument. */
struct octx {
    outbox_add_cb add;
    outbox_take_cb take;
    outbox_eps_cb eps;
    outbox_done_cb done;
    void *arg;
};

static struct octx *octx_new(void *arg)
{
    struct octx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->arg = arg;
    return c;
}

static void base_key(struct redis *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s{out}:", redis_prefix(r));
}

static bool script_failed(const char *what, redisReply *rep)
{
    if (rep == NULL)
        return true;
    if (rep->type == REDIS_REPLY_ERROR) {
        log_error("outbox: %s failed in Redis: %.*s", what, (int)rep->len, rep->str);
        return true;
    }
    return false;
}

const char *outbox_field(const struct outbox_entry *e, const char *name, size_t *len)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->names[i], name) == 0) {
            if (len)
                *len = e->lens[i];
            return e->values[i];
        }
    return NULL;
}

static void on_add(struct redis *r, redisReply *rep, void *arg)
{
    struct octx *c = arg;
    bool ok = !script_failed("add", rep) && rep->type == REDIS_REPLY_INTEGER;
    c->add(c->arg, ok, ok && rep->integer == 1);
    free(c);
}

int outbox_add(struct redis *r, const char *id, const char *ep, const char *appeal,
               int64_t now_ms, const char *const *names, const char *const *values,
               const size_t *lens, size_t n, outbox_add_cb cb, void *arg)
{
    char base[256], now[24];
    base_key(r, base, sizeof(base));
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    size_t argc = 5 + 2 * n;
    const char **argv = calloc(argc, sizeof(char *));
    size_t *argvlen = calloc(argc, sizeof(size_t));
    if (argv == NULL || argvlen == NULL)
        abort();
    const char *fixed[] = {base, id, ep, appeal, now};
    for (size_t i = 0; i < 5; i++) {
        argv[i] = fixed[i];
        argvlen[i] = strlen(fixed[i]);
    }
    for (size_t i = 0; i < n; i++) {
        argv[5 + 2 * i] = names[i];
        argvlen[5 + 2 * i] = strlen(names[i]);
        argv[6 + 2 * i] = values[i];
        argvlen[6 + 2 * i] = lens ? lens[i] : strlen(values[i]);
    }
    struct octx *c = octx_new(arg);
    c->add = cb;
    int rc = redis_eval(r, &add_script, on_add, c, 1, (int)argc, argv, argvlen);
    if (rc != 0)
        free(c);
    free(argv);
    free(argvlen);
    return rc;
}

static void on_eps(struct redis *r, redisReply *rep, void *arg)
{
    struct octx *c = arg;
    if (script_failed("due endpoints", rep) || rep->type != REDIS_REPLY_ARRAY) {
        c->eps(c->arg, false, NULL, 0);
        free(c);
        return;
    }
    const char **eps = calloc(rep->elements + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < rep->elements; i++)
        if (rep->element[i]->type == REDIS_REPLY_STRING)
            eps[n++] = rep->element[i]->str;
    c->eps(c->arg, true, eps, n);
    free(eps);
    free(c);
}

int outbox_due_endpoints(struct redis *r, int64_t now_ms, size_t max, outbox_eps_cb cb,
                         void *arg)
{
    char key[256], now[24], lim[24];
    base_key(r, key, sizeof(key));
    strncat(key, "eps", sizeof(key) - strlen(key) - 1);
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(lim, sizeof(lim), "%zu", max);
    const char *argv[] = {"ZRANGEBYSCORE", key, "-inf", now, "LIMIT", "0", lim};
    struct octx *c = octx_new(arg);
    c->eps = cb;
    int rc = redis_cmd(r, on_eps, c, 7, argv, NULL);
    if (rc != 0)
        free(c);
    return rc;
}

/* {id, {k, v, ...}} pairs into entries; false on a malformed reply. */
static bool parse_entry(const redisReply *id, const redisReply *h, struct outbox_entry *e,
                        const char **names, const char **values, size_t *lens)
{
    if (id->type != REDIS_REPLY_STRING || h->type != REDIS_REPLY_ARRAY || h->elements % 2)
        return false;
    memset(e, 0, sizeof(*e));
    e->id = id->str;
    for (size_t k = 0; k + 1 < h->elements; k += 2) {
        const redisReply *kn = h->element[k], *kv = h->element[k + 1];
        if (kn->type != REDIS_REPLY_STRING || kv->type != REDIS_REPLY_STRING)
            return false;
        if (strcmp(kn->str, "ep") == 0)
            e->ep = kv->str;
        else if (strcmp(kn->str, "appeal") == 0)
            e->appeal = kv->str;
        else if (strcmp(kn->str, "attempts") == 0)
            e->attempts = strtoll(kv->str, NULL, 10);
        else if (strcmp(kn->str, "first_ms") == 0)
            e->first_ms = strtoll(kv->str, NULL, 10);
        names[e->n] = kn->str;
        values[e->n] = kv->str;
        lens[e->n++] = kv->len;
    }
    e->names = names;
    e->values = values;
    e->lens = lens;
    return e->ep && e->appeal;
}

static void on_take(struct redis *r, redisReply *rep, void *arg)
{
    struct octx *c = arg;
    if (script_failed("take", rep) || rep->type != REDIS_REPLY_ARRAY || rep->elements % 2) {
        c->take(c->arg, false, NULL, 0);
        free(c);
        return;
    }
    size_t n = rep->elements / 2, fields = 0;
    for (size_t i = 0; i < n; i++)
        fields += rep->element[2 * i + 1]->elements / 2;
    struct outbox_entry *e = calloc(n + 1, sizeof(*e));
    const char **names = calloc(fields + 1, sizeof(char *));
    const char **values = calloc(fields + 1, sizeof(char *));
    size_t *lens = calloc(fields + 1, sizeof(size_t));
    size_t ne = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        if (parse_entry(rep->element[2 * i], rep->element[2 * i + 1], &e[ne], names + used,
                        values + used, lens + used)) {
            used += e[ne].n;
            ne++;
        } else {
            log_error("outbox: entry %zu of an endpoint's batch is malformed in Redis; it stays "
                      "leased and comes due again", i);
        }
    }
    c->take(c->arg, true, e, ne);
    free(e);
    free(names);
    free(values);
    free(lens);
    free(c);
}

int outbox_take(struct redis *r, const char *ep, int64_t now_ms, int64_t lease_until_ms,
                size_t max, outbox_take_cb cb, void *arg)
{
    char base[256], now[24], lease[24], lim[24];
    base_key(r, base, sizeof(base));
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(lease, sizeof(lease), "%lld", (long long)lease_until_ms);
    snprintf(lim, sizeof(lim), "%zu", max);
    const char *argv[] = {base, ep, now, lease, lim};
    struct octx *c = octx_new(arg);
    c->take = cb;
    int rc = redis_eval(r, &take_script, on_take, c, 1, 5, argv, NULL);
    if (rc != 0)
        free(c);
    return rc;
}

static void on_done(struct redis *r, redisReply *rep, void *arg)
{
    struct octx *c = arg;
    c->done(c->arg, !script_failed("update", rep) && rep->type == REDIS_REPLY_INTEGER);
    free(c);
}

int outbox_done(struct redis *r, const char *id, const char *ep, const char *appeal,
                int64_t now_ms, int64_t done_ttl_ms, const char *dead_json, outbox_done_cb cb,
                void *arg)
{
    char base[256], now[24], ttl[24];
    base_key(r, base, sizeof(base));
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)done_ttl_ms);
    const char *argv[] = {base, id, ep, appeal, now, ttl, dead_json ? dead_json : ""};
    struct octx *c = octx_new(arg);
    c->done = cb;
    int rc = redis_eval(r, &done_script, on_done, c, 1, 7, argv, NULL);
    if (rc != 0)
        free(c);
    return rc;
}

int outbox_retry(struct redis *r, const char *id, const char *ep, int64_t at_ms,
                 const char *error, outbox_done_cb cb, void *arg)
{
    char base[256], at[24];
    base_key(r, base, sizeof(base));
    snprintf(at, sizeof(at), "%lld", (long long)at_ms);
    const char *argv[] = {base, id, ep, at, error ? error : ""};
    struct octx *c = octx_new(arg);
    c->done = cb;
    int rc = redis_eval(r, &retry_script, on_done, c, 1, 5, argv, NULL);
    if (rc != 0)
        free(c);
    return rc;
}
