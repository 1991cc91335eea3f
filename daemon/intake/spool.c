/* The durable intake spool (see spool.h for the contract, spool_format.h for
 * the bytes on disk).
 *
 * Invariants worth keeping in mind:
 *  - A record's append callback fires with err 0 only after an fdatasync that
 *    started after the record was written returned success (and, for a new
 *    segment, after the directory entry was synced too).
 *  - After a failed fdatasync nothing written to that segment since its last
 *    good sync can be vouched for (Linux drops the dirty pages and reports the
 *    error once): every request waiting on it gets -EIO, the records are
 *    released at once (the platforms retry them) and the segment is retired.
 *  - The reader (cursor) only reads below seg->readable: bytes whose append
 *    completed one way or the other.  It moves strictly forward.
 *  - A segment file is deleted only when every record in it is released, the
 *    cursor has left it, and no sync or waiter refers to it. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>

#include "log.h"
#include "spool_format.h"
#include "spool_int.h"
#include "units.h"

char *spool_seg_path(const struct spool *sp, uint64_t seq, const char *ext)
{
    char *p;
    if (asprintf(&p, "%s/%016" PRIx64 ".%s", sp->dir, seq, ext) < 0)
        abort();
    return p;
}

/* ---- released-record bitmap ---- */

bool seg_is_released(const struct segment *s, uint32_t idx)
{
    size_t byte = idx / 8;
    return byte < s->bits_len && (s->bits[byte] >> (idx % 8)) & 1;
}

void seg_set_released(struct segment *s, uint32_t idx)
{
    size_t byte = idx / 8;
    if (byte >= s->bits_len) {
        size_t n = s->bits_len ? s->bits_len : 64;
        while (n <= byte)
            n *= 2;
        uint8_t *b = realloc(s->bits, n);
        if (b == NULL)
            abort();
        memset(b + s->bits_len, 0, n - s->bits_len);
        s->bits = b;
        s->bits_len = n;
    }
    s->bits[byte] |= (uint8_t)(1u << (idx % 8));
}

/* 8 bytes a record (a 1 GiB spool of 1 KiB bodies: 8 MiB) buy an exact
 * "oldest unreleased record" without reading the disk at each scrape. */
void seg_note_received(struct segment *s, uint32_t idx, int64_t received_ms)
{
    if (idx >= s->rcv_cap) {
        size_t n = s->rcv_cap ? s->rcv_cap : 256;
        while (n <= idx)
            n *= 2;
        int64_t *p = realloc(s->rcv, n * sizeof(*p));
        if (p == NULL)
            abort();
        memset(p + s->rcv_cap, 0, (n - s->rcv_cap) * sizeof(*p));
        s->rcv = p;
        s->rcv_cap = n;
    }
    s->rcv[idx] = received_ms;
}

static void collect(struct spool *sp);

/* Marks idx released in memory and in the segment's release log. */
static bool release_index(struct spool *sp, struct segment *s, uint32_t idx)
{
    if (idx >= s->nrec || seg_is_released(s, idx))
        return false;
    seg_set_released(s, idx);
    s->nreleased++;
    sp->st.unreleased--;
    /* Not synced: losing a release in a crash only means a harmless replay
     * (the dedup keys in Redis and the consumers drop the repeat). */
    unsigned char e[SPOOL_ACK_ENTRY];
    spool_ack_encode(e, idx);
    if (s->ackfd < 0 || write(s->ackfd, e, sizeof(e)) != (ssize_t)sizeof(e))
        log_warn("spool: cannot record the release of record %u of segment %016" PRIx64
                 ": %s; it will be replayed after a restart", idx, s->seq,
                 s->ackfd < 0 ? "release log not open" : strerror(errno));
    return true;
}

/* ---- the fsync thread ---- */

int (*spool_datasync)(int fd) = fdatasync;
ssize_t (*spool_pwrite)(int fd, const void *buf, size_t len, off_t off) = pwrite;

