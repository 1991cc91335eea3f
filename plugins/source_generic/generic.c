/* Generic JSON source: appeals exported by other systems (the Gosuslugi
 * feedback platform, a municipal portal, a CRM), in one documented schema,
 * docs/generic-source.md ("appealsd.generic/1").
 *
 * Authentication: HMAC-SHA256 of TIMESTAMP "." BODY under the source's
 * hmac_key, hex, in the header signature_header ("sha256=<hex>" or just the
 * hex), with the Unix time in seconds in timestamp_header, checked in
 * constant time before the body is parsed.  A timestamp outside
 * signature_window of now is refused, so a captured request cannot be
 * replayed later (the scheme the daemon's own deliveries use, so a sender
 * that verifies them signs the same way); signature_window = 0 keeps the
 * signature over the body alone, replayable, for senders not yet updated.  One key per source:
 * give each sending system its own [source "NAME"] with plugin =
 * source_generic, its own path and key, and name the systems it speaks for
 * (systems = pos): a body naming another system is refused.
 *
 * Appeal ids: gen:<system>:<id>; dedup key gen:<system>:ev:<event_id> when
 * the sender gives an event_id.  Schema violations are 400 with the reason
 * (the sender is a system under someone's control that can fix them); an
 * "event" value this version does not know is acknowledged as IGNORED. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "plugin_util.h"
#include "units.h"

#define GEN_SCHEMA "appealsd.generic/1"

struct gen_config {
    char *hmac_key;
    int64_t window_ms;
    char *timestamp_header;
    char *systems;
    bool require_signature;
    char *signature_header;
};

struct gen {
    const struct apd_host_api *api;
    void *handle;
    const struct gen_config *cfg;
};

#define CFG(f) offsetof(struct gen_config, f)
static const struct apd_config_key gen_keys[] = {
    {"hmac_key", APD_KEY_SECRET, CFG(hmac_key), NULL, 0, 0,
     "key of the HMAC-SHA256 signature over the raw body"},
    {"systems", APD_KEY_STR, CFG(systems), NULL, 0, 0,
     "the sending systems (comma-separated) whose bodies this source's key signs; a body "
     "naming another system is refused (403)"},
    {"require_signature", APD_KEY_BOOL, CFG(require_signature), "yes", 0, 0,
     "refuse to start without hmac_key (no: accept unsigned bodies)"},
    {"signature_window", APD_KEY_DURATION, CFG(window_ms), "5min", 0, 86400000,
     "a signed timestamp further than this from now is refused (replays); 0: the signature "
     "covers the body alone, without a timestamp"},
    {"timestamp_header", APD_KEY_STR, CFG(timestamp_header), "X-Appealsd-Timestamp", 0, 0,
     "header carrying the signed Unix time in seconds"},
    {"signature_header", APD_KEY_STR, CFG(signature_header), "X-Appealsd-Signature", 0, 0,
     "header carrying sha256=<hex HMAC of the body>"},
    {0},
};

static const struct {
    const char *name;
    enum apd_event_type type;
} events[] = {
    {"created", APD_EV_CREATED}, {"edited", APD_EV_EDITED},   {"deleted", APD_EV_DELETED},
    {"restored", APD_EV_RESTORED}, {"answer", APD_EV_ANSWER},
};

/* The signed timestamp's prefix "SECONDS." into buf (empty without a
 * window); NULL when it is missing, malformed or outside the window. */
static const char *signed_prefix(const struct gen *g, const struct apd_request *req,
                                 char *buf, size_t len)
{
    buf[0] = '\0';
    if (g->cfg->window_ms == 0)
        return buf;
    const char *ts = pu_header(req, g->cfg->timestamp_header);
    char *end;
    if (ts == NULL || *ts < '0' || *ts > '9' || strlen(ts) > 12)
        return NULL;
    long long sec = strtoll(ts, &end, 10);
    long long skew_ms = ((long long)time(NULL) - sec) * 1000;
    if (*end != '\0' || skew_ms > g->cfg->window_ms || -skew_ms > g->cfg->window_ms)
        return NULL;
    snprintf(buf, len, "%lld.", sec);
    return buf;
}

