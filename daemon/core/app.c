#include "app.h"
#include "incident_store.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "apd_build.h"
#include "config.h"
#include "control.h"
#include "crypto.h"
#include "delivery.h"
#include "engine.h"
#include "health.h"
#include "metrics_http.h"
#include "http.h"
#include "kafka.h"
#include "log.h"
#include "notify.h"
#include "pipeline.h"
#include "poll.h"
#include "redis.h"
#include "sources.h"
#include "spool.h"
#include "units.h"
#include "webhook.h"

static void libevent_log(int severity, const char *msg)
{
    log_msg(severity >= EVENT_LOG_ERR ? LOG_LVL_ERROR : severity == EVENT_LOG_WARN
                                                            ? LOG_LVL_WARN : LOG_LVL_DEBUG,
            "libevent: %s", msg);
}

void app_status_line(struct app *app, char *buf, size_t len)
{
    struct pipeline_stats ps;
    struct spool_stats ss;
    pipeline_get_stats(app->pipeline, &ps);
    spool_get_stats(app->spool, &ss);
    snprintf(buf, len, "%s: kafka %s, redis %s, %" PRIu64 " unreleased in spool, %" PRIu64
             " in flight, %" PRIu64 " published",
             app->state == APP_DRAINING ? "draining" : "running",
             kafka_up(app->kafka) ? "up" : "DOWN", redis_up(app->redis) ? "up" : "DOWN",
             ss.unreleased, ps.inflight, ps.published);
}

/* A stable key for pseudonyms when none is configured: kept beside the
 * spool so restarts agree.  Several instances must share daemon.pseudonym_key
 * instead, or one author gets different pseudonyms on different hosts. */
static int load_pseudonym_key(struct app *app, char *err, size_t errlen)
{
    if (app->cfg->daemon.pseudonym_key)
        return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/pseudonym.key", app->cfg->spool.dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, app->pseudonym_key, 64);
        close(fd);
        if (n == 64)
            return 0;
    }
    unsigned char rnd[32];
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
        snprintf(err, errlen, "getrandom: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 32; i++)
        sprintf(app->pseudonym_key + 2 * i, "%02x", rnd[i]);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, app->pseudonym_key, 64) != 64 || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    log_notice("daemon: no daemon.pseudonym_key configured; generated %s (instances sharing "
               "Redis and Kafka must share one key)", path);
    return 0;
}

/* ---- shutdown ---- */

static bool drained(struct app *app)
{
    struct pipeline_stats ps;
    pipeline_get_stats(app->pipeline, &ps);
    return webhook_inflight() == 0 && polls_inflight() == 0 && ps.inflight == 0 &&
           kafka_outq(app->kafka) == 0 && delivery_idle(app->delivery) && sla_engine_idle(app) &&
           incidents_inflight(app->incidents) == 0;
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct app *app = arg;
    if (drained(app)) {
        log_info("daemon: drained; stopping");
        event_base_loopexit(app->base, NULL);
        return;
    }
    if (mono_ms() >= app->drain_deadline_ms) {
        struct pipeline_stats ps;
        pipeline_get_stats(app->pipeline, &ps);
        log_warn("daemon: shutdown deadline reached with %" PRIu64 " records in flight; they "
                 "stay in the spool and are replayed at the next start", ps.inflight);
        kafka_purge_queued(app->kafka);
        event_base_loopexit(app->base, NULL);
    }
}

