#include "ack.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "directory.h"
#include "fetch.h"
#include "json.h"
#include "message.h"
#include "module.h"
#include "outbox.h"
#include "route.h"
#include "sbuf.h"

#define A(f) offsetof(struct ack_config, f)
static const struct conf_key ack_keys[] = {
    {"enabled", CT_BOOL, A(enabled), "no", 0, 0, NULL, 0,
     "reply to citizens on the platform with their appeal's number and who handles it"},
    {"text", CT_STR, A(text),
     "Здравствуйте! Ваше обращение зарегистрировано под номером {number} и передано: {org}. "
     "Ответ будет дан здесь.", 0, 0, NULL, 0,
     "the reply; {number}, {org} (name) and {org_code} are filled in"},
    {"min_interval", CT_DURATION, A(min_interval_ms), "2s", 0, 3600000, NULL, 0,
     "at least this long between two replies on one page (platform flood limits)"},
    {"max_attempts", CT_INT, A(max_attempts), "5", 1, 100, NULL, 0,
     "tries per reply before it is given up"},
    {"timeout", CT_DURATION, A(timeout_ms), "10s", 100, 120000, NULL, 0,
     "bound on one platform API call"},
    {"vk_api", CT_STR, A(vk_api), "https://api.vk.com/method", 0, 0, NULL, 0,
     "VK API base URL"},
    {"vk_version", CT_STR, A(vk_version), "5.199", 0, 0, NULL, 0, "VK API version"},
    {"telegram_api", CT_STR, A(telegram_api), "https://api.telegram.org", 0, 0, NULL, 0,
     "Telegram Bot API base URL"},
    {"max_api", CT_STR, A(max_api), "https://platform-api.max.ru", 0, 0, NULL, 0,
     "MAX Bot API base URL"},
    {0},
};

const struct ack_config *ack_config_of(const struct apd_config *c) { return c->ack; }

/* ---- planning: which appeals get a reply, and where ---- */

static bool supported(const char *platform)
{
    return strcmp(platform, "vk") == 0 || strcmp(platform, "telegram") == 0 ||
           strcmp(platform, "max") == 0;
}

static void render(struct sbuf *out, const char *tmpl, const char *number, const struct org *o)
{
    const char *name = o ? o->name : "ЦУР";
    const char *code = o ? o->code : "cur";
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{number}", 8) == 0) {
            sbuf_adds(out, number);
            p += 8;
        } else if (strncmp(p, "{org}", 5) == 0) {
            sbuf_adds(out, name);
            p += 5;
        } else if (strncmp(p, "{org_code}", 10) == 0) {
            sbuf_adds(out, code);
            p += 10;
        } else {
            sbuf_addc(out, *p++);
        }
    }
}

static void plan_add(struct ack_plan *p, const char *name, const char *value)
{
    p->names[p->n] = name;
    p->values[p->n++] = strdup(value);
}

static bool all_digits(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    if (*s == '-')
        s++;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return *(s - 1) != '-';
}

/* Where the reply goes, from the appeal id and the page. */
static bool plan_target(struct ack_plan *p, const char *platform, const struct ack_input *in)
{
    if (strcmp(platform, "vk") == 0) {
        long long owner, post, comment;
        int end = 0;
        if (in->item_kind && strcmp(in->item_kind, "message") == 0 && all_digits(in->author_id)) {
            plan_add(p, "vk_method", "messages.send");
            plan_add(p, "peer_id", in->author_id);
            return true;
        }
        if (sscanf(in->appeal_id, "vk:%lld:wall:%lld:c%lld%n", &owner, &post, &comment, &end)
                != 3 || in->appeal_id[end] != '\0')
            return false;
        char v[3][24];
        snprintf(v[0], sizeof(v[0]), "%lld", owner);
        snprintf(v[1], sizeof(v[1]), "%lld", post);
        snprintf(v[2], sizeof(v[2]), "%lld", comment);
        plan_add(p, "vk_method", "wall.createComment");
        plan_add(p, "owner_id", v[0]);
        plan_add(p, "post_id", v[1]);
        plan_add(p, "comment_id", v[2]);
        return true;
    }
    const char *last = strrchr(in->appeal_id, ':');
    if (last == NULL || last[1] == '\0')
        return false;
    last++;
    if (strcmp(platform, "telegram") == 0) {
        while (*last && (*last < '0' || *last > '9'))
            last++;   /* "m123" or "123" */
        if (!all_digits(last))
            return false;
    }
    plan_add(p, "message_id", last);
    return true;
}

