/* Classification in the pipeline: what the chain of a configuration
 * snapshot says about one event, kept with the event until it is committed.
 *
 * The pipeline calls event_class_run() for every event before it routes it;
 * only new and edited items (CREATED, EDITED) are classified, once each even
 * when a step is retried.  The decision then:
 *   - fills the classifier fields of the route input (kind, category,
 *     municipality, priority) for the routing rules;
 *   - travels in the Kafka message as its "classification" object;
 *   - gives a new record its state: "open" for appeals, "not_appeal" for
 *     noise and "feedback" for gratitude.  Non-appeals are not routed (the
 *     routing rules never see them): no SLA timer, no organisation or
 *     triage topic, no reply to the author; they go to appeals.all only and
 *     are counted by kind in appealsd_classified_total.  An edit that makes
 *     an appeal of one routes it then;
 *   - is stored in the Redis record (kind, category, municipality,
 *     priority) by the lifecycle.
 *
 * Loop thread only; classification is synchronous and takes microseconds. */
#ifndef APPEALSD_EVENT_CLASS_H
#define APPEALSD_EVENT_CLASS_H

#include <stdbool.h>

#include "chain.h"
#include "sbuf.h"

struct apd_config;
struct pevent;
struct route_input;

struct event_class {
    bool done;                    /* the event was classified */
    struct classify_result r;
    struct sbuf json;             /* the classification object, for Kafka */
};

/* Forgets the previous event's decision (keeps the buffers). */
void event_class_reset(struct event_class *c);
void event_class_free(struct event_class *c);

/* Classifies ev with the chain of cfg when it is a new or edited item, has
 * not been classified yet and cfg has a chain; anything else leaves c as it
 * is (not done: an appeal, routed on what the rules see themselves). */
void event_class_run(struct event_class *c, const struct apd_config *cfg, const char *source,
                     const struct pevent *ev);

/* False only for a classified non-appeal (gratitude, noise). */
bool event_class_is_appeal(const struct event_class *c);
/* The state of a new record: "open", "not_appeal" or "feedback". */
const char *event_class_state(const struct event_class *c);
/* The state a kept non-appeal of this kind has: "feedback" for gratitude,
 * else "not_appeal". */
const char *event_class_kind_state(const char *kind);
/* Whether a stored record (as its claim read it: org, kind, dropped) is a
 * kept non-appeal: classified as gratitude or noise and never routed.
 * It stays one through deletion and restoration. */
struct claim_result;
bool event_class_record_is_non_appeal(const struct claim_result *cl);
/* Sets in->kind, category, municipality and priority (NULL when unknown);
 * the strings live in c.  The municipality is given only when the text
 * names it: routing falls back to the page's itself. */
void event_class_route_input(const struct event_class *c, struct route_input *in);
/* The municipality the classification settled on (text, else page), or
 * NULL when unknown or not classified. */
const char *event_class_municipality(const struct event_class *c);
/* The decision's kind, category and priority, or NULL when unknown or not
 * classified (for the appeal's record). */
const char *event_class_kind(const struct event_class *c);
const char *event_class_category(const struct event_class *c);
const char *event_class_priority(const struct event_class *c);
/* The "classification" object of the Kafka message (unknown members left
 * out), or NULL when no classifier ran. */
const char *event_class_json(const struct event_class *c);

#endif
