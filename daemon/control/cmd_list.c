/* `list [filters] [limit]`: open appeals, read page by page.
 *
 *   1. ZRANGEBYSCORE of the SLA schedule (sla:due, each appeal scored by its
 *      next stage, never later than its deadline) up to now + due_within_s:
 *      which appeals may be due soon;
 *   2. candidates: with `due_within_s`, the appeals of step 1, most urgent
 *      first; otherwise (also for `overdue`) the open-appeal index
 *      (idx:org:ORG when one organisation is asked for, else idx:open), newest
 *      first, a page at a time by score;
 *   3. for each page of candidates one pipelined HMGET per record, then the
 *      filter, until `limit` rows are found or the candidates run out.  A
 *      row's deadline is the earliest of its running clocks (fr, res, fz, and
 *      a formal appeal's registration and forward clocks, rg and fw).
 * Closed appeals are not indexed; `show ID` still finds them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "appeals.h"
#include "cmd_query.h"
#include "config.h"
#include "control.h"
#include "filter.h"
#include "json.h"
#include "redis.h"
#include "sbuf.h"
#include "strmap.h"
#include "units.h"

#define LIST_PAGE 200
#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 1000
/* Bounds on one request: deadlines read in step 1, records read in step 3. */
#define LIST_MAX_DUE 100000
#define LIST_MAX_SCAN 200000

/* Record fields the list reads (HMGET order). */
enum { R_ORG, R_STATE, R_CATEGORY, R_MUNI, R_PRIORITY, R_RECEIVED, R_FR_DUE, R_FR,
       R_C_FR, R_C_FR_DUE, R_C_RES, R_C_RES_DUE, R_C_FZ, R_C_FZ_DUE, R_C_RG, R_C_RG_DUE,
       R_C_FW, R_C_FW_DUE, R_N };
static const char *const rec_fields[R_N] = {
    "org", "state", "category", "municipality", "priority", "received_ms",
    "first_response_due_ms", "first_response_ms",
    "fr", "fr_due", "res", "res_due", "fz", "fz_due", "rg", "rg_due", "fw", "fw_due",
};

struct due {
    char *id;
    int64_t due_ms;           /* the earliest armed deadline before the horizon */
};

struct rec {
    char *v[R_N];
    bool present;
};

struct list {
    struct ctl_client *c;
    struct app *app;
    char *tz;
    struct ctl_filter f;
    int64_t limit, now, horizon;
    bool by_due;
    struct strmap due_map;    /* id -> struct due * */
    struct due **due_sorted;
    size_t ndue;
    bool due_capped;
    char index_key[512];
    /* Index pages go by score, not rank, so appeals opened or closed while
     * we read shift nothing: the next page starts at `max` (inclusive),
     * past the `ties` members with exactly that score already read. */
    char max[32];
    size_t ties;
    size_t next;              /* due mode: the next entry of due_sorted */
    bool exhausted;
    char *page[LIST_PAGE];
    struct rec recs[LIST_PAGE];
    size_t npage;
    int pending;
    bool failed;
    struct sbuf rows;
    struct jw w;
    size_t nrows, scanned;
    bool truncated;
};

static const char *const list_args[] = {"limit", NULL};
static const char *const closed_states[] = {"closed", "withdrawn", "resolved", NULL};

static void page_clear(struct list *l)
{
    for (size_t i = 0; i < l->npage; i++) {
        free(l->page[i]);
        for (int k = 0; k < R_N; k++)
            free(l->recs[i].v[k]);
    }
    memset(l->recs, 0, sizeof(l->recs));
    l->npage = 0;
}

static void list_free(struct list *l)
{
    page_clear(l);
    for (size_t i = 0; i < l->ndue; i++) {
        free(l->due_sorted[i]->id);
        free(l->due_sorted[i]);
    }
    free(l->due_sorted);
    strmap_free(&l->due_map);
    ctl_filter_free(&l->f);
    sbuf_free(&l->rows);
    free(l->tz);
    free(l);
}

