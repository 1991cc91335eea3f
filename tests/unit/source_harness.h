/* Runs a source plugin the way the daemon does, without the network: the
 * config text is loaded with the real config code (the plugin's keys, the
 * directory of pages), sources_start() makes the instances with the real host
 * API, and sh_post() calls the plugin's handle() with a request built here.
 *
 *   struct sh h;
 *   sh_start(&h, SH_CONFIG "[source \"vk\"]\n", "vk");
 *   sh_post(&h, body, .path = "/TOKEN", .headers = (const char *[]){"X-A", "1", NULL});
 *   CHECK_INT(h.v, APD_ACCEPT); CHECK_STR(h.ev.v[0]->appeal_id, "...");
 *   sh_stop(&h);
 *
 * Header-only (static functions): each test program includes it once. */
#ifndef APPEALSD_SOURCE_HARNESS_H
#define APPEALSD_SOURCE_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pevent.h"
#include "sources.h"
#include "test.h"

/* Organisations and the daemon's plugin_dir; tests append sources and pages. */
#define SH_CONFIG                                                        \
    "[daemon]\nplugin_dir = " PLUGIN_BUILD_DIR "\n"                      \
    "[org \"cur\"]\nname = ЦУР\ntype = cur\n"                            \
    "[org \"maykop\"]\nname = Администрация Майкопа\ntype = municipality\nparent = cur\n"

struct sh {
    struct apd_config *cfg;
    struct sources *srcs;
    struct source *src;
    struct pevents ev;
    struct apd_reply reply;
    enum apd_verdict v;
    char err[1024];
};

struct sh_req {
    const char *path;
    const char *const *headers;   /* name, value, ..., NULL */
    const char *peer;
    unsigned flags;
    size_t len;                   /* 0: strlen(body) */
};

static const char *sh_header(const struct apd_request *r, const char *name)
{
    const char *const *h = r->host_private;
    for (; h && h[0]; h += 2)
        if (strcasecmp(h[0], name) == 0)
            return h[1];
    return NULL;
}

/* Overwrites the stack the plugin's handle() used, so a reply->reason that
 * pointed into it (instead of living until the next call) shows up. */
__attribute__((noinline)) static void sh_scribble_stack(void)
{
    volatile char junk[16384];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = 'X';
}

/* Loads the config and starts every source; 0, or -1 with h->err set. */
static int sh_start(struct sh *h, const char *config_text, const char *source)
{
    memset(h, 0, sizeof(*h));
    char path[] = "/tmp/apd-test-source-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, config_text, strlen(config_text)) != (ssize_t)strlen(config_text))
        abort();
    close(fd);
    struct diag d = {0};
    struct config_opts o = {.path = path};
    h->cfg = config_load(&o, &d);
    unlink(path);
    if (h->cfg == NULL) {
        char *all = diag_join(&d, "; ");
        snprintf(h->err, sizeof(h->err), "%s", all);
        free(all);
        diag_free(&d);
        return -1;
    }
    diag_free(&d);
    h->srcs = sources_start(h->cfg, h->err, sizeof(h->err));
    if (h->srcs == NULL)
        return -1;
    h->src = sources_find(h->srcs, source);
    if (h->src == NULL) {
        snprintf(h->err, sizeof(h->err), "no source %s", source);
        return -1;
    }
    return 0;
}

static enum apd_verdict sh_post_req(struct sh *h, const char *body, struct sh_req q)
{
    pevents_free(&h->ev);
    memset(&h->reply, 0, sizeof(h->reply));
    if (h->src == NULL) {
        printf("# no source instance: %s\n", h->err);
        h->reply.status = -1;
        return h->v = APD_REJECT;
    }
    struct apd_request r = {
        .struct_size = sizeof(r), .path = q.path ? q.path : "", .body = body,
        .body_len = q.len ? q.len : strlen(body), .remote_addr = q.peer ? q.peer : "127.0.0.1",
        .header = sh_header, .host_private = (void *)q.headers,
    };
    h->v = h->src->ops->handle(h->src->state, &r, q.flags, &h->reply, pevents_collect, &h->ev);
    sh_scribble_stack();
    if (h->v == APD_REJECT && (h->reply.reason == NULL || strchr(h->reply.reason, 'X') ||
                               strlen(h->reply.reason) < 5))
        printf("# suspicious reason after the call: %s\n",
               h->reply.reason ? h->reply.reason : "(null)");
    return h->v;
}

#define sh_post(h, body, ...) sh_post_req((h), (body), (struct sh_req){__VA_ARGS__})

static void sh_stop(struct sh *h)
{
    pevents_free(&h->ev);
    h->src = NULL;
    sources_stop(h->srcs);
    config_unref(h->cfg);
    h->srcs = NULL;
    h->cfg = NULL;
}

/* The one event a request produced (NULL, with a diagnostic, otherwise). */
static const struct pevent *sh_one(const struct sh *h)
{
    if (h->v != APD_ACCEPT || h->ev.n != 1) {
        printf("# expected one accepted event: verdict %d (%d %s), %zu events\n", (int)h->v,
               h->reply.status, h->reply.reason ? h->reply.reason : "", h->ev.n);
        return NULL;
    }
    return h->ev.v[0];
}

#define CHECK_EVENT(h, type_, appeal_)                                        \
    do {                                                                      \
        const struct pevent *e_ = sh_one(h);                                  \
        CHECK(e_ != NULL);                                                    \
        if (e_) {                                                             \
            CHECK_STR(pevent_type_name(e_->type), type_);                     \
            CHECK_STR(e_->type == APD_EV_ANSWER ? e_->reply_to : e_->appeal_id, appeal_); \
        }                                                                     \
    } while (0)

#define CHECK_REJECT(h, status_)                                              \
    do {                                                                      \
        CHECK_INT((h)->v, APD_REJECT);                                        \
        CHECK_INT((h)->reply.status, status_);                                \
        CHECK_INT((h)->ev.n, 0);                                              \
    } while (0)

#endif
