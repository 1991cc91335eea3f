#include "timers.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "appeals.h"
#include "config.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "eventbox.h"
#include "redis.h"
#include "sla.h"
#include "units.h"

struct sla_timers {
    struct app *app;
    struct lifecycle *lc;
    /* A connection of its own: timer rounds do not queue behind the
     * pipeline's commands when webhooks pour in. */
    struct redis *redis;
    struct event *ev;
    int64_t wake_at;          /* wall-clock instant the timer is set for, 0 none */
    bool claiming, stopped, again;
    unsigned processing;
    int64_t next_due;         /* earliest score left in sla:due after the last round */
    int64_t poked;            /* earliest stage armed here since the round began */
    struct sla_timer_stats st;
    struct mfam *m_lateness, *m_fired;
};

static void arm(struct sla_timers *t, int64_t delay_ms)
{
    if (t->stopped)
        return;
    if (delay_ms < 0)
        delay_ms = 0;
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    t->wake_at = now_ms() + delay_ms;
    evtimer_add(t->ev, &tv);
}

/* Another round may start while the last one's appeals are still being
 * written, as long as no more than this many batches are in the works: Redis
 * runs the claim while the daemon plans the previous batch. */
#define BATCHES_IN_FLIGHT 2

static bool busy(const struct sla_timers *t)
{
    return t->claiming ||
           t->processing >= BATCHES_IN_FLIGHT * (unsigned)sla_cfg(t->app->cfg)->batch - 1 ||
           (t->processing && !t->again);
}

/* After a round: at once when it came back full, else at the next due score
 * or the tick, whichever is sooner. */
static void schedule(struct sla_timers *t)
{
    if (busy(t))
        return;
    int64_t tick = sla_cfg(t->app->cfg)->tick_ms;
    if (t->again) {
        arm(t, 0);
        return;
    }
    int64_t delay = tick;
    if (t->next_due > 0 && t->next_due - now_ms() < delay)
        delay = t->next_due - now_ms();
    arm(t, delay);
}

static int64_t earlier(int64_t a, int64_t b) { return a == 0 ? b : b == 0 || a < b ? a : b; }

void sla_timers_poke(struct sla_timers *t, int64_t at)
{
    if (t == NULL || t->stopped)
        return;
    t->poked = earlier(t->poked, at);
    t->next_due = earlier(t->next_due, at);
    /* During a round schedule() uses it when the round ends. */
    if (busy(t) || (t->wake_at && at >= t->wake_at))
        return;
    evtimer_del(t->ev);
    arm(t, at - now_ms());
}

static void on_fired(void *arg, const struct lc_result *res)
{
    struct sla_timers *t = arg;
    t->processing--;
    if (res->status == LCR_OK && res->plan) {
        int64_t now = now_ms();
        for (size_t i = 0; i < res->plan->nmsgs; i++) {
            const struct lc_msg *m = &res->plan->msgs[i];
            if (m->at <= 0)
                continue;
            t->st.fired++;
            metrics_observe(t->m_lateness, (double)(now - m->at) / 1000.0);
            metrics_add(t->m_fired, 1, m->event);
        }
    } else if (res->status == LCR_RETRY) {
        /* The lease runs out and a later round (any daemon's) takes it again. */
        log_debug("sla: a claimed appeal was not processed (%s); retried after its lease",
                  res->msg ? res->msg : "");
    }
    schedule(t);
}

/* Events another daemon stored but did not confirm, taken over by this
 * round's claim. */
struct takeover {
    struct sla_timers *t;
    size_t n;
    char **ids, **envs;
};

static void takeover_free(struct takeover *to)
{
    for (size_t i = 0; i < to->n; i++) {
        free(to->ids[i]);
        free(to->envs[i]);
    }
    free(to->ids);
    free(to->envs);
    free(to);
}

static void publish_taken(void *arg, enum redis_repl res)
{
    struct takeover *to = arg;
    struct sla_timers *t = to->t;
    for (size_t i = 0; i < to->n && res == REDIS_REPL_OK; i++) {
        log_notice("sla: publishing event %s whose daemon did not confirm it in time",
                   to->ids[i]);
        eventbox_count_takeover(lifecycle_eventbox(t->lc));
        t->st.taken_over++;
        eventbox_publish(lifecycle_eventbox(t->lc), to->ids[i], to->envs[i]);
    }
    /* Otherwise they stay in Redis and a later round takes them again. */
    takeover_free(to);
}

/* What a failover could take back is not published: the claim (and all
 * before it) must be on redis.min_replicas replicas first. */
