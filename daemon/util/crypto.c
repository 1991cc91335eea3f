#include "crypto.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
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

/* SHA-256 fetched once: OpenSSL 3 looks algorithms up by name on every
 * one-shot call (HMAC(), EVP_Digest with EVP_sha256()), which costs more than
 * hashing a webhook-sized message.  The context is per thread and reused. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void fetch_sha256(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

static EVP_MD_CTX *digest_ctx(void)
{
    static _Thread_local EVP_MD_CTX *ctx;
    pthread_once(&sha256_once, fetch_sha256);
    if (ctx == NULL)
        ctx = EVP_MD_CTX_new();
    if (ctx == NULL || sha256_md == NULL)
        abort();   /* libcrypto without SHA-256: nothing sensible to do */
    return ctx;
}

static void digest3(const void *a, size_t alen, const void *b, size_t blen, const void *c,
                    size_t clen, unsigned char out[32])
{
    EVP_MD_CTX *ctx = digest_ctx();
    unsigned int n = 0;
    if (EVP_DigestInit_ex(ctx, sha256_md, NULL) != 1 || EVP_DigestUpdate(ctx, a, alen) != 1 ||
        (blen && EVP_DigestUpdate(ctx, b, blen) != 1) ||
        (clen && EVP_DigestUpdate(ctx, c, clen) != 1) || EVP_DigestFinal_ex(ctx, out, &n) != 1)
        abort();
}

static void digest2(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32])
{
    digest3(a, alen, b, blen, NULL, 0, out);
}

/* RFC 2104 over the fetched digest. */
void hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len, char out[65])
{
    hmac_sha256_hex2(key, keylen, msg, len, NULL, 0, out);
}

void hmac_sha256_hex2(const void *key, size_t keylen, const void *m1, size_t l1, const void *m2,
                      size_t l2, char out[65])
{
    unsigned char k[64] = {0}, pad[64], inner[32], md[32];
    if (keylen > sizeof(k))
        digest2(key, keylen, NULL, 0, k);
    else if (keylen)
        memcpy(k, key, keylen);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x36;
    digest3(pad, sizeof(pad), m1, l1, m2, l2, inner);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x5c;
    digest2(pad, sizeof(pad), inner, sizeof(inner), md);
    to_hex(md, sizeof(md), out);
}

void sha256_hex(const void *msg, size_t len, char *out, size_t hexlen)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char full[65];
    digest2(msg, len, NULL, 0, md);
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

void md5_hex(const void *msg, size_t len, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(msg, len, md, &n, EVP_md5(), NULL) != 1 || n != 16)
        abort();   /* libcrypto without MD5 (FIPS mode): OK request signing cannot work */
    to_hex(md, 16, out);
}

static char default_key[65];

void pseudonym_set_default_key(const char *key)
{
    snprintf(default_key, sizeof(default_key), "%s", key ? key : "");
}

const char *pseudonym_default_key(void) { return default_key; }

void pseudonym_hex(const char *key, const char *source, const char *id, char out[17])
{
    char mac[65], msg[256];
    snprintf(msg, sizeof(msg), "%s:%s", source, id);
    if (key == NULL)
        key = default_key;
    hmac_sha256_hex(key, strlen(key), msg, strlen(msg), mac);
    memcpy(out, mac, 16);
    out[16] = '\0';
}
