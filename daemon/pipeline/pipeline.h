/* The pipeline: what happens to an event after it is durable in the spool.
 *
 *   claim (Redis: drop repeats, assign seq) → classify → route → publish to
 *   Kafka (wait for every delivery report) → commit (Redis: record, timers,
 *   audit) → release the spool record
 *
 * Records are processed in spool order, at most [pipeline]
 * max_inflight_records (and max_inflight_bytes) at once (pipeline_limits.h);
 * events of one appeal are serialised (an answer waits for the comment it
 * answers).  A step that fails because Kafka or Redis is away is retried
 * later from memory; nothing is released before the last step succeeded. */
#ifndef APPEALSD_PIPELINE_H
#define APPEALSD_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct pevents;

struct pipeline_stats {
    uint64_t inflight;
    uint64_t inflight_bytes;
    uint64_t jobs_done;
    uint64_t published;        /* appeal events published */
    uint64_t duplicates;
    uint64_t ignored;
    uint64_t quarantined;
    uint64_t dropped;          /* noise a drop rule sent nowhere */
    uint64_t answers;
    uint64_t retries;
    uint64_t waiting_redis;
    uint64_t redone;           /* records processed again after a lost Redis connection */
};

struct pipeline *pipeline_new(struct app *app);
void pipeline_free(struct pipeline *pl);

/* A record just became durable; its events (taken over) are used directly
 * when the record is next in line and there is room, else it waits on disk. */
void pipeline_offer(struct pipeline *pl, uint64_t rec_id, const char *source,
                    int64_t received_ms, struct pevents *ev);
/* Take waiting records from the spool while there is room. */
void pipeline_pump(struct pipeline *pl);
/* Stop taking new records (shutdown); in-flight jobs continue. */
void pipeline_drain(struct pipeline *pl);
void pipeline_get_stats(struct pipeline *pl, struct pipeline_stats *st);

#endif
