/* [incidents]: whether and how the daemon joins appeals into incidents
 * (incident.h), and how the number of reports raises an incident's
 * priority. */
#ifndef APPEALSD_INCIDENT_CONF_H
#define APPEALSD_INCIDENT_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "incident.h"

struct apd_config;

struct incident_config {
    bool enabled;
    int64_t window_ms;
    double min_similarity, min_similarity_place;
    int64_t max_size;
    int64_t high_at, urgent_at;      /* reports that make it high, urgent (0: never) */
    char *answer_reply;              /* the reply to each citizen of an answered incident
                                      * ([ack] enabled): {number}, {incident}, {answer}, {link} */
};

/* The running snapshot's settings (defaults when the section is absent). */
const struct incident_config *incident_config_of(const struct apd_config *c);
void incident_params_of(const struct incident_config *ic, struct inc_params *p);
/* The priority an incident of `size` reports has at least: "urgent", "high"
 * or NULL (leave the appeal's own). */
const char *incident_priority(const struct incident_config *ic, int64_t size);

#endif
