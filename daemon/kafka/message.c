#include "message.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "directory.h"
#include "json.h"
#include "kafka.h"
#include "route.h"
#include "sbuf.h"
#include "units.h"
#include "utf8.h"

static const char *const appeal_events[] = {
    "created", "updated", "withdrawn", "restored", "answered", "rerouted",
    "status_changed", "closed", "reopened", "extended", "converted", "removed_by_page",
    "registered", NULL};
static const char *const sla_events[] = {"warning", "breach", "escalation", "met", NULL};
static const char *const dead_letter_events[] = {"rejected", NULL};
static const char *const statuses[] = {"accepted", "in_progress", "answered", "resolved",
                                       "rejected", "need_info", NULL};

static bool in_list(const char *const *l, const char *s)
{
    for (; s && *l; l++)
        if (strcmp(*l, s) == 0)
            return true;
    return false;
}

bool message_event_known(const char *schema, const char *event)
{
    if (schema == NULL)
        return false;
    if (strcmp(schema, APPEAL_SCHEMA) == 0)
        return in_list(appeal_events, event);
    if (strcmp(schema, SLA_SCHEMA) == 0)
        return in_list(sla_events, event);
    if (strcmp(schema, DEAD_LETTER_SCHEMA) == 0)
        return in_list(dead_letter_events, event);
    return false;
}

void message_headers(struct kafka_header *h, const char *event, const char *schema)
{
    h[0] = (struct kafka_header){"event-type", event};
    h[1] = (struct kafka_header){"schema", schema};
    h[2] = (struct kafka_header){"schema-version", MESSAGE_SCHEMA_VERSION};
    h[3] = (struct kafka_header){"content-type", "application/json"};
}

void appeal_number(const char *appeal_id, char *out, size_t outlen)
{
    char hex[17];
    sha256_hex(appeal_id, strlen(appeal_id), hex, 16);
    uint64_t v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
    v %= 10000000000ULL;
    snprintf(out, outlen, "%05" PRIu64 "-%05" PRIu64, v / 100000, v % 100000);
}

static void kv_opt(struct jw *w, const char *k, const char *s)
{
    if (s)
        jw_kstr(w, k, s);
}

static void put_org(struct jw *w, const char *key, const char *code, const char *name,
                    const char *type)
{
    if (code == NULL)
        return;
    jw_key(w, key);
    jw_obj(w);
    jw_kstr(w, "code", code);
    kv_opt(w, "name", name);
    kv_opt(w, "type", type);
    jw_obj_end(w);
}

static void put_envelope(struct jw *w, const char *schema, const char *event,
                         const char *event_id, const char *appeal_id, int64_t now_ms,
                         const char *tz)
{
    char num[16];
    jw_kstr(w, "schema", schema);
    jw_kstr(w, "event", event);
    jw_kstr(w, "event_id", event_id);
    jw_kstr(w, "appeal_id", appeal_id);
    appeal_number(appeal_id, num, sizeof(num));
    jw_kstr(w, "number", num);
    jw_ktime(w, "published_at", now_ms, tz);
}

static void put_page_item(struct jw *w, const struct appeal_view *v)
{
    if (v->page) {
        jw_key(w, "page");
        jw_obj(w);
        jw_kstr(w, "id", v->page);
        kv_opt(w, "name", v->page_name);
        kv_opt(w, "owner", v->page_owner);
        jw_obj_end(w);
    }
    if (v->item_kind || v->platform_type || v->link || v->thread) {
        jw_key(w, "item");
        jw_obj(w);
        kv_opt(w, "kind", v->item_kind);
        kv_opt(w, "platform_type", v->platform_type);
        kv_opt(w, "link", v->link);
        kv_opt(w, "thread", v->thread);
        jw_obj_end(w);
    }
    if (v->author_pseudonym) {
        jw_key(w, "author");
        jw_obj(w);
        jw_kstr(w, "pseudonym", v->author_pseudonym);
        kv_opt(w, "id", v->author_id);
        kv_opt(w, "name", v->author_name);
        jw_obj_end(w);
    }
}

