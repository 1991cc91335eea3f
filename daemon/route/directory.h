/* The organisation directory: who exists, who owns which page, who is above
 * whom (the escalation chain), and where each one receives appeals.  Built
 * from [org "CODE"] and [page "SOURCE:ID"] sections as part of a config
 * snapshot; read-only afterwards.
 *
 * Delivery: an organisation receives appeals on its Kafka topic (kafka =
 * yes, the default), by signed HTTP POST (http_url + http_secret), or both;
 * it must have at least one.  Organisations may share a topic only when
 * they agree on personal_data, so whether a topic carries author ids in
 * clear is a property of the topic, not of whoever happened to write to it. */
#ifndef APPEALSD_DIRECTORY_H
#define APPEALSD_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appealsd/plugin.h"
#include "bind.h"
#include "strmap.h"

enum org_type { ORG_CUR, ORG_MINISTRY, ORG_MUNICIPALITY, ORG_SERVICE };

struct org {
    char *code;
    char *name;
    int type;                 /* enum org_type */
    char *parent;             /* code of the next level of escalation, or NULL */
    char *topic;              /* Kafka topic; default kafka.topic_org_prefix + code */
    char *status_topic;       /* the topic its statuses come on: kafka.topic_status + "." +
                               * code; only the organisation may write there (Kafka ACL) */
    /* Its own dead-letter topic (kafka.topic_dlq + "." + code): its refused
     * status reports, which no other organisation may read. */
    char *dlq_topic;
    char *municipality;       /* for municipal bodies: the municipality they govern */
    char *http_url;           /* HTTP delivery endpoint, or NULL */
    char *http_secret;        /* HMAC-SHA256 key for HTTP delivery signatures */
    bool personal_data;       /* may receive author ids in clear */
    bool kafka;               /* deliver to its Kafka topic (default yes) */
    char *calendar;           /* working calendar name for SLA */
    char *hours;              /* working hours name for SLA */
    char *sla_policy;         /* default SLA policy */
    int64_t http_concurrency; /* HTTP deliveries in flight at once, per instance */
    struct org *up;           /* resolved parent */
    char *file;               /* where the section starts, for messages */
    int line;
};

struct page {
    struct apd_page pub;      /* the view plugins get; points into the fields below */
    char *source;
    char *id;
    char *org;
    char *municipality;
    char *name;
    char *secret;
    char *confirmation;
    char *token;
    bool ack;                 /* acknowledge appeals on this page (when [ack] is on) */
    char *ack_token;          /* platform API token for the acknowledgement */
    bool group_chats;         /* its group chats' messages are appeals (VK) */
    bool poll;                /* the host polls its API (ABI 1.5 pull sources) */
    int64_t poll_interval_ms;
    char *api_token;          /* API token for polling; NULL: ack_token */
    char *platform;           /* vk, telegram, max, ... (the source's plugin) */
    struct org *owner;
};

struct directory {
    struct org *orgs;
    size_t norgs;
    struct page *pages;
    size_t npages;
    struct strmap org_by_code;
    struct strmap page_by_key;      /* "source:id" */
    struct strmap admin_by_muni;    /* municipality code -> its administration */
    struct org *cur;                /* the ЦУР: top of every chain, triage owner */
};

struct apd_config;

struct org *directory_org(const struct directory *d, const char *code);
struct page *directory_page(const struct directory *d, const char *source, const char *id);
/* Page whose token equals token (constant-time per candidate), or NULL. */
struct page *directory_page_by_token(const struct directory *d, const char *source,
                                     const char *token);
const char *org_type_name(int type);
/* A code as organisations, taxonomy values and states are written: a-z,
 * 0-9, '_' and '-', not empty. */
bool code_valid(const char *s);
/* The administration (an org of type municipality) governing the
 * municipality with this code, or NULL. */
struct org *directory_municipal_admin(const struct directory *d, const char *municipality);

#endif
