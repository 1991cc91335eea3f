#include "incident_store.h"
#include "incident_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "config.h"
#include "control.h"
#include "engine.h"
#include "eventbox.h"
#include "incident.h"
#include "incident_conf.h"
#include "json.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "report.h"
#include "sbuf.h"
#include "sla.h"
#include "units.h"

#define MEMBERS_KEPT INCIDENT_MEMBERS_KEPT
#define MAX_CANDIDATES 200      /* open incidents read per join */
#define MAX_ATTEMPTS 20         /* conflicts before a join gives up */


/* ---- scripts ---- */

/* Incidents and an appeal's link to one are kept as long as the report's
 * figures (report.h): 400 days after their last change. */
#define LUA_TTL "local TTL = 34560000000\n"

/* KEYS[1] = P  ARGV: municipality, from_ms, max
 * -> {ver, seq, {id, size, last_ms, lead, {features...}, first_rx}, ...} */
static struct redis_script read_script = {
    .name = "incident_read",
    .src =
        "local p, mun = KEYS[1], ARGV[1]\n"
        "local out = {redis.call('GET', p .. 'inc:ver') or '0',\n"
        "             redis.call('GET', p .. 'inc:seq') or '0'}\n"
        "local ids = redis.call('ZRANGEBYSCORE', p .. 'inc:recent', ARGV[2], '+inf',\n"
        "                       'LIMIT', 0, tonumber(ARGV[3]))\n"
        "for _, id in ipairs(ids) do\n"
        "  local k = p .. 'inc:' .. id\n"
        "  local h = redis.call('HMGET', k, 'municipality', 'size', 'last_ms', 'lead', 'state',\n"
        "                       'first_rx')\n"
        "  if h[5] ~= 'merged' and (mun == '' or h[1] == '' or h[1] == mun) then\n"
        "    out[#out + 1] = {id, h[2], h[3], h[4], redis.call('LRANGE', k .. ':f', 0, -1),\n"
        "                     h[6]}\n"
        "  end\n"
        "end\n"
        "return out\n",
};

/* KEYS[1] = P  ARGV: ver, appeal, id, new (0/1), seq, features, at, category,
 * municipality, org, keep, lease_until, event_id, envelope, priority, received
 * -> 1 joined, 2 joined an incident already answered, 0 conflict (read
 * again), -1 the appeal is in an incident already */
static struct redis_script join_script = {
    .name = "incident_join",
    .src = LUA_TTL
        "local p, a = KEYS[1], ARGV\n"
        "if (redis.call('GET', p .. 'inc:ver') or '0') ~= a[1] then return 0 end\n"
        "if redis.call('EXISTS', p .. 'inc:of:' .. a[2]) == 1 then return -1 end\n"
        "local k = p .. 'inc:' .. a[3]\n"
        "if a[4] == '1' then\n"
        "  redis.call('SET', p .. 'inc:seq', a[5])\n"
        "  redis.call('HSET', k, 'size', 0, 'lead', a[2], 'first_ms', a[7], 'last_ms', a[7],\n"
        "             'category', a[8], 'municipality', a[9], 'org', a[10], 'state', 'open',\n"
        "             'first_rx', a[16])\n"
        "end\n"
        "redis.call('HINCRBY', k, 'size', 1)\n"
        "local last = tonumber(redis.call('HGET', k, 'last_ms') or '0')\n"
        "if tonumber(a[7]) > last then redis.call('HSET', k, 'last_ms', a[7]) end\n"
        "if a[9] ~= '' and redis.call('HGET', k, 'municipality') == '' then\n"
        "  redis.call('HSET', k, 'municipality', a[9]) end\n"
        "if a[15] ~= '' then redis.call('HSET', k, 'priority', a[15]) end\n"
        "redis.call('LPUSH', k .. ':f', a[6])\n"
        "redis.call('LTRIM', k .. ':f', 0, tonumber(a[11]) - 1)\n"
        "redis.call('ZADD', k .. ':a', a[7], a[2])\n"
        "redis.call('SET', p .. 'inc:of:' .. a[2], a[3], 'PX', TTL)\n"
        "redis.call('HSET', k .. ':fa', a[2], a[6])\n"
        "for _, x in ipairs({k, k .. ':f', k .. ':a', k .. ':fa'}) do\n"
        "  redis.call('PEXPIRE', x, TTL) end\n"
        "redis.call('ZADD', p .. 'inc:recent', math.max(last, tonumber(a[7])), a[3])\n"
        "redis.call('ZREMRANGEBYSCORE', p .. 'inc:recent', '-inf',\n"
        "           tonumber(a[7]) - 31 * 86400000)\n"
        "redis.call('INCR', p .. 'inc:ver')\n"
        "redis.call('ZADD', p .. 'outbox', a[12], a[13])\n"
        "redis.call('HSET', p .. 'outbox:b', a[13], a[14])\n"
        "if redis.call('HGET', k, 'state') == 'answered' then return 2 end\n"
        "return 1\n",
};

