/* Rebuild: after Redis came back empty, re-arm every open appeal from
 * kafka.topic_all (`appealsctl rebuild`).
 *
 * Every message on that topic (creations, changes, SLA events) carries the
 * appeal's state, owner and clocks, and a sequence number; the rebuild reads
 * the topic from the beginning to its end with a throwaway consumer group,
 * keeps the latest description of each appeal and its audit trail, and
 * writes the appeals that are still open, unless Redis already holds a newer
 * version (appeals that arrived after Redis came back).  Clocks that ran out
 * while Redis was gone fire on the scheduler's next round.
 *
 * One rebuild at a time; memory grows with the topic (every appeal's latest
 * record and its audit entries).  Loop thread only. */
#ifndef APPEALSD_REBUILD_H
#define APPEALSD_REBUILD_H

#include <stddef.h>

struct app;
struct lifecycle;
struct rebuild;

struct rebuild *rebuild_new(struct app *app, struct lifecycle *lc);
void rebuild_free(struct rebuild *rb);

struct rebuild_result {
    unsigned messages;     /* read from the topic */
    unsigned appeals;      /* open appeals written back */
    unsigned timers;       /* ... of which with a pending SLA stage */
    unsigned skipped;      /* open, but Redis already had them */
};

/* err is NULL on success, else why it failed. */
typedef void (*rebuild_done_fn)(void *arg, const struct rebuild_result *res, const char *err);

/* 0, or -1 with the reason in err (one is already running, Kafka refused). */
int rebuild_start(struct rebuild *rb, rebuild_done_fn cb, void *arg, char *err, size_t errlen);

#endif
