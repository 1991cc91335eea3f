#include "delivery.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "ack.h"
#include "apd_build.h"
#include "app.h"
#include "config.h"
#include "crypto.h"
#include "directory.h"
#include "fetch.h"
#include "kafka.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "module.h"
#include "outbox.h"
#include "redis.h"
#include "route.h"
#include "sbuf.h"
#include "strmap.h"
#include "units.h"

/* A lease outlives the request's own timeout well enough that no other
 * instance sends the same entry while this one may still be sending it. */
#define LEASE_SLACK_MS 5000
#define TAKE_UNCONFIGURED 16

struct endpoint {
    struct delivery *dl;
    char *key;                  /* "org:CODE" or "ack:SOURCE:PAGE" */
    int inflight;
    bool taking;
    int64_t not_before_ms;      /* acknowledgements: pacing per page */
};

struct send {
    struct delivery *dl;
    struct endpoint *ep;
    char *id, *appeal, *event;
    int64_t attempts;
    bool ack;
    char platform[16];
    struct fetch_xfer *x;
    struct send *prev, *next;
};

struct delivery {
    struct app *app;
    struct fetch *fetch;
    struct strmap eps;
    struct send *sends;
    struct event *tick;
    bool stopping, polling;
    int releasing;              /* lease releases of delivery_stop still unanswered */
    struct delivery_stats st;
    struct mfam *m_http, *m_latency, *m_acks;
};

static void ep_poll(struct delivery *dl, const char *key);

/* ---- config: [delivery] ---- */

#define D(f) offsetof(struct delivery_config, f)
static const struct conf_key delivery_keys[] = {
    {"http_timeout", CT_DURATION, D(http_timeout_ms), "10s", 100, 300000, NULL, 0,
     "bound on one HTTP delivery to an organisation"},
    {"retry_min", CT_DURATION, D(retry_min_ms), "2s", 10, 3600000, NULL, 0,
     "first retry delay of a failed HTTP delivery (doubles, with jitter)"},
    {"retry_max", CT_DURATION, D(retry_max_ms), "10m", 10, 86400000, NULL, 0,
     "longest retry delay; deliveries are retried until they succeed"},
    {"poll_interval", CT_DURATION, D(poll_ms), "1s", 10, 60000, NULL, 0,
     "how often the shared outbox is checked for due deliveries"},
    {0},
};

const struct delivery_config *delivery_config_of(const struct apd_config *c)
{
    return c->delivery;
}

static void delivery_build(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                           struct diag *d)
{
    struct delivery_config *dc = calloc(1, sizeof(*dc));
    if (dc == NULL)
        abort();
    struct ini_section *s = ini_find(ini, "delivery", NULL);
    conf_bind(delivery_keys, s, dc, "[delivery]", d);
    if (dc->retry_max_ms < dc->retry_min_ms)
        diag_add(d, s ? s->file : NULL, s ? s->line : 0,
                 "[delivery] retry_max: shorter than retry_min");
    c->delivery = dc;
}

static void delivery_conf_free(struct apd_config *c)
{
    if (c->delivery)
        conf_unbind(delivery_keys, c->delivery);
    free(c->delivery);
    c->delivery = NULL;
}

static void delivery_reference(void)
{
    conf_print_keys("delivery", delivery_keys);
    printf("\n");
}

const struct conf_module delivery_conf_module = {
    .name = "delivery",
    .build = delivery_build,
    .free = delivery_conf_free,
    .reference = delivery_reference,
};

/* ---- publishing: Kafka and the outbox ---- */

struct pub {
    struct delivery *dl;
    delivery_cb cb;
    void *arg;
    int pending;
    bool failed;
    const char *what;           /* "created of vk:..." for logs */
    char what_buf[256];
};

struct pub_produce {
    struct pub *p;
    char topic[256];
};

struct pub_add {
    struct pub *p;
    char ep[192];
};

static void pub_done(struct pub *p)
{
    if (--p->pending > 0)
        return;
    delivery_cb cb = p->cb;
    void *arg = p->arg;
    bool ok = !p->failed;
    free(p);
    cb(arg, ok);
}

