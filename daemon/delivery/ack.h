/* Acknowledgement to the citizen: a short reply on the platform, under the
 * comment or in the chat where the appeal was written, telling its number
 * and who handles it.  Off unless [ack] enabled = yes; per page it also
 * needs ack_token (and ack not set to no).
 *
 *   VK        comment: wall.createComment (reply_to_comment, from_group,
 *             guid against repeats); private message: messages.send
 *             (random_id against repeats)
 *   Telegram  sendMessage with reply_parameters to the citizen's message
 *   MAX       POST /messages?chat_id=... with link {type: reply, mid}
 *
 * The API base URLs are configurable (tests point them at a local fake).
 * Where to reply is taken from the appeal: VK appeal ids are
 * "vk:OWNER:wall:POST:cCOMMENT" (comments) and messages reply to their
 * author; for Telegram and MAX the page id is the chat and the last
 * ':'-separated part of the appeal id is the message id — the convention of
 * the source plugins.  An appeal whose reply target cannot be derived gets
 * no acknowledgement (logged at debug).
 *
 * The reply is an outbox entry (outbox.h) of endpoint "ack:SOURCE:PAGE",
 * sent one at a time per page, at most one per [ack] min_interval, retried
 * on transient errors up to [ack] max_attempts and dropped (into the
 * outbox's dead list) on a definite refusal: a lost courtesy message is
 * better than a citizen receiving it five times.  The token is read from
 * the config at send time and never stored in Redis.  Loop thread. */
#ifndef APPEALSD_ACK_H
#define APPEALSD_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct apd_config;
struct route_result;
struct outbox_entry;
struct fetch_res;

struct ack_config {
    bool enabled;
    char *text;               /* template: {number}, {org}, {org_code} */
    int64_t min_interval_ms;  /* per page */
    int64_t max_attempts;
    int64_t timeout_ms;
    char *vk_api, *vk_version, *telegram_api, *max_api;
};

const struct ack_config *ack_config_of(const struct apd_config *c);

/* What is known about a created appeal when it is published. */
struct ack_input {
    const char *source, *page, *appeal_id, *item_kind, *author_id;
    const struct route_result *route;
};

#define ACK_MAX_FIELDS 8

/* An acknowledgement to enqueue: the outbox id, endpoint and fields. */
struct ack_plan {
    char id[640];
    char ep[192];
    const char *names[ACK_MAX_FIELDS];
    char *values[ACK_MAX_FIELDS];
    size_t n;
};

/* Fills p and returns true when this appeal is to be acknowledged.  Free
 * with ack_plan_free() after a true return. */
bool ack_plan_make(const struct apd_config *c, const struct ack_input *in, struct ack_plan *p);
void ack_plan_free(struct ack_plan *p);

/* The platform request for an outbox entry of an ack endpoint. */
struct ack_request {
    char *url;
    char *headers[4];         /* "Name: value", NULL-terminated */
    char *body;
    size_t body_len;
    char platform[16];
};

/* 0, or -1 with the reason (config changed: page gone, no token...). */
int ack_request_make(const struct apd_config *c, const struct outbox_entry *e,
                     struct ack_request *r, char *err, size_t errlen);
void ack_request_free(struct ack_request *r);

enum ack_verdict { ACK_DONE, ACK_RETRY, ACK_GIVE_UP };

/* Reads the platform's answer; why gets a line for the log. */
enum ack_verdict ack_verdict(const char *platform, const struct fetch_res *res,
                             int64_t *retry_after_s, char *why, size_t whylen);

#endif
