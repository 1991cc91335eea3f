/* Telegram Bot API source: internal interface between telegram.c (transport,
 * authentication, update dispatch, state) and tg_message.c (what one message
 * means: a citizen's comment, the page's answer, or nothing).
 *
 * Pages are channels (and groups that are pages themselves).  Comments under
 * a channel post live in the channel's linked discussion group: each post is
 * copied there automatically (is_automatic_forward, forward_origin.message_id
 * = the post's id in the channel), a top-level comment replies to that copy
 * and every comment of the thread carries message_thread_id = the copy's id.
 * The plugin keeps a bounded map (group, copy id) -> (channel, post id) so
 * nested replies find their post; when the copy is unknown (evicted, or seen
 * before a restart) the thread id stands in for the post.
 *
 * Appeal ids: tg:<chat>:<message_id> (the chat the citizen wrote in: the
 * discussion group for comments).  Dedup: tg:u<update_id>:<chat>:<message_id>
 * (update ids restart at random after a week of silence, so the message
 * identity is part of the key). */
#ifndef APPEALSD_SOURCE_TG_H
#define APPEALSD_SOURCE_TG_H

#include <stdbool.h>
#include <stdint.h>

#include "plugin_util.h"

#define TG_NAMES 256

struct tg_config {
    char *api_base;            /* Bot API URL for getUpdates (ABI 1.5 polling) */
    char *secret_token;
    bool require_secret;
    struct { char **v; size_t n; } linked_chats;
    char *direct_page;
    int64_t map_size;
};

struct tg_link {
    int64_t group, channel;
};

struct tg_name {
    int64_t chat;
    char username[40];
};

struct tg {
    const struct apd_host_api *api;
    void *handle;
    const struct tg_config *cfg;
    struct tg_link *linked;        /* configured discussion group -> channel */
    size_t nlinked;
    struct pu_map *posts;          /* (group, copy id) -> {channel, post id} */
    struct pu_map *learned;        /* (group, 0) -> {channel, 0}, from automatic forwards */
    struct tg_name names[TG_NAMES];/* public usernames of chats, for links */
    size_t next_name;
};

/* One update while its event is built. */
struct tg_req {
    struct tg *tg;
    const char *kind;              /* "message", "edited_message", ... */
    int64_t update_id;
    const char *quarantine;
    char dedup[128];
    apd_emit_fn emit;
    void *ctx;
};

int tg_emit_ignored(struct tg_req *r);
/* How chat appears in ids, threads and dedup keys: a private chat's id is
 * its user's, so "p" and the host's keyed pseudonym of it (ABI 1.6); any
 * other chat's id as it is. */
const char *tg_chat_part(const struct tg *tg, const struct json *chat, int64_t id, char out[24]);
/* message / edited_message */
int tg_on_message(struct tg_req *r, const struct json *m, bool edited);
/* channel_post / edited_channel_post: only learned from */
void tg_learn_chat(struct tg *tg, const struct json *chat);

int64_t tg_linked_channel(struct tg *tg, int64_t group);
const char *tg_username(const struct tg *tg, int64_t chat);

/* getUpdates mode (tg_poll.c, ABI 1.5 apd_poll_ops). */
int tg_poll_build(void *state, const struct apd_page *pg, const char *cursor,
                  struct apd_poll_req *req, char *err, size_t errlen);
void tg_poll_parse(void *state, const struct apd_page *pg, const char *cursor, long status,
                   const char *body, size_t len, struct apd_poll_res *res, apd_item_fn item,
                   void *ctx);

#endif
