/* appealsctl: the operators' client for appealsd's control socket.
 *
 *   appealsctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]
 *
 * Exit codes: 0 success; 1 the daemon refused or the command failed;
 * 2 usage error; 3 cannot reach the daemon. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apd_build.h"
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

struct ctx {
    const char *socket;
    bool json;
    int fd;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: appealsctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  status            uptime, Kafka and Redis state, spool and pipeline counters\n"
            "  reload [--wait]   reload the daemon's configuration; fails if it is refused\n"
            "\n"
            "options:\n"
            "  -s, --socket PATH   control socket (default: from the config, else\n"
            "                      /run/appealsd/control.sock; or $APPEALSCTL_SOCKET)\n"
            "  -c, --config FILE   read control.socket from this appealsd.conf\n"
            "      --json          print the daemon's JSON reply as is\n"
            "  -h, --help          this text\n"
            "  -V, --version       print the version\n");
}

/* The socket path from an appealsd.conf: [control] socket. */
static char *socket_from_config(const char *path)
{
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

static int call(struct ctx *c, const char *request, struct json_doc **reply, struct sbuf *raw)
{
    char err[512];
    if (c->fd < 0) {
        c->fd = client_connect(c->socket, err, sizeof(err));
        if (c->fd < 0) {
            fprintf(stderr, "appealsctl: %s\n", err);
            return EXIT_UNREACHABLE;
        }
    }
    *reply = client_call(c->fd, request, raw, err, sizeof(err));
    if (*reply == NULL) {
        fprintf(stderr, "appealsctl: %s\n", err);
        return EXIT_UNREACHABLE;
    }
    if (!json_truthy(json_get(&(*reply)->root, "ok"))) {
        if (c->json)
            printf("%s\n", raw->p);
        fprintf(stderr, "appealsctl: %s\n",
                json_str(json_get(&(*reply)->root, "error")) ?: "the daemon refused");
        return EXIT_REFUSED;
    }
    return 0;
}

static const char *num(const struct json *o, const char *k)
{
    const char *t = json_text(json_get(o, k));
    return t ? t : "-";
}

static const char *yesno(const struct json *o, const char *k, const char *yes, const char *no)
{
    return json_truthy(json_get(o, k)) ? yes : no;
}

static void print_status(const struct json *r)
{
    char buf[512], up[32];
    int64_t secs = 0;
    json_int64(json_get(r, "uptime_s"), &secs);
    format_duration(secs * 1000, up, sizeof(up));
    out_kv_begin(18);
    snprintf(buf, sizeof(buf), "%s (%s), up %s", json_str(json_get(r, "state")) ?: "?",
             json_str(json_get(r, "instance")) ?: "?", up);
    out_kv("appealsd", buf);
    snprintf(buf, sizeof(buf), "%s, generation %s, %s reloads, %s failed",
             json_str(json_get(r, "version")) ?: "?", num(r, "config_generation"),
             num(r, "reloads"), num(r, "reload_failures"));
    out_kv("version", buf);
    if (json_str(json_get(r, "last_reload_error")))
        out_kv("last reload error", json_str(json_get(r, "last_reload_error")));
    const struct json *k = json_get(r, "kafka");
    bool kup = json_truthy(json_get(k, "connected"));
    snprintf(buf, sizeof(buf), "%s%s%s  %s brokers up, %s queued (%s)", out_color(kup ? "ok" : "bad"),
             kup ? "connected" : "DISCONNECTED", out_color("reset"), num(k, "brokers_up"),
             num(k, "queued"), json_str(json_get(k, "brokers")) ?: "?");
    out_kv("kafka", buf);
    const struct json *rd = json_get(r, "redis");
    bool rup = json_truthy(json_get(rd, "connected"));
    snprintf(buf, sizeof(buf), "%s%s%s  %s pending, %s errors, %s timeouts (%s)%s",
             out_color(rup ? "ok" : "bad"), rup ? "connected" : "DISCONNECTED",
             out_color("reset"), num(rd, "pending"), num(rd, "errors"), num(rd, "timeouts"),
             json_str(json_get(rd, "url")) ?: "?",
             yesno(rd, "came_back_empty", "  CAME BACK EMPTY: run appealsctl rebuild", ""));
    out_kv("redis", buf);
    const struct json *sp = json_get(r, "spool");
    snprintf(buf, sizeof(buf), "%s unreleased, %s of %s bytes, %s segments, %s fsyncs, "
             "%s write errors", num(sp, "unreleased"), num(sp, "bytes"), num(sp, "max_bytes"),
             num(sp, "segments"), num(sp, "fsyncs"), num(sp, "write_errors"));
    out_kv("spool", buf);
    const struct json *p = json_get(r, "pipeline");
    snprintf(buf, sizeof(buf), "%s in flight, %s published, %s duplicates, %s ignored, "
             "%s quarantined, %s answers", num(p, "inflight"), num(p, "published"),
             num(p, "duplicates"), num(p, "ignored"), num(p, "quarantined"), num(p, "answers"));
    out_kv("pipeline", buf);
    const struct json *h = json_get(r, "http");
    snprintf(buf, sizeof(buf), "port %s, %s waiting for the spool", num(h, "port"),
             num(h, "waiting_for_spool"));
    out_kv("http", buf);
}

static int cmd_status(struct ctx *c, int argc, char **argv)
{
    struct json_doc *d = NULL;
    struct sbuf raw = SBUF_INIT;
    int rc = call(c, "{\"cmd\":\"status\"}", &d, &raw);
    if (rc == 0) {
        if (c->json)
            printf("%s\n", raw.p);
        else
            print_status(json_get(&d->root, "result"));
    }
    json_free(d);
    sbuf_free(&raw);
    return rc;
}

static int cmd_reload(struct ctx *c, int argc, char **argv)
{
    /* The daemon reloads synchronously and answers with the verdict, so
     * --wait (what systemd's ExecReload= uses) is the only behaviour. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--wait") != 0) {
            fprintf(stderr, "appealsctl reload: unknown option %s\n", argv[i]);
            return EXIT_USAGE;
        }
    struct json_doc *d = NULL;
    struct sbuf raw = SBUF_INIT;
    int rc = call(c, "{\"cmd\":\"reload\"}", &d, &raw);
    if (rc == 0) {
        if (c->json)
            printf("%s\n", raw.p);
        else
            printf("reloaded: configuration generation %s is active\n",
                   num(json_get(&d->root, "result"), "config_generation"));
    }
    json_free(d);
    sbuf_free(&raw);
    return rc;
}

struct command {
    const char *name;
    int (*fn)(struct ctx *c, int argc, char **argv);
};

static const struct command commands[] = {
    {"status", cmd_status},
    {"reload", cmd_reload},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    struct ctx c = {.fd = -1};
    const char *config = NULL;
    char *from_conf = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "+s:c:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 's': c.socket = optarg; break;
        case 'c': config = optarg; break;
        case 'j': c.json = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("appealsctl %s\n", APD_VERSION); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (c.socket == NULL)
        c.socket = getenv("APPEALSCTL_SOCKET");
    if (c.socket == NULL) {
        from_conf = socket_from_config(config ? config : APD_SYSCONF_DIR "/appealsd.conf");
        c.socket = from_conf ? from_conf : "/run/appealsd/control.sock";
    }
    out_init(true);
    const char *name = argv[optind];
    int rc = EXIT_USAGE;
    const struct command *k = commands;
    while (k->name && strcmp(k->name, name) != 0)
        k++;
    if (k->name)
        rc = k->fn(&c, argc - optind, argv + optind);
    else {
        fprintf(stderr, "appealsctl: unknown command '%s'\n", name);
        usage(stderr);
    }
    if (c.fd >= 0)
        close(c.fd);
    free(from_conf);
    return rc;
}
