#include "sbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

void sbuf_reserve(struct sbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        abort();
    b->p = p;
    b->cap = cap;
}

void sbuf_add(struct sbuf *b, const void *data, size_t len)
{
    sbuf_reserve(b, len);
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void sbuf_adds(struct sbuf *b, const char *s) { sbuf_add(b, s, strlen(s)); }

void sbuf_addc(struct sbuf *b, char c)
{
    sbuf_reserve(b, 1);
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    sbuf_reserve(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void sbuf_reset(struct sbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void sbuf_free(struct sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

char *sbuf_steal(struct sbuf *b)
{
    char *p = b->p;
    if (p == NULL) {
        p = strdup("");
        if (p == NULL)
            abort();
    }
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

const char *sbuf_str(struct sbuf *b)
{
    if (b->p == NULL)
        sbuf_reserve(b, 0), b->p[0] = '\0';
    return b->p;
}

void sbuf_json_str(struct sbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    sbuf_reserve(b, len + 2);
    b->p[b->len++] = '"';
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            size_t j = i + 1;
            while (j < len && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] < 0x80 &&
                   s[j] != '"' && s[j] != '\\')
                j++;
            sbuf_add(b, s + i, j - i);
            i = j;
            continue;
        }
        if (c < 0x80) {
            char esc[7] = {'\\', 0};
            switch (c) {
            case '"': esc[1] = '"'; sbuf_add(b, esc, 2); break;
            case '\\': esc[1] = '\\'; sbuf_add(b, esc, 2); break;
            case '\n': esc[1] = 'n'; sbuf_add(b, esc, 2); break;
            case '\r': esc[1] = 'r'; sbuf_add(b, esc, 2); break;
            case '\t': esc[1] = 't'; sbuf_add(b, esc, 2); break;
            default:
                esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
                esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
                sbuf_add(b, esc, 6);
            }
            i++;
            continue;
        }
        size_t n = utf8_seq_len(s + i, len - i);
        if (n == 0) {
            sbuf_add(b, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            sbuf_add(b, s + i, n);
            i += n;
        }
    }
    sbuf_addc(b, '"');
}

void jw_init(struct jw *w, struct sbuf *b)
{
    w->b = b;
    w->depth = 0;
    w->first = 1;
    w->after_key = false;
}

static void jw_sep(struct jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    uint64_t bit = (uint64_t)1 << (w->depth & 63);
    if (w->first & bit)
        w->first &= ~bit;
    else
        sbuf_addc(w->b, ',');
}

static void jw_open(struct jw *w, char c)
{
    jw_sep(w);
    sbuf_addc(w->b, c);
    w->depth++;
    w->first |= (uint64_t)1 << (w->depth & 63);
}

void jw_obj(struct jw *w) { jw_open(w, '{'); }
void jw_arr(struct jw *w) { jw_open(w, '['); }
void jw_obj_end(struct jw *w) { w->depth--; sbuf_addc(w->b, '}'); }
void jw_arr_end(struct jw *w) { w->depth--; sbuf_addc(w->b, ']'); }

void jw_key(struct jw *w, const char *k)
{
    jw_sep(w);
    sbuf_json_str(w->b, k, strlen(k));
    sbuf_addc(w->b, ':');
    w->after_key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
    jw_sep(w);
    sbuf_json_str(w->b, s, n);
}

void jw_str(struct jw *w, const char *s)
{
    if (s == NULL)
        jw_null(w);
    else
        jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v) { jw_sep(w); sbuf_printf(w->b, "%" PRId64, v); }
void jw_uint(struct jw *w, uint64_t v) { jw_sep(w); sbuf_printf(w->b, "%" PRIu64, v); }

void jw_double(struct jw *w, double v, int decimals)
{
    jw_sep(w);
    if (!isfinite(v))
        sbuf_adds(w->b, "null");
    else
        sbuf_printf(w->b, "%.*f", decimals, v);
}

void jw_bool(struct jw *w, bool v) { jw_sep(w); sbuf_adds(w->b, v ? "true" : "false"); }
void jw_null(struct jw *w) { jw_sep(w); sbuf_adds(w->b, "null"); }
void jw_raw(struct jw *w, const char *json, size_t n) { jw_sep(w); sbuf_add(w->b, json, n); }

void jw_kstr(struct jw *w, const char *k, const char *s) { jw_key(w, k); jw_str(w, s); }
void jw_kint(struct jw *w, const char *k, int64_t v) { jw_key(w, k); jw_int(w, v); }
void jw_kbool(struct jw *w, const char *k, bool v) { jw_key(w, k); jw_bool(w, v); }
