#include "health.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "apd_build.h"
#include "app.h"
#include "config.h"
#include "directory.h"
#include "kafka.h"
#include "metrics.h"
#include "redis.h"
#include "sbuf.h"
#include "sources.h"
#include "spool.h"
#include "units.h"

#define REDIS_PING_S 5

/* Round trips: a local Redis answers in well under a millisecond. */
static const double rtt_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                     0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};

struct health {
    struct app *app;
    struct event *tick;
    int64_t kafka_down_since;   /* mono_ms when no broker was up any more; 0: up */
    int64_t ping_sent_us;       /* 0: no PING outstanding */
    double last_rtt;            /* seconds, -1 before the first answer */
    unsigned ticks;
    struct mfam *spool_bytes, *spool_records, *spool_segments, *spool_age, *spool_max,
        *spool_appended, *spool_released, *spool_fsyncs, *spool_werr, *spool_rejected;
    struct mfam *k_brokers, *k_up, *k_down_s, *k_qmsgs, *k_qbytes;
    struct mfam *r_up, *r_rtt, *r_last_rtt;
    struct mfam *build, *p_cpu, *p_rss, *p_vsize, *p_fds, *p_maxfds, *p_start;
};

/* ---- /proc/self, named as the Prometheus client libraries name it ---- */

static double boot_time_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    double bt = 0;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtod(line + 6, NULL);
            break;
        }
    if (f)
        fclose(f);
    return bt;
}

/* Fields of /proc/self/stat after the command name, which may hold spaces:
 * utime (14), stime (15), starttime (22), vsize (23) and rss (24). */
static void proc_stat(struct health *h)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return;
    double v[24] = {0};
    char *save = NULL;
    int i = 3;   /* the state letter is field 3 */
    for (char *t = strtok_r(p + 1, " ", &save); t && i <= 24; t = strtok_r(NULL, " ", &save))
        v[i++ - 1] = strtod(t, NULL);
    double hz = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
    metrics_set(h->p_cpu, (v[13] + v[14]) / hz);
    metrics_set(h->p_start, boot_time_s() + v[21] / hz);
    metrics_set(h->p_vsize, v[22]);
    metrics_set(h->p_rss, v[23] * page);
}

