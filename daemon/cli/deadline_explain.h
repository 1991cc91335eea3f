/* appealsd deadline --explain: what the answer was computed from, so an
 * operator can check it by hand: the hours per weekday and the week's
 * total, and the calendar's days off, shortened days and years (from a
 * file or from the Labour Code fallback) between the start and the due
 * instant. */
#ifndef APPEALSD_DEADLINE_EXPLAIN_H
#define APPEALSD_DEADLINE_EXPLAIN_H

#include <stdint.h>
#include <stdio.h>

#include "worktime.h"

void deadline_explain(const struct sched *s, int64_t from_ms, int64_t due_ms, FILE *out);

#endif
