#include "filter.h"

#include <stdio.h>
#include <string.h>

#include "control.h"
#include "json.h"

/* Event types a tail may ask for (docs/control-protocol.md). */
static const char *const known_types[] = {"appeal", "sla", "status", NULL};

struct field {
    const char *name;
    size_t off;
};

#define FIELD(n) {#n, offsetof(struct ctl_filter, n)}
static const struct field fields[] = {
    FIELD(org), FIELD(category), FIELD(municipality), FIELD(priority), FIELD(state),
    FIELD(types), {NULL, 0},
};
#undef FIELD

static struct strlist *field_list(struct ctl_filter *f, const struct field *fd)
{
    return (struct strlist *)((char *)f + fd->off);
}

/* "a,b" and ["a", "b,c"] alike: every non-empty, trimmed piece. */
static int add_values(struct strlist *l, const struct json *v)
{
    if (json_is_str(v)) {
        const char *s = json_str(v);
        while (*s) {
            while (*s == ',' || *s == ' ')
                s++;
            size_t n = strcspn(s, ",");
            size_t m = n;
            while (m > 0 && s[m - 1] == ' ')
                m--;
            if (m > 0) {
                char piece[256];
                snprintf(piece, sizeof(piece), "%.*s", (int)m, s);
                if (!strlist_has(l, piece))
                    strlist_add(l, piece);
            }
            s += n;
        }
        return 0;
    }
    if (v == NULL || v->type != JSON_ARRAY)
        return -1;
    for (uint32_t i = 0; i < v->len; i++)
        if (!json_is_str(&v->u.a[i]) || add_values(l, &v->u.a[i]) != 0)
            return -1;
    return 0;
}

static bool in_list(const char *name, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

static int parse_member(struct ctl_filter *f, const char *key, const struct json *v, bool types,
                        char *err, size_t errlen)
{
    if (strcmp(key, "overdue") == 0) {
        if (v->type != JSON_TRUE && v->type != JSON_FALSE) {
            snprintf(err, errlen, "overdue: expected true or false");
            return -1;
        }
        f->overdue = v->type == JSON_TRUE;
        return 0;
    }
    if (strcmp(key, "due_within_s") == 0) {
        int64_t s;
        if (!json_int64(v, &s) || s < 0 || s > 366LL * 86400) {
            snprintf(err, errlen, "due_within_s: expected whole seconds, 0..31622400");
            return -1;
        }
        f->due_within_ms = s * 1000;
        return 0;
    }
    for (const struct field *fd = fields; fd->name; fd++) {
        if (strcmp(fd->name, key) != 0)
            continue;
        if (fd->off == offsetof(struct ctl_filter, types) && !types)
            break;
        struct strlist *l = field_list(f, fd);
        if (add_values(l, v) != 0) {
            snprintf(err, errlen, "%s: expected a string or an array of strings", key);
            return -1;
        }
        if (l->n == 0) {
            snprintf(err, errlen, "%s: no value given", key);
            return -1;
        }
        for (size_t i = 0; l == &f->types && i < l->n; i++)
            if (!in_list(l->v[i], known_types)) {
                snprintf(err, errlen, "types: unknown event type '%s' (appeal, sla, status)",
                         l->v[i]);
                return -1;
            }
        return 0;
    }
    snprintf(err, errlen, "unknown argument '%s'", key);
    return -1;
}

int ctl_filter_parse(struct ctl_filter *f, const struct json *args, const char *const *extra,
                     bool types, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->overdue = -1;
    f->due_within_ms = -1;
    if (args == NULL || args->type == JSON_NULL)
        return 0;
    if (args->type != JSON_OBJECT) {
        snprintf(err, errlen, "args: expected an object");
        return -1;
    }
    for (uint32_t i = 0; i < args->len; i++) {
        const struct json_member *m = &args->u.o[i];
        if (in_list(m->key, extra))
            continue;
        if (parse_member(f, m->key, &m->val, types, err, errlen) != 0) {
            ctl_filter_free(f);
            return -1;
        }
    }
    return 0;
}

void ctl_filter_free(struct ctl_filter *f)
{
    for (const struct field *fd = fields; fd->name; fd++)
        strlist_free(field_list(f, fd));
}

static bool field_ok(const struct strlist *want, const char *have)
{
    return want->n == 0 || (have && strlist_has(want, have));
}

bool ctl_filter_match(const struct ctl_filter *f, const struct tail_event *ev, int64_t now_ms)
{
    if (!field_ok(&f->types, ev->type) || !field_ok(&f->org, ev->org) ||
        !field_ok(&f->category, ev->category) || !field_ok(&f->municipality, ev->municipality) ||
        !field_ok(&f->priority, ev->priority) || !field_ok(&f->state, ev->state))
        return false;
    bool overdue = ev->due_ms > 0 && ev->due_ms < now_ms;
    if (f->overdue >= 0 && overdue != (f->overdue == 1))
        return false;
    if (f->due_within_ms >= 0 && (ev->due_ms <= 0 || ev->due_ms > now_ms + f->due_within_ms))
        return false;
    return true;
}
