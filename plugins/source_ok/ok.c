/* OK (Odnoklassniki) Bot API source: private messages to a group.
 *
 * OK signs nothing.  A request is trusted when it comes from one of OK's
 * networks (allow_from, checked against the client address the host passes:
 * the TCP peer, or behind a proxy in [http] trusted_proxies the client its
 * X-Forwarded-For names) and names a page by an unguessable token in its path:
 * POST /webhook/ok/TOKEN, with `token = TOKEN` in [page "ok:GROUP"].  Both
 * are checked before the body is parsed.
 *
 * Payload: {"webhookType": "MESSAGE_CREATED" (absent in OK's own example),
 * "sender": {"user_id": "user:…", "name"}, "recipient": {"chat_id": "chat:…"},
 * "message": {"text", "mid": "mid:…", "seq"}, "timestamp": ms}.  Ids are
 * strings with a type prefix, which is dropped.  A chat with the group's bot
 * is one user's, so its id is replaced by "p" and the host's keyed pseudonym
 * of it (ABI 1.6): ok:p<pseudo>:<mid>, thread ok:p<pseudo>, where a mid
 * that starts with its chat's id ("C3ecb9d02a600.15cea67d78d2059", as OK
 * makes them) loses that prefix: "15cea67d78d2059".  seq exceeds
 * 2^53 and is never read as a number.  OK does not deliver the group's own
 * messages, so there are no answers to recognise.
 *
 * Comments under the page's posts never come as webhooks: ok_poll.c polls
 * them (ABI 1.5) and hands each change over as a body only polls produce,
 * accepted only under APD_POLL_PATH without authentication (never from HTTP). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ok.h"

static const struct apd_config_key ok_keys[] = {
    {"allow_from", APD_KEY_LIST, offsetof(struct ok_config, allow_from),
     "217.20.145.192/28, 217.20.151.160/28, 217.20.153.48/28", 0, 0,
     "networks (CIDR) OK delivers webhooks from; others get 403"},
    {"api_base", APD_KEY_STR, offsetof(struct ok_config, api_base), "https://api.ok.ru/fb.do", 0,
     0, "OK REST API endpoint that comment polls use (pages with poll = yes)"},
    {"application_key", APD_KEY_STR, offsetof(struct ok_config, application_key), NULL, 0, 0,
     "public key of the OK application whose access tokens the pages use"},
    {"application_secret_key", APD_KEY_SECRET,
     offsetof(struct ok_config, application_secret_key), NULL, 0, 0,
     "secret key of that application: signs every API request"},
    {"poll_discussions", APD_KEY_INT, offsetof(struct ok_config, poll_discussions), "10", 1, 100,
     "latest discussions (post topics) of a page whose comments each round reads"},
    {0},
};

/* "user:123" -> "123"; NULL unless the rest is a usable id. */
static const char *strip_prefix(const char *s, const char *prefix)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) == 0)
        s += n;
    return pu_token_ok(s, 128) ? s : NULL;
}

static int emit_ignored(const char *type, const char *quarantine, apd_emit_fn emit, void *ctx)
{
    struct apd_event ev;
    pu_event(&ev, APD_EV_IGNORED, type);
    ev.quarantine = quarantine;
    return emit(ctx, &ev);
}

static int on_message(const struct oks *ok, const struct json *root, const struct apd_page *page,
                      const char *qr, apd_emit_fn emit, void *ctx)
{
    const char *mid = strip_prefix(json_text(json_path(root, "message.mid")), "mid:");
    const char *chat = strip_prefix(json_text(json_path(root, "recipient.chat_id")), "chat:");
    if (mid == NULL || chat == NULL)
        return emit_ignored("MESSAGE_CREATED", "OK message without message.mid or "
                            "recipient.chat_id", emit, ctx);
    const char *user = strip_prefix(json_text(json_path(root, "sender.user_id")), "user:");
    char appeal[300], thread[160], dedup[160], pseudo[18];
    size_t cl = strlen(chat);
    const char *own = strncmp(mid, chat, cl) == 0 && mid[cl] == '.' && mid[cl + 1] ? mid + cl + 1
                                                                                 : mid;
    const char *conv = pu_private_id(ok->api, ok->handle, chat, pseudo);
    if (conv == chat)
        own = mid;   /* a host without pseudonyms: the ids it always had */
    snprintf(appeal, sizeof(appeal), "ok:%s:%s", conv, own);
    snprintf(thread, sizeof(thread), "ok:%s", conv);
    if (own == mid)
        snprintf(dedup, sizeof(dedup), "ok:mid:%s", mid);
    else
        snprintf(dedup, sizeof(dedup), "ok:mid:%s:%s", conv, own);
    struct apd_event ev;
    pu_event(&ev, APD_EV_CREATED, "MESSAGE_CREATED");
    ev.dedup_key = dedup;
    ev.quarantine = qr;
    ev.page = page ? page->id : NULL;
    ev.appeal_id = appeal;
    ev.thread = thread;
    ev.item_kind = "message";
    ev.author_id = user;
    ev.author_name = json_str(json_path(root, "sender.name"));
    ev.text = pu_str(json_path(root, "message.text"), &ev.text_len);
    ev.created_ms = pu_i64(root, "timestamp", 0);
    return emit(ctx, &ev);
}

