#include "pipeline.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "appeals.h"
#include "config.h"
#include "control.h"
#include "crypto.h"
#include "ack.h"
#include "delivery.h"
#include "directory.h"
#include "event_class.h"
#include "judge.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "pevent.h"
#include "pipeline_limits.h"
#include "quarantine.h"
#include "redis.h"
#include "route.h"
#include "sbuf.h"
#include "engine.h"
#include "record.h"
#include "sources.h"
#include "spool.h"
#include "strmap.h"
#include "units.h"

#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 30000

enum step { STEP_START, STEP_CLAIM, STEP_PUBLISH, STEP_COMMIT, STEP_PARENT, STEP_FOLLOWUP,
           STEP_REPLICATE };

struct job {
    struct pipeline *pl;
    struct apd_config *cfg;       /* the snapshot this job started with */
    uint64_t rec_id;
    uint64_t bytes;               /* the record's size in the spool */
    char source[64];
    int64_t received_ms;
    struct pevents ev;
    size_t cur;
    void *rawbuf;                 /* the record as read from disk, or NULL */
    const char *body;
    size_t body_len;
    /* the current event */
    enum step step;
    char tag[48];
    char *lock_key;
    struct claim_result claim;
    struct event_class cls;       /* the classifiers' decision on this event */
    bool kept;                    /* not an appeal: kept on appeals.all only */
    bool removed;                 /* a deletion by someone other than the author */
    bool promoted;                /* an edit made an appeal of a non-appeal */
    struct answer_verdict verdict;/* ANSWER: the answer judge's */
    struct route_result route;
    int64_t due_ms;
    char *sla_json;               /* created: the planned record's SLA object */
    int retry_ms;
    struct event *retry_ev;
    bool waiting_redis;
    uint64_t epoch;               /* Redis connection of the first write, 0 none yet */
    char pseudo[17];              /* author pseudonym of event pseudo_for - 1 */
    char deleter[17];             /* DELETED: the deleter's pseudonym, read by the
                                   * lifecycle after step_commit() returned */
    size_t pseudo_for;
    struct job *prev, *next;      /* all jobs */
    struct job *wnext;            /* lock queue / redis wait list */
};

/* Who an event goes to (decide()). */
struct recipients {
    const struct org *org;        /* primary recipient, or NULL */
    const char *topic;            /* the triage topic, or NULL: the org's own */
    const struct org *copies[ROUTE_MAX_COPIES];
    size_t ncopies;
    bool none;                    /* dropped: recorded, sent nowhere */
};

struct alock {
    struct job *wh, *wt;
};

struct pipeline {
    struct app *app;
    struct quarantine *quarantine;
    struct job *jobs;
    size_t inflight;
    uint64_t inflight_bytes;
    size_t peak_records;          /* highest since start, for the ceiling's gauges */
    uint64_t peak_bytes;
    bool draining, pumping;
    struct strmap locks;
    struct job *redis_wait;
    struct event *tick;
    struct pipeline_stats st;
    struct mfam *m_appeals, *m_dups, *m_ignored, *m_quarantined, *m_dropped, *m_removed;
    struct mfam *g_records, *g_bytes, *g_peak_records, *g_peak_bytes, *g_waiting;
};

static void start_event(struct job *j);
static bool removed_by_page(struct job *j);
static void step_claim(struct job *j);
static void step_publish(struct job *j);
static void step_commit(struct job *j);
static void step_parent(struct job *j);
static void step_followup(struct job *j);
static void start_claim(struct job *j);
static void pseudonym(struct job *j, const char *author, char out[17]);
static void job_done(struct job *j);

static struct pevent *cur_ev(struct job *j) { return j->ev.v[j->cur]; }

static const char *event_name(enum apd_event_type t)
{
    switch (t) {
    case APD_EV_CREATED: return "created";
    case APD_EV_EDITED: return "updated";
    case APD_EV_DELETED: return "withdrawn";
    case APD_EV_RESTORED: return "restored";
    case APD_EV_ANSWER: return "answered";
    default: return "ignored";
    }
}

/* The event as published: a deletion by the page is no withdrawal. */
static const char *job_event(const struct job *j, enum apd_event_type t)
{
    return j->removed ? "removed_by_page" : event_name(t);
}

/* ---- per-appeal ordering ---- */

static bool lock_acquire(struct pipeline *pl, struct job *j, const char *key)
{
    j->lock_key = strdup(key);
    struct alock *l = strmap_get(&pl->locks, key);
    if (l == NULL) {
        l = calloc(1, sizeof(*l));
        strmap_put(&pl->locks, key, l);
        return true;
    }
    j->wnext = NULL;
    if (l->wt)
        l->wt->wnext = j;
    else
        l->wh = j;
    l->wt = j;
    return false;
}

/* ---- waiting for Redis / retries ---- */

static void wait_redis(struct job *j)
{
    if (j->waiting_redis)
        return;
    j->waiting_redis = true;
    j->wnext = j->pl->redis_wait;
    j->pl->redis_wait = j;
    j->pl->st.waiting_redis++;
}

static void resume(struct job *j)
{
    switch (j->step) {
    case STEP_CLAIM: step_claim(j); break;
    case STEP_PUBLISH: step_publish(j); break;
    case STEP_COMMIT: step_commit(j); break;
    case STEP_PARENT: step_parent(j); break;
    case STEP_FOLLOWUP: step_followup(j); break;
    case STEP_REPLICATE: job_done(j); break;
    default: start_event(j); break;
    }
}

