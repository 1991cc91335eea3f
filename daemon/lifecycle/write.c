/* What a plan writes to Redis: the record's changed fields and the list of
 * further writes (store/appeals.h, appeals_apply): text, audit, the next SLA
 * stage, the lease, the outbox, indexes, counters and key expiry.
 * Pure: the lifecycle sends it; the benchmark loader sends the same. */
#include "write.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "message.h"
#include "sla.h"
#include "tz.h"

/* Daily counters are kept this long. */
#define DAY_TTL_MS (8LL * 86400000)

static char *pkey(char *buf, size_t len, const char *px, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static char *pkey(char *buf, size_t len, const char *px, const char *fmt, ...)
{
    int n = snprintf(buf, len, "%s", px);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < len)
        vsnprintf(buf + n, len - (size_t)n, fmt, ap);
    va_end(ap);
    return buf;
}


void sv_add(struct strv *s, const char *x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = realloc(s->v, s->cap * sizeof(char *));
        if (s->v == NULL)
            abort();
    }
    s->v[s->n++] = strdup(x ? x : "");
}

void sv_addf(struct strv *s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    sv_add(s, buf);
}

void strv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Fields that differ between the record read and the plan's record. */
static void diff_fields(const struct appeal_rec *a, const struct appeal_rec *b,
                        struct strv *set, struct strv *del)
{
    struct record_fields fa, fb;
    record_fields(a, &fa);
    record_fields(b, &fb);
    for (size_t i = 0; i < fb.n; i++) {
        bool same = false;
        for (size_t j = 0; j < fa.n && !same; j++)
            same = strcmp(fa.name[j], fb.name[i]) == 0 && strcmp(fa.value[j], fb.value[i]) == 0;
        if (!same) {
            sv_add(set, fb.name[i]);
            sv_add(set, fb.value[i]);
        }
    }
    for (size_t j = 0; j < fa.n; j++) {
        bool present = false;
        for (size_t i = 0; i < fb.n && !present; i++)
            present = strcmp(fa.name[j], fb.name[i]) == 0;
        if (!present)
            sv_add(del, fa.name[j]);
    }
    record_fields_free(&fa);
    record_fields_free(&fb);
}

static bool is_open(const struct appeal_rec *r)
{
    return r->exists && r->state && !state_is_final(r->state);
}

const char *lc_dim_value(const char *v) { return v && *v ? v : "unknown"; }

#define dimv lc_dim_value

/* Changes to the counters of open appeals (by organisation, category and
 * municipality), netted out: a breach moves only the overdue counters. */
struct deltas {
    struct {
        char field[200];
        int d;
    } v[12];
    int n;
};

static void count_open(struct deltas *ds, const struct appeal_rec *r, int delta)
{
    const char *dims[3][2] = {{"org", dimv(r->org)}, {"cat", dimv(r->category)},
                              {"muni", dimv(r->municipality)}};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < (record_overdue(r) ? 2 : 1); k++) {
            char f[200];
            snprintf(f, sizeof(f), "%s:%s|%s", dims[i][0], dims[i][1], k ? "overdue" : r->state);
            int j = 0;
            while (j < ds->n && strcmp(ds->v[j].field, f) != 0)
                j++;
            if (j == ds->n && ds->n < 12)
                snprintf(ds->v[ds->n++].field, sizeof(ds->v[0].field), "%s", f);
            if (j < ds->n)
                ds->v[j].d += delta;
        }
}

static void flush_deltas(const char *px, struct strv *ops, const struct deltas *ds)
{
    char key[256];
    pkey(key, sizeof(key), px, "stats:open");
    for (int i = 0; i < ds->n; i++) {
        if (ds->v[i].d == 0)
            continue;
        sv_add(ops, "HI");
        sv_add(ops, key);
        sv_add(ops, ds->v[i].field);
        sv_addf(ops, "%d", ds->v[i].d);
    }
}

