#include "kafka.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <librdkafka/rdkafka.h>

#include "config.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "units.h"

struct kafka {
    rd_kafka_t *rk;
    rd_kafka_queue_t *mq;
    struct event *kev, *tick;
    int pipe[2];
    int brokers_up;
    int64_t queue_bytes;   /* msg_size of the last statistics */
    bool stats_seen;
    int64_t last_ok_ms;
    struct mfam *m_latency, *m_errors, *m_produced;
};

/* Carried through librdkafka as the message opaque. */
struct kmsg {
    kafka_dr_fn cb;
    void *arg;
    uint64_t enq_us;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka *k = opaque;
    struct kmsg *km = m->_private;
    const char *topic = rd_kafka_topic_name(m->rkt);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        k->last_ok_ms = mono_ms();
        metrics_observe(k->m_latency, (double)(mono_us() - km->enq_us) / 1e6, topic);
        metrics_add(k->m_produced, 1, topic);
    } else {
        metrics_add(k->m_errors, 1, topic, rd_kafka_err2name(m->err));
        if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
            m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            log_error("kafka: topic %s does not exist; create the configured topics with "
                      "`appealsd --create-topics` (the daemon never relies on auto-creation)",
                      topic);
    }
    if (km) {
        km->cb(km->arg, m->err, m->err ? rd_kafka_err2str(m->err) : NULL);
        free(km);
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        log_error("kafka: fatal producer error (%s); records stay in the spool, restart the "
                  "daemon to recover", buf);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        log_warn("kafka: all brokers are down (%s); appeals wait in the spool until one comes "
                 "back", reason);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
        err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
        err == RD_KAFKA_RESP_ERR__SSL) {
        /* librdkafka retries on its own; only a configuration change helps */
        log_limited(LOG_LVL_ERROR, 1, 60000, "kafka: the brokers refused the connection (%s); "
                    "appeals wait in the spool; check [kafka] security_protocol, sasl_* and "
                    "ssl_* and restart", reason);
        return;
    }
    log_info("kafka: %s (%s)", rd_kafka_err2str(err), reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    log_msg(level <= 3 ? LOG_LVL_ERROR : level == 4 ? LOG_LVL_WARN : level <= 6 ? LOG_LVL_INFO
                                                                                 : LOG_LVL_DEBUG,
            "kafka: %s: %s", fac, buf);
}

/* Statistics tell which brokers are up; kept for status and readiness. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    struct kafka *k = opaque;
    char err[128];
    struct json_doc *d = json_parse(json, len, 16, err, sizeof(err));
    if (d == NULL)
        return 0;
    const struct json *b = json_get(&d->root, "brokers");
    int up = 0;
    for (uint32_t i = 0; b && b->type == JSON_OBJECT && i < b->len; i++) {
        const struct json *br = &b->u.o[i].val;
        const char *state = json_str(json_get(br, "state"));
        int64_t nodeid = -1;
        json_int64(json_get(br, "nodeid"), &nodeid);
        if (state && strcmp(state, "UP") == 0 && nodeid >= 0)
            up++;
    }
    k->brokers_up = up;
    json_int64(json_get(&d->root, "msg_size"), &k->queue_bytes);
    k->stats_seen = true;
    json_free(d);
    return 0;
}

static void serve(struct kafka *k)
{
    /* Bounded: a flood of internal ops must not starve the loop. */
    for (int i = 0; i < 1000 && rd_kafka_poll(k->rk, 0) > 0; i++)
        ;
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    serve(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg) { serve(arg); }

/* [kafka] security_protocol, sasl_*, ssl_* as librdkafka's properties
 * (CONFIGURATION.md of librdkafka: security.protocol, sasl.mechanisms,
 * sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location,
 * ssl.key.location).  Unset keys leave librdkafka's defaults. */
