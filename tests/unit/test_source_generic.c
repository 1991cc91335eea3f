/* source_generic: the appealsd.generic/1 schema (docs/generic-source.md) and
 * its HMAC-SHA256 signature header. */
#include <time.h>

#include "crypto.h"
#include "source_harness.h"

#define GEN_CONFIG SH_CONFIG                                                 \
    "[source \"pos\"]\nplugin = source_generic\nhmac_key = pos-key-0123456789\n" \
    "systems = pos, pos-test\n" \
    "[page \"pos:adygea\"]\norg = maykop\n"

static struct sh h;
static char sig[80], stamp[24];

/* The headers of body signed at Unix time ts: HMAC over "TS." BODY. */
static const char *const *signed_at(const char *body, long long ts)
{
    char hex[65];
    snprintf(stamp, sizeof(stamp), "%lld", ts);
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "%lld.", ts);
    hmac_sha256_hex2("pos-key-0123456789", 18, prefix, strlen(prefix), body, strlen(body), hex);
    snprintf(sig, sizeof(sig), "sha256=%s", hex);
    static const char *hdr[5];
    hdr[0] = "X-Appealsd-Signature";
    hdr[1] = sig;
    hdr[2] = "X-Appealsd-Timestamp";
    hdr[3] = stamp;
    hdr[4] = NULL;
    return hdr;
}

static const char *const *signed_hdr(const char *body)
{
    return signed_at(body, (long long)time(NULL));
}

#define POST_SIGNED(b) sh_post(&h, (b), .headers = signed_hdr(b))

static const char *const created =
    "{\"schema\":\"appealsd.generic/1\",\"system\":\"pos\",\"event\":\"created\","
    "\"id\":\"2026-000123\",\"event_id\":\"d-77\",\"page\":\"adygea\","
    "\"author\":{\"id\":\"esia-1001\",\"name\":\"Мария С.\"},"
    "\"text\":\"Прошу отремонтировать крышу школы №5\",\"created_at\":\"2026-11-29T09:15:02+03:00\","
    "\"link\":\"https://pos.gosuslugi.ru/x/2026-000123\",\"kind\":\"appeal\",\"thread\":\"t-5\"}";

TEST(signature)
{
    sh_post(&h, created);
    CHECK_REJECT(&h, 403);
    sh_post(&h, created, .headers = (const char *[]){"X-Appealsd-Signature",
                                                      "sha256=00", NULL});
    CHECK_REJECT(&h, 403);
    const char *const *hdr = signed_hdr(created);
    char upper[80];
    snprintf(upper, sizeof(upper), "%s", hdr[1] + 7);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    sh_post(&h, created, .headers = (const char *[]){"x-appealsd-signature", upper,
                                                      "x-appealsd-timestamp", stamp, NULL});
    CHECK_INT(h.v, APD_ACCEPT);   /* bare hex, any case, any header case */
    char tampered[1024];
    snprintf(tampered, sizeof(tampered), "%s", created);
    tampered[strlen(tampered) - 3] = 'X';
    sh_post(&h, tampered, .headers = signed_hdr(created));
    CHECK_REJECT(&h, 403);
}

TEST(created_and_answer)
{
    POST_SIGNED(created);
    CHECK_EVENT(&h, "created", "gen:pos:2026-000123");
    const struct pevent *e = sh_one(&h);
    if (e) {
        CHECK_STR(e->page, "adygea");
        CHECK_STR(e->author_id, "esia-1001");
        CHECK_STR(e->author_name, "Мария С.");
        CHECK_INT(e->created_ms, 1795932902000LL);
        CHECK_STR(e->link, "https://pos.gosuslugi.ru/x/2026-000123");
        CHECK_STR(e->item_kind, "appeal");
        CHECK_STR(e->thread, "gen:pos:t-5");
        CHECK_STR(e->dedup_key, "gen:pos:ev:d-77");
    }
    const char *answer = "{\"system\":\"pos\",\"event\":\"answer\",\"id\":\"a-1\","
                         "\"reply_to\":\"2026-000123\",\"page\":\"adygea\",\"text\":\"Ответ\","
                         "\"created_at\":1795932999000}";
    POST_SIGNED(answer);
    CHECK_EVENT(&h, "answer", "gen:pos:2026-000123");
    if (sh_one(&h))
        CHECK_INT(sh_one(&h)->created_ms, 1795932999000LL);
    POST_SIGNED("{\"system\":\"pos\",\"event\":\"deleted\",\"id\":\"2026-000123\","
                "\"page\":\"adygea\"}");
    CHECK_EVENT(&h, "deleted", "gen:pos:2026-000123");
    POST_SIGNED("{\"system\":\"pos\",\"event\":\"rated\",\"id\":\"2026-000123\","
                "\"page\":\"adygea\"}");
    CHECK_EVENT(&h, "ignored", NULL);
    if (sh_one(&h))
        CHECK_STR(sh_one(&h)->platform_type, "rated");
}

/* A key signs for the systems the config names: with pos's key a body
 * cannot create, answer or withdraw another system's appeals. */
