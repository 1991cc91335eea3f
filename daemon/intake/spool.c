#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <event2/event.h>

#include "log.h"

#define REC_MAGIC 0x31445041u   /* "APD1" */
#define REC_HDR 40
#define ACKED_QUEUE_MAX 65536

struct segment {
    uint64_t seq;
    int fd, ackfd;
    uint64_t size;       /* bytes of valid records */
    uint64_t synced;     /* bytes known durable */
    uint64_t acked;      /* bytes whose append callbacks have fired: readable */
    uint32_t nrec;       /* next record index */
    uint32_t nvalid;     /* records present (replay may skip corrupt ones) */
    uint32_t nreleased;
    uint8_t *bits;
    size_t bits_len;
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
    /* read cursor */
    struct segment *rseg;
    uint64_t roff;
    /* durable records not yet taken, for spool_is_next (bounded ring) */
    struct acked *aq;
    size_t aq_head, aq_len;
    /* append waiters, in order */
    struct waiter *wh, *wt;
    /* fsync thread */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool thread_started, stop, req_pending, busy, dirsync;
    int req_fd;
    struct segment *req_seg;
    uint64_t req_off;
    bool res_ready;
    struct segment *res_seg;
    uint64_t res_off;
    int res_err;
    int wake[2];
    struct event *wake_ev;
    struct spool_stats st;
};

static void put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get_u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

long spool_decode(const void *buf, size_t len, struct spool_rec *rec)
{
    const unsigned char *p = buf;
    if (len < REC_HDR)
        return 0;
    if (get_u32(p) != REC_MAGIC)
        return -1;
    uint32_t total = get_u32(p + 4);
    if (total < REC_HDR + 2 || total > (1u << 30))
        return -1;
    if (len < total)
        return 0;
    uint32_t crc = (uint32_t)crc32(0, p + 12, total - 12);
    if (crc != get_u32(p + 8))
        return -1;
    uint16_t sl, pl;
    memcpy(&sl, p + 32, 2);
    memcpy(&pl, p + 34, 2);
    uint32_t bl = get_u32(p + 36);
    /* each string is followed by a NUL inside the record */
    if ((uint64_t)REC_HDR + sl + 1 + pl + 1 + bl + 1 != total)
        return -1;
    const char *s = (const char *)p + REC_HDR;
    if (s[sl] != '\0' || s[sl + 1 + pl] != '\0' || s[sl + 1 + pl + 1 + bl] != '\0')
        return -1;
    rec->id = get_u64(p + 16);
    rec->received_ms = (int64_t)get_u64(p + 24);
    rec->source = s;
    rec->path = s + sl + 1;
    rec->body = s + sl + 1 + pl + 1;
    rec->body_len = bl;
    return (long)total;
}

static char *seg_path(const struct spool *sp, uint64_t seq, const char *ext)
{
    char *p;
    if (asprintf(&p, "%s/%016" PRIx64 ".%s", sp->dir, seq, ext) < 0)
        abort();
    return p;
}

static void mark_released(struct segment *s, uint32_t idx)
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

static bool is_released(const struct segment *s, uint32_t idx)
{
    size_t byte = idx / 8;
    return byte < s->bits_len && (s->bits[byte] >> (idx % 8)) & 1;
}

/* ---- the fsync thread ---- */

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
        uint64_t off = sp->req_off;
        bool dirsync = sp->dirsync;
        sp->dirsync = false;
        sp->req_pending = false;
        sp->busy = true;
        pthread_mutex_unlock(&sp->mu);

        int err = fdatasync(fd) == 0 ? 0 : -errno;
        if (err == 0 && dirsync && fsync(sp->dirfd) != 0)
            err = -errno;

        pthread_mutex_lock(&sp->mu);
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

/* Asks the thread to sync up to the last waiter of the oldest segment that
 * has waiters; one request at a time, so requests batch naturally. */
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
        sp->req_pending = true;
        pthread_cond_signal(&sp->cv);
    }
    pthread_mutex_unlock(&sp->mu);
}

