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
};

void message_appeal(struct sbuf *out, const struct appeal_view *v);

#endif
