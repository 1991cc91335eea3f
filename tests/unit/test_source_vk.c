/* source_vk: the Callback API events VK documents, in their variant shapes,
 * through the plugin as the daemon runs it (see source_harness.h). */
#include "source_harness.h"

#define VK_CONFIG SH_CONFIG                                                   \
    "[source \"vk\"]\n"                                                       \
    "[page \"vk:100001\"]\norg = maykop\nsecret = s3cret-vk-0123456789\nconfirmation = 6f1c2a9b\n" \
    "[page \"vk:100002\"]\norg = maykop\n"                                   \
    "[page \"vk:100003\"]\norg = maykop\nsecret = s3cret-vk-0123456789\ngroup_chats = yes\n"

static struct sh h;
static char body[8192];

/* The envelope around an object, with the page's secret. */
static const char *vk(const char *type, const char *object, const char *event_id)
{
    snprintf(body, sizeof(body),
             "{\"type\":\"%s\",\"event_id\":\"%s\",\"v\":\"5.199\",\"group_id\":100001,"
             "\"secret\":\"s3cret-vk-0123456789\",\"object\":%s}", type, event_id, object);
    return body;
}

/* The same for another community of the config. */
static const char *vk_to(int64_t group, const char *type, const char *object, const char *eid)
{
    snprintf(body, sizeof(body),
             "{\"type\":\"%s\",\"event_id\":\"%s\",\"v\":\"5.199\",\"group_id\":%lld,"
             "\"secret\":\"s3cret-vk-0123456789\",\"object\":%s}", type, eid, (long long)group, object);
    return body;
}

TEST(handshake_and_authentication)
{
    sh_post(&h, "{\"type\":\"confirmation\",\"group_id\":100001,\"secret\":\"s3cret-vk-0123456789\"}");
    CHECK_INT(h.v, APD_RESPOND);
    CHECK_STR(h.reply.body, "6f1c2a9b");
    sh_post(&h, "{\"type\":\"confirmation\",\"group_id\":100001,\"secret\":\"wrong\"}");
    CHECK_REJECT(&h, 403);   /* the secret is checked before the handshake, too */
    CHECK_STR(h.reply.reason, "wrong secret for community 100001");   /* whose secret */
    sh_post(&h, "{\"type\":\"confirmation\",\"group_id\":100001}");
    CHECK_REJECT(&h, 403);
    sh_post(&h, "{\"type\":\"wall_reply_new\",\"group_id\":100002,\"object\":{}}");
    CHECK_REJECT(&h, 403);   /* a page without a secret, require_secret = yes */
    CHECK_STR(h.reply.reason, "no secret configured for community 100002");
    /* the log learns which community; the client one answer for an unknown
     * community, one without a secret and a wrong secret: no probing for ids */
    CHECK_STR(h.reply.body, "not authenticated");
    sh_post(&h, "{\"type\":\"confirmation\",\"group_id\":999,\"secret\":\"s3cret-vk-0123456789\"}");
    CHECK_REJECT(&h, 403);
    CHECK_STR(h.reply.reason, "unknown community 999 (no [page \"vk:999\"])");
    CHECK_STR(h.reply.body, "not authenticated");
    sh_post(&h, "{\"type\":\"confirmation\",\"group_id\":100001,\"secret\":\"nope\"}");
    CHECK_STR(h.reply.body, "not authenticated");
    sh_post(&h, "{\"type\":\"wall_reply_new\"");
    CHECK_REJECT(&h, 400);
    /* the parser's detail survives the call (the host logs it afterwards) */
    CHECK(strstr(h.reply.reason, "body is not JSON (") != NULL);
    CHECK(strstr(h.reply.reason, "XXXX") == NULL);
    sh_post(&h, "{\"group_id\":100001}");
    CHECK_REJECT(&h, 400);
    sh_post(&h, "[1,2]");
    CHECK_REJECT(&h, 400);
    /* replay and `appealsd parse` skip authentication */
    sh_post(&h, "{\"type\":\"like_add\",\"group_id\":100001,\"object\":{}}",
            .flags = APD_HANDLE_NOAUTH);
    CHECK_EVENT(&h, "ignored", NULL);
}

