/* VK private messages to the community.
 *
 * message_new: from API 5.103 on, object = {message, client_info}; before
 * it, object is the message itself.  Each incoming message is an appeal,
 * vk:<-group>:msg:<conv>:<conversation_message_id>, in the thread
 * vk:<-group>:msg:<conv>.  For a dialog with a user, conv is "p" and the
 * host's keyed pseudonym of the user (ABI 1.6): the same for every message,
 * edit and answer of the dialog, and no user id in the ids, the Kafka key or
 * the link.  The dialog's view for the page's admins (gim<group>?sel=<user>)
 * names the user: it is only the personal_link.  Events about messages that
 * may predate the pseudonyms (edits, answers) carry the clear-id form as
 * legacy_id.  A group chat's conv is its peer id (a chat, not a person).
 *
 * message_reply (and an outgoing message_new): the community writing in the
 * dialog, i.e. its answer.  It answers the message it quotes (reply_message)
 * and every message of the dialog since its previous answer: conversation
 * message ids grow by one per message, so those are the ids between the two
 * answers (at most MAX_TARGETS of them).  A bounded map (group, peer) ->
 * {last answer, the bound that answer used} remembers where the previous
 * answer was; it is idempotent, so a record parsed again (replay, or read
 * back from the spool under backlog) yields the same events.  When nothing
 * is remembered (the map is lost across a restart) the message just before
 * the answer is taken: at worst the answer names a message that is not an
 * appeal and the pipeline drops it.
 *
 * message_edit: object = the message itself (VK JSON schema,
 * callback_message_edit).  A citizen's edit updates the appeal like a comment
 * edit; the community editing its own message is ignored.
 *
 * Group chats (peer_id >= 2000000000, VK's offset for chats) are not private
 * appeals: their messages are acknowledged and ignored (ignore_reason
 * "group_chat", counted in /metrics) unless the page says group_chats = yes.
 * A chat message has no link: VK documents none for a community's chats. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vk.h"

#define MAX_TARGETS 16
#define VK_CHAT_PEER_BASE INT64_C(2000000000)

static const struct json *message_of(const struct vk_req *r)
{
    const struct json *m = json_get(r->obj, "message");
    return m && m->type == JSON_OBJECT ? m : r->obj;
}

static int64_t cmid_of(const struct json *m)
{
    int64_t v;
    if (json_int64(json_get(m, "conversation_message_id"), &v) && v > 0)
        return v;
    return -1;
}

/* The community's own view of a dialog (opens for the page's admins); it
 * names the user, so it is personal data. */
static void dialog_link(char *buf, size_t n, int64_t group, int64_t peer)
{
    if (peer >= VK_CHAT_PEER_BASE)
        buf[0] = '\0';
    else
        snprintf(buf, n, "https://vk.com/gim%" PRId64 "?sel=%" PRId64, group, peer);
}

/* The ids of one conversation: its thread (pseudonymous for a user), the id
 * of one message in it, and that message's id before ABI 1.6. */
struct conv {
    char part[24], thread[96], link[96];
};

static void conv_of(const struct vk_req *r, int64_t peer, struct conv *c)
{
    if (peer >= VK_CHAT_PEER_BASE)
        snprintf(c->part, sizeof(c->part), "%" PRId64, peer);
    else
        pu_private_id64(r->vk->api, r->vk->handle, peer, c->part);
    snprintf(c->thread, sizeof(c->thread), "vk:-%" PRId64 ":msg:%s", r->group_id, c->part);
    dialog_link(c->link, sizeof(c->link), r->group_id, peer);
}

static void message_ids(const struct vk_req *r, const struct conv *c, int64_t peer, int64_t cmid,
                        char id[128], char legacy[128])
{
    snprintf(id, 128, "%s:%" PRId64, c->thread, cmid);
    snprintf(legacy, 128, "vk:-%" PRId64 ":msg:%" PRId64 ":%" PRId64, r->group_id, peer, cmid);
}

/* Sets the conversation's fields of an event (legacy: NULL when the ids are
 * the same, as in group chats). */
static void conv_event(struct apd_event *ev, const struct conv *c, const char *id,
                       const char *legacy)
{
    ev->thread = c->thread;
    ev->link = NULL;
    ev->personal_link = c->link[0] ? c->link : NULL;
    ev->legacy_id = strcmp(id, legacy) != 0 ? legacy : NULL;
}

/* A group chat the page has not opted in: acknowledged, counted, ignored. */
static bool chat_ignored(const struct vk_req *r, int64_t peer)
{
    if (peer < VK_CHAT_PEER_BASE)
        return false;
    const struct apd_page *pg = r->pg;
    bool on = pg && pg->struct_size >= offsetof(struct apd_page, group_chats) +
                                           sizeof(pg->group_chats) && pg->group_chats;
    return !on;
}

static int emit_chat_ignored(struct vk_req *r)
{
    struct apd_event ev;
    vk_event_base(r, &ev, APD_EV_IGNORED);
    ev.ignore_reason = "group_chat";
    return r->emit(r->ctx, &ev);
}

