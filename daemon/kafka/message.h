/* The Kafka contract: the JSON every message is written as (and read from,
 * for the agencies' status topic).  docs/schemas/v1/ has the JSON Schema of
 * each event type; docs/consuming-appeals.md explains them to agencies.
 *
 * Families, each versioned on its own ("schema": "FAMILY/MAJOR"):
 *   appealsd.appeal/1        an appeal's life: created, updated, withdrawn,
 *                            restored, answered, rerouted, status_changed,
 *                            closed, reopened, extended, converted
 *   appealsd.sla/1           deadlines: warning, breach, escalation, met
 *   appealsd.status/1        agencies → daemon, on kafka.topic_status
 *   appealsd.dead_letter/1   what the daemon could not accept from the
 *                            status topic, and why (kafka.topic_dlq)
 *
 * Every produced message: key = the appeal id, headers from
 * message_headers(); appeal events carry `seq`, which grows by one per
 * event of an appeal, so a consumer that has applied seq N drops any
 * message with seq <= N (delivery is at least once).  Additive changes
 * (new optional fields, new event types) keep the major version; consumers
 * ignore what they do not know.
 *
 * Builders write into an sbuf and never fail; strings are borrowed for the
 * call.  Any thread. */
#ifndef APPEALSD_MESSAGE_H
#define APPEALSD_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf;
struct route_result;
struct kafka_header;
struct json_doc;

#define APPEAL_SCHEMA "appealsd.appeal"
#define SLA_SCHEMA "appealsd.sla"
#define STATUS_SCHEMA "appealsd.status"
#define DEAD_LETTER_SCHEMA "appealsd.dead_letter"
#define MESSAGE_SCHEMA_VERSION "1"
/* Kept for readers of the first contract. */
#define APPEAL_SCHEMA_VERSION MESSAGE_SCHEMA_VERSION

/* event-type, schema, schema-version, content-type */
#define MESSAGE_NHEADERS 4

/**
 * @brief Fills the headers of a message of this family and event type.
 * @param h      MESSAGE_NHEADERS entries; they point at event and schema.
 * @param schema a family: APPEAL_SCHEMA, SLA_SCHEMA, DEAD_LETTER_SCHEMA.
 */
void message_headers(struct kafka_header *h, const char *event, const char *schema);

/* Whether event is one of the family's event types (the list above). */
bool message_event_known(const char *schema, const char *event);

/**
 * @brief The short reference number a citizen is told: 10 digits as
 *        "NNNNN-NNNNN", derived from the appeal id (the same id always gives
 *        the same number).  It is a reference for people; the id is the key.
 * @param out at least 12 bytes.
 */
void appeal_number(const char *appeal_id, char *out, size_t outlen);

/* One appeal event.  NULL/0 fields are left out of the message. */
struct appeal_view {
    const char *event;            /* created, updated, ... (see above) */
    const char *appeal_id;
    int64_t seq;
    const char *source, *page, *page_name, *page_owner, *municipality;
    bool municipality_from_page;
    const char *item_kind, *link, *thread, *platform_type;
    const char *author_pseudonym;
    const char *author_id;        /* only for topics that carry personal data */
    const char *author_name;      /* likewise */
    const char *text;
    size_t text_len;
    int64_t created_ms, received_ms, now_ms;
    const char *state;            /* the appeal's state after the event */
    const char *previous_state;   /* status_changed, reopened */
    const char *org_code, *org_name, *org_type;      /* the responsible body now */
    const char *previous_org_code, *previous_org_name;  /* rerouted */
    const struct route_result *route;   /* created: the decision and its evidence */
    /* classification: pre-encoded by the classifier, else built from these */
    const char *classification_json;
    const char *kind, *category, *priority;
    const char *sla_policy;
    int64_t first_response_due_ms;
    int64_t due_ms;               /* extended: the new deadline */
    const char *sla_json;         /* the SLA engine's pre-encoded "sla" object; replaces
                                     the one built from the three fields above */
    int64_t extension_days;
    const char *answer_link;      /* answered */
    const char *answer_by;        /* answered: page, operator or agency */
    const char *answer_quality;   /* answered: substantive, formal or refusal (judged) */
    const char *answer_reasons;   /* ... its reasons, comma-separated */
    int answer_meets;             /* ... 1: it met the first response, -1: it did not, 0: n/a */
    const char *by;               /* reopened, confirmed: operator or citizen */
    const char *actor_type;       /* source, operator, agency, daemon */
    const char *actor_id;         /* "operator:ivanova", "org:maykop", ... */
    const char *reason;
    const char *status;           /* status_changed: the agency's status */
    const char *status_comment;
    const char *status_executor;  /* the agency's department or person in charge */
    const char *tz;               /* zone of the ISO 8601 times */
};

void message_appeal(struct sbuf *out, const struct appeal_view *v);

/* One SLA event of an appeal's timer. */
struct sla_view {
    const char *event;            /* warning, breach, escalation, met */
    const char *appeal_id;
    const char *timer;            /* first_response, resolution, ... */
    int64_t occurrence;           /* distinguishes repeated events of one timer */
    const char *policy;
    const char *org_code, *org_name;
    const char *regime;           /* social, 59fz */
    int level;                    /* escalation: 1 = the org's parent, 2 = the next ... */
    const char *const *recipient_codes;   /* escalation: who is told */
    const char *const *recipient_names;   /* parallel to the codes, entries may be NULL */
    size_t nrecipients;
    int64_t due_ms, occurred_ms, now_ms;
    int64_t late_ms;              /* how long after occurred_ms it was noticed, 0: on time */
    int64_t elapsed_s;            /* working time elapsed on the timer */
    int64_t seq;                  /* the appeal's seq when it shares it, else 0 */
    const char *state, *category, *municipality, *priority;
    const char *link;             /* met: where the response was given */
    const char *sla_json;         /* pre-encoded "sla" object of the appeal, or NULL */
    const char *tz;
};

void message_sla(struct sbuf *out, const struct sla_view *v);

/* A status message the daemon could not accept, for kafka.topic_dlq. */
struct dead_letter_view {
    const char *error;            /* bad_json, bad_message, unknown_appeal, not_allowed, ... */
    const char *reason;           /* for people */
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *key;              /* NULL when the message had none */
    const char *payload;          /* the original value, as received: written as
                                     "payload" when it is UTF-8 text, else base64 in
                                     "payload_base64" */
    size_t payload_len;
    int64_t received_ms, now_ms;
    const char *tz;
};

void message_dead_letter(struct sbuf *out, const struct dead_letter_view *v);

/* An agency's status message (appealsd.status/1), as read from the status
 * topic.  Strings point into doc and live until status_msg_free(). */
struct status_msg {
    const char *appeal_id;
    const char *org;              /* the sender's organisation code */
    const char *status;           /* accepted, in_progress, answered, resolved,
                                     rejected, need_info */
    const char *message_id;       /* the sender's id for this message, or NULL */
    const char *comment, *answer_link, *reroute_to, *executor;
    int64_t at_ms;                /* when the agency says it happened */
    struct json_doc *doc;
};

/**
 * @brief Parses and validates one status message.
 * @param key  the Kafka key (must equal appeal_id when present), or NULL.
 * @returns 0, or -1 with a dead-letter error code in *code ("bad_json",
 *          "bad_message") and the reason in err.  On success free with
 *          status_msg_free().
 */
int message_parse_status(const char *buf, size_t len, const char *key, const char *tz,
                         struct status_msg *out, const char **code, char *err, size_t errlen);
void status_msg_free(struct status_msg *m);

#endif
