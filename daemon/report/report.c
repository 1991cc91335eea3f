#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "config.h"
#include "control.h"
#include "engine.h"
#include "json.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "sbuf.h"
#include "tz.h"
#include "units.h"

#define TTL_MS ((long long)REPORT_RETENTION_DAYS * 86400000LL)
#define MAX_PAIRS 32

struct report {
    struct app *app;
    struct mfam *m_events, *m_incidents;
    struct mfam *m_figures, *m_inc_size;
};

/* KEYS[1] = P  ARGV: day, ttl, org, muni, appeal, frt seconds or "", what, n, ...
 * Every count goes to both dimensions. */
static struct redis_script count_script = {
    .name = "report_count",
    .src =
        "local p, a = KEYS[1], ARGV\n"
        "local h = p .. 'rpt:d:' .. a[1]\n"
        "local dims = {'org:' .. a[3], 'muni:' .. a[4]}\n"
        "for i = 7, #a, 2 do\n"
        "  for _, d in ipairs(dims) do redis.call('HINCRBY', h, d .. '|' .. a[i], a[i + 1]) end\n"
        "end\n"
        "redis.call('PEXPIRE', h, a[2])\n"
        "if a[6] ~= '' then\n"
        "  for _, d in ipairs(dims) do\n"
        "    local z = p .. 'rpt:frt:' .. a[1] .. ':' .. d\n"
        "    redis.call('ZADD', z, a[6], a[5])\n"
        "    redis.call('PEXPIRE', z, a[2])\n"
        "  end\n"
        "end\n"
        "return 1\n",
};

/* KEYS[1] = P  ARGV: day, ttl, org, muni, incident, size.  The incident
 * counts under its own organisation and municipality (its lead's, kept in
 * its hash by incident_store.c), whoever's report made it grow. */
static struct redis_script incident_script = {
    .name = "report_incident",
    .src =
        "local p, a = KEYS[1], ARGV\n"
        "local h = p .. 'rpt:d:' .. a[1]\n"
        "local own = redis.call('HMGET', p .. 'inc:' .. a[5], 'org', 'municipality')\n"
        "local org, muni = own[1] or '', own[2] or ''\n"
        "if org == '' then org = a[3] end\n"
        "if muni == '' then muni = a[4] end\n"
        "for _, d in ipairs({'org:' .. org, 'muni:' .. muni}) do\n"
        "  local z = p .. 'rpt:inc:' .. a[1] .. ':' .. d\n"
        "  if redis.call('ZADD', z, 'GT', 'CH', a[6], a[5]) == 1 and a[6] == '1' then\n"
        "    redis.call('HINCRBY', h, d .. '|incidents', 1)\n"
        "  end\n"
        "  redis.call('PEXPIRE', z, a[2])\n"
        "end\n"
        "redis.call('PEXPIRE', h, a[2])\n"
        "return 1\n",
};

/* KEYS[1] = P  ARGV: dim ("org" or "muni"), day, day, ...
 * -> {{code, {what, n, ...}, {frt seconds...}, {incident sizes...}}, ...} */
