#include "judge.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appealsd/plugin.h"
#include "config.h"
#include "followup.h"
#include "json.h"
#include "lex.h"
#include "loader.h"
#include "log.h"
#include "module.h"
#include "sbuf.h"
#include "text.h"

/* The signals a lexicon may name, in the order of their AR_ bits. */
static const char *const reason_names[AR_COUNT] = {
    "term", "action", "attachment", "redirect", "law", "elsewhere", "refusal",
    "no_term_no_action",
};

enum sig { SIG_TERM, SIG_ACTION, SIG_REDIRECT, SIG_LAW, SIG_ELSEWHERE, SIG_REFUSAL, SIG_N };
static const char *const sig_codes[SIG_N] = {"term", "action", "redirect", "law", "elsewhere",
                                             "refusal"};
static const unsigned sig_bits[SIG_N] = {AR_TERM, AR_ACTION, AR_REDIRECT, AR_LAW,
                                         AR_ELSEWHERE, AR_REFUSAL};

struct answer_conf {
    struct strlist lexicon;
};

struct answer_judge {
    struct answer_conf conf;
    struct text_analyzer *ta;
    struct lex *lx;
    struct lex_matcher *m;
    int sec[SIG_N];
    int fu_sec[FU_N];
    double substantive_min, refusal_min, action_min, formal_factor, date_weight,
        attachment_weight, followup_min;
};

static const struct lex_schema schema[] = {
    {"signal", true, false, false},
    {"followup", true, false, false},
    {NULL, false, false, false},
};

static const char *const params[] = {
    "substantive_min", "refusal_min", "action_min", "formal_factor", "date_weight",
    "attachment_weight", "followup_min", NULL,
};

#define AC(f) offsetof(struct answer_conf, f)
static const struct conf_key answer_keys[] = {
    {"lexicon", CT_PATH_LIST, AC(lexicon), NULL, 0, 0, NULL, 0,
     "lexicon files (or directories of *.lex) of the answer judge and the citizen's "
     "follow-ups: [signal term|action|redirect|law|elsewhere|refusal], "
     "[followup reopen|confirm], [param]"},
    {0},
};

/* ---- the host side of the lexicon engine ---- */

static void host_log(void *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(void *h, int level, const char *fmt, ...)
{
    (void)h;
    va_list ap;
    va_start(ap, fmt);
    plugin_vlog(level, "answer: judge", fmt, ap);
    va_end(ap);
}

static const struct apd_text *host_analyze(void *h, const char *s, size_t len)
{
    struct answer_judge *j = h;
    return text_analyze_owned(j->ta, s, len);
}

static void host_text_free(void *h, const struct apd_text *t)
{
    (void)h;
    text_release(t);
}

static const struct apd_host_api host_api = {
    .abi_major = APD_PLUGIN_ABI_MAJOR,
    .abi_minor = APD_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct apd_host_api),
    .log = host_log,
    .text_analyze = host_analyze,
    .text_free = host_text_free,
};

/* ---- config module ---- */

static void judge_free(struct answer_judge *j)
{
    if (j == NULL)
        return;
    lex_matcher_free(j->m);
    lex_free(j->lx);
    text_analyzer_free(j->ta);
    conf_unbind(answer_keys, &j->conf);
    free(j);
}

static bool load_lexicons(struct answer_judge *j, const struct ini_section *sec,
                          struct diag *d)
{
    char err[512] = "";
    if (j->conf.lexicon.n == 0) {
        diag_add(d, sec->file, sec->line, "[answer]: lexicon: no files given");
        return false;
    }
    if ((j->ta = text_analyzer_new(err, sizeof(err))) == NULL ||
        (j->lx = lex_load(&host_api, j, schema, (const char *const *)j->conf.lexicon.v,
                          j->conf.lexicon.n, 6, err, sizeof(err))) == NULL ||
        lex_check_params(j->lx, params, err, sizeof(err)) != 0) {
        diag_add(d, sec->file, sec->line, "[answer]: %s", err);
        return false;
    }
    j->m = lex_matcher_new(j->lx, &host_api, j);
    for (int s = 0; s < SIG_N; s++)
        j->sec[s] = lex_section(j->lx, "signal", sig_codes[s]);
    for (int s = 0; s < FU_N; s++)
        j->fu_sec[s] = lex_section(j->lx, "followup", followup_name((enum followup)s));
    j->substantive_min = lex_param(j->lx, "substantive_min", 2);
    j->refusal_min = lex_param(j->lx, "refusal_min", 2);
    j->action_min = lex_param(j->lx, "action_min", 2);
    j->formal_factor = lex_param(j->lx, "formal_factor", 1);
    j->date_weight = lex_param(j->lx, "date_weight", 2);
    j->attachment_weight = lex_param(j->lx, "attachment_weight", 2);
    j->followup_min = lex_param(j->lx, "followup_min", 1);
    return true;
}

static void answer_build(struct apd_config *cfg, struct ini *ini, const struct config_opts *o,
                         struct diag *d)
{
    struct ini_section *sec = ini_find(ini, "answer", NULL);
    if (sec == NULL)
        return;
    struct answer_judge *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    sec->used = true;
    if (conf_bind(answer_keys, sec, &j->conf, "[answer]", d) != 0 || o->skip_plugins ||
        !load_lexicons(j, sec, d)) {
        judge_free(j);
        return;
    }
    cfg->answer = j;
}

static void answer_free(struct apd_config *cfg)
{
    judge_free(cfg->answer);
    cfg->answer = NULL;
}

static void answer_reference(void) { conf_print_keys("answer", answer_keys); }

const struct conf_module answer_conf_module = {
    .name = "answer",
    .build = answer_build,
    .free = answer_free,
    .restart_diff = NULL,        /* lexicons change on reload */
    .reference = answer_reference,
};

