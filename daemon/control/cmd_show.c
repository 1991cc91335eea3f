/* `show ID`: one appeal's record, its running deadlines and its audit trail.
 *
 * Two reads sent together: HGETALL of the record and LRANGE of the audit
 * list.  The deadlines are the record's running clocks (fr, res, fz with
 * their C_due; store/appeals.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "appeals.h"
#include "cmd_query.h"
#include "config.h"
#include "control.h"
#include "json.h"
#include "message.h"
#include "record.h"
#include "redis.h"
#include "sbuf.h"
#include "units.h"

struct timer {
    char *name;
    int64_t due_ms;
};

struct show {
    char *text;               /* a:{ID}:text: the citizen's words */
    struct ctl_client *c;
    struct app *app;
    char *id;
    char *tz;
    int pending;
    bool failed, found;
    struct sbuf appeal, audit;   /* encoded object and array */
    struct sbuf sla;             /* the record's clocks as the contract's "sla" object */
    struct timer *timers;
    size_t ntimers, cap;
};

static void show_free(struct show *s)
{
    for (size_t i = 0; i < s->ntimers; i++)
        free(s->timers[i].name);
    free(s->timers);
    sbuf_free(&s->appeal);
    sbuf_free(&s->audit);
    sbuf_free(&s->sla);
    free(s->id);
    free(s->tz);
    free(s->text);
    free(s);
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0 || n > 18)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

struct field {
    const redisReply *k, *v;
};

static int cmp_field(const void *a, const void *b)
{
    const struct field *x = a, *y = b;
    return strcmp(x->k->str, y->k->str);
}

/* The record's fields by name; "seq" and "*_ms" as integers, and each
 * "*_ms" instant again as ISO 8601 under the name without "_ms". */
static void write_record(struct show *s, const redisReply *rep)
{
    size_t n = 0;
    struct field *f = calloc(rep->elements / 2 + 1, sizeof(*f));
    for (size_t i = 0; i + 1 < rep->elements; i += 2)
        if (rep->element[i]->type == REDIS_REPLY_STRING &&
            rep->element[i + 1]->type == REDIS_REPLY_STRING)
            f[n++] = (struct field){rep->element[i], rep->element[i + 1]};
    qsort(f, n, sizeof(*f), cmp_field);
    struct jw w;
    jw_init(&w, &s->appeal);
    jw_obj(&w);
    for (size_t i = 0; i < n; i++) {
        const redisReply *k = f[i].k, *v = f[i].v;
        size_t kl = k->len;
        bool ms = kl > 3 && strcmp(k->str + kl - 3, "_ms") == 0;
        if ((ms || strcmp(k->str, "seq") == 0) && all_digits(v->str, v->len)) {
            int64_t x = strtoll(v->str, NULL, 10);
            jw_kint(&w, k->str, x);
            if (ms && x > 0) {
                char name[128], ts[48];
                snprintf(name, sizeof(name), "%.*s", (int)(kl - 3), k->str);
                format_iso8601(x, s->tz, ts, sizeof(ts));
                jw_kstr(&w, name, ts);
            }
            continue;
        }
        jw_key(&w, k->str);
        jw_strn(&w, v->str, v->len);
    }
    jw_obj_end(&w);
    free(f);
}

/* Audit entries are JSON objects written by the commit script and by the
 * operator commands; one that does not parse is shown as its text. */
static void write_audit(struct show *s, const redisReply *rep)
{
    struct jw w;
    jw_init(&w, &s->audit);
    jw_arr(&w);
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        char err[64];
        struct json_doc *d = json_parse(e->str, e->len, 16, err, sizeof(err));
        if (d && d->root.type == JSON_OBJECT && d->flags == 0)
            jw_raw(&w, e->str, e->len);
        else
            jw_strn(&w, e->str, e->len);
        json_free(d);
    }
    jw_arr_end(&w);
}

