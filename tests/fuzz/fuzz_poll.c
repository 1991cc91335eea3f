/* libFuzzer harness for a pull source's response parser (ABI 1.5
 * apd_poll_ops.parse), with the plugin compiled in and a fake host.
 *
 * Input: byte 0 is the cursor's length n (taken modulo 200), the next n bytes
 * the cursor the host would have read from Redis (shared by every instance,
 * so not trusted either), the rest the API's response body.  build() runs on
 * the same cursor; every item parse() hands over goes back through handle()
 * under APD_POLL_PATH without authentication, as the host does, and every
 * event is checked like fuzz_source.c checks them. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appealsd/plugin.h"

extern const struct apd_plugin apd_plugin_entry;

#define FUZZ_SECRET "fuzz-Secret_0"

static const struct apd_page page = {
    .struct_size = sizeof(struct apd_page), .source = "fuzz", .id = "100001",
    .org = "cur", .secret = FUZZ_SECRET, .poll = 1, .poll_interval_ms = 1000,
    .api_token = "123:fuzz-token",
};

static void f_log(void *handle, int level, const char *fmt, ...) {}
static const struct apd_page *f_page_find(void *handle, const char *id)
{
    return id && *id ? &page : NULL;
}
static const struct apd_page *f_page_by_token(void *handle, const char *token) { return NULL; }

static const struct apd_host_api api = {
    .abi_major = APD_PLUGIN_ABI_MAJOR, .abi_minor = APD_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(api), .log = f_log, .page_find = f_page_find,
    .page_by_token = f_page_by_token,
};

static void *state;

static void *make_config(void)
{
    char *cfg = calloc(1, apd_plugin_entry.config_size + 1);
    for (const struct apd_config_key *k = apd_plugin_entry.keys; k && k->name; k++) {
        char *f = cfg + k->offset;
        const char *v = k->type == APD_KEY_SECRET ? FUZZ_SECRET : k->def;
        if (v == NULL && k->type == APD_KEY_STR)
            v = "fuzz";   /* OK's application_key */
        if (v == NULL)
            continue;
        switch (k->type) {
        case APD_KEY_STR:
        case APD_KEY_SECRET: *(char **)f = strdup(v); break;
        case APD_KEY_BOOL: *(bool *)f = strcmp(v, "yes") == 0; break;
        case APD_KEY_INT:
        case APD_KEY_DURATION: *(int64_t *)f = strtoll(v, NULL, 10) > 4096 ? 4096
                                                                          : strtoll(v, NULL, 10);
            if (k->type == APD_KEY_DURATION)
                *(int64_t *)f = 86400000;
            break;
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
    if (state == NULL || apd_plugin_entry.source->poll == NULL) {
        fprintf(stderr, "fuzz: %s init failed or cannot poll: %s\n", apd_plugin_entry.name,
                err);
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
    touch(ev->reply_to);
    touch(ev->thread);
    touch(ev->quarantine);
    if (ev->type != APD_EV_IGNORED && ev->type != APD_EV_ANSWER && ev->appeal_id == NULL)
        abort();
    return 0;
}

static const char *no_header(const struct apd_request *r, const char *name) { return NULL; }

/* What the host does with an item: handle() must accept what parse() made. */
static int item(void *ctx, const char *body, size_t len)
{
    char *copy = malloc(len + 1);
    memcpy(copy, body, len);
    copy[len] = '\0';
    struct apd_request req = {.struct_size = sizeof(req), .path = APD_POLL_PATH, .body = copy,
                              .body_len = len, .header = no_header};
    struct apd_reply reply = {0};
    enum apd_verdict v = apd_plugin_entry.source->handle(state, &req, APD_HANDLE_NOAUTH, &reply,
                                                         emit, NULL);
    if (v != APD_ACCEPT)
        abort();   /* a plugin must understand its own items */
    free(copy);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t n = data[0] % 200;
    if (n > size - 1)
        n = size - 1;
    char cursor[201];
    memcpy(cursor, data + 1, n);
    cursor[n] = '\0';
    size_t blen = size - 1 - n;
    char *body = malloc(blen + 1);   /* fetch.c hands over a terminated body */
    memcpy(body, data + 1 + n, blen);
    body[blen] = '\0';
    const struct apd_poll_ops *po = apd_plugin_entry.source->poll;
    static struct apd_poll_req req;
    char err[256];
    if (po->build(state, &page, cursor, &req, err, sizeof(err)) == 0 &&
        memchr(req.url, '\0', sizeof(req.url)) == NULL)
        abort();
    static struct apd_poll_res res;
    memset(&res, 0, sizeof(res));
    snprintf(res.cursor, sizeof(res.cursor), "%s", cursor);
    po->parse(state, &page, cursor, 200, body, blen, &res, item, NULL);
    if (memchr(res.cursor, '\0', sizeof(res.cursor)) == NULL ||
        memchr(res.error, '\0', sizeof(res.error)) == NULL ||
        memchr(res.note, '\0', sizeof(res.note)) == NULL)
        abort();
    free(body);
    return 0;
}
