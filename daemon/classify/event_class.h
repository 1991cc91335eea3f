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
 *     noise and "feedback" for gratitude (no SLA timer, no organisation
 *     topic: non-appeals go to appeals.all only, and are counted by kind in
 *     appealsd_classified_total);
 *   - is stored in the Redis record (kind, category, municipality,
 *     priority, priority_reason).
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

/* Classifies ev with the chain of cfg when it is a new or edited item and
 * has not been classified yet; anything else leaves c as it is. */
void event_class_run(struct event_class *c, const struct apd_config *cfg, const char *source,
                     const struct pevent *ev);

/* False only for a classified non-appeal (gratitude, noise). */
bool event_class_is_appeal(const struct event_class *c);
/* A record state that means "never was an appeal". */
bool event_class_state_is_non_appeal(const char *state);
/* The state of a new record: "open", "not_appeal" or "feedback". */
const char *event_class_state(const struct event_class *c);
/* Sets in->kind, category, municipality and priority (NULL when unknown);
 * the strings live in c. */
void event_class_route_input(const struct event_class *c, struct route_input *in);
/* The "classification" object of the Kafka message, or NULL. */
const char *event_class_json(const struct event_class *c);
/* Appends the record fields (name, value pairs) to fields[2*n...] and
 * returns how many it added (at most EVENT_CLASS_FIELDS). */
#define EVENT_CLASS_FIELDS 5
size_t event_class_fields(const struct event_class *c, const char **fields, size_t n);

#endif
