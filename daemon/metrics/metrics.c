#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

#define MAX_LABELS 4

/* Histogram buckets, in the unit of the observed value (seconds). */
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                 0.5, 1, 2.5, 5, 10, 30};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct series {
    char *labels;           /* rendered: k="v",k2="v2" */
    double value;           /* counter/gauge value; histogram sum */
    uint64_t count;         /* histogram count */
    uint64_t *bucket;       /* histogram cumulative counts */
    struct series *next;
};

struct mfam {
    char *name, *help;
    enum mtype type;
    const double *bounds;   /* histogram bucket bounds (default: buckets[]) */
    size_t nbounds;
    char *lnames[MAX_LABELS];
    int nlabels;
    struct series *series, *last;
    struct mfam *next;
};

struct hook {
    metrics_hook_fn fn;
    void *arg;
    struct hook *next;
};

static struct mfam *families, *families_tail;
static struct hook *hooks;

struct mfam *metrics_find(const char *name)
{
    for (struct mfam *f = families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

struct mfam *metrics_family(const char *name, enum mtype type, const char *help,
                            const char *labels)
{
    struct mfam *found = metrics_find(name);
    if (found)
        return found;
    struct mfam *f = calloc(1, sizeof(*f));
    f->name = strdup(name);
    f->help = strdup(help);
    f->type = type;
    f->bounds = buckets;
    f->nbounds = NBUCKETS;
    if (labels) {
        char *tmp = strdup(labels), *save = NULL;
        for (char *t = strtok_r(tmp, ",", &save); t && f->nlabels < MAX_LABELS;
             t = strtok_r(NULL, ",", &save))
            f->lnames[f->nlabels++] = strdup(t);
        free(tmp);
    }
    if (families_tail)
        families_tail->next = f;
    else
        families = f;
    families_tail = f;
    return f;
}

static void escape_label(struct sbuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            sbuf_addc(b, '\\'), sbuf_addc(b, *v);
        else if (*v == '\n')
            sbuf_adds(b, "\\n");
        else
            sbuf_addc(b, *v);
    }
}

/* Renders k="v",k2="v2" into buf; its length, or -1 when it does not fit
 * (then the caller renders into the heap).  Counting on the hot path must
 * not allocate: every webhook bumps a few series. */
static int render_labels(const struct mfam *f, va_list ap, char *buf, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < f->nlabels; i++) {
        const char *v = va_arg(ap, const char *);
        size_t kl = strlen(f->lnames[i]);
        if (n + kl + 4 > cap)
            return -1;
        if (i)
            buf[n++] = ',';
        memcpy(buf + n, f->lnames[i], kl);
        n += kl;
        buf[n++] = '=';
        buf[n++] = '"';
        for (; v && *v; v++) {
            if (n + 3 > cap)
                return -1;
            if (*v == '\\' || *v == '"')
                buf[n++] = '\\', buf[n++] = *v;
            else if (*v == '\n')
                buf[n++] = '\\', buf[n++] = 'n';
            else
                buf[n++] = *v;
        }
        if (n + 2 > cap)
            return -1;
        buf[n++] = '"';
    }
    buf[n] = '\0';
    return (int)n;
}

static struct series *find_series(struct mfam *f, va_list ap)
{
    char stack[512];
    struct sbuf heap = SBUF_INIT;
    va_list again;
    va_copy(again, ap);
    const char *key = stack;
    if (render_labels(f, ap, stack, sizeof(stack)) < 0) {
        for (int i = 0; i < f->nlabels; i++) {
            const char *v = va_arg(again, const char *);
            if (i)
                sbuf_addc(&heap, ',');
            sbuf_adds(&heap, f->lnames[i]);
            sbuf_adds(&heap, "=\"");
            escape_label(&heap, v ? v : "");
            sbuf_addc(&heap, '"');
        }
        key = heap.p ? heap.p : "";
    }
    va_end(again);
    for (struct series *s = f->series; s; s = s->next)
        if (strcmp(s->labels, key) == 0) {
            sbuf_free(&heap);
            return s;
        }
    struct series *s = calloc(1, sizeof(*s));
    s->labels = strdup(key);
    if (f->type == M_HISTOGRAM)
        s->bucket = calloc(f->nbounds, sizeof(uint64_t));
    if (f->last)
        f->last->next = s;
    else
        f->series = s;
    f->last = s;
    sbuf_free(&heap);
    return s;
}

