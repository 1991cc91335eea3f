/* Telegram without a webhook: getUpdates (ABI 1.5 polling).
 *
 * For a bot whose page sets poll = yes (and api_token = the bot token), the
 * host calls getUpdates?offset=O&limit=100&timeout=0 and each Update goes
 * through handle() exactly as a webhook body would (its dedup key is
 * tg:up:<update_id> either way).  The cursor is "o=O": the next offset,
 * last update_id + 1, which also confirms the updates before it to Telegram
 * ("An update is considered confirmed as soon as getUpdates is called with
 * an offset higher than its update_id", core.telegram.org/bots/api#getupdates).
 * Telegram keeps unconfirmed updates for 24 hours, so an outage shorter than
 * that loses nothing.  Webhook and getUpdates exclude each other: while a
 * webhook is set Telegram answers 409, shown to operators.  Poll one page per
 * bot: two pages polling one bot would take each other's updates. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "tg.h"

#define TG_LIMIT 100

int tg_poll_build(void *state, const struct apd_page *pg, const char *cursor,
                  struct apd_poll_req *req, char *err, size_t errlen)
{
    struct tg *tg = state;
    if (pg->struct_size < offsetof(struct apd_page, reserved) || pg->api_token == NULL) {
        snprintf(err, errlen, "page telegram:%s has no api_token (the bot token)", pg->id);
        return -1;
    }
    /* the token goes into the path as it is ("123:ABC"): check its alphabet */
    if (strspn(pg->api_token, "0123456789:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "_-") != strlen(pg->api_token)) {
        snprintf(err, errlen, "page telegram:%s: api_token is not a bot token", pg->id);
        return -1;
    }
    struct sbuf u = SBUF_INIT;
    sbuf_printf(&u, "%s/bot%s", tg->cfg->api_base, pg->api_token);
    sbuf_printf(&u, "/getUpdates?timeout=0&limit=%d", TG_LIMIT);
    int64_t offset = pu_cursor_int(cursor, "o");
    if (offset > 0)
        sbuf_printf(&u, "&offset=%" PRId64, offset);
    req->what = "getUpdates";
    int rc = u.len < sizeof(req->url) ? 0 : -1;
    if (rc == 0)
        memcpy(req->url, u.p, u.len + 1);
    else
        snprintf(err, errlen, "request URL longer than %zu bytes", sizeof(req->url));
    sbuf_free(&u);
    return rc;
}

static void on_error(const struct json *root, long status, struct apd_poll_res *res)
{
    const char *why = json_str(json_get(root, "description"));
    int64_t code = pu_i64(root, "error_code", status);
    snprintf(res->error, sizeof(res->error), "getUpdates: Telegram error %" PRId64 ": %s", code,
             why ? why : "?");
    if (code == 409)
        snprintf(res->note, sizeof(res->note), "a webhook is set for the bot: getUpdates is "
                 "refused (deleteWebhook, or poll = no)");
    int64_t after = pu_i64(json_get(root, "parameters"), "retry_after", 0);
    if (code == 429 || after > 0) {
        res->retry = 1;
        /* an absurd wait from the API is capped, not multiplied past int64 */
        res->retry_after_ms = (after < 0 ? 0 : after > 3600 ? 3600 : after) * 1000;
    }
}

void tg_poll_parse(void *state, const struct apd_page *pg, const char *cursor, long status,
                   const char *body, size_t len, struct apd_poll_res *res, apd_item_fn item,
                   void *ctx)
{
    char why[160] = "not a JSON object";
    struct json_doc *doc = json_parse(body, len, PU_MAX_DEPTH, why, sizeof(why));
    const struct json *root = doc ? &doc->root : NULL;
    if (root == NULL || root->type != JSON_OBJECT) {
        snprintf(res->error, sizeof(res->error), "getUpdates: HTTP %ld, not a Bot API response "
                 "(%s)", status, why);
        json_free(doc);
        return;
    }
    const struct json *ups = json_get(root, "result");
    if (!json_truthy(json_get(root, "ok")) || ups == NULL || ups->type != JSON_ARRAY) {
        on_error(root, status, res);
        json_free(doc);
        return;
    }
    int64_t next = pu_cursor_int(cursor, "o");
    struct sbuf b = SBUF_INIT;
    for (uint32_t i = 0; i < ups->len; i++) {
        int64_t id;
        if (!json_int64(json_get(&ups->u.a[i], "update_id"), &id))
            continue;
        sbuf_reset(&b);
        pu_json_write(&b, &ups->u.a[i]);
        if (item(ctx, b.p, b.len) != 0) {
            snprintf(res->error, sizeof(res->error), "the host could not take an update");
            break;
        }
        if (id + 1 > next)
            next = id + 1;
    }
    sbuf_free(&b);
    snprintf(res->cursor, sizeof(res->cursor), "o=%" PRId64, next);
    res->more = ups->len >= TG_LIMIT && res->error[0] == '\0';
    snprintf(res->note, sizeof(res->note), "getUpdates mode");
    json_free(doc);
}
