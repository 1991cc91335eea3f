/* The control commands of incidents: incident_show (read-only),
 * incident_merge and incident_split (admin).  Each is one script
 * (incident_store.c), so an operator's change cannot interleave with a
 * daemon's join; merge and split store their event in the outbox in the
 * same script. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "config.h"
#include "control.h"
#include "incident_conf.h"
#include "incident_int.h"
#include "incident_store.h"
#include "json.h"
#include "sbuf.h"
#include "sla.h"
#include "units.h"

struct ictl {
    struct app *app;
    struct ctl_client *c;
    char *tz;
};

static struct ictl *ictl_new(struct ctl_client *c, struct app *app)
{
    struct ictl *x = calloc(1, sizeof(*x));
    if (x == NULL)
        abort();
    x->app = app;
    x->c = ctl_hold(c);
    x->tz = strdup(app->cfg->daemon.timezone);
    return x;
}

static void ictl_done(struct ictl *x, struct sbuf *b)
{
    ctl_finish(x->c, b ? b->p : NULL);
    free(x->tz);
    free(x);
}

/* "code: message" from a script's error reply, or Redis's own error. */
static void ictl_fail(struct ictl *x, const redisReply *rep)
{
    if (rep == NULL) {
        ctl_error(x->c, "unavailable", "Redis did not answer; try again");
    } else if (rep->type == REDIS_REPLY_ERROR) {
        const char *colon = strstr(rep->str, ": ");
        const char *code = rep->str;
        size_t n = colon ? (size_t)(colon - code) : 0;
        char cbuf[32];
        if (n && n < sizeof(cbuf) && strspn(code, "abcdefghijklmnopqrstuvwxyz_") == n) {
            memcpy(cbuf, code, n);
            cbuf[n] = '\0';
            ctl_error(x->c, cbuf, "%s", colon + 2);
        } else {
            ctl_error(x->c, "unavailable", "Redis refused: %s", rep->str);
        }
    } else {
        ctl_error(x->c, "unavailable", "unexpected reply from Redis");
    }
    ictl_done(x, NULL);
}


static void kstr_if(struct jw *w, const char *k, const char *v)
{
    if (v && *v)
        jw_kstr(w, k, v);
}

static void on_show(struct redis *r, redisReply *rep, void *arg)
{
    struct ictl *x = arg;
    (void)r;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        ictl_fail(x, rep);
        return;
    }
    if (rep->elements < 4) {
        ctl_error(x->c, "not_found", "no incident, and no appeal in one, is called that");
        ictl_done(x, NULL);
        return;
    }
    const redisReply *h = rep->element[2], *m = rep->element[3];
    const char *size = inc_hget(h, "size");
    int64_t n = size ? strtoll(size, NULL, 10) : 0;
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "incident", inc_el(rep, 1));
    kstr_if(&w, "state", inc_hget(h, "state"));
    jw_kint(&w, "size", n);
    kstr_if(&w, "lead", inc_hget(h, "lead"));
    kstr_if(&w, "category", inc_hget(h, "category"));
    kstr_if(&w, "municipality", inc_hget(h, "municipality"));
    kstr_if(&w, "org", inc_hget(h, "org"));
    kstr_if(&w, "priority", incident_priority(incident_config_of(x->app->cfg), n));
    kstr_if(&w, "merged_into", inc_hget(h, "merged_into"));
    kstr_if(&w, "split_from", inc_hget(h, "split_from"));
    const char *first = inc_hget(h, "first_ms"), *last = inc_hget(h, "last_ms");
    if (first && n)
        jw_ktime(&w, "first_at", strtoll(first, NULL, 10), x->tz);
    if (last && n)
        jw_ktime(&w, "last_at", strtoll(last, NULL, 10), x->tz);
    jw_key(&w, "appeals");
    jw_arr(&w);
    for (size_t i = 0; m->type == REDIS_REPLY_ARRAY && i + 1 < m->elements; i += 2) {
        jw_obj(&w);
        jw_kstr(&w, "id", inc_el(m, i));
        jw_ktime(&w, "created_at", strtoll(inc_el(m, i + 1) ? inc_el(m, i + 1) : "0", NULL, 10),
                 x->tz);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    ictl_done(x, &b);
    sbuf_free(&b);
}

/* A merge or a split stored: publish its event, answer with what changed. */
static void on_changed(struct redis *r, redisReply *rep, void *arg)
{
    struct ictl *x = arg;
    (void)r;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 4) {
        ictl_fail(x, rep);
        return;
    }
    const char *eid = inc_el(rep, 0), *env = inc_el(rep, 1);
    bool merge = strstr(env ? env : "", "\nincident_merged\n") != NULL;
    struct inc_event e = {.event = merge ? "incident_merged" : "incident_split",
                          .appeal_id = eid, .incident = inc_el(rep, 2)};
    char appeal[512];
    snprintf(appeal, sizeof(appeal), "%s", eid ? eid : "");
    char *hash = strrchr(appeal, '#');
    if (hash)
        *hash = '\0';
    e.appeal_id = appeal;
    if (eid && env)
        incident_announce(x->app->incidents, &e, eid, env);
    /* The clocks follow: the earliest appeal of each incident leads it. */
    incident_sync(x->app->incidents, inc_el(rep, 2), NULL);
    incident_sync(x->app->incidents, inc_el(rep, 3), NULL);
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "incident", inc_el(rep, 2));
    jw_kstr(&w, merge ? "merged_from" : "split_from", inc_el(rep, 3));
    jw_kstr(&w, "event", e.event);
    jw_obj_end(&w);
    ictl_done(x, &b);
    sbuf_free(&b);
}

