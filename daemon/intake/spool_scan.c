/* Reading the spool back: records at an offset, resynchronising after
 * damage, and the scan of what an earlier run left (see spool.h for what is
 * cut, skipped or set aside, and spool_format.h for the bytes). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool_format.h"
#include "spool_int.h"

#define RESYNC_CHUNK 65536

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

/* Reads the record at off (below limit).  Returns its length with *out a
 * malloc'd buffer holding it, 0 when off >= limit, -1 when the bytes there are
 * not an intact record of this segment. */
long spool_read_record(const struct segment *s, uint64_t off, uint64_t limit,
                        struct spool_rec *rec, void **out)
{
    unsigned char hdr[SPOOL_REC_HDR];
    if (off >= limit)
        return 0;
    if (limit - off < SPOOL_REC_HDR || read_at(s->fd, hdr, sizeof(hdr), off) != 0)
        return -1;
    uint32_t total;
    memcpy(&total, hdr + 4, 4);
    if (total < SPOOL_REC_HDR || total > SPOOL_REC_MAX || total > limit - off)
        return -1;
    unsigned char *buf = malloc(total);
    if (buf == NULL)
        abort();
    if (read_at(s->fd, buf, total, off) != 0 ||
        spool_rec_decode(buf, total, s->salt, rec) != (long)total || rec->id >> 32 != s->seq) {
        free(buf);
        return -1;
    }
    *out = buf;
    return (long)total;
}

static bool intact_at(const struct segment *s, uint64_t off, uint64_t limit, uint32_t min_idx)
{
    struct spool_rec r;
    void *b = NULL;
    long n = spool_read_record(s, off, limit, &r, &b);
    free(b);
    return n > 0 && (uint32_t)r.id >= min_idx;
}

/* After damage at off: the offset of the next intact record, or limit. */
uint64_t spool_resync(const struct segment *s, uint64_t off, uint64_t limit, uint32_t min_idx)
{
    static const unsigned char magic[4] = {'A', 'P', 'D', '1'};
    unsigned char *chunk = malloc(RESYNC_CHUNK);
    if (chunk == NULL)
        abort();
    uint64_t pos = off + 1, found = limit;
    while (pos + SPOOL_REC_HDR <= limit && found == limit) {
        size_t n = (size_t)(limit - pos < RESYNC_CHUNK ? limit - pos : RESYNC_CHUNK);
        if (read_at(s->fd, chunk, n, pos) != 0)
            break;
        for (size_t i = 0; i + 4 <= n; i++) {
            unsigned char *m = memchr(chunk + i, magic[0], n - i);
            if (m == NULL)
                break;
            i = (size_t)(m - chunk);
            if (i + 4 <= n && memcmp(m, magic, 4) == 0 && intact_at(s, pos + i, limit, min_idx)) {
                found = pos + i;
                break;
            }
        }
        if (n < 4)
            break;
        pos += n - 3;   /* overlap: a magic split across two chunks */
    }
    free(chunk);
    return found;
}

/* ---- the scan at start ---- */

