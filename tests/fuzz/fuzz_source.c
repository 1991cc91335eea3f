/* libFuzzer harness for one source plugin, linked in statically (one target
 * per plugin: they all export apd_plugin_entry).
 *
 * The plugin gets a fake host whose directory knows every page id and every
 * token, so inputs reach past the page lookup; its config block is filled
 * from the plugin's own key table (defaults, plus secrets from
 * FUZZ_SECRET_KEYS so init() succeeds).  The first input byte picks flags:
 * bit 0 skips authentication (replay, `appealsd parse`), bit 1 sends the
 * right secret headers, bit 2 a path token.  Every emitted event is checked
 * for strings the host could not copy. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "appealsd/plugin.h"

extern const struct apd_plugin apd_plugin_entry;

#define FUZZ_SECRET "fuzz-Secret_0"

static const struct apd_page page = {
    .struct_size = sizeof(struct apd_page), .source = "fuzz", .id = "100001",
    .org = "cur", .secret = FUZZ_SECRET, .confirmation = "c0ffee", .token = "tok",
};

/* Page 100003 takes its group chats' messages (ABI 1.4 group_chats). */
static const struct apd_page page_chats = {
    .struct_size = sizeof(struct apd_page), .source = "fuzz", .id = "100003",
    .org = "cur", .secret = FUZZ_SECRET, .confirmation = "c0ffee", .group_chats = 1,
};

static void f_log(void *handle, int level, const char *fmt, ...) {}
static const struct apd_page *f_page_find(void *handle, const char *id)
{
    if (id && strcmp(id, "100003") == 0)
        return &page_chats;
    return id && *id ? &page : NULL;
}
static const struct apd_page *f_page_by_token(void *handle, const char *token)
{
    return token && strcmp(token, "tok") == 0 ? &page : NULL;
}

static const struct apd_host_api api = {
    .abi_major = APD_PLUGIN_ABI_MAJOR, .abi_minor = APD_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(api), .log = f_log, .page_find = f_page_find,
    .page_by_token = f_page_by_token,
};

static const char *const headers[] = {
    "X-Telegram-Bot-Api-Secret-Token", FUZZ_SECRET, "X-Max-Bot-Api-Secret", FUZZ_SECRET,
    "X-Appealsd-Signature", "sha256=0000000000000000000000000000000000000000000000000000000000000000",
    NULL,
};

static const char *f_header(const struct apd_request *r, const char *name)
{
    const char *const *h = r->host_private;
    for (; h && h[0]; h += 2)
        if (strcasecmp(h[0], name) == 0)
            return h[1];
    return NULL;
}

static void *state;

/* Defaults of the key table; every secret-like key gets FUZZ_SECRET. */
static void *make_config(void)
{
    char *cfg = calloc(1, apd_plugin_entry.config_size + 1);
    for (const struct apd_config_key *k = apd_plugin_entry.keys; k && k->name; k++) {
        char *f = cfg + k->offset;
        const char *v = k->type == APD_KEY_SECRET ? FUZZ_SECRET : k->def;
        /* source_generic binds its key to the systems it names: the seeds' one */
        if (strcmp(k->name, "systems") == 0)
            v = "pos";
        /* source_ok signs API requests with both application keys, or neither */
        if (strcmp(k->name, "application_key") == 0)
            v = "CBAFUZZAPPKEY";
        if (v == NULL)
            continue;
        switch (k->type) {
        case APD_KEY_STR:
        case APD_KEY_SECRET: *(char **)f = strdup(v); break;
        case APD_KEY_BOOL: *(bool *)f = strcmp(v, "yes") == 0; break;
        case APD_KEY_INT: *(int64_t *)f = strtoll(v, NULL, 10) > 4096 ? 4096
                                                                   : strtoll(v, NULL, 10); break;
        case APD_KEY_LIST: {
            struct { char **v; size_t n; } *l = (void *)f;
            l->v = calloc(4, sizeof(char *));
            l->v[l->n++] = strdup("217.20.145.192/28");
            break;
        }
        default: break;
        }
    }
    return cfg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256] = "";
    state = apd_plugin_entry.init(&api, NULL, make_config(), err, sizeof(err));
    if (state == NULL) {
        fprintf(stderr, "fuzz: %s init failed: %s\n", apd_plugin_entry.name, err);
        abort();
    }
    return 0;
}

static volatile size_t sink;

static void touch(const char *s)
{
    if (s)
        sink += strlen(s);
}

static int emit(void *ctx, const struct apd_event *ev)
{
    if (ev->struct_size != sizeof(*ev) || ev->type < APD_EV_CREATED || ev->type > APD_EV_IGNORED)
        abort();
    touch(ev->platform_type);
    touch(ev->dedup_key);
    touch(ev->appeal_id);
    touch(ev->page);
    touch(ev->author_id);
    touch(ev->author_name);
    touch(ev->link);
    touch(ev->reply_to);
    touch(ev->thread);
    touch(ev->item_kind);
    touch(ev->quarantine);
    if (ev->text) {
        volatile char c = 0;
        for (size_t i = 0; i < ev->text_len; i++)
            c ^= ev->text[i];
        (void)c;
    }
    if (ev->type != APD_EV_IGNORED && ev->type != APD_EV_ANSWER && ev->appeal_id == NULL)
        abort();   /* the pipeline needs an id for everything but answers */
    if (ev->type == APD_EV_ANSWER && ev->appeal_id == NULL && ev->reply_to == NULL &&
        ev->quarantine == NULL)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned sel = data[0];
    /* The listener hands plugins a NUL-terminated copy. */
    char *body = malloc(size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    struct apd_request req = {
        .struct_size = sizeof(req), .path = sel & 4 ? "/tok" : "", .body = body,
        .body_len = size - 1, .remote_addr = "217.20.145.193", .header = f_header,
        .host_private = sel & 2 ? (void *)headers : NULL,
    };
    struct apd_reply reply = {0};
    enum apd_verdict v = apd_plugin_entry.source->handle(state, &req, sel & 1 ? APD_HANDLE_NOAUTH
                                                                              : 0,
                                                         &reply, emit, NULL);
    if (v == APD_REJECT && (reply.status < 400 || reply.status > 599 || reply.reason == NULL))
        abort();   /* the host needs a status and a reason for every refusal */
    touch(reply.reason);
    free(body);
    return 0;
}
