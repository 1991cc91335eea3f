/* Outbound HTTP on the event loop: libcurl's multi-socket API driven by
 * libevent (curl's multi-event.c shape, see INTEGRATION.md §4.6).
 *
 * Used for signed deliveries to organisations without Kafka and for the
 * acknowledgements sent to citizens through the platforms' APIs.  Every
 * transfer is bounded by its timeout; the callback runs exactly once, on the
 * loop, never from inside fetch_start(); a cancelled transfer's callback
 * never runs.  Loop thread only. */
#ifndef APPEALSD_FETCH_H
#define APPEALSD_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct fetch;
struct fetch_xfer;

struct fetch_req {
    const char *url;
    const char *const *headers;   /* "Name: value" lines, NULL-terminated, or NULL */
    const void *body;             /* POSTed when not NULL (copied) */
    size_t body_len;
    int64_t timeout_ms;           /* whole transfer, connect included */
    size_t max_body;              /* response bytes kept (the rest is read and dropped);
                                     0: 64 KiB, enough for a status and an error */
};

struct fetch_res {
    long status;                  /* HTTP status; 0 when no response came */
    const char *body;             /* response body (at most max_body kept), NUL-terminated */
    size_t body_len;
    const char *error;            /* why no response came (status 0), else NULL */
    int64_t retry_after_s;        /* the response's Retry-After in seconds, 0 if none */
    int64_t elapsed_ms;
};

/* res and everything it points to are borrowed for the call. */
typedef void (*fetch_cb)(void *arg, const struct fetch_res *res);

struct fetch *fetch_new(struct event_base *base, const char *user_agent);
/* Cancels what is still running (no callbacks), then frees.  The loop must
 * still exist: curl may close sockets while cleaning up. */
void fetch_free(struct fetch *f);

/**
 * @brief Starts one request.
 * @returns the transfer (for fetch_cancel), or NULL when curl refused it
 *          (the reason is logged); cb is not called then.
 */
struct fetch_xfer *fetch_start(struct fetch *f, const struct fetch_req *req, fetch_cb cb,
                               void *arg);
/* Stops a transfer; its callback will not run. */
void fetch_cancel(struct fetch *f, struct fetch_xfer *x);
size_t fetch_active(const struct fetch *f);

/* url for a log line: a password in it, a Telegram bot token (/bot<token>/)
 * and the values of query parameters that carry credentials (access_token,
 * token, key, sig, signature, secret, password, ...) become "***".  Always
 * NUL-terminates out; cuts, never overflows. */
void fetch_url_for_log(const char *url, char *out, size_t outlen);

#endif
