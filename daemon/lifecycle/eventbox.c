#include "eventbox.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "appeals.h"
#include "delivery.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "sbuf.h"

/* Acks sent in one script call at most. */
#define ACK_BATCH 512

struct eventbox {
    struct app *app;
    size_t inflight;
    char **acks;
    size_t nacks, cap;
    struct event *flush_ev;
    struct eventbox_stats st;
    struct mfam *m_events;
};

char *eventbox_envelope(const char *key, const char *event, const char *schema,
                      const char *const *topics, size_t ntopics, const char *body)
{
    return eventbox_envelope_to(key, event, schema, topics, ntopics, NULL, 0, body);
}

char *eventbox_envelope_to(const char *key, const char *event, const char *schema,
                           const char *const *topics, size_t ntopics,
                           const char *const *orgs, size_t norgs, const char *body)
{
    struct sbuf b = SBUF_INIT;
    sbuf_printf(&b, "%s\n%s\n%s\n", key, event, schema);
    for (size_t i = 0; i < ntopics; i++)
        sbuf_printf(&b, "%s%s", i ? " " : "", topics[i]);
    for (size_t i = 0; i < norgs; i++)
        sbuf_printf(&b, "%s" EVENTBOX_ORG "%s", ntopics + i ? " " : "", orgs[i]);
    sbuf_addc(&b, '\n');
    sbuf_adds(&b, body);
    return sbuf_steal(&b);
}

int eventbox_parse(const char *env, struct eventbox_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->buf = strdup(env);
    if (m->buf == NULL)
        return -1;
    char *lines[4], *p = m->buf;
    for (int i = 0; i < 4; i++) {
        char *nl = strchr(p, '\n');
        if (nl == NULL) {
            eventbox_msg_free(m);
            return -1;
        }
        *nl = '\0';
        lines[i] = p;
        p = nl + 1;
    }
    m->key = lines[0];
    m->event = lines[1];
    m->schema = lines[2];
    m->body = p;
    char *save = NULL;
    for (char *t = strtok_r(lines[3], " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        bool org = strncmp(t, EVENTBOX_ORG, strlen(EVENTBOX_ORG)) == 0;
        if (org && m->norgs < 16)
            m->orgs[m->norgs++] = t + strlen(EVENTBOX_ORG);
        else if (!org && m->ntopics < 16)
            m->topics[m->ntopics++] = t;
    }
    if (m->ntopics + m->norgs == 0 || *m->key == '\0') {
        eventbox_msg_free(m);
        return -1;
    }
    return 0;
}

void eventbox_msg_free(struct eventbox_msg *m)
{
    free(m->buf);
    memset(m, 0, sizeof(*m));
}

/* ---- acknowledgements, batched per loop turn ---- */

static void on_acked(struct redis *r, redisReply *rep, void *arg)
{
    struct eventbox *ob = arg;
    if (rep && rep->type == REDIS_REPLY_INTEGER)
        ob->st.acked += (unsigned long long)rep->integer;
    /* On failure the events stay stored; a later round publishes them again. */
}

static void flush_acks(evutil_socket_t fd, short what, void *arg)
{
    struct eventbox *ob = arg;
    while (ob->nacks > 0) {
        size_t n = ob->nacks < ACK_BATCH ? ob->nacks : ACK_BATCH;
        size_t start = ob->nacks - n;
        if (appeals_outbox_ack(ob->app->redis, (const char *const *)ob->acks + start, n,
                               on_acked, ob) != 0)
            log_warn("outbox: cannot acknowledge %zu published events (Redis away); they are "
                     "published again when their lease expires", n);
        for (size_t i = start; i < ob->nacks; i++)
            free(ob->acks[i]);
        ob->nacks = start;
    }
}

static void queue_ack(struct eventbox *ob, char *event_id)
{
    if (ob->nacks == ob->cap) {
        size_t cap = ob->cap ? ob->cap * 2 : 64;
        char **v = realloc(ob->acks, cap * sizeof(char *));
        if (v == NULL)
            abort();
        ob->acks = v;
        ob->cap = cap;
    }
    ob->acks[ob->nacks++] = event_id;
    if (ob->nacks == 1)
        event_active(ob->flush_ev, EV_TIMEOUT, 0);
}

/* ---- publishing ---- */

/* One event on its way to its topics and HTTP recipients. */
struct pub {
    struct eventbox *ob;
    char *event_id;
};

static void on_delivered(void *arg, bool ok)
{
    struct pub *p = arg;
    struct eventbox *ob = p->ob;
    ob->inflight--;
    if (!ok) {
        ob->st.failed++;
        log_warn("outbox: event %s not delivered; kept in Redis, published again when its "
                 "lease expires", p->event_id);
        free(p->event_id);
    } else {
        ob->st.published++;
        queue_ack(ob, p->event_id);
    }
    free(p);
}

void eventbox_publish(struct eventbox *ob, const char *event_id, const char *envelope)
{
    struct eventbox_msg m;
    if (eventbox_parse(envelope, &m) != 0) {
        log_error("outbox: event %s is not an envelope; dropping it", event_id);
        queue_ack(ob, strdup(event_id));
        return;
    }
    struct pub *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->event_id = strdup(event_id)) == NULL)
        abort();
    p->ob = ob;
    ob->inflight++;
    metrics_add(ob->m_events, 1, m.event);
    struct delivery_event e = {
        .key = m.key, .event_id = event_id, .event = m.event, .schema = m.schema,
        .topics = m.topics, .ntopics = m.ntopics, .orgs = m.orgs, .norgs = m.norgs,
        .body = m.body, .len = strlen(m.body),
    };
    delivery_publish_event(ob->app->delivery, ob->app->cfg, &e, on_delivered, p);
    eventbox_msg_free(&m);
}

size_t eventbox_inflight(const struct eventbox *ob)
{
    return ob ? ob->inflight + ob->nacks : 0;
}

void eventbox_get_stats(const struct eventbox *ob, struct eventbox_stats *st) { *st = ob->st; }
void eventbox_count_takeover(struct eventbox *ob) { ob->st.taken_over++; }

struct eventbox *eventbox_new(struct app *app)
{
    struct eventbox *ob = calloc(1, sizeof(*ob));
    if (ob == NULL)
        abort();
    ob->app = app;
    ob->flush_ev = event_new(app->base, -1, 0, flush_acks, ob);
    ob->m_events = metrics_family("appealsd_lifecycle_events_total", M_COUNTER,
                                  "Lifecycle and SLA events published, by event", "event");
    return ob;
}

void eventbox_free(struct eventbox *ob)
{
    if (ob == NULL)
        return;
    flush_acks(-1, 0, ob);
    event_free(ob->flush_ev);
    free(ob->acks);
    free(ob);
}
