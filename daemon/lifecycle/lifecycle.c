#include "lifecycle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "appeals.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "redis.h"
#include "sla.h"
#include "tz.h"
#include "units.h"

/* Conflicts in a row before an operation gives up (each one means another
 * writer changed the appeal in between; more than a handful is a storm). */
#define MAX_ATTEMPTS 16
/* Daily counters are kept this long. */
#define DAY_TTL_MS (8LL * 86400000)

struct lifecycle {
    struct app *app;
    struct outbox *ob;
    unsigned inflight;
    void (*armed)(void *arg, int64_t at);
    void *armed_arg;
    struct mfam *m_frt, *m_conflicts, *m_refused;
};

struct lc_op {
    struct lifecycle *lc;
    struct apd_config *cfg;
    char *id;
    struct lc_event ev;
    struct lc_created created;
    char *strs[24];            /* owned copies of the event's strings */
    size_t nstrs;
    char *idem;
    bool release_lease;
    struct appeal_rec *restore;
    char **restore_audit;
    size_t nrestore_audit;
    struct appeal_rec before;
    struct lc_plan plan;
    int attempts;
    lc_done_fn cb;
    void *arg;
};

/* ---- copies ---- */

static const char *keep(struct lc_op *op, const char *s)
{
    if (s == NULL || op->nstrs == sizeof(op->strs) / sizeof(op->strs[0]))
        return NULL;
    char *c = strdup(s);
    if (c == NULL)
        abort();
    op->strs[op->nstrs++] = c;
    return c;
}

static void copy_event(struct lc_op *op, const struct lc_event *ev)
{
    op->ev = *ev;
    op->ev.actor = keep(op, ev->actor);
    op->ev.reason = keep(op, ev->reason);
    op->ev.link = keep(op, ev->link);
    op->ev.org = keep(op, ev->org);
    op->ev.sender = keep(op, ev->sender);
    op->ev.text = keep(op, ev->text);
    if (ev->created) {
        const struct lc_created *c = ev->created;
        struct lc_created *d = &op->created;
        *d = *c;
        d->source = keep(op, c->source);
        d->page = keep(op, c->page);
        d->text = keep(op, c->text);
        d->link = keep(op, c->link);
        d->author = keep(op, c->author);
        d->item_kind = keep(op, c->item_kind);
        d->org = keep(op, c->org);
        d->rule = keep(op, c->rule);
        d->route_reason = keep(op, c->route_reason);
        d->route_policy = keep(op, c->route_policy);
        d->category = keep(op, c->category);
        d->municipality = keep(op, c->municipality);
        d->priority = keep(op, c->priority);
        op->ev.created = d;
    }
}

static void op_free(struct lc_op *op)
{
    for (size_t i = 0; i < op->nstrs; i++)
        free(op->strs[i]);
    free(op->id);
    free(op->idem);
    record_free(&op->before);
    transition_plan_free(&op->plan);
    if (op->restore) {
        record_free(op->restore);
        free(op->restore);
    }
    for (size_t i = 0; i < op->nrestore_audit; i++)
        free(op->restore_audit[i]);
    free(op->restore_audit);
    config_unref(op->cfg);
    op->lc->inflight--;
    free(op);
}

static void finish(struct lc_op *op, enum lcr_status st, const char *code, const char *msg)
{
    const struct appeal_rec *rec = st == LCR_OK ? &op->plan.after : &op->before;
    struct lc_result res = {.status = st, .code = code, .msg = msg, .state = rec->state,
                            .seq = rec->seq, .rec = rec,
                            .plan = st == LCR_OK ? &op->plan : NULL};
    if (st == LCR_REFUSED)
        metrics_add(op->lc->m_refused, 1, lc_kind_name(op->ev.kind), code);
    op->cb(op->arg, &res);
    op_free(op);
}

/* ---- building the write ---- */

struct strv {
    char **v;
    size_t n, cap;
};

static void sv_add(struct strv *s, const char *x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = realloc(s->v, s->cap * sizeof(char *));
        if (s->v == NULL)
            abort();
    }
    s->v[s->n++] = strdup(x ? x : "");
}

