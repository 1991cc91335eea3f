/* VK Callback API source: transport, authentication and dispatch.
 *
 * One POST carries one event: {"type", "group_id", "event_id", "v", "secret",
 * "object"}.  The community's secret is inside the body, so the body is parsed
 * first, the community looked up, the secret compared in constant time, and
 * only then is anything else looked at.  A confirmation request is answered
 * with the community's confirmation string and stores nothing.  Unknown event
 * types are acknowledged as IGNORED events (VK's list keeps growing). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "vk.h"

static const struct apd_config_key vk_keys[] = {
    {"require_secret", APD_KEY_BOOL, offsetof(struct vk_config, require_secret), "yes", 0, 0,
     "refuse events of communities without a configured secret key"},
    {"dialog_cache", APD_KEY_INT, offsetof(struct vk_config, dialog_cache), "65536", 16,
     10000000, "dialogs whose unanswered messages are remembered, so a reply of the page "
     "answers all of them"},
    {"api_base", APD_KEY_STR, offsetof(struct vk_config, api_base), "https://api.vk.com/method",
     0, 0, "VK API method URL prefix catch-up polls use (pages with poll = yes)"},
    {"api_version", APD_KEY_STR, offsetof(struct vk_config, api_version), "5.199", 0, 0,
     "VK API version of catch-up requests"},
    {"catchup_window", APD_KEY_DURATION, offsetof(struct vk_config, catchup_window), "24h",
     60000, 30LL * 86400000, "catch-up reads comments at most this old"},
    {"catchup_posts", APD_KEY_INT, offsetof(struct vk_config, catchup_posts), "20", 1, 100,
     "latest wall posts whose comments catch-up reads each round"},
    {0},
};

void vk_event_base(struct vk_req *r, struct apd_event *ev, enum apd_event_type t)
{
    pu_event(ev, t, r->type);
    ev->page = r->page;
    ev->dedup_key = r->dedup[0] ? r->dedup : NULL;
    /* Broken text matters only to events whose text is processed. */
    ev->quarantine = t == APD_EV_IGNORED ? NULL : r->quarantine;
}

void vk_event_text(struct vk_req *r, struct apd_event *ev, const struct json *v)
{
    ev->text = pu_str(v, &ev->text_len);
    size_t n;
    char *masked = pu_mask_mentions(ev->text, ev->text_len, &n);
    if (masked == NULL)
        return;
    free(r->text_buf);
    r->text_buf = masked;
    ev->text = masked;
    ev->text_len = n;
}

int vk_emit_ignored(struct vk_req *r)
{
    struct apd_event ev;
    vk_event_base(r, &ev, APD_EV_IGNORED);
    return r->emit(r->ctx, &ev);
}

struct handler {
    const char *type;
    int (*fn)(struct vk_req *r, enum apd_event_type t, const void *arg);
    enum apd_event_type t;
    const void *arg;
};

#define COMMENT_EVENTS(prefix, kind)                                        \
    {prefix "_new", vk_on_comment, APD_EV_CREATED, &(kind)},                 \
    {prefix "_edit", vk_on_comment, APD_EV_EDITED, &(kind)},                 \
    {prefix "_restore", vk_on_comment, APD_EV_RESTORED, &(kind)},            \
    {prefix "_delete", vk_on_comment, APD_EV_DELETED, &(kind)}

static const struct handler handlers[] = {
    COMMENT_EVENTS("wall_reply", vk_kind_wall),
    COMMENT_EVENTS("photo_comment", vk_kind_photo),
    COMMENT_EVENTS("video_comment", vk_kind_video),
    COMMENT_EVENTS("market_comment", vk_kind_market),
    COMMENT_EVENTS("board_post", vk_kind_board),
    {"wall_post_new", vk_on_wall_post, APD_EV_CREATED, NULL},
    {"message_new", vk_on_message_new, APD_EV_CREATED, NULL},
    {"message_reply", vk_on_message_reply, APD_EV_ANSWER, NULL},
    {"message_edit", vk_on_message_edit, APD_EV_EDITED, NULL},
    {NULL, NULL, 0, NULL},
};

/* A refusal whose reason goes to the log only: the client reads the body
 * (struct apd_reply). */
static enum apd_verdict unauthenticated(struct apd_reply *reply, const char *why)
{
    snprintf(reply->body, sizeof(reply->body), "not authenticated");
    return pu_reject(reply, 403, why);
}