TEST(wall_comment_from_a_citizen)
{
    sh_post(&h, vk("wall_reply_new",
                   "{\"id\":501,\"from_id\":7001,\"date\":1795900000,\"text\":\"Яма на дороге\","
                   "\"post_id\":42,\"owner_id\":-100001,\"parents_stack\":[],"
                   "\"thread\":{\"count\":0}}", "08c7a3b598c159427a79421fa51e60423066c5c6"));
    CHECK_EVENT(&h, "created", "vk:-100001:wall:42:c501");
    const struct pevent *e = sh_one(&h);
    if (!e)
        return;
    CHECK_STR(e->page, "100001");
    CHECK_STR(e->author_id, "7001");
    CHECK_STR(e->text, "Яма на дороге");
    CHECK_INT(e->created_ms, 1795900000000LL);
    CHECK_STR(e->link, "https://vk.com/wall-100001_42?reply=501");
    CHECK_STR(e->thread, "vk:-100001:wall:42");
    CHECK_STR(e->item_kind, "comment");
    CHECK_STR(e->platform_type, "wall_reply_new");
    CHECK_STR(e->dedup_key, "vk:ev:08c7a3b598c159427a79421fa51e60423066c5c6");
    CHECK(e->quarantine == NULL);
}

/* Issue 12 item 1: mention markup keeps no name or id, in citizens' texts,
 * the page's answers (which start with one) and private messages; a board
 * reply still finds the post its markup names. */
TEST(mentions_are_masked)
{
    sh_post(&h, vk("wall_reply_new",
                   "{\"id\":502,\"from_id\":7002,\"date\":1,\"text\":\"[id7001|Анна], и у нас\","
                   "\"post_id\":42,\"owner_id\":-100001,\"reply_to_comment\":501}", "mm1"));
    CHECK_EVENT(&h, "created", "vk:-100001:wall:42:c502");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->text, "[упоминание], и у нас");
    sh_post(&h, vk("wall_reply_new",
                   "{\"id\":503,\"from_id\":-100001,\"date\":1,\"text\":\"[id7001|Анна Смирнова], "
                   "отремонтируем\",\"post_id\":42,\"owner_id\":-100001,\"reply_to_comment\":501}",
                   "mm2"));
    CHECK_EVENT(&h, "answer", "vk:-100001:wall:42:c501");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->text, "[упоминание], отремонтируем");
    sh_post(&h, vk("board_post_new",
                   "{\"id\":77,\"from_id\":-100001,\"date\":1,\"text\":\"[post76|Иван], да\","
                   "\"topic_id\":5,\"topic_owner_id\":-100001}", "mm3"));
    CHECK_EVENT(&h, "answer", "vk:-100001:topic:5:c76");
    if (sh_one(&h)) {
        CHECK_STR(sh_one(&h)->reply_to, "vk:-100001:topic:5:c76");
        CHECK_STR(sh_one(&h)->text, "[упоминание], да");
    }
    sh_post(&h, vk("message_new", "{\"message\":{\"date\":1,\"from_id\":7001,\"out\":0,"
                   "\"peer_id\":7001,\"text\":\"как [club5|Водоканал]?\","
                   "\"conversation_message_id\":60}}", "mm4"));
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->text, "как [сообщество]?");
}

TEST(wall_comment_variants_edit_restore_delete)
{
    /* 2018 shape: post_owner_id only, no v */
    sh_post(&h, "{\"type\":\"wall_reply_new\",\"group_id\":100001,\"secret\":\"s3cret-vk-0123456789\","
                "\"object\":{\"id\":7,\"from_id\":5,\"date\":1,\"text\":\"a\",\"post_id\":3,"
                "\"post_owner_id\":-100001}}");
    CHECK_EVENT(&h, "created", "vk:-100001:wall:3:c7");
    sh_post(&h, vk("wall_reply_edit", "{\"id\":7,\"from_id\":5,\"date\":1,\"text\":\"b\","
                   "\"post_id\":3,\"owner_id\":-100001}", "e2"));
    CHECK_EVENT(&h, "edited", "vk:-100001:wall:3:c7");
    sh_post(&h, vk("wall_reply_restore", "{\"id\":7,\"from_id\":5,\"date\":1,\"text\":\"b\","
                   "\"post_id\":3,\"owner_id\":-100001}", "e3"));
    CHECK_EVENT(&h, "restored", "vk:-100001:wall:3:c7");
    sh_post(&h, vk("wall_reply_delete", "{\"owner_id\":-100001,\"id\":7,\"deleter_id\":5,"
                   "\"post_id\":3}", "e4"));
    CHECK_EVENT(&h, "deleted", "vk:-100001:wall:3:c7");
    sh_post(&h, vk("wall_reply_delete", "{\"owner_id\":-100001,\"id\":7,\"user_id\":5,"
                   "\"post_id\":3}", "e5"));
    CHECK_EVENT(&h, "deleted", "vk:-100001:wall:3:c7");
    /* a reply inside a thread links to its thread */
    sh_post(&h, vk("wall_reply_new", "{\"id\":9,\"from_id\":5,\"date\":1,\"text\":\"c\","
                   "\"post_id\":3,\"owner_id\":-100001,\"parents_stack\":[7],"
                   "\"reply_to_comment\":7}", "e6"));
    CHECK_EVENT(&h, "created", "vk:-100001:wall:3:c9");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->link, "https://vk.com/wall-100001_3?reply=9&thread=7");
}

