#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apd_build.h"
#include "log.h"
#include "module.h"
#include "proxy.h"
#include "tz.h"

#define DAEMON(f) offsetof(struct apd_config, daemon.f)
#define HTTP(f) offsetof(struct apd_config, http.f)
#define SPOOL(f) offsetof(struct apd_config, spool.f)
#define KAFKA(f) offsetof(struct apd_config, kafka.f)
#define REDIS(f) offsetof(struct apd_config, redis.f)
#define CONTROL(f) offsetof(struct apd_config, control.f)

static const char *const log_levels[] = {"", "", "", "error", "warn", "notice", "info", "debug",
                                         NULL};

static const struct conf_key daemon_keys[] = {
    {"instance", CT_STR, DAEMON(instance), "appealsd", 0, 0, NULL, 0,
     "name of this instance in logs, metrics and Kafka client ids"},
    {"log_level", CT_ENUM, DAEMON(log_level), "info", 0, 0, log_levels, 0,
     "error, warn, notice, info or debug"},
    {"plugin_dir", CT_STR, DAEMON(plugin_dir), APD_PLUGIN_DIR, 0, 0, NULL, CF_RESTART,
     "where source and classifier plugins are loaded from"},
    {"shutdown_timeout", CT_DURATION, DAEMON(shutdown_timeout_ms), "10s", 100, 3600000, NULL, 0,
     "how long SIGTERM waits for in-flight work before leaving it in the spool"},
    {"timezone", CT_STR, DAEMON(timezone), "Europe/Moscow", 0, 0, NULL, 0,
     "zone for working-time arithmetic and human output"},
    {"pseudonym_key", CT_SECRET, DAEMON(pseudonym_key), NULL, 32, 0, NULL, 0,
     "key of the keyed hash that pseudonymises author ids leaving the daemon (32 bytes or more)"},
    {"max_inflight", CT_INT, DAEMON(max_inflight), "4096", 1, 1000000, NULL, 0,
     "spool records processed at once; the rest wait on disk, keeping memory bounded"},
    {"health_max_spool_age", CT_DURATION, DAEMON(health_max_spool_age_ms), "5m", 0, 604800000,
     NULL, 0, "/healthz answers 503 while the oldest unreleased spool record is older (0: off)"},
    {"health_max_kafka_down", CT_DURATION, DAEMON(health_max_kafka_down_ms), "2m", 0,
     604800000, NULL, 0, "/healthz answers 503 once no Kafka broker has been up this long (0: off)"},
    {0},
};

static const struct conf_key http_keys[] = {
    {"listen", CT_STR, HTTP(listen), "127.0.0.1:8080", 0, 0, NULL, CF_RESTART,
     "address:port of the webhook listener (ignored under socket activation)"},
    {"max_body", CT_SIZE, HTTP(max_body), "1MiB", 1024, 64 << 20, NULL, 0,
     "largest accepted request body; larger ones get 413 before they are read"},
    {"timeout", CT_DURATION, HTTP(timeout_ms), "30s", 100, 3600000, NULL, 0,
     "inactivity timeout of a client connection (see also header_timeout, body_timeout)"},
    {"retry_after", CT_INT, HTTP(retry_after_s), "30", 1, 86400, NULL, 0,
     "seconds in Retry-After when the daemon cannot accept (spool full, draining)"},
    {"max_headers", CT_SIZE, HTTP(max_headers), "16KiB", 1024, 1 << 20, NULL, 0,
     "largest accepted request header block"},
    {"max_connections", CT_INT, HTTP(max_connections), "1024", 1, 1000000, NULL, 0,
     "open connections of the listener; new ones over it are answered 503 and closed"},
    {"header_timeout", CT_DURATION, HTTP(header_timeout_ms), "10s", 100, 3600000, NULL, 0,
     "total time from a connection's (or request's) start to the end of its header block"},
    {"body_timeout", CT_DURATION, HTTP(body_timeout_ms), "30s", 100, 3600000, NULL, 0,
     "total time for a request body once the headers are in"},
    {"tls_cert", CT_PATH, HTTP(tls_cert), NULL, 0, 0, NULL, 0,
     "certificate chain (PEM, leaf first); with tls_key the listener speaks HTTPS only "
     "(files re-read on reload; turning TLS on or off needs a restart)"},
    {"tls_key", CT_PATH, HTTP(tls_key), NULL, 0, 0, NULL, 0,
     "private key of tls_cert (PEM, unencrypted, readable by the daemon's user only)"},
    {"trusted_proxies", CT_LIST, HTTP(trusted_proxies), NULL, 0, 0, NULL, 0,
     "networks (CIDR) of reverse proxies whose X-Forwarded-For names the client; "
     "X-Forwarded-For from other peers is ignored"},
    {0},
};

