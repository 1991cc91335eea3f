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
#include "json.h"
#include "log.h"
#include "sbuf.h"

#define CTL_MAX_LINE (64 * 1024)

struct control {
    struct app *app;
    struct evconnlistener *lis;
    char *path;
    struct ctl_client *clients;
};

struct ctl_client {
    struct control *ctl;
    struct bufferevent *bev;
    uid_t uid;
    gid_t gid;
    bool admin;
    bool busy;           /* a request is being answered */
    bool closed;         /* peer gone; freed when refs drop */
    unsigned refs;
    char *err_code, *err_msg;
    struct ctl_client *prev, *next;
};

static void client_unref(struct ctl_client *c);
static void process_lines(struct ctl_client *c);

bool ctl_is_admin(const struct ctl_client *c) { return c->admin; }
unsigned ctl_peer_uid(const struct ctl_client *c) { return (unsigned)c->uid; }

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

static void send_line(struct ctl_client *c, struct sbuf *b)
{
    sbuf_addc(b, '\n');
    if (!c->closed && c->bev)
        bufferevent_write(c->bev, b->p, b->len);
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
    send_line(c, &b);
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

void ctl_finish(struct ctl_client *c, const char *result_json)
{
    if (result_json) {
        struct sbuf b = SBUF_INIT;
        sbuf_adds(&b, "{\"ok\":true,\"result\":");
        sbuf_adds(&b, result_json);
        sbuf_addc(&b, '}');
        send_line(c, &b);
        sbuf_free(&b);
    } else {
        send_error(c);
    }
    c->busy = false;
    bool closed = c->closed;
    client_unref(c);
    if (!closed)
        process_lines(c);
}

static const struct ctl_cmd *find_cmd(const char *name)
{
    for (const struct ctl_cmd *k = ctl_commands; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static void handle_line(struct ctl_client *c, const char *line, size_t len)
{
    char err[160];
    struct json_doc *d = json_parse(line, len, 32, err, sizeof(err));
    const char *cmd = d ? json_str(json_get(&d->root, "cmd")) : NULL;
    if (cmd == NULL) {
        ctl_error(c, "bad_request", d ? "expected {\"cmd\": NAME, \"args\": {...}}" : "%s", err);
        send_error(c);
        json_free(d);
        return;
    }
    const struct ctl_cmd *k = find_cmd(cmd);
    if (k == NULL) {
        ctl_error(c, "unknown_command", "unknown command '%s'", cmd);
        send_error(c);
        json_free(d);
        return;
    }
    if (k->admin && !c->admin) {
        ctl_error(c, "forbidden", "'%s' changes state and needs an admin peer (root, the "
                  "daemon's user, or control.admin_group); this connection is read-only", cmd);
        send_error(c);
        json_free(d);
        return;
    }
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    c->busy = true;
    ctl_hold(c);
    int rc = k->fn(c, c->ctl->app, json_get(&d->root, "args"), &w);
    json_free(d);
    if (rc == 1) {
        sbuf_free(&b);
        client_unref(c);   /* the command holds its own reference */
        return;
    }
    jw_obj_end(&w);
    ctl_finish(c, rc == 0 ? b.p : NULL);
    sbuf_free(&b);
}

static void process_lines(struct ctl_client *c)
{
    while (!c->busy && !c->closed) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        size_t len;
        char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
        if (line == NULL) {
            if (evbuffer_get_length(in) > CTL_MAX_LINE) {
                ctl_error(c, "too_long", "request line longer than %d bytes", CTL_MAX_LINE);
                send_error(c);
                evbuffer_drain(in, evbuffer_get_length(in));
            }
            return;
        }
        if (len > 0)
            handle_line(c, line, len);
        free(line);
    }
}

static void client_close(struct ctl_client *c)
{
    if (c->closed)
        return;
    c->closed = true;
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
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
    free(c);
}

static void on_read(struct bufferevent *bev, void *arg) { process_lines(arg); }

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        client_close(arg);
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
    struct ctl_client *c = calloc(1, sizeof(*c));
    c->ctl = ctl;
    c->uid = cred.uid;
    c->gid = cred.gid;
    c->admin = cred.uid == 0 || cred.uid == geteuid() ||
               in_group(cred.uid, cred.gid, ctl->app->cfg->control.admin_group);
    c->refs = 1;
    c->bev = bufferevent_socket_new(ctl->app->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_MAX_LINE * 2);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = ctl->clients;
    if (ctl->clients)
        ctl->clients->prev = c;
    ctl->clients = c;
}

struct control *control_start(struct app *app, char *err, size_t errlen)
{
    const struct cfg_control *cc = &app->cfg->control;
    struct control *ctl = calloc(1, sizeof(*ctl));
    ctl->app = app;
    ctl->path = strdup(cc->socket);
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

void control_publish(struct control *ctl, const struct tail_event *ev)
{
    /* Subscribers arrive with the tail command (docs/control-protocol.md). */
    (void)ctl;
    (void)ev;
}

void control_free(struct control *ctl)
{
    if (ctl == NULL)
        return;
    if (ctl->lis) {
        evconnlistener_free(ctl->lis);
        unlink(ctl->path);
    }
    while (ctl->clients) {
        struct ctl_client *c = ctl->clients;
        ctl->clients = c->next;
        c->prev = c->next = NULL;
        c->ctl = NULL;
        if (c->bev) {
            bufferevent_free(c->bev);
            c->bev = NULL;
        }
        c->closed = true;
        /* a held client is freed by its command's ctl_finish */
        if (--c->refs == 0) {
            free(c->err_code);
            free(c->err_msg);
            free(c);
        }
    }
    free(ctl->path);
    free(ctl);
}
