#include "transition.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "directory.h"
#include "message.h"
#include "eventbox.h"
#include "followup.h"
#include "judge.h"
#include "policy.h"
#include "sbuf.h"
#include "sla.h"
#include "units.h"

static const char *const kind_names[] = {
    "created", "updated", "withdrawn", "restored", "answered",
    "accepted", "in_progress", "answered", "resolved", "needs_info", "not_ours",
    "answered", "closed", "reopened", "paused", "resumed", "extended", "converted", "rerouted",
    "timer", "registered", "followup", "incident_changed",
};

const char *lc_kind_name(enum lc_kind k) { return kind_names[k]; }

int lc_status_kind(const char *s)
{
    static const struct {
        const char *word;
        enum lc_kind kind;
    } map[] = {
        {"accepted", LC_ACCEPTED}, {"in_progress", LC_IN_PROGRESS}, {"answered", LC_ANSWERED},
        {"resolved", LC_RESOLVED}, {"needs_info", LC_NEEDS_INFO},   {"not_ours", LC_NOT_OURS},
    };
    for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].word, s) == 0)
            return (int)map[i].kind;
    return -1;
}

/* The working state of one planning run. */
struct tctx {
    const struct apd_config *cfg;
    const struct appeal_rec *before;
    struct appeal_rec *r;
    const struct lc_event *ev;
    struct lc_plan *plan;
    const char *tz;
};

/* What an audit entry says beyond time, actor, action, reason and state. */
struct audit_more {
    const char *prev_org;
    const char *clock;
    int level;
    const char *const *to;
    size_t nto;
    const char *link;
    int64_t days;
};

static int rank(const char *state)
{
    static const char *const order[] = {"open", "accepted", "in_progress", "answered"};
    for (int i = 0; state && i < 4; i++)
        if (strcmp(order[i], state) == 0)
            return i;
    return -1;
}

static void refuse(struct tctx *t, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(struct tctx *t, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->plan->msg, sizeof(t->plan->msg), fmt, ap);
    va_end(ap);
    t->plan->status = LC_REFUSED;
    t->plan->code = code;
}

static void noop(struct tctx *t) { t->plan->status = LC_NOOP; }

/* ---- policies and clock contexts ---- */

static const struct org *org_of(const struct tctx *t, const char *code)
{
    return directory_org(t->cfg->dir, code);
}

static const struct policy *policy_of(const struct tctx *t, enum clock_id c)
{
    const struct appeal_rec *r = t->r;
    bool formal = c == CLK_FZ || c == CLK_REG || c == CLK_FWD;
    int regime = formal ? REGIME_59FZ : REGIME_SOCIAL;
    const struct policy *p = sla_policy_find(t->cfg, formal ? r->formal : r->policy);
    if (p && p->regime == regime)
        return p;
    /* The named policy left the config: choose again as for a new appeal. */
    return sla_policy_select(t->cfg, org_of(t, r->org), r->category, r->priority, regime, NULL);
}

static void cx_for(const struct tctx *t, enum clock_id c, struct clock_ctx *x)
{
    clock_ctx_init(x, t->cfg, policy_of(t, c), org_of(t, t->r->org), t->r->priority);
}

/* Clocks whose policy stops them in the appeal's new state pause; paused
 * ones whose policy does not, run again. */
static void apply_pauses(struct tctx *t)
{
    for (int c = 0; c < CLK_N; c++) {
        struct clock *k = &t->r->clk[c];
        if (k->state != CS_RUN && k->state != CS_PAUSE)
            continue;
        struct clock_ctx x;
        cx_for(t, (enum clock_id)c, &x);
        bool pause = policy_pauses_in(x.pol, t->r->state);
        if (pause && k->state == CS_RUN)
            clock_hold(k, &x, CS_PAUSE, t->ev->now);
        else if (!pause && k->state == CS_PAUSE)
            clock_resume(k, &x, t->ev->now);
    }
}

static void hold(struct tctx *t, enum clock_id c, char state)
{
    struct clock *k = &t->r->clk[c];
    if (k->state != CS_RUN && k->state != CS_PAUSE)
        return;
    struct clock_ctx x;
    cx_for(t, c, &x);
    clock_hold(k, &x, state, t->ev->now);
}

static void resume_if(struct tctx *t, enum clock_id c, char from)
{
    struct clock *k = &t->r->clk[c];
    if (k->state != from)
        return;
    struct clock_ctx x;
    cx_for(t, c, &x);
    clock_resume(k, &x, t->ev->now);
}

static void set_state(struct tctx *t, const char *state)
{
    record_set(&t->r->state, state);
    apply_pauses(t);
}

/* ---- messages ---- */

/* Where one event goes: Kafka topics, and organisations (codes) that take
 * it at their http_url. */
struct recips {
    const char *topics[12];
    const char *orgs[12];
    size_t nt, no;
};

static void add_unique(const char **v, size_t *n, const char *s)
{
    if (s == NULL || *n == 12)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i], s) == 0)
            return;
    v[(*n)++] = s;
}

static void add_topic(struct recips *rc, const char *topic)
{
    add_unique(rc->topics, &rc->nt, topic);
}

/* An organisation on its own channels: its topic (kafka = yes), its
 * endpoint (http_url), or both. */
static void add_org(struct recips *rc, const struct org *o)
{
    if (o->kafka)
        add_topic(rc, o->topic);
    if (o->http_url)
        add_unique(rc->orgs, &rc->no, o->code);
}

/* The owner carries every numbered event of its appeals, on every channel
 * it has, so that seq has no gaps there (docs/consuming-appeals.md, 5). */
static void add_owner(const struct tctx *t, struct recips *rc, const char *org_code,
                      bool triage)
{
    const struct org *o = org_of(t, org_code);
    if (triage || o == NULL)
        add_topic(rc, t->cfg->kafka.topic_triage);
    else
        add_org(rc, o);
}

/* An escalation's recipient on the channel via= names, or on the one it
 * has when it lacks that one (an HTTP-only body under via=kafka). */
static void add_escalated(struct recips *rc, const struct org *o, enum esc_via via)
{
    bool http = o->http_url && (via == VIA_HTTP || !o->kafka);
    if (http)
        add_unique(rc->orgs, &rc->no, o->code);
    else if (via != VIA_TOPIC && o->kafka)
        add_topic(rc, o->topic);
}

static char *sla_json(const struct tctx *t)
{
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    record_sla_json(&w, t->r, t->tz);
    return sbuf_steal(&b);
}

