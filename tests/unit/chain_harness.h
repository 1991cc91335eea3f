/* The classifier chain of the build tree for the unit tests that drive it
 * (test_classify.c, test_gazetteer.c): a configuration written to a
 * temporary directory, loaded with the built plugins (APD_BUILD_DIR) and
 * the shipped lexicons (APD_SOURCE_ROOT), and one text classified at a time
 * into a result the harness owns. */
#ifndef APPEALSD_CHAIN_HARNESS_H
#define APPEALSD_CHAIN_HARNESS_H

#include "chain.h"
#include "config.h"
#include "diag.h"

extern const char *ch_build_dir, *ch_source_dir;
extern struct apd_config *ch_cfg;       /* the configuration the tests classify with */
extern struct classify_result ch_res;   /* the last decision */

/* Writes text to NAME in the temporary directory; returns its path
 * (static storage: the next call overwrites it). */
const char *ch_write_file(const char *name, const char *text);

/* Loads the configuration `text` (written as t.conf; callers put the
 * plugin and lexicon paths in with ch_build_dir and ch_source_dir), with one
 * override `set` ("classifier.spam.order=1") or NULL. */
struct apd_config *ch_load(const char *text, const char *set, struct diag *d);

/* The chain of ch_cfg on text, as from VK page `page` (NULL: none). */
const struct classify_result *ch_classify(const char *text, const char *page);

/* Reads the environment, makes the temporary directory /tmp/apd-test-NAME-*
 * and sets ch_cfg to what load() gives (a caller's function around
 * ch_load).  Returns 0, or the exit status for main: 77 (skipped: not run
 * by meson) or 1 (the configuration does not load; a TAP bail-out). */
int ch_setup(const char *name, struct apd_config *(*load)(struct diag *d));

/* Frees what ch_setup made and removes the temporary directory. */
void ch_teardown(void);

#endif
