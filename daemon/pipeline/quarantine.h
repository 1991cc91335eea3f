/* Quarantine: events that were authenticated and acknowledged but cannot be
 * processed (text that is not UTF-8, NUL characters, lone surrogates, a body
 * that no longer parses).  They are kept, with the reason, as JSON lines in
 * SPOOL_DIR/quarantine.jsonl for an operator to inspect; the platform got its
 * success answer, so it does not retry forever.
 *
 * The file shares the spool's disk quota ([spool] max_size): its bytes and
 * those of its rotated copies (quarantine.jsonl.1 .. .N, [spool]
 * quarantine_files) count against it.  It is rotated once it would pass
 * [spool] quarantine_max_size.  Lines are written and fdatasync'd by a
 * helper thread of its own, like the spool's appends, so neither the write
 * nor the sync runs on the event loop, and a slow disk under the quarantine
 * never holds up the spool's group commit. */
#ifndef APPEALSD_QUARANTINE_H
#define APPEALSD_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

struct apd_config;
struct quarantine;
struct spool;

/* Measures what an earlier run left and starts the thread; NULL only when
 * the thread cannot start (then quarantine_write writes on the loop). */
struct quarantine *quarantine_open(const char *dir, struct spool *sp);
/* Writes what is queued, then stops the thread. */
void quarantine_close(struct quarantine *q);

/* Queues one line (the limits are c's, so a reload changes them). */
void quarantine_write(struct quarantine *q, const struct apd_config *c, uint64_t rec_id,
                      const char *source, const char *reason, const char *body, size_t len);

#endif