/* KEYS[1] = P  ARGV: incident or appeal id
 * -> {ver, id, {field, value, ...}, {appeal, created_ms, ...}} or {ver} */
struct redis_script show_script = {
    .name = "incident_show",
    .src =
        "local p, id = KEYS[1], ARGV[1]\n"
        "local ver = redis.call('GET', p .. 'inc:ver') or '0'\n"
        "if redis.call('EXISTS', p .. 'inc:' .. id) == 0 then\n"
        "  id = redis.call('GET', p .. 'inc:of:' .. id)\n"
        "  if not id then return {ver} end\n"
        "end\n"
        "local k = p .. 'inc:' .. id\n"
        "return {ver, id, redis.call('HGETALL', k),\n"
        "        redis.call('ZRANGE', k .. ':a', 0, -1, 'WITHSCORES')}\n",
};

/* Rebuilds an incident's size, lead, first_ms and report features from its
 * appeals (after a merge or a split). */
#define LUA_REBUILD                                                              \
    "local function rebuild(p, id, keep)\n"                                      \
    "  local k = p .. 'inc:' .. id\n"                                            \
    "  local m = redis.call('ZRANGE', k .. ':a', 0, -1, 'WITHSCORES')\n"         \
    "  redis.call('DEL', k .. ':f')\n"                                           \
    "  if #m == 0 then\n"                                                        \
    "    redis.call('HSET', k, 'size', 0, 'state', 'merged')\n"                  \
    "    redis.call('ZREM', p .. 'inc:recent', id)\n"                            \
    "    return\n"                                                               \
    "  end\n"                                                                    \
    "  redis.call('HSET', k, 'size', #m / 2, 'lead', m[1], 'first_ms', m[2],\n"  \
    "             'last_ms', m[#m])\n"                                           \
    "  for i = #m - 1, math.max(1, #m - 2 * keep + 1), -2 do\n"                  \
    "    local f = redis.call('HGET', k .. ':fa', m[i])\n"                      \
    "    if f then redis.call('RPUSH', k .. ':f', f) end\n"                      \
    "  end\n"                                                                    \
    "  if redis.call('HGET', k, 'state') ~= 'merged' then\n"                     \
    "    redis.call('ZADD', p .. 'inc:recent', m[#m], id) end\n"                 \
    "  for _, x in ipairs({k, k .. ':f', k .. ':a', k .. ':fa'}) do\n"          \
    "    redis.call('PEXPIRE', x, TTL) end\n"                                   \
    "end\n"

/* The event of a merge or a split, built where the change is made (one
 * script: nothing to race with) and stored in the outbox with it.  ARGV
 * tail: lease_until, published_at, topics ("T1 T2"). */
#define LUA_EVENT                                                                \
    "local function event(p, ev, appeal, id, extra_key, extra, appeals, a0)\n"   \
    "  local h = redis.call('HMGET', p .. 'inc:' .. id, 'size', 'lead',\n"       \
    "                       'category', 'municipality', 'org', 'priority')\n"    \
    "  local ver = redis.call('INCR', p .. 'inc:ver')\n"                         \
    "  local eid = appeal .. '#incident:' .. ver\n"                              \
    "  local b = {schema = 'appealsd.incident/1', event = ev, event_id = eid,\n" \
    "             appeal_id = appeal, incident = id, size = tonumber(h[1]),\n"   \
    "             lead_appeal = h[2], published_at = ARGV[a0 + 1],\n"            \
    "             appeals = appeals}\n"                                          \
    "  b[extra_key] = extra\n"                                                   \
    "  if h[3] and h[3] ~= '' then b.category = h[3] end\n"                      \
    "  if h[4] and h[4] ~= '' then b.municipality = h[4] end\n"                  \
    "  if h[5] and h[5] ~= '' then b.org = h[5] end\n"                           \
    "  local env = appeal .. '\\n' .. ev .. '\\nappealsd.incident\\n' ..\n"      \
    "              ARGV[a0 + 2] .. '\\n' .. cjson.encode(b)\n"                   \
    "  redis.call('ZADD', p .. 'outbox', ARGV[a0], eid)\n"                       \
    "  redis.call('HSET', p .. 'outbox:b', eid, env)\n"                          \
    "  return {eid, env}\n"                                                      \
    "end\n"

