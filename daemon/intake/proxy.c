#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_port(const char *s, size_t len)
{
    if (len == 0 || len > 5)
        return false;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    return v <= 65535;
}

static bool parse_plain(const char *s, size_t len, struct netaddr *out)
{
    char buf[INET6_ADDRSTRLEN];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, out->a) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out->a) != 1)
        return false;
    out->family = AF_INET6;
    if (memcmp(out->a, v4_mapped, sizeof(v4_mapped)) == 0) {
        memmove(out->a, out->a + 12, 4);
        out->family = AF_INET;
    }
    return true;
}

bool netaddr_parse(const char *s, size_t len, struct netaddr *out)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (rb == NULL)
            return false;
        size_t after = len - (size_t)(rb + 1 - s);
        if (after && (rb[1] != ':' || !is_port(rb + 2, after - 1)))
            return false;
        return parse_plain(s + 1, (size_t)(rb - s - 1), out) && out->family == AF_INET6;
    }
    const char *colon = memchr(s, ':', len);
    if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL) {
        /* one colon: IPv4 with a port */
        if (!is_port(colon + 1, len - (size_t)(colon + 1 - s)))
            return false;
        return parse_plain(s, (size_t)(colon - s), out) && out->family == AF_INET;
    }
    return parse_plain(s, len, out);
}

void netaddr_text(const struct netaddr *a, char *buf, size_t len)
{
    if (inet_ntop(a->family, a->a, buf, (socklen_t)len) == NULL && len)
        buf[0] = '\0';
}

static bool parse_cidr(const char *cidr, struct netaddr *net, int *bits)
{
    const char *slash = strchr(cidr, '/');
    size_t alen = slash ? (size_t)(slash - cidr) : strlen(cidr);
    if (!parse_plain(cidr, alen, net))   /* no brackets, ports or blanks */
        return false;
    int max = net->family == AF_INET ? 32 : 128;
    if (slash == NULL) {
        *bits = max;
        return true;
    }
    char *end;
    long b = strtol(slash + 1, &end, 10);
    if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || b < 0 || b > max)
        return false;
    *bits = (int)b;
    return true;
}

bool cidr_valid(const char *cidr)
{
    struct netaddr n;
    int bits;
    return parse_cidr(cidr, &n, &bits);
}

static bool in_net(const struct netaddr *net, int bits, const struct netaddr *a)
{
    if (net->family != a->family)
        return false;
    int full = bits / 8, rest = bits % 8;
    if (memcmp(net->a, a->a, (size_t)full) != 0)
        return false;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return rest == 0 || (net->a[full] & mask) == (a->a[full] & mask);
}

bool cidrs_contain(char *const *cidrs, size_t n, const struct netaddr *a)
{
    for (size_t i = 0; i < n; i++) {
        struct netaddr net;
        int bits;
        if (parse_cidr(cidrs[i], &net, &bits) && in_net(&net, bits, a))
            return true;
    }
    return false;
}

bool proxy_client(const char *peer, const char *xff, char *const *trusted, size_t ntrusted,
                  char *out, size_t outlen)
{
    struct netaddr cur;
    if (!netaddr_parse(peer, strlen(peer), &cur)) {
        snprintf(out, outlen, "%s", peer);
        return false;
    }
    bool from_xff = false;
    if (xff && cidrs_contain(trusted, ntrusted, &cur)) {
        size_t end = strlen(xff);
        for (;;) {
            size_t start = end;
            while (start > 0 && xff[start - 1] != ',')
                start--;
            struct netaddr hop;
            if (!netaddr_parse(xff + start, end - start, &hop))
                break;   /* not an address: the last trusted one stands */
            cur = hop;
            from_xff = true;
            if (!cidrs_contain(trusted, ntrusted, &hop) || start == 0)
                break;
            end = start - 1;
        }
    }
    netaddr_text(&cur, out, outlen);
    return from_xff;
}