static void finish(struct list *l)
{
    if (l->failed) {
        ctl_error(l->c, "unavailable", "Redis did not answer; try again");
        ctl_finish(l->c, NULL);
        list_free(l);
        return;
    }
    jw_arr_end(&l->w);
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_key(&w, "appeals");
    jw_raw(&w, l->rows.p, l->rows.len);
    jw_kbool(&w, "truncated", l->truncated || l->due_capped);
    jw_kint(&w, "scanned", (int64_t)l->scanned);
    jw_obj_end(&w);
    ctl_finish(l->c, b.p);
    sbuf_free(&b);
    list_free(l);
}

static void kv_time(struct jw *w, const char *k, const char *ms_text, const char *tz)
{
    int64_t ms = ms_text ? strtoll(ms_text, NULL, 10) : 0;
    char ts[48];
    if (ms <= 0) {
        jw_key(w, k);
        jw_null(w);
        return;
    }
    format_iso8601(ms, tz, ts, sizeof(ts));
    jw_kstr(w, k, ts);
}

static void write_row(struct list *l, const char *id, const struct rec *r, int64_t due)
{
    struct jw *w = &l->w;
    char ts[48];
    jw_obj(w);
    jw_kstr(w, "id", id);
    jw_kstr(w, "org", r->v[R_ORG]);
    jw_kstr(w, "state", r->v[R_STATE]);
    jw_kstr(w, "category", r->v[R_CATEGORY]);
    jw_kstr(w, "municipality", r->v[R_MUNI]);
    jw_kstr(w, "priority", r->v[R_PRIORITY]);
    kv_time(w, "received_at", r->v[R_RECEIVED], l->tz);
    kv_time(w, "first_response_due", r->v[R_FR_DUE], l->tz);
    kv_time(w, "answered_at", r->v[R_FR], l->tz);
    if (due > 0) {
        format_iso8601(due, l->tz, ts, sizeof(ts));
        jw_kstr(w, "due", ts);
    }
    jw_kbool(w, "overdue", due > 0 && due < l->now);
    jw_obj_end(w);
}

static void next_page(struct list *l);

static bool is_closed(const char *state)
{
    for (const char *const *s = closed_states; *s; s++)
        if (strcmp(state, *s) == 0)
            return true;
    return false;
}

/* A page is complete: keep the matching rows, then read on or stop. */
/* The earliest deadline of the record's running clocks, 0 when none runs. */
static int64_t rec_due(const struct rec *r)
{
    int64_t best = 0;
    for (int k = R_C_FR; k < R_N; k += 2) {
        if (r->v[k] == NULL || strcmp(r->v[k], "r") != 0 || r->v[k + 1] == NULL)
            continue;
        int64_t d = strtoll(r->v[k + 1], NULL, 10);
        if (d > 0 && (best == 0 || d < best))
            best = d;
    }
    return best;
}

static void page_done(struct list *l)
{
    size_t i = 0;
    for (; i < l->npage && (int64_t)l->nrows < l->limit; i++) {
        const struct rec *r = &l->recs[i];
        if (!r->present || is_closed(r->v[R_STATE]))
            continue;   /* a record gone, or a deadline left behind by a closed one */
        struct tail_event ev = {
            .type = "appeal", .appeal_id = l->page[i], .org = r->v[R_ORG],
            .category = r->v[R_CATEGORY], .municipality = r->v[R_MUNI],
            .priority = r->v[R_PRIORITY], .state = r->v[R_STATE], .due_ms = rec_due(r),
        };
        if (!ctl_filter_match(&l->f, &ev, l->now))
            continue;
        write_row(l, l->page[i], r, ev.due_ms);
        l->nrows++;
    }
    bool more = i < l->npage || !l->exhausted;
    page_clear(l);
    if ((int64_t)l->nrows >= l->limit || l->scanned >= LIST_MAX_SCAN) {
        l->truncated = more;
        finish(l);
        return;
    }
    if (l->exhausted) {
        finish(l);
        return;
    }
    next_page(l);
}

