#include "poll.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "apd_build.h"
#include "app.h"
#include "config.h"
#include "directory.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "pevent.h"
#include "pipeline.h"
#include "redis.h"
#include "sbuf.h"
#include "sources.h"
#include "spool.h"
#include "units.h"

#define POLL_TIMEOUT_MS 30000
#define POLL_MAX_BACKOFF_MS 300000
#define POLL_MAX_ITEMS 1000   /* per response: a bound on what one parse may hand over */
/* A page of 100 VK comments with their threads, or 100 Telegram updates, runs
 * to a few hundred KiB; a response cut short would never parse. */
#define POLL_MAX_BODY (8u << 20)

enum pstate { PS_IDLE, PS_LEASE, PS_FETCH, PS_STORE, PS_SAVE, PS_STANDBY, PS_BACKOFF };
static const char *const state_names[] = {"idle", "leasing", "fetching", "storing", "saving",
                                          "standby", "backoff"};

struct poller {
    struct polls *ps;
    char source[64], page[128];
    struct event *timer;
    enum pstate state;
    bool retired;             /* its page stopped polling: freed when the round ends */
    bool orphan;              /* out of the set; freed when its last item is durable */
    char *cursor;             /* as read from Redis (never NULL) */
    struct apd_poll_res *res; /* the response being stored (heap: cursors are large) */
    struct fetch_xfer *xfer;
    int64_t backoff_ms;
    unsigned pending;         /* items not yet durable */
    bool store_failed;
    uint64_t polls, items, errors;
    int64_t last_ok_ms, round_start_ms;
    char last_error[256], note[160], holder[128];
};

struct polls {
    struct app *app;
    struct fetch *fetch;
    struct poller **v;
    size_t n;
    char me[192];             /* lease owner: instance@host */
    bool stopped;
    struct gap { char source[64]; int64_t next_ms; } gaps[16];   /* per source */
    struct mfam *m_requests, *m_items, *m_lag;
};

/* One item on its way to the spool. */
struct pitem {
    struct poller *p;         /* kept alive (orphan) until its items are durable */
    struct polls *ps;
    struct pevents ev;
    int64_t received_ms;
};

static unsigned inflight;

unsigned polls_inflight(void) { return inflight; }
size_t polls_count(const struct polls *ps) { return ps ? ps->n : 0; }

static struct redis_script lease_script = {
    .name = "poll_lease",
    /* KEYS: lease, cursor; ARGV: me, ttl → {1, cursor} or {0, holder} */
    .src = "local h = redis.call('GET', KEYS[1])\n"
           "if h and h ~= ARGV[1] then return {0, h} end\n"
           "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
           "return {1, redis.call('GET', KEYS[2]) or ''}\n",
};

static struct redis_script save_script = {
    .name = "poll_save",
    /* KEYS: lease, cursor; ARGV: me, cursor, ttl → 1, or 0 when the lease was lost */
    .src = "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
           "redis.call('SET', KEYS[2], ARGV[2])\n"
           "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
           "return 1\n",
};

static void round_start(struct poller *p);
static void poller_free(struct poller *p);

static void set_cursor(struct poller *p, const char *c)
{
    char *n = strdup(c);
    if (n == NULL)
        abort();
    free(p->cursor);
    p->cursor = n;
}

static void free_poller_mem(struct poller *p)
{
    free(p->cursor);
    free(p->res);
    free(p);
}

/* The source instance and page a poller serves now (reloads swap both). */
static struct source *poll_source(struct poller *p, const struct apd_page **page)
{
    struct source *src = sources_find(p->ps->app->sources, p->source);
    if (src == NULL || src->ops->poll == NULL)
        return NULL;
    const struct page *pg = directory_page(src->dir, p->source, p->page);
    if (pg == NULL || !pg->poll)
        return NULL;
    *page = &pg->pub;
    return src;
}