static void resume_redis_waiters(struct pipeline *pl)
{
    struct job *list = pl->redis_wait;
    pl->redis_wait = NULL;
    /* Restore arrival order before resuming. */
    struct job *rev = NULL;
    while (list) {
        struct job *n = list->wnext;
        list->wnext = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        struct job *n = rev->wnext;
        rev->wnext = NULL;
        rev->waiting_redis = false;
        pl->st.waiting_redis--;
        resume(rev);
        rev = n;
    }
}

static void on_redis_up(void *arg) { resume_redis_waiters(arg); }

static void on_retry(evutil_socket_t fd, short what, void *arg) { resume(arg); }

static void schedule_retry(struct job *j)
{
    j->retry_ms = j->retry_ms ? j->retry_ms * 2 : RETRY_MIN_MS;
    if (j->retry_ms > RETRY_MAX_MS)
        j->retry_ms = RETRY_MAX_MS;
    if (j->retry_ev == NULL)
        j->retry_ev = evtimer_new(j->pl->app->base, on_retry, j);
    struct timeval tv = {j->retry_ms / 1000, (j->retry_ms % 1000) * 1000};
    evtimer_add(j->retry_ev, &tv);
    j->pl->st.retries++;
}

/* ---- job lifecycle ---- */

static void job_free(struct job *j)
{
    struct pipeline *pl = j->pl;
    if (j->prev)
        j->prev->next = j->next;
    else
        pl->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    pl->inflight--;
    pl->inflight_bytes -= j->bytes;
    if (j->retry_ev)
        event_free(j->retry_ev);
    free(j->lock_key);
    event_class_free(&j->cls);
    free(j->sla_json);
    pevents_free(&j->ev);
    free(j->rawbuf);
    config_unref(j->cfg);
    free(j);
}

static void job_release(struct job *j)
{
    struct pipeline *pl = j->pl;
    spool_release(pl->app->spool, j->rec_id);
    pl->st.jobs_done++;
    job_free(j);
    pipeline_pump(pl);
}

/* The connection the record's writes went over is gone, maybe with the
 * master that had them: process the record again from its first event
 * (claims recognise what survived, Kafka gets repeats under the same ids). */
static void job_redo(struct job *j)
{
    log_limited(LOG_LVL_WARN, 10, 60000, "pipeline: Redis writes of record %016" PRIx64
                " may be lost with the connection they went over (a failover?); processing "
                "it again from its first event", j->rec_id);
    j->pl->st.redone++;
    j->cur = 0;
    j->epoch = 0;
    j->step = STEP_START;
    j->retry_ms = 0;
    schedule_retry(j);
}

static void on_replicated(void *arg, enum redis_repl res)
{
    struct job *j = arg;
    if (res == REDIS_REPL_OK) {
        job_release(j);
    } else if (res == REDIS_REPL_SHORT) {
        j->retry_ms = 0;       /* WAIT itself waited; ask again soon */
        schedule_retry(j);
    } else {
        job_redo(j);
    }
}

/* A record is released once its Redis writes are on redis.min_replicas
 * replicas: a failover to one of them keeps every acknowledged appeal. */
static void job_done(struct job *j)
{
    struct redis *r = j->pl->app->redis;
    if (j->epoch == 0 || redis_min_replicas(r) == 0) {
        job_release(j);
        return;
    }
    if (j->epoch != redis_epoch(r)) {
        job_redo(j);
        return;
    }
    j->step = STEP_REPLICATE;
    redis_replicated(r, on_replicated, j);
}

static void finish_event(struct job *j)
{
    struct pipeline *pl = j->pl;
    struct job *next = NULL;
    if (j->lock_key) {
        struct alock *l = strmap_get(&pl->locks, j->lock_key);
        if (l && l->wh) {
            /* The next event of this appeal inherits the lock. */
            next = l->wh;
            l->wh = next->wnext;
            if (l->wh == NULL)
                l->wt = NULL;
            next->wnext = NULL;
        } else if (l) {
            strmap_del(&pl->locks, j->lock_key);
            free(l);
        }
        free(j->lock_key);
        j->lock_key = NULL;
    }
    j->cur++;
    j->step = STEP_START;
    j->retry_ms = 0;
    if (next)
        step_claim(next);
    start_event(j);
}

static void start_event(struct job *j)
{
    struct pipeline *pl = j->pl;
    if (j->cur >= j->ev.n) {
        job_done(j);
        return;
    }
    struct pevent *ev = cur_ev(j);
    memset(&j->claim, 0, sizeof(j->claim));
    memset(&j->route, 0, sizeof(j->route));
    event_class_reset(&j->cls);
    j->kept = j->promoted = j->removed = false;
    snprintf(j->tag, sizeof(j->tag), "%016" PRIx64 "/%zu", j->rec_id, j->cur);
    if (ev->quarantine) {
        quarantine_write(pl->quarantine, j->cfg, j->rec_id, j->source, ev->quarantine, j->body,
                         j->body_len);
        metrics_add(pl->m_quarantined, 1, j->source);
        pl->st.quarantined++;
        log_limited(LOG_LVL_WARN, 10, 10000,
                    "intake: %s event of %s (page %s:%s) in record %016" PRIx64 " quarantined: "
                    "%s; the raw body is in %s/quarantine.jsonl", j->source,
                    ev->appeal_id ? ev->appeal_id : "no appeal", j->source,
                    ev->page ? ev->page : "?", j->rec_id, ev->quarantine, j->cfg->spool.dir);
        finish_event(j);
        return;
    }
    const char *key = ev->type == APD_EV_ANSWER ? ev->reply_to : ev->appeal_id;
    if (ev->type == APD_EV_IGNORED || key == NULL) {
        const char *why = ev->ignore_reason ? ev->ignore_reason
                          : ev->platform_type ? ev->platform_type : "unknown";
        metrics_add(pl->m_ignored, 1, j->source, why);
        if (ev->ignore_reason)
            log_limited(LOG_LVL_INFO, 10, 60000, "intake: %s event %s of page %s:%s "
                        "ignored (%s: the page does not take them); acknowledged and counted "
                        "in appealsd_ignored_total", j->source,
                        ev->platform_type ? ev->platform_type : "?", j->source,
                        ev->page ? ev->page : "?", ev->ignore_reason);
        pl->st.ignored++;
        finish_event(j);
        return;
    }
    /* A citizen's reply in a thread may be the author's word on an answer. */
    if (ev->type == APD_EV_CREATED && ev->reply_to && ev->author_id) {
        step_parent(j);
        return;
    }
    start_claim(j);
}

