/* The daemon's configuration: an immutable snapshot built from appealsd.conf
 * (plus includes and --set overrides), validated completely before use.
 *
 * Reload builds a new snapshot next to the running one and swaps only when
 * it is valid and changes nothing marked CF_RESTART; otherwise the old one
 * keeps serving and the reason is reported.  Modules that own a part of the
 * config (sources, directory, rules, SLA, classifier) register a builder in
 * config.c; each keeps its own struct and frees it itself. */
#ifndef APPEALSD_CONFIG_H
#define APPEALSD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "bind.h"
#include "diag.h"
#include "ini.h"

struct cfg_daemon {
    char *instance;
    int log_level;            /* enum log_level */
    char *plugin_dir;
    int64_t shutdown_timeout_ms;
    char *timezone;
    char *pseudonym_key;      /* keyed hash for author ids leaving the daemon */
    int64_t max_inflight;     /* spool records processed at once */
    int64_t health_max_spool_age_ms;  /* /healthz 503 past this backlog age (0: off) */
    int64_t health_max_kafka_down_ms; /* /healthz 503 after Kafka is down this long (0: off) */
};

struct cfg_http {
    char *listen;             /* "127.0.0.1:8080", "[::1]:8080", "8080" */
    uint64_t max_body;
    int64_t timeout_ms;
    int64_t retry_after_s;    /* Retry-After on 503 */
    uint64_t max_headers;
    int64_t max_connections;  /* over it, new connections get 503 and are closed */
    int64_t header_timeout_ms; /* total time for a request's header block */
    int64_t body_timeout_ms;  /* total time for its body, after the headers */
    char *tls_cert;           /* PEM chain: with tls_key set, HTTPS only */
    char *tls_key;
    struct strlist trusted_proxies; /* CIDRs whose X-Forwarded-For names the client */
};

struct cfg_spool {
    char *dir;
    uint64_t max_size;        /* quota over all live segments */
    uint64_t segment_size;
    uint64_t quarantine_max_size;  /* quarantine.jsonl is rotated past this */
    int64_t quarantine_files;      /* rotated quarantine files kept */
};

struct cfg_kafka {
    char *brokers;
    char *client_id;
    int64_t delivery_timeout_ms;
    int64_t linger_ms;
    char *topic_all;
    char *topic_triage;
    char *topic_sla;
    char *topic_status;
    char *topic_dlq;
    char *topic_org_prefix;   /* per-organisation topic = prefix + org code */
    int64_t partitions;
    int64_t replication;
    int64_t queue_max_messages;
    struct strlist properties; /* extra librdkafka "name=value" pairs */
    /* Secure connections (docs/deploy.md "Kafka: SASL and TLS"), mapped to
     * librdkafka's security.protocol, sasl.*, ssl.*.location. */
    int security_protocol;    /* KAFKA_SEC_* */
    int sasl_mechanism;       /* KAFKA_SASL_* */
    char *sasl_username;
    char *sasl_password;
    char *ssl_ca_location;
    char *ssl_certificate_location;
    char *ssl_key_location;
};

enum { KAFKA_SEC_PLAINTEXT, KAFKA_SEC_SSL, KAFKA_SEC_SASL_PLAINTEXT, KAFKA_SEC_SASL_SSL };
enum { KAFKA_SASL_NONE, KAFKA_SASL_PLAIN, KAFKA_SASL_SCRAM_256, KAFKA_SASL_SCRAM_512 };
/* librdkafka's names, indexed by the enums above. */
extern const char *const kafka_security_protocols[];
extern const char *const kafka_sasl_mechanisms[];

struct cfg_redis {
    char *url;                /* redis://HOST:PORT/DB or unix:/path?db=N */
    char *prefix;             /* key prefix: several deployments can share a Redis */
    int64_t connect_timeout_ms;
    int64_t command_timeout_ms;
    int64_t dedup_ttl_ms;
    /* parsed from url */
    char *host;
    int port;
    char *unix_path;
    int db;
    char *password;
    /* ACL user (Redis 6+): from the url's USER:PASSWORD@ or `user` */
    char *user;
    /* Sentinel: the master is asked of these instead of url's host */
    char *sentinels;          /* "HOST:PORT, ..." as written */
    char *master_name;
    char *sentinel_password;
    char *sentinel_user;
    int64_t min_replicas;     /* -1 in the file: 1 with sentinels, else 0 */
    int64_t replica_timeout_ms;
};

struct cfg_control {
    char *socket;
    int mode;
    char *group;              /* group owning the socket */
    char *admin_group;        /* peers in this group (or root/same uid) may steer */
    uint64_t max_output;      /* per-client buffered bytes before events are dropped */
    int64_t recent_events;    /* events remembered for tail's "last" (0: none) */
    int64_t max_clients;      /* connections at once, admins' reserve included */
    int64_t max_clients_per_uid;  /* per non-admin peer uid */
    int64_t admin_reserve;    /* of max_clients, slots only admins may take */
    int64_t idle_timeout_ms;  /* a request/reply client silent this long is closed */
};

struct source_cfg;
struct directory;

struct apd_config {
    unsigned generation;
    unsigned refs;            /* the running daemon and every job in flight */
    char *path;
    struct cfg_daemon daemon;
    struct cfg_http http;
    struct cfg_spool spool;
    struct cfg_kafka kafka;
    struct cfg_redis redis;
    struct cfg_control control;
    struct source_cfg *sources;
    size_t nsources;
    struct directory *dir;
    /* later modules hang their parsed config here */
    void *sla;
    void *rules;
    void *classifier;
    void *delivery;           /* struct delivery_config ([delivery]) */
    void *ack;                /* struct ack_config ([ack]) */
    void *answer;             /* struct answer_judge ([answer]) */
    void *incidents;          /* struct incident_config ([incidents]) */
    void *pipeline;           /* struct pipeline_limits ([pipeline]) */
    void *metrics;            /* struct metrics_conf ([metrics]) */
};

/* Options for building a config. */
struct config_opts {
    const char *path;
    const char *const *overrides;  /* "section.key=value", NULL-terminated */
    bool skip_plugins;             /* tools that do not need source plugins */
};

/* Builds and validates a config; NULL with every problem in d. */
struct apd_config *config_load(const struct config_opts *o, struct diag *d);
void config_free(struct apd_config *c);
/* Jobs keep the snapshot they started with alive across a reload. */
struct apd_config *config_ref(struct apd_config *c);
void config_unref(struct apd_config *c);
/* Names the first setting that needs a restart to change, or NULL. */
const char *config_restart_diff(const struct apd_config *old, const struct apd_config *new_);
/* Prints the key reference (for --help-config and the docs). */
void config_print_reference(void);
/* The same as tab-separated lines: section, key, type, default, "restart" or
 * empty, description (--help-config=tsv; appealsd.conf(5) is built from it). */
void config_print_reference_tsv(void);

/* Section types that take a name: [org "x"], --set org.x.key=v. */
extern const char *const config_named_types[];

#endif
