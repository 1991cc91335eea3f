#include "tls.h"

#include <stdio.h>
#include <string.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>

/* Mozilla intermediate, TLS 1.2 part (1.3 suites are OpenSSL's defaults). */
static const char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/* An encrypted key would otherwise make OpenSSL prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

static void ssl_error(char *err, size_t errlen, const char *file, const char *what)
{
    char why[256] = "unknown error";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, why, sizeof(why));
    ERR_clear_error();
    snprintf(err, errlen, "%s: %s (%s)", file, what, why);
}

SSL_CTX *tls_ctx_load(const char *cert, const char *key, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        ssl_error(err, errlen, cert, "cannot make a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_cipher_list(ctx, tls12_ciphers);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        ssl_error(err, errlen, cert, "cannot load the certificate chain (PEM)");
    else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        /* OpenSSL compares the key with the certificate as it loads it */
        ssl_error(err, errlen, key,
                  ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH
                      ? "the private key does not match the certificate"
                      : "cannot load the private key (PEM, unencrypted)");
    else if (SSL_CTX_check_private_key(ctx) != 1)
        ssl_error(err, errlen, key, "the private key does not match the certificate");
    else
        return ctx;
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_ctx_describe(SSL_CTX *ctx, char *buf, size_t len)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    char subject[256] = "?", expires[64] = "?";
    if (x) {
        X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
            strftime(expires, sizeof(expires), "%Y-%m-%d %H:%M UTC", &tm);
    }
    snprintf(buf, len, "subject %s, expires %s", subject, expires);
}

struct bufferevent *tls_bev_new(struct event_base *base, SSL_CTX *ctx)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    /* Many clients close without a close_notify; that is an end of the
     * connection like any other, not an error to report. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}
