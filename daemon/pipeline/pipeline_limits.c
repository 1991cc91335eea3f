#include "pipeline_limits.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "bind.h"
#include "config.h"
#include "module.h"

/* The defaults keep a full pipeline at a few MiB of jobs (a job holds its
 * parsed events, its messages until Kafka confirmed them, and its Redis
 * commands): enough parallelism to hide Redis and Kafka round trips, far
 * below the 48 MiB the daemon may use in all (issue 14). */
#define L(f) offsetof(struct pipeline_limits, f)
static const struct conf_key pipeline_keys[] = {
    {"max_inflight_records", CT_INT, L(max_records), "256", 1, 1000000, NULL, 0,
     "spool records in the pipeline at once; the rest wait in the spool on disk"},
    {"max_inflight_bytes", CT_SIZE, L(max_bytes), "4MiB", 64 << 10, 1LL << 34, NULL, 0,
     "bytes of spool records in the pipeline at once (a record is taken while the total "
     "is below this, so one record may go past it); the rest wait on disk"},
    {0},
};

void pipeline_limits_of(const struct apd_config *c, struct pipeline_limits *out)
{
    const struct pipeline_limits *l = c->pipeline;
    *out = *l;
    if (c->daemon.max_inflight < out->max_records)
        out->max_records = c->daemon.max_inflight;
}

static void limits_build(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                         struct diag *d)
{
    (void)o;
    struct pipeline_limits *l = calloc(1, sizeof(*l));
    if (l == NULL)
        abort();
    conf_bind(pipeline_keys, ini_find(ini, "pipeline", NULL), l, "[pipeline]", d);
    c->pipeline = l;
}

static void limits_free(struct apd_config *c)
{
    if (c->pipeline)
        conf_unbind(pipeline_keys, c->pipeline);
    free(c->pipeline);
    c->pipeline = NULL;
}

static void limits_reference(void)
{
    conf_print_keys("pipeline", pipeline_keys);
    printf("\n");
}

const struct conf_module pipeline_conf_module = {
    .name = "pipeline",
    .build = limits_build,
    .free = limits_free,
    .reference = limits_reference,
};