static struct redis_script read_script = {
    .name = "report_read",
    .src =
        "local p, dim = KEYS[1], ARGV[1]\n"
        "local acc, order = {}, {}\n"
        "local function get(v)\n"
        "  if not acc[v] then acc[v] = {c = {}, frt = {}, inc = {}}; order[#order + 1] = v end\n"
        "  return acc[v]\n"
        "end\n"
        "for i = 2, #ARGV do\n"
        "  local day, seen = ARGV[i], {}\n"
        "  local h = redis.call('HGETALL', p .. 'rpt:d:' .. day)\n"
        "  for j = 1, #h, 2 do\n"
        "    local d, v, what = string.match(h[j], '^([^:]+):(.*)|([^|]+)$')\n"
        "    if d == dim then\n"
        "      local a = get(v)\n"
        "      a.c[what] = (a.c[what] or 0) + tonumber(h[j + 1])\n"
        "      seen[v] = true\n"
        "    end\n"
        "  end\n"
        "  for v in pairs(seen) do\n"
        "    local base = ':' .. day .. ':' .. dim .. ':' .. v\n"
        "    local f = redis.call('ZRANGE', p .. 'rpt:frt' .. base, 0, -1, 'WITHSCORES')\n"
        "    for j = 2, #f, 2 do table.insert(acc[v].frt, f[j]) end\n"
        "    local s = redis.call('ZRANGE', p .. 'rpt:inc' .. base, 0, -1, 'WITHSCORES')\n"
        "    for j = 2, #s, 2 do table.insert(acc[v].inc, s[j]) end\n"
        "  end\n"
        "end\n"
        "local out = {}\n"
        "for _, v in ipairs(order) do\n"
        "  local c = {}\n"
        "  for k, n in pairs(acc[v].c) do c[#c + 1] = k; c[#c + 1] = tostring(n) end\n"
        "  out[#out + 1] = {v, c, acc[v].frt, acc[v].inc}\n"
        "end\n"
        "return out\n",
};

