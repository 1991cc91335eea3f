#include "loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static struct plugin *loaded;

/* Fields every ABI 1.x descriptor has (those of 1.0); later minors append
 * before `reserved`. */
#define APD_PLUGIN_MIN_SIZE offsetof(struct apd_plugin, classifier)

static int check_source_ops(const struct apd_source_ops *o, char *err, size_t errlen)
{
    if (o == NULL || o->struct_size < APD_SOURCE_OPS_SIZE_1_0 || o->handle == NULL) {
        snprintf(err, errlen, "a source plugin must provide source ops (ABI 1.0 size %zu or "
                 "more) with a handle callback", (size_t)APD_SOURCE_OPS_SIZE_1_0);
        return -1;
    }
    if (o->struct_size >= sizeof(struct apd_source_ops)) {
        for (size_t i = 0; i < sizeof(o->reserved) / sizeof(o->reserved[0]); i++)
            if (o->reserved[i] != NULL) {
                snprintf(err, errlen, "reserved field %zu of its source ops is set; the plugin "
                         "was built for a newer ABI 1.x than this appealsd (%u.%u) knows",
                         i, APD_PLUGIN_ABI_MAJOR, APD_PLUGIN_ABI_MINOR);
                return -1;
            }
    }
    /* ABI 1.5: the poll ops, when the ops are new enough to have them */
    const struct apd_poll_ops *po =
        o->struct_size >= offsetof(struct apd_source_ops, poll) + sizeof(o->poll) ? o->poll : NULL;
    if (po && (po->struct_size < offsetof(struct apd_poll_ops, reserved) || po->build == NULL ||
               po->parse == NULL)) {
        snprintf(err, errlen, "its poll ops must have build and parse callbacks (ABI 1.5 size "
                 "%zu or more)", (size_t)offsetof(struct apd_poll_ops, reserved));
        return -1;
    }
    return 0;
}

static int check_classifier_ops(const struct apd_plugin *d, char *err, size_t errlen)
{
    /* the descriptor must be new enough to have the pointer at all */
    const struct apd_classifier_ops *o =
        d->struct_size >= offsetof(struct apd_plugin, classifier) + sizeof(d->classifier)
            ? d->classifier : NULL;
    if (o == NULL || o->struct_size < APD_CLASSIFIER_OPS_SIZE_1_2 || o->classify == NULL) {
        snprintf(err, errlen, "a classifier plugin must provide classifier ops (ABI 1.2 size "
                 "%zu or more) with a classify callback", (size_t)APD_CLASSIFIER_OPS_SIZE_1_2);
        return -1;
    }
    if (o->struct_size >= sizeof(struct apd_classifier_ops)) {
        for (size_t i = 0; i < sizeof(o->reserved) / sizeof(o->reserved[0]); i++)
            if (o->reserved[i] != NULL) {
                snprintf(err, errlen, "reserved field %zu of its classifier ops is set; the "
                         "plugin was built for a newer ABI 1.x than this appealsd (%u.%u) knows",
                         i, APD_PLUGIN_ABI_MAJOR, APD_PLUGIN_ABI_MINOR);
                return -1;
            }
    }
    return 0;
}

int plugin_check_desc(const struct apd_plugin *d, size_t avail, char *err, size_t errlen)
{
    if (d->abi_major != APD_PLUGIN_ABI_MAJOR) {
        snprintf(err, errlen, "built for plugin ABI %u.%u, this appealsd speaks %u.%u; "
                 "rebuild the plugin against this version's include/appealsd/plugin.h",
                 d->abi_major, d->abi_minor, APD_PLUGIN_ABI_MAJOR, APD_PLUGIN_ABI_MINOR);
        return -1;
    }
    if (d->struct_size < APD_PLUGIN_MIN_SIZE || d->struct_size > avail) {
        snprintf(err, errlen, "descriptor size %zu is not a valid ABI %u descriptor "
                 "(expected at least %zu bytes)", d->struct_size, APD_PLUGIN_ABI_MAJOR,
                 (size_t)APD_PLUGIN_MIN_SIZE);
        return -1;
    }
    if (d->struct_size >= sizeof(struct apd_plugin)) {
        for (size_t i = 0; i < sizeof(d->reserved) / sizeof(d->reserved[0]); i++)
            if (d->reserved[i] != NULL) {
                snprintf(err, errlen, "reserved field %zu of its descriptor is set; the "
                         "plugin was built for a newer ABI 1.x than this appealsd (%u.%u) "
                         "knows", i, APD_PLUGIN_ABI_MAJOR, APD_PLUGIN_ABI_MINOR);
                return -1;
            }
    }
    if (d->name == NULL || d->init == NULL) {
        snprintf(err, errlen, "descriptor lacks a name or an init callback");
        return -1;
    }
    if (d->kind == APD_PLUGIN_SOURCE)
        return check_source_ops(d->source, err, errlen);
    if (d->kind == APD_PLUGIN_CLASSIFIER)
        return check_classifier_ops(d, err, errlen);
    return 0;
}

