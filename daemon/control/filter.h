/* Filters over appeals, shared by the control commands `tail` (matched
 * against each live event) and `list` (matched against stored records).
 *
 * Arguments come from the request's "args" object:
 *   org, category, municipality, priority, state, types
 *       a string, a comma-separated string, or an array of strings: the
 *       field must equal one of them (a field the event lacks never matches);
 *   overdue       true: only appeals past a deadline; false: only those not;
 *   due_within_s  only appeals whose deadline falls before now + N seconds
 *                 (deadlines already past included).
 * Unknown argument names are refused, so a typo never widens a filter
 * silently.  Loop thread only; a filter owns its strings. */
#ifndef APPEALSD_CTL_FILTER_H
#define APPEALSD_CTL_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bind.h"

struct json;
struct tail_event;

struct ctl_filter {
    struct strlist org, category, municipality, priority, state, types;
    int overdue;             /* -1 either, 0 not overdue, 1 overdue only */
    int64_t due_within_ms;   /* -1: no bound */
};

/**
 * @brief Reads the filter arguments of a request.
 * @param args   the request's "args" (may be NULL: no filter).
 * @param extra  further argument names the command accepts itself (e.g.
 *               "limit"), NULL-terminated, or NULL.
 * @param types  whether the "types" argument is allowed (tail only).
 * @returns 0, or -1 with a one-line reason in err (the filter is then empty
 *          and needs no free).
 */
int ctl_filter_parse(struct ctl_filter *f, const struct json *args, const char *const *extra,
                     bool types, char *err, size_t errlen);
void ctl_filter_free(struct ctl_filter *f);

/* True when ev passes every condition of f at instant now_ms. */
bool ctl_filter_match(const struct ctl_filter *f, const struct tail_event *ev, int64_t now_ms);

#endif
