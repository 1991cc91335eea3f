#include "output.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "sbuf.h"

#define TABLE_MAX_COLS 12

static bool use_color;
static size_t kv_width = 20;

/* Width of the character at s (its length in *n): 0, 1 or 2 columns. */
static int char_width(const char *s, size_t *n)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)s, -1, &cp);
    if (l <= 0) {
        *n = 1;
        return 1;
    }
    *n = (size_t)l;
    return utf8proc_charwidth(cp);
}

size_t display_width(const char *s)
{
    size_t w = 0, n;
    for (const char *p = s; *p; p += n)
        w += (size_t)char_width(p, &n);
    return w;
}

void fit_width(char *out, size_t outlen, const char *s, size_t width)
{
    if (display_width(s) <= width) {
        snprintf(out, outlen, "%s", s);
        return;
    }
    /* Room for the ellipsis: one column, three bytes. */
    size_t w = 0, o = 0, n;
    for (const char *p = s; *p; p += n) {
        int cw = char_width(p, &n);
        if (w + (size_t)cw + 1 > width || o + n + 4 > outlen)
            break;
        memcpy(out + o, p, n);
        o += n;
        w += (size_t)cw;
    }
    memcpy(out + o, "\xe2\x80\xa6", 4);
}

static bool steers_terminal(uint32_t cp, bool visible)
{
    if (cp < 0x20)
        return !visible || (cp != '\n' && cp != '\t');
    return cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

static void add_escape(struct sbuf *out, uint32_t cp, bool visible)
{
    if (!visible)
        sbuf_printf(out, "\\u%04x", (unsigned)cp);
    else if (cp < 0x80)
        sbuf_printf(out, "\\\\x%02x", (unsigned)cp);
    else
        sbuf_printf(out, "\\\\u%04x", (unsigned)cp);
}

/* The code point of the raw UTF-8 sequence at p when it is one that
 * steers a terminal (C1 or bidi; none of them is shorter than 2 bytes),
 * with its length in *n; 0 otherwise. */
static uint32_t raw_danger(const unsigned char *p, size_t left, size_t *n)
{
    if (left >= 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
        *n = 2;
        return p[1];
    }
    if (left >= 3 && p[0] == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
                                      (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9))) {
        *n = 3;
        return 0x2000u | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3fu);
    }
    return 0;
}

/* A JSON escape at p (p[0] is the backslash): its length, and in *cp the
 * character it stands for when that one steers a terminal, else 0. */
static size_t json_escape(const char *p, size_t left, bool visible, uint32_t *cp)
{
    *cp = 0;
    if (left < 2)
        return left;
    if (p[1] == 'u' && left >= 6) {
        char hex[5] = {p[2], p[3], p[4], p[5], 0};
        uint32_t v = (uint32_t)strtoul(hex, NULL, 16);
        if (steers_terminal(v, visible))
            *cp = v;
        return 6;
    }
    if (p[1] == 'b' || p[1] == 'f' || p[1] == 'r')
        *cp = p[1] == 'b' ? 8 : p[1] == 'f' ? 12 : 13;
    return 2;
}

void out_defang_json(struct sbuf *out, const char *in, size_t len, bool visible)
{
    bool in_str = false;
    for (size_t i = 0; i < len;) {
        const unsigned char *p = (const unsigned char *)in + i;
        uint32_t cp = 0;
        size_t n = 1;
        if (in_str && *p == '\\') {
            n = json_escape(in + i, len - i, visible, &cp);
            if (cp == 0 || !visible) {
                sbuf_add(out, p, n);
                i += n;
                continue;
            }
        } else if (*p == '"') {
            in_str = !in_str;
        } else if (in_str && (*p < 0x20 || *p == 0x7f)) {
            cp = *p;
        } else if (in_str) {
            cp = raw_danger(p, len - i, &n);
        }
        if (cp)
            add_escape(out, cp, visible);
        else
            sbuf_add(out, p, n);
        i += n;
    }
}