static const struct conf_key spool_keys[] = {
    {"dir", CT_STR, SPOOL(dir), "/var/lib/appealsd/spool", 0, 0, NULL, CF_RESTART,
     "directory of the durable intake spool (the acknowledgement point)"},
    {"max_size", CT_SIZE, SPOOL(max_size), "1GiB", 1 << 20, INT64_MAX, NULL, 0,
     "disk quota of the spool; when reached, webhooks get 503 with Retry-After"},
    {"segment_size", CT_SIZE, SPOOL(segment_size), "64MiB", 64 << 10, 1LL << 32, NULL, 0,
     "size at which a spool segment file is closed and a new one started"},
    {"quarantine_max_size", CT_SIZE, SPOOL(quarantine_max_size), "16MiB", 4096, 1LL << 40, NULL,
     0, "size at which quarantine.jsonl is rotated (it and its copies count in max_size)"},
    {"quarantine_files", CT_INT, SPOOL(quarantine_files), "4", 1, 100, NULL, 0,
     "rotated quarantine files kept (quarantine.jsonl.1 .. .N); older ones are deleted"},
    {0},
};

static const struct conf_key kafka_keys[] = {
    {"brokers", CT_STR, KAFKA(brokers), "127.0.0.1:9092", 0, 0, NULL, CF_RESTART,
     "bootstrap servers, comma-separated"},
    {"client_id", CT_STR, KAFKA(client_id), NULL, 0, 0, NULL, CF_RESTART,
     "Kafka client id (default: appealsd-INSTANCE)"},
    {"delivery_timeout", CT_DURATION, KAFKA(delivery_timeout_ms), "30s", 1000, 3600000, NULL,
     CF_RESTART, "how long one produce may take before it is retried from the spool"},
    {"linger", CT_DURATION, KAFKA(linger_ms), "1ms", 0, 1000, NULL, CF_RESTART,
     "producer batching delay; acknowledgement waits for it, so keep it small"},
    {"topic_all", CT_STR, KAFKA(topic_all), "appeals.all", 0, 0, NULL, 0,
     "every appeal and update, for the ЦУР and analytics"},
    {"topic_triage", CT_STR, KAFKA(topic_triage), "appeals.triage", 0, 0, NULL, 0,
     "appeals no rule could route"},
    {"topic_sla", CT_STR, KAFKA(topic_sla), "appeals.sla", 0, 0, NULL, 0,
     "SLA warnings, breaches, escalations"},
    {"topic_status", CT_STR, KAFKA(topic_status), "appeals.status", 0, 0, NULL, 0,
     "agencies' status updates (consumed)"},
    {"topic_dlq", CT_STR, KAFKA(topic_dlq), "appeals.dlq", 0, 0, NULL, 0,
     "status messages the daemon could not accept, with the reason, when they name no "
     "known organisation; the others go to the organisation's own TOPIC.<code>"},
    {"topic_org_prefix", CT_STR, KAFKA(topic_org_prefix), "appeals.org.", 0, 0, NULL, 0,
     "per-organisation topic name prefix (an [org] may set its own topic)"},
    {"partitions", CT_INT, KAFKA(partitions), "3", 1, 10000, NULL, 0,
     "partitions of topics made by --create-topics"},
    {"replication", CT_INT, KAFKA(replication), "0", 0, 32, NULL, 0,
     "replication factor of topics made by --create-topics; 0: 3 (with min.insync.replicas "
     "2) when the cluster has three brokers or more, else 1"},
    {"queue_max_messages", CT_INT, KAFKA(queue_max_messages), "100000", 100, 10000000, NULL,
     CF_RESTART, "producer queue bound; beyond it records wait in the spool"},
    {"property", CT_LIST, KAFKA(properties), NULL, 0, 0, NULL, CF_RESTART,
     "extra librdkafka settings as name=value (repeatable)"},
    {"security_protocol", CT_ENUM, KAFKA(security_protocol), "plaintext", 0, 0,
     kafka_security_protocols, CF_RESTART, "plaintext, ssl, sasl_plaintext or sasl_ssl"},
    {"sasl_mechanism", CT_ENUM, KAFKA(sasl_mechanism), "none", 0, 0, kafka_sasl_mechanisms,
     CF_RESTART, "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with a sasl_* security_protocol)"},
    {"sasl_username", CT_STR, KAFKA(sasl_username), NULL, 0, 0, NULL, CF_RESTART,
     "the daemon's Kafka user"},
    {"sasl_password", CT_SECRET, KAFKA(sasl_password), NULL, 0, 0, NULL, CF_RESTART,
     "its password (a secret: at least 16 bytes)"},
    {"ssl_ca_location", CT_PATH, KAFKA(ssl_ca_location), NULL, 0, 0, NULL, CF_RESTART,
     "CA certificate(s) (PEM) the brokers' certificates are checked against (default: "
     "the system's)"},
    {"ssl_certificate_location", CT_PATH, KAFKA(ssl_certificate_location), NULL, 0, 0, NULL,
     CF_RESTART, "client certificate (PEM), when the brokers require one"},
    {"ssl_key_location", CT_PATH, KAFKA(ssl_key_location), NULL, 0, 0, NULL, CF_RESTART,
     "its private key (PEM)"},
    {0},
};