/* An incident id, or the incident of an appeal id; nil when neither. */
#define LUA_RESOLVE                                                              \
    "local function resolve(p, id)\n"                                            \
    "  if redis.call('EXISTS', p .. 'inc:' .. id) == 1 then return id end\n"    \
    "  return redis.call('GET', p .. 'inc:of:' .. id)\n"                         \
    "end\n"

/* KEYS[1] = P  ARGV: into, from, keep, lease_until, published_at, topics
 * -> {event_id, envelope, into, from} or an error reply */
struct redis_script merge_script = {
    .name = "incident_merge",
    .src = LUA_TTL LUA_REBUILD LUA_EVENT LUA_RESOLVE
        "local p = KEYS[1]\n"
        "local into, from = resolve(p, ARGV[1]), resolve(p, ARGV[2])\n"
        "if not into then return redis.error_reply('not_found: no incident ' .. ARGV[1]) end\n"
        "if not from then return redis.error_reply('not_found: no incident ' .. ARGV[2]) end\n"
        "for _, id in ipairs({into, from}) do\n"
        "  if redis.call('HGET', p .. 'inc:' .. id, 'state') == 'merged' then\n"
        "    return redis.error_reply('conflict: ' .. id .. ' was merged into ' ..\n"
        "      redis.call('HGET', p .. 'inc:' .. id, 'merged_into')) end\n"
        "end\n"
        "if into == from then return redis.error_reply('conflict: ' .. ARGV[1] ..\n"
        "  ' and ' .. ARGV[2] .. ' are one incident (' .. into .. ')') end\n"
        "local f = p .. 'inc:' .. from\n"
        "local m = redis.call('ZRANGE', f .. ':a', 0, -1, 'WITHSCORES')\n"
        "local moved = {}\n"
        "for i = 1, #m, 2 do\n"
        "  redis.call('ZADD', p .. 'inc:' .. into .. ':a', m[i + 1], m[i])\n"
        "  redis.call('SET', p .. 'inc:of:' .. m[i], into, 'PX', TTL)\n"
        "  local fa = redis.call('HGET', f .. ':fa', m[i])\n"
        "  if fa then redis.call('HSET', p .. 'inc:' .. into .. ':fa', m[i], fa) end\n"
        "  moved[#moved + 1] = m[i]\n"
        "end\n"
        "redis.call('DEL', f .. ':a', f .. ':fa')\n"
        "redis.call('HSET', f, 'state', 'merged', 'merged_into', into)\n"
        "rebuild(p, from, tonumber(ARGV[3]))\n"
        "rebuild(p, into, tonumber(ARGV[3]))\n"
        "local lead = redis.call('HGET', p .. 'inc:' .. into, 'lead')\n"
        "local e = event(p, 'incident_merged', lead, into, 'merged_from', from, moved, 4)\n"
        "return {e[1], e[2], into, from}\n",
};

/* KEYS[1] = P  ARGV: incident, keep, lease_until, published_at, topics,
 * appeal, appeal, ...  -> {event_id, envelope, new id, from} or an error */
