#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sbuf.h"
#include "tz.h"

int parse_int64(const char *s, int64_t *v)
{
    char *end;
    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end != '\0')
        return -1;
    *v = x;
    return 0;
}

int parse_bool(const char *s, bool *v)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) { *v = true; return 0; }
        if (strcasecmp(s, no[i]) == 0) { *v = false; return 0; }
    }
    return -1;
}

int parse_duration_ms(const char *s, int64_t *ms)
{
    int64_t total = 0;
    const char *p = s;
    if (s == NULL || *s == '\0')
        return -1;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (errno || end == p)
            return -1;
        p = end;
        const char *u = p;
        while (isalpha((unsigned char)*p))
            p++;
        size_t ul = (size_t)(p - u);
        double mul;
        if (ul == 0) {
            if (*p != '\0' || p != s + strlen(s))
                return -1;
            mul = 1000;     /* bare number: seconds */
        } else if (ul == 2 && strncmp(u, "ms", 2) == 0) mul = 1;
        else if (ul == 1 && *u == 's') mul = 1000;
        else if (ul == 1 && *u == 'm') mul = 60e3;
        else if (ul == 3 && strncmp(u, "min", 3) == 0) mul = 60e3;
        else if (ul == 1 && *u == 'h') mul = 3600e3;
        else if (ul == 1 && *u == 'd') mul = 86400e3;
        else if (ul == 1 && *u == 'w') mul = 7 * 86400e3;
        else return -1;
        total += (int64_t)(x * mul + 0.5);
    }
    *ms = total;
    return 0;
}

int parse_size(const char *s, uint64_t *bytes)
{
    char *end;
    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    double x = strtod(s, &end);
    if (errno)
        return -1;
    while (*end == ' ')
        end++;
    double mul = 1;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'B': mul = 1; end++; break;
    case 'K': mul = 1024.0; end++; break;
    case 'M': mul = 1024.0 * 1024; end++; break;
    case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
    default: return -1;
    }
    if (strcasecmp(end, "") != 0 && strcasecmp(end, "b") != 0 && strcasecmp(end, "ib") != 0)
        return -1;
    *bytes = (uint64_t)(x * mul);
    return 0;
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The date, time and offset of one second, formatted once: a message names
 * the same few seconds (now, received, due) again and again, and strftime
 * and the zone lookup were a few % of the loop under load (perf, issue 14).
 * A few entries per thread, keyed on the second and the zone. */
#define ISO_CACHE 4
struct iso_entry {
    int64_t secs;
    bool valid;
    char tz[64];              /* "" for UTC */
    char text[40];            /* 2026-11-29T10:00:47.000+03:00: the fraction patched in */
    size_t len, frac_at;
};
static _Thread_local struct iso_entry iso_cache[ISO_CACHE];
static _Thread_local unsigned iso_next;

static void iso_fill(struct iso_entry *c, int64_t secs, const char *tz)
{
    struct tm tm;
    int off = 0;
    if (tz) {
        tz_localtime(tz, secs, &tm, &off);
    } else {
        time_t t = (time_t)secs;
        gmtime_r(&t, &tm);
    }
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    int a = off < 0 ? -off : off, n;
    if (tz == NULL)
        n = snprintf(c->text, sizeof(c->text), "%s.000Z", base);
    else
        n = snprintf(c->text, sizeof(c->text), "%s.000%c%02d:%02d", base, off < 0 ? '-' : '+',
                     a / 3600, (a / 60) % 60);
    c->len = n > 0 && (size_t)n < sizeof(c->text) ? (size_t)n : 0;
    c->frac_at = strlen(base) + 1;
    c->secs = secs;
    snprintf(c->tz, sizeof(c->tz), "%s", tz ? tz : "");
    /* a zone name too long for the key is never found again */
    c->valid = c->len > 0 && (tz == NULL || strlen(tz) < sizeof(c->tz));
}

static const struct iso_entry *iso_get(int64_t secs, const char *tz)
{
    const char *key = tz ? tz : "";
    for (int i = 0; i < ISO_CACHE; i++) {
        const struct iso_entry *c = &iso_cache[i];
        if (c->valid && c->secs == secs && strcmp(c->tz, key) == 0)
            return c;
    }
    struct iso_entry *c = &iso_cache[iso_next++ % ISO_CACHE];
    iso_fill(c, secs, tz);
    return c;
}

void format_iso8601(int64_t ms, const char *tz, char *out, size_t outlen)
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int frac = (int)(ms - secs * 1000);
    const struct iso_entry *c = iso_get(secs, tz);
    if (outlen == 0)
        return;
    size_t n = c->len < outlen - 1 ? c->len : outlen - 1;
    memcpy(out, c->text, n);
    out[n] = '\0';
    char digits[3] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                      (char)('0' + frac % 10)};
    for (size_t i = 0; i < 3 && c->frac_at + i < n; i++)
        out[c->frac_at + i] = digits[i];
}

int parse_iso8601(const char *s, const char *tz, int64_t *ms)
{
    if (s[0] == '@') {
        int64_t v;
        if (parse_int64(s + 1, &v) != 0)
            return -1;
        *ms = v * 1000;
        return 0;
    }
    int Y, M, D, h = 0, m = 0, n = 0;
    double sec = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &Y, &M, &D, &n) != 3 || n != 10)
        return -1;
    const char *p = s + n;
    if (*p == 'T' || *p == ' ') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &m, &k) != 2)
            return -1;
        p += 1 + k;
        if (*p == ':') {
            char *end;
            sec = strtod(p + 1, &end);
            p = end;
        }
    }
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 24 || m > 59 || sec >= 61)
        return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
                    .tm_hour = h, .tm_min = m, .tm_sec = (int)sec};
    int64_t frac_ms = (int64_t)((sec - (int)sec) * 1000 + 0.5);
    if (*p == '\0') {
        int64_t t = tz ? tz_mktime(tz, &tm) : (int64_t)timegm(&tm);
        *ms = t * 1000 + frac_ms;
        return 0;
    }
    int64_t t = (int64_t)timegm(&tm);
    if (*p == 'Z' && p[1] == '\0') {
        *ms = t * 1000 + frac_ms;
        return 0;
    }
    int oh, om = 0;
    char sign = *p;
    if (sign != '+' && sign != '-')
        return -1;
    if (sscanf(p + 1, "%2d:%2d", &oh, &om) < 1 && sscanf(p + 1, "%2d%2d", &oh, &om) < 1)
        return -1;
    int off = (oh * 3600 + om * 60) * (sign == '-' ? -1 : 1);
    *ms = (t - off) * 1000 + frac_ms;
    return 0;
}

void format_duration(int64_t ms, char *out, size_t outlen)
{
    const char *sign = ms < 0 ? "-" : "";
    if (ms < 0)
        ms = -ms;
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(out, outlen, "%s%llds", sign, (long long)s);
    else if (s < 3600)
        snprintf(out, outlen, "%s%lldm%02llds", sign, (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, outlen, "%s%lldh%02lldm", sign, (long long)(s / 3600),
                 (long long)(s / 60 % 60));
    else
        snprintf(out, outlen, "%s%lldd%02lldh", sign, (long long)(s / 86400),
                 (long long)(s / 3600 % 24));
}

void jw_ktime(struct jw *w, const char *k, int64_t ms, const char *tz)
{
    char buf[48];
    if (ms <= 0)
        return;
    format_iso8601(ms, tz, buf, sizeof(buf));
    jw_kstr(w, k, buf);
}
