/* MAX Bot API source (VK's messenger).
 *
 * MAX sends the subscription's secret in the header X-Max-Bot-Api-Secret;
 * it is compared (constant time) before the body is parsed.  Any answer but
 * 200 is a failed delivery, retried every 30-60 s for up to 8 hours.
 *
 * Updates: {"update_type", "timestamp" (milliseconds), ...}.
 *   message_created / message_edited {message}: an appeal
 *     max:<chat_id>:<body.mid> in a chat that is a page (or a dialog with the
 *     bot, when direct_page is set).  A message with no sender is the
 *     channel's own post; a bot's reply is the page's answer.
 *   message_removed {message_id, chat_id, user_id}: user_id is who deleted
 *     it (MAX OpenAPI schema, MessageRemovedUpdate: "User who deleted this
 *     message"); the host withdraws the appeal when that is its author and
 *     records a removal by the page otherwise.
 *   links: the message's own `url` (the schema: null for dialogs and private
 *     chats), never built here.
 *   a dialog with the bot (a chat that is no page) is one user's: its chat
 *     id is replaced by "p" and the host's keyed pseudonym of it (ABI 1.6),
 *     max:p<pseudo>:<mid>, thread max:p<pseudo>; edits, removals and answers
 *     also carry the clear form max:<chat_id>:<mid> as legacy_id.
 *   everything else: IGNORED.
 * MAX has no event id: dedup keys are update_type + mid (+ timestamp for
 * edits, which reuse the mid).  seq values exceed 2^53; they are never read
 * as numbers here. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "plugin_util.h"

#define MAX_SECRET_HEADER "X-Max-Bot-Api-Secret"

struct max_config {
    char *secret;
    bool require_secret;
    char *direct_page;
};

struct maxs {
    const struct apd_host_api *api;
    void *handle;
    const struct max_config *cfg;
};

#define CFG(f) offsetof(struct max_config, f)
static const struct apd_config_key max_keys[] = {
    {"secret", APD_KEY_SECRET, CFG(secret), NULL, 0, 0,
     "the subscription's secret; sent back in " MAX_SECRET_HEADER},
    {"require_secret", APD_KEY_BOOL, CFG(require_secret), "yes", 0, 0,
     "refuse to start without secret (no: accept unauthenticated updates)"},
    {"direct_page", APD_KEY_STR, CFG(direct_page), NULL, 0, 0,
     "page id whose organisation gets dialogs with the bot (unset: ignored)"},
    {0},
};

struct mreq {
    struct maxs *mx;
    const char *type;
    int64_t ts;
    const char *quarantine;
    char dedup[192];
    char page[24];
    char chat[24];              /* the chat as ids name it (chat_ids) */
    apd_emit_fn emit;
    void *ctx;
};

static int emit_ignored(struct mreq *r, const char *quarantine)
{
    struct apd_event ev;
    pu_event(&ev, APD_EV_IGNORED, r->type);
    ev.quarantine = quarantine;
    return r->emit(r->ctx, &ev);
}

/* The page of a chat: the chat itself, or direct_page for a dialog. */
static const char *page_of(struct mreq *r, int64_t chat, bool dialog_ok)
{
    snprintf(r->page, sizeof(r->page), "%" PRId64, chat);
    if (r->mx->api->page_find(r->mx->handle, r->page))
        return r->page;
    return dialog_ok ? r->mx->cfg->direct_page : NULL;
}

/* The ids of message mid in chat, and its clear-id form when they differ
 * (a dialog, page is not the chat itself) and the item may predate them. */
static const char *chat_ids(struct mreq *r, int64_t chat, const char *page, const char *mid,
                            char appeal[160], char legacy[160], char thread[48])
{
    char clear[24], pseudo[18];
    snprintf(clear, sizeof(clear), "%" PRId64, chat);
    snprintf(r->chat, sizeof(r->chat), "%s",
             page == r->page ? clear : pu_private_id(r->mx->api, r->mx->handle, clear, pseudo));
    snprintf(appeal, 160, "max:%s:%s", r->chat, mid);
    snprintf(legacy, 160, "max:%" PRId64 ":%s", chat, mid);
    snprintf(thread, 48, "max:%s", r->chat);
    return strcmp(appeal, legacy) != 0 ? legacy : NULL;
}