TEST(the_page_answering_is_an_answer_for_every_comment_kind)
{
    sh_post(&h, vk("wall_reply_new", "{\"id\":602,\"from_id\":-100001,\"date\":2,"
                   "\"text\":\"[id7001|Анна], откроют в марте\",\"post_id\":42,"
                   "\"owner_id\":-100001,\"parents_stack\":[601],\"reply_to_comment\":601}",
                   "a1"));
    CHECK_EVENT(&h, "answer", "vk:-100001:wall:42:c601");
    /* only parents_stack */
    sh_post(&h, vk("wall_reply_new", "{\"id\":603,\"from_id\":-100001,\"date\":2,\"text\":\"x\","
                   "\"post_id\":42,\"owner_id\":-100001,\"parents_stack\":[601]}", "a2"));
    CHECK_EVENT(&h, "answer", "vk:-100001:wall:42:c601");
    sh_post(&h, vk("photo_comment_new", "{\"id\":11,\"from_id\":-100001,\"date\":2,"
                   "\"text\":\"x\",\"photo_id\":77,\"photo_owner_id\":-100001,"
                   "\"reply_to_comment\":10}", "a3"));
    CHECK_EVENT(&h, "answer", "vk:-100001:photo:77:c10");
    sh_post(&h, vk("video_comment_new", "{\"id\":21,\"from_id\":-100001,\"date\":2,"
                   "\"text\":\"x\",\"video_id\":88,\"video_owner_id\":-100001,"
                   "\"reply_to_comment\":20}", "a4"));
    CHECK_EVENT(&h, "answer", "vk:-100001:video:88:c20");
    sh_post(&h, vk("market_comment_new", "{\"id\":31,\"from_id\":-100001,\"date\":2,"
                   "\"text\":\"x\",\"item_id\":99,\"market_owner_id\":-100001,"
                   "\"reply_to_comment\":30}", "a5"));
    CHECK_EVENT(&h, "answer", "vk:-100001:market:99:c30");
    sh_post(&h, vk("board_post_new", "{\"id\":13,\"from_id\":-100001,\"date\":2,"
                   "\"text\":\"[post12|Иван], ответ\",\"topic_id\":5,"
                   "\"topic_owner_id\":-100001}", "a6"));
    CHECK_EVENT(&h, "answer", "vk:-100001:topic:5:c12");
    /* the page's own top-level comment and its own edits are nothing */
    sh_post(&h, vk("wall_reply_new", "{\"id\":604,\"from_id\":-100001,\"date\":2,\"text\":\"x\","
                   "\"post_id\":42,\"owner_id\":-100001,\"parents_stack\":[]}", "a7"));
    CHECK_EVENT(&h, "ignored", NULL);
    sh_post(&h, vk("wall_reply_edit", "{\"id\":602,\"from_id\":-100001,\"date\":2,\"text\":\"y\","
                   "\"post_id\":42,\"owner_id\":-100001,\"reply_to_comment\":601}", "a8"));
    CHECK_EVENT(&h, "ignored", NULL);
}