static int64_t interval_ms(struct poller *p)
{
    const struct apd_page *pg;
    return poll_source(p, &pg) ? pg->poll_interval_ms : 60000;
}

static void keys(const struct poller *p, char lease[320], char cursor[320])
{
    const char *pre = redis_prefix(p->ps->app->redis);
    snprintf(lease, 320, "%spoll:%s:%s:lease", pre, p->source, p->page);
    snprintf(cursor, 320, "%spoll:%s:%s:cursor", pre, p->source, p->page);
}

static void arm(struct poller *p, int64_t ms, enum pstate st)
{
    p->state = st;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
    evtimer_add(p->timer, &tv);
}

/* The round is over; the next starts after the page's interval. */
static void round_done(struct poller *p)
{
    if (p->retired) {
        poller_free(p);
        return;
    }
    p->backoff_ms = 0;
    p->last_ok_ms = now_ms();
    arm(p, interval_ms(p), PS_IDLE);
}

static void round_failed(struct poller *p, int64_t wait_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void round_failed(struct poller *p, int64_t wait_ms, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->last_error, sizeof(p->last_error), fmt, ap);
    va_end(ap);
    p->errors++;
    free(p->res);
    p->res = NULL;
    if (p->retired) {
        poller_free(p);
        return;
    }
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : 1000;
    if (p->backoff_ms > POLL_MAX_BACKOFF_MS)
        p->backoff_ms = POLL_MAX_BACKOFF_MS;
    int64_t ms = wait_ms > p->backoff_ms ? wait_ms : p->backoff_ms;
    log_limited(LOG_LVL_WARN, 10, 60000, "poll: %s:%s: %s; retrying in %" PRId64 " ms",
                p->source, p->page, p->last_error, ms);
    arm(p, ms, PS_BACKOFF);
}

/* ---- storing what a response found ---- */

static void item_settled(struct poller *p, bool ok);

static void on_item_synced(void *arg, uint64_t id, int err)
{
    struct pitem *it = arg;
    inflight--;
    if (err == 0)
        pipeline_offer(it->ps->app->pipeline, id, it->p->source, it->received_ms, &it->ev);
    pevents_free(&it->ev);
    item_settled(it->p, err == 0);
    free(it);
}

static const char *no_header(const struct apd_request *r, const char *name) { return NULL; }

/* One item: normalised by its plugin, then appended like a webhook body. */
static int store_item(struct poller *p, struct source *src, const char *body, size_t len)
{
    struct pitem *it = calloc(1, sizeof(*it));
    if (it == NULL)
        return -ENOMEM;
    it->p = p;
    it->ps = p->ps;
    it->received_ms = now_ms();
    struct apd_request req = {.struct_size = sizeof(req), .path = APD_POLL_PATH, .body = body,
                              .body_len = len, .header = no_header};
    struct apd_reply reply = {0};
    enum apd_verdict v = src->ops->handle(src->state, &req, APD_HANDLE_NOAUTH, &reply,
                                          pevents_collect, &it->ev);
    if (v != APD_ACCEPT) {
        log_limited(LOG_LVL_ERROR, 5, 60000, "poll: %s:%s: the plugin refuses an item it "
                    "produced (%s); skipping it", p->source, p->page,
                    reply.reason ? reply.reason : "rejected");
        pevents_free(&it->ev);
        free(it);
        return 0;
    }
    int rc = spool_append(p->ps->app->spool, p->source, APD_POLL_PATH, it->received_ms, body,
                          len, on_item_synced, it, NULL);
    if (rc != 0) {
        pevents_free(&it->ev);
        free(it);
        return rc;
    }
    inflight++;
    p->pending++;
    return 0;
}

struct collect {
    struct poller *p;
    struct source *src;
    size_t n;
    int rc;
};

