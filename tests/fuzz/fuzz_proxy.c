/* libFuzzer harness for the client address behind trusted proxies
 * (daemon/intake/proxy.c): the input's first line is the TCP peer's address
 * text, the rest an X-Forwarded-For value (any bytes, up to the header
 * limit).  Checked: no crash; the result is always an address in canonical
 * form, or the unparsable peer itself; an untrusted peer is its own client;
 * and the first line also goes through cidr_valid, as config keys do. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *trusted[] = {"127.0.0.1", "10.0.0.0/8", "2001:db8::/32", "192.0.2.0/24"};

static void canonical_or_abort(const char *s)
{
    struct netaddr a;
    char again[PROXY_ADDR_LEN];
    if (!netaddr_parse(s, strlen(s), &a))
        abort();
    netaddr_text(&a, again, sizeof(again));
    if (strcmp(again, s) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    memcpy(in, data, size);
    in[size] = '\0';
    char *nl = memchr(in, '\n', size);
    char *xff = nl ? nl + 1 : NULL;
    if (nl)
        *nl = '\0';
    (void)cidr_valid(in);
    char out[PROXY_ADDR_LEN];
    bool via = proxy_client(in, xff, trusted, 4, out, sizeof(out));
    struct netaddr peer;
    bool peer_ok = netaddr_parse(in, strlen(in), &peer);
    if (!peer_ok && (via || strncmp(out, in, sizeof(out) - 1) != 0))
        abort();
    if (peer_ok) {
        canonical_or_abort(out);
        if (!cidrs_contain(trusted, 4, &peer) && via)
            abort();
    }
    free(in);
    return 0;
}