struct redis_script split_script = {
    .name = "incident_split",
    .src = LUA_TTL LUA_REBUILD LUA_EVENT LUA_RESOLVE
        "local p = KEYS[1]\n"
        "local from = resolve(p, ARGV[1])\n"
        "if not from then return redis.error_reply('not_found: no incident ' .. ARGV[1]) end\n"
        "local fk = p .. 'inc:' .. from\n"
        "if redis.call('HGET', fk, 'state') == 'merged' then\n"
        "  return redis.error_reply('conflict: ' .. from .. ' was merged') end\n"
        "for i = 6, #ARGV do\n"
        "  if not redis.call('ZSCORE', fk .. ':a', ARGV[i]) then\n"
        "    return redis.error_reply('bad_args: ' .. ARGV[i] .. ' is not in ' .. from) end\n"
        "end\n"
        "if #ARGV - 5 >= redis.call('ZCARD', fk .. ':a') then\n"
        "  return redis.error_reply('bad_args: splitting every appeal of ' .. from ..\n"
        "                           ' leaves it empty; name fewer') end\n"
        "local to = 'inc-' .. redis.call('INCR', p .. 'inc:seq')\n"
        "local tk = p .. 'inc:' .. to\n"
        "local h = redis.call('HMGET', fk, 'category', 'municipality', 'org', 'state')\n"
        "redis.call('HSET', tk, 'category', h[1] or '', 'municipality', h[2] or '',\n"
        "           'org', h[3] or '', 'state', h[4] or 'open', 'split_from', from)\n"
        "local moved = {}\n"
        "for i = 6, #ARGV do\n"
        "  local at = redis.call('ZSCORE', fk .. ':a', ARGV[i])\n"
        "  redis.call('ZREM', fk .. ':a', ARGV[i])\n"
        "  redis.call('ZADD', tk .. ':a', at, ARGV[i])\n"
        "  redis.call('SET', p .. 'inc:of:' .. ARGV[i], to, 'PX', TTL)\n"
        "  local fa = redis.call('HGET', fk .. ':fa', ARGV[i])\n"
        "  redis.call('HDEL', fk .. ':fa', ARGV[i])\n"
        "  if fa then redis.call('HSET', tk .. ':fa', ARGV[i], fa) end\n"
        "  moved[#moved + 1] = ARGV[i]\n"
        "end\n"
        "rebuild(p, from, tonumber(ARGV[2]))\n"
        "rebuild(p, to, tonumber(ARGV[2]))\n"
        "local e = event(p, 'incident_split', moved[1], to, 'split_from', from, moved, 3)\n"
        "return {e[1], e[2], to, from}\n",
};

/* KEYS[1] = P  ARGV: appeal  -> {id, state before, appeal, appeal, ...} or {}
 * when the appeal is in no incident; marks the incident answered. */
static struct redis_script answer_script = {
    .name = "incident_answer",
    .src =
        "local p = KEYS[1]\n"
        "local id = redis.call('GET', p .. 'inc:of:' .. ARGV[1])\n"
        "if not id then return {} end\n"
        "local k = p .. 'inc:' .. id\n"
        "local was = redis.call('HGET', k, 'state') or ''\n"
        "redis.call('HSET', k, 'state', 'answered')\n"
        "local out = {id, was}\n"
        "for _, m in ipairs(redis.call('ZRANGE', k .. ':a', 0, -1)) do out[#out + 1] = m end\n"
        "return out\n",
};

/* ---- helpers ---- */

static char *prefix_of(struct incidents *in)
{
    return strdup(redis_prefix(in->app->redis));
}

static int64_t lease_until(struct incidents *in)
{
    return now_ms() + sla_cfg(in->app->cfg)->lease_ms;
}

const char *inc_el(const redisReply *r, size_t i)
{
    return r && r->type == REDIS_REPLY_ARRAY && i < r->elements &&
                   r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : NULL;
}

const char *inc_hget(const redisReply *h, const char *name)
{
    for (size_t i = 0; h && i + 1 < h->elements; i += 2)
        if (strcmp(inc_el(h, i) ? inc_el(h, i) : "", name) == 0)
            return inc_el(h, i + 1);
    return NULL;
}

static int64_t int_el(const redisReply *r, size_t i)
{
    const char *s = inc_el(r, i);
    return s ? strtoll(s, NULL, 10) : 0;
}

void incident_event_json(struct sbuf *b, const struct inc_event *e, const char *event_id,
                         int64_t now, const char *tz)
{
    struct jw w;
    jw_init(&w, b);
    jw_obj(&w);
    jw_kstr(&w, "schema", INCIDENT_SCHEMA "/1");
    jw_kstr(&w, "event", e->event);
    jw_kstr(&w, "event_id", event_id);
    jw_kstr(&w, "appeal_id", e->appeal_id);
    jw_kstr(&w, "incident", e->incident);
    jw_kint(&w, "size", e->size);
    if (e->lead && *e->lead)
        jw_kstr(&w, "lead_appeal", e->lead);
    if (e->category && *e->category)
        jw_kstr(&w, "category", e->category);
    if (e->municipality && *e->municipality)
        jw_kstr(&w, "municipality", e->municipality);
    if (e->org && *e->org)
        jw_kstr(&w, "org", e->org);
    if (e->priority)
        jw_kstr(&w, "priority", e->priority);
    jw_ktime(&w, "published_at", now, tz);
    jw_obj_end(&w);
}

