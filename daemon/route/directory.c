#include "directory.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "module.h"
#include "sources.h"

static const char *const org_types[] = {"cur", "ministry", "municipality", "service", NULL};

const char *org_type_name(int type)
{
    return type >= 0 && type <= ORG_SERVICE ? org_types[type] : "?";
}

#define ORG(f) offsetof(struct org, f)
static const struct conf_key org_keys[] = {
    {"name", CT_STR, ORG(name), NULL, 0, 0, NULL, CF_REQUIRED, "full name of the body"},
    {"type", CT_ENUM, ORG(type), NULL, 0, 0, org_types, CF_REQUIRED,
     "cur, ministry, municipality or service"},
    {"parent", CT_STR, ORG(parent), NULL, 0, 0, NULL, 0,
     "code of the body above it (escalations go up this chain)"},
    {"topic", CT_STR, ORG(topic), NULL, 0, 0, NULL, 0,
     "Kafka topic it consumes (default kafka.topic_org_prefix + code)"},
    {"municipality", CT_STR, ORG(municipality), NULL, 0, 0, NULL, 0,
     "municipality code a municipal administration governs"},
    {"http_url", CT_STR, ORG(http_url), NULL, 0, 0, NULL, 0,
     "HTTP endpoint for bodies without Kafka"},
    {"http_secret", CT_SECRET, ORG(http_secret), NULL, 0, 0, NULL, 0,
     "HMAC-SHA256 key for the X-Appealsd-Signature header"},
    {"personal_data", CT_BOOL, ORG(personal_data), "no", 0, 0, NULL, 0,
     "receives author ids in clear instead of pseudonyms"},
    {"kafka", CT_BOOL, ORG(kafka), "yes", 0, 0, NULL, 0, "deliver to its Kafka topic"},
    {"calendar", CT_STR, ORG(calendar), NULL, 0, 0, NULL, 0, "working calendar for SLA"},
    {"hours", CT_STR, ORG(hours), NULL, 0, 0, NULL, 0, "working hours for SLA"},
    {"sla_policy", CT_STR, ORG(sla_policy), NULL, 0, 0, NULL, 0, "default SLA policy"},
    {"http_concurrency", CT_INT, ORG(http_concurrency), "4", 1, 256, NULL, 0,
     "HTTP deliveries in flight at once to its endpoint (per instance)"},
    {0},
};

#define PAGE(f) offsetof(struct page, f)
static const struct conf_key page_keys[] = {
    {"org", CT_STR, PAGE(org), NULL, 0, 0, NULL, CF_REQUIRED, "code of the owning organisation"},
    {"municipality", CT_STR, PAGE(municipality), NULL, 0, 0, NULL, 0,
     "municipality the page belongs to (fallback for appeals naming no place)"},
    {"name", CT_STR, PAGE(name), NULL, 0, 0, NULL, 0, "display name"},
    {"secret", CT_SECRET, PAGE(secret), NULL, 0, 0, NULL, 0,
     "authentication secret of the page's webhook (VK secret key, ...)"},
    {"confirmation", CT_STR, PAGE(confirmation), NULL, 0, 0, NULL, 0,
     "VK Callback API confirmation string"},
    {"token", CT_SECRET, PAGE(token), NULL, 0, 0, NULL, 0,
     "unguessable path token of the page's webhook URL (OK)"},
    {"ack", CT_BOOL, PAGE(ack), "yes", 0, 0, NULL, 0,
     "acknowledge appeals on this page when [ack] enabled = yes and ack_token is set"},
    {"ack_token", CT_SECRET, PAGE(ack_token), NULL, 0, 0, NULL, 0,
     "platform API token the acknowledgement is sent with (VK community token, bot token)"},
    {"group_chats", CT_BOOL, PAGE(group_chats), "no", 0, 0, NULL, 0,
     "messages in the page's group chats (VK peer_id >= 2000000000) are appeals; "
     "no: acknowledged and counted as ignored"},
    {"poll", CT_BOOL, PAGE(poll), "no", 0, 0, NULL, 0,
     "poll the page's API for what webhooks miss (OK post comments, VK catch-up, Telegram "
     "getUpdates; docs/sources.md)"},
    {"poll_interval", CT_DURATION, PAGE(poll_interval_ms), "60s", 1000, 86400000LL, NULL, 0,
     "pause between two poll rounds of the page"},
    {"api_token", CT_SECRET, PAGE(api_token), NULL, 0, 0, NULL, 0,
     "platform API token polling uses (VK community token, OK access token, bot token); "
     "unset: ack_token"},
    {0},
};

