#include "output.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

static bool use_color;
static size_t kv_width = 20;

static unsigned decode(const unsigned char *s, size_t *n)
{
    if (s[0] < 0x80) { *n = 1; return s[0]; }
    if ((s[0] & 0xE0) == 0xC0 && s[1]) { *n = 2; return (unsigned)(s[0] & 0x1F) << 6 | (s[1] & 0x3F); }
    if ((s[0] & 0xF0) == 0xE0 && s[1] && s[2]) {
        *n = 3;
        return (unsigned)(s[0] & 0x0F) << 12 | (unsigned)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
    }
    if ((s[0] & 0xF8) == 0xF0 && s[1] && s[2] && s[3]) {
        *n = 4;
        return (unsigned)(s[0] & 0x07) << 18 | (unsigned)(s[1] & 0x3F) << 12 |
               (unsigned)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
    }
    *n = 1;
    return 0xFFFD;
}

/* East Asian wide and emoji ranges take two columns; combining marks none. */
static int cp_width(unsigned c)
{
    if (c == 0)
        return 0;
    if ((c >= 0x0300 && c <= 0x036F) || c == 0x200B || c == 0x200D || (c >= 0xFE00 && c <= 0xFE0F))
        return 0;
    if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
        (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
        (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
        (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1FAFF) ||
        (c >= 0x20000 && c <= 0x3FFFD))
        return 2;
    return 1;
}

size_t display_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n;
        unsigned c = decode(p, &n);
        w += (size_t)cp_width(c);
        p += n;
    }
    return w;
}

void out_init(bool color_ok) { use_color = color_ok && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"); }

const char *out_color(const char *what)
{
    if (!use_color)
        return "";
    if (strcmp(what, "ok") == 0) return "\033[32m";
    if (strcmp(what, "bad") == 0) return "\033[31;1m";
    if (strcmp(what, "dim") == 0) return "\033[2m";
    if (strcmp(what, "head") == 0) return "\033[1m";
    return "\033[0m";
}

void out_kv_begin(size_t key_width) { kv_width = key_width; }

void out_kv(const char *key, const char *value)
{
    size_t w = display_width(key);
    printf("%s%s%s", out_color("dim"), key, out_color("reset"));
    for (size_t i = w; i < kv_width; i++)
        putchar(' ');
    printf("%s\n", value);
}
