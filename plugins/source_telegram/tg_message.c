/* What one Telegram message means (see tg.h for the channel/discussion
 * model).  In order:
 *  - a private chat with the bot: an appeal to direct_page, if configured;
 *  - an automatic forward (the discussion copy of a channel post): learnt;
 *  - a chat that is neither a page nor linked to one: ignored;
 *  - written as the channel or as the group itself (an anonymous admin):
 *    the page's answer to the message it replies to;
 *  - written by a bot: ignored;
 *  - otherwise a citizen's comment or message. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tg.h"

#define TG_INTERNAL_BASE INT64_C(1000000000000)  /* -100xxxxxxxxxx chat ids */

struct msg {
    const struct json *m, *chat, *from, *sender_chat, *reply;
    int64_t chat_id, id, thread_id;
    int64_t channel;            /* the linked channel of a discussion group, or 0 */
    int64_t post;               /* the channel post commented on, or 0 */
    const char *page;
    char page_buf[24];
    char chat_part[24];         /* the chat as ids name it (tg_chat_part) */
};

/* Records the discussion copy → channel post relation an automatic forward
 * (or a comment replying to one) shows. */
static void learn_copy(struct tg *tg, int64_t group, const struct json *copy)
{
    int64_t copy_id, channel, post;
    const struct json *origin = json_get(copy, "forward_origin");
    if (!json_int64(json_get(copy, "message_id"), &copy_id))
        return;
    if (!json_int64(json_path(origin, "chat.id"), &channel) &&
        !json_int64(json_path(copy, "sender_chat.id"), &channel) &&
        !json_int64(json_path(copy, "forward_from_chat.id"), &channel))
        return;
    if (!json_int64(json_get(origin, "message_id"), &post) &&
        !json_int64(json_get(copy, "forward_from_message_id"), &post))
        return;
    int64_t v[2] = {channel, post};
    pu_map_put(tg->posts, group, copy_id, v);
    int64_t l[2];
    if (tg_linked_channel(tg, group) == 0) {
        l[0] = channel;
        l[1] = 0;
        pu_map_put(tg->learned, group, 0, l);
    }
    tg_learn_chat(tg, json_get(origin, "chat"));
    tg_learn_chat(tg, json_get(copy, "sender_chat"));
}

static bool find_page(struct tg *tg, struct msg *x)
{
    x->channel = tg_linked_channel(tg, x->chat_id);
    int64_t ids[2] = {x->channel, x->chat_id};
    for (int i = 0; i < 2; i++) {
        if (ids[i] == 0)
            continue;
        snprintf(x->page_buf, sizeof(x->page_buf), "%" PRId64, ids[i]);
        if (tg->api->page_find(tg->handle, x->page_buf)) {
            x->page = x->page_buf;
            return true;
        }
    }
    return false;
}

/* The post a discussion comment belongs to: directly when it replies to the
 * copy, else through the copy its thread started from. */
static void find_post(struct tg *tg, struct msg *x)
{
    int64_t v[2];
    if (x->reply && json_truthy(json_get(x->reply, "is_automatic_forward"))) {
        learn_copy(tg, x->chat_id, x->reply);
        if (x->thread_id == 0)   /* older clients: no thread id on top-level comments */
            json_int64(json_get(x->reply, "message_id"), &x->thread_id);
    }
    if (x->thread_id && pu_map_get(tg->posts, x->chat_id, x->thread_id, v)) {
        x->channel = v[0];
        x->post = v[1];
    }
}

static void chat_link(char *buf, size_t n, const struct tg *tg, int64_t chat, int64_t msg,
                      const char *suffix_key, int64_t suffix)
{
    /* Private chats (positive ids) have no message links at all. */
    const char *u = chat < 0 ? tg_username(tg, chat) : NULL;
    char tail[40] = "";
    if (suffix_key)
        snprintf(tail, sizeof(tail), "?%s=%" PRId64, suffix_key, suffix);
    if (u)
        snprintf(buf, n, "https://t.me/%s/%" PRId64 "%s", u, msg, tail);
    else if (chat < -TG_INTERNAL_BASE)
        snprintf(buf, n, "https://t.me/c/%" PRId64 "/%" PRId64 "%s", -chat - TG_INTERNAL_BASE,
                 msg, tail);
    else
        buf[0] = '\0';   /* basic groups and private chats have no message links */
}

static void comment_link(char *buf, size_t n, const struct tg *tg, const struct msg *x)
{
    if (x->post && x->channel)
        chat_link(buf, n, tg, x->channel, x->post, "comment", x->id);
    else if (x->thread_id && x->thread_id != x->id)
        chat_link(buf, n, tg, x->chat_id, x->id, "thread", x->thread_id);
    else
        chat_link(buf, n, tg, x->chat_id, x->id, NULL, 0);
}

static void author_of(const struct msg *x, char *id, size_t idlen, char *name, size_t namelen)
{
    /* A user may post as one of their own channels: that chat is the author. */
    const struct json *who = x->sender_chat ? x->sender_chat : x->from;
    int64_t v = 0;
    json_int64(json_get(who, "id"), &v);
    snprintf(id, idlen, "%" PRId64, v);
    const char *first = json_str(json_get(who, x->sender_chat ? "title" : "first_name"));
    const char *last = x->sender_chat ? NULL : json_str(json_get(who, "last_name"));
    snprintf(name, namelen, "%s%s%s", first ? first : "", first && last ? " " : "",
             last ? last : "");
}