static void on_kafka_report(void *arg, int err, const char *errstr)
{
    struct pub_produce *pp = arg;
    struct pub *p = pp->p;
    if (err) {
        p->failed = true;
        log_warn("kafka: %s not delivered to %s (%s); the event stays in the spool and is "
                 "published again", p->what, pp->topic, errstr);
    }
    free(pp);
    pub_done(p);
}

static void on_outbox_added(void *arg, bool ok, bool added)
{
    struct pub_add *a = arg;
    struct pub *p = a->p;
    if (!ok) {
        p->failed = true;
        log_warn("outbox: %s for %s not stored (Redis did not answer); published again later",
                 p->what, a->ep);
    } else if (added) {
        p->dl->st.outbox_added++;
        ep_poll(p->dl, a->ep);   /* send now rather than at the next poll */
    }
    free(a);
    pub_done(p);
}

static void add_entry(struct pub *p, const char *id, const char *ep, const char *appeal,
                      const char *const *names, const char *const *values, const size_t *lens,
                      size_t n)
{
    struct pub_add *a = calloc(1, sizeof(*a));
    if (a == NULL)
        abort();
    a->p = p;
    snprintf(a->ep, sizeof(a->ep), "%s", ep);
    p->pending++;
    struct redis *r = p->dl->app->redis;
    if (!redis_up(r) || outbox_add(r, id, ep, appeal, now_ms(), names, values, lens, n,
                                   on_outbox_added, a) != 0) {
        free(a);
        p->failed = true;
        p->pending--;
        log_warn("outbox: Redis is not connected; %s waits in the spool", p->what);
    }
}

static const struct sbuf *body_for(const struct delivery_msg *m, const struct org *o)
{
    return o && o->personal_data && m->priv ? m->priv : m->pub;
}

static void produce_one(struct pub *p, const char *topic, const char *key, const char *body,
                        size_t len, const struct kafka_header *hdrs)
{
    struct pub_produce *pp = calloc(1, sizeof(*pp));
    if (pp == NULL)
        abort();
    pp->p = p;
    snprintf(pp->topic, sizeof(pp->topic), "%s", topic);
    p->pending++;
    if (kafka_produce(p->dl->app->kafka, topic, key, body, len, hdrs, MESSAGE_NHEADERS,
                      on_kafka_report, pp) != 0) {
        free(pp);
        p->pending--;
        p->failed = true;
    }
}

static void produce_all(struct pub *p, const struct delivery_msg *m)
{
    const char *topics[3 + ROUTE_MAX_COPIES];
    const struct sbuf *bodies[3 + ROUTE_MAX_COPIES];
    size_t n = 0;
    if (m->topic) {
        topics[n] = m->topic;
        bodies[n++] = m->pub;
    } else if (m->org && m->org->kafka) {
        topics[n] = m->org->topic;
        bodies[n++] = body_for(m, m->org);
    }
    for (size_t i = 0; i < m->ncopies && i < ROUTE_MAX_COPIES; i++)
        if (m->copies[i]->kafka) {
            topics[n] = m->copies[i]->topic;
            bodies[n++] = body_for(m, m->copies[i]);
        }
    if (m->extra_topic) {
        topics[n] = m->extra_topic;
        bodies[n++] = m->pub;
    }
    struct kafka_header hdrs[MESSAGE_NHEADERS];
    message_headers(hdrs, m->event, m->schema);
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen |= strcmp(topics[k], topics[i]) == 0;
        if (!seen)
            produce_one(p, topics[i], m->appeal_id, bodies[i]->p, bodies[i]->len, hdrs);
    }
}

/* One outbox entry for an organisation's endpoint; schema with its version. */
static void enqueue_org(struct pub *p, const struct org *o, const char *appeal,
                        const char *event_id, const char *event, const char *schema,
                        const char *body, size_t len)
{
    char ep[160], id[800];
    snprintf(ep, sizeof(ep), "org:%s", o->code);
    snprintf(id, sizeof(id), "%s|%s", ep, event_id);
    const char *names[] = {"kind", "event", "schema", "body"};
    const char *values[] = {"org", event, schema, body};
    size_t lens[] = {3, strlen(event), strlen(schema), len};
    add_entry(p, id, ep, appeal, names, values, lens, 4);
}

