/* The Kafka contract's C side: headers, appeal numbers, the agency status
 * parser, and the acknowledgement requests and verdicts for every platform. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ack.h"
#include "config.h"
#include "fetch.h"
#include "kafka.h"
#include "message.h"
#include "outbox.h"
#include "route.h"
#include "test.h"

static char tmpdir[256];

static struct apd_config *load(const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    struct diag d = {0};
    struct config_opts o = {.path = path, .skip_plugins = true};
    struct apd_config *c = config_load(&o, &d);
    for (size_t i = 0; i < d.n; i++)
        printf("# %s\n", d.msg[i]);
    diag_free(&d);
    return c;
}

TEST(headers_and_numbers)
{
    struct kafka_header h[MESSAGE_NHEADERS];
    message_headers(h, "created", APPEAL_SCHEMA);
    CHECK_STR(h[0].name, "event-type");
    CHECK_STR(h[0].value, "created");
    CHECK_STR(h[1].value, "appealsd.appeal");
    CHECK_STR(h[2].value, "1");
    CHECK_STR(h[3].value, "application/json");
    CHECK(message_event_known(APPEAL_SCHEMA, "rerouted"));
    CHECK(message_event_known(SLA_SCHEMA, "escalation"));
    CHECK(!message_event_known(SLA_SCHEMA, "created"));
    CHECK(!message_event_known("other", "created"));
    char a[16], b[16];
    appeal_number("vk:-100001:wall:42:c501", a, sizeof(a));
    appeal_number("vk:-100001:wall:42:c501", b, sizeof(b));
    CHECK_STR(a, b);
    CHECK(strlen(a) == 11 && a[5] == '-');
    appeal_number("vk:-100001:wall:42:c502", b, sizeof(b));
    CHECK(strcmp(a, b) != 0);
}

static int parse(const char *json, const char *key, struct status_msg *m, const char **code,
                 char *err)
{
    return message_parse_status(json, strlen(json), key, "Europe/Moscow", m, code, err, 256);
}

TEST(status_messages)
{
    struct status_msg m;
    const char *code = NULL;
    char err[256];
    CHECK(parse("{\"schema\":\"appealsd.status/1\",\"appeal_id\":\"a1\",\"org\":\"maykop\","
                "\"status\":\"rejected\",\"at\":\"2026-11-29T10:00:00+03:00\","
                "\"comment\":\"не наше\",\"reroute_to\":\"minstroy\",\"message_id\":\"m-1\"}",
                "a1", &m, &code, err) == 0);
    CHECK_STR(m.appeal_id, "a1");
    CHECK_STR(m.status, "rejected");
    CHECK_STR(m.reroute_to, "minstroy");
    CHECK_STR(m.message_id, "m-1");
    CHECK(m.at_ms == 1795935600000LL);
    status_msg_free(&m);
    static const struct {
        const char *json, *key, *code, *err;
    } bad[] = {
        {"{nope", NULL, "bad_json", ""},
        {"[1]", NULL, "bad_message", "a JSON object"},
        {"{\"schema\":\"appealsd.status/2\"}", NULL, "bad_message", "\"schema\" must be"},
        {"{\"schema\":\"appealsd.status/1\",\"appeal_id\":\"a\",\"org\":\"m\"}", NULL,
         "bad_message", "\"status\" is missing"},
        {"{\"schema\":\"appealsd.status/1\",\"appeal_id\":\"a\",\"org\":\"m\",\"status\":"
         "\"accepted\"}", NULL, "bad_message", "\"at\" is missing"},
        {"{\"schema\":\"appealsd.status/1\",\"appeal_id\":\"a\",\"org\":\"m\",\"status\":\"done\","
         "\"at\":\"2026-11-29T10:00:00Z\"}", NULL, "bad_message", "'done' is not one of"},
        {"{\"schema\":\"appealsd.status/1\",\"appeal_id\":\"a\",\"org\":\"M!\",\"status\":"
         "\"accepted\",\"at\":\"2026-11-29T10:00:00Z\"}", NULL, "bad_message",
         "\"org\": 'M!' is not an organisation code"},
        {"{\"schema\":\"appealsd.status/1\",\"appeal_id\":\"a\",\"org\":\"m\",\"status\":"
         "\"rejected\",\"comment\":\"x\",\"reroute_to\":\"Мин\",\"at\":\"2026-11-29T10:00:00Z\"}",
         NULL, "bad_message", "\"reroute_to\": 'Мин' is not an organisation code"},
        {"{\"schema\":\"appealsd.status/1\",\"appeal_id\":\"a\",\"org\":\"m\",\"status\":"
         "\"accepted\",\"at\":\"tomorrow\"}", NULL, "bad_message", "not an ISO 8601"},
        {"{\"schema\":\"appealsd.status/1\",\"appeal_id\":\"a\",\"org\":\"m\",\"status\":"
         "\"accepted\",\"at\":\"2026-11-29T10:00:00Z\"}", "b", "bad_message",
         "key 'b' is not its appeal_id"},
        {"{\"schema\":\"appealsd.status/1\",\"appeal_id\":\"a\",\"org\":\"m\",\"status\":"
         "\"rejected\",\"at\":\"2026-11-29T10:00:00Z\"}", NULL, "bad_message", "needs a"},
        {"{\"schema\":\"appealsd.status/1\",\"appeal_id\":7,\"org\":\"m\"}", NULL,
         "bad_message", "\"appeal_id\" must be a non-empty string"},
        {"{\"schema\":\"appealsd.status/1\",\"appeal_id\":\"a\\u0000b\",\"org\":\"m\"}", NULL,
         "bad_message", "without NUL"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        code = NULL;
        err[0] = '\0';
        int rc = parse(bad[i].json, bad[i].key, &m, &code, err);
        CHECK(rc == -1);
        CHECK_STR(code, bad[i].code);
        if (strstr(err, bad[i].err) == NULL)
            printf("# case %zu: error \"%s\" lacks \"%s\"\n", i, err, bad[i].err);
        CHECK(strstr(err, bad[i].err) != NULL);
        CHECK(m.doc == NULL);
    }
}

static const char *const ACK_CONF =
    "[source \"vk\"]\n[source \"tg\"]\nplugin = source_telegram\n[source \"max\"]\n"
    "[source \"ok\"]\n"
    "[org \"cur\"]\nname = ЦУР\ntype = cur\n"
    "[org \"m\"]\nname = Администрация\ntype = municipality\n"
    "[page \"vk:5\"]\norg = m\nack_token = VKTOKEN0123456789abc\n"
    "[page \"vk:6\"]\norg = m\n"
    "[page \"vk:7\"]\norg = m\nack_token = T-0123456789abcdef\nack = no\n"
    "[page \"tg:-1001\"]\norg = m\nack_token = 123:BOT-0123456789abcdef\n"
    "[page \"max:-77\"]\norg = m\nack_token = MAXTOKEN0123456789abc\n"
    "[ack]\nenabled = yes\ntext = № {number} → {org} ({org_code})\n"
    "vk_api = http://vk.test/method\ntelegram_api = http://tg.test\nmax_api = http://max.test\n";

/* The plan's fields as an outbox entry would hold them. */
static void as_entry(const struct ack_plan *p, const char *appeal, struct outbox_entry *e,
                     size_t *lens)
{
    memset(e, 0, sizeof(*e));
    e->id = p->id;
    e->ep = p->ep;
    e->appeal = appeal;
    e->attempts = 1;
    e->names = p->names;
    e->values = (const char *const *)p->values;
    for (size_t i = 0; i < p->n; i++)
        lens[i] = strlen(p->values[i]);
    e->lens = lens;
    e->n = p->n;
}