/* The audit entry of the message with sequence number seq. */
static void audit(struct tctx *t, int64_t seq, const char *action, const char *actor,
                  const char *reason, const struct audit_more *m)
{
    struct sbuf b = SBUF_INIT;
    struct jw w;
    char ts[48];
    format_iso8601(t->ev->now, t->tz, ts, sizeof(ts));
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "at", ts);
    jw_kint(&w, "seq", seq);
    jw_kstr(&w, "actor", actor ? actor : "appealsd");
    jw_kstr(&w, "action", action);
    if (reason)
        jw_kstr(&w, "reason", reason);
    if (t->r->state)
        jw_kstr(&w, "state", t->r->state);
    if (t->r->org)
        jw_kstr(&w, "org", t->r->org);
    if (m && m->prev_org)
        jw_kstr(&w, "prev_org", m->prev_org);
    if (m && m->clock)
        jw_kstr(&w, "clock", m->clock);
    if (m && m->level)
        jw_kint(&w, "level", m->level);
    if (m && m->nto) {
        jw_key(&w, "to");
        jw_arr(&w);
        for (size_t i = 0; i < m->nto; i++)
            jw_str(&w, m->to[i]);
        jw_arr_end(&w);
    }
    if (m && m->link)
        jw_kstr(&w, "link", m->link);
    if (m && m->days)
        jw_kint(&w, "days", m->days);
    jw_obj_end(&w);
    transition_add_audit(t->plan, sbuf_steal(&b));
}

void transition_add_audit(struct lc_plan *p, char *entry)
{
    char **v = realloc(p->audit, (p->naudit + 1) * sizeof(char *));
    if (v == NULL)
        abort();
    p->audit = v;
    p->audit[p->naudit++] = entry;
}

static void add_msg(struct tctx *t, const char *type, const char *event, const char *schema,
                    const struct recips *rc, struct sbuf *body)
{
    struct lc_plan *p = t->plan;
    if (p->nmsgs == LC_MAX_MSGS) {
        sbuf_free(body);
        return;
    }
    struct lc_msg *m = &p->msgs[p->nmsgs++];
    if (asprintf(&m->event_id, "%s#%lld", t->r->id, (long long)t->r->seq) < 0)
        abort();
    m->envelope = eventbox_envelope_to(t->r->id, event, schema, rc->topics, rc->nt, rc->orgs,
                                       rc->no, body->p);
    m->body = sbuf_steal(body);
    m->type = type;
    snprintf(m->event, sizeof(m->event), "%s", event);
}

struct change_opts {
    const char *reason;
    const char *prev_org;
    bool with_text;
    const char *answer_link;
    int64_t ext_days, due;        /* extended */
    const struct answer_verdict *verdict;   /* answered: the judge's, or NULL */
    int meets;                    /* answered: 1 met the first response, -1 did not */
    const char *by;               /* reopened, confirmed: operator or citizen */
    const char *text;             /* updated by a follow-up: the comment (not the appeal's) */
};

/* The contract's actor of an event (docs/schemas/v1/common.json "actor"). */
static void actor_of(const struct lc_event *ev, const char **type, const char **id,
                     char *buf, size_t len)
{
    const char *a = ev->actor ? ev->actor : "";
    *id = a;
    if (strncmp(a, "operator:", 9) == 0) {
        *type = "operator";
    } else if (strncmp(a, "agency:", 7) == 0) {
        *type = "agency";
        snprintf(buf, len, "org:%s", a + 7);
        *id = buf;
    } else if (ev->kind == LC_TIMER || ev->kind == LC_INCIDENT || strcmp(a, "sla") == 0 ||
               strcmp(a, "rebuild") == 0) {
        *type = "daemon";
    } else if (ev->kind == LC_FOLLOWUP) {
        *type = "citizen";
    } else {
        *type = ev->kind == LC_REPLY ? "page" : "source";
    }
}

/* An appeal event of the contract for this action: agency progress and
 * pauses are status changes, an agency's resolution is a closing. */
static const char *contract_event(const char *action, const char **status)
{
    *status = NULL;
    if (strcmp(action, "accepted") == 0 || strcmp(action, "in_progress") == 0) {
        *status = action;
        return "status_changed";
    }
    if (strcmp(action, "needs_info") == 0) {
        *status = "need_info";
        return "status_changed";
    }
    if (strcmp(action, "paused") == 0 || strcmp(action, "resumed") == 0)
        return "status_changed";
    if (strcmp(action, "resolved") == 0)
        return "closed";
    return action;
}

/* Who gave an answer, for the contract's answer.by (required on every
 * answered event, link or not). */
static const char *answer_by_of(enum lc_kind k)
{
    if (k == LC_REPLY)
        return "page";
    return k >= LC_ACCEPTED && k <= LC_NOT_OURS ? "agency" : "operator";
}

static void emit_change(struct tctx *t, const char *action, const struct change_opts *o)
{
    const struct appeal_rec *r = t->r;
    const struct org *org = org_of(t, r->org), *prev = org_of(t, o->prev_org);
    const char *status, *event = contract_event(action, &status);
    const char *atype, *aid;
    char abuf[96];
    actor_of(t->ev, &atype, &aid, abuf, sizeof(abuf));
    /* The pipeline published the event under the number its claim took. */
    int64_t seq = t->ev->published ? t->r->seq : ++t->r->seq;
    if (!t->ev->published) {
        char *sla = sla_json(t);
        bool answer = strcmp(event, "answered") == 0;
        char reasons[160] = "";
        if (o->verdict)
            answer_reasons_text(o->verdict->reasons, reasons, sizeof(reasons));
        struct appeal_view v = {
            .event = event, .appeal_id = r->id, .seq = seq, .now_ms = t->ev->now,
            .tz = t->tz, .source = r->source, .page = r->page, .link = r->link,
            .item_kind = r->item_kind, .author_pseudonym = r->author,
            .municipality = r->municipality, .category = r->category, .priority = r->priority,
            .text = o->text ? o->text : o->with_text ? r->text : NULL,
            .text_len = o->text ? strlen(o->text) : o->with_text && r->text ? strlen(r->text) : 0,
            .created_ms = r->created_ms, .received_ms = r->received_ms,
            .state = r->state, .previous_state = t->before->state,
            .org_code = r->org, .org_name = org ? org->name : NULL,
            .org_type = org ? org_type_name(org->type) : NULL,
            .previous_org_code = o->prev_org, .previous_org_name = prev ? prev->name : NULL,
            .sla_policy = r->policy, .sla_json = sla, .due_ms = o->due,
            .extension_days = o->ext_days, .answer_link = o->answer_link,
            .answer_by = answer ? answer_by_of(t->ev->kind) : NULL,
            .answer_quality = o->verdict ? answer_quality_name(o->verdict->quality) : NULL,
            .answer_reasons = reasons, .answer_meets = o->meets, .by = o->by,
            .actor_type = atype, .actor_id = aid,
            .reason = o->reason ? o->reason : strcmp(event, "closed") == 0 ? action : NULL,
            .status = status, .status_comment = status ? t->ev->reason : NULL,
            .status_executor = status ? t->ev->executor : NULL,
        };
        struct sbuf body = SBUF_INIT;
        message_appeal(&body, &v);
        struct recips rc = {0};
        add_topic(&rc, t->cfg->kafka.topic_all);
        add_owner(t, &rc, r->org, r->triage);
        if (o->prev_org)
            add_owner(t, &rc, o->prev_org, t->before->triage);
        add_msg(t, "appeal", event, APPEAL_SCHEMA, &rc, &body);
        free(sla);
    }
    struct audit_more m = {.prev_org = o->prev_org, .link = o->answer_link, .days = o->ext_days};
    audit(t, seq, action, t->ev->actor, o->reason, &m);
}