static void enqueue_http(struct pub *p, const struct delivery_msg *m)
{
    const struct org *orgs[1 + ROUTE_MAX_COPIES];
    size_t n = 0;
    if (m->org)
        orgs[n++] = m->org;
    for (size_t i = 0; i < m->ncopies && i < ROUTE_MAX_COPIES; i++)
        orgs[n++] = m->copies[i];
    char schema[64];
    snprintf(schema, sizeof(schema), "%s/%s", m->schema, MESSAGE_SCHEMA_VERSION);
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen |= orgs[k] == orgs[i];
        if (seen || orgs[i]->http_url == NULL)
            continue;
        const struct sbuf *b = body_for(m, orgs[i]);
        enqueue_org(p, orgs[i], m->appeal_id, m->event_id, m->event, schema, b->p, b->len);
    }
}

static void enqueue_ack(struct pub *p, const struct apd_config *cfg, const struct delivery_msg *m)
{
    struct ack_plan plan;
    if (m->ack == NULL || !ack_plan_make(cfg, m->ack, &plan))
        return;
    size_t lens[ACK_MAX_FIELDS];
    for (size_t i = 0; i < plan.n; i++)
        lens[i] = strlen(plan.values[i]);
    add_entry(p, plan.id, plan.ep, m->appeal_id, plan.names, (const char *const *)plan.values,
              lens, plan.n);
    ack_plan_free(&plan);
}

static struct pub *pub_new(struct delivery *dl, const char *event, const char *appeal,
                           delivery_cb cb, void *arg)
{
    struct pub *p = calloc(1, sizeof(*p));
    if (p == NULL)
        abort();
    p->dl = dl;
    p->cb = cb;
    p->arg = arg;
    snprintf(p->what_buf, sizeof(p->what_buf), "%s of %s", event, appeal);
    p->what = p->what_buf;
    p->pending = 1;   /* guard: no completion while queueing */
    return p;
}

void delivery_publish(struct delivery *dl, const struct apd_config *cfg,
                      const struct delivery_msg *m, delivery_cb cb, void *arg)
{
    struct pub *p = pub_new(dl, m->event, m->appeal_id, cb, arg);
    produce_all(p, m);
    enqueue_http(p, m);
    enqueue_ack(p, cfg, m);
    pub_done(p);
}

/* An organisation named in a stored event that no longer takes HTTP
 * deliveries (configuration changed since) gets nothing: its topic, if it
 * has one now, was not in the envelope either. */
void delivery_publish_event(struct delivery *dl, const struct apd_config *cfg,
                            const struct delivery_event *e, delivery_cb cb, void *arg)
{
    struct pub *p = pub_new(dl, e->event, e->key, cb, arg);
    struct kafka_header hdrs[MESSAGE_NHEADERS];
    message_headers(hdrs, e->event, e->schema);
    for (size_t i = 0; i < e->ntopics; i++)
        produce_one(p, e->topics[i], e->key, e->body, e->len, hdrs);
    char schema[64];
    snprintf(schema, sizeof(schema), "%s/%s", e->schema, MESSAGE_SCHEMA_VERSION);
    for (size_t i = 0; i < e->norgs; i++) {
        const struct org *o = directory_org(cfg->dir, e->orgs[i]);
        if (o && o->http_url)
            enqueue_org(p, o, e->key, e->event_id, e->event, schema, e->body, e->len);
        else
            log_warn("delivery: %s names organisation %s, which has no http_url now; "
                     "its HTTP copy is skipped", p->what, e->orgs[i]);
    }
    pub_done(p);
}

/* ---- sending from the outbox ---- */

static struct endpoint *ep_get(struct delivery *dl, const char *key)
{
    struct endpoint *ep = strmap_get(&dl->eps, key);
    if (ep == NULL) {
        ep = calloc(1, sizeof(*ep));
        if (ep == NULL)
            abort();
        ep->dl = dl;
        ep->key = strdup(key);
        strmap_put(&dl->eps, key, ep);
    }
    return ep;
}

