/* source_telegram: channel comments in the linked discussion group mapped to
 * their post, the page's own answers, bots, edits, private messages, and the
 * secret-token header. */
#include "source_harness.h"

#define CHANNEL "-1001234567890"
#define GROUP "-1009876543210"
#define SECRET_HDR "X-Telegram-Bot-Api-Secret-Token"

/* extra: more keys of the source section */
#define TG_CONFIG_X(extra) SH_CONFIG                                        \
    "[source \"telegram\"]\nsecret_token = tg-Secret_1-0123456789\n" extra             \
    "[page \"telegram:" CHANNEL "\"]\norg = maykop\nname = Майкоп\n"        \
    "[page \"telegram:-1005555\"]\norg = maykop\n"                          \
    "[page \"telegram:bot\"]\norg = cur\n"
#define TG_CONFIG TG_CONFIG_X("")

static const char *const auth[] = {SECRET_HDR, "tg-Secret_1-0123456789", NULL};
static struct sh h;
static char body[8192];

static const char *update(int64_t update_id, const char *kind, const char *msg)
{
    snprintf(body, sizeof(body), "{\"update_id\":%lld,\"%s\":%s}", (long long)update_id, kind,
             msg);
    return body;
}

#define POST(...) sh_post(&h, update(__VA_ARGS__), .headers = auth)

/* The discussion copy of channel post 42, as message 100 in the group. */
#define COPY                                                                          \
    "{\"message_id\":100,\"from\":{\"id\":777000,\"is_bot\":false,"                   \
    "\"first_name\":\"Telegram\"},\"sender_chat\":{\"id\":" CHANNEL ",\"type\":"      \
    "\"channel\",\"title\":\"Майкоп\",\"username\":\"maykop_adm\"},\"chat\":{\"id\":" \
    GROUP ",\"type\":\"supergroup\",\"title\":\"Майкоп: обсуждение\"},\"date\":1,"    \
    "\"is_automatic_forward\":true,\"forward_origin\":{\"type\":\"channel\","         \
    "\"chat\":{\"id\":" CHANNEL ",\"type\":\"channel\",\"username\":\"maykop_adm\"},"  \
    "\"message_id\":42,\"date\":1},\"text\":\"Новость\"}"

#define USER "\"from\":{\"id\":5001,\"is_bot\":false,\"first_name\":\"Анна\",\"last_name\":\"К\"}"
#define GROUP_CHAT "\"chat\":{\"id\":" GROUP ",\"type\":\"supergroup\"}"

TEST(secret_token_header)
{
    sh_post(&h, "{not json");
    CHECK_REJECT(&h, 403);   /* checked before the body is even parsed */
    sh_post(&h, "{}", .headers = (const char *[]){SECRET_HDR, "tg-Secret_2", NULL});
    CHECK_REJECT(&h, 403);
    sh_post(&h, "{not json", .headers = auth);
    CHECK_REJECT(&h, 400);
    sh_post(&h, "{\"message\":{}}", .headers = auth);
    CHECK_REJECT(&h, 400);
    sh_post(&h, "{\"update_id\":1,\"chat_member\":{}}", .flags = APD_HANDLE_NOAUTH);
    CHECK_EVENT(&h, "ignored", NULL);
}