TEST(photo_video_market_board_comments)
{
    sh_post(&h, vk("photo_comment_new", "{\"id\":9,\"from_id\":5,\"date\":3,\"text\":\"фото\","
                   "\"photo_id\":77,\"photo_owner_id\":-100001}", "p1"));
    CHECK_EVENT(&h, "created", "vk:-100001:photo:77:c9");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->link, "https://vk.com/photo-100001_77");
    sh_post(&h, vk("photo_comment_delete", "{\"owner_id\":-100001,\"id\":9,\"user_id\":5,"
                   "\"deleter_id\":1,\"photo_id\":77}", "p2"));
    CHECK_EVENT(&h, "deleted", "vk:-100001:photo:77:c9");
    sh_post(&h, vk("video_comment_edit", "{\"id\":4,\"from_id\":5,\"date\":3,\"text\":\"в\","
                   "\"video_id\":88,\"video_owner_id\":-100001}", "v1"));
    CHECK_EVENT(&h, "edited", "vk:-100001:video:88:c4");
    sh_post(&h, vk("video_comment_delete", "{\"owner_id\":-100001,\"id\":4,\"deleter_id\":1,"
                   "\"video_id\":88}", "v2"));
    CHECK_EVENT(&h, "deleted", "vk:-100001:video:88:c4");
    /* market: item_id (vk-io) and photo_id (VK's schema) */
    sh_post(&h, vk("market_comment_new", "{\"id\":6,\"from_id\":5,\"date\":3,\"text\":\"м\","
                   "\"item_id\":99,\"market_owner_id\":-100001}", "m1"));
    CHECK_EVENT(&h, "created", "vk:-100001:market:99:c6");
    sh_post(&h, vk("market_comment_restore", "{\"id\":6,\"from_id\":5,\"date\":3,\"text\":\"м\","
                   "\"photo_id\":99,\"market_owner_id\":-100001}", "m2"));
    CHECK_EVENT(&h, "restored", "vk:-100001:market:99:c6");
    sh_post(&h, vk("market_comment_delete", "{\"owner_id\":-100001,\"id\":6,\"user_id\":5,"
                   "\"item_id\":99}", "m3"));
    CHECK_EVENT(&h, "deleted", "vk:-100001:market:99:c6");
    sh_post(&h, vk("board_post_new", "{\"id\":12,\"from_id\":5,\"date\":3,\"text\":\"тема\","
                   "\"topic_id\":5,\"topic_owner_id\":-100001}", "b1"));
    CHECK_EVENT(&h, "created", "vk:-100001:topic:5:c12");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->link, "https://vk.com/topic-100001_5?post=12");
    sh_post(&h, vk("board_post_delete", "{\"topic_owner_id\":-100001,\"topic_id\":5,\"id\":12}",
                   "b2"));   /* deleter_id is sometimes absent */
    CHECK_EVENT(&h, "deleted", "vk:-100001:topic:5:c12");
}

TEST(suggested_posts_and_the_pages_own_posts)
{
    sh_post(&h, vk("wall_post_new", "{\"id\":900,\"owner_id\":-100001,\"from_id\":7001,"
                   "\"created_by\":7001,\"date\":5,\"text\":\"Предлагаю новость\","
                   "\"post_type\":\"suggest\"}", "s1"));
    CHECK_EVENT(&h, "created", "vk:-100001:wall:900");
    if (sh_one(&h)) {
        CHECK_STR(sh_one(&h)->item_kind, "suggested_post");
        CHECK_STR(sh_one(&h)->author_id, "7001");
        CHECK_STR(sh_one(&h)->link, "https://vk.com/wall-100001_900");
    }
    /* published by the admin: a new post of the community */
    sh_post(&h, vk("wall_post_new", "{\"id\":901,\"owner_id\":-100001,\"from_id\":-100001,"
                   "\"created_by\":1,\"signer_id\":7001,\"date\":6,\"text\":\"x\","
                   "\"post_type\":\"post\"}", "s2"));
    CHECK_EVENT(&h, "ignored", NULL);
    /* a citizen's post on an open wall */
    sh_post(&h, vk("wall_post_new", "{\"id\":902,\"owner_id\":-100001,\"from_id\":7002,"
                   "\"date\":6,\"text\":\"На стене\",\"post_type\":\"post\"}", "s3"));
    CHECK_EVENT(&h, "created", "vk:-100001:wall:902");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->item_kind, "post");
}

/* Community 100003, with its own valid secret, cannot act in 100001's
 * threads: not answer (which would stop 100001's clock), edit, withdraw or
 * file appeals there.  Its own items go through as before. */
