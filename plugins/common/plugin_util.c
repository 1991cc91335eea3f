#include "plugin_util.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "sbuf.h"

const char *pu_private_id(const struct apd_host_api *api, void *handle, const char *user_id,
                          char out[18])
{
    if (api->struct_size < offsetof(struct apd_host_api, pseudonym) + sizeof(api->pseudonym) ||
        api->pseudonym == NULL)
        return user_id;
    out[0] = 'p';
    api->pseudonym(handle, user_id, out + 1);
    return out;
}

const char *pu_private_id64(const struct apd_host_api *api, void *handle, int64_t user_id,
                            char out[24])
{
    char id[24];
    snprintf(id, sizeof(id), "%" PRId64, user_id);
    const char *p = pu_private_id(api, handle, id, out);
    if (p == id)
        snprintf(out, 24, "%s", id);
    return out;
}

/* Length of the mention markup at s ("[id123|Имя]"), or 0; *community
 * tells a community's from a person's. */
static size_t mention_len(const char *s, const char *end, bool *community)
{
    static const char *const kinds[] = {"id", "club", "public", "event", "post", NULL};
    const char *p = s + 1;
    size_t k = 0;
    for (; kinds[k]; k++)
        if ((size_t)(end - p) > strlen(kinds[k]) && strncmp(p, kinds[k], strlen(kinds[k])) == 0)
            break;
    if (kinds[k] == NULL)
        return 0;
    *community = k >= 1 && k <= 3;
    p += strlen(kinds[k]);
    if (p >= end || *p < '0' || *p > '9')
        return 0;
    while (p < end && *p != '|' && *p != ']' && *p != '\n' && p - s < 64)
        p++;
    if (p >= end || *p != '|')
        return 0;
    while (p < end && *p != ']' && *p != '\n' && *p != '[' && p - s < 512)
        p++;
    return p < end && *p == ']' ? (size_t)(p - s + 1) : 0;
}

char *pu_mask_mentions(const char *s, size_t len, size_t *outlen)
{
    struct sbuf b = SBUF_INIT;
    const char *end = s + len, *done = s;
    for (const char *p = s; p < end; p++) {
        bool community = false;
        size_t n = *p == '[' ? mention_len(p, end, &community) : 0;
        if (n == 0)
            continue;
        sbuf_add(&b, done, (size_t)(p - done));
        sbuf_adds(&b, community ? APD_MENTION_COMMUNITY : APD_MENTION_PERSON);
        p += n - 1;
        done = p + 1;
    }
    if (done == s)
        return NULL;
    sbuf_add(&b, done, (size_t)(end - done));
    *outlen = b.len;
    return sbuf_steal(&b);
}

enum apd_verdict pu_reject(struct apd_reply *reply, int status, const char *reason)
{
    reply->status = status;
    reply->reason = reason;
    return APD_REJECT;
}

struct json_doc *pu_parse(const struct apd_request *req, struct apd_reply *reply)
{
    /* The host reads reply->reason after handle() returns: it must outlive
     * this frame (plugins run on the loop thread only, one call at a time). */
    static char reason[200];
    char why[160];
    struct json_doc *doc = json_parse(req->body, req->body_len, PU_MAX_DEPTH, why, sizeof(why));
    if (doc == NULL) {
        snprintf(reason, sizeof(reason), "body is not JSON (%s)", why);
        pu_reject(reply, 400, reason);
    }
    return doc;
}

int pu_need_secret(const char *value, bool required, const char *key, const char *require_key,
                   const char *what, char *err, size_t errlen)
{
    if (value || !required)
        return 0;
    snprintf(err, errlen, "%s is not set: give it %s (or set %s = no to accept unauthenticated "
             "requests)", key, what, require_key);
    return -1;
}

int pu_need_page(const struct apd_host_api *api, void *handle, const char *key,
                 const char *id, char *err, size_t errlen)
{
    if (id == NULL || api->page_find(handle, id) != NULL)
        return 0;
    snprintf(err, errlen, "%s: no [page] with id '%s' for this source", key, id);
    return -1;
}

const char *pu_quarantine_reason(unsigned flags)
{
    if (flags & JSON_F_BAD_UTF8)
        return "text is not valid UTF-8";
    if (flags & JSON_F_LONE_SURROGATE)
        return "text holds an unpaired UTF-16 surrogate escape";
    if (flags & JSON_F_NUL)
        return "text holds a NUL character";
    return NULL;
}

