/* loadgen: realistic webhook traffic for appealsd benchmarks and fault tests.
 *
 *   loadgen -u http://127.0.0.1:8080 [-c CONNS] [-r RATE] [-d SECONDS | -n COUNT]
 *           [-t TEXTS.jsonl] [--noise P] [--redeliver P] [--edit P] [--delete P]
 *           [--acked FILE] [--seed N]
 *
 * Each connection keeps one request in flight (keep-alive).  With -r the
 * requests are paced to RATE per second in total (open loop: a slow server
 * does not slow the schedule, so latency includes queueing); without it every
 * connection sends as fast as answers come back.
 *
 * Traffic is a mix of every source of the example config (--mix, default
 * vk=60,telegram=15,max=10,ok=10,generic=5): VK comments, Telegram comments in
 * a channel's discussion group, MAX chat messages, OK group messages (the
 * daemon must allow 127.0.0.1 for OK: --set source.ok.allow_from=127.0.0.1/32)
 * and signed generic exports, with the example secrets.  A share are
 * redeliveries (the same request again), edits and deletes of earlier items,
 * and noise.  --acked writes one line per answered request:
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

#include "crypto.h"
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

enum src { S_VK, S_TG, S_MAX, S_OK, S_GEN, NSRC };
static const char *const src_names[NSRC] = {"vk", "telegram", "max", "ok", "generic"};

/* The example config's secrets (config/appealsd.conf, conf.d/20-pages.conf). */
#define TG_SECRET "adygea-telegram-example-secret"
#define TG_CHANNEL -1001987654321LL
#define TG_GROUP -1002087654321LL
#define MAX_SECRET "adygea-max-example-secret"
#define MAX_CHAT -68805384306771LL
#define OK_TOKEN "maykop-ok-Zq8LrT0pXw3nY6vB1cKd"
#define OK_CHAT "C3ecb9d02a600"
#define GEN_KEY "adygea-generic-example-key"

