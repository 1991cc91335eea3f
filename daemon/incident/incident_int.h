/* Shared by the incident module's files; not for other modules. */
#ifndef APPEALSD_INCIDENT_INT_H
#define APPEALSD_INCIDENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

struct app;
struct mfam;

struct incidents {
    struct app *app;
    unsigned inflight;
    struct mfam *m_joined, *m_size, *m_answered, *m_conflicts;
    struct mfam *m_synced, *m_replies;
};

#define INCIDENT_SCHEMA "appealsd.incident"
#define INCIDENT_MEMBERS_KEPT 8        /* reports compared per incident */

/* The members an incident event carries besides its own. */
struct inc_event {
    const char *event, *appeal_id, *incident, *lead, *category, *municipality, *org;
    const char *priority;
    int64_t size;
};

extern struct redis_script show_script, merge_script, split_script;

struct redisReply;
/* Element i of an array reply when it is a string, else NULL. */
const char *inc_el(const struct redisReply *r, size_t i);
/* The value of field name in an HGETALL-shaped array reply, or NULL. */
const char *inc_hget(const struct redisReply *h, const char *name);

struct sbuf;
/* The body of an incident_joined message (merge and split build theirs in
 * their scripts); contract_dump prints one for the schema test. */
void incident_event_json(struct sbuf *b, const struct inc_event *e, const char *event_id,
                         int64_t now, const char *tz);

/* Publishes an event stored in the outbox and shows it to `appealsctl tail`. */
void incident_announce(struct incidents *in, const struct inc_event *e, const char *event_id,
                       const char *env);

/* The incident's clocks (incident_sla.c): tells the appeals of `incident`
 * (all of them, or only `only` and the lead) which incident they are in and
 * who leads it, through the lifecycle (LC_INCIDENT): the lead's clocks run,
 * the others' are held.  Called after every join, merge and split. */
void incident_sync(struct incidents *in, const char *incident, const char *only);
void incident_sync_metrics(struct incidents *in);

/* With acknowledgements on, queues a reply to the author of rec (answered
 * because its incident was) in their own thread (incident_reply.c). */
struct appeal_rec;
void incident_reply(struct incidents *in, const struct appeal_rec *rec, const char *incident,
                    const char *answer, const char *link);
void incident_reply_metrics(struct incidents *in);

#endif
