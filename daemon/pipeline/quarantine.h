/* Quarantine: events that were authenticated and acknowledged but cannot be
 * processed (text that is not UTF-8, NUL characters, lone surrogates, a body
 * that no longer parses).  They are kept, with the reason, as JSON lines in
 * SPOOL_DIR/quarantine.jsonl for an operator to inspect; the platform got its
 * success answer, so it does not retry forever. */
#ifndef APPEALSD_QUARANTINE_H
#define APPEALSD_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

struct apd_config;

void quarantine_write(const struct apd_config *c, uint64_t rec_id, const char *source,
                      const char *reason, const char *body, size_t len);

#endif