struct sla_opts {
    enum clock_id clock;
    int level;
    const struct escalation *esc;
    int64_t due, at;
    const char *link;
};

static void emit_sla(struct tctx *t, const char *event, const struct sla_opts *o)
{
    const struct appeal_rec *r = t->r;
    const struct org *org = org_of(t, r->org);
    struct clock_ctx x;
    cx_for(t, o->clock, &x);
    const struct org *to[8];
    size_t nto = o->esc ? clock_recipients(&x, o->esc, to, 8) : 0;
    const char *codes[8], *names[8];
    struct recips rc = {0};
    add_topic(&rc, t->cfg->kafka.topic_sla);
    add_topic(&rc, t->cfg->kafka.topic_all);
    add_owner(t, &rc, r->org, r->triage);
    for (size_t i = 0; i < nto; i++) {
        codes[i] = to[i]->code;
        names[i] = to[i]->name;
        add_escalated(&rc, to[i], o->esc->via);
    }
    if (o->esc && o->esc->via == VIA_TOPIC)
        add_topic(&rc, o->esc->topic);
    const struct clock *k = &r->clk[o->clock];
    int64_t left = k->state == CS_RUN ? clock_between(&x, t->ev->now, k->due) : k->left;
    char *sla = sla_json(t);
    int64_t seq = ++t->r->seq;
    struct sla_view v = {
        .event = event, .appeal_id = r->id, .timer = clock_name(o->clock), .occurrence = seq,
        .policy = x.pol->name, .org_code = r->org, .org_name = org ? org->name : NULL,
        .regime = x.pol->regime == REGIME_59FZ ? "59fz" : "social", .level = o->level,
        .recipient_codes = codes, .recipient_names = names, .nrecipients = nto,
        .due_ms = o->due, .occurred_ms = o->at, .now_ms = t->ev->now,
        .late_ms = o->at > 0 && t->ev->now > o->at ? t->ev->now - o->at : 0,
        .elapsed_s = (k->bud - left) / 1000, .seq = seq, .state = r->state,
        .category = r->category, .municipality = r->municipality, .priority = r->priority,
        .link = o->link, .sla_json = sla, .tz = t->tz,
    };
    struct sbuf body = SBUF_INIT;
    message_sla(&body, &v);
    add_msg(t, "sla", event, SLA_SCHEMA, &rc, &body);
    if (t->ev->kind == LC_TIMER && t->plan->nmsgs)
        t->plan->msgs[t->plan->nmsgs - 1].at = o->at;
    struct audit_more m = {.clock = clock_name(o->clock), .level = o->level, .to = codes,
                           .nto = nto, .link = o->link};
    audit(t, seq, event, t->ev->kind == LC_TIMER ? "sla" : t->ev->actor, NULL, &m);
    free(sla);
}

/* A met event for every clock this transition met. */
static void emit_met(struct tctx *t)
{
    for (int c = 0; c < CLK_N; c++) {
        const struct clock *b = &t->before->clk[c], *a = &t->r->clk[c];
        if ((b->state != CS_RUN && b->state != CS_PAUSE) || a->state != CS_MET)
            continue;
        struct sla_opts o = {.clock = (enum clock_id)c, .due = b->state == CS_RUN ? b->due : 0,
                             .at = t->ev->now, .link = c == CLK_FR ? t->r->fr_link : NULL};
        emit_sla(t, "met", &o);
        if (c == CLK_FR) {
            t->plan->counts.fr_met = true;
            t->plan->counts.fr_used_ms = a->used;
            t->plan->counts.fr_on_time = a->left >= 0;
        }
    }
}

/* ---- the events ---- */

/* The routing decision on a record and its clocks from `from` on: a new
 * appeal, or a kept non-appeal an edit made an appeal. */
static void open_routed(struct tctx *t, const struct lc_created *c, int64_t from)
{
    struct appeal_rec *r = t->r;
    record_set(&r->org, c->org);
    record_set(&r->rule, c->rule);
    record_set(&r->copies, c->copies);
    r->triage = c->triage;
    if (c->dropped) {
        /* Noise by a drop rule: kept for the record, no clocks, never open. */
        r->dropped = true;
        record_set(&r->state, "dropped");
        audit(t, r->seq, "dropped", c->source, c->route_reason, NULL);
        return;
    }
    record_set(&r->state, "open");
    const struct policy *p = sla_policy_select(t->cfg, org_of(t, c->org), c->category,
                                               c->priority, REGIME_SOCIAL, c->route_policy);
    record_set(&r->policy, p->name);
    struct clock_ctx x;
    cx_for(t, CLK_FR, &x);
    if (p->has_first_response)
        clock_start(&r->clk[CLK_FR], &x, &p->first_response, from);
    if (p->has_resolution)
        clock_start(&r->clk[CLK_RES], &x, &p->resolution, from);
}

static void set_classification(struct appeal_rec *r, const struct lc_created *c)
{
    record_set(&r->kind, c->kind);
    record_set(&r->category, c->category);
    record_set(&r->municipality, c->municipality);
    record_set(&r->priority, c->priority);
}

static void t_created(struct tctx *t)
{
    const struct lc_created *c = t->ev->created;
    struct appeal_rec *r = t->r;
    if (t->before->exists || c == NULL) {
        noop(t);
        return;
    }
    record_set(&r->source, c->source);
    record_set(&r->page, c->page);
    record_set(&r->link, c->link);
    record_set(&r->author, c->author);
    record_set(&r->item_kind, c->item_kind);
    set_classification(r, c);
    record_set(&r->text, c->text ? c->text : "");
    t->plan->text_changed = c->text && *c->text;
    r->created_ms = c->created_ms;
    r->received_ms = c->received_ms;
    r->exists = true;
    if (c->kept) {
        /* Not an appeal (thanks, chatter): kept and counted, never routed. */
        record_set(&r->state, c->kind && strcmp(c->kind, "gratitude") == 0 ? "feedback"
                                                                           : "not_appeal");
        audit(t, r->seq, "created", c->source, "not an appeal", NULL);
        return;
    }
    /* The clocks run from the moment the appeal reached us. */
    open_routed(t, c, c->received_ms);
    if (!r->dropped)
        audit(t, r->seq, "created", c->source, c->route_reason, NULL);
}

static bool need_exists(struct tctx *t)
{
    if (t->before->exists)
        return true;
    refuse(t, "not_found", "no appeal %s", t->before->id);
    return false;
}

