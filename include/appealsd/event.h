/**
 * @file event.h
 * @brief The normalised event a source plugin hands to appealsd.
 *
 * Every network (VK, Telegram, MAX, OK, generic JSON) sends its own shapes; a
 * source plugin turns one webhook body into zero or more `struct apd_event`
 * values and the rest of the daemon sees only these.  This header is part of
 * the plugin ABI (see plugin.h for the version rules): fields are only ever
 * appended, before `reserved`, and a plugin sets `struct_size` so the host
 * knows which fields it filled.
 *
 * Strings are UTF-8 and NUL-terminated unless a length is given.  All pointers
 * are borrowed: they must stay valid until the emit callback returns; the host
 * copies what it keeps.
 */
#ifndef APPEALSD_EVENT_H_INCLUDED_
#define APPEALSD_EVENT_H_INCLUDED_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What happened to the item a citizen wrote. */
enum apd_event_type {
    APD_EV_CREATED = 1,  /**< a new comment, message or suggested post */
    APD_EV_EDITED = 2,   /**< the author changed the text */
    APD_EV_DELETED = 3,  /**< removed from the platform: by its author it withdraws the
                              appeal; by anyone else (`deleter_id` differs from the author
                              the host stored) the page removed it and the clocks run on */
    APD_EV_RESTORED = 4, /**< a deleted item came back */
    APD_EV_ANSWER = 5,   /**< the page itself replied: stops the first-response clock */
    APD_EV_IGNORED = 6,  /**< acknowledged and counted, nothing to do (likes, joins, unknown types) */
};

/**
 * @brief One normalised event.
 *
 * Identity rules (they make redelivery harmless):
 * - `appeal_id` is deterministic from platform ids: the same item always maps
 *   to the same id, and edits/deletes of it carry the same id.  The in-tree
 *   sources use (owner < 0 for a community; docs/sources.md has the table):
 *     vk:<owner>:wall:<post>:c<comment>      and :photo:, :video:, :market:,
 *     vk:<owner>:topic:<topic>:c<post>         :topic: for the other kinds
 *     vk:<owner>:wall:<post>                 suggested post, citizen's post
 *     vk:-<group>:msg:p<pseudo>:<conv_msg_id>  private message (ABI 1.6)
 *     tg:<chat>:<message_id>                 Telegram groups (comments: the group)
 *     tg:p<pseudo>:<message_id>              Telegram private chat (ABI 1.6)
 *     max:<chat>:<mid>                       MAX chat that is a page
 *     max:p<pseudo>:<mid>                    MAX dialog with the bot (ABI 1.6)
 *     ok:p<pseudo>:<mid>                     OK private message (ABI 1.6)
 *     ok:<group>:topic:<topic>:c<comment>    OK comment under a post (polled, ABI 1.5)
 *     gen:<system>:<id>                      generic JSON
 *   Ids are printable ASCII without spaces, '|', quotes or braces: they
 *   become Redis and Kafka keys.
 * - Personal data (ABI 1.6): no platform user id appears in appeal_id,
 *   thread, reply_to, link or dedup_key.  Where a private conversation's
 *   id is a user's (VK peer, Telegram private chat, MAX dialog, OK chat),
 *   it is replaced by "p" and apd_host_api.pseudonym() of it; the thread
 *   is derived the same way, so every later message, edit and answer of the
 *   chat maps to the same ids.  Only author_id, author_name, deleter_id and
 *   personal_link carry clear ids; the host publishes those only to
 *   recipients configured for personal data.
 * - Mention markup in texts ("[id123|Анна]", "[club5|Район]") is replaced
 *   by APD_MENTION_PERSON or APD_MENTION_COMMUNITY: no name, no id, but the
 *   classifier still tells a reply to a neighbour from one to the page.
 * - `dedup_key` identifies this delivery's content, e.g. "vk:ev:<event_id>";
 *   the host keeps it in Redis for at least 24 h and drops repeats.  When a
 *   body yields several events, the host suffixes "#<index>" to all but the
 *   first.
 */
#define APD_MENTION_PERSON "[упоминание]"
#define APD_MENTION_COMMUNITY "[сообщество]"
struct apd_event {
    size_t struct_size;          /**< sizeof(struct apd_event) as the plugin was built */
    enum apd_event_type type;
    const char *platform_type;   /**< the network's own name: "wall_reply_new" */
    const char *dedup_key;       /**< platform idempotency key; NULL: none */
    const char *appeal_id;       /**< deterministic id of the item (required except IGNORED) */
    const char *page;            /**< page id as written in [page "SOURCE:ID"] sections */
    const char *author_id;       /**< platform author id as text; pseudonymised downstream */
    const char *author_name;     /**< display name when the platform sends one, else NULL */
    const char *text;            /**< the citizen's text (may be empty: attachments only) */
    size_t text_len;
    int64_t created_ms;          /**< platform timestamp, Unix milliseconds (0: unknown) */
    const char *link;            /**< public URL of the item, or NULL */
    const char *reply_to;        /**< ANSWER/replies: appeal_id of the item answered */
    const char *thread;          /**< the post/topic/chat the item belongs to, or NULL */
    const char *item_kind;       /**< "comment", "message", "suggested_post", "post", ... */
    const char *quarantine;      /**< non-NULL: stored but not processed, with this reason */
    /** DELETED (ABI 1.4): the platform id of whoever removed the item, in the same
     *  form as author_id; NULL when the platform does not say.  The host compares
     *  it with the author it stored when the appeal was created: the author
     *  withdraws, anyone else (a moderator, the page) removes it from view. */
    const char *deleter_id;
    /** IGNORED (ABI 1.4): a short code for why, e.g. "group_chat", counted
     *  separately in /metrics; NULL: counted under platform_type. */
    const char *ignore_reason;
    /** ABI 1.6: the id this item (for ANSWER: the item answered) had under
     *  the clear-id format of ABI 1.5 and before, or NULL.  When appeal_id
     *  (reply_to) is unknown to the host, it tries this one: appeals opened
     *  before the upgrade keep receiving their edits, deletions and answers. */
    const char *legacy_id;
    /** ABI 1.6: a URL of the item that names its user (VK's dialog view
     *  `gim<group>?sel=<user>`), or NULL.  `link` must not name a user; this
     *  one replaces it only in bodies for personal-data recipients. */
    const char *personal_link;
    void *reserved[8];           /**< must be NULL */
};

#ifdef __cplusplus
}
#endif

#endif
