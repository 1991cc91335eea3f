/* Production calendars, working hours and deadline arithmetic: the shipped
 * 2026 calendar, the Labour Code fallback for a year without a file,
 * regional days, lunch breaks, shortened days, year ends and time zones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "hours.h"
#include "test.h"
#include "units.h"
#include "worktime.h"

static char tmpdir[256];

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static bool diag_has(const struct diag *d, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->msg[i], needle))
            return true;
    printf("# no diagnostic contains \"%s\"; got:\n", needle);
    for (size_t i = 0; i < d->n; i++)
        printf("#   %s\n", d->msg[i]);
    return false;
}

/* The calendar of the Adygea example, from the files the project ships. */
static struct calendar *adygea(void)
{
    struct calendar *cal = calendar_new("adygea", false);
    struct diag d = {0};
    const char *files[] = {"ru-2026.conf", "ru-ad.conf", "ru-ad-2026.conf"};
    for (size_t i = 0; i < 3; i++) {
        char p[1024];
        snprintf(p, sizeof(p), "%s/config/calendar/%s", APD_SOURCE_ROOT, files[i]);
        calendar_load_file(cal, p, &d);
    }
    for (size_t i = 0; i < d.n; i++)
        printf("# %s\n", d.msg[i]);
    CHECK_INT(d.n, 0);
    diag_free(&d);
    return cal;
}

static struct hours *standard(void)
{
    struct diag d = {0};
    struct ini *ini = ini_new();
    struct ini_section *s = ini_add_section(ini, "hours", "standard", "t.conf", 1);
    ini_add_entry(ini, s, "time", "09:00-18:00", "t.conf", 2);
    ini_add_entry(ini, s, "fri", "09:00-17:00", "t.conf", 3);
    ini_add_entry(ini, s, "lunch", "13:00-13:48", "t.conf", 4);
    struct hours *h = hours_build("standard", s, "Europe/Moscow", &d);
    CHECK_INT(d.n, 0);
    diag_free(&d);
    ini_free(ini);
    return h;
}

static int64_t at(const char *iso)
{
    int64_t ms = 0;
    if (parse_iso8601(iso, "Europe/Moscow", &ms) != 0)
        printf("# bad time in test: %s\n", iso);
    return ms;
}

static const char *iso(int64_t ms)
{
    static char buf[8][48];
    static int k;
    k = (k + 1) % 8;
    format_iso8601(ms, "Europe/Moscow", buf[k], sizeof(buf[k]));
    buf[k][16] = '\0';   /* minutes are enough: "2026-11-30T17:48" */
    return buf[k];
}

#define H(n) ((int64_t)(n) * 3600000)
#define M(n) ((int64_t)(n) * 60000)

TEST(calendar_2026_from_the_decree)
{
    struct calendar *cal = adygea();
    CHECK(calendar_has_year(cal, 2026));
    CHECK_INT(calendar_day(cal, 2026, 1, 1), CAL_OFF);
    CHECK_INT(calendar_day(cal, 2026, 1, 9), CAL_OFF);      /* transferred from 3 January */
    CHECK_INT(calendar_day(cal, 2026, 1, 12), CAL_WORK);
    CHECK_INT(calendar_day(cal, 2026, 2, 23), CAL_OFF);
    CHECK_INT(calendar_day(cal, 2026, 3, 9), CAL_OFF);      /* 8 March is a Sunday */
    CHECK_INT(calendar_day(cal, 2026, 4, 30), CAL_SHORT);
    CHECK_INT(calendar_day(cal, 2026, 5, 8), CAL_SHORT);
    CHECK_INT(calendar_day(cal, 2026, 5, 11), CAL_OFF);     /* 9 May is a Saturday */
    CHECK_INT(calendar_day(cal, 2026, 6, 11), CAL_SHORT);
    CHECK_INT(calendar_day(cal, 2026, 11, 3), CAL_SHORT);
    CHECK_INT(calendar_day(cal, 2026, 11, 4), CAL_OFF);
    CHECK_INT(calendar_day(cal, 2026, 12, 31), CAL_OFF);    /* transferred from 4 January */
    CHECK_INT(calendar_day(cal, 2026, 11, 28), CAL_OFF);    /* a Saturday */
    CHECK_INT(calendar_day(cal, 2026, 11, 30), CAL_WORK);
    /* Adygea's own days */
    CHECK_INT(calendar_day(cal, 2026, 10, 5), CAL_OFF);     /* Day of the Republic */
    CHECK_INT(calendar_day(cal, 2026, 3, 20), CAL_OFF);     /* Uraza Bayram */
    CHECK_INT(calendar_day(cal, 2026, 5, 27), CAL_OFF);     /* Kurban Bayram */
    CHECK_INT(calendar_day(cal, 2026, 4, 21), CAL_OFF);     /* Radonitsa (the 2026 decree) */
    CHECK_INT(calendar_day(cal, 2026, 4, 22), CAL_WORK);
    int years[4];
    CHECK_INT(calendar_years(cal, years, 4), 1);
    CHECK_INT(years[0], 2026);
    CHECK_INT(calendar_fallback_years(cal, years, 4), 0);
    CHECK_INT(calendar_fallback_lookups(cal), 0);
    calendar_free(cal);
}

