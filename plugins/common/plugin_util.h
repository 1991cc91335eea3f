/* Helpers shared by the in-tree source plugins.  Linked statically into each
 * plugin (a plugin never links against the daemon); everything here is
 * plain C over the util JSON DOM, with no global state.
 *
 * Threading: a plugin runs on the daemon's loop thread only, so none of this
 * locks. */
#ifndef APPEALSD_PLUGIN_UTIL_H
#define APPEALSD_PLUGIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appealsd/plugin.h"
#include "json.h"

/* init() checks the header-authenticated sources share.  Each returns 0, or
 * -1 with a reason for the operator in err.
 * pu_need_secret: a secret must be set unless require_key is off.
 * pu_need_page: a page id named in the config must exist for this source. */
int pu_need_secret(const char *value, bool required, const char *key, const char *require_key,
                   const char *what, char *err, size_t errlen);
int pu_need_page(const struct apd_host_api *api, void *handle, const char *key,
                 const char *id, char *err, size_t errlen);

/* Nesting cap for webhook bodies: Telegram nests reply_to_message one level,
 * VK nests fwd_messages/copy_history a few; 32 leaves room and stops abuse. */
#define PU_MAX_DEPTH 32

/* Sets reply to an HTTP refusal; reason is static text.  Returns APD_REJECT. */
enum apd_verdict pu_reject(struct apd_reply *reply, int status, const char *reason);

/* Parses a request body; on failure fills reply (400, with the parser's
 * reason in a static buffer that stays valid until the next call) and
 * returns NULL. */
struct json_doc *pu_parse(const struct apd_request *req, struct apd_reply *reply);

/* The quarantine reason for a parsed body whose strings are not clean text
 * (invalid UTF-8, NUL, lone surrogate), or NULL. */
const char *pu_quarantine_reason(unsigned json_flags);

/* Zeroes ev and sets struct_size, type and platform_type. */
void pu_event(struct apd_event *ev, enum apd_event_type type, const char *platform_type);

/* True when s may be part of an appeal id, dedup key or Kafka key: 1..max
 * bytes of printable ASCII other than space, '|', '{', '}', '"' and '\'. */
bool pu_token_ok(const char *s, size_t max);

/* A JSON string's bytes and length; "" and 0 when v is not a string. */
const char *pu_str(const struct json *v, size_t *len);

/* Integer member of an object, or dflt. */
int64_t pu_i64(const struct json *o, const char *key, int64_t dflt);
/* A platform's time in seconds as milliseconds; 0 (unknown: the host uses
 * the receipt time) for one before 1970 or after 9999, which no platform
 * sends and which would overflow. */
int64_t pu_ms_of_seconds(int64_t s);
/* The first of keys (NULL-terminated) present as an integer. */
bool pu_i64_any(const struct json *o, const char *const *keys, int64_t *out);

/* Case-insensitive header lookup through the request; NULL when absent or
 * when the request carries no headers (replay, `appealsd parse`). */
const char *pu_header(const struct apd_request *req, const char *name);

/* True when the text address addr lies in one of the CIDR blocks ("a.b.c.d/n",
 * "x:y::/n"; a bare address means a single host).  Sets *bad to the first
 * entry that does not parse, if any. */
bool pu_addr_allowed(const char *addr, char *const *cidrs, size_t n, const char **bad);
/* Validates one CIDR entry. */
bool pu_cidr_valid(const char *cidr);

/* A bounded cache from a pair of 64-bit keys to a pair of 64-bit values.
 * When full, the oldest insertion is evicted, so memory never grows with
 * traffic.  Used for state that spans requests: Telegram's discussion-copy →
 * channel-post map, VK's unanswered messages per dialog. */
struct pu_map;
struct pu_map *pu_map_new(size_t capacity);
void pu_map_free(struct pu_map *m);
bool pu_map_get(const struct pu_map *m, int64_t k1, int64_t k2, int64_t v[2]);
void pu_map_put(struct pu_map *m, int64_t k1, int64_t k2, const int64_t v[2]);
size_t pu_map_len(const struct pu_map *m);

/* ---- personal data (ABI 1.6) ---- */
/* The id part of a private conversation whose platform id is a user's: "p"
 * and the host's keyed pseudonym of user_id (apd_host_api.pseudonym), in out.
 * A host older than 1.6 offers no pseudonyms: user_id itself is returned
 * (the ids stay what that host's contract documents). */
const char *pu_private_id(const struct apd_host_api *api, void *handle, const char *user_id,
                          char out[18]);
const char *pu_private_id64(const struct apd_host_api *api, void *handle, int64_t user_id,
                            char out[24]);
/* VK mention markup "[id123|Анна]" (also post and "[id1:bp-2_3|Имя]" board
 * references) replaced by APD_MENTION_PERSON, "[club5|Район]" (public, event)
 * by APD_MENTION_COMMUNITY.  Returns a malloc'd copy with its length in
 * *outlen, or NULL when s holds none (use s as it is). */
char *pu_mask_mentions(const char *s, size_t len, size_t *outlen);

/* ---- polling (ABI 1.5) ---- */
struct sbuf;
/* Writes v back as JSON text (a polled item becomes a webhook-shaped body). */
void pu_json_write(struct sbuf *b, const struct json *v);
/* Appends s percent-encoded for a URL query (RFC 3986 unreserved kept). */
void pu_url_escape(struct sbuf *b, const char *s);
/* Cursors are "key=value;key=value" text: the value of key ("" when absent)
 * in out, truncated to n - 1 bytes; and the same read as an integer (0). */
const char *pu_cursor_get(const char *cursor, const char *key, char *out, size_t n);
int64_t pu_cursor_int(const char *cursor, const char *key);

#endif
