#include "recent.h"

#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "filter.h"

struct entry {
    char *type, *event, *appeal_id, *org, *category, *municipality, *priority, *state;
    int64_t due_ms;
    char *line;
    size_t len;
};

struct recent {
    struct entry *v;
    size_t cap, n, next;      /* next: the slot the next event takes */
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void entry_clear(struct entry *e)
{
    char **s[] = {&e->type, &e->event, &e->appeal_id, &e->org, &e->category,
                  &e->municipality, &e->priority, &e->state, &e->line};
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        free(*s[i]);
        *s[i] = NULL;
    }
}

struct recent *recent_new(size_t cap)
{
    if (cap == 0)
        return NULL;
    struct recent *r = calloc(1, sizeof(*r));
    r->v = calloc(cap, sizeof(*r->v));
    if (r->v == NULL)
        abort();
    r->cap = cap;
    return r;
}

void recent_free(struct recent *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->cap; i++)
        entry_clear(&r->v[i]);
    free(r->v);
    free(r);
}

void recent_add(struct recent *r, const struct tail_event *ev, const char *line, size_t len)
{
    if (r == NULL)
        return;
    struct entry *e = &r->v[r->next];
    entry_clear(e);
    *e = (struct entry){
        .type = dup_or_null(ev->type), .event = dup_or_null(ev->event),
        .appeal_id = dup_or_null(ev->appeal_id), .org = dup_or_null(ev->org),
        .category = dup_or_null(ev->category), .municipality = dup_or_null(ev->municipality),
        .priority = dup_or_null(ev->priority), .state = dup_or_null(ev->state),
        .due_ms = ev->due_ms, .line = malloc(len), .len = len,
    };
    if (e->line == NULL)
        abort();
    memcpy(e->line, line, len);
    r->next = (r->next + 1) % r->cap;
    if (r->n < r->cap)
        r->n++;
}

static const struct entry *nth_oldest(const struct recent *r, size_t i)
{
    return &r->v[(r->next + r->cap - r->n + i) % r->cap];
}

static bool passes(const struct entry *e, const struct ctl_filter *f, int64_t now_ms)
{
    struct tail_event ev = {
        .type = e->type, .event = e->event, .appeal_id = e->appeal_id, .org = e->org,
        .category = e->category, .municipality = e->municipality, .priority = e->priority,
        .state = e->state, .due_ms = e->due_ms,
    };
    return ctl_filter_match(f, &ev, now_ms);
}

size_t recent_replay(const struct recent *r, const struct ctl_filter *f, size_t n,
                     int64_t now_ms, recent_fn fn, void *arg)
{
    if (r == NULL || n == 0)
        return 0;
    /* Walk back to find where the last n matches start, then replay forward. */
    size_t start = r->n, found = 0;
    while (start > 0 && found < n) {
        start--;
        if (passes(nth_oldest(r, start), f, now_ms))
            found++;
    }
    for (size_t i = start; i < r->n; i++) {
        const struct entry *e = nth_oldest(r, i);
        if (passes(e, f, now_ms))
            fn(arg, e->line, e->len);
    }
    return found;
}
