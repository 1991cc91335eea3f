/* Hashes and comparisons for authentication and ids (OpenSSL libcrypto). */
#ifndef APPEALSD_CRYPTO_H
#define APPEALSD_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Compares two byte strings in time that depends only on their lengths, so a
 * wrong webhook secret reveals nothing about the right one. */
bool ct_equal(const void *a, size_t alen, const void *b, size_t blen);
bool ct_streq(const char *a, const char *b);

/* HMAC-SHA256 of msg under key, as 64 lowercase hex digits plus NUL. */
void hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len,
                     char out[65]);
/* The same over m1 followed by m2 (a signed prefix and a body, without
 * copying the body). */
void hmac_sha256_hex2(const void *key, size_t keylen, const void *m1, size_t l1, const void *m2,
                      size_t l2, char out[65]);
/* SHA-256 as hex, truncated to hexlen digits (<= 64). */
void sha256_hex(const void *msg, size_t len, char *out, size_t hexlen);
/* 64-bit FNV-1a, for in-memory hash tables (not for anything adversarial
 * where an attacker chooses keys: those tables are bounded). */
uint64_t fnv1a64(const void *data, size_t len);
/* MD5 as 32 lowercase hex digits: only where a platform demands it (OK API
 * request signatures), never for authentication of our own. */
void md5_hex(const void *msg, size_t len, char out[33]);

/* The keyed pseudonym of a platform id of a source (an author, or the user of
 * a private conversation): the first 16 hex digits of HMAC-SHA256(key,
 * "SOURCE:ID").  The one derivation behind author.pseudonym and the
 * pseudonymous parts of appeal ids; key NULL: the default key below. */
void pseudonym_hex(const char *key, const char *source, const char *id, char out[17]);
/* The key used when daemon.pseudonym_key is not configured (the one the
 * daemon generated beside its spool); "" until set. */
void pseudonym_set_default_key(const char *key);
const char *pseudonym_default_key(void);

#endif
