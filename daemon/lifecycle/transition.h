/* The appeal state machine: what each event does to an appeal's state,
 * owner and clocks, and which events it publishes.
 *
 * States: open → accepted → in_progress → answered (an agency's progress;
 * never backwards except by reopen), waiting (paused for the citizen), and the
 * final resolved, closed, withdrawn.  docs/sla.md has the full table.
 *
 * transition_plan() is pure: given the record as read and an event, it fills
 * a plan with the record as it must become, the messages to publish (with
 * their sequence numbers) and the audit entries.  The lifecycle engine
 * (lifecycle.h) writes the plan with a compare-and-set and publishes it;
 * tests call transition_plan() directly. */
#ifndef APPEALSD_TRANSITION_H
#define APPEALSD_TRANSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct apd_config;

enum lc_kind {
    /* from the pipeline: the platform */
    LC_CREATED, LC_EDITED, LC_WITHDRAWN, LC_RESTORED, LC_REPLY,
    /* from agencies (kafka.topic_status) */
    LC_ACCEPTED, LC_IN_PROGRESS, LC_ANSWERED, LC_RESOLVED, LC_NEEDS_INFO, LC_NOT_OURS,
    /* from operators (control socket) */
    LC_ANSWER, LC_CLOSE, LC_REOPEN, LC_PAUSE, LC_RESUME, LC_EXTEND, LC_CONVERT, LC_REROUTE,
    /* from the timer scheduler: fire the stages that are due */
    LC_TIMER,
    /* from operators: a formal обращение converted with its registration
     * pending is registered (59-FZ art. 8 ch. 2) */
    LC_REGISTER,
    /* from the pipeline: the appeal's author commented in its thread after an
     * answer (text, link): reopens, confirms, or updates (answer/followup.h) */
    LC_FOLLOWUP,
    /* from the incidents (daemon/incident): the appeal's incident, its lead
     * and (for the lead) its appeals, as of incident version inc_ver */
    LC_INCIDENT,
};

const char *lc_kind_name(enum lc_kind k);
/* Agency status word ("accepted", ..., "not_ours") to its kind; -1 if unknown. */
int lc_status_kind(const char *status);

/* What the pipeline knows of a new appeal. */
struct lc_created {
    const char *source, *page, *text, *link, *author, *item_kind;
    const char *org, *rule, *route_reason, *route_policy;
    const char *copies;       /* organisations that get copies, comma-separated */
    bool triage;
    bool dropped;             /* a drop rule: recorded, no clocks, never open */
    bool kept;                /* the classifier found no appeal (kind gratitude or noise):
                               * recorded as not_appeal/feedback, no clocks, never open */
    const char *kind, *category, *municipality, *priority;
    int64_t created_ms, received_ms;
};

struct lc_event {
    enum lc_kind kind;
    const char *actor;        /* "vk", "agency:minzdrav", "operator:ivan", "sla" */
    const char *reason;
    const char *link;         /* an answer's link */
    const char *org;          /* reroute: the new owner; not_ours: the suggested owner
                               * (NULL: the ЦУР's triage) */
    const char *sender;       /* agency statuses: the organisation that sent it */
    const char *executor;     /* agency statuses: the department or person in charge */
    const char *text;         /* edited: the new text */
    int64_t days;             /* extend */
    int64_t received;         /* convert: when the written обращение came in (0: now) */
    int64_t registered;       /* convert, register: when it was registered (0: now) */
    bool pending;             /* convert: not registered yet; `register` follows */
    int64_t now;
    const struct lc_created *created;   /* CREATED; EDITED: the new classification */
    bool promote;             /* EDITED: the new text made an appeal of a kept
                               * non-appeal; created holds its routing decision */
    const char *deleter;      /* withdrawn: the deleter's pseudonym, or NULL (unknown) */
    bool published;           /* the caller publishes the event itself (the pipeline):
                               * store it, publish only the SLA events it causes */
    /* Answers (reply, answer, answered): the answer judge's verdict when the
     * caller judged it (enum answer_quality; 0: the plan judges `text`, else
     * `reason`, with the configuration's judge) and its reasons (AR_*). */
    int quality;
    unsigned quality_reasons;
    /* LC_INCIDENT: the incident (NULL: none), its lead, its appeals
     * (comma-separated) and the incident version this was read at */
    const char *incident, *lead, *members;
    int64_t inc_ver;
};

#define LC_MAX_MSGS 24

/* One event to publish. */
struct lc_msg {
    char *event_id;           /* APPEAL_ID#SEQ: the outbox member and dedup key */
    char *envelope;           /* key, event, schema, topics and body (outbox.h) */
    char *body;               /* the JSON (also the tail event) */
    const char *type;         /* "appeal" or "sla" (tail filter) */
    char event[24];
    int64_t at;               /* a timer stage: the instant it was due (lateness) */
};

/* Counters the plan moves (kept in Redis for `stats` and the gauges). */
struct lc_counts {
    int breaches;             /* breach stages fired */
    bool closed;              /* entered a final state */
    bool fr_met;              /* the first response was met ... */
    bool fr_on_time;          /* ... before its deadline */
    int64_t fr_used_ms;       /* ... after this much working time */
    const char *answer_quality; /* an answer was judged: its quality */
    bool rework_opened;       /* a formal answer started the rework clock */
    bool reopened_by_citizen;
    bool confirmed;           /* the author confirmed the fix */
};

enum lc_status {
    LC_OK,                    /* apply the plan */
    LC_NOOP,                  /* nothing changes (a repeat, or nothing due) */
    LC_REFUSED,               /* not allowed in this state: code and message say why */
};

struct lc_plan {
    enum lc_status status;
    const char *code;         /* LC_REFUSED: not_found, conflict, bad_args */
    char msg[256];
    struct appeal_rec after;
    bool text_changed;
    struct lc_msg msgs[LC_MAX_MSGS];
    size_t nmsgs;
    char **audit;             /* JSON entries, oldest first */
    size_t naudit;
    struct lc_counts counts;
    int64_t next_at;          /* earliest stage of a running clock (INT64_MAX: none) */
    int64_t now;              /* the event's time */
};

/**
 * @brief Decide what an event does to an appeal.
 * @param before  the record as read (exists false: not created yet).
 * @param plan    filled; free with transition_plan_free() whatever the status.
 */
void transition_plan(const struct apd_config *cfg, const struct appeal_rec *before,
                     const struct lc_event *ev, struct lc_plan *plan);
void transition_plan_free(struct lc_plan *plan);
/* Appends an audit entry (takes ownership of entry). */
void transition_add_audit(struct lc_plan *plan, char *entry);

/* A deletion by deleter (a pseudonym, NULL: the platform did not say) of an
 * appeal written by author (its stored pseudonym, NULL or "": unknown) is a
 * removal by the page, not a withdrawal: someone other than the author
 * deleted it.  The pipeline asks it to publish the right event; t_withdrawn
 * asks it again for the record it read. */
bool transition_removed_by_page(const char *author, const char *deleter);

/* Whether a comment by the appeal's author in its thread is a follow-up on
 * an answer: the appeal was answered (or resolved, closed) and is an appeal
 * (not withdrawn, dropped or kept as no appeal). */
bool transition_followup_applies(const struct appeal_rec *r);

/* The earliest pending stage over the record's running clocks. */
int64_t transition_next_at(const struct apd_config *cfg, const struct appeal_rec *r);

#endif
