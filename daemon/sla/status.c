#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <librdkafka/rdkafka.h>

#include "app.h"
#include "config.h"
#include "directory.h"
#include "json.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "redis.h"
#include "sbuf.h"
#include "sla.h"
#include "units.h"


struct status_stats {
    uint64_t received, applied, ignored, dead_lettered, retries;
    uint64_t rebalances;   /* times the assignment changed */
};

struct status_consumer {
    struct app *app;
    struct lifecycle *lc;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    int pipe[2];
    struct event *pev, *tick, *retry;
    rd_kafka_message_t *cur;   /* the message being handled */
    char dlq_reason[512];      /* set once cur is refused: it waits for the DLQ */
    const char *dlq_error;     /* its contract code: bad_json, unknown_appeal, ... */
    bool stopped;
    struct status_stats st;
    int32_t parts[64];         /* partition numbers the group gives us now, ascending */
    int nparts;
    struct mfam *m_status;
};

static void serve(struct status_consumer *sc);
static void handle(struct status_consumer *sc);

/* ---- completion ---- */

static void next(struct status_consumer *sc)
{
    rd_kafka_message_t *m = sc->cur;
    rd_kafka_resp_err_t e = rd_kafka_offset_store(m->rkt, m->partition, m->offset);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_info("status: offset %" PRId64 " of %s[%" PRId32 "] not stored (%s); the "
                 "partition moved to another daemon, which handles it again harmlessly",
                 m->offset, rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(e));
    rd_kafka_message_destroy(m);
    sc->cur = NULL;
    sc->dlq_reason[0] = '\0';
    sc->dlq_error = NULL;
    event_active(sc->pev, EV_READ, 0);   /* the next message, from the loop */
}

static void retry_later(struct status_consumer *sc, const char *why)
{
    sc->st.retries++;
    log_warn("status: message %s[%" PRId32 "] offset %" PRId64 " waits (%s); retrying in 1 s",
             rd_kafka_topic_name(sc->cur->rkt), sc->cur->partition, sc->cur->offset, why);
    struct timeval tv = {1, 0};
    evtimer_add(sc->retry, &tv);
}

static void on_dlq_delivered(void *arg, int err, const char *errstr)
{
    struct status_consumer *sc = arg;
    if (sc->cur == NULL)
        return;
    if (err) {
        retry_later(sc, errstr);
        return;
    }
    sc->st.dead_lettered++;
    next(sc);
}

/* The organisation whose own status topic m came on, or NULL (the shared one). */
static const struct org *topic_owner(const struct apd_config *c, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    size_t n = strlen(c->kafka.topic_status);
    if (strncmp(topic, c->kafka.topic_status, n) != 0 || topic[n] != '.')
        return NULL;
    return directory_org(c->dir, topic + n + 1);
}

/* Where a refused report goes: the dead-letter topic of the organisation
 * that sent it (each agency reads only its own) — the owner of the status
 * topic it came on, whatever it claims; on the shared status topic, the
 * organisation it names; else the shared DLQ, which only the operators read
 * (not JSON, no "org", an unknown or HTTP-only one). */
static const char *dlq_topic_of(const struct status_consumer *sc, const rd_kafka_message_t *m)
{
    char err[64];
    const struct apd_config *c = sc->app->cfg;
    const struct org *o = topic_owner(c, m);
    if (o == NULL) {
        struct json_doc *d = m->payload ? json_parse(m->payload, m->len, 8, err, sizeof(err))
                                        : NULL;
        const char *code = d ? json_str(json_get(&d->root, "org")) : NULL;
        o = code ? directory_org(c->dir, code) : NULL;
        json_free(d);
    }
    return o && o->kafka ? o->dlq_topic : c->kafka.topic_dlq;
}

