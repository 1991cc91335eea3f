#include "appeals.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "sbuf.h"

static struct redis_script claim_script = {
    .name = "claim",
    /* KEYS: dedup, record; ARGV: tag, ttl, event */
    .src =
        "local d = redis.call('GET', KEYS[1])\n"
        "local function info(s, seq)\n"
        "  local v = redis.call('HMGET', KEYS[2], 'org', 'state', 'fr_due',\n"
        "                       'copies', 'triage', 'dropped', 'kind', 'author')\n"
        "  return {s, seq, v[1] or '', v[2] or '', v[3] or '0', v[4] or '', v[5] or '0',\n"
        "          v[6] or '0', v[7] or '', v[8] or ''}\n"
        "end\n"
        "if d then\n"
        "  local tag, seq = string.match(d, '^(.*)|(%d+)$')\n"
        "  if tag ~= ARGV[1] then return info('dup', 0) end\n"
        "  return info('replay', tonumber(seq))\n"
        "end\n"
        "local exists = redis.call('HEXISTS', KEYS[2], 'received_ms')\n"
        "if ARGV[3] == 'created' then\n"
        "  if exists == 1 then\n"
        "    redis.call('SET', KEYS[1], ARGV[1] .. '|0', 'PX', ARGV[2])\n"
        "    return info('exists', 0)\n"
        "  end\n"
        "elseif exists == 0 then\n"
        "  return info('absent', 0)\n"
        "end\n"
        /* The pipeline publishes the event with this number; the lifecycle
         * stores its effects under a compare-and-set on it. */
        "local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)\n"
        "redis.call('SET', KEYS[1], ARGV[1] .. '|' .. seq, 'PX', ARGV[2])\n"
        "return info('new', seq)\n",
};

static struct redis_script read_script = {
    .name = "read",
    .src = "return {redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2])}\n",
};

static struct redis_script apply_script = {
    .name = "apply",
    /* KEYS: record; ARGV: expect, idem, idem_ttl, nset, f, v..., ndel, f..., ops... */
    .src =
        "local cur = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')\n"
        "if cur ~= tonumber(ARGV[1]) then return {'conflict', cur} end\n"
        "local arity = {HI=3, ZA=3, ZR=2, RP=2, SS=2, HS=3, DL=1, PX=2, PP=1}\n"
        "local ns = tonumber(ARGV[4])\n"
        "local di = 5 + ns * 2\n"
        "local nd = tonumber(ARGV[di])\n"
        "local oi = di + 1 + nd\n"
        /* validate everything before the first write */
        "local i = oi\n"
        "while i <= #ARGV do\n"
        "  local n = arity[ARGV[i]]\n"
        "  if n == nil or i + n > #ARGV then\n"
        "    return redis.error_reply('apply: bad op at ' .. i .. ': ' .. ARGV[i])\n"
        "  end\n"
        "  if (ARGV[i] == 'HI' or ARGV[i] == 'ZA' or ARGV[i] == 'PX') and\n"
        "     tonumber(ARGV[i + (ARGV[i] == 'ZA' and 2 or n)]) == nil then\n"
        "    return redis.error_reply('apply: not a number at ' .. i)\n"
        "  end\n"
        "  i = i + n + 1\n"
        "end\n"
        "if ARGV[2] ~= '' then\n"
        "  if not redis.call('SET', ARGV[2], '1', 'NX', 'PX', ARGV[3]) then\n"
        "    return {'dup', cur}\n"
        "  end\n"
        "end\n"
        "if ns > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 5, 4 + ns * 2)) end\n"
        "if nd > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, di + 1, di + nd)) end\n"
        "i = oi\n"
        "while i <= #ARGV do\n"
        "  local op, a, b, c = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]\n"
        "  if op == 'HI' then redis.call('HINCRBY', a, b, c)\n"
        "  elseif op == 'ZA' then redis.call('ZADD', a, b, c)\n"
        "  elseif op == 'ZR' then redis.call('ZREM', a, b)\n"
        "  elseif op == 'RP' then redis.call('RPUSH', a, b); redis.call('LTRIM', a, -1000, -1)\n"
        "  elseif op == 'SS' then redis.call('SET', a, b)\n"
        "  elseif op == 'HS' then redis.call('HSET', a, b, c)\n"
        "  elseif op == 'DL' then redis.call('DEL', a)\n"
        "  elseif op == 'PX' then redis.call('PEXPIRE', a, b)\n"
        "  elseif op == 'PP' then redis.call('PERSIST', a)\n"
        "  end\n"
        "  i = i + arity[op] + 1\n"
        "end\n"
        "return {'ok', tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')}\n",
};

