/* The agency status consumer: organisations report progress on their
 * appeals on kafka.topic_status; every daemon joins one consumer group
 * ([sla] status_group), so each message is handled by one of them.
 *
 *   {"schema": "appealsd.status/1", "appeal_id": "vk:-100001:wall:42:c501",
 *    "org": "maykop", "status": "accepted" | "in_progress" | "answered" |
 *    "resolved" | "needs_info" | "not_ours",
 *    "reason": "...", "link": "https://...", "suggested_org": "minstroy",
 *    "at": "2026-11-30T10:15:00+03:00"}
 *
 * A valid status goes through the lifecycle (which checks the sender owns the
 * appeal and the step is allowed); anything the daemon refuses goes to
 * kafka.topic_dlq with the reason.  The message's offset is stored only
 * after the change is stored in Redis or the refusal is on the DLQ topic, so
 * a crash makes Kafka deliver it again, and an idempotency key
 * (d:st:TOPIC:PARTITION:OFFSET) makes the repeat harmless.  Messages are
 * handled one at a time, in order.
 *
 * The consumer runs on the loop: its queue wakes a pipe, and a 1 s timer
 * polls as well so the group never thinks the daemon died.  Loop thread only. */
#ifndef APPEALSD_STATUS_H
#define APPEALSD_STATUS_H

#include <stddef.h>
#include <stdint.h>

struct app;
struct jw;
struct lifecycle;
struct status_consumer;

struct status_consumer *status_consumer_new(struct app *app, struct lifecycle *lc, char *err,
                                            size_t errlen);
/* Leaves the group (bounded wait) and frees; the message being handled, if
 * any, is delivered again to whoever takes its partition. */
void status_consumer_free(struct status_consumer *sc);
/* Takes no new message (shutdown); the one being handled finishes. */
void status_consumer_stop(struct status_consumer *sc);

/* Members of `appealsctl status`'s "agency_status" object: topic, group,
 * the partitions assigned here, and the counters of received, applied,
 * ignored, dead-lettered and retried messages and of rebalances. */
void status_consumer_write_stats(const struct status_consumer *sc, struct jw *w);

#endif
