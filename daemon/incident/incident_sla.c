/* The SLA runs on the incident: after a join, a merge or a split the
 * incidents read the incident's lead and appeals in one script (with the
 * incident version, P inc:ver) and hand each appeal concerned an
 * LC_INCIDENT event.  The lifecycle stores it under its compare-and-set and
 * ignores a version older than the one it applied, so two daemons syncing
 * the same incident cannot undo each other: the newest read wins.  The lead
 * keeps its clocks, the others' are held (transition.c) until a split or a
 * merge makes them lead again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "engine.h"
#include "incident_int.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "sbuf.h"
#include "units.h"

struct sync {
    struct incidents *in;
    char *only;
};


static void on_synced(void *arg, const struct lc_result *res)
{
    struct incidents *in = arg;
    in->inflight--;
    metrics_add(in->m_synced, 1, res->status == LCR_OK ? "changed"
                                 : res->status == LCR_NOOP ? "unchanged" : "failed");
    if (res->status == LCR_REFUSED || res->status == LCR_RETRY)
        log_warn("incidents: could not store the incident of an appeal (%s); its clocks stay "
                 "as they were until the next change of its incident",
                 res->msg ? res->msg : "Redis went away");
}

static void submit(struct incidents *in, const char *appeal, const char *id, const char *lead,
                   const char *members, int64_t ver)
{
    struct lifecycle *lc = sla_engine_lifecycle(in->app);
    char actor[64];
    snprintf(actor, sizeof(actor), "incident:%s", id);
    struct lc_request rq = {.appeal_id = appeal,
                            .ev = {.kind = LC_INCIDENT, .actor = actor, .incident = id,
                                   .lead = lead, .members = members, .inc_ver = ver,
                                   .now = now_ms()}};
    in->inflight++;
    if (lc == NULL || lifecycle_submit(lc, &rq, on_synced, in) != 0)
        in->inflight--;
}

/* rep: {ver, id, {field, value, ...}, {appeal, created_ms, ...}} (show_script) */
static void on_read(struct redis *r, redisReply *rep, void *arg)
{
    struct sync *s = arg;
    (void)r;
    const char *id = inc_el(rep, 1);
    const redisReply *h = id && rep->elements >= 4 ? rep->element[2] : NULL;
    const redisReply *m = h ? rep->element[3] : NULL;
    const char *lead = inc_hget(h, "lead"), *state = inc_hget(h, "state");
    if (h == NULL || m->type != REDIS_REPLY_ARRAY || lead == NULL ||
        (state && strcmp(state, "merged") == 0)) {
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
            log_warn("incidents: could not read an incident to move its clocks (%s); its "
                     "appeals keep their clocks as they were", rep ? rep->str : "Redis went away");
        goto out;
    }
    int64_t ver = strtoll(inc_el(rep, 0) ? inc_el(rep, 0) : "0", NULL, 10);
    struct sbuf ids = SBUF_INIT;
    for (size_t i = 0; i + 1 < m->elements; i += 2) {
        if (inc_el(m, i) == NULL)
            continue;
        if (ids.len)
            sbuf_addc(&ids, ',');
        sbuf_adds(&ids, inc_el(m, i));
    }
    for (size_t i = 0; i + 1 < m->elements; i += 2) {
        const char *a = inc_el(m, i);
        if (a && (s->only == NULL || strcmp(a, s->only) == 0 || strcmp(a, lead) == 0))
            submit(s->in, a, id, lead, sbuf_str(&ids), ver);
    }
    sbuf_free(&ids);
out:
    s->in->inflight--;
    free(s->only);
    free(s);
}

void incident_sync(struct incidents *in, const char *incident, const char *only)
{
    if (in == NULL || incident == NULL || *incident == '\0')
        return;
    struct sync *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->in = in;
    s->only = only ? strdup(only) : NULL;
    in->inflight++;
    const char *argv[] = {redis_prefix(in->app->redis), incident};
    if (redis_eval(in->app->redis, &show_script, on_read, s, 1, 2, argv, NULL) != 0)
        on_read(NULL, NULL, s);
}

void incident_sync_metrics(struct incidents *in)
{
    in->m_synced = metrics_family("appealsd_incident_clock_syncs_total", M_COUNTER,
                                  "Appeals told which incident they are in and who leads it "
                                  "(its clocks run or are held): changed, unchanged, failed",
                                  "outcome");
}