static void load_acks(struct spool *sp, struct segment *s)
{
    char *a = spool_seg_path(sp, s->seq, "ack");
    s->ackfd = open(a, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (s->ackfd < 0) {
        log_error("spool: cannot open release log %s: %s; its records are replayed", a,
                  strerror(errno));
        free(a);
        return;
    }
    unsigned char buf[SPOOL_ACK_ENTRY * 512];
    uint64_t off = 0, bad = 0;
    ssize_t n;
    while ((n = pread(s->ackfd, buf, sizeof(buf), (off_t)off)) > 0) {
        size_t whole = (size_t)n - (size_t)n % SPOOL_ACK_ENTRY;
        for (size_t i = 0; i < whole; i += SPOOL_ACK_ENTRY) {
            uint32_t idx;
            if (!spool_ack_decode(buf + i, &idx) || idx >= s->nrec)
                bad++;
            else if (!seg_is_released(s, idx)) {
                seg_set_released(s, idx);
                s->nreleased++;
            }
        }
        off += whole;
        if (whole < (size_t)n)
            break;
    }
    /* A crash can cut the last entry; later appends must stay aligned. */
    struct stat st;
    if (fstat(s->ackfd, &st) == 0 && (uint64_t)st.st_size != off &&
        ftruncate(s->ackfd, (off_t)off) != 0)
        log_warn("spool: cannot trim the torn end of %s: %s", a, strerror(errno));
    if (bad)
        log_warn("spool: %s holds %" PRIu64 " damaged entries (a crash while it was written); "
                 "the records they named are replayed", a, bad);
    free(a);
}

/* Walks a segment's records, skipping damage and cutting a torn tail.
 * Indexes lost to damage count as present and released, so that the
 * segment's counts stay exact (a release logged for a record that is now
 * damaged must not make a segment with live records look finished). */
static void scan_segment(struct spool *sp, struct segment *s, uint64_t size)
{
    uint64_t off = SPOOL_SEG_HDR;
    while (off < size) {
        struct spool_rec r;
        void *buf = NULL;
        long n = spool_read_record(s, off, size, &r, &buf);
        free(buf);
        if (n > 0 && (uint32_t)r.id >= s->nrec) {
            for (uint32_t lost = s->nrec; lost < (uint32_t)r.id; lost++) {
                seg_set_released(s, lost);
                s->nreleased++;
            }
            seg_note_received(s, (uint32_t)r.id, r.received_ms);
            s->nrec = (uint32_t)r.id + 1;
            s->nvalid = s->nrec;
            off += (uint64_t)n;
            continue;
        }
        uint64_t next = spool_resync(s, off, size, s->nrec);
        if (next >= size) {
            log_warn("spool: segment %016" PRIx64 " ends in %" PRIu64 " bytes of an unfinished "
                     "record (cut off by a crash before it was acknowledged); truncating",
                     s->seq, size - off);
            if (ftruncate(s->fd, (off_t)off) != 0)
                log_error("spool: cannot truncate segment %016" PRIx64 ": %s", s->seq,
                          strerror(errno));
            size = off;
            break;
        }
        log_error("spool: segment %016" PRIx64 " has %" PRIu64 " damaged bytes at offset %"
                  PRIu64 "; a record there is lost, continuing with the next intact one",
                  s->seq, next - off, off);
        sp->st.corrupt++;
        off = next;
    }
    s->size = s->readable = size;
}

/* Opens one segment left by an earlier run; NULL when it is unusable (then
 * it is set aside or removed, and the reason logged). */
static struct segment *seg_open_existing(struct spool *sp, uint64_t seq, char *err,
                                         size_t errlen, bool *fatal)
{
    char *p = spool_seg_path(sp, seq, "seg");
    struct segment *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->seq = seq;
    s->ackfd = -1;
    s->fd = open(p, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (s->fd < 0 || fstat(s->fd, &st) != 0) {
        snprintf(err, errlen, "cannot open spool segment %s: %s", p, strerror(errno));
        *fatal = true;
        goto fail;
    }
    unsigned char hdr[SPOOL_SEG_HDR];
    uint64_t hseq = 0;
    if ((uint64_t)st.st_size < SPOOL_SEG_HDR) {
        /* Created, never synced: it cannot hold an acknowledged record. */
        log_notice("spool: removing %s, a segment created just before a crash (%lld bytes)", p,
                   (long long)st.st_size);
        unlink(p);
        goto fail;
    }
    if (read_at(s->fd, hdr, sizeof(hdr), 0) != 0 ||
        spool_seg_header_decode(hdr, sizeof(hdr), &hseq, &s->salt) != 0 || hseq != seq) {
        char *bad = spool_seg_path(sp, seq, "bad");
        log_error("spool: %s has a damaged header; moved to %s for inspection, its records "
                  "are not replayed", p, bad);
        if (rename(p, bad) != 0)
            log_error("spool: cannot move %s aside: %s", p, strerror(errno));
        free(bad);
        goto fail;
    }
    scan_segment(sp, s, (uint64_t)st.st_size);
    load_acks(sp, s);
    free(p);
    return s;
fail:
    free(p);
    seg_free(s);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Segment names in the directory (sorted) and stray release logs removed. */
static int list_segments(struct spool *sp, uint64_t **out, size_t *nout, char *err,
                         size_t errlen)
{
    DIR *d = opendir(sp->dir);
    if (d == NULL) {
        snprintf(err, errlen, "cannot read spool directory %s: %s", sp->dir, strerror(errno));
        return -1;
    }
    uint64_t *seqs = NULL, *acks = NULL;
    size_t n = 0, na = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq;
        char ext[8];
        if (strlen(de->d_name) != 20 ||
            sscanf(de->d_name, "%16" SCNx64 ".%3s", &seq, ext) != 2)
            continue;
        if (strcmp(ext, "seg") == 0) {
            seqs = realloc(seqs, (n + 1) * sizeof(*seqs));
            seqs[n++] = seq;
        } else if (strcmp(ext, "ack") == 0) {
            acks = realloc(acks, (na + 1) * sizeof(*acks));
            acks[na++] = seq;
        }
    }
    closedir(d);
    if (n)
        qsort(seqs, n, sizeof(*seqs), cmp_u64);
    for (size_t i = 0; i < na; i++)
        if (n == 0 || bsearch(&acks[i], seqs, n, sizeof(*seqs), cmp_u64) == NULL) {
            char *a = spool_seg_path(sp, acks[i], "ack");
            unlink(a);
            free(a);
        }
    free(acks);
    *out = seqs;
    *nout = n;
    return 0;
}

int spool_scan_dir(struct spool *sp, uint64_t *maxseq, char *err, size_t errlen)
{
    uint64_t *seqs;
    size_t n;
    if (list_segments(sp, &seqs, &n, err, errlen) != 0)
        return -1;
    *maxseq = 0;
    for (size_t i = 0; i < n; i++) {
        bool fatal = false;
        *maxseq = seqs[i];
        struct segment *s = seg_open_existing(sp, seqs[i], err, errlen, &fatal);
        if (s == NULL) {
            if (fatal) {
                free(seqs);
                return -1;
            }
            continue;
        }
        sp->bytes += s->size;
        sp->st.unreleased += s->nvalid - s->nreleased;
        seg_append_list(sp, s);
    }
    free(seqs);
    return 0;
}

