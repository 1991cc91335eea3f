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

/* What lex.common says of a frequent form: its [common] lines (ids into
 * lex.common_first) and its stem. */
struct lex_common {
    struct lex_ids lines;
    char *stem;
};

void *lex_grow(void *p, size_t *cap, size_t need, size_t size);
void lex_ids_add(struct lex_ids *s, uint32_t id);
void lex_ids_free(void *ids);
size_t lex_cps(const char *s);

/* Indexes every stem and prefix term of fuzzy_min_cps code points or more by its
 * one-deletion variants (the symmetric-delete scheme): a word one edit away
 * from a term shares a variant with it. */
void lex_build_fuzzy(struct lex *lx);
/* Adds to out the terms word matches as written (or as a form of a short
 * word, LEX_TERM_SHORT), by its stem, or by a prefix (for a [common] word
 * only a prefix that covers its stem, unless a one-word entry names it);
 * returns the length in code points of the longest match (the whole word
 * for stem and exact matches). */
size_t lex_exact_cands(const struct lex *lx, const char *word, const char *stem,
                       struct lex_ids *out);

/* Adds to out the stem terms within one edit (insertion, deletion,
 * substitution or swap of neighbours) of stem, and the prefix terms within
 * one edit of a prefix of word, that keep the first LEX_FUZZY_KEEP letters;
 * nothing for a word shorter than fuzzy_min_cps. */
void lex_fuzzy_find(const struct lex *lx, const char *word, const char *stem,
                    struct lex_ids *out);

#endif
