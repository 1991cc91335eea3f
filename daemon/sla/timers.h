/* The SLA scheduler: fires warnings, breaches and escalations at their second,
 * shared by every daemon on one Redis.
 *
 * Each round is one script (store/appeals.h, appeals_claim_due) that moves the
 * appeals whose next stage is due from sla:due to sla:lease and hands back
 * their records, plus outbox events and claimed appeals whose lease expired
 * (their daemon died).  The lifecycle fires the stages under a compare-and-set
 * on the record, so each stage is stored exactly once even when two daemons
 * hold the same appeal, and its event goes out through the outbox.
 *
 * The scheduler sleeps until the earliest due instant it knows of, at most
 * [sla] tick, and wakes at once when this daemon arms an earlier stage or a
 * round came back full.  Loop thread only. */
#ifndef APPEALSD_TIMERS_H
#define APPEALSD_TIMERS_H

#include <stdint.h>

struct app;
struct lifecycle;
struct sla_timers;

struct sla_timers *sla_timers_new(struct app *app, struct lifecycle *lc);
void sla_timers_free(struct sla_timers *t);
/* Closes the scheduler's own Redis connection (teardown, before freeing). */
void sla_timers_close(struct sla_timers *t);
/* Stops claiming (shutdown); appeals being processed finish. */
void sla_timers_stop(struct sla_timers *t);
/* Wake no later than `at` (a stage this daemon just armed). */
void sla_timers_poke(struct sla_timers *t, int64_t at);

struct sla_timer_stats {
    uint64_t rounds, claimed, fired, taken_over;
    unsigned processing;
};
void sla_timers_get_stats(const struct sla_timers *t, struct sla_timer_stats *st);

#endif
