#include "calendar.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct cal_date {
    int64_t day;           /* days since 1970-01-01 */
    uint8_t kind;
    bool carry;            /* on a Saturday or Sunday: the next working day is off */
};

struct cal_annual {
    uint8_t mon, mday, kind;
    bool carry;
};

struct cal_year {
    int year;
    bool fallback;         /* no file declares the year: Labour Code rules */
    uint8_t kind[366];     /* by day of year */
};

struct calendar {
    char *name;
    bool every_day;
    int *years;            /* declared complete by a `year` line */
    char **year_file;
    size_t nyears;
    struct cal_date *dates;
    size_t ndates;
    struct cal_annual *annual;
    size_t nannual;
    struct cal_year *cache;
    size_t ncache;
    uint64_t fallback_lookups;   /* calendar_day() answers from fallback years */
};

/* ---- civil dates (Howard Hinnant's days_from_civil / civil_from_days) ---- */

int64_t civil_to_days(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int civil_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday (3 with Monday = 0). */
    int64_t w = (days + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static bool valid_date(int y, int m, int d)
{
    if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1)
        return false;
    int y2, m2, d2;
    civil_from_days(civil_to_days(y, m, d), &y2, &m2, &d2);
    return y2 == y && m2 == m && d2 == d;
}

/* ---- construction ---- */

struct calendar *calendar_new(const char *name, bool every_day_works)
{
    struct calendar *cal = calloc(1, sizeof(*cal));
    if (cal == NULL || (cal->name = strdup(name)) == NULL)
        abort();
    cal->every_day = every_day_works;
    return cal;
}

void calendar_free(struct calendar *cal)
{
    if (cal == NULL)
        return;
    for (size_t i = 0; i < cal->nyears; i++)
        free(cal->year_file[i]);
    free(cal->years);
    free(cal->year_file);
    free(cal->dates);
    free(cal->annual);
    free(cal->cache);
    free(cal->name);
    free(cal);
}

const char *calendar_name(const struct calendar *cal) { return cal->name; }

bool calendar_has_year(const struct calendar *cal, int y)
{
    for (size_t i = 0; i < cal->nyears; i++)
        if (cal->years[i] == y)
            return true;
    return false;
}

static int parse_kind(const char *w)
{
    if (strcmp(w, "off") == 0)
        return CAL_OFF;
    if (strcmp(w, "work") == 0)
        return CAL_WORK;
    if (strcmp(w, "short") == 0)
        return CAL_SHORT;
    return -1;
}

/* Splits the next whitespace-delimited word off *p. */
static char *next_word(char **p)
{
    char *s = *p;
    while (*s && isspace((unsigned char)*s))
        s++;
    if (*s == '\0')
        return NULL;
    char *w = s;
    while (*s && !isspace((unsigned char)*s))
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return w;
}

static void add_date(struct calendar *cal, int64_t day, int kind, bool carry)
{
    struct cal_date *v = realloc(cal->dates, (cal->ndates + 1) * sizeof(*v));
    if (v == NULL)
        abort();
    cal->dates = v;
    cal->dates[cal->ndates++] = (struct cal_date){day, (uint8_t)kind, carry};
}

/* The optional rule after the date: "carry=next-working-day" (a regional
 * holiday law's transfer of a holiday that falls on a weekend).  Leaves *p
 * at the note when the next word is not a rule.  0, or -1 for a bad rule. */
static int parse_carry(char **p, int kind, bool *carry)
{
    char *s = *p;
    while (*s && isspace((unsigned char)*s))
        s++;
    *carry = false;
    if (strncmp(s, "carry=", 6) != 0)
        return 0;
    char *w = next_word(p);
    if (strcmp(w + 6, "next-working-day") != 0 || kind != CAL_OFF)
        return -1;
    *carry = true;
    return 0;
}

/* "2026-01-01" or "2026-01-01..2026-01-08" into a day range. */
static int parse_range(const char *w, int64_t *from, int64_t *to, int *year)
{
    int y1, m1, d1, y2, m2, d2, n = 0;
    if (sscanf(w, "%4d-%2d-%2d%n", &y1, &m1, &d1, &n) != 3 || !valid_date(y1, m1, d1))
        return -1;
    *from = *to = civil_to_days(y1, m1, d1);
    *year = y1;
    if (w[n] == '\0')
        return 0;
    int k = 0;
    if (strncmp(w + n, "..", 2) != 0 ||
        sscanf(w + n + 2, "%4d-%2d-%2d%n", &y2, &m2, &d2, &k) != 3 || w[n + 2 + k] != '\0' ||
        !valid_date(y2, m2, d2) || y2 != y1)
        return -1;
    *to = civil_to_days(y2, m2, d2);
    return *to >= *from ? 0 : -1;
}

static int parse_line(struct calendar *cal, char *s, const char *path, int line, int *year,
                      int *minyear, int *maxyear, struct diag *d)
{
    char *p = s;
    char *w = next_word(&p);
    if (w == NULL || w[0] == '#')
        return 0;
    if (strcmp(w, "year") == 0) {
        char *y = next_word(&p);
        char *end = NULL;
        long v = y ? strtol(y, &end, 10) : 0;
        if (y == NULL || *end != '\0' || v < 1900 || v > 9999 || next_word(&p)) {
            diag_add(d, path, line, "calendar: expected 'year YYYY'");
            return 1;
        }
        if (*year) {
            diag_add(d, path, line, "calendar: a file declares one year; this one already "
                     "declared %d", *year);
            return 1;
        }
        if (calendar_has_year(cal, (int)v)) {
            for (size_t i = 0; i < cal->nyears; i++)
                if (cal->years[i] == v)
                    diag_add(d, path, line, "calendar %s: year %ld is already declared by %s",
                             cal->name, v, cal->year_file[i]);
            return 1;
        }
        *year = (int)v;
        return 0;
    }
    bool annual = strcmp(w, "annual") == 0;
    if (annual)
        w = next_word(&p);
    int kind = w ? parse_kind(w) : -1;
    char *date = next_word(&p);
    if (kind < 0 || date == NULL) {
        diag_add(d, path, line, "calendar: expected 'off|work|short YYYY-MM-DD[..YYYY-MM-DD] "
                 "[carry=next-working-day] [note]', 'annual off|work|short MM-DD "
                 "[carry=next-working-day] [note]' or 'year YYYY'");
        return 1;
    }
    bool carry;
    if (parse_carry(&p, kind, &carry) != 0) {
        diag_add(d, path, line, "calendar: the only rule is carry=next-working-day, on an "
                 "'off' line");
        return 1;
    }
    if (annual) {
        int m, dd, n = 0;
        if (sscanf(date, "%2d-%2d%n", &m, &dd, &n) != 2 || date[n] != '\0' ||
            !valid_date(2000, m, dd)) {
            diag_add(d, path, line, "calendar: '%s' is not a month-day like 10-05", date);
            return 1;
        }
        struct cal_annual *v = realloc(cal->annual, (cal->nannual + 1) * sizeof(*v));
        if (v == NULL)
            abort();
        cal->annual = v;
        cal->annual[cal->nannual++] = (struct cal_annual){(uint8_t)m, (uint8_t)dd,
                                                           (uint8_t)kind, carry};
        return 0;
    }
    int64_t from, to;
    int y;
    if (parse_range(date, &from, &to, &y) != 0) {
        diag_add(d, path, line, "calendar: '%s' is not a date or a range within one year "
                 "(2026-01-01 or 2026-01-01..2026-01-08)", date);
        return 1;
    }
    if (y < *minyear)
        *minyear = y;
    if (y > *maxyear)
        *maxyear = y;
    for (int64_t day = from; day <= to; day++)
        add_date(cal, day, kind, carry);
    return 0;
}

int calendar_load_file(struct calendar *cal, const char *path, struct diag *d)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        diag_add(d, path, 0, "calendar %s: cannot read: %s", cal->name, strerror(errno));
        return 1;
    }
    char buf[1024];
    int line = 0, errors = 0, year = 0, minyear = 10000, maxyear = 0;
    while (fgets(buf, sizeof(buf), f)) {
        line++;
        if (strchr(buf, '\n') == NULL && !feof(f)) {
            diag_add(d, path, line, "calendar: line longer than %zu bytes", sizeof(buf) - 2);
            errors++;
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        errors += parse_line(cal, buf, path, line, &year, &minyear, &maxyear, d);
    }
    fclose(f);
    if (year && (minyear < year || maxyear > year)) {
        diag_add(d, path, 0, "calendar: the file declares year %d but lists dates of %d", year,
                 minyear < year ? minyear : maxyear);
        errors++;
    }
    if (year && errors == 0) {
        cal->years = realloc(cal->years, (cal->nyears + 1) * sizeof(int));
        cal->year_file = realloc(cal->year_file, (cal->nyears + 1) * sizeof(char *));
        if (cal->years == NULL || cal->year_file == NULL)
            abort();
        cal->years[cal->nyears] = year;
        cal->year_file[cal->nyears++] = strdup(path);
    }
    return errors;
}

