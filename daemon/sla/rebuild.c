#include "rebuild.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <librdkafka/rdkafka.h>

#include "app.h"
#include "config.h"
#include "json.h"
#include "kafka.h"
#include "lifecycle.h"
#include "log.h"
#include "record.h"
#include "redis.h"
#include "sbuf.h"
#include "strmap.h"
#include "units.h"

/* Restores written to Redis at once. */
#define WRITE_WINDOW 256

/* What the topic says about one appeal. */
struct snap {
    struct appeal_rec rec;
    int64_t state_seq, text_seq;
    struct audit_item {
        int64_t seq;
        char *json;
    } *audit;
    size_t naudit;
};

struct rebuild {
    struct app *app;
    struct lifecycle *lc;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    int pipe[2];
    struct event *pev, *tick;
    bool running, reading, closing;
    int64_t started_ms;
    struct strmap snaps;
    int32_t eof[1024];         /* partitions that reached their end */
    size_t neof;
    size_t write_pos;          /* next slot of snaps to write */
    unsigned writing;
    struct rebuild_result res;
    char err[256];
    rebuild_done_fn cb;
    void *arg;
};

static void write_some(struct rebuild *rb);

/* ---- reading one message ---- */

static const char *jstr(const struct json *root, const char *path)
{
    return json_str(json_path(root, path));
}

static int64_t jtime(const struct json *root, const char *path, const char *tz)
{
    const char *s = jstr(root, path);
    int64_t ms = 0;
    if (s && parse_iso8601(s, tz, &ms) != 0)
        ms = 0;
    return ms;
}

static int64_t jint(const struct json *root, const char *path)
{
    int64_t v = 0;
    json_int64(json_path(root, path), &v);
    return v;
}

static void set_if(char **field, const char *v)
{
    if (v)
        record_set(field, v);
}

static char clock_state(const char *word)
{
    static const char *const w[] = {"running", "paused", "stopped", "met"};
    static const char c[] = {CS_RUN, CS_PAUSE, CS_STOP, CS_MET};
    for (int i = 0; word && i < 4; i++)
        if (strcmp(w[i], word) == 0)
            return c[i];
    return CS_NONE;
}

static void take_sla(struct appeal_rec *r, const struct json *sla, const char *tz)
{
    set_if(&r->policy, jstr(sla, "policy"));
    set_if(&r->formal, jstr(sla, "formal_policy"));
    r->formal_ms = jtime(sla, "converted_at", tz);
    r->ext_days = jint(sla, "extended_days");
    r->exts = jint(sla, "extensions");
    r->fz_received_ms = jtime(sla, "formal_received_at", tz);
    r->registered_ms = jtime(sla, "registered_at", tz);
    r->forwarded_ms = jtime(sla, "forwarded_at", tz);
    const struct json *clocks = json_get(sla, "clocks");
    for (int c = 0; c < CLK_N; c++) {
        const struct json *k = json_get(clocks, clock_name((enum clock_id)c));
        struct clock *ck = &r->clk[c];
        memset(ck, 0, sizeof(*ck));
        if (k == NULL)
            continue;
        ck->state = clock_state(jstr(k, "state"));
        ck->due = jtime(k, "due", tz);
        ck->left = jint(k, "left_ms");
        ck->bud = jint(k, "allowed_ms");
        ck->fired = (uint32_t)jint(k, "fired");
        ck->at = jtime(k, ck->state == CS_MET ? "met_at" : "stopped_at", tz);
        ck->used = jint(k, "used_ms");
    }
}

