/* Control commands that change an appeal (answer, close, reopen, pause,
 * resume, extend, convert, reroute), rebuild, and stats.  Shapes are fixed in
 * docs/control-protocol.md; each change goes through the lifecycle, which
 * records it in the audit trail as operator:<unix user> and publishes it. */
#include "cmd_appeals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "appeals.h"
#include "config.h"
#include "engine.h"
#include "json.h"
#include "lifecycle.h"
#include "rebuild.h"
#include "redis.h"
#include "sbuf.h"
#include "tz.h"
#include "units.h"

#define MAX_REASON 2000

/* ---- arguments ---- */

static const char *arg_str(struct ctl_client *c, const struct json *args, const char *key,
                           bool required, size_t max, bool *bad)
{
    const struct json *v = json_get(args, key);
    if (v == NULL || v->type == JSON_NULL) {
        if (required) {
            ctl_error(c, "bad_args", "'%s' is required", key);
            *bad = true;
        }
        return NULL;
    }
    if (v->type != JSON_STRING || v->len == 0 || v->len > max || strlen(v->u.s) != v->len) {
        ctl_error(c, "bad_args", "'%s' must be a non-empty string of at most %zu bytes", key,
                  max);
        *bad = true;
        return NULL;
    }
    return v->u.s;
}

/* An optional instant: ISO 8601 (without an offset: the daemon's time
 * zone); 0 when absent. */
static int64_t arg_time(struct ctl_client *c, struct app *app, const struct json *args,
                        const char *key, bool *bad)
{
    const char *v = *bad ? NULL : arg_str(c, args, key, false, 64, bad);
    int64_t ms = 0;
    if (v && parse_iso8601(v, app->cfg->daemon.timezone, &ms) != 0) {
        ctl_error(c, "bad_args", "'%s' must be a time like 2026-12-02T10:00 or "
                  "2026-12-02T10:00:00+03:00", key);
        *bad = true;
    }
    return ms;
}

/* ---- the common path: one lifecycle event ---- */

static void on_changed(void *arg, const struct lc_result *res)
{
    struct ctl_client *c = arg;
    if (res->status == LCR_REFUSED) {
        ctl_error(c, res->code ? res->code : "conflict", "%s", res->msg ? res->msg : "refused");
        ctl_finish(c, NULL);
        return;
    }
    if (res->status == LCR_RETRY) {
        ctl_error(c, "unavailable", "%s; nothing was changed, try again",
                  res->msg ? res->msg : "Redis is away");
        ctl_finish(c, NULL);
        return;
    }
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "id", res->rec->id);
    jw_kstr(&w, "state", res->state ? res->state : "");
    jw_kint(&w, "seq", res->seq);
    if (res->status == LCR_NOOP)
        jw_kbool(&w, "unchanged", true);
    jw_obj_end(&w);
    ctl_finish(c, b.p);
    sbuf_free(&b);
}

static int change(struct ctl_client *c, struct app *app, const struct json *args,
                  enum lc_kind kind, bool reason_required)
{
    bool bad = false;
    const char *id = arg_str(c, args, "id", true, 512, &bad);
    const char *reason = bad ? NULL : arg_str(c, args, "reason", reason_required, MAX_REASON,
                                              &bad);
    const char *link = NULL, *org = NULL, *text = NULL;
    int64_t days = 0;
    if (!bad && kind == LC_ANSWER)
        link = arg_str(c, args, "link", false, 1024, &bad);
    if (!bad && kind == LC_ANSWER)      /* judged by the answer judge (else the reason) */
        text = arg_str(c, args, "text", false, 16384, &bad);
    if (!bad && kind == LC_REROUTE)
        org = arg_str(c, args, "org", true, 64, &bad);
    if (!bad && kind == LC_EXTEND) {
        const struct json *d = json_get(args, "days");
        if (d == NULL || !json_int64(d, &days) || days < 1 || days > 30) {
            ctl_error(c, "bad_args", "'days' must be an integer from 1 to 30");
            bad = true;
        }
    }
    int64_t received = 0, registered = 0;
    bool pending = false;
    if (kind == LC_CONVERT) {
        received = arg_time(c, app, args, "received", &bad);
        const struct json *rg = json_get(args, "registered");
        pending = rg && rg->type == JSON_STRING && strcmp(rg->u.s, "pending") == 0;
        if (!pending)
            registered = arg_time(c, app, args, "registered", &bad);
    }
    if (kind == LC_REGISTER)
        registered = arg_time(c, app, args, "at", &bad);
    if (bad)
        return -1;
    struct lc_request rq = {
        .appeal_id = id,
        .ev = {.kind = kind, .actor = ctl_actor(c), .reason = reason, .link = link, .org = org,
               .text = text,
               .days = days, .received = received, .registered = registered,
               .pending = pending},
    };
    struct lifecycle *lc = sla_engine_lifecycle(app);
    ctl_hold(c);
    if (lc == NULL || lifecycle_submit(lc, &rq, on_changed, c) != 0) {
        ctl_error(c, "unavailable", "Redis is not connected; nothing was changed, try again");
        ctl_finish(c, NULL);
    }
    return 1;
}