static enum apd_verdict ok_handle(void *state, const struct apd_request *req, unsigned flags,
                                  struct apd_reply *reply, apd_emit_fn emit, void *ctx)
{
    struct oks *ok = state;
    bool noauth = flags & APD_HANDLE_NOAUTH;
    if (!noauth && !pu_addr_allowed(req->remote_addr, ok->cfg->allow_from.v,
                                    ok->cfg->allow_from.n, NULL))
        return pu_reject(reply, 403, "peer address is not in allow_from");
    const char *token = req->path && req->path[0] == '/' ? req->path + 1 : "";
    const struct apd_page *page = token[0] ? ok->api->page_by_token(ok->handle, token) : NULL;
    if (page == NULL && !noauth)
        return pu_reject(reply, 404, "unknown page token");
    struct json_doc *doc = pu_parse(req, reply);
    if (doc == NULL)
        return APD_REJECT;
    const struct json *root = &doc->root;
    if (root->type != JSON_OBJECT) {
        json_free(doc);
        return pu_reject(reply, 400, "not an OK webhook (not a JSON object)");
    }
    if (noauth && req->path && strcmp(req->path, APD_POLL_PATH) == 0) {
        int prc = ok_on_polled(root, pu_quarantine_reason(doc->flags), emit, ctx);
        json_free(doc);
        return prc == 0 ? APD_ACCEPT : pu_reject(reply, 503, "could not keep the event");
    }
    const char *type = json_str(json_get(root, "webhookType"));
    const struct json *msg = json_get(root, "message");
    int rc;
    if ((type == NULL || strcmp(type, "MESSAGE_CREATED") == 0) && msg &&
        msg->type == JSON_OBJECT)
        rc = on_message(ok, root, page, pu_quarantine_reason(doc->flags), emit, ctx);
    else
        rc = emit_ignored(type ? type : "unknown", NULL, emit, ctx);
    json_free(doc);
    return rc == 0 ? APD_ACCEPT : pu_reject(reply, 503, "could not keep the event");
}

static void *ok_init(const struct apd_host_api *api, void *handle, const void *config,
                     char *err, size_t errlen)
{
    const struct ok_config *c = config;
    for (size_t i = 0; i < c->allow_from.n; i++)
        if (!pu_cidr_valid(c->allow_from.v[i])) {
            snprintf(err, errlen, "allow_from: '%s' is not an address or a CIDR network",
                     c->allow_from.v[i]);
            return NULL;
        }
    if ((c->application_key == NULL) != (c->application_secret_key == NULL)) {
        snprintf(err, errlen, "application_key and application_secret_key go together (both "
                 "are needed to sign OK API requests)");
        return NULL;
    }
    struct oks *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->api = api;
    s->handle = handle;
    s->cfg = c;
    return s;
}

static void ok_destroy(void *state) { free(state); }

/* OK limits requests per application and method without publishing a
 * number; a few a second per daemon stays far from it. */
static const struct apd_poll_ops ok_poll_ops = {
    .struct_size = sizeof(struct apd_poll_ops),
    .build = ok_poll_build,
    .parse = ok_poll_parse,
    .min_gap_ms = 200,
};

static const struct apd_source_ops ok_ops = {
    .struct_size = sizeof(struct apd_source_ops),
    .handle = ok_handle,
    .ok_body = "ok",
    .poll = &ok_poll_ops,
};

APD_PLUGIN_DEFINE(.kind = APD_PLUGIN_SOURCE, .name = "source_ok", .version = "1.2",
                  .description = "OK Bot API webhook: private messages to groups, "
                                 "authenticated by path token and source network; comments under the "
                                 "page's posts polled through the OK REST API",
                  .keys = ok_keys, .config_size = sizeof(struct ok_config), .init = ok_init,
                  .destroy = ok_destroy, .source = &ok_ops);