static void proc_fds(struct health *h)
{
    DIR *d = opendir("/proc/self/fd");
    double n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    if (d) {
        closedir(d);
        n--;   /* the directory's own descriptor */
    }
    metrics_set(h->p_fds, n);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        metrics_set(h->p_maxfds, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
}

/* ---- the render hook ---- */

static double spool_age_s(struct app *app)
{
    int64_t oldest = spool_oldest_unreleased_ms(app->spool);
    int64_t age = oldest ? now_ms() - oldest : 0;
    return age > 0 ? (double)age / 1000.0 : 0;
}

static double kafka_down_s(const struct health *h)
{
    return h->kafka_down_since ? (double)(mono_ms() - h->kafka_down_since) / 1000.0 : 0;
}

static void render_spool(struct health *h)
{
    struct spool_stats st;
    spool_get_stats(h->app->spool, &st);
    metrics_set(h->spool_bytes, (double)st.bytes);
    metrics_set(h->spool_max, (double)h->app->cfg->spool.max_size);
    metrics_set(h->spool_records, (double)st.unreleased);
    metrics_set(h->spool_segments, (double)st.segments);
    metrics_set(h->spool_age, spool_age_s(h->app));
    metrics_set(h->spool_appended, (double)st.appended);
    metrics_set(h->spool_released, (double)st.released);
    metrics_set(h->spool_fsyncs, (double)st.fsyncs);
    metrics_set(h->spool_werr, (double)st.write_errors);
    metrics_set(h->spool_rejected, (double)st.rejected);
}

static void on_render(void *arg)
{
    struct health *h = arg;
    struct app *app = h->app;
    render_spool(h);
    metrics_set(h->k_brokers, kafka_brokers_up(app->kafka));
    metrics_set(h->k_up, kafka_up(app->kafka));
    metrics_set(h->k_down_s, kafka_down_s(h));
    metrics_set(h->k_qmsgs, (double)kafka_outq(app->kafka));
    metrics_set(h->k_qbytes, (double)kafka_queue_bytes(app->kafka));
    metrics_set(h->r_up, redis_up(app->redis));
    metrics_set(h->r_last_rtt, h->last_rtt);
    proc_stat(h);
    proc_fds(h);
}

/* ---- the 1 s timer: Kafka's outage clock, the Redis PING ---- */

static void on_pong(struct redis *r, redisReply *rep, void *arg)
{
    struct health *h = arg;
    if (rep && rep->type == REDIS_REPLY_STATUS && h->ping_sent_us) {
        h->last_rtt = (double)(mono_us() - (int64_t)h->ping_sent_us) / 1e6;
        metrics_observe(h->r_rtt, h->last_rtt);
    }
    h->ping_sent_us = 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct health *h = arg;
    if (kafka_up(h->app->kafka))
        h->kafka_down_since = 0;
    else if (h->kafka_down_since == 0)
        h->kafka_down_since = mono_ms();
    /* A PING still unanswered is the command deadline's business (redis.c
     * drops the connection); its callback clears ping_sent_us. */
    if (h->ticks++ % REDIS_PING_S == 0 && h->ping_sent_us == 0 && redis_up(h->app->redis)) {
        h->ping_sent_us = mono_us();
        if (redis_cmdf(h->app->redis, on_pong, h, "PING") != 0)
            h->ping_sent_us = 0;
    }
}

static void register_families(struct health *h)
{
    h->spool_bytes = metrics_family("appealsd_spool_bytes", M_GAUGE,
                                    "Bytes of live spool segments (counted against max_size)",
                                    NULL);
    h->spool_max = metrics_family("appealsd_spool_max_bytes", M_GAUGE,
                                  "The spool's quota ([spool] max_size)", NULL);
    h->spool_records = metrics_family("appealsd_spool_records", M_GAUGE,
                                      "Spool records not yet released (in the pipeline or "
                                      "waiting for Kafka/Redis)", NULL);
    h->spool_segments = metrics_family("appealsd_spool_segments", M_GAUGE,
                                       "Live spool segment files", NULL);
    h->spool_age = metrics_family("appealsd_spool_oldest_unreleased_seconds", M_GAUGE,
                                  "Age of the oldest spool record not yet released (0: none)",
                                  NULL);
    h->spool_appended = metrics_family("appealsd_spool_appended_total", M_COUNTER,
                                       "Records appended to the spool", NULL);
    h->spool_released = metrics_family("appealsd_spool_released_total", M_COUNTER,
                                       "Records released (their pipeline finished)", NULL);
    h->spool_fsyncs = metrics_family("appealsd_spool_fsyncs_total", M_COUNTER,
                                     "Group commits (one fdatasync for every record waiting)",
                                     NULL);
    h->spool_werr = metrics_family("appealsd_spool_write_errors_total", M_COUNTER,
                                   "Failed spool writes or syncs", NULL);
    h->spool_rejected = metrics_family("appealsd_spool_rejected_total", M_COUNTER,
                                       "Records written whose sync failed (answered 503)", NULL);
    h->k_brokers = metrics_family("appealsd_kafka_brokers_up", M_GAUGE,
                                  "Kafka brokers the producer is connected to", NULL);
    h->k_up = metrics_family("appealsd_kafka_up", M_GAUGE,
                             "1 while at least one Kafka broker is up", NULL);
    h->k_down_s = metrics_family("appealsd_kafka_unreachable_seconds", M_GAUGE,
                                 "How long no Kafka broker has been up (0 while one is)", NULL);
    h->k_qmsgs = metrics_family("appealsd_kafka_queue_messages", M_GAUGE,
                                "Messages in the producer's queue or in flight", NULL);
    h->k_qbytes = metrics_family("appealsd_kafka_queue_bytes", M_GAUGE,
                                 "Bytes in the producer's queue (statistics, every 2 s)", NULL);
}

static void register_more(struct health *h)
{
    h->r_up = metrics_family("appealsd_redis_up", M_GAUGE,
                             "1 while the Redis connection is usable", NULL);
    h->r_rtt = metrics_family("appealsd_redis_ping_seconds", M_HISTOGRAM,
                              "Redis round trip, a PING every 5 s", NULL);
    metrics_set_buckets(h->r_rtt, rtt_buckets, sizeof(rtt_buckets) / sizeof(rtt_buckets[0]));
    h->r_last_rtt = metrics_family("appealsd_redis_last_ping_seconds", M_GAUGE,
                                   "The last PING's round trip (-1: none answered yet)", NULL);
    h->build = metrics_family("appealsd_build_info", M_GAUGE,
                              "Always 1: the version and the libraries it runs with",
                              "version,librdkafka,libevent");
    metrics_set(h->build, 1, APD_VERSION, rd_kafka_version_str(), event_get_version());
    h->p_cpu = metrics_family("process_cpu_seconds_total", M_COUNTER,
                              "Total user and system CPU time spent in seconds.", NULL);
    h->p_rss = metrics_family("process_resident_memory_bytes", M_GAUGE,
                              "Resident memory size in bytes.", NULL);
    h->p_vsize = metrics_family("process_virtual_memory_bytes", M_GAUGE,
                                "Virtual memory size in bytes.", NULL);
    h->p_fds = metrics_family("process_open_fds", M_GAUGE, "Number of open file descriptors.",
                              NULL);
    h->p_maxfds = metrics_family("process_max_fds", M_GAUGE,
                                 "Maximum number of open file descriptors.", NULL);
    h->p_start = metrics_family("process_start_time_seconds", M_GAUGE,
                                "Start time of the process since unix epoch in seconds.", NULL);
}

struct health *health_new(struct app *app)
{
    struct health *h = calloc(1, sizeof(*h));
    if (h == NULL)
        abort();
    h->app = app;
    h->last_rtt = -1;
    register_families(h);
    register_more(h);
    metrics_on_render(on_render, h);
    h->tick = event_new(app->base, -1, EV_PERSIST, on_tick, h);
    struct timeval tv = {1, 0};
    event_add(h->tick, &tv);
    return h;
}

void health_free(struct health *h)
{
    if (h == NULL)
        return;
    metrics_remove_hook(on_render, h);
    event_free(h->tick);
    free(h);
}

/* ---- /healthz ---- */

static void fmt_limit(char *buf, size_t len, int64_t ms)
{
    if (ms <= 0)
        snprintf(buf, len, "no limit");
    else
        snprintf(buf, len, "limit %" PRId64 "s", ms / 1000);
}

/* Appends "name: ok|FAIL: detail" and, on a failure, the reason to why. */
static bool check_line(struct sbuf *lines, struct sbuf *why, const char *name, bool ok,
                       const char *detail, const char *reason)
{
    sbuf_printf(lines, "%s: %s: %s\n", name, ok ? "ok" : "FAIL", detail);
    if (!ok)
        sbuf_printf(why, "%s%s", why->len ? "; " : "", reason);
    return ok;
}

static bool check_spool(struct health *h, struct sbuf *lines, struct sbuf *why)
{
    struct spool_stats st;
    spool_get_stats(h->app->spool, &st);
    double age = spool_age_s(h->app);
    int64_t max = h->app->cfg->daemon.health_max_spool_age_ms;
    char lim[32], d[256];
    fmt_limit(lim, sizeof(lim), max);
    snprintf(d, sizeof(d), "%" PRIu64 " records unreleased, the oldest %.0fs old (%s), %" PRIu64
             " of %" PRIu64 " bytes", st.unreleased, age, lim, st.bytes,
             (uint64_t)h->app->cfg->spool.max_size);
    if (spool_full(h->app->spool))
        return check_line(lines, why, "spool", false, d, "spool full");
    bool ok = max <= 0 || age * 1000 <= (double)max;
    return check_line(lines, why, "spool", ok, d, "spool backlog too old");
}

static bool check_kafka(struct health *h, struct sbuf *lines, struct sbuf *why)
{
    int64_t max = h->app->cfg->daemon.health_max_kafka_down_ms;
    double down = kafka_down_s(h);
    char lim[32], d[256];
    fmt_limit(lim, sizeof(lim), max);
    if (down == 0)
        snprintf(d, sizeof(d), "%d brokers up", kafka_brokers_up(h->app->kafka));
    else
        snprintf(d, sizeof(d), "no broker up for %.0fs (%s); appeals wait in the spool", down,
                 lim);
    bool ok = max <= 0 || down * 1000 <= (double)max;
    return check_line(lines, why, "kafka", ok, d, "kafka unreachable");
}

/* Redis down alone is not a failure: appeals wait in the spool, whose age
 * check turns the answer to 503 if it lasts. */
static void check_redis(struct health *h, struct sbuf *lines)
{
    if (!redis_up(h->app->redis))
        sbuf_adds(lines, "redis: down: reconnecting; appeals wait in the spool\n");
    else if (h->last_rtt >= 0)
        sbuf_printf(lines, "redis: ok: round trip %.2f ms\n", h->last_rtt * 1000);
    else
        sbuf_adds(lines, "redis: ok: connected\n");
}

bool health_check(struct health *h, struct sbuf *out)
{
    struct sbuf lines = SBUF_INIT, why = SBUF_INIT;
    bool ok = true;
    if (h->app->state != APP_RUNNING) {
        sbuf_adds(&lines, "daemon: FAIL: draining\n");
        sbuf_adds(&why, "draining");
        ok = false;
    }
    ok &= check_spool(h, &lines, &why);
    ok &= check_kafka(h, &lines, &why);
    check_redis(h, &lines);
    sbuf_printf(out, "%s\n", ok ? "ok" : why.p);
    sbuf_add(out, lines.p ? lines.p : "", lines.len);
    sbuf_free(&lines);
    sbuf_free(&why);
    return ok;
}

/* ---- label values known from the config, at 0 ---- */

static void zero(const char *family, const char *a, const char *b)
{
    struct mfam *f = metrics_find(family);
    if (f)
        metrics_add(f, 0, a, b);   /* extra arguments are ignored */
}

static void zero_list(const char *family, const char *const *values, const char *second)
{
    for (size_t i = 0; values[i]; i++)
        zero(family, values[i], second);
}

static void zero_orgs(const struct apd_config *c)
{
    zero("appealsd_appeals_total", "triage", "created");
    for (size_t i = 0; c->dir && i < c->dir->norgs; i++) {
        const struct org *o = &c->dir->orgs[i];
        zero("appealsd_appeals_total", o->code, "created");
        zero("appealsd_sla_breaches_total", o->code, NULL);
        zero("appealsd_first_responses_total", o->code, NULL);
        zero("appealsd_first_responses_on_time_total", o->code, NULL);
        if (o->municipality)
            zero("appealsd_sla_breaches_by_municipality_total", o->municipality, NULL);
        if (o->kafka && o->topic) {
            zero("appealsd_kafka_messages_total", o->topic, NULL);
            zero("appealsd_kafka_delivery_seconds", o->topic, NULL);
        }
        if (o->http_url) {
            zero("appealsd_http_deliveries_total", o->code, "delivered");
            zero("appealsd_http_delivery_seconds", o->code, NULL);
        }
    }
}

static void zero_sources(const struct apd_config *c)
{
    static const char *const by_source[] = {"appealsd_duplicates_total",
                                            "appealsd_quarantined_total",
                                            "appealsd_appeals_removed_by_page_total", NULL};
    for (size_t i = 0; i < c->nsources; i++) {
        if (!c->sources[i].enabled)
            continue;
        zero("appealsd_http_requests_total", c->sources[i].name, "200");
        for (size_t k = 0; by_source[k]; k++)
            zero(by_source[k], c->sources[i].name, NULL);
    }
}

/* The values below are the daemon's own vocabulary (event types, stages,
 * statuses of the published schemas), not the config's. */
void health_preregister(struct app *app)
{
    static const char *const kinds[] = {"reply", "disconnect", "timeout", NULL};
    static const char *const stages[] = {"warning", "breach", "escalation", NULL};
    static const char *const events[] = {
        "answered", "breach", "converted", "escalation", "extended", "met", "registered",
        "removed_by_page", "reopened", "rerouted", "restored", "resumed", "updated",
        "warning", "withdrawn", NULL};
    static const char *const statuses[] = {"accepted", "in_progress", "answered", "resolved",
                                           "need_info", "rejected", NULL};
    const struct apd_config *c = app->cfg;
    const char *const topics[] = {c->kafka.topic_all, c->kafka.topic_triage,
                                  c->kafka.topic_sla, c->kafka.topic_dlq, NULL};
    zero_list("appealsd_redis_errors_total", kinds, NULL);
    zero_list("appealsd_sla_stages_total", stages, NULL);
    zero_list("appealsd_lifecycle_events_total", events, NULL);
    zero_list("appealsd_agency_statuses_total", statuses, "received");
    zero("appealsd_agency_statuses_total", "invalid", "dead_lettered");
    zero_list("appealsd_kafka_messages_total", topics, NULL);
    zero_list("appealsd_kafka_delivery_seconds", topics, NULL);
    zero_sources(c);
    zero_orgs(c);
}
