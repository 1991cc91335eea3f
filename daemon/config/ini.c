#include "ini.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

#define INI_MAX_INCLUDE_DEPTH 8
#define INI_MAX_LINE 65536

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        abort();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL)
        abort();
    return p;
}

struct ini *ini_new(void)
{
    struct ini *ini = calloc(1, sizeof(*ini));
    if (ini == NULL)
        abort();
    return ini;
}

void ini_free(struct ini *ini)
{
    if (ini == NULL)
        return;
    for (size_t i = 0; i < ini->n; i++) {
        struct ini_section *s = ini->s[i];
        for (size_t j = 0; j < s->n; j++) {
            free(s->e[j].key);
            free(s->e[j].value);
        }
        free(s->e);
        free(s->type);
        free(s->name);
        free(s);
    }
    free(ini->s);
    for (size_t i = 0; i < ini->nfiles; i++)
        free(ini->files[i]);
    free(ini->files);
    free(ini);
}

static const char *intern_file(struct ini *ini, const char *path)
{
    for (size_t i = 0; i < ini->nfiles; i++)
        if (strcmp(ini->files[i], path) == 0)
            return ini->files[i];
    ini->files = xrealloc(ini->files, (ini->nfiles + 1) * sizeof(char *));
    ini->files[ini->nfiles] = xstrdup(path);
    return ini->files[ini->nfiles++];
}

static bool same(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

struct ini_section *ini_find(struct ini *ini, const char *type, const char *name)
{
    for (size_t i = 0; i < ini->n; i++)
        if (strcmp(ini->s[i]->type, type) == 0 && same(ini->s[i]->name, name))
            return ini->s[i];
    return NULL;
}

struct ini_section *ini_add_section(struct ini *ini, const char *type, const char *name,
                                    const char *file, int line)
{
    struct ini_section *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->type = xstrdup(type);
    s->name = name ? xstrdup(name) : NULL;
    s->file = file ? intern_file(ini, file) : NULL;
    s->line = line;
    if (ini->n == ini->cap) {
        ini->cap = ini->cap ? ini->cap * 2 : 16;
        ini->s = xrealloc(ini->s, ini->cap * sizeof(*ini->s));
    }
    ini->s[ini->n++] = s;
    return s;
}

void ini_add_entry(struct ini *ini, struct ini_section *s, const char *key, const char *value,
                   const char *file, int line)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->e = xrealloc(s->e, s->cap * sizeof(*s->e));
    }
    struct ini_entry *e = &s->e[s->n++];
    e->key = xstrdup(key);
    e->value = xstrdup(value);
    e->file = file ? intern_file(ini, file) : NULL;
    e->line = line;
    e->used = false;
}

struct ini_entry *ini_lookup(struct ini_section *s, const char *key)
{
    struct ini_entry *last = NULL;
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->e[i].key, key) == 0) {
            s->e[i].used = true;
            last = &s->e[i];
        }
    }
    return last;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static bool valid_ident(const char *s, bool allow_dot)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || (allow_dot && *s == '.')))
            return false;
    return true;
}

/* Unquotes "..." in place, handling \" \\ \n \t; returns NULL on a bad quote. */
static char *unquote(char *v)
{
    size_t n = strlen(v);
    if (n == 0 || v[0] != '"')
        return v;
    if (n < 2 || v[n - 1] != '"')
        return NULL;
    char *out = v, *p = v + 1, *end = v + n - 1;
    while (p < end) {
        if (*p == '\\' && p + 1 < end) {
            p++;
            *out++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            p++;
        } else {
            *out++ = *p++;
        }
    }
    *out = '\0';
    return v;
}

static int parse_file(struct ini *ini, const char *path, int depth, struct diag *d);

static void do_include(struct ini *ini, const char *from, int line, const char *pattern,
                       int depth, struct diag *d)
{
    char full[4096];
    if (pattern[0] == '/') {
        snprintf(full, sizeof(full), "%s", pattern);
    } else {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s", from);
        snprintf(full, sizeof(full), "%s/%s", dirname(tmp), pattern);
    }
    if (depth >= INI_MAX_INCLUDE_DEPTH) {
        diag_add(d, from, line, "include %s: nested deeper than %d files", pattern,
                 INI_MAX_INCLUDE_DEPTH);
        return;
    }
    glob_t g;
    int rc = glob(full, 0, NULL, &g);   /* glob() sorts its matches */
    if (rc == GLOB_NOMATCH) {
        if (strpbrk(pattern, "*?[") == NULL)
            diag_add(d, from, line, "include %s: no such file", pattern);
        return;
    }
    if (rc != 0) {
        diag_add(d, from, line, "include %s: cannot list files", pattern);
        return;
    }
    for (size_t i = 0; i < g.gl_pathc; i++)
        parse_file(ini, g.gl_pathv[i], depth + 1, d);
    globfree(&g);
}

