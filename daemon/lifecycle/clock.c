#include "clock.h"

#include <stddef.h>

#include "config.h"
#include "directory.h"
#include "policy.h"
#include "sla.h"

void clock_ctx_init(struct clock_ctx *x, const struct apd_config *cfg, const struct policy *pol,
                    const struct org *org, const char *priority)
{
    x->cfg = cfg;
    x->pol = pol;
    x->org = org;
    x->sched = sla_sched(cfg, org);
    x->critical = sla_is_critical(cfg, priority);
}

int64_t clock_between(const struct clock_ctx *x, int64_t a, int64_t b)
{
    return x->pol->calendar_time ? b - a : worktime_between(&x->sched, a, b);
}

int64_t clock_add(const struct clock_ctx *x, int64_t from, int64_t ms)
{
    return x->pol->calendar_time ? from + ms : worktime_add(&x->sched, from, ms);
}

/* The deadline of an allowance started at `from`: 59-FZ whole days end at the
 * end of the last day, counted from the next one. */
static int64_t due_from(const struct clock_ctx *x, int64_t from, const struct wdur *allow)
{
    const struct policy *p = x->pol;
    if (p->legal_days && allow->ms == 0 && allow->days > 0)
        return worktime_legal_end(&x->sched, from, allow->days,
                                  (enum day_off_rule)p->due_on_day_off);
    return worktime_add_dur(&x->sched, from, allow, p->calendar_time);
}

void clock_start(struct clock *c, const struct clock_ctx *x, const struct wdur *allow,
                 int64_t now)
{
    c->state = CS_RUN;
    c->due = due_from(x, now, allow);
    c->bud = clock_between(x, now, c->due);
    c->left = c->at = c->used = 0;
    c->fired = 0;
}

void clock_hold(struct clock *c, const struct clock_ctx *x, char state, int64_t now)
{
    if (c->state == CS_NONE || c->state == state)
        return;
    if (c->state == CS_RUN) {
        c->left = clock_between(x, now, c->due);
        c->due = 0;
    }
    c->state = state;
    c->at = state == CS_MET || state == CS_STOP ? now : 0;
    c->used = state == CS_MET ? c->bud - c->left : 0;
}

void clock_resume(struct clock *c, const struct clock_ctx *x, int64_t now)
{
    if (c->state == CS_NONE || c->state == CS_RUN)
        return;
    c->due = clock_add(x, now, c->left);
    c->state = CS_RUN;
    c->left = c->at = c->used = 0;
}

/* After the deadline moved: a stage that is in the future again fires again
 * (the new body gets its own warning); one now in the past fires at once. */
static void restage(struct clock *c, const struct clock_ctx *x, int64_t now)
{
    if (c->state != CS_RUN)
        return;
    int n = clock_nstages(x);
    for (int s = 0; s < STAGE_MAX; s++)
        if (s >= n || clock_stage_at(c, x, s) > now)
            c->fired &= ~(1u << s);
}

void clock_move(struct clock *c, const struct clock_ctx *from, const struct clock_ctx *to,
                const struct wdur *allow, bool keep, int64_t now)
{
    if (c->state == CS_NONE || c->state == CS_MET || c->state == CS_STOP)
        return;
    char state = c->state;
    int64_t remaining = state == CS_RUN ? clock_between(from, now, c->due) : c->left;
    int64_t used = c->bud - remaining;
    uint32_t fired = c->fired;
    clock_start(c, to, allow, now);
    if (keep) {
        int64_t left = c->bud - used;
        c->due = clock_add(to, now, left);
        c->fired = fired;
        restage(c, to, now);
    }
    if (state == CS_PAUSE)
        clock_hold(c, to, CS_PAUSE, now);
}

void clock_lengthen(struct clock *c, const struct clock_ctx *x, int64_t add, int64_t now)
{
    c->bud += add;
    if (c->state == CS_RUN) {
        c->due += add;
        restage(c, x, now);
    } else if (c->state == CS_PAUSE) {
        c->left += add;
    }
}

int64_t clock_term_end(const struct clock_ctx *x, int64_t from, int64_t days)
{
    struct wdur d = {days, 0};
    return due_from(x, from, &d);
}

void clock_extend(struct clock *c, const struct clock_ctx *x, const struct wdur *by,
                  int64_t now)
{
    if (c->state == CS_RUN) {
        int64_t due = worktime_add_dur(&x->sched, c->due, by, x->pol->calendar_time);
        c->bud += clock_between(x, c->due, due);
        c->due = due;
        restage(c, x, now);
    } else if (c->state == CS_PAUSE) {
        int64_t add = clock_between(x, now, worktime_add_dur(&x->sched, now, by,
                                                             x->pol->calendar_time));
        c->bud += add;
        c->left += add;
    }
}

int clock_nstages(const struct clock_ctx *x)
{
    int n = 2 + (int)x->pol->nesc;
    return n < STAGE_MAX ? n : STAGE_MAX;
}

size_t clock_recipients(const struct clock_ctx *x, const struct escalation *e,
                        const struct org **out, size_t max)
{
    const struct directory *dir = x->cfg->dir;
    const struct org *o = x->org ? x->org : dir ? dir->cur : NULL;
    size_t n = 0;
    if (max == 0)
        return 0;
    switch (e->to) {
    case ESC_OWNER:
        if (o)
            out[n++] = o;
        break;
    case ESC_UP:
        for (int i = 0; o && i < e->up && o->up; i++)
            o = o->up;
        if (o)
            out[n++] = o;
        break;
    case ESC_TOP:
        while (o && o->up)
            o = o->up;
        if (o)
            out[n++] = o;
        break;
    case ESC_ORGS:
        for (size_t i = 0; i < e->orgs.n && n < max; i++) {
            const struct org *r = directory_org(dir, e->orgs.v[i]);
            if (r)
                out[n++] = r;
        }
        break;
    }
    return n;
}

int64_t clock_stage_at(const struct clock *c, const struct clock_ctx *x, int stage)
{
    const struct policy *p = x->pol;
    if (c->state != CS_RUN || stage < 0 || stage >= clock_nstages(x))
        return INT64_MAX;
    if (stage == STAGE_WARNING) {
        if (!p->has_warning)
            return INT64_MAX;
        int64_t before = p->warn_pct ? c->bud * (100 - p->warn_value) / 100 : p->warn_value;
        /* "5d before" on a 3-day clock would warn as it starts: no news. */
        if (!p->warn_pct && before >= c->bud)
            return INT64_MAX;
        return clock_add(x, c->due, -before);
    }
    if (stage == STAGE_BREACH)
        return c->due;
    const struct escalation *e = &p->esc[stage - 2];
    int64_t t = e->pct ? clock_add(x, c->due, c->bud * (e->after_pct - 100) / 100)
                       : worktime_add_dur(&x->sched, c->due, &e->after, p->calendar_time);
    if (!x->critical) {
        const struct org *to[1];
        if (clock_recipients(x, e, to, 1) == 1) {
            struct sched rs = sla_sched(x->cfg, to[0]);
            t = worktime_next(&rs, t);
        }
    }
    return t;
}

int64_t clock_next_at(const struct clock *c, const struct clock_ctx *x)
{
    int n = clock_nstages(x);
    int64_t best = INT64_MAX;
    for (int s = 0; s < n; s++) {
        if (c->fired & 1u << s)
            continue;
        int64_t t = clock_stage_at(c, x, s);
        if (t < best)
            best = t;
    }
    return best;
}