static int cmp_timer(const void *a, const void *b)
{
    const struct timer *x = a, *y = b;
    return x->due_ms < y->due_ms ? -1 : x->due_ms > y->due_ms;
}

static void finish(struct show *s)
{
    if (s->failed) {
        ctl_error(s->c, "unavailable", "Redis did not answer; try again");
        ctl_finish(s->c, NULL);
        show_free(s);
        return;
    }
    if (!s->found) {
        ctl_error(s->c, "not_found", "no appeal '%s'", s->id);
        ctl_finish(s->c, NULL);
        show_free(s);
        return;
    }
    qsort(s->timers, s->ntimers, sizeof(*s->timers), cmp_timer);
    struct sbuf b = SBUF_INIT;
    struct jw w;
    int64_t now = now_ms();
    jw_init(&w, &b);
    jw_obj(&w);
    if (s->text && s->appeal.len > 1) {
        /* The text has a key of its own; it belongs in the appeal object. */
        s->appeal.len--;
        sbuf_adds(&s->appeal, s->appeal.len > 1 ? ",\"text\":" : "\"text\":");
        sbuf_json_str(&s->appeal, s->text, strlen(s->text));
        sbuf_addc(&s->appeal, '}');
    }
    char number[16];
    appeal_number(s->id, number, sizeof(number));
    jw_kstr(&w, "id", s->id);
    jw_kstr(&w, "number", number);
    jw_key(&w, "appeal");
    jw_raw(&w, s->appeal.p, s->appeal.len);
    if (s->sla.len) {
        jw_key(&w, "sla");
        jw_raw(&w, s->sla.p, s->sla.len);
    }
    jw_key(&w, "timers");
    jw_arr(&w);
    for (size_t i = 0; i < s->ntimers; i++) {
        char ts[48];
        format_iso8601(s->timers[i].due_ms, s->tz, ts, sizeof(ts));
        jw_obj(&w);
        jw_kstr(&w, "timer", s->timers[i].name);
        jw_kstr(&w, "due", ts);
        jw_kint(&w, "due_ms", s->timers[i].due_ms);
        jw_kbool(&w, "overdue", s->timers[i].due_ms < now);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "audit");
    jw_raw(&w, s->audit.p, s->audit.len);
    jw_obj_end(&w);
    ctl_finish(s->c, b.p);
    sbuf_free(&b);
    show_free(s);
}

static void add_timer(struct show *s, const char *name, int64_t due_ms)
{
    if (s->ntimers == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4;
        s->timers = realloc(s->timers, s->cap * sizeof(*s->timers));
    }
    s->timers[s->ntimers].name = strdup(name);
    s->timers[s->ntimers].due_ms = due_ms;
    s->ntimers++;
}

/* The running clocks of a record: C = "r" with C_due. */
static void timers_of(struct show *s, const redisReply *rec)
{
    static const char *const clocks[][2] = {
        {"fr", "first_response"}, {"res", "resolution"}, {"fz", "formal"},
        {"rg", "registration"},   {"fw", "forward"},   {"rw", "rework"}};
    for (size_t c = 0; c < sizeof(clocks) / sizeof(clocks[0]); c++) {
        const char *state = NULL, *due = NULL;
        char due_name[16];
        snprintf(due_name, sizeof(due_name), "%s_due", clocks[c][0]);
        for (size_t i = 0; i + 1 < rec->elements; i += 2) {
            if (rec->element[i]->type != REDIS_REPLY_STRING ||
                rec->element[i + 1]->type != REDIS_REPLY_STRING)
                continue;
            const char *k = rec->element[i]->str, *v = rec->element[i + 1]->str;
            if (strcmp(k, clocks[c][0]) == 0)
                state = v;
            else if (strcmp(k, due_name) == 0)
                due = v;
        }
        if (state && strcmp(state, "r") == 0 && due)
            add_timer(s, clocks[c][1], strtoll(due, NULL, 10));
    }
}

/* The clocks in words and local times (the Kafka contract's "sla"
 * object), so appealsctl need not decode fr_bud or fw_st. */