/* Writes len bytes at off; 0 or -errno. */
static int write_all(int fd, const unsigned char *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = spool_pwrite(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -ENOSPC;
        buf += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* The helper thread: writes what the loop appended since the last request
 * (one pwrite for all of it) and makes it durable.  The loop thread does no
 * file I/O for appends at all. */
static void *sync_main(void *arg)
{
    struct spool *sp = arg;
    pthread_mutex_lock(&sp->mu);
    for (;;) {
        while (!sp->stop && !sp->req_pending)
            pthread_cond_wait(&sp->cv, &sp->mu);
        if (!sp->req_pending)
            break;
        int fd = sp->req_fd;
        struct segment *seg = sp->req_seg;
        unsigned char *buf = sp->req_buf;
        size_t len = sp->req_len, cap = sp->req_cap;
        uint64_t woff = sp->req_write_off, off = sp->req_off;
        bool dirsync = sp->dirsync;
        sp->req_buf = NULL;
        sp->dirsync = false;
        sp->req_pending = false;
        sp->busy = true;
        pthread_mutex_unlock(&sp->mu);

        int err = len ? write_all(fd, buf, len, woff) : 0;
        /* A write the disk refused (full) is cut off again, so the segment
         * stays a clean sequence of records and can go on; a failed sync
         * cannot be taken back (see on_wake). */
        bool taken_back = err && ftruncate(fd, (off_t)woff) == 0;
        if (err == 0 && spool_datasync(fd) != 0)
            err = -errno;
        if (err == 0 && dirsync && fsync(sp->dirfd) != 0)
            err = -errno;

        pthread_mutex_lock(&sp->mu);
        sp->res_taken_back = taken_back;
        sp->res_write_off = woff;
        sp->res_buf = buf;       /* back to the loop: no malloc/free per batch */
        sp->res_cap = cap;
        if (err && dirsync)
            sp->dirsync = true;   /* the next request retries the directory */
        sp->busy = false;
        sp->res_ready = true;
        sp->res_seg = seg;
        sp->res_off = off;
        sp->res_err = err;
        ssize_t w = write(sp->wake[1], "s", 1);
        (void)w;
    }
    pthread_mutex_unlock(&sp->mu);
    return NULL;
}

/* Hands the thread the oldest segment that has waiters: its pending bytes to
 * write and the offset to sync up to.  One request at a time: whatever is
 * appended while it runs goes with the next one (group commit). */
static void kick(struct spool *sp)
{
    if (sp->wh == NULL)
        return;
    pthread_mutex_lock(&sp->mu);
    if (!sp->busy && !sp->req_pending && !sp->res_ready) {
        struct segment *seg = sp->wh->seg;
        uint64_t end = sp->wh->end;
        for (struct waiter *w = sp->wh; w && w->seg == seg; w = w->next)
            end = w->end;
        sp->req_fd = seg->fd;
        sp->req_seg = seg;
        sp->req_off = end;
        sp->req_buf = seg->pend;
        sp->req_len = seg->pend_len;
        sp->req_cap = seg->pend_cap;
        sp->req_write_off = seg->written;
        seg->written += seg->pend_len;
        seg->pend = NULL;
        seg->pend_len = seg->pend_cap = 0;
        sp->req_pending = true;
        pthread_cond_signal(&sp->cv);
    }
    pthread_mutex_unlock(&sp->mu);
}

static void aq_push(struct spool *sp, uint64_t id, uint64_t end)
{
    if (sp->aq_len == ACKED_QUEUE_MAX) {
        /* Far behind: the reader finds these records on disk anyway. */
        sp->aq_head = (sp->aq_head + 1) % ACKED_QUEUE_MAX;
        sp->aq_len--;
    }
    sp->aq[(sp->aq_head + sp->aq_len) % ACKED_QUEUE_MAX] = (struct acked){id, end};
    sp->aq_len++;
}

/* Disk failures: one line, then at most one per 10 s carrying the count of
 * those left out (a full disk fails every batch and every new segment). */
static bool failure_loggable(struct spool *sp, uint64_t *unlogged)
{
    int64_t now = mono_ms();
    sp->st.write_errors++;
    if (sp->fail_logged_ms && now - sp->fail_logged_ms < 10000) {
        sp->fail_unlogged++;
        return false;
    }
    *unlogged = sp->fail_unlogged;
    sp->fail_logged_ms = now;
    sp->fail_unlogged = 0;
    return true;
}

static void log_failure(struct spool *sp, const struct segment *seg, int err, unsigned n,
                        bool taken_back)
{
    uint64_t unlogged;
    if (failure_loggable(sp, &unlogged))
        log_error("spool: %s segment %016" PRIx64 " failed (%s); the %u requests waiting on it "
                  "get 503 and their platforms retry them; %s (%" PRIu64 " more disk failures "
                  "since the last line)", taken_back ? "writing to" : "syncing", seg->seq,
                  strerror(-err), n, taken_back ? "the segment goes on"
                                                : "new records go to a new segment", unlogged);
}

/* Every request waiting on seg fails.  After a failed fdatasync nothing
 * written to the segment since its last good sync can be vouched for (Linux
 * drops the dirty pages and reports the error once): the segment is
 * retired.  A refused write that was cut off again leaves it intact. */
static void sync_failed(struct spool *sp, struct segment *seg, int err, bool taken_back,
                        uint64_t write_off)
{
    unsigned n = 0;
    for (struct waiter *w = sp->wh; w && w->seg == seg; w = w->next)
        n++;
    log_failure(sp, seg, err, n, taken_back);
    /* Appended after the failed request: never written, never acknowledged. */
    free(seg->pend);
    seg->pend = NULL;
    seg->pend_len = seg->pend_cap = 0;
    if (taken_back) {
        sp->bytes -= seg->size - write_off;
        seg->size = seg->written = write_off;
    } else {
        seg->failed = true;
    }
}

/* Keeps one emptied pending buffer for the next batch (not a huge one left
 * over from a burst). */
static void keep_spare(struct spool *sp, unsigned char *buf, size_t cap)
{
    if (buf == NULL)
        return;
    if (sp->spare == NULL && cap <= (4u << 20)) {
        sp->spare = buf;
        sp->spare_cap = cap;
    } else {
        free(buf);
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct spool *sp = arg;
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&sp->mu);
    bool ready = sp->res_ready, taken_back = sp->res_taken_back;
    unsigned char *back = sp->res_buf;
    size_t back_cap = sp->res_cap;
    sp->res_buf = NULL;
    struct segment *seg = sp->res_seg;
    uint64_t off = sp->res_off, write_off = sp->res_write_off;
    int err = sp->res_err;
    sp->res_ready = false;
    pthread_mutex_unlock(&sp->mu);
    keep_spare(sp, back, back_cap);
    if (!ready)
        return;
    sp->st.fsyncs++;
    uint64_t readable = seg->readable;
    if (err)
        sync_failed(sp, seg, err, taken_back, write_off);
    while (sp->wh && sp->wh->seg == seg && (err || sp->wh->end <= off)) {
        struct waiter *w = sp->wh;
        sp->wh = w->next;
        if (sp->wh == NULL)
            sp->wt = NULL;
        if (err) {
            /* Never acknowledged: release it now so neither this run nor a
             * replay processes a record whose sender was told to retry. */
            release_index(sp, seg, (uint32_t)w->id);
            sp->st.rejected++;
        } else {
            seg->readable = w->end;
            aq_push(sp, w->id, w->end);
        }
        w->cb(w->arg, w->id, err ? -EIO : 0);
        free(w);
    }
    /* The cursor may pass what failed in a retired segment; in one that goes
     * on, those bytes are gone and the next records take their place. */
    if (err)
        seg->readable = taken_back ? readable : seg->size;
    kick(sp);
    if (err)
        collect(sp);
}

/* ---- segments ---- */

void seg_free(struct segment *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->ackfd >= 0)
        close(s->ackfd);
    free(s->bits);
    free(s->rcv);
    free(s->pend);
    free(s);
}

void seg_append_list(struct spool *sp, struct segment *s)
{
    struct segment **pp = &sp->segs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = s;
    sp->st.segments++;
}

/* Creates the files of a new segment and writes its header (made durable by
 * the first fdatasync of a record in it, together with the directory). */
static struct segment *seg_create(struct spool *sp, uint64_t seq, int *err)
{
    char *p = spool_seg_path(sp, seq, "seg"), *a = spool_seg_path(sp, seq, "ack");
    struct segment *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->seq = seq;
    s->ackfd = -1;
    if (getrandom(&s->salt, sizeof(s->salt), 0) != sizeof(s->salt)) {
        *err = -errno;
        log_error("spool: getrandom for a new segment: %s", strerror(errno));
        s->fd = -1;
        goto fail;
    }
    unsigned char hdr[SPOOL_SEG_HDR];
    spool_seg_header_encode(hdr, seq, s->salt);
    errno = 0;
    s->fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (s->fd < 0 || pwrite(s->fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
        (s->ackfd = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)) < 0) {
        *err = errno ? -errno : -EIO;
        uint64_t unlogged;
        if (failure_loggable(sp, &unlogged))
            log_error("spool: cannot create segment %s: %s; requests get 503 until it can (%"
                      PRIu64 " more disk failures since the last line)", p, strerror(-*err),
                      unlogged);
        if (s->fd >= 0)
            unlink(p);
        goto fail;
    }
    s->size = s->readable = s->written = SPOOL_SEG_HDR;
    s->active = true;
    sp->bytes += SPOOL_SEG_HDR;
    pthread_mutex_lock(&sp->mu);
    sp->dirsync = true;    /* the new name must survive a crash too */
    pthread_mutex_unlock(&sp->mu);
    free(p);
    free(a);
    return s;
fail:
    free(p);
    free(a);
    seg_free(s);
    return NULL;
}

static int rotate(struct spool *sp)
{
    uint64_t seq = sp->active ? sp->active->seq + 1 : 1;
    int err = 0;
    struct segment *s = seg_create(sp, seq, &err);
    if (s == NULL)
        return err;
    if (sp->active)
        sp->active->active = false;
    sp->active = s;
    seg_append_list(sp, s);
    if (sp->rseg == NULL) {
        sp->rseg = s;
        sp->roff = SPOOL_SEG_HDR;
    }
    return 0;
}

static bool seg_in_use(struct spool *sp, const struct segment *s)
{
    if (s->active || s == sp->rseg || s->nreleased < s->nvalid)
        return true;
    for (struct waiter *w = sp->wh; w; w = w->next)
        if (w->seg == s)
            return true;
    pthread_mutex_lock(&sp->mu);
    bool syncing = (sp->busy || sp->req_pending || sp->res_ready) &&
                   (sp->req_seg == s || sp->res_seg == s);
    pthread_mutex_unlock(&sp->mu);
    return syncing;
}

/* Deletes finished segments: all released, left behind by the cursor. */
static void collect(struct spool *sp)
{
    struct segment **pp = &sp->segs;
    while (*pp) {
        struct segment *s = *pp;
        if (seg_in_use(sp, s)) {
            pp = &s->next;
            continue;
        }
        /* The segment first: a crash in between leaves only a stray release
         * log, which the next start removes. */
        char *p = spool_seg_path(sp, s->seq, "seg"), *a = spool_seg_path(sp, s->seq, "ack");
        if (unlink(p) != 0 && errno != ENOENT)
            log_warn("spool: cannot delete finished segment %s: %s", p, strerror(errno));
        unlink(a);
        free(p);
        free(a);
        sp->bytes -= s->size;
        sp->quota_hit = false;
        sp->st.segments--;
        *pp = s->next;
        seg_free(s);
    }
}

/* ---- public ---- */

struct spool *spool_open(const char *dir, uint64_t max_size, uint64_t segment_size,
                         struct event_base *base, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    struct spool *sp = calloc(1, sizeof(*sp));
    if (sp == NULL)
        abort();
    sp->dir = strdup(dir);
    sp->max_size = max_size;
    sp->seg_size = segment_size;
    sp->wake[0] = sp->wake[1] = -1;
    sp->aq = calloc(ACKED_QUEUE_MAX, sizeof(*sp->aq));
    pthread_mutex_init(&sp->mu, NULL);
    pthread_cond_init(&sp->cv, NULL);
    sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->dirfd < 0) {
        snprintf(err, errlen, "cannot open spool directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    uint64_t maxseq;
    if (spool_scan_dir(sp, &maxseq, err, errlen) != 0)
        goto fail;
    sp->rseg = NULL;
    collect(sp);
    sp->rseg = sp->segs;
    sp->roff = SPOOL_SEG_HDR;
    sp->rmin = 0;
    int e = 0;
    struct segment *s = seg_create(sp, maxseq + 1, &e);
    if (s == NULL) {
        snprintf(err, errlen, "cannot create a spool segment in %s: %s", dir, strerror(-e));
        goto fail;
    }
    sp->active = s;
    seg_append_list(sp, s);
    if (sp->rseg == NULL)
        sp->rseg = s;
    if (pipe2(sp->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    sp->wake_ev = event_new(base, sp->wake[0], EV_READ | EV_PERSIST, on_wake, sp);
    event_add(sp->wake_ev, NULL);
    if (pthread_create(&sp->th, NULL, sync_main, sp) != 0) {
        snprintf(err, errlen, "cannot start the spool fsync thread");
        goto fail;
    }
    sp->thread_started = true;
    if (sp->st.unreleased)
        log_notice("spool: %" PRIu64 " records from an earlier run were not finished; "
                   "replaying them", sp->st.unreleased);
    return sp;
fail:
    spool_close(sp);
    return NULL;
}

void spool_close(struct spool *sp)
{
    if (sp == NULL)
        return;
    if (sp->thread_started) {
        pthread_mutex_lock(&sp->mu);
        sp->stop = true;
        pthread_cond_signal(&sp->cv);
        pthread_mutex_unlock(&sp->mu);
        pthread_join(sp->th, NULL);
    }
    if (sp->active && sp->active->fd >= 0 && spool_datasync(sp->active->fd) != 0)
        log_warn("spool: final fdatasync failed: %s", strerror(errno));
    /* Requests still waiting were never answered; their HTTP side is gone. */
    while (sp->wh) {
        struct waiter *w = sp->wh;
        sp->wh = w->next;
        free(w);
    }
    if (sp->wake_ev)
        event_free(sp->wake_ev);
    if (sp->wake[0] >= 0)
        close(sp->wake[0]);
    if (sp->wake[1] >= 0)
        close(sp->wake[1]);
    for (struct segment *s = sp->segs, *n; s; s = n) {
        n = s->next;
        seg_free(s);
    }
    if (sp->dirfd >= 0)
        close(sp->dirfd);
    pthread_mutex_destroy(&sp->mu);
    pthread_cond_destroy(&sp->cv);
    free(sp->spare);
    free(sp->res_buf);
    free(sp->req_buf);
    free(sp->aq);
    free(sp->dir);
    free(sp);
}

/* Copies the record into the segment's pending bytes (the fsync thread
 * writes them); a body is small next to the syscall this saves. */
static void buffer_record(struct spool *sp, struct segment *s, const struct spool_enc *e)
{
    if (s->pend == NULL && sp->spare != NULL) {
        s->pend = sp->spare;
        s->pend_cap = sp->spare_cap;
        sp->spare = NULL;
    }
    if (s->pend_len + e->total > s->pend_cap) {
        size_t cap = s->pend_cap ? s->pend_cap : 65536;
        while (cap < s->pend_len + e->total)
            cap *= 2;
        unsigned char *p = realloc(s->pend, cap);
        if (p == NULL)
            abort();
        s->pend = p;
        s->pend_cap = cap;
    }
    for (int i = 0; i < e->iovcnt; i++) {
        memcpy(s->pend + s->pend_len, e->iov[i].iov_base, e->iov[i].iov_len);
        s->pend_len += e->iov[i].iov_len;
    }
}

int spool_append(struct spool *sp, const char *source, const char *path, int64_t received_ms,
                 const char *body, size_t body_len, spool_synced_fn cb, void *arg,
                 uint64_t *id_out)
{
    uint64_t need = spool_rec_size(strlen(source), strlen(path), body_len);
    if (need > SPOOL_REC_MAX)
        return -EMSGSIZE;
    if (sp->bytes + atomic_load(&sp->extra) + need > sp->max_size) {
        sp->quota_hit = true;
        return -EDQUOT;
    }
    struct segment *s = sp->active;
    if (s->failed || (s->size + need > sp->seg_size && s->nrec > 0) || s->nrec == UINT32_MAX) {
        int e = rotate(sp);
        if (e)
            return e;
        s = sp->active;
    }
    uint64_t id = s->seq << 32 | s->nrec;
    struct spool_enc enc;
    int err = spool_rec_encode(&enc, s->salt, id, received_ms, source, path, body, body_len);
    if (err)
        return err;
    buffer_record(sp, s, &enc);
    struct waiter *w = malloc(sizeof(*w));
    if (w == NULL)
        abort();
    *w = (struct waiter){.seg = s, .end = s->size + enc.total, .id = id, .cb = cb, .arg = arg};
    if (sp->wt)
        sp->wt->next = w;
    else
        sp->wh = w;
    sp->wt = w;
    seg_note_received(s, s->nrec, received_ms);
    s->size += enc.total;
    s->nrec++;
    s->nvalid++;
    sp->bytes += enc.total;
    sp->st.appended++;
    sp->st.unreleased++;
    if (id_out)
        *id_out = id;
    kick(sp);
    return 0;
}

/* Moves the cursor to the next segment when the current one is exhausted,
 * and deletes what it leaves behind if that is finished. */
static void cursor_advance(struct spool *sp)
{
    bool moved = false;
    while (sp->rseg && !sp->rseg->active && sp->roff >= sp->rseg->size && sp->rseg->next) {
        sp->rseg = sp->rseg->next;
        sp->roff = SPOOL_SEG_HDR;
        sp->rmin = 0;
        moved = true;
    }
    if (moved)
        collect(sp);
}

bool spool_is_next(struct spool *sp, uint64_t id)
{
    cursor_advance(sp);
    if (sp->aq_len == 0 || sp->aq[sp->aq_head].id != id || sp->rseg == NULL)
        return false;
    return sp->rseg->seq == id >> 32 && sp->roff < sp->aq[sp->aq_head].end;
}

static void aq_drop_through(struct spool *sp, const struct segment *seg, uint64_t off)
{
    while (sp->aq_len) {
        struct acked *a = &sp->aq[sp->aq_head];
        if ((a->id >> 32) > seg->seq || ((a->id >> 32) == seg->seq && a->end > off))
            break;
        sp->aq_head = (sp->aq_head + 1) % ACKED_QUEUE_MAX;
        sp->aq_len--;
    }
}

uint64_t spool_take(struct spool *sp, uint64_t id)
{
    if (!spool_is_next(sp, id))
        return 0;
    uint64_t size = sp->aq[sp->aq_head].end - sp->roff;
    sp->roff = sp->aq[sp->aq_head].end;
    sp->rmin = (uint32_t)id + 1;
    aq_drop_through(sp, sp->rseg, sp->roff);
    return size;
}

int spool_next(struct spool *sp, struct spool_rec *rec, void **buf)
{
    for (;;) {
        cursor_advance(sp);
        struct segment *s = sp->rseg;
        if (s == NULL || sp->roff >= s->readable)
            return 0;
        long n = spool_read_record(s, sp->roff, s->readable, rec, buf);
        if (n > 0 && (uint32_t)rec->id < sp->rmin) {
            /* an intact record out of order (a stale copy): damage, as the scan saw it */
            free(*buf);
            *buf = NULL;
            n = -1;
        }
        if (n <= 0) {
            uint64_t next = spool_resync(s, sp->roff, s->readable, sp->rmin);
            log_error("spool: unreadable record in segment %016" PRIx64 " at offset %" PRIu64
                      "; skipping %" PRIu64 " bytes", s->seq, sp->roff, next - sp->roff);
            sp->st.corrupt++;
            sp->roff = next;
            continue;
        }
        sp->roff += (uint64_t)n;
        rec->size = (uint64_t)n;
        sp->rmin = (uint32_t)rec->id + 1;
        aq_drop_through(sp, s, sp->roff);
        if (seg_is_released(s, (uint32_t)rec->id)) {
            free(*buf);
            *buf = NULL;
            continue;
        }
        return 1;
    }
}

void spool_release(struct spool *sp, uint64_t id)
{
    for (struct segment *s = sp->segs; s; s = s->next) {
        if (s->seq != id >> 32)
            continue;
        if (release_index(sp, s, (uint32_t)id)) {
            sp->st.released++;
            if (!s->active && s->nreleased >= s->nvalid)
                collect(sp);
        }
        return;
    }
}

void spool_get_stats(struct spool *sp, struct spool_stats *st)
{
    *st = sp->st;
    st->bytes = sp->bytes;
    st->extra_bytes = atomic_load(&sp->extra);
}

void spool_set_extra_bytes(struct spool *sp, uint64_t bytes)
{
    if (sp)
        atomic_store(&sp->extra, bytes);
}

int64_t spool_oldest_unreleased_ms(struct spool *sp)
{
    for (struct segment *s = sp->segs; s; s = s->next) {
        /* Releases only add bits, so the hint only moves forward. */
        while (s->first_unrel < s->nrec && seg_is_released(s, s->first_unrel))
            s->first_unrel++;
        if (s->first_unrel < s->nrec)
            return s->first_unrel < s->rcv_cap ? s->rcv[s->first_unrel] : 0;
    }
    return 0;
}

bool spool_full(struct spool *sp)
{
    return sp->quota_hit || sp->bytes + atomic_load(&sp->extra) + 4096 > sp->max_size;
}