/* Everything up to and including authentication; fills r on success. */
static enum apd_verdict vk_admit(struct vk *vk, const struct apd_request *req, unsigned flags,
                                 struct vk_req *r, struct apd_reply *reply)
{
    r->type = json_str(json_get(r->root, "type"));
    if (r->root->type != JSON_OBJECT || r->type == NULL ||
        !json_int64(json_get(r->root, "group_id"), &r->group_id) || r->group_id <= 0)
        return pu_reject(reply, 400, "not a VK Callback API event (no type or group_id)");
    /* The host logs the reason: it names the community, so an operator
     * knows whose secret or page entry to check.  Kept until the next call. */
    static char why[128];
    snprintf(r->page, sizeof(r->page), "%" PRId64, r->group_id);
    const struct apd_page *page = vk->api->page_find(vk->handle, r->page);
    /* The log gets what was wrong (which community, which secret); the
     * client one answer for all three cases: a different one would tell a
     * prober which community ids this server serves. */
    if (page == NULL) {
        snprintf(why, sizeof(why), "unknown community %s (no [page \"vk:%s\"])", r->page, r->page);
        return flags & APD_HANDLE_NOAUTH ? pu_reject(reply, 404, why) : unauthenticated(reply, why);
    }
    r->pg = page;
    if (!(flags & APD_HANDLE_NOAUTH)) {
        const char *secret = json_str(json_get(r->root, "secret"));
        if (page->secret ? !ct_streq(secret, page->secret) : vk->cfg->require_secret) {
            snprintf(why, sizeof(why), page->secret ? "wrong secret for community %s"
                                                    : "no secret configured for community %s",
                     r->page);
            return unauthenticated(reply, why);
        }
    }
    if (strcmp(r->type, "confirmation") == 0) {
        if (page->confirmation == NULL)
            return pu_reject(reply, 404, "no confirmation string configured for the community");
        snprintf(reply->body, sizeof(reply->body), "%s", page->confirmation);
        return APD_RESPOND;
    }
    return APD_ACCEPT;
}

static enum apd_verdict vk_handle(void *state, const struct apd_request *req, unsigned flags,
                                  struct apd_reply *reply, apd_emit_fn emit, void *ctx)
{
    struct vk *vk = state;
    struct json_doc *doc = pu_parse(req, reply);
    if (doc == NULL)
        return APD_REJECT;
    struct vk_req r = {.vk = vk, .root = &doc->root, .emit = emit, .ctx = ctx};
    enum apd_verdict v = vk_admit(vk, req, flags, &r, reply);
    if (v != APD_ACCEPT) {
        json_free(doc);
        return v;
    }
    r.quarantine = pu_quarantine_reason(doc->flags);
    const char *event_id = json_text(json_get(r.root, "event_id"));
    if (pu_token_ok(event_id, 100))
        snprintf(r.dedup, sizeof(r.dedup), "vk:ev:%s", event_id);
    r.obj = json_get(r.root, "object");
    const struct handler *h = handlers;
    while (h->type && strcmp(h->type, r.type) != 0)
        h++;
    int rc = h->type && r.obj && r.obj->type == JSON_OBJECT ? h->fn(&r, h->t, h->arg)
                                                            : vk_emit_ignored(&r);
    free(r.text_buf);
    json_free(doc);
    if (rc == VK_FOREIGN)
        return pu_reject(reply, 403, "the event is about an item of another community than "
                                     "the one its secret belongs to");
    if (rc != 0)
        return pu_reject(reply, 503, "could not keep the event");
    return APD_ACCEPT;
}

static void *vk_init(const struct apd_host_api *api, void *handle, const void *config,
                     char *err, size_t errlen)
{
    struct vk *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->api = api;
    s->handle = handle;
    s->cfg = config;
    s->dialogs = pu_map_new((size_t)s->cfg->dialog_cache);
    if (s->dialogs == NULL) {
        snprintf(err, errlen, "out of memory for %" PRId64 " dialogs", s->cfg->dialog_cache);
        free(s);
        return NULL;
    }
    return s;
}

static void vk_destroy(void *state)
{
    struct vk *s = state;
    pu_map_free(s->dialogs);
    free(s);
}

/* A reload keeps what is known about unanswered messages. */
static void vk_takeover(void *state, void *old_state)
{
    struct vk *s = state, *old = old_state;
    if ((size_t)s->cfg->dialog_cache != (size_t)old->cfg->dialog_cache)
        return;
    struct pu_map *m = s->dialogs;
    s->dialogs = old->dialogs;
    old->dialogs = m;
}

/* VK allows a community token 20 requests a second; 4 leaves room for the
 * acknowledgements sent with the same token. */
static const struct apd_poll_ops vk_poll_ops = {
    .struct_size = sizeof(struct apd_poll_ops),
    .build = vk_poll_build,
    .parse = vk_poll_parse,
    .min_gap_ms = 250,
};

static const struct apd_source_ops vk_ops = {
    .struct_size = sizeof(struct apd_source_ops),
    .handle = vk_handle,
    .ok_body = "ok",
    .takeover = vk_takeover,
    .poll = &vk_poll_ops,
};

APD_PLUGIN_DEFINE(.kind = APD_PLUGIN_SOURCE, .name = "source_vk", .version = "1.4",
                  .description = "VK Callback API: comments of every kind, suggested posts, "
                                 "private messages and their edits, edits, deletes (and who deleted), the "
                                 "page's answers; catch-up of wall comments through the VK API",
                  .keys = vk_keys, .config_size = sizeof(struct vk_config), .init = vk_init,
                  .destroy = vk_destroy, .source = &vk_ops);