static struct conf_key *translate_keys(const struct apd_config_key *k, char *err, size_t errlen)
{
    size_t n = 0;
    while (k && k[n].name)
        n++;
    struct conf_key *out = calloc(n + 1, sizeof(*out));
    if (out == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        out[i].name = k[i].name;
        out[i].off = k[i].offset;
        out[i].def = k[i].def;
        out[i].min = k[i].min;
        out[i].max = k[i].max;
        out[i].doc = k[i].doc;
        switch (k[i].type) {
        case APD_KEY_STR: out[i].type = CT_STR; break;
        case APD_KEY_SECRET: out[i].type = CT_SECRET; break;
        case APD_KEY_INT: out[i].type = CT_INT; break;
        case APD_KEY_BOOL: out[i].type = CT_BOOL; break;
        case APD_KEY_DURATION: out[i].type = CT_DURATION; break;
        case APD_KEY_SIZE: out[i].type = CT_SIZE; break;
        case APD_KEY_LIST: out[i].type = CT_LIST; break;
        case APD_KEY_PATH: out[i].type = CT_PATH; break;
        case APD_KEY_PATH_LIST: out[i].type = CT_PATH_LIST; break;
        default:
            snprintf(err, errlen, "config key '%s' has unknown type %d", k[i].name,
                     (int)k[i].type);
            free(out);
            return NULL;
        }
    }
    return out;
}

static char *find_file(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.so", dir, name);
    if (access(path, R_OK) == 0)
        return strdup(path);
    snprintf(path, sizeof(path), "%s/%s/%s.so", dir, name, name);
    if (access(path, R_OK) == 0)
        return strdup(path);
    return NULL;
}

struct plugin *plugin_get(const char *dir, const char *name, char *err, size_t errlen)
{
    for (struct plugin *p = loaded; p; p = p->next)
        if (strcmp(p->name, name) == 0) {
            p->refs++;
            return p;
        }
    char *path = find_file(dir, name);
    if (path == NULL) {
        snprintf(err, errlen, "plugin %s: no %s.so in %s (check daemon.plugin_dir)", name, name,
                 dir);
        return NULL;
    }
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        snprintf(err, errlen, "dlopen(\"%s\") failed: %s; a missing library is the usual "
                 "cause, check with ldd(1)", path, dlerror());
        free(path);
        return NULL;
    }
    const struct apd_plugin *d = dlsym(dl, "apd_plugin_entry");
    if (d == NULL) {
        snprintf(err, errlen, "%s does not export apd_plugin_entry; not an appealsd plugin",
                 path);
        goto fail;
    }
    char why[384];
    if (plugin_check_desc(d, (size_t)-1, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "plugin %s (%s): %s", name, path, why);
        goto fail;
    }
    if (strcmp(d->name, name) != 0) {
        snprintf(err, errlen, "%s calls itself '%s', expected '%s'", path, d->name, name);
        goto fail;
    }
    struct plugin *p = calloc(1, sizeof(*p));
    if (p == NULL)
        abort();
    /* Copy only what the plugin has; fields a newer host appended stay NULL. */
    size_t n = d->struct_size < sizeof(p->desc) ? d->struct_size : sizeof(p->desc);
    memcpy(&p->desc, d, n);
    if (p->desc.kind == APD_PLUGIN_SOURCE) {
        const struct apd_source_ops *o = p->desc.source;
        memcpy(&p->source, o, o->struct_size < sizeof(p->source) ? o->struct_size
                                                                  : sizeof(p->source));
        p->desc.source = &p->source;
        if (p->source.struct_size < offsetof(struct apd_source_ops, poll) + sizeof(o->poll))
            p->source.poll = NULL;   /* bytes past an older plugin's ops are not ours */
        if (p->source.poll) {
            const struct apd_poll_ops *po = p->source.poll;
            memcpy(&p->poll, po, po->struct_size < sizeof(p->poll) ? po->struct_size
                                                                   : sizeof(p->poll));
            p->source.poll = &p->poll;
        }
    }
    if (p->desc.kind == APD_PLUGIN_CLASSIFIER) {
        const struct apd_classifier_ops *o = p->desc.classifier;
        memcpy(&p->classifier, o, o->struct_size < sizeof(p->classifier) ? o->struct_size
                                                                          : sizeof(p->classifier));
        p->desc.classifier = &p->classifier;
    }
    p->keys = translate_keys(p->desc.keys, why, sizeof(why));
    if (p->keys == NULL) {
        snprintf(err, errlen, "plugin %s: %s", name, why);
        free(p);
        goto fail;
    }
    p->name = strdup(name);
    p->path = path;
    p->dl = dl;
    p->refs = 1;
    p->next = loaded;
    loaded = p;
    log_debug("plugin %s %s loaded from %s", name, p->desc.version ? p->desc.version : "",
              path);
    return p;
fail:
    dlclose(dl);
    free(path);
    return NULL;
}

void plugin_put(struct plugin *p)
{
    if (p == NULL || --p->refs > 0)
        return;
    for (struct plugin **pp = &loaded; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    dlclose(p->dl);
    free(p->keys);
    free(p->name);
    free(p->path);
    free(p);
}

void plugin_vlog(int level, const char *who, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (level < LOG_LVL_ERROR)
        level = LOG_LVL_ERROR;
    if (level > LOG_LVL_DEBUG)
        level = LOG_LVL_DEBUG;
    log_msg((enum log_level)level, "%s: %s", who, msg);
}