static struct redis_script claim_due_script = {
    .name = "claim_due",
    /* KEYS: due, lease, outbox, outbox bodies; ARGV: now, lease, limit, "P a:{" */
    .src =
        "local now = tonumber(ARGV[1])\n"
        "local untl = now + tonumber(ARGV[2])\n"
        "local limit = tonumber(ARGV[3])\n"
        "local obs = {}\n"
        "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)) do\n"
        "  local body = redis.call('HGET', KEYS[4], m)\n"
        "  if body then\n"
        "    redis.call('ZADD', KEYS[3], untl, m)\n"
        "    obs[#obs + 1] = m\n"
        "    obs[#obs + 1] = body\n"
        "  else\n"
        "    redis.call('ZREM', KEYS[3], m)\n"
        "  end\n"
        "end\n"
        "local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)\n"
        "if #ids < limit then\n"
        "  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0,\n"
        "                                 limit - #ids)) do\n"
        "    redis.call('ZREM', KEYS[1], id)\n"
        "    ids[#ids + 1] = id\n"
        "  end\n"
        "end\n"
        "local recs = {}\n"
        "for _, id in ipairs(ids) do\n"
        "  local h = redis.call('HGETALL', ARGV[4] .. id .. '}')\n"
        "  if #h == 0 then\n"
        "    redis.call('ZREM', KEYS[2], id)\n"
        "  else\n"
        "    redis.call('ZADD', KEYS[2], untl, id)\n"
        "    recs[#recs + 1] = id\n"
        "    recs[#recs + 1] = h\n"
        "  end\n"
        "end\n"
        "local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
        "return {obs, recs, nxt[2] or ''}\n",
};

static struct redis_script ack_script = {
    .name = "outbox_ack",
    .src =
        "for i = 1, #ARGV do\n"
        "  redis.call('ZREM', KEYS[1], ARGV[i])\n"
        "  redis.call('HDEL', KEYS[2], ARGV[i])\n"
        "end\n"
        "return #ARGV\n",
};

static struct redis_script gauges_script = {
    .name = "gauges",
    /* KEYS: stats:open, due, stats:day; ARGV: now, window, "P a:{", scan limit */
    .src =
        "local now, win = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
        "local soon = {}\n"
        "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now + win, 'LIMIT', 0,\n"
        "                               tonumber(ARGV[4]))) do\n"
        "  local v = redis.call('HMGET', ARGV[3] .. id .. '}', 'org', 'fr', 'fr_due', 'res',\n"
        "                       'res_due', 'fz', 'fz_due', 'rg', 'rg_due', 'fw', 'fw_due')\n"
        "  for k = 2, 10, 2 do\n"
        "    local d = tonumber(v[k + 1] or '')\n"
        "    if v[k] == 'r' and d and d >= now and d <= now + win then\n"
        "      local o = v[1] or ''\n"
        "      soon[o] = (soon[o] or 0) + 1\n"
        "      break\n"
        "    end\n"
        "  end\n"
        "end\n"
        "local flat = {}\n"
        "for o, n in pairs(soon) do flat[#flat + 1] = o; flat[#flat + 1] = n end\n"
        "return {redis.call('HGETALL', KEYS[1]), flat, redis.call('HGETALL', KEYS[3])}\n",
};

static struct redis_script stats_script = {
    .name = "stats",
    /* KEYS: stats:open, stats:day; ARGV: dim, "P stats:frt:DATE:" */
    .src =
        "local open = redis.call('HGETALL', KEYS[1])\n"
        "local day = redis.call('HGETALL', KEYS[2])\n"
        "local seen, med = {}, {}\n"
        "for i = 1, #day, 2 do\n"
        "  local d, v = string.match(day[i], '^([a-z]+):(.*)|fr_met$')\n"
        "  if d == ARGV[1] and not seen[v] then\n"
        "    seen[v] = true\n"
        "    local z = ARGV[2] .. d .. ':' .. v\n"
        "    local n = redis.call('ZCARD', z)\n"
        "    if n > 0 then\n"
        "      local lo = redis.call('ZRANGE', z, math.floor((n - 1) / 2), math.floor(n / 2),\n"
        "                            'WITHSCORES')\n"
        "      local m = tonumber(lo[2])\n"
        "      if #lo == 4 then m = (m + tonumber(lo[4])) / 2 end\n"
        "      med[#med + 1] = v\n"
        "      med[#med + 1] = tostring(m)\n"
        "    end\n"
        "  end\n"
        "end\n"
        "return {open, day, med}\n",
};

