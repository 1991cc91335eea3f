#include "http.h"
#include "http_limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "app.h"
#include "config.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "notify.h"
#include "sbuf.h"
#include "spool.h"
#include "tls.h"
#include "webhook.h"

struct http_server {
    struct app *app;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct http_limits *limits;
    SSL_CTX *tls;             /* NULL: plain HTTP; swapped on reload */
    int port;
    bool stopping;
};

static struct mfam *m_requests;

void http_count(const char *source, int status)
{
    char st[8];
    snprintf(st, sizeof(st), "%d", status);
    metrics_add(m_requests, 1, source, st);
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

void http_reply_text(struct evhttp_request *req, int status, const char *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
    /* Straight into the request's own buffer: no buffer made per reply. */
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    evhttp_send_reply(req, status, reason_of(status), NULL);
}

static void reply_unavailable(struct app *app, struct evhttp_request *req, const char *why)
{
    char ra[16];
    snprintf(ra, sizeof(ra), "%lld", (long long)app->cfg->http.retry_after_s);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
    http_reply_text(req, 503, why);
}

/* The first line says "ok" or why not; a line per check follows. */
static void on_healthz(struct http_server *h, struct evhttp_request *req)
{
    struct sbuf b = SBUF_INIT;
    bool ok = h->app->health ? health_check(h->app->health, &b) : false;
    if (h->app->health == NULL)
        sbuf_adds(&b, "starting\n");
    if (ok)
        http_reply_text(req, 200, b.p);
    else
        reply_unavailable(h->app, req, b.p);
    sbuf_free(&b);
}

static void on_metrics(struct evhttp_request *req)
{
    struct sbuf b = SBUF_INIT;
    metrics_render(&b);
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, b.p ? b.p : "", b.len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
    sbuf_free(&b);
}

static void reply_over_cap(struct app *app, struct evhttp_request *req)
{
    http_count("-", 503);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    reply_unavailable(app, req, "too many connections\n");
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct http_server *h = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (!http_limits_admit(h->limits, req)) {
        reply_over_cap(h->app, req);
        return;
    }
    if (path == NULL) {
        http_count("-", 400);
        http_reply_text(req, 400, "bad request line\n");
        return;
    }
    if (h->stopping) {
        http_count("-", 503);
        reply_unavailable(h->app, req, "shutting down\n");
        return;
    }
    /* With [metrics] listen set, /metrics is not public: webhook_handle's 404. */
    if (strcmp(path, "/healthz") == 0 ||
        (strcmp(path, "/metrics") == 0 && metrics_listen_of(h->app->cfg) == NULL)) {
        if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
            http_reply_text(req, 405, "use GET\n");
            return;
        }
        if (path[1] == 'h')
            on_healthz(h, req);
        else
            on_metrics(req);
        return;
    }
    webhook_handle(h->app, req, path, cmd);
}

static int bind_listener(struct http_server *h, const char *listen, char *err, size_t errlen)
{
    int fd = notify_listen_fd("http");
    bool passed = false;
    if (fd >= 0) {
        /* Socket activation (or the test harness) passed a bound socket. */
        evutil_make_socket_nonblocking(fd);
        h->bound = evhttp_accept_socket_with_handle(h->http, fd);
        if (h->bound == NULL) {
            snprintf(err, errlen, "cannot accept on the passed socket (fd %d)", fd);
            return -1;
        }
        passed = true;
    } else {
        char host[256];
        int port;
        const char *colon = strrchr(listen, ':');
        if (colon == NULL) {
            snprintf(host, sizeof(host), "0.0.0.0");
            port = atoi(listen);
        } else {
            size_t n = (size_t)(colon - listen);
            if (listen[0] == '[' && n >= 2)
                snprintf(host, sizeof(host), "%.*s", (int)(n - 2), listen + 1);
            else
                snprintf(host, sizeof(host), "%.*s", (int)n, listen);
            port = atoi(colon + 1);
        }
        if (port < 0 || port > 65535) {
            snprintf(err, errlen, "http.listen: bad port in '%s'", listen);
            return -1;
        }
        h->bound = evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
        if (h->bound == NULL) {
            snprintf(err, errlen, "cannot listen on %s: %s", listen, strerror(errno));
            return -1;
        }
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evhttp_bound_socket_get_fd(h->bound), (struct sockaddr *)&ss, &sl) == 0)
        h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    if (passed)
        log_info("http: webhooks on the socket passed by systemd (LISTEN_FDS, \"http\", port %d); "
                 "[http] listen %s is not used", h->port, listen);
    return 0;
}

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
    struct http_server *h = arg;
    return tls_bev_new(base, h->tls);
}

