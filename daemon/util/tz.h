/* Time zones by IANA name, read from the system's TZif files.
 *
 * The daemon never touches the process-wide TZ: organisations may sit in
 * different zones, and setenv("TZ") from the loop would race librdkafka's
 * threads.  Zones are loaded once and cached for the life of the process. */
#ifndef APPEALSD_TZ_H
#define APPEALSD_TZ_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* True when the zone exists (in TZDIR or /usr/share/zoneinfo) or is "UTC". */
bool tz_exists(const char *name);
/* UTC offset in seconds at instant t (unix seconds). Unknown zones act as UTC. */
int tz_offset(const char *name, int64_t t);
/* Broken-down local time of t in the zone; *gmtoff receives the offset. */
void tz_localtime(const char *name, int64_t t, struct tm *tm, int *gmtoff);
/* Unix seconds of a local wall-clock time in the zone (tm_isdst ignored).
 * For a time skipped by a DST jump the later offset is used. */
int64_t tz_mktime(const char *name, const struct tm *tm);

#endif