static char *reply_dup(const redisReply *e)
{
    if (e == NULL || e->type != REDIS_REPLY_STRING || e->len == 0)
        return NULL;
    return strndup(e->str, e->len);
}

struct rec_ref {
    struct list *l;
    size_t i;
};

static void record_done(struct list *l)
{
    if (--l->pending > 0)
        return;
    if (l->failed) {
        page_clear(l);
        finish(l);
        return;
    }
    page_done(l);
}

static void on_record(struct redis *r, redisReply *rep, void *arg)
{
    struct rec_ref *ref = arg;
    struct list *l = ref->l;
    struct rec *rec = &l->recs[ref->i];
    free(ref);
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != R_N) {
        l->failed = true;
    } else {
        for (int k = 0; k < R_N; k++)
            rec->v[k] = reply_dup(rep->element[k]);
        rec->present = rec->v[R_STATE] != NULL;
    }
    record_done(l);
}

/* One HMGET per candidate, all sent before the first reply is read. */
static void fetch_page(struct list *l)
{
    if (l->npage == 0) {
        l->exhausted = true;
        page_done(l);
        return;
    }
    l->scanned += l->npage;
    l->pending = 1;   /* guard: no completion while sending */
    for (size_t i = 0; i < l->npage && !l->failed; i++) {
        char key[600];
        appeals_key(l->app->redis, l->page[i], key, sizeof(key));
        const char *argv[2 + R_N] = {"HMGET", key};
        for (int k = 0; k < R_N; k++)
            argv[2 + k] = rec_fields[k];
        struct rec_ref *ref = malloc(sizeof(*ref));
        *ref = (struct rec_ref){l, i};
        if (redis_cmd(l->app->redis, on_record, ref, 2 + R_N, argv, NULL) == 0) {
            l->pending++;
        } else {
            free(ref);
            l->failed = true;
        }
    }
    record_done(l);
}

static void on_index(struct redis *r, redisReply *rep, void *arg)
{
    struct list *l = arg;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements % 2) {
        l->failed = true;
        finish(l);
        return;
    }
    /* WITHSCORES: id, score, id, score, ... newest first */
    size_t n = rep->elements / 2;
    for (size_t i = 0; i < n; i++) {
        const redisReply *id = rep->element[2 * i], *score = rep->element[2 * i + 1];
        if (id->type != REDIS_REPLY_STRING || score->type != REDIS_REPLY_STRING)
            continue;
        l->page[l->npage++] = strndup(id->str, id->len);
        if (strcmp(score->str, l->max) == 0) {
            l->ties++;
        } else {
            snprintf(l->max, sizeof(l->max), "%s", score->str);
            l->ties = 1;
        }
    }
    if (n < LIST_PAGE)
        l->exhausted = true;
    fetch_page(l);
}

static void next_page(struct list *l)
{
    if (l->by_due) {
        while (l->npage < LIST_PAGE && l->next < l->ndue)
            l->page[l->npage++] = strdup(l->due_sorted[l->next++]->id);
        l->exhausted = l->next >= l->ndue;
        fetch_page(l);
        return;
    }
    char offset[24], count[24];
    snprintf(offset, sizeof(offset), "%zu", l->ties);
    snprintf(count, sizeof(count), "%d", LIST_PAGE);
    const char *argv[] = {"ZREVRANGEBYSCORE", l->index_key, l->max, "-inf", "WITHSCORES",
                          "LIMIT", offset, count};
    if (redis_cmd(l->app->redis, on_index, l, 8, argv, NULL) != 0) {
        l->failed = true;
        finish(l);
    }
}

