/* Clock arithmetic: starting, pausing, resuming, meeting and moving an
 * appeal's clocks, and the instants of their stages (warning, breach,
 * escalation levels).
 *
 * A clock keeps its allowance (`bud`) and, while it does not run, the time it
 * has left (`left`), both in the policy's time base: working milliseconds of
 * the responsible organisation's schedule, or calendar milliseconds.  So a
 * pause, a re-route to a body with other hours, or a reopen moves the deadline
 * by exactly the working time that passed.  Pure functions; loop thread. */
#ifndef APPEALSD_CLOCK_H
#define APPEALSD_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "record.h"
#include "worktime.h"

struct apd_config;
struct policy;
struct org;
struct escalation;

/* What the arithmetic of one clock depends on. */
struct clock_ctx {
    const struct apd_config *cfg;
    const struct policy *pol;
    const struct org *org;     /* responsible organisation (NULL: the ЦУР's triage) */
    struct sched sched;        /* its schedule */
    bool critical;             /* escalations go out at any hour */
};

void clock_ctx_init(struct clock_ctx *x, const struct apd_config *cfg, const struct policy *pol,
                    const struct org *org, const char *priority);

/* Elapsed/add in the policy's time base. */
int64_t clock_between(const struct clock_ctx *x, int64_t a, int64_t b);
int64_t clock_add(const struct clock_ctx *x, int64_t from, int64_t ms);

/* Starts (or restarts) a clock at `now` with the given allowance. */
void clock_start(struct clock *c, const struct clock_ctx *x, const struct wdur *allow,
                 int64_t now);
/* Running → paused / stopped / met, keeping the time left. */
void clock_hold(struct clock *c, const struct clock_ctx *x, char state, int64_t now);
/* Paused/stopped/met → running: the deadline is now plus the time left. */
void clock_resume(struct clock *c, const struct clock_ctx *x, int64_t now);
/* Moves a clock to another organisation or policy.  keep: the elapsed time
 * carries over into the new allowance; else the clock starts anew. */
void clock_move(struct clock *c, const struct clock_ctx *from, const struct clock_ctx *to,
                const struct wdur *allow, bool keep, int64_t now);
/* The end of a term of `days` started at `from` under the context's policy
 * (59-FZ: the end of the last day, a day off moved; docs/sla.md). */
int64_t clock_term_end(const struct clock_ctx *x, int64_t from, int64_t days);
/* Moves a running (or paused) clock's deadline by `add` ms of its time base;
 * stages now in the future fire again. */
void clock_lengthen(struct clock *c, const struct clock_ctx *x, int64_t add, int64_t now);
/* Adds calendar or working days (59-FZ extension) to a running or held clock. */
void clock_extend(struct clock *c, const struct clock_ctx *x, const struct wdur *by,
                  int64_t now);

/* Number of stages of a clock under its policy (warning, breach, levels). */
int clock_nstages(const struct clock_ctx *x);
/**
 * @brief Instant the clock's stage `stage` is due (running clocks only).
 * @returns INT64_MAX when the stage does not exist or the clock is not running.
 * @remark Escalations to people wait for the first recipient's working hours
 *         unless the appeal is critical.
 */
int64_t clock_stage_at(const struct clock *c, const struct clock_ctx *x, int stage);
/* The next stage instant of a running clock (INT64_MAX: nothing left). */
int64_t clock_next_at(const struct clock *c, const struct clock_ctx *x);

/**
 * @brief The organisations an escalation level goes to.
 * @returns how many were written to out (at most max): `up:N` walks the
 *          responsible body's parent chain (stopping at its top), `top` is
 *          the top, `owner` the body itself, else the listed codes.
 */
size_t clock_recipients(const struct clock_ctx *x, const struct escalation *e,
                        const struct org **out, size_t max);

#endif