static void author_of(const struct json *sender, char *id, size_t idlen, char *name,
                      size_t namelen)
{
    const char *uid = json_text(json_get(sender, "user_id"));
    snprintf(id, idlen, "%s", uid && pu_token_ok(uid, 24) ? uid : "0");
    const char *full = json_str(json_get(sender, "name"));
    const char *first = json_str(json_get(sender, "first_name"));
    const char *last = json_str(json_get(sender, "last_name"));
    if (full)
        snprintf(name, namelen, "%s", full);
    else
        snprintf(name, namelen, "%s%s%s", first ? first : "", first && last ? " " : "",
                 last ? last : "");
}

static int on_message(struct mreq *r, const struct json *m, bool edited)
{
    int64_t chat;
    const char *mid = json_str(json_path(m, "body.mid"));
    if (!json_int64(json_path(m, "recipient.chat_id"), &chat) || !pu_token_ok(mid, 128))
        return emit_ignored(r, "MAX message without recipient.chat_id or body.mid");
    const char *ctype = json_str(json_path(m, "recipient.chat_type"));
    const char *page = page_of(r, chat, ctype && strcmp(ctype, "dialog") == 0);
    const struct json *sender = json_get(m, "sender");
    if (page == NULL || sender == NULL || sender->type != JSON_OBJECT)
        return emit_ignored(r, NULL);   /* not a page, or the channel's own post */
    if (edited)
        snprintf(r->dedup, sizeof(r->dedup), "max:%s:%s:%" PRId64, r->type, mid, r->ts);
    else
        snprintf(r->dedup, sizeof(r->dedup), "max:%s:%s", r->type, mid);

    char appeal[160], thread[48], reply_to[160], author[32], name[256], legacy[160];
    const char *old = chat_ids(r, chat, page, mid, appeal, legacy, thread);
    struct apd_event ev;
    pu_event(&ev, edited ? APD_EV_EDITED : APD_EV_CREATED, r->type);
    ev.dedup_key = r->dedup;
    ev.quarantine = r->quarantine;
    ev.page = page;
    ev.thread = thread;
    ev.link = json_str(json_get(m, "url"));
    ev.item_kind = "message";
    ev.text = pu_str(json_path(m, "body.text"), &ev.text_len);
    ev.created_ms = pu_i64(m, "timestamp", r->ts);
    if (json_truthy(json_get(sender, "is_bot"))) {
        /* The page's bot replying to a citizen: its answer. */
        const char *to = json_str(json_path(m, "link.message.mid"));
        const char *lt = json_str(json_path(m, "link.type"));
        if (edited || lt == NULL || strcmp(lt, "reply") != 0 || !pu_token_ok(to, 128))
            return emit_ignored(r, NULL);
        char ignored[160];
        old = chat_ids(r, chat, page, to, reply_to, legacy, ignored);
        ev.type = APD_EV_ANSWER;
        ev.reply_to = reply_to;
        ev.legacy_id = old;
        return r->emit(r->ctx, &ev);
    }
    author_of(sender, author, sizeof(author), name, sizeof(name));
    ev.appeal_id = appeal;
    ev.legacy_id = edited ? old : NULL;
    ev.author_id = author;
    ev.author_name = name[0] ? name : NULL;
    /* A citizen's reply to a message of the chat: the host follows it up
     * when that message is the author's own answered appeal. */
    const char *to = json_str(json_path(m, "link.message.mid"));
    const char *lt = json_str(json_path(m, "link.type"));
    if (!edited && lt && strcmp(lt, "reply") == 0 && pu_token_ok(to, 128)) {
        char clear_to[160], thread_to[48]; /* named as the appeal it replies to is */
        chat_ids(r, chat, page, to, reply_to, clear_to, thread_to);
        ev.reply_to = reply_to;
    }
    return r->emit(r->ctx, &ev);
}

