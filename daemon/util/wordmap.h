/* A hash map for short string keys of known length (words, stems), for the
 * classifier's per-word lookups: each slot keeps the key's hash and length,
 * so a probe compares two integers before it compares bytes, and no lookup
 * needs strlen.  Keys are copied; values are borrowed pointers. */
#ifndef APPEALSD_WORDMAP_H
#define APPEALSD_WORDMAP_H

#include <stddef.h>
#include <stdint.h>

struct wordmap_slot {
    char *key;          /* NUL-terminated copy; NULL: empty slot */
    uint32_t hash;
    uint32_t len;
    void *val;
};

struct wordmap {
    struct wordmap_slot *slots;
    size_t cap;         /* power of two */
    size_t n;
};

void *wordmap_get(const struct wordmap *m, const char *key, size_t len);
/* Inserts or replaces; returns the previous value or NULL. */
void *wordmap_put(struct wordmap *m, const char *key, size_t len, void *val);
/* Empties the map; free_val (may be NULL) is called on every value. */
void wordmap_clear(struct wordmap *m, void (*free_val)(void *));

#endif
