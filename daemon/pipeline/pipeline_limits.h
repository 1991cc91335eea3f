/* [pipeline]: the ceiling on work between the spool and the pipeline.
 *
 * The spool holds every accepted webhook on disk; the pipeline takes records
 * from it only while fewer than max_inflight_records are in flight and
 * their bytes (as stored in the spool) stay below max_inflight_bytes.  The
 * rest wait on disk, so the daemon's memory follows the configuration, not
 * the load: a Kafka or Redis that falls behind grows the spool (up to
 * spool.max_size, then webhooks get 503), never the heap. */
#ifndef APPEALSD_PIPELINE_LIMITS_H
#define APPEALSD_PIPELINE_LIMITS_H

#include <stdint.h>

struct apd_config;

struct pipeline_limits {
    int64_t max_records;
    uint64_t max_bytes;
};

/* The ceilings in force: [pipeline] max_inflight_records, lowered further by
 * the older [daemon] max_inflight when that is smaller. */
void pipeline_limits_of(const struct apd_config *c, struct pipeline_limits *out);

#endif
