/* Internals shared by the lexicon loader, the misspelling index and the
 * matcher; not for plugins. */
#ifndef APPEALSD_LEXINT_H
#define APPEALSD_LEXINT_H

#include <stddef.h>
#include <stdint.h>

#include "lex.h"

/* A small set of ids. */
struct lex_ids {
    uint32_t n, cap;
    uint32_t *v;
};

void *lex_grow(void *p, size_t *cap, size_t need, size_t size);
void lex_ids_add(struct lex_ids *s, uint32_t id);
void lex_ids_free(void *ids);
size_t lex_cps(const char *s);

/* Indexes every stem and prefix term of fuzzy_min_cps code points or more by its
 * one-deletion variants (the symmetric-delete scheme): a word one edit away
 * from a term shares a variant with it. */
void lex_build_fuzzy(struct lex *lx);
/* Adds to out the stem terms within one edit (insertion, deletion,
 * substitution or swap of neighbours) of stem, and the prefix terms within
 * one edit of a prefix of word. */
void lex_fuzzy_find(const struct lex *lx, const char *word, const char *stem,
                    struct lex_ids *out);

#endif
