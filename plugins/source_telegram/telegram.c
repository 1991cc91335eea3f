/* Telegram Bot API source: transport, authentication, update dispatch and
 * the plugin's memory (see tg.h).
 *
 * Telegram sends the secret given to setWebhook in the header
 * X-Telegram-Bot-Api-Secret-Token; it is compared (constant time) before the
 * body is parsed.  One Update carries at most one of ~25 optional fields;
 * message and edited_message are processed, channel posts only teach the
 * plugin usernames, everything else is acknowledged as IGNORED. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "tg.h"

#define TG_SECRET_HEADER "X-Telegram-Bot-Api-Secret-Token"

#define CFG(f) offsetof(struct tg_config, f)
static const struct apd_config_key tg_keys[] = {
    {"secret_token", APD_KEY_SECRET, CFG(secret_token), NULL, 0, 0,
     "the secret_token given to setWebhook; sent back in " TG_SECRET_HEADER},
    {"require_secret", APD_KEY_BOOL, CFG(require_secret), "yes", 0, 0,
     "refuse to start without secret_token (no: accept unauthenticated updates)"},
    {"linked_chats", APD_KEY_LIST, CFG(linked_chats), NULL, 0, 0,
     "DISCUSSION_GROUP_ID=CHANNEL_ID pairs: comments in the group belong to the channel's "
     "page (also learned from the group's automatic forwards)"},
    {"direct_page", APD_KEY_STR, CFG(direct_page), NULL, 0, 0,
     "page id whose organisation gets private messages to the bot (unset: ignored)"},
    {"map_size", APD_KEY_INT, CFG(map_size), "65536", 64, 10000000,
     "discussion copies remembered to map comments to their channel post"},
    {"api_base", APD_KEY_STR, CFG(api_base), "https://api.telegram.org", 0, 0,
     "Bot API URL getUpdates mode uses (pages with poll = yes)"},
    {0},
};

int tg_emit_ignored(struct tg_req *r)
{
    struct apd_event ev;
    pu_event(&ev, APD_EV_IGNORED, r->kind);
    ev.dedup_key = r->dedup[0] ? r->dedup : NULL;
    return r->emit(r->ctx, &ev);
}

int64_t tg_linked_channel(struct tg *tg, int64_t group)
{
    for (size_t i = 0; i < tg->nlinked; i++)
        if (tg->linked[i].group == group)
            return tg->linked[i].channel;
    int64_t v[2];
    return pu_map_get(tg->learned, group, 0, v) ? v[0] : 0;
}

const char *tg_username(const struct tg *tg, int64_t chat)
{
    for (size_t i = 0; i < TG_NAMES; i++)
        if (tg->names[i].chat == chat && tg->names[i].username[0])
            return tg->names[i].username;
    return NULL;
}

/* Only channels and supergroups have public message links t.me/<username>/<id>
 * (Telegram, "Message links"); a private chat's username is a person's. */
void tg_learn_chat(struct tg *tg, const struct json *chat)
{
    int64_t id;
    const char *u = json_str(json_get(chat, "username"));
    const char *type = json_str(json_get(chat, "type"));
    if (!json_int64(json_get(chat, "id"), &id) || u == NULL || !pu_token_ok(u, 32) || id >= 0 ||
        (type && strcmp(type, "private") == 0))
        return;
    for (size_t i = 0; i < TG_NAMES; i++)
        if (tg->names[i].chat == id) {
            snprintf(tg->names[i].username, sizeof(tg->names[i].username), "%s", u);
            return;
        }
    struct tg_name *n = &tg->names[tg->next_name];
    tg->next_name = (tg->next_name + 1) % TG_NAMES;
    n->chat = id;
    snprintf(n->username, sizeof(n->username), "%s", u);
}

/* The update's one payload field, as Telegram names it. */
static const char *update_kind(const struct json *root, const struct json **payload)
{
    for (uint32_t i = 0; i < root->len; i++) {
        const struct json_member *m = &root->u.o[i];
        if (strcmp(m->key, "update_id") != 0) {
            *payload = &m->val;
            return m->key;
        }
    }
    *payload = NULL;
    return "empty_update";
}

const char *tg_chat_part(const struct tg *tg, const struct json *chat, int64_t id, char out[24])
{
    const char *type = json_str(json_get(chat, "type"));
    if (type && strcmp(type, "private") == 0)
        return pu_private_id64(tg->api, tg->handle, id, out);
    snprintf(out, 24, "%" PRId64, id);
    return out;
}

static void set_dedup(struct tg_req *r, const struct json *m)
{
    int64_t chat, msg;
    char part[24];
    if (json_int64(json_path(m, "chat.id"), &chat) &&
        json_int64(json_get(m, "message_id"), &msg))
        snprintf(r->dedup, sizeof(r->dedup), "tg:u%" PRId64 ":%s:%" PRId64, r->update_id,
                 tg_chat_part(r->tg, json_get(m, "chat"), chat, part), msg);
    else
        snprintf(r->dedup, sizeof(r->dedup), "tg:u%" PRId64, r->update_id);
}