/* Adygea's holiday law: 5 October on a Saturday or Sunday gives the next
 * working day off (5 Oct 2025, a Sunday, made Monday 6 Oct a day off). */
TEST(regional_holiday_on_a_weekend_is_carried)
{
    struct calendar *cal = adygea();
    CHECK_INT(calendar_day(cal, 2025, 10, 5), CAL_OFF);     /* Sunday */
    CHECK_INT(calendar_day(cal, 2025, 10, 6), CAL_OFF);     /* carried */
    CHECK_INT(calendar_day(cal, 2025, 10, 7), CAL_WORK);
    CHECK_INT(calendar_day(cal, 2030, 10, 5), CAL_OFF);     /* Saturday */
    CHECK_INT(calendar_day(cal, 2030, 10, 7), CAL_OFF);     /* carried to Monday */
    CHECK_INT(calendar_day(cal, 2030, 10, 8), CAL_WORK);
    CHECK_INT(calendar_day(cal, 2026, 10, 6), CAL_WORK);    /* a Monday holiday: nothing */
    int years[8];
    CHECK_INT(calendar_fallback_years(cal, years, 8), 2);   /* the lookups above */
    CHECK_INT(years[0], 2025);
    CHECK_INT(years[1], 2030);
    CHECK(calendar_fallback_lookups(cal) >= 6);
    calendar_free(cal);

    /* two carried holidays on one weekend take two working days, in order */
    cal = calendar_new("t", false);
    struct diag d = {0};
    calendar_load_file(cal, write_file("carry.conf",
                                       "off 2030-10-05 carry=next-working-day  one\n"
                                       "off 2030-10-06 carry=next-working-day two\n"
                                       "off 2030-10-08 no rule, a note\n"), &d);
    CHECK_INT(d.n, 0);
    CHECK_INT(calendar_day(cal, 2030, 10, 7), CAL_OFF);
    CHECK_INT(calendar_day(cal, 2030, 10, 8), CAL_OFF);
    CHECK_INT(calendar_day(cal, 2030, 10, 9), CAL_OFF);
    CHECK_INT(calendar_day(cal, 2030, 10, 10), CAL_WORK);
    calendar_load_file(cal, write_file("bad.conf", "annual off 10-05 carry=previous\n"
                                       "work 2030-10-12 carry=next-working-day\n"), &d);
    CHECK(diag_has(&d, "bad.conf:1: calendar: the only rule is carry=next-working-day"));
    CHECK(diag_has(&d, "bad.conf:2: calendar: the only rule"));
    diag_free(&d);
    calendar_free(cal);
}

