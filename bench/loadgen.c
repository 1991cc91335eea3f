/* loadgen: realistic webhook traffic for appealsd benchmarks and fault tests.
 *
 *   loadgen -u http://127.0.0.1:8080 [-c CONNS] [-r RATE] [-d SECONDS | -n COUNT]
 *           [-t TEXTS.jsonl] [--noise P] [--redeliver P] [--edit P] [--delete P]
 *           [--acked FILE] [--seed N]
 *
 * Each connection keeps one request in flight (keep-alive).  With -r the
 * requests are paced to RATE per second in total (open loop: a slow server
 * does not slow the schedule, so latency includes queueing); without it every
 * connection sends as fast as answers come back.  Comments are VK
 * wall_reply_new events for the example pages with unique comment ids; a share
 * are redeliveries (the same event again), edits and deletes of earlier
 * comments, and noise.  --acked writes one line per answered request:
 * "APPEAL_ID KIND STATUS SEND_US ACK_US" (CLOCK_REALTIME µs), which the fault
 * tests compare with what reached Kafka.
 *
 * The summary (stdout, one JSON object) has counts by status, requests/s and
 * latency percentiles. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "json.h"
#include "sbuf.h"

struct page {
    int64_t group;
    const char *secret;
};

static const struct page pages[] = {
    {100001, "maykop-example-secret"}, {100002, "minzdrav-example-secret"},
    {100003, "takht-example-secret"},  {100004, "minobr-example-secret"},
    {100005, "cur-example-secret"},
};
#define NPAGES (sizeof(pages) / sizeof(pages[0]))

static const char *const builtin_texts[] = {
    "Добрый день! На улице Пионерской возле дома 12 уже месяц яма на дороге, когда отремонтируют?",
    "Третий день нет горячей воды на Шовгенова 5, управляющая компания трубку не берёт",
    "Подскажите пожалуйста как записаться к педиатру в поликлинику, талонов нет на госуслугах",
    "Мусор не вывозят с контейнерной площадки на Короленко уже неделю, воняет на весь двор",
    "Просим установить светофор у школы №7, дети переходят дорогу без перехода",
    "Спасибо администрации за новый сквер, очень красиво стало!",
    "👍👍👍",
    "Во дворе на Краснооктябрьской не горят фонари, вечером страшно ходить",
    "Автобус 4 опять не пришел по расписанию, сорок минут ждали на остановке",
    "Когда дадут газ в новом микрорайоне в Яблоновском? Обещали ещё осенью",
    "В Гиагинской отключили свет без предупреждения, уже шесть часов нет электричества",
    "Бродячие собаки у детского сада на Пролетарской кидаются на детей, примите меры",
};

struct sample {   /* a comment already sent, for redeliveries, edits, deletes */
    int page;
    int64_t post, id;
    char *body;
};

struct conn;

struct gen {
    struct event_base *base;
    char host[256];
    int port;
    int conns;
    double rate;
    double seconds;
    int64_t count;
    double p_noise, p_redeliver, p_edit, p_delete;
    char **texts;
    size_t ntexts;
    FILE *acked;
    struct sample *sent;
    size_t nsent, capsent;
    int64_t next_id;
    int64_t issued, answered, failed;
    int64_t by_status[6];  /* 2xx 3xx 4xx 5xx conn-error other */
    uint64_t *lat_us;
    size_t nlat, caplat;
    uint64_t start_us, end_us;
    struct conn *cs;
    struct event *pace, *stop;
    int64_t due;           /* requests the schedule has released */
    bool stopping;
};

