/* An answer to an incident reaches every citizen who reported it: with
 * acknowledgements on ([ack] enabled, the page's ack and ack_token), each
 * appeal the incident answered gets a reply in its own thread, through the
 * acknowledgements' own path (ack.h: the same target rules per platform,
 * the same outbox endpoint "ack:SOURCE:PAGE", so the page's pacing, retries
 * and give-up rules apply).  The outbox id is the appeal's and the
 * incident's, so a repeated answer, or two daemons answering the same
 * incident, reply once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "app.h"
#include "config.h"
#include "directory.h"
#include "incident_conf.h"
#include "incident_int.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "outbox.h"
#include "record.h"
#include "route.h"
#include "sbuf.h"
#include "units.h"

#define ANSWER_MAX 1500     /* bytes of the answer's text quoted in a reply */

struct reply {
    struct incidents *in;
    char *appeal;
};

static void on_added(void *arg, bool ok, bool added)
{
    struct reply *r = arg;
    r->in->inflight--;
    metrics_add(r->in->m_replies, 1, !ok ? "failed" : added ? "queued" : "repeat");
    if (!ok)
        log_warn("incidents: the reply to the author of %s could not be queued (Redis went "
                 "away); the citizen gets none", r->appeal);
    free(r->appeal);
    free(r);
}

/* Copies at most max bytes of s, not cutting a UTF-8 sequence. */
static void add_cut(struct sbuf *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    sbuf_add(b, s, n);
    if (n < strlen(s))
        sbuf_adds(b, "…");
}

static void render(struct sbuf *out, const char *tmpl, const char *number, const char *incident,
                   const char *answer, const char *link)
{
    static const char *const keys[] = {"{number}", "{incident}", "{answer}", "{link}"};
    const char *vals[] = {number, incident, answer && *answer ? answer : link ? link : "",
                          link ? link : ""};
    for (const char *p = tmpl; *p;) {
        size_t k = 0;
        while (k < 4 && strncmp(p, keys[k], strlen(keys[k])) != 0)
            k++;
        if (k == 4) {
            sbuf_addc(out, *p++);
            continue;
        }
        add_cut(out, vals[k], ANSWER_MAX);
        p += strlen(keys[k]);
    }
}

void incident_reply(struct incidents *in, const struct appeal_rec *rec, const char *incident,
                    const char *answer, const char *link)
{
    const struct apd_config *cfg = in->app->cfg;
    const struct incident_config *ic = incident_config_of(cfg);
    struct route_result rr = {.org = directory_org(cfg->dir, rec->org)};
    struct ack_input ai = {.source = rec->source, .page = rec->page, .appeal_id = rec->id,
                           .item_kind = rec->item_kind, .route = &rr};
    struct ack_plan p;
    if (rec->source == NULL || !ack_plan_make(cfg, &ai, &p))
        return;    /* acknowledgements off for its page, or no way to reply there */
    char number[16];
    appeal_number(rec->id, number, sizeof(number));
    struct sbuf text = SBUF_INIT;
    render(&text, ic->answer_reply, number, incident, answer, link);
    size_t lens[ACK_MAX_FIELDS];
    for (size_t i = 0; i < p.n; i++) {
        if (strcmp(p.names[i], "text") == 0) {
            free(p.values[i]);
            p.values[i] = sbuf_steal(&text);
        }
        lens[i] = strlen(p.values[i]);
    }
    sbuf_free(&text);
    char id[sizeof(p.id) + 64];
    snprintf(id, sizeof(id), "%s|%s|%s|incident-answer", p.ep, rec->id, incident);
    struct reply *r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort();
    r->in = in;
    r->appeal = strdup(rec->id);
    in->inflight++;
    if (outbox_add(in->app->redis, id, p.ep, rec->id, now_ms(), p.names,
                   (const char *const *)p.values, lens, p.n, on_added, r) != 0)
        on_added(r, false, false);
    ack_plan_free(&p);
}

void incident_reply_metrics(struct incidents *in)
{
    in->m_replies = metrics_family("appealsd_incident_replies_total", M_COUNTER,
                                   "Replies to the citizens of an answered incident, in their "
                                   "own threads ([ack] enabled): queued, repeat, failed",
                                   "outcome");
}
