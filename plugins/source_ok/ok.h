/* OK source: internal interface between ok.c (Bot API webhooks, dispatch)
 * and ok_poll.c (comments under the page's posts, polled through the OK
 * REST API, ABI 1.5).
 *
 * Appeal ids: ok:<chat>:<mid> for private messages, and for comments
 *   ok:<group>:topic:<topic>:c<comment>   (thread ok:<group>:topic:<topic>)
 * Dedup keys: ok:mid:<mid>; comments ok:c:<comment>, its edits
 * ok:c:<comment>:e<text hash>, its removal ok:c:<comment>:d. */
#ifndef APPEALSD_SOURCE_OK_H
#define APPEALSD_SOURCE_OK_H

#include "plugin_util.h"

struct ok_config {
    struct { char **v; size_t n; } allow_from;
    char *api_base;
    char *application_key;
    char *application_secret_key;
    int64_t poll_discussions;
};

struct oks {
    const struct apd_host_api *api;
    void *handle;
    const struct ok_config *cfg;
};

int ok_poll_build(void *state, const struct apd_page *pg, const char *cursor,
                  struct apd_poll_req *req, char *err, size_t errlen);
void ok_poll_parse(void *state, const struct apd_page *pg, const char *cursor, long status,
                   const char *body, size_t len, struct apd_poll_res *res, apd_item_fn item,
                   void *ctx);
/* A body ok_poll.c produced (spool path APD_POLL_PATH): its events. */
int ok_on_polled(const struct json *root, const char *quarantine, apd_emit_fn emit, void *ctx);

#endif
