#include "sources.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "directory.h"
#include "loader.h"
#include "log.h"
#include "module.h"

#define SRC(f) offsetof(struct source_cfg, f)
static const struct conf_key source_keys[] = {
    {"plugin", CT_STR, SRC(plugin_name), NULL, 0, 0, NULL, 0,
     "plugin implementing the source (default source_NAME)"},
    {"path", CT_STR, SRC(path), NULL, 0, 0, NULL, 0,
     "URL path of the webhook (default /webhook/NAME)"},
    {"enabled", CT_BOOL, SRC(enabled), "yes", 0, 0, NULL, 0, "accept webhooks of this source"},
    {0},
};

static void host_log(void *handle, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_log(void *handle, int level, const char *fmt, ...)
{
    struct source *s = handle;
    char who[160];
    snprintf(who, sizeof(who), "[plugin:%s]", s->cfg->plugin_name);
    va_list ap;
    va_start(ap, fmt);
    plugin_vlog(level, who, fmt, ap);
    va_end(ap);
}

static const struct apd_page *host_page_find(void *handle, const char *id)
{
    struct source *s = handle;
    struct page *p = directory_page(s->dir, s->cfg->name, id);
    return p ? &p->pub : NULL;
}

static const struct apd_page *host_page_by_token(void *handle, const char *token)
{
    struct source *s = handle;
    struct page *p = directory_page_by_token(s->dir, s->cfg->name, token);
    return p ? &p->pub : NULL;
}

/* The same keyed hash as author.pseudonym (pipeline.c), so a private chat's
 * pseudonymous thread and its author's pseudonym agree. */
static void host_pseudonym(void *handle, const char *user_id, char out[17])
{
    struct source *s = handle;
    pseudonym_hex(s->pkey, s->cfg->name, user_id ? user_id : "", out);
}

const struct apd_host_api sources_host_api = {
    .abi_major = APD_PLUGIN_ABI_MAJOR,
    .abi_minor = APD_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct apd_host_api),
    .log = host_log,
    .page_find = host_page_find,
    .page_by_token = host_page_by_token,
    .pseudonym = host_pseudonym,
};

static void free_source_cfg(struct source_cfg *s)
{
    if (s->plugin) {
        if (s->pcfg)
            conf_unbind(s->plugin->keys, s->pcfg);
        plugin_put(s->plugin);
    }
    free(s->pcfg);
    conf_unbind(source_keys, s);
    free(s->name);
}

static void bind_source(struct source_cfg *s, struct ini_section *sec,
                        const struct apd_config *c, const struct config_opts *o, struct diag *d)
{
    char label[128];
    snprintf(label, sizeof(label), "[source \"%s\"]", s->name);
    conf_bind(source_keys, sec, s, label, d);
    if (s->plugin_name == NULL) {
        size_t n = strlen(s->name) + 8;
        s->plugin_name = malloc(n);
        snprintf(s->plugin_name, n, "source_%s", s->name);
    }
    if (s->path == NULL) {
        size_t n = strlen(s->name) + 10;
        s->path = malloc(n);
        snprintf(s->path, n, "/webhook/%s", s->name);
    } else if (s->path[0] != '/') {
        diag_add(d, sec->file, sec->line, "%s path: '%s' must start with '/'", label, s->path);
    }
    if (o->skip_plugins) {
        for (size_t i = 0; i < sec->n; i++)
            sec->e[i].used = true;
        return;
    }
    char err[512];
    s->plugin = plugin_get(c->daemon.plugin_dir, s->plugin_name, err, sizeof(err));
    if (s->plugin == NULL) {
        diag_add(d, sec->file, sec->line, "%s: %s", label, err);
        for (size_t i = 0; i < sec->n; i++)
            sec->e[i].used = true;
        return;
    }
    if (s->plugin->desc.kind != APD_PLUGIN_SOURCE) {
        diag_add(d, sec->file, sec->line, "%s: plugin %s is not a source plugin", label,
                 s->plugin_name);
        return;
    }
    s->pcfg = calloc(1, s->plugin->desc.config_size + 1);
    if (s->pcfg == NULL)
        abort();
    conf_bind(s->plugin->keys, sec, s->pcfg, label, d);
}

