/* The durable intake spool: the point where a webhook may be acknowledged.
 *
 * Raw request bodies are appended to segment files in spool.dir, written and
 * made durable with fdatasync by a dedicated thread, so one write and one
 * fsync serve every request that arrived meanwhile (group commit) and the
 * event loop never touches the disk for an append.  A record is released only after its whole pipeline
 * (Kafka delivery, Redis bookkeeping) has finished; releases go to a small
 * per-segment ack log.  On start every unreleased record is replayed.
 *
 * Records are handed to the pipeline strictly in order through a cursor, so
 * memory stays bounded however large the backlog on disk grows (a Kafka
 * outage simply lets the backlog grow up to spool.max_size).
 *
 * The bytes on disk are described in spool_format.h.  At open, a torn tail
 * (a crash in the middle of an append that was never acknowledged) is cut
 * off, damaged records elsewhere are skipped with an error in the log, and a
 * segment whose header is damaged is moved aside as NNN.bad.
 *
 * Threading: every function runs on the loop thread; the spool owns one
 * helper thread that only calls fdatasync/fsync.
 */
#ifndef APPEALSD_SPOOL_H
#define APPEALSD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct spool;

struct spool_rec {
    uint64_t id;
    int64_t received_ms;
    const char *source;   /* NUL-terminated views into the record buffer */
    const char *path;
    const char *body;
    size_t body_len;
    uint64_t size;        /* bytes of the record in its segment (spool_next) */
};

/* Called on the loop when the record is durable (err 0) or could not be
 * made durable (err -EIO): then the request must not be acknowledged, and
 * the record is already released (it is never processed or replayed). */
typedef void (*spool_synced_fn)(void *arg, uint64_t id, int err);

struct spool_stats {
    uint64_t bytes;        /* live segment bytes (counted against max_size) */
    uint64_t segments;
    uint64_t unreleased;   /* records not yet released (in the pipeline or waiting) */
    uint64_t appended, released, fsyncs, write_errors, corrupt;
    uint64_t rejected;     /* written, but their fsync failed: answered 503, released */
    uint64_t extra_bytes;  /* other files under the same quota (the quarantine) */
};

/**
 * @brief Open (creating) the spool directory and scan what an earlier run left.
 * @returns the spool, or NULL with the reason in err.
 * @remark Starts the fsync thread; loop thread only afterwards.
 */
struct spool *spool_open(const char *dir, uint64_t max_size, uint64_t segment_size,
                         struct event_base *base, char *err, size_t errlen);
/* Stops the fsync thread after a final sync and closes everything. */
void spool_close(struct spool *sp);

/**
 * @brief Append one raw body.
 *
 * The record is copied into the segment's pending bytes; the fsync thread
 * writes and syncs everything appended meanwhile in one go, then cb runs.
 * @returns 0 (cb follows: err 0 when durable, -EIO when it could not be
 *          written or synced), or -errno now: -EDQUOT when the quota is
 *          reached, -EMSGSIZE for a record the format cannot hold, or why a
 *          new segment could not be created.  On any error nothing is kept
 *          and the caller answers 503 with Retry-After.
 */
int spool_append(struct spool *sp, const char *source, const char *path, int64_t received_ms,
                 const char *body, size_t body_len, spool_synced_fn cb, void *arg,
                 uint64_t *id_out);

/**
 * @brief Hand the next durable, unreleased record to the pipeline.
 * @returns 1 and fills rec (valid until the next spool_next call on the same
 *          buffer; *buf is owned by the caller, free() it), 0 when nothing is
 *          waiting.
 */
int spool_next(struct spool *sp, struct spool_rec *rec, void **buf);
/* True when id is the record spool_next would return next: lets the intake
 * hand over a just-synced record from memory without reading it back. */
bool spool_is_next(struct spool *sp, uint64_t id);
/* Moves the cursor past id after the caller took it from memory; returns
 * the record's bytes in its segment (0: id was not next, nothing moved). */
uint64_t spool_take(struct spool *sp, uint64_t id);

/* Releases a record: its pipeline is finished.  Idempotent. */
void spool_release(struct spool *sp, uint64_t id);

void spool_get_stats(struct spool *sp, struct spool_stats *st);
/* Bytes of other files in the spool directory that share its quota (the
 * quarantine and its rotated copies).  Any thread. */
void spool_set_extra_bytes(struct spool *sp, uint64_t bytes);

/* The write and data sync the fsync thread calls (pwrite, fdatasync).
 * Replaceable only by fault-injection tests, before spool_open. */
extern int (*spool_datasync)(int fd);
extern ssize_t (*spool_pwrite)(int fd, const void *buf, size_t len, off_t off);
/* Over quota: nearly full, or an append was refused for quota and nothing
 * has been freed since (for /healthz and STATUS=). */
bool spool_full(struct spool *sp);
/* received_ms of the oldest record not yet released (0: none), for the
 * backlog age in /metrics and /healthz. */
int64_t spool_oldest_unreleased_ms(struct spool *sp);

#endif
