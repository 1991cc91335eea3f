#include "http_limits.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "app.h"
#include "config.h"
#include "log.h"
#include "metrics.h"

enum phase { PH_HEADERS, PH_BODY, PH_HANDLER };

struct conn {
    struct http_limits *l;
    struct conn *prev, *next;
    struct bufferevent *bev;          /* one reference is ours until release */
    struct evbuffer_cb_entry *watch;  /* on the input buffer */
    struct evhttp_connection *evcon;  /* known from the first loop turn on */
    struct event *attach, *deadline;
    enum phase phase;
    bool over_cap;
    bool tls;                         /* the listener speaks TLS: no plain 503 */
    bool in_deadline;                 /* on_deadline is closing it */
    bool released;
};

struct http_limits {
    struct app *app;
    struct evhttp *http;
    struct conn *head;
    unsigned open;
    http_limits_bevcb make_bev;       /* NULL: plain sockets */
    void *make_arg;
};

static struct mfam *m_refused, *m_cut, *m_open;

static const struct cfg_http *cfg(const struct http_limits *l) { return &l->app->cfg->http; }

static void arm(struct conn *c, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->deadline, &tv);
}

static void unlink_conn(struct conn *c)
{
    struct http_limits *l = c->l;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    l->open--;
    metrics_set(m_open, l->open);
}

static void conn_free(struct conn *c)
{
    event_free(c->attach);
    event_free(c->deadline);
    free(c);
}

/* The connection is gone (or going): stop watching it and drop our
 * reference to its bufferevent, which libevent then frees and closes. */
static void release(struct conn *c)
{
    if (c->released)
        return;
    c->released = true;
    evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
    evtimer_del(c->deadline);
    evtimer_del(c->attach);
    unlink_conn(c);
    bufferevent_decref(c->bev);
    if (!c->in_deadline)
        conn_free(c);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    release(arg);
}

/* A blank line ends the header block.  evhttp drains only whole lines, and
 * this runs as bytes are added, before evhttp parses them: the buffer starts
 * at a line start. */
static bool header_block_ends(struct evbuffer *buf)
{
    unsigned char *p = evbuffer_pullup(buf, 2);
    size_t len = evbuffer_get_length(buf);
    if (p && (p[0] == '\n' || (len >= 2 && p[0] == '\r' && p[1] == '\n')))
        return true;
    if (len == 1 && evbuffer_pullup(buf, 1)[0] == '\n')
        return true;
    return evbuffer_search(buf, "\n\r\n", 3, NULL).pos >= 0 ||
           evbuffer_search(buf, "\n\n", 2, NULL).pos >= 0;
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;
    if (info->n_added == 0)
        return;
    if (c->phase == PH_HANDLER) {
        /* The next request on a kept-alive connection has begun. */
        c->phase = PH_HEADERS;
        arm(c, cfg(c->l)->header_timeout_ms);
    }
    if (c->phase == PH_HEADERS && header_block_ends(buf)) {
        c->phase = PH_BODY;
        arm(c, cfg(c->l)->body_timeout_ms);
    }
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    const char *which = c->phase == PH_HEADERS ? "header" : "body";
    metrics_add(m_cut, 1, which);
    log_limited(LOG_LVL_NOTICE, 5, 10000,
                "http: a connection missed its %s deadline (http.%s_timeout); closed it, "
                "other connections go on", which, which);
    c->in_deadline = true;
    if (c->evcon)
        evhttp_connection_free(c->evcon);  /* calls on_close */
    c->in_deadline = false;
    if (c->released)
        conn_free(c);
}

/* Answer 503 without reading the request: costs one send and a close, and
 * nothing stays allocated for the connection.  A TLS listener closes without
 * an answer: a 503 would cost a handshake, which is what the cap saves (the
 * client sees a failed connection and retries as after a 503). */
