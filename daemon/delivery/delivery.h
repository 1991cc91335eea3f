/* Delivery of events to their recipients, whatever the channel.
 *
 * Every event goes out through here: delivery_publish() for the pipeline's
 * events, delivery_publish_event() for the events the lifecycle stored in
 * its event outbox (status, SLA, answers, incidents; eventbox.h).  Both
 * produce the message to every Kafka topic the event belongs on and enqueue
 * one durable outbox entry per recipient that takes signed HTTP deliveries
 * (outbox.h), plus the acknowledgement to the citizen when one is due
 * (ack.h).  The callback says whether all of that is durable: only then may
 * the caller commit and release the spool record (or the stored event).  HTTP sending itself happens later, from the outbox, so a slow
 * endpoint never holds up the pipeline or other recipients.
 *
 * Personal data: a topic gets the body with author ids in clear only when
 * the organisation owning it says personal_data = yes (organisations that
 * share a topic must agree, see directory.h); triage, appeals.all and the
 * SLA topic always get the pseudonymised body.  The same rule holds per
 * HTTP endpoint.
 *
 * HTTP deliveries: POST of the same JSON, with
 *   Content-Type: application/json
 *   X-Appealsd-Event, X-Appealsd-Schema, X-Appealsd-Delivery (the outbox id),
 *   X-Appealsd-Timestamp: unix seconds,
 *   X-Appealsd-Signature: sha256=HEX(HMAC-SHA256(http_secret, TIMESTAMP "." BODY))
 * counted done only on 2xx; otherwise retried with exponential backoff and
 * full jitter ([delivery] retry_min .. retry_max, or the endpoint's
 * Retry-After), at most http_concurrency at once per organisation.
 *
 * Loop thread only. */
#ifndef APPEALSD_DELIVERY_H
#define APPEALSD_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct apd_config;
struct delivery;
struct org;
struct sbuf;
struct ack_input;

struct delivery_config {
    int64_t http_timeout_ms;
    int64_t retry_min_ms;
    int64_t retry_max_ms;
    int64_t poll_ms;
};

const struct delivery_config *delivery_config_of(const struct apd_config *c);

struct delivery_msg {
    const char *appeal_id;          /* the Kafka key */
    const char *event_id;           /* unique per event: outbox ids derive from it */
    const char *event;              /* header event-type */
    const char *schema;             /* family: APPEAL_SCHEMA, SLA_SCHEMA */
    const struct sbuf *pub;         /* body without personal data */
    const struct sbuf *priv;        /* body with author ids in clear, or NULL */
    const struct org *org;          /* primary recipient, or NULL */
    const char *topic;              /* primary topic when not the org's own (triage) */
    const struct org *const *copies;
    size_t ncopies;
    const char *extra_topic;        /* appeals.all, appeals.sla ... or NULL */
    const struct ack_input *ack;    /* acknowledge this created appeal, or NULL */
};

/* ok: every Kafka delivery report came back positive and every outbox
 * entry is stored.  May run before delivery_publish() returns. */
typedef void (*delivery_cb)(void *arg, bool ok);

/* cfg is the snapshot the caller works with; it must stay referenced
 * until cb has run. */
void delivery_publish(struct delivery *dl, const struct apd_config *cfg,
                      const struct delivery_msg *m, delivery_cb cb, void *arg);

/* An event already addressed by its producer (the lifecycle's and the
 * incidents' stored events, eventbox.h): the Kafka topics it goes to, and
 * the organisations, by code, that take it at their http_url.  One body for
 * all: these events carry no personal data. */
struct delivery_event {
    const char *key;                /* the appeal id: Kafka key, outbox order */
    const char *event_id;           /* outbox ids derive from it */
    const char *event, *schema;     /* schema: family, without the version */
    const char *const *topics;
    size_t ntopics;
    const char *const *orgs;
    size_t norgs;
    const char *body;
    size_t len;
};

/* The same channels and the same callback rule as delivery_publish(). */
void delivery_publish_event(struct delivery *dl, const struct apd_config *cfg,
                            const struct delivery_event *e, delivery_cb cb, void *arg);

struct delivery_stats {
    uint64_t outbox_added;          /* entries stored by this instance */
    uint64_t http_delivered, http_failed;
    uint64_t acks_sent, acks_failed, acks_given_up;
    uint64_t inflight;              /* HTTP requests running now */
};

struct delivery *delivery_new(struct app *app);
void delivery_get_stats(const struct delivery *dl, struct delivery_stats *st);
/* Shutdown: send nothing new; cancel running requests and hand their
 * entries back to the outbox (due now), so the next start or another
 * instance picks them up at once. */
void delivery_stop(struct delivery *dl);
/* True when no outbox command of delivery_stop() is still on its way. */
bool delivery_idle(const struct delivery *dl);
void delivery_free(struct delivery *dl);

#endif
