/* The topics a configuration needs: what `appealsd --create-topics` makes,
 * since the producer never relies on the broker creating topics on first use
 * (allow.auto.create.topics = false). */
#ifndef APPEALSD_TOPICS_H
#define APPEALSD_TOPICS_H

#include <stddef.h>

struct apd_config;

/**
 * @brief Lists, without repeats, kafka.topic_all, _triage, _sla, _status,
 *        _dlq and the topic of every organisation that takes Kafka
 *        deliveries (an HTTP-only organisation, kafka = no, has none).
 * @returns a NULL-terminated array of borrowed names (valid while c is);
 *          free the array with free().
 */
const char **kafka_topics_required(const struct apd_config *c, size_t *n);

#endif