static void start_claim(struct job *j)
{
    struct pevent *ev = cur_ev(j);
    const char *key = ev->type == APD_EV_ANSWER ? ev->reply_to : ev->appeal_id;
    j->step = STEP_CLAIM;
    if (lock_acquire(j->pl, j, key))
        step_claim(j);
}

/* ---- the author's follow-up under an answer ---- */

static void on_followup(void *arg, const struct lc_result *res)
{
    struct job *j = arg;
    struct pevent *ev = cur_ev(j);
    if (res->status == LCR_RETRY) {
        wait_redis(j);
        return;
    }
    if (res->status == LCR_REFUSED)
        log_debug("pipeline: follow-up %s of %s changes nothing (%s: %s)", ev->appeal_id,
                  ev->reply_to, res->code, res->msg);
    log_debug("pipeline: %s is its author's follow-up on %s (now %s)", ev->appeal_id,
              ev->reply_to, res->state ? res->state : "?");
    finish_event(j);
}

/* The comment goes to the appeal it follows up, as one change of it: the
 * lifecycle decides (reopen, confirm, update) and publishes; the platform
 * event's dedup key makes a redelivery harmless. */
static void step_followup(struct job *j)
{
    struct pevent *ev = cur_ev(j);
    char idem[600], actor[48], pseudo[17];
    j->step = STEP_FOLLOWUP;
    pseudonym(j, ev->author_id, pseudo);
    snprintf(actor, sizeof(actor), "citizen:%s", pseudo);
    if (ev->dedup_key)
        snprintf(idem, sizeof(idem), "fu:%s#%zu", ev->dedup_key, j->cur);
    else
        snprintf(idem, sizeof(idem), "fu:%s", ev->appeal_id);
    struct lc_request rq = {
        .appeal_id = ev->reply_to,
        .ev = {.kind = LC_FOLLOWUP, .actor = actor, .text = ev->text, .link = ev->link},
        .idem = idem, .cfg = j->cfg,
    };
    struct lifecycle *lc = sla_engine_lifecycle(j->pl->app);
    if (lc == NULL || lifecycle_submit(lc, &rq, on_followup, j) != 0)
        wait_redis(j);
}

static void on_parent(struct redis *r, redisReply *rep, void *arg)
{
    struct job *j = arg;
    struct pevent *ev = cur_ev(j);
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        wait_redis(j);
        return;
    }
    struct appeal_rec parent;
    record_init(&parent, ev->reply_to);
    record_parse(&parent, rep->element[0], NULL);
    char pseudo[17];
    pseudonym(j, ev->author_id, pseudo);
    bool mine = parent.exists && parent.author && strcmp(parent.author, pseudo) == 0;
    bool follow = mine && transition_followup_applies(&parent);
    record_free(&parent);
    if (follow)
        step_followup(j);
    else
        start_claim(j);      /* someone else's reply, or no answer yet: an item of its own */
}

static void step_parent(struct job *j)
{
    j->step = STEP_PARENT;
    if (!redis_up(j->pl->app->redis) ||
        appeals_read(j->pl->app->redis, cur_ev(j)->reply_to, on_parent, j) != 0)
        wait_redis(j);
}

/* ---- claim ---- */

/* An item the host does not know under its id may be an appeal opened before
 * its source made private conversations pseudonymous (ABI 1.6): the event
 * then names it by its old id too, and the old record is the one to update. */
static bool claim_legacy(struct job *j)
{
    struct pevent *ev = cur_ev(j);
    if (ev->legacy_id == NULL || ev->type == APD_EV_CREATED)
        return false;
    if (ev->type == APD_EV_ANSWER)
        ev->reply_to = ev->legacy_id;
    else
        ev->appeal_id = ev->legacy_id;
    ev->legacy_id = NULL;
    log_debug("pipeline: record %s event %zu names an item unknown under its pseudonymous "
              "id; trying its id from before pseudonymisation", j->tag, j->cur);
    step_claim(j);
    return true;
}

static void on_claim(void *arg, const struct claim_result *res)
{
    struct job *j = arg;
    struct pipeline *pl = j->pl;
    struct pevent *ev = cur_ev(j);
    switch (res->status) {
    case CLAIM_FAILED:
        wait_redis(j);
        return;
    case CLAIM_DUP:
    case CLAIM_EXISTS:
        pl->st.duplicates++;
        metrics_add(pl->m_dups, 1, j->source);
        log_debug("pipeline: %s %s is a repeat; dropped", event_name(ev->type), ev->appeal_id);
        finish_event(j);
        return;
    case CLAIM_ABSENT:
        if (claim_legacy(j))
            return;
        pl->st.ignored++;
        metrics_add(pl->m_ignored, 1, j->source, ev->type == APD_EV_ANSWER ? "answer-to-non-appeal"
                                                                           : "update-of-unknown");
        finish_event(j);
        return;
    case CLAIM_NEW:
    case CLAIM_REPLAY:
        j->claim = *res;
        j->removed = removed_by_page(j);
        j->step = STEP_PUBLISH;
        step_publish(j);
        return;
    }
}