static void add_audit(struct snap *s, const struct json *m, int64_t seq, const char *event)
{
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    const char *at = jstr(m, "published_at");
    jw_kstr(&w, "at", at ? at : "");
    jw_kint(&w, "seq", seq);
    const char *actor = jstr(m, "actor.id");
    if (actor == NULL)
        actor = jstr(m, "actor.type");
    if (actor == NULL)
        actor = strcmp(event, "created") == 0 ? jstr(m, "source") : "sla";
    jw_kstr(&w, "actor", actor ? actor : "appealsd");
    jw_kstr(&w, "action", event);
    const char *reason = jstr(m, strcmp(event, "created") == 0 ? "route.reason" : "reason");
    if (reason)
        jw_kstr(&w, "reason", reason);
    const char *st = jstr(m, "state");
    if (st)
        jw_kstr(&w, "state", st);
    const char *org = jstr(m, "org.code");
    if (org)
        jw_kstr(&w, "org", org);
    const char *clock = jstr(m, "timer");
    if (clock)
        jw_kstr(&w, "clock", clock);
    if (jint(m, "level"))
        jw_kint(&w, "level", jint(m, "level"));
    jw_kstr(&w, "source", "rebuild");
    jw_obj_end(&w);
    struct audit_item *v = realloc(s->audit, (s->naudit + 1) * sizeof(*v));
    if (v == NULL)
        abort();
    s->audit = v;
    s->audit[s->naudit++] = (struct audit_item){seq, sbuf_steal(&b)};
}

static void take_message(struct rebuild *rb, const rd_kafka_message_t *m)
{
    char err[128];
    struct json_doc *d = json_parse(m->payload, m->len, 32, err, sizeof(err));
    const char *tz = rb->app->cfg->daemon.timezone;
    rb->res.messages++;
    if (d == NULL || d->root.type != JSON_OBJECT) {
        log_warn("rebuild: %s[%" PRId32 "] offset %" PRId64 " is not JSON (%s); skipped",
                 rd_kafka_topic_name(m->rkt), m->partition, m->offset, d ? "not an object" : err);
        json_free(d);
        return;
    }
    const struct json *j = &d->root;
    const char *id = jstr(j, "appeal_id"), *event = jstr(j, "event");
    int64_t seq = jint(j, "seq");
    if (id == NULL || event == NULL || seq <= 0) {
        json_free(d);
        return;
    }
    struct snap *s = strmap_get(&rb->snaps, id);
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            abort();
        record_init(&s->rec, id);
        strmap_put(&rb->snaps, id, s);
    }
    struct appeal_rec *r = &s->rec;
    for (size_t i = 0; i < s->naudit; i++)
        if (s->audit[i].seq == seq) {   /* a repeat delivery */
            json_free(d);
            return;
        }
    if (seq > r->seq)
        r->seq = seq;
    set_if(&r->source, jstr(j, "source"));
    set_if(&r->page, jstr(j, "page.id"));
    set_if(&r->link, jstr(j, "item.link"));
    set_if(&r->item_kind, jstr(j, "item.kind"));
    set_if(&r->author, jstr(j, "author.pseudonym"));
    set_if(&r->municipality, jstr(j, "municipality"));
    set_if(&r->category, jstr(j, "category"));
    set_if(&r->priority, jstr(j, "priority"));
    set_if(&r->rule, jstr(j, "route.rule"));
    if (jtime(j, "received_at", tz))
        r->received_ms = jtime(j, "received_at", tz);
    if (jtime(j, "occurred_at", tz))
        r->created_ms = jtime(j, "occurred_at", tz);
    if (jstr(j, "text") && seq >= s->text_seq) {
        record_set(&r->text, jstr(j, "text"));
        s->text_seq = seq;
    }
    if (strcmp(event, "met") == 0 && jstr(j, "timer") &&
        strcmp(jstr(j, "timer"), "first_response") == 0)
        set_if(&r->fr_link, jstr(j, "link"));
    const struct json *sla = json_get(j, "sla");
    if (jstr(j, "state") && sla && seq >= s->state_seq) {
        s->state_seq = seq;
        record_set(&r->state, jstr(j, "state"));
        set_if(&r->org, jstr(j, "org.code"));
        const struct json *tr = json_path(j, "route.triage");
        if (tr)
            r->triage = json_truthy(tr);
        else if (json_get(j, "triage"))
            r->triage = json_truthy(json_get(j, "triage"));
        take_sla(r, sla, tz);
    }
    add_audit(s, j, seq, event);
    json_free(d);
}

/* ---- writing back ---- */

static int cmp_audit(const void *a, const void *b)
{
    int64_t x = ((const struct audit_item *)a)->seq, y = ((const struct audit_item *)b)->seq;
    return x < y ? -1 : x > y;
}

static void snap_free(struct snap *s)
{
    record_free(&s->rec);
    for (size_t i = 0; i < s->naudit; i++)
        free(s->audit[i].json);
    free(s->audit);
    free(s);
}