struct org *directory_org(const struct directory *d, const char *code)
{
    return d && code ? strmap_get(&d->org_by_code, code) : NULL;
}

struct page *directory_page(const struct directory *d, const char *source, const char *id)
{
    return d && source && id ? strmap_get2(&d->page_by_key, source, ':', id) : NULL;
}

struct org *directory_municipal_admin(const struct directory *d, const char *municipality)
{
    return d && municipality ? strmap_get(&d->admin_by_muni, municipality) : NULL;
}

struct page *directory_page_by_token(const struct directory *d, const char *source,
                                     const char *token)
{
    struct page *hit = NULL;
    if (d == NULL || token == NULL)
        return NULL;
    /* Compare against every candidate so timing does not reveal a prefix match. */
    for (size_t i = 0; i < d->npages; i++) {
        struct page *p = &d->pages[i];
        if (p->token && strcmp(p->source, source) == 0 && ct_streq(p->token, token))
            hit = p;
    }
    return hit;
}

static size_t count_sections(struct ini *ini, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < ini->n; i++)
        if (strcmp(ini->s[i]->type, type) == 0)
            n++;
    return n;
}

bool code_valid(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* How the org receives appeals: Kafka, signed HTTP, or both; never neither. */
static void check_delivery(const struct org *o, const char *label, struct diag *d)
{
    if (o->http_url == NULL) {
        if (!o->kafka)
            diag_add(d, o->file, o->line, "%s: kafka = no and no http_url: the organisation "
                     "would receive nothing", label);
        if (o->http_secret)
            diag_add(d, o->file, o->line, "%s http_secret: set, but there is no http_url",
                     label);
        return;
    }
    if (strncmp(o->http_url, "http://", 7) != 0 && strncmp(o->http_url, "https://", 8) != 0)
        /* the URL itself is not echoed: it may carry a token (file:line finds it) */
        diag_add(d, o->file, o->line, "%s http_url: must start with http:// or https://", label);
    if (o->http_secret == NULL || strlen(o->http_secret) < 16)
        diag_add(d, o->file, o->line, "%s http_secret: required with http_url, at least 16 "
                 "characters (deliveries are signed with it)", label);
}

static void build_orgs(struct directory *dir, const struct apd_config *c, struct ini *ini,
                       struct diag *d)
{
    dir->orgs = calloc(count_sections(ini, "org") + 1, sizeof(struct org));
    for (size_t i = 0; i < ini->n; i++) {
        struct ini_section *s = ini->s[i];
        if (strcmp(s->type, "org") != 0)
            continue;
        char label[256];
        snprintf(label, sizeof(label), "[org \"%s\"]", s->name ? s->name : "");
        if (s->name == NULL || !code_valid(s->name)) {
            diag_add(d, s->file, s->line, "%s: organisation codes use a-z, 0-9, '_' and '-'",
                     label);
            s->used = true;
            for (size_t j = 0; j < s->n; j++)
                s->e[j].used = true;
            continue;
        }
        struct org *o = &dir->orgs[dir->norgs++];
        conf_bind(org_keys, s, o, label, d);
        o->code = strdup(s->name);
        o->file = s->file ? strdup(s->file) : NULL;
        o->line = s->line;
        check_delivery(o, label, d);
        if (o->topic == NULL) {
            size_t n = strlen(c->kafka.topic_org_prefix) + strlen(o->code) + 1;
            o->topic = malloc(n);
            snprintf(o->topic, n, "%s%s", c->kafka.topic_org_prefix, o->code);
        }
        size_t n = strlen(c->kafka.topic_status) + strlen(o->code) + 2;
        o->status_topic = malloc(n);
        snprintf(o->status_topic, n, "%s.%s", c->kafka.topic_status, o->code);
        if (asprintf(&o->dlq_topic, "%s.%s", c->kafka.topic_dlq, o->code) < 0)
            abort();
        strmap_put(&dir->org_by_code, o->code, o);
        if (o->type == ORG_CUR && dir->cur == NULL)
            dir->cur = o;
    }
}

static void link_orgs(struct directory *dir, struct diag *d)
{
    for (size_t i = 0; i < dir->norgs; i++) {
        struct org *o = &dir->orgs[i];
        if (o->parent == NULL)
            continue;
        o->up = directory_org(dir, o->parent);
        if (o->up == NULL)
            diag_add(d, o->file, o->line, "[org \"%s\"] parent: no organisation '%s'", o->code,
                     o->parent);
    }
    for (size_t i = 0; i < dir->norgs; i++) {
        size_t steps = 0;
        for (struct org *o = dir->orgs[i].up; o; o = o->up)
            if (++steps > dir->norgs) {
                diag_add(d, dir->orgs[i].file, dir->orgs[i].line,
                         "[org \"%s\"] parent: the chain loops back on itself",
                         dir->orgs[i].code);
                break;
            }
    }
}

/* The administration of each municipality, for `org = @municipality`. */
static void index_municipalities(struct directory *dir, struct diag *d)
{
    for (size_t i = 0; i < dir->norgs; i++) {
        struct org *o = &dir->orgs[i];
        if (o->type != ORG_MUNICIPALITY || o->municipality == NULL)
            continue;
        struct org *prev = strmap_put(&dir->admin_by_muni, o->municipality, o);
        if (prev)
            diag_add(d, o->file, o->line, "[org \"%s\"] municipality: '%s' is already governed "
                     "by [org \"%s\"] (%s:%d)", o->code, o->municipality, prev->code,
                     prev->file ? prev->file : "?", prev->line);
    }
}

/* Topics are where personal data is decided: orgs sharing one must agree,
 * and the daemon's own topics never carry an organisation's copy. */
static void check_topics(struct directory *dir, const struct apd_config *c, struct diag *d)
{
    const char *own[] = {c->kafka.topic_all, c->kafka.topic_triage, c->kafka.topic_sla,
                         c->kafka.topic_status, c->kafka.topic_dlq};
    for (size_t i = 0; i < dir->norgs; i++) {
        struct org *o = &dir->orgs[i];
        if (!o->kafka)
            continue;
        for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++)
            if (own[k] && strcmp(o->topic, own[k]) == 0)
                diag_add(d, o->file, o->line, "[org \"%s\"] topic: '%s' is one of the daemon's "
                         "own topics ([kafka] topic_*)", o->code, o->topic);
        for (size_t k = 0; k < i; k++) {
            struct org *p = &dir->orgs[k];
            if (p->kafka && strcmp(p->topic, o->topic) == 0 &&
                p->personal_data != o->personal_data)
                diag_add(d, o->file, o->line, "[org \"%s\"] personal_data: it shares topic '%s' "
                         "with [org \"%s\"], which says personal_data = %s", o->code, o->topic,
                         p->code, p->personal_data ? "yes" : "no");
        }
    }
}

