#include "deadline_explain.h"

#include <stdbool.h>

#include "calendar.h"
#include "hours.h"

/* Days listed one by one at most; a longer span is summarised. */
#define MAX_LISTED 40

static const char *const wd_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static void print_hours(const struct hours *h, FILE *out)
{
    fprintf(out, "hours %s (%s):\n", h->name, h->timezone);
    int week = 0;
    for (int wd = 0; wd < 7; wd++) {
        int mins = hours_day_minutes(h, wd);
        fprintf(out, "  %s ", wd_names[wd]);
        for (int i = 0; i < h->n[wd]; i++)
            fprintf(out, "%s%02d:%02d-%02d:%02d", i ? ", " : "", h->p[wd][i].from / 60,
                    h->p[wd][i].from % 60, h->p[wd][i].to / 60, h->p[wd][i].to % 60);
        fprintf(out, "%s  %d h %02d min%s\n", h->n[wd] ? "" : "off", mins / 60, mins % 60,
                wd >= 5 ? "  (only when the calendar makes the day a working day)" : "");
        if (wd < 5)
            week += mins;
    }
    fprintf(out, "  week (Monday to Friday): %d h %02d min\n", week / 60, week % 60);
    fprintf(out, "  a shortened pre-holiday day ends %d min earlier\n", h->short_min);
}

static const char *kind_name(enum cal_day k)
{
    return k == CAL_OFF ? "off" : k == CAL_SHORT ? "short" : "work";
}

/* Days off that are not plain weekends, and shortened days, in [a, b]. */
static void print_days(struct calendar *cal, int64_t a, int64_t b, FILE *out)
{
    int listed = 0, skipped = 0;
    for (int64_t day = a; day <= b; day++) {
        int y, m, d;
        civil_from_days(day, &y, &m, &d);
        enum cal_day k = calendar_day(cal, y, m, d);
        bool weekend = civil_weekday(day) >= 5;
        if (k == CAL_WORK || (k == CAL_OFF && weekend))
            continue;
        if (listed++ < MAX_LISTED)
            fprintf(out, "  %04d-%02d-%02d %s %s\n", y, m, d, wd_names[civil_weekday(day)],
                    kind_name(k));
        else
            skipped++;
    }
    if (listed == 0)
        fprintf(out, "  no holidays, transfers or shortened days\n");
    if (skipped)
        fprintf(out, "  ... and %d more\n", skipped);
}

static void print_years(struct calendar *cal, int ya, int yb, FILE *out)
{
    for (int y = ya; y <= yb; y++)
        fprintf(out, "  year %d: %s\n", y, calendar_every_day(cal) ? "every day works"
                : calendar_has_year(cal, y) ? "from a calendar file (the government's decree)"
                : "NO calendar file: the Labour Code's fixed holidays, without the "
                  "government's transfers for that year");
}

void deadline_explain(const struct sched *s, int64_t from_ms, int64_t due_ms, FILE *out)
{
    print_hours(s->h, out);
    int64_t a = worktime_local_day(s, from_ms < due_ms ? from_ms : due_ms);
    int64_t b = worktime_local_day(s, from_ms < due_ms ? due_ms : from_ms);
    int ya, ma, da, yb, mb, db;
    civil_from_days(a, &ya, &ma, &da);
    civil_from_days(b, &yb, &mb, &db);
    fprintf(out, "calendar %s, %04d-%02d-%02d to %04d-%02d-%02d "
            "(days off other than Saturdays and Sundays, and shortened days):\n",
            calendar_name(s->cal), ya, ma, da, yb, mb, db);
    if (!calendar_every_day(s->cal))
        print_days(s->cal, a, b, out);
    print_years(s->cal, ya, yb, out);
}
