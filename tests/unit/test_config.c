/* Config: the INI reader, typed binding, overrides, and that every error
 * names file, line and key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "directory.h"
#include "ini.h"
#include "secrets.h"
#include "sla.h"
#include "test.h"
#include "units.h"

static char tmpdir[256];

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static struct apd_config *load(const char *text, struct diag *d, const char *const *sets)
{
    const char *p = write_file("t.conf", text);
    struct config_opts o = {.path = p, .overrides = sets, .skip_plugins = true};
    return config_load(&o, d);
}

static bool diag_has(const struct diag *d, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->msg[i], needle))
            return true;
    printf("# no diagnostic contains \"%s\"; got:\n", needle);
    for (size_t i = 0; i < d->n; i++)
        printf("#   %s\n", d->msg[i]);
    return false;
}

TEST(defaults)
{
    struct diag d = {0};
    struct apd_config *c = load("", &d, NULL);
    CHECK(c != NULL);
    CHECK_STR(c->http.listen, "127.0.0.1:8080");
    CHECK_INT(c->http.max_body, 1024 * 1024);
    CHECK_STR(c->redis.host, "127.0.0.1");
    CHECK_INT(c->redis.port, 6379);
    CHECK_STR(c->kafka.client_id, "appealsd-appealsd");
    config_unref(c);
    diag_free(&d);
}

TEST(values_and_units)
{
    struct diag d = {0};
    struct apd_config *c = load("[http]\nlisten = 0.0.0.0:9000\nmax_body = 64k\n"
                                "timeout = 1m30s\n[redis]\nurl = redis://:pw@10.0.0.5:6380/3\n"
                                "[sla]\nfirst_response = 8h\n",
                                &d, NULL);
    CHECK(c != NULL);
    CHECK_STR(c->http.listen, "0.0.0.0:9000");
    CHECK_INT(c->http.max_body, 65536);
    CHECK_INT(c->http.timeout_ms, 90000);
    CHECK_STR(c->redis.host, "10.0.0.5");
    CHECK_INT(c->redis.port, 6380);
    CHECK_INT(c->redis.db, 3);
    CHECK_STR(c->redis.password, "pw");
    CHECK_INT(sla_cfg(c)->def_social->first_response.ms, 8 * 3600 * 1000);
    config_unref(c);
    diag_free(&d);
}

TEST(errors_name_file_line_and_key)
{
    struct diag d = {0};
    struct apd_config *c = load("[http]\nmax_body = lots\n\n[kafka]\nbrokerz = x\n"
                                "[bogus]\n[org \"a\"]\nname = A\n", &d, NULL);
    CHECK(c == NULL);
    CHECK(diag_has(&d, "t.conf:2: [http] max_body: 'lots' is not a size"));
    CHECK(diag_has(&d, "t.conf:5: [kafka] brokerz: unknown key"));
    CHECK(diag_has(&d, "t.conf:6: [bogus]: unknown section"));
    CHECK(diag_has(&d, "[org \"a\"] type: required"));
    CHECK(d.n == 4);
    diag_free(&d);
}

TEST(syntax_errors)
{
    struct diag d = {0};
    struct apd_config *c = load("[http\nlisten = x\nnot a line\n[org \"\"]\n", &d, NULL);
    CHECK(c == NULL);
    CHECK(diag_has(&d, "t.conf:1: section header must end with ']'"));
    CHECK(diag_has(&d, "t.conf:3: expected 'key = value'"));
    CHECK(diag_has(&d, "t.conf:4:"));
    diag_free(&d);
}

TEST(overrides)
{
    struct diag d = {0};
    const char *sets[] = {"http.listen=127.0.0.1:1", "kafka.brokers=k:1",
                          "redis.url=unix:/tmp/r.sock?db=2", "control.socket=/tmp/c.sock",
                          "spool.dir=/tmp/s", "org.cur.name=Other", NULL};
    struct apd_config *c = load("[org \"cur\"]\nname = ЦУР\ntype = cur\n", &d, sets);
    CHECK(c != NULL);
    CHECK_STR(c->http.listen, "127.0.0.1:1");
    CHECK_STR(c->kafka.brokers, "k:1");
    CHECK_STR(c->redis.unix_path, "/tmp/r.sock");
    CHECK_INT(c->redis.db, 2);
    CHECK_STR(c->control.socket, "/tmp/c.sock");
    CHECK_STR(c->spool.dir, "/tmp/s");
    CHECK_STR(directory_org(c->dir, "cur")->name, "Other");
    config_unref(c);
    diag_free(&d);
    const char *bad[] = {"nodot=1", NULL};
    c = load("", &d, bad);
    CHECK(c == NULL);
    CHECK(diag_has(&d, "expected section.key=value"));
    diag_free(&d);
}

TEST(directory_links)
{
    struct diag d = {0};
    struct apd_config *c = load("[org \"cur\"]\nname = ЦУР\ntype = cur\n"
                                "[org \"m\"]\nname = М\ntype = municipality\nparent = cur\n"
                                "municipality = maykop\n"
                                "[page \"vk:1\"]\norg = m\nsecret = s-0123456789abcdef\n", &d, NULL);
    CHECK(c != NULL);
    struct page *p = directory_page(c->dir, "vk", "1");
    CHECK(p != NULL && p->owner == directory_org(c->dir, "m"));
    CHECK_STR(p ? p->municipality : NULL, "maykop");
    CHECK_STR(directory_org(c->dir, "m")->topic, "appeals.org.m");
    CHECK(directory_org(c->dir, "m")->up == c->dir->cur);
    config_unref(c);
    diag_free(&d);
    c = load("[org \"a\"]\nname = A\ntype = service\nparent = b\n"
             "[org \"b\"]\nname = B\ntype = service\nparent = a\n"
             "[page \"vk:1\"]\norg = nobody\n[page \"novk\"]\norg = a\n", &d, NULL);
    CHECK(c == NULL);
    CHECK(diag_has(&d, "loops back"));
    CHECK(diag_has(&d, "no organisation 'nobody'"));
    CHECK(diag_has(&d, "SOURCE:ID"));
    diag_free(&d);
}

TEST(includes_sorted_and_duplicates)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/conf.d", tmpdir);
    mkdir(dir, 0700);
    write_file("conf.d/20-b.conf", "[http]\nlisten = second:2\n");
    write_file("conf.d/10-a.conf", "[http]\nlisten = first:1\nmax_body = 2k\n");
    struct diag d = {0};
    struct apd_config *c = load("[http]\nlisten = main:0\ninclude conf.d/*.conf\n", &d, NULL);
    CHECK(c != NULL);
    CHECK_STR(c->http.listen, "second:2");
    CHECK_INT(c->http.max_body, 2048);
    config_unref(c);
    diag_free(&d);
    c = load("[org \"x\"]\nname = X\ntype = cur\n[org \"x\"]\nname = Y\ntype = cur\n", &d, NULL);
    CHECK(c == NULL);
    CHECK(diag_has(&d, "already defined"));
    diag_free(&d);
}

TEST(units)
{
    int64_t ms;
    uint64_t b;
    CHECK(parse_duration_ms("250ms", &ms) == 0 && ms == 250);
    CHECK(parse_duration_ms("3d", &ms) == 0 && ms == 3 * 86400000LL);
    CHECK(parse_duration_ms("1h30m", &ms) == 0 && ms == 5400000);
    CHECK(parse_duration_ms("15", &ms) == 0 && ms == 15000);
    CHECK(parse_duration_ms("5 parsecs", &ms) != 0);
    CHECK(parse_size("1MiB", &b) == 0 && b == 1048576);
    CHECK(parse_size("64k", &b) == 0 && b == 65536);
    CHECK(parse_size("x", &b) != 0);
    char buf[64];
    format_iso8601(1795935647945LL, "Europe/Moscow", buf, sizeof(buf));
    CHECK_STR(buf, "2026-11-29T10:00:47.945+03:00");
    /* the per-second cache: same second, the next one, another zone, UTC, back */
    format_iso8601(1795935647001LL, "Europe/Moscow", buf, sizeof(buf));
    CHECK_STR(buf, "2026-11-29T10:00:47.001+03:00");
    format_iso8601(1795935648000LL, "Europe/Moscow", buf, sizeof(buf));
    CHECK_STR(buf, "2026-11-29T10:00:48.000+03:00");
    format_iso8601(1795935648000LL, "Asia/Yekaterinburg", buf, sizeof(buf));
    CHECK_STR(buf, "2026-11-29T12:00:48.000+05:00");
    format_iso8601(1795935648000LL, NULL, buf, sizeof(buf));
    CHECK_STR(buf, "2026-11-29T07:00:48.000Z");
    format_iso8601(-1, NULL, buf, sizeof(buf));
    CHECK_STR(buf, "1969-12-31T23:59:59.999Z");
    format_iso8601(1795935648999LL, "Europe/Moscow", buf, sizeof(buf));
    CHECK_STR(buf, "2026-11-29T10:00:48.999+03:00");
    CHECK(parse_iso8601("2026-11-29T10:00:47.945+03:00", NULL, &ms) == 0 && ms == 1795935647945LL);
    CHECK(parse_iso8601("2026-11-29T10:00", "Europe/Moscow", &ms) == 0 &&
          ms == 1795935600000LL);
}