TEST(ack_requests_per_platform)
{
    struct apd_config *c = load(ACK_CONF);
    CHECK(c != NULL);
    if (c == NULL)
        return;
    struct route_result r;
    struct route_input ri = {.source = "vk", .page = "5", .text = "x"};
    route_decide(c, &ri, &r);   /* triage: the ЦУР */
    struct ack_plan p;
    struct outbox_entry e;
    size_t lens[ACK_MAX_FIELDS];
    struct ack_request q;
    char err[256];
    struct ack_input in = {.source = "vk", .page = "5",
                           .appeal_id = "vk:-5:wall:42:c501", .item_kind = "comment",
                           .author_id = "7001", .route = &r};
    CHECK(ack_plan_make(c, &in, &p));
    CHECK_STR(p.ep, "ack:vk:5");
    as_entry(&p, in.appeal_id, &e, lens);
    CHECK(ack_request_make(c, &e, &q, err, sizeof(err)) == 0);
    CHECK_STR(q.url, "http://vk.test/method/wall.createComment");
    CHECK(strstr(q.body, "owner_id=-5&post_id=42&reply_to_comment=501&from_group=5&guid=") != NULL);
    CHECK(strstr(q.body, "access_token=VKTOKEN0123456789abc") != NULL);
    CHECK(strstr(q.body, "%E2%84%96%20") != NULL);           /* "№ " encoded */
    CHECK(strstr(q.body, "%28cur%29") != NULL);               /* {org_code} */
    CHECK(strstr(q.url, "VKTOKEN0123456789abc") == NULL);
    ack_request_free(&q);
    ack_plan_free(&p);

    in.item_kind = "message";   /* a private message: reply to its author */
    CHECK(ack_plan_make(c, &in, &p));
    as_entry(&p, in.appeal_id, &e, lens);
    CHECK(ack_request_make(c, &e, &q, err, sizeof(err)) == 0);
    CHECK_STR(q.url, "http://vk.test/method/messages.send");
    CHECK(strncmp(q.body, "peer_id=7001&random_id=", 23) == 0);
    ack_request_free(&q);
    ack_plan_free(&p);

    in.item_kind = "comment";
    in.appeal_id = "vk:-5:board:1:c2";            /* no reply target known */
    CHECK(!ack_plan_make(c, &in, &p));
    in.appeal_id = "vk:-5:wall:42:c501";
    in.page = "6";                                  /* no token */
    CHECK(!ack_plan_make(c, &in, &p));
    in.page = "7";                                  /* ack = no */
    CHECK(!ack_plan_make(c, &in, &p));
    r.drop = true;                                  /* dropped: nothing to acknowledge */
    in.page = "5";
    CHECK(!ack_plan_make(c, &in, &p));
    r.drop = false;

    struct ack_input tg = {.source = "tg", .page = "-1001", .appeal_id = "tg:-1001:m555",
                           .item_kind = "message", .route = &r};
    CHECK(ack_plan_make(c, &tg, &p));
    as_entry(&p, tg.appeal_id, &e, lens);
    CHECK(ack_request_make(c, &e, &q, err, sizeof(err)) == 0);
    CHECK_STR(q.url, "http://tg.test/bot123:BOT-0123456789abcdef/sendMessage");
    CHECK(strncmp(q.body, "{\"chat_id\":-1001,\"text\":\"№ ", 27) == 0);
    CHECK(strstr(q.body, "\"reply_parameters\":{\"message_id\":555,"
                         "\"allow_sending_without_reply\":true}") != NULL);
    ack_request_free(&q);
    ack_plan_free(&p);
    tg.appeal_id = "tg:-1001:abc";
    CHECK(!ack_plan_make(c, &tg, &p));

    struct ack_input mx = {.source = "max", .page = "-77", .appeal_id = "max:-77:mid.00f1",
                           .route = &r};
    CHECK(ack_plan_make(c, &mx, &p));
    as_entry(&p, mx.appeal_id, &e, lens);
    CHECK(ack_request_make(c, &e, &q, err, sizeof(err)) == 0);
    CHECK_STR(q.url, "http://max.test/messages?chat_id=-77");
    CHECK_STR(q.headers[1], "Authorization: MAXTOKEN0123456789abc");
    CHECK(strstr(q.body, "\"link\":{\"type\":\"reply\",\"mid\":\"mid.00f1\"}") != NULL);
    ack_request_free(&q);
    ack_plan_free(&p);

    config_unref(c);
}