static void dead_letter(struct status_consumer *sc, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void dead_letter(struct status_consumer *sc, const char *error, const char *fmt, ...)
{
    rd_kafka_message_t *m = sc->cur;
    const char *topic = dlq_topic_of(sc, m);
    if (error)
        sc->dlq_error = error;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sc->dlq_reason, sizeof(sc->dlq_reason), fmt, ap);
        va_end(ap);
        log_warn("status: %s[%" PRId32 "] offset %" PRId64 " refused: %s; sent to %s",
                 rd_kafka_topic_name(m->rkt), m->partition, m->offset, sc->dlq_reason, topic);
        metrics_add(sc->m_status, 1, "invalid", "dead_lettered");
    }
    char key[512] = "";
    if (m->key_len)
        snprintf(key, sizeof(key), "%.*s", (int)m->key_len, (const char *)m->key);
    int64_t ts = rd_kafka_message_timestamp(m, NULL);
    struct dead_letter_view v = {
        .error = sc->dlq_error, .reason = sc->dlq_reason, .topic = rd_kafka_topic_name(m->rkt),
        .partition = m->partition, .offset = m->offset, .key = m->key_len ? key : NULL,
        .payload = m->payload, .payload_len = m->len, .received_ms = ts > 0 ? ts : 0,
        .now_ms = now_ms(), .tz = sc->app->cfg->daemon.timezone,
    };
    struct sbuf b = SBUF_INIT;
    message_dead_letter(&b, &v);
    struct kafka_header hdrs[MESSAGE_NHEADERS + 1];
    message_headers(hdrs, "rejected", DEAD_LETTER_SCHEMA);
    hdrs[MESSAGE_NHEADERS] = (struct kafka_header){"dlq-reason", sc->dlq_reason};
    int rc = kafka_produce(sc->app->kafka, topic, key, b.p, b.len,
                           hdrs, MESSAGE_NHEADERS + 1, on_dlq_delivered, sc);
    sbuf_free(&b);
    if (rc != 0)
        retry_later(sc, "the dead-letter topic cannot take it now");
}

static void on_applied(void *arg, const struct lc_result *res)
{
    struct status_consumer *sc = arg;
    if (sc->cur == NULL)
        return;
    switch (res->status) {
    case LCR_OK:
        sc->st.applied++;
        next(sc);
        return;
    case LCR_NOOP:
        sc->st.ignored++;
        next(sc);
        return;
    case LCR_REFUSED:
        dead_letter(sc, strcmp(res->code, "not_found") == 0 ? "unknown_appeal" : "not_allowed",
                    "%s: %s", res->code, res->msg);
        return;
    case LCR_RETRY:
        retry_later(sc, res->msg ? res->msg : "Redis is away");
        return;
    }
}

/* ---- one message ---- */

/* The contract's statuses (appealsd.status/1) and what they do. */
static int status_kind(const char *status)
{
    if (strcmp(status, "rejected") == 0)
        return LC_NOT_OURS;
    if (strcmp(status, "need_info") == 0)
        return LC_NEEDS_INFO;
    return lc_status_kind(status);
}