static void sv_addf(struct strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sv_addf(struct strv *s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    sv_add(s, buf);
}

static void sv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Fields that differ between the record read and the plan's record. */
static void diff_fields(const struct appeal_rec *a, const struct appeal_rec *b,
                        struct strv *set, struct strv *del)
{
    struct record_fields fa, fb;
    record_fields(a, &fa);
    record_fields(b, &fb);
    for (size_t i = 0; i < fb.n; i++) {
        bool same = false;
        for (size_t j = 0; j < fa.n && !same; j++)
            same = strcmp(fa.name[j], fb.name[i]) == 0 && strcmp(fa.value[j], fb.value[i]) == 0;
        if (!same) {
            sv_add(set, fb.name[i]);
            sv_add(set, fb.value[i]);
        }
    }
    for (size_t j = 0; j < fa.n; j++) {
        bool present = false;
        for (size_t i = 0; i < fb.n && !present; i++)
            present = strcmp(fa.name[j], fb.name[i]) == 0;
        if (!present)
            sv_add(del, fa.name[j]);
    }
    record_fields_free(&fa);
    record_fields_free(&fb);
}

static bool is_open(const struct appeal_rec *r)
{
    return r->exists && r->state && !state_is_final(r->state);
}

static const char *dimv(const char *v) { return v && *v ? v : "unknown"; }

/* Counters of open appeals by organisation, category and municipality. */
static void count_open(struct lifecycle *lc, struct strv *ops, const struct appeal_rec *r,
                       int delta)
{
    char key[256];
    appeals_keyf(lc->app->redis, key, sizeof(key), "stats:open");
    const char *dims[3][2] = {{"org", dimv(r->org)}, {"cat", dimv(r->category)},
                              {"muni", dimv(r->municipality)}};
    for (int i = 0; i < 3; i++) {
        sv_add(ops, "HI");
        sv_add(ops, key);
        sv_addf(ops, "%s:%s|%s", dims[i][0], dims[i][1], r->state);
        sv_addf(ops, "%d", delta);
        if (record_overdue(r)) {
            sv_add(ops, "HI");
            sv_add(ops, key);
            sv_addf(ops, "%s:%s|overdue", dims[i][0], dims[i][1]);
            sv_addf(ops, "%d", delta);
        }
    }
}

static void local_day(const struct apd_config *cfg, int64_t ms, char *out, size_t len)
{
    struct tm tm;
    tz_localtime(cfg->daemon.timezone, ms / 1000, &tm, NULL);
    snprintf(out, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void count_day(struct lifecycle *lc, struct strv *ops, const struct apd_config *cfg,
                      const struct appeal_rec *r, const struct lc_counts *c, int64_t now)
{
    char day[16], key[256];
    local_day(cfg, now, day, sizeof(day));
    appeals_keyf(lc->app->redis, key, sizeof(key), "stats:day:%s", day);
    const char *dims[3][2] = {{"org", dimv(r->org)}, {"cat", dimv(r->category)},
                              {"muni", dimv(r->municipality)}};
    struct {
        const char *what;
        int n;
    } ev[] = {{"closed", c->closed}, {"breached", c->breaches}, {"fr_met", c->fr_met},
              {"fr_ontime", c->fr_met && c->fr_on_time}};
    bool any = false;
    for (size_t e = 0; e < sizeof(ev) / sizeof(ev[0]); e++)
        for (int i = 0; i < 3 && ev[e].n; i++) {
            sv_add(ops, "HI");
            sv_add(ops, key);
            sv_addf(ops, "%s:%s|%s", dims[i][0], dims[i][1], ev[e].what);
            sv_addf(ops, "%d", ev[e].n);
            any = true;
        }
    if (!any)
        return;
    sv_add(ops, "PX");
    sv_add(ops, key);
    sv_addf(ops, "%lld", DAY_TTL_MS);
    for (int i = 0; i < 3 && c->fr_met; i++) {
        char z[300];
        appeals_keyf(lc->app->redis, z, sizeof(z), "stats:frt:%s:%s:%s", day, dims[i][0],
                     dims[i][1]);
        sv_add(ops, "ZA");
        sv_add(ops, z);
        sv_addf(ops, "%lld", (long long)(c->fr_used_ms / 1000));
        sv_add(ops, r->id);
        sv_add(ops, "PX");
        sv_add(ops, z);
        sv_addf(ops, "%lld", DAY_TTL_MS);
    }
}

static void index_ops(struct lifecycle *lc, struct strv *ops, const struct appeal_rec *b,
                      const struct appeal_rec *a)
{
    struct redis *r = lc->app->redis;
    char key[300];
    bool was = is_open(b), now = is_open(a);
    bool moved = was && now && strcmp(b->org ? b->org : "", a->org ? a->org : "") != 0;
    if (was && (!now || moved) && b->org) {
        sv_add(ops, "ZR");
        sv_add(ops, appeals_keyf(r, key, sizeof(key), "idx:org:%s", b->org));
        sv_add(ops, b->id);
    }
    if (was && !now) {
        sv_add(ops, "ZR");
        sv_add(ops, appeals_keyf(r, key, sizeof(key), "idx:open"));
        sv_add(ops, b->id);
    }
    if (now && (!was || moved)) {
        if (!was) {
            sv_add(ops, "ZA");
            sv_add(ops, appeals_keyf(r, key, sizeof(key), "idx:open"));
            sv_addf(ops, "%lld", (long long)a->received_ms);
            sv_add(ops, a->id);
        }
        if (a->org) {
            sv_add(ops, "ZA");
            sv_add(ops, appeals_keyf(r, key, sizeof(key), "idx:org:%s", a->org));
            sv_addf(ops, "%lld", (long long)a->received_ms);
            sv_add(ops, a->id);
        }
    }
    /* Counters change only when something they count changed. */
    bool same = was == now && (!was || (strcmp(b->state, a->state) == 0 &&
                                        strcmp(dimv(b->org), dimv(a->org)) == 0 &&
                                        strcmp(dimv(b->category), dimv(a->category)) == 0 &&
                                        strcmp(dimv(b->municipality),
                                               dimv(a->municipality)) == 0 &&
                                        record_overdue(b) == record_overdue(a)));
    if (!same) {
        if (was)
            count_open(lc, ops, b, -1);
        if (now)
            count_open(lc, ops, a, +1);
    }
}

/* Keys of a closed appeal expire after [sla] retention; a reopen keeps them. */
static void retention_ops(struct lifecycle *lc, struct strv *ops, const struct apd_config *cfg,
                          const struct appeal_rec *b, const struct appeal_rec *a)
{
    bool was = b->exists && state_is_final(b->state), now = state_is_final(a->state);
    if (was == now)
        return;
    char rec[512], sub[530];
    appeals_key(lc->app->redis, a->id, rec, sizeof(rec));
    const char *suffix[] = {"", ":audit", ":text"};
    for (int i = 0; i < 3; i++) {
        snprintf(sub, sizeof(sub), "%s%s", rec, suffix[i]);
        sv_add(ops, now ? "PX" : "PP");
        sv_add(ops, sub);
        if (now)
            sv_addf(ops, "%lld", (long long)sla_cfg(cfg)->retention_ms);
    }
}

static void build_ops(struct lc_op *op, struct strv *ops)
{
    struct lifecycle *lc = op->lc;
    struct redis *r = lc->app->redis;
    const struct lc_plan *p = &op->plan;
    const struct appeal_rec *a = &p->after;
    char rec[512], key[530];
    appeals_key(r, op->id, rec, sizeof(rec));
    if (p->text_changed) {
        snprintf(key, sizeof(key), "%s:text", rec);
        sv_add(ops, "SS");
        sv_add(ops, key);
        sv_add(ops, a->text);
    }
    snprintf(key, sizeof(key), "%s:audit", rec);
    if (op->restore) {
        sv_add(ops, "DL");
        sv_add(ops, key);
    }
    for (size_t i = 0; i < p->naudit; i++) {
        sv_add(ops, "RP");
        sv_add(ops, key);
        sv_add(ops, p->audit[i]);
    }
    appeals_keyf(r, key, sizeof(key), "sla:due");
    if (p->next_at == INT64_MAX) {
        sv_add(ops, "ZR");
        sv_add(ops, key);
        sv_add(ops, op->id);
    } else {
        sv_add(ops, "ZA");
        sv_add(ops, key);
        sv_addf(ops, "%lld", (long long)p->next_at);
        sv_add(ops, op->id);
    }
    if (op->release_lease) {
        sv_add(ops, "ZR");
        sv_add(ops, appeals_keyf(r, key, sizeof(key), "sla:lease"));
        sv_add(ops, op->id);
    }
    int64_t until = now_ms() + sla_cfg(op->cfg)->lease_ms;
    for (size_t i = 0; i < p->nmsgs; i++) {
        sv_add(ops, "ZA");
        sv_add(ops, appeals_keyf(r, key, sizeof(key), "outbox"));
        sv_addf(ops, "%lld", (long long)until);
        sv_add(ops, p->msgs[i].event_id);
        sv_add(ops, "HS");
        sv_add(ops, appeals_keyf(r, key, sizeof(key), "outbox:b"));
        sv_add(ops, p->msgs[i].event_id);
        sv_add(ops, p->msgs[i].envelope);
    }
    index_ops(lc, ops, &op->before, a);
    count_day(lc, ops, op->cfg, a, &p->counts, op->ev.now);
    retention_ops(lc, ops, op->cfg, &op->before, a);
}

/* ---- after a successful write ---- */

static void announce(struct lc_op *op)
{
    struct lifecycle *lc = op->lc;
    const struct lc_plan *p = &op->plan;
    const struct appeal_rec *a = &p->after;
    for (size_t i = 0; i < p->nmsgs; i++) {
        outbox_publish(lc->ob, p->msgs[i].event_id, p->msgs[i].envelope);
        struct tail_event te = {
            .type = p->msgs[i].type, .event = p->msgs[i].event, .appeal_id = a->id,
            .org = a->org, .category = a->category, .municipality = a->municipality,
            .priority = a->priority, .state = a->state, .due_ms = record_next_due(a),
            .json = p->msgs[i].body,
        };
        control_publish(lc->app->control, &te);
    }
    if (p->counts.fr_met)
        metrics_observe(lc->m_frt, (double)p->counts.fr_used_ms / 1000.0, dimv(a->org),
                        dimv(a->municipality));
    if (lc->armed && p->next_at != INT64_MAX)
        lc->armed(lc->armed_arg, p->next_at);
}

static void plan_and_apply(struct lc_op *op);
static void read_record(struct lc_op *op);

static void on_applied(struct redis *r, redisReply *rep, void *arg)
{
    struct lc_op *op = arg;
    if (rep == NULL) {
        finish(op, LCR_RETRY, "unavailable", "Redis connection lost while storing the change");
        return;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING) {
        log_error("lifecycle: storing %s of %s failed: %s; nothing was changed",
                  lc_kind_name(op->ev.kind), op->id,
                  rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        finish(op, LCR_RETRY, "unavailable", "Redis refused the change");
        return;
    }
    const char *s = rep->element[0]->str;
    if (strcmp(s, "ok") == 0) {
        announce(op);
        finish(op, LCR_OK, NULL, NULL);
    } else if (strcmp(s, "dup") == 0) {
        finish(op, LCR_NOOP, NULL, NULL);
    } else if (++op->attempts >= MAX_ATTEMPTS) {
        log_warn("lifecycle: %s of %s lost %d races against other writers; giving up",
                 lc_kind_name(op->ev.kind), op->id, op->attempts);
        finish(op, LCR_RETRY, "unavailable", "the appeal keeps changing; try again");
    } else {
        metrics_add(op->lc->m_conflicts, 1, lc_kind_name(op->ev.kind));
        read_record(op);
    }
}

/* Rebuild: the record as Kafka last described it, unless Redis knows better. */
static void plan_restore(struct lc_op *op)
{
    struct lc_plan *p = &op->plan;
    memset(p, 0, sizeof(*p));
    if (op->before.exists && op->before.seq >= op->restore->seq) {
        record_copy(&p->after, &op->before);
        p->status = LC_NOOP;
        return;
    }
    record_copy(&p->after, op->restore);
    p->after.exists = true;
    p->text_changed = p->after.text != NULL;
    for (size_t i = 0; i < op->nrestore_audit; i++)
        transition_add_audit(p, strdup(op->restore_audit[i]));
    p->next_at = transition_next_at(op->cfg, &p->after);
}

static void plan_and_apply(struct lc_op *op)
{
    transition_plan_free(&op->plan);
    if (op->restore)
        plan_restore(op);
    else
        transition_plan(op->cfg, &op->before, &op->ev, &op->plan);
    struct lc_plan *p = &op->plan;
    if (p->status == LC_REFUSED) {
        finish(op, LCR_REFUSED, p->code, p->msg);
        return;
    }
    /* A scheduler claim always writes: it gives the lease back and re-arms. */
    if (p->status == LC_NOOP && !op->release_lease) {
        finish(op, LCR_NOOP, NULL, NULL);
        return;
    }
    struct strv set = {0}, del = {0}, ops = {0};
    diff_fields(&op->before, &p->after, &set, &del);
    build_ops(op, &ops);
    struct apply_req q = {
        .appeal_id = op->id, .expect_seq = op->before.seq, .idem = op->idem,
        .idem_ttl_ms = op->cfg->redis.dedup_ttl_ms,
        .set = (const char *const *)set.v, .nset = set.n / 2,
        .del = (const char *const *)del.v, .ndel = del.n,
        .ops = (const char *const *)ops.v, .nops = ops.n,
    };
    int rc = appeals_apply(op->lc->app->redis, &q, on_applied, op);
    sv_free(&set);
    sv_free(&del);
    sv_free(&ops);
    if (rc != 0)
        finish(op, LCR_RETRY, "unavailable", "Redis is not connected");
}

static void on_read(struct redis *r, redisReply *rep, void *arg)
{
    struct lc_op *op = arg;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        finish(op, LCR_RETRY, "unavailable", "Redis connection lost while reading the appeal");
        return;
    }
    record_free(&op->before);
    record_init(&op->before, op->id);
    record_parse(&op->before, rep->element[0], rep->element[1]);
    plan_and_apply(op);
}

static void read_record(struct lc_op *op)
{
    if (appeals_read(op->lc->app->redis, op->id, on_read, op) != 0)
        finish(op, LCR_RETRY, "unavailable", "Redis is not connected");
}

int lifecycle_submit(struct lifecycle *lc, const struct lc_request *rq, lc_done_fn cb,
                     void *arg)
{
    if (!redis_up(lc->app->redis))
        return -1;
    struct lc_op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        abort();
    op->lc = lc;
    op->cfg = config_ref(rq->cfg ? rq->cfg : lc->app->cfg);
    op->id = strdup(rq->appeal_id);
    copy_event(op, &rq->ev);
    if (op->ev.now == 0)
        op->ev.now = now_ms();
    if (rq->idem) {
        char key[600];
        op->idem = strdup(appeals_keyf(lc->app->redis, key, sizeof(key), "d:%s", rq->idem));
    }
    op->release_lease = rq->release_lease;
    if (rq->restore) {
        op->restore = calloc(1, sizeof(*op->restore));
        if (op->restore == NULL)
            abort();
        record_copy(op->restore, rq->restore);
        op->restore_audit = calloc(rq->naudit + 1, sizeof(char *));
        for (size_t i = 0; i < rq->naudit; i++)
            op->restore_audit[op->nrestore_audit++] = strdup(rq->audit[i]);
    }
    op->cb = cb;
    op->arg = arg;
    lc->inflight++;
    record_init(&op->before, op->id);
    if (rq->fresh) {
        op->before.seq = rq->expect_seq;
        plan_and_apply(op);
    } else if (rq->record) {
        record_parse(&op->before, rq->record, NULL);
        plan_and_apply(op);
    } else {
        read_record(op);
    }
    return 0;
}

unsigned lifecycle_inflight(const struct lifecycle *lc) { return lc ? lc->inflight : 0; }

void lifecycle_on_armed(struct lifecycle *lc, void (*fn)(void *arg, int64_t at), void *arg)
{
    lc->armed = fn;
    lc->armed_arg = arg;
}
struct outbox *lifecycle_outbox(struct lifecycle *lc) { return lc->ob; }

/* Working seconds to a first response: from minutes to a few working days. */
static const double frt_buckets[] = {300, 900, 1800, 3600, 7200, 14400, 28800, 57600,
                                     86400, 172800, 345600};

struct lifecycle *lifecycle_new(struct app *app)
{
    struct lifecycle *lc = calloc(1, sizeof(*lc));
    if (lc == NULL)
        abort();
    lc->app = app;
    lc->ob = outbox_new(app);
    lc->m_frt = metrics_family("appealsd_first_response_working_seconds", M_HISTOGRAM,
                               "Working time from receipt to the first response, by "
                               "organisation and municipality", "org,municipality");
    metrics_set_buckets(lc->m_frt, frt_buckets, sizeof(frt_buckets) / sizeof(frt_buckets[0]));
    lc->m_conflicts = metrics_family("appealsd_lifecycle_conflicts_total", M_COUNTER,
                                     "Changes re-planned because another writer came first",
                                     "event");
    lc->m_refused = metrics_family("appealsd_lifecycle_refused_total", M_COUNTER,
                                   "Events refused by the state machine", "event,code");
    return lc;
}

void lifecycle_free(struct lifecycle *lc)
{
    if (lc == NULL)
        return;
    if (lc->inflight)
        log_warn("lifecycle: %u changes still running at shutdown; their callers retry them "
                 "at the next start", lc->inflight);
    outbox_free(lc->ob);
    free(lc);
}
