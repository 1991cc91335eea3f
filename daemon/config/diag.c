#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

void diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
{
    struct sbuf b = SBUF_INIT;
    va_list ap;
    if (file && line > 0)
        sbuf_printf(&b, "%s:%d: ", file, line);
    else if (file)
        sbuf_printf(&b, "%s: ", file);
    va_start(ap, fmt);
    sbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->msg = realloc(d->msg, d->cap * sizeof(char *));
        if (d->msg == NULL)
            abort();
    }
    d->msg[d->n++] = sbuf_steal(&b);
}

char *diag_join(const struct diag *d, const char *sep)
{
    struct sbuf b = SBUF_INIT;
    for (size_t i = 0; i < d->n; i++) {
        if (i)
            sbuf_adds(&b, sep);
        sbuf_adds(&b, d->msg[i]);
    }
    return sbuf_steal(&b);
}

void diag_free(struct diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->msg[i]);
    free(d->msg);
    d->msg = NULL;
    d->n = d->cap = 0;
}
