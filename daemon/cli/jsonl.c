#include "jsonl.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "diag.h"

/* Longer lines are refused, not read into memory: no input is that big. */
#define LINE_MAX_BYTES (4u << 20)

void jsonl_put_id(struct jw *w, const struct json *id)
{
    jw_key(w, "id");
    if (id && id->type == JSON_STRING)
        jw_strn(w, id->u.s, id->len);
    else if (id && id->type == JSON_NUMBER)
        jw_raw(w, id->u.s, id->len);
    else
        jw_null(w);
}

void jsonl_put_error(struct sbuf *out, const struct json *id, size_t line, const char *msg)
{
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jsonl_put_id(&w, id);
    jw_kint(&w, "line", (int64_t)line);
    jw_kstr(&w, "error", msg);
    jw_obj_end(&w);
    sbuf_addc(out, '\n');
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

/* The checks every subcommand's line shares, then fn. */
static int one_line(jsonl_line_fn fn, void *arg, const char *buf, size_t len, size_t lineno,
                    struct sbuf *out)
{
    char err[256];
    struct json_doc *doc = json_parse(buf, len, 16, err, sizeof(err));
    if (doc == NULL) {
        char msg[300];
        snprintf(msg, sizeof(msg), "not JSON: %s", err);
        jsonl_put_error(out, NULL, lineno, msg);
        return -1;
    }
    const struct json *id = json_get(&doc->root, "id");
    const struct json *text = json_get(&doc->root, "text");
    int rc = -1;
    if (doc->root.type != JSON_OBJECT)
        jsonl_put_error(out, NULL, lineno, "expected an object {\"id\": ..., \"text\": \"...\"}");
    else if (text == NULL || text->type != JSON_STRING)
        jsonl_put_error(out, id, lineno, "\"text\" must be a string");
    else
        rc = fn(arg, &doc->root, id, text, lineno, out);
    json_free(doc);
    return rc;
}

int jsonl_run(const char *cmd, jsonl_line_fn fn, void *arg)
{
    struct sbuf out = SBUF_INIT;
    char *line = NULL;
    size_t cap = 0, lineno = 0, bad = 0;
    ssize_t n;
    /* on a terminal every answer shows at once; in a pipe they are batched */
    bool tty = isatty(STDOUT_FILENO);
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (blank(line, (size_t)n))
            continue;
        if ((size_t)n > LINE_MAX_BYTES) {
            jsonl_put_error(&out, NULL, lineno, "line longer than 4 MiB");
            bad++;
        } else if (one_line(fn, arg, line, (size_t)n, lineno, &out) != 0) {
            bad++;
        }
        if (out.len >= 65536 || tty) {
            fwrite(out.p, 1, out.len, stdout);
            sbuf_reset(&out);
            if (tty)
                fflush(stdout);
        }
    }
    if (out.len)
        fwrite(out.p, 1, out.len, stdout);
    fflush(stdout);
    free(line);
    sbuf_free(&out);
    if (bad)
        fprintf(stderr, "appealsd %s: %zu of %zu lines had errors (see their \"error\")\n", cmd,
                bad, lineno);
    return bad ? 1 : 0;
}

struct apd_config *jsonl_config(int argc, char **argv, const char *cmd,
                                void (*usage)(FILE *), int *rc)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = cli_default_config();
    const char **sets = calloc((size_t)argc + 1, sizeof(char *));
    size_t nsets = 0;
    int opt;
    *rc = 2;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'h': usage(stdout); free(sets); *rc = 0; return NULL;
        default: usage(stderr); free(sets); return NULL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "appealsd %s: unexpected argument '%s'\n", cmd, argv[optind]);
        usage(stderr);
        free(sets);
        return NULL;
    }
    struct diag d = {0};
    struct config_opts o = {.path = path, .overrides = sets};
    struct apd_config *cfg = config_load(&o, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msg[i]);
    diag_free(&d);
    free(sets);
    if (cfg == NULL)
        fprintf(stderr, "appealsd %s: %s is not usable\n", cmd, path);
    return cfg;
}