static char *envelope(struct incidents *in, const struct inc_event *e, const char *event_id)
{
    struct sbuf b = SBUF_INIT;
    incident_event_json(&b, e, event_id, now_ms(), in->app->cfg->daemon.timezone);
    const struct apd_config *cfg = in->app->cfg;
    const char *topics[] = {cfg->kafka.topic_all, cfg->kafka.topic_triage};
    char *env = eventbox_envelope(e->appeal_id, e->event, INCIDENT_SCHEMA, topics, 2, b.p);
    sbuf_free(&b);
    return env;
}

/* Publishes a stored event and shows it to `appealsctl tail`. */
void incident_announce(struct incidents *in, const struct inc_event *e, const char *event_id,
                       const char *env)
{
    struct lifecycle *lc = sla_engine_lifecycle(in->app);
    if (lc)
        eventbox_publish(lifecycle_eventbox(lc), event_id, env);
    if (!control_has_subscribers(in->app->control))
        return;
    struct tail_event te = {.type = "incident", .event = e->event, .appeal_id = e->appeal_id,
                            .org = e->org, .category = e->category,
                            .municipality = e->municipality, .priority = e->priority};
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    control_event_fields(&w, &te, in->app->cfg->daemon.timezone);
    jw_kstr(&w, "incident", e->incident);
    jw_kint(&w, "size", e->size);
    jw_obj_end(&w);
    te.json = b.p;
    control_publish(in->app->control, &te);
    sbuf_free(&b);
}

/* ---- joining ---- */

/* One appeal answered because its incident was: its author hears of it. */
struct member_answer {
    struct incidents *in;
    char *incident, *answer, *link;
};

static void on_member_answered(void *arg, const struct lc_result *res)
{
    struct member_answer *m = arg;
    m->in->inflight--;
    if (res->status == LCR_OK) {
        metrics_add(m->in->m_answered, 1);
        incident_reply(m->in, res->rec, m->incident, m->answer, m->link);
    }
    free(m->incident);
    free(m->answer);
    free(m->link);
    free(m);
}

/* Answers one appeal on behalf of its incident. */
static void answer_member(struct incidents *in, const char *appeal, const char *incident,
                          const char *reason, const char *answer, const char *link)
{
    struct lifecycle *lc = sla_engine_lifecycle(in->app);
    char actor[64];
    snprintf(actor, sizeof(actor), "incident:%s", incident);
    struct lc_request rq = {.appeal_id = appeal,
                            .ev = {.kind = LC_ANSWER, .actor = actor, .reason = reason,
                                   .link = link, .now = now_ms()}};
    struct member_answer *m = calloc(1, sizeof(*m));
    if (m == NULL)
        abort();
    m->in = in;
    m->incident = strdup(incident);
    m->answer = answer ? strdup(answer) : NULL;
    m->link = link ? strdup(link) : NULL;
    in->inflight++;
    if (lc == NULL || lifecycle_submit(lc, &rq, on_member_answered, m) != 0) {
        struct lc_result none = {.status = LCR_RETRY};
        on_member_answered(m, &none);
    }
}

/* A report that joins an incident already answered is answered with it
 * (the incident's answer reached the others before; this citizen hears of
 * it in the reply, without its text). */
static void answer_late(struct incidents *in, const char *appeal, const char *incident)
{
    char reason[160];
    snprintf(reason, sizeof(reason), "answered with incident %s (it was answered before this "
             "report joined)", incident);
    answer_member(in, appeal, incident, reason, NULL, NULL);
    log_info("incidents: %s joined %s, which was answered already; answering it too", appeal,
             incident);
}

struct join {
    struct incidents *in;
    char *appeal, *org, *feat_text, *lead;
    struct inc_features f;
    int attempts;
    char incident[32];
    int64_t size, first_ms, received_ms;
    const char *priority;
    char *event_id, *env;
};