static void local_day(const struct apd_config *cfg, int64_t ms, char *out, size_t len)
{
    struct tm tm;
    tz_localtime(cfg->daemon.timezone, ms / 1000, &tm, NULL);
    snprintf(out, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void count_day(const char *px, struct strv *ops, const struct apd_config *cfg,
                      const struct appeal_rec *r, const struct lc_counts *c, int64_t now)
{
    char day[16], key[256];
    local_day(cfg, now, day, sizeof(day));
    pkey(key, sizeof(key), px, "stats:day:%s", day);
    const char *dims[3][2] = {{"org", dimv(r->org)}, {"cat", dimv(r->category)},
                              {"muni", dimv(r->municipality)}};
    struct {
        const char *what;
        int n;
    } ev[] = {{"closed", c->closed}, {"breached", c->breaches}, {"fr_met", c->fr_met},
              {"fr_ontime", c->fr_met && c->fr_on_time}};
    bool any = false;
    for (size_t e = 0; e < sizeof(ev) / sizeof(ev[0]); e++)
        for (int i = 0; i < 3 && ev[e].n; i++) {
            sv_add(ops, "HI");
            sv_add(ops, key);
            sv_addf(ops, "%s:%s|%s", dims[i][0], dims[i][1], ev[e].what);
            sv_addf(ops, "%d", ev[e].n);
            any = true;
        }
    if (!any)
        return;
    sv_add(ops, "PX");
    sv_add(ops, key);
    sv_addf(ops, "%lld", DAY_TTL_MS);
    for (int i = 0; i < 3 && c->fr_met; i++) {
        char z[300];
        pkey(z, sizeof(z), px, "stats:frt:%s:%s:%s", day, dims[i][0], dims[i][1]);
        sv_add(ops, "ZA");
        sv_add(ops, z);
        sv_addf(ops, "%lld", (long long)(c->fr_used_ms / 1000));
        sv_add(ops, r->id);
        sv_add(ops, "PX");
        sv_add(ops, z);
        sv_addf(ops, "%lld", DAY_TTL_MS);
    }
}

static void index_ops(const char *px, struct strv *ops, const struct appeal_rec *b,
                      const struct appeal_rec *a)
{
    char key[300];
    bool was = is_open(b), now = is_open(a);
    bool moved = was && now && strcmp(b->org ? b->org : "", a->org ? a->org : "") != 0;
    if (was && (!now || moved) && b->org) {
        sv_add(ops, "ZR");
        sv_add(ops, pkey(key, sizeof(key), px, "idx:org:%s", b->org));
        sv_add(ops, b->id);
    }
    if (was && !now) {
        sv_add(ops, "ZR");
        sv_add(ops, pkey(key, sizeof(key), px, "idx:open"));
        sv_add(ops, b->id);
    }
    if (now && (!was || moved)) {
        if (!was) {
            sv_add(ops, "ZA");
            sv_add(ops, pkey(key, sizeof(key), px, "idx:open"));
            sv_addf(ops, "%lld", (long long)a->received_ms);
            sv_add(ops, a->id);
        }
        if (a->org) {
            sv_add(ops, "ZA");
            sv_add(ops, pkey(key, sizeof(key), px, "idx:org:%s", a->org));
            sv_addf(ops, "%lld", (long long)a->received_ms);
            sv_add(ops, a->id);
        }
    }
    /* Counters change only when something they count changed. */
    bool same = was == now && (!was || (strcmp(b->state, a->state) == 0 &&
                                        strcmp(dimv(b->org), dimv(a->org)) == 0 &&
                                        strcmp(dimv(b->category), dimv(a->category)) == 0 &&
                                        strcmp(dimv(b->municipality),
                                               dimv(a->municipality)) == 0 &&
                                        record_overdue(b) == record_overdue(a)));
    if (!same) {
        struct deltas ds = {.n = 0};
        if (was)
            count_open(&ds, b, -1);
        if (now)
            count_open(&ds, a, +1);
        flush_deltas(px, ops, &ds);
    }
}

/* Keys of a closed appeal expire after [sla] retention; a reopen keeps them. */
/* P num:NNNNN-NNNNN -> the appeal id: the number a citizen is told
 * (message.c appeal_number) finds the appeal in `show`.  Written with the
 * record and kept as long as it is; two ids with one number (one chance in
 * 10^10 per pair) leave the later one findable. */
static const char *number_key(const char *px, const struct appeal_rec *a, char *key, size_t n)
{
    char num[16];
    appeal_number(a->id, num, sizeof(num));
    return pkey(key, n, px, "num:%s", num);
}

static void number_ops(const char *px, struct strv *ops, const struct appeal_rec *b,
                       const struct appeal_rec *a)
{
    char key[300];
    if (b->exists)
        return;
    sv_add(ops, "SS");
    sv_add(ops, number_key(px, a, key, sizeof(key)));
    sv_add(ops, a->id);
}

static void retention_ops(const char *px, struct strv *ops, const struct apd_config *cfg,
                          const struct appeal_rec *b, const struct appeal_rec *a)
{
    bool was = b->exists && state_is_final(b->state), now = state_is_final(a->state);
    if (was == now)
        return;
    char rec[512], sub[530];
    pkey(rec, sizeof(rec), px, "a:{%s}", a->id);
    const char *suffix[] = {"", ":audit", ":text", NULL};
    for (int i = 0; i < 4; i++) {
        if (suffix[i])
            snprintf(sub, sizeof(sub), "%s%s", rec, suffix[i]);
        else
            number_key(px, a, sub, sizeof(sub));
        sv_add(ops, now ? "PX" : "PP");
        sv_add(ops, sub);
        if (now)
            sv_addf(ops, "%lld", (long long)sla_cfg(cfg)->retention_ms);
    }
}

void lc_write_build(struct lc_write *w, const char *px, const struct apd_config *cfg,
                    const struct appeal_rec *before, const struct lc_plan *p,
                    bool release_lease, bool restore, int64_t lease_until)
{
    const struct appeal_rec *a = &p->after;
    struct strv *ops = &w->ops;
    char rec[512], key[530];
    memset(w, 0, sizeof(*w));
    diff_fields(before, a, &w->set, &w->del);
    pkey(rec, sizeof(rec), px, "a:{%s}", a->id);
    if (p->text_changed) {
        snprintf(key, sizeof(key), "%s:text", rec);
        sv_add(ops, "SS");
        sv_add(ops, key);
        sv_add(ops, a->text);
    }
    snprintf(key, sizeof(key), "%s:audit", rec);
    if (restore) {
        sv_add(ops, "DL");
        sv_add(ops, key);
    }
    for (size_t i = 0; i < p->naudit; i++) {
        sv_add(ops, "RP");
        sv_add(ops, key);
        sv_add(ops, p->audit[i]);
    }
    pkey(key, sizeof(key), px, "sla:due");
    if (p->next_at == INT64_MAX) {
        sv_add(ops, "ZR");
        sv_add(ops, key);
        sv_add(ops, a->id);
    } else {
        sv_add(ops, "ZA");
        sv_add(ops, key);
        sv_addf(ops, "%lld", (long long)p->next_at);
        sv_add(ops, a->id);
    }
    if (release_lease) {
        sv_add(ops, "ZR");
        sv_add(ops, pkey(key, sizeof(key), px, "sla:lease"));
        sv_add(ops, a->id);
    }
    for (size_t i = 0; i < p->nmsgs; i++) {
        sv_add(ops, "ZA");
        sv_add(ops, pkey(key, sizeof(key), px, "outbox"));
        sv_addf(ops, "%lld", (long long)lease_until);
        sv_add(ops, p->msgs[i].event_id);
        sv_add(ops, "HS");
        sv_add(ops, pkey(key, sizeof(key), px, "outbox:b"));
        sv_add(ops, p->msgs[i].event_id);
        sv_add(ops, p->msgs[i].envelope);
    }
    index_ops(px, ops, before, a);
    number_ops(px, ops, before, a);
    count_day(px, ops, cfg, a, &p->counts, p->now);
    retention_ops(px, ops, cfg, before, a);
}

void lc_write_free(struct lc_write *w)
{
    strv_free(&w->set);
    strv_free(&w->del);
    strv_free(&w->ops);
}