TEST(a_community_acts_only_on_its_own_items)
{
    sh_post(&h, vk_to(100003, "wall_reply_new", "{\"id\":601,\"from_id\":-100003,"
                      "\"date\":5,\"text\":\"Вопрос решён\",\"post_id\":42,"
                      "\"owner_id\":-100001,\"reply_to_comment\":600}", "x1"));
    CHECK_REJECT(&h, 403);
    CHECK(strstr(h.reply.reason, "another community") != NULL);
    sh_post(&h, vk_to(100003, "wall_reply_edit", "{\"id\":600,\"from_id\":7001,\"date\":5,"
                      "\"text\":\"x\",\"post_id\":42,\"owner_id\":-100001}", "x2"));
    CHECK_REJECT(&h, 403);
    sh_post(&h, vk_to(100003, "wall_reply_delete", "{\"owner_id\":-100001,\"id\":600,"
                      "\"deleter_id\":7001,\"post_id\":42}", "x3"));
    CHECK_REJECT(&h, 403);
    sh_post(&h, vk_to(100003, "photo_comment_new", "{\"id\":9,\"from_id\":7001,\"date\":5,"
                      "\"text\":\"x\",\"photo_id\":77,\"photo_owner_id\":-100001}", "x4"));
    CHECK_REJECT(&h, 403);
    sh_post(&h, vk_to(100003, "wall_post_new", "{\"id\":903,\"owner_id\":-100001,"
                      "\"from_id\":7002,\"date\":6,\"text\":\"x\",\"post_type\":\"post\"}",
                      "x5"));
    CHECK_REJECT(&h, 403);
    /* a comment without any owner field is the authenticated community's */
    sh_post(&h, vk_to(100003, "wall_reply_new", "{\"id\":5,\"from_id\":7001,\"date\":5,"
                      "\"text\":\"Яма у школы\",\"post_id\":42}", "x6"));
    CHECK_EVENT(&h, "created", "vk:-100003:wall:42:c5");
    sh_post(&h, vk_to(100003, "wall_reply_new", "{\"id\":6,\"from_id\":-100003,\"date\":5,"
                      "\"text\":\"Заделаем\",\"post_id\":42,\"owner_id\":-100003,"
                      "\"reply_to_comment\":5}", "x7"));
    CHECK_EVENT(&h, "answer", "vk:-100003:wall:42:c5");
}

static const char *msg_new(int64_t cmid, const char *eid, bool old_shape)
{
    static char m[512];
    snprintf(m, sizeof(m), "{\"id\":%lld,\"date\":10,\"peer_id\":7001,\"from_id\":7001,"
             "\"text\":\"сообщение %lld\",\"conversation_message_id\":%lld,\"out\":0}",
             (long long)(cmid + 1000), (long long)cmid, (long long)cmid);
    if (old_shape)
        return vk("message_new", m, eid);
    char wrapped[700];
    snprintf(wrapped, sizeof(wrapped), "{\"message\":%s,\"client_info\":{\"lang_id\":0}}", m);
    return vk("message_new", wrapped, eid);
}

