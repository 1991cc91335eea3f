/* Webhook sources: the [source "NAME"] sections, the plugins behind them, and
 * the live plugin instances the HTTP listener dispatches to.
 *
 * A source has a path (default /webhook/NAME) and a plugin (default
 * source_NAME).  The plugin's own keys live in the same section. */
#ifndef APPEALSD_SOURCES_H
#define APPEALSD_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "appealsd/plugin.h"
#include "bind.h"

struct plugin;
struct apd_config;
struct directory;

struct source_cfg {
    char *name;
    char *plugin_name;
    char *path;
    bool enabled;
    struct plugin *plugin;
    void *pcfg;               /* the plugin's config block */
};

/* A running plugin instance for one source. */
struct source {
    const struct source_cfg *cfg;
    const struct directory *dir;   /* the snapshot the instance was made with */
    const char *pkey;              /* daemon.pseudonym_key, or NULL: the generated one */
    const struct apd_source_ops *ops;
    void *state;
};

struct sources {
    struct source *v;
    size_t n;
};

/* Starts one instance per enabled source of the config.  On failure returns
 * NULL with the reason in err (and nothing left running). */
struct sources *sources_start(const struct apd_config *c, char *err, size_t errlen);
void sources_stop(struct sources *s);
/* Reload: lets each instance of next take over state from the instance of
 * old that served the same source with the same plugin (ABI 1.1 takeover).
 * Call after sources_start(next) and before sources_stop(old). */
void sources_handover(struct sources *next, struct sources *old);
/* The source serving this request path; *rest gets what follows its path. */
struct source *sources_match(struct sources *s, const char *path, const char **rest);
struct source *sources_find(struct sources *s, const char *name);

/* The host API handed to plugins; the handle is the struct source. */
extern const struct apd_host_api sources_host_api;

#endif
