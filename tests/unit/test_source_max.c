/* source_max: message_created / _edited / _removed, millisecond timestamps,
 * int64 values beyond 2^53, the secret header, the bot's replies. */
#include "source_harness.h"

#define MAX_HDR "X-Max-Bot-Api-Secret"
#define MAX_CONFIG_X(extra) SH_CONFIG                                        \
    "[source \"max\"]\nsecret = max_Secret-1-0123456789\n" extra                        \
    "[page \"max:-68805384306771\"]\norg = maykop\n"                         \
    "[page \"max:bot\"]\norg = cur\n"
#define MAX_CONFIG MAX_CONFIG_X("")
#define CHAT "-68805384306771"

static const char *const auth[] = {MAX_HDR, "max_Secret-1-0123456789", NULL};
static struct sh h;
static char body[4096];

static const char *message(const char *type, const char *mid, const char *sender,
                           const char *extra, int64_t ts)
{
    snprintf(body, sizeof(body),
             "{\"update_type\":\"%s\",\"timestamp\":%lld,\"user_locale\":\"ru\",\"message\":{"
             "\"sender\":%s,\"recipient\":{\"chat_id\":" CHAT ",\"chat_type\":\"chat\"},"
             "\"timestamp\":1795900000123,\"body\":{\"mid\":\"%s\",\"seq\":116327994376978687,"
             "\"text\":\"Не работает фонарь\",\"attachments\":[]},"
             "\"url\":\"https://max.ru/c/" CHAT "/%s\"%s}}", type, (long long)ts, sender, mid,
             mid, extra);
    return body;
}

#define CITIZEN "{\"user_id\":300100,\"first_name\":\"Ирина\",\"last_name\":\"П\",\"is_bot\":false}"

TEST(secret_header)
{
    sh_post(&h, "nonsense");
    CHECK_REJECT(&h, 403);
    sh_post(&h, "{}", .headers = (const char *[]){MAX_HDR, "max_Secret-2", NULL});
    CHECK_REJECT(&h, 403);
    sh_post(&h, "nonsense", .headers = auth);
    CHECK_REJECT(&h, 400);
    sh_post(&h, "{\"timestamp\":1}", .headers = auth);
    CHECK_REJECT(&h, 400);
}

TEST(created_edited_removed)
{
    sh_post(&h, message("message_created", "mid.0000000000000001a", CITIZEN, "", 1795900000456),
            .headers = auth);
    CHECK_EVENT(&h, "created", "max:" CHAT ":mid.0000000000000001a");
    const struct pevent *e = sh_one(&h);
    if (e) {
        CHECK_STR(e->page, CHAT);
        CHECK_INT(e->created_ms, 1795900000123LL);   /* milliseconds, as sent */
        CHECK_STR(e->author_id, "300100");
        CHECK_STR(e->author_name, "Ирина П");
        CHECK_STR(e->text, "Не работает фонарь");
        CHECK_STR(e->link, "https://max.ru/c/" CHAT "/mid.0000000000000001a");
        CHECK_STR(e->dedup_key, "max:message_created:mid.0000000000000001a");
    }
    sh_post(&h, message("message_edited", "mid.0000000000000001a", CITIZEN, "", 1795900009000),
            .headers = auth);
    CHECK_EVENT(&h, "edited", "max:" CHAT ":mid.0000000000000001a");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->dedup_key,
                  "max:message_edited:mid.0000000000000001a:1795900009000");
    sh_post(&h, "{\"update_type\":\"message_removed\",\"timestamp\":1795900010000,"
                "\"message_id\":\"mid.0000000000000001a\",\"chat_id\":" CHAT ",\"user_id\":300100}",
            .headers = auth);
    CHECK_EVENT(&h, "deleted", "max:" CHAT ":mid.0000000000000001a");
    /* user_id is who deleted it: the host compares it with the author */
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->deleter_id, "300100");
}

