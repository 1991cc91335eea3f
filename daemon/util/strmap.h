/* A string-keyed hash map (open addressing, linear probing) for lookups on
 * the hot path: pages by "source:id", organisations by code, appeals in
 * flight.  Keys are copied; values are borrowed pointers. */
#ifndef APPEALSD_STRMAP_H
#define APPEALSD_STRMAP_H

#include <stddef.h>

struct strmap_slot {
    char *key;
    void *val;
};

struct strmap {
    struct strmap_slot *slots;
    size_t cap;     /* power of two */
    size_t n;
};

/* Inserts or replaces; returns the previous value or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *val);
void *strmap_get(const struct strmap *m, const char *key);
/* Lookup with a key given as two parts joined by sep ("vk", ':', "123"). */
void *strmap_get2(const struct strmap *m, const char *a, char sep, const char *b);
/* Removes key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

#endif
