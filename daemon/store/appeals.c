#include "appeals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "redis.h"
#include "sbuf.h"

static struct redis_script claim_script = {
    .name = "claim",
    .src =
        "local d = redis.call('GET', KEYS[1])\n"
        "local function info(s, seq)\n"
        "  local v = redis.call('HMGET', KEYS[2], 'org', 'state', 'first_response_due_ms',\n"
        "                       'copies', 'triage', 'dropped')\n"
        "  return {s, seq, v[1] or '', v[2] or '', v[3] or '0', v[4] or '', v[5] or '0',\n"
        "          v[6] or '0'}\n"
        "end\n"
        "if d then\n"
        "  local tag, seq = string.match(d, '^(.*)|(%d+)$')\n"
        "  if tag ~= ARGV[1] then return info('dup', 0) end\n"
        "  return info('replay', tonumber(seq))\n"
        "end\n"
        "local exists = redis.call('HEXISTS', KEYS[2], 'created_ms')\n"
        "if ARGV[3] == 'created' then\n"
        "  if exists == 1 then\n"
        "    redis.call('SET', KEYS[1], ARGV[1] .. '|0', 'PX', ARGV[2])\n"
        "    return info('exists', 0)\n"
        "  end\n"
        "elseif exists == 0 then\n"
        "  return info('absent', 0)\n"
        "end\n"
        "local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)\n"
        "redis.call('SET', KEYS[1], ARGV[1] .. '|' .. seq, 'PX', ARGV[2])\n"
        "return info('new', seq)\n",
};

static struct redis_script commit_script = {
    .name = "commit",
    /* ARGV: nfields, f, v, ..., narm, timer, at, ..., ndisarm, timer, ..., audit */
    .src =
        "local i = 1\n"
        "local nf = tonumber(ARGV[i]); i = i + 1\n"
        "if nf > 0 then\n"
        "  local hs = {}\n"
        "  for j = 1, nf * 2 do hs[j] = ARGV[i + j - 1] end\n"
        "  redis.call('HSET', KEYS[1], unpack(hs))\n"
        "  i = i + nf * 2\n"
        "end\n"
        "local id = ARGV[#ARGV - 1]\n"
        "local na = tonumber(ARGV[i]); i = i + 1\n"
        "for j = 1, na do\n"
        "  redis.call('ZADD', KEYS[3], ARGV[i + 1], id .. '|' .. ARGV[i])\n"
        "  i = i + 2\n"
        "end\n"
        "local nd = tonumber(ARGV[i]); i = i + 1\n"
        "for j = 1, nd do\n"
        "  redis.call('ZREM', KEYS[3], id .. '|' .. ARGV[i])\n"
        "  i = i + 1\n"
        "end\n"
        /* keep the open-appeal indexes in step with the record */
        "local st = redis.call('HMGET', KEYS[1], 'state', 'org', 'received_ms')\n"
        "local pfx = string.sub(KEYS[3], 1, #KEYS[3] - 7)\n"
        "if st[1] and st[2] and st[3] then\n"
        "  if st[1] == 'closed' or st[1] == 'withdrawn' or st[1] == 'resolved' then\n"
        "    redis.call('ZREM', pfx .. 'idx:open', id)\n"
        "    redis.call('ZREM', pfx .. 'idx:org:' .. st[2], id)\n"
        "  else\n"
        "    redis.call('ZADD', pfx .. 'idx:open', st[3], id)\n"
        "    redis.call('ZADD', pfx .. 'idx:org:' .. st[2], st[3], id)\n"
        "  end\n"
        "end\n"
        "local audit = ARGV[#ARGV]\n"
        "if audit ~= '' then\n"
        "  redis.call('RPUSH', KEYS[2], audit)\n"
        "  redis.call('LTRIM', KEYS[2], -1000, -1)\n"
        "end\n"
        "return 1\n",
};

void appeals_key(const struct redis *r, const char *id, char *buf, size_t len)
{
    snprintf(buf, len, "%sa:{%s}", redis_prefix(r), id);
}

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
    c->cb = cb;
    c->arg = arg;
    if (redis_eval(r, &claim_script, on_claim, c, 2, 5, argv, NULL) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

struct commit_ctx {
    commit_cb cb;
    void *arg;
};

static void on_commit(struct redis *r, redisReply *rep, void *arg)
{
    struct commit_ctx *c = arg;
    c->cb(c->arg, rep && rep->type == REDIS_REPLY_INTEGER);
    free(c);
}

int appeals_commit(struct redis *r, const struct commit_req *q, commit_cb cb, void *arg)
{
    char ak[512], audk[512], duek[256];
    appeals_key(r, q->appeal_id, ak, sizeof(ak));
    snprintf(audk, sizeof(audk), "%s:audit", ak);
    snprintf(duek, sizeof(duek), "%ssla:due", redis_prefix(r));
    size_t argc = 3 + 1 + q->nfields * 2 + 1 + q->narm * 2 + 1 + q->ndisarm + 2;
    const char **argv = calloc(argc, sizeof(char *));
    char **owned = calloc(argc, sizeof(char *));
    size_t i = 0, no = 0;
    argv[i++] = ak;
    argv[i++] = audk;
    argv[i++] = duek;
#define NUM(v) (asprintf(&owned[no], "%lld", (long long)(v)) < 0 ? "" : owned[no++])
    argv[i++] = NUM(q->nfields);
    for (size_t j = 0; j < q->nfields * 2; j++)
        argv[i++] = q->fields[j] ? q->fields[j] : "";
    argv[i++] = NUM(q->narm);
    for (size_t j = 0; j < q->narm; j++) {
        argv[i++] = q->arm[j];
        argv[i++] = NUM(q->arm_at[j]);
    }
    argv[i++] = NUM(q->ndisarm);
    for (size_t j = 0; j < q->ndisarm; j++)
        argv[i++] = q->disarm[j];
    argv[i++] = q->appeal_id;
    argv[i++] = q->audit_json ? q->audit_json : "";
#undef NUM
    struct commit_ctx *c = malloc(sizeof(*c));
    c->cb = cb;
    c->arg = arg;
    int rc = redis_eval(r, &commit_script, on_commit, c, 3, (int)i, argv, NULL);
    if (rc != 0)
        free(c);
    for (size_t j = 0; j < no; j++)
        free(owned[j]);
    free(owned);
    free(argv);
    return rc;
}
