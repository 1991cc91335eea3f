/* OK comments under the page's posts, polled through the OK REST API (ABI 1.5).
 *
 * OK's Bot API webhooks carry only group chat messages; citizens mostly write
 * under the page's posts.  A round for group G (page "G", its access token
 * api_token, the application's keys from [source "ok"]):
 *   list  discussions.getDiscussions?gid=G&entityTypes=GROUP_TOPIC&count=N:
 *         the latest discussions (one per post, "GROUP_TOPIC").
 *   c     discussions.getComments?discussionId=T&discussionType=GROUP_TOPIC
 *         &count=100&anchor=A, following "anchor" while "has_more".
 * Method pages: apiok/documentation, docs/method/ru/discussions/
 * (discussions.getDiscussions, deprecated in favour of discussions.getList,
 * still served; discussions.getComments: anchor, direction, count).  The
 * response shape ({"comments":[...], "anchor", "has_more"}, comments with
 * id, author_id, author_type, author_name, date "YYYY-MM-DD HH:MM:SS" in
 * UTC, text, reply_to_comment_id) follows OK's SDK clients; it is unverified
 * against a live OK and kept to the few fields the plugin needs.
 *
 * OK sends no change events, so the cursor carries a snapshot of the
 * comments seen ("k": TOPIC!ID!TEXTHASH, the last round's; "n": this
 * round's): a comment not in the snapshot is new (inside poll_window), one
 * with another text hash was edited, one of a topic read this round that is
 * gone was deleted (no deleter is known: the author's withdrawal).  The
 * page's own comments (author_type GROUP, or the group's id) that reply to
 * a comment answer it.
 *
 * Every request is signed as OK requires: sig = md5(the parameters but
 * access_token sorted by name as name=value, concatenated, followed by
 * md5(access_token + application_secret_key)), lowercase hex.  Errors are
 * {"error_code", "error_msg", "error_data"}; 1 UNKNOWN and 2 SERVICE are
 * retried after a backoff, others stop the round (the cursor stays). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "ok.h"
#include "sbuf.h"

#define OK_PAGE 100
#define OK_SNAPSHOT_MAX 28000   /* per snapshot: two fit the host's cursor */
#define OK_WINDOW_S (7 * 86400) /* new comments older than this are not appeals any more */

struct param {
    const char *k, *v;
};

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct param *)a)->k, ((const struct param *)b)->k);
}

/* The signed URL of one call (method and its parameters in p, n of them). */
static int signed_url(const struct oks *ok, const struct apd_page *pg, struct param *p, size_t n,
                      struct apd_poll_req *req)
{
    qsort(p, n, sizeof(*p), by_key);
    struct sbuf base = SBUF_INIT, u = SBUF_INIT;
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&base, "%s=%s", p[i].k, p[i].v);
    char tsec[33], sig[33];
    struct sbuf ts = SBUF_INIT;
    sbuf_printf(&ts, "%s%s", pg->api_token, ok->cfg->application_secret_key);
    md5_hex(ts.p, ts.len, tsec);
    sbuf_adds(&base, tsec);
    md5_hex(base.p, base.len, sig);
    sbuf_printf(&u, "%s?", ok->cfg->api_base);
    for (size_t i = 0; i < n; i++) {
        sbuf_printf(&u, "%s=", p[i].k);
        pu_url_escape(&u, p[i].v);
        sbuf_addc(&u, '&');
    }
    sbuf_printf(&u, "sig=%s&access_token=", sig);
    pu_url_escape(&u, pg->api_token);
    int rc = u.len < sizeof(req->url) ? 0 : -1;
    if (rc == 0)
        memcpy(req->url, u.p, u.len + 1);
    sbuf_free(&base);
    sbuf_free(&ts);
    sbuf_free(&u);
    return rc;
}

/* The first topic of "q" (a comma list) into out. */
static const char *first_topic(const char *cursor, char *out, size_t n)
{
    char q[512];
    pu_cursor_get(cursor, "q", q, sizeof(q));
    size_t len = strcspn(q, ",");
    snprintf(out, n, "%.*s", (int)len, q);
    return out;
}

