/* Human output for appealsctl: aligned tables measured in terminal columns
 * (a Cyrillic letter is two bytes but one column; CJK and emoji take two,
 * combining marks none — utf8proc's character widths), colour only when
 * asked for or when stdout is a terminal and NO_COLOR is not set. */
#ifndef APPEALSCTL_OUTPUT_H
#define APPEALSCTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* Display width of a UTF-8 string in terminal columns; bytes that are not
 * UTF-8 count one column each. */
size_t display_width(const char *s);
/* Copies s cut to at most width columns, ending in "…" when cut. */
void fit_width(char *out, size_t outlen, const char *s, size_t width);

void out_init(enum color_mode mode);

struct sbuf;
/* Appends the JSON line in[0..len) to out with every character that could
 * steer a terminal (C0 controls but newline and tab, DEL, C1 controls, the
 * bidi embeddings, overrides and isolates U+202A-202E and U+2066-2069)
 * replaced.  visible: by the text "\x1b" or "\u202e", so that the parsed
 * strings show the escape instead of acting on it (human output); else by
 * the JSON escape of the same character, so the line means what it meant
 * and still prints harmlessly (--json). */
void out_defang_json(struct sbuf *out, const char *in, size_t len, bool visible);
/* Escape sequence for "ok", "bad", "warn", "dim", "head"; "reset" ends it.
 * Empty strings when colour is off. */
const char *out_color(const char *what);

/* "key   value" lines with keys padded to a common width. */
void out_kv_begin(size_t key_width);
void out_kv(FILE *f, const char *key, const char *value);

/* A table: declare columns, add cells row by row, print once. */
enum align { ALIGN_LEFT, ALIGN_RIGHT };
struct table;
struct table *table_new(void);
/* max_width 0: as wide as the widest cell. */
void table_col(struct table *t, const char *head, enum align a, size_t max_width);
/* Adds a cell to the current row (a row is complete after one cell per
 * column); color is an out_color() name or NULL.  The text is copied. */
void table_cell(struct table *t, const char *text, const char *color);
/* Prints header and rows to f, two spaces between columns, and frees t. */
void table_print(struct table *t, FILE *f);

#endif
