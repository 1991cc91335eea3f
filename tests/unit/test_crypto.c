/* HMAC-SHA256 and SHA-256 against RFC 4231 / FIPS 180-2 vectors (the HMAC is
 * computed by hand over a once-fetched digest, so it needs its own proof),
 * and the constant-time comparisons. */
#include <string.h>

#include "crypto.h"
#include "test.h"

TEST(hmac_rfc4231)
{
    char out[65];
    hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, out);
    CHECK_STR(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    unsigned char k20[20];
    memset(k20, 0x0b, sizeof(k20));
    hmac_sha256_hex(k20, sizeof(k20), "Hi There", 8, out);
    CHECK_STR(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* a key longer than the block is hashed first (test case 6) */
    unsigned char k131[131];
    memset(k131, 0xaa, sizeof(k131));
    const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
    hmac_sha256_hex(k131, sizeof(k131), m, strlen(m), out);
    CHECK_STR(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    hmac_sha256_hex("", 0, "", 0, out);
    CHECK_STR(out, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(sha256)
{
    char out[65];
    sha256_hex("abc", 3, out, 64);
    CHECK_STR(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("abc", 3, out, 16);
    CHECK_STR(out, "ba7816bf8f01cfea");
}

TEST(constant_time_compare)
{
    CHECK(ct_streq("secret", "secret"));
    CHECK(!ct_streq("secret", "secreT"));
    CHECK(!ct_streq("secret", "secret2"));
    CHECK(!ct_streq(NULL, "x"));
    CHECK(!ct_streq("x", NULL));
}

/* Issue 12 item 1: the one derivation behind author.pseudonym and the
 * pseudonymous ids of private conversations.  Expected values are HMAC-SHA256
 * computed outside the daemon (Python's hmac module) over "SOURCE:ID". */
TEST(pseudonym_derivation)
{
    char out[17];
    pseudonym_hex("test-pseudonym-key-0123456789abcdef", "vk", "7001", out);
    CHECK_STR(out, "6029fe23ed786ba5");
    pseudonym_hex("", "vk", "7001", out);
    CHECK_STR(out, "740a37d3a47fd5fb");
    /* the source is part of it: one id on two networks, two pseudonyms */
    pseudonym_hex("", "telegram", "5001", out);
    CHECK_STR(out, "e4ff6c89beef8510");
    /* NULL: the default key, which the daemon sets when none is configured */
    pseudonym_set_default_key("test-pseudonym-key-0123456789abcdef");
    pseudonym_hex(NULL, "vk", "7001", out);
    CHECK_STR(out, "6029fe23ed786ba5");
    CHECK_STR(pseudonym_default_key(), "test-pseudonym-key-0123456789abcdef");
    pseudonym_set_default_key(NULL);
    pseudonym_hex(NULL, "vk", "7001", out);
    CHECK_STR(out, "740a37d3a47fd5fb");
}

int main(void)
{
    RUN(hmac_rfc4231);
    RUN(sha256);
    RUN(constant_time_compare);
    RUN(pseudonym_derivation);
    return test_done();
}
