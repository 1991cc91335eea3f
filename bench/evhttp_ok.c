/* The baseline of the intake benchmark: a minimal evhttp server on one
 * libevent thread that reads each request and answers 200 "ok" — the HTTP
 * ceiling the daemon's durable path is measured against (run-intake.sh).
 *
 *   evhttp_ok PORT        listens on 127.0.0.1:PORT until SIGTERM/SIGINT */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static void on_request(struct evhttp_request *req, void *arg)
{
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, "ok", 2);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: evhttp_ok PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_max_body_size(http, 1 << 20);   /* as the daemon's default http.max_body */
    evhttp_set_allowed_methods(http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
    evhttp_set_gencb(http, on_request, NULL);
    if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1])) != 0) {
        fprintf(stderr, "evhttp_ok: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
