/* Working-time arithmetic over a schedule (a production calendar plus
 * working hours in a time zone).
 *
 *   worktime_add(s, t, 8h)        the instant 8 working hours after t
 *   worktime_add_days(s, t, 3)    the same time of day on the 3rd working day
 *   worktime_between(s, a, b)     working time elapsed from a to b
 *   worktime_next(s, t)           t, or the start of the next working period
 *
 * Instants are milliseconds since the epoch.  A working period ends at its
 * end: 8 working hours from 09:00 on a 09:00-18:00 day with no lunch is
 * 17:00 the same day, and 9 hours is 18:00 that day, not 09:00 the next.
 * Pure functions of their arguments (the calendar caches years it computed);
 * loop thread or one-shot tools. */
#ifndef APPEALSD_WORKTIME_H
#define APPEALSD_WORKTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct calendar;
struct hours;

struct sched {
    struct calendar *cal;
    const struct hours *h;
};

/* A duration as operators write it for deadlines: whole days and the rest.
 * "3d" is {3, 0}; "8h" {0, 8h}; "1d4h" {1, 4h}. */
struct wdur {
    int64_t days;
    int64_t ms;
};

/* "8h", "3d", "1d4h", "90m", "30s"; weeks ("1w") only in calendar time.
 * Returns 0, or -1 for anything else (negative, empty, unknown unit). */
int wdur_parse(const char *s, struct wdur *out);
/* "3d4h", "8h", "0s": the inverse of wdur_parse. */
void wdur_format(const struct wdur *d, char *out, size_t len);

/* work_ms may be negative (walks backwards through working time). */
int64_t worktime_add(const struct sched *s, int64_t from_ms, int64_t work_ms);
/* Negative when b < a. */
int64_t worktime_between(const struct sched *s, int64_t a_ms, int64_t b_ms);
int64_t worktime_next(const struct sched *s, int64_t t_ms);
/* The clock starts at worktime_next(from): the same local time of day on the
 * n-th working day after that, no later than that day's end of work. */
int64_t worktime_add_days(const struct sched *s, int64_t from_ms, int64_t n);
/* Days then the rest; in calendar time (calendar_time true) a day is the
 * same local time on the next date and the rest is plain elapsed time. */
int64_t worktime_add_dur(const struct sched *s, int64_t from_ms, const struct wdur *d,
                         bool calendar_time);

/* What a legal term does when its last day is not a working day of the
 * schedule: move to the working day before (the regional regulations on
 * citizens' appeals), after (Civil Code art. 193), or stay. */
enum day_off_rule { DAYOFF_PRECEDING, DAYOFF_FOLLOWING, DAYOFF_KEEP };

/**
 * @brief The end of a term of n calendar days counted as the law counts it.
 *
 * The count starts on the day after `from` (local date in the hours' zone)
 * and the term ends at the end of its n-th day (the last millisecond before
 * local midnight); a last day that is not a working day of the schedule moves
 * by `rule`.  A preceding working day never comes before the term's first
 * day: then the following one is taken.  59-FZ art. 12 ch. 1, art. 8 ch. 2-3.
 */
int64_t worktime_legal_end(const struct sched *s, int64_t from_ms, int64_t n,
                           enum day_off_rule rule);
/* Whether the local date (days since 1970-01-01) has working time. */
bool worktime_is_working_day(const struct sched *s, int64_t day);

/* Local civil day (days since 1970-01-01) of an instant in the hours' zone. */
int64_t worktime_local_day(const struct sched *s, int64_t t_ms);

#endif
