/* VK Callback API source: internal interface between vk.c (transport,
 * authentication, dispatch), vk_comments.c (comments of every kind, wall
 * posts) and vk_messages.c (private messages).
 *
 * Appeal ids (deterministic, so redelivery and edits map to the same item):
 *   vk:<owner>:wall:<post>:c<comment>     wall comment (owner < 0: community)
 *   vk:<owner>:photo:<photo>:c<comment>   photo comment
 *   vk:<owner>:video:<video>:c<comment>   video comment
 *   vk:<owner>:market:<item>:c<comment>   market (product) comment
 *   vk:<owner>:topic:<topic>:c<post>      discussion board post
 *   vk:<owner>:wall:<post>                suggested post / post by a citizen
 *   vk:<-group>:msg:p<pseudo>:<cmid>      private message (conversation message id;
 *                                         p<pseudo>: the host's keyed pseudonym of the
 *                                         user, ABI 1.6; before: the peer id in clear)
 *   vk:<-group>:msg:<peer>:<cmid>         message in a group chat the page opted in
 * Dedup key: vk:ev:<event_id>.  Texts: mention markup ("[id123|Анна]") is
 * replaced by APD_MENTION_PERSON or APD_MENTION_COMMUNITY before any event carries them. */
#ifndef APPEALSD_SOURCE_VK_H
#define APPEALSD_SOURCE_VK_H

#include <stdbool.h>
#include <stdint.h>

#include "plugin_util.h"

struct vk_config {
    bool require_secret;
    int64_t dialog_cache;
    char *api_base;           /* polling (ABI 1.5): VK API method URL prefix */
    char *api_version;
    int64_t catchup_window;   /* ms: comments older than this are not caught up */
    int64_t catchup_posts;    /* latest wall posts whose comments are read */
};

struct vk {
    const struct apd_host_api *api;
    void *handle;
    const struct vk_config *cfg;
    /* (group, peer) -> {first, last} conversation message ids the page has
     * not answered yet; see vk_messages.c */
    struct pu_map *dialogs;
};

/* One request while its events are built. */
struct vk_req {
    struct vk *vk;
    const struct json *root;
    const struct json *obj;     /* the event's "object" */
    const char *type;
    int64_t group_id;
    char page[24];              /* group_id as text: the page id */
    const struct apd_page *pg;  /* that page (borrowed) */
    char dedup[128];
    char *text_buf;             /* the masked text of the request's events, or NULL */
    const char *quarantine;
    apd_emit_fn emit;
    void *ctx;
};

/* Fills the fields every event of the request shares. */
void vk_event_base(struct vk_req *r, struct apd_event *ev, enum apd_event_type t);
int vk_emit_ignored(struct vk_req *r);
/* Sets ev's text to v's with mention markup masked; valid for the request. */
void vk_event_text(struct vk_req *r, struct apd_event *ev, const struct json *v);

/* Handlers: return what emit returned (0, or -errno when the host could not
 * take the event), or VK_FOREIGN for an event about an item of another
 * community than the one whose secret authenticated it: a community may act
 * only on its own threads, so the request is refused (403), not stored. */
#define VK_FOREIGN 1
int vk_on_comment(struct vk_req *r, enum apd_event_type t, const void *kind);
int vk_on_wall_post(struct vk_req *r, enum apd_event_type t, const void *unused);
int vk_on_message_new(struct vk_req *r, enum apd_event_type t, const void *unused);
int vk_on_message_reply(struct vk_req *r, enum apd_event_type t, const void *unused);
int vk_on_message_edit(struct vk_req *r, enum apd_event_type t, const void *unused);

/* Catch-up polling (vk_poll.c, ABI 1.5 apd_poll_ops). */
int vk_poll_build(void *state, const struct apd_page *pg, const char *cursor,
                  struct apd_poll_req *req, char *err, size_t errlen);
void vk_poll_parse(void *state, const struct apd_page *pg, const char *cursor, long status,
                   const char *body, size_t len, struct apd_poll_res *res, apd_item_fn item,
                   void *ctx);

/* Comment kinds, for the dispatch table. */
extern const struct vk_kind vk_kind_wall, vk_kind_photo, vk_kind_video, vk_kind_market,
    vk_kind_board;

#endif