static int on_item(void *ctx, const char *body, size_t len)
{
    struct collect *c = ctx;
    if (c->rc != 0)
        return c->rc;
    if (++c->n > POLL_MAX_ITEMS)
        return c->rc = -E2BIG;
    c->rc = store_item(c->p, c->src, body, len);
    return c->rc;
}

static void on_saved(struct redis *r, struct redisReply *rep, void *arg)
{
    struct poller *p = arg;
    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
        round_failed(p, 0, "cannot save the cursor in Redis");
        return;
    }
    if (rep->integer == 0) {
        snprintf(p->holder, sizeof(p->holder), "another instance");
        round_failed(p, interval_ms(p), "the lease was lost before the cursor was saved");
        return;
    }
    set_cursor(p, p->res->cursor);
    bool more = p->res->more;
    free(p->res);   /* up to 64 KiB: not kept between responses */
    p->res = NULL;
    if (more && !p->ps->stopped && !p->retired) {
        round_start(p);
        return;
    }
    round_done(p);
}

static void save_cursor(struct poller *p)
{
    char lk[320], ck[320], ttl[32];
    keys(p, lk, ck);
    snprintf(ttl, sizeof(ttl), "%" PRId64, interval_ms(p) * 2 + 30000);
    const char *argv[] = {lk, ck, p->ps->me, p->res->cursor, ttl};
    p->state = PS_SAVE;
    if (redis_eval(p->ps->app->redis, &save_script, on_saved, p, 2, 5, argv, NULL) != 0)
        round_failed(p, 0, "Redis is not connected; cannot save the cursor");
}

static void item_settled(struct poller *p, bool ok)
{
    if (p->orphan) {
        if (--p->pending == 0)
            free_poller_mem(p);
        return;
    }
    if (!ok)
        p->store_failed = true;
    if (--p->pending > 0 || p->state != PS_STORE)
        return;
    if (p->store_failed) {
        if (p->res && p->res->error[0])   /* the response's own error, its items now durable */
            round_failed(p, p->res->retry_after_ms, "%s", p->res->error);
        else
            round_failed(p, 0, "the spool could not store every item; the cursor stays");
        return;
    }
    save_cursor(p);
}

/* ---- one request ---- */

static void parse_response(struct poller *p, struct source *src, const struct apd_page *pg,
                           const struct fetch_res *r)
{
    if (p->res == NULL && (p->res = malloc(sizeof(*p->res))) == NULL)
        abort();
    memset(p->res, 0, sizeof(*p->res));
    snprintf(p->res->cursor, sizeof(p->res->cursor), "%s", p->cursor);
    struct collect c = {.p = p, .src = src};
    p->state = PS_STORE;
    p->store_failed = false;
    src->ops->poll->parse(src->state, pg, p->cursor, r->status, r->body, r->body_len, p->res,
                          on_item, &c);
    p->polls++;
    p->items += c.n;
    metrics_add(p->ps->m_items, (double)c.n, p->source);
    if (p->res->note[0])
        snprintf(p->note, sizeof(p->note), "%s", p->res->note);
    if (c.rc != 0 && !p->res->retry) {
        p->res->retry = 1;
        snprintf(p->res->error, sizeof(p->res->error), "cannot store a found item: %s",
                 strerror(-c.rc));
    }
    metrics_add(p->ps->m_requests, 1, p->source, p->res->retry ? "retry" : "ok");
    if (p->res->retry || p->res->error[0]) {
        /* what was already appended completes; the cursor stays where it was */
        p->store_failed = true;
        if (p->pending == 0)
            round_failed(p, p->res->retry_after_ms, "%s",
                         p->res->error[0] ? p->res->error : "the API asks to retry later");
        return;
    }
    if (p->pending == 0)
        save_cursor(p);
}