static int conf_security(rd_kafka_conf_t *conf, const struct cfg_kafka *k, char *err,
                         size_t errlen)
{
    const char *const pairs[][2] = {
        {"security.protocol", kafka_security_protocols[k->security_protocol]},
        {"sasl.mechanisms", k->sasl_mechanism != KAFKA_SASL_NONE
                                ? kafka_sasl_mechanisms[k->sasl_mechanism] : NULL},
        {"sasl.username", k->sasl_username},
        {"sasl.password", k->sasl_password},
        {"ssl.ca.location", k->ssl_ca_location},
        {"ssl.certificate.location", k->ssl_certificate_location},
        {"ssl.key.location", k->ssl_key_location},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        if (pairs[i][1] && rd_kafka_conf_set(conf, pairs[i][0], pairs[i][1], err, errlen) !=
                               RD_KAFKA_CONF_OK)
            return -1;
    return 0;
}

int kafka_conf_common(void *rdc, const struct apd_config *c, const char *role, char *err,
                      size_t errlen)
{
    rd_kafka_conf_t *conf = rdc;
    char cid[256];
    snprintf(cid, sizeof(cid), "%s-%s", c->kafka.client_id, role);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", c->kafka.brokers, err, errlen) ||
        rd_kafka_conf_set(conf, "client.id", cid, err, errlen) ||
        rd_kafka_conf_set(conf, "log.queue", "true", err, errlen))
        return -1;
    if (conf_security(conf, &c->kafka, err, errlen) != 0)
        return -1;
    /* after the first-class keys: a property may still override them */
    for (size_t i = 0; i < c->kafka.properties.n; i++) {
        char *kv = strdup(c->kafka.properties.v[i]);
        char *eq = strchr(kv, '=');
        int rc = -1;
        if (eq) {
            *eq = '\0';
            rc = rd_kafka_conf_set(conf, kv, eq + 1, err, errlen) == RD_KAFKA_CONF_OK ? 0 : -1;
        }
        free(kv);
        if (rc)
            return -1;
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    return 0;
}

struct kafka *kafka_new(const struct apd_config *c, struct event_base *base, char *err,
                        size_t errlen)
{
    struct kafka *k = calloc(1, sizeof(*k));
    k->pipe[0] = k->pipe[1] = -1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char v[32];
    if (kafka_conf_common(conf, c, "producer", err, errlen) != 0)
        goto fail_conf;
    snprintf(v, sizeof(v), "%" PRId64, c->kafka.delivery_timeout_ms);
    /* Topics come from `appealsd --create-topics` with the configured
     * partitions and replication, never from a broker's defaults. */
    if (rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", err, errlen) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, errlen) ||
        rd_kafka_conf_set(conf, "acks", "all", err, errlen) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", v, err, errlen))
        goto fail_conf;
    /* A topic the brokers do not know fails its messages this soon (with
     * "Unknown topic", and the hint below) instead of timing out silently. */
    snprintf(v, sizeof(v), "%" PRId64, c->kafka.delivery_timeout_ms / 2 < 10000
                                           ? c->kafka.delivery_timeout_ms / 2 : 10000);
    if (rd_kafka_conf_set(conf, "topic.metadata.propagation.max.ms", v, err, errlen))
        goto fail_conf;
    snprintf(v, sizeof(v), "%" PRId64, c->kafka.linger_ms);
    if (rd_kafka_conf_set(conf, "linger.ms", v, err, errlen))
        goto fail_conf;
    snprintf(v, sizeof(v), "%" PRId64, c->kafka.queue_max_messages);
    if (rd_kafka_conf_set(conf, "queue.buffering.max.messages", v, err, errlen) ||
        rd_kafka_conf_set(conf, "statistics.interval.ms", "2000", err, errlen) ||
        rd_kafka_conf_set(conf, "compression.codec", "lz4", err, errlen))
        goto fail_conf;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_conf_set_opaque(conf, k);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (k->rk == NULL)
        goto fail_conf;
    rd_kafka_set_log_queue(k->rk, NULL);   /* logs to the main queue: served on the loop */
    if (pipe2(k->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    k->mq = rd_kafka_queue_get_main(k->rk);
    rd_kafka_queue_io_event_enable(k->mq, k->pipe[1], "1", 1);
    k->kev = event_new(base, k->pipe[0], EV_READ | EV_PERSIST, on_pipe, k);
    event_add(k->kev, NULL);
    k->tick = event_new(base, -1, EV_PERSIST, on_tick, k);
    struct timeval tv = {1, 0};
    event_add(k->tick, &tv);
    k->m_latency = metrics_family("appealsd_kafka_delivery_seconds", M_HISTOGRAM,
                                  "Time from produce to the broker's acknowledgement", "topic");
    k->m_errors = metrics_family("appealsd_kafka_delivery_errors_total", M_COUNTER,
                                 "Messages the broker did not acknowledge (kept in the spool)",
                                 "topic,error");
    k->m_produced = metrics_family("appealsd_kafka_messages_total", M_COUNTER,
                                   "Messages delivered to Kafka", "topic");
    return k;
fail_conf:
    rd_kafka_conf_destroy(conf);
fail:
    kafka_free(k, 0);
    return NULL;
}

int kafka_produce(struct kafka *k, const char *topic, const char *key, const void *val,
                  size_t len, const struct kafka_header *hdrs, size_t nhdrs, kafka_dr_fn cb,
                  void *arg)
{
    struct kmsg *km = malloc(sizeof(*km));
    km->cb = cb;
    km->arg = arg;
    km->enq_us = mono_us();
    rd_kafka_headers_t *h = rd_kafka_headers_new(nhdrs);
    for (size_t i = 0; i < nhdrs; i++)
        rd_kafka_header_add(h, hdrs[i].name, -1, hdrs[i].value, -1);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(km), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;   /* headers now belong to the message */
    rd_kafka_headers_destroy(h);
    free(km);
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return -ENOBUFS;
    log_warn("kafka: cannot queue a message for %s: %s", topic, rd_kafka_err2str(e));
    return e == RD_KAFKA_RESP_ERR__FATAL ? -EIO : -EINVAL;
}

size_t kafka_outq(struct kafka *k) { return k && k->rk ? (size_t)rd_kafka_outq_len(k->rk) : 0; }
int kafka_brokers_up(struct kafka *k) { return k->brokers_up; }
int64_t kafka_queue_bytes(struct kafka *k) { return k->queue_bytes; }

bool kafka_up(struct kafka *k)
{
    if (k->brokers_up > 0)
        return true;
    /* Before the first statistics arrive, a recent delivery is proof enough. */
    return !k->stats_seen && k->last_ok_ms && mono_ms() - k->last_ok_ms < 5000;
}

void kafka_purge_queued(struct kafka *k)
{
    if (k && k->rk)
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE);
}

void *kafka_handle(struct kafka *k) { return k->rk; }

void kafka_free(struct kafka *k, int flush_ms)
{
    if (k == NULL)
        return;
    if (k->rk && flush_ms > 0)
        rd_kafka_flush(k->rk, flush_ms);   /* serves delivery reports meanwhile */
    if (k->rk) {
        /* Whatever is still queued now comes back as failed reports, which
         * leave their records in the spool for the next start. */
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(k->rk, 0);
    }
    if (k->mq) {
        rd_kafka_queue_io_event_enable(k->mq, -1, NULL, 0);
        rd_kafka_queue_destroy(k->mq);
    }
    if (k->rk)
        rd_kafka_destroy(k->rk);
    if (k->kev)
        event_free(k->kev);
    if (k->tick)
        event_free(k->tick);
    if (k->pipe[0] >= 0)
        close(k->pipe[0]);
    if (k->pipe[1] >= 0)
        close(k->pipe[1]);
    free(k);
}

/* kafka.replication, or with 0 what the cluster can carry: 3 on three
 * brokers or more, else 1 (a single development broker). */
static int topic_replication(rd_kafka_t *rk, const struct apd_config *c, int timeout_ms)
{
    if (c->kafka.replication > 0)
        return (int)c->kafka.replication;
    const struct rd_kafka_metadata *md = NULL;
    int brokers = 0;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        brokers = md->broker_cnt;
        rd_kafka_metadata_destroy(md);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;      /* not 1: a cluster counted wrong would get unreplicated topics */
    printf("the cluster at %s has %d brokers: replication %d\n", c->kafka.brokers, brokers,
           brokers >= 3 ? 3 : 1);
    return brokers >= 3 ? 3 : 1;
}

int kafka_create_topics(const struct apd_config *c, const char *const *topics, size_t n,
                        int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (kafka_conf_common(conf, c, "admin", err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set(conf, "log.queue", "false", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_NewTopic_t **nt = calloc(n, sizeof(*nt));
    int rc = 0;
    int repl = topic_replication(rk, c, timeout_ms);
    if (repl < 0) {
        snprintf(err, errlen, "cannot count the brokers at %s (replication = 0 needs them); "
                 "set [kafka] replication", c->kafka.brokers);
        free(nt);
        rd_kafka_destroy(rk);
        return -1;
    }
    /* With acks=all a write needs min.insync.replicas copies: 2 of 3 keeps
     * producing through one broker's loss and never acknowledges a single copy. */
    const char *min_isr = repl >= 3 ? "2" : "1";
    for (size_t i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(topics[i], (int)c->kafka.partitions, repl, err, errlen);
        if (nt[i] == NULL ||
            rd_kafka_NewTopic_set_config(nt[i], "min.insync.replicas", min_isr) != 0) {
            rc = -1;
            goto out;
        }
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opt, timeout_ms, NULL, 0);
    rd_kafka_AdminOptions_set_request_timeout(opt, timeout_ms, NULL, 0);
    rd_kafka_CreateTopics(rk, nt, n, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
    if (ev == NULL) {
        snprintf(err, errlen, "no answer from the brokers at %s within %d ms", c->kafka.brokers,
                 timeout_ms);
        rc = -1;
    } else if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "%s", rd_kafka_event_error_string(ev));
        rc = -1;
    } else {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            const char *name = rd_kafka_topic_result_name(res[i]);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                printf("created topic %s (%" PRId64 " partitions, replication %d, "
                       "min.insync.replicas %s)\n", name, c->kafka.partitions, repl, min_isr);
            } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                printf("topic %s exists\n", name);
            } else {
                snprintf(err, errlen, "topic %s: %s", name,
                         rd_kafka_topic_result_error_string(res[i]));
                rc = -1;
            }
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
out:
    for (size_t i = 0; i < n; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    rd_kafka_destroy(rk);
    return rc;
}
