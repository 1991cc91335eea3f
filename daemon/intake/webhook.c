#include "webhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "app.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "pevent.h"
#include "pipeline.h"
#include "proxy.h"
#include "sbuf.h"
#include "sources.h"
#include "spool.h"
#include "units.h"

/* A request accepted by its plugin, waiting for the spool's fsync. */
struct waiting {
    struct app *app;
    struct evhttp_request *req;
    struct pevents ev;
    char source[64];
    char body[256];
    int64_t received_ms;
};

static unsigned inflight;

unsigned webhook_inflight(void) { return inflight; }

static const char *get_header(const struct apd_request *r, const char *name)
{
    struct evhttp_request *req = r->host_private;
    return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

static void on_synced(void *arg, uint64_t id, int err)
{
    struct waiting *w = arg;
    inflight--;
    if (err) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%lld", (long long)w->app->cfg->http.retry_after_s);
        evhttp_add_header(evhttp_request_get_output_headers(w->req), "Retry-After", ra);
        http_reply_text(w->req, 503, "could not store the event; retry later\n");
        http_count(w->source, 503);
        pevents_free(&w->ev);
        free(w);
        return;
    }
    /* The platform wants exactly these bytes (VK: "ok", no newline). */
    http_reply_text(w->req, 200, w->body);
    http_count(w->source, 200);
    pipeline_offer(w->app->pipeline, id, w->source, w->received_ms, &w->ev);
    free(w);
}

static int read_body(struct evhttp_request *req, char **body, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *len = evbuffer_get_length(in);
    *body = malloc(*len + 1);
    if (*body == NULL)
        return -1;
    evbuffer_copyout(in, *body, *len);
    (*body)[*len] = '\0';   /* yajl and plugins get a terminated string */
    return 0;
}

static void reply_status(struct app *app, struct evhttp_request *req, const char *source,
                         int status, const char *why)
{
    char text[256];
    snprintf(text, sizeof(text), "%s\n", why);
    if (status == 503) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%lld", (long long)app->cfg->http.retry_after_s);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
    }
    http_reply_text(req, status, text);
    http_count(source, status);
}

static void accept_body(struct app *app, struct evhttp_request *req, struct source *src,
                        const char *rest, const char *body, size_t len, struct apd_reply *reply,
                        struct pevents *ev)
{
    struct waiting *w = calloc(1, sizeof(*w));
    w->app = app;
    w->req = req;
    w->ev = *ev;
    w->received_ms = now_ms();
    snprintf(w->source, sizeof(w->source), "%s", src->cfg->name);
    snprintf(w->body, sizeof(w->body), "%s",
             reply->body[0] ? reply->body : src->ops->ok_body ? src->ops->ok_body : "ok");
    int rc = spool_append(app->spool, src->cfg->name, rest, w->received_ms, body, len,
                          on_synced, w, NULL);
    if (rc != 0) {
        if (rc == -EDQUOT)
            log_limited(LOG_LVL_WARN, 5, 10000,
                        "spool: quota of %llu bytes reached; answering 503 to %s until records "
                        "are delivered", (unsigned long long)app->cfg->spool.max_size,
                        src->cfg->name);
        else
            log_limited(LOG_LVL_ERROR, 5, 10000,
                        "spool: cannot store a %s event (%s); answering 503, the platform will "
                        "retry", src->cfg->name, strerror(-rc));
        reply_status(app, req, src->cfg->name, 503,
                     rc == -EDQUOT ? "spool full; retry later" : "cannot store; retry later");
        pevents_free(&w->ev);
        free(w);
        return;
    }
    inflight++;
}

/* Who sent the request: the TCP peer, or behind a trusted proxy the client
 * its X-Forwarded-For names (proxy.h).  Every X-Forwarded-For header counts,
 * joined in order, as a proxy that adds a header instead of appending to the
 * existing one would otherwise hide the client's own. */
static bool client_addr(struct app *app, struct evhttp_request *req, char *out, size_t outlen,
                        char *peer_out, size_t peerlen)
{
    char *peer = NULL;
    ev_uint16_t port;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
    snprintf(peer_out, peerlen, "%s", peer ? peer : "?");
    const struct strlist *tp = &app->cfg->http.trusted_proxies;
    struct sbuf xff = SBUF_INIT;
    if (tp->n) {
        struct evkeyval *kv;
        TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
            if (evutil_ascii_strcasecmp(kv->key, "X-Forwarded-For") == 0) {
                if (xff.len)
                    sbuf_addc(&xff, ',');
                sbuf_adds(&xff, kv->value);
            }
    }
    bool via = proxy_client(peer_out, xff.len ? xff.p : NULL, tp->v, tp->n, out, outlen);
    sbuf_free(&xff);
    return via;
}

/* What the operator does about a refused webhook, for the log line. */
static const char *next_step(int status)
{
    switch (status) {
    case 403: return "; if the sender is the platform, its secret differs from the "
                     "configuration's (the platform retries, then may disable the webhook)";
    case 404: return "; add the page to the configuration if it is ours";
    default: return "";
    }
}

void webhook_handle(struct app *app, struct evhttp_request *req, const char *path,
                    enum evhttp_cmd_type cmd)
{
    const char *rest = NULL;
    struct source *src = sources_match(app->sources, path, &rest);
    if (src == NULL) {
        reply_status(app, req, "-", 404, "no such webhook");
        return;
    }
    const char *name = src->cfg->name;
    if (cmd != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        reply_status(app, req, name, 405, "webhooks are POST only");
        return;
    }
    if (app->state != APP_RUNNING) {
        reply_status(app, req, name, 503, "shutting down; retry later");
        return;
    }
    char *body;
    size_t len;
    if (read_body(req, &body, &len) != 0) {
        reply_status(app, req, name, 503, "out of memory; retry later");
        return;
    }
    struct apd_request ar = {
        .struct_size = sizeof(ar), .path = rest, .body = body, .body_len = len,
        .remote_addr = NULL, .header = get_header, .host_private = req,
    };
    char client[PROXY_ADDR_LEN], peer[PROXY_ADDR_LEN], via[PROXY_ADDR_LEN + 8] = "";
    if (client_addr(app, req, client, sizeof(client), peer, sizeof(peer)))
        snprintf(via, sizeof(via), " via %s", peer);
    ar.remote_addr = client;
    struct apd_reply reply = {0};
    struct pevents ev = {0};
    enum apd_verdict v = src->ops->handle(src->state, &ar, 0, &reply, pevents_collect, &ev);
    switch (v) {
    case APD_ACCEPT:
        accept_body(app, req, src, rest, body, len, &reply, &ev);
        break;
    case APD_RESPOND:
        http_reply_text(req, reply.status ? reply.status : 200, reply.body);
        http_count(name, reply.status ? reply.status : 200);
        pevents_free(&ev);
        break;
    default: {
        int st = reply.status >= 400 && reply.status < 600 ? reply.status : 400;
        log_limited(LOG_LVL_INFO, 10, 10000,
                    "http: %s webhook from %s%s refused with %d: %s; nothing stored%s", name,
                    client, via, st,
                    reply.reason ? reply.reason : "rejected by the plugin", next_step(st));
        reply_status(app, req, name, st, reply.body[0] ? reply.body
                                         : reply.reason ? reply.reason : "rejected");
        pevents_free(&ev);
        break;
    }
    }
    free(body);
}