int cmd_answer(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    return change(c, app, args, LC_ANSWER, false);
}

int cmd_close(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    return change(c, app, args, LC_CLOSE, true);
}

int cmd_reopen(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    return change(c, app, args, LC_REOPEN, true);
}

int cmd_pause(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    return change(c, app, args, LC_PAUSE, true);
}

int cmd_resume(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    return change(c, app, args, LC_RESUME, true);
}

int cmd_extend(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    return change(c, app, args, LC_EXTEND, true);
}

int cmd_convert(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    return change(c, app, args, LC_CONVERT, true);
}

int cmd_register(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    return change(c, app, args, LC_REGISTER, false);
}

int cmd_reroute(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    return change(c, app, args, LC_REROUTE, true);
}

/* ---- rebuild ---- */

static void on_rebuilt(void *arg, const struct rebuild_result *res, const char *err)
{
    struct ctl_client *c = arg;
    if (err) {
        ctl_error(c, "rebuild_failed", "%s", err);
        ctl_finish(c, NULL);
        return;
    }
    char out[256];
    snprintf(out, sizeof(out), "{\"appeals\":%u,\"timers\":%u,\"messages\":%u,\"skipped\":%u}",
             res->appeals, res->timers, res->messages, res->skipped);
    ctl_finish(c, out);
}

int cmd_rebuild(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    char err[256];
    struct rebuild *rb = sla_engine_rebuild(app);
    if (!redis_up(app->redis)) {
        ctl_error(c, "unavailable", "Redis is not connected");
        return -1;
    }
    ctl_hold(c);
    if (rb == NULL || rebuild_start(rb, on_rebuilt, c, err, sizeof(err)) != 0) {
        ctl_error(c, "conflict", "%s", rb ? err : "the SLA engine is not running");
        ctl_finish(c, NULL);
    }
    return 1;
}

/* ---- stats ---- */

struct row {
    char key[128];
    int64_t open, answered, closed, overdue, breached, fr_met, fr_ontime;
    double median;
    bool has_median;
};

struct rows {
    struct row *v;
    size_t n;
};

static struct row *row_of(struct rows *rs, const char *key)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->v[i].key, key) == 0)
            return &rs->v[i];
    struct row *v = realloc(rs->v, (rs->n + 1) * sizeof(*v));
    if (v == NULL)
        abort();
    rs->v = v;
    struct row *r = &rs->v[rs->n++];
    memset(r, 0, sizeof(*r));
    snprintf(r->key, sizeof(r->key), "%s", key);
    return r;
}