TEST(private_messages_and_the_pages_replies)
{
    sh_post(&h, msg_new(15, "n1", false));
    CHECK_EVENT(&h, "created", "vk:-100001:msg:p740a37d3a47fd5fb:15");
    if (sh_one(&h)) {
        CHECK_STR(sh_one(&h)->item_kind, "message");
        CHECK_STR(sh_one(&h)->text, "сообщение 15");
        /* the dialog's view names the user: personal_link only (ABI 1.6) */
        CHECK(sh_one(&h)->link == NULL);
        CHECK_STR(sh_one(&h)->personal_link, "https://vk.com/gim100001?sel=7001");
        CHECK_STR(sh_one(&h)->thread, "vk:-100001:msg:p740a37d3a47fd5fb");
        CHECK(sh_one(&h)->legacy_id == NULL);   /* a new message has only the new id */
    }
    sh_post(&h, msg_new(16, "n2", true));   /* API < 5.103: object is the message */
    CHECK_EVENT(&h, "created", "vk:-100001:msg:p740a37d3a47fd5fb:16");
    const char *reply = vk("message_reply", "{\"id\":2000,\"date\":11,\"peer_id\":7001,"
                           "\"from_id\":-100001,\"text\":\"Ответ\",\"out\":1,"
                           "\"conversation_message_id\":17}", "r1");
    char again[2048];
    snprintf(again, sizeof(again), "%s", reply);
    sh_post(&h, again);
    CHECK_INT(h.ev.n, 2);
    if (h.ev.n == 2) {
        CHECK_STR(pevent_type_name(h.ev.v[0]->type), "answer");
        CHECK_STR(h.ev.v[0]->reply_to, "vk:-100001:msg:p740a37d3a47fd5fb:15");
        CHECK_STR(h.ev.v[1]->reply_to, "vk:-100001:msg:p740a37d3a47fd5fb:16");
        /* appeals opened under the clear ids still get their answers */
        CHECK_STR(h.ev.v[0]->legacy_id, "vk:-100001:msg:7001:15");
        CHECK_STR(h.ev.v[1]->thread, "vk:-100001:msg:p740a37d3a47fd5fb");
    }
    /* the same record parsed again (replay, backlog) gives the same events */
    sh_post(&h, again);
    CHECK_INT(h.ev.n, 2);
    /* the next answer covers only what came after the previous one */
    sh_post(&h, msg_new(18, "n3", false));
    sh_post(&h, vk("message_reply", "{\"id\":2001,\"date\":12,\"peer_id\":7001,"
                   "\"from_id\":-100001,\"text\":\"Ещё\",\"out\":1,"
                   "\"conversation_message_id\":19}", "r2"));
    CHECK_EVENT(&h, "answer", "vk:-100001:msg:p740a37d3a47fd5fb:18");
    /* a dialog nothing is known of: the message before, and the quoted one */
    sh_post(&h, vk("message_reply", "{\"id\":2002,\"date\":12,\"peer_id\":7009,"
                   "\"from_id\":-100001,\"text\":\"?\",\"out\":1,"
                   "\"conversation_message_id\":40,\"reply_message\":{\"from_id\":7009,"
                   "\"conversation_message_id\":33,\"text\":\"q\"}}", "r3"));
    CHECK_INT(h.ev.n, 2);
    if (h.ev.n == 2) {
        CHECK_STR(h.ev.v[0]->reply_to, "vk:-100001:msg:p67108663d3dd961f:33");
        CHECK_STR(h.ev.v[1]->reply_to, "vk:-100001:msg:p67108663d3dd961f:39");
    }
    /* the community editing its own message: nothing */
    sh_post(&h, vk("message_edit", "{\"id\":2002,\"peer_id\":7009,\"from_id\":-100001,"
                   "\"text\":\"!\",\"out\":1,\"conversation_message_id\":40}", "r4"));
    CHECK_EVENT(&h, "ignored", NULL);
}

TEST(unknown_types_and_broken_content)
{
    sh_post(&h, vk("like_add", "{\"liker_id\":1,\"object_type\":\"post\"}", "u1"));
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->platform_type, "like_add");
    sh_post(&h, vk("donut_subscription_create", "{}", "u2"));
    CHECK_EVENT(&h, "ignored", NULL);
    /* invalid UTF-8 inside an authenticated comment: accepted, quarantined */
    sh_post(&h, vk("wall_reply_new", "{\"id\":1,\"from_id\":5,\"date\":1,\"text\":\"\xff\xfe\","
                   "\"post_id\":3,\"owner_id\":-100001}", "q1"));
    CHECK_EVENT(&h, "created", "vk:-100001:wall:3:c1");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->quarantine, "text is not valid UTF-8");
    sh_post(&h, vk("wall_reply_new", "{\"id\":1,\"from_id\":5,\"date\":1,\"text\":\"a\\ud800b\","
                   "\"post_id\":3,\"owner_id\":-100001}", "q2"));
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->quarantine, "text holds an unpaired UTF-16 surrogate escape");
    sh_post(&h, vk("wall_reply_new", "{\"id\":1,\"from_id\":5,\"date\":1,\"text\":\"a\\u0000b\","
                   "\"post_id\":3,\"owner_id\":-100001}", "q3"));
    if (sh_one(&h)) {
        CHECK_STR(sh_one(&h)->quarantine, "text holds a NUL character");
        CHECK_INT(sh_one(&h)->text_len, 3);
    }
    /* an ignored event needs no clean text */
    sh_post(&h, vk("like_add", "{\"x\":\"\xff\"}", "q4"));
    if (sh_one(&h))
        CHECK(sh_one(&h)->quarantine == NULL);
    /* a known event without its ids is kept aside, not dropped */
    sh_post(&h, vk("wall_reply_new", "{\"from_id\":5,\"text\":\"no id\"}", "q5"));
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK(sh_one(&h)->quarantine != NULL);
    /* an event id that could break keys is not used as one */
    sh_post(&h, vk("wall_reply_new", "{\"id\":2,\"from_id\":5,\"date\":1,\"text\":\"a\","
                   "\"post_id\":3,\"owner_id\":-100001}", "bad|id"));
    if (sh_one(&h))
        CHECK(sh_one(&h)->dedup_key == NULL);
    /* nesting beyond the cap is refused as bad input */
    char deep[300];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    char *b = body;
    snprintf(b, sizeof(body), "{\"type\":\"like_add\",\"group_id\":100001,\"secret\":\"s3cret-vk-0123456789\","
             "\"object\":%s}", deep);
    sh_post(&h, b);
    CHECK_REJECT(&h, 400);
}