const char *const kafka_security_protocols[] = {"plaintext", "ssl", "sasl_plaintext",
                                                "sasl_ssl", NULL};
const char *const kafka_sasl_mechanisms[] = {"none", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512",
                                             NULL};

static const struct conf_key redis_keys[] = {
    {"url", CT_STR, REDIS(url), "redis://127.0.0.1:6379/0", 0, 0, NULL, CF_RESTART,
     "redis://[[USER]:PASSWORD@]HOST:PORT/DB or unix:/PATH[?db=N] (no TLS: see docs/deploy.md)"},
    {"prefix", CT_STR, REDIS(prefix), "apd:", 0, 0, NULL, CF_RESTART,
     "prefix of every key the daemon writes"},
    {"connect_timeout", CT_DURATION, REDIS(connect_timeout_ms), "2s", 50, 60000, NULL, 0,
     "connect deadline; then reconnect with backoff"},
    {"command_timeout", CT_DURATION, REDIS(command_timeout_ms), "5s", 50, 600000, NULL, 0,
     "a reply slower than this drops the connection and retries"},
    {"dedup_ttl", CT_DURATION, REDIS(dedup_ttl_ms), "48h", 3600000, 30LL * 86400000, NULL, 0,
     "how long platform delivery ids are remembered to drop redeliveries"},
    {"user", CT_STR, REDIS(user), NULL, 0, 0, NULL, CF_RESTART,
     "ACL user (Redis 6+) for AUTH USER PASSWORD; also USER:PASSWORD@ in the url"},
    {"sentinels", CT_STR, REDIS(sentinels), NULL, 0, 0, NULL, CF_RESTART,
     "HOST:PORT, ... of Redis Sentinels: the master is asked of them, the url's host unused"},
    {"master_name", CT_STR, REDIS(master_name), "mymaster", 0, 0, NULL, CF_RESTART,
     "the name the sentinels monitor the master under"},
    {"sentinel_password", CT_SECRET, REDIS(sentinel_password), NULL, 0, 0, NULL, CF_RESTART,
     "password of the sentinels (their requirepass), if they have one"},
    {"sentinel_user", CT_STR, REDIS(sentinel_user), NULL, 0, 0, NULL, CF_RESTART,
     "ACL user of the sentinels, if they have one"},
    {"min_replicas", CT_INT, REDIS(min_replicas), "-1", -1, 16, NULL, 0,
     "replicas that must have an appeal's writes (WAIT) before its spool record is released; "
     "-1: 1 when sentinels are set, else 0"},
    {"replica_timeout", CT_DURATION, REDIS(replica_timeout_ms), "1s", 10, 60000, NULL, 0,
     "how long one WAIT for min_replicas may block; short of them, the record is kept and "
     "the wait retried"},
    {0},
};

