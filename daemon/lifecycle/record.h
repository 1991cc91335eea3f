/* An appeal's record as the daemon keeps it in Redis (the hash a:{ID}, see
 * daemon/store/appeals.h for every field), parsed into a struct, and back.
 *
 * The lifecycle works on copies: it parses the record it read, lets a
 * transition change a copy, and writes back exactly the fields that differ,
 * with a compare-and-set on `seq` so concurrent writers never lose an update.
 * Single-threaded (loop thread); a record owns every string it holds. */
#ifndef APPEALSD_RECORD_H
#define APPEALSD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw;
struct redisReply;

/* The clocks an appeal can run. */
enum clock_id {
    CLK_FR,     /* first public response (social regime) */
    CLK_RES,    /* resolution (social regime) */
    CLK_FZ,     /* the 59-FZ term, from registration as a formal обращение */
    CLK_REG,    /* 59-FZ registration after receipt (art. 8 ch. 2) */
    CLK_FWD,    /* 59-FZ forwarding to the competent body (art. 8 ch. 3) */
    CLK_RWK,    /* rework: a substantive answer after a formal one (social regime) */
    CLK_N,
};

/* Clock states as stored (one character). */
#define CS_NONE  '\0'   /* not started (the policy has no such clock) */
#define CS_RUN   'r'    /* running towards due */
#define CS_PAUSE 'p'    /* paused (waiting for the citizen): left is kept */
#define CS_STOP  's'    /* stopped without being met (closed, withdrawn); left kept */
#define CS_MET   'm'    /* met (answered, resolved); left kept for a reopen */

/* Stages of a clock, as bits of `fired`: 0 warning, 1 breach, 2.. escalation
 * level (bit - 1).  Each fires on its own instant, so a level whose recipient
 * is off duty does not hold back the next one. */
#define STAGE_WARNING 0
#define STAGE_BREACH  1
#define STAGE_MAX     32

struct clock {
    char state;
    int64_t due;       /* CS_RUN: the deadline (ms) */
    int64_t left;      /* other states: allowed time remaining (negative: overdue) */
    int64_t bud;       /* the allowance (working or calendar ms) */
    uint32_t fired;    /* stages already fired (bit per stage) */
    int64_t at;        /* when it was met or stopped */
    int64_t used;      /* CS_MET: working time taken (first response metric) */
};

struct appeal_rec {
    char *id;
    bool exists;             /* creation committed (received_ms is set) */
    int64_t seq;             /* events published so far; the compare-and-set version */
    char *source, *page, *org, *state, *prev_state;
    char *link, *author, *item_kind, *rule;
    char *kind, *category, *municipality, *priority;
    char *policy;            /* social-regime policy */
    char *formal;            /* 59-FZ policy, once converted */
    char *fr_link;           /* where the first response was given */
    char *copies;            /* organisations that get copies (routing), comma-separated */
    char *answer_quality;    /* the last answer's: substantive, formal, refusal (judge.h) */
    char *answer_reasons;    /* ... and its reasons, comma-separated */
    bool triage;
    bool dropped;            /* a drop rule took it: recorded, never an open appeal */
    int64_t created_ms, received_ms, formal_ms;
    int64_t fz_received_ms;  /* 59-FZ: the current body received the written обращение */
    int64_t registered_ms;   /* ... and registered it: its term runs from the next day */
    int64_t forwarded_ms;    /* the last forward to another body */
    int64_t ext_days;        /* 59-FZ extensions granted, in days */
    int64_t exts;            /* ... and how many */
    int64_t confirmed_ms;    /* the author confirmed the fix under the answer (0: not) */
    int64_t reopens;         /* times the author reopened it under an answer */
    /* Its incident (daemon/incident): the SLA runs on the incident's lead,
     * the earliest appeal; a member's own clocks are held (never fire) while
     * another appeal leads.  The lead keeps the incident's appeals for its
     * SLA events.  inc_ver is the incident version last applied (a
     * compare-and-set against syncs that arrive out of order). */
    char *inc, *inc_lead, *inc_apps;
    int64_t inc_ver;
    struct clock clk[CLK_N];
    char *text;              /* a:{ID}:text */
};

/* first_response, resolution, formal, registration, forward, rework */
const char *clock_name(enum clock_id c);
const char *clock_field(enum clock_id c);        /* fr, res, fz, rg, fw, rw */

void record_init(struct appeal_rec *r, const char *id);
void record_free(struct appeal_rec *r);
void record_copy(struct appeal_rec *dst, const struct appeal_rec *src);
/* Replaces a string field (NULL or "" clears it). */
void record_set(char **field, const char *v);

/* Fills r from an HGETALL-style array of field, value, ... (unknown fields
 * are ignored); text may be NULL. */
void record_parse(struct appeal_rec *r, const struct redisReply *hash,
                  const struct redisReply *text);

/* The record as field/value pairs (values formatted into owned strings).
 * Fields with empty values are left out: absent means unset. */
struct record_fields {
    char *name[96];
    char *value[96];
    size_t n;
};
void record_fields(const struct appeal_rec *r, struct record_fields *out);
void record_fields_free(struct record_fields *f);

bool state_is_final(const char *state);    /* resolved, closed, withdrawn, dropped, and
                                              the kept non-appeals below */
/* Texts the classifier found are no appeal, kept for the record: noise
 * ("not_appeal") and gratitude ("feedback"); an edit can still make one an
 * appeal. */
bool state_is_kept(const char *state);
bool state_is_active(const char *state);   /* open, accepted, in_progress, answered */

/* In an incident led by another appeal: its clocks do not fire. */
bool record_inc_held(const struct appeal_rec *r);

/* A clock has breached and is not yet met or stopped. */
bool clock_overdue(const struct clock *c);
bool record_overdue(const struct appeal_rec *r);
/* The earliest running deadline, 0 when no clock runs. */
int64_t record_next_due(const struct appeal_rec *r);

/* Writes the "sla" object of messages: policy, regime and every clock that
 * exists, with ISO instants in tz. */
void record_sla_json(struct jw *w, const struct appeal_rec *r, const char *tz);

#endif