TEST(reload_keeps_the_dialog_memory)
{
    sh_post(&h, msg_new(50, "k1", false));
    struct sh h2;
    CHECK_INT(sh_start(&h2, VK_CONFIG, "vk"), 0);
    sources_handover(h2.srcs, h.srcs);
    sh_post(&h2, vk("message_reply", "{\"id\":3000,\"date\":11,\"peer_id\":7001,"
                    "\"from_id\":-100001,\"text\":\"Ответ\",\"out\":1,"
                    "\"conversation_message_id\":52}", "k2"));
    /* everything since the previous answer (19), capped at 16; a fresh instance
     * without the old one's memory would guess only 51 */
    CHECK_INT(h2.ev.n, 16);
    sh_stop(&h2);
}

/* Finding 6: a delete says who deleted (deleter_id); the host tells the
 * author's withdrawal from the page's removal by it.  user_id is not the
 * deleter (vk-io reads it as the author). */
TEST(deletes_report_who_deleted)
{
    sh_post(&h, vk("wall_reply_delete", "{\"owner_id\":-100001,\"id\":501,"
                   "\"deleter_id\":7001,\"post_id\":42}", "d1"));
    CHECK_EVENT(&h, "deleted", "vk:-100001:wall:42:c501");
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->deleter_id, "7001");
    /* a moderator (an admin's own user id) */
    sh_post(&h, vk("wall_reply_delete", "{\"owner_id\":-100001,\"id\":502,"
                   "\"deleter_id\":90210,\"post_id\":42}", "d2"));
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->deleter_id, "90210");
    /* the page itself */
    sh_post(&h, vk("photo_comment_delete", "{\"owner_id\":-100001,\"id\":9,\"user_id\":5,"
                   "\"deleter_id\":-100001,\"photo_id\":77}", "d3"));
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->deleter_id, "-100001");
    /* no deleter_id: unknown (the host withdraws, as before) */
    sh_post(&h, vk("wall_reply_delete", "{\"owner_id\":-100001,\"id\":7,\"user_id\":5,"
                   "\"post_id\":3}", "d4"));
    CHECK_EVENT(&h, "deleted", "vk:-100001:wall:3:c7");
    if (sh_one(&h))
        CHECK(sh_one(&h)->deleter_id == NULL);
    sh_post(&h, vk("board_post_delete", "{\"topic_owner_id\":-100001,\"topic_id\":5,"
                   "\"id\":12,\"deleter_id\":8}", "d5"));
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->deleter_id, "8");
}

