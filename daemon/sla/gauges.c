/* SLA gauges for Prometheus, refreshed from Redis every [sla] metrics_interval
 * (one script reads the counters the lifecycle keeps), not per scrape: open
 * appeals by organisation and state, and by municipality; overdue; due
 * within the hour; breached and first responses today.
 *
 * Every instance reads the same shared Redis, so the gauges are exported by
 * one instance at a time: the holder of a lease key (metrics:exporter),
 * taken with SET NX and renewed at each refresh, lapsing LEASE_ROUNDS
 * intervals after its holder stopped renewing (dead, or cut off from
 * Redis); the first instance to refresh after that takes it over.  The
 * others export the families empty, so sum() over instances counts once.
 * An instance that cannot renew drops its gauges when its lease has lapsed.
 *
 * The breach and first-response counters are per process instead: each
 * stage and response is stored by exactly one instance (a compare-and-set
 * in Redis), which counts it, so sum(rate()) over instances is exact. */
#include "gauges.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
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
/* Refresh intervals a lease outlives its last renewal. */
#define LEASE_ROUNDS 3

struct sla_gauges {
    struct app *app;
    struct event *ev;
    bool busy, holding;
    int64_t held_until;        /* mono_ms the lease lapses unless renewed */
    char me[320];              /* this process in the lease: INSTANCE@HOST:PID */
    struct mfam *open, *open_muni, *overdue, *due_1h, *breached, *breached_muni, *fr_met,
        *fr_ontime, *empty, *exporter;
};

/* Take the lease when it is free or ours; 1 when we hold it now. */
static struct redis_script lease_script = {
    .name = "gauges_lease",
    .src = "local v = redis.call('GET', KEYS[1])\n"
           "if v == false or v == ARGV[1] then\n"
           "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
           "  return 1\n"
           "end\n"
           "return 0\n",
};

static struct mfam *m_breaches, *m_breaches_muni, *m_fr, *m_fr_ontime;

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

static void clear_gauges(struct sla_gauges *g)
{
    struct mfam *all[] = {g->open, g->open_muni, g->overdue, g->due_1h, g->breached,
                          g->breached_muni, g->fr_met, g->fr_ontime};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        metrics_clear(all[i]);
}

static void set_holding(struct sla_gauges *g, bool holding)
{
    if (holding != g->holding)
        log_info("metrics: this instance (%s) %s the SLA gauges", g->me,
                 holding ? "now exports" : "no longer exports; another instance holds the lease "
                 "and exports");
    g->holding = holding;
    metrics_set(g->exporter, holding);
    if (!holding)
        clear_gauges(g);
}

static void on_gauges(struct redis *r, redisReply *rep, void *arg)
{
    struct sla_gauges *g = arg;
    g->busy = false;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 || !g->holding)
        return;
    clear_gauges(g);
    set_from_hash(g, rep->element[0], false);
    set_from_hash(g, rep->element[2], true);
    const redisReply *due = rep->element[1];
    for (size_t i = 0; i + 1 < due->elements; i += 2)
        if (due->element[i]->type == REDIS_REPLY_STRING &&
            due->element[i + 1]->type == REDIS_REPLY_INTEGER)
            metrics_set(g->due_1h, (double)due->element[i + 1]->integer, due->element[i]->str);
}

static void read_gauges(struct sla_gauges *g)
{
    struct tm tm;
    char day[16];
    int64_t now = now_ms();
    tz_localtime(g->app->cfg->daemon.timezone, now / 1000, &tm, NULL);
    snprintf(day, sizeof(day), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (appeals_gauges(g->app->redis, now, 3600000, day, DUE_SCAN_LIMIT, on_gauges, g) != 0)
        g->busy = false;
}

static int64_t lease_ms(const struct sla_gauges *g)
{
    int64_t ms = LEASE_ROUNDS * sla_cfg(g->app->cfg)->metrics_interval_ms;
    return ms < 3000 ? 3000 : ms;
}

static void on_lease(struct redis *r, redisReply *rep, void *arg)
{
    struct sla_gauges *g = arg;
    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
        g->busy = false;
        return;
    }
    if (rep->integer == 1)
        g->held_until = mono_ms() + lease_ms(g);
    set_holding(g, rep->integer == 1);
    if (g->holding)
        read_gauges(g);
    else
        g->busy = false;
}

