#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "sbuf.h"
#include "units.h"

#define MAX_OPTS 16
#define MAX_ARGS 64          /* an ARG... collects the rest */

/* ---- options ---- */

static const char *const by_keys[] = {"org", "category", "municipality", NULL};

static const struct cli_opt o_org = {
    "org", 0, OPT_LIST, "org", "ORG", .filter = true,
    .help = "organisation code; several as ORG,ORG"};
static const struct cli_opt o_category = {
    "category", 0, OPT_LIST, "category", "CODE", .filter = true, .help = "category code(s)"};
static const struct cli_opt o_municipality = {
    "municipality", 0, OPT_LIST, "municipality", "CODE", .filter = true,
    .help = "municipality code(s)"};
static const struct cli_opt o_priority = {
    "priority", 0, OPT_LIST, "priority", "PRIORITY", .filter = true, .help = "priority code(s)"};
static const struct cli_opt o_state = {
    "state", 0, OPT_LIST, "state", "STATE", .filter = true,
    .help = "state(s): open, answered, paused, ..."};
static const struct cli_opt o_overdue = {
    "overdue", 0, OPT_FLAG, "overdue", NULL, .filter = true,
    .help = "only appeals past a deadline"};
static const struct cli_opt o_due_within = {
    "due-within", 0, OPT_DURATION, "due_within_s", "DURATION", .filter = true,
    .help = "only appeals with a deadline before now + DURATION (30m, 2h, 1d), overdue ones "
            "included"};
static const struct cli_opt o_type = {
    "type", 0, OPT_LIST, "types", "TYPE", .help = "event types: appeal, sla, status"};
static const struct cli_opt o_follow = {
    "follow", 'f', OPT_FLAG, NULL, NULL,
    .help = "keep streaming until interrupted (the default, unless --lines or --count)"};
static const struct cli_opt o_lines = {
    "lines", 'n', OPT_INT, "last", "N", 0, 100000,
    .help = "first the last N events the daemon remembers ([control] recent_events); "
            "without -f, stop there"};
static const struct cli_opt o_count = {
    "count", 0, OPT_INT, NULL, "N", 1, INT64_MAX, .help = "exit after N events (scripts)"};
static const struct cli_opt o_limit = {
    "limit", 0, OPT_INT, "limit", "N", 1, 1000, .help = "at most N appeals (default 50)"};
static const struct cli_opt o_by = {
    "by", 0, OPT_CHOICE, "by", "KEY", .choices = by_keys, .def = "org",
    .help = "one row per org (default), category or municipality"};
static const struct cli_opt o_reason = {
    "reason", 0, OPT_STR, "reason", "TEXT", .required = true,
    .help = "why, for the appeal's audit trail"};
static const struct cli_opt o_reason_opt = {
    "reason", 0, OPT_STR, "reason", "TEXT", .help = "why, for the appeal's audit trail"};
static const struct cli_opt o_link = {
    "link", 0, OPT_STR, "link", "URL", .help = "where the answer was given"};
static const struct cli_opt o_text = {
    "text", 0, OPT_STR, "text", "TEXT",
    .help = "the answer's text, for the answer judge (default: the reason)"};
static const struct cli_opt o_days = {
    "days", 0, OPT_INT, "days", "N", 1, 30, .required = true,
    .help = "length of the extension in days, 1..30"};
static const struct cli_opt o_received = {
    "received", 0, OPT_STR, "received", "TIME",
    .help = "when the written appeal came in (default: now), e.g. 2026-12-02T10:00"};
static const struct cli_opt o_registered = {
    "registered", 0, OPT_STR, "registered", "TIME",
    .help = "when it was registered (default: now), or pending (then `register` follows); "
            "the 59-FZ term runs from the next day"};
static const struct cli_opt o_at = {
    "at", 0, OPT_STR, "at", "TIME", .help = "when it was registered (default: now)"};
static const struct cli_opt o_wait = {
    "wait", 0, OPT_FLAG, NULL, NULL,
    .help = "wait for the verdict (the daemon always answers once the new configuration is "
            "active or refused)"};

#define FILTERS &o_org, &o_category, &o_municipality, &o_priority, &o_state, &o_overdue, \
                &o_due_within

static const char *const report_by_keys[] = {"org", "municipality", NULL};
static const struct cli_opt o_from = {
    "from", 0, OPT_STR, "from", "DATE", .required = true,
    .help = "first day of the period, YYYY-MM-DD (the daemon's time zone)"};