static void aq_push(struct spool *sp, uint64_t id, uint64_t end)
{
    if (sp->aq_len == ACKED_QUEUE_MAX) {
        /* Far behind: the reader will find the records on disk anyway. */
        sp->aq_head = (sp->aq_head + 1) % ACKED_QUEUE_MAX;
        sp->aq_len--;
    }
    sp->aq[(sp->aq_head + sp->aq_len) % ACKED_QUEUE_MAX] = (struct acked){id, end};
    sp->aq_len++;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct spool *sp = arg;
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&sp->mu);
    bool ready = sp->res_ready;
    struct segment *seg = sp->res_seg;
    uint64_t off = sp->res_off;
    int err = sp->res_err;
    sp->res_ready = false;
    pthread_mutex_unlock(&sp->mu);
    if (!ready)
        return;
    sp->st.fsyncs++;
    if (err) {
        /* After a failed fsync the page cache may have dropped our data
         * (it is not retried by the kernel): nothing written to this segment
         * since the last good sync can be vouched for. */
        log_error("spool: fsync of segment %016" PRIx64 " failed (%s); the %s requests waiting "
                  "on it get 503 and will be retried by their platforms; new records go to a "
                  "new segment", seg->seq, strerror(-err), "pending");
        seg->failed = true;
        sp->st.write_errors++;
    } else if (off > seg->synced) {
        seg->synced = off;
    }
    while (sp->wh && sp->wh->seg == seg && (err || sp->wh->end <= off)) {
        struct waiter *w = sp->wh;
        sp->wh = w->next;
        if (sp->wh == NULL)
            sp->wt = NULL;
        if (!err) {
            seg->acked = w->end;
            aq_push(sp, w->id, w->end);
        }
        w->cb(w->arg, w->id, err ? -EIO : 0);
        free(w);
    }
    kick(sp);
}

/* ---- segments ---- */

static void seg_free(struct segment *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->ackfd >= 0)
        close(s->ackfd);
    free(s->bits);
    free(s);
}

static struct segment *seg_create(struct spool *sp, uint64_t seq, int *err)
{
    char *p = seg_path(sp, seq, "seg"), *a = seg_path(sp, seq, "ack");
    struct segment *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->seq = seq;
    s->fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    s->ackfd = s->fd < 0 ? -1 : open(a, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (s->fd < 0 || s->ackfd < 0) {
        *err = -errno;
        log_error("spool: cannot create %s: %s", s->fd < 0 ? p : a, strerror(errno));
        if (s->fd >= 0)
            unlink(p);
        seg_free(s);
        s = NULL;
    } else {
        s->active = true;
        pthread_mutex_lock(&sp->mu);
        sp->dirsync = true;    /* the new file name must survive a crash too */
        pthread_mutex_unlock(&sp->mu);
    }
    free(p);
    free(a);
    return s;
}

static void seg_append_list(struct spool *sp, struct segment *s)
{
    struct segment **pp = &sp->segs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = s;
    sp->st.segments++;
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
        sp->roff = 0;
    }
    return 0;
}

/* Deletes fully released segments the cursor has left behind. */
static void collect(struct spool *sp)
{
    struct segment **pp = &sp->segs;
    while (*pp) {
        struct segment *s = *pp;
        bool busy_sync;
        pthread_mutex_lock(&sp->mu);
        busy_sync = (sp->busy || sp->req_pending || sp->res_ready) &&
                    (sp->req_seg == s || sp->res_seg == s);
        pthread_mutex_unlock(&sp->mu);
        if (s->active || s == sp->rseg || s->nreleased < s->nvalid || busy_sync) {
            pp = &s->next;
            continue;
        }
        bool waited = false;
        for (struct waiter *w = sp->wh; w; w = w->next)
            waited |= w->seg == s;
        if (waited) {
            pp = &s->next;
            continue;
        }
        char *p = seg_path(sp, s->seq, "seg"), *a = seg_path(sp, s->seq, "ack");
        unlink(p);
        unlink(a);
        free(p);
        free(a);
        sp->bytes -= s->size;
        sp->st.segments--;
        *pp = s->next;
        seg_free(s);
    }
}