static void begin_drain(struct app *app, int sig)
{
    if (app->state == APP_DRAINING) {
        log_warn("daemon: second %s during shutdown; exiting now (unfinished work stays in the "
                 "spool)", strsignal(sig));
        event_base_loopbreak(app->base);
        return;
    }
    app->state = APP_DRAINING;
    struct pipeline_stats ps;
    pipeline_get_stats(app->pipeline, &ps);
    char st[128];
    snprintf(st, sizeof(st), "draining: %" PRIu64 " in flight", ps.inflight);
    notify_stopping(st);
    log_info("daemon: %s received; no new webhooks, finishing %" PRIu64 " records in flight "
             "(up to %lld ms)", strsignal(sig), ps.inflight,
             (long long)app->cfg->daemon.shutdown_timeout_ms);
    http_stop_intake(app->http);
    polls_stop(app->polls);
    pipeline_drain(app->pipeline);
    delivery_stop(app->delivery);
    sla_engine_drain(app);
    app->drain_deadline_ms = mono_ms() + app->cfg->daemon.shutdown_timeout_ms;
    app->drain_timer = event_new(app->base, -1, EV_PERSIST, on_drain_tick, app);
    struct timeval tv = {0, 20000};
    event_add(app->drain_timer, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct app *app = arg;
    if (sig == SIGHUP) {
        char err[1024];
        app_reload(app, err, sizeof(err));
        return;
    }
    begin_drain(app, (int)sig);
}

/* ---- log level ---- */

void app_set_log_level(struct app *app, int level, const char *actor)
{
    int was = (int)log_get_level(), file = app->cfg->daemon.log_level;
    app->log_runtime = level;
    app->log_runtime_over = file;
    log_set_level((enum log_level)level);
    log_notice("daemon: log level %s -> %s, set by %s; reloads keep it while [daemon] "
               "log_level stays %s, a restart returns to %s", log_level_name(was),
               log_level_name(level), actor, log_level_name(file), log_level_name(file));
}

/* A runtime level outlives a reload unless the file's level was edited:
 * the newer intention wins, and the log says which one did. */
static void reload_log_level(struct app *app, int prev_file)
{
    int file = app->cfg->daemon.log_level;
    if (app->log_runtime >= 0 && file == app->log_runtime_over) {
        log_info("daemon: reload keeps the log level %s set at runtime ([daemon] log_level "
                 "is still %s)", log_level_name(app->log_runtime), log_level_name(file));
        return;
    }
    if (app->log_runtime >= 0)
        log_notice("daemon: [daemon] log_level changed to %s in the file; it replaces the "
                   "level %s set at runtime", log_level_name(file),
                   log_level_name(app->log_runtime));
    else if (file != prev_file)
        log_notice("daemon: log level %s -> %s from the reloaded configuration",
                   log_level_name(prev_file), log_level_name(file));
    app->log_runtime = -1;
    log_set_level((enum log_level)file);
}

/* ---- reload ---- */

int app_reload(struct app *app, char *err, size_t errlen)
{
    if (app->state != APP_RUNNING) {
        snprintf(err, errlen, "the daemon is shutting down");
        return -1;
    }
    notify_reloading();
    log_info("daemon: reloading %s", app->config_path);
    struct diag d = {0};
    struct config_opts o = {.path = app->config_path, .overrides = app->overrides};
    struct apd_config *next = config_load(&o, &d);
    const char *restart = next ? config_restart_diff(app->cfg, next) : NULL;
    struct sources *ns = NULL;
    if (next && restart == NULL)
        ns = sources_start(next, err, errlen);
    if (next == NULL || restart || ns == NULL) {
        if (next == NULL) {
            char *all = diag_join(&d, "; ");
            snprintf(err, errlen, "%s", all);
            free(all);
        } else if (restart) {
            snprintf(err, errlen, "%s changed; that needs a restart", restart);
        }
        config_unref(next);
        diag_free(&d);
        app->reload_failures++;
        snprintf(app->last_reload_error, sizeof(app->last_reload_error), "%s", err);
        log_error("daemon: reload refused: %s; still running configuration generation %u", err,
                  app->cfg->generation);
        char st[600];
        snprintf(st, sizeof(st), "reload failed, old config kept: %.500s", err);
        notify_ready(st);
        return -1;
    }
    diag_log_warnings(&d);
    diag_free(&d);
    struct sources *old = app->sources;
    sources_handover(ns, old);
    app->sources = ns;
    sources_stop(old);
    struct apd_config *prev = app->cfg;
    int prev_level = prev->daemon.log_level;
    app->cfg = next;
    health_preregister(app);   /* sources and organisations the new config adds */
    polls_sync(app->polls);    /* pages that started or stopped polling */
    http_reload_tls(app->http);   /* a renewed certificate, same paths or new */
    config_unref(prev);   /* jobs still using it keep it alive */
    reload_log_level(app, prev_level);
    app->reloads++;
    app->last_reload_error[0] = '\0';
    log_info("daemon: configuration generation %u is active", next->generation);
    char st[256];
    app_status_line(app, st, sizeof(st));
    notify_ready(st);
    return 0;
}

/* ---- timers ---- */

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    /* Pinged from the loop itself: a wedged loop stops the pings. */
    notify_watchdog();
}

static void on_status(evutil_socket_t fd, short what, void *arg)
{
    char st[256];
    app_status_line(arg, st, sizeof(st));
    notify_status("%s", st);
}

static struct event *add_signal(struct app *app, int sig)
{
    struct event *e = evsignal_new(app->base, sig, on_signal, app);
    event_add(e, NULL);
    return e;
}

