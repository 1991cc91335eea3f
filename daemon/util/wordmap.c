#include "wordmap.h"

#include <stdlib.h>
#include <string.h>

/* 8 bytes at a time, multiply and fold: words are short, this is enough. */
static uint32_t hash_of(const char *s, size_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    return (uint32_t)(h ^ (h >> 32));
}

/* Equal bytes, for keys a few words long: cheaper than a call to memcmp. */
static int same(const char *a, const char *b, size_t len)
{
    while (len >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return 0;
        a += 8;
        b += 8;
        len -= 8;
    }
    while (len--)
        if (*a++ != *b++)
            return 0;
    return 1;
}

static struct wordmap_slot *probe(const struct wordmap *m, const char *key, size_t len,
                                  uint32_t h)
{
    size_t j = h & (m->cap - 1);
    for (;;) {
        struct wordmap_slot *s = &m->slots[j];
        if (s->key == NULL || (s->hash == h && s->len == len && same(s->key, key, len)))
            return s;
        j = (j + 1) & (m->cap - 1);
    }
}

void *wordmap_get(const struct wordmap *m, const char *key, size_t len)
{
    if (m->cap == 0)
        return NULL;
    struct wordmap_slot *s = probe(m, key, len, hash_of(key, len));
    return s->key ? s->val : NULL;
}

static void grow(struct wordmap *m)
{
    struct wordmap old = *m;
    m->cap = m->cap ? m->cap * 2 : 64;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (m->slots == NULL)
        abort();
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *probe(m, old.slots[i].key, old.slots[i].len, old.slots[i].hash) = old.slots[i];
    free(old.slots);
}

void *wordmap_put(struct wordmap *m, const char *key, size_t len, void *val)
{
    if ((m->n + 1) * 2 > m->cap)
        grow(m);
    uint32_t h = hash_of(key, len);
    struct wordmap_slot *s = probe(m, key, len, h);
    if (s->key) {
        void *prev = s->val;
        s->val = val;
        return prev;
    }
    if ((s->key = malloc(len + 1)) == NULL)
        abort();
    memcpy(s->key, key, len);
    s->key[len] = '\0';
    s->hash = h;
    s->len = (uint32_t)len;
    s->val = val;
    m->n++;
    return NULL;
}

void wordmap_clear(struct wordmap *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) {
            free(m->slots[i].key);
            if (free_val)
                free_val(m->slots[i].val);
        }
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