static const struct cli_opt o_to = {
    "to", 0, OPT_STR, "to", "DATE", .required = true, .help = "last day of the period, included"};
static const struct cli_opt o_report_by = {
    "by", 0, OPT_CHOICE, "by", "KEY", .choices = report_by_keys, .def = "org",
    .help = "one row per org (default) or municipality"};
static const struct cli_opt o_csv = {
    "csv", 0, OPT_FLAG, NULL, NULL, .help = "comma-separated values with a header line"};
static const struct cli_opt *const report_opts[] = {&o_from, &o_to, &o_report_by, &o_csv, NULL};

static const struct cli_opt *const no_opts[] = {NULL};
static const struct cli_opt *const stats_opts[] = {&o_by, NULL};
static const struct cli_opt *const tail_opts[] = {&o_follow, &o_lines, &o_count, &o_type,
                                                  FILTERS, NULL};
static const struct cli_opt *const list_opts[] = {&o_limit, FILTERS, NULL};
static const struct cli_opt *const answer_opts[] = {&o_link, &o_reason_opt, &o_text, NULL};
static const struct cli_opt *const reason_opts[] = {&o_reason, NULL};
static const struct cli_opt *const extend_opts[] = {&o_days, &o_reason, NULL};
static const struct cli_opt *const convert_opts[] = {&o_reason, &o_received, &o_registered,
                                                     NULL};
static const struct cli_opt *const register_opts[] = {&o_at, &o_reason_opt, NULL};
static const struct cli_opt o_raw = {
    "raw", 0, OPT_FLAG, NULL, NULL,
    .help = "every stored field as it is (fr_due in ms, clock states as letters)"};
static const struct cli_opt *const reload_opts[] = {&o_wait, NULL};
static const struct cli_opt *const show_opts[] = {&o_raw, NULL};

static const char *const no_args[] = {NULL};
static const char *const id_arg[] = {"id", NULL};
static const char *const id_org_args[] = {"id", "org", NULL};
static const char *const id_from_args[] = {"id", "from", NULL};
static const char *const id_appeals_args[] = {"id", "appeals...", NULL};

/* "appeals..." takes every argument left, sent as an array under "appeals". */
static bool variadic(const char *arg)
{
    size_t n = strlen(arg);
    return n > 3 && strcmp(arg + n - 3, "...") == 0;
}
static const char *const level_arg[] = {"level", NULL};
static const char *const page_arg[] = {"page", NULL};

/* ---- commands ---- */

const struct cli_command cli_commands[] = {
    {"status", "status", no_args, no_opts, false, false, fmt_status,
     "uptime, Kafka and Redis state, spool, pipeline and control socket counters"},
    {"stats", "stats", no_args, stats_opts, false, false, fmt_stats,
     "open, answered, closed and overdue appeals and SLA compliance, per group"},
    {"tail", "tail", no_args, tail_opts, true, false, fmt_tail_start,
     "live appeal, SLA and status events as they happen"},
    {"show", "show", id_arg, show_opts, false, false, fmt_show,
     "one appeal (by id or the citizen's number): its record, deadlines and audit trail"},
    {"list", "list", no_args, list_opts, false, false, fmt_list,
     "open appeals, newest first; with --overdue or --due-within most urgent first"},
    {"answer", "answer", id_arg, answer_opts, false, true, fmt_change,
     "record a first response given outside the platform"},
    {"close", "close", id_arg, reason_opts, false, true, fmt_change,
     "resolved: close the appeal and stop every clock"},
    {"reopen", "reopen", id_arg, reason_opts, false, true, fmt_change,
     "back to open; clocks resume with the time already spent"},
    {"pause", "pause", id_arg, reason_opts, false, true, fmt_change,
     "waiting for the citizen: clocks pause"},
    {"resume", "resume", id_arg, reason_opts, false, true, fmt_change,
     "clocks run again after a pause"},
    {"extend", "extend", id_arg, extend_opts, false, true, fmt_change,
     "59-FZ extension, with notice to the citizen (once per appeal)"},
    {"convert", "convert", id_arg, convert_opts, false, true, fmt_change,
     "the message becomes a formal appeal under 59-FZ: its term runs from registration"},
    {"register", "register", id_arg, register_opts, false, true, fmt_change,
     "a formal appeal converted with --registered pending is registered: its term starts"},
    {"reroute", "reroute", id_org_args, reason_opts, false, true, fmt_change,
     "hand the appeal to another organisation"},
    {"rebuild", "rebuild", no_args, no_opts, false, true, fmt_rebuild,
     "re-arm open appeals from Kafka after Redis came back empty"},
    {"reload", "reload", no_args, reload_opts, false, true, fmt_reload,
     "reload the configuration; fails, keeping the old one, when it is refused"},
    {"log-level", "log-level", level_arg, no_opts, false, true, fmt_log_level,
     "set the log level (error, warn, notice, info, debug) until a restart; a reload keeps "
     "it unless [daemon] log_level was edited"},
    {"poll", "poll", page_arg, no_opts, false, false, fmt_poll,
     "one polled page (SOURCE:ID): poll state, cursor, counters, last error"},
    {"help", "help", no_args, no_opts, false, false, fmt_help,
     "the daemon's commands, and whether this connection may change state"},
    {"report", "report", no_args, report_opts, false, false, fmt_report,
     "per organisation or municipality over a period: appeals, answered on time, first-response "
     "median and p90, formal answers, reworks, reopened and confirmed, incidents"},
    {"incident show", "incident_show", id_arg, no_opts, false, false, fmt_incident,
     "one incident (by its id or an appeal in it): its appeals, lead appeal and priority"},
    {"incident merge", "incident_merge", id_from_args, no_opts, false, true, fmt_incident_change,
     "every appeal of incident FROM joins incident ID (either named by an appeal in it)"},
    {"incident split", "incident_split", id_appeals_args, no_opts, false, true,
     fmt_incident_change, "the APPEALS leave incident ID for a new incident of their own"},
    {NULL, NULL, NULL, NULL, false, false, NULL, NULL},
};