static void handle(struct status_consumer *sc)
{
    rd_kafka_message_t *m = sc->cur;
    if (sc->dlq_reason[0]) {          /* a refusal waiting for the DLQ */
        dead_letter(sc, NULL, NULL);
        return;
    }
    sc->st.received++;
    const struct sla_config *s = sla_cfg(sc->app->cfg);
    if (m->len > (size_t)s->status_max_bytes) {
        dead_letter(sc, "bad_message", "message of %zu bytes is larger than [sla] "
                    "status_max_bytes", m->len);
        return;
    }
    char key[512], err[256];
    if (m->key_len)
        snprintf(key, sizeof(key), "%.*s", (int)m->key_len, (const char *)m->key);
    struct status_msg st;
    const char *code = NULL;
    if (message_parse_status(m->payload ? m->payload : "", m->len, m->key_len ? key : NULL,
                             sc->app->cfg->daemon.timezone, &st, &code, err,
                             sizeof(err)) != 0) {
        dead_letter(sc, code, "%s", err);
        return;
    }
    const struct directory *dir = sc->app->cfg->dir;
    const struct org *owner = topic_owner(sc->app->cfg, m);
    int kind = status_kind(st.status);
    if (owner && strcmp(owner->code, st.org) != 0) {
        dead_letter(sc, "not_allowed", "organisation '%s' cannot send statuses on %s, the "
                    "status topic of '%s'", st.org, rd_kafka_topic_name(m->rkt), owner->code);
    } else if (kind < 0) {
        dead_letter(sc, "bad_message", "status '%s' is not handled", st.status);
    } else if (directory_org(dir, st.org) == NULL) {
        dead_letter(sc, "bad_message", "unknown organisation '%s'", st.org);
    } else if (st.reroute_to && directory_org(dir, st.reroute_to) == NULL) {
        dead_letter(sc, "bad_message", "unknown organisation '%s' in reroute_to",
                    st.reroute_to);
    } else {
        char actor[80], idem[600];
        snprintf(actor, sizeof(actor), "agency:%s", st.org);
        /* A repeat is applied once: by the sender's own id, else by position. */
        if (st.message_id)
            snprintf(idem, sizeof(idem), "st:%s:%s", st.org, st.message_id);
        else
            snprintf(idem, sizeof(idem), "st:%s:%" PRId32 ":%" PRId64,
                     rd_kafka_topic_name(m->rkt), m->partition, m->offset);
        struct lc_request rq = {
            .appeal_id = st.appeal_id, .idem = idem,
            .ev = {.kind = (enum lc_kind)kind, .actor = actor, .reason = st.comment,
                   .link = st.answer_link, .org = kind == LC_NOT_OURS ? st.reroute_to : NULL,
                   .sender = st.org, .executor = st.executor},
        };
        metrics_add(sc->m_status, 1, st.status, "received");
        if (lifecycle_submit(sc->lc, &rq, on_applied, sc) != 0)
            retry_later(sc, "Redis is not connected");
    }
    status_msg_free(&st);
}

/* ---- the consumer on the loop ---- */

static void serve(struct status_consumer *sc)
{
    /* Bounded: errors and end-of-partition events are skipped in one go. */
    for (int i = 0; i < 100 && sc->cur == NULL && !sc->stopped; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(sc->rk, 0);
        if (m == NULL)
            return;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("status: consumer error on %s: %s", sc->app->cfg->kafka.topic_status,
                         rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        sc->cur = m;
        handle(sc);
    }
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
    char buf[64];
    while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
        ;
    serve(arg);
}

/* The group's assignment, looked at once a tick: operators see in the log
 * and in `appealsctl status` which daemon applies which partition, and when
 * a daemon dies its partitions move to the survivors after the session
 * timeout ([sla] status_session_timeout). */
static void parts_str(const int32_t *p, int n, char *out, size_t len)
{
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < n && k + 12 < len; i++)
        k += (size_t)snprintf(out + k, len - k, "%s%" PRId32, i ? "," : "", p[i]);
}

static void watch_assignment(struct status_consumer *sc)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(sc->rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR || l == NULL)
        return;
    /* Every organisation's topic has the same partitions, and the group's
     * range assignor gives a member the same numbers of each: they say it. */
    int32_t now[64];
    int n = 0;
    for (int i = 0; i < l->cnt; i++) {
        int k = 0;
        while (k < n && now[k] < l->elems[i].partition)
            k++;
        if ((k < n && now[k] == l->elems[i].partition) || n == 64)
            continue;
        memmove(now + k + 1, now + k, (size_t)(n - k) * sizeof(now[0]));
        now[k] = l->elems[i].partition;
        n++;
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (n == sc->nparts && memcmp(now, sc->parts, (size_t)n * sizeof(now[0])) == 0)
        return;
    char was[256], is[256];
    parts_str(sc->parts, sc->nparts, was, sizeof(was));
    parts_str(now, n, is, sizeof(is));
    sc->st.rebalances++;
    log_info("status: group %s now gives this daemon partitions [%s] of the status topics "
             "%s.* (was [%s]); their agency statuses are applied here",
             sla_cfg(sc->app->cfg)->status_group, is, sc->app->cfg->kafka.topic_status, was);
    memcpy(sc->parts, now, (size_t)n * sizeof(now[0]));
    sc->nparts = n;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    watch_assignment(arg);
    serve(arg);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct status_consumer *sc = arg;
    if (sc->cur)
        handle(sc);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    log_warn("status: consumer: %s (%s)", rd_kafka_err2str(err), reason);
}

