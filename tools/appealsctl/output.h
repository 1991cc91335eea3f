/* Human output for appealsctl: aligned tables measured in terminal columns
 * (Cyrillic letters take one column but two bytes; emoji and CJK take two),
 * colour only when stdout is a terminal. */
#ifndef APPEALSCTL_OUTPUT_H
#define APPEALSCTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

/* Display width of a UTF-8 string in terminal columns. */
size_t display_width(const char *s);
void out_init(bool color_ok);
/* "key   value" lines with keys padded to a common width. */
void out_kv(const char *key, const char *value);
void out_kv_begin(size_t key_width);
const char *out_color(const char *what);   /* "ok", "bad", "dim", "reset" */

#endif