static const struct org *ep_org(const struct apd_config *c, const char *key)
{
    return strncmp(key, "org:", 4) == 0 ? directory_org(c->dir, key + 4) : NULL;
}

/* Requests allowed in flight; entries of endpoints the config no longer
 * serves are still taken, a few at a time, to be parked or given up. */
static int ep_capacity(const struct apd_config *c, const char *key)
{
    const struct org *o = ep_org(c, key);
    if (o && o->http_url)
        return (int)o->http_concurrency;
    if (strncmp(key, "ack:", 4) == 0 && ack_config_of(c)->enabled)
        return 1;
    return TAKE_UNCONFIGURED;
}

static int64_t lease_ms(const struct apd_config *c)
{
    int64_t t = delivery_config_of(c)->http_timeout_ms;
    if (ack_config_of(c)->timeout_ms > t)
        t = ack_config_of(c)->timeout_ms;
    return 2 * t + LEASE_SLACK_MS;
}

/* Exponential with full jitter in its upper half; an endpoint's
 * Retry-After is honoured up to retry_max. */
static int64_t backoff_ms(const struct apd_config *c, int64_t attempts, int64_t retry_after_s)
{
    const struct delivery_config *dc = delivery_config_of(c);
    int64_t d = dc->retry_min_ms;
    for (int64_t i = 1; i < attempts && d < dc->retry_max_ms; i++)
        d *= 2;
    if (d > dc->retry_max_ms)
        d = dc->retry_max_ms;
    d = d / 2 + (int64_t)(arc4random_uniform((uint32_t)(d / 2 + 1)));
    if (retry_after_s > 0 && retry_after_s * 1000 > d)
        d = retry_after_s * 1000 < dc->retry_max_ms ? retry_after_s * 1000 : dc->retry_max_ms;
    return d;
}

static void send_free(struct send *s)
{
    struct delivery *dl = s->dl;
    if (s->prev)
        s->prev->next = s->next;
    else
        dl->sends = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s->id);
    free(s->appeal);
    free(s->event);
    free(s);
}

struct settle {
    struct delivery *dl;
    char ep[192];
};

static void on_settled(void *arg, bool ok)
{
    struct settle *st = arg;
    if (!ok)
        log_warn("outbox: Redis did not confirm the outcome of a delivery to %s; its lease "
                 "expires and it is tried again", st->ep);
    if (!st->dl->stopping)
        ep_poll(st->dl, st->ep);
    free(st);
}

static void settle_done(struct send *s, const char *dead_json)
{
    struct delivery *dl = s->dl;
    struct settle *st = calloc(1, sizeof(*st));
    st->dl = dl;
    snprintf(st->ep, sizeof(st->ep), "%s", s->ep->key);
    if (outbox_done(dl->app->redis, s->id, s->ep->key, s->appeal, now_ms(),
                    dl->app->cfg->redis.dedup_ttl_ms, dead_json, on_settled, st) != 0)
        on_settled(st, false);
}

static void settle_retry(struct send *s, int64_t delay_ms, const char *error)
{
    struct delivery *dl = s->dl;
    struct settle *st = calloc(1, sizeof(*st));
    st->dl = dl;
    snprintf(st->ep, sizeof(st->ep), "%s", s->ep->key);
    if (outbox_retry(dl->app->redis, s->id, s->ep->key, now_ms() + delay_ms, error, on_settled,
                     st) != 0)
        on_settled(st, false);
}

static void give_up(struct send *s, const char *reason)
{
    struct sbuf dead = SBUF_INIT;
    struct jw w;
    char at[48];
    format_iso8601(now_ms(), s->dl->app->cfg->daemon.timezone, at, sizeof(at));
    jw_init(&w, &dead);
    jw_obj(&w);
    jw_kstr(&w, "id", s->id);
    jw_kstr(&w, "endpoint", s->ep->key);
    jw_kstr(&w, "appeal_id", s->appeal);
    jw_kint(&w, "attempts", s->attempts);
    jw_kstr(&w, "reason", reason);
    jw_kstr(&w, "at", at);
    jw_obj_end(&w);
    settle_done(s, sbuf_str(&dead));
    sbuf_free(&dead);
}