static int start(struct app *app, char *err, size_t errlen)
{
    if (load_pseudonym_key(app, err, errlen) != 0)
        return -1;
    if (app->cfg->daemon.pseudonym_key == NULL)
        pseudonym_set_default_key(app->pseudonym_key);
    if ((app->kafka = kafka_new(app->cfg, app->base, err, errlen)) == NULL)
        return -1;
    app->redis = redis_new(app->cfg, app->base);
    app->delivery = delivery_new(app);
    if ((app->sources = sources_start(app->cfg, err, errlen)) == NULL)
        return -1;
    app->pipeline = pipeline_new(app);
    if (sla_engine_start(app, err, errlen) != 0)
        return -1;
    app->incidents = incidents_new(app);
    app->report = report_new(app);
    if ((app->http = http_start(app, err, errlen)) == NULL)
        return -1;
    if ((app->control = control_start(app, err, errlen)) == NULL)
        return -1;
    if (metrics_listen_of(app->cfg) &&
        (app->metrics_http = metrics_http_start(app, err, errlen)) == NULL)
        return -1;
    app->health = health_new(app);
    health_preregister(app);
    app->polls = polls_new(app);
    return 0;
}

static void teardown(struct app *app)
{
    if (app->pipeline)
        pipeline_drain(app->pipeline);
    sla_engine_stop(app);
    control_free(app->control);
    metrics_http_free(app->metrics_http);
    http_free(app->http);
    /* Kafka before Redis: late delivery reports may still commit. */
    kafka_free(app->kafka, 2000);
    redis_free(app->redis);
    health_free(app->health);   /* after Redis: a PING's callback reaches into it */
    polls_free(app->polls);     /* after Redis: a lease reply reaches into it */
    delivery_free(app->delivery);   /* after Redis: its callbacks reach into it */
    sla_engine_free(app);   /* likewise, and after Kafka's last delivery reports */
    incidents_free(app->incidents);   /* after the lifecycle: its callbacks reach into it */
    report_free(app->report);
    pipeline_free(app->pipeline);
    sources_stop(app->sources);
    spool_close(app->spool);
    struct event *evs[] = {app->sig_term, app->sig_int, app->sig_hup, app->watchdog,
                           app->drain_timer, app->status_timer};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    config_unref(app->cfg);
    event_base_free(app->base);
}

int app_run(const char *config_path, const char *const *overrides)
{
    struct app app = {.config_path = config_path, .overrides = overrides, .exit_code = 0,
                      .log_runtime = -1};
    struct diag d = {0};
    struct config_opts o = {.path = config_path, .overrides = overrides};
    app.cfg = config_load(&o, &d);
    if (app.cfg == NULL) {
        for (size_t i = 0; i < d.n; i++)
            log_error("config: %s", d.msg[i]);
        log_error("daemon: configuration %s is invalid (%zu problems); not starting", config_path,
                  d.n);
        diag_free(&d);
        notify_errno(EINVAL);
        return 1;
    }
    diag_log_warnings(&d);
    diag_free(&d);
    log_set_level((enum log_level)app.cfg->daemon.log_level);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_ALL);
    event_set_log_callback(libevent_log);
    app.base = event_base_new();
    /* Two priorities: the SLA scheduler's events (0) go before intake (1). */
    event_base_priority_init(app.base, 2);
    app.started_ms = now_ms();
    app.sig_term = add_signal(&app, SIGTERM);
    app.sig_int = add_signal(&app, SIGINT);
    app.sig_hup = add_signal(&app, SIGHUP);
    char err[1024] = "";
    app.spool = spool_open(app.cfg->spool.dir, app.cfg->spool.max_size,
                           app.cfg->spool.segment_size, app.base, err, sizeof(err));
    if (app.spool == NULL || start(&app, err, sizeof(err)) != 0) {
        log_error("daemon: cannot start: %s", err);
        notify_errno(EIO);
        teardown(&app);
        curl_global_cleanup();
        return 1;
    }
    app.state = APP_RUNNING;
    uint64_t wd = notify_watchdog_usec();
    if (wd) {
        app.watchdog = event_new(app.base, -1, EV_PERSIST, on_watchdog, &app);
        struct timeval tv = {(time_t)(wd / 2 / 1000000), (suseconds_t)(wd / 2 % 1000000)};
        event_add(app.watchdog, &tv);
        notify_watchdog();
    }
    app.status_timer = event_new(app.base, -1, EV_PERSIST, on_status, &app);
    struct timeval st = {5, 0};
    event_add(app.status_timer, &st);
    char line[256];
    app_status_line(&app, line, sizeof(line));
    log_info("daemon: appealsd %s ready: webhooks on port %d, control socket %s, spool %s",
             APD_VERSION, http_port(app.http), app.cfg->control.socket, app.cfg->spool.dir);
    notify_ready(line);
    pipeline_pump(app.pipeline);   /* replay what an earlier run left */
    event_base_dispatch(app.base);
    app.state = APP_STOPPED;
    teardown(&app);
    curl_global_cleanup();
    log_info("daemon: stopped");
    return app.exit_code;
}