void pu_event(struct apd_event *ev, enum apd_event_type type, const char *platform_type)
{
    memset(ev, 0, sizeof(*ev));
    ev->struct_size = sizeof(*ev);
    ev->type = type;
    ev->platform_type = platform_type;
}

bool pu_token_ok(const char *s, size_t max)
{
    if (s == NULL || *s == '\0')
        return false;
    size_t n = 0;
    for (; *s; s++, n++) {
        unsigned char c = (unsigned char)*s;
        if (n >= max || c <= ' ' || c >= 0x7f || c == '|' || c == '{' || c == '}' || c == '"' ||
            c == '\\')
            return false;
    }
    return true;
}

const char *pu_str(const struct json *v, size_t *len)
{
    if (v == NULL || v->type != JSON_STRING) {
        *len = 0;
        return "";
    }
    *len = v->len;
    return v->u.s;
}

int64_t pu_ms_of_seconds(int64_t s)
{
    return s >= 0 && s <= 253402300799 ? s * 1000 : 0;
}

int64_t pu_i64(const struct json *o, const char *key, int64_t dflt)
{
    int64_t v;
    return json_int64(json_get(o, key), &v) ? v : dflt;
}

bool pu_i64_any(const struct json *o, const char *const *keys, int64_t *out)
{
    for (; *keys; keys++)
        if (json_int64(json_get(o, *keys), out))
            return true;
    return false;
}

const char *pu_header(const struct apd_request *req, const char *name)
{
    return req->header ? req->header(req, name) : NULL;
}

/* ---- CIDR allow-lists ---- */

struct net {
    int family;
    unsigned char addr[16];
    int bits;
};

static bool parse_addr(const char *s, struct net *n)
{
    if (inet_pton(AF_INET, s, n->addr) == 1) {
        n->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, n->addr) != 1)
        return false;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(n->addr, mapped, 12) == 0) {
        /* an IPv4 peer on a dual-stack socket */
        memmove(n->addr, n->addr + 12, 4);
        n->family = AF_INET;
    } else {
        n->family = AF_INET6;
    }
    return true;
}

static bool parse_cidr(const char *s, struct net *n)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (!parse_addr(buf, n))
        return false;
    int max = n->family == AF_INET ? 32 : 128;
    n->bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || b < 0 || b > max)
            return false;
        n->bits = (int)b;
    }
    return true;
}

bool pu_cidr_valid(const char *cidr)
{
    struct net n;
    return parse_cidr(cidr, &n);
}