TEST(labour_code_fallback_for_a_year_without_a_file)
{
    struct calendar *cal = adygea();
    CHECK(!calendar_has_year(cal, 2027));
    for (int d = 1; d <= 8; d++)
        CHECK_INT(calendar_day(cal, 2027, 1, d), CAL_OFF);
    CHECK_INT(calendar_day(cal, 2027, 1, 11), CAL_WORK);
    CHECK_INT(calendar_day(cal, 2027, 2, 22), CAL_SHORT);   /* before Tuesday 23 February */
    CHECK_INT(calendar_day(cal, 2027, 2, 23), CAL_OFF);
    CHECK_INT(calendar_day(cal, 2027, 3, 5), CAL_WORK);     /* Friday; 8 March is a Monday */
    CHECK_INT(calendar_day(cal, 2027, 3, 8), CAL_OFF);
    CHECK_INT(calendar_day(cal, 2027, 4, 30), CAL_SHORT);   /* before Saturday 1 May */
    CHECK_INT(calendar_day(cal, 2027, 5, 3), CAL_OFF);      /* 1 May moved to Monday */
    CHECK_INT(calendar_day(cal, 2027, 5, 10), CAL_OFF);     /* 9 May (Sunday) moved */
    CHECK_INT(calendar_day(cal, 2027, 6, 14), CAL_OFF);     /* 12 June (Saturday) moved */
    CHECK_INT(calendar_day(cal, 2027, 11, 3), CAL_SHORT);
    CHECK_INT(calendar_day(cal, 2027, 11, 4), CAL_OFF);
    CHECK_INT(calendar_day(cal, 2027, 12, 31), CAL_SHORT);  /* before the new year */
    CHECK_INT(calendar_day(cal, 2027, 10, 5), CAL_OFF);     /* the regional annual day */
    calendar_free(cal);
}

TEST(calendar_file_errors_name_file_and_line)
{
    struct calendar *cal = calendar_new("x", false);
    struct diag d = {0};
    const char *a = write_file("a.conf", "year 2026\noff 2026-02-30\nholiday 2026-01-01\n"
                                         "off 2025-12-31\nannual off 13-01\n");
    calendar_load_file(cal, a, &d);
    CHECK(diag_has(&d, "a.conf:2: calendar: '2026-02-30' is not a date"));
    CHECK(diag_has(&d, "a.conf:3: calendar: expected"));
    CHECK(diag_has(&d, "a.conf:5: calendar: '13-01' is not a month-day"));
    CHECK(diag_has(&d, "declares year 2026 but lists dates of 2025"));
    CHECK(!calendar_has_year(cal, 2026));   /* a broken file declares nothing */
    diag_free(&d);
    const char *b = write_file("b.conf", "year 2026\nshort 2026-04-30\n");
    const char *c = write_file("c.conf", "year 2026\n");
    calendar_load_file(cal, b, &d);
    CHECK_INT(d.n, 0);
    calendar_load_file(cal, c, &d);
    CHECK(diag_has(&d, "c.conf:1: calendar x: year 2026 is already declared by"));
    diag_free(&d);
    calendar_free(cal);
}

TEST(hours_periods_lunch_and_errors)
{
    struct hours *h = standard();
    CHECK_INT(h->n[0], 2);                               /* Monday: two periods */
    CHECK_INT(h->p[0][0].from, 9 * 60);
    CHECK_INT(h->p[0][0].to, 13 * 60);
    CHECK_INT(h->p[0][1].from, 13 * 60 + 48);
    CHECK_INT(h->p[0][1].to, 18 * 60);
    CHECK_INT(h->p[4][1].to, 17 * 60);                   /* Friday */
    CHECK_INT(hours_day_minutes(h, 0), 492);
    CHECK_INT(hours_day_minutes(h, 4), 432);
    /* 40 h Monday to Friday; the calendar rules out weekends */
    CHECK_INT(hours_week_minutes(h) - 2 * 492, 40 * 60);
    hours_free(h);
    struct hperiod p[8];
    char why[128];
    CHECK_INT(hours_parse_periods("14:00-18:00, 08:00-12:00", p, 8, why, sizeof(why)), 2);
    CHECK_INT(p[0].from, 8 * 60);
    CHECK_INT(hours_parse_periods("09:00-13:00, 12:00-18:00", p, 8, why, sizeof(why)), -1);
    CHECK(strstr(why, "overlap") != NULL);
    CHECK_INT(hours_parse_periods("18:00-09:00", p, 8, why, sizeof(why)), -1);
    CHECK_INT(hours_parse_periods("00:00-24:00", p, 8, why, sizeof(why)), 1);
    CHECK_INT(hours_parse_periods("9-18", p, 8, why, sizeof(why)), -1);

    struct diag d = {0};
    struct ini *ini = ini_new();
    struct ini_section *s = ini_add_section(ini, "hours", "bad", "t.conf", 1);
    ini_add_entry(ini, s, "time", "off", "t.conf", 2);
    ini_add_entry(ini, s, "lunch", "lunchtime", "t.conf", 3);
    ini_add_entry(ini, s, "timezone", "Mars/Olympus", "t.conf", 4);
    h = hours_build("bad", s, "Europe/Moscow", &d);
    CHECK(diag_has(&d, "t.conf:3: [hours \"bad\"] lunch:"));
    CHECK(diag_has(&d, "unknown zone 'Mars/Olympus'"));
    CHECK(diag_has(&d, "no working time on any day of the week"));
    hours_free(h);
    diag_free(&d);
    ini_free(ini);
}