/* ---- one year's table ---- */

/* Labour Code art. 112 non-working holidays. */
static const struct {
    uint8_t m, d;
} labour_code_holidays[] = {
    {1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 6}, {1, 7}, {1, 8},
    {2, 23}, {3, 8}, {5, 1}, {5, 9}, {6, 12}, {11, 4},
};
#define NLC (sizeof(labour_code_holidays) / sizeof(labour_code_holidays[0]))

/* A year with no decree loaded: fixed holidays; one on a weekend gives the
 * next working day off (art. 112: not for the January holidays, which the
 * decree places); the working day right before a holiday is an hour shorter
 * (art. 95), including 31 December before the new year's holidays. */
static void labour_code_fallback(struct cal_year *cy, int64_t jan1, int ndays)
{
    for (size_t i = 0; i < NLC; i++) {
        int64_t day = civil_to_days(cy->year, labour_code_holidays[i].m,
                                    labour_code_holidays[i].d);
        cy->kind[day - jan1] = CAL_OFF;
    }
    for (size_t i = 0; i < NLC; i++) {
        if (labour_code_holidays[i].m == 1)
            continue;
        int64_t day = civil_to_days(cy->year, labour_code_holidays[i].m,
                                    labour_code_holidays[i].d);
        if (civil_weekday(day) < 5)
            continue;
        for (int64_t k = day + 1; k - jan1 < ndays; k++)
            if (cy->kind[k - jan1] == CAL_WORK) {
                cy->kind[k - jan1] = CAL_OFF;
                break;
            }
    }
    for (size_t i = 0; i < NLC; i++) {
        int64_t prev = civil_to_days(cy->year, labour_code_holidays[i].m,
                                     labour_code_holidays[i].d) - 1;
        if (prev >= jan1 && cy->kind[prev - jan1] == CAL_WORK)
            cy->kind[prev - jan1] = CAL_SHORT;
    }
    if (cy->kind[ndays - 1] == CAL_WORK)
        cy->kind[ndays - 1] = CAL_SHORT;
}

