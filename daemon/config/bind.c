#include "bind.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secrets.h"
#include "units.h"

void strlist_add(struct strlist *l, const char *s)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof(char *));
    if (v == NULL || (v[l->n] = strdup(s)) == NULL)
        abort();
    l->v = v;
    l->n++;
}

bool strlist_has(const struct strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void split_list(struct strlist *l, const char *v)
{
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        if (e > s) {
            char *item = strndup(s, (size_t)(e - s));
            if (item == NULL)
                abort();
            strlist_add(l, item);
            free(item);
        }
    }
}

/* A relative path names a place next to the file that wrote it, as
 * `include` does; values from the command line (file "--set") and absolute
 * paths are taken as they are. */
static char *resolve_path(const char *v, const char *file)
{
    const char *slash = file ? strrchr(file, '/') : NULL;
    char *out;
    if (v[0] == '/' || file == NULL || strcmp(file, "--set") == 0 || slash == NULL)
        out = strdup(v);
    else if (asprintf(&out, "%.*s/%s", (int)(slash - file), file, v) < 0)
        out = NULL;
    if (out == NULL)
        abort();
    return out;
}

static int set_value(const struct conf_key *k, void *base, const char *v, const char *file,
                     char *why, size_t wl)
{
    char *field = (char *)base + k->off;
    int64_t i64;
    uint64_t u64;
    bool b;
    switch (k->type) {
    case CT_SECRET:
        /* An empty or toy secret turns authentication off without a word:
         * refuse it.  min names a key's own minimum (the pseudonym key's). */
        if (secret_check_length(v, k->min > 0 ? (size_t)k->min : SECRET_MIN_LEN, why, wl) != 0)
            return -1;
        /* fall through */
    case CT_STR: {
        char **p = (char **)field;
        free(*p);
        *p = v ? strdup(v) : NULL;
        return 0;
    }
    case CT_INT:
        if (parse_int64(v, &i64) != 0) {
            snprintf(why, wl, "'%s' is not an integer", v);
            return -1;
        }
        if (k->max > k->min && (i64 < k->min || i64 > k->max)) {
            snprintf(why, wl, "%lld is out of range %lld..%lld", (long long)i64,
                     (long long)k->min, (long long)k->max);
            return -1;
        }
        *(int64_t *)field = i64;
        return 0;
    case CT_DURATION:
        if (parse_duration_ms(v, &i64) != 0) {
            snprintf(why, wl, "'%s' is not a duration (e.g. 500ms, 30s, 5m, 8h, 3d)", v);
            return -1;
        }
        if (k->max > k->min && (i64 < k->min || i64 > k->max)) {
            snprintf(why, wl, "'%s' is out of range %lldms..%lldms", v, (long long)k->min,
                     (long long)k->max);
            return -1;
        }
        *(int64_t *)field = i64;
        return 0;
    case CT_SIZE:
        if (parse_size(v, &u64) != 0) {
            snprintf(why, wl, "'%s' is not a size (e.g. 512k, 1MiB, 2G)", v);
            return -1;
        }
        if (k->max > k->min && (u64 < (uint64_t)k->min || u64 > (uint64_t)k->max)) {
            snprintf(why, wl, "'%s' is out of range %lld..%lld bytes", v, (long long)k->min,
                     (long long)k->max);
            return -1;
        }
        *(uint64_t *)field = u64;
        return 0;
    case CT_BOOL:
        if (parse_bool(v, &b) != 0) {
            snprintf(why, wl, "'%s' is not yes/no", v);
            return -1;
        }
        *(bool *)field = b;
        return 0;
    case CT_MODE: {
        char *end;
        long m = strtol(v, &end, 8);
        if (*v == '\0' || *end != '\0' || m < 0 || m > 07777) {
            snprintf(why, wl, "'%s' is not an octal file mode like 0660", v);
            return -1;
        }
        *(int *)field = (int)m;
        return 0;
    }
    case CT_ENUM:
        for (int i = 0; k->enums[i]; i++) {
            if (strcmp(k->enums[i], v) == 0) {
                *(int *)field = i;
                return 0;
            }
        }
        {
            int n = snprintf(why, wl, "'%s' is not one of:", v);
            for (int i = 0; k->enums[i] && n > 0 && (size_t)n < wl; i++)
                n += snprintf(why + n, wl - (size_t)n, " %s", k->enums[i]);
        }
        return -1;
    case CT_LIST:
        split_list((struct strlist *)field, v);
        return 0;
    case CT_PATH: {
        char **p = (char **)field;
        free(*p);
        *p = resolve_path(v, file);
        return 0;
    }
    case CT_PATH_LIST: {
        struct strlist items = {0};
        split_list(&items, v);
        for (size_t i = 0; i < items.n; i++) {
            char *path = resolve_path(items.v[i], file);
            strlist_add((struct strlist *)field, path);
            free(path);
        }
        strlist_free(&items);
        return 0;
    }
    case CT_DOUBLE: {
        char *end;
        double x = strtod(v, &end);
        if (*v == '\0' || *end != '\0') {
            snprintf(why, wl, "'%s' is not a number", v);
            return -1;
        }
        *(double *)field = x;
        return 0;
    }
    }
    return -1;
}

