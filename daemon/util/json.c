#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "utf8.h"

/* Arena: chunks of at least 16 KiB, bump allocation, freed all at once.
 * One standard chunk per thread is kept for the next document: a webhook
 * body fits in it, so parsing does not go to malloc for the arena at all. */
#define CHUNK_SIZE 16384

struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
};

static _Thread_local struct chunk *spare;

static void *arena_alloc(struct chunk **head, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct chunk *c = *head;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
        if (cap == CHUNK_SIZE && spare != NULL) {
            c = spare;
            spare = NULL;
        } else {
            c = malloc(sizeof(*c) + cap);
        }
        if (c == NULL)
            return NULL;
        c->next = *head;
        c->used = 0;
        c->cap = cap;
        *head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

static void arena_free(struct chunk *c)
{
    while (c) {
        struct chunk *n = c->next;
        if (c->cap == CHUNK_SIZE && spare == NULL)
            spare = c;
        else
            free(c);
        c = n;
    }
}

/* While parsing, each open container collects its children in a growable
 * vector; on close they are copied into the arena in one piece. */
struct frame {
    bool is_obj;
    size_t n, cap;
    struct json_member *items;   /* arrays use .val only */
    const char *pending_key;
    uint32_t pending_klen;
};

struct builder {
    struct chunk *arena;
    struct frame *stack;
    size_t depth, stack_cap;
    unsigned max_depth;
    struct json root;
    bool have_root;
    bool too_deep;
    bool oom;
    unsigned flags;
};

static char *arena_strndup(struct builder *b, const unsigned char *s, size_t n)
{
    char *p = arena_alloc(&b->arena, n + 1);
    if (p == NULL) {
        b->oom = true;
        return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int add_value(struct builder *b, struct json v)
{
    if (b->depth == 0) {
        b->root = v;
        b->have_root = true;
        return 1;
    }
    struct frame *f = &b->stack[b->depth - 1];
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct json_member *it = realloc(f->items, cap * sizeof(*it));
        if (it == NULL) {
            b->oom = true;
            return 0;
        }
        f->items = it;
        f->cap = cap;
    }
    struct json_member *m = &f->items[f->n++];
    m->key = f->pending_key;
    m->klen = f->pending_klen;
    m->val = v;
    f->pending_key = NULL;
    return 1;
}

static int cb_null(void *ctx)
{
    struct json v = {.type = JSON_NULL};
    return add_value(ctx, v);
}

static int cb_bool(void *ctx, int val)
{
    struct json v = {.type = val ? JSON_TRUE : JSON_FALSE};
    return add_value(ctx, v);
}

static int cb_number(void *ctx, const char *s, size_t len)
{
    struct builder *b = ctx;
    struct json v = {.type = JSON_NUMBER, .len = (uint32_t)len};
    if ((v.u.s = arena_strndup(b, (const unsigned char *)s, len)) == NULL)
        return 0;
    return add_value(b, v);
}

static void check_string(struct builder *b, const unsigned char *s, size_t len)
{
    if (memchr(s, '\0', len) != NULL)
        b->flags |= JSON_F_NUL;
    if (!utf8_valid((const char *)s, len))
        b->flags |= JSON_F_BAD_UTF8;
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
    struct builder *b = ctx;
    check_string(b, s, len);
    struct json v = {.type = JSON_STRING, .len = (uint32_t)len};
    if ((v.u.s = arena_strndup(b, s, len)) == NULL)
        return 0;
    return add_value(b, v);
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
    struct builder *b = ctx;
    check_string(b, s, len);
    struct frame *f = &b->stack[b->depth - 1];
    if ((f->pending_key = arena_strndup(b, s, len)) == NULL)
        return 0;
    f->pending_klen = (uint32_t)len;
    return 1;
}

static int open_frame(struct builder *b, bool is_obj)
{
    if (b->depth >= b->max_depth) {
        b->too_deep = true;
        return 0;
    }
    if (b->depth == b->stack_cap) {
        size_t cap = b->stack_cap ? b->stack_cap * 2 : 8;
        struct frame *st = realloc(b->stack, cap * sizeof(*st));
        if (st == NULL) {
            b->oom = true;
            return 0;
        }
        b->stack = st;
        b->stack_cap = cap;
    }
    struct frame *f = &b->stack[b->depth++];
    memset(f, 0, sizeof(*f));
    f->is_obj = is_obj;
    return 1;
}

static int close_frame(struct builder *b)
{
    struct frame *f = &b->stack[--b->depth];
    struct json v = {.type = f->is_obj ? JSON_OBJECT : JSON_ARRAY, .len = (uint32_t)f->n};
    if (f->is_obj) {
        v.u.o = arena_alloc(&b->arena, f->n * sizeof(struct json_member) + 1);
        if (v.u.o == NULL)
            goto oom;
        if (f->n)
            memcpy(v.u.o, f->items, f->n * sizeof(struct json_member));
    } else {
        v.u.a = arena_alloc(&b->arena, f->n * sizeof(struct json) + 1);
        if (v.u.a == NULL)
            goto oom;
        for (size_t i = 0; i < f->n; i++)
            v.u.a[i] = f->items[i].val;
    }
    free(f->items);
    f->items = NULL;
    return add_value(b, v);
oom:
    free(f->items);
    f->items = NULL;
    b->oom = true;
    return 0;
}

static int cb_start_map(void *ctx) { return open_frame(ctx, true); }
static int cb_start_array(void *ctx) { return open_frame(ctx, false); }
static int cb_end(void *ctx) { return close_frame(ctx); }

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_u16(const char *p, const char *end)
{
    if (end - p < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* yajl turns a lone high surrogate into '?' and pairs it with any following
 * \u escape, so lone surrogates are only visible in the source text. */
static bool has_lone_surrogate(const char *s, size_t len)
{
    const char *end = s + len;
    const char *p = s;
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
        if (p + 1 >= end)
            break;
        if (p[1] != 'u') {
            p += 2;
            continue;
        }
        int cu = read_u16(p + 2, end);
        if (cu < 0) {
            p += 2;
            continue;
        }
        if (cu >= 0xDC00 && cu <= 0xDFFF)
            return true;
        if (cu >= 0xD800 && cu <= 0xDBFF) {
            if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
                return true;
            int lo = read_u16(p + 8, end);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return true;
            p += 12;
            continue;
        }
        p += 6;
    }
    return false;
}

struct json_doc *json_parse(const char *buf, size_t len, unsigned max_depth, char *err,
                            size_t errlen)
{
    struct builder b = {.max_depth = max_depth ? max_depth : JSON_DEFAULT_MAX_DEPTH};
    yajl_handle h = yajl_alloc(&callbacks, NULL, &b);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* Strings are checked by check_string() so that a bad byte is a finding,
     * not a parse failure. */
    yajl_config(h, yajl_dont_validate_strings, 1);
    yajl_status st = yajl_parse(h, (const unsigned char *)buf, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    struct json_doc *d = NULL;
    if (st != yajl_status_ok || !b.have_root) {
        if (b.too_deep) {
            snprintf(err, errlen, "JSON nested deeper than %u levels", b.max_depth);
        } else if (b.oom) {
            snprintf(err, errlen, "out of memory");
        } else if (st == yajl_status_ok) {
            snprintf(err, errlen, "empty body");
        } else {
            unsigned char *m = yajl_get_error(h, 0, (const unsigned char *)buf, len);
            snprintf(err, errlen, "not valid JSON: %s", m ? (const char *)m : "parse error");
            if (m)
                yajl_free_error(h, m);
            /* yajl messages end with a newline */
            size_t el = strlen(err);
            while (el && (err[el - 1] == '\n' || err[el - 1] == ' '))
                err[--el] = '\0';
        }
        for (size_t i = 0; i < b.depth; i++)
            free(b.stack[i].items);
        arena_free(b.arena);
        goto out;
    }
    d = malloc(sizeof(*d));
    if (d == NULL) {
        arena_free(b.arena);
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    d->root = b.root;
    d->flags = b.flags;
    if (has_lone_surrogate(buf, len))
        d->flags |= JSON_F_LONE_SURROGATE;
    d->arena = b.arena;
out:
    free(b.stack);
    yajl_free(h);
    return d;
}

void json_free(struct json_doc *d)
{
    if (d == NULL)
        return;
    arena_free(d->arena);
    free(d);
}

const struct json *json_get(const struct json *obj, const char *key)
{
    if (obj == NULL || obj->type != JSON_OBJECT)
        return NULL;
    size_t kl = strlen(key);
    /* Last duplicate wins, as in most JSON consumers. */
    for (size_t i = obj->len; i-- > 0;) {
        const struct json_member *m = &obj->u.o[i];
        if (m->klen == kl && memcmp(m->key, key, kl) == 0)
            return &m->val;
    }
    return NULL;
}

const struct json *json_at(const struct json *arr, size_t i)
{
    if (arr == NULL || arr->type != JSON_ARRAY || i >= arr->len)
        return NULL;
    return &arr->u.a[i];
}

const struct json *json_path(const struct json *v, const char *path)
{
    char key[128];
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        v = json_get(v, key);
        path += n + (dot ? 1 : 0);
    }
    return v;
}

bool json_is_str(const struct json *v) { return v && v->type == JSON_STRING; }

const char *json_str(const struct json *v) { return json_is_str(v) ? v->u.s : NULL; }

const char *json_text(const struct json *v)
{
    if (v && (v->type == JSON_STRING || v->type == JSON_NUMBER))
        return v->u.s;
    return NULL;
}

bool json_int64(const struct json *v, int64_t *out)
{
    if (v == NULL || (v->type != JSON_NUMBER && v->type != JSON_STRING) || v->len == 0)
        return false;
    const char *s = v->u.s;
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (errno == ERANGE || *end != '\0')
        return false;
    *out = (int64_t)x;
    return true;
}

bool json_truthy(const struct json *v)
{
    if (v == NULL)
        return false;
    switch (v->type) {
    case JSON_TRUE: return true;
    case JSON_NUMBER: return !(v->len == 1 && v->u.s[0] == '0');
    case JSON_STRING: return v->len > 0;
    default: return false;
    }
}