struct answer_judge *answer_judge_of(const struct apd_config *c) { return c ? c->answer : NULL; }

/* ---- judging ---- */

/* A date or a year written in digits: "11.03.2021", "15.10", "в 2024 году". */
static bool has_digit_date(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]) || (i > 0 && isdigit((unsigned char)s[i - 1])))
            continue;
        size_t n = i;
        while (n < len && isdigit((unsigned char)s[n]))
            n++;
        size_t digits = n - i;
        if (digits <= 2 && n + 2 < len && s[n] == '.' && isdigit((unsigned char)s[n + 1]) &&
            isdigit((unsigned char)s[n + 2]) && (n + 3 >= len || !isdigit((unsigned char)s[n + 3])))
            return true;
        if (digits == 4 && (s[i] == '2' || (s[i] == '1' && s[i + 1] == '9')))
            return true;
    }
    return false;
}

/* The weight the last match gave each section of interest. */
static void section_scores(const struct answer_judge *j, const int *secs, int n, double *out)
{
    for (int s = 0; s < n; s++)
        out[s] = 0;
    for (size_t i = 0; i < j->m->nhits; i++) {
        const struct lex_entry *e = &j->lx->entries[j->m->hits[i].entry];
        for (int s = 0; s < n; s++)
            if (secs[s] >= 0 && e->section == (uint32_t)secs[s])
                out[s] += e->weight;
    }
}

static void match(struct answer_judge *j, const char *text, size_t len)
{
    const struct apd_text *t = text_analyze_owned(j->ta, text ? text : "", text ? len : 0);
    lex_match(j->m, t);
    text_release(t);
}

void answer_judge_text(struct answer_judge *j, const char *text, size_t len,
                       unsigned attachments, struct answer_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (j == NULL)
        return;
    double sc[SIG_N];
    match(j, text, len);
    section_scores(j, j->sec, SIG_N, sc);
    if (text && has_digit_date(text, len))
        sc[SIG_TERM] += j->date_weight;
    for (int s = 0; s < SIG_N; s++)
        if (sc[s] > 0)
            v->reasons |= sig_bits[s];
    double good = sc[SIG_TERM] + sc[SIG_ACTION];
    if (attachments) {
        good += j->attachment_weight;
        v->reasons |= AR_ATTACHMENT;
    }
    double bad = sc[SIG_REDIRECT] + sc[SIG_LAW] + sc[SIG_ELSEWHERE];
    /* a refusal declines; "not ours, write there" is a redirect */
    if (sc[SIG_REFUSAL] >= j->refusal_min && sc[SIG_ACTION] < j->action_min &&
        sc[SIG_REFUSAL] >= sc[SIG_REDIRECT] + sc[SIG_ELSEWHERE])
        v->quality = AQ_REFUSAL;
    else if (good - j->formal_factor * bad >= j->substantive_min)
        v->quality = AQ_SUBSTANTIVE;
    else
        v->quality = AQ_FORMAL;
    if (sc[SIG_TERM] <= 0 && sc[SIG_ACTION] <= 0 && !attachments)
        v->reasons |= AR_EMPTY;
}

enum followup answer_followup(struct answer_judge *j, const char *text, size_t len)
{
    if (j == NULL)
        return FU_UPDATE;
    double sc[FU_N];
    match(j, text, len);
    section_scores(j, j->fu_sec, FU_N, sc);
    /* "спасибо, но до сих пор не сделали": the complaint wins */
    if (sc[FU_REOPEN] >= j->followup_min && sc[FU_REOPEN] >= sc[FU_CONFIRM])
        return FU_REOPEN;
    if (sc[FU_CONFIRM] >= j->followup_min)
        return FU_CONFIRM;
    return FU_UPDATE;
}

/* ---- names ---- */

const char *answer_quality_name(enum answer_quality q)
{
    switch (q) {
    case AQ_SUBSTANTIVE: return "substantive";
    case AQ_FORMAL: return "formal";
    case AQ_REFUSAL: return "refusal";
    default: return NULL;
    }
}

enum answer_quality answer_quality_parse(const char *s)
{
    for (int q = AQ_SUBSTANTIVE; s && q <= AQ_REFUSAL; q++)
        if (strcmp(s, answer_quality_name((enum answer_quality)q)) == 0)
            return (enum answer_quality)q;
    return AQ_NONE;
}

const char *answer_reason_name(unsigned bit)
{
    for (int i = 0; i < AR_COUNT; i++)
        if (bit == 1u << i)
            return reason_names[i];
    return "?";
}

void answer_reasons_text(unsigned reasons, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < AR_COUNT && n < len; i++)
        if (reasons & 1u << i) {
            int k = snprintf(out + n, len - n, "%s%s", n ? "," : "", reason_names[i]);
            if (k < 0)
                break;
            n += (size_t)k;
        }
}

unsigned answer_reasons_parse(const char *s)
{
    unsigned r = 0;
    while (s && *s) {
        size_t n = strcspn(s, ",");
        for (int i = 0; i < AR_COUNT; i++)
            if (strlen(reason_names[i]) == n && strncmp(s, reason_names[i], n) == 0)
                r |= 1u << i;
        s += n + (s[n] == ',');
    }
    return r;
}

void answer_reasons_json(struct jw *w, unsigned reasons)
{
    jw_arr(w);
    for (int i = 0; i < AR_COUNT; i++)
        if (reasons & 1u << i)
            jw_str(w, reason_names[i]);
    jw_arr_end(w);
}

const char *followup_name(enum followup f)
{
    static const char *const names[FU_N] = {"reopen", "confirm", "update"};
    return f < FU_N ? names[f] : "update";
}