struct conn {
    struct gen *g;
    struct evhttp_connection *ec;
    bool busy;
    uint64_t send_us;
    char appeal[96];
    const char *kind;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static double rnd(void) { return (double)random() / ((double)RAND_MAX + 1.0); }

static void vk_body(struct sbuf *b, const char *type, int page, int64_t post, int64_t id,
                    const char *text, const char *event_id)
{
    struct jw w;
    jw_init(&w, b);
    jw_obj(&w);
    jw_kstr(&w, "type", type);
    jw_kstr(&w, "event_id", event_id);
    jw_kstr(&w, "v", "5.199");
    jw_kint(&w, "group_id", pages[page].group);
    jw_kstr(&w, "secret", pages[page].secret);
    jw_key(&w, "object");
    jw_obj(&w);
    jw_kint(&w, "id", id);
    if (strcmp(type, "wall_reply_delete") == 0) {
        jw_kint(&w, "owner_id", -pages[page].group);
        jw_kint(&w, "deleter_id", 500000000 + id % 1000);
        jw_kint(&w, "post_id", post);
    } else {
        jw_kint(&w, "from_id", 500000000 + id % 100000);
        jw_kint(&w, "date", (int64_t)(now_us() / 1000000));
        jw_kstr(&w, "text", text);
        jw_kint(&w, "post_id", post);
        jw_kint(&w, "owner_id", -pages[page].group);
        jw_key(&w, "parents_stack");
        jw_arr(&w);
        jw_arr_end(&w);
        jw_key(&w, "thread");
        jw_obj(&w);
        jw_kint(&w, "count", 0);
        jw_obj_end(&w);
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
}

/* Builds the next request; returns its body (owned by the caller). */
static char *next_request(struct gen *g, struct conn *c)
{
    struct sbuf b = SBUF_INIT;
    char ev[64];
    double r = rnd();
    if (g->nsent > 0 && r < g->p_redeliver + g->p_edit + g->p_delete) {
        struct sample *s = &g->sent[random() % g->nsent];
        snprintf(c->appeal, sizeof(c->appeal), "vk:-%" PRId64 ":wall:%" PRId64 ":c%" PRId64,
                 pages[s->page].group, s->post, s->id);
        if (r < g->p_redeliver) {
            c->kind = "redelivery";
            sbuf_adds(&b, s->body);
            return sbuf_steal(&b);
        }
        snprintf(ev, sizeof(ev), "lg-%" PRId64 "-%08lx", g->next_id++, random());
        if (r < g->p_redeliver + g->p_edit) {
            c->kind = "edit";
            vk_body(&b, "wall_reply_edit", s->page, s->post, s->id,
                    "UPD: до сих пор ничего не сделано, пишу повторно", ev);
        } else {
            c->kind = "delete";
            vk_body(&b, "wall_reply_delete", s->page, s->post, s->id, "", ev);
        }
        return sbuf_steal(&b);
    }
    int page = (int)(random() % NPAGES);
    int64_t id = g->next_id++;
    int64_t post = 1000 + id / 50;
    const char *text = rnd() < g->p_noise ? "👍 спасибо за информацию"
                                         : g->texts[random() % g->ntexts];
    snprintf(ev, sizeof(ev), "lg-%" PRId64 "-%08lx", id, random());
    vk_body(&b, "wall_reply_new", page, post, id, text, ev);
    snprintf(c->appeal, sizeof(c->appeal), "vk:-%" PRId64 ":wall:%" PRId64 ":c%" PRId64,
             pages[page].group, post, id);
    c->kind = "new";
    if (g->nsent == g->capsent) {
        g->capsent = g->capsent ? g->capsent * 2 : 4096;
        g->sent = realloc(g->sent, g->capsent * sizeof(*g->sent));
    }
    if (g->nsent < 200000) {
        g->sent[g->nsent++] = (struct sample){page, post, id, strdup(b.p)};
    }
    return sbuf_steal(&b);
}

static void send_one(struct conn *c);

static bool more_allowed(struct gen *g)
{
    if (g->stopping)
        return false;
    if (g->count > 0 && g->issued >= g->count)
        return false;
    if (g->rate > 0 && g->issued >= g->due)
        return false;
    return true;
}

static void record_latency(struct gen *g, uint64_t us)
{
    if (g->nlat == g->caplat) {
        g->caplat = g->caplat ? g->caplat * 2 : 65536;
        g->lat_us = realloc(g->lat_us, g->caplat * sizeof(uint64_t));
    }
    g->lat_us[g->nlat++] = us;
}

static void maybe_finish(struct gen *g)
{
    if (!g->stopping && !(g->count > 0 && g->issued >= g->count))
        return;
    for (int i = 0; i < g->conns; i++)
        if (g->cs[i].busy)
            return;
    event_base_loopexit(g->base, NULL);
}

static void on_response(struct evhttp_request *req, void *arg)
{
    struct conn *c = arg;
    struct gen *g = c->g;
    uint64_t t = now_us();
    int code = req ? evhttp_request_get_response_code(req) : 0;
    c->busy = false;
    g->answered++;
    int bucket = code >= 200 && code < 600 ? code / 100 - 2 : (code == 0 ? 4 : 5);
    g->by_status[bucket]++;
    if (code == 0)
        g->failed++;
    record_latency(g, t - c->send_us);
    if (g->acked)
        fprintf(g->acked, "%s %s %d %" PRIu64 " %" PRIu64 "\n", c->appeal, c->kind, code,
                c->send_us, t);
    if (more_allowed(g))
        send_one(c);
    else
        maybe_finish(g);
}

static void on_conn_close(struct evhttp_connection *ec, void *arg)
{
    /* evhttp reconnects on the next request; nothing to do */
}

static void send_one(struct conn *c)
{
    struct gen *g = c->g;
    char *body = next_request(g, c);
    struct evhttp_request *req = evhttp_request_new(on_response, c);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", g->host);
    evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    free(body);
    c->busy = true;
    c->send_us = now_us();
    g->issued++;
    if (evhttp_make_request(c->ec, req, EVHTTP_REQ_POST, "/webhook/vk") != 0) {
        c->busy = false;
        g->failed++;
    }
}

static void on_pace(evutil_socket_t fd, short what, void *arg)
{
    struct gen *g = arg;
    double elapsed = (double)(now_us() - g->start_us) / 1e6;
    g->due = (int64_t)(elapsed * g->rate);
    for (int i = 0; i < g->conns && more_allowed(g); i++)
        if (!g->cs[i].busy)
            send_one(&g->cs[i]);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct gen *g = arg;
    g->stopping = true;
    maybe_finish(g);
}

/* SIGTERM/SIGINT: stop sending, let the requests in flight be answered and
 * recorded, then exit normally, so --acked lists every answered request. */
static void on_signal(evutil_socket_t fd, short what, void *arg) { on_stop(fd, what, arg); }

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(struct gen *g, double p)
{
    if (g->nlat == 0)
        return 0;
    size_t i = (size_t)ceil(p / 100.0 * (double)g->nlat) - 1;
    if (i >= g->nlat)
        i = g->nlat - 1;
    return (double)g->lat_us[i] / 1000.0;
}

static void load_texts(struct gen *g, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        char err[128];
        struct json_doc *d = json_parse(line, (size_t)n, 8, err, sizeof(err));
        const char *t = d ? json_str(json_get(&d->root, "text")) : NULL;
        if (t && *t) {
            g->texts = realloc(g->texts, (g->ntexts + 1) * sizeof(char *));
            g->texts[g->ntexts++] = strdup(t);
        }
        json_free(d);
    }
    free(line);
    fclose(f);
}

int main(int argc, char **argv)
{
    struct gen g = {.conns = 16, .seconds = 10, .p_noise = 0.2, .p_redeliver = 0.03,
                    .p_edit = 0.02, .p_delete = 0.01, .next_id = 1};
    const char *url = "http://127.0.0.1:8080", *acked = NULL, *texts = NULL;
    long seed = 1;
    enum { O_NOISE = 256, O_REDELIVER, O_EDIT, O_DELETE, O_ACKED, O_SEED };
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},       {"connections", required_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'r'},      {"duration", required_argument, NULL, 'd'},
        {"count", required_argument, NULL, 'n'},     {"texts", required_argument, NULL, 't'},
        {"noise", required_argument, NULL, O_NOISE}, {"redeliver", required_argument, NULL, O_REDELIVER},
        {"edit", required_argument, NULL, O_EDIT},   {"delete", required_argument, NULL, O_DELETE},
        {"acked", required_argument, NULL, O_ACKED}, {"seed", required_argument, NULL, O_SEED},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "u:c:r:d:n:t:", opts, NULL)) != -1) {
        switch (o) {
        case 'u': url = optarg; break;
        case 'c': g.conns = atoi(optarg); break;
        case 'r': g.rate = atof(optarg); break;
        case 'd': g.seconds = atof(optarg); break;
        case 'n': g.count = atoll(optarg); break;
        case 't': texts = optarg; break;
        case O_NOISE: g.p_noise = atof(optarg); break;
        case O_REDELIVER: g.p_redeliver = atof(optarg); break;
        case O_EDIT: g.p_edit = atof(optarg); break;
        case O_DELETE: g.p_delete = atof(optarg); break;
        case O_ACKED: acked = optarg; break;
        case O_SEED: seed = atol(optarg); break;
        default:
            fprintf(stderr, "usage: loadgen -u URL [-c CONNS] [-r RATE] [-d SECONDS | -n COUNT] "
                            "[-t TEXTS.jsonl] [--noise P] [--redeliver P] [--edit P] "
                            "[--delete P] [--acked FILE] [--seed N]\n");
            return 2;
        }
    }
    srandom((unsigned)seed);
    if (sscanf(url, "http://%255[^:/]:%d", g.host, &g.port) != 2) {
        fprintf(stderr, "loadgen: URL must be http://HOST:PORT\n");
        return 2;
    }
    if (texts)
        load_texts(&g, texts);
    if (g.ntexts == 0) {
        g.texts = (char **)builtin_texts;
        g.ntexts = sizeof(builtin_texts) / sizeof(builtin_texts[0]);
    }
    if (acked && (g.acked = fopen(acked, "w")) == NULL) {
        perror(acked);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    g.base = event_base_new();
    g.cs = calloc((size_t)g.conns, sizeof(struct conn));
    for (int i = 0; i < g.conns; i++) {
        g.cs[i].g = &g;
        g.cs[i].ec = evhttp_connection_base_new(g.base, NULL, g.host, (ev_uint16_t)g.port);
        evhttp_connection_set_timeout(g.cs[i].ec, 30);
        evhttp_connection_set_closecb(g.cs[i].ec, on_conn_close, &g.cs[i]);
    }
    struct event *sigterm = evsignal_new(g.base, SIGTERM, on_signal, &g);
    struct event *sigint = evsignal_new(g.base, SIGINT, on_signal, &g);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    g.start_us = now_us();
    if (g.count == 0 || g.seconds > 0) {
        g.stop = evtimer_new(g.base, on_stop, &g);
        struct timeval tv = {(time_t)g.seconds, (suseconds_t)((g.seconds - (time_t)g.seconds) * 1e6)};
        if (g.count == 0 || g.seconds > 0)
            evtimer_add(g.stop, &tv);
    }
    if (g.rate > 0) {
        g.pace = event_new(g.base, -1, EV_PERSIST, on_pace, &g);
        struct timeval tv = {0, 1000};
        event_add(g.pace, &tv);
    } else {
        for (int i = 0; i < g.conns && more_allowed(&g); i++)
            send_one(&g.cs[i]);
    }
    event_base_dispatch(g.base);
    g.end_us = now_us();
    qsort(g.lat_us, g.nlat, sizeof(uint64_t), cmp_u64);
    double secs = (double)(g.end_us - g.start_us) / 1e6;
    printf("{\"requests\":%" PRId64 ",\"answered\":%" PRId64 ",\"seconds\":%.3f,"
           "\"rps\":%.1f,\"status\":{\"2xx\":%" PRId64 ",\"3xx\":%" PRId64 ",\"4xx\":%" PRId64
           ",\"5xx\":%" PRId64 ",\"conn_error\":%" PRId64 "},"
           "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}}\n",
           g.issued, g.answered, secs, (double)g.answered / secs, g.by_status[0], g.by_status[1],
           g.by_status[2], g.by_status[3], g.by_status[4], pct(&g, 50), pct(&g, 90), pct(&g, 99),
           pct(&g, 100));
    if (g.acked)
        fclose(g.acked);
    for (int i = 0; i < g.conns; i++)
        evhttp_connection_free(g.cs[i].ec);
    free(g.cs);
    if (g.pace)
        event_free(g.pace);
    if (g.stop)
        event_free(g.stop);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(g.base);
    return 0;
}