static void join_read(struct join *j);

static void join_free(struct join *j)
{
    j->in->inflight--;
    free(j->appeal);
    free(j->org);
    free(j->feat_text);
    free(j->lead);
    free(j->event_id);
    free(j->env);
    free(j);
}

/* The candidates of a read reply; members' features decoded into fs. */
static size_t candidates(const redisReply *rep, struct inc_candidate *c, struct inc_features *fs,
                         size_t *nfs)
{
    size_t n = 0;
    *nfs = 0;
    for (size_t i = 2; i < rep->elements && n < MAX_CANDIDATES; i++) {
        const redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 6 ||
            e->element[4]->type != REDIS_REPLY_ARRAY)
            continue;
        c[n] = (struct inc_candidate){.members = fs + *nfs, .size = (size_t)int_el(e, 1),
                                      .last_ms = int_el(e, 2)};
        const redisReply *l = e->element[4];
        for (size_t k = 0; k < l->elements && k < MEMBERS_KEPT; k++)
            if (l->element[k]->type == REDIS_REPLY_STRING &&
                inc_features_decode(l->element[k]->str, l->element[k]->len, &fs[*nfs]) == 0) {
                (*nfs)++;
                c[n].nmembers++;
            }
        n++;
    }
    return n;
}

static void on_joined(struct redis *r, redisReply *rep, void *arg)
{
    struct join *j = arg;
    (void)r;
    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
        log_warn("incidents: joining %s to an incident failed (%s); it stays alone",
                 j->appeal, rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "Redis went away");
        join_free(j);
        return;
    }
    if (rep->integer == 0) {
        metrics_add(j->in->m_conflicts, 1);
        join_read(j);                  /* another writer came first: decide again */
        return;
    }
    if (rep->integer == 1 || rep->integer == 2) {
        struct inc_event e = {.event = "incident_joined", .appeal_id = j->appeal,
                              .incident = j->incident, .lead = j->lead,
                              .category = j->f.category, .municipality = j->f.municipality,
                              .org = j->org, .priority = j->priority, .size = j->size};
        incident_announce(j->in, &e, j->event_id, j->env);
        report_incident(j->in->app->report, j->incident, j->org, j->f.municipality, j->first_ms,
                        j->size);
        metrics_add(j->in->m_joined, 1, j->size == 1 ? "new" : "joined");
        if (j->size > 1)
            log_info("incidents: %s joined %s (%lld reports, lead %s)", j->appeal,
                     j->incident, (long long)j->size, j->lead);
        if (j->size > 1)
            incident_sync(j->in, j->incident, j->appeal);   /* its clocks: the lead's */
        if (rep->integer == 2)
            answer_late(j->in, j->appeal, j->incident);
    }
    join_free(j);
}

static void join_commit(struct join *j, const redisReply *rep, int best,
                        const struct inc_candidate *c)
{
    const struct incident_config *ic = incident_config_of(j->in->app->cfg);
    bool fresh = best < 0;
    int64_t seq = int_el(rep, 1) + 1;
    const redisReply *e = fresh ? NULL : rep->element[2 + (size_t)best];
    (void)c;
    if (fresh) {
        snprintf(j->incident, sizeof(j->incident), "inc-%lld", (long long)seq);
        j->size = 1;
        j->first_ms = j->received_ms;
        free(j->lead);
        j->lead = strdup(j->appeal);
    } else {
        snprintf(j->incident, sizeof(j->incident), "%s", inc_el(e, 0));
        j->size = int_el(e, 1) + 1;
        j->first_ms = int_el(e, 5) ? int_el(e, 5) : j->received_ms;
        free(j->lead);
        j->lead = strdup(inc_el(e, 3) ? inc_el(e, 3) : j->appeal);
    }
    j->priority = incident_priority(ic, j->size);
    free(j->event_id);
    free(j->env);
    if (asprintf(&j->event_id, "%s#incident", j->appeal) < 0)
        abort();
    struct inc_event ev = {.event = "incident_joined", .appeal_id = j->appeal,
                           .incident = j->incident, .lead = j->lead,
                           .category = j->f.category, .municipality = j->f.municipality,
                           .org = j->org, .priority = j->priority, .size = j->size};
    j->env = envelope(j->in, &ev, j->event_id);
    char *px = prefix_of(j->in);
    char seqs[24], at[24], keep[8], lease[24];
    snprintf(seqs, sizeof(seqs), "%lld", (long long)seq);
    snprintf(at, sizeof(at), "%lld", (long long)j->f.at_ms);
    snprintf(keep, sizeof(keep), "%d", MEMBERS_KEPT);
    snprintf(lease, sizeof(lease), "%lld", (long long)lease_until(j->in));
    char rx[24];
    snprintf(rx, sizeof(rx), "%lld", (long long)j->received_ms);
    const char *argv[] = {px, inc_el(rep, 0), j->appeal, j->incident, fresh ? "1" : "0", seqs,
                          j->feat_text, at, j->f.category, j->f.municipality, j->org ? j->org : "",
                          keep, lease, j->event_id, j->env, j->priority ? j->priority : "", rx};
    if (redis_eval(j->in->app->redis, &join_script, on_joined, j, 1, 17, argv, NULL) != 0)
        on_joined(NULL, NULL, j);
    free(px);
}

