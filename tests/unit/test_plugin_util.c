/* The helpers source plugins share: the bounded map (eviction order, deletion
 * by backward shift under heavy collisions), CIDR allow-lists, id tokens. */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "plugin_util.h"
#include "test.h"

TEST(map_get_put_update)
{
    struct pu_map *m = pu_map_new(4);
    int64_t v[2] = {1, 2}, out[2];
    CHECK(!pu_map_get(m, 10, 20, out));
    pu_map_put(m, 10, 20, v);
    CHECK(pu_map_get(m, 10, 20, out) && out[0] == 1 && out[1] == 2);
    v[0] = 5;
    pu_map_put(m, 10, 20, v);   /* update in place */
    CHECK(pu_map_get(m, 10, 20, out) && out[0] == 5);
    CHECK_INT(pu_map_len(m), 1);
    CHECK(!pu_map_get(m, 20, 10, out));   /* the pair is ordered */
    pu_map_free(m);
}

TEST(map_evicts_the_oldest_insertion)
{
    struct pu_map *m = pu_map_new(3);
    int64_t v[2] = {0, 0}, out[2];
    for (int64_t k = 1; k <= 5; k++) {
        v[0] = k * 10;
        pu_map_put(m, k, -k, v);
    }
    CHECK_INT(pu_map_len(m), 3);
    CHECK(!pu_map_get(m, 1, -1, out));
    CHECK(!pu_map_get(m, 2, -2, out));
    for (int64_t k = 3; k <= 5; k++)
        CHECK(pu_map_get(m, k, -k, out) && out[0] == k * 10);
    pu_map_free(m);
}

TEST(map_matches_a_reference_under_churn)
{
    /* Against a reference: a FIFO of keys in insertion order (updates do not
     * move a key) and a value per key.  Small capacity and many repeats make
     * long probe chains, so deletions by backward shift are exercised. */
    enum { CAP = 257, N = 20000, KEYS = 1000 };
    struct pu_map *m = pu_map_new(CAP);
    static int64_t fifo[CAP], val[KEYS];
    static bool present[KEYS];
    size_t head = 0, len = 0;
    srand(7);
    for (int i = 0; i < N; i++) {
        int64_t k = rand() % KEYS;
        int64_t v[2] = {i, k};
        pu_map_put(m, k, 1, v);
        if (!present[k]) {
            if (len == CAP) {
                present[fifo[head]] = false;
                head = (head + 1) % CAP;
                len--;
            }
            fifo[(head + len++) % CAP] = k;
            present[k] = true;
        }
        val[k] = i;
    }
    CHECK_INT(pu_map_len(m), len);
    int wrong = 0;
    for (int64_t k = 0; k < KEYS; k++) {
        int64_t out[2];
        bool got = pu_map_get(m, k, 1, out);
        wrong += got != present[k] || (got && (out[0] != val[k] || out[1] != k));
    }
    CHECK_INT(wrong, 0);
    pu_map_free(m);
}

TEST(cidr_allow_lists)
{
    char *nets[] = {"217.20.145.192/28", "2001:db8::/32", "10.1.2.3"};
    CHECK(pu_addr_allowed("217.20.145.200", nets, 3, NULL));
    CHECK(!pu_addr_allowed("217.20.145.208", nets, 3, NULL));
    CHECK(pu_addr_allowed("::ffff:217.20.145.193", nets, 3, NULL));
    CHECK(pu_addr_allowed("2001:db8:1::9", nets, 3, NULL));
    CHECK(!pu_addr_allowed("2001:db9::1", nets, 3, NULL));
    CHECK(pu_addr_allowed("10.1.2.3", nets, 3, NULL));
    CHECK(!pu_addr_allowed("10.1.2.4", nets, 3, NULL));
    CHECK(!pu_addr_allowed(NULL, nets, 3, NULL));
    CHECK(!pu_addr_allowed("not an address", nets, 3, NULL));
    char *zero[] = {"0.0.0.0/0"};
    CHECK(pu_addr_allowed("1.2.3.4", zero, 1, NULL));
    CHECK(pu_cidr_valid("192.168.0.0/16"));
    CHECK(!pu_cidr_valid("192.168.0.0/33"));
    CHECK(!pu_cidr_valid("192.168.0.0/"));
    CHECK(!pu_cidr_valid("host.example"));
    const char *bad = NULL;
    char *mixed[] = {"x/1", "1.2.3.4"};
    CHECK(pu_addr_allowed("1.2.3.4", mixed, 2, &bad));
    CHECK_STR(bad, "x/1");
}