const char *appeals_script_source(const char *name)
{
    const struct redis_script *all[] = {&claim_script, &read_script, &apply_script,
                                        &claim_due_script, &ack_script, &gauges_script,
                                        &stats_script};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i]->src;
    return NULL;
}

void appeals_key(const struct redis *r, const char *id, char *buf, size_t len)
{
    snprintf(buf, len, "%sa:{%s}", redis_prefix(r), id);
}

char *appeals_keyf(const struct redis *r, char *buf, size_t len, const char *fmt, ...)
{
    int n = snprintf(buf, len, "%s", redis_prefix(r));
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < len)
        vsnprintf(buf + n, len - (size_t)n, fmt, ap);
    va_end(ap);
    return buf;
}

/* ---- the pipeline's claim ---- */

struct claim_ctx {
    claim_cb cb;
    void *arg;
};

static void copy_str(char *dst, size_t n, const redisReply *e)
{
    dst[0] = '\0';
    if (e && (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS))
        snprintf(dst, n, "%.*s", (int)e->len, e->str);
}

static void on_claim(struct redis *r, redisReply *rep, void *arg)
{
    struct claim_ctx *c = arg;
    struct claim_result res = {.status = CLAIM_FAILED};
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 5) {
        char s[16], due[32];
        copy_str(s, sizeof(s), rep->element[0]);
        res.seq = rep->element[1]->type == REDIS_REPLY_INTEGER ? rep->element[1]->integer : 0;
        copy_str(res.org, sizeof(res.org), rep->element[2]);
        copy_str(res.state, sizeof(res.state), rep->element[3]);
        copy_str(due, sizeof(due), rep->element[4]);
        res.first_response_due_ms = strtoll(due, NULL, 10);
        if (rep->elements >= 7) {   /* recipients beyond the org (routing's copies) */
            char triage[4];
            copy_str(res.copies, sizeof(res.copies), rep->element[5]);
            copy_str(triage, sizeof(triage), rep->element[6]);
            res.triage = strcmp(triage, "1") == 0;
        }
        if (rep->elements >= 8) {
            char dropped[4];
            copy_str(dropped, sizeof(dropped), rep->element[7]);
            res.dropped = strcmp(dropped, "1") == 0;
        }
        if (rep->elements >= 9)
            copy_str(res.kind, sizeof(res.kind), rep->element[8]);
        if (rep->elements >= 10)
            copy_str(res.author, sizeof(res.author), rep->element[9]);
        res.status = strcmp(s, "new") == 0      ? CLAIM_NEW
                     : strcmp(s, "replay") == 0 ? CLAIM_REPLAY
                     : strcmp(s, "dup") == 0    ? CLAIM_DUP
                     : strcmp(s, "exists") == 0 ? CLAIM_EXISTS
                     : strcmp(s, "absent") == 0 ? CLAIM_ABSENT
                                                : CLAIM_FAILED;
    }
    c->cb(c->arg, &res);
    free(c);
}

