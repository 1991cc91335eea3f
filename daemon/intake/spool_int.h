/* Internals shared by spool.c (appends, the fsync thread, the cursor,
 * releases) and spool_scan.c (reading records back, the scan at start).
 * Not for use outside the spool. */
#ifndef APPEALSD_SPOOL_INT_H
#define APPEALSD_SPOOL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "spool.h"

struct event;

#define ACKED_QUEUE_MAX 65536   /* durable records remembered for spool_is_next */

struct segment {
    uint64_t seq, salt;
    int fd, ackfd;
    uint64_t size;       /* append offset: header plus every record appended */
    uint64_t written;    /* bytes handed to the fsync thread; pend holds the rest */
    uint64_t readable;   /* the cursor may read below this */
    unsigned char *pend; /* appended records not yet handed over (loop thread) */
    size_t pend_len, pend_cap;
    uint32_t nrec;       /* index of the next record */
    uint32_t nvalid;     /* records present */
    uint32_t nreleased;
    uint8_t *bits;       /* released records, by index */
    size_t bits_len;
    int64_t *rcv;        /* received_ms by index, for the oldest record's age */
    size_t rcv_cap;
    uint32_t first_unrel; /* no record below this index is unreleased */
    bool active, failed;
    struct segment *next;
};

struct waiter {
    struct segment *seg;
    uint64_t end;
    uint64_t id;
    spool_synced_fn cb;
    void *arg;
    struct waiter *next;
};

/* A record that became durable and has not been read by the cursor yet. */
struct acked {
    uint64_t id;
    uint64_t end;
};

struct spool {
    char *dir;
    int dirfd;
    uint64_t max_size, seg_size;
    struct segment *segs, *active;
    uint64_t bytes;
    struct segment *rseg;       /* the read cursor */
    uint64_t roff;
    uint32_t rmin;              /* least record index the cursor accepts next */
    struct acked *aq;           /* ring, oldest first, for spool_is_next */
    size_t aq_head, aq_len;
    struct waiter *wh, *wt;     /* append waiters, in append order */
    /* fsync thread: one request at a time, guarded by mu */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool thread_started, stop, req_pending, busy, dirsync, res_ready;
    int req_fd;
    struct segment *req_seg, *res_seg;
    unsigned char *req_buf;     /* bytes to write at req_write_off first (owned) */
    size_t req_len, req_cap;
    unsigned char *res_buf;     /* req_buf handed back after the write, for reuse */
    size_t res_cap;
    unsigned char *spare;       /* an empty pending buffer kept for the next batch */
    size_t spare_cap;
    uint64_t req_write_off;
    uint64_t req_off, res_off;
    int res_err;
    bool res_taken_back;        /* a failed write was cut off again: the segment is intact */
    uint64_t res_write_off;     /* where the failed request's bytes began */
    int64_t fail_logged_ms;     /* rate limit of failure lines (a full disk fails every batch) */
    uint64_t fail_unlogged;
    int wake[2];
    struct event *wake_ev;
    bool quota_hit;             /* an append was refused for quota since bytes last fell */
    _Atomic uint64_t extra;     /* spool_set_extra_bytes: the quarantine's share */
    struct spool_stats st;
};

/* NNN.ext in the spool directory; free() the result. */
char *spool_seg_path(const struct spool *sp, uint64_t seq, const char *ext);
bool seg_is_released(const struct segment *s, uint32_t idx);
void seg_set_released(struct segment *s, uint32_t idx);
void seg_free(struct segment *s);
void seg_note_received(struct segment *s, uint32_t idx, int64_t received_ms);
void seg_append_list(struct spool *sp, struct segment *s);

/* Reads the record at off (below limit).  Returns its length with *out a
 * malloc'd buffer holding it, 0 when off >= limit, -1 when the bytes there are
 * not an intact record of this segment. */
long spool_read_record(const struct segment *s, uint64_t off, uint64_t limit,
                       struct spool_rec *rec, void **out);
/* After damage at off: the offset of the next intact record with an index of
 * at least min_idx, or limit. */
uint64_t spool_resync(const struct segment *s, uint64_t off, uint64_t limit, uint32_t min_idx);
/* Opens every segment an earlier run left (cutting torn tails, setting
 * damaged ones aside), loads their release logs; *maxseq gets the highest
 * segment number seen.  0, or -1 with the reason in err. */
int spool_scan_dir(struct spool *sp, uint64_t *maxseq, char *err, size_t errlen);

#endif
