/* VK comments of every kind (wall, photo, video, market, discussion board)
 * and posts on the community wall written by citizens (suggested posts,
 * posts on an open wall).
 *
 * The object names vary by event and API version: the item's owner may be in
 * owner_id or post_owner_id (or photo_owner_id, ...), a market item id in
 * item_id or photo_id.  Each kind lists where to look, most specific first.
 *
 * A delete carries who deleted the comment (deleter_id, VK Callback API
 * docs) but not its author: the host compares the deleter with the author it
 * stored at creation (the author withdraws; a moderator or the page only
 * removes it from view).  user_id in delete objects is not the deleter: VK's
 * JSON schema leaves it unexplained and vk-io reads it as the author, so it
 * is not used; without deleter_id (board_post_delete sometimes) the deletion
 * counts as the author's, as it always did.
 *
 * A comment written by the community itself (from_id == -group_id) is its
 * answer to the comment it replies to, never an appeal. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vk.h"

typedef void (*link_fn)(char *buf, size_t n, int64_t owner, int64_t item, int64_t id,
                        int64_t thread);

struct vk_kind {
    const char *name;                /* in appeal ids */
    const char *const *item_keys;
    const char *const *owner_keys;
    link_fn link;
};

static void wall_link(char *b, size_t n, int64_t owner, int64_t item, int64_t id, int64_t thr)
{
    if (thr > 0)
        snprintf(b, n, "https://vk.com/wall%" PRId64 "_%" PRId64 "?reply=%" PRId64
                 "&thread=%" PRId64, owner, item, id, thr);
    else
        snprintf(b, n, "https://vk.com/wall%" PRId64 "_%" PRId64 "?reply=%" PRId64, owner, item,
                 id);
}

static void photo_link(char *b, size_t n, int64_t owner, int64_t item, int64_t id, int64_t thr)
{
    snprintf(b, n, "https://vk.com/photo%" PRId64 "_%" PRId64, owner, item);
}

static void video_link(char *b, size_t n, int64_t owner, int64_t item, int64_t id, int64_t thr)
{
    snprintf(b, n, "https://vk.com/video%" PRId64 "_%" PRId64, owner, item);
}

static void market_link(char *b, size_t n, int64_t owner, int64_t item, int64_t id, int64_t thr)
{
    snprintf(b, n, "https://vk.com/product%" PRId64 "_%" PRId64, owner, item);
}

static void board_link(char *b, size_t n, int64_t owner, int64_t item, int64_t id, int64_t thr)
{
    snprintf(b, n, "https://vk.com/topic%" PRId64 "_%" PRId64 "?post=%" PRId64, owner, item, id);
}

static const char *const wall_items[] = {"post_id", NULL};
static const char *const wall_owners[] = {"owner_id", "post_owner_id", NULL};
static const char *const photo_items[] = {"photo_id", NULL};
static const char *const photo_owners[] = {"photo_owner_id", "owner_id", NULL};
static const char *const video_items[] = {"video_id", NULL};
static const char *const video_owners[] = {"video_owner_id", "owner_id", NULL};
static const char *const market_items[] = {"item_id", "photo_id", NULL};
static const char *const market_owners[] = {"market_owner_id", "owner_id", NULL};
static const char *const board_items[] = {"topic_id", NULL};
static const char *const board_owners[] = {"topic_owner_id", "owner_id", NULL};

const struct vk_kind vk_kind_wall = {"wall", wall_items, wall_owners, wall_link};
const struct vk_kind vk_kind_photo = {"photo", photo_items, photo_owners, photo_link};
const struct vk_kind vk_kind_video = {"video", video_items, video_owners, video_link};
const struct vk_kind vk_kind_market = {"market", market_items, market_owners, market_link};
const struct vk_kind vk_kind_board = {"topic", board_items, board_owners, board_link};

static int emit_quarantined(struct vk_req *r, const char *why)
{
    struct apd_event ev;
    vk_event_base(r, &ev, APD_EV_IGNORED);
    ev.quarantine = why;
    return r->emit(r->ctx, &ev);
}

/* Board posts have no reply fields: a reply starts with a mention of the
 * post it answers, "[post12345|Имя], ..." (observed convention, unverified). */
static int64_t board_reply_target(const char *text)
{
    int64_t id;
    int n = 0;
    if (text && sscanf(text, "[post%" SCNd64 "|%n", &id, &n) == 1 && n > 0 && id > 0)
        return id;
    return -1;
}

/* The comment the page's own comment replies to, or -1. */
static int64_t reply_target(const struct vk_req *r, const struct vk_kind *k,
                            const char *text)
{
    const struct json *o = r->obj;
    int64_t to;
    if (json_int64(json_get(o, "reply_to_comment"), &to) && to > 0)
        return to;
    if (json_int64(json_at(json_get(o, "parents_stack"), 0), &to) && to > 0)
        return to;
    return k == &vk_kind_board ? board_reply_target(text) : -1;
}

