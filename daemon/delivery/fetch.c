#include "fetch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "sbuf.h"
#include "units.h"

#define FETCH_MAX_BODY (64 * 1024)

struct fetch_xfer {
    struct fetch *f;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    struct sbuf resp;
    size_t max_body;
    char errbuf[CURL_ERROR_SIZE];
    fetch_cb cb;
    void *arg;
    int64_t start_ms;
    struct fetch_xfer *prev, *next;
};

struct fetch {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct fetch_xfer *xfers;
    size_t n;
    char *user_agent;
};

/* What curl asked us to watch on one socket. */
struct fetch_sock {
    struct fetch *f;
    curl_socket_t fd;
    struct event *ev;
};

static void check_done(struct fetch *f);

static void xfer_free(struct fetch_xfer *x)
{
    struct fetch *f = x->f;
    if (x->prev)
        x->prev->next = x->next;
    else
        f->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    f->n--;
    curl_multi_remove_handle(f->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->hdrs);
    free(x->body);
    sbuf_free(&x->resp);
    free(x);
}

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
    struct fetch_sock *s = arg;
    struct fetch *f = s->f;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(f->multi, fd, flags, &running);
    check_done(f);   /* s may be gone now */
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
    struct fetch *f = userp;
    struct fetch_sock *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            event_free(s->ev);
            free(s);
            curl_multi_assign(f->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return -1;   /* curl aborts the transfers on this socket: better than a crash */
        s->f = f;
        s->fd = fd;
        s->ev = event_new(f->base, fd, 0, on_sock_event, s);
        curl_multi_assign(f->multi, fd, s);
    }
    short ev = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
               (what & CURL_POLL_OUT ? EV_WRITE : 0);
    event_del(s->ev);
    event_assign(s->ev, f->base, fd, ev, on_sock_event, s);
    return event_add(s->ev, NULL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct fetch *f = arg;
    int running;
    curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(f);
}

/* One non-repeating timer; a new expiry replaces the old one.  A zero
 * timeout is served on the next loop turn, never from inside curl. */
static int on_curl_timer(CURLM *m, long ms, void *userp)
{
    struct fetch *f = userp;
    if (ms < 0)
        return evtimer_del(f->timer);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return evtimer_add(f->timer, &tv);
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    struct fetch_xfer *x = arg;
    size_t len = size * n;
    if (x->resp.len < x->max_body)
        sbuf_add(&x->resp, p, len < x->max_body - x->resp.len ? len
                                                               : x->max_body - x->resp.len);
    return len;   /* the rest is read and dropped: the status is what counts */
}

static void finish(struct fetch_xfer *x, CURLcode rc)
{
    struct fetch_res res = {.elapsed_ms = mono_ms() - x->start_ms};
    curl_off_t ra = 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res.status);
        if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            res.retry_after_s = (int64_t)ra;
    } else {
        res.error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    }
    res.body = sbuf_str(&x->resp);
    res.body_len = x->resp.len;
    fetch_cb cb = x->cb;
    void *arg = x->arg;
    /* Freed before the callback, which may start new transfers; res points
     * into x, so copy what it needs first. */
    char *body = sbuf_steal(&x->resp);
    char err[CURL_ERROR_SIZE];
    if (res.error) {
        snprintf(err, sizeof(err), "%s", res.error);
        res.error = err;
    }
    res.body = body ? body : "";
    xfer_free(x);
    cb(arg, &res);
    free(body);
}

static void check_done(struct fetch *f)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct fetch_xfer *x = NULL;
        CURLcode rc = m->data.result;   /* m dies with remove_handle */
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        finish(x, rc);
    }
}

struct fetch *fetch_new(struct event_base *base, const char *user_agent)
{
    struct fetch *f = calloc(1, sizeof(*f));
    if (f == NULL || (f->multi = curl_multi_init()) == NULL)
        abort();
    f->base = base;
    f->user_agent = strdup(user_agent);
    f->timer = evtimer_new(base, on_timer, f);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
    return f;
}

static const char *const secret_params[] = {
    "access_token", "token", "key", "api_key", "apikey", "sig", "signature", "secret",
    "password", "passwd", "auth", "session_key", "client_secret", NULL,
};

static bool secret_param(const char *name, size_t len)
{
    for (const char *const *p = secret_params; *p; p++)
        if (strlen(*p) == len && strncasecmp(name, *p, len) == 0)
            return true;
    return false;
}

/* One "name=value" of a query (up to '&' or '#'): the name, and "***"
 * for the value when the name says it is a credential. */
static const char *redact_param(struct sbuf *b, const char *p)
{
    size_t n = strcspn(p, "&#"), k = strcspn(p, "=&#");
    if (k < n && secret_param(p, k)) {
        sbuf_add(b, p, k + 1);
        sbuf_adds(b, "***");
    } else {
        sbuf_add(b, p, n);
    }
    return p + n;
}