TEST(add_working_hours_across_weekends_lunch_and_holidays)
{
    struct calendar *cal = adygea();
    struct hours *h = standard();
    struct sched s = {cal, h};
    /* Monday 10:00 + 8h: 3h before lunch, 4h12 after, 48 minutes on Tuesday */
    CHECK_STR(iso(worktime_add(&s, at("2026-11-30T10:00"), H(8))), "2026-12-01T09:48");
    /* ending exactly at the end of a day stays on that day */
    CHECK_STR(iso(worktime_add(&s, at("2026-11-30T09:00"), M(492))), "2026-11-30T18:00");
    /* inside the lunch break: the clock starts at 13:48 */
    CHECK_STR(iso(worktime_add(&s, at("2026-11-30T13:10"), H(1))), "2026-11-30T14:48");
    /* Friday after hours, and the weekend, count nothing */
    CHECK_STR(iso(worktime_add(&s, at("2026-11-27T17:00"), H(8))), "2026-11-30T17:48");
    CHECK_STR(iso(worktime_add(&s, at("2026-11-29T10:00"), H(8))), "2026-11-30T17:48");
    /* a shortened pre-holiday Friday (8 May ends 16:00), then 9-11 May off */
    CHECK_STR(iso(worktime_add(&s, at("2026-05-08T15:00"), H(2))), "2026-05-12T10:00");
    /* the regional day of the Republic, Monday 5 October */
    CHECK_STR(iso(worktime_add(&s, at("2026-10-02T16:00"), H(2))), "2026-10-06T10:00");
    /* Radonitsa, Tuesday 21 April 2026 (decree of the Head of the Republic) */
    CHECK_STR(iso(worktime_add(&s, at("2026-04-20T16:00"), H(8))), "2026-04-22T15:48");
    /* 5 October 2030 is a Saturday: Monday 7 October is off too */
    CHECK_STR(iso(worktime_add(&s, at("2030-10-04T16:00"), H(8))), "2030-10-08T16:48");
    /* the year end: 31 December 2026 is off, 2027 falls back to the Labour Code */
    CHECK_STR(iso(worktime_add(&s, at("2026-12-30T17:00"), H(2))), "2027-01-11T10:00");
    /* backwards */
    CHECK_STR(iso(worktime_add(&s, at("2026-11-30T09:30"), -H(1))), "2026-11-27T16:30");
    CHECK_STR(iso(worktime_add(&s, at("2026-11-30T14:00"), -M(30))), "2026-11-30T12:42");
    calendar_free(cal);
    hours_free(h);
}

TEST(elapsed_working_time_is_the_inverse_of_add)
{
    struct calendar *cal = adygea();
    struct hours *h = standard();
    struct sched s = {cal, h};
    CHECK_INT(worktime_between(&s, at("2026-11-27T12:00"), at("2026-11-30T12:00")),
              H(1) + H(3) + M(12) + H(3));
    CHECK_INT(worktime_between(&s, at("2026-11-28T10:00"), at("2026-11-29T20:00")), 0);
    CHECK_INT(worktime_between(&s, at("2026-11-30T12:00"), at("2026-11-27T12:00")),
              -(H(1) + H(3) + M(12) + H(3)));
    /* a whole 2026: 247 working days by the decree, less Adygea's four */
    int64_t year = worktime_between(&s, at("2026-01-01T00:00"), at("2027-01-01T00:00"));
    CHECK(year > H(1800) && year < H(2000));
    srand(42);
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t from = at("2026-01-01T00:00") + (int64_t)(rand() % (400 * 24)) * M(60) +
                       (rand() % 60) * 60000;
        int64_t w = (int64_t)(rand() % (60 * 24 * 7)) * 60000 + 1;
        int64_t due = worktime_add(&s, from, w);
        int64_t back = worktime_add(&s, due, -w);
        if (worktime_between(&s, from, due) != w || back != worktime_next(&s, from)) {
            if (bad++ < 3)
                printf("# from %s + %lld ms = %s, back %s, between %lld\n", iso(from),
                       (long long)w, iso(due), iso(back),
                       (long long)worktime_between(&s, from, due));
        }
    }
    CHECK_INT(bad, 0);
    calendar_free(cal);
    hours_free(h);
}