/* A holiday marked carry= that falls on a Saturday or Sunday gives the next
 * working day off, as the Labour Code (art. 112 ch. 2) does for federal
 * holidays and Adygea's holiday law does for the Republic's (docs/sla.md).
 * In date order, so two carried holidays take two days.  The carried day
 * stays within the year: no regional holiday falls in late December. */
static void apply_carries(const struct calendar *cal, struct cal_year *cy, int64_t jan1,
                          int ndays)
{
    bool carried[366] = {false};
    for (size_t i = 0; i < cal->nannual; i++) {
        const struct cal_annual *a = &cal->annual[i];
        if (a->carry && valid_date(cy->year, a->mon, a->mday))
            carried[civil_to_days(cy->year, a->mon, a->mday) - jan1] = true;
    }
    for (size_t i = 0; i < cal->ndates; i++)
        if (cal->dates[i].carry && cal->dates[i].day >= jan1 &&
            cal->dates[i].day < jan1 + ndays)
            carried[cal->dates[i].day - jan1] = true;
    for (int i = 0; i < ndays; i++) {
        if (!carried[i] || civil_weekday(jan1 + i) < 5)
            continue;
        for (int k = i + 1; k < ndays; k++)
            if (cy->kind[k] != CAL_OFF) {
                cy->kind[k] = CAL_OFF;
                break;
            }
    }
}