static const char *platform_of(const struct apd_config *c, const char *source)
{
    for (size_t i = 0; i < c->nsources; i++)
        if (strcmp(c->sources[i].name, source) == 0) {
            const char *p = c->sources[i].plugin_name;
            return strncmp(p, "source_", 7) == 0 ? p + 7 : p;
        }
    return source;
}

static void fill_pub(struct page *p)
{
    p->pub.struct_size = sizeof(p->pub);
    p->pub.source = p->source;
    p->pub.id = p->id;
    p->pub.org = p->org;
    p->pub.municipality = p->municipality;
    p->pub.name = p->name;
    p->pub.secret = p->secret;
    p->pub.confirmation = p->confirmation;
    p->pub.token = p->token;
    p->pub.group_chats = p->group_chats;
    p->pub.poll = p->poll;
    p->pub.poll_interval_ms = p->poll_interval_ms;
    p->pub.api_token = p->api_token ? p->api_token : p->ack_token;
}

static void build_pages(struct directory *dir, const struct apd_config *c, struct ini *ini,
                        struct diag *d)
{
    dir->pages = calloc(count_sections(ini, "page") + 1, sizeof(struct page));
    for (size_t i = 0; i < ini->n; i++) {
        struct ini_section *s = ini->s[i];
        if (strcmp(s->type, "page") != 0)
            continue;
        char label[256];
        snprintf(label, sizeof(label), "[page \"%s\"]", s->name ? s->name : "");
        const char *colon = s->name ? strchr(s->name, ':') : NULL;
        if (colon == NULL || colon == s->name || colon[1] == '\0') {
            diag_add(d, s->file, s->line, "%s: the name must be SOURCE:ID, e.g. \"vk:123456\"",
                     label);
            s->used = true;
            for (size_t j = 0; j < s->n; j++)
                s->e[j].used = true;
            continue;
        }
        struct page *p = &dir->pages[dir->npages++];
        conf_bind(page_keys, s, p, label, d);
        p->source = strndup(s->name, (size_t)(colon - s->name));
        p->id = strdup(colon + 1);
        p->platform = strdup(platform_of(c, p->source));
        p->owner = directory_org(dir, p->org);
        if (p->org && p->owner == NULL)
            diag_add(d, s->file, s->line, "%s org: no organisation '%s'", label, p->org);
        if (p->municipality == NULL && p->owner && p->owner->municipality)
            p->municipality = strdup(p->owner->municipality);
        fill_pub(p);
        strmap_put(&dir->page_by_key, s->name, p);
    }
}

