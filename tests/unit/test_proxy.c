/* The client address behind trusted proxies (daemon/intake/proxy.c):
 * address and CIDR parsing, and the X-Forwarded-For walk from the right. */
#include "test.h"

#include <sys/socket.h>

#include "proxy.h"

static char *trusted[] = {"127.0.0.1", "10.0.0.0/8", "2001:db8:1::/48"};

static const char *client(const char *peer, const char *xff)
{
    static char out[PROXY_ADDR_LEN];
    proxy_client(peer, xff, trusted, 3, out, sizeof(out));
    return out;
}

static const char *canon(const char *s)
{
    static char out[PROXY_ADDR_LEN];
    struct netaddr a;
    if (!netaddr_parse(s, strlen(s), &a))
        return "(bad)";
    netaddr_text(&a, out, sizeof(out));
    return out;
}

TEST(addresses_with_ports_brackets_and_mapped_forms)
{
    CHECK_STR(canon("192.0.2.1"), "192.0.2.1");
    CHECK_STR(canon(" 192.0.2.1\t"), "192.0.2.1");
    CHECK_STR(canon("192.0.2.1:8443"), "192.0.2.1");
    CHECK_STR(canon("2001:DB8::1"), "2001:db8::1");
    CHECK_STR(canon("[2001:db8::1]"), "2001:db8::1");
    CHECK_STR(canon("[2001:db8::1]:443"), "2001:db8::1");
    CHECK_STR(canon("::ffff:192.0.2.7"), "192.0.2.7");
    CHECK_STR(canon("192.0.2.1:65536"), "(bad)");
    CHECK_STR(canon("192.0.2.1:"), "(bad)");
    CHECK_STR(canon("[192.0.2.1]"), "(bad)");
    CHECK_STR(canon("[2001:db8::1"), "(bad)");
    CHECK_STR(canon("[2001:db8::1]x"), "(bad)");
    CHECK_STR(canon("unknown"), "(bad)");
    CHECK_STR(canon(""), "(bad)");
    CHECK_STR(canon("1.2.3"), "(bad)");
    CHECK_STR(canon("_hidden"), "(bad)");
}

TEST(cidr_networks)
{
    CHECK(cidr_valid("10.0.0.0/8"));
    CHECK(cidr_valid("127.0.0.1"));
    CHECK(cidr_valid("::/0"));
    CHECK(cidr_valid("2001:db8::/32"));
    CHECK(!cidr_valid("10.0.0.0/33"));
    CHECK(!cidr_valid("10.0.0.0/"));
    CHECK(!cidr_valid("10.0.0.0/-1"));
    CHECK(!cidr_valid("10.0.0.0/8x"));
    CHECK(!cidr_valid("2001:db8::/129"));
    CHECK(!cidr_valid("[2001:db8::1]/64"));
    CHECK(!cidr_valid("10.0.0.1:80"));
    CHECK(!cidr_valid("proxy.example"));
    struct netaddr a;
    CHECK(netaddr_parse("10.200.3.4", 10, &a) && cidrs_contain(trusted, 3, &a));
    CHECK(netaddr_parse("11.0.0.1", 8, &a) && !cidrs_contain(trusted, 3, &a));
    CHECK(netaddr_parse("2001:db8:1:ffff::1", 18, &a) && cidrs_contain(trusted, 3, &a));
    CHECK(netaddr_parse("2001:db8:2::1", 13, &a) && !cidrs_contain(trusted, 3, &a));
    char *odd[] = {"192.168.1.128/25"};
    CHECK(netaddr_parse("192.168.1.200", 13, &a) && cidrs_contain(odd, 1, &a));
    CHECK(netaddr_parse("192.168.1.127", 13, &a) && !cidrs_contain(odd, 1, &a));
    /* an IPv4 network never matches an IPv6 address, mapped ones aside */
    char *v4all[] = {"0.0.0.0/0"};
    CHECK(netaddr_parse("::1", 3, &a) && !cidrs_contain(v4all, 1, &a));
    CHECK(netaddr_parse("::ffff:8.8.8.8", 14, &a) && cidrs_contain(v4all, 1, &a));
}

TEST(untrusted_peer_is_the_client_whatever_it_claims)
{
    CHECK_STR(client("203.0.113.9", "198.51.100.1"), "203.0.113.9");
    CHECK_STR(client("203.0.113.9", NULL), "203.0.113.9");
    CHECK(!proxy_client("203.0.113.9", "10.0.0.1", trusted, 3, (char[64]){0}, 64));
    /* no trusted proxies configured: X-Forwarded-For never counts */
    char out[PROXY_ADDR_LEN];
    CHECK(!proxy_client("127.0.0.1", "198.51.100.1", NULL, 0, out, sizeof(out)));
    CHECK_STR(out, "127.0.0.1");
}

TEST(trusted_peer_rightmost_untrusted_hop)
{
    CHECK_STR(client("127.0.0.1", "198.51.100.1"), "198.51.100.1");
    /* the client forged a first hop; nginx appended the real one */
    CHECK_STR(client("127.0.0.1", "217.20.145.193, 198.51.100.1"), "198.51.100.1");
    /* a chain of our own proxies is skipped */
    CHECK_STR(client("127.0.0.1", "198.51.100.1, 10.1.1.1,10.2.2.2"), "198.51.100.1");
    CHECK_STR(client("127.0.0.1", "[2001:db8::5]:1234, 10.1.1.1"), "2001:db8::5");
    CHECK_STR(client("::ffff:127.0.0.1", "198.51.100.1:5555"), "198.51.100.1");
    /* every hop trusted: the leftmost */
    CHECK_STR(client("127.0.0.1", "10.9.9.9, 10.1.1.1"), "10.9.9.9");
    /* an empty header or hop ends the walk at the last trusted address */
    CHECK_STR(client("127.0.0.1", ""), "127.0.0.1");
    CHECK_STR(client("127.0.0.1", "198.51.100.1,"), "127.0.0.1");
    CHECK_STR(client("127.0.0.1", "unknown, 10.1.1.1"), "10.1.1.1");
    CHECK_STR(client("127.0.0.1", "198.51.100.1, junk\r\n"), "127.0.0.1");
    CHECK_STR(client("127.0.0.1", ",,,"), "127.0.0.1");
    char out[PROXY_ADDR_LEN];
    CHECK(proxy_client("127.0.0.1", "198.51.100.1", trusted, 3, out, sizeof(out)));
}

TEST(unparsable_peer_is_kept_verbatim)
{
    CHECK_STR(client("?", "198.51.100.1"), "?");
}

int main(void)
{
    RUN(addresses_with_ports_brackets_and_mapped_forms);
    RUN(cidr_networks);
    RUN(untrusted_peer_is_the_client_whatever_it_claims);
    RUN(trusted_peer_rightmost_untrusted_hop);
    RUN(unparsable_peer_is_kept_verbatim);
    return test_done();
}