/* Finding 6: a citizen editing a private message updates its appeal. */
TEST(message_edit_updates_the_appeal)
{
    sh_post(&h, vk("message_edit", "{\"date\":1795900100,\"from_id\":7001,\"id\":0,"
                   "\"out\":0,\"peer_id\":7001,\"text\":\"Нет воды на ул. Пушкина, 5\","
                   "\"conversation_message_id\":15,\"fwd_messages\":[],\"important\":false,"
                   "\"random_id\":0,\"attachments\":[],\"is_hidden\":false,"
                   "\"update_time\":1795900160}", "me1"));
    CHECK_EVENT(&h, "edited", "vk:-100001:msg:p740a37d3a47fd5fb:15");
    const struct pevent *e = sh_one(&h);
    if (!e)
        return;
    CHECK_STR(e->text, "Нет воды на ул. Пушкина, 5");
    CHECK_STR(e->author_id, "7001");
    CHECK_STR(e->item_kind, "message");
    CHECK_STR(e->platform_type, "message_edit");
    CHECK_STR(e->dedup_key, "vk:ev:me1");
    CHECK_STR(e->legacy_id, "vk:-100001:msg:7001:15");
    /* the 5.103+ wrapper shape is read too */
    sh_post(&h, vk("message_edit", "{\"message\":{\"date\":1,\"from_id\":7001,\"out\":0,"
                   "\"peer_id\":7001,\"text\":\"x\",\"conversation_message_id\":16}}", "me2"));
    CHECK_EVENT(&h, "edited", "vk:-100001:msg:p740a37d3a47fd5fb:16");
}

/* Finding 6: community group chats (peer_id >= 2000000000) are not private
 * appeals unless the page enables them; ignored with a reason, not lost. */
TEST(group_chats_only_where_the_page_enables_them)
{
    const char *chat = "{\"message\":{\"date\":1795900200,\"from_id\":7001,\"id\":0,"
                       "\"out\":0,\"peer_id\":2000000004,\"text\":\"Когда дадут свет?\","
                       "\"conversation_message_id\":311,\"attachments\":[]},"
                       "\"client_info\":{\"lang_id\":0}}";
    sh_post(&h, vk("message_new", chat, "gc1"));
    CHECK_INT(h.v, APD_ACCEPT);
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h)) {
        CHECK_STR(sh_one(&h)->ignore_reason, "group_chat");
        CHECK_STR(sh_one(&h)->page, "100001");
    }
    sh_post(&h, vk("message_reply", "{\"date\":1,\"from_id\":-100001,\"out\":1,"
                   "\"peer_id\":2000000004,\"text\":\"Завтра\",\"conversation_message_id\":312}",
                   "gc2"));
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->ignore_reason, "group_chat");
    sh_post(&h, vk("message_edit", "{\"date\":1,\"from_id\":7001,\"out\":0,"
                   "\"peer_id\":2000000004,\"text\":\"?\",\"conversation_message_id\":311}",
                   "gc3"));
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->ignore_reason, "group_chat");
    /* a page with group_chats = yes: an appeal, and no guessed link */
    sh_post(&h, vk_to(100003, "message_new", chat, "gc4"));
    CHECK_EVENT(&h, "created", "vk:-100003:msg:2000000004:311");
    if (sh_one(&h)) {
        CHECK(sh_one(&h)->link == NULL);
        CHECK(sh_one(&h)->ignore_reason == NULL);
        CHECK(sh_one(&h)->legacy_id == NULL);   /* a chat's id is no person's */
    }
    /* a private dialog keeps its (admin) link, as personal data */
    sh_post(&h, vk_to(100003, "message_new", "{\"message\":{\"date\":1,\"from_id\":7001,"
                      "\"out\":0,\"peer_id\":7001,\"text\":\"a\",\"conversation_message_id\":3}}",
                      "gc5"));
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->personal_link, "https://vk.com/gim100003?sel=7001");
}

int main(void)
{
    log_set_level(LOG_LVL_ERROR);
    if (sh_start(&h, VK_CONFIG, "vk") != 0) {
        printf("Bail out! %s\n", h.err);
        return 1;
    }
    RUN(handshake_and_authentication);
    RUN(wall_comment_from_a_citizen);
    RUN(wall_comment_variants_edit_restore_delete);
    RUN(the_page_answering_is_an_answer_for_every_comment_kind);
    RUN(photo_video_market_board_comments);
    RUN(suggested_posts_and_the_pages_own_posts);
    RUN(private_messages_and_the_pages_replies);
    RUN(unknown_types_and_broken_content);
    RUN(reload_keeps_the_dialog_memory);
    RUN(deletes_report_who_deleted);
    RUN(message_edit_updates_the_appeal);
    RUN(group_chats_only_where_the_page_enables_them);
    RUN(mentions_are_masked);
    RUN(a_community_acts_only_on_its_own_items);
    sh_stop(&h);
    return test_done();
}