static void step_claim(struct job *j)
{
    struct pevent *ev = cur_ev(j);
    char dedup[600];
    j->step = STEP_CLAIM;
    if (ev->dedup_key)
        snprintf(dedup, sizeof(dedup), j->cur ? "%s#%zu" : "%s", ev->dedup_key, j->cur);
    else
        snprintf(dedup, sizeof(dedup), "rec:%s", j->tag);
    const char *id = ev->type == APD_EV_ANSWER ? ev->reply_to : ev->appeal_id;
    if (j->epoch == 0 && redis_up(j->pl->app->redis))
        j->epoch = redis_epoch(j->pl->app->redis);
    if (!redis_up(j->pl->app->redis) ||
        appeals_claim(j->pl->app->redis, dedup, id, j->tag, j->cfg->redis.dedup_ttl_ms,
                      event_name(ev->type), on_claim, j) != 0)
        wait_redis(j);
}

/* ---- publish ---- */

/* The keyed hash an author id is stored as: a pseudonym per source (the same
 * derivation the sources use for private conversations, sources.c). */
static void keyed_pseudonym(const struct job *j, const char *id, char out[17])
{
    const char *key = j->cfg->daemon.pseudonym_key ? j->cfg->daemon.pseudonym_key
                                                   : j->pl->app->pseudonym_key;
    pseudonym_hex(key, j->source, id, out);
}

static void pseudonym(struct job *j, const char *author, char out[17])
{
    /* publish and commit both need it: one keyed hash per event */
    if (j->pseudo_for != j->cur + 1) {
        keyed_pseudonym(j, author, j->pseudo);
        j->pseudo_for = j->cur + 1;
    }
    memcpy(out, j->pseudo, 17);
}

/* A deletion whose deleter is not the author the appeal was stored with. */
static bool removed_by_page(struct job *j)
{
    struct pevent *ev = cur_ev(j);
    if (ev->type != APD_EV_DELETED || ev->deleter_id == NULL)
        return false;
    char who[17];
    keyed_pseudonym(j, ev->deleter_id, who);
    return transition_removed_by_page(j->claim.author, who);
}

static void on_published(void *arg, bool ok)
{
    struct job *j = arg;
    if (!ok) {
        /* delivery.c logged what failed; everything is published again. */
        schedule_retry(j);
        return;
    }
    j->retry_ms = 0;
    j->pl->st.published++;
    j->step = STEP_COMMIT;
    step_commit(j);
}

/* What the lifecycle needs to know of a new appeal. */
static void created_info(struct job *j, struct lc_created *c, char pseudo[17], char *copies,
                         size_t clen)
{
    struct pevent *ev = cur_ev(j);
    pseudo[0] = '\0';
    if (ev->author_id)
        pseudonym(j, ev->author_id, pseudo);
    copies[0] = '\0';
    for (size_t i = 0; i < j->route.ncopies; i++) {
        size_t n = strlen(copies);
        snprintf(copies + n, clen - n, "%s%s", n ? "," : "", j->route.copies[i]->code);
    }
    *c = (struct lc_created){
        .source = j->source, .page = ev->page, .text = ev->text, .link = ev->link,
        .author = pseudo[0] ? pseudo : NULL, .item_kind = ev->item_kind,
        .org = j->route.org && !j->route.drop ? j->route.org->code : NULL,
        .rule = j->route.rule, .route_reason = j->route.reason,
        .route_policy = j->route.sla_policy, .triage = j->route.triage, .copies = copies,
        .dropped = j->route.drop,
        .municipality = j->route.rule ? j->route.municipality : event_class_municipality(&j->cls),
        .priority = j->route.priority ? j->route.priority : event_class_priority(&j->cls),
        .category = event_class_category(&j->cls), .kind = event_class_kind(&j->cls),
        .kept = j->kept, .created_ms = ev->created_ms, .received_ms = j->received_ms,
    };
}

/* The clocks a new appeal gets (the lifecycle plans them again, identically,
 * when it stores the appeal): the message carries them. */
static void plan_created(struct job *j)
{
    struct lc_created c;
    char pseudo[17], copies[sizeof(j->claim.copies)];
    created_info(j, &c, pseudo, copies, sizeof(copies));
    struct appeal_rec before;
    record_init(&before, cur_ev(j)->appeal_id);
    struct lc_event lev = {.kind = LC_CREATED, .actor = j->source, .created = &c,
                           .now = now_ms()};
    if (j->promoted)
        c.received_ms = lev.now;   /* an edit made it an appeal: its clocks start now */
    struct lc_plan plan;
    transition_plan(j->cfg, &before, &lev, &plan);
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    record_sla_json(&w, &plan.after, j->cfg->daemon.timezone);
    free(j->sla_json);
    j->sla_json = sbuf_steal(&b);
    j->due_ms = plan.after.clk[CLK_FR].state == CS_RUN ? plan.after.clk[CLK_FR].due : 0;
    transition_plan_free(&plan);
    record_free(&before);
}

/* The recipients of this event: the routing decision for a new appeal (or
 * one an edit made of a non-appeal), else what was recorded when it was
 * routed (or re-routed since).  Classified non-appeals are not routed. */