static void on_fetched(void *arg, const struct fetch_res *r)
{
    struct poller *p = arg;
    p->xfer = NULL;
    const struct apd_page *pg;
    struct source *src = poll_source(p, &pg);
    if (src == NULL || p->retired) {
        round_done(p);
        return;
    }
    if (r->status == 0 || r->status >= 500 || r->status == 429) {
        metrics_add(p->ps->m_requests, 1, p->source, "error");
        round_failed(p, r->retry_after_s * 1000, "HTTP %ld%s%s", r->status,
                     r->error ? ": " : "", r->error ? r->error : "");
        return;
    }
    parse_response(p, src, pg, r);
}

/* Requests of one source keep at least its min_gap_ms apart. */
static int64_t gap_wait(struct poller *p, const struct apd_poll_ops *po)
{
    struct gap *last = p->ps->gaps;
    int64_t now = mono_ms();
    size_t i = 0;
    while (i < 16 && last[i].source[0] && strcmp(last[i].source, p->source) != 0)
        i++;
    if (i == 16)
        return 0;
    if (last[i].source[0] && last[i].next_ms > now)
        return last[i].next_ms - now;
    snprintf(last[i].source, sizeof(last[i].source), "%s", p->source);
    last[i].next_ms = now + po->min_gap_ms;
    return 0;
}

static void fetch_next(struct poller *p)
{
    const struct apd_page *pg;
    struct source *src = poll_source(p, &pg);
    if (src == NULL || p->ps->stopped) {
        round_done(p);
        return;
    }
    int64_t wait = gap_wait(p, src->ops->poll);
    if (wait > 0) {
        arm(p, wait, PS_LEASE);   /* the timer resumes here through round_start */
        return;
    }
    struct apd_poll_req *req = calloc(1, sizeof(*req));
    char err[256] = "";
    if (req == NULL || src->ops->poll->build(src->state, pg, p->cursor, req, err,
                                             sizeof(err)) != 0) {
        free(req);
        round_failed(p, interval_ms(p), "cannot build a request: %s", err);
        return;
    }
    struct fetch_req fr = {.url = req->url, .timeout_ms = POLL_TIMEOUT_MS,
                           .max_body = POLL_MAX_BODY};
    p->state = PS_FETCH;
    p->xfer = fetch_start(p->ps->fetch, &fr, on_fetched, p);
    if (p->xfer == NULL)
        round_failed(p, 0, "cannot start %s", req->what ? req->what : "a request");
    free(req);
}

static void on_lease(struct redis *r, struct redisReply *rep, void *arg)
{
    struct poller *p = arg;
    if (p->retired) {
        poller_free(p);
        return;
    }
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[1]->type != REDIS_REPLY_STRING) {
        round_failed(p, 0, "cannot take the page's lease in Redis");
        return;
    }
    if (rep->element[0]->integer != 1) {
        snprintf(p->holder, sizeof(p->holder), "%s", rep->element[1]->str);
        arm(p, interval_ms(p), PS_STANDBY);
        return;
    }
    p->holder[0] = '\0';
    set_cursor(p, rep->element[1]->str);
    fetch_next(p);
}

static void round_start(struct poller *p)
{
    if (p->ps->stopped || p->ps->app->state != APP_RUNNING)
        return;
    if (!redis_up(p->ps->app->redis)) {   /* not yet connected, or away: redis.c logs it */
        arm(p, 1000, p->state == PS_LEASE ? PS_IDLE : p->state);
        return;
    }
    if (p->state == PS_IDLE || p->state == PS_BACKOFF || p->state == PS_STANDBY)
        p->round_start_ms = now_ms();
    char lk[320], ck[320], ttl[32];
    keys(p, lk, ck);
    snprintf(ttl, sizeof(ttl), "%" PRId64, interval_ms(p) * 2 + 30000);
    const char *argv[] = {lk, ck, p->ps->me, ttl};
    p->state = PS_LEASE;
    if (!redis_up(p->ps->app->redis) ||
        redis_eval(p->ps->app->redis, &lease_script, on_lease, p, 2, 4, argv, NULL) != 0)
        round_failed(p, 0, "Redis is not connected");
}

