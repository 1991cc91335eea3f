/* Listener limits that libevent 2.1 lacks (Debian 12 ships 2.1.12: no
 * evhttp_set_max_connections, no per-request "new request" hook):
 *
 *  - http.max_connections: a connection accepted over the cap is answered
 *    "503 Service Unavailable" with Retry-After and closed at once, so the
 *    daemon keeps at most the cap (plus one accept batch) of sockets and
 *    connection buffers, and a platform retries the webhook later;
 *  - http.header_timeout and http.body_timeout: total deadlines for a
 *    request's header block and for its body.  evhttp's own timeout
 *    (http.timeout) is an inactivity timer, which a client sending a byte a
 *    second never trips.
 *
 * How it hooks in: evhttp_set_bevcb gives us every accepted connection's
 * bufferevent; an input-buffer callback sees the bytes arrive (and so the
 * end of the header block), and on the next loop turn the evhttp_connection
 * (the bufferevent's callback argument) gets a close callback. */
#ifndef APPEALSD_HTTP_LIMITS_H
#define APPEALSD_HTTP_LIMITS_H

#include <stdbool.h>

struct app;
struct bufferevent;
struct event_base;
struct evhttp;
struct evhttp_request;
struct http_limits;

struct http_limits *http_limits_new(struct app *app, struct evhttp *http);
/* Call after evhttp_free (which closes the connections it still has). */
void http_limits_free(struct http_limits *l);
/* The request reached the handler: its deadlines stop until the next
 * request on the connection starts arriving.  False when its connection was
 * accepted over the cap and the client sent the request before the 503
 * could go out: the caller answers 503 (the connection then closes). */
bool http_limits_admit(struct http_limits *l, struct evhttp_request *req);
/* Accepted connections get their bufferevent from make (a TLS one) instead
 * of a plain socket one; over the cap they are closed without an answer. */
typedef struct bufferevent *(*http_limits_bevcb)(struct event_base *base, void *arg);
void http_limits_set_bevcb(struct http_limits *l, http_limits_bevcb make, void *arg);
/* Connections open now (counted against http.max_connections). */
unsigned http_limits_open(const struct http_limits *l);

#endif
