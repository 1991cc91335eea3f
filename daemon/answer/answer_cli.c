/* `appealsd answer-check`: the answer judge of a configuration over JSON
 * lines on stdin, one verdict per line on stdout.
 *
 *   {"id": 1, "text": "...", "attachments": 1}      attachments optional: how
 *                                                   many photos or documents
 *   → {"id": 1, "quality": "formal", "reasons": ["redirect", "no_term_no_action"]}
 *
 * A line that cannot be judged gets {"id": …, "line": N, "error": "…"} and
 * the next line is read.  Exit status: 0 when every line was judged, 1 when
 * some had errors, 2 when the configuration is unusable or has no [answer]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "judge.h"
#include "json.h"
#include "jsonl.h"
#include "sbuf.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: appealsd answer-check [-c FILE] [--set SECTION.KEY=VALUE]... < answers.jsonl\n"
               "  each input line: {\"id\": ..., \"text\": \"...\", \"attachments\": N}\n"
               "  each output line: {\"id\", \"quality\": substantive|formal|refusal,\n"
               "  \"reasons\": [...]} (or id, line and error)\n");
}

/* How many attachments the line says came with the answer, or -1. */
static int64_t attachments_of(const struct json *a)
{
    if (a == NULL || a->type == JSON_NULL)
        return 0;
    if (a->type == JSON_ARRAY) {
        int64_t n = 0;
        while (json_at(a, (size_t)n))
            n++;
        return n;
    }
    int64_t v;
    return a->type == JSON_NUMBER && json_int64(a, &v) && v >= 0 ? v : -1;
}

static int judge_line(void *j, const struct json *obj, const struct json *id,
                      const struct json *text, size_t lineno, struct sbuf *out)
{
    int64_t att = attachments_of(json_get(obj, "attachments"));
    int rc = -1;
    if (att < 0) {
        jsonl_put_error(out, id, lineno, "\"attachments\" must be a count or an array");
    } else {
        struct answer_verdict v;
        answer_judge_text(j, text->u.s, text->len, (unsigned)att, &v);
        struct jw w;
        jw_init(&w, out);
        jw_obj(&w);
        jsonl_put_id(&w, id);
        jw_kstr(&w, "quality", answer_quality_name(v.quality));
        jw_key(&w, "reasons");
        answer_reasons_json(&w, v.reasons);
        jw_obj_end(&w);
        sbuf_addc(out, '\n');
        rc = 0;
    }
    return rc;
}

static int run(struct answer_judge *j)
{
    return jsonl_run("answer-check", judge_line, j);
}

int answer_check_main(int argc, char **argv)
{
    int rc;
    struct apd_config *cfg = jsonl_config(argc, argv, "answer-check", usage, &rc);
    if (cfg == NULL)
        return rc;
    struct answer_judge *j = answer_judge_of(cfg);
    if (j == NULL) {
        fprintf(stderr, "appealsd answer-check: %s has no [answer] section (lexicon = ...)\n",
                cfg->path);
        config_unref(cfg);
        return 2;
    }
    rc = run(j);
    config_unref(cfg);
    return rc;
}