TEST(comments_map_to_their_channel_post)
{
    POST(1, "message", COPY);
    CHECK_EVENT(&h, "ignored", NULL);
    /* a top-level comment replies to the copy */
    POST(2, "message", "{\"message_id\":101," USER "," GROUP_CHAT ",\"date\":1795900000,"
                       "\"message_thread_id\":100,\"reply_to_message\":" COPY ","
                       "\"text\":\"Когда починят дорогу?\"}");
    CHECK_EVENT(&h, "created", "tg:" GROUP ":101");
    const struct pevent *e = sh_one(&h);
    if (e) {
        CHECK_STR(e->page, CHANNEL);
        CHECK_STR(e->thread, "tg:" CHANNEL ":42");
        CHECK_STR(e->link, "https://t.me/maykop_adm/42?comment=101");
        CHECK_STR(e->author_id, "5001");
        CHECK_STR(e->author_name, "Анна К");
        CHECK_STR(e->text, "Когда починят дорогу?");
        CHECK_INT(e->created_ms, 1795900000000LL);
        CHECK_STR(e->item_kind, "comment");
        CHECK_STR(e->dedup_key, "tg:u2:" GROUP ":101");
    }
    /* a nested reply carries only the thread id: the map finds the post */
    POST(3, "message", "{\"message_id\":102,\"from\":{\"id\":5002,\"is_bot\":false,"
                       "\"first_name\":\"Б\"}," GROUP_CHAT ",\"date\":2,\"message_thread_id\":100,"
                       "\"reply_to_message\":{\"message_id\":101," USER "," GROUP_CHAT
                       ",\"date\":1,\"text\":\"x\"},\"text\":\"И у нас\"}");
    CHECK_EVENT(&h, "created", "tg:" GROUP ":102");
    if (sh_one(&h)) {
        CHECK_STR(sh_one(&h)->link, "https://t.me/maykop_adm/42?comment=102");
        CHECK_STR(sh_one(&h)->page, CHANNEL);
    }
    POST(4, "edited_message", "{\"message_id\":101," USER "," GROUP_CHAT ",\"date\":1,"
                              "\"edit_date\":5,\"message_thread_id\":100,\"text\":\"исправлено\"}");
    CHECK_EVENT(&h, "edited", "tg:" GROUP ":101");
}

TEST(unknown_copy_falls_back_to_the_thread)
{
    struct sh fresh;
    CHECK_INT(sh_start(&fresh, TG_CONFIG_X("linked_chats = " GROUP "=" CHANNEL "\n"), "telegram"),
              0);
    sh_post(&fresh, update(9, "message", "{\"message_id\":300," USER "," GROUP_CHAT ",\"date\":1,"
                                         "\"message_thread_id\":250,\"reply_to_message\":"
                                         "{\"message_id\":260," GROUP_CHAT ",\"date\":1},"
                                         "\"text\":\"вопрос\"}"), .headers = auth);
    CHECK_EVENT(&fresh, "created", "tg:" GROUP ":300");
    if (sh_one(&fresh)) {
        CHECK_STR(sh_one(&fresh)->page, CHANNEL);   /* from linked_chats */
        CHECK_STR(sh_one(&fresh)->thread, "tg:" GROUP ":250");
        CHECK_STR(sh_one(&fresh)->link, "https://t.me/c/9876543210/300?thread=250");
    }
    sh_stop(&fresh);
}

TEST(the_page_answering_and_bots)
{
    /* an admin writing as the channel, replying to a comment */
    POST(10, "message", "{\"message_id\":103,\"from\":{\"id\":136817688,\"is_bot\":true,"
                        "\"first_name\":\"Channel\"},\"sender_chat\":{\"id\":" CHANNEL
                        ",\"type\":\"channel\"}," GROUP_CHAT ",\"date\":3,"
                        "\"message_thread_id\":100,\"reply_to_message\":{\"message_id\":101,"
                        USER "," GROUP_CHAT ",\"date\":1,\"text\":\"x\"},\"text\":\"Починим\"}");
    CHECK_EVENT(&h, "answer", "tg:" GROUP ":101");
    /* an anonymous group admin */
    POST(11, "message", "{\"message_id\":104,\"from\":{\"id\":1087968824,\"is_bot\":true,"
                        "\"first_name\":\"Group\"},\"sender_chat\":{\"id\":" GROUP
                        ",\"type\":\"supergroup\"}," GROUP_CHAT ",\"date\":3,"
                        "\"reply_to_message\":{\"message_id\":102," GROUP_CHAT ",\"date\":1},"
                        "\"text\":\"Ответ\"}");
    CHECK_EVENT(&h, "answer", "tg:" GROUP ":102");
    /* the channel commenting its own post answers nobody */
    POST(12, "message", "{\"message_id\":105,\"sender_chat\":{\"id\":" CHANNEL "},"
                        GROUP_CHAT ",\"date\":3,\"message_thread_id\":100,"
                        "\"reply_to_message\":" COPY ",\"text\":\"Дополнение\"}");
    CHECK_EVENT(&h, "ignored", NULL);
    /* some other bot */
    POST(13, "message", "{\"message_id\":106,\"from\":{\"id\":42,\"is_bot\":true,"
                        "\"first_name\":\"spam\"}," GROUP_CHAT ",\"date\":3,\"text\":\"Купи\"}");
    CHECK_EVENT(&h, "ignored", NULL);
}