static void clear_snaps(struct rebuild *rb)
{
    for (size_t i = 0; i < rb->snaps.cap; i++)
        if (rb->snaps.slots[i].key)
            snap_free(rb->snaps.slots[i].val);
    strmap_free(&rb->snaps);
    memset(&rb->snaps, 0, sizeof(rb->snaps));
}

static void done(struct rebuild *rb, const char *err)
{
    rb->running = false;
    if (err)
        log_error("rebuild: failed: %s", err);
    else
        log_notice("rebuild: %u messages read; %u open appeals written back (%u with pending "
                   "SLA stages), %u already in Redis", rb->res.messages, rb->res.appeals,
                   rb->res.timers, rb->res.skipped);
    clear_snaps(rb);
    if (rb->cb)
        rb->cb(rb->arg, &rb->res, err);
}

static void on_written(void *arg, const struct lc_result *res)
{
    struct rebuild *rb = arg;
    rb->writing--;
    if (res->status == LCR_OK) {
        rb->res.appeals++;
        if (res->plan && res->plan->next_at != INT64_MAX)
            rb->res.timers++;
    } else if (res->status == LCR_NOOP) {
        rb->res.skipped++;
    } else if (rb->err[0] == '\0') {
        snprintf(rb->err, sizeof(rb->err), "writing %s: %s", res->rec ? res->rec->id : "?",
                 res->msg ? res->msg : "failed");
    }
    write_some(rb);
}

static void write_some(struct rebuild *rb)
{
    while (rb->writing < WRITE_WINDOW && rb->write_pos < rb->snaps.cap && rb->err[0] == '\0') {
        struct strmap_slot *sl = &rb->snaps.slots[rb->write_pos++];
        if (sl->key == NULL)
            continue;
        struct snap *s = sl->val;
        struct appeal_rec *r = &s->rec;
        r->exists = r->received_ms > 0 && r->state != NULL;
        if (!r->exists || state_is_final(r->state))
            continue;
        qsort(s->audit, s->naudit, sizeof(s->audit[0]), cmp_audit);
        const char **audit = calloc(s->naudit + 1, sizeof(char *));
        for (size_t i = 0; i < s->naudit; i++)
            audit[i] = s->audit[i].json;
        struct lc_request rq = {.appeal_id = r->id, .restore = r, .audit = audit,
                                .naudit = s->naudit, .ev = {.kind = LC_TIMER, .actor = "rebuild"}};
        rb->writing++;
        if (lifecycle_submit(rb->lc, &rq, on_written, rb) != 0) {
            rb->writing--;
            snprintf(rb->err, sizeof(rb->err), "Redis went away");
        }
        free(audit);
    }
    if (rb->writing == 0 && (rb->write_pos >= rb->snaps.cap || rb->err[0]))
        done(rb, rb->err[0] ? rb->err : NULL);
}

/* ---- the consumer ---- */

static void close_consumer(struct rebuild *rb)
{
    if (rb->rk == NULL)
        return;
    if (rb->q) {
        rd_kafka_queue_io_event_enable(rb->q, -1, NULL, 0);
        rd_kafka_queue_destroy(rb->q);
        rb->q = NULL;
    }
    /* No offsets to commit: a group of its own, auto-commit off. */
    rd_kafka_consumer_close(rb->rk);
    rd_kafka_destroy(rb->rk);
    rb->rk = NULL;
    if (rb->pev)
        event_free(rb->pev);
    if (rb->tick)
        event_free(rb->tick);
    rb->pev = rb->tick = NULL;
    for (int i = 0; i < 2; i++)
        if (rb->pipe[i] >= 0) {
            close(rb->pipe[i]);
            rb->pipe[i] = -1;
        }
}

static void finish_reading(struct rebuild *rb, const char *err)
{
    rb->reading = false;
    close_consumer(rb);
    if (err) {
        snprintf(rb->err, sizeof(rb->err), "%s", err);
        done(rb, rb->err);
        return;
    }
    log_info("rebuild: read %u messages about %zu appeals; writing the open ones",
             rb->res.messages, rb->snaps.n);
    rb->write_pos = 0;
    write_some(rb);
}

