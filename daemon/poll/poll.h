/* Pull sources: the host side of ABI 1.5 polling (plugin.h, apd_poll_ops).
 *
 * One poller per page with `poll = yes` whose source plugin can poll.  A
 * round: take the page's Redis lease (so one instance of several polls a
 * page), read its cursor, then build → GET (libcurl multi on the loop, see
 * fetch.h) → parse, and store every item exactly like a webhook body: the
 * plugin's handle() normalises it, the spool makes it durable, the pipeline
 * takes it from there (claims in Redis drop what a webhook already
 * delivered).  The cursor is saved only once every item of the response is
 * durable, so a crash re-reads rather than loses.  Requests of one source
 * are spaced by its min_gap_ms; failures back off exponentially up to five
 * minutes, or as long as the API asked.
 *
 * Redis keys (under redis.prefix):
 *   poll:SOURCE:PAGE:lease    the instance polling the page (PX 2 intervals + 30 s)
 *   poll:SOURCE:PAGE:cursor   the plugin's cursor (opaque text)
 *
 * Loop thread only. */
#ifndef APPEALSD_POLL_H
#define APPEALSD_POLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct polls;
struct sbuf;

struct polls *polls_new(struct app *app);
/* Stops every round (transfers cancelled; appends already made complete). */
void polls_stop(struct polls *ps);
void polls_free(struct polls *ps);
/* After a reload: pollers for pages that poll now, none for those that stopped. */
void polls_sync(struct polls *ps);
/* Items handed to the spool and not yet durable (the drain waits for them). */
unsigned polls_inflight(void);
size_t polls_count(const struct polls *ps);
/* The pollers' state as a JSON array (appealsctl status), or, with page set,
 * the one poller of that "SOURCE:PAGE" as an object ("null" when none). */
void polls_json(const struct polls *ps, const char *page, struct sbuf *out);

#endif
