/* The operator tail's memory: the last N events the control socket
 * published, with the fields its filters look at, so `appealsctl tail -n 20`
 * shows what just happened before it follows (journalctl's meaning of -n).
 *
 * A ring of copies: publishing an event costs one line copy whether or not
 * anyone tails; the size is [control] recent_events (0 turns it off).
 * Loop thread only. */
#ifndef APPEALSD_RECENT_H
#define APPEALSD_RECENT_H

#include <stddef.h>
#include <stdint.h>

struct recent;
struct tail_event;
struct ctl_filter;

struct recent *recent_new(size_t cap);
void recent_free(struct recent *r);
/* Keeps a copy of ev's filter fields and of its stream line (len bytes,
 * newline included); the oldest event goes when the ring is full. */
void recent_add(struct recent *r, const struct tail_event *ev, const char *line, size_t len);

typedef void (*recent_fn)(void *arg, const char *line, size_t len);
/* Calls fn, oldest first, for the last n remembered events that pass f at
 * now_ms; returns how many. */
size_t recent_replay(const struct recent *r, const struct ctl_filter *f, size_t n,
                     int64_t now_ms, recent_fn fn, void *arg);

#endif
