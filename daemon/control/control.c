#include "control.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "app.h"
#include "config.h"
#include "filter.h"
#include "recent.h"
#include "json.h"
#include "log.h"
#include "sbuf.h"
#include "units.h"
#include "utf8.h"

#define CTL_MAX_LINE (64 * 1024)

struct ctl_sub {
    struct ctl_filter filter;
    uint64_t dropped;        /* events lost since the last notice */
    int64_t last;            /* remembered events to replay first; -1: none asked */
};

struct control {
    struct app *app;
    struct evconnlistener *lis;
    char *path;
    struct ctl_client *clients;
    size_t nclients, nsubs;
    uint64_t accepted, refused_busy, refused_uid, idle_closed, requests, forbidden;
    uint64_t events_sent, events_dropped;
    size_t output_high_water;   /* the most bytes ever waiting for one client */
    struct recent *recent;      /* the last events, for tail's "last" */
};

struct ctl_client {
    struct control *ctl;     /* NULL once the socket is gone (shutdown) */
    struct bufferevent *bev;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    bool admin;
    bool busy;               /* a request is being answered */
    bool closed;             /* peer gone; freed when refs drop */
    bool throttled;          /* replies piled up: input not read until they drain */
    bool skip_line;          /* discarding the rest of an over-long request */
    unsigned refs;
    char *err_code, *err_msg;
    char *actor;
    char *audit;             /* "'extend' on ID by ACTOR": an admin command's outcome is logged */
    struct ctl_sub *sub;     /* non-NULL: this connection is a tail stream */
    struct ctl_client *prev, *next;
};

static void client_unref(struct ctl_client *c);
static void process_lines(struct ctl_client *c);
static void tail_replay(struct ctl_client *c);

bool ctl_is_admin(const struct ctl_client *c) { return c->admin; }
uid_t ctl_peer_uid(const struct ctl_client *c) { return c->uid; }

const char *ctl_actor(struct ctl_client *c)
{
    if (c->actor == NULL) {
        struct passwd pw, *res = NULL;
        char buf[1024];
        int n = getpwuid_r(c->uid, &pw, buf, sizeof(buf), &res) == 0 && res
                    ? asprintf(&c->actor, "operator:%s", res->pw_name)
                    : asprintf(&c->actor, "operator:uid:%u", (unsigned)c->uid);
        if (n < 0)
            c->actor = NULL;
    }
    return c->actor ? c->actor : "operator:?";
}

static size_t max_output(const struct control *ctl)
{
    return (size_t)ctl->app->cfg->control.max_output;
}