const struct cli_global cli_globals[] = {
    {"socket", 's', "PATH",
     "control socket (default: $APPEALSCTL_SOCKET, else [control] socket of the "
     "configuration, else /run/appealsd/control.sock)"},
    {"config", 'c', "FILE", "appealsd.conf to read [control] socket from"},
    {"instance", 'i', "NAME", "appealsd@NAME.service: the socket /run/appealsd-NAME/control.sock"},
    {"timeout", 't', "DURATION", "wait this long for a reply (default 60s; tail's events never "
                                 "time out)"},
    {"json", 0, NULL, "print the daemon's JSON as it comes (also accepted after COMMAND)"},
    {"color", 0, "WHEN", "auto (on a terminal unless NO_COLOR is set), always or never"},
    {"help", 'h', NULL, "this text; COMMAND --help shows one command"},
    {"version", 'V', NULL, "print the version"},
    {NULL, 0, NULL, NULL},
};

const struct cli_command *cli_find(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* ---- usage ---- */

static void synopsis(struct sbuf *b, const struct cli_command *cmd)
{
    bool filters = false;
    sbuf_adds(b, cmd->name);
    for (const char *const *a = cmd->args; *a; a++) {
        sbuf_addc(b, ' ');
        for (const char *p = *a; *p; p++)
            sbuf_addc(b, (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p));
    }
    for (const struct cli_opt *const *o = cmd->opts; *o; o++) {
        if ((*o)->filter) {
            if (!filters)
                sbuf_adds(b, " [FILTERS]");
            filters = true;
            continue;
        }
        sbuf_printf(b, " %s", (*o)->required ? "" : "[");
        if ((*o)->short_name)
            sbuf_printf(b, "-%c", (*o)->short_name);
        else
            sbuf_printf(b, "--%s", (*o)->name);
        if ((*o)->metavar)
            sbuf_printf(b, " %s", (*o)->metavar);
        if (!(*o)->required)
            sbuf_addc(b, ']');
    }
}

#define HELP_WIDTH 79

/* "  left    right", the right column word-wrapped to HELP_WIDTH. */
static void two_col(FILE *f, const char *left, const char *right, size_t col)
{
    size_t at = col, pos = 2 + display_width(left);
    fprintf(f, "  %s", left);
    if (pos + 2 > col) {
        fputc('\n', f);
        pos = 0;
    }
    const char *p = right;
    while (*p) {
        size_t n = strcspn(p, " ");
        char word[256];
        snprintf(word, sizeof(word), "%.*s", (int)n, p);
        size_t ww = display_width(word);
        if (pos > at && pos + 1 + ww > HELP_WIDTH) {
            fputc('\n', f);
            pos = 0;
        }
        if (pos < at) {
            fprintf(f, "%*s", (int)(at - pos), "");
            pos = at;
        } else {
            fputc(' ', f);
            pos++;
        }
        fputs(word, f);
        pos += ww;
        p += n;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

static void opt_line(FILE *f, const struct cli_opt *o)
{
    struct sbuf b = SBUF_INIT;
    if (o->short_name)
        sbuf_printf(&b, "-%c, ", o->short_name);
    else
        sbuf_adds(&b, "    ");
    sbuf_printf(&b, "--%s", o->name);
    if (o->metavar)
        sbuf_printf(&b, " %s", o->metavar);
    two_col(f, b.p, o->help, 30);
    sbuf_free(&b);
}

static void command_list(FILE *f, bool admin)
{
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        if (c->admin != admin)
            continue;
        struct sbuf b = SBUF_INIT;
        synopsis(&b, c);
        two_col(f, b.p, c->summary, 38);
        sbuf_free(&b);
    }
}

void cli_usage(FILE *f)
{
    fprintf(f, "usage: appealsctl [OPTIONS] COMMAND [ARGS] [--json]\n\n"
               "Watches and steers appealsd through its control socket.\n\n"
               "Commands (read-only):\n");
    command_list(f, false);
    fprintf(f, "\nCommands that change state (root, the daemon's user, control.admin_group):\n");
    command_list(f, true);
    fprintf(f, "\nFILTERS (list, tail):\n");
    for (const struct cli_opt *const *o = list_opts; *o; o++)
        if ((*o)->filter)
            opt_line(f, *o);
    fprintf(f, "\nOptions:\n");
    for (const struct cli_global *g = cli_globals; g->name; g++) {
        struct cli_opt o = {.name = g->name, .short_name = g->short_name,
                            .metavar = g->metavar, .help = g->help};
        opt_line(f, &o);
    }
    fprintf(f, "\nExit status: 0 done; 1 the daemon refused or the command failed; 2 usage "
               "error;\n3 the daemon cannot be reached or did not answer in time.\n"
               "`appealsctl COMMAND --help` describes one command; see appealsctl(1).\n");
}

void cli_command_usage(FILE *f, const struct cli_command *cmd)
{
    if (strcmp(cmd->name, "incident show") == 0 && cmd[1].name &&
        strncmp(cmd[1].name, "incident ", 9) == 0) {
        /* `incident --help`: every command of the group */
        for (; cmd->name && strncmp(cmd->name, "incident ", 9) == 0; cmd++) {
            struct sbuf b = SBUF_INIT;
            synopsis(&b, cmd);
            fprintf(f, "usage: appealsctl %s [--json]\n  %s%s.\n", b.p, cmd->summary,
                    cmd->admin ? " (admin)" : "");
            sbuf_free(&b);
        }
        return;
    }
    struct sbuf b = SBUF_INIT;
    synopsis(&b, cmd);
    fprintf(f, "usage: appealsctl %s [--json]\n\n%s%s.\n", b.p, cmd->summary,
            cmd->admin ? " (admin)" : "");
    sbuf_free(&b);
    if (cmd->opts[0])
        fprintf(f, "\n");
    for (const struct cli_opt *const *o = cmd->opts; *o; o++)
        opt_line(f, *o);
}

/* ---- parsing ---- */

static const struct cli_opt *find_opt(const struct cli_command *cmd, const char *name,
                                      size_t len, char short_name, size_t *index)
{
    for (size_t i = 0; cmd->opts[i]; i++) {
        const struct cli_opt *o = cmd->opts[i];
        if ((short_name && o->short_name == short_name) ||
            (!short_name && strlen(o->name) == len && strncmp(o->name, name, len) == 0)) {
            *index = i;
            return o;
        }
    }
    return NULL;
}

/* "a, b,c" -> "a" or ["a", "b", "c"]; -1 when nothing is left. */
static int list_value(struct jw *w, const char *v)
{
    const char *start[MAX_OPTS];
    size_t len[MAX_OPTS], n = 0;
    for (const char *p = v; *p && n < MAX_OPTS;) {
        size_t l = strcspn(p, ",");
        size_t s = 0, e = l;
        while (s < e && p[s] == ' ')
            s++;
        while (e > s && p[e - 1] == ' ')
            e--;
        if (e > s) {
            start[n] = p + s;
            len[n++] = e - s;
        }
        p += l + (p[l] == ',');
    }
    if (n == 0)
        return -1;
    if (n > 1)
        jw_arr(w);
    for (size_t i = 0; i < n; i++)
        jw_strn(w, start[i], len[i]);
    if (n > 1)
        jw_arr_end(w);
    return 0;
}

/* One option's value as a request argument; -1 with err on a bad value. */
static int put_value(struct jw *w, const struct cli_opt *o, const char *v, char *err,
                     size_t errlen)
{
    int64_t x;
    switch (o->kind) {
    case OPT_STR:
        if (*v == '\0')
            break;
        jw_kstr(w, o->key, v);
        return 0;
    case OPT_LIST:
        jw_key(w, o->key);
        if (list_value(w, v) == 0)
            return 0;
        break;
    case OPT_INT:
        if (parse_int64(v, &x) != 0 || x < o->min || x > o->max) {
            snprintf(err, errlen, "--%s: expected a whole number %lld..%lld, not '%s'", o->name,
                     (long long)o->min, (long long)o->max, v);
            return -1;
        }
        jw_kint(w, o->key, x);
        return 0;
    case OPT_DURATION:
        if (parse_duration_ms(v, &x) != 0 || x < 0) {
            snprintf(err, errlen, "--%s: '%s' is not a duration (30m, 2h, 1d)", o->name, v);
            return -1;
        }
        jw_kint(w, o->key, (x + 999) / 1000);
        return 0;
    case OPT_FLAG:
        jw_kbool(w, o->key, true);
        return 0;
    case OPT_CHOICE:
        for (const char *const *c = o->choices; *c; c++)
            if (strcmp(*c, v) == 0) {
                jw_kstr(w, o->key, v);
                return 0;
            }
        snprintf(err, errlen, "--%s: expected one of", o->name);
        for (const char *const *c = o->choices; *c; c++)
            snprintf(err + strlen(err), errlen - strlen(err), " %s", *c);
        return -1;
    }
    snprintf(err, errlen, "--%s: the value must not be empty", o->name);
    return -1;
}

struct parsed {
    const char *val[MAX_OPTS];
    const char *arg[MAX_ARGS];
    size_t nargs;
};

/* Splits argv into positional arguments and option values. */
static int split(const struct cli_command *cmd, int argc, char *const *argv, struct parsed *p,
                 struct cli_request *req, char *err, size_t errlen)
{
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (dashdash || a[0] != '-' || a[1] == '\0') {
            size_t want = 0;
            while (cmd->args[want])
                want++;
            if (want && variadic(cmd->args[want - 1]))
                want = MAX_ARGS;
            if (p->nargs >= want) {
                snprintf(err, errlen, "unexpected argument '%s'", a);
                return -1;
            }
            p->arg[p->nargs++] = a;
            continue;
        }
        bool lng = a[1] == '-';
        const char *name = lng ? a + 2 : a + 1;
        const char *eq = lng ? strchr(name, '=') : (a[2] ? a + 1 : NULL);
        size_t len = lng ? (eq ? (size_t)(eq - name) : strlen(name)) : 1;
        if (lng && len == 4 && strncmp(name, "json", 4) == 0 && !eq) {
            req->json = true;
            continue;
        }
        if ((lng && len == 4 && strncmp(name, "help", 4) == 0) || strcmp(a, "-h") == 0) {
            req->help = true;
            continue;
        }
        size_t k;
        const struct cli_opt *o = find_opt(cmd, name, len, lng ? 0 : a[1], &k);
        if (o == NULL) {
            snprintf(err, errlen, "unknown option '%.*s%.*s'", lng ? 2 : 1, a, (int)len, name);
            return -1;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (o->kind == OPT_FLAG) {
            if (v) {
                snprintf(err, errlen, "--%s takes no value", o->name);
                return -1;
            }
            v = "";
        } else if (v == NULL) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "--%s needs a value (%s)", o->name, o->metavar);
                return -1;
            }
            v = argv[++i];
        }
        p->val[k] = v;
    }
    return 0;
}

