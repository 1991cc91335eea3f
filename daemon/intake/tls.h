/* TLS for a listener: an SSL_CTX built from PEM files, and the per-connection
 * OpenSSL bufferevent an evhttp bevcb returns.
 *
 * Nothing here knows the webhook listener: a second listener (metrics) can
 * load its own context with tls_ctx_load and serve with tls_bev_new.
 *
 * Defaults follow Mozilla's "intermediate" server profile (Server Side TLS
 * guidelines, version 5.7): TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers
 * for 1.2, the server's cipher order, no TLS compression (CRIME), no
 * renegotiation.  A reload builds a new context and swaps it: connections
 * already open keep the context they started with (each SSL holds a
 * reference), new ones get the new one. */
#ifndef APPEALSD_TLS_H
#define APPEALSD_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

struct bufferevent;
struct event_base;

/* Certificate chain (PEM: the leaf first, then intermediates) and its private
 * key (PEM, unencrypted: a daemon cannot type a passphrase).  Checks the key
 * matches the certificate.  NULL with err filled in ("FILE: why"). */
SSL_CTX *tls_ctx_load(const char *cert, const char *key, char *err, size_t errlen);
/* "subject CN=..., expires 2027-01-01" of the context's certificate, for logs. */
void tls_ctx_describe(SSL_CTX *ctx, char *buf, size_t len);
/* A server-side OpenSSL bufferevent with no fd yet (evhttp sets it), or
 * NULL when out of memory. */
struct bufferevent *tls_bev_new(struct event_base *base, SSL_CTX *ctx);

#endif
