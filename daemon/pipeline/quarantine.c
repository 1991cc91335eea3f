#include "quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sbuf.h"
#include "spool.h"
#include "units.h"

#define Q_MAX_FILES 100
/* Lines waiting for the thread; past this a line is dropped (it is logged). */
#define Q_MAX_QUEUED (8u << 20)

struct qline {
    struct qline *next;
    uint64_t file_max;
    unsigned keep;
    size_t len;
    char text[];
};

struct quarantine {
    char *dir;
    struct spool *sp;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct qline *head, *tail;
    size_t queued;
    bool stop;
    /* sizes: [0] quarantine.jsonl, [i] quarantine.jsonl.i; thread only after open */
    uint64_t size[Q_MAX_FILES + 1];
};

static void base64(struct sbuf *b, const unsigned char *p, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char o[4] = {t[v >> 18 & 63], t[v >> 12 & 63], i + 1 < n ? t[v >> 6 & 63] : '=',
                     i + 2 < n ? t[v & 63] : '='};
        sbuf_add(b, o, 4);
    }
}

static char *qpath(const char *dir, unsigned i)
{
    char *p = NULL;
    int n = i ? asprintf(&p, "%s/quarantine.jsonl.%u", dir, i)
              : asprintf(&p, "%s/quarantine.jsonl", dir);
    if (n < 0)
        abort();
    return p;
}

static void account(struct quarantine *q)
{
    uint64_t t = 0;
    for (unsigned i = 0; i <= Q_MAX_FILES; i++)
        t += q->size[i];
    spool_set_extra_bytes(q->sp, t);
}

/* quarantine.jsonl becomes .1, .1 becomes .2, ...; what falls past keep
 * (and any older copy a larger keep left) is deleted. */
static void rotate(struct quarantine *q, unsigned keep)
{
    for (unsigned i = Q_MAX_FILES; i >= keep && i > 0; i--) {
        if (q->size[i] == 0 && i > keep)
            continue;
        char *p = qpath(q->dir, i);
        if (unlink(p) == 0 || errno == ENOENT)
            q->size[i] = 0;
        free(p);
    }
    for (unsigned i = keep; i > 0; i--) {
        char *from = qpath(q->dir, i - 1), *to = qpath(q->dir, i);
        if (rename(from, to) == 0) {
            q->size[i] = q->size[i - 1];
            q->size[i - 1] = 0;
        }
        free(from);
        free(to);
    }
    log_info("quarantine: %s/quarantine.jsonl reached [spool] quarantine_max_size; rotated, "
             "%u older files kept", q->dir, keep);
}

static void write_batch(struct quarantine *q, struct qline *l)
{
    char *path = qpath(q->dir, 0);
    int fd = -1;
    for (; l; l = l->next) {
        if (q->size[0] > 0 && q->size[0] + l->len > l->file_max) {
            if (fd >= 0 && fdatasync(fd) != 0)
                log_error("quarantine: cannot sync %s: %s", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            fd = -1;
            rotate(q, l->keep);
        }
        if (fd < 0)
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, l->text, l->len) != (ssize_t)l->len)
            log_error("quarantine: cannot write %s (%s); this event is only in this log "
                      "line: %.*s", path, strerror(errno), (int)(l->len > 2048 ? 2048 : l->len),
                      l->text);
        else
            q->size[0] += l->len;
    }
    if (fd >= 0 && fdatasync(fd) != 0)
        log_error("quarantine: cannot sync %s: %s; its last lines may be lost in a crash",
                  path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(path);
    account(q);
}

static void *q_main(void *arg)
{
    struct quarantine *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->head == NULL && !q->stop)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->head == NULL)
            break;
        struct qline *batch = q->head;
        q->head = q->tail = NULL;
        q->queued = 0;
        pthread_mutex_unlock(&q->mu);
        write_batch(q, batch);
        while (batch) {
            struct qline *n = batch->next;
            free(batch);
            batch = n;
        }
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

static void measure(struct quarantine *q)
{
    for (unsigned i = 0; i <= Q_MAX_FILES; i++) {
        char *p = qpath(q->dir, i);
        struct stat st;
        q->size[i] = stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
        free(p);
    }
    account(q);
}

struct quarantine *quarantine_open(const char *dir, struct spool *sp)
{
    struct quarantine *q = calloc(1, sizeof(*q));
    if (q == NULL || (q->dir = strdup(dir)) == NULL)
        abort();
    q->sp = sp;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    measure(q);
    if (pthread_create(&q->th, NULL, q_main, q) != 0) {
        log_error("quarantine: cannot start its writer thread; quarantined events are "
                  "written on the event loop");
        q->stop = true;
    }
    return q;
}

void quarantine_close(struct quarantine *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->mu);
    bool running = !q->stop;
    q->stop = true;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (running)
        pthread_join(q->th, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->dir);
    free(q);
}

static void format_line(struct sbuf *b, uint64_t rec_id, const char *source,
                        const char *reason, const char *body, size_t len)
{
    struct jw w;
    char ts[48], id[24];
    format_iso8601(now_ms(), NULL, ts, sizeof(ts));
    snprintf(id, sizeof(id), "%016" PRIx64, rec_id);
    jw_init(&w, b);
    jw_obj(&w);
    jw_kstr(&w, "at", ts);
    jw_kstr(&w, "record", id);
    jw_kstr(&w, "source", source);
    jw_kstr(&w, "reason", reason);
    if (body) {
        jw_key(&w, "body_text");   /* lossy: invalid bytes shown as U+FFFD */
        jw_strn(&w, body, len);
        jw_key(&w, "body_base64");
        sbuf_addc(b, '"');
        base64(b, (const unsigned char *)body, len);
        sbuf_addc(b, '"');
    }
    jw_obj_end(&w);
    sbuf_addc(b, '\n');
}

void quarantine_write(struct quarantine *q, const struct apd_config *c, uint64_t rec_id,
                      const char *source, const char *reason, const char *body, size_t len)
{
    struct sbuf b = SBUF_INIT;
    format_line(&b, rec_id, source, reason, body, len);
    struct qline *l = malloc(sizeof(*l) + b.len);
    if (l == NULL)
        abort();
    *l = (struct qline){.file_max = c->spool.quarantine_max_size,
                        .keep = (unsigned)c->spool.quarantine_files, .len = b.len};
    memcpy(l->text, b.p, b.len);
    sbuf_free(&b);
    pthread_mutex_lock(&q->mu);
    if (q->stop) {
        /* No thread (it could not start): write here rather than lose it. */
        pthread_mutex_unlock(&q->mu);
        l->next = NULL;
        write_batch(q, l);
        free(l);
        return;
    }
    if (q->queued + l->len > Q_MAX_QUEUED) {
        size_t queued = q->queued;
        pthread_mutex_unlock(&q->mu);
        log_error("quarantine: %zu bytes wait for the disk already; record %016" PRIx64
                  " (%s) is only in this log line: reason %s", queued, rec_id, source,
                  reason);
        free(l);
        return;
    }
    l->next = NULL;
    if (q->tail)
        q->tail->next = l;
    else
        q->head = l;
    q->tail = l;
    q->queued += l->len;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}
