/* Text analysis for the classifiers: one pass that turns a citizen's comment
 * into words classifiers can match, and the signals around them.
 *
 *   clean   HTML tags and entities, VK mention markup ([id1|Имя]), @names,
 *           e-mail addresses, URLs (kept as a list) and phone numbers out;
 *           stress marks dropped, и+breve composed to й; control and
 *           zero-width characters out
 *   words   runs of letters and digits, cut at hyphens, at letter/digit
 *           boundaries and where a lower-case letter is followed by a capital
 *           ("вМайкопе" → "в", "Майкопе"); Latin look-alike letters inside
 *           Cyrillic words repaired ("пoдъeзд" with Latin o and e); Unicode
 *           case folding (utf8proc); ё → е; Snowball Russian stems; an id
 *           per distinct word (the vocabulary), so a word is stemmed once
 *           and classifiers can remember words in arrays
 *   context sentences (and whether they end in '?' or '!'), negation scopes
 *           ("не работает", "нет горячей воды", "воды нет"), emoji and
 *           ")))"-smileys by tone, "!!!" and "???" runs, capitals
 *
 * The result is the public struct apd_text of include/appealsd/classify.h.
 *
 * An analyzer owns a Snowball stemmer and the vocabulary (at most 65536
 * words: then it starts afresh under a new generation number, which
 * apd_text.vocabulary tells the classifiers); it is not thread-safe: one per
 * thread (the daemon has one per configuration snapshot, used on the loop
 * thread only). */
#ifndef APPEALSD_TEXT_H
#define APPEALSD_TEXT_H

#include <stddef.h>

#include "appealsd/classify.h"

/* Tokens beyond this many are dropped (apd_text.truncated is set): a very
 * long text is classified by its beginning, in bounded time. */
#define TEXT_MAX_TOKENS 4096

struct text_analyzer;

/* NULL with a reason in err when the Russian stemmer is unavailable. */
struct text_analyzer *text_analyzer_new(char *err, size_t errlen);
void text_analyzer_free(struct text_analyzer *a);

/* Analyses len bytes of s (UTF-8; invalid bytes count as spaces) into the
 * analyzer's own result.  Borrowed: valid until the next text_analyze() on
 * the same analyzer or its free. */
const struct apd_text *text_analyze(struct text_analyzer *a, const char *s, size_t len);

/* Like text_analyze, but the result is new and owned by the caller: release
 * it with text_release().  NULL when out of memory. */
const struct apd_text *text_analyze_owned(struct text_analyzer *a, const char *s, size_t len);
void text_release(const struct apd_text *t);

/* Words in the vocabulary (for tests and metrics). */
size_t text_analyzer_cached(const struct text_analyzer *a);

#endif
