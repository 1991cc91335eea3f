/* Log lines about refused webhook requests that a flood of bad requests
 * cannot turn into a flood of log lines.
 *
 * Within each window (10 s) the first REJECT_LOG_BURST lines are written as
 * they come; the rest are only counted, by HTTP status, and one summary line
 * at the end of the window says how many were left out.  A million bad
 * requests therefore cost a few dozen lines, and the operator still learns
 * that they happened and of what kind.
 *
 * Loop thread only. */
#ifndef APPEALSD_REJECT_LOG_H
#define APPEALSD_REJECT_LOG_H

#include <stdint.h>

#include "log.h"

#define REJECT_LOG_BURST 20
#define REJECT_LOG_WINDOW_MS 10000

struct event_base;

/* Arms the summary timer on base; call once before the first line. */
void reject_log_init(struct event_base *base);
/* Logs (or counts) one line about a request answered with status. */
void reject_log(enum log_level lvl, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes a pending summary now and frees the timer (shutdown). */
void reject_log_shutdown(void);

#endif
