/* The control commands.  Each one is small: it reads live state and writes a
 * JSON result; appealsctl turns that into tables. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "apd_build.h"
#include "app.h"
#include "calyears.h"
#include "cmd_appeals.h"
#include "cmd_query.h"
#include "config.h"
#include "delivery.h"
#include "control.h"
#include "http.h"
#include "incident_store.h"
#include "report.h"
#include "json.h"
#include "kafka.h"
#include "log.h"
#include "pipeline.h"
#include "redis.h"
#include "sbuf.h"
#include "engine.h"
#include "spool.h"
#include "status.h"
#include "units.h"
#include "poll.h"

static const char *state_name(enum app_state s)
{
    switch (s) {
    case APP_STARTING: return "starting";
    case APP_RUNNING: return "running";
    case APP_DRAINING: return "draining";
    default: return "stopped";
    }
}

/* The Redis URL without its password: status is open to read-only peers. */
static void redis_url_public(const char *url, char *out, size_t len)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    if (at == NULL)
        snprintf(out, len, "%s", url);
    else
        snprintf(out, len, "%.*s***%s", (int)(scheme + 3 - url), url, at);
}

static int cmd_status(struct ctl_client *c, struct app *app, const struct json *args,
                      struct jw *w)
{
    int64_t now = now_ms();
    jw_kstr(w, "version", APD_VERSION);
    jw_kstr(w, "instance", app->cfg->daemon.instance);
    jw_kstr(w, "state", state_name(app->state));
    jw_kint(w, "uptime_s", (now - app->started_ms) / 1000);
    jw_kint(w, "config_generation", app->cfg->generation);
    jw_kint(w, "reloads", (int64_t)app->reloads);
    jw_kint(w, "reload_failures", (int64_t)app->reload_failures);
    jw_kstr(w, "log_level", log_level_name(log_get_level()));
    jw_kbool(w, "log_level_runtime", app->log_runtime >= 0);
    if (app->last_reload_error[0])
        jw_kstr(w, "last_reload_error", app->last_reload_error);

    jw_key(w, "kafka");
    jw_obj(w);
    jw_kstr(w, "brokers", app->cfg->kafka.brokers);
    jw_kstr(w, "security_protocol",
            kafka_security_protocols[app->cfg->kafka.security_protocol]);
    jw_kbool(w, "connected", kafka_up(app->kafka));
    jw_kint(w, "brokers_up", kafka_brokers_up(app->kafka));
    jw_kint(w, "queued", (int64_t)kafka_outq(app->kafka));
    jw_obj_end(w);

    struct redis_stats rs;
    redis_get_stats(app->redis, &rs);
    jw_key(w, "redis");
    jw_obj(w);
    char url[512];
    redis_url_public(app->cfg->redis.url, url, sizeof(url));
    jw_kstr(w, "url", url);
    jw_kbool(w, "connected", rs.up);
    jw_kint(w, "pending", rs.pending);
    jw_kint(w, "commands", (int64_t)rs.commands);
    jw_kint(w, "errors", (int64_t)rs.errors);
    jw_kint(w, "timeouts", (int64_t)rs.timeouts);
    jw_kbool(w, "came_back_empty", rs.empty_detected);
    jw_kint(w, "min_replicas", app->cfg->redis.min_replicas);
    jw_kint(w, "replica_waits_short", (int64_t)rs.repl_short);
    jw_kint(w, "replica_waits_lost", (int64_t)rs.repl_lost);
    if (rs.sentinel) {
        jw_kstr(w, "master_name", app->cfg->redis.master_name);
        jw_kstr(w, "master", rs.master);
        char since[64] = "";
        if (rs.master_since_ms)
            format_iso8601(rs.master_since_ms, app->cfg->daemon.timezone, since, sizeof(since));
        jw_kstr(w, "master_since", since);
        jw_kint(w, "failovers", (int64_t)rs.master_changes);
    }
    jw_obj_end(w);