TEST(system_bound_to_the_key)
{
    POST_SIGNED("{\"system\":\"crm\",\"event\":\"created\",\"id\":\"7\","
                "\"page\":\"adygea\",\"text\":\"Яма во дворе\"}");
    CHECK_REJECT(&h, 403);
    CHECK(strstr(h.reply.reason, "systems") != NULL);
    POST_SIGNED("{\"system\":\"crm\",\"event\":\"answer\",\"id\":\"a-7\","
                "\"reply_to\":\"7\",\"page\":\"adygea\",\"text\":\"Сделано\"}");
    CHECK_REJECT(&h, 403);
    POST_SIGNED("{\"system\":\"pos-test\",\"event\":\"created\",\"id\":\"7\","
                "\"page\":\"adygea\",\"text\":\"Яма во дворе\"}");
    CHECK_EVENT(&h, "created", "gen:pos-test:7");
    /* a name that only starts like a bound one is another system */
    POST_SIGNED("{\"system\":\"po\",\"event\":\"created\",\"id\":\"7\","
                "\"page\":\"adygea\",\"text\":\"Яма\"}");
    CHECK_REJECT(&h, 403);
}

/* A captured request cannot be replayed later: the timestamp is signed and
 * must be within signature_window (5 min) of now. */
TEST(signed_timestamp_window)
{
    long long now = (long long)time(NULL);
    sh_post(&h, created, .headers = signed_at(created, now - 200));
    CHECK_INT(h.v, APD_ACCEPT);
    sh_post(&h, created, .headers = signed_at(created, now - 400));
    CHECK_REJECT(&h, 403);
    sh_post(&h, created, .headers = signed_at(created, now + 400));
    CHECK_REJECT(&h, 403);
    /* the timestamp moved forward without a new signature */
    const char *const *hdr = signed_at(created, now - 400);
    snprintf(stamp, sizeof(stamp), "%lld", now);
    sh_post(&h, created, .headers = hdr);
    CHECK_REJECT(&h, 403);
    /* the old body-only signature, and no timestamp at all */
    char hex[65], old[80];
    hmac_sha256_hex("pos-key-0123456789", 18, created, strlen(created), hex);
    snprintf(old, sizeof(old), "sha256=%s", hex);
    sh_post(&h, created, .headers = (const char *[]){"X-Appealsd-Signature", old, NULL});
    CHECK_REJECT(&h, 403);
    sh_post(&h, created, .headers = (const char *[]){"X-Appealsd-Signature", old,
                                                      "X-Appealsd-Timestamp", "12x", NULL});
    CHECK_REJECT(&h, 403);
}

TEST(schema_violations)
{
    POST_SIGNED("{\"system\":\"pos\",\"event\":\"created\",\"page\":\"adygea\"}");
    CHECK_REJECT(&h, 400);
    CHECK(strstr(h.reply.reason, "field 'id' is missing") != NULL);
    POST_SIGNED("{\"system\":\"p o s\",\"event\":\"created\",\"id\":\"1\",\"page\":\"adygea\"}");
    CHECK_REJECT(&h, 400);
    CHECK(strstr(h.reply.reason, "'system'") != NULL);
    POST_SIGNED("{\"system\":\"pos\",\"event\":\"created\",\"id\":\"a|b\",\"page\":\"adygea\"}");
    CHECK_REJECT(&h, 400);
    POST_SIGNED("{\"system\":\"pos\",\"id\":\"1\",\"page\":\"adygea\"}");
    CHECK_REJECT(&h, 400);
    CHECK(strstr(h.reply.reason, "'event'") != NULL);
    POST_SIGNED("{\"system\":\"pos\",\"event\":\"created\",\"id\":\"1\",\"page\":\"nowhere\"}");
    CHECK_REJECT(&h, 404);
    POST_SIGNED("{\"system\":\"pos\",\"event\":\"answer\",\"id\":\"1\",\"page\":\"adygea\"}");
    CHECK_REJECT(&h, 400);
    POST_SIGNED("{\"system\":\"pos\",\"event\":\"created\",\"id\":\"1\",\"page\":\"adygea\","
                "\"created_at\":\"вчера\"}");
    CHECK_REJECT(&h, 400);
    POST_SIGNED("{\"schema\":\"appealsd.generic/2\",\"system\":\"pos\",\"event\":\"created\","
                "\"id\":\"1\",\"page\":\"adygea\"}");
    CHECK_REJECT(&h, 400);
    POST_SIGNED("[]");
    CHECK_REJECT(&h, 400);
    /* broken text in a signed body: accepted, quarantined */
    POST_SIGNED("{\"system\":\"pos\",\"event\":\"created\",\"id\":\"1\",\"page\":\"adygea\","
                "\"text\":\"\\udc00\"}");
    CHECK_EVENT(&h, "created", "gen:pos:1");
    if (sh_one(&h))
        CHECK(sh_one(&h)->quarantine != NULL);
}

int main(void)
{
    log_set_level(LOG_LVL_ERROR);
    if (sh_start(&h, GEN_CONFIG, "pos") != 0) {
        printf("Bail out! %s\n", h.err);
        return 1;
    }
    RUN(signature);
    RUN(created_and_answer);
    RUN(schema_violations);
    RUN(signed_timestamp_window);
    RUN(system_bound_to_the_key);
    sh_stop(&h);
    return test_done();
}