static int emit_answer(struct tg_req *r, struct msg *x, bool edited)
{
    int64_t to = 0;
    if (!edited && x->reply && !json_truthy(json_get(x->reply, "is_automatic_forward")))
        json_int64(json_get(x->reply, "message_id"), &to);
    if (to <= 0)
        return tg_emit_ignored(r);   /* the page commenting its own post, or editing */
    char reply_to[96], link[192];
    snprintf(reply_to, sizeof(reply_to), "tg:%s:%" PRId64, x->chat_part, to);
    comment_link(link, sizeof(link), r->tg, x);
    struct apd_event ev;
    pu_event(&ev, APD_EV_ANSWER, r->kind);
    ev.dedup_key = r->dedup;
    ev.quarantine = r->quarantine;
    ev.page = x->page;
    ev.reply_to = reply_to;
    ev.link = link[0] ? link : NULL;
    ev.item_kind = "comment";
    ev.created_ms = pu_ms_of_seconds(pu_i64(x->m, "date", 0));
    return r->emit(r->ctx, &ev);
}

static int emit_appeal(struct tg_req *r, struct msg *x, bool edited, const char *kind)
{
    char appeal[96], thread[96], link[192], author[24], name[256], legacy[96], reply_to[96];
    snprintf(appeal, sizeof(appeal), "tg:%s:%" PRId64, x->chat_part, x->id);
    snprintf(legacy, sizeof(legacy), "tg:%" PRId64 ":%" PRId64, x->chat_id, x->id);
    if (x->post && x->channel)
        snprintf(thread, sizeof(thread), "tg:%" PRId64 ":%" PRId64, x->channel, x->post);
    else if (x->thread_id)
        snprintf(thread, sizeof(thread), "tg:%s:%" PRId64, x->chat_part, x->thread_id);
    else
        snprintf(thread, sizeof(thread), "tg:%s", x->chat_part);
    comment_link(link, sizeof(link), r->tg, x);
    author_of(x, author, sizeof(author), name, sizeof(name));
    struct apd_event ev;
    pu_event(&ev, edited ? APD_EV_EDITED : APD_EV_CREATED, r->kind);
    ev.dedup_key = r->dedup;
    ev.quarantine = r->quarantine;
    ev.page = x->page;
    ev.appeal_id = appeal;
    /* an edit may be of a message sent before private chats were pseudonymous */
    ev.legacy_id = edited && strcmp(appeal, legacy) != 0 ? legacy : NULL;
    ev.thread = thread;
    ev.link = link[0] ? link : NULL;
    ev.item_kind = kind;
    ev.author_id = author;
    ev.author_name = name[0] ? name : NULL;
    /* A reply to another message of the chat (not to the channel post's
     * automatic copy that roots a comment thread): the host follows it up
     * when that message is the author's own answered appeal. */
    int64_t to = 0;
    if (!edited && x->reply && !json_truthy(json_get(x->reply, "is_automatic_forward")) &&
        json_int64(json_get(x->reply, "message_id"), &to) && to > 0 && to != x->thread_id) {
        snprintf(reply_to, sizeof(reply_to), "tg:%s:%" PRId64, x->chat_part, to);
        ev.reply_to = reply_to;
    }
    const struct json *t = json_get(x->m, "text");
    if (t == NULL)
        t = json_get(x->m, "caption");
    ev.text = pu_str(t, &ev.text_len);
    ev.created_ms = pu_ms_of_seconds(pu_i64(x->m, "date", 0));
    return r->emit(r->ctx, &ev);
}

int tg_on_message(struct tg_req *r, const struct json *m, bool edited)
{
    struct tg *tg = r->tg;
    struct msg x = {.m = m, .chat = json_get(m, "chat"), .from = json_get(m, "from"),
                    .sender_chat = json_get(m, "sender_chat"),
                    .reply = json_get(m, "reply_to_message")};
    if (!json_int64(json_get(x.chat, "id"), &x.chat_id) ||
        !json_int64(json_get(m, "message_id"), &x.id)) {
        struct apd_event ev;
        pu_event(&ev, APD_EV_IGNORED, r->kind);
        ev.quarantine = "Telegram message without chat.id or message_id";
        return r->emit(r->ctx, &ev);
    }
    x.thread_id = pu_i64(m, "message_thread_id", 0);
    tg_chat_part(tg, x.chat, x.chat_id, x.chat_part);
    tg_learn_chat(tg, x.chat);
    const char *type = json_str(json_get(x.chat, "type"));
    if (type && strcmp(type, "private") == 0) {
        if (tg->cfg->direct_page == NULL || json_truthy(json_get(x.from, "is_bot")))
            return tg_emit_ignored(r);
        x.page = tg->cfg->direct_page;
        return emit_appeal(r, &x, edited, "message");
    }
    if (json_truthy(json_get(m, "is_automatic_forward"))) {
        learn_copy(tg, x.chat_id, m);
        return tg_emit_ignored(r);
    }
    if (!find_page(tg, &x))
        return tg_emit_ignored(r);
    find_post(tg, &x);
    int64_t sc = 0;
    json_int64(json_get(x.sender_chat, "id"), &sc);
    if (sc != 0 && (sc == x.chat_id || (x.channel && sc == x.channel)))
        return emit_answer(r, &x, edited);
    if (json_truthy(json_get(x.from, "is_bot")) && x.sender_chat == NULL)
        return tg_emit_ignored(r);
    return emit_appeal(r, &x, edited, x.channel ? "comment" : "message");
}