int vk_on_comment(struct vk_req *r, enum apd_event_type t, const void *kindp)
{
    const struct vk_kind *k = kindp;
    const struct json *o = r->obj;
    int64_t id, item, owner, root = -1;
    if (!json_int64(json_get(o, "id"), &id) || !pu_i64_any(o, k->item_keys, &item))
        return emit_quarantined(r, "VK comment event without a comment or item id");
    if (!pu_i64_any(o, k->owner_keys, &owner))
        owner = -r->group_id;
    if (owner != -r->group_id)
        return VK_FOREIGN;
    json_int64(json_at(json_get(o, "parents_stack"), 0), &root);

    char appeal[128], thread[96], link[192], reply_to[128], author[24], deleter[24];
    snprintf(appeal, sizeof(appeal), "vk:%" PRId64 ":%s:%" PRId64 ":c%" PRId64, owner, k->name,
             item, id);
    snprintf(thread, sizeof(thread), "vk:%" PRId64 ":%s:%" PRId64, owner, k->name, item);
    k->link(link, sizeof(link), owner, item, id, root);

    struct apd_event ev;
    vk_event_base(r, &ev, t);
    ev.appeal_id = appeal;
    ev.thread = thread;
    ev.link = link;
    ev.item_kind = "comment";
    if (t == APD_EV_DELETED) {   /* carries ids only; the appeal keeps its text */
        int64_t by;
        if (json_int64(json_get(o, "deleter_id"), &by) && by != 0) {
            snprintf(deleter, sizeof(deleter), "%" PRId64, by);
            ev.deleter_id = deleter;
        }
        return r->emit(r->ctx, &ev);
    }

    int64_t from = pu_i64(o, "from_id", 0);
    snprintf(author, sizeof(author), "%" PRId64, from);
    ev.author_id = author;
    const char *raw = json_str(json_get(o, "text"));   /* board replies name their target */
    vk_event_text(r, &ev, json_get(o, "text"));
    ev.created_ms = pu_ms_of_seconds(pu_i64(o, "date", 0));
    if (from != -r->group_id) {
        /* A resident's reply in a thread names the thread's first comment:
         * the host decides whether it is the author's word on an answer. */
        int64_t to = t == APD_EV_CREATED ? (root > 0 ? root : reply_target(r, k, raw)) : -1;
        if (to > 0 && to != id) {
            snprintf(reply_to, sizeof(reply_to), "vk:%" PRId64 ":%s:%" PRId64 ":c%" PRId64,
                     owner, k->name, item, to);
            ev.reply_to = reply_to;
        }
        return r->emit(r->ctx, &ev);
    }

    /* The community in its own thread: an answer to the comment it replies
     * to.  Its edits, and comments that answer nobody, are not appeals. */
    int64_t to = t == APD_EV_CREATED ? reply_target(r, k, raw) : -1;
    if (to <= 0)
        return vk_emit_ignored(r);
    snprintf(reply_to, sizeof(reply_to), "vk:%" PRId64 ":%s:%" PRId64 ":c%" PRId64, owner,
             k->name, item, to);
    ev.type = APD_EV_ANSWER;
    ev.reply_to = reply_to;
    ev.author_id = NULL;
    return r->emit(r->ctx, &ev);
}

/* wall_post_new: the community's own posts are not appeals; a citizen's post
 * (suggested for publication, or on an open wall) is. */
int vk_on_wall_post(struct vk_req *r, enum apd_event_type t, const void *unused)
{
    const struct json *o = r->obj;
    int64_t id, owner;
    if (!json_int64(json_get(o, "id"), &id))
        return emit_quarantined(r, "VK wall post event without a post id");
    owner = pu_i64(o, "owner_id", -r->group_id);
    const char *post_type = json_str(json_get(o, "post_type"));
    bool suggest = post_type && strcmp(post_type, "suggest") == 0;
    int64_t from = pu_i64(o, "from_id", 0);
    if (from <= 0 && suggest)
        from = pu_i64(o, "created_by", 0);
    if (owner != -r->group_id)
        return VK_FOREIGN;
    if (from <= 0)
        return vk_emit_ignored(r);

    char appeal[96], link[128], author[24];
    snprintf(appeal, sizeof(appeal), "vk:%" PRId64 ":wall:%" PRId64, owner, id);
    snprintf(link, sizeof(link), "https://vk.com/wall%" PRId64 "_%" PRId64, owner, id);
    snprintf(author, sizeof(author), "%" PRId64, from);
    struct apd_event ev;
    vk_event_base(r, &ev, t);
    ev.appeal_id = appeal;
    ev.thread = appeal;
    ev.link = link;
    ev.item_kind = suggest ? "suggested_post" : "post";
    ev.author_id = author;
    vk_event_text(r, &ev, json_get(o, "text"));
    ev.created_ms = pu_ms_of_seconds(pu_i64(o, "date", 0));
    return r->emit(r->ctx, &ev);
}