TEST(id_tokens)
{
    CHECK(pu_token_ok("mid.0000000000000001a", 64));
    CHECK(pu_token_ok("C3ecb9d02a600.15cea67d78d2059", 64));
    CHECK(!pu_token_ok("", 64));
    CHECK(!pu_token_ok(NULL, 64));
    CHECK(!pu_token_ok("a b", 64));
    CHECK(!pu_token_ok("a|b", 64));
    CHECK(!pu_token_ok("{x}", 64));
    CHECK(!pu_token_ok("\xd0\xb0", 64));   /* ids are ASCII */
    CHECK(!pu_token_ok("abcdef", 5));
    CHECK(pu_token_ok("abcde", 5));
}

/* Issue 12 item 1: mention markup keeps no name and no id. */
static void check_masked(const char *in, const char *want)
{
    size_t n = 0;
    char *out = pu_mask_mentions(in, strlen(in), &n);
    if (want == NULL) {
        CHECK(out == NULL);
    } else {
        CHECK_STR(out ? out : "(null)", want);
        CHECK_INT(n, strlen(want));
    }
    free(out);
}

TEST(platform_seconds_become_milliseconds_without_overflow)
{
    /* regression: a polled VK comment dated 4102442404102442400 s was
     * multiplied by 1000 past int64 (UBSan in fuzz_poll_source_vk) */
    CHECK(pu_ms_of_seconds(1700000000) == 1700000000000LL);
    CHECK(pu_ms_of_seconds(0) == 0);
    CHECK(pu_ms_of_seconds(253402300799) == 253402300799000LL);
    CHECK(pu_ms_of_seconds(253402300800) == 0);
    CHECK(pu_ms_of_seconds(4102442404102442400LL) == 0);
    CHECK(pu_ms_of_seconds(-1) == 0);
    CHECK(pu_ms_of_seconds(INT64_MIN) == 0);
}

TEST(mention_markup_is_masked)
{
    check_masked("[id123|Анна], спасибо", "[упоминание], спасибо");
    check_masked("вопрос к [club5|Администрации] и [id7|Ивану Петрову]!",
                 "вопрос к [сообщество] и [упоминание]!");
    check_masked("[post12345|Имя], ответ", "[упоминание], ответ");
    check_masked("[id1:bp-2_3|Имя] да", "[упоминание] да");
    check_masked("[public9|x][event8|y]", "[сообщество][сообщество]");
    /* not markup: left as written */
    check_masked("просто текст", NULL);
    check_masked("[1|2] [id|x] [idx1|y] [https://vk.com|ссылка]", NULL);
    check_masked("[id12|без конца", NULL);
    check_masked("[id12|Анна\n]", NULL);
    check_masked("", NULL);
}

/* A host before ABI 1.6 has no pseudonyms: the id stays (its contract). */
static void fake_pseudonym(void *handle, const char *id, char out[17])
{
    snprintf(out, 17, "%016zx", strlen(id));
}

TEST(private_ids)
{
    struct apd_host_api api = {.struct_size = sizeof(api), .pseudonym = fake_pseudonym};
    char out[24];
    CHECK_STR(pu_private_id64(&api, NULL, 7001, out), "p0000000000000004");
    CHECK_STR(pu_private_id(&api, NULL, "12345", out), "p0000000000000005");
    api.pseudonym = NULL;
    CHECK_STR(pu_private_id64(&api, NULL, 7001, out), "7001");
    api.struct_size = offsetof(struct apd_host_api, pseudonym);
    api.pseudonym = fake_pseudonym;   /* not covered by struct_size: not there */
    CHECK_STR(pu_private_id(&api, NULL, "42", out), "42");
}

int main(void)
{
    RUN(map_get_put_update);
    RUN(map_evicts_the_oldest_insertion);
    RUN(map_matches_a_reference_under_churn);
    RUN(cidr_allow_lists);
    RUN(id_tokens);
    RUN(mention_markup_is_masked);
    RUN(platform_seconds_become_milliseconds_without_overflow);
    RUN(private_ids);
    return test_done();
}
