/**
 * @file plugin.h
 * @brief The appealsd plugin ABI: how the daemon loads source and classifier
 *        plugins.
 *
 * A plugin is a shared object that exports one symbol, `apd_plugin_entry`, a
 * `const struct apd_plugin`.  Define it with APD_PLUGIN_DEFINE().  The host
 * loads it with dlopen(RTLD_NOW|RTLD_LOCAL) and checks, in order:
 *  1. the symbol exists;
 *  2. `abi_major == APD_PLUGIN_ABI_MAJOR` (a different major changes meaning:
 *     the host refuses the plugin and says which ABI each side speaks);
 *  3. `struct_size` covers at least the fields of ABI 1.0 and every
 *     `reserved` slot is NULL;
 *  4. the name is not loaded yet.
 * The host then copies min(struct_size, sizeof(struct apd_plugin)) bytes into
 * a zeroed struct, so fields a newer host appended read as NULL ("not
 * provided") for older plugins.
 *
 * Versioning: a minor version only appends fields and callbacks (before
 * `reserved`, with struct_size telling them apart); older minors keep loading.
 * Anything else is a new major.  The same rules, and the same checks, apply to
 * `struct apd_source_ops` and `struct apd_classifier_ops`: the host copies
 * min(struct_size, sizeof) of them into a zeroed struct and refuses them when
 * a reserved slot is set.
 *
 * History:
 *  - 1.0  the first ABI.
 *  - 1.1  apd_source_ops.takeover: a reloaded source instance may take over
 *         the memory of the instance it replaces (caches such as Telegram's
 *         discussion-copy → channel-post map).  1.0 plugins load unchanged.
 *  - 1.2  classifier plugins: APD_PLUGIN_CLASSIFIER with
 *         apd_plugin.classifier (struct apd_classifier_ops, classify.h, under
 *         the same rules as the source ops); key types APD_KEY_PATH and
 *         APD_KEY_PATH_LIST; apd_host_api.text_analyze / text_free.  1.0 and
 *         1.1 plugins load unchanged.
 *  - 1.3  apd_classifier_ops.features: a classifier with a trained model
 *         reports the feature vector it computes for a text, so the model
 *         can be trained on exactly what the plugin will see
 *         (`appealsd classify --features`).  1.2 plugins load unchanged.
 *  - 1.4  apd_event.deleter_id (who removed an item: the host tells the
 *         author's withdrawal from a moderator's removal) and
 *         apd_event.ignore_reason; apd_page.group_chats.  The host reads the
 *         new event fields only when the event's struct_size covers them, so
 *         1.0-1.3 plugins load unchanged (their deletions withdraw, as before).
 *  - 1.5  pull sources: apd_source_ops.poll (struct apd_poll_ops): a source
 *         may also poll its platform's API; the plugin builds each request
 *         and parses each response into items and a new cursor, the host
 *         schedules, rate-limits, retries, keeps the cursor in Redis and
 *         stores every item like a webhook body (APD_POLL_PATH).
 *         apd_page.poll, poll_interval_ms and api_token.  1.0-1.4 plugins
 *         load unchanged (they do not poll).  A refusal may set
 *         apd_reply.body: the client reads it, the log reads `reason`.
 *  - 1.6  private conversations are pseudonymous: apd_host_api.pseudonym
 *         (the keyed pseudonym of a user id, the value author.pseudonym
 *         takes) so a source builds the ids, threads and Kafka keys of a
 *         private chat from it instead of the user's platform id;
 *         apd_event.legacy_id (the id the item had before, so appeals opened
 *         under clear ids keep receiving their edits and answers) and
 *         apd_event.personal_link (a link that names the user, published
 *         only where personal data is).  The host reads the new event fields
 *         only when struct_size covers them; 1.0-1.5 plugins load unchanged
 *         (their ids stay as they build them).
 *
 * Threading: every callback runs on the daemon's event-loop thread and must
 * not block.
 *
 * A plugin never links against the daemon: everything it may call is in the
 * `struct apd_host_api` table it receives in init().
 */
#ifndef APPEALSD_PLUGIN_H_INCLUDED_
#define APPEALSD_PLUGIN_H_INCLUDED_

#include <stddef.h>
#include <stdint.h>

#include "appealsd/classify.h"
#include "appealsd/event.h"