bool ack_plan_make(const struct apd_config *c, const struct ack_input *in, struct ack_plan *p)
{
    const struct ack_config *a = c->ack;
    memset(p, 0, sizeof(*p));
    if (!a->enabled || in->route == NULL || in->route->drop || in->page == NULL)
        return false;
    const struct page *pg = directory_page(c->dir, in->source, in->page);
    if (pg == NULL || !pg->ack || pg->ack_token == NULL || !supported(pg->platform))
        return false;
    plan_add(p, "kind", "ack");
    plan_add(p, "platform", pg->platform);
    if (!plan_target(p, pg->platform, in)) {
        ack_plan_free(p);
        return false;
    }
    char number[16];
    struct sbuf text = SBUF_INIT;
    appeal_number(in->appeal_id, number, sizeof(number));
    render(&text, a->text, number, in->route->org);
    plan_add(p, "text", sbuf_str(&text));
    sbuf_free(&text);
    snprintf(p->ep, sizeof(p->ep), "ack:%s:%s", in->source, in->page);
    snprintf(p->id, sizeof(p->id), "%s|%s|ack", p->ep, in->appeal_id);
    return true;
}

void ack_plan_free(struct ack_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->values[i]);
    p->n = 0;
}

/* ---- sending ---- */

static void urlenc(struct sbuf *b, const char *k, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    if (b->len)
        sbuf_addc(b, '&');
    sbuf_adds(b, k);
    sbuf_addc(b, '=');
    for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            *s == '-' || *s == '_' || *s == '.' || *s == '~') {
            sbuf_addc(b, (char)*s);
        } else {
            sbuf_addc(b, '%');
            sbuf_addc(b, hex[*s >> 4]);
            sbuf_addc(b, hex[*s & 15]);
        }
    }
}

static const char *field(const struct outbox_entry *e, const char *name)
{
    return outbox_field(e, name, NULL);
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *dupf(const char *fmt, ...)
{
    struct sbuf s = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&s, fmt, ap);
    va_end(ap);
    return sbuf_steal(&s);
}

/* "k=v" with v percent-encoded, without the leading '&' for the first. */
static char *query_value(const char *v)
{
    struct sbuf b = SBUF_INIT;
    urlenc(&b, "", v);
    /* urlenc wrote "=value" */
    char *out = strdup(b.p + 1);
    sbuf_free(&b);
    return out;
}

static void vk_request(const struct ack_config *a, const struct page *pg,
                       const struct outbox_entry *e, struct ack_request *r)
{
    const char *method = field(e, "vk_method");
    struct sbuf b = SBUF_INIT;
    char h[17];
    /* Idempotency keys VK honours: a repeated call after a timeout does not
     * post a second reply. */
    sha256_hex(e->appeal, strlen(e->appeal), h, 16);
    if (strcmp(method, "messages.send") == 0) {
        char rid[24];
        snprintf(rid, sizeof(rid), "%" PRIu32, (uint32_t)strtoull(h + 8, NULL, 16) & 0x7fffffff);
        urlenc(&b, "peer_id", field(e, "peer_id"));
        urlenc(&b, "random_id", rid);
    } else {
        urlenc(&b, "owner_id", field(e, "owner_id"));
        urlenc(&b, "post_id", field(e, "post_id"));
        urlenc(&b, "reply_to_comment", field(e, "comment_id"));
        urlenc(&b, "from_group", pg->id);
        urlenc(&b, "guid", h);
    }
    urlenc(&b, "message", field(e, "text"));
    urlenc(&b, "v", a->vk_version);
    urlenc(&b, "access_token", pg->ack_token);   /* in the body: URLs end up in logs */
    r->url = dupf("%s/%s", a->vk_api, method);
    r->headers[0] = strdup("Content-Type: application/x-www-form-urlencoded");
    r->body_len = b.len;
    r->body = sbuf_steal(&b);
}