static void t_edited(struct tctx *t)
{
    if (!need_exists(t))
        return;
    const struct lc_created *c = t->ev->created;
    bool promote = t->ev->promote && c && state_is_kept(t->before->state);
    if (!promote && t->before->text && t->ev->text &&
        strcmp(t->before->text, t->ev->text) == 0) {
        noop(t);
        return;
    }
    record_set(&t->r->text, t->ev->text ? t->ev->text : "");
    t->plan->text_changed = true;
    if (c && (promote || !state_is_kept(t->before->state)))
        set_classification(t->r, c);
    if (promote) {
        /* The new text is an appeal: routed now, its clocks start now. */
        open_routed(t, c, t->ev->now);
        audit(t, t->r->seq, "edited", c->source, c->route_reason, NULL);
        return;
    }
    emit_change(t, "updated", &(struct change_opts){.with_text = true});
}

bool transition_removed_by_page(const char *author, const char *deleter)
{
    if (deleter == NULL || *deleter == '\0')
        return false;          /* the platform did not say: the author, as always */
    return author == NULL || *author == '\0' || strcmp(author, deleter) != 0;
}

/* A moderator or the page removed the item from view: not the citizen
 * withdrawing it, so nothing of the appeal changes and every clock runs on;
 * the ЦУР hears of it (the pipeline published it to triage) and the audit
 * trail keeps who removed it. */
static void t_removed_by_page(struct tctx *t)
{
    emit_change(t, "removed_by_page", &(struct change_opts){
        .reason = "deleted on the platform by the page (a moderator), not by its author; "
                  "the clocks run on"});
}

static void t_withdrawn(struct tctx *t)
{
    if (!need_exists(t))
        return;
    if (transition_removed_by_page(t->before->author, t->ev->deleter)) {
        t_removed_by_page(t);
        return;
    }
    const char *st = t->before->state;
    if (strcmp(st, "withdrawn") == 0) {
        noop(t);
        return;
    }
    /* Noise a drop rule took, and texts that are no appeal, are withdrawn
     * too, and come back as what they were. */
    if (!state_is_final(st) || strcmp(st, "dropped") == 0 || state_is_kept(st)) {
        record_set(&t->r->prev_state, st);
        record_set(&t->r->state, "withdrawn");
        for (int c = 0; c < CLK_N; c++)
            hold(t, (enum clock_id)c, CS_STOP);
    }
    emit_change(t, "withdrawn", &(struct change_opts){
        .reason = "deleted on the platform by its author"});
}

static void t_restored(struct tctx *t)
{
    if (!need_exists(t))
        return;
    if (strcmp(t->before->state, "withdrawn") != 0) {
        noop(t);
        return;
    }
    const char *back = t->before->prev_state ? t->before->prev_state : "open";
    record_set(&t->r->prev_state, NULL);
    for (int c = 0; c < CLK_N; c++)
        resume_if(t, (enum clock_id)c, CS_STOP);
    set_state(t, back);
    emit_change(t, "restored", &(struct change_opts){.reason = "restored on the platform"});
}

/* ---- answers and their quality ---- */

static bool clock_live(const struct clock *k) { return k->state == CS_RUN || k->state == CS_PAUSE; }

/* The verdict on an answer: the caller's, else the judge's on its text (an
 * operator's or the page's), else on its comment (an agency's). */
static void verdict_of(const struct tctx *t, struct answer_verdict *v)
{
    v->quality = (enum answer_quality)t->ev->quality;
    v->reasons = t->ev->quality_reasons;
    if (v->quality != AQ_NONE)
        return;
    const char *txt = t->ev->text && *t->ev->text ? t->ev->text : t->ev->reason;
    if (txt && *txt)
        answer_judge_text(answer_judge_of(t->cfg), txt, strlen(txt), 0, v);
}

/* A formal answer under the policy's answer_quality = default: the first
 * response counts, and the rework clock starts (once) for a substantive one. */
static void open_rework(struct tctx *t, const struct clock_ctx *x, const char *reasons,
                        char *note, size_t len)
{
    struct clock *k = &t->r->clk[CLK_RWK];
    if (!x->pol->has_rework || clock_live(k))
        return;
    memset(k, 0, sizeof(*k));
    clock_start(k, x, &x->pol->rework, t->ev->now);
    t->plan->counts.rework_opened = true;
    snprintf(note, len, "; a formal answer (%s): rework until a substantive one (policy %s)",
             reasons, x->pol->name);
}

/* What a judged answer does to the first-response and rework clocks.  A
 * substantive answer or a refusal meets both; a formal one meets neither
 * under answer_quality = required, else meets the first response and opens
 * rework.  Returns 1 when this answer met the first response, -1 when a
 * formal answer left it running, else 0. */
static int apply_quality(struct tctx *t, const struct answer_verdict *v, char *note, size_t len)
{
    struct appeal_rec *r = t->r;
    bool live = clock_live(&r->clk[CLK_FR]);
    note[0] = '\0';
    if (v->quality == AQ_NONE) {
        hold(t, CLK_FR, CS_MET);
        return live ? 1 : 0;
    }
    char reasons[160];
    answer_reasons_text(v->reasons, reasons, sizeof(reasons));
    record_set(&r->answer_quality, answer_quality_name(v->quality));
    record_set(&r->answer_reasons, reasons);
    t->plan->counts.answer_quality = answer_quality_name(v->quality);
    struct clock_ctx x;
    cx_for(t, CLK_FR, &x);
    if (v->quality != AQ_FORMAL) {
        hold(t, CLK_FR, CS_MET);
        hold(t, CLK_RWK, CS_MET);
        return live ? 1 : 0;
    }
    if (x.pol->answer_required && live) {
        snprintf(note, len, "; a formal answer (%s): the first response is not met (policy %s "
                 "requires a substantive answer)", reasons, x.pol->name);
        return -1;
    }
    hold(t, CLK_FR, CS_MET);
    open_rework(t, &x, reasons, note, len);
    return live ? 1 : 0;
}

/* The page's reply in the thread, or an operator's answer given elsewhere. */
static void t_answer(struct tctx *t, bool by_operator)
{
    if (!need_exists(t))
        return;
    struct appeal_rec *r = t->r;
    const char *link = t->ev->link;
    if (by_operator && r->clk[CLK_FR].state == CS_MET && !clock_live(&r->clk[CLK_RWK])) {
        refuse(t, "conflict", "the first response to %s was already given", r->id);
        return;
    }
    if (by_operator && state_is_final(r->state)) {
        refuse(t, "conflict", "%s is %s; reopen it first", r->id, r->state);
        return;
    }
    if (!by_operator && link && t->before->fr_link && strcmp(link, t->before->fr_link) == 0) {
        noop(t);   /* the same reply again */
        return;
    }
    struct answer_verdict v;
    verdict_of(t, &v);
    char note[256] = "";
    int meets = 0;
    if (!state_is_final(r->state)) {
        bool live = clock_live(&r->clk[CLK_FR]);
        meets = apply_quality(t, &v, note, sizeof(note));
        if (live && meets >= 0)
            record_set(&r->fr_link, link ? link : "");
        if (rank(r->state) >= 0 && rank(r->state) < rank("answered"))
            set_state(t, "answered");
    }
    char reason[512];
    snprintf(reason, sizeof(reason), "%s%s", t->ev->reason ? t->ev->reason
             : by_operator ? "answered outside the platform" : "the page replied in the thread",
             note);
    emit_change(t, "answered", &(struct change_opts){
        .reason = reason, .answer_link = link,
        .verdict = v.quality != AQ_NONE ? &v : NULL, .meets = meets});
}