static void on_org_result(struct send *s, const struct fetch_res *res)
{
    struct delivery *dl = s->dl;
    const char *org = s->ep->key + 4;
    if (res->status >= 200 && res->status < 300) {
        dl->st.http_delivered++;
        metrics_add(dl->m_http, 1, org, "delivered");
        metrics_observe(dl->m_latency, (double)res->elapsed_ms / 1000.0, org);
        log_debug("delivery: %s of %s delivered to %s (HTTP %ld, attempt %" PRId64 ")",
                  s->event, s->appeal, org, res->status, s->attempts);
        settle_done(s, NULL);
        return;
    }
    char why[200];
    if (res->status)
        snprintf(why, sizeof(why), "HTTP %ld: %.120s", res->status, res->body);
    else
        snprintf(why, sizeof(why), "%s", res->error);
    int64_t delay = backoff_ms(dl->app->cfg, s->attempts, res->retry_after_s);
    dl->st.http_failed++;
    metrics_add(dl->m_http, 1, org, "failed");
    log_warn("delivery: %s of %s to organisation %s failed (%s); attempt %" PRId64 ", kept in "
             "the outbox, next try in %.1f s", s->event, s->appeal, org, why, s->attempts,
             (double)delay / 1000.0);
    settle_retry(s, delay, why);
}

static void on_ack_result(struct send *s, const struct fetch_res *res)
{
    struct delivery *dl = s->dl;
    const struct ack_config *a = ack_config_of(dl->app->cfg);
    char why[200];
    int64_t retry_after;
    enum ack_verdict v = ack_verdict(s->platform, res, &retry_after, why, sizeof(why));
    const char *page = s->ep->key + 4;
    if (v == ACK_DONE) {
        dl->st.acks_sent++;
        metrics_add(dl->m_acks, 1, page, "sent");
        log_info("ack: appeal %s acknowledged on %s", s->appeal, page);
        settle_done(s, NULL);
        return;
    }
    if (v == ACK_RETRY && s->attempts < a->max_attempts) {
        int64_t delay = backoff_ms(dl->app->cfg, s->attempts, retry_after);
        dl->st.acks_failed++;
        metrics_add(dl->m_acks, 1, page, "failed");
        log_warn("ack: reply to appeal %s on %s failed (%s); attempt %" PRId64 " of %" PRId64
                 ", next in %.1f s", s->appeal, page, why, s->attempts, a->max_attempts,
                 (double)delay / 1000.0);
        settle_retry(s, delay, why);
        return;
    }
    dl->st.acks_given_up++;
    metrics_add(dl->m_acks, 1, page, "given_up");
    log_warn("ack: reply to appeal %s on %s given up after %" PRId64 " attempt%s (%s)",
             s->appeal, page, s->attempts, s->attempts == 1 ? "" : "s", why);
    give_up(s, why);
}

static void on_fetched(void *arg, const struct fetch_res *res)
{
    struct send *s = arg;
    s->x = NULL;
    s->ep->inflight--;
    s->dl->st.inflight--;
    if (s->ack)
        on_ack_result(s, res);
    else
        on_org_result(s, res);
    send_free(s);
}

/* Header values come from config and platform ids: keep CR/LF out. */
static bool header_safe(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return false;
    return true;
}