static enum apd_verdict tg_handle(void *state, const struct apd_request *req, unsigned flags,
                                  struct apd_reply *reply, apd_emit_fn emit, void *ctx)
{
    struct tg *tg = state;
    if (!(flags & APD_HANDLE_NOAUTH) && tg->cfg->secret_token &&
        !ct_streq(pu_header(req, TG_SECRET_HEADER), tg->cfg->secret_token))
        return pu_reject(reply, 403, "wrong or missing " TG_SECRET_HEADER);
    struct json_doc *doc = pu_parse(req, reply);
    if (doc == NULL)
        return APD_REJECT;
    struct tg_req r = {.tg = tg, .emit = emit, .ctx = ctx};
    if (doc->root.type != JSON_OBJECT ||
        !json_int64(json_get(&doc->root, "update_id"), &r.update_id)) {
        json_free(doc);
        return pu_reject(reply, 400, "not a Telegram update (no update_id)");
    }
    const struct json *payload;
    r.kind = update_kind(&doc->root, &payload);
    r.quarantine = pu_quarantine_reason(doc->flags);
    bool edited = strcmp(r.kind, "edited_message") == 0;
    int rc;
    if ((edited || strcmp(r.kind, "message") == 0) && payload->type == JSON_OBJECT) {
        set_dedup(&r, payload);
        rc = tg_on_message(&r, payload, edited);
    } else {
        if (strcmp(r.kind, "channel_post") == 0 || strcmp(r.kind, "edited_channel_post") == 0)
            tg_learn_chat(tg, json_get(payload, "chat"));
        snprintf(r.dedup, sizeof(r.dedup), "tg:u%" PRId64, r.update_id);
        rc = tg_emit_ignored(&r);
    }
    json_free(doc);
    return rc == 0 ? APD_ACCEPT : pu_reject(reply, 503, "could not keep the event");
}

static int parse_links(struct tg *s, char *err, size_t errlen)
{
    const struct tg_config *c = s->cfg;
    s->linked = calloc(c->linked_chats.n + 1, sizeof(*s->linked));
    if (s->linked == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->linked_chats.n; i++) {
        const char *e = c->linked_chats.v[i];
        struct tg_link l;
        int n = 0;
        if (sscanf(e, "%" SCNd64 "=%" SCNd64 "%n", &l.group, &l.channel, &n) != 2 ||
            e[n] != '\0') {
            snprintf(err, errlen, "linked_chats: '%s' is not DISCUSSION_GROUP_ID=CHANNEL_ID", e);
            return -1;
        }
        s->linked[s->nlinked++] = l;
    }
    return 0;
}

static void tg_destroy(void *state)
{
    struct tg *s = state;
    pu_map_free(s->posts);
    pu_map_free(s->learned);
    free(s->linked);
    free(s);
}

static void *tg_init(const struct apd_host_api *api, void *handle, const void *config,
                     char *err, size_t errlen)
{
    const struct tg_config *c = config;
    if (pu_need_secret(c->secret_token, c->require_secret, "secret_token", "require_secret",
                       "the value passed to setWebhook", err, errlen) != 0 ||
        pu_need_page(api, handle, "direct_page", c->direct_page, err, errlen) != 0)
        return NULL;
    struct tg *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->api = api;
    s->handle = handle;
    s->cfg = c;
    s->posts = pu_map_new((size_t)c->map_size);
    s->learned = pu_map_new(1024);
    if (s->posts == NULL || s->learned == NULL) {
        snprintf(err, errlen, "out of memory for a map of %" PRId64 " posts", c->map_size);
        tg_destroy(s);
        return NULL;
    }
    if (parse_links(s, err, errlen) != 0) {
        tg_destroy(s);
        return NULL;
    }
    return s;
}

/* A reload keeps what was learned about discussion copies and usernames. */
static void tg_takeover(void *state, void *old_state)
{
    struct tg *s = state, *old = old_state;
    memcpy(s->names, old->names, sizeof(s->names));
    s->next_name = old->next_name;
    struct pu_map *t = s->learned;
    s->learned = old->learned;
    old->learned = t;
    if (s->cfg->map_size == old->cfg->map_size) {
        t = s->posts;
        s->posts = old->posts;
        old->posts = t;
    }
}

static const struct apd_poll_ops tg_poll_ops = {
    .struct_size = sizeof(struct apd_poll_ops),
    .build = tg_poll_build,
    .parse = tg_poll_parse,
    .min_gap_ms = 100,
};

static const struct apd_source_ops tg_ops = {
    .struct_size = sizeof(struct apd_source_ops),
    .handle = tg_handle,
    .ok_body = "ok",
    .takeover = tg_takeover,
    .poll = &tg_poll_ops,
};

APD_PLUGIN_DEFINE(.kind = APD_PLUGIN_SOURCE, .name = "source_telegram", .version = "1.2",
                  .description = "Telegram Bot API webhook: channel comments in linked "
                                 "discussion groups, group and private messages, edits; getUpdates "
                                 "mode without a webhook",
                  .keys = tg_keys, .config_size = sizeof(struct tg_config), .init = tg_init,
                  .destroy = tg_destroy, .source = &tg_ops);
