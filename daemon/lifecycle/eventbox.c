#include "eventbox.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "appeals.h"
#include "kafka.h"
#include "log.h"
#include "message.h"
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

/* One event on its way to its topics. */
struct pub {
    struct eventbox *ob;
    char *event_id;
    int pending;
    bool failed;
};

char *eventbox_envelope(const char *key, const char *event, const char *schema,
                      const char *const *topics, size_t ntopics, const char *body)
{
    struct sbuf b = SBUF_INIT;
    sbuf_printf(&b, "%s\n%s\n%s\n", key, event, schema);
    for (size_t i = 0; i < ntopics; i++)
        sbuf_printf(&b, "%s%s", i ? " " : "", topics[i]);
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
    for (char *t = strtok_r(lines[3], " ", &save); t && m->ntopics < 16;
         t = strtok_r(NULL, " ", &save))
        m->topics[m->ntopics++] = t;
    if (m->ntopics == 0 || *m->key == '\0') {
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

static void on_delivered(void *arg, int err, const char *errstr)
{
    struct pub *p = arg;
    struct eventbox *ob = p->ob;
    if (err) {
        p->failed = true;
        log_warn("outbox: event %s not delivered (%s); kept in Redis, published again when "
                 "its lease expires", p->event_id, errstr);
    }
    if (--p->pending > 0)
        return;
    ob->inflight--;
    if (p->failed) {
        ob->st.failed++;
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
    struct kafka_header hdrs[MESSAGE_NHEADERS];
    message_headers(hdrs, m.event, m.schema);
    struct pub *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->event_id = strdup(event_id)) == NULL)
        abort();
    p->ob = ob;
    p->pending = 1;   /* guard while queueing */
    ob->inflight++;
    size_t len = strlen(m.body);
    for (size_t i = 0; i < m.ntopics; i++) {
        int rc = kafka_produce(ob->app->kafka, m.topics[i], m.key, m.body, len, hdrs,
                               MESSAGE_NHEADERS,
                               on_delivered, p);
        if (rc == 0)
            p->pending++;
        else
            p->failed = true;
    }
    metrics_add(ob->m_events, 1, m.event);
    eventbox_msg_free(&m);
    on_delivered(p, 0, NULL);   /* drop the guard */
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
