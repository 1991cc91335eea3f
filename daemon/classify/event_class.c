#include "event_class.h"

#include <string.h>
#include <time.h>

#include "config.h"
#include "directory.h"
#include "log.h"
#include "metrics.h"
#include "pevent.h"
#include "appeals.h"
#include "route.h"

static struct mfam *m_classified, *m_seconds;

static void families(void)
{
    if (m_classified)
        return;
    m_classified = metrics_family("appealsd_classified_total", M_COUNTER,
                                  "Texts classified, by kind (noise and gratitude are not "
                                  "appeals)", "kind");
    m_seconds = metrics_family("appealsd_classify_seconds", M_HISTOGRAM,
                               "Time to classify one text with the classifier chain", NULL);
}

void event_class_reset(struct event_class *c)
{
    c->done = false;
    sbuf_reset(&c->json);
}

void event_class_free(struct event_class *c)
{
    classify_result_free(&c->r);
    sbuf_free(&c->json);
}

static double seconds_since(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

void event_class_run(struct event_class *c, const struct apd_config *cfg, const char *source,
                     const struct pevent *ev)
{
    struct classify_chain *ch = classify_chain_of(cfg);
    if (c->done || ch == NULL || (ev->type != APD_EV_CREATED && ev->type != APD_EV_EDITED))
        return;               /* no classifier: every item is an appeal of unknown kind */
    families();
    const struct page *p = directory_page(cfg->dir, source, ev->page);
    struct classify_request rq = {
        .text = ev->text ? ev->text : "", .len = ev->text ? ev->text_len : 0,
        .source = source, .page = ev->page,
        .page_municipality = p ? p->municipality : NULL, .item_kind = ev->item_kind,
    };
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    classify_text(ch, &rq, &c->r);
    metrics_observe(m_seconds, seconds_since(&t0));
    metrics_add(m_classified, 1, c->r.kind[0] ? c->r.kind : "unknown");
    sbuf_reset(&c->json);
    classify_result_json(&c->r, &c->json);
    c->done = true;
    log_debug("classify: %s is %s%s%s (%s, %s)", ev->appeal_id ? ev->appeal_id : "?",
              c->r.kind[0] ? c->r.kind : "unclassified", c->r.category[0] ? "/" : "",
              c->r.category, c->r.municipality[0] ? c->r.municipality : "no municipality",
              c->r.priority);
}

bool event_class_is_appeal(const struct event_class *c)
{
    return !c->done || c->r.is_appeal;
}

const char *event_class_kind_state(const char *kind)
{
    return strcmp(kind, "gratitude") == 0 ? "feedback" : "not_appeal";
}

const char *event_class_state(const struct event_class *c)
{
    return event_class_is_appeal(c) ? "open" : event_class_kind_state(c->r.kind);
}

bool event_class_record_is_non_appeal(const struct claim_result *cl)
{
    /* routed records have an org (the ЦУР for triage) or were dropped */
    return cl->org[0] == '\0' && !cl->dropped &&
           (strcmp(cl->kind, "gratitude") == 0 || strcmp(cl->kind, "noise") == 0);
}

static const char *or_null(const char *s) { return s && s[0] ? s : NULL; }

void event_class_route_input(const struct event_class *c, struct route_input *in)
{
    if (!c->done)
        return;
    in->kind = or_null(c->r.kind);
    in->category = or_null(c->r.category);
    bool from_text = c->r.municipality_from && strcmp(c->r.municipality_from, "text") == 0;
    in->municipality = from_text ? or_null(c->r.municipality) : NULL;
    in->priority = or_null(c->r.priority);
}

const char *event_class_municipality(const struct event_class *c)
{
    return c->done ? or_null(c->r.municipality) : NULL;
}

const char *event_class_kind(const struct event_class *c)
{
    return c->done ? or_null(c->r.kind) : NULL;
}

const char *event_class_category(const struct event_class *c)
{
    return c->done ? or_null(c->r.category) : NULL;
}

const char *event_class_priority(const struct event_class *c)
{
    return c->done ? or_null(c->r.priority) : NULL;
}

const char *event_class_json(const struct event_class *c)
{
    return c->done && c->json.len ? c->json.p : NULL;
}