int ok_poll_build(void *state, const struct apd_page *pg, const char *cursor,
                  struct apd_poll_req *req, char *err, size_t errlen)
{
    struct oks *ok = state;
    if (ok->cfg->application_key == NULL) {
        snprintf(err, errlen, "[source \"ok\"] has no application_key and "
                 "application_secret_key to sign OK API requests with");
        return -1;
    }
    if (pg->struct_size < offsetof(struct apd_page, reserved) || pg->api_token == NULL) {
        snprintf(err, errlen, "page ok:%s has no api_token (the group's access token)", pg->id);
        return -1;
    }
    char ph[8], topic[64], anchor[256], count[16];
    pu_cursor_get(cursor, "ph", ph, sizeof(ph));
    struct param p[10] = {{"application_key", ok->cfg->application_key}, {"format", "json"},
                          {"gid", pg->id}};
    size_t n = 3;
    if (strcmp(ph, "c") == 0) {
        snprintf(count, sizeof(count), "%d", OK_PAGE);
        p[n++] = (struct param){"method", "discussions.getComments"};
        p[n++] = (struct param){"discussionId", first_topic(cursor, topic, sizeof(topic))};
        p[n++] = (struct param){"discussionType", "GROUP_TOPIC"};
        p[n++] = (struct param){"count", count};
        p[n++] = (struct param){"direction", "FORWARD"};
        if (pu_cursor_get(cursor, "a", anchor, sizeof(anchor))[0])
            p[n++] = (struct param){"anchor", anchor};
        req->what = "discussions.getComments";
    } else {
        snprintf(count, sizeof(count), "%" PRId64, ok->cfg->poll_discussions);
        p[n++] = (struct param){"method", "discussions.getDiscussions"};
        p[n++] = (struct param){"entityTypes", "GROUP_TOPIC"};
        p[n++] = (struct param){"count", count};
        req->what = "discussions.getDiscussions";
    }
    if (signed_url(ok, pg, p, n, req) != 0) {
        snprintf(err, errlen, "request URL longer than %zu bytes", sizeof(req->url));
        return -1;
    }
    return 0;
}

/* ---- parsing ---- */

struct round {
    const struct apd_page *pg;
    const char *cursor;
    char topic[64];
    struct sbuf snap;          /* "n": this round's snapshot so far */
    apd_item_fn item;
    void *ctx;
    int rc;
};

static bool id_ok(const char *s)
{
    return s && pu_token_ok(s, 120) && strpbrk(s, ",;!=") == NULL;
}

static void text_hash(const char *text, char out[9])
{
    snprintf(out, 9, "%08" PRIx32, (uint32_t)fnv1a64(text ? text : "", text ? strlen(text) : 0));
}