TEST(other_updates_chats_and_private_messages)
{
    POST(20, "channel_post", "{\"message_id\":43,\"chat\":{\"id\":" CHANNEL ",\"type\":"
                             "\"channel\",\"username\":\"maykop_adm\"},\"date\":1,\"text\":\"x\"}");
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->platform_type, "channel_post");
    POST(21, "message_reaction", "{\"chat\":{\"id\":1},\"message_id\":1}");
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->platform_type, "message_reaction");
    /* a chat that is no page */
    POST(22, "message", "{\"message_id\":1," USER ",\"chat\":{\"id\":-100777,\"type\":"
                        "\"supergroup\"},\"date\":1,\"text\":\"x\"}");
    CHECK_EVENT(&h, "ignored", NULL);
    /* a group that is a page itself; caption counts as text */
    POST(23, "message", "{\"message_id\":7," USER ",\"chat\":{\"id\":-1005555,\"type\":"
                        "\"supergroup\"},\"date\":1,\"caption\":\"фото ямы\"}");
    CHECK_EVENT(&h, "created", "tg:-1005555:7");
    if (sh_one(&h)) {
        CHECK_STR(sh_one(&h)->text, "фото ямы");
        CHECK_STR(sh_one(&h)->item_kind, "message");
    }
    /* private chats: ignored without direct_page */
    POST(24, "message", "{\"message_id\":1," USER ",\"chat\":{\"id\":5001,\"type\":\"private\"},"
                        "\"date\":1,\"text\":\"Здравствуйте\"}");
    CHECK_EVENT(&h, "ignored", NULL);
    struct sh d;
    CHECK_INT(sh_start(&d, TG_CONFIG_X("direct_page = bot\n"), "telegram"), 0);
    sh_post(&d, update(24, "message", "{\"message_id\":1," USER ",\"chat\":{\"id\":5001,"
                                      "\"type\":\"private\"},\"date\":1,\"text\":\"Здравствуйте\"}"),
            .headers = auth);
    CHECK_EVENT(&d, "created", "tg:pe4ff6c89beef8510:1");
    if (sh_one(&d))
        CHECK_STR(sh_one(&d)->page, "bot");
    sh_stop(&d);
}

/* Finding 7: a private chat has no message link; t.me/<username>/<id> with
 * a person's username opens nothing.  Public supergroups keep theirs. */