static void take_outbox(struct sla_timers *t, const redisReply *ob)
{
    struct takeover *to = calloc(1, sizeof(*to));
    if (to == NULL)
        abort();
    to->t = t;
    size_t cap = ob ? ob->elements / 2 : 0;
    to->ids = calloc(cap + 1, sizeof(char *));
    to->envs = calloc(cap + 1, sizeof(char *));
    for (size_t i = 0; ob && i + 1 < ob->elements; i += 2) {
        const redisReply *id = ob->element[i], *env = ob->element[i + 1];
        if (id->type != REDIS_REPLY_STRING || env->type != REDIS_REPLY_STRING)
            continue;
        to->ids[to->n] = strdup(id->str);
        to->envs[to->n++] = strdup(env->str);
    }
    if (to->n == 0) {
        takeover_free(to);
        return;
    }
    redis_replicated(t->redis, publish_taken, to);
}

static void fire(struct sla_timers *t, const redisReply *recs)
{
    int64_t now = now_ms();
    for (size_t i = 0; recs && i + 1 < recs->elements; i += 2) {
        const redisReply *id = recs->element[i];
        if (id->type != REDIS_REPLY_STRING)
            continue;
        struct lc_request rq = {
            .appeal_id = id->str,
            .ev = {.kind = LC_TIMER, .actor = "sla", .now = now},
            .release_lease = true,
            .record = recs->element[i + 1],
            .redis = t->redis,
        };
        t->st.claimed++;
        t->processing++;
        if (lifecycle_submit(t->lc, &rq, on_fired, t) != 0)
            t->processing--;   /* Redis went away: the lease brings it back */
    }
}

static void on_claimed(struct redis *r, redisReply *rep, void *arg)
{
    struct sla_timers *t = arg;
    t->claiming = false;
    t->st.rounds++;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
        if (rep && rep->type == REDIS_REPLY_ERROR)
            log_error("sla: timer round failed: %s; trying again", rep->str);
        schedule(t);
        return;
    }
    const redisReply *nd = rep->element[2];
    t->next_due = earlier(nd->type == REDIS_REPLY_STRING && nd->len ? strtoll(nd->str, NULL, 10)
                                                                     : 0, t->poked);
    int64_t batch = sla_cfg(t->app->cfg)->batch;
    const redisReply *recs = rep->element[1];
    t->again = (int64_t)(recs->elements / 2) >= batch ||
               (int64_t)(rep->element[0]->elements / 2) >= batch ||
               (t->next_due && t->next_due <= now_ms());
    take_outbox(t, rep->element[0]);
    fire(t, recs);
    schedule(t);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct sla_timers *t = arg;
    t->wake_at = 0;
    if (t->stopped || busy(t))
        return;
    if (!redis_up(t->redis)) {
        arm(t, sla_cfg(t->app->cfg)->tick_ms);
        return;
    }
    const struct sla_config *s = sla_cfg(t->app->cfg);
    t->claiming = true;
    t->again = false;
    t->poked = 0;
    if (appeals_claim_due(t->redis, now_ms(), s->lease_ms, s->batch, on_claimed, t) != 0) {
        t->claiming = false;
        arm(t, s->tick_ms);
    }
}

static void on_armed(void *arg, int64_t at) { sla_timers_poke(arg, at); }

struct sla_timers *sla_timers_new(struct app *app, struct lifecycle *lc)
{
    struct sla_timers *t = calloc(1, sizeof(*t));
    if (t == NULL)
        abort();
    t->app = app;
    t->lc = lc;
    t->redis = redis_new(app->cfg, app->base);
    redis_skip_marker(t->redis);
    t->ev = evtimer_new(app->base, on_timer, t);
    /* A stage is due at its second even when webhooks pour in: the
     * scheduler's timer and connection are served before intake. */
    event_priority_set(t->ev, 0);
    redis_set_priority(t->redis, 0);
    t->m_lateness = metrics_family("appealsd_sla_timer_lateness_seconds", M_HISTOGRAM,
                                   "How long after its instant an SLA stage was stored", NULL);
    t->m_fired = metrics_family("appealsd_sla_stages_total", M_COUNTER,
                                "SLA stages fired by this daemon", "event");
    lifecycle_on_armed(lc, on_armed, t);
    arm(t, 0);
    return t;
}

void sla_timers_stop(struct sla_timers *t)
{
    if (t == NULL)
        return;
    t->stopped = true;
    evtimer_del(t->ev);
}

void sla_timers_free(struct sla_timers *t)
{
    if (t == NULL)
        return;
    lifecycle_on_armed(t->lc, NULL, NULL);
    event_free(t->ev);
    free(t);
}

void sla_timers_close(struct sla_timers *t)
{
    /* Replies still due call back into the scheduler and the lifecycle:
     * they come (as failures) now, while both exist. */
    if (t && t->redis) {
        redis_free(t->redis);
        t->redis = NULL;
    }
}

void sla_timers_get_stats(const struct sla_timers *t, struct sla_timer_stats *st)
{
    *st = t->st;
    st->processing = t->processing;
}