/* The text hash the last round's snapshot has for TOPIC!ID, or NULL. */
static const char *known(const char *snap, const char *topic, const char *id, char out[9])
{
    char key[200];
    int kl = snprintf(key, sizeof(key), "%s!%s!", topic, id);
    for (const char *p = snap; p && *p;) {
        if (strncmp(p, key, (size_t)kl) == 0 && (p == snap || p[-1] == ',')) {
            snprintf(out, 9, "%.8s", p + kl);
            return out;
        }
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    return NULL;
}

static void send_change(struct round *r, const char *change, const char *topic,
                        const struct json *comment, const char *id)
{
    if (r->rc != 0)
        return;
    struct sbuf b = SBUF_INIT;
    sbuf_printf(&b, "{\"apd_poll\":\"ok_comment\",\"change\":\"%s\",\"group\":", change);
    sbuf_json_str(&b, r->pg->id, strlen(r->pg->id));
    sbuf_adds(&b, ",\"topic\":");
    sbuf_json_str(&b, topic, strlen(topic));
    sbuf_adds(&b, ",\"comment\":");
    if (comment) {
        pu_json_write(&b, comment);
    } else {
        sbuf_adds(&b, "{\"id\":");
        sbuf_json_str(&b, id, strlen(id));
        sbuf_addc(&b, '}');
    }
    sbuf_addc(&b, '}');
    r->rc = r->item(r->ctx, b.p, b.len);
    sbuf_free(&b);
}

static int64_t ok_date(const char *s)
{
    struct tm tm = {0};
    if (s == NULL || sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static void on_comment(struct round *r, const char *old, const struct json *c)
{
    const char *id = json_text(json_get(c, "id"));
    if (!id_ok(id))
        return;
    char h[9], was[9];
    text_hash(json_str(json_get(c, "text")), h);
    if (r->snap.len < OK_SNAPSHOT_MAX)
        sbuf_printf(&r->snap, "%s%s!%s!%s", r->snap.len ? "," : "", r->topic, id, h);
    if (known(old, r->topic, id, was) == NULL) {
        if (ok_date(json_str(json_get(c, "date"))) >= (int64_t)time(NULL) - OK_WINDOW_S)
            send_change(r, "created", r->topic, c, id);
    } else if (strcmp(was, h) != 0) {
        send_change(r, "edited", r->topic, c, id);
    }
}

/* Round end: comments of the topics read this round that are gone. */
static void find_deleted(struct round *r, const char *old, const char *topics)
{
    for (const char *p = old; p && *p && r->rc == 0;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char e[256], t[64], id[160];
        snprintf(e, sizeof(e), "%.*s", (int)(len < 255 ? len : 255), p);
        char *b1 = strchr(e, '!'), *b2 = b1 ? strchr(b1 + 1, '!') : NULL;
        if (b1 && b2) {
            snprintf(t, sizeof(t), "%.*s", (int)(b1 - e), e);
            snprintf(id, sizeof(id), "%.*s", (int)(b2 - b1 - 1), b1 + 1);
            char tl[600], dummy[9];
            snprintf(tl, sizeof(tl), ",%s,", topics);
            char tk[70];
            snprintf(tk, sizeof(tk), ",%s,", t);
            if (strstr(tl, tk) && known(r->snap.p, t, id, dummy) == NULL)
                send_change(r, "deleted", t, NULL, id);
        }
        p = end ? end + 1 : NULL;
    }
}

static void set_cursor(struct apd_poll_res *res, const char *ph, const char *q, const char *a,
                       const char *r, const char *k, const char *n)
{
    snprintf(res->cursor, sizeof(res->cursor), "ph=%s;q=%s;a=%s;r=%s;k=%s;n=%s", ph, q, a, r,
             k, n);
}

static void on_discussions(const struct json *root, const char *cursor,
                           struct apd_poll_res *res)
{
    struct sbuf q = SBUF_INIT;
    const struct json *ds = json_get(root, "discussions");
    for (uint32_t i = 0; ds && ds->type == JSON_ARRAY && i < ds->len; i++) {
        const char *type = json_str(json_get(&ds->u.a[i], "object_type"));
        const char *id = json_text(json_get(&ds->u.a[i], "object_id"));
        if (type && strcmp(type, "GROUP_TOPIC") == 0 && id_ok(id) && strlen(id) < 60 &&
            q.len + strlen(id) < 500)
            sbuf_printf(&q, "%s%s", q.len ? "," : "", id);
    }
    static char k[OK_SNAPSHOT_MAX + 512];
    pu_cursor_get(cursor, "k", k, sizeof(k));
    if (q.len) {
        set_cursor(res, "c", q.p, "", q.p, k, "");
        res->more = 1;
    } else {
        set_cursor(res, "list", "", "", "", k, "");
    }
    snprintf(res->note, sizeof(res->note), "%zu discussions watched",
             ds && ds->type == JSON_ARRAY ? (size_t)ds->len : (size_t)0);
    sbuf_free(&q);
}

static void on_comments(struct round *r, const struct json *root, struct apd_poll_res *res)
{
    static char old[OK_SNAPSHOT_MAX + 512], q[512], topics[512];
    pu_cursor_get(r->cursor, "k", old, sizeof(old));
    pu_cursor_get(r->cursor, "q", q, sizeof(q));
    pu_cursor_get(r->cursor, "r", topics, sizeof(topics));
    const struct json *cs = json_get(root, "comments");
    for (uint32_t i = 0; cs && cs->type == JSON_ARRAY && i < cs->len; i++)
        on_comment(r, old, &cs->u.a[i]);
    const char *anchor = json_text(json_get(root, "anchor"));
    if (json_truthy(json_get(root, "has_more")) && anchor && id_ok(anchor) && cs && cs->len) {
        set_cursor(res, "c", q, anchor, topics, old, r->snap.p ? r->snap.p : "");
        res->more = 1;
        return;
    }
    const char *rest = strchr(q, ',');
    if (rest) {
        set_cursor(res, "c", rest + 1, "", topics, old, r->snap.p ? r->snap.p : "");
        res->more = 1;
        return;
    }
    find_deleted(r, old, topics);
    set_cursor(res, "list", "", "", "", r->snap.p ? r->snap.p : "", "");
}

static bool api_error(const struct json *root, struct apd_poll_res *res, const char *what)
{
    const struct json *code = json_get(root, "error_code");
    if (code == NULL)
        return false;
    int64_t c = 0;
    json_int64(code, &c);
    const char *msg = json_str(json_get(root, "error_msg"));
    snprintf(res->error, sizeof(res->error), "%s: OK error %" PRId64 ": %s", what, c,
             msg ? msg : "?");
    if (c == 1 || c == 2) {   /* UNKNOWN, SERVICE: temporary on OK's side */
        res->retry = 1;
        res->retry_after_ms = 5000;
    }
    return true;
}

void ok_poll_parse(void *state, const struct apd_page *pg, const char *cursor, long status,
                   const char *body, size_t len, struct apd_poll_res *res, apd_item_fn item,
                   void *ctx)
{
    char ph[8];
    pu_cursor_get(cursor, "ph", ph, sizeof(ph));
    const char *what = strcmp(ph, "c") == 0 ? "discussions.getComments"
                                            : "discussions.getDiscussions";
    char why[160] = "not a JSON object";
    struct json_doc *doc = json_parse(body, len, PU_MAX_DEPTH, why, sizeof(why));
    if (doc == NULL || doc->root.type != JSON_OBJECT) {
        snprintf(res->error, sizeof(res->error), "%s: HTTP %ld, not an OK API response (%s)",
                 what, status, why);
        json_free(doc);
        return;
    }
    if (api_error(&doc->root, res, what)) {
        json_free(doc);
        return;
    }
    if (strcmp(ph, "c") != 0) {
        on_discussions(&doc->root, cursor, res);
    } else {
        struct round r = {.pg = pg, .cursor = cursor, .item = item, .ctx = ctx};
        first_topic(cursor, r.topic, sizeof(r.topic));
        char n[OK_SNAPSHOT_MAX + 512];
        sbuf_adds(&r.snap, pu_cursor_get(cursor, "n", n, sizeof(n)));
        on_comments(&r, &doc->root, res);
        if (r.rc != 0)
            snprintf(res->error, sizeof(res->error), "the host could not take a comment");
        sbuf_free(&r.snap);
    }
    json_free(doc);
}

/* ---- the bodies above, back as events (handle() under APD_POLL_PATH) ---- */

static bool own_comment(const struct json *c, const char *group)
{
    const char *type = json_str(json_get(c, "author_type"));
    const char *author = json_text(json_get(c, "author_id"));
    return (type && strcmp(type, "GROUP") == 0) || (author && strcmp(author, group) == 0);
}

int ok_on_polled(const struct json *root, const char *quarantine, apd_emit_fn emit, void *ctx)
{
    const char *change = json_str(json_get(root, "change"));
    const char *group = json_str(json_get(root, "group"));
    const char *topic = json_str(json_get(root, "topic"));
    const struct json *c = json_get(root, "comment");
    const char *id = json_text(json_get(c, "id"));
    struct apd_event ev;
    if (change == NULL || !pu_token_ok(group, 64) || !id_ok(topic) || !id_ok(id)) {
        pu_event(&ev, APD_EV_IGNORED, "ok_comment");
        ev.quarantine = "polled OK comment without group, topic or id";
        return emit(ctx, &ev);
    }
    char appeal[300], thread[160], dedup[200], link[200], reply_to[300], h[9];
    snprintf(appeal, sizeof(appeal), "ok:%s:topic:%s:c%s", group, topic, id);
    snprintf(thread, sizeof(thread), "ok:%s:topic:%s", group, topic);
    snprintf(link, sizeof(link), "https://ok.ru/group/%s/topic/%s", group, topic);
    enum apd_event_type t = strcmp(change, "created") == 0  ? APD_EV_CREATED
                            : strcmp(change, "edited") == 0 ? APD_EV_EDITED
                                                            : APD_EV_DELETED;
    text_hash(json_str(json_get(c, "text")), h);
    if (t == APD_EV_CREATED)
        snprintf(dedup, sizeof(dedup), "ok:c:%s", id);
    else
        snprintf(dedup, sizeof(dedup), "ok:c:%s:%s%s", id, t == APD_EV_EDITED ? "e" : "d",
                 t == APD_EV_EDITED ? h : "");
    pu_event(&ev, t, t == APD_EV_CREATED ? "comment_new" : t == APD_EV_EDITED ? "comment_edit"
                                                                                : "comment_delete");
    ev.dedup_key = dedup;
    ev.page = group;
    ev.appeal_id = appeal;
    ev.thread = thread;
    ev.link = link;
    ev.item_kind = "comment";
    if (t == APD_EV_DELETED)
        return emit(ctx, &ev);
    ev.quarantine = quarantine;
    ev.author_id = json_text(json_get(c, "author_id"));
    ev.author_name = json_str(json_get(c, "author_name"));
    ev.text = pu_str(json_get(c, "text"), &ev.text_len);
    ev.created_ms = pu_ms_of_seconds(ok_date(json_str(json_get(c, "date"))));
    const char *to = json_text(json_get(c, "reply_to_comment_id"));
    if (!own_comment(c, group)) {
        /* a citizen's reply to a comment: the host follows it up when that
         * comment is the author's own answered appeal */
        if (t == APD_EV_CREATED && id_ok(to)) {
            snprintf(reply_to, sizeof(reply_to), "ok:%s:topic:%s:c%s", group, topic, to);
            ev.reply_to = reply_to;
        }
        return emit(ctx, &ev);
    }
    /* the page in its own thread: an answer to the comment it replies to */
    if (t != APD_EV_CREATED || !id_ok(to)) {
        struct apd_event ig;
        pu_event(&ig, APD_EV_IGNORED, ev.platform_type);
        ig.dedup_key = dedup;
        return emit(ctx, &ig);
    }
    snprintf(reply_to, sizeof(reply_to), "ok:%s:topic:%s:c%s", group, topic, to);
    ev.type = APD_EV_ANSWER;
    ev.reply_to = reply_to;
    ev.author_id = NULL;
    return emit(ctx, &ev);
}
