/* Working hours of an organisation: the periods of a working day (several,
 * e.g. around a lunch break), per-weekday variations, how much a pre-holiday
 * day is shortened, and the time zone the hours are in.
 *
 *   [hours "standard"]
 *   time = 09:00-18:00          periods of a working day
 *   lunch = 13:00-13:48         cut out of every day
 *   fri = 09:00-17:00           a weekday of its own ("off": never works)
 *   short_by = 1h               pre-holiday days end this much earlier
 *   timezone = Europe/Moscow
 *
 * Which dates are working days is the calendar's business (calendar.h);
 * the hours only say when, on a working day, work happens. */
#ifndef APPEALSD_HOURS_H
#define APPEALSD_HOURS_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "ini.h"

#define HOURS_MAX_PERIODS 8

struct hperiod {
    int16_t from, to;      /* minutes after local midnight, from < to <= 1440 */
};

struct hours {
    char *name;
    char *timezone;
    struct hperiod p[7][HOURS_MAX_PERIODS];   /* by weekday, Monday = 0; lunch removed */
    uint8_t n[7];
    int short_min;
};

/**
 * @brief Build hours from an [hours "NAME"] section (sec NULL: the built-in
 *        defaults, 09:00-18:00 and Friday to 17:00 with lunch 13:00-13:48,
 *        40 h a week, shortened by 1h).
 * @param def_tz  zone when the section names none ([daemon] timezone).
 * @returns a new struct (free with hours_free); problems go to d.
 */
struct hours *hours_build(const char *name, struct ini_section *sec, const char *def_tz,
                          struct diag *d);
void hours_free(struct hours *h);
/* 00:00-24:00 every day (the built-in "duty" hours of round-the-clock desks). */
struct hours *hours_around_the_clock(const char *name, const char *tz);

/* Parses "09:00-13:00, 13:48-18:00" into sorted, non-overlapping periods;
 * returns the count, or -1 with the reason in why. */
int hours_parse_periods(const char *v, struct hperiod *out, int max, char *why, size_t wl);

/* Working minutes of weekday wd (Monday = 0) on a full working day. */
int hours_day_minutes(const struct hours *h, int wd);
/* Working minutes in a week (0 means the hours never work: refused). */
int hours_week_minutes(const struct hours *h);

/* Prints the [hours] key reference. */
void hours_reference(void);

#endif
