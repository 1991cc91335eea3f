/* Collected configuration errors.  Validation reports every problem it finds,
 * each as "FILE:LINE: [section] key: message", so an operator fixes a config
 * in one pass instead of one error per restart. */
#ifndef APPEALSD_DIAG_H
#define APPEALSD_DIAG_H

#include <stddef.h>

struct diag {
    char **msg;
    size_t n, cap;
    /* Warnings: the config is usable, but an operator should act (a secret
     * equal to a shipped example).  --check-config prints them; the daemon
     * logs them at start and reload. */
    char **warn;
    size_t nwarn, wcap;
};

void diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_warn(struct diag *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Logs every warning at warn level, prefixed with "config: ". */
void diag_log_warnings(const struct diag *d);
/* All messages joined by "; " (for one-line status replies); caller frees. */
char *diag_join(const struct diag *d, const char *sep);
void diag_free(struct diag *d);

#endif
