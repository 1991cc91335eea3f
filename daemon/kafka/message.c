#include "message.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "directory.h"
#include "route.h"
#include "sbuf.h"
#include "units.h"

static void kv_time(struct jw *w, const char *k, int64_t ms, const char *tz)
{
    char buf[48];
    if (ms <= 0)
        return;
    format_iso8601(ms, tz, buf, sizeof(buf));
    jw_kstr(w, k, buf);
}

static void put_route(struct jw *w, const struct route_result *r)
{
    jw_key(w, "route");
    jw_obj(w);
    jw_kstr(w, "rule", r->rule);
    jw_kstr(w, "reason", r->reason);
    jw_kbool(w, "triage", r->triage);
    if (r->sla_policy)
        jw_kstr(w, "sla_policy", r->sla_policy);
    jw_key(w, "copies");
    jw_arr(w);
    for (size_t i = 0; i < r->ncopies; i++)
        jw_str(w, r->copies[i]->code);
    jw_arr_end(w);
    jw_obj_end(w);
}

void message_appeal(struct sbuf *out, const struct appeal_view *v)
{
    struct jw w;
    char id[256];
    jw_init(&w, out);
    jw_obj(&w);
    jw_kstr(&w, "schema", APPEAL_SCHEMA "/" APPEAL_SCHEMA_VERSION);
    jw_kstr(&w, "event", v->event);
    snprintf(id, sizeof(id), "%s#%lld", v->appeal_id, (long long)v->seq);
    jw_kstr(&w, "event_id", id);
    jw_kstr(&w, "appeal_id", v->appeal_id);
    jw_kint(&w, "seq", v->seq);
    kv_time(&w, "occurred_at", v->created_ms, v->tz);
    kv_time(&w, "received_at", v->received_ms, v->tz);
    kv_time(&w, "published_at", v->now_ms, v->tz);
    jw_kstr(&w, "source", v->source);
    jw_key(&w, "page");
    jw_obj(&w);
    jw_kstr(&w, "id", v->page);
    if (v->page_name)
        jw_kstr(&w, "name", v->page_name);
    jw_obj_end(&w);
    jw_key(&w, "item");
    jw_obj(&w);
    jw_kstr(&w, "kind", v->item_kind ? v->item_kind : "comment");
    if (v->platform_type)
        jw_kstr(&w, "platform_type", v->platform_type);
    if (v->link)
        jw_kstr(&w, "link", v->link);
    if (v->thread)
        jw_kstr(&w, "thread", v->thread);
    jw_obj_end(&w);
    if (v->author_pseudonym) {
        jw_key(&w, "author");
        jw_obj(&w);
        jw_kstr(&w, "pseudonym", v->author_pseudonym);
        if (v->author_id)
            jw_kstr(&w, "id", v->author_id);
        if (v->author_name)
            jw_kstr(&w, "name", v->author_name);
        jw_obj_end(&w);
    }
    if (v->text) {
        jw_key(&w, "text");
        jw_strn(&w, v->text, v->text_len);
    }
    if (v->municipality)
        jw_kstr(&w, "municipality", v->municipality);
    if (v->org_code) {
        jw_key(&w, "org");
        jw_obj(&w);
        jw_kstr(&w, "code", v->org_code);
        if (v->org_name)
            jw_kstr(&w, "name", v->org_name);
        jw_obj_end(&w);
    }
    if (v->classification_json) {
        jw_key(&w, "classification");
        jw_raw(&w, v->classification_json, strlen(v->classification_json));
    }
    if (v->route)
        put_route(&w, v->route);
    if (v->state)
        jw_kstr(&w, "state", v->state);
    if (v->sla_json) {
        jw_key(&w, "sla");
        jw_raw(&w, v->sla_json, strlen(v->sla_json));
    } else if (v->first_response_due_ms > 0 || v->answer_link) {
        jw_key(&w, "sla");
        jw_obj(&w);
        kv_time(&w, "first_response_due", v->first_response_due_ms, v->tz);
        if (v->answer_link)
            jw_kstr(&w, "answer_link", v->answer_link);
        jw_obj_end(&w);
    }
    jw_obj_end(&w);
}

/* ---- lifecycle and SLA events ---- */

static void put_org(struct jw *w, const char *key, const char *code, const char *name)
{
    if (code == NULL)
        return;
    jw_key(w, key);
    jw_obj(w);
    jw_kstr(w, "code", code);
    if (name)
        jw_kstr(w, "name", name);
    jw_obj_end(w);
}

static void put_head(struct jw *w, const char *schema, const char *event, const char *id,
                     int64_t seq, int64_t now, const char *tz)
{
    char eid[512];
    jw_kstr(w, "schema", schema);
    jw_kstr(w, "event", event);
    snprintf(eid, sizeof(eid), "%s#%lld", id, (long long)seq);
    jw_kstr(w, "event_id", eid);
    jw_kstr(w, "appeal_id", id);
    jw_kint(w, "seq", seq);
    kv_time(w, "published_at", now, tz);
}

static void kv_opt(struct jw *w, const char *k, const char *v)
{
    if (v)
        jw_kstr(w, k, v);
}

