/* The operators' control socket: line-delimited JSON over a Unix socket.
 *
 * One request per line, one reply per request, in order:
 *   → {"cmd": "status", "args": {...}}
 *   ← {"ok": true, "result": {...}}  or  {"ok": false, "error": "...", "code": "..."}
 * The peer's credentials (SO_PEERCRED) decide whether it may run commands
 * that change state: root, the daemon's own user, and members of
 * control.admin_group may; everyone else who can open the socket is
 * read-only.  docs/control-protocol.md describes every command.
 *
 * `tail` turns a connection into a stream of events (control_publish).  No
 * client can hold the daemon up or make it grow: at most control.max_output
 * bytes wait for each client; a request/reply client beyond it is not read
 * until it catches up, and a tail subscriber loses events, which it is told
 * about with {"dropped": N} once its backlog has halved.
 *
 * Everything here runs on the loop thread. */
#ifndef APPEALSD_CONTROL_H
#define APPEALSD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct app;
struct control;
struct ctl_client;
struct json;
struct jw;

struct control *control_start(struct app *app, char *err, size_t errlen);
void control_free(struct control *ctl);

/* One event for the operators' live view (`appealsctl tail`).  The strings
 * are borrowed for the call; json is the complete event object, and the
 * other fields are what tail filters match on (NULL: not applicable). */
struct tail_event {
    const char *type;          /* "appeal", "sla", "status" */
    const char *event;         /* created, answered, warning, breach, escalation, ... */
    const char *appeal_id;
    const char *org;
    const char *category;
    const char *municipality;
    const char *priority;
    const char *state;
    int64_t due_ms;            /* next deadline, 0 when none */
    const char *json;
};

/* Hands the event to every tail subscriber whose filters match; never
 * blocks: a subscriber that cannot keep up loses events and is told how
 * many.  Safe to call with ctl == NULL (tools without a control socket).
 * When ev->json is NULL the event object is built from the fields above
 * (plus "at", the current time). */
void control_publish(struct control *ctl, const struct tail_event *ev);
/* Whether anyone tails at all: publishers may skip building ev->json. */
bool control_has_subscribers(const struct control *ctl);

/* For publishers building ev->json: writes the members common to every
 * event (type, event, appeal_id, org, ..., "due" and "at" in zone tz) into
 * an open object, and a text excerpt (at most CONTROL_TEXT_MAX bytes, cut at
 * a character boundary) as "text". */
#define CONTROL_TEXT_MAX 280
void control_event_fields(struct jw *w, const struct tail_event *ev, const char *tz);
void control_event_text(struct jw *w, const char *text, size_t len);

/* Writes the socket's counters as members of an open object (for status):
 * clients, tail subscribers, events sent and dropped, buffered bytes. */
void control_write_stats(const struct control *ctl, struct jw *w);

/* A command fills the result object through w (already opened) and returns
 * 0, or returns -1 after ctl_error(); or it returns 1 after ctl_hold() and
 * finishes later with ctl_finish(). */
typedef int (*ctl_fn)(struct ctl_client *c, struct app *app, const struct json *args,
                      struct jw *w);

struct ctl_cmd {
    const char *name;
    bool admin;             /* changes state: refused for read-only peers */
    ctl_fn fn;
    const char *help;
};

/* NULL-terminated command table (commands.c). */
extern const struct ctl_cmd ctl_commands[];

void ctl_error(struct ctl_client *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Asynchronous commands: hold the client, answer later.  The client may have
 * disconnected meanwhile; ctl_finish then just drops the answer. */
struct ctl_client *ctl_hold(struct ctl_client *c);
/* result_json: the encoded result object, or NULL with an error set through
 * ctl_error() beforehand. */
void ctl_finish(struct ctl_client *c, const char *result_json);
bool ctl_is_admin(const struct ctl_client *c);
/* The peer's user id, and "operator:<user name>" (or "operator:uid:N" when
 * the id has no name) for audit entries; borrowed, valid while c is. */
uid_t ctl_peer_uid(const struct ctl_client *c);
const char *ctl_actor(struct ctl_client *c);

/* `tail`: answers {"streaming": true}; from then on the connection carries
 * {"event": {...}} and {"dropped": N} lines and further input is ignored. */
int ctl_cmd_tail(struct ctl_client *c, struct app *app, const struct json *args, struct jw *w);

#endif
