/* Growable byte string and a small streaming JSON writer on top of it.
 *
 * An sbuf owns its bytes; the contents are always NUL-terminated so they can be
 * handed to C APIs.  Allocation failure aborts: the daemon cannot do anything
 * useful without memory, and a half-written message is worse than a restart
 * (the spool keeps everything accepted). */
#ifndef APPEALSD_SBUF_H
#define APPEALSD_SBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf {
    char *p;
    size_t len;
    size_t cap;
};

#define SBUF_INIT { NULL, 0, 0 }

void sbuf_reserve(struct sbuf *b, size_t extra);
void sbuf_add(struct sbuf *b, const void *data, size_t len);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void sbuf_reset(struct sbuf *b);
void sbuf_free(struct sbuf *b);
/* Returns the contents as a malloc'd string and leaves b empty. */
char *sbuf_steal(struct sbuf *b);
/* NUL-terminated view; valid until the next modification. */
const char *sbuf_str(struct sbuf *b);

/* Appends s (len bytes of UTF-8) as a JSON string literal with quotes.
 * Control characters are escaped; invalid UTF-8 bytes become U+FFFD so the
 * output is always valid JSON. */
void sbuf_json_str(struct sbuf *b, const char *s, size_t len);

/* Streaming JSON writer.  Tracks whether a comma is due at each nesting level;
 * keys and values are written in document order. */
struct jw {
    struct sbuf *b;
    uint32_t depth;
    uint64_t first;   /* bit d set: nothing written yet at depth d */
    bool after_key;
};

void jw_init(struct jw *w, struct sbuf *b);
void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s);          /* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_double(struct jw *w, double v, int decimals);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Writes pre-encoded JSON text as one value. */
void jw_raw(struct jw *w, const char *json, size_t n);

/* Key-value shorthands. */
void jw_kstr(struct jw *w, const char *k, const char *s);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_kbool(struct jw *w, const char *k, bool v);

#endif