TEST(private_chats_have_no_link)
{
    struct sh d;
    CHECK_INT(sh_start(&d, TG_CONFIG_X("direct_page = bot\n"), "telegram"), 0);
    sh_post(&d, update(30, "message", "{\"message_id\":52,\"from\":{\"id\":5001,"
                                      "\"is_bot\":false,\"first_name\":\"Анна\","
                                      "\"username\":\"anna_k\",\"language_code\":\"ru\"},"
                                      "\"chat\":{\"id\":5001,\"first_name\":\"Анна\","
                                      "\"username\":\"anna_k\",\"type\":\"private\"},"
                                      "\"date\":1795900000,\"text\":\"Не вывозят мусор\"}"),
            .headers = auth);
    CHECK_EVENT(&d, "created", "tg:pe4ff6c89beef8510:52");
    if (sh_one(&d))
        CHECK(sh_one(&d)->link == NULL);
    /* the edit of it, too */
    sh_post(&d, update(31, "edited_message", "{\"message_id\":52,\"from\":{\"id\":5001,"
                                             "\"is_bot\":false,\"first_name\":\"Анна\"},"
                                             "\"chat\":{\"id\":5001,\"username\":\"anna_k\","
                                             "\"type\":\"private\"},\"date\":1,"
                                             "\"edit_date\":2,\"text\":\"Не вывозят мусор!\"}"),
            .headers = auth);
    CHECK_EVENT(&d, "edited", "tg:pe4ff6c89beef8510:52");
    if (sh_one(&d))
        CHECK(sh_one(&d)->link == NULL);
    /* a public supergroup that is a page keeps t.me/<username>/<id> */
    sh_post(&d, update(32, "message", "{\"message_id\":8," USER ",\"chat\":{\"id\":-1005555,"
                                      "\"type\":\"supergroup\",\"username\":\"maykop_chat\"},"
                                      "\"date\":1,\"text\":\"x\"}"),
            .headers = auth);
    if (sh_one(&d))
        CHECK_STR(sh_one(&d)->link, "https://t.me/maykop_chat/8");
    sh_stop(&d);
}

TEST(ids_stay_exact)
{
    /* chat ids take up to 52 bits; update ids are plain integers */
    POST(9007199254740993LL, "message", "{\"message_id\":2147483647," USER ",\"chat\":{\"id\":"
                                        "-1005555,\"type\":\"supergroup\"},\"date\":1,\"text\":"
                                        "\"x\"}");
    CHECK_EVENT(&h, "created", "tg:-1005555:2147483647");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->dedup_key, "tg:u9007199254740993:-1005555:2147483647");
    POST(30, "message", "{\"message_id\":1," USER "}");
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK(sh_one(&h)->quarantine != NULL);
}

TEST(init_refuses_a_missing_secret_or_a_bad_link)
{
    struct sh x;
    CHECK_INT(sh_start(&x, SH_CONFIG "[source \"telegram\"]\n", "telegram"), -1);
    CHECK(strstr(x.err, "secret_token is not set") != NULL);
    sh_stop(&x);
    CHECK_INT(sh_start(&x, TG_CONFIG_X("linked_chats = 12-34\n"), "telegram"), -1);
    CHECK(strstr(x.err, "linked_chats: '12-34'") != NULL);
    sh_stop(&x);
    CHECK_INT(sh_start(&x, TG_CONFIG_X("direct_page = nope\n"), "telegram"), -1);
    CHECK(strstr(x.err, "direct_page: no [page]") != NULL);
    sh_stop(&x);
}

TEST(reload_keeps_the_copy_map)
{
    struct sh h2;
    CHECK_INT(sh_start(&h2, TG_CONFIG, "telegram"), 0);
    sources_handover(h2.srcs, h.srcs);
    sh_post(&h2, update(40, "message", "{\"message_id\":110," USER "," GROUP_CHAT ",\"date\":2,"
                                       "\"message_thread_id\":100,\"text\":\"ещё\"}"),
            .headers = auth);
    CHECK_EVENT(&h2, "created", "tg:" GROUP ":110");
    if (sh_one(&h2)) {
        CHECK_STR(sh_one(&h2)->thread, "tg:" CHANNEL ":42");
        CHECK_STR(sh_one(&h2)->page, CHANNEL);
    }
    sh_stop(&h2);
}

int main(void)
{
    log_set_level(LOG_LVL_ERROR);
    if (sh_start(&h, TG_CONFIG, "telegram") != 0) {
        printf("Bail out! %s\n", h.err);
        return 1;
    }
    RUN(secret_token_header);
    RUN(comments_map_to_their_channel_post);
    RUN(unknown_copy_falls_back_to_the_thread);
    RUN(the_page_answering_and_bots);
    RUN(other_updates_chats_and_private_messages);
    RUN(private_chats_have_no_link);
    RUN(ids_stay_exact);
    RUN(init_refuses_a_missing_secret_or_a_bad_link);
    RUN(reload_keeps_the_copy_map);
    sh_stop(&h);
    return test_done();
}