static bool agency_may(struct tctx *t)
{
    if (!need_exists(t))
        return false;
    const char *sender = t->ev->sender;
    if (sender == NULL)
        return true;
    /* The owner, or an organisation that got a copy, may report. */
    bool copy = false;
    for (const char *p = t->r->copies; p && *p && !copy;) {
        size_t n = strcspn(p, ",");
        copy = n == strlen(sender) && strncmp(p, sender, n) == 0;
        p += n + (p[n] == ',');
    }
    if (!copy && (t->r->org == NULL || strcmp(sender, t->r->org) != 0)) {
        refuse(t, "not_assigned", "%s is assigned to %s, not to %s", t->r->id,
               t->r->org ? t->r->org : "the ЦУР's triage", sender);
        return false;
    }
    return true;
}

static bool not_final(struct tctx *t)
{
    if (!state_is_final(t->r->state))
        return true;
    refuse(t, "conflict", "%s is %s", t->r->id, t->r->state);
    return false;
}

static void t_progress(struct tctx *t, const char *status)
{
    if (!agency_may(t) || !not_final(t))
        return;
    const char *st = t->r->state;
    bool waiting = strcmp(st, "waiting") == 0;
    if (!waiting && rank(st) >= rank(status)) {
        noop(t);   /* a repeat, or a step the appeal is already past */
        return;
    }
    record_set(&t->r->prev_state, NULL);
    set_state(t, status);
    emit_change(t, status, &(struct change_opts){.reason = t->ev->reason});
}

static void t_agency_answered(struct tctx *t)
{
    if (!agency_may(t) || !not_final(t))
        return;
    struct appeal_rec *r = t->r;
    if (strcmp(r->state, "answered") == 0 && r->clk[CLK_FR].state != CS_RUN &&
        r->clk[CLK_FZ].state != CS_RUN && r->clk[CLK_FZ].state != CS_PAUSE &&
        !clock_live(&r->clk[CLK_RWK])) {
        noop(t);
        return;
    }
    bool live = clock_live(&r->clk[CLK_FR]);
    struct answer_verdict v;
    verdict_of(t, &v);
    char note[256];
    int meets = apply_quality(t, &v, note, sizeof(note));
    if (live && meets >= 0)
        record_set(&r->fr_link, t->ev->link);
    hold(t, CLK_FZ, CS_MET);
    record_set(&r->prev_state, NULL);
    set_state(t, "answered");
    char reason[512];
    snprintf(reason, sizeof(reason), "%s%s", t->ev->reason ? t->ev->reason : "", note);
    emit_change(t, "answered", &(struct change_opts){
        .reason = reason[0] ? reason : NULL, .answer_link = t->ev->link,
        .verdict = v.quality != AQ_NONE ? &v : NULL, .meets = meets});
}

/* resolved (agency) and closed (operator): every clock stops; the
 * resolution (and a 59-FZ term) count as met, a first response never given
 * as stopped. */
static void t_finish(struct tctx *t, const char *state)
{
    struct appeal_rec *r = t->r;
    if (t->ev->kind == LC_RESOLVED ? !agency_may(t) : !need_exists(t))
        return;
    if (strcmp(r->state, state) == 0 && t->ev->kind == LC_RESOLVED) {
        noop(t);
        return;
    }
    if (strcmp(r->state, "closed") == 0 || strcmp(r->state, "withdrawn") == 0 ||
        (strcmp(r->state, "resolved") == 0 && t->ev->kind == LC_RESOLVED)) {
        refuse(t, "conflict", "%s is already %s", r->id, r->state);
        return;
    }
    hold(t, CLK_FR, CS_STOP);
    hold(t, CLK_RES, CS_MET);
    hold(t, CLK_FZ, CS_MET);
    hold(t, CLK_FWD, CS_STOP);   /* closed before a competent body was found */
    record_set(&r->prev_state, NULL);
    record_set(&r->state, state);
    emit_change(t, state, &(struct change_opts){.reason = t->ev->reason});
}

static void t_reopen(struct tctx *t)
{
    if (!need_exists(t))
        return;
    const char *st = t->r->state;
    if (strcmp(st, "closed") != 0 && strcmp(st, "resolved") != 0 &&
        strcmp(st, "answered") != 0) {
        refuse(t, "conflict", strcmp(st, "withdrawn") == 0
               ? "%s was withdrawn by its author; it comes back if restored on the platform"
               : "%s is %s, not closed", t->r->id, st);
        return;
    }
    /* The clocks go on from the time they had left; a first response or a
     * 59-FZ answer already given stays given. */
    resume_if(t, CLK_RES, CS_MET);
    for (int c = 0; c < CLK_N; c++)
        resume_if(t, (enum clock_id)c, CS_STOP);
    set_state(t, "open");
    emit_change(t, "reopened", &(struct change_opts){.reason = t->ev->reason});
}

/* Whether the appeal has had an answer its author can respond to. */
static bool was_answered(const struct appeal_rec *r)
{
    return r->clk[CLK_FR].state == CS_MET || r->answer_quality ||
           strcmp(r->state, "answered") == 0 || strcmp(r->state, "resolved") == 0 ||
           strcmp(r->state, "closed") == 0;
}

/* The author says the problem is still there: the appeal opens again, its
 * clocks go on from the time they had left (like an operator's reopen). */
static void followup_reopen(struct tctx *t)
{
    struct appeal_rec *r = t->r;
    resume_if(t, CLK_RES, CS_MET);
    for (int c = 0; c < CLK_N; c++)
        resume_if(t, (enum clock_id)c, CS_STOP);
    record_set(&r->prev_state, NULL);
    r->confirmed_ms = 0;
    r->reopens++;
    set_state(t, "open");
    t->plan->counts.reopened_by_citizen = true;
    emit_change(t, "reopened", &(struct change_opts){
        .reason = "the author wrote under the answer that the problem remains",
        .by = "citizen", .answer_link = NULL});
}

bool transition_followup_applies(const struct appeal_rec *r)
{
    return r->exists && r->state && was_answered(r) && !state_is_kept(r->state) &&
           strcmp(r->state, "withdrawn") != 0 && strcmp(r->state, "dropped") != 0;
}

