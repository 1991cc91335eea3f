#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zone {
    char *name;
    size_t n;            /* transitions */
    int64_t *when;       /* transition instants, ascending */
    uint8_t *idx;        /* type index per transition */
    int32_t *types;      /* UTC offsets of the local time types */
    size_t ntypes;
    int32_t initial;     /* offset before the first transition */
    struct zone *next;
};

static struct zone *zones;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Reads the version-2 (64-bit) body of a TZif file; version-1 data precede it. */
static bool zone_parse(struct zone *z, const unsigned char *d, size_t len)
{
    if (len < 44 || memcmp(d, "TZif", 4) != 0)
        return false;
    int version = d[4];
    const unsigned char *h = d;
    size_t tsize = 4;
    if (version >= '2') {
        uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28);
        uint32_t timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
        size_t v1 = 44 + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
        if (v1 + 44 > len)
            return false;
        h = d + v1;
        if (memcmp(h, "TZif", 4) != 0)
            return false;
        tsize = 8;
    }
    uint32_t timecnt = be32(h + 32), typecnt = be32(h + 36);
    const unsigned char *p = h + 44;
    if (typecnt == 0 || (size_t)(p - d) + timecnt * (tsize + 1) + typecnt * 6 > len)
        return false;
    z->n = timecnt;
    z->when = calloc(timecnt + 1, sizeof(int64_t));
    z->idx = calloc(timecnt + 1, 1);
    z->types = calloc(typecnt, sizeof(int32_t));
    if (!z->when || !z->idx || !z->types)
        return false;
    for (uint32_t i = 0; i < timecnt; i++)
        z->when[i] = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
    p += timecnt * tsize;
    memcpy(z->idx, p, timecnt);
    p += timecnt;
    for (uint32_t i = 0; i < typecnt; i++)
        z->types[i] = (int32_t)be32(p + i * 6);
    z->ntypes = typecnt;
    for (uint32_t i = 0; i < timecnt; i++)
        if (z->idx[i] >= typecnt)
            return false;
    z->initial = z->types[0];
    return true;
}

static struct zone *zone_get(const char *name)
{
    for (struct zone *z = zones; z; z = z->next)
        if (strcmp(z->name, name) == 0)
            return z->n || z->ntypes ? z : NULL;
    struct zone *z = calloc(1, sizeof(*z));
    if (z == NULL)
        return NULL;
    z->name = strdup(name);
    z->next = zones;
    zones = z;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0 || strstr(name, "..")) {
        return NULL;
    }
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    unsigned char buf[65536];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (!zone_parse(z, buf, len)) {
        z->n = z->ntypes = 0;
        return NULL;
    }
    return z;
}

bool tz_exists(const char *name)
{
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return true;
    return zone_get(name) != NULL;
}

int tz_offset(const char *name, int64_t t)
{
    struct zone *z = zone_get(name);
    if (z == NULL)
        return 0;
    if (z->n == 0 || t < z->when[0])
        return z->initial;
    size_t lo = 0, hi = z->n;   /* last transition <= t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (z->when[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    /* Beyond the table the last rule stands; Europe/Moscow has been fixed
     * since 2014, which is what every zone we care about does. */
    return z->types[z->idx[lo]];
}

void tz_localtime(const char *name, int64_t t, struct tm *tm, int *gmtoff)
{
    int off = tz_offset(name, t);
    time_t lt = (time_t)(t + off);
    gmtime_r(&lt, tm);
    if (gmtoff)
        *gmtoff = off;
}

int64_t tz_mktime(const char *name, const struct tm *tm)
{
    struct tm c = *tm;
    int64_t local = (int64_t)timegm(&c);
    int off = tz_offset(name, local);
    int64_t t = local - off;
    int off2 = tz_offset(name, t);
    if (off2 != off)
        t = local - off2;
    return t;
}