static void json_request(const struct ack_config *a, const struct page *pg,
                         const struct outbox_entry *e, struct ack_request *r, bool telegram)
{
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    if (telegram) {
        /* chat ids are integers on the wire; a page id is one */
        jw_key(&w, "chat_id");
        if (all_digits(pg->id))
            jw_raw(&w, pg->id, strlen(pg->id));
        else
            jw_str(&w, pg->id);   /* "@channelname" */
        jw_kstr(&w, "text", field(e, "text"));
        jw_key(&w, "reply_parameters");
        jw_obj(&w);
        jw_key(&w, "message_id");
        jw_raw(&w, field(e, "message_id"), strlen(field(e, "message_id")));
        jw_kbool(&w, "allow_sending_without_reply", true);
        jw_obj_end(&w);
        r->url = dupf("%s/bot%s/sendMessage", a->telegram_api, pg->ack_token);
        r->headers[0] = strdup("Content-Type: application/json");
    } else {
        jw_kstr(&w, "text", field(e, "text"));
        jw_key(&w, "link");
        jw_obj(&w);
        jw_kstr(&w, "type", "reply");
        jw_kstr(&w, "mid", field(e, "message_id"));
        jw_obj_end(&w);
        char *chat = query_value(pg->id);
        r->url = dupf("%s/messages?chat_id=%s", a->max_api, chat);
        free(chat);
        r->headers[0] = strdup("Content-Type: application/json");
        r->headers[1] = dupf("Authorization: %s", pg->ack_token);
    }
    jw_obj_end(&w);
    r->body_len = b.len;
    r->body = sbuf_steal(&b);
}

int ack_request_make(const struct apd_config *c, const struct outbox_entry *e,
                     struct ack_request *r, char *err, size_t errlen)
{
    const struct ack_config *a = c->ack;
    memset(r, 0, sizeof(*r));
    /* ep is "ack:SOURCE:PAGE" */
    const char *src = e->ep + 4, *colon = strchr(src, ':');
    char source[64];
    snprintf(source, sizeof(source), "%.*s", colon ? (int)(colon - src) : 0, src);
    const struct page *pg = colon ? directory_page(c->dir, source, colon + 1) : NULL;
    const char *platform = field(e, "platform");
    if (!a->enabled) {
        snprintf(err, errlen, "acknowledgements are switched off ([ack] enabled = no)");
        return -1;
    }
    if (pg == NULL || !pg->ack || pg->ack_token == NULL) {
        snprintf(err, errlen, "page %s no longer acknowledges appeals (not in the directory, "
                 "ack = no or no ack_token)", e->ep + 4);
        return -1;
    }
    if (platform == NULL || field(e, "text") == NULL ||
        (strcmp(platform, "vk") == 0 ? field(e, "vk_method") == NULL
                                     : field(e, "message_id") == NULL)) {
        snprintf(err, errlen, "the outbox entry lacks its reply target");
        return -1;
    }
    snprintf(r->platform, sizeof(r->platform), "%s", platform);
    if (strcmp(platform, "vk") == 0)
        vk_request(a, pg, e, r);
    else
        json_request(a, pg, e, r, strcmp(platform, "telegram") == 0);
    return 0;
}

