/* UTF-8 validation.  Surrogate code points (U+D800..U+DFFF, which appear when a
 * JSON decoder meets a lone "\udXXX" escape) and overlong forms are invalid. */
#ifndef APPEALSD_UTF8_H
#define APPEALSD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid/truncated. */
size_t utf8_seq_len(const char *s, size_t avail);
bool utf8_valid(const char *s, size_t len);

#endif
