/* Loading plugins: dlopen, ABI checks, and the config keys they declare.
 *
 * A shared object is opened once per process and reference-counted, so a
 * reload that keeps a plugin does not dlclose/dlopen it. */
#ifndef APPEALSD_LOADER_H
#define APPEALSD_LOADER_H

#include <stdarg.h>
#include <stddef.h>

#include "appealsd/plugin.h"
#include "bind.h"

struct plugin {
    char *name;
    char *path;
    void *dl;
    struct apd_plugin desc;       /* zero-extended copy of the plugin's descriptor */
    struct apd_source_ops source; /* zero-extended copy of desc.source (source plugins) */
    struct apd_classifier_ops classifier; /* likewise of desc.classifier (classifiers) */
    struct apd_poll_ops poll;     /* likewise of desc.source->poll (ABI 1.5 pull sources) */
    struct conf_key *keys;        /* desc.keys translated for the binder */
    unsigned refs;
    struct plugin *next;
};

/**
 * @brief Find NAME.so (or NAME/NAME.so, as in a build tree) in dir and check it.
 * @returns a new reference (release with plugin_put), or NULL with the reason
 *          in err, phrased for the operator (what failed and what to check).
 */
struct plugin *plugin_get(const char *dir, const char *name, char *err, size_t errlen);
void plugin_put(struct plugin *p);

/* Checks a descriptor the way the loader does (ABI major, sizes, reserved
 * slots of the descriptor and of its source or classifier ops); exposed for
 * tests. */
int plugin_check_desc(const struct apd_plugin *d, size_t avail, char *err, size_t errlen);

/* What a plugin logs through its host API: the level clamped to the
 * daemon's range (plugins are outside our control), prefixed with who. */
void plugin_vlog(int level, const char *who, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
