/* VK catch-up (ABI 1.5 polling): what the Callback API did not deliver.
 *
 * A round for community G (page "G", token api_token):
 *   cb     groups.getCallbackServers?group_id=G: a server whose status is not
 *          "ok" ("failed": VK stopped calling it; "unconfigured", "wait") is
 *          shown to operators (appealsctl status); the round goes on.
 *   posts  wall.get?owner_id=-G&count=catchup_posts: the posts whose
 *          comments are read next.
 *   c      wall.getComments?owner_id=-G&post_id=P&sort=desc&count=100
 *          &thread_items_count=10, paging with offset while a whole page
 *          is newer than what earlier rounds saw.
 * Each comment newer than the cursor (VK numbers a wall's posts and comments
 * in one sequence per owner) and inside catchup_window becomes a
 * wall_reply_new body as the Callback API would have sent it, with event_id
 * "poll-OWNER_POST_ID".  Its appeal id is the webhook's, so a comment
 * delivered both ways is one appeal (the claim in Redis drops the second).
 *
 * Cursor: "ph=cb|posts|c;m=MAX;n=NEWMAX;o=OFFSET;q=POST,POST,...".
 * Shapes: VK API schema (VKCOM/vk-api-schema: objects.json
 * groups_callback_server, wall_wall_comment, responses.json); errors
 * {"error":{"error_code","error_msg"}}, 6 = too many requests per second,
 * 9 = flood control, 10 = internal error, 29 = rate limit reached. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbuf.h"
#include "vk.h"

#define VK_PAGE 100

static void url_begin(struct sbuf *u, const struct vk *vk, const char *method,
                      const struct apd_page *pg)
{
    sbuf_printf(u, "%s/%s?v=", vk->cfg->api_base, method);
    pu_url_escape(u, vk->cfg->api_version);
    sbuf_adds(u, "&access_token=");
    pu_url_escape(u, pg->api_token);
}

int vk_poll_build(void *state, const struct apd_page *pg, const char *cursor,
                  struct apd_poll_req *req, char *err, size_t errlen)
{
    struct vk *vk = state;
    if (pg->struct_size < offsetof(struct apd_page, reserved) || pg->api_token == NULL) {
        snprintf(err, errlen, "page vk:%s has no api_token (a community token) to poll with",
                 pg->id);
        return -1;
    }
    char ph[16], q[32];
    pu_cursor_get(cursor, "ph", ph, sizeof(ph));
    struct sbuf u = SBUF_INIT;
    if (ph[0] == '\0' || strcmp(ph, "cb") == 0) {
        url_begin(&u, vk, "groups.getCallbackServers", pg);
        sbuf_printf(&u, "&group_id=%s", pg->id);
        req->what = "groups.getCallbackServers";
    } else if (strcmp(ph, "posts") == 0) {
        url_begin(&u, vk, "wall.get", pg);
        sbuf_printf(&u, "&owner_id=-%s&count=%" PRId64, pg->id, vk->cfg->catchup_posts);
        req->what = "wall.get";
    } else {
        pu_cursor_get(cursor, "q", q, sizeof(q));
        url_begin(&u, vk, "wall.getComments", pg);
        sbuf_printf(&u, "&owner_id=-%s&post_id=%" PRId64 "&sort=desc&count=%d&offset=%" PRId64
                    "&thread_items_count=10&need_likes=0", pg->id, (int64_t)strtoll(q, NULL, 10), VK_PAGE,
                    pu_cursor_int(cursor, "o"));
        req->what = "wall.getComments";
    }
    int rc = u.len < sizeof(req->url) ? 0 : -1;
    if (rc == 0)
        memcpy(req->url, u.p, u.len + 1);
    else
        snprintf(err, errlen, "request URL longer than %zu bytes", sizeof(req->url));
    sbuf_free(&u);
    return rc;
}

static void set_cursor(struct apd_poll_res *res, const char *ph, int64_t m, int64_t n,
                       int64_t o, const char *q)
{
    snprintf(res->cursor, sizeof(res->cursor), "ph=%s;m=%" PRId64 ";n=%" PRId64 ";o=%" PRId64
             ";q=%s", ph, m, n, o, q ? q : "");
}

/* True when the body is a VK error; fills res (retry for the transient ones). */
static bool api_error(const struct json *root, struct apd_poll_res *res, const char *what)
{
    const struct json *e = json_get(root, "error");
    if (e == NULL)
        return false;
    int64_t code = pu_i64(e, "error_code", 0);
    const char *msg = json_str(json_get(e, "error_msg"));
    snprintf(res->error, sizeof(res->error), "%s: VK error %" PRId64 ": %s", what, code,
             msg ? msg : "?");
    if (code == 6 || code == 9 || code == 10 || code == 29) {
        res->retry = 1;
        res->retry_after_ms = code == 29 ? 3600000 : code == 9 ? 60000 : 1000;
    }
    return true;
}