static struct cal_year *build_year(struct calendar *cal, int y)
{
    struct cal_year *v = realloc(cal->cache, (cal->ncache + 1) * sizeof(*v));
    if (v == NULL)
        abort();
    cal->cache = v;
    struct cal_year *cy = &cal->cache[cal->ncache++];
    memset(cy, 0, sizeof(*cy));
    cy->year = y;
    int64_t jan1 = civil_to_days(y, 1, 1);
    int ndays = (int)(civil_to_days(y + 1, 1, 1) - jan1);
    for (int i = 0; i < ndays; i++)
        cy->kind[i] = !cal->every_day && civil_weekday(jan1 + i) >= 5 ? CAL_OFF : CAL_WORK;
    if (cal->every_day)
        return cy;
    if (!calendar_has_year(cal, y)) {
        cy->fallback = true;
        labour_code_fallback(cy, jan1, ndays);
        log_warn("calendar %s: no production calendar file declares %d; using the Labour "
                 "Code's fixed holidays (art. 112) without the government's transfers for that "
                 "year; add a file with 'year %d' to config/calendar/", cal->name, y, y);
    }
    for (size_t i = 0; i < cal->nannual; i++) {
        const struct cal_annual *a = &cal->annual[i];
        if (valid_date(y, a->mon, a->mday))
            cy->kind[civil_to_days(y, a->mon, a->mday) - jan1] = a->kind;
    }
    for (size_t i = 0; i < cal->ndates; i++)
        if (cal->dates[i].day >= jan1 && cal->dates[i].day < jan1 + ndays)
            cy->kind[cal->dates[i].day - jan1] = cal->dates[i].kind;
    apply_carries(cal, cy, jan1, ndays);
    return cy;
}

enum cal_day calendar_day(struct calendar *cal, int y, int m, int d)
{
    struct cal_year *cy = NULL;
    for (size_t i = 0; i < cal->ncache; i++)
        if (cal->cache[i].year == y) {
            cy = &cal->cache[i];
            break;
        }
    if (cy == NULL)
        cy = build_year(cal, y);
    if (cy->fallback)
        cal->fallback_lookups++;
    return (enum cal_day)cy->kind[civil_to_days(y, m, d) - civil_to_days(y, 1, 1)];
}

/* ---- which years are known ---- */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

size_t calendar_years(const struct calendar *cal, int *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < cal->nyears && n < max; i++)
        out[n++] = cal->years[i];
    qsort(out, n, sizeof(*out), cmp_int);
    return n;
}

size_t calendar_fallback_years(const struct calendar *cal, int *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < cal->ncache && n < max; i++)
        if (cal->cache[i].fallback)
            out[n++] = cal->cache[i].year;
    qsort(out, n, sizeof(*out), cmp_int);
    return n;
}

uint64_t calendar_fallback_lookups(const struct calendar *cal) { return cal->fallback_lookups; }

bool calendar_every_day(const struct calendar *cal) { return cal->every_day; }
