#include "quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sbuf.h"
#include "units.h"

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

void quarantine_write(const struct apd_config *c, uint64_t rec_id, const char *source,
                      const char *reason, const char *body, size_t len)
{
    struct sbuf b = SBUF_INIT;
    struct jw w;
    char ts[48], id[24];
    format_iso8601(now_ms(), NULL, ts, sizeof(ts));
    snprintf(id, sizeof(id), "%016" PRIx64, rec_id);
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "at", ts);
    jw_kstr(&w, "record", id);
    jw_kstr(&w, "source", source);
    jw_kstr(&w, "reason", reason);
    if (body) {
        jw_key(&w, "body_text");   /* lossy: invalid bytes shown as U+FFFD */
        jw_strn(&w, body, len);
        jw_key(&w, "body_base64");
        sbuf_addc(&b, '"');
        base64(&b, (const unsigned char *)body, len);
        sbuf_addc(&b, '"');
    }
    jw_obj_end(&w);
    sbuf_addc(&b, '\n');
    char path[4096];
    snprintf(path, sizeof(path), "%s/quarantine.jsonl", c->spool.dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len || fdatasync(fd) != 0)
        log_error("quarantine: cannot write %s (%s); the event of record %s is only in this "
                  "log line: reason %s", path, strerror(errno), id, reason);
    if (fd >= 0)
        close(fd);
    sbuf_free(&b);
}
