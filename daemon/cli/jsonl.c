#include "jsonl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
        } else if (fn(arg, line, (size_t)n, lineno, &out) != 0) {
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
