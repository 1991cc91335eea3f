#include "message.h"

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
    if (v->first_response_due_ms > 0 || v->answer_link) {
        jw_key(&w, "sla");
        jw_obj(&w);
        kv_time(&w, "first_response_due", v->first_response_due_ms, v->tz);
        if (v->answer_link)
            jw_kstr(&w, "answer_link", v->answer_link);
        jw_obj_end(&w);
    }
    jw_obj_end(&w);
}