/* ---- replay scan ---- */

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Reads the record at off; returns its length, 0 at a clean end, -1 if
 * corrupt or torn.  *out is a malloc'd buffer holding it. */
static long read_record(int fd, uint64_t off, uint64_t size, struct spool_rec *rec, void **out)
{
    unsigned char hdr[REC_HDR];
    if (off >= size)
        return 0;
    if (size - off < REC_HDR || read_at(fd, hdr, REC_HDR, off) != 0)
        return -1;
    uint32_t total = get_u32(hdr + 4);
    if (get_u32(hdr) != REC_MAGIC || total < REC_HDR || total > size - off)
        return -1;
    unsigned char *buf = malloc(total);
    if (buf == NULL)
        abort();
    if (read_at(fd, buf, total, off) != 0 || spool_decode(buf, total, rec) != (long)total) {
        free(buf);
        return -1;
    }
    *out = buf;
    return (long)total;
}

/* After a corrupt record: the offset of the next valid one, or size. */
static uint64_t resync(int fd, uint64_t off, uint64_t size)
{
    unsigned char magic[4];
    put_u32(magic, REC_MAGIC);
    for (uint64_t o = off + 1; o + REC_HDR <= size; o++) {
        unsigned char m[4];
        if (read_at(fd, m, 4, o) != 0)
            break;
        if (memcmp(m, magic, 4) != 0)
            continue;
        struct spool_rec r;
        void *b = NULL;
        if (read_record(fd, o, size, &r, &b) > 0) {
            free(b);
            return o;
        }
    }
    return size;
}