TEST(own_side_and_other_updates)
{
    /* a channel post has no sender */
    sh_post(&h, message("message_created", "mid.2", "null", "", 1), .headers = auth);
    CHECK_EVENT(&h, "ignored", NULL);
    /* the page's bot replying to the citizen */
    sh_post(&h, message("message_created", "mid.3", "{\"user_id\":1,\"is_bot\":true,\"name\":"
                        "\"Бот\"}", ",\"link\":{\"type\":\"reply\",\"chat_id\":" CHAT
                        ",\"message\":{\"mid\":\"mid.0000000000000001a\",\"text\":\"x\"}}", 1),
            .headers = auth);
    CHECK_EVENT(&h, "answer", "max:" CHAT ":mid.0000000000000001a");
    sh_post(&h, message("message_created", "mid.4", "{\"user_id\":1,\"is_bot\":true}", "", 1),
            .headers = auth);
    CHECK_EVENT(&h, "ignored", NULL);
    sh_post(&h, "{\"update_type\":\"bot_started\",\"timestamp\":1,\"chat_id\":5,\"user\":{}}",
            .headers = auth);
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->platform_type, "bot_started");
    /* a chat that is no page, and a dialog without direct_page */
    sh_post(&h, "{\"update_type\":\"message_created\",\"timestamp\":1,\"message\":{\"sender\":"
                CITIZEN ",\"recipient\":{\"chat_id\":99,\"chat_type\":\"dialog\"},\"body\":"
                "{\"mid\":\"mid.9\",\"text\":\"x\"}}}", .headers = auth);
    CHECK_EVENT(&h, "ignored", NULL);
    /* a message without a body (only a forward) is kept aside */
    sh_post(&h, "{\"update_type\":\"message_created\",\"timestamp\":1,\"message\":{\"sender\":"
                CITIZEN ",\"recipient\":{\"chat_id\":" CHAT "},\"body\":null}}", .headers = auth);
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK(sh_one(&h)->quarantine != NULL);
}

TEST(dialogs_with_direct_page)
{
    struct sh d;
    CHECK_INT(sh_start(&d, MAX_CONFIG_X("direct_page = bot\n"), "max"), 0);
    sh_post(&d, "{\"update_type\":\"message_created\",\"timestamp\":1,\"message\":{\"sender\":"
                CITIZEN ",\"recipient\":{\"chat_id\":9007199254740993,\"chat_type\":\"dialog\"},"
                "\"timestamp\":5,\"body\":{\"mid\":\"mid.10\",\"text\":\"Вопрос\"}}}",
            .headers = auth);
    CHECK_EVENT(&d, "created", "max:pf79769f6e399e145:mid.10");
    if (sh_one(&d)) {
        CHECK_STR(sh_one(&d)->page, "bot");
        CHECK(sh_one(&d)->link == NULL);   /* finding 7: a dialog has no link, none is made */
    }
    /* MAX sends "url": null for dialogs (schema): still no link */
    sh_post(&d, "{\"update_type\":\"message_created\",\"timestamp\":1,\"message\":{\"sender\":"
                CITIZEN ",\"recipient\":{\"chat_id\":9007199254740993,\"chat_type\":\"dialog\"},"
                "\"timestamp\":5,\"url\":null,\"body\":{\"mid\":\"mid.11\",\"text\":\"?\"}}}",
            .headers = auth);
    if (sh_one(&d))
        CHECK(sh_one(&d)->link == NULL);
    sh_stop(&d);
}

TEST(init_refuses_a_missing_secret)
{
    struct sh x;
    CHECK_INT(sh_start(&x, SH_CONFIG "[source \"max\"]\n", "max"), -1);
    CHECK(strstr(x.err, "secret is not set") != NULL);
    sh_stop(&x);
    CHECK_INT(sh_start(&x, SH_CONFIG "[source \"max\"]\nrequire_secret = no\n", "max"), 0);
    sh_post(&x, "{\"update_type\":\"bot_added\",\"timestamp\":1}");
    CHECK_EVENT(&x, "ignored", NULL);
    sh_stop(&x);
}

int main(void)
{
    log_set_level(LOG_LVL_ERROR);
    if (sh_start(&h, MAX_CONFIG, "max") != 0) {
        printf("Bail out! %s\n", h.err);
        return 1;
    }
    RUN(secret_header);
    RUN(created_edited_removed);
    RUN(own_side_and_other_updates);
    RUN(dialogs_with_direct_page);
    RUN(init_refuses_a_missing_secret);
    sh_stop(&h);
    return test_done();
}