static bool warn_has(const struct diag *d, const char *needle)
{
    for (size_t i = 0; i < d->nwarn; i++)
        if (strstr(d->warn[i], needle))
            return true;
    printf("# no warning contains \"%s\" (%zu warnings)\n", needle, d->nwarn);
    return false;
}

/* Empty and short secrets used to pass and turned authentication off. */
TEST(secrets_too_short_refused_with_file_line)
{
    struct diag d = {0};
    struct apd_config *c = load("[daemon]\npseudonym_key = 0123456789abcdef0123456789abcde\n"
                                "[org \"m\"]\nname = M\ntype = municipality\n"
                                "[page \"vk:1\"]\norg = m\nsecret =\n"
                                "[page \"vk:2\"]\norg = m\nsecret = 0123456789abcde\n"
                                "[page \"vk:3\"]\norg = m\nsecret = 0123456789abcdef\n", &d, NULL);
    CHECK(c == NULL);
    CHECK(diag_has(&d, "t.conf:2: [daemon] pseudonym_key: secret too short (31 bytes); at least 32"));
    CHECK(diag_has(&d, "t.conf:8: [page \"vk:1\"] secret: empty secret"));
    CHECK(diag_has(&d, "t.conf:11: [page \"vk:2\"] secret: secret too short (15 bytes); at least 16"));
    CHECK_INT(d.n, 3);  /* 16 bytes is enough */
    diag_free(&d);
    const char *sets[] = {"daemon.pseudonym_key=", NULL};
    CHECK(load("", &d, sets) == NULL);
    CHECK(diag_has(&d, "pseudonym_key: empty secret"));
    diag_free(&d);
}