static void on_read(struct redis *r, redisReply *rep, void *arg)
{
    struct join *j = arg;
    (void)r;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
        ++j->attempts > MAX_ATTEMPTS) {
        log_warn("incidents: could not read the open incidents for %s (%s); it stays alone",
                 j->appeal, j->attempts > MAX_ATTEMPTS ? "too many conflicts"
                 : rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "Redis went away");
        join_free(j);
        return;
    }
    size_t room = rep->elements - 2 < MAX_CANDIDATES ? rep->elements - 2 : MAX_CANDIDATES;
    struct inc_candidate *c = calloc(room + 1, sizeof(*c));
    struct inc_features *fs = calloc(room * MEMBERS_KEPT + 1, sizeof(*fs));
    if (c == NULL || fs == NULL)
        abort();
    size_t nfs, n = candidates(rep, c, fs, &nfs);
    struct inc_params p;
    incident_params_of(incident_config_of(j->in->app->cfg), &p);
    int best = inc_best(&p, &j->f, c, n);
    /* map the candidate back to its reply element (skipped ones have none) */
    int el = -1;
    for (size_t i = 2, k = 0; best >= 0 && i < rep->elements; i++) {
        const redisReply *e = rep->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 6 &&
            e->element[4]->type == REDIS_REPLY_ARRAY && k++ == (size_t)best) {
            el = (int)i - 2;
            break;
        }
    }
    join_commit(j, rep, el, c);
    free(c);
    free(fs);
}

static void join_read(struct join *j)
{
    const struct incident_config *ic = incident_config_of(j->in->app->cfg);
    char *px = prefix_of(j->in);
    char from[24], max[16];
    snprintf(from, sizeof(from), "%lld", (long long)(j->f.at_ms - ic->window_ms));
    snprintf(max, sizeof(max), "%d", MAX_CANDIDATES);
    const char *argv[] = {px, j->f.municipality, from, max};
    if (redis_eval(j->in->app->redis, &read_script, on_read, j, 1, 4, argv, NULL) != 0)
        on_read(NULL, NULL, j);
    free(px);
}

static void join(struct incidents *in, const struct appeal_rec *a)
{
    struct join *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    j->in = in;
    in->inflight++;
    j->appeal = strdup(a->id);
    j->org = a->org ? strdup(a->org) : NULL;
    j->received_ms = a->received_ms ? a->received_ms : now_ms();
    const char *text = a->text ? a->text : "";
    inc_features_of(text, strlen(text), a->category, a->municipality,
                    a->created_ms ? a->created_ms : a->received_ms, &j->f);
    struct sbuf b = SBUF_INIT;
    inc_features_encode(&j->f, &b);
    j->feat_text = sbuf_steal(&b);
    join_read(j);
}

/* ---- an answer to one is an answer to all ---- */

struct answer {
    struct incidents *in;
    char *appeal, *link, *why, *text;
    bool reply_direct;            /* not the page's reply in its thread: its author hears too */
    struct appeal_rec rec;        /* the answered appeal, after the answer */
};