static bool signature_ok(const struct gen *g, const struct apd_request *req)
{
    const char *sig = pu_header(req, g->cfg->signature_header);
    char prefix[24];
    if (sig == NULL || signed_prefix(g, req, prefix, sizeof(prefix)) == NULL)
        return false;
    if (strncmp(sig, "sha256=", 7) == 0)
        sig += 7;
    char want[65], got[65];
    size_t n = strlen(sig);
    if (n != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        got[i] = (char)tolower((unsigned char)sig[i]);
    got[64] = '\0';
    hmac_sha256_hex2(g->cfg->hmac_key, strlen(g->cfg->hmac_key), prefix, strlen(prefix),
                     req->body, req->body_len, want);
    return ct_streq(got, want);
}

/* Whether system is one of the comma-separated names of list.  A key signs
 * for the systems the administrator named: without the binding, one
 * sender's key could create, answer or withdraw another system's appeals
 * (gen:<system>:<id>).  No list (only with require_signature = no): any. */
static bool system_bound(const char *list, const char *system)
{
    if (list == NULL)
        return true;
    size_t n = strlen(system);
    for (const char *p = list; *p;) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, ", ");
        if (len == n && strncmp(p, system, n) == 0)
            return true;
        p += len;
    }
    return false;
}

/* A schema field that must be an id token; NULL (and *bad set) otherwise. */
static const char *token_field(const struct json *root, const char *key, size_t max,
                               bool required, const char **bad)
{
    const struct json *v = json_get(root, key);
    const char *s = json_text(v);
    if (v == NULL && !required)
        return NULL;
    if (!pu_token_ok(s, max) && *bad == NULL)
        *bad = key;
    return pu_token_ok(s, max) ? s : NULL;
}

static int created_ms(const struct json *v, int64_t *ms)
{
    if (v == NULL) {
        *ms = 0;
        return 0;
    }
    if (v->type == JSON_NUMBER)
        return json_int64(v, ms) ? 0 : -1;
    const char *s = json_str(v);
    return s && parse_iso8601(s, NULL, ms) == 0 ? 0 : -1;
}

struct fields {
    const char *system, *id, *page, *event_id, *reply_to, *thread, *kind;
};

static enum apd_verdict build(struct gen *g, const struct json *root, unsigned flags,
                              struct apd_reply *reply, struct apd_event *ev, struct fields *f)
{
    const char *bad = NULL;
    const char *schema = json_str(json_get(root, "schema"));
    if (json_get(root, "schema") && (schema == NULL || strcmp(schema, GEN_SCHEMA) != 0))
        return pu_reject(reply, 400, "unsupported schema (this daemon reads " GEN_SCHEMA ")");
    f->system = token_field(root, "system", 64, true, &bad);
    f->id = token_field(root, "id", 128, true, &bad);
    f->page = token_field(root, "page", 128, true, &bad);
    f->event_id = token_field(root, "event_id", 128, false, &bad);
    f->thread = token_field(root, "thread", 128, false, &bad);
    f->reply_to = token_field(root, "reply_to", 128, false, &bad);
    f->kind = token_field(root, "kind", 32, false, &bad);
    const char *event = json_str(json_get(root, "event"));
    if (bad == NULL && event == NULL)
        bad = "event";
    if (bad) {
        static char msg[160];   /* read by the host after handle() returns */
        snprintf(msg, sizeof(msg), "field '%s' is missing or not an id (1-128 printable "
                 "ASCII characters, no spaces, '|', quotes or braces)", bad);
        return pu_reject(reply, 400, msg);
    }
    if (!(flags & APD_HANDLE_NOAUTH) && !system_bound(g->cfg->systems, f->system))
        return pu_reject(reply, 403, "the body names a system this source's key does not "
                                     "sign for (see its systems key)");
    if (g->api->page_find(g->handle, f->page) == NULL)
        return pu_reject(reply, 404, "unknown page");
    pu_event(ev, APD_EV_IGNORED, event);
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
        if (strcmp(event, events[i].name) == 0)
            ev->type = events[i].type;
    if (ev->type == APD_EV_ANSWER && f->reply_to == NULL)
        return pu_reject(reply, 400, "an answer needs reply_to (the id it answers)");
    if (created_ms(json_get(root, "created_at"), &ev->created_ms) != 0)
        return pu_reject(reply, 400, "created_at is neither ISO 8601 nor milliseconds");
    return APD_ACCEPT;
}

