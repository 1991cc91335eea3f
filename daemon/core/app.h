/* The running daemon: one event loop and the modules wired onto it.
 *
 * Lifecycle (all on the loop thread):
 *   start   config → spool → Kafka → Redis → sources → pipeline → HTTP and
 *           control listeners → READY=1
 *   SIGHUP  build the new config, validate, start its sources, swap; keep the
 *           old one on any failure (RELOADING=1 ... READY=1 either way)
 *   SIGTERM STOPPING=1; stop intake (listeners closed, 503 to stragglers);
 *           let in-flight jobs finish until daemon.shutdown_timeout; purge what
 *           is only queued (it stays in the spool); exit 0
 */
#ifndef APPEALSD_APP_H
#define APPEALSD_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct event;
struct apd_config;
struct spool;
struct kafka;
struct redis;
struct sources;
struct pipeline;
struct http_server;
struct control;
struct delivery;
struct config_opts;
struct sla_engine;
struct health;
struct polls;

enum app_state { APP_STARTING, APP_RUNNING, APP_DRAINING, APP_STOPPED };

struct app {
    struct event_base *base;
    struct apd_config *cfg;
    const char *config_path;
    const char *const *overrides;
    enum app_state state;
    int64_t started_ms;
    struct spool *spool;
    struct kafka *kafka;
    struct redis *redis;
    struct sources *sources;
    struct pipeline *pipeline;
    struct delivery *delivery;
    struct http_server *http;
    struct control *control;
    struct metrics_http *metrics_http;   /* NULL: /metrics is on the HTTP listener */
    struct sla_engine *sla;   /* lifecycle, SLA timers, agency statuses (sla/engine.h) */
    struct health *health;    /* /metrics health series and /healthz (metrics/health.h) */
    struct incidents *incidents;  /* grouping into incidents (incident/incident_store.h) */
    struct report *report;    /* the daily figures of `appealsctl report` (report/report.h) */
    struct polls *polls;      /* pull sources: pages polled through their APIs (poll/poll.h) */
    struct event *sig_term, *sig_int, *sig_hup, *watchdog, *drain_timer, *status_timer;
    int64_t drain_deadline_ms;
    uint64_t reloads, reload_failures;
    char last_reload_error[512];
    char pseudonym_key[65];   /* used when daemon.pseudonym_key is not set */
    /* `appealsctl log-level`: the level set at runtime (-1: none), and the
     * file's [daemon] log_level it was set over.  A reload keeps it while the
     * file says the same; an edited log_level wins (app_reload). */
    int log_runtime, log_runtime_over;
    int exit_code;
};

/* Runs the daemon until SIGTERM; returns the process exit code. */
int app_run(const char *config_path, const char *const *overrides);

/* Reload from the control socket; returns 0 or -1 with the reason in err. */
int app_reload(struct app *app, char *err, size_t errlen);
/* Sets the log level at runtime for actor; logs the change. */
void app_set_log_level(struct app *app, int level, const char *actor);
/* One-line state summary for STATUS= and `appealsctl status`. */
void app_status_line(struct app *app, char *buf, size_t len);

#endif