static struct fetch_xfer *start_org(struct send *s, const struct org *o,
                                    const struct outbox_entry *e)
{
    size_t blen = 0;
    const char *body = outbox_field(e, "body", &blen);
    const char *schema = outbox_field(e, "schema", NULL);
    if (body == NULL || schema == NULL)
        return NULL;
    char ts[24], mac[65];
    snprintf(ts, sizeof(ts), "%lld", (long long)(now_ms() / 1000));
    struct sbuf signed_part = SBUF_INIT;
    sbuf_printf(&signed_part, "%s.", ts);
    sbuf_add(&signed_part, body, blen);
    hmac_sha256_hex(o->http_secret, strlen(o->http_secret), signed_part.p, signed_part.len,
                    mac);
    sbuf_free(&signed_part);
    char h[7][700];
    snprintf(h[0], sizeof(h[0]), "Content-Type: application/json");
    snprintf(h[1], sizeof(h[1]), "X-Appealsd-Event: %s", s->event);
    snprintf(h[2], sizeof(h[2]), "X-Appealsd-Schema: %s", schema);
    snprintf(h[3], sizeof(h[3]), "X-Appealsd-Timestamp: %s", ts);
    snprintf(h[4], sizeof(h[4]), "X-Appealsd-Signature: sha256=%s", mac);
    snprintf(h[5], sizeof(h[5]), "X-Appealsd-Delivery: %s", header_safe(s->id) ? s->id : "-");
    snprintf(h[6], sizeof(h[6]), "X-Appealsd-Attempt: %" PRId64, s->attempts);
    const char *hdrs[] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], NULL};
    struct fetch_req req = {.url = o->http_url, .headers = hdrs, .body = body,
                            .body_len = blen,
                            .timeout_ms = delivery_config_of(s->dl->app->cfg)->http_timeout_ms};
    return fetch_start(s->dl->fetch, &req, on_fetched, s);
}

static struct fetch_xfer *start_ack(struct send *s, const struct outbox_entry *e,
                                    char *err, size_t errlen)
{
    const struct apd_config *c = s->dl->app->cfg;
    struct ack_request r;
    if (ack_request_make(c, e, &r, err, errlen) != 0)
        return NULL;
    snprintf(s->platform, sizeof(s->platform), "%s", r.platform);
    struct fetch_req req = {.url = r.url, .headers = (const char *const *)r.headers,
                            .body = r.body, .body_len = r.body_len,
                            .timeout_ms = ack_config_of(c)->timeout_ms};
    struct fetch_xfer *x = fetch_start(s->dl->fetch, &req, on_fetched, s);
    if (x == NULL)
        snprintf(err, errlen, "the request could not be started");
    ack_request_free(&r);
    return x;
}

static void start_send(struct endpoint *ep, const struct outbox_entry *e)
{
    struct delivery *dl = ep->dl;
    struct send *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    const char *event = outbox_field(e, "event", NULL);
    s->dl = dl;
    s->ep = ep;
    s->id = strdup(e->id);
    s->appeal = strdup(e->appeal);
    s->event = strdup(event ? event : "ack");
    s->attempts = e->attempts;
    s->ack = strncmp(ep->key, "ack:", 4) == 0;
    s->next = dl->sends;
    if (dl->sends)
        dl->sends->prev = s;
    dl->sends = s;
    char err[256] = "";
    if (s->ack) {
        s->x = start_ack(s, e, err, sizeof(err));
        ep->not_before_ms = mono_ms() + ack_config_of(dl->app->cfg)->min_interval_ms;
    } else {
        const struct org *o = ep_org(dl->app->cfg, ep->key);
        if (o && o->http_url)
            s->x = start_org(s, o, e);
        else
            snprintf(err, sizeof(err), "organisation %s has no http_url in the configuration "
                     "now", ep->key + 4);
    }
    if (s->x) {
        ep->inflight++;
        dl->st.inflight++;
        return;
    }
    if (s->ack) {
        log_warn("ack: reply to appeal %s on %s dropped: %s", s->appeal, ep->key + 4, err);
        give_up(s, err);
    } else {
        int64_t delay = delivery_config_of(dl->app->cfg)->retry_max_ms;
        log_warn("delivery: %s of %s for %s cannot be sent: %s; it waits in the outbox (next "
                 "look in %lld s)", s->event, s->appeal, ep->key,
                 err[0] ? err : "the request could not be started", (long long)(delay / 1000));
        settle_retry(s, delay, err[0] ? err : "the request could not be started");
    }
    send_free(s);
}

static void on_taken(void *arg, bool ok, const struct outbox_entry *e, size_t n)
{
    struct endpoint *ep = arg;
    ep->taking = false;
    if (!ok || ep->dl->stopping) {
        /* Leased but not started (shutdown): the lease expires and the
         * entries come due again; nothing is lost. */
        return;
    }
    for (size_t i = 0; i < n; i++)
        start_send(ep, &e[i]);
}