static void write_sla(struct show *s, const redisReply *rep)
{
    struct appeal_rec rec;
    record_init(&rec, s->id);
    record_parse(&rec, rep, NULL);
    struct jw w;
    jw_init(&w, &s->sla);
    record_sla_json(&w, &rec, s->tz);
    record_free(&rec);
}

static void read_done(struct show *s)
{
    if (--s->pending == 0)
        finish(s);
}

static void on_text(struct redis *r, redisReply *rep, void *arg)
{
    struct show *s = arg;
    if (rep == NULL)
        s->failed = true;
    else if (rep->type == REDIS_REPLY_STRING)
        s->text = strndup(rep->str, rep->len);
    read_done(s);
}

static void on_record(struct redis *r, redisReply *rep, void *arg)
{
    struct show *s = arg;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        s->failed = true;
    } else if (rep->elements > 0) {
        s->found = true;
        write_record(s, rep);
        timers_of(s, rep);
        write_sla(s, rep);
    }
    read_done(s);
}

static void on_audit(struct redis *r, redisReply *rep, void *arg)
{
    struct show *s = arg;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
        s->failed = true;
    else
        write_audit(s, rep);
    read_done(s);
}

/* Starts the three reads of s->id's keys; the last reply finishes. */
static void show_read(struct show *s)
{
    char key[600], audit[620], text[620];
    appeals_key(s->app->redis, s->id, key, sizeof(key));
    snprintf(audit, sizeof(audit), "%s:audit", key);
    snprintf(text, sizeof(text), "%s:text", key);
    const char *hget[] = {"HGETALL", key};
    const char *lrange[] = {"LRANGE", audit, "0", "-1"};
    const char *get[] = {"GET", text};
    s->pending = 1;
    if (redis_cmd(s->app->redis, on_record, s, 2, hget, NULL) != 0) {
        s->failed = true;
        read_done(s);
        return;
    }
    if (redis_cmd(s->app->redis, on_audit, s, 4, lrange, NULL) == 0)
        s->pending++;
    else
        s->failed = true;   /* the HGETALL reply finishes the request */
    if (!s->failed && redis_cmd(s->app->redis, on_text, s, 2, get, NULL) == 0)
        s->pending++;
}

/* "86137-07491": the number a citizen is told (appeal_number()). */
static bool is_number(const char *id)
{
    return strlen(id) == 11 && id[5] == '-' && all_digits(id, 5) && all_digits(id + 6, 5);
}

static void on_number(struct redis *r, redisReply *rep, void *arg)
{
    struct show *s = arg;
    if (rep == NULL || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL)) {
        s->failed = true;
        finish(s);
    } else if (rep->type == REDIS_REPLY_NIL) {
        finish(s);              /* not found: "no appeal 'NNNNN-NNNNN'" */
    } else {
        free(s->id);
        s->id = strndup(rep->str, rep->len);
        show_read(s);
    }
}

int ctl_cmd_show(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    const char *id = json_str(json_get(args, "id"));
    if (id == NULL || id[0] == '\0' || strlen(id) > 256) {
        ctl_error(c, "bad_args", "show needs {\"id\": APPEAL_ID or the citizen's number}");
        return -1;
    }
    if (!redis_up(app->redis)) {
        ctl_error(c, "unavailable", "Redis is not connected; try again");
        return -1;
    }
    struct show *s = calloc(1, sizeof(*s));
    s->app = app;
    s->id = strdup(id);
    s->tz = strdup(app->cfg->daemon.timezone);
    s->c = ctl_hold(c);
    if (!is_number(id)) {
        show_read(s);
        return 1;
    }
    char key[300];
    snprintf(key, sizeof(key), "%snum:%s", redis_prefix(app->redis), id);
    const char *get[] = {"GET", key};
    if (redis_cmd(app->redis, on_number, s, 2, get, NULL) != 0) {
        s->failed = true;
        finish(s);
    }
    return 1;
}
