/* Config modules: each part of the daemon that owns config sections beyond the
 * core ones registers a builder here (sources, directory, rules, SLA,
 * classifier).  Builders read their sections from the ini, mark what they
 * consume, add problems to the diag, and hang their result on apd_config. */
#ifndef APPEALSD_CONFIG_MODULE_H
#define APPEALSD_CONFIG_MODULE_H

#include "config.h"

struct conf_module {
    const char *name;
    void (*build)(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                  struct diag *d);
    void (*free)(struct apd_config *c);
    /* Names a setting of this module that needs a restart to change, or NULL. */
    const char *(*restart_diff)(const struct apd_config *a, const struct apd_config *b);
    void (*reference)(void);
};

/* NULL-terminated, in build order (later modules may look at earlier ones). */
extern const struct conf_module *const conf_modules[];

void conf_print_keys(const char *section, const struct conf_key *keys);
/* True while --help-config=tsv prints (for a module's hand-written lines). */
bool conf_reference_is_tsv(void);

#endif
