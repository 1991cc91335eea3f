#include "calyears.h"

#include <stdbool.h>
#include <string.h>

#include "calendar.h"
#include "config.h"
#include "directory.h"
#include "hours.h"
#include "metrics.h"
#include "sbuf.h"
#include "sla.h"
#include "worktime.h"

#define MAX_YEARS 64

/* A calendar counts when the [sla] default or an organisation uses it. */
static bool in_use(const struct apd_config *c, const struct calendar *cal)
{
    const struct sla_config *s = sla_cfg(c);
    if (calendar_every_day(cal))
        return false;
    if (cal == s->def_cal)
        return true;
    for (size_t i = 0; c->dir && i < c->dir->norgs; i++)
        if (sla_sched(c, &c->dir->orgs[i]).cal == cal)
            return true;
    return false;
}

static void write_years(struct jw *w, const char *key, const int *y, size_t n)
{
    jw_key(w, key);
    jw_arr(w);
    for (size_t i = 0; i < n; i++)
        jw_int(w, y[i]);
    jw_arr_end(w);
}

void calyears_write_status(const struct apd_config *c, struct jw *w)
{
    const struct sla_config *s = sla_cfg(c);
    jw_key(w, "calendars");
    jw_arr(w);
    for (size_t i = 0; i < s->ncals; i++) {
        const struct calendar *cal = s->cals[i];
        if (!in_use(c, cal))
            continue;
        int y[MAX_YEARS];
        jw_obj(w);
        jw_kstr(w, "name", calendar_name(cal));
        write_years(w, "years", y, calendar_years(cal, y, MAX_YEARS));
        write_years(w, "fallback_years", y, calendar_fallback_years(cal, y, MAX_YEARS));
        jw_key(w, "fallback_lookups");
        jw_uint(w, calendar_fallback_lookups(cal));
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

void calyears_metrics(const struct apd_config *c)
{
    struct mfam *year = metrics_family(
        "appealsd_calendar_year", M_GAUGE,
        "Years a calendar in use knows: source=file (a calendar file declares it) or "
        "labour_code (a deadline reached it and no file declares it)",
        "calendar,year,source");
    struct mfam *fb = metrics_family(
        "appealsd_calendar_fallback_years", M_GAUGE,
        "Years deadlines reached that no calendar file declares (Labour Code fallback); "
        "add config/calendar/ru-YYYY.conf", "calendar");
    metrics_clear(year);
    metrics_clear(fb);
    const struct sla_config *s = sla_cfg(c);
    for (size_t i = 0; i < s->ncals; i++) {
        const struct calendar *cal = s->cals[i];
        if (!in_use(c, cal))
            continue;
        int y[MAX_YEARS];
        char ys[16];
        size_t n = calendar_years(cal, y, MAX_YEARS);
        for (size_t k = 0; k < n; k++) {
            snprintf(ys, sizeof(ys), "%d", y[k]);
            metrics_set(year, 1, calendar_name(cal), ys, "file");
        }
        n = calendar_fallback_years(cal, y, MAX_YEARS);
        for (size_t k = 0; k < n; k++) {
            snprintf(ys, sizeof(ys), "%d", y[k]);
            metrics_set(year, 1, calendar_name(cal), ys, "labour_code");
        }
        metrics_set(fb, (double)n, calendar_name(cal));
    }
}

int calyears_check(const struct apd_config *c, int64_t now_ms, FILE *out)
{
    const struct sla_config *s = sla_cfg(c);
    struct sched def = sla_sched(c, NULL);
    int y, m, d, warnings = 0;
    civil_from_days(worktime_local_day(&def, now_ms), &y, &m, &d);
    for (size_t i = 0; i < s->ncals; i++) {
        const struct calendar *cal = s->cals[i];
        if (!in_use(c, cal))
            continue;
        for (int year = y; year <= y + 1; year++)
            if (!calendar_has_year(cal, year)) {
                fprintf(out, "warning: calendar %s: no calendar file declares %d (the %s "
                        "year); deadlines in %d will use the Labour Code's fixed holidays "
                        "without the government's transfers; add a file with 'year %d' "
                        "(docs/sla.md, Production calendars)\n", calendar_name(cal), year,
                        year == y ? "current" : "next", year, year);
                warnings++;
            }
    }
    return warnings;
}

int calyears_check_hours(const struct apd_config *c, FILE *out)
{
    const struct sla_config *s = sla_cfg(c);
    int warnings = 0;
    for (size_t i = 0; i < s->nhours; i++) {
        const struct hours *h = s->hours[i];
        int week = 0, full = 0;
        for (int wd = 0; wd < 5; wd++)
            week += hours_day_minutes(h, wd);
        for (int wd = 0; wd < 7; wd++)
            full += hours_day_minutes(h, wd) == 24 * 60;
        if (full == 7 || week == 40 * 60)
            continue;
        fprintf(out, "warning: [hours \"%s\"]: Monday to Friday make %d h %02d min, not the "
                "40 h a week of the Labour Code (art. 91); check the schedule with `appealsd "
                "deadline --explain`\n", h->name, week / 60, week % 60);
        warnings++;
    }
    return warnings;
}