static bool net_contains(const struct net *net, const struct net *a)
{
    if (net->family != a->family)
        return false;
    int full = net->bits / 8, rest = net->bits % 8;
    if (memcmp(net->addr, a->addr, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (net->addr[full] & mask) == (a->addr[full] & mask);
}

bool pu_addr_allowed(const char *addr, char *const *cidrs, size_t n, const char **bad)
{
    struct net a;
    if (bad)
        *bad = NULL;
    if (addr == NULL || !parse_addr(addr, &a))
        return false;
    for (size_t i = 0; i < n; i++) {
        struct net net;
        if (!parse_cidr(cidrs[i], &net)) {
            if (bad && *bad == NULL)
                *bad = cidrs[i];
            continue;
        }
        if (net_contains(&net, &a))
            return true;
    }
    return false;
}

/* ---- bounded map ---- */

struct slot {
    int64_t k1, k2, v[2];
    bool used;
};

struct pu_map {
    struct slot *slots;
    size_t mask;            /* slots - 1 (power of two, twice the capacity) */
    size_t cap, len;
    int64_t (*order)[2];    /* insertion ring, for eviction */
    size_t head;
    uint64_t seed;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static size_t slot_of(const struct pu_map *m, int64_t k1, int64_t k2)
{
    return (size_t)(mix(m->seed ^ mix((uint64_t)k1) ^ ((uint64_t)k2 * 0x9e3779b97f4a7c15ULL)) &
                    m->mask);
}

struct pu_map *pu_map_new(size_t capacity)
{
    struct pu_map *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    size_t n = 16;
    while (n < capacity * 2)
        n *= 2;
    m->slots = calloc(n, sizeof(*m->slots));
    m->order = calloc(capacity ? capacity : 1, sizeof(*m->order));
    if (m->slots == NULL || m->order == NULL) {
        pu_map_free(m);
        return NULL;
    }
    m->mask = n - 1;
    m->cap = capacity ? capacity : 1;
    if (getrandom(&m->seed, sizeof(m->seed), 0) != sizeof(m->seed))
        m->seed = (uint64_t)(uintptr_t)m;
    return m;
}

void pu_map_free(struct pu_map *m)
{
    if (m == NULL)
        return;
    free(m->slots);
    free(m->order);
    free(m);
}

static struct slot *find(const struct pu_map *m, int64_t k1, int64_t k2)
{
    for (size_t i = slot_of(m, k1, k2);; i = (i + 1) & m->mask) {
        struct slot *s = &m->slots[i];
        if (!s->used)
            return NULL;
        if (s->k1 == k1 && s->k2 == k2)
            return s;
    }
}

/* Linear probing deletion by backward shift: no tombstones to accumulate. */
static void remove_slot(struct pu_map *m, struct slot *s)
{
    size_t i = (size_t)(s - m->slots);
    m->slots[i].used = false;
    for (size_t j = (i + 1) & m->mask; m->slots[j].used; j = (j + 1) & m->mask) {
        size_t home = slot_of(m, m->slots[j].k1, m->slots[j].k2);
        /* move j into the hole at i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        m->slots[i] = m->slots[j];
        m->slots[j].used = false;
        i = j;
    }
    m->len--;
}

bool pu_map_get(const struct pu_map *m, int64_t k1, int64_t k2, int64_t v[2])
{
    struct slot *s = find(m, k1, k2);
    if (s == NULL)
        return false;
    v[0] = s->v[0];
    v[1] = s->v[1];
    return true;
}

void pu_map_put(struct pu_map *m, int64_t k1, int64_t k2, const int64_t v[2])
{
    struct slot *s = find(m, k1, k2);
    if (s) {
        s->v[0] = v[0];
        s->v[1] = v[1];
        return;
    }
    if (m->len == m->cap) {
        int64_t *old = m->order[m->head];
        struct slot *o = find(m, old[0], old[1]);
        if (o)
            remove_slot(m, o);
    }
    size_t i = slot_of(m, k1, k2);
    while (m->slots[i].used)
        i = (i + 1) & m->mask;
    m->slots[i] = (struct slot){.k1 = k1, .k2 = k2, .v = {v[0], v[1]}, .used = true};
    m->len++;
    m->order[m->head][0] = k1;
    m->order[m->head][1] = k2;
    m->head = (m->head + 1) % m->cap;
}

size_t pu_map_len(const struct pu_map *m) { return m->len; }

/* ---- polling (ABI 1.5) ---- */

void pu_json_write(struct sbuf *b, const struct json *v)
{
    switch (v ? v->type : JSON_NULL) {
    case JSON_STRING:
        sbuf_json_str(b, v->u.s, v->len);
        return;
    case JSON_NUMBER:
        sbuf_add(b, v->u.s, v->len);
        return;
    case JSON_TRUE:
        sbuf_adds(b, "true");
        return;
    case JSON_FALSE:
        sbuf_adds(b, "false");
        return;
    case JSON_ARRAY:
        sbuf_addc(b, '[');
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                sbuf_addc(b, ',');
            pu_json_write(b, &v->u.a[i]);
        }
        sbuf_addc(b, ']');
        return;
    case JSON_OBJECT:
        sbuf_addc(b, '{');
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                sbuf_addc(b, ',');
            sbuf_json_str(b, v->u.o[i].key, v->u.o[i].klen);
            sbuf_addc(b, ':');
            pu_json_write(b, &v->u.o[i].val);
        }
        sbuf_addc(b, '}');
        return;
    default:
        sbuf_adds(b, "null");
        return;
    }
}

void pu_url_escape(struct sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            sbuf_addc(b, (char)*p);
        } else {
            sbuf_addc(b, '%');
            sbuf_addc(b, hex[*p >> 4]);
            sbuf_addc(b, hex[*p & 15]);
        }
    }
}

const char *pu_cursor_get(const char *cursor, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    out[0] = '\0';
    for (const char *p = cursor; p && *p;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = len - kl - 1 < n - 1 ? len - kl - 1 : n - 1;
            memcpy(out, p + kl + 1, vl);
            out[vl] = '\0';
            return out;
        }
        p = end ? end + 1 : p + len;
    }
    return out;
}

int64_t pu_cursor_int(const char *cursor, const char *key)
{
    char v[32];
    pu_cursor_get(cursor, key, v, sizeof(v));
    return strtoll(v, NULL, 10);
}