static const struct conf_key control_keys[] = {
    {"socket", CT_STR, CONTROL(socket), "/run/appealsd/control.sock", 0, 0, NULL, CF_RESTART,
     "Unix socket for appealsctl"},
    {"mode", CT_MODE, CONTROL(mode), "0660", 0, 0, NULL, CF_RESTART, "socket file mode"},
    {"group", CT_STR, CONTROL(group), NULL, 0, 0, NULL, CF_RESTART,
     "group owning the socket (operators who may connect)"},
    {"admin_group", CT_STR, CONTROL(admin_group), NULL, 0, 0, NULL, 0,
     "members may run commands that change state; others are read-only"},
    {"max_output", CT_SIZE, CONTROL(max_output), "1MiB", 4096, 1 << 30, NULL, 0,
     "bytes buffered per client; a tail that falls further behind loses events"},
    {"recent_events", CT_INT, CONTROL(recent_events), "1000", 0, 100000, NULL, CF_RESTART,
     "events remembered for appealsctl tail -n (the last N, then follow); 0 remembers none"},
    {"max_clients", CT_INT, CONTROL(max_clients), "256", 4, 4096, NULL, 0,
     "connections at once; more are answered busy and closed"},
    {"max_clients_per_uid", CT_INT, CONTROL(max_clients_per_uid), "8", 1, 4096, NULL, 0,
     "connections one non-admin user may hold at once (admins are not counted against it)"},
    {"admin_reserve", CT_INT, CONTROL(admin_reserve), "16", 0, 4096, NULL, 0,
     "of max_clients, the connections only admins may take, so that they always get in"},
    {"idle_timeout", CT_DURATION, CONTROL(idle_timeout_ms), "60s", 100, 86400000, NULL, 0,
     "a connection that sends no request this long is closed (tail streams are not)"},
    {0},
};

struct section_table {
    const char *name;
    const struct conf_key *keys;
};

static const struct section_table core_sections[] = {
    {"daemon", daemon_keys}, {"http", http_keys},       {"spool", spool_keys},
    {"kafka", kafka_keys},   {"redis", redis_keys},     {"control", control_keys},
};

/* The URL as messages may show it: without the password, which would
 * otherwise reach the journal with every typo in the rest of the URL. */
static const char *url_shown(const char *url, char *buf, size_t len)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    if (at == NULL)
        return url;
    snprintf(buf, len, "%.*s***%s", (int)(scheme + 3 - url), url, at);
    return buf;
}

