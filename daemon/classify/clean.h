/* The first pass of text analysis: from what a platform sent to plain words.
 *
 * Removes (replacing by a space, so words on either side stay apart) HTML
 * tags, VK mention markup ([id1|Имя], [club1|…]), @names and e-mail
 * addresses, URLs and phone numbers; decodes HTML entities; drops stress
 * marks, zero-width characters and emoji variation selectors; composes
 * и + combining breve to й and е + diaeresis to ё; turns control characters
 * and exotic spaces into plain ones; and replaces invalid UTF-8 by spaces.
 * URLs are kept, as written, in a list of their own: they are a signal
 * (advertising, links to Gosuslugi), not words. */
#ifndef APPEALSD_CLEAN_H
#define APPEALSD_CLEAN_H

#include <stddef.h>

#include "sbuf.h"

struct clean_out {
    struct sbuf text;     /* the cleaned text (always valid UTF-8) */
    struct sbuf urls;     /* each URL NUL-terminated, one after the other */
    size_t nurls;
    unsigned mentions;    /* mention markup, @names, e-mail addresses */
    unsigned phones;
};

/* Cleans len bytes of s into out (whose buffers are reused; previous
 * contents are discarded). */
void clean_text(const char *s, size_t len, struct clean_out *out);
void clean_out_free(struct clean_out *out);

#endif