TEST(working_days_keep_the_time_of_day)
{
    struct calendar *cal = adygea();
    struct hours *h = standard();
    struct sched s = {cal, h};
    CHECK_STR(iso(worktime_add_days(&s, at("2026-11-27T12:00"), 1)), "2026-11-30T12:00");
    CHECK_STR(iso(worktime_add_days(&s, at("2026-11-30T10:30"), 3)), "2026-12-03T10:30");
    /* received on a Saturday: the clock starts Monday 09:00 */
    CHECK_STR(iso(worktime_add_days(&s, at("2026-11-28T10:00"), 1)), "2026-12-01T09:00");
    /* after hours: from the next morning */
    CHECK_STR(iso(worktime_add_days(&s, at("2026-11-30T20:00"), 1)), "2026-12-02T09:00");
    /* Thursday 17:30 + 1 day is no later than Friday's end of work */
    CHECK_STR(iso(worktime_add_days(&s, at("2026-12-03T17:30"), 1)), "2026-12-04T17:00");
    /* holidays in between: 30 April + 1 day skips 1-3 May */
    CHECK_STR(iso(worktime_add_days(&s, at("2026-04-29T11:00"), 2)), "2026-05-04T11:00");
    /* mixed: 1d4h */
    struct wdur d;
    CHECK_INT(wdur_parse("1d4h", &d), 0);
    CHECK_STR(iso(worktime_add_dur(&s, at("2026-11-30T10:00"), &d, false)), "2026-12-01T14:48");
    /* calendar time: the same local time N days later, plus the rest */
    CHECK_INT(wdur_parse("30d", &d), 0);
    CHECK_STR(iso(worktime_add_dur(&s, at("2026-11-30T10:00"), &d, true)), "2026-12-30T10:00");
    CHECK_INT(wdur_parse("2h", &d), 0);
    CHECK_STR(iso(worktime_add_dur(&s, at("2026-11-28T23:00"), &d, true)), "2026-11-29T01:00");
    calendar_free(cal);
    hours_free(h);
}

TEST(time_zones_and_calendar_none)
{
    struct calendar *none = calendar_new("none", true);
    struct diag d = {0};
    struct ini *ini = ini_new();
    struct ini_section *sec = ini_add_section(ini, "hours", "berlin", "t.conf", 1);
    ini_add_entry(ini, sec, "time", "00:00-24:00", "t.conf", 2);
    ini_add_entry(ini, sec, "timezone", "Europe/Berlin", "t.conf", 3);
    struct hours *h = hours_build("berlin", sec, "UTC", &d);
    CHECK_INT(d.n, 0);
    struct sched s = {none, h};
    int64_t a, b;
    /* the day summer time starts has 23 hours */
    parse_iso8601("2026-03-29T00:00", "Europe/Berlin", &a);
    parse_iso8601("2026-03-30T00:00", "Europe/Berlin", &b);
    CHECK_INT(worktime_between(&s, a, b), H(23));
    CHECK_INT(worktime_add(&s, a, H(23)), b);
    /* every day works with calendar none, weekends and holidays included */
    CHECK_INT(calendar_day(none, 2026, 1, 1), CAL_WORK);
    CHECK_INT(calendar_day(none, 2026, 11, 29), CAL_WORK);
    hours_free(h);
    calendar_free(none);
    diag_free(&d);
    ini_free(ini);
}