void ack_request_free(struct ack_request *r)
{
    free(r->url);
    for (size_t i = 0; i < sizeof(r->headers) / sizeof(r->headers[0]); i++)
        free(r->headers[i]);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* VK answers 200 either way; the body says whether it worked. */
static enum ack_verdict vk_verdict(const struct fetch_res *res, char *why, size_t whylen)
{
    char err[128];
    struct json_doc *d = json_parse(res->body, res->body_len, 16, err, sizeof(err));
    const struct json *e = d ? json_get(&d->root, "error") : NULL;
    int64_t code = 0;
    enum ack_verdict v;
    if (d && json_get(&d->root, "response")) {
        v = ACK_DONE;
    } else if (e && json_int64(json_get(e, "error_code"), &code)) {
        const char *msg = json_str(json_get(e, "error_msg"));
        snprintf(why, whylen, "VK error %lld: %s", (long long)code, msg ? msg : "?");
        /* 1 unknown, 6 too many requests per second, 9 flood control, 10 internal */
        v = code == 1 || code == 6 || code == 9 || code == 10 ? ACK_RETRY : ACK_GIVE_UP;
    } else {
        snprintf(why, whylen, "VK answered without response or error: %.80s", res->body);
        v = ACK_RETRY;
    }
    json_free(d);
    return v;
}

enum ack_verdict ack_verdict(const char *platform, const struct fetch_res *res,
                             int64_t *retry_after_s, char *why, size_t whylen)
{
    *retry_after_s = res->retry_after_s;
    why[0] = '\0';
    if (res->status == 0) {
        snprintf(why, whylen, "%s", res->error ? res->error : "no response");
        return ACK_RETRY;
    }
    if (res->status >= 200 && res->status < 300)
        return strcmp(platform, "vk") == 0 ? vk_verdict(res, why, whylen) : ACK_DONE;
    snprintf(why, whylen, "HTTP %ld: %.120s", res->status, res->body);
    if (res->status == 429 || res->status >= 500 || res->status == 408) {
        if (strcmp(platform, "telegram") == 0) {
            char err[64];
            struct json_doc *d = json_parse(res->body, res->body_len, 16, err, sizeof(err));
            int64_t ra;
            if (d && json_int64(json_path(&d->root, "parameters.retry_after"), &ra) && ra > 0)
                *retry_after_s = ra;
            json_free(d);
        }
        return ACK_RETRY;
    }
    return ACK_GIVE_UP;   /* the platform refused: bad token, chat gone, message deleted */
}

/* ---- config ---- */

static bool http_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static void ack_build(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                      struct diag *d)
{
    struct ack_config *a = calloc(1, sizeof(*a));
    if (a == NULL)
        abort();
    struct ini_section *s = ini_find(ini, "ack", NULL);
    conf_bind(ack_keys, s, a, "[ack]", d);
    c->ack = a;
    const char *file = s ? s->file : NULL;
    int line = s ? s->line : 0;
    if (strstr(a->text, "{number}") == NULL)
        diag_add(d, file, line, "[ack] text: must contain {number} (the appeal's number)");
    if (strlen(a->text) > 2000)
        diag_add(d, file, line, "[ack] text: longer than 2000 bytes");
    const char *urls[] = {a->vk_api, a->telegram_api, a->max_api};
    const char *names[] = {"vk_api", "telegram_api", "max_api"};
    for (size_t i = 0; i < 3; i++)
        if (!http_url(urls[i]))
            diag_add(d, file, line, "[ack] %s: '%s' must start with http:// or https://",
                     names[i], urls[i]);
    for (size_t i = 0; c->dir && i < c->dir->npages; i++) {
        const struct page *p = &c->dir->pages[i];
        if (p->ack_token && !supported(p->platform))
            diag_add(d, NULL, 0, "[page \"%s:%s\"] ack_token: appealsd cannot reply on %s "
                     "(vk, telegram and max are supported)", p->source, p->id, p->platform);
    }
}

static void ack_free(struct apd_config *c)
{
    if (c->ack)
        conf_unbind(ack_keys, c->ack);
    free(c->ack);
    c->ack = NULL;
}

static void ack_reference(void)
{
    conf_print_keys("ack", ack_keys);
    printf("\n");
}

const struct conf_module ack_conf_module = {
    .name = "ack",
    .build = ack_build,
    .free = ack_free,
    .reference = ack_reference,
};