static bool all_eof(struct rebuild *rb)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(rb->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR || a == NULL)
        return false;
    bool all = a->cnt > 0;
    for (int i = 0; all && i < a->cnt; i++) {
        bool seen = false;
        for (size_t k = 0; k < rb->neof && !seen; k++)
            seen = rb->eof[k] == a->elems[i].partition;
        all = seen;
    }
    rd_kafka_topic_partition_list_destroy(a);
    return all;
}

static void serve(struct rebuild *rb)
{
    for (int i = 0; i < 2000 && rb->reading; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rb->rk, 0);
        if (m == NULL)
            break;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            bool seen = false;
            for (size_t k = 0; k < rb->neof && !seen; k++)
                seen = rb->eof[k] == m->partition;
            if (!seen && rb->neof < sizeof(rb->eof) / sizeof(rb->eof[0]))
                rb->eof[rb->neof++] = m->partition;
            rd_kafka_message_destroy(m);
            if (all_eof(rb)) {
                finish_reading(rb, NULL);
                return;
            }
            continue;
        }
        if (m->err) {
            char why[256];
            snprintf(why, sizeof(why), "reading %s: %s", rb->app->cfg->kafka.topic_all,
                     rd_kafka_message_errstr(m));
            bool fatal = m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                         m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
            rd_kafka_message_destroy(m);
            if (fatal) {
                finish_reading(rb, why);
                return;
            }
            log_warn("rebuild: %s; going on", why);
            continue;
        }
        take_message(rb, m);
        rd_kafka_message_destroy(m);
    }
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    serve(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct rebuild *rb = arg;
    serve(rb);
    if (rb->reading && mono_ms() - rb->started_ms > 600000)
        finish_reading(rb, "the topic did not reach its end within 10 minutes");
}

int rebuild_start(struct rebuild *rb, rebuild_done_fn cb, void *arg, char *err, size_t errlen)
{
    if (rb->running) {
        snprintf(err, errlen, "a rebuild is already running");
        return -1;
    }
    const struct apd_config *c = rb->app->cfg;
    char group[256];
    snprintf(group, sizeof(group), "%s-rebuild-%s-%d-%lld", c->kafka.client_id,
             c->daemon.instance, (int)getpid(), (long long)now_ms());
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (kafka_conf_common(conf, c, "rebuild", err, errlen) != 0 ||
        rd_kafka_conf_set(conf, "group.id", group, err, errlen) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rb->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (rb->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_set_log_queue(rb->rk, NULL);
    rd_kafka_poll_set_consumer(rb->rk);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, c->kafka.topic_all, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rb->rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (e || pipe2(rb->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "%s", e ? rd_kafka_err2str(e) : strerror(errno));
        close_consumer(rb);
        return -1;
    }
    rb->q = rd_kafka_queue_get_consumer(rb->rk);
    rd_kafka_queue_io_event_enable(rb->q, rb->pipe[1], "1", 1);
    rb->pev = event_new(rb->app->base, rb->pipe[0], EV_READ | EV_PERSIST, on_pipe, rb);
    event_add(rb->pev, NULL);
    rb->tick = event_new(rb->app->base, -1, EV_PERSIST, on_tick, rb);
    struct timeval tv = {0, 200000};
    event_add(rb->tick, &tv);
    memset(&rb->res, 0, sizeof(rb->res));
    rb->err[0] = '\0';
    rb->neof = 0;
    rb->cb = cb;
    rb->arg = arg;
    rb->running = rb->reading = true;
    rb->started_ms = mono_ms();
    log_notice("rebuild: reading %s from the beginning to re-arm open appeals",
               c->kafka.topic_all);
    return 0;
}

struct rebuild *rebuild_new(struct app *app, struct lifecycle *lc)
{
    struct rebuild *rb = calloc(1, sizeof(*rb));
    if (rb == NULL)
        abort();
    rb->app = app;
    rb->lc = lc;
    rb->pipe[0] = rb->pipe[1] = -1;
    return rb;
}

void rebuild_free(struct rebuild *rb)
{
    if (rb == NULL)
        return;
    close_consumer(rb);
    clear_snaps(rb);
    free(rb);
}