static enum apd_verdict gen_handle(void *state, const struct apd_request *req, unsigned flags,
                                   struct apd_reply *reply, apd_emit_fn emit, void *ctx)
{
    struct gen *g = state;
    if (!(flags & APD_HANDLE_NOAUTH) && g->cfg->hmac_key && !signature_ok(g, req))
        return pu_reject(reply, 403, "missing or wrong body signature, or its timestamp is "
                                     "missing or outside signature_window");
    struct json_doc *doc = pu_parse(req, reply);
    if (doc == NULL)
        return APD_REJECT;
    const struct json *root = &doc->root;
    struct apd_event ev;
    struct fields f = {0};
    enum apd_verdict v = root->type != JSON_OBJECT
                             ? pu_reject(reply, 400, "not a JSON object")
                             : build(g, root, flags, reply, &ev, &f);
    if (v != APD_ACCEPT) {
        json_free(doc);
        return v;
    }
    char appeal[220], dedup[220], thread[220], reply_to[220];
    snprintf(appeal, sizeof(appeal), "gen:%s:%s", f.system, f.id);
    if (f.event_id) {
        snprintf(dedup, sizeof(dedup), "gen:%s:ev:%s", f.system, f.event_id);
        ev.dedup_key = dedup;
    }
    snprintf(thread, sizeof(thread), "gen:%s:%s", f.system, f.thread ? f.thread : f.id);
    if (ev.type == APD_EV_ANSWER) {
        snprintf(reply_to, sizeof(reply_to), "gen:%s:%s", f.system, f.reply_to);
        ev.reply_to = reply_to;
    } else if (ev.type != APD_EV_IGNORED) {
        ev.appeal_id = appeal;
    }
    ev.page = f.page;
    ev.thread = thread;
    ev.item_kind = f.kind ? f.kind : "message";
    ev.quarantine = ev.type == APD_EV_IGNORED ? NULL : pu_quarantine_reason(doc->flags);
    const struct json *author = json_get(root, "author");
    ev.author_id = json_text(author && author->type == JSON_OBJECT ? json_get(author, "id")
                                                                   : author);
    ev.author_name = json_str(json_get(author, "name"));
    ev.text = pu_str(json_get(root, "text"), &ev.text_len);
    const char *link = json_str(json_get(root, "link"));
    if (link && (strncmp(link, "https://", 8) == 0 || strncmp(link, "http://", 7) == 0))
        ev.link = link;
    int rc = emit(ctx, &ev);
    json_free(doc);
    return rc == 0 ? APD_ACCEPT : pu_reject(reply, 503, "could not keep the event");
}

static void *gen_init(const struct apd_host_api *api, void *handle, const void *config,
                      char *err, size_t errlen)
{
    const struct gen_config *c = config;
    if (pu_need_secret(c->hmac_key, c->require_signature, "hmac_key", "require_signature",
                       "the key the sender signs bodies with", err, errlen) != 0 ||
        pu_need_secret(c->systems, c->require_signature, "systems", "require_signature",
                       "the names of the systems that sign with this key", err, errlen) != 0)
        return NULL;
    struct gen *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->api = api;
    s->handle = handle;
    s->cfg = c;
    return s;
}

static void gen_destroy(void *state) { free(state); }

static const struct apd_source_ops gen_ops = {
    .struct_size = sizeof(struct apd_source_ops),
    .handle = gen_handle,
    .ok_body = "ok",
};

APD_PLUGIN_DEFINE(.kind = APD_PLUGIN_SOURCE, .name = "source_generic", .version = "1.0",
                  .description = "generic JSON (appealsd.generic/1) with an HMAC-SHA256 "
                                 "signature, for exports from other systems",
                  .keys = gen_keys, .config_size = sizeof(struct gen_config),
                  .init = gen_init, .destroy = gen_destroy, .source = &gen_ops);