    struct spool_stats ss;
    spool_get_stats(app->spool, &ss);
    jw_key(w, "spool");
    jw_obj(w);
    jw_kstr(w, "dir", app->cfg->spool.dir);
    jw_kint(w, "bytes", (int64_t)ss.bytes);
    jw_kint(w, "max_bytes", (int64_t)app->cfg->spool.max_size);
    jw_kint(w, "quarantine_bytes", (int64_t)ss.extra_bytes);
    jw_kint(w, "segments", (int64_t)ss.segments);
    jw_kint(w, "unreleased", (int64_t)ss.unreleased);
    jw_kint(w, "appended", (int64_t)ss.appended);
    jw_kint(w, "released", (int64_t)ss.released);
    jw_kint(w, "fsyncs", (int64_t)ss.fsyncs);
    jw_kint(w, "write_errors", (int64_t)ss.write_errors);
    jw_obj_end(w);

    struct pipeline_stats ps;
    pipeline_get_stats(app->pipeline, &ps);
    jw_key(w, "pipeline");
    jw_obj(w);
    jw_kint(w, "inflight", (int64_t)ps.inflight);
    jw_kint(w, "records_done", (int64_t)ps.jobs_done);
    jw_kint(w, "published", (int64_t)ps.published);
    jw_kint(w, "duplicates", (int64_t)ps.duplicates);
    jw_kint(w, "ignored", (int64_t)ps.ignored);
    jw_kint(w, "quarantined", (int64_t)ps.quarantined);
    jw_kint(w, "answers", (int64_t)ps.answers);
    jw_kint(w, "retries", (int64_t)ps.retries);
    jw_kint(w, "waiting_for_redis", (int64_t)ps.waiting_redis);
    jw_kint(w, "redone", (int64_t)ps.redone);
    jw_kint(w, "dropped", (int64_t)ps.dropped);
    jw_obj_end(w);

    struct delivery_stats ds;
    delivery_get_stats(app->delivery, &ds);
    jw_key(w, "delivery");
    jw_obj(w);
    jw_kint(w, "outbox_added", (int64_t)ds.outbox_added);
    jw_kint(w, "http_inflight", (int64_t)ds.inflight);
    jw_kint(w, "http_delivered", (int64_t)ds.http_delivered);
    jw_kint(w, "http_failed", (int64_t)ds.http_failed);
    jw_kint(w, "acks_sent", (int64_t)ds.acks_sent);
    jw_kint(w, "acks_failed", (int64_t)ds.acks_failed);
    jw_kint(w, "acks_given_up", (int64_t)ds.acks_given_up);
    jw_obj_end(w);

    jw_key(w, "http");
    jw_obj(w);
    jw_kint(w, "port", app->http ? http_port(app->http) : 0);
    jw_kint(w, "waiting_for_spool", app->http ? http_inflight(app->http) : 0);
    jw_obj_end(w);

    struct status_consumer *sc = sla_engine_status(app);
    if (sc) {
        jw_key(w, "agency_status");
        jw_obj(w);
        status_consumer_write_stats(sc, w);
        jw_obj_end(w);
    }

    jw_key(w, "control");
    jw_obj(w);
    control_write_stats(app->control, w);
    jw_obj_end(w);
    calyears_write_status(app->cfg, w);
    if (polls_count(app->polls)) {
        struct sbuf pj = SBUF_INIT;
        polls_json(app->polls, NULL, &pj);
        jw_key(w, "polls");
        jw_raw(w, pj.p, pj.len);
        sbuf_free(&pj);
    }
    return 0;
}

/* `poll SOURCE:PAGE`: one page's poll state (null when it is not polled). */
static int cmd_poll(struct ctl_client *c, struct app *app, const struct json *args,
                    struct jw *w)
{
    const char *page = json_str(json_get(args, "page"));
    if (page == NULL || strchr(page, ':') == NULL) {
        ctl_error(c, "bad_args", "poll needs a page as SOURCE:ID (e.g. ok:70000001234567)");
        return -1;
    }
    struct sbuf pj = SBUF_INIT;
    polls_json(app->polls, page, &pj);
    jw_key(w, "poll");
    jw_raw(w, pj.p, pj.len);
    sbuf_free(&pj);
    return 0;
}

