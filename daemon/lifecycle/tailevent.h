/* The operator tail's view of a lifecycle message: the compact event of
 * docs/control-protocol.md, not the Kafka payload.
 *
 * The tail shows one line per event (time, event, appeal, organisation,
 * category, an excerpt); agencies' payloads are built for machines and nest
 * what an operator reads (org.code, status.comment).  This picks those
 * fields out of the payload once per event, only while someone tails. */
#ifndef APPEALSD_TAILEVENT_H
#define APPEALSD_TAILEVENT_H

#include "sbuf.h"

struct tail_event;

/* Appends to out the event object for te: control_event_fields() plus
 * number, seq, timer and level (SLA), source, link and "text": the appeal's
 * text when the payload carries it, else the status comment or the reason
 * of the change (cut as control_event_text() does).  body is the Kafka
 * payload (JSON); an unparsable one gives the common fields only. */
void tail_event_from_message(const struct tail_event *te, const char *body, const char *tz,
                             struct sbuf *out);

#endif