static void decide(struct job *j, struct recipients *rc)
{
    struct pevent *ev = cur_ev(j);
    memset(rc, 0, sizeof(*rc));
    event_class_run(&j->cls, j->cfg, j->source, ev);
    bool was_not = event_class_record_is_non_appeal(&j->claim);
    j->promoted = ev->type == APD_EV_EDITED && was_not && event_class_is_appeal(&j->cls);
    j->kept = (ev->type == APD_EV_CREATED && !event_class_is_appeal(&j->cls)) ||
              (was_not && !j->promoted);
    if (j->kept) {
        j->due_ms = 0;          /* appeals.all only: rc stays empty */
        return;
    }
    if (ev->type == APD_EV_CREATED || j->promoted) {
        struct route_input in = {.source = j->source, .page = ev->page, .text = ev->text,
                                 .text_len = ev->text_len, .item_kind = ev->item_kind};
        event_class_route_input(&j->cls, &in);
        route_decide(j->cfg, &in, &j->route);
        rc->org = j->route.drop ? NULL : j->route.org;
        rc->topic = j->route.triage ? j->route.topic : NULL;
        for (size_t i = 0; i < j->route.ncopies; i++)
            rc->copies[rc->ncopies++] = j->route.copies[i];
        rc->none = j->route.drop;
        plan_created(j);
        return;
    }
    rc->none = j->claim.dropped;
    rc->org = directory_org(j->cfg->dir, j->claim.org);
    rc->topic = j->claim.triage || rc->org == NULL ? j->cfg->kafka.topic_triage : NULL;
    char codes[sizeof(j->claim.copies)], *save = NULL;
    snprintf(codes, sizeof(codes), "%s", j->claim.copies);
    for (char *c = strtok_r(codes, ",", &save); c && rc->ncopies < ROUTE_MAX_COPIES;
         c = strtok_r(NULL, ",", &save)) {
        const struct org *o = directory_org(j->cfg->dir, c);
        if (o)
            rc->copies[rc->ncopies++] = o;
    }
    j->due_ms = j->claim.first_response_due_ms;
    if (j->removed) {
        /* The ЦУР's matter: the page hid a complaint whose clocks run on. */
        rc->org = NULL;
        rc->topic = j->cfg->kafka.topic_triage;
        rc->ncopies = 0;
    }
}

/* The municipality an event is about: the routing decision's, else the
 * classification's (text, else page), else the page's. */
/* Whether a recipient takes author ids in clear (personal_data = yes): only
 * then is the second body built (delivery.c picks it per recipient). */
static bool wants_personal(const struct recipients *rc)
{
    if (rc->org && rc->org->personal_data)
        return true;
    for (size_t i = 0; i < rc->ncopies; i++)
        if (rc->copies[i]->personal_data)
            return true;
    return false;
}

static const char *event_municipality(const struct job *j, const struct page *page)
{
    if (j->route.rule)
        return j->route.municipality;
    if (j->cls.done)
        return event_class_municipality(&j->cls);
    return page ? page->municipality : NULL;
}

static const char *state_after(const struct job *j, enum apd_event_type t)
{
    switch (t) {
    case APD_EV_CREATED: return event_class_state(&j->cls);
    case APD_EV_RESTORED: return j->kept ? event_class_kind_state(j->claim.kind) : "open";
    case APD_EV_EDITED:
        if (j->promoted)
            return "open";
        return j->claim.state[0] ? j->claim.state : NULL;
    case APD_EV_DELETED:
        if (j->removed)
            return j->claim.state[0] ? j->claim.state : NULL;
        return "withdrawn";
    case APD_EV_ANSWER:
        return strcmp(j->claim.state, "open") == 0 ? "answered" : j->claim.state;
    default: return j->claim.state[0] ? j->claim.state : NULL;
    }
}