static int cmd_reload(struct ctl_client *c, struct app *app, const struct json *args,
                      struct jw *w)
{
    char err[1024];
    if (app_reload(app, err, sizeof(err)) != 0) {
        ctl_error(c, "reload_failed", "%s", err);
        return -1;
    }
    jw_kint(w, "config_generation", app->cfg->generation);
    return 0;
}

static int cmd_log_level(struct ctl_client *c, struct app *app, const struct json *args,
                         struct jw *w)
{
    const char *s = args ? json_str(json_get(args, "level")) : NULL;
    int lvl = s ? log_level_parse(s) : -1;
    if (lvl < 0) {
        ctl_error(c, "bad_request", "'level' must be one of error, warn, notice, info, debug");
        return -1;
    }
    jw_kstr(w, "was", log_level_name(log_get_level()));
    app_set_log_level(app, lvl, ctl_actor(c));
    jw_kstr(w, "level", log_level_name(log_get_level()));
    jw_kstr(w, "file_level", log_level_name((enum log_level)app->cfg->daemon.log_level));
    return 0;
}

static int cmd_help(struct ctl_client *c, struct app *app, const struct json *args,
                    struct jw *w)
{
    jw_key(w, "commands");
    jw_arr(w);
    for (const struct ctl_cmd *k = ctl_commands; k->name; k++) {
        jw_obj(w);
        jw_kstr(w, "name", k->name);
        jw_kbool(w, "admin", k->admin);
        jw_kstr(w, "help", k->help);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_kbool(w, "admin", ctl_is_admin(c));
    return 0;
}

const struct ctl_cmd ctl_commands[] = {
    {"status", false, cmd_status, "uptime, Kafka and Redis state, spool and pipeline counters"},
    {"poll", false, cmd_poll, "one polled page: its state, cursor, counters and last error"},
    {"reload", true, cmd_reload, "reload the configuration; fails if the new one is refused"},
    {"help", false, cmd_help, "list commands"},
    {"tail", false, ctl_cmd_tail, "stream appeal, SLA and status events, filtered"},
    {"show", false, ctl_cmd_show, "one appeal: its record, deadlines and audit trail"},
    {"list", false, ctl_cmd_list, "open appeals, filtered; overdue and due-soon first"},
    {"stats", false, cmd_stats, "open, answered, closed, overdue appeals and first-response "
     "compliance today, by org, category or municipality"},
    {"answer", true, cmd_answer, "record a first response given outside the platform"},
    {"close", true, cmd_close, "resolve and close an appeal: every clock stops"},
    {"reopen", true, cmd_reopen, "back to open; clocks go on from their elapsed time"},
    {"pause", true, cmd_pause, "waiting for the citizen: clocks pause"},
    {"resume", true, cmd_resume, "clocks run again"},
    {"extend", true, cmd_extend, "59-FZ extension by N days with notice to the citizen"},
    {"convert", true, cmd_convert, "make the message a formal обращение: the 59-FZ term runs "
     "from its registration"},
    {"register", true, cmd_register, "register a formal обращение converted with its "
     "registration pending: its 59-FZ term starts"},
    {"reroute", true, cmd_reroute, "move an appeal to another organisation"},
    {"rebuild", true, cmd_rebuild, "re-arm open appeals from Kafka after Redis came back empty"},
    {"incident_show", false, ctl_cmd_incident_show, "one incident (or an appeal's): its "
     "reports, lead appeal and priority"},
    {"incident_merge", true, ctl_cmd_incident_merge, "every appeal of one incident joins "
     "another"},
    {"incident_split", true, ctl_cmd_incident_split, "appeals leave their incident for a new "
     "one"},
    {"report", false, ctl_cmd_report, "per organisation or municipality over a period: appeals, "
     "answered on time, first-response times, formal answers, reopens, incidents"},
    {"log-level", true, cmd_log_level, "set the log level until a restart (a reload keeps it "
     "unless [daemon] log_level was edited)"},
    {NULL, false, NULL, NULL},
};
