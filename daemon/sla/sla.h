/* SLA policies and deadlines. */
#ifndef APPEALSD_SLA_H
#define APPEALSD_SLA_H

#include <stdint.h>

struct apd_config;
struct org;

struct sla_config {
    int64_t first_response_ms;   /* social-message regime: first reply due after */
};

/* Instant the first response to an appeal received at `from` is due. */
int64_t sla_first_response_due(const struct apd_config *c, const struct org *org, int64_t from);

#endif
