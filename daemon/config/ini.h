/* The configuration file format: INI as git and systemd write it.
 *
 *   # comment            (whole lines only: values may contain '#')
 *   [http]               singleton section
 *   listen = 127.0.0.1:8080
 *   [org "maykop"]       named section: type, then a name (quoted or bare)
 *   name = "Администрация города Майкопа"
 *   include conf.d/NAME.conf  (globs allowed; relative to the including file, sorted)
 *
 * Every section and entry remembers its file and line for error messages.
 * Binders mark the entries they consume; whatever is left unmarked is
 * reported as an unknown key. */
#ifndef APPEALSD_INI_H
#define APPEALSD_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

struct ini_entry {
    char *key;
    char *value;
    const char *file;
    int line;
    bool used;
};

struct ini_section {
    char *type;
    char *name;          /* NULL for singleton sections */
    const char *file;
    int line;
    struct ini_entry *e;
    size_t n, cap;
    bool used;
};

struct ini {
    struct ini_section **s;
    size_t n, cap;
    char **files;        /* owned file names that entries point into */
    size_t nfiles;
};

/* Parses path and its includes; syntax errors go to d.  Returns NULL only when
 * the top file cannot be read (also reported in d). */
struct ini *ini_load(const char *path, struct diag *d);
struct ini *ini_new(void);
void ini_free(struct ini *ini);

/* Applies a command-line override "section.key=value" or
 * "type.name.key=value" (for named section types listed in named_types).
 * Returns 0, or -1 with a message in d. */
int ini_override(struct ini *ini, const char *assignment, const char *const *named_types,
                 struct diag *d);

struct ini_section *ini_find(struct ini *ini, const char *type, const char *name);
struct ini_section *ini_add_section(struct ini *ini, const char *type, const char *name,
                                    const char *file, int line);
void ini_add_entry(struct ini *ini, struct ini_section *s, const char *key, const char *value,
                   const char *file, int line);
/* Last entry with this key, or NULL; marks every entry with the key used. */
struct ini_entry *ini_lookup(struct ini_section *s, const char *key);

#endif
