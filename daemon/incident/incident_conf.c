#include "incident_conf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "bind.h"
#include "config.h"
#include "module.h"

#define I(f) offsetof(struct incident_config, f)

static const struct conf_key incident_keys[] = {
    {"enabled", CT_BOOL, I(enabled), "no", 0, 0, NULL, 0,
     "join appeals about one problem into incidents (one SLA, one answer)"},
    {"window", CT_DURATION, I(window_ms), "24h", 60000, 30LL * 86400000, NULL, 0,
     "a report joins an incident whose latest report is at most this old"},
    {"min_similarity", CT_DOUBLE, I(min_similarity), "0.3", 0, 0, NULL, 0,
     "share of the shorter text's content words the other must have (0..1)"},
    {"min_similarity_place", CT_DOUBLE, I(min_similarity_place), "0.1", 0, 0, NULL, 0,
     "the same when both name the same street or object"},
    {"max_size", CT_INT, I(max_size), "500", 2, 100000, NULL, 0,
     "an incident with this many reports takes no more"},
    {"high_at", CT_INT, I(high_at), "3", 0, 100000, NULL, 0,
     "an incident with this many reports is at least high priority (0: never)"},
    {"urgent_at", CT_INT, I(urgent_at), "10", 0, 100000, NULL, 0,
     "an incident with this many reports is urgent (0: never)"},
    {"answer_reply", CT_STR, I(answer_reply),
     "Здравствуйте! Ваше обращение № {number} рассмотрено вместе с другими сообщениями о той "
     "же проблеме. Ответ: {answer}", 0, 0, NULL, 0,
     "with [ack] enabled, the reply in each citizen's own thread when their incident is "
     "answered; {number}, {incident}, {answer} (the answer's text, else its link), {link}"},
    {0},
};

static struct incident_config defaults_;

const struct incident_config *incident_config_of(const struct apd_config *c)
{
    return c && c->incidents ? c->incidents : &defaults_;
}

void incident_params_of(const struct incident_config *ic, struct inc_params *p)
{
    inc_params_default(p);
    p->window_ms = ic->window_ms;
    p->min_similarity = ic->min_similarity;
    p->min_similarity_place = ic->min_similarity_place;
    p->max_size = (size_t)ic->max_size;
}

const char *incident_priority(const struct incident_config *ic, int64_t size)
{
    if (ic->urgent_at > 0 && size >= ic->urgent_at)
        return "urgent";
    if (ic->high_at > 0 && size >= ic->high_at)
        return "high";
    return NULL;
}

static void check_share(struct diag *d, const struct ini_section *s, const char *key, double v)
{
    if (!(v >= 0 && v <= 1))
        diag_add(d, s ? s->file : NULL, s ? s->line : 0,
                 "[incidents] %s: %g is not a share between 0 and 1", key, v);
}

static void incident_build(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                           struct diag *d)
{
    (void)o;
    struct incident_config *ic = calloc(1, sizeof(*ic));
    if (ic == NULL)
        abort();
    struct ini_section *s = ini_find(ini, "incidents", NULL);
    conf_bind(incident_keys, s, ic, "[incidents]", d);
    check_share(d, s, "min_similarity", ic->min_similarity);
    check_share(d, s, "min_similarity_place", ic->min_similarity_place);
    if (ic->high_at && ic->urgent_at && ic->urgent_at < ic->high_at)
        diag_add(d, s ? s->file : NULL, s ? s->line : 0,
                 "[incidents] urgent_at: %lld is below high_at (%lld)",
                 (long long)ic->urgent_at, (long long)ic->high_at);
    c->incidents = ic;
}

static void incident_free(struct apd_config *c)
{
    if (c->incidents)
        conf_unbind(incident_keys, c->incidents);
    free(c->incidents);
    c->incidents = NULL;
}

static void incident_reference(void)
{
    conf_print_keys("incidents", incident_keys);
    printf("\n");
}

const struct conf_module incident_conf_module = {
    .name = "incidents",
    .build = incident_build,
    .free = incident_free,
    .reference = incident_reference,
};