/* A comment by the appeal's author in its thread after an answer. */
static void t_followup(struct tctx *t)
{
    if (!need_exists(t))
        return;
    struct appeal_rec *r = t->r;
    const char *txt = t->ev->text ? t->ev->text : "";
    enum followup f = transition_followup_applies(t->before)
                          ? answer_followup(answer_judge_of(t->cfg), txt, strlen(txt))
                          : FU_UPDATE;
    if (f == FU_REOPEN && rank(r->state) != rank("answered") && !state_is_final(r->state))
        f = FU_UPDATE;        /* still open: the complaint joins it */
    if (f == FU_REOPEN) {
        followup_reopen(t);
        return;
    }
    if (f == FU_CONFIRM) {
        r->confirmed_ms = t->ev->now;
        t->plan->counts.confirmed = true;
        emit_change(t, "confirmed", &(struct change_opts){
            .reason = "the author confirmed the fix under the answer", .by = "citizen"});
        return;
    }
    emit_change(t, "updated", &(struct change_opts){
        .reason = "the author commented in the appeal's thread", .text = txt});
}

static void t_pause(struct tctx *t)
{
    if (!(t->ev->kind == LC_NEEDS_INFO ? agency_may(t) : need_exists(t)) || !not_final(t))
        return;
    if (strcmp(t->r->state, "waiting") == 0) {
        if (t->ev->kind == LC_NEEDS_INFO)
            noop(t);
        else
            refuse(t, "conflict", "%s is already waiting for the citizen", t->r->id);
        return;
    }
    record_set(&t->r->prev_state, t->r->state);
    set_state(t, "waiting");
    emit_change(t, t->ev->kind == LC_NEEDS_INFO ? "needs_info" : "paused",
                &(struct change_opts){.reason = t->ev->reason});
}

static void t_resume(struct tctx *t)
{
    if (!need_exists(t))
        return;
    if (strcmp(t->r->state, "waiting") != 0) {
        refuse(t, "conflict", "%s is %s, not waiting", t->r->id, t->r->state);
        return;
    }
    const char *back = t->before->prev_state ? t->before->prev_state : "open";
    set_state(t, back);
    record_set(&t->r->prev_state, NULL);
    emit_change(t, "resumed", &(struct change_opts){.reason = t->ev->reason});
}

/* The current body received the written обращение at `received` and
 * registered it at `registered` (59-FZ art. 8 ch. 2): the registration
 * clock is met then (late if its left time is negative), and the term runs
 * from the day after registration (art. 12 ch. 1). */
static void fz_register(struct tctx *t, int64_t received, int64_t registered)
{
    struct appeal_rec *r = t->r;
    struct clock_ctx x;
    cx_for(t, CLK_FZ, &x);
    r->fz_received_ms = received;
    r->registered_ms = registered;
    memset(&r->clk[CLK_REG], 0, sizeof(r->clk[CLK_REG]));
    if (x.pol->has_registration) {
        clock_start(&r->clk[CLK_REG], &x, &x.pol->registration, received);
        clock_hold(&r->clk[CLK_REG], &x, CS_MET, registered);
    }
    clock_start(&r->clk[CLK_FZ], &x, &x.pol->resolution, registered);
}

/* Converted before the body registered it: only the registration clock runs
 * (3 days from receipt); `register` starts the term. */
static void fz_await_registration(struct tctx *t, int64_t received)
{
    struct appeal_rec *r = t->r;
    struct clock_ctx x;
    cx_for(t, CLK_FZ, &x);
    r->fz_received_ms = received;
    r->registered_ms = 0;
    memset(&r->clk[CLK_FZ], 0, sizeof(r->clk[CLK_FZ]));
    if (x.pol->has_registration)
        clock_start(&r->clk[CLK_REG], &x, &x.pol->registration, received);
}

static bool convert_times(struct tctx *t, int64_t *received, int64_t *registered)
{
    int64_t now = t->ev->now;
    *received = t->ev->received ? t->ev->received : now;
    *registered = t->ev->pending ? now : t->ev->registered ? t->ev->registered : now;
    if (*registered > now || *received > *registered) {
        refuse(t, "bad_args", "%s", *registered > now
               ? "registered lies in the future" : "received lies after registered");
        return false;
    }
    return true;
}

static void t_convert(struct tctx *t)
{
    if (!need_exists(t) || !not_final(t))
        return;
    struct appeal_rec *r = t->r;
    if (r->formal) {
        refuse(t, "conflict", "%s is already a formal обращение (policy %s)", r->id, r->formal);
        return;
    }
    int64_t received, registered;
    if (!convert_times(t, &received, &registered))
        return;
    const struct policy *p = sla_policy_select(t->cfg, org_of(t, r->org), r->category,
                                               r->priority, REGIME_59FZ, NULL);
    record_set(&r->formal, p->name);
    r->formal_ms = t->ev->now;
    if (t->ev->pending)
        fz_await_registration(t, received);
    else
        fz_register(t, received, registered);
    apply_pauses(t);
    emit_change(t, "converted", &(struct change_opts){.reason = t->ev->reason,
                                                       .due = r->clk[CLK_FZ].due});
}

/* The body registers a formal обращение converted with its registration
 * pending: the registration clock is met and the term starts. */
static void t_register(struct tctx *t)
{
    if (!need_exists(t) || !not_final(t))
        return;
    struct appeal_rec *r = t->r;
    if (r->formal == NULL || r->registered_ms || r->clk[CLK_FZ].state != CS_NONE) {
        refuse(t, "conflict", "%s has no registration pending (%s)", r->id,
               r->formal ? "registered already" : "not a formal обращение; convert it");
        return;
    }
    int64_t at = t->ev->registered ? t->ev->registered : t->ev->now;
    if (at > t->ev->now || at < r->fz_received_ms) {
        refuse(t, "bad_args", "the registration must lie between the receipt and now");
        return;
    }
    fz_register(t, r->fz_received_ms, at);
    apply_pauses(t);
    emit_change(t, "registered", &(struct change_opts){.reason = t->ev->reason,
                                                        .due = r->clk[CLK_FZ].due});
}

/* 59-FZ forwarding (art. 8 ch. 3): the body that registered the обращение
 * hands it to the competent one within its forward time from registration.
 * Sent to the ЦУР's triage (no competent body named), the forward clock
 * runs; sent to a body, it is met, and that body's term runs anew from its
 * own registration (art. 12 ch. 1), with its own right to an extension. */