TEST(ack_refused_for_unsupported_platforms)
{
    char conf[2048];
    snprintf(conf, sizeof(conf), "%s[page \"ok:1\"]\norg = m\nack_token = X-0123456789abcdef\n", ACK_CONF);
    struct apd_config *c = load(conf);
    CHECK(c == NULL);
}

static enum ack_verdict verdict(const char *platform, long status, const char *body,
                                int64_t *ra)
{
    char why[200];
    struct fetch_res res = {.status = status, .body = body, .body_len = strlen(body)};
    return ack_verdict(platform, &res, ra, why, sizeof(why));
}

TEST(ack_verdicts)
{
    int64_t ra = 0;
    CHECK(verdict("vk", 200, "{\"response\":{\"comment_id\":1}}", &ra) == ACK_DONE);
    CHECK(verdict("vk", 200, "{\"error\":{\"error_code\":9,\"error_msg\":\"Flood\"}}", &ra) ==
          ACK_RETRY);
    CHECK(verdict("vk", 200, "{\"error\":{\"error_code\":15,\"error_msg\":\"Denied\"}}", &ra) ==
          ACK_GIVE_UP);
    CHECK(verdict("vk", 200, "<html>", &ra) == ACK_RETRY);
    CHECK(verdict("vk", 502, "", &ra) == ACK_RETRY);
    CHECK(verdict("telegram", 200, "{\"ok\":true}", &ra) == ACK_DONE);
    CHECK(verdict("telegram", 429, "{\"ok\":false,\"parameters\":{\"retry_after\":17}}", &ra) ==
          ACK_RETRY);
    CHECK(ra == 17);
    CHECK(verdict("telegram", 400, "{\"ok\":false,\"description\":\"message not found\"}",
                  &ra) == ACK_GIVE_UP);
    CHECK(verdict("max", 200, "{\"message\":{}}", &ra) == ACK_DONE);
    CHECK(verdict("max", 403, "{}", &ra) == ACK_GIVE_UP);
    struct fetch_res down = {.status = 0, .error = "Connection refused", .body = ""};
    char why[64];
    CHECK(ack_verdict("max", &down, &ra, why, sizeof(why)) == ACK_RETRY);
    CHECK_STR(why, "Connection refused");
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/apd-msg-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        return 99;
    RUN(headers_and_numbers);
    RUN(status_messages);
    RUN(ack_requests_per_platform);
    RUN(ack_refused_for_unsupported_platforms);
    RUN(ack_verdicts);
    char path[512];
    snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    return test_done();
}