static void local_day(const struct app *app, int64_t ms, char *out, size_t len)
{
    struct tm tm;
    tz_localtime(app->cfg->daemon.timezone, ms / 1000, &tm, NULL);
    snprintf(out, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static const char *dimv(const char *s)
{
    return s && *s ? s : "-";
}

static void on_counted(struct redis *r, redisReply *rep, void *arg)
{
    (void)r;
    (void)arg;
    if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
        log_warn("report: a change was not counted in the daily figures (%s); the report "
                 "over its day is short by it", rep ? rep->str : "Redis went away");
}

struct pairs {
    const char *what[MAX_PAIRS];
    char owned[MAX_PAIRS][40];
    size_t n;
};

static void add(struct pairs *p, const char *what)
{
    if (p->n < MAX_PAIRS)
        p->what[p->n++] = what;
}

static void add_event(struct pairs *p, const char *event)
{
    if (p->n == MAX_PAIRS)
        return;
    snprintf(p->owned[p->n], sizeof(p->owned[0]), "ev:%s", event);
    p->what[p->n] = p->owned[p->n];
    p->n++;
}

/* What one stored change adds to its day. */
static void collect(const struct lc_event *ev, const struct lc_plan *plan, struct pairs *p)
{
    const struct appeal_rec *a = &plan->after;
    if (ev->kind == LC_CREATED && a->exists && state_is_active(a->state) && !a->dropped)
        add(p, "appeals");
    if (plan->counts.fr_met)
        add(p, "fr_met");
    if (plan->counts.fr_met && plan->counts.fr_on_time)
        add(p, "fr_ontime");
    /* the answer judge's verdicts (answer/judge.h) as the lifecycle counted them */
    if (plan->counts.answer_quality && strcmp(plan->counts.answer_quality, "formal") == 0)
        add(p, "formal_answers");
    if (plan->counts.rework_opened)
        add(p, "reworks");
    /* The pipeline publishes the page's own events itself (ev->published):
     * they are not among the plan's messages. */
    if (ev->published && ev->kind == LC_REPLY)
        add_event(p, "answered");
    if (ev->published && ev->kind == LC_CREATED && a->exists)
        add_event(p, "created");
    for (size_t i = 0; i < plan->nmsgs; i++) {
        if (strcmp(plan->msgs[i].event, "reopened") == 0)
            add(p, plan->counts.reopened_by_citizen || ev->kind == LC_FOLLOWUP
                       ? "reopened_by_citizen" : "reopened_by_operator");
        add_event(p, plan->msgs[i].event);
    }
}

static void on_stored(void *arg, const struct lc_event *ev, const struct lc_plan *plan)
{
    struct report *rp = arg;
    struct pairs p = {.n = 0};
    collect(ev, plan, &p);
    if (p.n == 0)
        return;
    const struct appeal_rec *a = &plan->after;
    for (size_t i = 0; i < p.n; i++)
        if (strncmp(p.what[i], "ev:", 3) == 0)
            metrics_add(rp->m_events, 1, p.what[i] + 3, dimv(a->org), dimv(a->municipality));
        else
            metrics_add(rp->m_figures, 1, p.what[i], dimv(a->org), dimv(a->municipality));
    if (plan->counts.confirmed)
        metrics_add(rp->m_figures, 1, "confirmed_by_citizen", dimv(a->org),
                    dimv(a->municipality));
    char day[16], ttl[24], frt[24] = "";
    /* a new appeal counts on the day it came in; the rest on the day it happened */
    local_day(rp->app, ev->kind == LC_CREATED && a->received_ms ? a->received_ms : plan->now, day,
              sizeof(day));
    snprintf(ttl, sizeof(ttl), "%lld", TTL_MS);
    if (plan->counts.fr_met)
        snprintf(frt, sizeof(frt), "%lld", (long long)(plan->counts.fr_used_ms / 1000));
    const char *argv[7 + 2 * MAX_PAIRS];
    size_t n = 0;
    const char *fixed[] = {redis_prefix(rp->app->redis), day, ttl, dimv(a->org),
                           dimv(a->municipality), a->id, frt};
    for (size_t i = 0; i < 7; i++)
        argv[n++] = fixed[i];
    for (size_t i = 0; i < p.n; i++) {
        argv[n++] = p.what[i];
        argv[n++] = "1";
    }
    redis_eval(rp->app->redis, &count_script, on_counted, NULL, 1, (int)n, argv, NULL);
}

void report_incident(struct report *rp, const char *incident, const char *org,
                     const char *municipality, int64_t first_ms, int64_t size)
{
    if (rp == NULL)
        return;
    if (size == 1)
        metrics_add(rp->m_incidents, 1, dimv(org), dimv(municipality));
    char day[16], ttl[24], sz[24];
    local_day(rp->app, first_ms, day, sizeof(day));
    snprintf(ttl, sizeof(ttl), "%lld", TTL_MS);
    snprintf(sz, sizeof(sz), "%lld", (long long)size);
    const char *argv[] = {redis_prefix(rp->app->redis), day, ttl, dimv(org), dimv(municipality),
                          incident, sz};
    redis_eval(rp->app->redis, &incident_script, on_counted, NULL, 1, 7, argv, NULL);
}

void report_incident_answered(struct report *rp, const char *org, const char *municipality,
                              int64_t size)
{
    if (rp)
        metrics_observe(rp->m_inc_size, (double)size, dimv(org), dimv(municipality));
}

struct report *report_new(struct app *app)
{
    struct report *rp = calloc(1, sizeof(*rp));
    if (rp == NULL)
        abort();
    rp->app = app;
    rp->m_events = metrics_family("appealsd_appeal_events_total", M_COUNTER,
                                  "Events the lifecycle stored, by event name (answered, "
                                  "reopened, closed, breach, ...), organisation and municipality",
                                  "event,org,municipality");
    rp->m_incidents = metrics_family("appealsd_incidents_total", M_COUNTER,
                                     "New incidents, by the organisation and municipality of "
                                     "their first report", "org,municipality");
    rp->m_figures = metrics_family("appealsd_report_figures_total", M_COUNTER,
                                   "The report's figures as they are counted (appeals, fr_met, "
                                   "fr_ontime, formal_answers, reworks, reopened_by_citizen, "
                                   "reopened_by_operator, confirmed_by_citizen), by organisation "
                                   "and municipality", "figure,org,municipality");
    static const double sizes[] = {1, 2, 3, 5, 10, 20, 50, 100, 200, 500};
    rp->m_inc_size = metrics_family("appealsd_incident_size", M_HISTOGRAM,
                                    "Reports in an incident when it was first answered, by the "
                                    "organisation and municipality of the answered appeal",
                                    "org,municipality");
    metrics_set_buckets(rp->m_inc_size, sizes, sizeof(sizes) / sizeof(sizes[0]));
    struct lifecycle *lc = sla_engine_lifecycle(app);
    if (lc && lifecycle_on_stored(lc, on_stored, rp) != 0)
        log_error("report: no room to watch the lifecycle; the daily figures stay empty");
    return rp;
}

void report_free(struct report *rp)
{
    free(rp);
}

/* ---- the report ---- */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, char *out, size_t len)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(out, len, "%04lld-%02u-%02u", (long long)(y + (m <= 2)), m, d);
}