static void on_servers(const struct json *resp, struct apd_poll_res *res)
{
    const struct json *items = json_get(resp, "items");
    snprintf(res->note, sizeof(res->note), "VK Callback server is ok");
    for (uint32_t i = 0; items && items->type == JSON_ARRAY && i < items->len; i++) {
        const char *st = json_str(json_get(&items->u.a[i], "status"));
        if (st && strcmp(st, "ok") != 0) {
            const char *title = json_str(json_get(&items->u.a[i], "title"));
            snprintf(res->note, sizeof(res->note), "VK Callback server '%.60s' is %s%s",
                     title ? title : "?", st,
                     strcmp(st, "failed") == 0 ? ": VK stopped calling it; re-enable it in the "
                                                 "community's settings" : "");
            return;
        }
    }
    if (items && items->type == JSON_ARRAY && items->len == 0)
        snprintf(res->note, sizeof(res->note), "no VK Callback server is configured");
}

static void on_posts(const struct json *resp, int64_t m, struct apd_poll_res *res)
{
    struct sbuf q = SBUF_INIT;
    const struct json *items = json_get(resp, "items");
    for (uint32_t i = 0; items && items->type == JSON_ARRAY && i < items->len; i++) {
        const struct json *p = &items->u.a[i];
        int64_t id = pu_i64(p, "id", 0), nc = pu_i64(json_get(p, "comments"), "count", 1);
        if (id > 0 && nc > 0 && q.len + 24 < 3000)
            sbuf_printf(&q, "%s%" PRId64, q.len ? "," : "", id);
    }
    if (q.len) {
        set_cursor(res, "c", m, m, 0, q.p);
        res->more = 1;
    } else {
        set_cursor(res, "cb", m, m, 0, NULL);
    }
    sbuf_free(&q);
}

struct emit_ctx {
    const struct apd_page *pg;
    int64_t post, m, newest, since;
    size_t seen_new;
    apd_item_fn item;
    void *ctx;
    int rc;
};

/* One comment as a Callback API wall_reply_new body. */
static void emit_comment(struct emit_ctx *e, const struct json *c)
{
    int64_t id = pu_i64(c, "id", 0), date = pu_i64(c, "date", 0);
    if (id <= e->m || date < e->since || e->rc != 0)
        return;
    e->seen_new++;
    if (id > e->newest)
        e->newest = id;
    struct sbuf b = SBUF_INIT;
    sbuf_printf(&b, "{\"type\":\"wall_reply_new\",\"group_id\":%s,\"event_id\":\"poll-%s_%"
                PRId64 "_%" PRId64 "\",\"object\":", e->pg->id, e->pg->id, e->post, id);
    /* the comment as wall.getComments gave it, plus the post it belongs to;
     * the wall read is the page's own, whatever owner the response names
     * (handle() refuses another community's items) */
    sbuf_printf(&b, "{\"post_id\":%" PRId64 ",\"owner_id\":-%s,\"post_owner_id\":-%s",
                e->post, e->pg->id, e->pg->id);
    for (uint32_t i = 0; c->type == JSON_OBJECT && i < c->len; i++) {
        const char *k = c->u.o[i].key;
        if (strcmp(k, "post_id") == 0 || strcmp(k, "post_owner_id") == 0 ||
            strcmp(k, "owner_id") == 0 || strcmp(k, "thread") == 0)
            continue;
        sbuf_addc(&b, ',');
        sbuf_json_str(&b, k, c->u.o[i].klen);
        sbuf_addc(&b, ':');
        pu_json_write(&b, &c->u.o[i].val);
    }
    sbuf_adds(&b, "}}");
    e->rc = e->item(e->ctx, b.p, b.len);
    sbuf_free(&b);
}

