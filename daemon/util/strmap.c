#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"

static size_t slot_of(const struct strmap *m, const char *key, size_t len)
{
    return (size_t)fnv1a64(key, len) & (m->cap - 1);
}

static void grow(struct strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    struct strmap_slot *old = m->slots;
    size_t oldcap = m->cap;
    m->slots = calloc(cap, sizeof(*m->slots));
    if (m->slots == NULL)
        abort();
    m->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].key == NULL)
            continue;
        size_t j = slot_of(m, old[i].key, strlen(old[i].key));
        while (m->slots[j].key)
            j = (j + 1) & (cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void *strmap_put(struct strmap *m, const char *key, void *val)
{
    if ((m->n + 1) * 2 > m->cap)
        grow(m);
    size_t j = slot_of(m, key, strlen(key));
    while (m->slots[j].key) {
        if (strcmp(m->slots[j].key, key) == 0) {
            void *prev = m->slots[j].val;
            m->slots[j].val = val;
            return prev;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j].key = strdup(key);
    if (m->slots[j].key == NULL)
        abort();
    m->slots[j].val = val;
    m->n++;
    return NULL;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t j = slot_of(m, key, strlen(key));
    while (m->slots[j].key) {
        if (strcmp(m->slots[j].key, key) == 0)
            return m->slots[j].val;
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

void *strmap_get2(const struct strmap *m, const char *a, char sep, const char *b)
{
    char buf[512];
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 2 > sizeof(buf))
        return NULL;
    memcpy(buf, a, la);
    buf[la] = sep;
    memcpy(buf + la + 1, b, lb + 1);
    return strmap_get(m, buf);
}

void *strmap_del(struct strmap *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t j = slot_of(m, key, strlen(key));
    while (m->slots[j].key && strcmp(m->slots[j].key, key) != 0)
        j = (j + 1) & (m->cap - 1);
    if (m->slots[j].key == NULL)
        return NULL;
    void *val = m->slots[j].val;
    free(m->slots[j].key);
    m->slots[j].key = NULL;
    m->slots[j].val = NULL;
    m->n--;
    /* Backward-shift: re-place the rest of the cluster so probes still find it. */
    size_t k = (j + 1) & (m->cap - 1);
    while (m->slots[k].key) {
        struct strmap_slot s = m->slots[k];
        m->slots[k].key = NULL;
        size_t h = slot_of(m, s.key, strlen(s.key));
        while (m->slots[h].key)
            h = (h + 1) & (m->cap - 1);
        m->slots[h] = s;
        k = (k + 1) & (m->cap - 1);
    }
    return val;
}

void strmap_free(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
