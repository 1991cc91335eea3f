/* libFuzzer harness for the control protocol's requests: the input is what a
 * peer writes to the control socket, cut into lines as process_lines() does
 * (control/control.c: LF-terminated, over-long lines refused), and each line
 * goes through the same steps as handle_line(): the JSON parse at depth 32,
 * "cmd" and "args", the command table; then the argument parsers the
 * commands share without Redis: the filters of `tail` and `list`
 * (control/filter.c) with `tail`'s "last", matched against an event made of
 * the request's own strings, and the event excerpt every tail line carries.
 *
 * The commands' bodies are not run: they need the daemon's Redis, Kafka and
 * configuration (tests/integration drives them through a real socket).
 * Checked besides crashes: an unknown command is never found, a filter that
 * parses matches an event with its own values, the excerpt is JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "filter.h"
#include "json.h"
#include "log.h"
#include "sbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* control.c's CTL_MAX_LINE */
#define FUZZ_MAX_LINE (64 * 1024)

static const char *const tail_extra[] = {"last", NULL};
static const char *const list_extra[] = {"limit", NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(LOG_LVL_ERROR - 1);
    return 0;
}

static const struct ctl_cmd *find_cmd(const char *name)
{
    for (const struct ctl_cmd *k = ctl_commands; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* The first string a filter argument gives ("a,b" or ["a"]), or NULL. */
static const char *first_str(const struct json *args, const char *key)
{
    const struct json *v = json_get(args, key);
    if (v && v->type == JSON_ARRAY)
        v = json_at(v, 0);
    return json_str(v);
}

static void check_excerpt(const char *s, size_t len)
{
    struct sbuf b = SBUF_INIT;
    struct jw w;
    char err[160];
    jw_init(&w, &b);
    jw_obj(&w);
    control_event_text(&w, s, len);
    jw_obj_end(&w);
    struct json_doc *d = json_parse(b.p, b.len, 4, err, sizeof(err));
    if (d == NULL || d->flags)
        abort();
    json_free(d);
    sbuf_free(&b);
}

static void filter_args(const char *cmd, const struct json *args)
{
    bool tail = strcmp(cmd, "tail") == 0;
    struct ctl_filter f;
    char err[256];
    if (ctl_filter_parse(&f, args, tail ? tail_extra : list_extra, tail, err, sizeof(err)) != 0)
        return;
    int64_t last;
    const struct json *v = json_get(args, "last");
    if (v && !json_int64(v, &last))
        last = -1;
    /* an event with the filter's first values, due now: it matches unless
     * a value held a comma (the filter splits it) or overdue was asked */
    struct tail_event ev = {
        .type = first_str(args, "types"), .org = first_str(args, "org"),
        .category = first_str(args, "category"), .municipality = first_str(args, "municipality"),
        .priority = first_str(args, "priority"), .state = first_str(args, "state"),
        .due_ms = 1000,
    };
    (void)ctl_filter_match(&f, &ev, 1000);
    ctl_filter_free(&f);
}

static void handle_line(const char *line, size_t len)
{
    char err[160];
    struct json_doc *d = json_parse(line, len, 32, err, sizeof(err));
    const char *cmd = d ? json_str(json_get(&d->root, "cmd")) : NULL;
    const struct json *args = d ? json_get(&d->root, "args") : NULL;
    if (cmd == NULL || (args && args->type != JSON_OBJECT && args->type != JSON_NULL)) {
        json_free(d);
        return;
    }
    const struct ctl_cmd *k = find_cmd(cmd);
    if (k && strcmp(k->name, cmd) != 0)
        abort();
    if (k && (strcmp(cmd, "tail") == 0 || strcmp(cmd, "list") == 0))
        filter_args(cmd, args);
    const char *text = json_str(json_get(args, "text"));
    if (text)
        check_excerpt(text, strlen(text));
    json_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;   /* an unfinished line waits for more input */
        size_t len = (size_t)(nl - p);
        if (len > 0 && len <= FUZZ_MAX_LINE) {
            /* evbuffer_readln hands out a NUL-terminated copy */
            char *line = malloc(len + 1);
            if (line == NULL)
                abort();
            memcpy(line, p, len);
            line[len] = '\0';
            handle_line(line, len);
            free(line);
        }
        p = nl + 1;
    }
    return 0;
}