static int parse_redis_url(struct cfg_redis *r, struct diag *d, struct ini_entry *e)
{
    const char *file = e ? e->file : NULL;
    int line = e ? e->line : 0;
    char shown[512];
    const char *u = r->url, *us = url_shown(u, shown, sizeof(shown));
    r->db = 0;
    if (strncmp(u, "unix:", 5) == 0) {
        const char *q = strchr(u + 5, '?');
        r->unix_path = q ? strndup(u + 5, (size_t)(q - u - 5)) : strdup(u + 5);
        if (q && sscanf(q, "?db=%d", &r->db) != 1) {
            diag_add(d, file, line, "[redis] url: bad query in '%s' (use ?db=N)", us);
            return -1;
        }
        return 0;
    }
    if (strncmp(u, "rediss://", 9) == 0) {
        /* Debian 12's hiredis (0.14) has no TLS (hiredis_ssl came with 1.0):
         * refuse rather than send the password in the clear. */
        diag_add(d, file, line, "[redis] url: '%s': TLS (rediss://) is not available with "
                 "this build's hiredis 0.14; reach a TLS Redis through a local tunnel "
                 "(docs/deploy.md)", us);
        return -1;
    }
    if (strncmp(u, "redis://", 8) != 0) {
        diag_add(d, file, line, "[redis] url: '%s' must start with redis:// or unix:", us);
        return -1;
    }
    const char *p = u + 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        r->password = strndup(pw, (size_t)(at - pw));
        if (colon && colon > p && r->user == NULL)
            r->user = strndup(p, (size_t)(colon - p));
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    const char *hostend = slash ? slash : p + strlen(p);
    const char *colon = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(hostend - p));
        if (rb == NULL) {
            diag_add(d, file, line, "[redis] url: unbalanced '[' in '%s'", us);
            return -1;
        }
        r->host = strndup(p + 1, (size_t)(rb - p - 1));
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(p, ':', (size_t)(hostend - p));
        r->host = strndup(p, (size_t)((colon ? colon : hostend) - p));
    }
    r->port = 6379;
    if (colon) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (end != hostend || port <= 0 || port > 65535) {
            diag_add(d, file, line, "[redis] url: bad port in '%s'", us);
            return -1;
        }
        r->port = (int)port;
    }
    if (slash && slash[1]) {
        char *end;
        long db = strtol(slash + 1, &end, 10);
        if (*end != '\0' || db < 0 || db > 1000) {
            diag_add(d, file, line, "[redis] url: bad database number in '%s'", us);
            return -1;
        }
        r->db = (int)db;
    }
    if (r->host[0] == '\0') {
        diag_add(d, file, line, "[redis] url: no host in '%s'", us);
        return -1;
    }
    return 0;
}

/* Settings that would be silently unused, or half a credential, are refused:
 * the daemon would otherwise connect in clear or fail at the broker later. */
static void validate_kafka_security(const struct cfg_kafka *k, struct diag *d)
{
    int p = k->security_protocol;
    bool sasl = p == KAFKA_SEC_SASL_PLAINTEXT || p == KAFKA_SEC_SASL_SSL;
    bool tls = p == KAFKA_SEC_SSL || p == KAFKA_SEC_SASL_SSL;
    const char *name = kafka_security_protocols[p];
    if (sasl && (k->sasl_mechanism == KAFKA_SASL_NONE || !k->sasl_username || !k->sasl_password))
        diag_add(d, NULL, 0, "[kafka] security_protocol = %s needs sasl_mechanism, "
                 "sasl_username and sasl_password", name);
    if (!sasl && (k->sasl_mechanism != KAFKA_SASL_NONE || k->sasl_username || k->sasl_password))
        diag_add(d, NULL, 0, "[kafka] sasl_*: set, but security_protocol = %s does not use "
                 "them (sasl_plaintext or sasl_ssl does)", name);
    if (!tls && (k->ssl_ca_location || k->ssl_certificate_location || k->ssl_key_location))
        diag_add(d, NULL, 0, "[kafka] ssl_*: set, but security_protocol = %s does not use "
                 "them (ssl or sasl_ssl does)", name);
    if (!k->ssl_certificate_location != !k->ssl_key_location)
        diag_add(d, NULL, 0, "[kafka] ssl_certificate_location and ssl_key_location go "
                 "together");
    if (p == KAFKA_SEC_SASL_PLAINTEXT && k->sasl_mechanism == KAFKA_SASL_PLAIN)
        diag_warn(d, NULL, 0, "[kafka] sasl_mechanism = PLAIN over sasl_plaintext sends the "
                  "password in clear; use sasl_ssl, or SCRAM");
}

