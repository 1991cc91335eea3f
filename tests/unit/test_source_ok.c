/* source_ok: path token and source-network allow-list before anything is
 * parsed; string ids with prefixes; seq beyond 2^53. */
#include "source_harness.h"

#define OK_CONFIG_X(extra) SH_CONFIG                                         \
    "[source \"ok\"]\n" extra                                                \
    "[page \"ok:70000001234567\"]\norg = maykop\ntoken = Zq8LrT0pXw3nY6vB1cKd\n"
#define OK_CONFIG OK_CONFIG_X("")
#define OK_PEER "217.20.151.170"

static struct sh h;

/* OK's own example payload. */
static const char *const example =
    "{\"sender\":{\"user_id\":\"user:123456789012\",\"name\":\"Пётр Иванов\"},"
    "\"recipient\":{\"chat_id\":\"chat:C3ecb9d02a600\"},"
    "\"message\":{\"text\":\"Когда дадут воду?\",\"seq\":98211023614189660,"
    "\"mid\":\"mid:C3ecb9d02a600.15cea67d78d2059\"},\"timestamp\":1498581292941}";

TEST(network_and_token_before_parsing)
{
    sh_post(&h, example, .path = "/Zq8LrT0pXw3nY6vB1cKd", .peer = "198.51.100.7");
    CHECK_REJECT(&h, 403);
    sh_post(&h, "garbage", .path = "/Zq8LrT0pXw3nY6vB1cKd", .peer = "203.0.113.1");
    CHECK_REJECT(&h, 403);
    sh_post(&h, example, .path = "/wrong-token", .peer = OK_PEER);
    CHECK_REJECT(&h, 404);
    sh_post(&h, example, .path = "", .peer = OK_PEER);
    CHECK_REJECT(&h, 404);
    sh_post(&h, "garbage", .path = "/Zq8LrT0pXw3nY6vB1cKd", .peer = OK_PEER);
    CHECK_REJECT(&h, 400);
}

TEST(message_created)
{
    sh_post(&h, example, .path = "/Zq8LrT0pXw3nY6vB1cKd", .peer = OK_PEER);
    CHECK_EVENT(&h, "created", "ok:pb82b9b4b3fd9bb2f:15cea67d78d2059");
    const struct pevent *e = sh_one(&h);
    if (e) {
        CHECK_STR(e->page, "70000001234567");
        CHECK_STR(e->author_id, "123456789012");
        CHECK_STR(e->author_name, "Пётр Иванов");
        CHECK_STR(e->text, "Когда дадут воду?");
        CHECK_INT(e->created_ms, 1498581292941LL);
        CHECK_STR(e->dedup_key, "ok:mid:pb82b9b4b3fd9bb2f:15cea67d78d2059");
        CHECK_STR(e->thread, "ok:pb82b9b4b3fd9bb2f");   /* no chat id in clear */
        CHECK(e->link == NULL);   /* finding 7: OK documents no message links; none is made */
    }
    /* explicit webhookType, an IPv4 peer on a dual-stack socket */
    sh_post(&h, "{\"webhookType\":\"MESSAGE_CREATED\",\"sender\":{\"user_id\":\"user:1\"},"
                "\"recipient\":{\"chat_id\":\"chat:C1\"},\"message\":{\"text\":\"x\","
                "\"mid\":\"mid:C1.1\"},\"timestamp\":1}",
            .path = "/Zq8LrT0pXw3nY6vB1cKd", .peer = "::ffff:217.20.145.200");
    CHECK_EVENT(&h, "created", "ok:pae4b7aa82d4aa508:1");
    sh_post(&h, "{\"webhookType\":\"CHAT_SYSTEM\",\"recipient\":{\"chat_id\":\"chat:C1\"}}",
            .path = "/Zq8LrT0pXw3nY6vB1cKd", .peer = OK_PEER);
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->platform_type, "CHAT_SYSTEM");
    sh_post(&h, "{\"message\":{\"text\":\"no mid\"}}", .path = "/Zq8LrT0pXw3nY6vB1cKd",
            .peer = OK_PEER);
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK(sh_one(&h)->quarantine != NULL);
}

TEST(replay_and_parse_need_no_peer_or_token)
{
    sh_post(&h, example, .path = "/Zq8LrT0pXw3nY6vB1cKd", .peer = NULL,
            .flags = APD_HANDLE_NOAUTH);
    CHECK_EVENT(&h, "created", "ok:pb82b9b4b3fd9bb2f:15cea67d78d2059");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->page, "70000001234567");
    sh_post(&h, example, .flags = APD_HANDLE_NOAUTH);
    CHECK_EVENT(&h, "created", "ok:pb82b9b4b3fd9bb2f:15cea67d78d2059");
    if (sh_one(&h))
        CHECK(sh_one(&h)->page == NULL);
}

TEST(allow_list_configuration)
{
    struct sh x;
    CHECK_INT(sh_start(&x, OK_CONFIG_X("allow_from = 10.0.0.0/33\n"), "ok"), -1);
    CHECK(strstr(x.err, "allow_from: '10.0.0.0/33'") != NULL);
    sh_stop(&x);
    CHECK_INT(sh_start(&x, OK_CONFIG_X("allow_from = 127.0.0.1, 2001:db8::/32\n"), "ok"), 0);
    sh_post(&x, example, .path = "/Zq8LrT0pXw3nY6vB1cKd", .peer = "2001:db8::5");
    CHECK_INT(x.v, APD_ACCEPT);
    sh_post(&x, example, .path = "/Zq8LrT0pXw3nY6vB1cKd", .peer = "127.0.0.2");
    CHECK_REJECT(&x, 403);
    sh_post(&x, example, .path = "/Zq8LrT0pXw3nY6vB1cKd", .peer = OK_PEER);
    CHECK_REJECT(&x, 403);   /* the configured list replaces the default */
    sh_stop(&x);
}

int main(void)
{
    log_set_level(LOG_LVL_ERROR);
    if (sh_start(&h, OK_CONFIG, "ok") != 0) {
        printf("Bail out! %s\n", h.err);
        return 1;
    }
    RUN(network_and_token_before_parsing);
    RUN(message_created);
    RUN(replay_and_parse_need_no_peer_or_token);
    RUN(allow_list_configuration);
    sh_stop(&h);
    return test_done();
}
