/* Declarative config keys: one table per section drives parsing, defaults,
 * bounds, the reload rules and the reference documentation
 * (`appealsd --help-config`), the way Redis's config table and nginx's
 * command slots do. */
#ifndef APPEALSD_BIND_H
#define APPEALSD_BIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "ini.h"

enum conf_type {
    CT_STR,        /* char *                                        */
    CT_SECRET,     /* char *; value never printed or logged         */
    CT_INT,        /* int64_t, bounded by min..max                  */
    CT_BOOL,       /* bool                                          */
    CT_DURATION,   /* int64_t milliseconds ("30s", "8h", "3d")      */
    CT_SIZE,       /* uint64_t bytes ("1MiB")                       */
    CT_MODE,       /* int, octal file mode ("0660")                 */
    CT_ENUM,       /* int index into enums[]                        */
    CT_LIST,       /* struct strlist: comma-separated, or repeated  */
    CT_DOUBLE,     /* double                                        */
    CT_PATH,       /* char *; relative to the directory of the file
                      the key (or, for defaults, its section) is in */
    CT_PATH_LIST,  /* struct strlist of paths resolved like CT_PATH  */
};

/* Keys marked CF_RESTART cannot change on reload: the daemon refuses the new
 * config and names the key (listen address, brokers, spool directory...). */
#define CF_RESTART  0x1u
#define CF_REQUIRED 0x2u

struct strlist {
    char **v;
    size_t n;
};

struct conf_key {
    const char *name;
    enum conf_type type;
    size_t off;
    const char *def;          /* NULL: no default (string NULL, number 0) */
    int64_t min, max;         /* CT_INT/CT_DURATION/CT_SIZE bounds when max > min */
    const char *const *enums; /* CT_ENUM, NULL-terminated */
    unsigned flags;
    const char *doc;
};

/* Applies defaults, then the section's values (sec may be NULL).  label is
 * the section's display name for messages, e.g. "[http]" or "[org \"x\"]".
 * Every bad value is reported in d; returns the number of errors added. */
int conf_bind(const struct conf_key *keys, struct ini_section *sec, void *base,
              const char *label, struct diag *d);
void conf_unbind(const struct conf_key *keys, void *base);
/* Names the first CF_RESTART key whose value differs, or NULL. */
const char *conf_restart_diff(const struct conf_key *keys, const void *a, const void *b);

bool strlist_has(const struct strlist *l, const char *s);
void strlist_add(struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

/* Reports every entry no binder consumed as an unknown key. */
void conf_report_unused(struct ini *ini, struct diag *d);

#endif
