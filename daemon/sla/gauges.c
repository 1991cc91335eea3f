/* SLA gauges for Prometheus, refreshed from Redis every [sla] metrics_interval
 * (one script reads the counters the lifecycle keeps), not per scrape: open
 * appeals by organisation and state, and by municipality; overdue; due
 * within the hour; breached and first responses today. */
#include "gauges.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "app.h"
#include "appeals.h"
#include "calyears.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "sla.h"
#include "tz.h"
#include "units.h"

/* Timers examined for "due within the hour" in one refresh. */
#define DUE_SCAN_LIMIT 20000

struct sla_gauges {
    struct app *app;
    struct event *ev;
    bool busy;
    struct mfam *open, *open_muni, *overdue, *due_1h, *breached, *breached_muni, *fr_met,
        *fr_ontime, *empty;
};

/* "org:maykop|open" -> dim "org", value "maykop", what "open" (in buf). */
static bool split_field(const char *f, char *buf, size_t len, const char **dim,
                        const char **val, const char **what)
{
    snprintf(buf, len, "%s", f);
    char *colon = strchr(buf, ':'), *bar = strrchr(buf, '|');
    if (colon == NULL || bar == NULL || bar < colon)
        return false;
    *colon = *bar = '\0';
    *dim = buf;
    *val = colon + 1;
    *what = bar + 1;
    return true;
}

static void set_from_hash(struct sla_gauges *g, const redisReply *h, bool day)
{
    for (size_t i = 0; h && i + 1 < h->elements; i += 2) {
        const redisReply *k = h->element[i], *v = h->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        char buf[256];
        const char *dim, *val, *what;
        if (!split_field(k->str, buf, sizeof(buf), &dim, &val, &what))
            continue;
        double n = strtod(v->str, NULL);
        bool org = strcmp(dim, "org") == 0, muni = strcmp(dim, "muni") == 0;
        if (!day) {
            if (strcmp(what, "overdue") == 0) {
                if (org)
                    metrics_set(g->overdue, n, val);
            } else if (n != 0) {
                if (org)
                    metrics_set(g->open, n, val, what);
                else if (muni)
                    metrics_set(g->open_muni, n, val, what);
            }
        } else if (strcmp(what, "breached") == 0) {
            if (org)
                metrics_set(g->breached, n, val);
            else if (muni)
                metrics_set(g->breached_muni, n, val);
        } else if (org && strcmp(what, "fr_met") == 0) {
            metrics_set(g->fr_met, n, val);
        } else if (org && strcmp(what, "fr_ontime") == 0) {
            metrics_set(g->fr_ontime, n, val);
        }
    }
}

static void on_gauges(struct redis *r, redisReply *rep, void *arg)
{
    struct sla_gauges *g = arg;
    g->busy = false;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3)
        return;
    struct mfam *all[] = {g->open, g->open_muni, g->overdue, g->due_1h, g->breached,
                          g->breached_muni, g->fr_met, g->fr_ontime};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        metrics_clear(all[i]);
    set_from_hash(g, rep->element[0], false);
    set_from_hash(g, rep->element[2], true);
    const redisReply *due = rep->element[1];
    for (size_t i = 0; i + 1 < due->elements; i += 2)
        if (due->element[i]->type == REDIS_REPLY_STRING &&
            due->element[i + 1]->type == REDIS_REPLY_INTEGER)
            metrics_set(g->due_1h, (double)due->element[i + 1]->integer, due->element[i]->str);
}

void sla_gauges_refresh(struct sla_gauges *g)
{
    if (g->busy || !redis_up(g->app->redis))
        return;
    struct tm tm;
    char day[16];
    int64_t now = now_ms();
    tz_localtime(g->app->cfg->daemon.timezone, now / 1000, &tm, NULL);
    snprintf(day, sizeof(day), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (appeals_gauges(g->app->redis, now, 3600000, day, DUE_SCAN_LIMIT, on_gauges, g) == 0)
        g->busy = true;
}

static void on_tick(evutil_socket_t fd, short what, void *arg) { sla_gauges_refresh(arg); }

void sla_gauges_redis_empty(struct sla_gauges *g) { metrics_set(g->empty, 1); }

/* The calendars' years change when a deadline reaches a new year or on a
 * reload: read them from the live config at each scrape. */
static void on_render(void *arg)
{
    struct sla_gauges *g = arg;
    calyears_metrics(g->app->cfg);
}

struct sla_gauges *sla_gauges_new(struct app *app)
{
    struct sla_gauges *g = calloc(1, sizeof(*g));
    if (g == NULL)
        abort();
    g->app = app;
    g->open = metrics_family("appealsd_open_appeals", M_GAUGE,
                             "Open appeals by organisation and state", "org,state");
    g->open_muni = metrics_family("appealsd_open_appeals_by_municipality", M_GAUGE,
                                  "Open appeals by municipality and state", "municipality,state");
    g->overdue = metrics_family("appealsd_overdue_appeals", M_GAUGE,
                                "Open appeals past a deadline, by organisation", "org");
    g->due_1h = metrics_family("appealsd_sla_due_within_1h", M_GAUGE,
                               "Open appeals with a deadline in the next hour", "org");
    g->breached = metrics_family("appealsd_sla_breached_today", M_GAUGE,
                                 "Deadlines breached today (local time), by organisation",
                                 "org");
    g->breached_muni = metrics_family("appealsd_sla_breached_today_by_municipality", M_GAUGE,
                                      "Deadlines breached today, by municipality",
                                      "municipality");
    g->fr_met = metrics_family("appealsd_first_responses_today", M_GAUGE,
                               "First responses given today, by organisation", "org");
    g->fr_ontime = metrics_family("appealsd_first_responses_on_time_today", M_GAUGE,
                                  "First responses given today before their deadline", "org");
    g->empty = metrics_family("appealsd_redis_came_back_empty", M_GAUGE,
                              "1 when Redis lost its data while the daemon ran; run "
                              "`appealsctl rebuild`", NULL);
    metrics_set(g->empty, 0);
    calyears_metrics(app->cfg);
    metrics_on_render(on_render, g);
    g->ev = event_new(app->base, -1, EV_PERSIST, on_tick, g);
    int64_t ms = sla_cfg(app->cfg)->metrics_interval_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(g->ev, &tv);
    return g;
}

void sla_gauges_free(struct sla_gauges *g)
{
    if (g == NULL)
        return;
    metrics_remove_hook(on_render, g);
    event_free(g->ev);
    free(g);
}
