/* Text folding for rule matching: one canonical form of a citizen's text so
 * that a keyword written once in config matches every way people type it.
 *
 *   NFKC + Unicode case folding (utf8proc), "lumping" of look-alike
 *   punctuation and spaces (« » → ", NBSP → space, – — → -), default
 *   ignorables removed (soft hyphen, zero-width joiners), and ё → е,
 *   which Russian writers use interchangeably.
 *
 * Keywords in config go through the same function, so the two always agree.
 * Pure functions; any thread. */
#ifndef APPEALSD_TEXTFOLD_H
#define APPEALSD_TEXTFOLD_H

#include <stddef.h>

/**
 * @brief Fold len bytes of UTF-8 text.
 * @returns a new NUL-terminated string (free with free()); *outlen gets its
 *          length when outlen is not NULL.  Text that is not valid UTF-8 is
 *          folded byte-wise (ASCII letters only) instead of being refused,
 *          so a damaged text still matches its ASCII keywords.
 */
char *text_fold(const char *s, size_t len, size_t *outlen);

/* Only the ё/Ё → е part of folding, in place (same length in UTF-8): for
 * text whose other characters carry meaning, such as regex patterns. */
void text_fold_yo(char *s, size_t len);

#endif