static const char *id_arg(struct ctl_client *c, const struct json *args, const char *key,
                          const char *usage)
{
    const char *id = json_str(json_get(args, key));
    if (id == NULL || *id == '\0' || strlen(id) > 256) {
        ctl_error(c, "bad_args", "%s", usage);
        return NULL;
    }
    return id;
}

static bool redis_ready(struct ctl_client *c, struct app *app)
{
    if (redis_up(app->redis))
        return true;
    ctl_error(c, "unavailable", "Redis is not connected; try again");
    return false;
}

int ctl_cmd_incident_show(struct ctl_client *c, struct app *app, const struct json *args,
                          struct jw *w)
{
    (void)w;
    const char *id = id_arg(c, args, "id", "incident_show needs {\"id\": INCIDENT or APPEAL}");
    if (id == NULL || !redis_ready(c, app))
        return -1;
    struct ictl *x = ictl_new(c, app);
    const char *argv[] = {redis_prefix(app->redis), id};
    if (redis_eval(app->redis, &show_script, on_show, x, 1, 2, argv, NULL) != 0)
        ictl_fail(x, NULL);
    return 1;
}

/* The arguments every changing script ends with: keep, lease_until,
 * published_at, topics. */
struct tail_args {
    char keep[8], lease[24], published[48], topics[512];
};

static void tail_args(struct app *app, struct tail_args *t)
{
    int64_t now = now_ms();
    snprintf(t->keep, sizeof(t->keep), "%d", INCIDENT_MEMBERS_KEPT);
    snprintf(t->lease, sizeof(t->lease), "%lld",
             (long long)(now + sla_cfg(app->cfg)->lease_ms));
    format_iso8601(now, app->cfg->daemon.timezone, t->published, sizeof(t->published));
    snprintf(t->topics, sizeof(t->topics), "%s %s", app->cfg->kafka.topic_all,
             app->cfg->kafka.topic_triage);
}

int ctl_cmd_incident_merge(struct ctl_client *c, struct app *app, const struct json *args,
                           struct jw *w)
{
    (void)w;
    static const char *usage = "incident_merge needs {\"id\": INTO, \"from\": OTHER} "
                               "(incidents, or appeals in them)";
    const char *into = id_arg(c, args, "id", usage);
    const char *from = into ? id_arg(c, args, "from", usage) : NULL;
    if (from == NULL || !redis_ready(c, app))
        return -1;
    struct tail_args t;
    tail_args(app, &t);
    struct ictl *x = ictl_new(c, app);
    const char *argv[] = {redis_prefix(app->redis), into, from, t.keep, t.lease, t.published,
                          t.topics};
    if (redis_eval(app->redis, &merge_script, on_changed, x, 1, 7, argv, NULL) != 0)
        ictl_fail(x, NULL);
    return 1;
}

int ctl_cmd_incident_split(struct ctl_client *c, struct app *app, const struct json *args,
                           struct jw *w)
{
    (void)w;
    static const char *usage = "incident_split needs {\"id\": INCIDENT, \"appeals\": "
                               "[APPEAL, ...]}: the appeals leave it for a new incident";
    const char *id = id_arg(c, args, "id", usage);
    const struct json *list = json_get(args, "appeals");
    if (id == NULL)
        return -1;
    if (list == NULL || list->type != JSON_ARRAY || json_at(list, 0) == NULL ||
        json_at(list, 1000) != NULL) {
        ctl_error(c, "bad_args", "%s", usage);
        return -1;
    }
    size_t n = 0;
    while (json_at(list, n))
        n++;
    for (size_t i = 0; i < n; i++)
        if (json_str(json_at(list, i)) == NULL) {
            ctl_error(c, "bad_args", "%s", usage);
            return -1;
        }
    if (!redis_ready(c, app))
        return -1;
    struct tail_args t;
    tail_args(app, &t);
    const char **argv = calloc(6 + n, sizeof(*argv));
    if (argv == NULL)
        abort();
    const char *fixed[] = {redis_prefix(app->redis), id, t.keep, t.lease, t.published, t.topics};
    memcpy(argv, fixed, sizeof(fixed));
    for (size_t i = 0; i < n; i++)
        argv[6 + i] = json_str(json_at(list, i));
    struct ictl *x = ictl_new(c, app);
    if (redis_eval(app->redis, &split_script, on_changed, x, 1, (int)(6 + n), argv, NULL) != 0)
        ictl_fail(x, NULL);
    free(argv);
    return 1;
}