static struct ini_section *open_section(struct ini *ini, char *hdr, const char *file, int line,
                                        struct diag *d)
{
    char *sp = hdr;
    while (*sp && !isspace((unsigned char)*sp))
        sp++;
    char *name = NULL;
    if (*sp) {
        *sp = '\0';
        name = unquote(trim(sp + 1));
        if (name == NULL || *name == '\0') {
            diag_add(d, file, line, "[%s]: section name is empty or badly quoted", hdr);
            return NULL;
        }
    }
    if (!valid_ident(hdr, false)) {
        diag_add(d, file, line, "[%s]: invalid section type", hdr);
        return NULL;
    }
    struct ini_section *s = ini_find(ini, hdr, name);
    if (s) {
        if (name) {
            diag_add(d, file, line, "[%s \"%s\"] is already defined at %s:%d", hdr, name,
                     s->file ? s->file : "?", s->line);
            return NULL;
        }
        return s;   /* singleton sections merge: later files override keys */
    }
    return ini_add_section(ini, hdr, name, file, line);
}

static void parse_line(struct ini *ini, char *s, const char *file, int line, int depth,
                       struct ini_section **cur, bool *skip, struct diag *d)
{
    if (*s == '\0' || *s == '#' || *s == ';')
        return;
    if (*s == '[') {
        char *end = strrchr(s, ']');
        if (end == NULL || end[1] != '\0') {
            diag_add(d, file, line, "section header must end with ']'");
            *cur = NULL;
            *skip = true;
            return;
        }
        *end = '\0';
        *cur = open_section(ini, trim(s + 1), file, line, d);
        *skip = *cur == NULL;
        return;
    }
    if (strncmp(s, "include", 7) == 0 && isspace((unsigned char)s[7])) {
        do_include(ini, file, line, trim(s + 8), depth, d);
        return;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        diag_add(d, file, line, "expected 'key = value', '[section]' or 'include FILES'");
        return;
    }
    *eq = '\0';
    char *key = trim(s);
    char *val = unquote(trim(eq + 1));
    if (*skip)
        return;
    if (*cur == NULL) {
        diag_add(d, file, line, "%s: key outside of any [section]", key);
        return;
    }
    if (!valid_ident(key, true)) {
        diag_add(d, file, line, "[%s] '%s': invalid key name", (*cur)->type, key);
        return;
    }
    if (val == NULL) {
        diag_add(d, file, line, "[%s] %s: unterminated quoted value", (*cur)->type, key);
        return;
    }
    ini_add_entry(ini, *cur, key, val, file, line);
}

static int parse_file(struct ini *ini, const char *path, int depth, struct diag *d)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        diag_add(d, path, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    const char *file = intern_file(ini, path);
    char *buf = malloc(INI_MAX_LINE);
    if (buf == NULL)
        abort();
    struct ini_section *cur = NULL;
    bool skip = false;
    int line = 0;
    while (fgets(buf, INI_MAX_LINE, f)) {
        line++;
        size_t n = strlen(buf);
        if (n == INI_MAX_LINE - 1 && buf[n - 1] != '\n') {
            diag_add(d, file, line, "line longer than %d bytes", INI_MAX_LINE - 2);
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        char *s = buf;
        if (line == 1 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;   /* a BOM from a Windows editor */
        parse_line(ini, trim(s), file, line, depth, &cur, &skip, d);
    }
    free(buf);
    fclose(f);
    return 0;
}

struct ini *ini_load(const char *path, struct diag *d)
{
    struct ini *ini = ini_new();
    if (parse_file(ini, path, 0, d) != 0) {
        ini_free(ini);
        return NULL;
    }
    return ini;
}

int ini_override(struct ini *ini, const char *assignment, const char *const *named_types,
                 struct diag *d)
{
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    /* Messages show the assignment up to '=': the value may be a secret. */
    int shown = eq ? (int)(eq - assignment) : (int)strlen(assignment);
    if (eq == NULL || dot == NULL || dot > eq) {
        diag_add(d, "--set", 0, "'%.*s%s': expected section.key=value", shown, assignment,
                 eq ? "=..." : "");
        return -1;
    }
    struct sbuf type = SBUF_INIT, name = SBUF_INIT, key = SBUF_INIT;
    sbuf_add(&type, assignment, (size_t)(dot - assignment));
    bool named = false;
    for (size_t i = 0; named_types && named_types[i]; i++)
        if (strcmp(named_types[i], sbuf_str(&type)) == 0)
            named = true;
    const char *kstart = dot + 1;
    if (named) {
        /* type.NAME.key: the name runs up to the last dot before '=' */
        const char *last = NULL;
        for (const char *p = dot + 1; p < eq; p++)
            if (*p == '.')
                last = p;
        if (last == NULL) {
            diag_add(d, "--set", 0, "'%.*s=...': expected %s.NAME.key=value", shown, assignment,
                     sbuf_str(&type));
            goto fail;
        }
        sbuf_add(&name, dot + 1, (size_t)(last - dot - 1));
        kstart = last + 1;
    }
    sbuf_add(&key, kstart, (size_t)(eq - kstart));
    struct ini_section *s = ini_find(ini, sbuf_str(&type), named ? sbuf_str(&name) : NULL);
    if (s == NULL)
        s = ini_add_section(ini, sbuf_str(&type), named ? sbuf_str(&name) : NULL,
                            "command line", 0);
    ini_add_entry(ini, s, sbuf_str(&key), eq + 1, "--set", 0);
    sbuf_free(&type);
    sbuf_free(&name);
    sbuf_free(&key);
    return 0;
fail:
    sbuf_free(&type);
    sbuf_free(&name);
    sbuf_free(&key);
    return -1;
}