static void step_publish(struct job *j)
{
    struct pipeline *pl = j->pl;
    struct pevent *ev = cur_ev(j);
    struct recipients rc;
    decide(j, &rc);
    bool is_answer = ev->type == APD_EV_ANSWER;
    bool routed = j->route.rule != NULL;   /* decided now: a new appeal, or promoted */
    char reasons[160] = "";
    memset(&j->verdict, 0, sizeof(j->verdict));
    if (is_answer) {
        answer_judge_text(answer_judge_of(j->cfg), ev->text, ev->text ? ev->text_len : 0, 0,
                          &j->verdict);
        answer_reasons_text(j->verdict.reasons, reasons, sizeof(reasons));
    }
    if (rc.none) {
        /* Noise (a drop rule): recorded with the rule that dropped it, sent nowhere. */
        metrics_add(pl->m_dropped, 1, routed ? j->route.rule : "dropped-earlier");
        pl->st.dropped++;
        j->step = STEP_COMMIT;
        step_commit(j);
        return;
    }
    const struct page *page = directory_page(j->cfg->dir, j->source, ev->page);
    char pseudo[17] = "";
    if (ev->author_id)
        pseudonym(j, ev->author_id, pseudo);
    struct appeal_view v = {
        .event = job_event(j, ev->type),
        .appeal_id = is_answer ? ev->reply_to : ev->appeal_id,
        .seq = j->claim.seq,
        .source = j->source,
        .page = ev->page,
        .page_name = page ? page->name : NULL,
        .page_owner = page ? page->org : NULL,
        .municipality = event_municipality(j, page),
        .municipality_from_page = routed && j->route.municipality_from_page,
        .item_kind = is_answer ? NULL : ev->item_kind,
        .link = is_answer ? NULL : ev->link,
        .thread = ev->thread,
        .platform_type = ev->platform_type,
        .author_pseudonym = is_answer || !ev->author_id ? NULL : pseudo,
        .text = is_answer || ev->type == APD_EV_DELETED ? NULL : ev->text,
        .text_len = ev->text_len,
        .created_ms = ev->created_ms,
        .received_ms = j->received_ms,
        .now_ms = now_ms(),
        .state = state_after(j, ev->type),
        .org_code = rc.org ? rc.org->code : NULL,
        .org_name = rc.org ? rc.org->name : NULL,
        .org_type = rc.org ? org_type_name(rc.org->type) : NULL,
        .route = routed ? &j->route : NULL,
        .classification_json = event_class_json(&j->cls),
        .sla_policy = routed ? j->route.sla_policy : NULL,
        .first_response_due_ms = routed ? j->due_ms : 0,
        .sla_json = routed ? j->sla_json : NULL,
        .answer_link = is_answer ? ev->link : NULL,
        .answer_by = is_answer ? "page" : NULL,
        .answer_quality = answer_quality_name(j->verdict.quality),
        .answer_reasons = reasons,
        .tz = j->cfg->daemon.timezone,
    };
    /* Topics configured for personal data get the author in clear;
     * delivery.c picks the body per topic and endpoint. */
    struct sbuf pub = SBUF_INIT, priv = SBUF_INIT;
    message_appeal(&pub, &v);
    bool personal = ev->author_id && !is_answer && wants_personal(&rc);
    if (personal) {
        v.author_id = ev->author_id;
        v.author_name = ev->author_name;
        if (ev->personal_link)
            v.link = ev->personal_link;   /* a dialog's view names its user */
        message_appeal(&priv, &v);
    }
    char event_id[600];
    snprintf(event_id, sizeof(event_id), "%s#%lld", v.appeal_id, (long long)v.seq);
    struct ack_input ack = {.source = j->source, .page = ev->page, .appeal_id = ev->appeal_id,
                            .item_kind = ev->item_kind, .author_id = ev->author_id,
                            .route = &j->route};
    struct delivery_msg dm = {
        .appeal_id = v.appeal_id,
        .event_id = event_id,
        .event = v.event,
        .schema = APPEAL_SCHEMA,
        .pub = &pub,
        .priv = personal ? &priv : NULL,
        .org = rc.org,
        .topic = rc.topic,
        .copies = rc.copies,
        .ncopies = rc.ncopies,
        .extra_topic = j->cfg->kafka.topic_all,
        .ack = routed ? &ack : NULL,
    };
    if (!j->kept)               /* non-appeals are counted by kind (event_class.c) */
        metrics_add(pl->m_appeals, 1, rc.org ? rc.org->code : "triage", v.event);
    delivery_publish(pl->app->delivery, j->cfg, &dm, on_published, j);
    sbuf_free(&pub);
    sbuf_free(&priv);
}

/* ---- commit ---- */

/* The operators' live view (appealsctl tail): one event per committed change. */
static void publish_tail(struct job *j)
{
    if (!control_has_subscribers(j->pl->app->control))
        return;
    struct pevent *ev = cur_ev(j);
    bool answer = ev->type == APD_EV_ANSWER;
    const struct org *org = j->route.rule ? j->route.org
                                          : directory_org(j->cfg->dir, j->claim.org);
    const struct page *page = directory_page(j->cfg->dir, j->source, ev->page);
    const char *state = state_after(j, ev->type);
    struct tail_event te = {
        .type = "appeal", .event = job_event(j, ev->type),
        .appeal_id = answer ? ev->reply_to : ev->appeal_id, .org = org ? org->code : NULL,
        .municipality = event_municipality(j, page), .state = state,
        .due_ms = answer || (ev->type == APD_EV_DELETED && !j->removed) ? 0 : j->due_ms,
    };
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    control_event_fields(&w, &te, j->cfg->daemon.timezone);
    jw_kint(&w, "seq", j->claim.seq);
    jw_kstr(&w, "source", j->source);
    jw_kstr(&w, "page", ev->page);
    jw_kstr(&w, "link", ev->link);
    if (answer && answer_quality_name(j->verdict.quality))
        jw_kstr(&w, "quality", answer_quality_name(j->verdict.quality));
    if (ev->type == APD_EV_CREATED || ev->type == APD_EV_EDITED || answer)
        control_event_text(&w, ev->text, ev->text_len);
    jw_obj_end(&w);
    te.json = b.p;
    control_publish(j->pl->app->control, &te);
    sbuf_free(&b);
}

static void on_commit(void *arg, const struct lc_result *res)
{
    struct job *j = arg;
    struct pevent *ev = cur_ev(j);
    const char *id = ev->type == APD_EV_ANSWER ? ev->reply_to : ev->appeal_id;
    if (res->status == LCR_RETRY) {
        wait_redis(j);
        return;
    }
    if (res->status == LCR_REFUSED)
        log_debug("pipeline: %s of %s changes nothing (%s: %s)", event_name(ev->type), id,
                  res->code, res->msg);
    publish_tail(j);
    if (ev->type == APD_EV_ANSWER)
        j->pl->st.answers++;
    if (j->removed && res->status == LCR_OK) {
        metrics_add(j->pl->m_removed, 1, j->source);
        log_notice("pipeline: %s (page %s:%s) was deleted on the platform by someone other "
                   "than its author; reported as removed_by_page (triage topic, tail), its "
                   "state and clocks stay", id, j->source, ev->page ? ev->page : "?");
    }
    log_debug("pipeline: %s of %s (page %s:%s, org %s) seq %lld committed",
              job_event(j, ev->type), id, j->source, ev->page ? ev->page : "?",
              ev->type == APD_EV_CREATED ? (j->route.org ? j->route.org->code : "triage")
                                         : (j->claim.org[0] ? j->claim.org : "triage"),
              (long long)j->claim.seq);
    finish_event(j);
}