static void fz_forward(struct tctx *t, bool triage, const struct clock_ctx *from,
                       char *note, size_t len)
{
    struct appeal_rec *r = t->r;
    char st = r->clk[CLK_FZ].state, rg = r->clk[CLK_REG].state;
    if (r->formal == NULL || (st != CS_RUN && st != CS_PAUSE && rg != CS_RUN))
        return;
    struct clock *fw = &r->clk[CLK_FWD];
    int64_t reg = r->registered_ms ? r->registered_ms : r->formal_ms;
    if (fw->state != CS_RUN && from->pol->has_forward)
        clock_start(fw, from, &from->pol->forward, reg);
    if (triage) {
        snprintf(note, len, "; 59-FZ: to be forwarded to the competent body (policy %s)",
                 from->pol->name);
        return;
    }
    clock_hold(fw, from, CS_MET, t->ev->now);
    const struct policy *p = sla_policy_select(t->cfg, org_of(t, r->org), r->category,
                                               r->priority, REGIME_59FZ, NULL);
    record_set(&r->formal, p->name);
    r->forwarded_ms = t->ev->now;
    r->ext_days = r->exts = 0;
    fz_register(t, t->ev->now, t->ev->now);
    snprintf(note, len, "; 59-FZ: forwarded, a new term from registration by %s (policy %s)",
             r->org, p->name);
}

/* The 59-FZ extension counted like the term: N more days from registration. */
static void fz_extend(struct tctx *t, const struct clock_ctx *x, int64_t days)
{
    struct appeal_rec *r = t->r;
    struct clock *k = &r->clk[CLK_FZ];
    if (!x->pol->legal_days) {
        struct wdur by = {days, 0};
        clock_extend(k, x, &by, t->ev->now);
        return;
    }
    int64_t reg = r->registered_ms ? r->registered_ms : r->formal_ms;
    int64_t base = x->pol->resolution.days + r->ext_days;
    clock_lengthen(k, x, clock_term_end(x, reg, base + days) - clock_term_end(x, reg, base),
                   t->ev->now);
}

static void t_extend(struct tctx *t)
{
    if (!need_exists(t) || !not_final(t))
        return;
    struct appeal_rec *r = t->r;
    struct clock *k = &r->clk[CLK_FZ];
    if (r->formal == NULL || k->state == CS_NONE) {
        refuse(t, "conflict", r->formal ? "%s is not registered yet; register it first"
                                        : "%s is not a formal обращение; convert it first", r->id);
        return;
    }
    if (k->state != CS_RUN && k->state != CS_PAUSE) {
        refuse(t, "conflict", "the 59-FZ term of %s is over (answered or stopped)", r->id);
        return;
    }
    struct clock_ctx x;
    cx_for(t, CLK_FZ, &x);
    if (r->exts >= x.pol->extensions) {
        refuse(t, "conflict", "%s was already extended %lld time(s); policy %s allows %lld",
               r->id, (long long)r->exts, x.pol->name, (long long)x.pol->extensions);
        return;
    }
    int64_t max = x.pol->extension_max.days;
    if (t->ev->days < 1 || t->ev->days > max) {
        refuse(t, "bad_args", "days must be 1..%lld (policy %s)", (long long)max, x.pol->name);
        return;
    }
    fz_extend(t, &x, t->ev->days);
    r->ext_days += t->ev->days;
    r->exts++;
    emit_change(t, "extended", &(struct change_opts){
        .reason = t->ev->reason, .ext_days = t->ev->days,
        .due = k->state == CS_RUN ? k->due : 0});
}

static void t_reroute(struct tctx *t)
{
    bool agency = t->ev->kind == LC_NOT_OURS;
    if (!(agency ? agency_may(t) : need_exists(t)) || !not_final(t))
        return;
    struct appeal_rec *r = t->r;
    const struct directory *dir = t->cfg->dir;
    const struct org *to = org_of(t, t->ev->org);
    if (!agency && to == NULL) {
        refuse(t, "not_found", "no organisation '%s'", t->ev->org ? t->ev->org : "");
        return;
    }
    bool triage = to == NULL;     /* not ours, and no better owner known */
    if (triage)
        to = dir ? dir->cur : NULL;
    const char *to_code = to ? to->code : NULL;
    if (!triage && r->org && strcmp(r->org, to_code) == 0) {
        refuse(t, "conflict", "%s is already with %s", r->id, to_code);
        return;
    }
    struct clock_ctx from[CLK_N], into[CLK_N];
    for (int c = 0; c < CLK_N; c++)
        cx_for(t, (enum clock_id)c, &from[c]);
    bool keep = !from[CLK_FR].pol->reroute_restart;
    char *prev = r->org ? strdup(r->org) : NULL;
    record_set(&r->org, to_code);
    r->triage = triage;
    const struct policy *np = sla_policy_select(t->cfg, to, r->category, r->priority,
                                                REGIME_SOCIAL, NULL);
    record_set(&r->policy, np->name);
    char note[160] = "", fz_note[160] = "";
    for (int c = 0; c < CLK_FZ; c++) {
        cx_for(t, (enum clock_id)c, &into[c]);
        const struct wdur *allow = c == CLK_FR ? &into[c].pol->first_response
                                               : &into[c].pol->resolution;
        bool has = c == CLK_FR ? into[c].pol->has_first_response : into[c].pol->has_resolution;
        struct clock *k = &r->clk[c];
        if (k->state == CS_NONE || !has)
            continue;
        int64_t used = k->bud - (k->state == CS_RUN ? clock_between(&from[c], t->ev->now, k->due)
                                                    : k->left);
        if (c == CLK_FR && (k->state == CS_RUN || k->state == CS_PAUSE)) {
            char d[32];
            format_duration(used, d, sizeof(d));
            if (keep)
                snprintf(note, sizeof(note), "; %s of the first-response time kept (policy %s)",
                         d, from[c].pol->name);
            else
                snprintf(note, sizeof(note), "; clocks restarted (policy %s restarts on "
                         "re-route)", from[c].pol->name);
        }
        clock_move(k, &from[c], &into[c], allow, keep, t->ev->now);
    }
    fz_forward(t, triage, &from[CLK_FZ], fz_note, sizeof(fz_note));
    if (rank(r->state) > 0)
        record_set(&r->state, "open");
    apply_pauses(t);
    char reason[512];
    snprintf(reason, sizeof(reason), "%s%s%s%s%s", agency ? "not ours" : "",
             agency && t->ev->reason ? ": " : "", t->ev->reason ? t->ev->reason : "", note,
             fz_note);
    emit_change(t, "rerouted", &(struct change_opts){.reason = reason, .prev_org = prev,
                                                      .with_text = true});
    free(prev);
}

static void fire_stage(struct tctx *t, enum clock_id c, const struct clock_ctx *x, int stage,
                       int64_t at)
{
    const struct clock *k = &t->r->clk[c];
    struct sla_opts o = {.clock = c, .due = k->due, .at = at};
    if (stage == STAGE_WARNING) {
        emit_sla(t, "warning", &o);
    } else if (stage == STAGE_BREACH) {
        emit_sla(t, "breach", &o);
        t->plan->counts.breaches++;
    } else {
        o.level = stage - 1;
        o.esc = &x->pol->esc[stage - 2];
        emit_sla(t, "escalation", &o);
    }
}