TEST(example_secret_warned_not_refused)
{
    struct diag d = {0};
    struct apd_config *c = load("[org \"m\"]\nname = M\ntype = municipality\n"
                                "[page \"vk:1\"]\norg = m\nsecret = maykop-example-secret\n"
                                "[page \"vk:2\"]\norg = m\nsecret = a-real-random-secret-42\n",
                                &d, NULL);
    CHECK(c != NULL);
    CHECK_INT(d.nwarn, 1);
    CHECK(warn_has(&d, "t.conf:6: [page \"vk:1\"] secret: is an example secret shipped"));
    config_unref(c);
    diag_free(&d);
}

/* The hashes in daemon/config/secrets.c must cover every secret in config/. */
TEST(shipped_secrets_all_listed)
{
    static const char *const keys[] = {"secret", "secret_token", "hmac_key", "token",
                                       "ack_token", "http_secret", "pseudonym_key", NULL};
    struct diag d = {0};
    struct ini *ini = ini_load(APD_SOURCE_ROOT "/config/appealsd.conf", &d);
    CHECK(ini != NULL);
    size_t seen = 0;
    for (size_t i = 0; ini && i < ini->n; i++)
        for (size_t j = 0; j < ini->s[i]->n; j++)
            for (size_t k = 0; keys[k]; k++) {
                struct ini_entry *e = &ini->s[i]->e[j];
                if (strcmp(e->key, keys[k]) != 0)
                    continue;
                seen++;
                if (!secret_is_example(e->value))
                    printf("# %s:%d: %s is not in the example list\n", e->file, e->line, e->key);
                CHECK(secret_is_example(e->value));
            }
    CHECK(seen >= 10);
    CHECK(!secret_is_example("a-real-random-secret-42"));
    ini_free(ini);
    diag_free(&d);
}