static void put_classification(struct jw *w, const struct appeal_view *v)
{
    if (v->classification_json) {
        jw_key(w, "classification");
        jw_raw(w, v->classification_json, strlen(v->classification_json));
        return;
    }
    if (!v->kind && !v->category && !v->municipality && !v->priority)
        return;
    jw_key(w, "classification");
    jw_obj(w);
    kv_opt(w, "kind", v->kind);
    kv_opt(w, "category", v->category);
    kv_opt(w, "municipality", v->municipality);
    if (v->municipality)
        jw_kstr(w, "municipality_from", v->municipality_from_page ? "page" : "text");
    kv_opt(w, "priority", v->priority);
    jw_obj_end(w);
}

static void put_sla(struct jw *w, const struct appeal_view *v)
{
    if (v->sla_json) {
        jw_key(w, "sla");
        jw_raw(w, v->sla_json, strlen(v->sla_json));
        return;
    }
    if (!v->sla_policy && v->first_response_due_ms <= 0 && v->due_ms <= 0)
        return;
    jw_key(w, "sla");
    jw_obj(w);
    kv_opt(w, "policy", v->sla_policy);
    jw_ktime(w, "first_response_due", v->first_response_due_ms, v->tz);
    jw_ktime(w, "due", v->due_ms, v->tz);
    jw_obj_end(w);
}

/* The answer judge's verdict (answered): quality, reasons, and whether the
 * answer met the first-response clock. */
static void put_quality(struct jw *w, const struct appeal_view *v)
{
    if (v->answer_quality == NULL)
        return;
    jw_kstr(w, "quality", v->answer_quality);
    jw_key(w, "reasons");
    jw_arr(w);
    for (const char *p = v->answer_reasons; p && *p;) {
        size_t n = strcspn(p, ",");
        jw_strn(w, p, n);
        p += n + (p[n] == ',');
    }
    jw_arr_end(w);
    if (v->answer_meets)
        jw_kbool(w, "meets_first_response", v->answer_meets > 0);
}

static void put_change(struct jw *w, const struct appeal_view *v)
{
    put_org(w, "previous_org", v->previous_org_code, v->previous_org_name, NULL);
    kv_opt(w, "previous_state", v->previous_state);
    if (v->answer_link || v->answer_by) {
        jw_key(w, "answer");
        jw_obj(w);
        kv_opt(w, "link", v->answer_link);
        kv_opt(w, "by", v->answer_by);
        put_quality(w, v);
        jw_obj_end(w);
    }
    kv_opt(w, "by", v->by);
    if (v->status) {
        jw_key(w, "status");
        jw_obj(w);
        jw_kstr(w, "status", v->status);
        kv_opt(w, "comment", v->status_comment);
        kv_opt(w, "executor", v->status_executor);
        jw_obj_end(w);
    }
    if (v->extension_days > 0) {
        jw_key(w, "extension");
        jw_obj(w);
        jw_kint(w, "days", v->extension_days);
        jw_ktime(w, "due", v->due_ms, v->tz);
        jw_obj_end(w);
    }
    if (v->actor_type) {
        jw_key(w, "actor");
        jw_obj(w);
        jw_kstr(w, "type", v->actor_type);
        kv_opt(w, "id", v->actor_id);
        jw_obj_end(w);
    }
    kv_opt(w, "reason", v->reason);
}

void message_appeal(struct sbuf *out, const struct appeal_view *v)
{
    struct jw w;
    char id[600];
    snprintf(id, sizeof(id), "%s#%" PRId64, v->appeal_id, v->seq);
    jw_init(&w, out);
    jw_obj(&w);
    put_envelope(&w, APPEAL_SCHEMA "/" MESSAGE_SCHEMA_VERSION, v->event, id, v->appeal_id,
                 v->now_ms, v->tz);
    jw_kint(&w, "seq", v->seq);
    jw_ktime(&w, "occurred_at", v->created_ms, v->tz);
    jw_ktime(&w, "received_at", v->received_ms, v->tz);
    kv_opt(&w, "source", v->source);
    put_page_item(&w, v);
    if (v->text) {
        jw_key(&w, "text");
        jw_strn(&w, v->text, v->text_len);
    }
    kv_opt(&w, "municipality", v->municipality);
    kv_opt(&w, "state", v->state);
    put_org(&w, "org", v->org_code, v->org_name, v->org_type);
    put_classification(&w, v);
    if (v->route) {
        jw_key(&w, "route");
        jw_obj(&w);
        route_write_json(&w, v->route, true);
        jw_obj_end(&w);
    }
    put_sla(&w, v);
    put_change(&w, v);
    jw_obj_end(&w);
}