static void on_members(struct redis *r, redisReply *rep, void *arg)
{
    struct answer *a = arg;
    (void)r;
    struct lifecycle *lc = sla_engine_lifecycle(a->in->app);
    const char *id = inc_el(rep, 0);
    if (id && lc) {
        char reason[256];
        snprintf(reason, sizeof(reason), "answered with incident %s (the answer to %s)", id,
                 a->appeal);
        size_t others = 0;
        for (size_t i = 2; i < rep->elements; i++) {
            const char *m = inc_el(rep, i);
            if (m == NULL || strcmp(m, a->appeal) == 0)
                continue;
            answer_member(a->in, m, id, reason, a->text, a->link);
            others++;
        }
        if (strcmp(inc_el(rep, 1) ? inc_el(rep, 1) : "", "answered") != 0)
            report_incident_answered(a->in->app->report, a->rec.org, a->rec.municipality,
                                     (int64_t)rep->elements - 2);
        if (others && a->reply_direct)
            incident_reply(a->in, &a->rec, id, a->text, a->link);
        log_info("incidents: %s was answered (%s); answering the %zu other appeals of %s",
                 a->appeal, a->why, others, id);
    } else if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
        log_warn("incidents: could not read the incident of answered %s (%s); its other "
                 "appeals keep their clocks", a->appeal, rep ? rep->str : "Redis went away");
    }
    a->in->inflight--;
    free(a->appeal);
    free(a->link);
    free(a->why);
    free(a->text);
    record_free(&a->rec);
    free(a);
}

static void answer_all(struct incidents *in, const struct appeal_rec *rec, const char *link,
                       const struct lc_event *ev)
{
    const char *appeal = rec->id, *text = ev->text ? ev->text : ev->reason;
    const char *why = lc_kind_name(ev->kind);
    struct answer *a = calloc(1, sizeof(*a));
    if (a == NULL)
        abort();
    a->in = in;
    a->reply_direct = ev->kind != LC_REPLY;
    record_copy(&a->rec, rec);
    a->appeal = strdup(appeal);
    a->link = link ? strdup(link) : NULL;
    a->why = strdup(why);
    a->text = text ? strdup(text) : NULL;
    in->inflight++;
    char *px = prefix_of(in);
    const char *argv[] = {px, appeal};
    if (redis_eval(in->app->redis, &answer_script, on_members, a, 1, 2, argv, NULL) != 0)
        on_members(NULL, NULL, a);
    free(px);
}

static bool has_event(const struct lc_plan *p, const char *event)
{
    for (size_t i = 0; i < p->nmsgs; i++)
        if (strcmp(p->msgs[i].event, event) == 0)
            return true;
    return false;
}

static void on_stored(void *arg, const struct lc_event *ev, const struct lc_plan *p)
{
    struct incidents *in = arg;
    const struct appeal_rec *a = &p->after;
    if (!incident_config_of(in->app->cfg)->enabled)
        return;
    if (ev->kind == LC_CREATED && a->exists && state_is_active(a->state) && !a->dropped) {
        join(in, a);
        return;
    }
    /* An answer the incident itself gave does not go round again. */
    bool by_incident = ev->actor && strncmp(ev->actor, "incident:", 9) == 0;
    if (!by_incident && (has_event(p, "answered") || p->counts.fr_met))
        answer_all(in, a, ev->link ? ev->link : a->fr_link, ev);
}

struct incidents *incidents_new(struct app *app)
{
    struct incidents *in = calloc(1, sizeof(*in));
    if (in == NULL)
        abort();
    in->app = app;
    in->m_joined = metrics_family("appealsd_incident_reports_total", M_COUNTER,
                                  "Appeals grouped: the first report of a new incident, or "
                                  "one joined to an open incident", "outcome");
    metrics_add(in->m_joined, 0, "new");      /* both outcomes from the first scrape */
    metrics_add(in->m_joined, 0, "joined");
    in->m_answered = metrics_family("appealsd_incident_answers_total", M_COUNTER,
                                    "Appeals answered because their incident was answered",
                                    NULL);
    in->m_conflicts = metrics_family("appealsd_incident_conflicts_total", M_COUNTER,
                                     "Joins decided again because another writer came first",
                                     NULL);
    incident_sync_metrics(in);
    incident_reply_metrics(in);
    struct lifecycle *lc = sla_engine_lifecycle(app);
    if (lc)
        lifecycle_on_stored(lc, on_stored, in);
    return in;
}

void incidents_free(struct incidents *in)
{
    free(in);
}

unsigned incidents_inflight(const struct incidents *in)
{
    return in ? in->inflight : 0;
}
