/* Parsing and printing of the units operators write in config and commands:
 * durations ("500ms", "30s", "8h", "3d"), sizes ("64k", "1MiB"), integers,
 * booleans, and ISO-8601 instants. */
#ifndef APPEALSD_UNITS_H
#define APPEALSD_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "250ms", "10s", "5m", "8h", "3d", "1w", or a bare number of seconds;
 * sums like "1h30m" are accepted.  Returns 0 or -1. */
int parse_duration_ms(const char *s, int64_t *ms);
/* "1024", "64k", "64KiB", "1M", "1MiB", "2G" (binary multiples). */
int parse_size(const char *s, uint64_t *bytes);
int parse_int64(const char *s, int64_t *v);
int parse_bool(const char *s, bool *v);

/* Wall clock in milliseconds since the epoch, and monotonic milliseconds. */
int64_t now_ms(void);
int64_t mono_ms(void);
uint64_t mono_us(void);

/* "2026-11-29T09:15:02.123+03:00" in the given IANA zone (NULL: UTC, "Z"). */
void format_iso8601(int64_t ms, const char *tz, char *out, size_t outlen);
/* Writes "k": that instant to a JSON object; nothing when ms <= 0 (unset). */
struct jw;
void jw_ktime(struct jw *w, const char *k, int64_t ms, const char *tz);
/* Accepts "2026-11-29T09:15:02Z", "...+03:00", "...T09:15" (local to tz),
 * and "@<unix seconds>".  Returns 0 or -1. */
int parse_iso8601(const char *s, const char *tz, int64_t *ms);
/* "1d 2h 3m" style, for humans. */
void format_duration(int64_t ms, char *out, size_t outlen);

#endif
