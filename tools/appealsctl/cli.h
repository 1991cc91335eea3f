/* appealsctl's command table: every command of docs/control-protocol.md
 * with its arguments, how they become the request's JSON, and how the reply
 * is shown.  `appealsctl --help`, the per-command help and the argument
 * parser are all generated from this one table, so they cannot disagree.
 *
 * Nothing here touches the socket: the unit tests drive cli_parse() and the
 * formatters directly. */
#ifndef APPEALSCTL_CLI_H
#define APPEALSCTL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json;

enum opt_kind {
    OPT_STR,        /* --reason TEXT      -> "reason": "TEXT"                 */
    OPT_LIST,       /* --org a,b          -> "org": "a" or ["a", "b"]         */
    OPT_INT,        /* --days 10          -> "days": 10 (within min..max)      */
    OPT_DURATION,   /* --due-within 2h    -> "due_within_s": 7200              */
    OPT_FLAG,       /* --overdue          -> "overdue": true                   */
    OPT_CHOICE,     /* --by org           -> "by": "org" (one of choices)      */
};

struct cli_opt {
    const char *name;           /* long name without the dashes */
    char short_name;            /* 0: none */
    enum opt_kind kind;
    const char *key;            /* request argument; NULL: used by appealsctl itself */
    const char *metavar;
    int64_t min, max;           /* OPT_INT bounds */
    const char *const *choices; /* OPT_CHOICE */
    bool required;
    bool filter;                /* one of the shared FILTERS of list and tail */
    const char *def;            /* sent when the option is not given (OPT_CHOICE) */
    const char *help;
};

struct cli_command;
typedef void (*cli_format_fn)(FILE *f, const struct cli_command *cmd, const struct json *result);

struct cli_command {
    const char *name;
    const char *request;        /* the protocol command it sends */
    const char *const *args;    /* positional arguments, as request keys: "id", "org" */
    const struct cli_opt *const *opts;   /* NULL-terminated */
    bool stream;                /* the reply is followed by a stream of events */
    bool admin;                 /* the daemon refuses it to read-only peers */
    cli_format_fn format;
    const char *summary;
};

/* NULL-terminated, in the order --help lists them. */
extern const struct cli_command cli_commands[];

/* appealsctl's own options, before the command (main's getopt table is built
 * from this, and --help prints it). */
struct cli_global {
    const char *name;
    char short_name;
    const char *metavar;        /* NULL: takes no value */
    const char *help;
};
extern const struct cli_global cli_globals[];

/* What one command line asks for. */
struct cli_request {
    const struct cli_command *cmd;
    char *line;                 /* the request's JSON, one line, no newline */
    bool json;                  /* --json given after the command */
    bool help;                  /* COMMAND --help: print its usage, send nothing */
    int64_t count;              /* tail --count N; 0: unbounded */
    int64_t lines;              /* tail -n N: the last N first; -1: not asked */
    bool follow;                /* tail -f */
    bool raw;                   /* show --raw */
};

/**
 * @brief Parses "COMMAND [ARGS]" (argv[0] is the command name).
 * @returns 0, or -1 with a one-line reason in err (a usage error: exit 2).
 *          On success free req with cli_request_free().
 */
int cli_parse(int argc, char *const *argv, struct cli_request *req, char *err, size_t errlen);
void cli_request_free(struct cli_request *req);
const struct cli_command *cli_find(const char *name);

/* The full --help text, and one command's usage. */
void cli_usage(FILE *f);
void cli_command_usage(FILE *f, const struct cli_command *cmd);

/* Formatters (format.c).  Relative times ("in 2h05m") count from now, or
 * from the instant given to fmt_set_now() (tests; 0 = the clock). */
void fmt_set_now(int64_t ms);
/* show --raw: every stored field as it is, no clocks in words. */
void fmt_set_raw(bool raw);
void fmt_status(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_stats(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_show(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_list(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_change(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_rebuild(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_reload(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_log_level(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_poll(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_help(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_report(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_incident(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_incident_change(FILE *f, const struct cli_command *cmd, const struct json *r);
void fmt_tail_start(FILE *f, const struct cli_command *cmd, const struct json *r);
/* One line of a tail stream: {"event": {...}} or {"dropped": N}.  Returns
 * 1 for an event, 0 for a notice, -1 for a line it does not understand. */
int fmt_stream_line(FILE *f, const struct json *line);

#endif
