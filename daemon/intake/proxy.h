/* The client address of a webhook request, behind trusted reverse proxies.
 *
 * When the TCP peer lies in one of [http] trusted_proxies, X-Forwarded-For
 * names the client: its hops are read from the right (the hop the nearest
 * proxy appended) and the first one not in trusted_proxies is the client
 * (the rightmost untrusted hop; everything left of it was written by the
 * client or by proxies we do not know, and may be forged).  When every hop
 * is trusted the leftmost is taken; a hop that is not an address ends the
 * walk at the last trusted address.  A peer outside trusted_proxies is the
 * client, whatever X-Forwarded-For it sends.
 *
 * Addresses are returned in one canonical text form (inet_ntop), IPv4-mapped
 * IPv6 addresses ("::ffff:192.0.2.1", what an IPv6 listener reports for an
 * IPv4 client) as plain IPv4, so allow-lists written in IPv4 match. */
#ifndef APPEALSD_PROXY_H
#define APPEALSD_PROXY_H

#include <stdbool.h>
#include <stddef.h>

/* Large enough for any address proxy_* writes. */
#define PROXY_ADDR_LEN 64

struct netaddr {
    int family;               /* AF_INET or AF_INET6 */
    unsigned char a[16];
};

/* "192.0.2.1", "2001:db8::1", "[2001:db8::1]", with an optional ":port"
 * after an IPv4 address or a bracketed IPv6 one; len bytes of s. */
bool netaddr_parse(const char *s, size_t len, struct netaddr *out);
void netaddr_text(const struct netaddr *a, char *buf, size_t len);
/* "192.0.2.0/24", "2001:db8::/32", or a single address (all bits). */
bool cidr_valid(const char *cidr);
bool cidrs_contain(char *const *cidrs, size_t n, const struct netaddr *a);

/* Writes the client address of a request from peer (the TCP peer's text
 * address) and xff (the X-Forwarded-For value, all its headers joined with
 * ',', or NULL).  Returns true when it came from X-Forwarded-For.  An
 * unparsable peer is copied as it is. */
bool proxy_client(const char *peer, const char *xff, char *const *trusted, size_t ntrusted,
                  char *out, size_t outlen);

#endif