static void refuse(struct conn *c)
{
    char resp[256], sink[4096];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %lld\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 22\r\n"
                     "Connection: close\r\n\r\ntoo many connections\r\n",
                     (long long)cfg(c->l)->retry_after_s);
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    /* What the client already sent is read first (up to 64 KiB: a client
     * cannot keep us here), so the close is a FIN and not a reset that could
     * discard the answer on the client's side. */
    for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    if (!c->tls && send(fd, resp, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        log_debug("http: 503 to a connection over the cap not sent: %s", strerror(errno));
    metrics_add(m_refused, 1);
    log_limited(LOG_LVL_WARN, 1, 10000,
                "http: %u connections open, http.max_connections is %lld; %s new ones",
                c->l->open, (long long)cfg(c->l)->max_connections,
                c->tls ? "closing" : "answering 503 and closing");
    evhttp_connection_free(c->evcon);  /* calls on_close */
}

/* First loop turn after the accept: evhttp has made the connection. */
static void on_attach(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    bufferevent_data_cb readcb;
    void *evcon;
    bufferevent_getcb(c->bev, &readcb, NULL, NULL, &evcon);
    if (readcb == NULL) {  /* evhttp has already closed it */
        release(c);
        return;
    }
    c->evcon = evcon;
    evhttp_connection_set_closecb(c->evcon, on_close, c);
    if (c->over_cap && c->phase != PH_HANDLER)
        refuse(c);
}

static struct bufferevent *on_accept(struct event_base *base, void *arg)
{
    struct http_limits *l = arg;
    bool over_cap = (int64_t)l->open >= cfg(l)->max_connections;
    /* Over the cap no TLS state is made: the connection is only closed. */
    struct bufferevent *bev = l->make_bev && !over_cap
                                  ? l->make_bev(base, l->make_arg)
                                  : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct conn *c = calloc(1, sizeof(*c));
    if (bev == NULL || c == NULL)
        abort();
    c->l = l;
    c->bev = bev;
    c->over_cap = over_cap;
    c->tls = l->make_bev != NULL;
    c->attach = evtimer_new(base, on_attach, c);
    c->deadline = evtimer_new(base, on_deadline, c);
    c->watch = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
    bufferevent_incref(bev);  /* so on_attach may look at it whatever evhttp did */
    c->next = l->head;
    if (l->head)
        l->head->prev = c;
    l->head = c;
    l->open++;
    metrics_set(m_open, l->open);
    static const struct timeval now = {0, 0};
    evtimer_add(c->attach, &now);
    arm(c, cfg(l)->header_timeout_ms);
    return bev;
}

struct http_limits *http_limits_new(struct app *app, struct evhttp *http)
{
    struct http_limits *l = calloc(1, sizeof(*l));
    if (l == NULL)
        abort();
    l->app = app;
    l->http = http;
    m_refused = metrics_family("appealsd_http_connections_refused_total", M_COUNTER,
                               "connections answered 503 over http.max_connections", NULL);
    m_cut = metrics_family("appealsd_http_deadline_closed_total", M_COUNTER,
                           "connections closed at the header or body deadline", "phase");
    m_open = metrics_family("appealsd_http_connections", M_GAUGE,
                            "open connections of the webhook listener", NULL);
    /* both phases at 0 from the first scrape, as every counter is */
    metrics_add(m_cut, 0, "header");
    metrics_add(m_cut, 0, "body");
    evhttp_set_bevcb(http, on_accept, l);
    return l;
}

static struct conn *find(struct http_limits *l, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    for (struct conn *c = l->head; bev && c; c = c->next)
        if (c->bev == bev)
            return c;
    return NULL;
}

bool http_limits_admit(struct http_limits *l, struct evhttp_request *req)
{
    struct conn *c = l ? find(l, req) : NULL;
    if (c == NULL)
        return true;
    c->phase = PH_HANDLER;
    evtimer_del(c->deadline);
    if (!c->over_cap)
        return true;
    metrics_add(m_refused, 1);
    return false;
}

void http_limits_set_bevcb(struct http_limits *l, http_limits_bevcb make, void *arg)
{
    l->make_bev = make;
    l->make_arg = arg;
}

unsigned http_limits_open(const struct http_limits *l) { return l ? l->open : 0; }

void http_limits_free(struct http_limits *l)
{
    if (l == NULL)
        return;
    while (l->head)
        release(l->head);
    free(l);
}
