#include "textfold.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ё (U+0451, D1 91) and Ё (U+0401, D0 81) become е (U+0435, D0 B5): the
 * same length in UTF-8, so the replacement is done in place. */
void text_fold_yo(char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char a = (unsigned char)s[i], b = (unsigned char)s[i + 1];
        if ((a == 0xD1 && b == 0x91) || (a == 0xD0 && b == 0x81)) {
            s[i] = (char)0xD0;
            s[i + 1] = (char)0xB5;
            i++;
        }
    }
}

static char *fold_bytes(const char *s, size_t len, size_t *outlen)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        abort();
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[len] = '\0';
    if (outlen)
        *outlen = len;
    return out;
}

char *text_fold(const char *s, size_t len, size_t *outlen)
{
    if (s == NULL)
        return fold_bytes("", 0, outlen);
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &dst,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                          UTF8PROC_CASEFOLD | UTF8PROC_IGNORE | UTF8PROC_LUMP);
    if (n < 0 || memchr(s, '\0', len) != NULL) {
        free(dst);
        return fold_bytes(s, len, outlen);
    }
    text_fold_yo((char *)dst, (size_t)n);
    if (outlen)
        *outlen = (size_t)n;
    return (char *)dst;
}
