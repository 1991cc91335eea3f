/* A read-only JSON document for bytes that come from the network.
 *
 * Built on yajl's event parser rather than yajl_tree because a webhook receiver
 * needs what yajl_tree does not give: a nesting cap enforced while parsing,
 * numbers kept as their exact source text (MAX and OK send int64 values above
 * 2^53), string lengths (an escaped NUL must not truncate a string), and the
 * ability to accept a body whose strings are not valid UTF-8 so that an
 * authenticated event can be acknowledged and quarantined instead of rejected.
 *
 * All nodes and strings live in one arena owned by the document. */
#ifndef APPEALSD_JSON_H
#define APPEALSD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type {
    JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT,
};

struct json_member;

struct json {
    uint8_t type;           /* enum json_type */
    uint32_t len;           /* string/number text bytes, array items, object members */
    union {
        const char *s;      /* STRING (NUL-terminated copy) and NUMBER (source text) */
        struct json *a;     /* ARRAY items */
        struct json_member *o;
    } u;
};

struct json_member {
    const char *key;
    uint32_t klen;
    struct json val;
};

/* Document-level findings, for the caller to act on after authentication. */
#define JSON_F_BAD_UTF8       0x1u   /* a string holds bytes that are not UTF-8 */
#define JSON_F_NUL            0x2u   /* a string holds an escaped NUL (\u0000) */
#define JSON_F_LONE_SURROGATE 0x4u   /* a \uD800-\uDFFF escape without its pair */

struct json_doc {
    struct json root;
    unsigned flags;
    void *arena;
};

#define JSON_DEFAULT_MAX_DEPTH 64

/**
 * @brief Parse len bytes (need not be NUL-terminated) into a document.
 * @param max_depth  nesting cap; 0 means JSON_DEFAULT_MAX_DEPTH.
 * @returns a new document (free with json_free), or NULL with a one-line
 *          reason in err: not JSON, truncated, or nested deeper than the cap.
 */
struct json_doc *json_parse(const char *buf, size_t len, unsigned max_depth,
                            char *err, size_t errlen);
void json_free(struct json_doc *d);

/* Lookups return NULL when absent or v is not an object/array. */
const struct json *json_get(const struct json *obj, const char *key);
const struct json *json_at(const struct json *arr, size_t i);
/* Follows dot-separated keys: json_path(root, "object.message.text"). */
const struct json *json_path(const struct json *v, const char *path);

bool json_is_str(const struct json *v);
/* String value or NULL when v is not a string. */
const char *json_str(const struct json *v);
/* Exact integer of a NUMBER (or a STRING holding digits): false on fraction,
 * exponent, overflow or other types. */
bool json_int64(const struct json *v, int64_t *out);
/* Text of a NUMBER or STRING, for ids that must stay exact ("98211023614189660"). */
const char *json_text(const struct json *v);
bool json_truthy(const struct json *v);

#endif