static void ep_poll(struct delivery *dl, const char *key)
{
    if (dl->stopping || !redis_up(dl->app->redis))
        return;
    struct endpoint *ep = ep_get(dl, key);
    const struct apd_config *c = dl->app->cfg;
    if (ep->taking)
        return;
    int room = ep_capacity(c, key) - ep->inflight;
    if (room <= 0 || mono_ms() < ep->not_before_ms)
        return;
    int64_t now = now_ms();
    ep->taking = true;
    if (outbox_take(dl->app->redis, key, now, now + lease_ms(c), (size_t)room, on_taken, ep) != 0)
        ep->taking = false;
}

static void on_due_eps(void *arg, bool ok, const char *const *eps, size_t n)
{
    struct delivery *dl = arg;
    dl->polling = false;
    for (size_t i = 0; ok && i < n; i++)
        ep_poll(dl, eps[i]);
}

/* Re-armed each time from the running config, so a reload changes it. */
static void arm_tick(struct delivery *dl)
{
    int64_t ms = delivery_config_of(dl->app->cfg)->poll_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(dl->tick, &tv);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct delivery *dl = arg;
    if (dl->stopping)
        return;
    arm_tick(dl);
    if (dl->polling || !redis_up(dl->app->redis))
        return;
    dl->polling = true;
    if (outbox_due_endpoints(dl->app->redis, now_ms(), 256, on_due_eps, dl) != 0)
        dl->polling = false;
}

/* ---- lifecycle ---- */

struct delivery *delivery_new(struct app *app)
{
    struct delivery *dl = calloc(1, sizeof(*dl));
    if (dl == NULL)
        abort();
    dl->app = app;
    dl->fetch = fetch_new(app->base, "appealsd/" APD_VERSION);
    dl->m_http = metrics_family("appealsd_http_deliveries_total", M_COUNTER,
                                "HTTP delivery attempts to organisations, by outcome",
                                "org,result");
    dl->m_latency = metrics_family("appealsd_http_delivery_seconds", M_HISTOGRAM,
                                   "Duration of successful HTTP deliveries", "org");
    dl->m_acks = metrics_family("appealsd_acks_total", M_COUNTER,
                                "Acknowledgements to citizens, by outcome", "page,result");
    dl->tick = evtimer_new(app->base, on_tick, dl);
    arm_tick(dl);
    return dl;
}

void delivery_get_stats(const struct delivery *dl, struct delivery_stats *st)
{
    *st = dl->st;
}

static void on_released(void *arg, bool ok)
{
    struct delivery *dl = arg;
    dl->releasing--;
}

void delivery_stop(struct delivery *dl)
{
    if (dl == NULL || dl->stopping)
        return;
    dl->stopping = true;
    size_t n = 0;
    while (dl->sends) {
        struct send *s = dl->sends;
        fetch_cancel(dl->fetch, s->x);
        s->ep->inflight--;
        dl->st.inflight--;
        dl->releasing++;
        if (outbox_retry(dl->app->redis, s->id, s->ep->key, now_ms(), "interrupted by shutdown",
                         on_released, dl) != 0)
            dl->releasing--;
        send_free(s);
        n++;
    }
    if (n)
        log_info("delivery: %zu HTTP request%s interrupted by shutdown; back in the outbox", n,
                 n == 1 ? "" : "s");
}

bool delivery_idle(const struct delivery *dl)
{
    return dl == NULL || dl->releasing == 0 || !redis_up(dl->app->redis);
}

void delivery_free(struct delivery *dl)
{
    if (dl == NULL)
        return;
    dl->stopping = true;
    while (dl->sends) {
        fetch_cancel(dl->fetch, dl->sends->x);
        send_free(dl->sends);
    }
    fetch_free(dl->fetch);
    event_free(dl->tick);
    for (size_t i = 0; i < dl->eps.cap; i++)
        if (dl->eps.slots[i].key) {
            struct endpoint *ep = dl->eps.slots[i].val;
            free(ep->key);
            free(ep);
        }
    strmap_free(&dl->eps);
    free(dl);
}