/* Each organisation's own status topic, and the shared one only where the
 * configuration still asks for it: on an organisation's topic the producer
 * is that organisation (a Kafka ACL lets only its principal write there),
 * so a status can be tied to who sent it. */
static rd_kafka_topic_partition_list_t *status_topics(const struct apd_config *c)
{
    size_t norgs = c->dir ? c->dir->norgs : 0;
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new((int)norgs + 1);
    if (sla_cfg(c)->status_shared)
        rd_kafka_topic_partition_list_add(t, c->kafka.topic_status, RD_KAFKA_PARTITION_UA);
    for (size_t i = 0; i < norgs; i++)
        rd_kafka_topic_partition_list_add(t, c->dir->orgs[i].status_topic,
                                          RD_KAFKA_PARTITION_UA);
    return t;
}

struct status_consumer *status_consumer_new(struct app *app, struct lifecycle *lc, char *err,
                                            size_t errlen)
{
    struct status_consumer *sc = calloc(1, sizeof(*sc));
    if (sc == NULL)
        abort();
    sc->app = app;
    sc->lc = lc;
    sc->pipe[0] = sc->pipe[1] = -1;
    const struct apd_config *c = app->cfg;
    char session[24];
    snprintf(session, sizeof(session), "%" PRId64, sla_cfg(c)->status_session_ms);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (kafka_conf_common(conf, c, "status", err, errlen) != 0 ||
        rd_kafka_conf_set(conf, "group.id", sla_cfg(c)->status_group, err, errlen) ||
        rd_kafka_conf_set(conf, "session.timeout.ms", session, err, errlen) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "true", err, errlen) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
        /* range: a member gets the same partition numbers of every
         * organisation's topic, so its share reads as one list */
        rd_kafka_conf_set(conf, "partition.assignment.strategy", "range", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_conf_set_error_cb(conf, on_error);
    sc->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (sc->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_set_log_queue(sc->rk, NULL);
    rd_kafka_poll_set_consumer(sc->rk);   /* logs and errors come with the messages */
    rd_kafka_topic_partition_list_t *t = status_topics(c);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(sc->rk, t);
    int ntopics = t->cnt;
    rd_kafka_topic_partition_list_destroy(t);
    if (e) {
        snprintf(err, errlen, "subscribing to the status topics (%s.*): %s",
                 c->kafka.topic_status, rd_kafka_err2str(e));
        goto fail;
    }
    if (pipe2(sc->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    sc->q = rd_kafka_queue_get_consumer(sc->rk);
    rd_kafka_queue_io_event_enable(sc->q, sc->pipe[1], "1", 1);
    sc->pev = event_new(app->base, sc->pipe[0], EV_READ | EV_PERSIST, on_pipe, sc);
    event_add(sc->pev, NULL);
    sc->tick = event_new(app->base, -1, EV_PERSIST, on_tick, sc);
    struct timeval tv = {1, 0};
    event_add(sc->tick, &tv);
    sc->retry = evtimer_new(app->base, on_retry, sc);
    sc->m_status = metrics_family("appealsd_agency_statuses_total", M_COUNTER,
                                  "Agency status messages, by status and outcome",
                                  "status,outcome");
    log_info("status: consuming %d organisations' status topics (%s.CODE)%s as group %s",
             ntopics - (sla_cfg(c)->status_shared ? 1 : 0), c->kafka.topic_status,
             sla_cfg(c)->status_shared ? " and the shared one" : "", sla_cfg(c)->status_group);
    return sc;
fail:
    status_consumer_free(sc);
    return NULL;
}

/* A consumer caught in the middle of a group join (the broker holds a new
 * group's JoinGroup for group.initial.rebalance.delay.ms) keeps its broker
 * threads busy for seconds; shutdown does not wait for them. */
static void *destroy_later(void *rk)
{
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return NULL;
}

void status_consumer_free(struct status_consumer *sc)
{
    if (sc == NULL)
        return;
    bool closed = true;
    if (sc->cur)
        rd_kafka_message_destroy(sc->cur);
    sc->cur = NULL;
    if (sc->q) {
        rd_kafka_queue_io_event_enable(sc->q, -1, NULL, 0);
        /* Leave the group (committing stored offsets) without blocking the
         * loop for long: the close runs in librdkafka's thread, we wait on it. */
        rd_kafka_error_t *e = rd_kafka_consumer_close_queue(sc->rk, sc->q);
        if (e)
            rd_kafka_error_destroy(e);
        for (int i = 0; i < 10 && !rd_kafka_consumer_closed(sc->rk); i++) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(sc->q, 100);
            if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
                /* Giving the partitions back is ours to do on this path. */
                if (strcmp(rd_kafka_rebalance_protocol(sc->rk), "COOPERATIVE") == 0) {
                    rd_kafka_error_t *ue = rd_kafka_incremental_unassign(
                        sc->rk, rd_kafka_event_topic_partition_list(ev));
                    if (ue)
                        rd_kafka_error_destroy(ue);
                } else {
                    rd_kafka_assign(sc->rk, NULL);
                }
            }
            if (ev)
                rd_kafka_event_destroy(ev);
        }
        closed = rd_kafka_consumer_closed(sc->rk);
        if (!closed)
            log_warn("status: the consumer did not leave group %s within 1 s (a join still in progress?); the group "
                     "notices when its session expires", sla_cfg(sc->app->cfg)->status_group);
        rd_kafka_queue_destroy(sc->q);
    }
    if (sc->rk) {
        /* A consumer that could not leave in time must not block shutdown a
         * second time inside rd_kafka_destroy(). */
        pthread_t t;
        if (closed)
            rd_kafka_destroy(sc->rk);
        else if (pthread_create(&t, NULL, destroy_later, sc->rk) == 0)
            pthread_detach(t);
        else
            rd_kafka_destroy_flags(sc->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    if (sc->pev)
        event_free(sc->pev);
    if (sc->tick)
        event_free(sc->tick);
    if (sc->retry)
        event_free(sc->retry);
    if (sc->pipe[0] >= 0)
        close(sc->pipe[0]);
    if (sc->pipe[1] >= 0)
        close(sc->pipe[1]);
    free(sc);
}

void status_consumer_stop(struct status_consumer *sc)
{
    if (sc)
        sc->stopped = true;
}

void status_consumer_write_stats(const struct status_consumer *sc, struct jw *w)
{
    jw_kstr(w, "topic", sc->app->cfg->kafka.topic_status);
    jw_kstr(w, "group", sla_cfg(sc->app->cfg)->status_group);
    jw_key(w, "partitions");
    jw_arr(w);
    for (int i = 0; i < sc->nparts; i++)
        jw_int(w, sc->parts[i]);
    jw_arr_end(w);
    jw_kint(w, "rebalances", (int64_t)sc->st.rebalances);
    jw_kint(w, "received", (int64_t)sc->st.received);
    jw_kint(w, "applied", (int64_t)sc->st.applied);
    jw_kint(w, "ignored", (int64_t)sc->st.ignored);
    jw_kint(w, "dead_lettered", (int64_t)sc->st.dead_lettered);
    jw_kint(w, "retries", (int64_t)sc->st.retries);
}