/* One request as sent, kept for redeliveries. */
struct req {
    enum src src;
    int64_t id;            /* the item's own id (comment, message) */
    int page;              /* VK page index */
    int64_t post;          /* VK post */
    char path[96];
    char hname[48];
    char hval[160];
    char tsval[24];        /* generic: the signed X-Appealsd-Timestamp */
    char *body;
    char appeal[128];
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
    struct req *sent;
    size_t nsent, capsent;
    int weight[NSRC];
    int64_t by_source[NSRC];
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
    char appeal[128];
    const char *kind;
    struct req cur;        /* the request in flight (body owned) */
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
        jw_kint(&w, "deleter_id", 500000000 + id % 100000);   /* the author withdraws */
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

/* A Telegram comment in the discussion group, replying to the channel post's copy. */
static void tg_body(struct sbuf *b, int64_t update, const char *kind, int64_t id,
                    const char *text)
{
    int64_t post = 1000 + id / 50, copy = 500000 + id / 50;
    sbuf_printf(b,
                "{\"update_id\":%" PRId64 ",\"%s\":{\"message_id\":%" PRId64 ",\"date\":%" PRId64
                ",\"message_thread_id\":%" PRId64 ",\"from\":{\"id\":%" PRId64
                ",\"is_bot\":false,\"first_name\":\"Анна\"},\"chat\":{\"id\":%lld,\"type\":"
                "\"supergroup\"},\"reply_to_message\":{\"message_id\":%" PRId64 ",\"date\":%"
                PRId64 ",\"from\":{\"id\":777000,\"is_bot\":false,\"first_name\":\"Telegram\"},"
                "\"sender_chat\":{\"id\":%lld,\"type\":\"channel\"},\"chat\":{\"id\":%lld,"
                "\"type\":\"supergroup\"},\"is_automatic_forward\":true,\"forward_origin\":{"
                "\"type\":\"channel\",\"message_id\":%" PRId64 ",\"date\":%" PRId64 ",\"chat\":{"
                "\"id\":%lld,\"type\":\"channel\"}},\"text\":\"Новость\"},\"text\":",
                update, kind, id, (int64_t)(now_us() / 1000000), copy, 5000 + id % 100000,
                TG_GROUP, copy, (int64_t)(now_us() / 1000000), TG_CHANNEL, TG_GROUP, post,
                (int64_t)(now_us() / 1000000), TG_CHANNEL);
    sbuf_json_str(b, text, strlen(text));
    if (strcmp(kind, "edited_message") == 0)
        sbuf_printf(b, ",\"edit_date\":%" PRId64, (int64_t)(now_us() / 1000000));
    sbuf_adds(b, "}}");
}

static void max_body(struct sbuf *b, const char *type, int64_t id, const char *text)
{
    int64_t ts = (int64_t)(now_us() / 1000);
    if (strcmp(type, "message_removed") == 0) {
        sbuf_printf(b, "{\"update_type\":\"message_removed\",\"timestamp\":%" PRId64
                    ",\"message_id\":\"mid.lg%" PRId64 "\",\"chat_id\":%lld,\"user_id\":300100}",
                    ts, id, MAX_CHAT);
        return;
    }
    sbuf_printf(b, "{\"update_type\":\"%s\",\"timestamp\":%" PRId64 ",\"message\":{\"sender\":"
                "{\"user_id\":%" PRId64 ",\"first_name\":\"Ирина\",\"is_bot\":false},"
                "\"recipient\":{\"chat_id\":%lld,\"chat_type\":\"chat\"},\"timestamp\":%" PRId64
                ",\"body\":{\"mid\":\"mid.lg%" PRId64 "\",\"seq\":116327994376978687,\"text\":",
                type, ts, 300000 + id % 100000, MAX_CHAT, ts, id);
    sbuf_json_str(b, text, strlen(text));
    sbuf_adds(b, ",\"attachments\":[]}}}");
}

static void ok_body(struct sbuf *b, int64_t id, const char *text)
{
    sbuf_printf(b, "{\"webhookType\":\"MESSAGE_CREATED\",\"sender\":{\"user_id\":\"user:%"
                PRId64 "\",\"name\":\"Пётр\"},\"recipient\":{\"chat_id\":\"chat:" OK_CHAT
                "\"},\"message\":{\"text\":", 123456000000 + id % 100000);
    sbuf_json_str(b, text, strlen(text));
    sbuf_printf(b, ",\"seq\":98211023614189660,\"mid\":\"mid:lg%" PRId64 "\"},\"timestamp\":%"
                PRId64 "}", id, (int64_t)(now_us() / 1000));
}

static void gen_body(struct sbuf *b, int64_t id, const char *text)
{
    sbuf_printf(b, "{\"schema\":\"appealsd.generic/1\",\"system\":\"pos\",\"event\":\"created\","
                "\"id\":\"lg-%" PRId64 "\",\"event_id\":\"lg-%" PRId64 "-created\",\"page\":"
                "\"pos-adygea\",\"author\":{\"id\":\"esia-%" PRId64 "\"},\"text\":",
                id, id, 1000 + id % 100000);
    sbuf_json_str(b, text, strlen(text));
    sbuf_adds(b, ",\"created_at\":\"2026-11-29T09:15:02+03:00\"}");
}

static enum src pick_source(struct gen *g)
{
    int total = 0;
    for (int i = 0; i < NSRC; i++)
        total += g->weight[i];
    int r = (int)(random() % (total ? total : 1));
    for (int i = 0; i < NSRC; i++) {
        if (r < g->weight[i])
            return (enum src)i;
        r -= g->weight[i];
    }
    return S_VK;
}

/* How the daemon names the OK chat in ids: the chat itself, or (with
 * --pseudonym-key, the daemon's [daemon] pseudonym_key) "p" and its keyed
 * pseudonym, as a private conversation is named since ABI 1.6. */
static char ok_conv[24] = OK_CHAT;

static void set_pseudonym_key(const char *key)
{
    char mac[65];
    const char *msg = "ok:" OK_CHAT;
    hmac_sha256_hex2(key, strlen(key), msg, strlen(msg), "", 0, mac);
    snprintf(ok_conv, sizeof(ok_conv), "p%.16s", mac);
}

/* Path, auth header and appeal id of a request of source q->src. */
static void finish_req(struct req *q, struct sbuf *b)
{
    q->hname[0] = q->hval[0] = q->tsval[0] = '\0';
    switch (q->src) {
    case S_VK:
        snprintf(q->path, sizeof(q->path), "/webhook/vk");
        snprintf(q->appeal, sizeof(q->appeal), "vk:-%" PRId64 ":wall:%" PRId64 ":c%" PRId64,
                 pages[q->page].group, q->post, q->id);
        break;
    case S_TG:
        snprintf(q->path, sizeof(q->path), "/webhook/telegram");
        snprintf(q->hname, sizeof(q->hname), "X-Telegram-Bot-Api-Secret-Token");
        snprintf(q->hval, sizeof(q->hval), TG_SECRET);
        snprintf(q->appeal, sizeof(q->appeal), "tg:%lld:%" PRId64, TG_GROUP, q->id);
        break;
    case S_MAX:
        snprintf(q->path, sizeof(q->path), "/webhook/max");
        snprintf(q->hname, sizeof(q->hname), "X-Max-Bot-Api-Secret");
        snprintf(q->hval, sizeof(q->hval), MAX_SECRET);
        snprintf(q->appeal, sizeof(q->appeal), "max:%lld:mid.lg%" PRId64, MAX_CHAT, q->id);
        break;
    case S_OK:
        snprintf(q->path, sizeof(q->path), "/webhook/ok/" OK_TOKEN);
        snprintf(q->appeal, sizeof(q->appeal), "ok:%s:lg%" PRId64, ok_conv, q->id);
        break;
    default: {
        /* HMAC over TIMESTAMP "." BODY, as docs/generic-source.md asks */
        char mac[65], prefix[32];
        snprintf(q->tsval, sizeof(q->tsval), "%lld", (long long)time(NULL));
        snprintf(prefix, sizeof(prefix), "%s.", q->tsval);
        hmac_sha256_hex2(GEN_KEY, strlen(GEN_KEY), prefix, strlen(prefix), b->p, b->len, mac);
        snprintf(q->path, sizeof(q->path), "/webhook/generic");
        snprintf(q->hname, sizeof(q->hname), "X-Appealsd-Signature");
        snprintf(q->hval, sizeof(q->hval), "sha256=%s", mac);
        snprintf(q->appeal, sizeof(q->appeal), "gen:pos:lg-%" PRId64, q->id);
        break;
    }
    }
    q->body = sbuf_steal(b);
}

/* An edit or delete of an earlier item, or NULL when its source has none. */
static bool change_of(struct gen *g, const struct req *s, bool edit, struct req *q)
{
    struct sbuf b = SBUF_INIT;
    char ev[64];
    const char *upd = "UPD: до сих пор ничего не сделано, пишу повторно";
    *q = *s;
    snprintf(ev, sizeof(ev), "lg-%" PRId64 "-%08lx", g->next_id++, random());
    switch (s->src) {
    case S_VK:
        vk_body(&b, edit ? "wall_reply_edit" : "wall_reply_delete", s->page, s->post, s->id,
                upd, ev);
        break;
    case S_TG:
        if (!edit)
            return false;    /* Telegram reports no deletions */
        tg_body(&b, 900000000 + g->next_id++, "edited_message", s->id, upd);
        break;
    case S_MAX:
        max_body(&b, edit ? "message_edited" : "message_removed", s->id, upd);
        break;
    default:
        return false;
    }
    finish_req(q, &b);
    return true;
}

static void new_item(struct gen *g, struct req *q)
{
    struct sbuf b = SBUF_INIT;
    char ev[64];
    const char *text = rnd() < g->p_noise ? "👍 спасибо за информацию"
                                         : g->texts[random() % g->ntexts];
    memset(q, 0, sizeof(*q));
    q->src = pick_source(g);
    q->id = g->next_id++;
    switch (q->src) {
    case S_VK:
        q->page = (int)(random() % NPAGES);
        q->post = 1000 + q->id / 50;
        snprintf(ev, sizeof(ev), "lg-%" PRId64 "-%08lx", q->id, random());
        vk_body(&b, "wall_reply_new", q->page, q->post, q->id, text, ev);
        break;
    case S_TG:
        tg_body(&b, 800000000 + q->id, "message", q->id, text);
        break;
    case S_MAX:
        max_body(&b, "message_created", q->id, text);
        break;
    case S_OK:
        ok_body(&b, q->id, text);
        break;
    default:
        gen_body(&b, q->id, text);
        break;
    }
    finish_req(q, &b);
}

/* Builds the next request into c->cur. */
static void next_request(struct gen *g, struct conn *c)
{
    double r = rnd();
    if (g->nsent > 0 && r < g->p_redeliver + g->p_edit + g->p_delete) {
        const struct req *s = &g->sent[random() % g->nsent];
        if (r < g->p_redeliver) {
            c->cur = *s;
            c->cur.body = strdup(s->body);
            c->kind = "redelivery";
            return;
        }
        bool edit = r < g->p_redeliver + g->p_edit;
        if (change_of(g, s, edit, &c->cur)) {
            c->kind = edit ? "edit" : "delete";
            return;
        }
    }
    new_item(g, &c->cur);
    c->kind = "new";
    if (g->nsent < 200000) {
        if (g->nsent == g->capsent) {
            g->capsent = g->capsent ? g->capsent * 2 : 4096;
            g->sent = realloc(g->sent, g->capsent * sizeof(*g->sent));
        }
        g->sent[g->nsent] = c->cur;
        g->sent[g->nsent++].body = strdup(c->cur.body);
    }
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
        fprintf(g->acked, "%s %s %d %" PRIu64 " %" PRIu64 " %s\n", c->cur.appeal, c->kind, code,
                c->send_us, t, src_names[c->cur.src]);
    free(c->cur.body);
    c->cur.body = NULL;
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
    next_request(g, c);
    struct evhttp_request *req = evhttp_request_new(on_response, c);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", g->host);
    evhttp_add_header(h, "Content-Type", "application/json");
    if (c->cur.hname[0])
        evhttp_add_header(h, c->cur.hname, c->cur.hval);
    if (c->cur.tsval[0])
        evhttp_add_header(h, "X-Appealsd-Timestamp", c->cur.tsval);
    evbuffer_add(evhttp_request_get_output_buffer(req), c->cur.body, strlen(c->cur.body));
    c->busy = true;
    c->send_us = now_us();
    g->issued++;
    g->by_source[c->cur.src]++;
    if (evhttp_make_request(c->ec, req, EVHTTP_REQ_POST, c->cur.path) != 0) {
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

static int parse_mix(struct gen *g, const char *spec)
{
    char *dup = strdup(spec), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        int i = 0;
        if (eq)
            *eq = '\0';
        while (i < NSRC && strcmp(src_names[i], t) != 0)
            i++;
        if (eq == NULL || i == NSRC) {
            rc = -1;
            break;
        }
        g->weight[i] = atoi(eq + 1);
    }
    free(dup);
    return rc;
}

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
    const char *mix = "vk=60,telegram=15,max=10,ok=10,generic=5";
    long seed = 1;
    enum { O_NOISE = 256, O_REDELIVER, O_EDIT, O_DELETE, O_ACKED, O_SEED, O_MIX, O_PSEUDO };
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},       {"connections", required_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'r'},      {"duration", required_argument, NULL, 'd'},
        {"count", required_argument, NULL, 'n'},     {"texts", required_argument, NULL, 't'},
        {"noise", required_argument, NULL, O_NOISE}, {"redeliver", required_argument, NULL, O_REDELIVER},
        {"edit", required_argument, NULL, O_EDIT},   {"delete", required_argument, NULL, O_DELETE},
        {"acked", required_argument, NULL, O_ACKED}, {"seed", required_argument, NULL, O_SEED},
        {"mix", required_argument, NULL, O_MIX},
        {"pseudonym-key", required_argument, NULL, O_PSEUDO},
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
        case O_MIX: mix = optarg; break;
        case O_PSEUDO: set_pseudonym_key(optarg); break;
        default:
            fprintf(stderr, "usage: loadgen -u URL [-c CONNS] [-r RATE] [-d SECONDS | -n COUNT] "
                            "[-t TEXTS.jsonl] [--noise P] [--redeliver P] [--edit P] "
                            "[--delete P] [--acked FILE] [--seed N] [--mix vk=60,telegram=15,...] "
                            "[--pseudonym-key KEY]\n");
            return 2;
        }
    }
    srandom((unsigned)seed);
    if (parse_mix(&g, mix) != 0) {
        fprintf(stderr, "loadgen: --mix wants SOURCE=WEIGHT pairs of %s, %s, %s, %s, %s\n",
                src_names[0], src_names[1], src_names[2], src_names[3], src_names[4]);
        return 2;
    }
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
           "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
           "\"by_source\":{\"vk\":%" PRId64 ",\"telegram\":%" PRId64 ",\"max\":%" PRId64
           ",\"ok\":%" PRId64 ",\"generic\":%" PRId64 "}}\n",
           g.issued, g.answered, secs, (double)g.answered / secs, g.by_status[0], g.by_status[1],
           g.by_status[2], g.by_status[3], g.by_status[4], pct(&g, 50), pct(&g, 90), pct(&g, 99),
           pct(&g, 100), g.by_source[0], g.by_source[1], g.by_source[2], g.by_source[3],
           g.by_source[4]);
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
