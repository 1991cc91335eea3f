/* [metrics] listen: /metrics on an address of its own (loopback in
 * production), so that the public webhook listener does not show the
 * daemon's internals to the internet.  Unset, /metrics stays on the HTTP
 * listener.  Loop thread only. */
#ifndef APPEALSD_METRICS_HTTP_H
#define APPEALSD_METRICS_HTTP_H

#include <stddef.h>

struct app;
struct apd_config;
struct metrics_http;

/* The configured address, or NULL when /metrics is served on [http] listen. */
const char *metrics_listen_of(const struct apd_config *c);
/* NULL with the reason in err when the address cannot be bound. */
struct metrics_http *metrics_http_start(struct app *app, char *err, size_t errlen);
void metrics_http_free(struct metrics_http *m);

#endif