/* The lifecycle stores what the event does to the appeal (state, clocks,
 * audit) under a compare-and-set; the event itself was published above, so
 * only the SLA events it causes (a first response met) are published there. */
static void step_commit(struct job *j)
{
    static const enum lc_kind kinds[] = {
        [APD_EV_CREATED] = LC_CREATED, [APD_EV_EDITED] = LC_EDITED,
        [APD_EV_DELETED] = LC_WITHDRAWN, [APD_EV_RESTORED] = LC_RESTORED,
        [APD_EV_ANSWER] = LC_REPLY,
    };
    struct pevent *ev = cur_ev(j);
    struct lc_created c;
    char pseudo[17], copies[sizeof(j->claim.copies)];
    struct lc_request rq = {
        .appeal_id = ev->type == APD_EV_ANSWER ? ev->reply_to : ev->appeal_id,
        .ev = {.kind = kinds[ev->type], .actor = j->source, .text = ev->text,
               .link = ev->link, .published = true, .quality = (int)j->verdict.quality,
               .quality_reasons = j->verdict.reasons},
        .cfg = j->cfg,
    };
    if (ev->type == APD_EV_DELETED && ev->deleter_id) {
        keyed_pseudonym(j, ev->deleter_id, j->deleter);
        rq.ev.deleter = j->deleter;
    }
    /* An edit carries the classification of its new text; one that made an
     * appeal of a non-appeal also carries its routing decision. */
    if (ev->type == APD_EV_CREATED || (ev->type == APD_EV_EDITED && j->cls.done)) {
        created_info(j, &c, pseudo, copies, sizeof(copies));
        rq.ev.created = &c;
        rq.ev.promote = j->promoted;
    }
    if (ev->type == APD_EV_CREATED) {
        rq.fresh = true;
        rq.expect_seq = j->claim.seq;
    }
    j->step = STEP_COMMIT;
    struct lifecycle *lc = sla_engine_lifecycle(j->pl->app);
    if (lc == NULL || lifecycle_submit(lc, &rq, on_commit, j) != 0)
        wait_redis(j);
}

/* ---- intake side ---- */

static struct job *job_new(struct pipeline *pl, uint64_t rec_id, uint64_t bytes,
                           const char *source, int64_t received_ms)
{
    struct job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    j->pl = pl;
    j->cfg = config_ref(pl->app->cfg);
    j->rec_id = rec_id;
    j->bytes = bytes;
    snprintf(j->source, sizeof(j->source), "%s", source);
    j->received_ms = received_ms;
    j->next = pl->jobs;
    if (pl->jobs)
        pl->jobs->prev = j;
    pl->jobs = j;
    pl->inflight++;
    pl->inflight_bytes += bytes;
    if (pl->inflight > pl->peak_records)
        pl->peak_records = pl->inflight;
    if (pl->inflight_bytes > pl->peak_bytes)
        pl->peak_bytes = pl->inflight_bytes;
    return j;
}

static bool has_quarantine(const struct pevents *ev)
{
    for (size_t i = 0; i < ev->n; i++)
        if (ev->v[i]->quarantine)
            return true;
    return false;
}

/* Room for one more record: below both ceilings ([pipeline]).  The bytes
 * are checked before the next record's size is known, so the last record
 * taken may go past max_inflight_bytes by its own size. */
static bool has_room(const struct pipeline *pl)
{
    struct pipeline_limits l;
    pipeline_limits_of(pl->app->cfg, &l);
    return pl->inflight < (size_t)l.max_records && pl->inflight_bytes < l.max_bytes;
}

void pipeline_offer(struct pipeline *pl, uint64_t rec_id, const char *source,
                    int64_t received_ms, struct pevents *ev)
{
    /* Quarantined records are re-read from disk so their raw body is kept. */
    if (!pl->draining && !pl->pumping && has_room(pl) &&
        !has_quarantine(ev) && spool_is_next(pl->app->spool, rec_id)) {
        uint64_t bytes = spool_take(pl->app->spool, rec_id);
        struct job *j = job_new(pl, rec_id, bytes, source, received_ms);
        j->ev = *ev;
        ev->v = NULL;
        ev->n = 0;
        start_event(j);
        return;
    }
    pevents_free(ev);
    pipeline_pump(pl);
}

static const char *header_none(const struct apd_request *req, const char *name) { return NULL; }

/* A record read back from disk: parse it again, without authentication (it
 * was authenticated when it was accepted). */
static void take_from_disk(struct pipeline *pl, struct spool_rec *rec, void *buf)
{
    struct job *j = job_new(pl, rec->id, rec->size, rec->source, rec->received_ms);
    j->rawbuf = buf;
    j->body = rec->body;
    j->body_len = rec->body_len;
    struct source *src = sources_find(pl->app->sources, rec->source);
    if (src == NULL) {
        log_error("spool: record %016" PRIx64 " is from source '%s', which is no longer "
                  "configured; quarantining it", rec->id, rec->source);
        quarantine_write(pl->quarantine, j->cfg, rec->id, rec->source,
                         "source no longer configured",
                         rec->body, rec->body_len);
        pl->st.quarantined++;
        job_done(j);
        return;
    }
    struct apd_request req = {.struct_size = sizeof(req), .path = rec->path, .body = rec->body,
                              .body_len = rec->body_len, .header = header_none};
    struct apd_reply reply = {0};
    enum apd_verdict v = src->ops->handle(src->state, &req, APD_HANDLE_NOAUTH, &reply,
                                          pevents_collect, &j->ev);
    if (v != APD_ACCEPT) {
        log_error("spool: record %016" PRIx64 " of %s no longer parses (%s); quarantining it",
                  rec->id, rec->source, reply.reason ? reply.reason : "rejected");
        quarantine_write(pl->quarantine, j->cfg, rec->id, rec->source,
                         reply.reason ? reply.reason : "rejected",
                         rec->body, rec->body_len);
        pl->st.quarantined++;
        pevents_free(&j->ev);
        job_done(j);
        return;
    }
    start_event(j);
}