static size_t out_len(const struct ctl_client *c)
{
    return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

/* After queueing output: keep the high-water mark, and stop reading from a
 * request/reply client whose replies are not being read. */
static void after_write(struct ctl_client *c)
{
    struct control *ctl = c->ctl;
    size_t n = out_len(c);
    if (ctl == NULL)
        return;
    if (n > ctl->output_high_water)
        ctl->output_high_water = n;
    if (c->sub == NULL && !c->throttled && n > max_output(ctl)) {
        c->throttled = true;
        bufferevent_disable(c->bev, EV_READ);
    }
}

static void send_raw(struct ctl_client *c, const char *p, size_t len)
{
    if (c->closed || c->bev == NULL)
        return;
    bufferevent_write(c->bev, p, len);
    after_write(c);
}

void ctl_error(struct ctl_client *c, const char *code, const char *fmt, ...)
{
    va_list ap;
    struct sbuf b = SBUF_INIT;
    va_start(ap, fmt);
    sbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(c->err_code);
    free(c->err_msg);
    c->err_code = strdup(code);
    c->err_msg = sbuf_steal(&b);
}

static void send_error(struct ctl_client *c)
{
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kbool(&w, "ok", false);
    jw_kstr(&w, "error", c->err_msg ? c->err_msg : "failed");
    jw_kstr(&w, "code", c->err_code ? c->err_code : "error");
    jw_obj_end(&w);
    sbuf_addc(&b, '\n');
    send_raw(c, b.p, b.len);
    sbuf_free(&b);
    free(c->err_code);
    free(c->err_msg);
    c->err_code = c->err_msg = NULL;
}

struct ctl_client *ctl_hold(struct ctl_client *c)
{
    c->refs++;
    return c;
}

/* Sends the reply and drops the command's reference; the caller goes on
 * with the next request (or not, when c was the last reference). */
static void audit_outcome(struct ctl_client *c, bool ok)
{
    if (c->audit == NULL)
        return;
    if (ok)
        log_notice("control: %s: done", c->audit);
    else
        log_notice("control: %s: refused (%s): %s; nothing was changed", c->audit,
                 c->err_code ? c->err_code : "error", c->err_msg ? c->err_msg : "failed");
    free(c->audit);
    c->audit = NULL;
}

static void finish_reply(struct ctl_client *c, const char *result_json)
{
    audit_outcome(c, result_json != NULL);
    if (result_json) {
        struct sbuf b = SBUF_INIT;
        sbuf_adds(&b, "{\"ok\":true,\"result\":");
        sbuf_adds(&b, result_json);
        sbuf_adds(&b, "}\n");
        send_raw(c, b.p, b.len);
        sbuf_free(&b);
    } else {
        send_error(c);
    }
    c->busy = false;
    client_unref(c);
}

void ctl_finish(struct ctl_client *c, const char *result_json)
{
    /* Only asynchronous commands come here, from a callback of their own,
     * so reading the next request cannot recurse into this one. */
    bool alive = c->refs > 1 && !c->closed;
    finish_reply(c, result_json);
    if (alive)
        process_lines(c);
}

static const struct ctl_cmd *find_cmd(const char *name)
{
    for (const struct ctl_cmd *k = ctl_commands; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static void refuse(struct ctl_client *c, struct json_doc *d, const char *code, const char *msg)
{
    ctl_error(c, code, "%s", msg);
    send_error(c);
    json_free(d);
}

/* An admin command is logged twice: what is asked, of what, by whom, and
 * then how it ended (finish_reply), so the log alone is an audit trail; at
 * notice, so that log_level = notice keeps it and drops routine lines. */
static void audit_start(struct ctl_client *c, const char *cmd, const struct json *args)
{
    const char *id = args ? json_str(json_get(args, "id")) : NULL;
    const char *lvl = args ? json_str(json_get(args, "level")) : NULL;
    const char *what = id ? id : lvl;
    free(c->audit);
    if (asprintf(&c->audit, "'%s'%s%.200s by %s", cmd, what ? (id ? " on " : " to ") : "",
                 what ? what : "", ctl_actor(c)) < 0)
        c->audit = NULL;
    log_notice("control: %s runs '%s'%s%.200s (uid %u, pid %d)", ctl_actor(c), cmd,
             what ? (id ? " on " : " to ") : "", what ? what : "", (unsigned)c->uid, (int)c->pid);
}

static void handle_line(struct ctl_client *c, const char *line, size_t len)
{
    char err[160], msg[320];
    struct json_doc *d = json_parse(line, len, 32, err, sizeof(err));
    const char *cmd = d ? json_str(json_get(&d->root, "cmd")) : NULL;
    const struct json *args = d ? json_get(&d->root, "args") : NULL;
    if (c->ctl)
        c->ctl->requests++;
    if (cmd == NULL)
        return refuse(c, d, "bad_request",
                      d ? "expected {\"cmd\": NAME, \"args\": {...}}" : err);
    if (args && args->type != JSON_OBJECT && args->type != JSON_NULL)
        return refuse(c, d, "bad_request", "'args' must be an object");
    const struct ctl_cmd *k = find_cmd(cmd);
    if (k == NULL) {
        snprintf(msg, sizeof(msg), "unknown command '%.64s'", cmd);
        return refuse(c, d, "unknown_command", msg);
    }
    if (k->admin && !c->admin) {
        if (c->ctl)
            c->ctl->forbidden++;
        snprintf(msg, sizeof(msg), "'%s' changes state and needs an admin peer (root, the "
                 "daemon's user, or a member of control.admin_group); this connection is "
                 "read-only", cmd);
        return refuse(c, d, "forbidden", msg);
    }
    if (k->admin)
        audit_start(c, cmd, args);
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    c->busy = true;
    ctl_hold(c);
    int rc = k->fn(c, c->ctl->app, args, &w);
    json_free(d);
    if (rc == 1) {
        sbuf_free(&b);
        client_unref(c);   /* the command holds its own reference */
        return;
    }
    jw_obj_end(&w);
    finish_reply(c, rc == 0 ? b.p : NULL);
    sbuf_free(&b);
    if (rc == 0 && c->sub && c->sub->last >= 0)
        tail_replay(c);
}

static void too_long(struct ctl_client *c)
{
    ctl_error(c, "too_long", "request line longer than %d bytes", CTL_MAX_LINE);
    send_error(c);
}

static void process_lines(struct ctl_client *c)
{
    while (!c->busy && !c->closed && !c->throttled && c->sub == NULL) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        if (c->skip_line) {
            struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
            if (p.pos < 0) {
                evbuffer_drain(in, evbuffer_get_length(in));
                return;
            }
            evbuffer_drain(in, (size_t)p.pos + 1);
            c->skip_line = false;
            continue;
        }
        size_t len;
        char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
        if (line == NULL) {
            if (evbuffer_get_length(in) > CTL_MAX_LINE) {
                too_long(c);
                evbuffer_drain(in, evbuffer_get_length(in));
                c->skip_line = true;
            }
            return;
        }
        if (len > CTL_MAX_LINE)
            too_long(c);
        else if (len > 0)
            handle_line(c, line, len);
        free(line);
    }
}

static void sub_free(struct ctl_client *c)
{
    if (c->sub == NULL)
        return;
    if (c->ctl)
        c->ctl->nsubs--;
    ctl_filter_free(&c->sub->filter);
    free(c->sub);
    c->sub = NULL;
}

static void client_close(struct ctl_client *c)
{
    if (c->closed)
        return;
    c->closed = true;
    sub_free(c);
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    if (c->ctl)
        c->ctl->nclients--;
    client_unref(c);
}

static void client_unref(struct ctl_client *c)
{
    if (--c->refs > 0)
        return;
    struct control *ctl = c->ctl;
    if (c->prev)
        c->prev->next = c->next;
    else if (ctl)
        ctl->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->err_code);
    free(c->err_msg);
    free(c->actor);
    free(c->audit);
    free(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct ctl_client *c = arg;
    if (c->sub) {
        /* A stream takes no further requests; reading only notices EOF. */
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    process_lines(c);
}

static void send_dropped(struct ctl_client *c)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "{\"dropped\":%llu}\n",
                     (unsigned long long)c->sub->dropped);
    c->sub->dropped = 0;
    send_raw(c, line, (size_t)n);
}

/* Called when the client's backlog has fallen to the low watermark. */
static void on_write(struct bufferevent *bev, void *arg)
{
    struct ctl_client *c = arg;
    if (c->closed || c->ctl == NULL)
        return;
    if (c->sub && c->sub->dropped)
        send_dropped(c);
    if (c->throttled && out_len(c) <= max_output(c->ctl) / 2) {
        c->throttled = false;
        bufferevent_enable(c->bev, EV_READ);
        process_lines(c);
    }
}

/* Only a request/reply client that sends nothing is idle: a tail stream
 * never sends, and a client waiting for a slow command has asked already. */
static void on_timeout(struct ctl_client *c)
{
    if (c->sub || c->busy) {
        if (!c->throttled)
            bufferevent_enable(c->bev, EV_READ);   /* libevent stopped reading */
        return;
    }
    if (c->ctl)
        c->ctl->idle_closed++;
    log_debug("control: uid %u pid %d sent no request for %lld ms; closing its connection",
              (unsigned)c->uid, (int)c->pid,
              c->ctl ? (long long)c->ctl->app->cfg->control.idle_timeout_ms : 0LL);
    client_close(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        client_close(arg);
    else if (what & BEV_EVENT_TIMEOUT)
        on_timeout(arg);
}

static bool in_group(uid_t uid, gid_t gid, const char *group)
{
    if (group == NULL)
        return false;
    struct group *g = getgrnam(group);
    if (g == NULL)
        return false;
    if (g->gr_gid == gid)
        return true;
    struct passwd *pw = getpwuid(uid);
    if (pw == NULL)
        return false;
    for (char **m = g->gr_mem; m && *m; m++)
        if (strcmp(*m, pw->pw_name) == 0)
            return true;
    return false;
}

static void refuse_busy(struct control *ctl, evutil_socket_t fd, uid_t uid, bool per_uid)
{
    static const char all[] = "{\"ok\":false,\"code\":\"busy\",\"error\":\"too many control "
                              "connections; try again later\"}\n";
    static const char mine[] = "{\"ok\":false,\"code\":\"busy\",\"error\":\"this user holds "
                               "control.max_clients_per_uid connections already; close some "
                               "or try again later\"}\n";
    const char *msg = per_uid ? mine : all;
    ssize_t w = send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w;
    close(fd);
    if (per_uid ? ctl->refused_uid++ == 0 : ctl->refused_busy++ == 0)
        log_warn("control: %s; refusing uid %u's connection (and, unlogged, others like it) "
                 "until some close", per_uid ? "a user reached control.max_clients_per_uid"
                 : "the connections open reach control.max_clients (or its admin reserve)",
                 (unsigned)uid);
}

static size_t uid_clients(const struct control *ctl, uid_t uid)
{
    size_t n = 0;
    for (const struct ctl_client *c = ctl->clients; c; c = c->next)
        n += !c->closed && c->uid == uid;
    return n;
}

/* Admins may take every slot and any number per uid; others leave the
 * admin reserve free and stay under their own per-uid cap, so no operator
 * (nor a stuck script) can lock the admins or `systemctl reload` out. */
static int admit(const struct control *ctl, uid_t uid, bool admin)
{
    const struct cfg_control *cc = &ctl->app->cfg->control;
    size_t max = (size_t)cc->max_clients;
    size_t reserve = (size_t)cc->admin_reserve < max ? (size_t)cc->admin_reserve : max - 1;
    if (ctl->nclients >= max || (!admin && ctl->nclients >= max - reserve))
        return -1;
    if (!admin && uid_clients(ctl, uid) >= (size_t)cc->max_clients_per_uid)
        return -2;
    return 0;
}

static void set_idle_timeout(struct ctl_client *c)
{
    int64_t ms = c->ctl->app->cfg->control.idle_timeout_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, &tv, NULL);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    struct control *ctl = arg;
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
        close(fd);
        return;
    }
    bool admin = cred.uid == 0 || cred.uid == geteuid() ||
                 in_group(cred.uid, cred.gid, ctl->app->cfg->control.admin_group);
    int why = admit(ctl, cred.uid, admin);
    if (why != 0)
        return refuse_busy(ctl, fd, cred.uid, why == -2);
    struct ctl_client *c = calloc(1, sizeof(*c));
    c->ctl = ctl;
    c->uid = cred.uid;
    c->gid = cred.gid;
    c->pid = cred.pid;
    c->admin = admin;
    c->refs = 1;
    c->bev = bufferevent_socket_new(ctl->app->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_MAX_LINE * 2);
    bufferevent_setwatermark(c->bev, EV_WRITE, max_output(ctl) / 2, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    set_idle_timeout(c);
    c->next = ctl->clients;
    if (ctl->clients)
        ctl->clients->prev = c;
    ctl->clients = c;
    ctl->nclients++;
    ctl->accepted++;
    log_debug("control: connection from uid %u pid %d (%s)", (unsigned)c->uid, (int)c->pid,
              c->admin ? "admin" : "read-only");
}

static const char *const tail_args[] = {"last", NULL};

static void replay_line(void *arg, const char *line, size_t len)
{
    send_raw(arg, line, len);
}

/* After the tail's reply: the remembered events it asked for, then
 * {"caught_up": N}, so a client that only wanted the past can stop there. */
static void tail_replay(struct ctl_client *c)
{
    size_t n = c->ctl ? recent_replay(c->ctl->recent, &c->sub->filter, (size_t)c->sub->last,
                                      now_ms(), replay_line, c)
                      : 0;
    char b[64];
    int len = snprintf(b, sizeof(b), "{\"caught_up\":%zu}\n", n);
    send_raw(c, b, (size_t)len);
    c->sub->last = -1;
}

static int tail_last(const struct json *args, int64_t *last, char *err, size_t errlen)
{
    const struct json *v = json_get(args, "last");
    *last = -1;
    if (v == NULL || v->type == JSON_NULL)
        return 0;
    if (!json_int64(v, last) || *last < 0 || *last > 100000) {
        snprintf(err, errlen, "'last' must be a number of events, 0..100000");
        return -1;
    }
    return 0;
}

int ctl_cmd_tail(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w)
{
    char err[256];
    struct ctl_sub *s = calloc(1, sizeof(*s));
    if (ctl_filter_parse(&s->filter, args, tail_args, true, err, sizeof(err)) != 0 ||
        tail_last(args, &s->last, err, sizeof(err)) != 0) {
        ctl_filter_free(&s->filter);
        free(s);
        ctl_error(c, "bad_args", "%s", err);
        return -1;
    }
    c->sub = s;
    c->ctl->nsubs++;
    bufferevent_set_timeouts(c->bev, NULL, NULL);   /* a stream is never idle */
    jw_kbool(w, "streaming", true);
    jw_kint(w, "max_output", (int64_t)max_output(c->ctl));
    return 0;
}

void control_event_fields(struct jw *w, const struct tail_event *ev, const char *tz)
{
    char ts[48];
    jw_kstr(w, "type", ev->type);
    jw_kstr(w, "event", ev->event);
    const char *k[] = {"appeal_id", "org", "category", "municipality", "priority", "state"};
    const char *v[] = {ev->appeal_id, ev->org,      ev->category,
                       ev->municipality, ev->priority, ev->state};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (v[i])
            jw_kstr(w, k[i], v[i]);
    if (ev->due_ms > 0) {
        format_iso8601(ev->due_ms, tz, ts, sizeof(ts));
        jw_kstr(w, "due", ts);
    }
    format_iso8601(now_ms(), tz, ts, sizeof(ts));
    jw_kstr(w, "at", ts);
}

void control_event_text(struct jw *w, const char *text, size_t len)
{
    if (text == NULL)
        return;
    size_t n = 0;
    while (n < len) {
        size_t l = utf8_seq_len(text + n, len - n);
        if (l == 0 || n + l > CONTROL_TEXT_MAX)
            break;
        n += l;
    }
    if (n == len) {
        jw_key(w, "text");
        jw_strn(w, text, len);
        return;
    }
    struct sbuf b = SBUF_INIT;
    sbuf_add(&b, text, n);
    sbuf_adds(&b, "\xe2\x80\xa6");   /* … */
    jw_key(w, "text");
    jw_strn(w, b.p, b.len);
    sbuf_free(&b);
}

/* The event object when the publisher gave only the fields. */
static void event_json(struct sbuf *b, const struct tail_event *ev, const char *tz)
{
    struct jw w;
    jw_init(&w, b);
    jw_obj(&w);
    control_event_fields(&w, ev, tz);
    jw_obj_end(&w);
}

static bool subscriber_wants(const struct ctl_client *c, const struct tail_event *ev,
                             int64_t now)
{
    return c->sub && !c->closed && ctl_filter_match(&c->sub->filter, ev, now);
}

bool control_has_subscribers(const struct control *ctl)
{
    return ctl && (ctl->nsubs > 0 || ctl->recent);
}

void control_publish(struct control *ctl, const struct tail_event *ev)
{
    if (!control_has_subscribers(ctl))
        return;
    int64_t now = now_ms();
    size_t limit = max_output(ctl);
    struct sbuf line = SBUF_INIT;
    sbuf_adds(&line, "{\"event\":");
    if (ev->json)
        sbuf_adds(&line, ev->json);
    else
        event_json(&line, ev, ctl->app->cfg->daemon.timezone);
    sbuf_adds(&line, "}\n");
    recent_add(ctl->recent, ev, line.p, line.len);
    for (struct ctl_client *c = ctl->clients; c; c = c->next) {
        if (!subscriber_wants(c, ev, now))
            continue;
        /* Once dropping, keep dropping until the notice went out: the
         * client then sees events, {"dropped": N}, events, in that order. */
        if (c->sub->dropped || out_len(c) + line.len > limit) {
            c->sub->dropped++;
            ctl->events_dropped++;
            continue;
        }
        send_raw(c, line.p, line.len);
        ctl->events_sent++;
    }
    sbuf_free(&line);
}

void control_write_stats(const struct control *ctl, struct jw *w)
{
    size_t buffered = 0;
    for (const struct ctl_client *c = ctl ? ctl->clients : NULL; c; c = c->next)
        buffered += out_len(c);
    jw_kint(w, "clients", ctl ? (int64_t)ctl->nclients : 0);
    jw_kint(w, "tail_subscribers", ctl ? (int64_t)ctl->nsubs : 0);
    jw_kint(w, "connections", ctl ? (int64_t)ctl->accepted : 0);
    jw_kint(w, "refused_busy", ctl ? (int64_t)ctl->refused_busy : 0);
    jw_kint(w, "refused_per_uid", ctl ? (int64_t)ctl->refused_uid : 0);
    jw_kint(w, "idle_closed", ctl ? (int64_t)ctl->idle_closed : 0);
    jw_kint(w, "requests", ctl ? (int64_t)ctl->requests : 0);
    jw_kint(w, "forbidden", ctl ? (int64_t)ctl->forbidden : 0);
    jw_kint(w, "events_sent", ctl ? (int64_t)ctl->events_sent : 0);
    jw_kint(w, "events_dropped", ctl ? (int64_t)ctl->events_dropped : 0);
    jw_kint(w, "buffered_bytes", (int64_t)buffered);
    jw_kint(w, "buffered_high_water", ctl ? (int64_t)ctl->output_high_water : 0);
    jw_kint(w, "max_output", ctl ? (int64_t)max_output(ctl) : 0);
}

struct control *control_start(struct app *app, char *err, size_t errlen)
{
    const struct cfg_control *cc = &app->cfg->control;
    struct control *ctl = calloc(1, sizeof(*ctl));
    ctl->app = app;
    ctl->path = strdup(cc->socket);
    ctl->recent = recent_new((size_t)cc->recent_events);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(cc->socket) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "control.socket: path longer than %zu bytes: %s",
                 sizeof(sun.sun_path) - 1, cc->socket);
        goto fail;
    }
    strcpy(sun.sun_path, cc->socket);
    /* A socket file left by a crashed predecessor: refuse if someone answers. */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
        close(probe);
        snprintf(err, errlen, "another daemon already listens on %s", cc->socket);
        free(ctl->path);
        ctl->path = NULL;
        goto fail;
    }
    if (probe >= 0)
        close(probe);
    unlink(cc->socket);
    mode_t old = umask(0777 & ~(mode_t)cc->mode);
    ctl->lis = evconnlistener_new_bind(app->base, on_accept, ctl,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
                                       (struct sockaddr *)&sun, sizeof(sun));
    umask(old);
    if (ctl->lis == NULL) {
        snprintf(err, errlen, "cannot listen on %s: %s", cc->socket, strerror(errno));
        goto fail;
    }
    chmod(cc->socket, (mode_t)cc->mode);
    if (cc->group) {
        struct group *g = getgrnam(cc->group);
        if (g == NULL || chown(cc->socket, (uid_t)-1, g->gr_gid) != 0)
            log_warn("control: cannot give %s to group %s; only its owner can use it",
                     cc->socket, cc->group);
    }
    return ctl;
fail:
    control_free(ctl);
    return NULL;
}

void control_free(struct control *ctl)
{
    if (ctl == NULL)
        return;
    recent_free(ctl->recent);
    ctl->recent = NULL;
    if (ctl->lis) {
        evconnlistener_free(ctl->lis);
        unlink(ctl->path);
    }
    while (ctl->clients) {
        struct ctl_client *c = ctl->clients;
        ctl->clients = c->next;
        c->prev = c->next = NULL;
        sub_free(c);
        c->ctl = NULL;
        if (c->bev) {
            bufferevent_free(c->bev);
            c->bev = NULL;
        }
        /* a held client is freed by its command's ctl_finish */
        if (!c->closed) {
            c->closed = true;
            client_unref(c);
        }
    }
    free(ctl->path);
    free(ctl);
}
