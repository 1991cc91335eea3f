#include "sla.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "module.h"

#define SLA(f) offsetof(struct sla_config, f)
static const struct conf_key sla_keys[] = {
    {"first_response", CT_DURATION, SLA(first_response_ms), "8h", 1000, 365LL * 86400000, NULL,
     0, "time allowed for the first public response to an appeal"},
    {0},
};

int64_t sla_first_response_due(const struct apd_config *c, const struct org *org, int64_t from)
{
    const struct sla_config *s = c->sla;
    return from + s->first_response_ms;
}

static void sla_build(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                      struct diag *d)
{
    struct sla_config *s = calloc(1, sizeof(*s));
    conf_bind(sla_keys, ini_find(ini, "sla", NULL), s, "[sla]", d);
    c->sla = s;
}

static void sla_free(struct apd_config *c)
{
    if (c->sla)
        conf_unbind(sla_keys, c->sla);
    free(c->sla);
    c->sla = NULL;
}

static void sla_reference(void)
{
    conf_print_keys("sla", sla_keys);
    printf("\n");
}

const struct conf_module sla_conf_module = {
    .name = "sla",
    .build = sla_build,
    .free = sla_free,
    .reference = sla_reference,
};
