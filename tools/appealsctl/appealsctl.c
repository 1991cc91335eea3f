/* appealsctl: the operators' client for appealsd's control socket.
 *
 *   appealsctl [OPTIONS] COMMAND [ARGS] [--json]
 *
 * The commands, their arguments and their help live in cli.c; the human
 * output in format.c.  This file finds the socket, sends the request, and
 * turns the outcome into an exit status:
 *   0 done; 1 the daemon refused or the command failed; 2 usage error;
 *   3 the daemon cannot be reached or did not answer in time. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apd_build.h"
#include "cli.h"
#include "client.h"
#include "diag.h"
#include "ini.h"
#include "json.h"
#include "output.h"
#include "sbuf.h"
#include "units.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define DEFAULT_TIMEOUT_MS 60000

struct ctx {
    const char *socket;
    char socket_note[600];    /* why the default socket is used, for errors */
    bool json;
    int64_t timeout_ms;
    int fd;
};

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) { interrupted = 1; }

/* [control] socket of an appealsd.conf, or NULL. */
static char *socket_from_config(const char *path, char *note, size_t notelen)
{
    if (access(path, R_OK) != 0) {
        if (errno != ENOENT)
            snprintf(note, notelen, " (%s is not readable: %s; tried the default socket)", path,
                     strerror(errno));
        return NULL;
    }
    struct diag d = {0};
    struct ini *ini = ini_load(path, &d);
    char *out = NULL;
    if (ini) {
        struct ini_entry *e = ini_lookup(ini_find(ini, "control", NULL), "socket");
        if (e)
            out = strdup(e->value);
        ini_free(ini);
    }
    diag_free(&d);
    return out;
}

static int fail(struct ctx *c, const char *msg)
{
    fprintf(stderr, "appealsctl: %s%s\n", msg, c->socket_note);
    return EXIT_UNREACHABLE;
}

/* The daemon said no: show why, with a hint where one helps. */
static int refused(struct ctx *c, const struct cli_request *req, const struct json *reply,
                   const struct sbuf *raw)
{
    const char *code = json_str(json_get(reply, "code")) ?: "error";
    const char *msg = json_str(json_get(reply, "error")) ?: "the daemon refused";
    if (c->json)
        printf("%s\n", raw->p);
    fprintf(stderr, "appealsctl %s: %s (%s)\n", req->cmd->name, msg, code);
    if (strcmp(code, "unknown_command") == 0)
        fprintf(stderr, "appealsctl: this appealsd does not implement '%s'; it may be older "
                        "than appealsctl %s\n", req->cmd->request, APD_VERSION);
    return EXIT_REFUSED;
}

/* Every string the daemon sends may carry a citizen's text (or a field a
 * webhook chose), so no line reaches the terminal as it came: *line is
 * rewritten for --json (escapes that mean the same) and the document the
 * formatters read is parsed from the visible form ("\x1b", "\u202e"). */
static struct json_doc *made_safe(const struct ctx *c, struct sbuf *line, char *err,
                                  size_t errlen)
{
    struct sbuf b = SBUF_INIT;
    out_defang_json(&b, line->p, line->len, true);
    struct json_doc *d = json_parse(b.p, b.len, 64, err, errlen);
    if (c->json) {
        sbuf_reset(&b);
        out_defang_json(&b, line->p, line->len, false);
    }
    sbuf_free(line);
    *line = b;
    return d;
}

/* Prints a stream line; returns 1 for an event, 0 otherwise, -1 when stdout
 * is gone (a closed pipe ends the tail quietly). */
static int stream_line(struct ctx *c, struct sbuf *line)
{
    int rc = 0;
    char err[128];
    struct json_doc *d = made_safe(c, line, err, sizeof(err));
    if (c->json) {
        printf("%s\n", line->p);
        rc = strstr(line->p, "\"event\"") != NULL;
    } else {
        rc = d ? fmt_stream_line(stdout, &d->root) : -1;
        if (rc < 0)
            fprintf(stderr, "appealsctl: unexpected line from the daemon: %.200s\n", line->p);
        rc = rc > 0;
    }
    json_free(d);
    return fflush(stdout) != 0 || ferror(stdout) ? -1 : rc;
}

/* The daemon's {"caught_up": N} after the remembered events of -n N. */
static bool caught_up(const struct sbuf *line)
{
    return line->len > 13 && strncmp(line->p, "{\"caught_up\":", 13) == 0;
}

static int follow(struct ctx *c, const struct cli_request *req)
{
    struct sbuf line = SBUF_INIT;
    int64_t events = 0;
    int rc = 0;
    /* journalctl's -n: the last N, and only them unless -f (or --count) */
    bool past_only = req->lines >= 0 && !req->follow && req->count == 0;
    while (req->count == 0 || events < req->count) {
        int r = client_read_line(c->fd, &line);
        if (r < 0 && errno == EINTR && interrupted)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = fail(c, r == 0 ? "the daemon closed the stream (stopped or restarted)"
                                : "lost the connection to the daemon");
            break;
        }
        if (caught_up(&line)) {
            if (c->json)
                printf("%s\n", line.p);
            if (past_only)
                break;
            continue;
        }
        int s = stream_line(c, &line);
        if (s < 0)
            break;
        events += s;
    }
    sbuf_free(&line);
    return rc;
}

