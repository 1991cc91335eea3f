/* VK Callback API source.
 *
 * One POST carries one event: {"type", "group_id", "event_id", "v", "secret",
 * "object"}.  The community's secret is inside the body, so the body is parsed
 * before anything else, the secret is compared in constant time, and only then
 * is anything looked at or stored.  A confirmation request is answered with the
 * community's confirmation string and stores nothing. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appealsd/plugin.h"
#include "crypto.h"
#include "json.h"

struct vk_config {
    bool require_secret;
};

struct vk {
    const struct apd_host_api *api;
    void *handle;
    const struct vk_config *cfg;
};

static const struct apd_config_key vk_keys[] = {
    {"require_secret", APD_KEY_BOOL, offsetof(struct vk_config, require_secret), "yes", 0, 0,
     "refuse events of communities without a configured secret key"},
    {0},
};

/* Context of one request while events are built. */
struct req {
    struct vk *vk;
    const struct json *root;
    const struct json *obj;
    const char *type;
    int64_t group_id;
    char page[24];
    char dedup[128];
    const char *quarantine;
    apd_emit_fn emit;
    void *ctx;
};

static int64_t get_i64(const struct json *o, const char *k, int64_t dflt)
{
    int64_t v;
    return json_int64(json_get(o, k), &v) ? v : dflt;
}

static void fill_base(struct req *r, struct apd_event *ev, enum apd_event_type t)
{
    memset(ev, 0, sizeof(*ev));
    ev->struct_size = sizeof(*ev);
    ev->type = t;
    ev->platform_type = r->type;
    ev->page = r->page;
    ev->dedup_key = r->dedup[0] ? r->dedup : NULL;
    ev->quarantine = r->quarantine;
}

static int emit_ignored(struct req *r)
{
    struct apd_event ev;
    fill_base(r, &ev, APD_EV_IGNORED);
    return r->emit(r->ctx, &ev);
}

/* wall_reply_new / _edit / _restore / _delete */
static int on_wall_reply(struct req *r, enum apd_event_type t)
{
    const struct json *o = r->obj;
    int64_t id = get_i64(o, "id", -1);
    int64_t owner = get_i64(o, "owner_id", get_i64(o, "post_owner_id", -r->group_id));
    int64_t post = get_i64(o, "post_id", -1);
    if (id < 0 || post < 0)
        return emit_ignored(r);
    char appeal[128], link[192], thread[96], reply_to[128];
    snprintf(appeal, sizeof(appeal), "vk:%" PRId64 ":wall:%" PRId64 ":c%" PRId64, owner, post, id);
    snprintf(thread, sizeof(thread), "vk:%" PRId64 ":wall:%" PRId64, owner, post);
    int64_t root = -1;
    json_int64(json_at(json_get(o, "parents_stack"), 0), &root);
    if (root >= 0)
        snprintf(link, sizeof(link), "https://vk.com/wall%" PRId64 "_%" PRId64 "?reply=%" PRId64
                 "&thread=%" PRId64, owner, post, id, root);
    else
        snprintf(link, sizeof(link), "https://vk.com/wall%" PRId64 "_%" PRId64 "?reply=%" PRId64,
                 owner, post, id);

    struct apd_event ev;
    int64_t from = get_i64(o, "from_id", get_i64(o, "user_id", 0));
    char author[24];
    snprintf(author, sizeof(author), "%" PRId64, from);
    if (t == APD_EV_DELETED) {
        fill_base(r, &ev, t);
        ev.appeal_id = appeal;
        ev.thread = thread;
        ev.item_kind = "comment";
        ev.link = link;
        return r->emit(r->ctx, &ev);
    }
    fill_base(r, &ev, t);
    ev.appeal_id = appeal;
    ev.thread = thread;
    ev.item_kind = "comment";
    ev.link = link;
    ev.author_id = author;
    ev.text = json_str(json_get(o, "text"));
    ev.text_len = ev.text ? json_get(o, "text")->len : 0;
    if (ev.text == NULL)
        ev.text = "";
    ev.created_ms = get_i64(o, "date", 0) * 1000;
    if (from == -r->group_id && t == APD_EV_CREATED) {
        /* The community answering in its own thread: the first response to the
         * comment it replies to, never an appeal of its own. */
        int64_t to = get_i64(o, "reply_to_comment", root);
        ev.type = APD_EV_ANSWER;
        if (to >= 0) {
            snprintf(reply_to, sizeof(reply_to), "vk:%" PRId64 ":wall:%" PRId64 ":c%" PRId64,
                     owner, post, to);
            ev.reply_to = reply_to;
        }
    }
    return r->emit(r->ctx, &ev);
}