#ifdef __cplusplus
extern "C" {
#endif

#define APD_PLUGIN_ABI_MAJOR 1
#define APD_PLUGIN_ABI_MINOR 6

/** Log levels for apd_host_api.log (syslog numbering). */
enum apd_log_level {
    APD_LOG_ERROR = 3,
    APD_LOG_WARN = 4,
    APD_LOG_NOTICE = 5,
    APD_LOG_INFO = 6,
    APD_LOG_DEBUG = 7,
};

/** Types a plugin's config keys may have. */
enum apd_key_type {
    APD_KEY_STR = 0,      /**< char *, owned by the host, freed on unload */
    APD_KEY_SECRET = 1,   /**< like STR, never printed */
    APD_KEY_INT = 2,      /**< int64_t */
    APD_KEY_BOOL = 3,     /**< bool */
    APD_KEY_DURATION = 4, /**< int64_t milliseconds */
    APD_KEY_SIZE = 5,     /**< uint64_t bytes */
    APD_KEY_LIST = 8,     /**< struct { char **v; size_t n; } */
    APD_KEY_PATH = 9,     /**< char *; a relative path is resolved against the
                               directory of the file the key is written in (1.2) */
    APD_KEY_PATH_LIST = 10, /**< like LIST, each item resolved like PATH (1.2) */
};

/**
 * @brief One key of the plugin's `[source "NAME"]` or `[classifier "NAME"]`
 *        section.
 *
 * The host parses the section into the plugin's config block (of
 * `config_size` bytes) at `offset`, reports bad values with file and line,
 * and rejects keys nobody declared.
 */
struct apd_config_key {
    const char *name;
    enum apd_key_type type;
    size_t offset;
    const char *def;      /**< default as text, or NULL */
    int64_t min, max;     /**< bounds for INT/DURATION/SIZE when max > min */
    const char *doc;      /**< one line for `appealsd --help-config` */
};

/**
 * @brief A page (community, channel, group, bot) from the directory.
 *
 * Built from `[page "SOURCE:ID"]` sections.  Borrowed: valid until the plugin's
 * next reload() or destroy().
 */
struct apd_page {
    size_t struct_size;
    const char *source;       /**< "vk" */
    const char *id;           /**< "123456" as written after the colon */
    const char *org;          /**< owning organisation code */
    const char *municipality; /**< the page's municipality code, or NULL */
    const char *name;         /**< display name, or NULL */
    const char *secret;       /**< per-page authentication secret, or NULL */
    const char *confirmation; /**< VK Callback API confirmation string, or NULL */
    const char *token;        /**< unguessable path token (OK), or NULL */
    /** ABI 1.4: messages in the page's group chats (VK peer_id >= 2000000000)
     *  are appeals; 0 (the default): they are acknowledged and ignored.
     *  Read it only when struct_size covers it. */
    int group_chats;
    /** ABI 1.5: the host polls this page's API (`poll = yes`); read the
     *  three fields below only when struct_size covers them. */
    int poll;
    int64_t poll_interval_ms; /**< pause between two poll rounds */
    const char *api_token;    /**< platform API token for polling, or NULL */
    void *reserved[8];
};

/** @brief Services the host offers a plugin.  Copied by value is fine. */
struct apd_host_api {
    uint32_t abi_major, abi_minor;
    size_t struct_size;
    /** Logs one line prefixed "[plugin:NAME]"; handle is the one given to init(). */
    void (*log)(void *handle, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /** The page of this plugin's source with this id, or NULL. */
    const struct apd_page *(*page_find)(void *handle, const char *id);
    /** The page whose `token` equals token (constant-time compare), or NULL. */
    const struct apd_page *(*page_by_token)(void *handle, const char *token);
    /**
     * @brief Analyse a text the way the host analyses texts before a
     *        classifier sees them (ABI 1.2; NULL in hosts before 1.2 and for
     *        source plugins).
     *
     * Classifiers use it to bring their lexicons into the same form as the
     * tokens they will be matched against.  Returns a new analysis owned by
     * the plugin (release with text_free), or NULL when out of memory.
     */
    const struct apd_text *(*text_analyze)(void *handle, const char *s, size_t len);
    /** Releases what text_analyze returned (ABI 1.2). */
    void (*text_free)(void *handle, const struct apd_text *t);
    /**
     * @brief ABI 1.6 (NULL before, and for classifier plugins): the keyed
     *        pseudonym of a platform user id of this source.
     *
     * 16 lowercase hex digits and a NUL in out: HMAC-SHA256 under the
     * deployment's `pseudonym_key` of "SOURCE:ID", the very value the host
     * publishes as author.pseudonym for the author id ID.  Deterministic, so
     * every later event of one private conversation maps to the same thread;
     * irreversible without the key.  A source uses it wherever a private
     * conversation's user id would otherwise be part of an appeal id, thread
     * or link.
     */
    void (*pseudonym)(void *handle, const char *user_id, char out[17]);
    void *reserved[8];
};

/** @brief A borrowed view of one webhook request. */
struct apd_request {
    size_t struct_size;
    const char *path;        /**< what follows the source's path: "" or "/TOKEN" */
    const char *body;        /**< NUL-terminated; body_len excludes the NUL */
    size_t body_len;
    /** client address as text: the TCP peer, or behind a proxy in [http]
     *  trusted_proxies the client it names; NULL in replays */
    const char *remote_addr;
    /** Header value by case-insensitive name, or NULL. */
    const char *(*header)(const struct apd_request *req, const char *name);
    void *host_private;
};

/** @brief What the host answers.  The plugin fills it in handle(). */
struct apd_reply {
    int status;              /**< HTTP status; 0 means 200 */
    /** Why a request is refused, for the log and the reply body: static
     *  text, or text the plugin keeps until its next handle() call. */
    const char *reason;
    /** reply body; empty means "ok".  With APD_REJECT, a non-empty body is
     *  what the client is told and `reason` goes to the log only (detail an
     *  operator needs but a prober must not learn). */
    char body[256];
};

/** handle() verdicts. */
enum apd_verdict {
    APD_ACCEPT = 0,   /**< store the body durably, then answer `reply` (default "ok") */
    APD_RESPOND = 1,  /**< answer `reply` now, store nothing (e.g. VK confirmation) */
    APD_REJECT = 2,   /**< answer reply->status (400/403/404) with reply->reason */
};

/** handle() flags. */
#define APD_HANDLE_NOAUTH 0x1u  /**< replay from the spool, or `appealsd parse`: skip
                                     authentication; request headers may be absent */

/** Host callback receiving each normalised event; returns 0 or -errno. */
typedef int (*apd_emit_fn)(void *ctx, const struct apd_event *ev);

struct apd_poll_ops;

/** @brief Callbacks of a source plugin. */
struct apd_source_ops {
    size_t struct_size;
    /**
     * @brief Authenticate, check and normalise one request body.
     *
     * Must not have side effects beyond calling emit (the host decides what
     * is stored) and updating the plugin's own caches; those updates must be
     * idempotent, because the host may call handle() again for the same body
     * (replay from the spool after a restart, or under backlog).  Unless
     * APD_HANDLE_NOAUTH is set, authenticate before looking at anything else
     * and answer APD_REJECT with 403 on failure.  Unknown
     * event types are APD_ACCEPT with one APD_EV_IGNORED event, never errors.
     * Text that is not valid UTF-8 (or holds NUL or lone surrogates) in an
     * authenticated body is APD_ACCEPT with `quarantine` set on the event.
     */
    enum apd_verdict (*handle)(void *state, const struct apd_request *req, unsigned flags,
                               struct apd_reply *reply, apd_emit_fn emit, void *ctx);
    /** The body a successful delivery must be answered with ("ok" for VK). */
    const char *ok_body;
    /**
     * @brief Since 1.1, optional: on reload, hand over state between instances.
     *
     * Called after init() of the new instance and before destroy() of the old
     * one, when both serve the same `[source]` with the same plugin.  The new
     * instance may move what it wants out of old_state (the old instance is
     * destroyed right after and must stay destroyable).  Loop thread; must not
     * fail.  NULL: nothing to carry over.
     */
    void (*takeover)(void *state, void *old_state);
    /** Since 1.5, optional: the source can poll its API (see apd_poll_ops);
     *  NULL: webhooks only. */
    const struct apd_poll_ops *poll;
    void *reserved[6];
};

/**
 * @brief ABI 1.5: the spool path of items a poll found.
 *
 * No HTTP request can carry it (a webhook's path is empty or starts with
 * '/'), so a plugin may accept bodies only a poll produces when it sees this
 * path together with APD_HANDLE_NOAUTH, and refuse them from a webhook.
 */
#define APD_POLL_PATH "!poll"

/** Most bytes of a page's poll cursor (with its NUL). */
#define APD_POLL_CURSOR_MAX 65536

/** @brief One HTTP GET of a poll, filled in by apd_poll_ops.build. */
struct apd_poll_req {
    char url[8192];          /**< absolute URL with its query (may hold the token:
                                  the host never logs it) */
    const char *what;        /**< static name of the call for logs: "wall.getComments" */
};

/** @brief What apd_poll_ops.parse made of one response. */
struct apd_poll_res {
    /** The cursor after this response; the host fills in the old one before
     *  the call and saves the new one in Redis once every item is durable. */
    char cursor[APD_POLL_CURSOR_MAX];
    int more;                /**< 1: call build() again at once (next page or phase) */
    int retry;               /**< 1: transient (rate limit, 5xx): keep the old cursor,
                                  retry after a backoff; items are ignored */
    int64_t retry_after_ms;  /**< the API's own wait, or 0 */
    char error[256];         /**< why the response is unusable, or "" */
    char note[160];          /**< state for operators ("VK disabled the Callback
                                  server"), shown until a later response sets
                                  another; "": leave the shown one */
};

/**
 * @brief Hands one item of a response to the host.
 *
 * body is what the host spools under APD_POLL_PATH and hands to the plugin's
 * handle() with APD_HANDLE_NOAUTH, live and on replay: the same ids and dedup
 * keys as the webhook for the same item, so an item both delivered and
 * polled becomes one appeal.  Copied; returns 0 or -errno.
 */
typedef int (*apd_item_fn)(void *ctx, const char *body, size_t len);

/**
 * @brief ABI 1.5: polling callbacks of a source (apd_source_ops.poll).
 *
 * A round for one page: the host takes the page's Redis lease (one instance
 * polls a page at a time), reads its cursor ("" the first time), then
 * build() → GET → parse() until parse() says more = 0, saving the cursor
 * after each response whose items are durable.  Loop thread; never block.
 */
struct apd_poll_ops {
    size_t struct_size;
    /** The next request for page at cursor; 0, or -1 with a reason in err
     *  (missing token or keys: the host logs it and retries later). */
    int (*build)(void *state, const struct apd_page *page, const char *cursor,
                 struct apd_poll_req *req, char *err, size_t errlen);
    /** Parses one response (status 0 never reaches it: the host retries). */
    void (*parse)(void *state, const struct apd_page *page, const char *cursor, long status,
                  const char *body, size_t len, struct apd_poll_res *res, apd_item_fn item,
                  void *ctx);
    /** Least milliseconds between two requests of this source (its API's rate
     *  limit, shared by all its pages). */
    int64_t min_gap_ms;
    void *reserved[4];
};

/** Size of the ABI 1.0 part of apd_source_ops: the least a plugin may provide. */
#define APD_SOURCE_OPS_SIZE_1_0 (offsetof(struct apd_source_ops, ok_body) + sizeof(const char *))

/** Plugin kinds. */
enum apd_plugin_kind {
    APD_PLUGIN_SOURCE = 1,
    APD_PLUGIN_CLASSIFIER = 2,  /**< ABI 1.2: see classify.h */
};

/** @brief The exported descriptor. */
struct apd_plugin {
    uint32_t abi_major, abi_minor;
    size_t struct_size;
    enum apd_plugin_kind kind;
    const char *name;                     /**< unique: "source_vk" */
    const char *version;
    const char *description;
    const struct apd_config_key *keys;    /**< terminated by a zeroed entry; may be NULL */
    size_t config_size;                   /**< bytes of the config block keys are parsed into */
    /**
     * @brief Create the plugin's state from its parsed config.
     * @param config  host-owned config block; valid until destroy()
     * @returns state (non-NULL), or NULL with a reason in err.
     */
    void *(*init)(const struct apd_host_api *api, void *handle, const void *config,
                  char *err, size_t errlen);
    /** Free everything init() made.  The event loop is still alive. */
    void (*destroy)(void *state);
    const struct apd_source_ops *source;  /**< kind == APD_PLUGIN_SOURCE */
    /** kind == APD_PLUGIN_CLASSIFIER (ABI 1.2; reads NULL for older plugins) */
    const struct apd_classifier_ops *classifier;
    void *reserved[8];                    /**< must be NULL */
};

#define APD_PLUGIN_EXPORT __attribute__((visibility("default")))

/** Defines the exported descriptor with the ABI fields filled in. */
#define APD_PLUGIN_DEFINE(...)                                                   \
    APD_PLUGIN_EXPORT const struct apd_plugin apd_plugin_entry = {              \
        .abi_major = APD_PLUGIN_ABI_MAJOR, .abi_minor = APD_PLUGIN_ABI_MINOR,    \
        .struct_size = sizeof(struct apd_plugin), __VA_ARGS__ }

#ifdef __cplusplus
}
#endif

#endif