static void on_timer(evutil_socket_t fd, short what, void *arg) { round_start(arg); }

/* ---- the set of pollers ---- */

/* The families exist once a page polls (a daemon without pull sources
 * exports none); each polled source's series start at 0. */
static void count_source(struct polls *ps, const char *source)
{
    if (ps->m_requests == NULL) {   /* metrics_family returns a family registered before */
        ps->m_requests = metrics_family(
            "appealsd_poll_requests_total", M_COUNTER,
            "API requests of pull sources by outcome (ok: parsed; retry: the API asked to "
            "wait; error: HTTP or transport)", "source,result");
        ps->m_items = metrics_family("appealsd_poll_items_total", M_COUNTER,
                                     "items polls found and stored in the spool (repeats of "
                                     "webhooks included: the pipeline drops them)", "source");
        ps->m_lag = metrics_family("appealsd_poll_lag_seconds", M_GAUGE,
                                   "seconds since the source's least recent page finished a "
                                   "poll round", "source");
    }
    static const char *const results[] = {"ok", "retry", "error"};
    for (size_t k = 0; k < 3; k++)
        metrics_add(ps->m_requests, 0, source, results[k]);
    metrics_add(ps->m_items, 0, source);
}

static struct poller *poller_new(struct polls *ps, const char *source, const char *page)
{
    count_source(ps, source);
    struct poller *p = calloc(1, sizeof(*p));
    struct poller **v = realloc(ps->v, (ps->n + 1) * sizeof(*v));
    if (p == NULL || v == NULL)
        abort();
    ps->v = v;
    ps->v[ps->n++] = p;
    p->ps = ps;
    snprintf(p->source, sizeof(p->source), "%s", source);
    snprintf(p->page, sizeof(p->page), "%s", page);
    p->timer = evtimer_new(ps->app->base, on_timer, p);
    set_cursor(p, "");
    arm(p, 0, PS_IDLE);
    return p;
}

static void poller_free(struct poller *p)
{
    struct polls *ps = p->ps;
    for (size_t i = 0; i < ps->n; i++)
        if (ps->v[i] == p) {
            ps->v[i] = ps->v[--ps->n];
            break;
        }
    event_free(p->timer);
    p->timer = NULL;
    if (p->pending > 0) {
        p->orphan = true;
        return;
    }
    free_poller_mem(p);
}

static struct poller *find(const struct polls *ps, const char *source, const char *page)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i]->source, source) == 0 && strcmp(ps->v[i]->page, page) == 0)
            return ps->v[i];
    return NULL;
}

/* Busy pollers finish their round first (a Redis reply or a spool sync
 * still points at them). */
static void retire(struct poller *p)
{
    p->retired = true;
    if (p->state == PS_IDLE || p->state == PS_STANDBY || p->state == PS_BACKOFF ||
        (p->state == PS_LEASE && evtimer_pending(p->timer, NULL))) {
        poller_free(p);
    } else if (p->state == PS_FETCH && p->xfer) {
        fetch_cancel(p->ps->fetch, p->xfer);
        poller_free(p);
    }
}

void polls_sync(struct polls *ps)
{
    const struct directory *dir = ps->app->cfg->dir;
    for (size_t i = ps->n; i-- > 0;) {
        struct poller *p = ps->v[i];
        const struct page *pg = directory_page(dir, p->source, p->page);
        if (pg == NULL || !pg->poll)
            retire(p);
    }
    for (size_t i = 0; dir && i < dir->npages; i++) {
        const struct page *pg = &dir->pages[i];
        struct source *src = sources_find(ps->app->sources, pg->source);
        if (!pg->poll || src == NULL || find(ps, pg->source, pg->id))
            continue;
        if (src->ops->poll == NULL) {
            log_warn("poll: page %s:%s has poll = yes, but its plugin cannot poll; "
                     "it gets webhooks only", pg->source, pg->id);
            continue;
        }
        poller_new(ps, pg->source, pg->id);
    }
}