void pipeline_pump(struct pipeline *pl)
{
    if (pl->pumping)
        return;
    pl->pumping = true;
    while (!pl->draining && has_room(pl)) {
        struct spool_rec rec;
        void *buf = NULL;
        if (spool_next(pl->app->spool, &rec, &buf) <= 0)
            break;
        take_from_disk(pl, &rec, buf);
    }
    pl->pumping = false;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct pipeline *pl = arg;
    if (pl->redis_wait && redis_up(pl->app->redis))
        resume_redis_waiters(pl);
    pipeline_pump(pl);
}

/* The ceiling at work (/metrics): what is in flight, the highest it has
 * been, and what waits in the spool behind it. */
static void render_ceiling(void *arg)
{
    struct pipeline *pl = arg;
    struct spool_stats st;
    spool_get_stats(pl->app->spool, &st);
    metrics_set(pl->g_records, (double)pl->inflight);
    metrics_set(pl->g_bytes, (double)pl->inflight_bytes);
    metrics_set(pl->g_peak_records, (double)pl->peak_records);
    metrics_set(pl->g_peak_bytes, (double)pl->peak_bytes);
    metrics_set(pl->g_waiting, st.unreleased > pl->inflight
                                   ? (double)(st.unreleased - pl->inflight) : 0);
}

static void ceiling_gauges(struct pipeline *pl)
{
    pl->g_records = metrics_family("appealsd_pipeline_inflight_records", M_GAUGE,
                                   "Spool records in the pipeline now "
                                   "([pipeline] max_inflight_records bounds it)", NULL);
    pl->g_bytes = metrics_family("appealsd_pipeline_inflight_bytes", M_GAUGE,
                                 "Bytes of the spool records in the pipeline now "
                                 "([pipeline] max_inflight_bytes bounds it)", NULL);
    pl->g_peak_records = metrics_family("appealsd_pipeline_inflight_records_peak", M_GAUGE,
                                        "Most spool records in the pipeline at once since "
                                        "start", NULL);
    pl->g_peak_bytes = metrics_family("appealsd_pipeline_inflight_bytes_peak", M_GAUGE,
                                      "Most bytes of spool records in the pipeline at once "
                                      "since start", NULL);
    pl->g_waiting = metrics_family("appealsd_spool_waiting_records", M_GAUGE,
                                   "Accepted records waiting in the spool on disk for room "
                                   "in the pipeline", NULL);
    metrics_on_render(render_ceiling, pl);
}

struct pipeline *pipeline_new(struct app *app)
{
    struct pipeline *pl = calloc(1, sizeof(*pl));
    pl->app = app;
    pl->quarantine = quarantine_open(app->cfg->spool.dir, app->spool);
    pl->m_appeals = metrics_family("appealsd_appeals_total", M_COUNTER,
                                   "Appeal events published, by organisation and event", "org,event");
    pl->m_dups = metrics_family("appealsd_duplicates_total", M_COUNTER,
                                "Redelivered events dropped", "source");
    pl->m_ignored = metrics_family("appealsd_ignored_total", M_COUNTER,
                                   "Events acknowledged and counted without an appeal",
                                   "source,type");
    pl->m_quarantined = metrics_family("appealsd_quarantined_total", M_COUNTER,
                                       "Events kept aside because their content is broken",
                                       "source");
    pl->m_dropped = metrics_family("appealsd_dropped_total", M_COUNTER,
                                   "Appeals a drop rule kept from every recipient", "rule");
    pl->m_removed = metrics_family("appealsd_appeals_removed_by_page_total", M_COUNTER,
                                   "Appeals deleted on the platform by the page (a moderator), "
                                   "not their author: published to triage, clocks running",
                                   "source");
    ceiling_gauges(pl);
    redis_on_up(app->redis, on_redis_up, pl);
    pl->tick = event_new(app->base, -1, EV_PERSIST, on_tick, pl);
    struct timeval tv = {0, 250000};
    event_add(pl->tick, &tv);
    return pl;
}

void pipeline_drain(struct pipeline *pl) { pl->draining = true; }

void pipeline_free(struct pipeline *pl)
{
    if (pl == NULL)
        return;
    /* Unfinished jobs keep their spool records: they are replayed next start. */
    metrics_remove_hook(render_ceiling, pl);
    while (pl->jobs)
        job_free(pl->jobs);
    for (size_t i = 0; i < pl->locks.cap; i++)
        if (pl->locks.slots[i].key)
            free(pl->locks.slots[i].val);
    strmap_free(&pl->locks);
    event_free(pl->tick);
    quarantine_close(pl->quarantine);
    free(pl);
}

void pipeline_get_stats(struct pipeline *pl, struct pipeline_stats *st)
{
    *st = pl->st;
    st->inflight = pl->inflight;
    st->inflight_bytes = pl->inflight_bytes;
}