void message_appeal_change(struct sbuf *out, const struct change_view *v)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    put_head(&w, APPEAL_SCHEMA "/" APPEAL_SCHEMA_VERSION, v->event, v->appeal_id, v->seq,
             v->now_ms, v->tz);
    kv_time(&w, "occurred_at", v->created_ms, v->tz);
    kv_time(&w, "received_at", v->received_ms, v->tz);
    kv_opt(&w, "source", v->source);
    if (v->page) {
        jw_key(&w, "page");
        jw_obj(&w);
        jw_kstr(&w, "id", v->page);
        jw_obj_end(&w);
    }
    if (v->link || v->item_kind) {
        jw_key(&w, "item");
        jw_obj(&w);
        jw_kstr(&w, "kind", v->item_kind ? v->item_kind : "comment");
        kv_opt(&w, "link", v->link);
        jw_obj_end(&w);
    }
    if (v->author_pseudonym) {
        jw_key(&w, "author");
        jw_obj(&w);
        jw_kstr(&w, "pseudonym", v->author_pseudonym);
        jw_obj_end(&w);
    }
    kv_opt(&w, "text", v->text);
    kv_opt(&w, "municipality", v->municipality);
    kv_opt(&w, "category", v->category);
    kv_opt(&w, "priority", v->priority);
    put_org(&w, "org", v->org_code, v->org_name);
    if (v->triage)
        jw_kbool(&w, "triage", true);
    kv_opt(&w, "state", v->state);
    jw_key(&w, "change");
    jw_obj(&w);
    kv_opt(&w, "actor", v->actor);
    kv_opt(&w, "reason", v->reason);
    kv_opt(&w, "prev_state", v->prev_state);
    kv_opt(&w, "prev_org", v->prev_org_code);
    kv_opt(&w, "answer_link", v->answer_link);
    jw_obj_end(&w);
    if (v->sla_json) {
        jw_key(&w, "sla");
        jw_raw(&w, v->sla_json, strlen(v->sla_json));
    }
    jw_obj_end(&w);
}

void message_sla_event(struct sbuf *out, const struct sla_event_view *v)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    put_head(&w, SLA_SCHEMA "/" SLA_SCHEMA_VERSION, v->event, v->appeal_id, v->seq, v->now_ms,
             v->tz);
    kv_opt(&w, "clock", v->clock);
    if (v->level > 0)
        jw_kint(&w, "level", v->level);
    kv_time(&w, "due", v->due_ms, v->tz);
    kv_time(&w, "at", v->at_ms, v->tz);
    if (v->at_ms > 0 && v->now_ms > v->at_ms)
        jw_kint(&w, "late_ms", v->now_ms - v->at_ms);
    if (v->nrecipients) {
        jw_key(&w, "recipients");
        jw_arr(&w);
        for (size_t i = 0; i < v->nrecipients; i++) {
            jw_obj(&w);
            jw_kstr(&w, "code", v->recipients[i]);
            if (v->recipient_names && v->recipient_names[i])
                jw_kstr(&w, "name", v->recipient_names[i]);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
        kv_opt(&w, "via", v->via);
    }
    put_org(&w, "org", v->org_code, v->org_name);
    kv_opt(&w, "municipality", v->municipality);
    kv_opt(&w, "category", v->category);
    kv_opt(&w, "priority", v->priority);
    kv_opt(&w, "state", v->state);
    kv_opt(&w, "policy", v->policy);
    kv_opt(&w, "regime", v->regime);
    kv_opt(&w, "link", v->link);
    kv_opt(&w, "actor", v->actor);
    kv_opt(&w, "reason", v->reason);
    if (v->days)
        jw_kint(&w, "days", v->days);
    if (v->sla_json) {
        jw_key(&w, "sla");
        jw_raw(&w, v->sla_json, strlen(v->sla_json));
    }
    jw_obj_end(&w);
}

static bool utf8_text(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (k == 0 || i + k > n || (c == 0))
            return false;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
        i += k;
    }
    return true;
}

static void base64(struct sbuf *b, const unsigned char *p, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {t[v >> 18 & 63], t[v >> 12 & 63], i + 1 < n ? t[v >> 6 & 63] : '=',
                     i + 2 < n ? t[v & 63] : '='};
        sbuf_add(b, q, 4);
    }
}

void message_dlq(struct sbuf *out, const struct dlq_view *v)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_kstr(&w, "schema", DLQ_SCHEMA "/" DLQ_SCHEMA_VERSION);
    jw_kstr(&w, "reason", v->reason);
    kv_time(&w, "rejected_at", v->now_ms, v->tz);
    jw_kstr(&w, "topic", v->topic);
    jw_kint(&w, "partition", v->partition);
    jw_kint(&w, "offset", v->offset);
    kv_opt(&w, "key", v->key);
    if (utf8_text(v->payload, v->len)) {
        jw_key(&w, "payload");
        jw_strn(&w, v->payload, v->len);
    } else {
        struct sbuf b64 = SBUF_INIT;
        base64(&b64, v->payload, v->len);
        jw_key(&w, "payload_base64");
        jw_strn(&w, b64.p ? b64.p : "", b64.len);
        sbuf_free(&b64);
    }
    jw_obj_end(&w);
}
