#include "hours.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "module.h"
#include "tz.h"

static const char *const day_keys[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

struct hours_raw {
    char *time;
    char *lunch;
    char *day[7];
    char *timezone;
    int64_t short_ms;
};

#define HR(f) offsetof(struct hours_raw, f)
static const struct conf_key hours_keys[] = {
    {"time", CT_STR, HR(time), "09:00-18:00", 0, 0, NULL, 0,
     "periods of a working day, e.g. 09:00-13:00, 14:00-18:00"},
    {"lunch", CT_STR, HR(lunch), NULL, 0, 0, NULL, 0,
     "breaks cut out of every working day, e.g. 13:00-13:48"},
    {"mon", CT_STR, HR(day[0]), NULL, 0, 0, NULL, 0, "Monday's periods instead of time, or off"},
    {"tue", CT_STR, HR(day[1]), NULL, 0, 0, NULL, 0, "likewise for Tuesday"},
    {"wed", CT_STR, HR(day[2]), NULL, 0, 0, NULL, 0, "likewise for Wednesday"},
    {"thu", CT_STR, HR(day[3]), NULL, 0, 0, NULL, 0, "likewise for Thursday"},
    {"fri", CT_STR, HR(day[4]), NULL, 0, 0, NULL, 0, "likewise for Friday"},
    {"sat", CT_STR, HR(day[5]), NULL, 0, 0, NULL, 0,
     "likewise for Saturday (worked only when the calendar makes it a working day)"},
    {"sun", CT_STR, HR(day[6]), NULL, 0, 0, NULL, 0, "likewise for Sunday"},
    {"short_by", CT_DURATION, HR(short_ms), "1h", 0, 86400000, NULL, 0,
     "how much earlier a shortened pre-holiday day ends (Labour Code art. 95)"},
    {"timezone", CT_STR, HR(timezone), NULL, 0, 0, NULL, 0,
     "IANA zone of these hours (default [daemon] timezone)"},
    {0},
};

static int parse_hhmm(const char *s, const char **end)
{
    int h = 0, m = 0, n = 0;
    if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n < 4 || m > 59 || h > 24 ||
        (h == 24 && m != 0))
        return -1;
    *end = s + n;
    return h * 60 + m;
}

static int cmp_period(const void *a, const void *b)
{
    return ((const struct hperiod *)a)->from - ((const struct hperiod *)b)->from;
}

int hours_parse_periods(const char *v, struct hperiod *out, int max, char *why, size_t wl)
{
    int n = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        const char *e;
        int from = parse_hhmm(p, &e), to;
        if (from < 0 || *e != '-' || (to = parse_hhmm(e + 1, &e)) < 0 || to <= from ||
            (*e && *e != ',' && *e != ' ')) {
            snprintf(why, wl, "'%s' is not a list of periods like 09:00-13:00, 13:48-18:00", v);
            return -1;
        }
        if (n == max) {
            snprintf(why, wl, "more than %d periods in '%s'", max, v);
            return -1;
        }
        out[n++] = (struct hperiod){(int16_t)from, (int16_t)to};
        p = e;
    }
    qsort(out, (size_t)n, sizeof(*out), cmp_period);
    for (int i = 1; i < n; i++)
        if (out[i].from < out[i - 1].to) {
            snprintf(why, wl, "periods overlap in '%s'", v);
            return -1;
        }
    return n;
}

/* Removes the lunch breaks from a day's periods. */
static int cut(struct hperiod *p, int n, const struct hperiod *lunch, int nl)
{
    struct hperiod out[HOURS_MAX_PERIODS * 2];
    int m = 0;
    for (int i = 0; i < n; i++) {
        int from = p[i].from;
        for (int j = 0; j < nl && from < p[i].to; j++) {
            if (lunch[j].to <= from || lunch[j].from >= p[i].to)
                continue;
            if (lunch[j].from > from && m < (int)(sizeof(out) / sizeof(out[0])))
                out[m++] = (struct hperiod){(int16_t)from, lunch[j].from};
            from = lunch[j].to;
        }
        if (from < p[i].to && m < (int)(sizeof(out) / sizeof(out[0])))
            out[m++] = (struct hperiod){(int16_t)from, p[i].to};
    }
    if (m > HOURS_MAX_PERIODS)
        m = HOURS_MAX_PERIODS;
    memcpy(p, out, (size_t)m * sizeof(*p));
    return m;
}