static void on_render(void *arg)
{
    struct polls *ps = arg;
    if (ps->m_lag == NULL)
        return;
    metrics_clear(ps->m_lag);
    int64_t now = now_ms();
    for (size_t i = 0; i < ps->n; i++) {
        const struct poller *p = ps->v[i];
        int64_t since = p->last_ok_ms ? p->last_ok_ms : p->ps->app->started_ms;
        double lag = (double)(now - since) / 1000.0;
        if (lag > metrics_get(ps->m_lag, p->source))
            metrics_set(ps->m_lag, lag, p->source);
    }
}

struct polls *polls_new(struct app *app)
{
    struct polls *ps = calloc(1, sizeof(*ps));
    if (ps == NULL)
        abort();
    ps->app = app;
    ps->fetch = fetch_new(app->base, "appealsd/" APD_VERSION " (poll)");
    char host[128] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(ps->me, sizeof(ps->me), "%s@%s", app->cfg->daemon.instance, host);
    metrics_on_render(on_render, ps);
    polls_sync(ps);
    if (ps->n)
        log_info("poll: %zu pages are polled (as %s)", ps->n, ps->me);
    return ps;
}

void polls_stop(struct polls *ps)
{
    if (ps == NULL)
        return;
    ps->stopped = true;
    for (size_t i = 0; i < ps->n; i++) {
        struct poller *p = ps->v[i];
        evtimer_del(p->timer);
        if (p->xfer) {
            fetch_cancel(ps->fetch, p->xfer);
            p->xfer = NULL;
        }
    }
}

void polls_free(struct polls *ps)
{
    if (ps == NULL)
        return;
    polls_stop(ps);
    metrics_remove_hook(on_render, ps);
    /* Spool syncs still pending keep their item; it forgets the poller. */
    while (ps->n)
        poller_free(ps->v[0]);
    free(ps->v);
    fetch_free(ps->fetch);
    free(ps);
}

static void poller_json(const struct poller *p, struct jw *w)
{
    jw_obj(w);
    jw_key(w, "source");
    jw_str(w, p->source);
    jw_key(w, "page");
    jw_str(w, p->page);
    jw_key(w, "state");
    jw_str(w, state_names[p->state]);
    jw_key(w, "polls");
    jw_int(w, (int64_t)p->polls);
    jw_key(w, "items");
    jw_int(w, (int64_t)p->items);
    jw_key(w, "errors");
    jw_int(w, (int64_t)p->errors);
    jw_key(w, "last_ok_ms");
    jw_int(w, p->last_ok_ms);
    jw_key(w, "cursor");
    jw_str(w, p->cursor);
    jw_key(w, "last_error");
    jw_str(w, p->last_error[0] ? p->last_error : NULL);
    jw_key(w, "note");
    jw_str(w, p->note[0] ? p->note : NULL);
    jw_key(w, "lease_holder");
    jw_str(w, p->holder[0] ? p->holder : NULL);
    jw_obj_end(w);
}

void polls_json(const struct polls *ps, const char *page, struct sbuf *out)
{
    struct jw w;
    jw_init(&w, out);
    if (page) {
        const char *colon = strchr(page, ':');
        const struct poller *p = NULL;
        for (size_t i = 0; ps && colon && i < ps->n && p == NULL; i++)
            if (strlen(ps->v[i]->source) == (size_t)(colon - page) &&
                strncmp(ps->v[i]->source, page, (size_t)(colon - page)) == 0 &&
                strcmp(ps->v[i]->page, colon + 1) == 0)
                p = ps->v[i];
        if (p)
            poller_json(p, &w);
        else
            sbuf_adds(out, "null");
        return;
    }
    jw_arr(&w);
    for (size_t i = 0; ps && i < ps->n; i++)
        poller_json(ps->v[i], &w);
    jw_arr_end(&w);
}
