#include "metrics_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "app.h"
#include "bind.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "module.h"
#include "sbuf.h"

struct metrics_conf {
    char *listen;
};

struct metrics_http {
    struct evhttp *http;
};

/* ---- config: [metrics] ---- */

static const struct conf_key metrics_keys[] = {
    {"listen", CT_STR, offsetof(struct metrics_conf, listen), NULL, 0, 0, NULL, CF_RESTART,
     "HOST:PORT serving /metrics alone (e.g. 127.0.0.1:9187; set it to loopback in "
     "production); unset: /metrics is served on [http] listen"},
    {0},
};

const char *metrics_listen_of(const struct apd_config *c)
{
    const struct metrics_conf *mc = c ? c->metrics : NULL;
    return mc && mc->listen && mc->listen[0] ? mc->listen : NULL;
}

/* "HOST:PORT" or "[V6]:PORT" into host and port; -1 when it is neither. */
static int split_address(const char *a, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(a, ':');
    char *end;
    if (colon == NULL || colon == a)
        return -1;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 1 || p > 65535)
        return -1;
    size_t n = (size_t)(colon - a);
    if (a[0] == '[' && n >= 2 && a[n - 1] == ']')
        snprintf(host, hostlen, "%.*s", (int)(n - 2), a + 1);
    else
        snprintf(host, hostlen, "%.*s", (int)n, a);
    *port = (int)p;
    return 0;
}

static void metrics_build(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                          struct diag *d)
{
    struct metrics_conf *mc = calloc(1, sizeof(*mc));
    if (mc == NULL)
        abort();
    struct ini_section *s = ini_find(ini, "metrics", NULL);
    conf_bind(metrics_keys, s, mc, "[metrics]", d);
    char host[256];
    int port;
    if (mc->listen && mc->listen[0] && split_address(mc->listen, host, sizeof(host), &port))
        diag_add(d, s ? s->file : NULL, s ? s->line : 0,
                 "[metrics] listen: '%s' is not HOST:PORT (e.g. 127.0.0.1:9187)", mc->listen);
    c->metrics = mc;
}

static void metrics_conf_free(struct apd_config *c)
{
    if (c->metrics)
        conf_unbind(metrics_keys, c->metrics);
    free(c->metrics);
    c->metrics = NULL;
}

static const char *metrics_restart_diff(const struct apd_config *a, const struct apd_config *b)
{
    const char *k = conf_restart_diff(metrics_keys, a->metrics, b->metrics);
    return k ? "metrics.listen" : NULL;
}

static void metrics_reference(void)
{
    conf_print_keys("metrics", metrics_keys);
    printf("\n");
}

const struct conf_module metrics_conf_module = {
    .name = "metrics",
    .build = metrics_build,
    .free = metrics_conf_free,
    .restart_diff = metrics_restart_diff,
    .reference = metrics_reference,
};

/* ---- the listener ---- */

static void reply(struct evhttp_request *req, int code, const char *reason, const char *type,
                  const char *body, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, body, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_send_reply(req, code, reason, out);
    evbuffer_free(out);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL || strcmp(path, "/metrics") != 0) {
        reply(req, 404, "Not Found", "text/plain", "only /metrics here\n", 19);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
        evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply(req, 405, "Method Not Allowed", "text/plain", "use GET\n", 8);
        return;
    }
    struct sbuf b = SBUF_INIT;
    metrics_render(&b);
    reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b.p ? b.p : "", b.len);
    sbuf_free(&b);
}

struct metrics_http *metrics_http_start(struct app *app, char *err, size_t errlen)
{
    const char *listen = metrics_listen_of(app->cfg);
    char host[256];
    int port;
    if (listen == NULL || split_address(listen, host, sizeof(host), &port) != 0) {
        snprintf(err, errlen, "metrics.listen: not HOST:PORT: %s", listen ? listen : "(unset)");
        return NULL;
    }
    struct metrics_http *m = calloc(1, sizeof(*m));
    if (m == NULL || (m->http = evhttp_new(app->base)) == NULL)
        abort();
    /* A scraper sends a short GET: nothing bigger is read, nothing waits long. */
    evhttp_set_timeout(m->http, 10);
    evhttp_set_max_headers_size(m->http, 8192);
    evhttp_set_max_body_size(m->http, 0);
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(m->http, on_request, m);
    if (evhttp_bind_socket_with_handle(m->http, host, (ev_uint16_t)port) == NULL) {
        snprintf(err, errlen, "metrics.listen: cannot listen on %s", listen);
        metrics_http_free(m);
        return NULL;
    }
    log_info("metrics: /metrics is served on %s only; the webhook listener answers 404 for it",
             listen);
    return m;
}

void metrics_http_free(struct metrics_http *m)
{
    if (m == NULL)
        return;
    if (m->http)
        evhttp_free(m->http);
    free(m);
}
