#include "crypto.h"

#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

bool ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *x = a, *y = b;
    unsigned char diff = (unsigned char)(alen != blen);
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

bool ct_streq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return false;
    return ct_equal(a, strlen(a), b, strlen(b));
}

static void to_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

void hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), key, (int)keylen, msg, len, md, &mdlen);
    to_hex(md, mdlen > 32 ? 32 : mdlen, out);
}

void sha256_hex(const void *msg, size_t len, char *out, size_t hexlen)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char full[65];
    SHA256(msg, len, md);
    to_hex(md, sizeof(md), full);
    if (hexlen > 64)
        hexlen = 64;
    memcpy(out, full, hexlen);
    out[hexlen] = '\0';
}

uint64_t fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}
