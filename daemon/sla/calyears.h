/* Which years the production calendars know, shown to operators: the years
 * the calendar files declare, and the years deadlines reached that no file
 * declares (computed from the Labour Code fallback, without the government's
 * transfers).  A deadline in such a year may be off by a day, so the
 * daemon shows it in `appealsctl status`, on /metrics, and `--check-config`
 * warns before it happens (current or next year missing).
 *
 * Only calendars in use count: the [sla] default and those organisations
 * name; the built-in "none" has no years.  Loop thread or one-shot tools. */
#ifndef APPEALSD_CALYEARS_H
#define APPEALSD_CALYEARS_H

#include <stdint.h>
#include <stdio.h>

struct apd_config;
struct jw;

/* "calendars": [{"name", "years": [...], "fallback_years": [...],
 *                "fallback_lookups"}, ...] into an open object. */
void calyears_write_status(const struct apd_config *c, struct jw *w);

/* Declares the gauges (once) and sets them from c:
 *   appealsd_calendar_year{calendar,year,source="file"|"labour_code"} 1
 *   appealsd_calendar_fallback_years{calendar}  years used without a file */
void calyears_metrics(const struct apd_config *c);

/* Warns on out, one line per calendar in use, when the year of now (in
 * [daemon] timezone) or the next one has no file.  Returns the number of
 * warnings. */
int calyears_check(const struct apd_config *c, int64_t now_ms, FILE *out);

/* Warns on out about [hours] whose week is not 40 hours (Labour Code
 * art. 91), except hours around the clock.  Returns the number. */
int calyears_check_hours(const struct apd_config *c, FILE *out);

#endif