/* [redis] ACL user from the url, Sentinel list checks, min_replicas' default
 * following the sentinels, and rediss:// refused for want of TLS. */
TEST(redis_ha_and_acl_settings)
{
    struct diag d = {0};
    struct apd_config *c = load("[redis]\nurl = redis://appealsd:secret-pw@10.0.0.5:6379/0\n",
                                &d, NULL);
    CHECK(c != NULL);
    CHECK_STR(c->redis.user, "appealsd");
    CHECK_STR(c->redis.password, "secret-pw");
    CHECK_INT(c->redis.min_replicas, 0);
    config_unref(c);
    c = load("[redis]\nsentinels = 10.0.0.1:26379, 10.0.0.2:26379 ,10.0.0.3:26379\n"
             "master_name = appeals\n", &d, NULL);
    CHECK(c != NULL);
    CHECK_INT(c->redis.min_replicas, 1);
    CHECK_STR(c->redis.master_name, "appeals");
    config_unref(c);
    c = load("[redis]\nsentinels = 10.0.0.1, 10.0.0.2:0\nmin_replicas = 1\n"
             "replica_timeout = 5s\ncommand_timeout = 5s\n", &d, NULL);
    CHECK(c == NULL);
    CHECK(diag_has(&d, "[redis] sentinels: '10.0.0.1' is not HOST:PORT"));
    CHECK(diag_has(&d, "[redis] sentinels: '10.0.0.2:0' is not HOST:PORT"));
    CHECK(diag_has(&d, "replica_timeout (5000 ms) must be shorter than command_timeout"));
    diag_free(&d);
    c = load("[redis]\nurl = rediss://10.0.0.5:6380/0\n", &d, NULL);
    CHECK(c == NULL);
    CHECK(diag_has(&d, "TLS (rediss://) is not available with this build's hiredis 0.14"));
    diag_free(&d);
}

TEST(https_and_trusted_proxies)
{
    struct diag d = {0};
    struct apd_config *c = load("[http]\ntls_cert = tls/cert.pem\ntls_key = /k.pem\n"
                                "trusted_proxies = 127.0.0.1, 10.0.0.0/8,2001:db8::/32\n",
                                &d, NULL);
    CHECK(c != NULL);
    /* relative to the file's directory, like every path key */
    CHECK(c && strstr(c->http.tls_cert, "/tls/cert.pem") && c->http.tls_cert[0] == '/');
    CHECK(c && c->http.trusted_proxies.n == 3);
    CHECK_STR(c ? c->http.trusted_proxies.v[1] : NULL, "10.0.0.0/8");
    struct diag d2 = {0};
    struct apd_config *plain = load("", &d2, NULL);
    CHECK(plain && config_restart_diff(c, plain) &&
          strstr(config_restart_diff(c, plain), "http.tls_cert"));
    config_unref(plain);
    config_unref(c);
    diag_free(&d);
    diag_free(&d2);
    struct diag d3 = {0};
    c = load("[http]\ntls_cert = /c.pem\ntrusted_proxies = 10.0.0.0/33, proxy.example\n",
             &d3, NULL);
    CHECK(c == NULL);
    CHECK(diag_has(&d3, "[http] tls_cert and tls_key go together"));
    CHECK(diag_has(&d3, "[http] trusted_proxies: '10.0.0.0/33' is not an address"));
    CHECK(diag_has(&d3, "[http] trusted_proxies: 'proxy.example' is not an address"));
    diag_free(&d3);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/apd-test-config-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    RUN(defaults);
    RUN(values_and_units);
    RUN(errors_name_file_line_and_key);
    RUN(syntax_errors);
    RUN(overrides);
    RUN(directory_links);
    RUN(includes_sorted_and_duplicates);
    RUN(units);
    RUN(secrets_too_short_refused_with_file_line);
    RUN(example_secret_warned_not_refused);
    RUN(shipped_secrets_all_listed);
    RUN(redis_ha_and_acl_settings);
    RUN(https_and_trusted_proxies);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return test_done();
}