void sla_gauges_refresh(struct sla_gauges *g)
{
    if (g->holding && mono_ms() > g->held_until)
        set_holding(g, false);   /* lapsed: another instance may hold it by now */
    if (g->busy || !redis_up(g->app->redis))
        return;
    char key[256], ttl[32];
    appeals_keyf(g->app->redis, key, sizeof(key), "metrics:exporter");
    snprintf(ttl, sizeof(ttl), "%lld", (long long)lease_ms(g));
    const char *argv[] = {key, g->me, ttl};
    if (redis_eval(g->app->redis, &lease_script, on_lease, g, 1, 3, argv, NULL) == 0)
        g->busy = true;
}

void sla_gauges_count(const char *org, const char *municipality, int breaches, bool fr_met,
                      bool fr_on_time)
{
    if (m_breaches == NULL)
        return;
    if (breaches) {
        metrics_add(m_breaches, breaches, org);
        metrics_add(m_breaches_muni, breaches, municipality);
    }
    if (fr_met)
        metrics_add(m_fr, 1, org);
    if (fr_met && fr_on_time)
        metrics_add(m_fr_ontime, 1, org);
}

/* Their label values are pre-registered with the others'
 * (health_preregister), also after a reload. */
static void count_families(void)
{
    m_breaches = metrics_family("appealsd_sla_breaches_total", M_COUNTER,
                                "Deadlines breached, by organisation", "org");
    m_breaches_muni = metrics_family("appealsd_sla_breaches_by_municipality_total", M_COUNTER,
                                     "Deadlines breached, by municipality", "municipality");
    m_fr = metrics_family("appealsd_first_responses_total", M_COUNTER,
                          "First responses given, by organisation", "org");
    m_fr_ontime = metrics_family("appealsd_first_responses_on_time_total", M_COUNTER,
                                 "First responses given before their deadline", "org");
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
    /* Deprecated by the counters below (they reset at local midnight);
     * kept for one release for dashboards and `stats` users. */
    g->breached = metrics_family("appealsd_sla_breached_today", M_GAUGE,
                                 "Deprecated: use appealsd_sla_breaches_total. Deadlines "
                                 "breached today (local time), by organisation", "org");
    g->breached_muni = metrics_family("appealsd_sla_breached_today_by_municipality", M_GAUGE,
                                      "Deprecated: use appealsd_sla_breaches_by_municipality_"
                                      "total. Deadlines breached today, by municipality",
                                      "municipality");
    g->fr_met = metrics_family("appealsd_first_responses_today", M_GAUGE,
                               "Deprecated: use appealsd_first_responses_total. First "
                               "responses given today, by organisation", "org");
    g->fr_ontime = metrics_family("appealsd_first_responses_on_time_today", M_GAUGE,
                                  "Deprecated: use appealsd_first_responses_on_time_total. "
                                  "First responses given today before their deadline", "org");
    g->exporter = metrics_family("appealsd_sla_gauges_exporter", M_GAUGE,
                                 "1 on the one instance that exports the SLA gauges read from "
                                 "the shared Redis (it holds the lease)", NULL);
    metrics_set(g->exporter, 0);
    count_families();
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(g->me, sizeof(g->me), "%s@%s:%ld", app->cfg->daemon.instance, host,
             (long)getpid());
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
    m_breaches = m_breaches_muni = m_fr = m_fr_ontime = NULL;
    event_free(g->ev);
    free(g);
}
