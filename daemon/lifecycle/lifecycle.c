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
#include "gauges.h"
#include "metrics.h"
#include "eventbox.h"
#include "redis.h"
#include "sla.h"
#include "tailevent.h"
#include "tz.h"
#include "units.h"
#include "write.h"

/* Conflicts in a row before an operation gives up (each one means another
 * writer changed the appeal in between; more than a handful is a storm). */
#define MAX_ATTEMPTS 16

struct lifecycle {
    struct app *app;
    struct eventbox *ob;
    unsigned inflight;
    void (*armed)(void *arg, int64_t at);
    void *armed_arg;
    lc_stored_fn stored[4];
    void *stored_arg[4];
    struct mfam *m_frt, *m_conflicts, *m_refused;
    struct mfam *m_quality, *m_rework, *m_followups;
};

struct lc_op {
    struct lifecycle *lc;
    struct redis *redis;
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
    op->ev.incident = keep(op, ev->incident);
    op->ev.lead = keep(op, ev->lead);
    op->ev.members = keep(op, ev->members);
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
        d->copies = keep(op, c->copies);
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

/* ---- after a successful write ---- */

/* The answer judge's verdicts and the citizens' follow-ups, by organisation. */
static void count_answer(struct lifecycle *lc, const struct lc_plan *p, const struct appeal_rec *a)
{
    const char *org = lc_dim_value(a->org);
    if (p->counts.answer_quality)
        metrics_add(lc->m_quality, 1, p->counts.answer_quality, org);
    if (p->counts.rework_opened)
        metrics_add(lc->m_rework, 1, org);
    if (p->counts.reopened_by_citizen || p->counts.confirmed)
        metrics_add(lc->m_followups, 1, p->counts.confirmed ? "confirmed" : "reopened", org);
}

/* publish: false leaves the events in the Redis outbox, which publishes them
 * once their lease runs out (timers.c: take_outbox). */
static void announce(struct lc_op *op, bool publish)
{
    struct lifecycle *lc = op->lc;
    const struct lc_plan *p = &op->plan;
    const struct appeal_rec *a = &p->after;
    for (size_t i = 0; i < p->nmsgs; i++) {
        if (publish)
            eventbox_publish(lc->ob, p->msgs[i].event_id, p->msgs[i].envelope);
        struct tail_event te = {
            .type = p->msgs[i].type, .event = p->msgs[i].event, .appeal_id = a->id,
            .org = a->org, .category = a->category, .municipality = a->municipality,
            .priority = a->priority, .state = a->state, .due_ms = record_next_due(a),
        };
        if (!control_has_subscribers(lc->app->control))
            continue;
        struct sbuf ev = SBUF_INIT;
        tail_event_from_message(&te, p->msgs[i].body, op->cfg->daemon.timezone, &ev);
        te.json = ev.p;
        control_publish(lc->app->control, &te);
        sbuf_free(&ev);
    }
    sla_gauges_count(lc_dim_value(a->org), lc_dim_value(a->municipality), p->counts.breaches,
                     p->counts.fr_met, p->counts.fr_on_time);
    if (p->counts.fr_met)
        metrics_observe(lc->m_frt, (double)p->counts.fr_used_ms / 1000.0, lc_dim_value(a->org),
                        lc_dim_value(a->municipality));
    count_answer(lc, p, a);
    if (lc->armed && p->next_at != INT64_MAX)
        lc->armed(lc->armed_arg, p->next_at);
    for (size_t i = 0; i < 4 && lc->stored[i]; i++)
        lc->stored[i](lc->stored_arg[i], &op->ev, p);
}

static void plan_and_apply(struct lc_op *op);
static void read_record(struct lc_op *op);

/* Events leave for Kafka only once the change that made them is on
 * redis.min_replicas replicas: a failover that lost the change would fire
 * the stage again, and the event would then exist twice. */
static void on_replicated(void *arg, enum redis_repl res)
{
    struct lc_op *op = arg;
    if (res == REDIS_REPL_LOST) {
        finish(op, LCR_RETRY, "unavailable", "Redis connection lost before the change "
               "reached a replica");
        return;
    }
    announce(op, res == REDIS_REPL_OK);
    finish(op, LCR_OK, NULL, NULL);
}

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
    if (strcmp(s, "ok") == 0 && op->plan.nmsgs > 0 && redis_min_replicas(op->redis) > 0) {
        redis_replicated(op->redis, on_replicated, op);
    } else if (strcmp(s, "ok") == 0) {
        announce(op, true);
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
    struct lc_write w;
    lc_write_build(&w, redis_prefix(op->redis), op->cfg, &op->before, p,
                   op->release_lease, op->restore != NULL,
                   now_ms() + sla_cfg(op->cfg)->lease_ms);
    struct apply_req q = {
        .appeal_id = op->id, .expect_seq = op->before.seq, .idem = op->idem,
        .idem_ttl_ms = op->cfg->redis.dedup_ttl_ms,
        .set = (const char *const *)w.set.v, .nset = w.set.n / 2,
        .del = (const char *const *)w.del.v, .ndel = w.del.n,
        .ops = (const char *const *)w.ops.v, .nops = w.ops.n,
    };
    int rc = appeals_apply(op->redis, &q, on_applied, op);
    lc_write_free(&w);
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
    if (appeals_read(op->redis, op->id, on_read, op) != 0)
        finish(op, LCR_RETRY, "unavailable", "Redis is not connected");
}

int lifecycle_submit(struct lifecycle *lc, const struct lc_request *rq, lc_done_fn cb,
                     void *arg)
{
    struct redis *redis = rq->redis ? rq->redis : lc->app->redis;
    if (!redis_up(redis))
        return -1;
    struct lc_op *op = calloc(1, sizeof(*op));
    if (op == NULL)
        abort();
    op->lc = lc;
    op->redis = redis;
    op->cfg = config_ref(rq->cfg ? rq->cfg : lc->app->cfg);
    op->id = strdup(rq->appeal_id);
    copy_event(op, &rq->ev);
    if (op->ev.now == 0)
        op->ev.now = now_ms();
    if (rq->idem) {
        char key[600];
        op->idem = strdup(appeals_keyf(redis, key, sizeof(key), "d:%s", rq->idem));
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

int lifecycle_on_stored(struct lifecycle *lc, lc_stored_fn fn, void *arg)
{
    for (size_t i = 0; i < 4; i++)
        if (lc->stored[i] == NULL) {
            lc->stored[i] = fn;
            lc->stored_arg[i] = arg;
            return 0;
        }
    return -1;
}

void lifecycle_on_armed(struct lifecycle *lc, void (*fn)(void *arg, int64_t at), void *arg)
{
    lc->armed = fn;
    lc->armed_arg = arg;
}
struct eventbox *lifecycle_eventbox(struct lifecycle *lc) { return lc->ob; }

/* Working seconds to a first response: from minutes to a few working days. */
static const double frt_buckets[] = {300, 900, 1800, 3600, 7200, 14400, 28800, 57600,
                                     86400, 172800, 345600};

struct lifecycle *lifecycle_new(struct app *app)
{
    struct lifecycle *lc = calloc(1, sizeof(*lc));
    if (lc == NULL)
        abort();
    lc->app = app;
    lc->ob = eventbox_new(app);
    lc->m_frt = metrics_family("appealsd_first_response_working_seconds", M_HISTOGRAM,
                               "Working time from receipt to the first response, by "
                               "organisation and municipality", "org,municipality");
    metrics_set_buckets(lc->m_frt, frt_buckets, sizeof(frt_buckets) / sizeof(frt_buckets[0]));
    lc->m_conflicts = metrics_family("appealsd_lifecycle_conflicts_total", M_COUNTER,
                                     "Changes re-planned because another writer came first",
                                     "event");
    lc->m_refused = metrics_family("appealsd_lifecycle_refused_total", M_COUNTER,
                                   "Events refused by the state machine", "event,code");
    lc->m_quality = metrics_family("appealsd_answers_by_quality_total", M_COUNTER,
                                   "Answers judged by the answer judge (page replies, operators' "
                                   "and agencies' answers), by quality and organisation",
                                   "quality,org");
    lc->m_rework = metrics_family("appealsd_rework_opened_total", M_COUNTER,
                                  "Formal answers that opened the rework clock, by organisation",
                                  "org");
    lc->m_followups = metrics_family("appealsd_citizen_followups_total", M_COUNTER,
                                     "Appeals their authors reopened or confirmed under an "
                                     "answer, by outcome and organisation", "outcome,org");
    return lc;
}

void lifecycle_free(struct lifecycle *lc)
{
    if (lc == NULL)
        return;
    if (lc->inflight)
        log_warn("lifecycle: %u changes still running at shutdown; their callers retry them "
                 "at the next start", lc->inflight);
    eventbox_free(lc->ob);
    free(lc);
}
