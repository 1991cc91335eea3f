#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sbuf.h"

static void push(char ***v, size_t *n, size_t *cap, char *m)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *v = realloc(*v, *cap * sizeof(char *));
        if (*v == NULL)
            abort();
    }
    (*v)[(*n)++] = m;
}

static char *format(const char *file, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static char *format(const char *file, int line, const char *fmt, va_list ap)
{
    struct sbuf b = SBUF_INIT;
    if (file && line > 0)
        sbuf_printf(&b, "%s:%d: ", file, line);
    else if (file)
        sbuf_printf(&b, "%s: ", file);
    sbuf_vprintf(&b, fmt, ap);
    return sbuf_steal(&b);
}

void diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = format(file, line, fmt, ap);
    va_end(ap);
    push(&d->msg, &d->n, &d->cap, m);
}

void diag_warn(struct diag *d, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = format(file, line, fmt, ap);
    va_end(ap);
    push(&d->warn, &d->nwarn, &d->wcap, m);
}

void diag_log_warnings(const struct diag *d)
{
    for (size_t i = 0; i < d->nwarn; i++)
        log_warn("config: %s", d->warn[i]);
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
    for (size_t i = 0; i < d->nwarn; i++)
        free(d->warn[i]);
    free(d->warn);
    d->msg = d->warn = NULL;
    d->n = d->cap = d->nwarn = d->wcap = 0;
}