/* The bound below which messages count as answered before this answer. */
static int64_t answered_before(struct vk_req *r, int64_t peer, int64_t cmid)
{
    int64_t v[2];
    if (!pu_map_get(r->vk->dialogs, r->group_id, peer, v))
        return cmid - 2;                  /* unknown: only the message before it */
    if (cmid == v[0])
        return v[1];                      /* this answer again: same bound */
    if (cmid < v[0])
        return cmid - 2;                  /* a late redelivery of an older answer */
    int64_t nv[2] = {cmid, v[0]};
    pu_map_put(r->vk->dialogs, r->group_id, peer, nv);
    return v[0];
}

static int emit_answers(struct vk_req *r, const struct json *m, int64_t peer, int64_t cmid)
{
    int64_t targets[MAX_TARGETS + 1];
    size_t n = 0;
    const struct json *quoted = json_get(m, "reply_message");
    int64_t q = cmid_of(quoted);
    if (q > 0 && pu_i64(quoted, "from_id", 0) != -r->group_id)
        targets[n++] = q;
    if (cmid > 0) {
        int64_t lo = answered_before(r, peer, cmid) + 1;
        if (cmid - lo > MAX_TARGETS)
            lo = cmid - MAX_TARGETS;
        for (int64_t c = lo > 1 ? lo : 1; c < cmid; c++)
            if (c != q)
                targets[n++] = c;
    }
    if (n == 0)
        return vk_emit_ignored(r);

    struct conv c;
    char reply_to[128], legacy[128];
    conv_of(r, peer, &c);
    for (size_t i = 0; i < n; i++) {
        struct apd_event ev;
        vk_event_base(r, &ev, APD_EV_ANSWER);
        message_ids(r, &c, peer, targets[i], reply_to, legacy);
        ev.reply_to = reply_to;
        conv_event(&ev, &c, reply_to, legacy);
        ev.item_kind = "message";
        vk_event_text(r, &ev, json_get(m, "text"));
        ev.created_ms = pu_ms_of_seconds(pu_i64(m, "date", 0));
        int rc = r->emit(r->ctx, &ev);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int vk_on_message_reply(struct vk_req *r, enum apd_event_type t, const void *unused)
{
    const struct json *m = message_of(r);
    int64_t peer = pu_i64(m, "peer_id", 0);
    if (peer == 0)
        return vk_emit_ignored(r);
    if (chat_ignored(r, peer))
        return emit_chat_ignored(r);
    return emit_answers(r, m, peer, cmid_of(m));
}

/* The first message of a dialog the map hears of starts its range. */
static void remember_dialog(struct vk_req *r, int64_t peer, int64_t cmid)
{
    int64_t v[2];
    if (pu_map_get(r->vk->dialogs, r->group_id, peer, v))
        return;
    v[0] = v[1] = cmid - 1;
    pu_map_put(r->vk->dialogs, r->group_id, peer, v);
}

/* A citizen's message (new or edited): the appeal it is. */
static int emit_message(struct vk_req *r, const struct json *m, enum apd_event_type t)
{
    int64_t peer = pu_i64(m, "peer_id", 0), cmid = cmid_of(m);
    int64_t from = pu_i64(m, "from_id", pu_i64(m, "user_id", 0));
    if (peer == 0 || cmid <= 0) {
        struct apd_event ev;
        vk_event_base(r, &ev, APD_EV_IGNORED);
        ev.quarantine = "VK message without peer_id or conversation_message_id";
        return r->emit(r->ctx, &ev);
    }
    if (chat_ignored(r, peer))
        return emit_chat_ignored(r);
    struct conv c;
    char appeal[128], legacy[128], author[24];
    conv_of(r, peer, &c);
    message_ids(r, &c, peer, cmid, appeal, legacy);
    snprintf(author, sizeof(author), "%" PRId64, from);
    struct apd_event ev;
    vk_event_base(r, &ev, t);
    ev.appeal_id = appeal;
    conv_event(&ev, &c, appeal, legacy);
    if (t == APD_EV_CREATED)
        ev.legacy_id = NULL;      /* a new message has only the new id */
    ev.item_kind = "message";
    ev.author_id = author;
    vk_event_text(r, &ev, json_get(m, "text"));
    ev.created_ms = pu_ms_of_seconds(pu_i64(m, "date", 0));
    int rc = r->emit(r->ctx, &ev);
    if (rc == 0 && t == APD_EV_CREATED)
        remember_dialog(r, peer, cmid);
    return rc;
}

static bool from_page(const struct vk_req *r, const struct json *m)
{
    int64_t from = pu_i64(m, "from_id", pu_i64(m, "user_id", 0));
    return pu_i64(m, "out", 0) == 1 || from == -r->group_id;
}

int vk_on_message_new(struct vk_req *r, enum apd_event_type t, const void *unused)
{
    const struct json *m = message_of(r);
    if (from_page(r, m))
        return vk_on_message_reply(r, APD_EV_ANSWER, unused);
    return emit_message(r, m, t);
}

/* message_edit: the citizen's edit updates the appeal; the page editing its
 * own answer changes nothing. */
int vk_on_message_edit(struct vk_req *r, enum apd_event_type t, const void *unused)
{
    const struct json *m = message_of(r);
    if (from_page(r, m))
        return vk_emit_ignored(r);
    return emit_message(r, m, t);
}