static void add_hash(struct rows *rs, const redisReply *h, const char *dim, bool day)
{
    size_t dl = strlen(dim);
    for (size_t i = 0; h && i + 1 < h->elements; i += 2) {
        const char *f = h->element[i]->str;
        if (h->element[i]->type != REDIS_REPLY_STRING || strncmp(f, dim, dl) != 0 ||
            f[dl] != ':')
            continue;
        const char *bar = strrchr(f, '|');
        if (bar == NULL)
            continue;
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)(bar - f - dl - 1), f + dl + 1);
        int64_t n = strtoll(h->element[i + 1]->str, NULL, 10);
        struct row *r = row_of(rs, key);
        const char *what = bar + 1;
        if (!day) {
            if (strcmp(what, "overdue") == 0)
                r->overdue += n;
            else
                r->open += n;
            if (strcmp(what, "answered") == 0)
                r->answered += n;
        } else if (strcmp(what, "closed") == 0) {
            r->closed += n;
        } else if (strcmp(what, "breached") == 0) {
            r->breached += n;
        } else if (strcmp(what, "fr_met") == 0) {
            r->fr_met += n;
        } else if (strcmp(what, "fr_ontime") == 0) {
            r->fr_ontime += n;
        }
    }
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const struct row *)a)->key, ((const struct row *)b)->key);
}

struct stats_ctx {
    struct ctl_client *c;
    char by[16], dim[8];
};

static void on_stats(struct redis *r, redisReply *rep, void *arg)
{
    struct stats_ctx *x = arg;
    struct ctl_client *c = x->c;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
        ctl_error(c, "unavailable", "Redis did not answer");
        ctl_finish(c, NULL);
        free(x);
        return;
    }
    struct rows rs = {0};
    add_hash(&rs, rep->element[0], x->dim, false);
    add_hash(&rs, rep->element[1], x->dim, true);
    const redisReply *med = rep->element[2];
    for (size_t i = 0; i + 1 < med->elements; i += 2) {
        struct row *row = row_of(&rs, med->element[i]->str);
        row->median = strtod(med->element[i + 1]->str, NULL);
        row->has_median = true;
    }
    qsort(rs.v, rs.n, sizeof(*rs.v), cmp_row);
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "by", x->by);
    jw_key(&w, "rows");
    jw_arr(&w);
    for (size_t i = 0; i < rs.n; i++) {
        const struct row *row = &rs.v[i];
        jw_obj(&w);
        jw_kstr(&w, "key", row->key);
        jw_kint(&w, "open", row->open);
        jw_kint(&w, "answered", row->answered);
        jw_kint(&w, "closed", row->closed);
        jw_kint(&w, "overdue", row->overdue);
        jw_kint(&w, "breached_today", row->breached);
        jw_key(&w, "first_response_compliance");
        if (row->fr_met)
            jw_double(&w, (double)row->fr_ontime / (double)row->fr_met, 3);
        else
            jw_null(&w);
        jw_key(&w, "median_first_response_s");
        if (row->has_median)
            jw_int(&w, (int64_t)(row->median + 0.5));
        else
            jw_null(&w);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    ctl_finish(c, b.p);
    sbuf_free(&b);
    free(rs.v);
    free(x);
}

int cmd_stats(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    static const char *const by[][2] = {{"org", "org"}, {"category", "cat"},
                                        {"municipality", "muni"}};
    const char *want = json_str(json_get(args, "by"));
    if (want == NULL)
        want = "org";
    size_t k = 0;
    while (k < 3 && strcmp(by[k][0], want) != 0)
        k++;
    if (k == 3) {
        ctl_error(c, "bad_args", "'by' must be org, category or municipality");
        return -1;
    }
    struct tm tm;
    char day[16];
    tz_localtime(app->cfg->daemon.timezone, now_ms() / 1000, &tm, NULL);
    snprintf(day, sizeof(day), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    struct stats_ctx *x = calloc(1, sizeof(*x));
    if (x == NULL)
        abort();
    x->c = ctl_hold(c);
    snprintf(x->by, sizeof(x->by), "%s", by[k][0]);
    snprintf(x->dim, sizeof(x->dim), "%s", by[k][1]);
    if (appeals_stats(app->redis, x->dim, day, on_stats, x) != 0) {
        ctl_error(c, "unavailable", "Redis is not connected");
        ctl_finish(c, NULL);
        free(x);
    }
    return 1;
}