static bool same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Why the incident change matters for this appeal's clocks. */
static void incident_reason(const struct tctx *t, char *out, size_t len)
{
    const struct appeal_rec *r = t->r;
    bool was = record_inc_held(t->before), now = record_inc_held(r);
    char due[48] = "";
    int64_t at = record_next_due(r);
    if (at)
        format_iso8601(at, t->tz, due, sizeof(due));
    if (now && !was)
        snprintf(out, len, "joined incident %s led by %s: the SLA runs on the incident (the "
                 "lead's clocks); this appeal's own clocks are held", r->inc, r->inc_lead);
    else if (now)
        snprintf(out, len, "incident %s is led by %s now (its earliest appeal); this appeal's "
                 "own clocks stay held", r->inc, r->inc_lead);
    else if (was)
        snprintf(out, len, "%s %s: its own clocks run again from its receipt (policy %s%s%s)",
                 r->inc && same_str(r->inc, t->before->inc) ? "leads incident" : "split into",
                 r->inc ? r->inc : "no incident", r->policy ? r->policy : "none",
                 *due ? ", next deadline " : "", due);
    else
        snprintf(out, len, "leads incident %s: its clocks are the incident's (for %s)",
                 r->inc ? r->inc : "none", r->inc_apps ? r->inc_apps : r->id);
}

/* The incident the appeal is in, as the incidents read it at version
 * inc_ver: an older version than the one applied changes nothing, so syncs
 * that cross (two daemons, a merge and a join) cannot undo a newer one. */
static void t_incident(struct tctx *t)
{
    if (!need_exists(t))
        return;
    struct appeal_rec *r = t->r;
    const struct lc_event *ev = t->ev;
    if (ev->inc_ver <= t->before->inc_ver) {
        noop(t);
        return;
    }
    bool lead = ev->incident && ev->lead && strcmp(ev->lead, r->id) == 0;
    record_set(&r->inc, ev->incident);
    record_set(&r->inc_lead, ev->incident ? ev->lead : NULL);
    record_set(&r->inc_apps, lead ? ev->members : NULL);
    r->inc_ver = ev->inc_ver;
    const struct appeal_rec *b = t->before;
    if (same_str(b->inc, r->inc) && same_str(b->inc_lead, r->inc_lead) &&
        same_str(b->inc_apps, r->inc_apps)) {
        noop(t);
        return;
    }
    char reason[768];
    incident_reason(t, reason, sizeof(reason));
    emit_change(t, "incident_changed", &(struct change_opts){.reason = reason});
}

static void t_timer(struct tctx *t)
{
    /* A member of an incident led by another appeal: the lead's clocks fire. */
    if (!t->before->exists || record_inc_held(t->before)) {
        noop(t);
        return;
    }
    int64_t now = t->ev->now;
    bool fired = false;
    for (int c = 0; c < CLK_N; c++) {
        struct clock *k = &t->r->clk[c];
        if (k->state != CS_RUN)
            continue;
        struct clock_ctx x;
        cx_for(t, (enum clock_id)c, &x);
        int n = clock_nstages(&x);
        for (int s = 0; s < n && t->plan->nmsgs < LC_MAX_MSGS - 1; s++) {
            int64_t at = clock_stage_at(k, &x, s);
            if ((k->fired & 1u << s) || at > now)
                continue;
            k->fired |= 1u << s;
            /* A warning that comes due together with its breach says nothing new. */
            if (s == STAGE_WARNING && clock_stage_at(k, &x, STAGE_BREACH) <= now)
                continue;
            fire_stage(t, (enum clock_id)c, &x, s, at);
            fired = true;
        }
    }
    if (!fired && memcmp(t->before->clk, t->r->clk, sizeof(t->r->clk)) == 0)
        noop(t);
}

/* ---- entry ---- */

int64_t transition_next_at(const struct apd_config *cfg, const struct appeal_rec *r)
{
    struct lc_event ev = {.now = 0};
    struct lc_plan plan = {0};
    struct tctx t = {.cfg = cfg, .before = r, .r = (struct appeal_rec *)r, .ev = &ev,
                     .plan = &plan};
    int64_t best = INT64_MAX;
    if (record_inc_held(r))
        return best;
    for (int c = 0; c < CLK_N; c++) {
        if (r->clk[c].state != CS_RUN)
            continue;
        struct clock_ctx x;
        cx_for(&t, (enum clock_id)c, &x);
        int64_t at = clock_next_at(&r->clk[c], &x);
        if (at < best)
            best = at;
    }
    return best;
}

void transition_plan(const struct apd_config *cfg, const struct appeal_rec *before,
                     const struct lc_event *ev, struct lc_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    record_copy(&plan->after, before);
    struct tctx t = {.cfg = cfg, .before = before, .r = &plan->after, .ev = ev, .plan = plan,
                     .tz = cfg->daemon.timezone};
    switch (ev->kind) {
    case LC_CREATED: t_created(&t); break;
    case LC_EDITED: t_edited(&t); break;
    case LC_WITHDRAWN: t_withdrawn(&t); break;
    case LC_RESTORED: t_restored(&t); break;
    case LC_REPLY: t_answer(&t, false); break;
    case LC_ANSWER: t_answer(&t, true); break;
    case LC_ACCEPTED: t_progress(&t, "accepted"); break;
    case LC_IN_PROGRESS: t_progress(&t, "in_progress"); break;
    case LC_ANSWERED: t_agency_answered(&t); break;
    case LC_RESOLVED: t_finish(&t, "resolved"); break;
    case LC_CLOSE: t_finish(&t, "closed"); break;
    case LC_REOPEN: t_reopen(&t); break;
    case LC_PAUSE:
    case LC_NEEDS_INFO: t_pause(&t); break;
    case LC_RESUME: t_resume(&t); break;
    case LC_CONVERT: t_convert(&t); break;
    case LC_EXTEND: t_extend(&t); break;
    case LC_REROUTE:
    case LC_NOT_OURS: t_reroute(&t); break;
    case LC_TIMER: t_timer(&t); break;
    case LC_REGISTER: t_register(&t); break;
    case LC_FOLLOWUP: t_followup(&t); break;
    case LC_INCIDENT: t_incident(&t); break;
    }
    if (plan->status == LC_OK && ev->kind != LC_TIMER)
        emit_met(&t);
    plan->counts.closed = !state_is_final(before->state) && state_is_final(plan->after.state) &&
                          before->exists;
    plan->next_at = transition_next_at(cfg, &plan->after);
    plan->now = ev->now;
}

void transition_plan_free(struct lc_plan *plan)
{
    for (size_t i = 0; i < plan->nmsgs; i++) {
        free(plan->msgs[i].event_id);
        free(plan->msgs[i].envelope);
        free(plan->msgs[i].body);
    }
    for (size_t i = 0; i < plan->naudit; i++)
        free(plan->audit[i]);
    free(plan->audit);
    record_free(&plan->after);
    memset(plan, 0, sizeof(*plan));
}
