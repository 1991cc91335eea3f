/* The loop of the JSON-lines subcommands (`appealsd classify`,
 * `answer-check`, `incidents`): one JSON object per input line, one result
 * line per input line in the same order, so a caller can zip them; a line
 * that cannot be handled gets an {"id", "line", "error"} line and the run
 * goes on; blank lines are skipped. */
#ifndef APPEALSD_CLI_JSONL_H
#define APPEALSD_CLI_JSONL_H

#include <stddef.h>
#include <stdio.h>

#include "json.h"
#include "sbuf.h"

/* Writes the result line for input line lineno into out, given the line's
 * object, its "id" (or NULL) and its "text" (a string: lines that are not an
 * object with a string "text" get their error line before this is called);
 * 0, or -1 after an error line. */
typedef int (*jsonl_line_fn)(void *arg, const struct json *obj, const struct json *id,
                             const struct json *text, size_t lineno, struct sbuf *out);

/* Reads standard input to its end; exit status 1 when some line had an
 * error (cmd names the subcommand in the summary on stderr), else 0. */
int jsonl_run(const char *cmd, jsonl_line_fn fn, void *arg);

struct apd_config;

/* The options every JSON-lines subcommand takes (-c FILE, --set K=V, -h) and
 * the configuration they name, loaded with its diagnostics on stderr; NULL
 * with *rc = 0 after --help, 2 after a usage error or an unusable file. */
struct apd_config *jsonl_config(int argc, char **argv, const char *cmd,
                                void (*usage)(FILE *), int *rc);

/* The input's "id" as given (string or number), else null. */
void jsonl_put_id(struct jw *w, const struct json *id);
void jsonl_put_error(struct sbuf *out, const struct json *id, size_t line, const char *msg);

#endif