/* Sentinel list and the replica wait against the command deadline. */
static void validate_redis_ha(struct cfg_redis *r, struct diag *d)
{
    if (r->min_replicas < 0)
        r->min_replicas = r->sentinels ? 1 : 0;
    if (r->min_replicas > 0 && r->replica_timeout_ms >= r->command_timeout_ms)
        diag_add(d, NULL, 0, "[redis] replica_timeout (%lld ms) must be shorter than "
                 "command_timeout (%lld ms): a WAIT that long drops the connection",
                 (long long)r->replica_timeout_ms, (long long)r->command_timeout_ms);
    if (r->sentinels == NULL)
        return;
    if (r->unix_path)
        diag_add(d, NULL, 0, "[redis] sentinels: a unix: url cannot be failed over; use "
                 "redis://");
    char *list = strdup(r->sentinels), *save = NULL;
    int n = 0;
    for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save), n++) {
        const char *colon = strrchr(t, ':');
        long port = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (colon == NULL || colon == t || port <= 0 || port > 65535)
            diag_add(d, NULL, 0, "[redis] sentinels: '%s' is not HOST:PORT", t);
    }
    free(list);
    if (n == 0)
        diag_add(d, NULL, 0, "[redis] sentinels: empty list");
}

/* The files themselves are read by the listener (and --check-config): a
 * broken certificate on reload keeps the running one, not the old config. */
static void validate_http_front(const struct cfg_http *h, struct diag *d)
{
    if (!h->tls_cert != !h->tls_key)
        diag_add(d, NULL, 0, "[http] tls_cert and tls_key go together");
    for (size_t i = 0; i < h->trusted_proxies.n; i++)
        if (!cidr_valid(h->trusted_proxies.v[i]))
            diag_add(d, NULL, 0, "[http] trusted_proxies: '%s' is not an address or a CIDR "
                     "network", h->trusted_proxies.v[i]);
}

static void validate_core(struct apd_config *c, struct ini *ini, struct diag *d)
{
    struct ini_section *rs = ini_find(ini, "redis", NULL);
    struct ini_entry *ue = NULL;
    if (rs)
        for (size_t i = 0; i < rs->n; i++)
            if (strcmp(rs->e[i].key, "url") == 0)
                ue = &rs->e[i];
    parse_redis_url(&c->redis, d, ue);
    validate_redis_ha(&c->redis, d);
    if (!tz_exists(c->daemon.timezone))
        diag_add(d, NULL, 0, "[daemon] timezone: unknown zone '%s'", c->daemon.timezone);
    if (c->kafka.client_id == NULL) {
        size_t n = strlen(c->daemon.instance) + 16;
        c->kafka.client_id = malloc(n);
        snprintf(c->kafka.client_id, n, "appealsd-%s", c->daemon.instance);
    }
    for (size_t i = 0; i < c->kafka.properties.n; i++)
        if (strchr(c->kafka.properties.v[i], '=') == NULL)
            diag_add(d, NULL, 0, "[kafka] property: '%s' must be name=value",
                     c->kafka.properties.v[i]);
    validate_kafka_security(&c->kafka, d);
    validate_http_front(&c->http, d);
}

const char *const config_named_types[] = {"source", "page", "org", "rule", "policy",
                                          "calendar", "classifier", "hours", NULL};

struct apd_config *config_load(const struct config_opts *o, struct diag *d)
{
    static unsigned generation;
    size_t before = d->n;
    struct ini *ini = ini_load(o->path, d);
    if (ini == NULL)
        return NULL;
    for (size_t i = 0; o->overrides && o->overrides[i]; i++)
        ini_override(ini, o->overrides[i], config_named_types, d);

