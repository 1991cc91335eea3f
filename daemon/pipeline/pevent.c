#include "pevent.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *pevent_type_name(enum apd_event_type t)
{
    switch (t) {
    case APD_EV_CREATED: return "created";
    case APD_EV_EDITED: return "edited";
    case APD_EV_DELETED: return "deleted";
    case APD_EV_RESTORED: return "restored";
    case APD_EV_ANSWER: return "answer";
    case APD_EV_IGNORED: return "ignored";
    }
    return "unknown";
}

/* Fields read from the plugin only when its struct_size says they exist. */
#define HAS(ev, f) ((ev)->struct_size >= offsetof(struct apd_event, f) + sizeof((ev)->f))

#define NSTR 16   /* the event's strings; the text (index 6) has its own length */

struct pevent *pevent_copy(const struct apd_event *ev)
{
    const char *src[NSTR] = {
        ev->platform_type, ev->dedup_key, ev->appeal_id, ev->page, ev->author_id,
        ev->author_name, NULL, ev->link, ev->reply_to, ev->thread,
        HAS(ev, item_kind) ? ev->item_kind : NULL, HAS(ev, quarantine) ? ev->quarantine : NULL,
        HAS(ev, deleter_id) ? ev->deleter_id : NULL,
        HAS(ev, ignore_reason) ? ev->ignore_reason : NULL,
        HAS(ev, legacy_id) ? ev->legacy_id : NULL,
        HAS(ev, personal_link) ? ev->personal_link : NULL,
    };
    size_t lens[NSTR], total = 0;
    size_t tl = ev->text ? ev->text_len : 0;
    for (int i = 0; i < NSTR; i++) {
        lens[i] = i == 6 ? tl : (src[i] ? strlen(src[i]) : 0);
        total += lens[i] + 1;
    }
    struct pevent *p = malloc(sizeof(*p) + total);
    if (p == NULL)
        return NULL;
    p->type = ev->type;
    p->created_ms = ev->created_ms;
    p->text_len = tl;
    char **dst[NSTR] = {&p->platform_type, &p->dedup_key, &p->appeal_id, &p->page,
                        &p->author_id, &p->author_name, &p->text, &p->link, &p->reply_to,
                        &p->thread, &p->item_kind, &p->quarantine, &p->deleter_id,
                        &p->ignore_reason, &p->legacy_id, &p->personal_link};
    char *o = p->data;
    for (int i = 0; i < NSTR; i++) {
        const char *s = i == 6 ? ev->text : src[i];
        if (s == NULL && i != 6) {
            *dst[i] = NULL;
            continue;
        }
        *dst[i] = o;
        if (lens[i])
            memcpy(o, s, lens[i]);
        o[lens[i]] = '\0';
        o += lens[i] + 1;
    }
    return p;
}

int pevents_collect(void *ctx, const struct apd_event *ev)
{
    struct pevents *e = ctx;
    if (ev == NULL || ev->struct_size < offsetof(struct apd_event, item_kind))
        return -EINVAL;
    struct pevent *p = pevent_copy(ev);
    if (p == NULL)
        return -ENOMEM;
    struct pevent **v = realloc(e->v, (e->n + 1) * sizeof(*v));
    if (v == NULL) {
        free(p);
        return -ENOMEM;
    }
    e->v = v;
    e->v[e->n++] = p;
    return 0;
}

void pevents_free(struct pevents *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = 0;
}