void out_init(enum color_mode mode)
{
    const char *term = getenv("TERM");
    use_color = mode == COLOR_ALWAYS ||
                (mode == COLOR_AUTO && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
                 !(term && strcmp(term, "dumb") == 0));
}

const char *out_color(const char *what)
{
    if (!use_color || what == NULL)
        return "";
    if (strcmp(what, "ok") == 0)
        return "\033[32m";
    if (strcmp(what, "bad") == 0)
        return "\033[31;1m";
    if (strcmp(what, "warn") == 0)
        return "\033[33m";
    if (strcmp(what, "dim") == 0)
        return "\033[2m";
    if (strcmp(what, "head") == 0)
        return "\033[1m";
    return "\033[0m";
}

void out_kv_begin(size_t key_width) { kv_width = key_width; }

void out_kv(FILE *f, const char *key, const char *value)
{
    size_t w = display_width(key);
    fprintf(f, "%s%s%s", out_color("dim"), key, out_color("reset"));
    for (size_t i = w; i < kv_width || i < w + 2; i++)
        fputc(' ', f);
    fprintf(f, "%s\n", value);
}

struct cell {
    char *text;
    const char *color;
};

struct table {
    size_t ncols;
    struct {
        const char *head;
        enum align align;
        size_t max, width;
    } col[TABLE_MAX_COLS];
    struct cell *cells;
    size_t ncells, cap;
};

struct table *table_new(void) { return calloc(1, sizeof(struct table)); }

void table_col(struct table *t, const char *head, enum align a, size_t max_width)
{
    if (t->ncols == TABLE_MAX_COLS)
        return;
    t->col[t->ncols].head = head;
    t->col[t->ncols].align = a;
    t->col[t->ncols].max = max_width;
    t->col[t->ncols].width = display_width(head);
    t->ncols++;
}

void table_cell(struct table *t, const char *text, const char *color)
{
    size_t c = t->ncells % t->ncols;
    char fitted[1024];
    /* Control characters would break the row: a newline in a text cell. */
    char *clean = strdup(text ? text : "-");
    for (char *p = clean; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    if (t->col[c].max) {
        fit_width(fitted, sizeof(fitted), clean, t->col[c].max);
        free(clean);
        clean = strdup(fitted);
    }
    size_t w = display_width(clean);
    if (w > t->col[c].width)
        t->col[c].width = w;
    if (t->ncells == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 32;
        t->cells = realloc(t->cells, t->cap * sizeof(*t->cells));
    }
    t->cells[t->ncells++] = (struct cell){clean, color};
}

static void pad(FILE *f, size_t n)
{
    while (n-- > 0)
        fputc(' ', f);
}

static void print_cell(FILE *f, const struct table *t, size_t c, const char *text,
                       const char *color, bool last)
{
    size_t w = display_width(text);
    size_t gap = t->col[c].width > w ? t->col[c].width - w : 0;
    if (t->col[c].align == ALIGN_RIGHT)
        pad(f, gap);
    fprintf(f, "%s%s%s", out_color(color), text, color ? out_color("reset") : "");
    if (t->col[c].align == ALIGN_LEFT && !last)
        pad(f, gap);
    if (!last)
        fputs("  ", f);
}

void table_print(struct table *t, FILE *f)
{
    for (size_t c = 0; c < t->ncols; c++)
        print_cell(f, t, c, t->col[c].head, "head", c + 1 == t->ncols);
    fputc('\n', f);
    for (size_t i = 0; i < t->ncells; i++) {
        size_t c = i % t->ncols;
        print_cell(f, t, c, t->cells[i].text, t->cells[i].color, c + 1 == t->ncols);
        if (c + 1 == t->ncols)
            fputc('\n', f);
    }
    if (t->ncells % t->ncols)
        fputc('\n', f);
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i].text);
    free(t->cells);
    free(t);
}