    struct apd_config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->path = strdup(o->path);
    for (size_t i = 0; i < sizeof(core_sections) / sizeof(core_sections[0]); i++) {
        char label[64];
        snprintf(label, sizeof(label), "[%s]", core_sections[i].name);
        conf_bind(core_sections[i].keys, ini_find(ini, core_sections[i].name, NULL), c, label, d);
    }
    validate_core(c, ini, d);
    for (const struct conf_module *const *m = conf_modules; *m; m++)
        if ((*m)->build)
            (*m)->build(c, ini, o, d);
    conf_report_unused(ini, d);
    ini_free(ini);
    if (d->n > before) {
        config_free(c);
        return NULL;
    }
    c->generation = ++generation;
    c->refs = 1;
    return c;
}

void config_free(struct apd_config *c)
{
    if (c == NULL)
        return;
    for (const struct conf_module *const *m = conf_modules; *m; m++)
        if ((*m)->free)
            (*m)->free(c);
    for (size_t i = 0; i < sizeof(core_sections) / sizeof(core_sections[0]); i++)
        conf_unbind(core_sections[i].keys, c);
    free(c->redis.host);
    free(c->redis.unix_path);
    free(c->redis.password);
    free(c->path);
    free(c);
}

struct apd_config *config_ref(struct apd_config *c)
{
    c->refs++;
    return c;
}

void config_unref(struct apd_config *c)
{
    if (c && --c->refs == 0)
        config_free(c);
}

const char *config_restart_diff(const struct apd_config *a, const struct apd_config *b)
{
    static char buf[128];
    if (!a->http.tls_cert != !b->http.tls_cert)
        return "http.tls_cert (turning HTTPS on or off)";
    for (size_t i = 0; i < sizeof(core_sections) / sizeof(core_sections[0]); i++) {
        const char *k = conf_restart_diff(core_sections[i].keys, a, b);
        if (k) {
            snprintf(buf, sizeof(buf), "%s.%s", core_sections[i].name, k);
            return buf;
        }
    }
    for (const struct conf_module *const *m = conf_modules; *m; m++) {
        const char *k = (*m)->restart_diff ? (*m)->restart_diff(a, b) : NULL;
        if (k)
            return k;
    }
    return NULL;
}

static const char *type_name(enum conf_type t)
{
    static const char *const n[] = {"string", "secret", "integer", "yes/no", "duration",
                                    "size", "mode", "choice", "list", "number", "path",
                                    "paths"};
    return n[t];
}

static bool reference_tsv;

bool conf_reference_is_tsv(void) { return reference_tsv; }

void conf_print_keys(const char *section, const struct conf_key *keys)
{
    if (reference_tsv) {
        /* section, key, type, default, restart, doc: for the man page generator */
        for (const struct conf_key *k = keys; k->name; k++)
            printf("%s\t%s\t%s\t%s\t%s\t%s\n", section, k->name, type_name(k->type),
                   k->def ? k->def : "", (k->flags & CF_RESTART) ? "restart" : "",
                   k->doc ? k->doc : "");
        return;
    }
    printf("[%s]\n", section);
    for (const struct conf_key *k = keys; k->name; k++)
        printf("  %-22s %-8s %-10s %s%s\n", k->name, type_name(k->type),
               k->def ? k->def : "-", k->doc ? k->doc : "",
               (k->flags & CF_RESTART) ? " (restart to change)" : "");
}

void config_print_reference_tsv(void)
{
    reference_tsv = true;
    config_print_reference();
    reference_tsv = false;
}

void config_print_reference(void)
{
    for (size_t i = 0; i < sizeof(core_sections) / sizeof(core_sections[0]); i++) {
        conf_print_keys(core_sections[i].name, core_sections[i].keys);
        printf("\n");
    }
    for (const struct conf_module *const *m = conf_modules; *m; m++)
        if ((*m)->reference)
            (*m)->reference();
}
