/* The Kafka contract: the JSON every appeal event is published as.
 *
 * Versioned: "schema" names the message family and its major version;
 * headers carry the event type and schema version so consumers can route
 * without parsing.  The key is the appeal id, and `seq` grows by one per
 * event of an appeal, so a consumer that sees a seq it already applied can
 * drop the repeat (delivery is at least once).  docs/schemas/ has the JSON
 * Schema of each event type. */
#ifndef APPEALSD_MESSAGE_H
#define APPEALSD_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf;
struct route_result;

#define APPEAL_SCHEMA "appealsd.appeal"
#define APPEAL_SCHEMA_VERSION "1"

struct appeal_view {
    const char *event;            /* created, updated, withdrawn, restored, answered */
    const char *appeal_id;
    int64_t seq;
    const char *source, *page, *page_name, *municipality;
    const char *item_kind, *link, *thread, *platform_type;
    const char *author_pseudonym;
    const char *author_id;        /* only for recipients allowed personal data */
    const char *author_name;      /* likewise */
    const char *text;
    size_t text_len;
    int64_t created_ms, received_ms, now_ms;
    const char *org_code, *org_name;
    const struct route_result *route;
    int64_t first_response_due_ms;
    const char *answer_link;
    const char *classification_json;   /* pre-encoded object, or NULL */
    const char *tz;
    const char *state;                 /* the appeal's state after the event, or NULL */
    const char *sla_json;              /* pre-encoded "sla" object replacing the
                                        * first_response_due one, or NULL */
};

void message_appeal(struct sbuf *out, const struct appeal_view *v);

/* ---- lifecycle and SLA events (daemon/lifecycle) ---- */

#define SLA_SCHEMA "appealsd.sla"
#define SLA_SCHEMA_VERSION "1"
#define DLQ_SCHEMA "appealsd.dlq"
#define DLQ_SCHEMA_VERSION "1"

/* A change of an appeal's state or owner (schema appealsd.appeal/1): an
 * operator's command, an agency's status, the page's reply, an edit or a
 * deletion.  Carries the appeal's facts, the change and the SLA block, so the
 * latest message of an appeal on appeals.all describes it completely. */
struct change_view {
    const char *event;            /* accepted, in_progress, answered, resolved, needs_info,
                                   * rerouted, closed, reopened, paused, resumed, updated,
                                   * withdrawn, restored */
    const char *appeal_id;
    int64_t seq;
    int64_t now_ms;
    const char *tz;
    const char *source, *page, *link, *item_kind, *author_pseudonym;
    const char *municipality, *category, *priority;
    const char *org_code, *org_name, *prev_org_code;
    bool triage;                  /* the owner is the ЦУР's triage queue */
    const char *state, *prev_state;
    const char *actor, *reason;
    const char *answer_link;
    const char *text;             /* only where the recipient needs it (re-route, edit) */
    int64_t created_ms, received_ms;
    const char *sla_json;         /* pre-encoded "sla" object */
};

void message_appeal_change(struct sbuf *out, const struct change_view *v);

/* An SLA event (schema appealsd.sla/1): warning, breach, escalation, met,
 * converted (the 59-FZ clock starts), extended (with notice to the citizen). */
struct sla_event_view {
    const char *event;
    const char *appeal_id;
    int64_t seq;
    int64_t now_ms;
    const char *tz;
    const char *clock;            /* first_response, resolution, formal */
    int level;                    /* escalation level, 0 otherwise */
    const char *const *recipients;    /* escalation: organisation codes */
    const char *const *recipient_names;
    size_t nrecipients;
    const char *via;              /* kafka, http, topic */
    int64_t due_ms;               /* the deadline the event is about */
    int64_t at_ms;                /* when it was due to fire */
    const char *org_code, *org_name, *municipality, *category, *priority, *state;
    const char *policy, *regime;
    const char *link;             /* met: where the response was given */
    const char *actor, *reason;   /* converted, extended */
    int64_t days;                 /* extended */
    const char *sla_json;
};

void message_sla_event(struct sbuf *out, const struct sla_event_view *v);

/* A status message the daemon refused, for the dead-letter topic
 * (schema appealsd.dlq/1): the reason, where it came from and the original
 * bytes (as a string when they are UTF-8 text, else base64). */
struct dlq_view {
    const char *reason;
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *key;
    const void *payload;
    size_t len;
    int64_t now_ms;
    const char *tz;
};

void message_dlq(struct sbuf *out, const struct dlq_view *v);

#endif