/* Periods of one key's value into out (count), reporting a bad value once. */
static int parse_key(const char *spec, struct hperiod *out, const char *label, const char *key,
                     struct ini_section *sec, struct diag *d)
{
    char why[256];
    if (strcmp(spec, "off") == 0)
        return 0;
    int n = hours_parse_periods(spec, out, HOURS_MAX_PERIODS, why, sizeof(why));
    if (n < 0) {
        struct ini_entry *e = sec ? ini_lookup(sec, key) : NULL;
        diag_add(d, e ? e->file : NULL, e ? e->line : 0, "%s %s: %s", label, key, why);
        return 0;
    }
    return n;
}

struct hours *hours_build(const char *name, struct ini_section *sec, const char *def_tz,
                          struct diag *d)
{
    struct hours_raw raw = {0};
    char label[160], why[256];
    snprintf(label, sizeof(label), "[hours \"%s\"]", name);
    conf_bind(hours_keys, sec, &raw, label, d);
    if (sec == NULL) {
        /* 4 x 8 h 12 min + 7 h 12 min = 40 h a week (docs/sla.md, Working hours) */
        free(raw.lunch);
        raw.lunch = strdup("13:00-13:48");
        raw.day[4] = strdup("09:00-17:00");
    }
    struct hours *h = calloc(1, sizeof(*h));
    if (h == NULL || (h->name = strdup(name)) == NULL)
        abort();
    h->timezone = strdup(raw.timezone ? raw.timezone : def_tz);
    h->short_min = (int)(raw.short_ms / 60000);
    if (!tz_exists(h->timezone))
        diag_add(d, sec ? sec->file : NULL, sec ? sec->line : 0, "%s timezone: unknown zone "
                 "'%s'", label, h->timezone);
    struct hperiod lunch[HOURS_MAX_PERIODS];
    int nl = 0;
    if (raw.lunch && (nl = hours_parse_periods(raw.lunch, lunch, HOURS_MAX_PERIODS, why,
                                               sizeof(why))) < 0) {
        struct ini_entry *e = sec ? ini_lookup(sec, "lunch") : NULL;
        diag_add(d, e ? e->file : NULL, e ? e->line : 0, "%s lunch: %s", label, why);
        nl = 0;
    }
    struct hperiod base[HOURS_MAX_PERIODS];
    int nb = parse_key(raw.time, base, label, "time", sec, d);
    for (int wd = 0; wd < 7; wd++) {
        int n = nb;
        if (raw.day[wd])
            n = parse_key(raw.day[wd], h->p[wd], label, day_keys[wd], sec, d);
        else
            memcpy(h->p[wd], base, sizeof(base));
        h->n[wd] = (uint8_t)cut(h->p[wd], n, lunch, nl);
    }
    if (hours_week_minutes(h) == 0)
        diag_add(d, sec ? sec->file : NULL, sec ? sec->line : 0,
                 "%s: no working time on any day of the week", label);
    conf_unbind(hours_keys, &raw);
    return h;
}

struct hours *hours_around_the_clock(const char *name, const char *tz)
{
    struct hours *h = calloc(1, sizeof(*h));
    if (h == NULL || (h->name = strdup(name)) == NULL || (h->timezone = strdup(tz)) == NULL)
        abort();
    for (int wd = 0; wd < 7; wd++) {
        h->p[wd][0] = (struct hperiod){0, 24 * 60};
        h->n[wd] = 1;
    }
    return h;
}

void hours_free(struct hours *h)
{
    if (h == NULL)
        return;
    free(h->name);
    free(h->timezone);
    free(h);
}

int hours_day_minutes(const struct hours *h, int wd)
{
    int total = 0;
    for (int i = 0; i < h->n[wd]; i++)
        total += h->p[wd][i].to - h->p[wd][i].from;
    return total;
}

int hours_week_minutes(const struct hours *h)
{
    int total = 0;
    for (int wd = 0; wd < 7; wd++)
        for (int i = 0; i < h->n[wd]; i++)
            total += h->p[wd][i].to - h->p[wd][i].from;
    return total;
}

void hours_reference(void)
{
    conf_print_keys("hours \"NAME\"", hours_keys);
    printf("\n");
}