static void load_acks(struct spool *sp, struct segment *s)
{
    char *a = seg_path(sp, s->seq, "ack");
    int fd = open(a, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        uint32_t idx[1024];
        ssize_t n;
        while ((n = read(fd, idx, sizeof(idx))) > 0)
            for (ssize_t i = 0; i < n / 4; i++)
                if (idx[i] < s->nrec && !is_released(s, idx[i])) {
                    mark_released(s, idx[i]);
                    s->nreleased++;
                }
        close(fd);
    }
    s->ackfd = open(a, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    free(a);
}

static void scan_segment(struct spool *sp, struct segment *s)
{
    struct stat stt;
    fstat(s->fd, &stt);
    uint64_t size = (uint64_t)stt.st_size, off = 0;
    while (off < size) {
        struct spool_rec r;
        void *buf = NULL;
        long n = read_record(s->fd, off, size, &r, &buf);
        if (n > 0) {
            uint32_t idx = (uint32_t)r.id;
            if (idx + 1 > s->nrec)
                s->nrec = idx + 1;
            s->nvalid++;
            free(buf);
            off += (uint64_t)n;
            continue;
        }
        uint64_t next = resync(s->fd, off, size);
        if (next >= size) {
            log_warn("spool: segment %016" PRIx64 " ends in %" PRIu64 " bytes of an unfinished "
                     "record (a crash during a write that was never acknowledged); truncating",
                     s->seq, size - off);
            if (ftruncate(s->fd, (off_t)off) != 0)
                log_error("spool: cannot truncate segment %016" PRIx64 ": %s", s->seq,
                          strerror(errno));
            size = off;
            break;
        }
        log_error("spool: segment %016" PRIx64 " has %" PRIu64 " corrupt bytes at offset %"
                  PRIu64 "; skipping them and continuing with the next intact record",
                  s->seq, next - off, off);
        sp->st.corrupt++;
        off = next;
    }
    s->size = s->synced = s->acked = size;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int scan_dir(struct spool *sp, uint64_t *maxseq, char *err, size_t errlen)
{
    DIR *d = opendir(sp->dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot read spool directory %s: %s", sp->dir, strerror(errno));
        return -1;
    }
    uint64_t *seqs = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq;
        char ext[8];
        if (sscanf(de->d_name, "%16" SCNx64 ".%3s", &seq, ext) == 2 && strcmp(ext, "seg") == 0 &&
            strlen(de->d_name) == 20) {
            seqs = realloc(seqs, (n + 1) * sizeof(*seqs));
            seqs[n++] = seq;
        }
    }
    closedir(d);
    if (n)
        qsort(seqs, n, sizeof(*seqs), cmp_u64);
    *maxseq = 0;
    for (size_t i = 0; i < n; i++) {
        char *p = seg_path(sp, seqs[i], "seg");
        struct segment *s = calloc(1, sizeof(*s));
        s->seq = seqs[i];
        s->ackfd = -1;
        s->fd = open(p, O_RDWR | O_CLOEXEC);
        free(p);
        if (s->fd < 0) {
            snprintf(err, errlen, "cannot open spool segment %016" PRIx64 ": %s", seqs[i],
                     strerror(errno));
            seg_free(s);
            free(seqs);
            return -1;
        }
        scan_segment(sp, s);
        load_acks(sp, s);
        *maxseq = seqs[i];
        sp->bytes += s->size;
        sp->st.unreleased += s->nvalid - s->nreleased;
        seg_append_list(sp, s);
    }
    free(seqs);
    return 0;
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
    if (scan_dir(sp, &maxseq, err, errlen) != 0)
        goto fail;
    sp->rseg = sp->segs;
    sp->roff = 0;
    collect(sp);
    sp->rseg = sp->segs;
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
    if (sp->active && sp->active->fd >= 0)
        fdatasync(sp->active->fd);
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
    free(sp->aq);
    free(sp->dir);
    free(sp);
}

static unsigned char *encode(uint64_t id, const char *source, const char *path,
                             int64_t received_ms, const char *body, size_t blen, uint32_t *total)
{
    size_t sl = strlen(source), pl = strlen(path);
    if (sl > 65535 || pl > 65535 || blen > (1u << 30) - 70000)
        return NULL;
    *total = (uint32_t)(REC_HDR + sl + 1 + pl + 1 + blen + 1);
    unsigned char *b = malloc(*total);
    if (b == NULL)
        abort();
    put_u32(b, REC_MAGIC);
    put_u32(b + 4, *total);
    put_u32(b + 12, 0);
    put_u64(b + 16, id);
    put_u64(b + 24, (uint64_t)received_ms);
    uint16_t s16 = (uint16_t)sl, p16 = (uint16_t)pl;
    memcpy(b + 32, &s16, 2);
    memcpy(b + 34, &p16, 2);
    put_u32(b + 36, (uint32_t)blen);
    char *o = (char *)b + REC_HDR;
    memcpy(o, source, sl + 1);
    memcpy(o + sl + 1, path, pl + 1);
    if (blen)
        memcpy(o + sl + 1 + pl + 1, body, blen);
    o[sl + 1 + pl + 1 + blen] = '\0';
    put_u32(b + 8, (uint32_t)crc32(0, b + 12, *total - 12));
    return b;
}

int spool_append(struct spool *sp, const char *source, const char *path, int64_t received_ms,
                 const char *body, size_t body_len, spool_synced_fn cb, void *arg,
                 uint64_t *id_out)
{
    struct segment *s = sp->active;
    size_t need = REC_HDR + strlen(source) + strlen(path) + body_len + 3;
    if (sp->bytes + need > sp->max_size)
        return -EDQUOT;
    if (s->failed || (s->size + need > sp->seg_size && s->nrec > 0)) {
        int e = rotate(sp);
        if (e)
            return e;
        s = sp->active;
    }
    uint64_t id = s->seq << 32 | s->nrec;
    uint32_t total;
    unsigned char *rec = encode(id, source, path, received_ms, body, body_len, &total);
    if (rec == NULL)
        return -EMSGSIZE;
    size_t done = 0;
    int err = 0;
    while (done < total) {
        ssize_t n = pwrite(s->fd, rec + done, total - done, (off_t)(s->size + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? -errno : -ENOSPC;
            break;
        }
        done += (size_t)n;
    }
    free(rec);
    if (err) {
        sp->st.write_errors++;
        if (ftruncate(s->fd, (off_t)s->size) != 0)
            s->failed = true;   /* cannot take back the partial write: start afresh */
        return err;
    }
    struct waiter *w = calloc(1, sizeof(*w));
    w->seg = s;
    w->end = s->size + total;
    w->id = id;
    w->cb = cb;
    w->arg = arg;
    if (sp->wt)
        sp->wt->next = w;
    else
        sp->wh = w;
    sp->wt = w;
    s->size += total;
    s->nrec++;
    s->nvalid++;
    sp->bytes += total;
    sp->st.appended++;
    sp->st.unreleased++;
    if (id_out)
        *id_out = id;
    kick(sp);
    return 0;
}

/* Moves the cursor to the next segment when the current one is exhausted. */
static void cursor_advance(struct spool *sp)
{
    while (sp->rseg && !sp->rseg->active && sp->roff >= sp->rseg->size && sp->rseg->next) {
        sp->rseg = sp->rseg->next;
        sp->roff = 0;
    }
}

bool spool_is_next(struct spool *sp, uint64_t id)
{
    cursor_advance(sp);
    if (sp->aq_len == 0 || sp->aq[sp->aq_head].id != id || sp->rseg == NULL)
        return false;
    return sp->rseg->seq == id >> 32 && sp->roff < sp->aq[sp->aq_head].end;
}

static void aq_drop_through(struct spool *sp, struct segment *seg, uint64_t off)
{
    while (sp->aq_len) {
        struct acked *a = &sp->aq[sp->aq_head];
        if ((a->id >> 32) > seg->seq || ((a->id >> 32) == seg->seq && a->end > off))
            break;
        sp->aq_head = (sp->aq_head + 1) % ACKED_QUEUE_MAX;
        sp->aq_len--;
    }
}

void spool_take(struct spool *sp, uint64_t id)
{
    if (!spool_is_next(sp, id))
        return;
    sp->roff = sp->aq[sp->aq_head].end;
    aq_drop_through(sp, sp->rseg, sp->roff);
}

int spool_next(struct spool *sp, struct spool_rec *rec, void **buf)
{
    for (;;) {
        cursor_advance(sp);
        struct segment *s = sp->rseg;
        if (s == NULL || sp->roff >= s->acked)
            return 0;
        long n = read_record(s->fd, sp->roff, s->acked, rec, buf);
        if (n < 0) {
            uint64_t next = resync(s->fd, sp->roff, s->acked);
            log_error("spool: unreadable record in segment %016" PRIx64 " at offset %" PRIu64
                      "; skipping %" PRIu64 " bytes", s->seq, sp->roff, next - sp->roff);
            sp->st.corrupt++;
            sp->roff = next;
            continue;
        }
        if (n == 0)
            return 0;
        sp->roff += (uint64_t)n;
        aq_drop_through(sp, s, sp->roff);
        if ((rec->id >> 32) != s->seq || is_released(s, (uint32_t)rec->id)) {
            free(*buf);
            *buf = NULL;
            continue;
        }
        return 1;
    }
}

void spool_release(struct spool *sp, uint64_t id)
{
    uint64_t seq = id >> 32;
    uint32_t idx = (uint32_t)id;
    for (struct segment *s = sp->segs; s; s = s->next) {
        if (s->seq != seq)
            continue;
        if (idx >= s->nrec || is_released(s, idx))
            return;
        mark_released(s, idx);
        s->nreleased++;
        sp->st.released++;
        sp->st.unreleased--;
        /* Not fsync'd: losing an ack in a crash only means a harmless replay
         * (consumers and the dedup keys drop the repeat). */
        if (s->ackfd >= 0 && write(s->ackfd, &idx, 4) != 4)
            log_warn("spool: cannot record release of %016" PRIx64 ": %s; it will be replayed "
                     "after a restart", id, strerror(errno));
        if (!s->active && s->nreleased >= s->nvalid)
            collect(sp);
        return;
    }
}

void spool_get_stats(struct spool *sp, struct spool_stats *st)
{
    *st = sp->st;
    st->bytes = sp->bytes;
}

bool spool_full(struct spool *sp)
{
    return sp->bytes + 4096 > sp->max_size;
}