TEST(durations)
{
    struct wdur d;
    char buf[32];
    CHECK_INT(wdur_parse("8h", &d), 0);
    CHECK(d.days == 0 && d.ms == H(8));
    CHECK_INT(wdur_parse("3d", &d), 0);
    CHECK(d.days == 3 && d.ms == 0);
    CHECK_INT(wdur_parse("1d4h30m", &d), 0);
    CHECK(d.days == 1 && d.ms == H(4) + M(30));
    wdur_format(&d, buf, sizeof(buf));
    CHECK_STR(buf, "1d4h30m");
    CHECK_INT(wdur_parse("1.5h", &d), 0);
    CHECK(d.ms == M(90));
    CHECK_INT(wdur_parse("250ms", &d), 0);
    wdur_format(&d, buf, sizeof(buf));
    CHECK_STR(buf, "250ms");
    CHECK_INT(wdur_parse("", &d), -1);
    CHECK_INT(wdur_parse("-1h", &d), -1);
    CHECK_INT(wdur_parse("1.5d", &d), -1);
    CHECK_INT(wdur_parse("1w", &d), -1);
    CHECK_INT(wdur_parse("8", &d), -1);
    CHECK_INT(wdur_parse("8 hours", &d), -1);
}

/* 59-FZ: days from the day after registration, due at the end of the last
 * day; a last day off moves to the working day before (or after). */
static const char *iso_s(int64_t ms)
{
    static char buf[48];
    format_iso8601(ms, "Europe/Moscow", buf, sizeof(buf));
    return buf;
}

TEST(legal_term_59fz_counts_days_from_the_next_day_to_the_end_of_the_last)
{
    struct calendar *cal = adygea();
    struct hours *h = standard();
    struct sched s = {cal, h};
    /* registered Wednesday 2 December 2026 at 10:00: day 1 is 3 December,
     * day 30 is Friday 1 January 2027, a holiday; 31 December 2026 is a
     * transferred day off (decree № 1466): due at the end of 30 December */
    CHECK_STR(iso_s(worktime_legal_end(&s, at("2026-12-02T10:00"), 30, DAYOFF_PRECEDING)),
              "2026-12-30T23:59:59.999+03:00");
    CHECK_STR(iso_s(worktime_legal_end(&s, at("2026-12-02T10:00"), 30, DAYOFF_KEEP)),
              "2027-01-01T23:59:59.999+03:00");
    /* following: the first working day of 2027 (Labour Code fallback: 11 January) */
    CHECK_STR(iso_s(worktime_legal_end(&s, at("2026-12-02T10:00"), 30, DAYOFF_FOLLOWING)),
              "2027-01-11T23:59:59.999+03:00");
    /* a working last day: its end, whatever time of day the term began */
    CHECK_STR(iso_s(worktime_legal_end(&s, at("2026-11-30T23:30"), 30, DAYOFF_PRECEDING)),
              "2026-12-30T23:59:59.999+03:00");
    /* 7 days to forward (art. 8 ch. 3) from Friday 27 November: Friday 4 December */
    CHECK_STR(iso_s(worktime_legal_end(&s, at("2026-11-27T17:00"), 7, DAYOFF_PRECEDING)),
              "2026-12-04T23:59:59.999+03:00");
    /* 3 days to register from Thursday: Sunday, so Friday; never before day one */
    CHECK_STR(iso_s(worktime_legal_end(&s, at("2026-11-26T12:00"), 3, DAYOFF_PRECEDING)),
              "2026-11-27T23:59:59.999+03:00");
    CHECK_STR(iso_s(worktime_legal_end(&s, at("2026-11-27T12:00"), 1, DAYOFF_PRECEDING)),
              "2026-11-30T23:59:59.999+03:00");
    calendar_free(cal);
    hours_free(h);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/apd-worktime-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(calendar_2026_from_the_decree);
    RUN(regional_holiday_on_a_weekend_is_carried);
    RUN(labour_code_fallback_for_a_year_without_a_file);
    RUN(calendar_file_errors_name_file_and_line);
    RUN(hours_periods_lunch_and_errors);
    RUN(add_working_hours_across_weekends_lunch_and_holidays);
    RUN(elapsed_working_time_is_the_inverse_of_add);
    RUN(working_days_keep_the_time_of_day);
    RUN(time_zones_and_calendar_none);
    RUN(durations);
    RUN(legal_term_59fz_counts_days_from_the_next_day_to_the_end_of_the_last);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return test_done();
}