static void on_comments(const struct json *resp, const char *cursor, struct emit_ctx *e,
                        struct apd_poll_res *res)
{
    const struct json *items = json_get(resp, "items");
    uint32_t n = items && items->type == JSON_ARRAY ? items->len : 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct json *c = &items->u.a[i];
        emit_comment(e, c);
        const struct json *th = json_get(json_get(c, "thread"), "items");
        for (uint32_t j = 0; th && th->type == JSON_ARRAY && j < th->len; j++)
            emit_comment(e, &th->u.a[j]);
    }
    int64_t newmax = pu_cursor_int(cursor, "n");
    if (e->newest > newmax)
        newmax = e->newest;
    char q[3100];
    pu_cursor_get(cursor, "q", q, sizeof(q));
    /* a full page of new top-level comments: the next page may hold more */
    if (n == VK_PAGE && e->seen_new >= VK_PAGE) {
        set_cursor(res, "c", e->m, newmax, pu_cursor_int(cursor, "o") + VK_PAGE, q);
        res->more = 1;
        return;
    }
    const char *rest = strchr(q, ',');
    if (rest) {
        set_cursor(res, "c", e->m, newmax, 0, rest + 1);
        res->more = 1;
    } else {
        set_cursor(res, "cb", newmax, newmax, 0, NULL);   /* the round is complete */
    }
}

void vk_poll_parse(void *state, const struct apd_page *pg, const char *cursor, long status,
                   const char *body, size_t len, struct apd_poll_res *res, apd_item_fn item,
                   void *ctx)
{
    struct vk *vk = state;
    char ph[16];
    pu_cursor_get(cursor, "ph", ph, sizeof(ph));
    const char *what = ph[0] == '\0' || strcmp(ph, "cb") == 0 ? "groups.getCallbackServers"
                       : strcmp(ph, "posts") == 0            ? "wall.get"
                                                              : "wall.getComments";
    char why[160] = "not a JSON object";
    struct json_doc *doc = json_parse(body, len, PU_MAX_DEPTH, why, sizeof(why));
    if (doc == NULL || doc->root.type != JSON_OBJECT) {
        snprintf(res->error, sizeof(res->error), "%s: HTTP %ld, not a VK API response (%s)",
                 what, status, why);
        json_free(doc);
        return;
    }
    int64_t m = pu_cursor_int(cursor, "m");
    if (strcmp(what, "groups.getCallbackServers") == 0) {
        struct apd_poll_res tmp = {0};
        if (api_error(&doc->root, &tmp, what))   /* no manage right: catch up all the same */
            snprintf(res->note, sizeof(res->note), "cannot check the Callback server (%.120s)",
                     tmp.error);
        else
            on_servers(json_get(&doc->root, "response"), res);
        set_cursor(res, "posts", m, m, 0, NULL);
        res->more = 1;
    } else if (api_error(&doc->root, res, what)) {
        /* the cursor stays: the same request is made again after a backoff */
    } else if (strcmp(what, "wall.get") == 0) {
        on_posts(json_get(&doc->root, "response"), m, res);
    } else {
        char q[32];
        pu_cursor_get(cursor, "q", q, sizeof(q));
        struct emit_ctx e = {.pg = pg, .post = strtoll(q, NULL, 10), .m = m, .item = item,
                             .ctx = ctx, .since = (int64_t)time(NULL) -
                                                  vk->cfg->catchup_window / 1000};
        on_comments(json_get(&doc->root, "response"), cursor, &e, res);
        if (e.rc != 0)
            snprintf(res->error, sizeof(res->error), "the host could not take a comment");
    }
    json_free(doc);
}