static void directory_build(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                            struct diag *d)
{
    struct directory *dir = calloc(1, sizeof(*dir));
    if (dir == NULL)
        abort();
    build_orgs(dir, c, ini, d);
    link_orgs(dir, d);
    index_municipalities(dir, d);
    check_topics(dir, c, d);
    build_pages(dir, c, ini, d);
    c->dir = dir;
}

static void directory_free(struct apd_config *c)
{
    struct directory *dir = c->dir;
    if (dir == NULL)
        return;
    for (size_t i = 0; i < dir->norgs; i++) {
        conf_unbind(org_keys, &dir->orgs[i]);
        free(dir->orgs[i].status_topic);
        free(dir->orgs[i].code);
        free(dir->orgs[i].file);
        free(dir->orgs[i].dlq_topic);
    }
    for (size_t i = 0; i < dir->npages; i++) {
        conf_unbind(page_keys, &dir->pages[i]);
        free(dir->pages[i].source);
        free(dir->pages[i].id);
        free(dir->pages[i].platform);
    }
    free(dir->orgs);
    free(dir->pages);
    strmap_free(&dir->org_by_code);
    strmap_free(&dir->page_by_key);
    strmap_free(&dir->admin_by_muni);
    free(dir);
    c->dir = NULL;
}

static void directory_reference(void)
{
    conf_print_keys("org \"CODE\"", org_keys);
    printf("\n");
    conf_print_keys("page \"SOURCE:ID\"", page_keys);
    printf("\n");
}

const struct conf_module directory_conf_module = {
    .name = "directory",
    .build = directory_build,
    .free = directory_free,
    .reference = directory_reference,
};