/* "YYYY-MM-DD" to its day number; -1 when it is no date. */
static int64_t parse_day(const char *s)
{
    int y, m, d;
    char extra;
    if (s == NULL || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || strlen(s) != 10 ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int64_t n = days_from_civil(y, (unsigned)m, (unsigned)d);
    char back[16];
    civil_from_days(n, back, sizeof(back));
    return strcmp(back, s) == 0 ? n : -1;      /* 2026-02-30 is no date */
}

struct rq {
    struct ctl_client *c;
    char from[16], to[16], by[16];
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The nearest-rank percentile q (0..1) of n sorted values. */
static double rank(const double *v, size_t n, double q)
{
    size_t k = (size_t)ceil(q * (double)n);
    return v[k ? k - 1 : 0];
}

static int64_t count_of(const redisReply *c, const char *what)
{
    for (size_t i = 0; i + 1 < c->elements; i += 2)
        if (strcmp(c->element[i]->str, what) == 0)
            return strtoll(c->element[i + 1]->str, NULL, 10);
    return 0;
}

static void kshare(struct jw *w, const char *k, int64_t num, int64_t den)
{
    jw_key(w, k);
    if (den > 0)
        jw_double(w, (double)num / (double)den, 4);
    else
        jw_null(w);
}

static void values(const redisReply *r, double **v, size_t *n)
{
    *n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    *v = calloc(*n + 1, sizeof(double));
    if (*v == NULL)
        abort();
    for (size_t i = 0; i < *n; i++)
        (*v)[i] = strtod(r->element[i]->str, NULL);
    qsort(*v, *n, sizeof(double), cmp_double);
}

static void put_row(struct jw *w, const redisReply *row)
{
    const redisReply *c = row->element[1];
    double *frt, *inc;
    size_t nf, ni;
    values(row->element[2], &frt, &nf);
    values(row->element[3], &inc, &ni);
    int64_t appeals = count_of(c, "appeals"), met = count_of(c, "fr_met");
    int64_t formal = count_of(c, "formal_answers");
    jw_obj(w);
    jw_kstr(w, "key", row->element[0]->str);
    jw_kint(w, "appeals", appeals);
    jw_kint(w, "answered", met);
    jw_kint(w, "answered_on_time", count_of(c, "fr_ontime"));
    kshare(w, "on_time_share", count_of(c, "fr_ontime"), appeals);
    jw_key(w, "median_first_response_s");
    nf ? jw_double(w, rank(frt, nf, 0.5), 0) : jw_null(w);
    jw_key(w, "p90_first_response_s");
    nf ? jw_double(w, rank(frt, nf, 0.9), 0) : jw_null(w);
    jw_kint(w, "formal_answers", formal);
    kshare(w, "formal_share", formal, met);
    jw_kint(w, "reworks", count_of(c, "reworks"));
    jw_kint(w, "reopened_by_citizen", count_of(c, "reopened_by_citizen"));
    jw_kint(w, "reopened_by_operator", count_of(c, "reopened_by_operator"));
    jw_kint(w, "confirmed", count_of(c, "ev:confirmed"));
    int64_t multi = 0, reports = 0;
    for (size_t i = 0; i < ni; i++)
        if (inc[i] >= 2) {
            multi++;
            reports += (int64_t)inc[i];
        }
    jw_kint(w, "incidents", multi);
    jw_kint(w, "incident_reports", reports);
    jw_kint(w, "largest_incident", ni ? (int64_t)inc[ni - 1] : 0);
    jw_key(w, "events");
    jw_obj(w);
    for (size_t i = 0; i + 1 < c->elements; i += 2)
        if (strncmp(c->element[i]->str, "ev:", 3) == 0)
            jw_kint(w, c->element[i]->str + 3, strtoll(c->element[i + 1]->str, NULL, 10));
    jw_obj_end(w);
    jw_obj_end(w);
    free(frt);
    free(inc);
}

static bool row_ok(const redisReply *row)
{
    if (row->type != REDIS_REPLY_ARRAY || row->elements != 4 ||
        row->element[0]->type != REDIS_REPLY_STRING)
        return false;
    for (size_t k = 1; k < 4; k++)
        if (row->element[k]->type != REDIS_REPLY_ARRAY)
            return false;
    for (size_t k = 1; k < 4; k++)
        for (size_t i = 0; i < row->element[k]->elements; i++)
            if (row->element[k]->element[i]->type != REDIS_REPLY_STRING)
                return false;
    return true;
}

static void on_read(struct redis *r, redisReply *rep, void *arg)
{
    struct rq *q = arg;
    (void)r;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        ctl_error(q->c, "unavailable", "Redis did not answer (%s); try again",
                  rep && rep->type == REDIS_REPLY_ERROR ? rep->str : "connection lost");
        ctl_finish(q->c, NULL);
        free(q);
        return;
    }
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "from", q->from);
    jw_kstr(&w, "to", q->to);
    jw_kstr(&w, "by", q->by);
    jw_key(&w, "rows");
    jw_arr(&w);
    for (size_t i = 0; i < rep->elements; i++)
        if (row_ok(rep->element[i]))
            put_row(&w, rep->element[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    ctl_finish(q->c, b.p);
    sbuf_free(&b);
    free(q);
}

int ctl_cmd_report(struct ctl_client *c, struct app *app, const struct json *args,
                   struct jw *w)
{
    (void)w;
    const char *from = json_str(json_get(args, "from")), *to = json_str(json_get(args, "to"));
    const char *by = json_str(json_get(args, "by"));
    int64_t d0 = parse_day(from), d1 = parse_day(to);
    if (by == NULL)
        by = "org";
    if (d0 < 0 || d1 < 0 || d1 < d0 || d1 - d0 >= REPORT_MAX_DAYS ||
        (strcmp(by, "org") != 0 && strcmp(by, "municipality") != 0)) {
        ctl_error(c, "bad_args", "report needs {\"from\": YYYY-MM-DD, \"to\": YYYY-MM-DD} "
                  "(from <= to, at most %d days) and \"by\": \"org\" or \"municipality\"",
                  REPORT_MAX_DAYS);
        return -1;
    }
    if (!redis_up(app->redis)) {
        ctl_error(c, "unavailable", "Redis is not connected; try again");
        return -1;
    }
    size_t ndays = (size_t)(d1 - d0 + 1);
    const char **argv = calloc(ndays + 2, sizeof(*argv));
    char (*days)[16] = calloc(ndays, sizeof(*days));
    if (argv == NULL || days == NULL)
        abort();
    argv[0] = redis_prefix(app->redis);
    argv[1] = strcmp(by, "org") == 0 ? "org" : "muni";
    for (size_t i = 0; i < ndays; i++) {
        civil_from_days(d0 + (int64_t)i, days[i], sizeof(days[i]));
        argv[2 + i] = days[i];
    }
    struct rq *q = calloc(1, sizeof(*q));
    if (q == NULL)
        abort();
    q->c = ctl_hold(c);
    snprintf(q->from, sizeof(q->from), "%s", from);
    snprintf(q->to, sizeof(q->to), "%s", to);
    snprintf(q->by, sizeof(q->by), "%s", by);
    if (redis_eval(app->redis, &read_script, on_read, q, 1, (int)(ndays + 2), argv, NULL) != 0)
        on_read(NULL, NULL, q);
    free(argv);
    free(days);
    return 1;
}
