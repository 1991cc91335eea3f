#include "worktime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "hours.h"
#include "log.h"
#include "tz.h"

/* About ten years: a schedule that finds no working time in that span is
 * broken (config validation refuses hours without any working minute). */
#define MAX_DAYS 3700

static int64_t local_instant(const char *tz, int64_t day, int minute, int sec, int ms)
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d,
                    .tm_hour = minute / 60, .tm_min = minute % 60, .tm_sec = sec};
    return tz_mktime(tz, &tm) * 1000 + ms;
}

int64_t worktime_local_day(const struct sched *s, int64_t t_ms)
{
    struct tm tm;
    int64_t sec = t_ms >= 0 ? t_ms / 1000 : (t_ms - 999) / 1000;
    tz_localtime(s->h->timezone, sec, &tm, NULL);
    return civil_to_days(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Working periods of a local date as instants, ascending. */
static int day_periods(const struct sched *s, int64_t day, int64_t out[][2])
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    enum cal_day kind = calendar_day(s->cal, y, m, d);
    if (kind == CAL_OFF)
        return 0;
    int wd = civil_weekday(day);
    struct hperiod p[HOURS_MAX_PERIODS];
    int n = s->h->n[wd];
    memcpy(p, s->h->p[wd], (size_t)n * sizeof(p[0]));
    if (kind == CAL_SHORT) {
        /* An hour less of work, taken from the end of the day. */
        int cut = s->h->short_min;
        while (n > 0 && cut > 0) {
            int len = p[n - 1].to - p[n - 1].from;
            if (len > cut) {
                p[n - 1].to = (int16_t)(p[n - 1].to - cut);
                break;
            }
            cut -= len;
            n--;
        }
    }
    for (int i = 0; i < n; i++) {
        out[i][0] = local_instant(s->h->timezone, day, p[i].from, 0, 0);
        out[i][1] = local_instant(s->h->timezone, day, p[i].to, 0, 0);
    }
    return n;
}

static void no_work(const struct sched *s, int64_t from)
{
    log_error("worktime: hours '%s' have no working time within %d days after %lld; "
              "using calendar time", s->h->name, MAX_DAYS, (long long)from);
}

static int64_t add_forward(const struct sched *s, int64_t from, int64_t work)
{
    int64_t per[HOURS_MAX_PERIODS][2];
    int64_t day = worktime_local_day(s, from);
    for (int i = 0; i < MAX_DAYS; i++, day++) {
        int n = day_periods(s, day, per);
        for (int k = 0; k < n; k++) {
            if (per[k][1] <= from)
                continue;
            int64_t start = per[k][0] > from ? per[k][0] : from;
            int64_t avail = per[k][1] - start;
            if (work <= avail)
                return start + work;
            work -= avail;
        }
    }
    no_work(s, from);
    return from + work;
}

static int64_t add_backward(const struct sched *s, int64_t from, int64_t work)
{
    int64_t per[HOURS_MAX_PERIODS][2];
    int64_t day = worktime_local_day(s, from);
    for (int i = 0; i < MAX_DAYS; i++, day--) {
        int n = day_periods(s, day, per);
        for (int k = n - 1; k >= 0; k--) {
            if (per[k][0] >= from)
                continue;
            int64_t end = per[k][1] < from ? per[k][1] : from;
            int64_t avail = end - per[k][0];
            if (work <= avail)
                return end - work;
            work -= avail;
        }
    }
    no_work(s, from);
    return from - work;
}

int64_t worktime_add(const struct sched *s, int64_t from_ms, int64_t work_ms)
{
    if (work_ms == 0)
        return from_ms;
    return work_ms > 0 ? add_forward(s, from_ms, work_ms) : add_backward(s, from_ms, -work_ms);
}

int64_t worktime_between(const struct sched *s, int64_t a, int64_t b)
{
    if (b < a)
        return -worktime_between(s, b, a);
    int64_t per[HOURS_MAX_PERIODS][2], total = 0;
    int64_t last = worktime_local_day(s, b);
    for (int64_t day = worktime_local_day(s, a); day <= last; day++) {
        int n = day_periods(s, day, per);
        for (int k = 0; k < n; k++) {
            int64_t lo = per[k][0] > a ? per[k][0] : a;
            int64_t hi = per[k][1] < b ? per[k][1] : b;
            if (hi > lo)
                total += hi - lo;
        }
    }
    return total;
}

int64_t worktime_next(const struct sched *s, int64_t t)
{
    int64_t per[HOURS_MAX_PERIODS][2];
    int64_t day = worktime_local_day(s, t);
    for (int i = 0; i < MAX_DAYS; i++, day++) {
        int n = day_periods(s, day, per);
        for (int k = 0; k < n; k++)
            if (per[k][1] > t)
                return per[k][0] > t ? per[k][0] : t;
    }
    no_work(s, t);
    return t;
}

int64_t worktime_add_days(const struct sched *s, int64_t from, int64_t ndays)
{
    int64_t t0 = worktime_next(s, from);
    if (ndays <= 0)
        return t0;
    struct tm tm;
    tz_localtime(s->h->timezone, t0 / 1000, &tm, NULL);
    int minute = tm.tm_hour * 60 + tm.tm_min, sec = tm.tm_sec, ms = (int)(t0 % 1000);
    int64_t per[HOURS_MAX_PERIODS][2];
    int64_t day = worktime_local_day(s, t0), count = 0;
    for (int i = 0; i < MAX_DAYS; i++) {
        int n = day_periods(s, ++day, per);
        if (n == 0 || ++count < ndays)
            continue;
        int64_t t = local_instant(s->h->timezone, day, minute, sec, ms);
        if (t > per[n - 1][1])
            t = per[n - 1][1];
        if (t < per[0][0])
            t = per[0][0];
        return t;
    }
    no_work(s, from);
    return from + ndays * 86400000;
}

int64_t worktime_add_dur(const struct sched *s, int64_t from, const struct wdur *d,
                         bool calendar_time)
{
    if (calendar_time) {
        int64_t t = from;
        if (d->days) {
            struct tm tm;
            tz_localtime(s->h->timezone, from / 1000, &tm, NULL);
            tm.tm_mday += (int)d->days;
            t = tz_mktime(s->h->timezone, &tm) * 1000 + from % 1000;
        }
        return t + d->ms;
    }
    int64_t t = d->days ? worktime_add_days(s, from, d->days) : from;
    return d->ms ? worktime_add(s, t, d->ms) : t;
}

bool worktime_is_working_day(const struct sched *s, int64_t day)
{
    int64_t per[HOURS_MAX_PERIODS][2];
    return day_periods(s, day, per) > 0;
}

static int64_t end_of_day(const struct sched *s, int64_t day)
{
    return local_instant(s->h->timezone, day + 1, 0, 0, 0) - 1;
}

int64_t worktime_legal_end(const struct sched *s, int64_t from, int64_t n,
                           enum day_off_rule rule)
{
    int64_t first = worktime_local_day(s, from) + 1;
    int64_t last = first + (n > 0 ? n : 1) - 1;
    if (rule == DAYOFF_KEEP || worktime_is_working_day(s, last))
        return end_of_day(s, last);
    if (rule == DAYOFF_PRECEDING)
        for (int64_t d = last - 1; d >= first; d--)
            if (worktime_is_working_day(s, d))
                return end_of_day(s, d);
    for (int64_t d = last + 1; d < last + MAX_DAYS; d++)
        if (worktime_is_working_day(s, d))
            return end_of_day(s, d);
    no_work(s, from);
    return end_of_day(s, last);
}

int wdur_parse(const char *s, struct wdur *out)
{
    struct wdur d = {0, 0};
    const char *p = s;
    if (s == NULL || *s == '\0')
        return -1;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        char *end;
        double x = strtod(p, &end);
        const char *u = end;
        while (isalpha((unsigned char)*end))
            end++;
        size_t ul = (size_t)(end - u);
        p = end;
        if (ul == 1 && *u == 'd') {
            if (x != (double)(int64_t)x || x > 3650)
                return -1;
            d.days += (int64_t)x;
            continue;
        }
        double mul;
        if (ul == 2 && strncmp(u, "ms", 2) == 0) mul = 1;
        else if (ul == 1 && *u == 's') mul = 1000;
        else if ((ul == 1 && *u == 'm') || (ul == 3 && strncmp(u, "min", 3) == 0)) mul = 60e3;
        else if (ul == 1 && *u == 'h') mul = 3600e3;
        else return -1;
        if (x * mul > 3650.0 * 86400e3)
            return -1;
        d.ms += (int64_t)(x * mul + 0.5);
    }
    *out = d;
    return 0;
}

void wdur_format(const struct wdur *d, char *out, size_t len)
{
    size_t n = 0;
    int64_t ms = d->ms;
    out[0] = '\0';
#define PUT(...) (n += (size_t)snprintf(out + n, n < len ? len - n : 0, __VA_ARGS__))
    if (d->days)
        PUT("%lldd", (long long)d->days);
    if (ms >= 3600000) {
        PUT("%lldh", (long long)(ms / 3600000));
        ms %= 3600000;
    }
    if (ms >= 60000) {
        PUT("%lldm", (long long)(ms / 60000));
        ms %= 60000;
    }
    if (ms >= 1000 && ms % 1000 == 0)
        PUT("%llds", (long long)(ms / 1000));
    else if (ms)
        PUT("%lldms", (long long)ms);
    if (n == 0)
        PUT("0s");
#undef PUT
}