int appeals_claim(struct redis *r, const char *dedup_key, const char *appeal_id,
                  const char *tag, int64_t ttl_ms, const char *event, claim_cb cb, void *arg)
{
    char dk[512], ak[512], ttl[32];
    snprintf(dk, sizeof(dk), "%sd:%s", redis_prefix(r), dedup_key);
    appeals_key(r, appeal_id, ak, sizeof(ak));
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    const char *argv[] = {dk, ak, tag, ttl, event};
    struct claim_ctx *c = malloc(sizeof(*c));
    if (c == NULL)
        return -1;
    c->cb = cb;
    c->arg = arg;
    if (redis_eval(r, &claim_script, on_claim, c, 2, 5, argv, NULL) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* ---- the lifecycle ---- */

int appeals_read(struct redis *r, const char *appeal_id, redis_cb cb, void *arg)
{
    char ak[512], tk[520];
    appeals_key(r, appeal_id, ak, sizeof(ak));
    snprintf(tk, sizeof(tk), "%s:text", ak);
    const char *argv[] = {ak, tk};
    return redis_eval(r, &read_script, cb, arg, 2, 2, argv, NULL);
}

size_t appeals_apply_argv(const char *record_key, const struct apply_req *q,
                          const char **argv, char nums[4][32])
{
    snprintf(nums[0], 32, "%lld", (long long)q->expect_seq);
    snprintf(nums[1], 32, "%lld", (long long)q->idem_ttl_ms);
    snprintf(nums[2], 32, "%zu", q->nset);
    snprintf(nums[3], 32, "%zu", q->ndel);
    size_t i = 0;
    argv[i++] = record_key;
    argv[i++] = nums[0];
    argv[i++] = q->idem ? q->idem : "";
    argv[i++] = nums[1];
    argv[i++] = nums[2];
    for (size_t j = 0; j < q->nset * 2; j++)
        argv[i++] = q->set[j];
    argv[i++] = nums[3];
    for (size_t j = 0; j < q->ndel; j++)
        argv[i++] = q->del[j];
    for (size_t j = 0; j < q->nops; j++)
        argv[i++] = q->ops[j];
    return i;
}

int appeals_apply(struct redis *r, const struct apply_req *q, redis_cb cb, void *arg)
{
    char ak[512], nums[4][32];
    appeals_key(r, q->appeal_id, ak, sizeof(ak));
    const char **argv = malloc(APPEALS_APPLY_ARGC(q) * sizeof(char *));
    if (argv == NULL)
        return -1;
    size_t n = appeals_apply_argv(ak, q, argv, nums);
    int rc = redis_eval(r, &apply_script, cb, arg, 1, (int)n, argv, NULL);
    free(argv);
    return rc;
}

/* ---- the scheduler ---- */

int appeals_claim_due(struct redis *r, int64_t now_ms, int64_t lease_ms, int64_t limit,
                      redis_cb cb, void *arg)
{
    char due[256], lease[256], ob[256], obb[256], rec[256], now[32], ls[32], lim[32];
    appeals_keyf(r, due, sizeof(due), "sla:due");
    appeals_keyf(r, lease, sizeof(lease), "sla:lease");
    appeals_keyf(r, ob, sizeof(ob), "outbox");
    appeals_keyf(r, obb, sizeof(obb), "outbox:b");
    appeals_keyf(r, rec, sizeof(rec), "a:{");
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(ls, sizeof(ls), "%lld", (long long)lease_ms);
    snprintf(lim, sizeof(lim), "%lld", (long long)limit);
    const char *argv[] = {due, lease, ob, obb, now, ls, lim, rec};
    return redis_eval(r, &claim_due_script, cb, arg, 4, 8, argv, NULL);
}

int appeals_outbox_ack(struct redis *r, const char *const *ids, size_t n, redis_cb cb,
                       void *arg)
{
    char ob[256], obb[256];
    appeals_keyf(r, ob, sizeof(ob), "outbox");
    appeals_keyf(r, obb, sizeof(obb), "outbox:b");
    const char **argv = malloc((n + 2) * sizeof(char *));
    if (argv == NULL)
        return -1;
    argv[0] = ob;
    argv[1] = obb;
    memcpy(argv + 2, ids, n * sizeof(char *));
    int rc = redis_eval(r, &ack_script, cb, arg, 2, (int)n + 2, argv, NULL);
    free(argv);
    return rc;
}

/* ---- metrics and stats ---- */

int appeals_gauges(struct redis *r, int64_t now_ms, int64_t window_ms, const char *day,
                   int64_t scan_limit, redis_cb cb, void *arg)
{
    char open[256], due[256], dk[256], rec[256], now[32], win[32], lim[32];
    appeals_keyf(r, open, sizeof(open), "stats:open");
    appeals_keyf(r, due, sizeof(due), "sla:due");
    appeals_keyf(r, dk, sizeof(dk), "stats:day:%s", day);
    appeals_keyf(r, rec, sizeof(rec), "a:{");
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(win, sizeof(win), "%lld", (long long)window_ms);
    snprintf(lim, sizeof(lim), "%lld", (long long)scan_limit);
    const char *argv[] = {open, due, dk, now, win, rec, lim};
    return redis_eval(r, &gauges_script, cb, arg, 3, 7, argv, NULL);
}

int appeals_stats(struct redis *r, const char *dim, const char *day, redis_cb cb, void *arg)
{
    char open[256], dk[256], frt[256];
    appeals_keyf(r, open, sizeof(open), "stats:open");
    appeals_keyf(r, dk, sizeof(dk), "stats:day:%s", day);
    appeals_keyf(r, frt, sizeof(frt), "stats:frt:%s:", day);
    const char *argv[] = {open, dk, dim, frt};
    return redis_eval(r, &stats_script, cb, arg, 2, 4, argv, NULL);
}