static int build(const struct cli_command *cmd, const struct parsed *p, struct cli_request *req,
                 char *err, size_t errlen)
{
    struct sbuf b = SBUF_INIT;
    struct jw w;
    jw_init(&w, &b);
    jw_obj(&w);
    jw_kstr(&w, "cmd", cmd->request);
    jw_key(&w, "args");
    jw_obj(&w);
    for (size_t i = 0; i < p->nargs; i++) {
        if (cmd->args[i] && variadic(cmd->args[i])) {
            jw_key(&w, "appeals");
            jw_arr(&w);
            for (; i < p->nargs; i++)
                jw_str(&w, p->arg[i]);
            jw_arr_end(&w);
            break;
        }
        jw_kstr(&w, cmd->args[i], p->arg[i]);
    }
    for (size_t k = 0; cmd->opts[k]; k++) {
        const struct cli_opt *o = cmd->opts[k];
        const char *v = p->val[k] ? p->val[k] : o->def;
        if (v == NULL || o->key == NULL)
            continue;
        if (put_value(&w, o, v, err, errlen) != 0) {
            sbuf_free(&b);
            return -1;
        }
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
    req->line = sbuf_steal(&b);
    return 0;
}

int cli_parse(int argc, char *const *argv, struct cli_request *req, char *err, size_t errlen)
{
    memset(req, 0, sizeof(*req));
    req->lines = -1;
    const struct cli_command *cmd = argc > 0 ? cli_find(argv[0]) : NULL;
    if (cmd == NULL && argc > 1 && strcmp(argv[0], "incident") == 0 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        req->cmd = cli_find("incident show");    /* the group's usage */
        req->help = true;
        return 0;
    }
    if (cmd == NULL && argc > 1 && strcmp(argv[0], "incident") == 0) {
        /* a command of two words: the second is its first argv */
        char name[64];
        snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
        if ((cmd = cli_find(name)) != NULL) {
            argc--;
            argv++;
        }
    }
    if (cmd == NULL) {
        snprintf(err, errlen, "unknown command '%s'%s", argc > 0 ? argv[0] : "",
                 argc > 0 && strcmp(argv[0], "incident") == 0
                     ? " (incident show, incident merge or incident split)" : "");
        return -1;
    }
    req->cmd = cmd;
    struct parsed p;
    memset(&p, 0, sizeof(p));
    if (split(cmd, argc, argv, &p, req, err, errlen) != 0)
        return -1;
    if (req->help)
        return 0;
    size_t declared = 0;
    while (cmd->args[declared])
        declared++;
    if (p.nargs < declared) {
        struct sbuf b = SBUF_INIT;
        synopsis(&b, cmd);
        const char *a = cmd->args[p.nargs];
        snprintf(err, errlen, "missing %s (usage: appealsctl %s)",
                 strncmp(cmd->name, "incident", 8) == 0 ? (strcmp(a, "id") == 0 ? "the incident ID"
                 : strcmp(a, "from") == 0 ? "the incident FROM" : "the APPEALS")
                 : strcmp(a, "id") == 0 ? "the appeal ID"
                 : strcmp(a, "level") == 0 ? "the LEVEL" : "the organisation ORG", b.p);
        sbuf_free(&b);
        return -1;
    }
    for (size_t i = 0; i < p.nargs; i++)
        if (p.arg[i][0] == '\0') {
            snprintf(err, errlen, "%s must not be empty",
                     cmd->args[i < declared ? i : declared - 1]);
            return -1;
        }
    for (size_t k = 0; cmd->opts[k]; k++) {
        const struct cli_opt *o = cmd->opts[k];
        if (o->required && p.val[k] == NULL) {
            snprintf(err, errlen, "--%s %s is required", o->name, o->metavar);
            return -1;
        }
        if (o->key == NULL && o->kind == OPT_INT && p.val[k]) {
            int64_t x;
            if (parse_int64(p.val[k], &x) != 0 || x < o->min || x > o->max) {
                snprintf(err, errlen, "--%s: expected a whole number above 0, not '%s'",
                         o->name, p.val[k]);
                return -1;
            }
            req->count = x;
        }
        if (o == &o_follow && p.val[k])
            req->follow = true;
        if ((o == &o_raw || o == &o_csv) && p.val[k])
            req->raw = true;            /* report --csv: its raw form */
        if (o == &o_lines && p.val[k] && parse_int64(p.val[k], &req->lines) != 0)
            req->lines = -1;
    }
    return build(cmd, &p, req, err, errlen);
}

void cli_request_free(struct cli_request *req)
{
    free(req->line);
    req->line = NULL;
}
