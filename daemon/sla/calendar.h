/* Production calendars: which local dates are working days, non-working days
 * or shortened pre-holiday days.
 *
 * A calendar is built from data files (config/calendar/NAME.conf, format in
 * docs/sla.md): a file that says `year 2026` is the complete production
 * calendar of that year as the government decreed it (weekends plus the
 * listed exceptions); other files only add dates (regional holidays, an
 * organisation's own days) and `annual` rules (e.g. Adygea's 5 October).
 * An `off` line may carry its holiday to the next working day when it falls
 * on a Saturday or Sunday (`carry=next-working-day`, a regional holiday law).
 * A year no file declares falls back to the Labour Code (art. 112 fixed
 * holidays, weekend holidays moved to the next working day except in
 * January, art. 95 pre-holiday shortening) and a warning is logged once,
 * because the decree's transfers for that year are unknown.
 *
 * Immutable after loading except for a per-year cache filled on first use;
 * loop thread (or a one-shot tool) only. */
#ifndef APPEALSD_CALENDAR_H
#define APPEALSD_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

enum cal_day {
    CAL_WORK = 0,    /* a full working day */
    CAL_OFF = 1,     /* weekend, holiday or transferred day off */
    CAL_SHORT = 2,   /* a working day shortened before a holiday */
};

struct calendar;

/* An empty calendar: weekends off, Labour Code fallback for every year.
 * every_day_works: the built-in calendar "none" (no weekends, no holidays),
 * for desks that work around the clock. */
struct calendar *calendar_new(const char *name, bool every_day_works);
void calendar_free(struct calendar *cal);
const char *calendar_name(const struct calendar *cal);

/**
 * @brief Add one data file to the calendar.
 * @returns the number of problems added to d (each with file:line).
 */
int calendar_load_file(struct calendar *cal, const char *path, struct diag *d);

/* Kind of the local date y-m-d (m 1..12, d 1..31). */
enum cal_day calendar_day(struct calendar *cal, int y, int m, int d);
/* True when a file declared the whole year (no Labour Code fallback). */
bool calendar_has_year(const struct calendar *cal, int y);

/* The years files declare, ascending (at most max of them). */
size_t calendar_years(const struct calendar *cal, int *out, size_t max);
/* The years no file declares that were used so far (a deadline reached
 * them and got the Labour Code fallback), ascending. */
size_t calendar_fallback_years(const struct calendar *cal, int *out, size_t max);
/* How many day lookups the fallback answered since the calendar was loaded. */
uint64_t calendar_fallback_lookups(const struct calendar *cal);
/* The built-in "none": every day works, no years apply. */
bool calendar_every_day(const struct calendar *cal);

/* Civil-date helpers (proleptic Gregorian), shared with working-time code. */
int64_t civil_to_days(int y, int m, int d);          /* days since 1970-01-01 */
void civil_from_days(int64_t days, int *y, int *m, int *d);
int civil_weekday(int64_t days);                      /* 0 = Monday .. 6 = Sunday */

#endif