int conf_bind(const struct conf_key *keys, struct ini_section *sec, void *base,
              const char *label, struct diag *d)
{
    int errors = 0;
    char why[256];
    for (const struct conf_key *k = keys; k->name; k++) {
        if (k->def && set_value(k, base, k->def, sec ? sec->file : NULL, why, sizeof(why)) != 0) {
            diag_add(d, NULL, 0, "%s %s: bad built-in default: %s", label, k->name, why);
            errors++;
        }
        if (sec == NULL) {
            if (k->flags & CF_REQUIRED) {
                diag_add(d, NULL, 0, "%s %s: required", label, k->name);
                errors++;
            }
            continue;
        }
        bool seen = false;
        for (size_t i = 0; i < sec->n; i++) {
            struct ini_entry *e = &sec->e[i];
            if (strcmp(e->key, k->name) != 0)
                continue;
            e->used = true;
            if ((k->type == CT_LIST || k->type == CT_PATH_LIST) && !seen)
                strlist_free((struct strlist *)((char *)base + k->off));
            seen = true;
            if (set_value(k, base, e->value, e->file, why, sizeof(why)) != 0) {
                diag_add(d, e->file, e->line, "%s %s: %s", label, k->name, why);
                errors++;
            } else if (k->type == CT_SECRET && secret_is_example(e->value)) {
                diag_warn(d, e->file, e->line,
                          "%s %s: is an example secret shipped with appealsd (public); "
                          "set a random one", label, k->name);
            }
        }
        if (!seen && (k->flags & CF_REQUIRED)) {
            diag_add(d, sec->file, sec->line, "%s %s: required", label, k->name);
            errors++;
        }
    }
    if (sec)
        sec->used = true;
    return errors;
}

void conf_unbind(const struct conf_key *keys, void *base)
{
    for (const struct conf_key *k = keys; k->name; k++) {
        char *field = (char *)base + k->off;
        if (k->type == CT_STR || k->type == CT_SECRET || k->type == CT_PATH) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (k->type == CT_LIST || k->type == CT_PATH_LIST) {
            strlist_free((struct strlist *)field);
        }
    }
}

static bool field_equal(const struct conf_key *k, const void *a, const void *b)
{
    const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;
    switch (k->type) {
    case CT_STR:
    case CT_SECRET:
    case CT_PATH: {
        const char *x = *(char *const *)fa, *y = *(char *const *)fb;
        return (x == NULL && y == NULL) || (x && y && strcmp(x, y) == 0);
    }
    case CT_INT:
    case CT_DURATION: return *(const int64_t *)fa == *(const int64_t *)fb;
    case CT_SIZE: return *(const uint64_t *)fa == *(const uint64_t *)fb;
    case CT_BOOL: return *(const bool *)fa == *(const bool *)fb;
    case CT_MODE:
    case CT_ENUM: return *(const int *)fa == *(const int *)fb;
    case CT_DOUBLE: return *(const double *)fa == *(const double *)fb;
    case CT_LIST:
    case CT_PATH_LIST: {
        const struct strlist *x = (const void *)fa, *y = (const void *)fb;
        if (x->n != y->n)
            return false;
        for (size_t i = 0; i < x->n; i++)
            if (strcmp(x->v[i], y->v[i]) != 0)
                return false;
        return true;
    }
    }
    return false;
}

const char *conf_restart_diff(const struct conf_key *keys, const void *a, const void *b)
{
    for (const struct conf_key *k = keys; k->name; k++)
        if ((k->flags & CF_RESTART) && !field_equal(k, a, b))
            return k->name;
    return NULL;
}

void conf_report_unused(struct ini *ini, struct diag *d)
{
    for (size_t i = 0; i < ini->n; i++) {
        struct ini_section *s = ini->s[i];
        if (!s->used) {
            if (s->name)
                diag_add(d, s->file, s->line, "[%s \"%s\"]: unknown section type '%s'", s->type,
                         s->name, s->type);
            else
                diag_add(d, s->file, s->line, "[%s]: unknown section", s->type);
            continue;
        }
        for (size_t j = 0; j < s->n; j++) {
            struct ini_entry *e = &s->e[j];
            if (e->used)
                continue;
            if (s->name)
                diag_add(d, e->file, e->line, "[%s \"%s\"] %s: unknown key", s->type, s->name,
                         e->key);
            else
                diag_add(d, e->file, e->line, "[%s] %s: unknown key", s->type, e->key);
        }
    }
}
