/* The daemon's own copy of a normalised event (struct apd_event from a
 * plugin), with every string owned in one allocation. */
#ifndef APPEALSD_PEVENT_H
#define APPEALSD_PEVENT_H

#include <stddef.h>
#include <stdint.h>

#include "appealsd/event.h"

struct pevent {
    enum apd_event_type type;
    int64_t created_ms;
    size_t text_len;
    char *platform_type, *dedup_key, *appeal_id, *page, *author_id, *author_name, *text, *link,
        *reply_to, *thread, *item_kind, *quarantine;
    char *deleter_id;             /* DELETED: who removed it (ABI 1.4), or NULL */
    char *ignore_reason;          /* IGNORED: why (ABI 1.4), or NULL */
    char *legacy_id;              /* the item's clear-id form before ABI 1.6, or NULL */
    char *personal_link;          /* a link naming the user: personal bodies only (1.6) */
    char data[];
};

/* Copies ev; NULL strings stay NULL.  Free with free(). */
struct pevent *pevent_copy(const struct apd_event *ev);
const char *pevent_type_name(enum apd_event_type t);

/* Events collected from one handle() call. */
struct pevents {
    struct pevent **v;
    size_t n;
};

/* apd_emit_fn that appends to a struct pevents. */
int pevents_collect(void *ctx, const struct apd_event *ev);
void pevents_free(struct pevents *e);

#endif