static int cmp_due(const void *a, const void *b)
{
    const struct due *x = *(struct due *const *)a, *y = *(struct due *const *)b;
    if (x->due_ms != y->due_ms)
        return x->due_ms < y->due_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Members are appeal ids, scored by their next SLA stage. */
static void add_due(struct list *l, const redisReply *m, const redisReply *score)
{
    if (score->type != REDIS_REPLY_STRING)
        return;
    char *id = strndup(m->str, m->len);
    int64_t due = (int64_t)strtod(score->str, NULL);
    struct due *d = strmap_get(&l->due_map, id);
    if (d) {
        if (due < d->due_ms)
            d->due_ms = due;
        free(id);
        return;
    }
    d = malloc(sizeof(*d));
    d->id = id;
    d->due_ms = due;
    strmap_put(&l->due_map, id, d);
    l->due_sorted = realloc(l->due_sorted, (l->ndue + 1) * sizeof(*l->due_sorted));
    l->due_sorted[l->ndue++] = d;
}

static void on_due(struct redis *r, redisReply *rep, void *arg)
{
    struct list *l = arg;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        l->failed = true;
        finish(l);
        return;
    }
    for (size_t i = 0; i + 1 < rep->elements; i += 2)
        if (rep->element[i]->type == REDIS_REPLY_STRING)
            add_due(l, rep->element[i], rep->element[i + 1]);
    l->due_capped = rep->elements >= 2 * (size_t)LIST_MAX_DUE;
    qsort(l->due_sorted, l->ndue, sizeof(*l->due_sorted), cmp_due);
    next_page(l);
}

static int parse_limit(const struct json *args, int64_t *limit)
{
    const struct json *v = json_get(args, "limit");
    *limit = LIST_DEFAULT_LIMIT;
    return v == NULL || (json_int64(v, limit) && *limit >= 1 && *limit <= LIST_MAX_LIMIT) ? 0
                                                                                          : -1;
}

static int check_args(struct ctl_client *c, struct list *l, const struct json *args)
{
    char err[256];
    if (ctl_filter_parse(&l->f, args, list_args, false, err, sizeof(err)) != 0) {
        ctl_error(c, "bad_args", "%s", err);
        return -1;
    }
    if (parse_limit(args, &l->limit) != 0) {
        ctl_error(c, "bad_args", "limit: expected 1..%d", LIST_MAX_LIMIT);
        return -1;
    }
    for (size_t i = 0; i < l->f.state.n; i++)
        if (is_closed(l->f.state.v[i])) {
            ctl_error(c, "bad_args", "list covers open appeals; %s ones are on the Kafka "
                      "topic of all appeals, and `show ID` finds each", l->f.state.v[i]);
            return -1;
        }
    return 0;
}

int ctl_cmd_list(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    struct list *l = calloc(1, sizeof(*l));
    if (check_args(c, l, args) != 0) {
        list_free(l);
        return -1;
    }
    if (!redis_up(app->redis)) {
        list_free(l);
        ctl_error(c, "unavailable", "Redis is not connected; try again");
        return -1;
    }
    l->app = app;
    l->tz = strdup(app->cfg->daemon.timezone);
    l->now = now_ms();
    l->horizon = l->now + (l->f.due_within_ms > 0 ? l->f.due_within_ms : 0);
    l->by_due = l->f.due_within_ms >= 0;
    snprintf(l->max, sizeof(l->max), "+inf");
    const char *pfx = redis_prefix(app->redis);
    if (l->f.org.n == 1)
        snprintf(l->index_key, sizeof(l->index_key), "%sidx:org:%s", pfx, l->f.org.v[0]);
    else
        snprintf(l->index_key, sizeof(l->index_key), "%sidx:open", pfx);
    jw_init(&l->w, &l->rows);
    jw_arr(&l->w);
    char due_key[256], max[24], cap[24];
    snprintf(due_key, sizeof(due_key), "%ssla:due", pfx);
    /* Deadlines up to the horizon, inclusive: "due within 2h" includes 2h. */
    snprintf(max, sizeof(max), "%lld", (long long)l->horizon);
    snprintf(cap, sizeof(cap), "%d", LIST_MAX_DUE);
    const char *argv[] = {"ZRANGEBYSCORE", due_key, "-inf", max, "WITHSCORES", "LIMIT", "0",
                          cap};
    if (redis_cmd(app->redis, on_due, l, 8, argv, NULL) != 0) {
        list_free(l);
        ctl_error(c, "unavailable", "Redis is not connected; try again");
        return -1;
    }
    l->c = ctl_hold(c);
    return 1;
}