static int run(struct ctx *c, const struct cli_request *req)
{
    char err[512];
    c->fd = client_connect(c->socket, err, sizeof(err));
    if (c->fd < 0)
        return fail(c, err);
    struct sbuf raw = SBUF_INIT;
    struct json_doc *d = client_call(c->fd, req->line, c->timeout_ms, &raw, err, sizeof(err));
    if (d) {
        json_free(d);
        d = made_safe(c, &raw, err, sizeof(err));
    }
    int rc = 0;
    if (d == NULL)
        rc = fail(c, err);
    else if (!json_truthy(json_get(&d->root, "ok")))
        rc = refused(c, req, &d->root, &raw);
    else if (c->json)
        printf("%s\n", raw.p);
    else {
        fmt_set_raw(req->raw);
        req->cmd->format(stdout, req->cmd, json_get(&d->root, "result"));
    }
    json_free(d);
    sbuf_free(&raw);
    if (rc == 0 && req->cmd->stream) {
        fflush(stdout);
        rc = follow(c, req);
    }
    return rc;
}

static int parse_color(const char *s, enum color_mode *m)
{
    if (strcmp(s, "auto") == 0)
        *m = COLOR_AUTO;
    else if (strcmp(s, "always") == 0)
        *m = COLOR_ALWAYS;
    else if (strcmp(s, "never") == 0)
        *m = COLOR_NEVER;
    else
        return -1;
    return 0;
}

static int usage_error(const char *option, const char *value, const char *want)
{
    fprintf(stderr, "appealsctl: --%s: '%s' is not %s\nTry 'appealsctl --help'.\n", option,
            value, want);
    return EXIT_USAGE;
}

/* getopt's table, from the documented list of global options. */
static void build_options(struct option *o, char *shorts)
{
    size_t n = 0, s = 0;
    shorts[s++] = '+';
    for (const struct cli_global *g = cli_globals; g->name; g++, n++) {
        o[n] = (struct option){g->name, g->metavar ? required_argument : no_argument, NULL,
                               g->short_name ? g->short_name : 256 + (int)n};
        if (g->short_name) {
            shorts[s++] = g->short_name;
            if (g->metavar)
                shorts[s++] = ':';
        }
    }
    o[n] = (struct option){NULL, 0, NULL, 0};
    shorts[s] = '\0';
}

static const char *global_name(int opt)
{
    for (size_t i = 0; cli_globals[i].name; i++)
        if (cli_globals[i].short_name == opt || 256 + (int)i == opt)
            return cli_globals[i].name;
    return "";
}

int main(int argc, char **argv)
{
    struct option opts[32];
    char shorts[64];
    build_options(opts, shorts);
    struct ctx c = {.fd = -1, .timeout_ms = DEFAULT_TIMEOUT_MS};
    const char *config = NULL, *instance = NULL;
    enum color_mode color = COLOR_AUTO;
    char instance_sock[512], *from_conf = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
        const char *name = opt == '?' ? "?" : global_name(opt);
        if (strcmp(name, "socket") == 0)
            c.socket = optarg;
        else if (strcmp(name, "config") == 0)
            config = optarg;
        else if (strcmp(name, "instance") == 0)
            instance = optarg;
        else if (strcmp(name, "json") == 0)
            c.json = true;
        else if (strcmp(name, "timeout") == 0) {
            if (parse_duration_ms(optarg, &c.timeout_ms) != 0 || c.timeout_ms <= 0)
                return usage_error(name, optarg, "a duration (10s, 2m)");
        } else if (strcmp(name, "color") == 0) {
            if (parse_color(optarg, &color) != 0)
                return usage_error(name, optarg, "auto, always or never");
        } else if (strcmp(name, "help") == 0) {
            cli_usage(stdout);
            return 0;
        } else if (strcmp(name, "version") == 0) {
            printf("appealsctl %s\n", APD_VERSION);
            return 0;
        } else {
            fprintf(stderr, "Try 'appealsctl --help'.\n");   /* getopt said what */
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_usage(stderr);
        return EXIT_USAGE;
    }
    struct cli_request req;
    char err[512];
    if (cli_parse(argc - optind, argv + optind, &req, err, sizeof(err)) != 0) {
        const char *name = req.cmd ? req.cmd->name : NULL;
        fprintf(stderr, "appealsctl%s%s: %s\nTry 'appealsctl %s%s--help'.\n", name ? " " : "",
                name ? name : "", err, name ? name : "", name ? " " : "");
        return EXIT_USAGE;
    }
    if (req.help) {
        cli_command_usage(stdout, req.cmd);
        return 0;
    }
    c.json |= req.json;
    out_init(color);
    if (c.socket == NULL && instance) {
        /* appealsd@NAME.service: RuntimeDirectory=appealsd-NAME */
        snprintf(instance_sock, sizeof(instance_sock), "%s-%s/control.sock", APD_RUNTIME_DIR,
                 instance);
        c.socket = instance_sock;
    }
    if (c.socket == NULL && config == NULL)
        c.socket = getenv("APPEALSCTL_SOCKET");
    if (c.socket == NULL) {
        from_conf = socket_from_config(config ? config : APD_SYSCONF_DIR "/appealsd.conf",
                                       c.socket_note, sizeof(c.socket_note));
        c.socket = from_conf ? from_conf : APD_RUNTIME_DIR "/control.sock";
    }
    struct sigaction sa = {.sa_handler = on_interrupt};   /* no SA_RESTART: reads return */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = run(&c, &req);
    if (c.fd >= 0)
        close(c.fd);
    cli_request_free(&req);
    free(from_conf);
    return rc;
}
