/* The HTTP listener (evhttp): webhook paths, /healthz and /metrics.
 *
 * Limits are enforced by libevent before a body is read: a Content-Length
 * above http.max_body is answered 413 from the headers alone; headers above
 * http.max_headers are refused.  Every request is answered exactly once,
 * also when the client has gone (libevent frees it at our reply). */
#ifndef APPEALSD_HTTP_H
#define APPEALSD_HTTP_H

#include <stddef.h>

struct app;
struct http_server;
struct evhttp_request;

struct http_server *http_start(struct app *app, char *err, size_t errlen);
/* Stop accepting connections; requests still arriving on open connections
 * get 503 with Retry-After. */
void http_stop_intake(struct http_server *h);
/* Requests accepted whose answer is still due (waiting for the spool). */
unsigned http_inflight(const struct http_server *h);
int http_port(const struct http_server *h);
/* After a reload: re-read [http] tls_cert and tls_key into a new context;
 * when they do not load, the running one stays and the log says why. */
void http_reload_tls(struct http_server *h);
void http_free(struct http_server *h);

/* Shared by the webhook handler. */
void http_reply_text(struct evhttp_request *req, int status, const char *body);
void http_count(const char *source, int status);

#endif