void message_sla(struct sbuf *out, const struct sla_view *v)
{
    struct jw w;
    char id[600];
    snprintf(id, sizeof(id), "%s#%s#%s#%" PRId64, v->appeal_id, v->timer, v->event,
             v->occurrence);
    jw_init(&w, out);
    jw_obj(&w);
    put_envelope(&w, SLA_SCHEMA "/" MESSAGE_SCHEMA_VERSION, v->event, id, v->appeal_id,
                 v->now_ms, v->tz);
    if (v->seq > 0)
        jw_kint(&w, "seq", v->seq);
    jw_kstr(&w, "timer", v->timer);
    kv_opt(&w, "policy", v->policy);
    kv_opt(&w, "regime", v->regime);
    put_org(&w, "org", v->org_code, v->org_name, NULL);
    if (v->level > 0)
        jw_kint(&w, "level", v->level);
    if (v->nrecipients) {
        jw_key(&w, "recipients");
        jw_arr(&w);
        for (size_t i = 0; i < v->nrecipients; i++) {
            jw_obj(&w);
            jw_kstr(&w, "code", v->recipient_codes[i]);
            if (v->recipient_names && v->recipient_names[i])
                jw_kstr(&w, "name", v->recipient_names[i]);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
    }
    jw_ktime(&w, "due_at", v->due_ms, v->tz);
    jw_ktime(&w, "occurred_at", v->occurred_ms, v->tz);
    if (v->late_ms > 0)
        jw_kint(&w, "late_ms", v->late_ms);
    if (v->elapsed_s > 0)
        jw_kint(&w, "elapsed_s", v->elapsed_s);
    kv_opt(&w, "state", v->state);
    kv_opt(&w, "category", v->category);
    kv_opt(&w, "municipality", v->municipality);
    kv_opt(&w, "priority", v->priority);
    kv_opt(&w, "link", v->link);
    if (v->sla_json) {
        jw_key(&w, "sla");
        jw_raw(&w, v->sla_json, strlen(v->sla_json));
    }
    jw_obj_end(&w);
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

void message_dead_letter(struct sbuf *out, const struct dead_letter_view *v)
{
    struct jw w;
    char id[300];
    snprintf(id, sizeof(id), "%s:%" PRId32 ":%" PRId64, v->topic ? v->topic : "?",
             v->partition, v->offset);
    jw_init(&w, out);
    jw_obj(&w);
    jw_kstr(&w, "schema", DEAD_LETTER_SCHEMA "/" MESSAGE_SCHEMA_VERSION);
    jw_kstr(&w, "event", "rejected");
    jw_kstr(&w, "event_id", id);
    jw_ktime(&w, "published_at", v->now_ms, v->tz);
    jw_kstr(&w, "error", v->error);
    jw_kstr(&w, "reason", v->reason);
    jw_key(&w, "origin");
    jw_obj(&w);
    kv_opt(&w, "topic", v->topic);
    jw_kint(&w, "partition", v->partition);
    jw_kint(&w, "offset", v->offset);
    kv_opt(&w, "key", v->key);
    jw_ktime(&w, "received_at", v->received_ms, v->tz);
    jw_obj_end(&w);
    const char *p = v->payload ? v->payload : "";
    size_t n = v->payload ? v->payload_len : 0;
    if (utf8_valid(p, n) && memchr(p, '\0', n) == NULL) {
        jw_key(&w, "payload");
        jw_strn(&w, p, n);
    } else {
        /* Bytes that are not text survive intact for whoever fixes the sender. */
        struct sbuf b64 = SBUF_INIT;
        base64(&b64, (const unsigned char *)p, n);
        jw_key(&w, "payload_base64");
        jw_strn(&w, b64.p ? b64.p : "", b64.len);
        sbuf_free(&b64);
    }
    jw_obj_end(&w);
}

/* ---- the agencies' status messages ---- */

static const char *opt_str(const struct json *o, const char *k, bool *bad, const char **which)
{
    const struct json *v = json_get(o, k);
    if (v == NULL || v->type == JSON_NULL)
        return NULL;
    if (v->type != JSON_STRING || v->len == 0 || memchr(v->u.s, '\0', v->len)) {
        *bad = true;
        *which = k;
        return NULL;
    }
    return v->u.s;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int status_fields(struct status_msg *m, const char *key, const char *tz, char *err,
                         size_t errlen)
{
    const struct json *o = &m->doc->root;
    bool bad = false;
    const char *which = NULL;
    const char *schema = opt_str(o, "schema", &bad, &which);
    m->appeal_id = opt_str(o, "appeal_id", &bad, &which);
    m->org = opt_str(o, "org", &bad, &which);
    m->status = opt_str(o, "status", &bad, &which);
    m->message_id = opt_str(o, "message_id", &bad, &which);
    m->comment = opt_str(o, "comment", &bad, &which);
    m->answer_link = opt_str(o, "answer_link", &bad, &which);
    m->reroute_to = opt_str(o, "reroute_to", &bad, &which);
    m->executor = opt_str(o, "executor", &bad, &which);
    const char *at = opt_str(o, "at", &bad, &which);
    if (bad)
        return fail(err, errlen, "\"%s\" must be a non-empty string", which);
    if (schema == NULL || strcmp(schema, STATUS_SCHEMA "/" MESSAGE_SCHEMA_VERSION) != 0)
        return fail(err, errlen, "\"schema\" must be \"%s/%s\"", STATUS_SCHEMA,
                        MESSAGE_SCHEMA_VERSION);
    const char *required[][2] = {{"appeal_id", m->appeal_id}, {"org", m->org},
                                 {"status", m->status}, {"at", at}};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (required[i][1] == NULL)
            return fail(err, errlen, "\"%s\" is missing (required: appeal_id, org, status, at)",
                        required[i][0]);
    if (!in_list(statuses, m->status))
        return fail(err, errlen, "\"status\": '%s' is not one of accepted, in_progress, "
                        "answered, resolved, rejected, need_info", m->status);
    if (!code_valid(m->org))
        return fail(err, errlen, "\"org\": '%s' is not an organisation code (a-z, 0-9, '_', "
                    "'-')", m->org);
    if (m->reroute_to && !code_valid(m->reroute_to))
        return fail(err, errlen, "\"reroute_to\": '%s' is not an organisation code (a-z, 0-9, "
                    "'_', '-')", m->reroute_to);
    if (parse_iso8601(at, tz, &m->at_ms) != 0)
        return fail(err, errlen, "\"at\": '%s' is not an ISO 8601 time", at);
    if (key && strcmp(key, m->appeal_id) != 0)
        return fail(err, errlen, "the message key '%s' is not its appeal_id", key);
    if (strcmp(m->status, "rejected") == 0 && m->comment == NULL)
        return fail(err, errlen, "status \"rejected\" needs a \"comment\" saying why");
    return 0;
}

int message_parse_status(const char *buf, size_t len, const char *key, const char *tz,
                         struct status_msg *out, const char **code, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->doc = json_parse(buf, len, 8, err, errlen);
    if (out->doc == NULL) {
        *code = "bad_json";
        return -1;
    }
    if (out->doc->flags) {
        snprintf(err, errlen, "strings must be valid UTF-8 without NUL");
    } else if (out->doc->root.type != JSON_OBJECT) {
        snprintf(err, errlen, "a status message is a JSON object");
    } else if (status_fields(out, key, tz, err, errlen) == 0) {
        return 0;
    }
    *code = "bad_message";
    status_msg_free(out);
    return -1;
}

void status_msg_free(struct status_msg *m)
{
    json_free(m->doc);
    memset(m, 0, sizeof(*m));
}
