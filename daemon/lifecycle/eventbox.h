/* The outbox: events the daemon has decided on but Kafka has not yet
 * acknowledged.
 *
 * A transition stores its events in Redis in the same script that changes
 * the appeal (P outbox zset: EVENT_ID scored by lease expiry; P outbox:b hash:
 * EVENT_ID → envelope).  The daemon that stored them publishes them at once
 * and removes them when every topic acknowledged; if it dies first, the lease
 * runs out and whichever daemon's timer round comes next takes them over and
 * publishes them again (same event id: consumers drop the repeat).
 *
 * Envelope: "KEY\nEVENT\nSCHEMA/VERSION\nTOPIC TOPIC ...\nBODY" — Kafka topic names
 * and appeal ids hold no newline or space.  A recipient "org:CODE" among the
 * topics is an organisation that takes the event at its http_url (a Kafka
 * topic name cannot hold ':'), so envelopes stored before HTTP recipients
 * existed read the same.  Publishing goes through delivery.h, the one path
 * that feeds both Kafka and HTTP endpoints.  Loop thread only. */
#ifndef APPEALSD_EVENTBOX_H
#define APPEALSD_EVENTBOX_H

#include <stddef.h>

struct app;
struct eventbox;

/* A new envelope (malloc'd). */
char *eventbox_envelope(const char *key, const char *event, const char *schema,
                      const char *const *topics, size_t ntopics, const char *body);
/* The same, with the organisations (codes) that take it over HTTP. */
#define EVENTBOX_ORG "org:"
char *eventbox_envelope_to(const char *key, const char *event, const char *schema,
                           const char *const *topics, size_t ntopics,
                           const char *const *orgs, size_t norgs, const char *body);

struct eventbox_msg {
    char *buf;                 /* owns the strings below */
    const char *key, *event, *schema, *body;
    const char *topics[16];
    size_t ntopics;
    const char *orgs[16];      /* HTTP recipients: the codes of the "org:" tokens */
    size_t norgs;
};
/* 0, or -1 when env is not an envelope. */
int eventbox_parse(const char *env, struct eventbox_msg *out);
void eventbox_msg_free(struct eventbox_msg *m);

struct eventbox *eventbox_new(struct app *app);
void eventbox_free(struct eventbox *ob);
/* Publishes one stored event to its topics and HTTP recipients and
 * acknowledges it in Redis once every topic confirmed and every HTTP
 * delivery is stored in the delivery outbox (acks are batched per loop turn).  A failed delivery
 * leaves it stored: the lease expiry brings it back. */
void eventbox_publish(struct eventbox *ob, const char *event_id, const char *envelope);
/* Events being published now (status, shutdown). */
size_t eventbox_inflight(const struct eventbox *ob);

struct eventbox_stats {
    unsigned long long published, failed, taken_over, acked;
};
void eventbox_get_stats(const struct eventbox *ob, struct eventbox_stats *st);
/* Counts an event taken over from an expired lease. */
void eventbox_count_takeover(struct eventbox *ob);

#endif