/* A path segment "bot<id>:<secret>" (Telegram's token) becomes "bot***". */
static const char *redact_segment(struct sbuf *b, const char *p)
{
    size_t n = strcspn(p, "/?#");
    if (n > 3 && strncmp(p, "bot", 3) == 0 && memchr(p, ':', n))
        sbuf_adds(b, "bot***");
    else
        sbuf_add(b, p, n);
    return p + n;
}

void fetch_url_for_log(const char *url, char *out, size_t outlen)
{
    struct sbuf b = SBUF_INIT;
    const char *p = url, *scheme = strstr(url, "://");
    if (scheme) {
        const char *host = scheme + 3, *end = host + strcspn(host, "/?#");
        const char *at = memchr(host, '@', (size_t)(end - host));
        sbuf_add(&b, url, (size_t)(host - url));
        if (at)
            sbuf_adds(&b, "***");
        p = at ? at : host;
        sbuf_add(&b, p, (size_t)(end - p));
        p = end;
    }
    while (*p == '/' || (*p && !strchr("?#", *p))) {
        if (*p == '/')
            sbuf_addc(&b, *p++);
        else
            p = redact_segment(&b, p);
    }
    while (*p == '?' || *p == '&') {
        sbuf_addc(&b, *p++);
        p = redact_param(&b, p);
    }
    if (*p == '#')
        sbuf_adds(&b, "#***");
    snprintf(out, outlen, "%.*s", (int)b.len, b.p ? b.p : "");
    sbuf_free(&b);
}

static int setup(struct fetch_xfer *x, const struct fetch_req *r, const char *ua)
{
    CURL *e = x->easy;
    int64_t connect_ms = r->timeout_ms < 10000 ? r->timeout_ms : 10000;
    char shown[512];
    /* curl would refuse a malformed URL only once the transfer runs, with
     * an error that does not say which URL: say it here, without its secrets. */
    CURLU *u = curl_url();
    CURLUcode uc = u ? curl_url_set(u, CURLUPART_URL, r->url, 0) : CURLUE_OUT_OF_MEMORY;
    curl_url_cleanup(u);
    if (uc != CURLUE_OK) {
        fetch_url_for_log(r->url, shown, sizeof(shown));
        log_error("fetch: cannot request %s: %s; the request is not sent", shown,
                  curl_url_strerror(uc));
        return -1;
    }
    CURLcode rc = curl_easy_setopt(e, CURLOPT_URL, r->url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc != CURLE_OK) {
        fetch_url_for_log(r->url, shown, sizeof(shown));
        log_error("fetch: cannot request %s: %s; the request is not sent", shown,
                  curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);   /* a signed POST is not redirected */
    curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    /* No "Expect: 100-continue" round trip before larger bodies. */
    x->hdrs = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        x->hdrs = curl_slist_append(x->hdrs, r->headers[i]);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    if (r->body) {
        x->body = malloc(r->body_len + 1);
        if (x->body == NULL)
            abort();
        memcpy(x->body, r->body, r->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
    return 0;
}

struct fetch_xfer *fetch_start(struct fetch *f, const struct fetch_req *r, fetch_cb cb,
                               void *arg)
{
    struct fetch_xfer *x = calloc(1, sizeof(*x));
    if (x == NULL || (x->easy = curl_easy_init()) == NULL)
        abort();
    x->f = f;
    x->cb = cb;
    x->arg = arg;
    x->start_ms = mono_ms();
    x->max_body = r->max_body ? r->max_body : FETCH_MAX_BODY;
    x->next = f->xfers;
    if (f->xfers)
        f->xfers->prev = x;
    f->xfers = x;
    f->n++;
    if (setup(x, r, f->user_agent) != 0) {
        xfer_free(x);
        return NULL;
    }
    CURLMcode mc = curl_multi_add_handle(f->multi, x->easy);
    if (mc != CURLM_OK) {
        char shown[512];
        fetch_url_for_log(r->url, shown, sizeof(shown));
        log_error("fetch: cannot start a request to %s: %s; the request is not sent", shown,
                  curl_multi_strerror(mc));
        xfer_free(x);
        return NULL;
    }
    return x;
}

void fetch_cancel(struct fetch *f, struct fetch_xfer *x)
{
    if (x)
        xfer_free(x);
}

size_t fetch_active(const struct fetch *f) { return f ? f->n : 0; }

void fetch_free(struct fetch *f)
{
    if (f == NULL)
        return;
    while (f->xfers)
        xfer_free(f->xfers);
    curl_multi_cleanup(f->multi);   /* may still call on_curl_socket: events alive */
    event_free(f->timer);
    free(f->user_agent);
    free(f);
}