static int on_removed(struct mreq *r, const struct json *root)
{
    int64_t chat;
    const char *mid = json_str(json_get(root, "message_id"));
    if (!json_int64(json_get(root, "chat_id"), &chat) || !pu_token_ok(mid, 128))
        return emit_ignored(r, "MAX message_removed without chat_id or message_id");
    const char *page = page_of(r, chat, true);
    if (page == NULL)
        return emit_ignored(r, NULL);
    char appeal[160], thread[48], legacy[160];
    const char *old = chat_ids(r, chat, page, mid, appeal, legacy, thread);
    snprintf(r->dedup, sizeof(r->dedup), "max:%s:%s", r->type, mid);
    struct apd_event ev;
    pu_event(&ev, APD_EV_DELETED, r->type);
    ev.dedup_key = r->dedup;
    ev.page = page;
    ev.appeal_id = appeal;
    ev.legacy_id = old;
    ev.thread = thread;
    ev.item_kind = "message";
    ev.created_ms = r->ts;
    const char *by = json_text(json_get(root, "user_id"));
    if (pu_token_ok(by, 24))
        ev.deleter_id = by;
    return r->emit(r->ctx, &ev);
}

static enum apd_verdict max_handle(void *state, const struct apd_request *req, unsigned flags,
                                   struct apd_reply *reply, apd_emit_fn emit, void *ctx)
{
    struct maxs *mx = state;
    if (!(flags & APD_HANDLE_NOAUTH) && mx->cfg->secret &&
        !ct_streq(pu_header(req, MAX_SECRET_HEADER), mx->cfg->secret))
        return pu_reject(reply, 403, "wrong or missing " MAX_SECRET_HEADER);
    struct json_doc *doc = pu_parse(req, reply);
    if (doc == NULL)
        return APD_REJECT;
    struct mreq r = {.mx = mx, .emit = emit, .ctx = ctx};
    const struct json *root = &doc->root;
    r.type = json_str(json_get(root, "update_type"));
    if (root->type != JSON_OBJECT || r.type == NULL) {
        json_free(doc);
        return pu_reject(reply, 400, "not a MAX update (no update_type)");
    }
    r.ts = pu_i64(root, "timestamp", 0);
    r.quarantine = pu_quarantine_reason(doc->flags);
    const struct json *m = json_get(root, "message");
    int rc;
    if (strcmp(r.type, "message_created") == 0 && m && m->type == JSON_OBJECT)
        rc = on_message(&r, m, false);
    else if (strcmp(r.type, "message_edited") == 0 && m && m->type == JSON_OBJECT)
        rc = on_message(&r, m, true);
    else if (strcmp(r.type, "message_removed") == 0)
        rc = on_removed(&r, root);
    else
        rc = emit_ignored(&r, NULL);
    json_free(doc);
    return rc == 0 ? APD_ACCEPT : pu_reject(reply, 503, "could not keep the event");
}

static void *max_init(const struct apd_host_api *api, void *handle, const void *config,
                      char *err, size_t errlen)
{
    const struct max_config *c = config;
    if (pu_need_secret(c->secret, c->require_secret, "secret", "require_secret",
                       "the subscription's secret", err, errlen) != 0 ||
        pu_need_page(api, handle, "direct_page", c->direct_page, err, errlen) != 0)
        return NULL;
    struct maxs *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->api = api;
    s->handle = handle;
    s->cfg = c;
    return s;
}

static void max_destroy(void *state) { free(state); }

static const struct apd_source_ops max_ops = {
    .struct_size = sizeof(struct apd_source_ops),
    .handle = max_handle,
    .ok_body = "ok",
};

APD_PLUGIN_DEFINE(.kind = APD_PLUGIN_SOURCE, .name = "source_max", .version = "1.1",
                  .description = "MAX Bot API webhook: messages in page chats and dialogs, "
                                 "edits, removals, the bot's replies",
                  .keys = max_keys, .config_size = sizeof(struct max_config),
                  .init = max_init, .destroy = max_destroy, .source = &max_ops);