static void sources_build(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                          struct diag *d)
{
    size_t n = 0;
    for (size_t i = 0; i < ini->n; i++)
        if (strcmp(ini->s[i]->type, "source") == 0)
            n++;
    c->sources = calloc(n + 1, sizeof(struct source_cfg));
    for (size_t i = 0; i < ini->n; i++) {
        struct ini_section *sec = ini->s[i];
        if (strcmp(sec->type, "source") != 0)
            continue;
        if (sec->name == NULL) {
            diag_add(d, sec->file, sec->line, "[source] needs a name: [source \"vk\"]");
            sec->used = true;
            continue;
        }
        struct source_cfg *s = &c->sources[c->nsources++];
        s->name = strdup(sec->name);
        bind_source(s, sec, c, o, d);
        for (size_t j = 0; j + 1 < c->nsources; j++)
            if (strcmp(c->sources[j].path, s->path) == 0)
                diag_add(d, sec->file, sec->line, "[source \"%s\"] path: %s is already served "
                         "by source %s", s->name, s->path, c->sources[j].name);
    }
}

static void sources_free_cfg(struct apd_config *c)
{
    for (size_t i = 0; i < c->nsources; i++)
        free_source_cfg(&c->sources[i]);
    free(c->sources);
    c->sources = NULL;
    c->nsources = 0;
}

static const char *sources_restart_diff(const struct apd_config *a, const struct apd_config *b)
{
    /* Paths are bound to the listener's routes at start; plugins may change. */
    if (a->nsources != b->nsources)
        return "the set of [source] sections";
    for (size_t i = 0; i < a->nsources; i++)
        if (strcmp(a->sources[i].name, b->sources[i].name) != 0 ||
            strcmp(a->sources[i].path, b->sources[i].path) != 0)
            return "[source] names or paths";
    return NULL;
}

static void sources_reference(void)
{
    conf_print_keys("source \"NAME\"", source_keys);
    printf("  (plus the keys of the source's plugin)\n\n");
}

const struct conf_module sources_conf_module = {
    .name = "sources",
    .build = sources_build,
    .free = sources_free_cfg,
    .restart_diff = sources_restart_diff,
    .reference = sources_reference,
};

struct sources *sources_start(const struct apd_config *c, char *err, size_t errlen)
{
    struct sources *ss = calloc(1, sizeof(*ss));
    ss->v = calloc(c->nsources + 1, sizeof(struct source));
    for (size_t i = 0; i < c->nsources; i++) {
        const struct source_cfg *sc = &c->sources[i];
        if (!sc->enabled || sc->plugin == NULL)
            continue;
        struct source *s = &ss->v[ss->n];
        s->cfg = sc;
        s->dir = c->dir;
        s->pkey = c->daemon.pseudonym_key;
        s->ops = sc->plugin->desc.source;
        char why[384] = "";
        s->state = sc->plugin->desc.init(&sources_host_api, s, sc->pcfg, why, sizeof(why));
        if (s->state == NULL) {
            snprintf(err, errlen, "source %s: plugin %s failed to start: %s", sc->name,
                     sc->plugin_name, why[0] ? why : "no reason given");
            sources_stop(ss);
            return NULL;
        }
        ss->n++;
    }
    return ss;
}

void sources_stop(struct sources *ss)
{
    if (ss == NULL)
        return;
    for (size_t i = 0; i < ss->n; i++)
        if (ss->v[i].cfg->plugin->desc.destroy)
            ss->v[i].cfg->plugin->desc.destroy(ss->v[i].state);
    free(ss->v);
    free(ss);
}

void sources_handover(struct sources *next, struct sources *old)
{
    for (size_t i = 0; next && old && i < next->n; i++) {
        struct source *n = &next->v[i];
        struct source *o = sources_find(old, n->cfg->name);
        if (o && o->cfg->plugin == n->cfg->plugin && n->ops->takeover)
            n->ops->takeover(n->state, o->state);
    }
}

struct source *sources_match(struct sources *ss, const char *path, const char **rest)
{
    for (size_t i = 0; i < ss->n; i++) {
        const char *p = ss->v[i].cfg->path;
        size_t n = strlen(p);
        if (strncmp(path, p, n) == 0 && (path[n] == '\0' || path[n] == '/' || path[n] == '?')) {
            *rest = path[n] == '?' ? "" : path + n;
            return &ss->v[i];
        }
    }
    return NULL;
}

struct source *sources_find(struct sources *ss, const char *name)
{
    for (size_t i = 0; i < ss->n; i++)
        if (strcmp(ss->v[i].cfg->name, name) == 0)
            return &ss->v[i];
    return NULL;
}
