/* The Kafka producer on the event loop.
 *
 * librdkafka's threads talk to the brokers; everything they report (delivery
 * reports, errors, logs, statistics) is queued and served on the loop thread:
 * the main queue wakes a pipe (rd_kafka_queue_io_event_enable) and a 1 s timer
 * polls as a safety net.  The producer is idempotent with acks=all; a
 * delivery report is the only place a message counts as delivered. */
#ifndef APPEALSD_KAFKA_H
#define APPEALSD_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct apd_config;
struct kafka;

struct kafka_header {
    const char *name;
    const char *value;
};

/* err is 0 on delivery, else a librdkafka error code with errstr. */
typedef void (*kafka_dr_fn)(void *arg, int err, const char *errstr);

struct kafka *kafka_new(const struct apd_config *c, struct event_base *base, char *err,
                        size_t errlen);
/**
 * @brief Queue one message; cb follows on the loop with the delivery report.
 * @returns 0, or -ENOBUFS when the local queue is full (retry after the next
 *          delivery reports), or -EINVAL/-EIO with no callback to follow.
 */
int kafka_produce(struct kafka *k, const char *topic, const char *key, const void *val,
                  size_t len, const struct kafka_header *hdrs, size_t nhdrs, kafka_dr_fn cb,
                  void *arg);
size_t kafka_outq(struct kafka *k);
/* Connected brokers seen in the last statistics, and whether any is up. */
int kafka_brokers_up(struct kafka *k);
bool kafka_up(struct kafka *k);
/* Bytes waiting in the producer's queues (librdkafka's msg_size statistic,
 * refreshed every 2 s). */
int64_t kafka_queue_bytes(struct kafka *k);
/* Drop what is still only queued locally (shutdown deadline): those
 * messages come back as failed delivery reports, their records stay spooled. */
void kafka_purge_queued(struct kafka *k);
/* Flush with the time left, then destroy. */
void kafka_free(struct kafka *k, int flush_ms);

/* The librdkafka handle, for the status consumer and admin calls. */
void *kafka_handle(struct kafka *k);

/**
 * @brief Create topics with the configured partitions and replication.
 * Existing topics are fine.  Blocking: for `appealsd --create-topics` only.
 */
int kafka_create_topics(const struct apd_config *c, const char *const *topics, size_t n,
                        int timeout_ms, char *err, size_t errlen);
/* Applies the common client settings (brokers, client id, logging, extra
 * kafka.property lines) to a librdkafka conf. */
int kafka_conf_common(void *rd_conf, const struct apd_config *c, const char *role, char *err,
                      size_t errlen);

#endif