void metrics_add(struct mfam *f, double v, ...)
{
    va_list ap;
    va_start(ap, v);
    find_series(f, ap)->value += v;
    va_end(ap);
}

void metrics_set(struct mfam *f, double v, ...)
{
    va_list ap;
    va_start(ap, v);
    find_series(f, ap)->value = v;
    va_end(ap);
}

void metrics_observe(struct mfam *f, double v, ...)
{
    va_list ap;
    va_start(ap, v);
    struct series *s = find_series(f, ap);
    va_end(ap);
    s->value += v;
    s->count++;
    for (size_t i = 0; i < f->nbounds; i++)
        if (v <= f->bounds[i])
            s->bucket[i]++;
}

void metrics_set_buckets(struct mfam *f, const double *bounds, size_t n)
{
    if (f->series == NULL && n > 0) {
        f->bounds = bounds;
        f->nbounds = n;
    }
}

double metrics_get(struct mfam *f, ...)
{
    va_list ap;
    va_start(ap, f);
    double v = find_series(f, ap)->value;
    va_end(ap);
    return v;
}

static void free_series(struct mfam *f)
{
    for (struct series *s = f->series, *n; s; s = n) {
        n = s->next;
        free(s->labels);
        free(s->bucket);
        free(s);
    }
    f->series = f->last = NULL;
}

void metrics_clear(struct mfam *f) { free_series(f); }

void metrics_on_render(metrics_hook_fn fn, void *arg)
{
    struct hook *h = calloc(1, sizeof(*h));
    h->fn = fn;
    h->arg = arg;
    h->next = hooks;
    hooks = h;
}

void metrics_remove_hook(metrics_hook_fn fn, void *arg)
{
    for (struct hook **pp = &hooks; *pp; pp = &(*pp)->next)
        if ((*pp)->fn == fn && (*pp)->arg == arg) {
            struct hook *h = *pp;
            *pp = h->next;
            free(h);
            return;
        }
}

/* 15 significant digits: a Unix time with its fraction (1.7e9 s) or a byte
 * count must not be cut to %g's six. */
static void put_value(struct sbuf *out, double v)
{
    if (v == (double)(long long)v)
        sbuf_printf(out, "%lld\n", (long long)v);
    else
        sbuf_printf(out, "%.15g\n", v);
}

/* A family without labels has exactly one series: show it at 0 before its
 * first use, so that rate() and alerts see it from the first scrape.  Not
 * gauges: an empty gauge family means "nothing to report" (a hook cleared
 * it, as the SLA gauges do on an instance that does not export them). */
static void touch(struct mfam *f, ...)
{
    va_list ap;
    va_start(ap, f);
    (void)find_series(f, ap);
    va_end(ap);
}

void metrics_render(struct sbuf *out)
{
    static const char *const tn[] = {"counter", "gauge", "histogram"};
    for (struct hook *h = hooks; h; h = h->next)
        h->fn(h->arg);
    for (struct mfam *f = families; f; f = f->next) {
        sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, tn[f->type]);
        if (f->nlabels == 0 && f->series == NULL && f->type != M_GAUGE)
            touch(f, NULL);
        for (struct series *s = f->series; s; s = s->next) {
            const char *l = s->labels;
            if (f->type != M_HISTOGRAM) {
                sbuf_printf(out, *l ? "%s{%s} " : "%s ", f->name, l);
                put_value(out, s->value);
                continue;
            }
            for (size_t i = 0; i < f->nbounds; i++)
                sbuf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, l, *l ? "," : "",
                            f->bounds[i], (unsigned long long)s->bucket[i]);
            sbuf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, l, *l ? "," : "",
                        (unsigned long long)s->count);
            sbuf_printf(out, *l ? "%s_sum{%s} " : "%s_sum ", f->name, l);
            put_value(out, s->value);
            sbuf_printf(out, *l ? "%s_count{%s} " : "%s_count ", f->name, l);
            put_value(out, (double)s->count);
        }
    }
}

void metrics_reset_all(void)
{
    for (struct mfam *f = families, *n; f; f = n) {
        n = f->next;
        free_series(f);
        for (int i = 0; i < f->nlabels; i++)
            free(f->lnames[i]);
        free(f->name);
        free(f->help);
        free(f);
    }
    families = families_tail = NULL;
    for (struct hook *h = hooks, *n; h; h = n) {
        n = h->next;
        free(h);
    }
    hooks = NULL;
}