static int start_tls(struct http_server *h, char *err, size_t errlen)
{
    const struct cfg_http *c = &h->app->cfg->http;
    if (c->tls_cert == NULL)
        return 0;
    if ((h->tls = tls_ctx_load(c->tls_cert, c->tls_key, err, errlen)) == NULL)
        return -1;
    http_limits_set_bevcb(h->limits, tls_bev, h);
    char desc[512];
    tls_ctx_describe(h->tls, desc, sizeof(desc));
    log_info("http: HTTPS only, certificate %s (%s)", c->tls_cert, desc);
    return 0;
}

void http_reload_tls(struct http_server *h)
{
    const struct cfg_http *c = &h->app->cfg->http;
    if (h->tls == NULL || c->tls_cert == NULL)
        return;   /* turning TLS on or off is refused as needing a restart */
    char err[1024], desc[512];
    SSL_CTX *next = tls_ctx_load(c->tls_cert, c->tls_key, err, sizeof(err));
    if (next == NULL) {
        tls_ctx_describe(h->tls, desc, sizeof(desc));
        log_error("http: TLS reload failed: %s; still serving the certificate loaded before "
                  "(%s)", err, desc);
        return;
    }
    /* Open connections hold a reference to the context they began with. */
    SSL_CTX_free(h->tls);
    h->tls = next;
    tls_ctx_describe(h->tls, desc, sizeof(desc));
    log_info("http: TLS certificate reloaded from %s (%s); new connections get it",
             c->tls_cert, desc);
}

struct http_server *http_start(struct app *app, char *err, size_t errlen)
{
    const struct apd_config *c = app->cfg;
    struct http_server *h = calloc(1, sizeof(*h));
    h->app = app;
    m_requests = metrics_family("appealsd_http_requests_total", M_COUNTER,
                                "HTTP requests by source and status", "source,status");
    h->http = evhttp_new(app->base);
    evhttp_set_max_body_size(h->http, (ev_ssize_t)c->http.max_body);
    evhttp_set_max_headers_size(h->http, (ev_ssize_t)c->http.max_headers);
    struct timeval tv = {c->http.timeout_ms / 1000, (c->http.timeout_ms % 1000) * 1000};
    evhttp_set_timeout_tv(h->http, &tv);
    /* Every method reaches us so we can answer 405 ourselves. */
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    /* No EVHTTP_SERVER_LINGERING_CLOSE: with it libevent 2.1 reads the whole
     * declared body before answering 413; without it the answer goes out as
     * soon as the headers are in. */
    evhttp_set_gencb(h->http, on_request, h);
    h->limits = http_limits_new(app, h->http);
    if (start_tls(h, err, errlen) != 0 || bind_listener(h, c->http.listen, err, errlen) != 0) {
        http_free(h);
        return NULL;
    }
    if (c->http.trusted_proxies.n)
        log_info("http: client addresses of requests from %zu trusted proxy network%s "
                 "([http] trusted_proxies) are taken from X-Forwarded-For",
                 c->http.trusted_proxies.n, c->http.trusted_proxies.n == 1 ? "" : "s");
    return h;
}

void http_stop_intake(struct http_server *h)
{
    if (h == NULL || h->stopping)
        return;
    h->stopping = true;
    if (h->bound) {
        evhttp_del_accept_socket(h->http, h->bound);
        h->bound = NULL;
    }
}

unsigned http_inflight(const struct http_server *h) { return webhook_inflight(); }
int http_port(const struct http_server *h) { return h->port; }

void http_free(struct http_server *h)
{
    if (h == NULL)
        return;
    if (h->http)
        evhttp_free(h->http);
    http_limits_free(h->limits);
    SSL_CTX_free(h->tls);
    free(h);
}