struct handler {
    const char *type;
    int (*fn)(struct req *r, enum apd_event_type t);
    enum apd_event_type t;
};

static const struct handler handlers[] = {
    {"wall_reply_new", on_wall_reply, APD_EV_CREATED},
    {"wall_reply_edit", on_wall_reply, APD_EV_EDITED},
    {"wall_reply_restore", on_wall_reply, APD_EV_RESTORED},
    {"wall_reply_delete", on_wall_reply, APD_EV_DELETED},
    {NULL, NULL, 0},
};

static enum apd_verdict reject(struct apd_reply *reply, int status, const char *reason)
{
    reply->status = status;
    reply->reason = reason;
    return APD_REJECT;
}

static enum apd_verdict vk_handle(void *state, const struct apd_request *req, unsigned flags,
                                  struct apd_reply *reply, apd_emit_fn emit, void *ctx)
{
    struct vk *vk = state;
    char err[160];
    struct json_doc *doc = json_parse(req->body, req->body_len, 0, err, sizeof(err));
    if (doc == NULL)
        return reject(reply, 400, "body is not JSON");
    enum apd_verdict v = APD_ACCEPT;
    struct req r = {.vk = vk, .root = &doc->root, .emit = emit, .ctx = ctx};
    r.type = json_str(json_get(r.root, "type"));
    if (r.root->type != JSON_OBJECT || r.type == NULL ||
        !json_int64(json_get(r.root, "group_id"), &r.group_id)) {
        v = reject(reply, 400, "not a VK Callback API event (no type or group_id)");
        goto out;
    }
    snprintf(r.page, sizeof(r.page), "%" PRId64, r.group_id);
    const struct apd_page *page = vk->api->page_find(vk->handle, r.page);
    if (page == NULL) {
        v = reject(reply, 404, "unknown community");
        goto out;
    }
    if (!(flags & APD_HANDLE_NOAUTH)) {
        const char *secret = json_str(json_get(r.root, "secret"));
        if (page->secret ? !ct_streq(secret, page->secret) : vk->cfg->require_secret) {
            v = reject(reply, 403, page->secret ? "wrong secret" : "no secret configured");
            goto out;
        }
    }
    if (strcmp(r.type, "confirmation") == 0) {
        if (page->confirmation == NULL) {
            v = reject(reply, 404, "no confirmation string configured for the community");
            goto out;
        }
        snprintf(reply->body, sizeof(reply->body), "%s", page->confirmation);
        v = APD_RESPOND;
        goto out;
    }
    if (doc->flags & JSON_F_BAD_UTF8)
        r.quarantine = "text is not valid UTF-8";
    else if (doc->flags & JSON_F_LONE_SURROGATE)
        r.quarantine = "text holds an unpaired UTF-16 surrogate escape";
    else if (doc->flags & JSON_F_NUL)
        r.quarantine = "text holds a NUL character";
    const char *event_id = json_text(json_get(r.root, "event_id"));
    if (event_id)
        snprintf(r.dedup, sizeof(r.dedup), "vk:ev:%.100s", event_id);
    r.obj = json_get(r.root, "object");
    const struct handler *h = handlers;
    while (h->type && strcmp(h->type, r.type) != 0)
        h++;
    int rc = h->type && r.obj && r.obj->type == JSON_OBJECT ? h->fn(&r, h->t) : emit_ignored(&r);
    if (rc != 0) {
        reply->status = 503;
        reply->reason = "could not keep the event";
        v = APD_REJECT;
    }
out:
    json_free(doc);
    return v;
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
    return s;
}

static void vk_destroy(void *state) { free(state); }

static const struct apd_source_ops vk_ops = {
    .struct_size = sizeof(struct apd_source_ops),
    .handle = vk_handle,
    .ok_body = "ok",
};

APD_PLUGIN_DEFINE(.kind = APD_PLUGIN_SOURCE, .name = "source_vk", .version = "1.0",
                  .description = "VK Callback API: comments, messages, edits, deletes",
                  .keys = vk_keys, .config_size = sizeof(struct vk_config), .init = vk_init,
                  .destroy = vk_destroy, .source = &vk_ops);
