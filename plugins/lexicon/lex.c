/* Reading lexicon files (the format is described in lex.h). */
#include "lex.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lexint.h"
#include "sbuf.h"

struct loader {
    struct lex *lx;
    const struct apd_host_api *api;
    void *handle;
    const struct lex_schema *schema;
    struct strmap term_ids;     /* identity "kind neg : key" -> id+1 (load time only) */
    struct strmap entry_ids;    /* "section flags term,term..." -> entry id+1 */
    struct short_word {         /* a term of a short stem and a word written for it */
        uint32_t term;
        char *word, *stem;
    } *shorts;
    size_t nshorts, shorts_cap;
    char **where;               /* per term: "FILE:LINE" of a prefix term, else NULL */
    size_t where_cap;
    const char *file;
    int line;
    int cur_section;            /* -1: none yet */
    int cur_rule;               /* -1 unless inside [rule NAME] */
    size_t rule_cap;            /* capacity of lx->rule_entries */
    char *err;
    size_t errlen;
    bool failed;
};

static void fail(struct loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct loader *L, const char *fmt, ...)
{
    if (L->failed)
        return;
    L->failed = true;
    int n = snprintf(L->err, L->errlen, "%s:%d: ", L->file, L->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < L->errlen)
        vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

void *lex_grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(p, c * size);
    if (q == NULL)
        abort();
    *cap = c;
    return q;
}

void lex_ids_add(struct lex_ids *s, uint32_t id)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i] == id)
            return;
    size_t cap = s->cap;
    s->v = lex_grow(s->v, &cap, s->n + 1, sizeof(*s->v));
    s->cap = (uint32_t)cap;
    s->v[s->n++] = id;
}

static struct lex_ids *ids_at(struct wordmap *m, const char *key)
{
    struct lex_ids *s = wordmap_get(m, key, strlen(key));
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            abort();
        wordmap_put(m, key, strlen(key), s);
    }
    return s;
}

void lex_ids_free(void *p)
{
    struct lex_ids *s = p;
    free(s->v);
    free(s);
}

size_t lex_cps(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

/* ---- sections ---- */

static int section_index(struct lex *lx, const char *type, const char *code)
{
    for (size_t i = 0; i < lx->nsections; i++)
        if (strcmp(lx->sections[i].type, type) == 0 &&
            ((code == NULL && lx->sections[i].code == NULL) ||
             (code && lx->sections[i].code && strcmp(lx->sections[i].code, code) == 0)))
            return (int)i;
    return -1;
}

static int section_add(struct lex *lx, const char *type, const char *code)
{
    int i = section_index(lx, type, code);
    if (i >= 0)
        return i;
    size_t cap = lx->nsections;
    lx->sections = realloc(lx->sections, (cap + 1) * sizeof(*lx->sections));
    if (lx->sections == NULL)
        abort();
    lx->sections[lx->nsections].type = strdup(type);
    lx->sections[lx->nsections].code = code ? strdup(code) : NULL;
    return (int)lx->nsections++;
}

/* Built-in section types, beside the plugin's own. */
static const struct lex_schema builtin[] = {
    {"param", false, false, false}, {"rule", true, false, false}, {"known", false, true, false},
    {"function", false, true, false}, {"common", false, true, false},
    {NULL, false, false, false},
};

static const struct lex_schema *schema_find(const struct lex_schema *s, const char *type)
{
    for (size_t i = 0; builtin[i].type; i++)
        if (strcmp(builtin[i].type, type) == 0)
            return &builtin[i];
    for (size_t i = 0; s && s[i].type; i++)
        if (strcmp(s[i].type, type) == 0)
            return &s[i];
    return NULL;
}

static void parse_header(struct loader *L, char *s)
{
    char *end = strchr(s, ']');
    if (end == NULL || trim(end + 1)[0] != '\0') {
        fail(L, "a section header looks like [category roads]");
        return;
    }
    *end = '\0';
    char *type = trim(s + 1), *code = NULL;
    char *sp = strpbrk(type, " \t");
    if (sp) {
        *sp = '\0';
        code = trim(sp + 1);
        if (*code == '\0')
            code = NULL;
    }
    const struct lex_schema *sc = schema_find(L->schema, type);
    if (sc == NULL) {
        fail(L, "unknown section type '%s'", type);
        return;
    }
    if (sc->has_code && code == NULL) {
        fail(L, "[%s] needs a code or name: [%s NAME]", type, type);
        return;
    }
    if (!sc->has_code && code) {
        fail(L, "[%s] takes no code ('%s')", type, code);
        return;
    }
    L->cur_rule = -1;
    if (strcmp(type, "rule") == 0) {
        struct lex *lx = L->lx;
        for (size_t i = 0; i < lx->nrules; i++)
            if (strcmp(lx->rules[i].name, code) == 0) {
                fail(L, "rule '%s' is defined twice", code);
                return;
            }
        lx->rules = realloc(lx->rules, (lx->nrules + 1) * sizeof(*lx->rules));
        if (lx->rules == NULL)
            abort();
        memset(&lx->rules[lx->nrules], 0, sizeof(lx->rules[0]));
        lx->rules[lx->nrules].name = strdup(code);
        L->cur_rule = (int)lx->nrules++;
    }
    L->cur_section = section_add(L->lx, type, code);
}

/* ---- phrases ---- */

static void add_key(struct lex *lx, char kind, const char *word, uint32_t id)
{
    char *key;
    if (asprintf(&key, "%c:%s", kind, word) < 0)
        abort();
    lex_ids_add(ids_at(&lx->term_by_key, key), id);
    free(key);
}

/* Where a prefix term is written: "FILE:LINE, FILE:LINE", the first few. */
static void add_where(struct loader *L, uint32_t id)
{
    char *old = L->where[id], *w = NULL;
    size_t commas = 0;
    for (const char *p = old; p && *p; p++)
        commas += *p == ',';
    int r;
    if (old == NULL)
        r = asprintf(&w, "%s:%d", L->file, L->line);
    else if (commas < 3)
        r = asprintf(&w, "%s, %s:%d", old, L->file, L->line);
    else if (strstr(old, "...") == NULL)
        r = asprintf(&w, "%s, ...", old);
    else
        return;
    if (r < 0)
        abort();
    free(old);
    L->where[id] = w;
}

/* The term of key; a word of a short stem (short_stem not NULL) is a term
 * of its own, apart from the exact form ("=воды") and from other words of
 * the same stem ("сво" and "своими"), since its [common] forms are its own:
 * all the forms of one [common] word with that stem are one term ("яма",
 * "ямы" and "ям" written in one section are one phrase). */
static uint32_t term_id(struct loader *L, const char *key, int kind, int neg,
                        const char *short_stem)
{
    static const char kinds[] = "swp", negs[] = "_!~";
    struct lex *lx = L->lx;
    char *ident;
    const struct lex_common *c = short_stem ? wordmap_get(&lx->common, key, strlen(key)) : NULL;
    int n = c && c->lines.n ? asprintf(&ident, "x%c:#%u:%s", negs[neg], c->lines.v[0], short_stem)
            : asprintf(&ident, "%c%c:%s", short_stem ? 'x' : kinds[kind], negs[neg], key);
    if (n < 0)
        abort();
    uintptr_t got = (uintptr_t)strmap_get(&L->term_ids, ident);
    if (got) {
        free(ident);
        if (short_stem)
            add_key(lx, 'w', key, (uint32_t)(got - 1));
        if (kind == LEX_PREFIX)
            add_where(L, (uint32_t)(got - 1));
        return (uint32_t)(got - 1);
    }
    size_t cap = lx->nterms;
    lx->terms = realloc(lx->terms, (cap + 1) * sizeof(*lx->terms));
    if (lx->terms == NULL)
        abort();
    struct lex_term *t = &lx->terms[lx->nterms];
    t->key = strdup(key);
    t->kind = (uint8_t)kind;
    t->neg = (uint8_t)neg;
    t->cps = (uint16_t)lex_cps(key);
    t->flags = 0;
    uint32_t id = (uint32_t)lx->nterms++;
    strmap_put(&L->term_ids, ident, (void *)(uintptr_t)(id + 1));
    L->where = lex_grow(L->where, &L->where_cap, lx->nterms, sizeof(*L->where));
    L->where[id] = NULL;
    if (kind == LEX_PREFIX)
        add_where(L, id);
    if (short_stem) {
        t->flags = LEX_TERM_SHORT;
        add_key(lx, 'w', key, id);
        L->shorts = lex_grow(L->shorts, &L->shorts_cap, L->nshorts + 1, sizeof(*L->shorts));
        L->shorts[L->nshorts].term = id;
        L->shorts[L->nshorts].stem = strdup(short_stem);
        L->shorts[L->nshorts++].word = strdup(key);
    } else {
        /* lookups ignore the negation requirement: "s:вод" finds вод, !вод, ~вод */
        ident[1] = ':';
        memmove(ident + 1, ident + 2, strlen(ident + 2) + 1);
        lex_ids_add(ids_at(&lx->term_by_key, ident), id);
    }
    if (kind == LEX_PREFIX) {
        wordmap_put(&lx->prefixes, key, strlen(key), (void *)1);
        if (lx->min_prefix_cps == 0 || t->cps < lx->min_prefix_cps)
            lx->min_prefix_cps = t->cps;
    }
    free(ident);
    return id;
}

static void seq_add(struct lex *lx, uint32_t id, size_t *cap)
{
    lx->seq = lex_grow(lx->seq, cap, lx->nseq + 1, sizeof(*lx->seq));
    lx->seq[lx->nseq++] = id;
}

/* One word of a phrase with its modifiers; appends its terms to lx->seq. */
static int compile_word(struct loader *L, char *w, bool first, uint8_t *eflags, size_t *seqcap)
{
    int neg = LEX_NEG_ANY;
    bool exact = false, prefix = false;
    for (;; w++) {
        if (*w == '!')
            neg = LEX_NEG_ONLY;
        else if (*w == '~')
            neg = LEX_NEG_NEVER;
        else if (*w == '=')
            exact = true;
        else if (*w == '@' && first)
            *eflags |= LEX_ENTRY_MARKER;
        else
            break;
    }
    size_t n = strlen(w);
    if (n > 0 && w[n - 1] == '*') {
        prefix = true;
        w[--n] = '\0';
    }
    if (n == 0 || strpbrk(w, "!~=@*")) {
        fail(L, "'%s': modifiers are !, ~, = and @ before a word and * after it", w);
        return -1;
    }
    const struct apd_text *t = L->api->text_analyze(L->handle, w, n);
    if (t == NULL)
        abort();
    if (t->ntokens == 0) {
        fail(L, "'%s' has no word in it", w);
        L->api->text_free(L->handle, t);
        return -1;
    }
    for (size_t i = 0; i < t->ntokens; i++) {
        const struct apd_token *tk = &t->tokens[i];
        bool last = i + 1 == t->ntokens;
        int kind = prefix && last ? LEX_PREFIX : exact ? LEX_WORD : LEX_STEM;
        /* A stem of three letters or fewer stands for too many words
         * ("доу" → "до"; "семья" and "семена" are both "сем", "своих" and
         * "СВО" both "сво"): such a word matches as written and in the forms
         * its [common] line gives it ("газ": "газа", "газом"). */
        bool short_stem = kind == LEX_STEM && lex_cps(tk->stem) <= 3;
        if (short_stem)
            kind = LEX_WORD;
        const char *key = kind == LEX_STEM ? tk->stem : tk->word;
        if (kind == LEX_PREFIX && lex_cps(key) < 3) {
            fail(L, "'%s*': a prefix needs three letters at least", w);
            break;
        }
        seq_add(L->lx, term_id(L, key, kind, neg, short_stem ? tk->stem : NULL), seqcap);
    }
    L->api->text_free(L->handle, t);
    return L->failed ? -1 : 0;
}

/* Compiles a phrase into a new entry of section sec; returns its id or -1. */
static int compile_phrase(struct loader *L, const char *phrase, int sec, float weight,
                          size_t *seqcap, size_t *entcap)
{
    struct lex *lx = L->lx;
    char *copy = strdup(phrase);
    if (copy == NULL)
        abort();
    size_t first = lx->nseq;
    uint8_t flags = 0;
    bool first_word = true;
    for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (compile_word(L, w, first_word, &flags, seqcap) != 0)
            break;
        first_word = false;
    }
    free(copy);
    if (L->failed)
        return -1;
    if (lx->nseq == first) {
        fail(L, "empty phrase");
        return -1;
    }
    if (lx->nseq - first > 16) {
        fail(L, "'%s': a phrase has at most 16 words", phrase);
        return -1;
    }
    /* The same phrase again in the same section: a later line (or file)
     * sets its weight, so operators can re-weigh a shipped phrase. */
    struct sbuf key = SBUF_INIT;
    sbuf_printf(&key, "%d %u", sec, flags);
    for (size_t i = first; i < lx->nseq; i++)
        sbuf_printf(&key, " %u", lx->seq[i]);
    uintptr_t dup = (uintptr_t)strmap_get(&L->entry_ids, key.p);
    if (dup) {
        lx->nseq = first;
        lx->entries[dup - 1].weight = weight;
        sbuf_free(&key);
        return (int)(dup - 1);
    }
    strmap_put(&L->entry_ids, key.p, (void *)(uintptr_t)(lx->nentries + 1));
    sbuf_free(&key);
    lx->entries = lex_grow(lx->entries, entcap, lx->nentries + 1, sizeof(*lx->entries));
    struct lex_entry *e = &lx->entries[lx->nentries];
    e->section = (uint32_t)sec;
    e->weight = weight;
    e->first = (uint32_t)first;
    e->nterms = (uint16_t)(lx->nseq - first);
    e->flags = flags;
    e->text = strdup(phrase);
    e->label = NULL;
    return (int)lx->nentries++;
}

/* ---- lines ---- */

static bool parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *trim(end) != '\0' || errno)
        return false;
    *out = v;
    return true;
}

static void word_list(struct loader *L, char *s, struct wordmap *set)
{
    for (char *save = NULL, *w = strtok_r(s, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
        const struct apd_text *t = L->api->text_analyze(L->handle, w, strlen(w));
        if (t == NULL)
            abort();
        for (size_t i = 0; i < t->ntokens; i++)
            wordmap_put(set, t->tokens[i].word, t->tokens[i].wlen, (void *)1);
        L->api->text_free(L->handle, t);
    }
}

/* "семья семьи семье семью семьей": one word with its forms; "вчера,
 * сегодня": words of one form each. */
static void common_word(struct loader *L, char *s);

static void common_line(struct loader *L, char *s)
{
    for (char *save = NULL, *w = strtok_r(s, ",", &save); w; w = strtok_r(NULL, ",", &save))
        if (*trim(w))
            common_word(L, w);
}

static void common_word(struct loader *L, char *s)
{
    struct lex *lx = L->lx;
    const struct apd_text *t = L->api->text_analyze(L->handle, s, strlen(s));
    if (t == NULL)
        abort();
    uint32_t line = (uint32_t)lx->ncommon;
    lx->common_first = lex_grow(lx->common_first, &lx->common_first_cap, lx->ncommon + 2,
                                sizeof(*lx->common_first));
    lx->common_first[0] = 0;
    for (size_t i = 0; i < t->ntokens; i++) {
        const struct apd_token *tk = &t->tokens[i];
        struct lex_common *c = wordmap_get(&lx->common, tk->word, tk->wlen);
        if (c == NULL) {
            c = calloc(1, sizeof(*c));
            if (c == NULL || (c->stem = strdup(tk->stem)) == NULL)
                abort();
            wordmap_put(&lx->common, tk->word, tk->wlen, c);
        }
        lex_ids_add(&c->lines, line);
        lx->common_forms = lex_grow(lx->common_forms, &lx->common_forms_cap,
                                    lx->ncommon_forms + 1, sizeof(*lx->common_forms));
        lx->common_forms[lx->ncommon_forms++] = strdup(tk->word);
    }
    L->api->text_free(L->handle, t);
    lx->common_first[line + 1] = (uint32_t)lx->ncommon_forms;
    lx->ncommon++;
}

static void param_line(struct loader *L, char *s)
{
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        fail(L, "a [param] line is NAME = VALUE");
        return;
    }
    *eq = '\0';
    char *name = trim(s), *value = trim(eq + 1);
    struct lex *lx = L->lx;
    lx->params = realloc(lx->params, (lx->nparams + 1) * sizeof(*lx->params));
    if (lx->params == NULL)
        abort();
    struct lex_param *p = &lx->params[lx->nparams++];
    p->name = strdup(name);
    p->value = strdup(value);
    p->is_num = parse_number(value, &p->num);
    if (asprintf(&p->where, "%s:%d", L->file, L->line) < 0)
        abort();
}

static void term_line(struct loader *L, char *s, size_t *seqcap, size_t *entcap)
{
    double w = 1;
    char *label = NULL;
    char *colon = strstr(s, " : ");
    if (colon) {
        *colon = '\0';
        label = trim(colon + 3);
        if (*label == '\0') {
            fail(L, "an empty label after ' : '");
            return;
        }
    }
    char *eq = strrchr(s, '=');
    /* "=газ" is an exact-form word, "газ = 2" a weight: a weight follows spaces */
    if (eq && eq > s && (eq[-1] == ' ' || eq[-1] == '\t')) {
        if (!parse_number(trim(eq + 1), &w)) {
            fail(L, "'%s' is not a weight (a number such as 2 or -1.5)", trim(eq + 1));
            return;
        }
        *eq = '\0';
    }
    int e = compile_phrase(L, trim(s), L->cur_section, (float)w, seqcap, entcap);
    if (e >= 0 && label) {
        free(L->lx->entries[e].label);
        L->lx->entries[e].label = strdup(label);
    }
}

static void rule_line(struct loader *L, char *s, size_t *seqcap, size_t *entcap);

/* "bit.ly = 2": kept as written, for the plugin to use. */
static void raw_line(struct loader *L, char *s, size_t *entcap)
{
    struct lex *lx = L->lx;
    double w = 1;
    char *eq = strrchr(s, '=');
    if (eq && eq > s && (eq[-1] == ' ' || eq[-1] == '\t')) {
        if (!parse_number(trim(eq + 1), &w)) {
            fail(L, "'%s' is not a weight", trim(eq + 1));
            return;
        }
        *eq = '\0';
    }
    char *text = trim(s);
    if (*text == '\0' || strpbrk(text, " \t")) {
        fail(L, "a line here is one item and an optional weight");
        return;
    }
    lx->entries = lex_grow(lx->entries, entcap, lx->nentries + 1, sizeof(*lx->entries));
    struct lex_entry *e = &lx->entries[lx->nentries++];
    memset(e, 0, sizeof(*e));
    e->section = (uint32_t)L->cur_section;
    e->weight = (float)w;
    e->first = (uint32_t)lx->nseq;
    e->text = strdup(text);
}

/* "пос поселок п станица": each word an entry of weight 1. */
static void list_line(struct loader *L, char *s, size_t *seqcap, size_t *entcap)
{
    for (char *save = NULL, *w = strtok_r(s, " \t,", &save); w && !L->failed;
         w = strtok_r(NULL, " \t,", &save))
        compile_phrase(L, w, L->cur_section, 1, seqcap, entcap);
}

static void parse_line(struct loader *L, char *line, size_t *seqcap, size_t *entcap)
{
    char *s = trim(line);
    char *hash = strstr(s, " #");
    if (hash)
        *hash = '\0';
    s = trim(s);
    if (*s == '\0' || *s == '#')
        return;
    if (*s == '[') {
        parse_header(L, s);
        return;
    }
    if (L->cur_section < 0) {
        fail(L, "a line before the first [section]");
        return;
    }
    const char *type = L->lx->sections[L->cur_section].type;
    if (strcmp(type, "param") == 0)
        param_line(L, s);
    else if (strcmp(type, "rule") == 0)
        rule_line(L, s, seqcap, entcap);
    else if (strcmp(type, "known") == 0)
        word_list(L, s, &L->lx->known);
    else if (strcmp(type, "function") == 0)
        word_list(L, s, &L->lx->function);
    else if (strcmp(type, "common") == 0)
        common_line(L, s);
    else if (schema_find(L->schema, type)->is_raw)
        raw_line(L, s, entcap);
    else if (schema_find(L->schema, type)->is_list)
        list_line(L, s, seqcap, entcap);
    else
        term_line(L, s, seqcap, entcap);
}

/* ---- rules ---- */

static void rule_entries_add(struct loader *L, uint32_t id)
{
    struct lex *lx = L->lx;
    lx->rule_entries = lex_grow(lx->rule_entries, &L->rule_cap, lx->nrule_entries + 1,
                                sizeof(*lx->rule_entries));
    lx->rule_entries[lx->nrule_entries++] = id;
}

/* Actions: "category roads +3; kind complaint +1". */
static void rule_then(struct loader *L, struct lex_rule *r, char *v)
{
    for (char *save = NULL, *a = strtok_r(v, ";", &save); a; a = strtok_r(NULL, ";", &save)) {
        char type[64], code[128], wtxt[64];
        if (sscanf(a, " %63s %127s %63s", type, code, wtxt) != 3) {
            fail(L, "rule %s: an action is TYPE CODE +WEIGHT ('%s')", r->name, trim(a));
            return;
        }
        const struct lex_schema *sc = schema_find(L->schema, type);
        double w;
        if (sc == NULL || !sc->has_code || strcmp(type, "rule") == 0) {
            fail(L, "rule %s: '%s' is not a section type an action can add to", r->name, type);
            return;
        }
        if (!parse_number(wtxt, &w)) {
            fail(L, "rule %s: '%s' is not a weight", r->name, wtxt);
            return;
        }
        r->actions = realloc(r->actions, (r->nactions + 1) * sizeof(*r->actions));
        if (r->actions == NULL)
            abort();
        r->actions[r->nactions].section = (uint32_t)section_add(L->lx, type, code);
        r->actions[r->nactions++].weight = (float)w;
    }
}

static void rule_line(struct loader *L, char *s, size_t *seqcap, size_t *entcap)
{
    struct lex *lx = L->lx;
    struct lex_rule *r = &lx->rules[L->cur_rule];
    char *eq = strchr(s, '=');
    if (eq == NULL) {
        fail(L, "rule %s: lines are if/and/unless/then = ...", r->name);
        return;
    }
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    if (strcmp(key, "then") == 0) {
        rule_then(L, r, val);
        return;
    }
    bool is_if = strcmp(key, "if") == 0, is_and = strcmp(key, "and") == 0;
    if (!is_if && !is_and && strcmp(key, "unless") != 0) {
        fail(L, "rule %s: unknown key '%s' (if, and, unless, then)", r->name, key);
        return;
    }
    if ((is_if && r->ngroups > 0) || (is_and && r->ngroups == 0) ||
        (!is_if && !is_and && r->unless_n)) {
        fail(L, "rule %s: write one `if` first, then any `and`s, then at most one `unless`",
             r->name);
        return;
    }
    if (r->unless_n && is_and) {
        fail(L, "rule %s: `and` after `unless`", r->name);
        return;
    }
    /* Rule phrases are entries of the rule's own section, weight 0. */
    int sec = section_add(lx, "rule", r->name);
    uint32_t start = (uint32_t)lx->nrule_entries;
    for (char *save = NULL, *p = strtok_r(val, "|", &save); p; p = strtok_r(NULL, "|", &save)) {
        int e = compile_phrase(L, trim(p), sec, 0, seqcap, entcap);
        if (e < 0)
            return;
        rule_entries_add(L, (uint32_t)e);
    }
    if (is_if || is_and) {
        r->group_first = realloc(r->group_first, (r->ngroups + 2) * sizeof(uint32_t));
        if (r->group_first == NULL)
            abort();
        r->group_first[r->ngroups] = start;
        r->group_first[r->ngroups + 1] = (uint32_t)lx->nrule_entries;
        r->ngroups++;
    } else {
        r->unless_first = start;
        r->unless_n = (uint32_t)lx->nrule_entries - start;
    }
}

/* ---- files ---- */

static void load_file(struct loader *L, const char *path, size_t *seqcap, size_t *entcap)
{
    FILE *f = fopen(path, "r");
    L->file = path;
    L->line = 0;
    if (f == NULL) {
        fail(L, "cannot open: %s", strerror(errno));
        return;
    }
    L->cur_section = -1;
    L->cur_rule = -1;
    char *line = NULL;
    size_t cap = 0;
    while (!L->failed && getline(&line, &cap, f) >= 0) {
        L->line++;
        parse_line(L, line, seqcap, entcap);
    }
    free(line);
    fclose(f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_path(struct loader *L, const char *path, size_t *seqcap, size_t *entcap)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        L->file = path;
        L->line = 0;
        fail(L, "cannot read: %s", strerror(errno));
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        load_file(L, path, seqcap, entcap);
        return;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        L->file = path;
        fail(L, "cannot list: %s", strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".lex") == 0 && de->d_name[0] != '.') {
            names = lex_grow(names, &cap, n + 1, sizeof(*names));
            if (asprintf(&names[n++], "%s/%s", path, de->d_name) < 0)
                abort();
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n && !L->failed; i++)
        load_file(L, names[i], seqcap, entcap);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* ---- indexes ---- */

static void check_rules(struct loader *L)
{
    for (size_t i = 0; i < L->lx->nrules && !L->failed; i++) {
        const struct lex_rule *r = &L->lx->rules[i];
        if (r->ngroups == 0 || r->nactions == 0) {
            L->line = 0;
            L->file = "lexicon";
            fail(L, "rule %s needs an `if` and a `then`", r->name);
        }
    }
}

static void build_term_is(struct lex *lx)
{
    lx->term_is = calloc(lx->nterms + 1, 1);
    if (lx->term_is == NULL)
        abort();
    for (size_t e = 0; e < lx->nentries; e++) {
        const struct lex_entry *en = &lx->entries[e];
        if (en->nterms != 1)
            continue;
        const char *type = lx->sections[en->section].type;
        if (strcmp(type, "marker") == 0)
            lx->term_is[lx->seq[en->first]] |= LEX_IS_MARKER;
        else if (strcmp(type, "street") == 0)
            lx->term_is[lx->seq[en->first]] |= LEX_IS_STREET;
        else if (strcmp(type, "landmark") == 0)
            lx->term_is[lx->seq[en->first]] |= LEX_IS_LANDMARK;
    }
}

static void build_starts(struct lex *lx)
{
    lx->starts = calloc(lx->nterms + 1, sizeof(*lx->starts));
    lx->nstarts = calloc(lx->nterms + 1, sizeof(*lx->nstarts));
    size_t *caps = calloc(lx->nterms + 1, sizeof(*caps));
    if (lx->starts == NULL || lx->nstarts == NULL || caps == NULL)
        abort();
    for (size_t e = 0; e < lx->nentries; e++) {
        if (lx->entries[e].nterms == 0)
            continue;                 /* raw entries match no words */
        uint32_t t = lx->seq[lx->entries[e].first];
        if (lx->entries[e].nterms == 1)
            lx->terms[t].flags |= LEX_TERM_ENTRY;
        lx->starts[t] = lex_grow(lx->starts[t], &caps[t], lx->nstarts[t] + 1, sizeof(uint32_t));
        lx->starts[t][lx->nstarts[t]++] = (uint32_t)e;
    }
    free(caps);
}

/* Short stems match as written and in the forms of their [common] lines
 * that have the same stem ("дали" in "дал", "дала", not in "дам"): "w:FORM"
 * keys for every such form. */
static void expand_short(struct loader *L)
{
    struct lex *lx = L->lx;
    for (size_t i = 0; i < L->nshorts; i++) {
        const struct short_word *s = &L->shorts[i];
        add_key(lx, 'w', s->word, s->term);
        const struct lex_common *c = wordmap_get(&lx->common, s->word, strlen(s->word));
        for (uint32_t k = 0; c && k < c->lines.n; k++) {
            uint32_t line = c->lines.v[k];
            for (uint32_t f = lx->common_first[line]; f < lx->common_first[line + 1]; f++) {
                const char *form = lx->common_forms[f];
                const struct lex_common *fc = wordmap_get(&lx->common, form, strlen(form));
                if (fc && strcmp(fc->stem, s->stem) == 0)
                    add_key(lx, 'w', form, s->term);
            }
        }
    }
}

struct catch {
    uint32_t term;
    const char *word;
};

struct catch_list {
    struct catch *v;
    size_t n, cap;
};

static void collect_catch(void *arg, uint32_t term, const char *word)
{
    struct catch_list *c = arg;
    c->v = lex_grow(c->v, &c->cap, c->n + 1, sizeof(*c->v));
    c->v[c->n].term = term;
    c->v[c->n++].word = word;
}

static int cmp_catch(const void *a, const void *b)
{
    const struct catch *x = a, *y = b;
    if (x->term != y->term)
        return x->term < y->term ? -1 : 1;
    return strcmp(x->word, y->word);
}

/* One warning per prefix term that catches frequent words: the matcher
 * refuses those, and the prefix is better written so it does not. */
static void report_catches(struct loader *L)
{
    const struct apd_host_api *api = L->api;
    if (api->log == NULL || L->lx->common.n == 0)
        return;
    struct catch_list c = {0};
    if (lex_prefix_catches(L->lx, collect_catch, &c) == 0)
        return;
    qsort(c.v, c.n, sizeof(*c.v), cmp_catch);
    for (size_t i = 0, j; i < c.n; i = j) {
        struct sbuf words = SBUF_INIT;
        for (j = i; j < c.n && c.v[j].term == c.v[i].term; j++)
            if (j - i < 6)
                sbuf_printf(&words, "%s%s", j > i ? ", " : "", c.v[j].word);
        const char *where = L->where[c.v[i].term];
        api->log(L->handle, APD_LOG_WARN,
                 "prefix '%s*' (%s) would catch %zu frequent word%s it is not meant for "
                 "(%s%s): the matcher refuses %s; write the words it means instead",
                 L->lx->terms[c.v[i].term].key, where ? where : "lexicon", j - i,
                 j - i == 1 ? "" : "s", words.p ? words.p : "", j - i > 6 ? ", ..." : "",
                 j - i == 1 ? "it" : "them");
        sbuf_free(&words);
    }
    free(c.v);
}

static void loader_free(struct loader *L)
{
    strmap_free(&L->term_ids);
    strmap_free(&L->entry_ids);
    for (size_t i = 0; i < L->nshorts; i++) {
        free(L->shorts[i].word);
        free(L->shorts[i].stem);
    }
    free(L->shorts);
    for (size_t i = 0; L->where && i < L->lx->nterms; i++)
        free(L->where[i]);
    free(L->where);
}

struct lex *lex_load(const struct apd_host_api *api, void *handle,
                     const struct lex_schema *schema, const char *const *paths, size_t npaths,
                     unsigned fuzzy_min_cps, char *err, size_t errlen)
{
    if (api->struct_size < offsetof(struct apd_host_api, text_free) + sizeof(void *) ||
        api->text_analyze == NULL || api->text_free == NULL) {
        snprintf(err, errlen, "this appealsd offers no text analysis to plugins (ABI 1.1 "
                 "needed)");
        return NULL;
    }
    struct lex *lx = calloc(1, sizeof(*lx));
    if (lx == NULL)
        abort();
    lx->fuzzy_min_cps = fuzzy_min_cps;
    struct loader L = {.lx = lx, .api = api, .handle = handle, .schema = schema,
                       .cur_section = -1, .cur_rule = -1, .err = err, .errlen = errlen};
    size_t seqcap = 0, entcap = 0;
    for (size_t i = 0; i < npaths && !L.failed; i++)
        load_path(&L, paths[i], &seqcap, &entcap);
    check_rules(&L);
    if (L.failed) {
        loader_free(&L);
        lex_free(lx);
        return NULL;
    }
    build_starts(lx);
    build_term_is(lx);
    expand_short(&L);
    lex_build_fuzzy(lx);
    report_catches(&L);
    loader_free(&L);
    return lx;
}

static void common_free(void *p)
{
    struct lex_common *c = p;
    free(c->lines.v);
    free(c->stem);
    free(c);
}

bool lex_is_common(const struct lex *lx, const char *word, size_t len)
{
    return lx->common.n > 0 && wordmap_get(&lx->common, word, len) != NULL;
}

void lex_free(struct lex *lx)
{
    if (lx == NULL)
        return;
    for (size_t i = 0; i < lx->nterms; i++)
        free(lx->terms[i].key);
    free(lx->terms);
    free(lx->term_is);
    wordmap_clear(&lx->term_by_key, lex_ids_free);
    free(lx->seq);
    for (size_t i = 0; i < lx->nentries; i++) {
        free(lx->entries[i].text);
        free(lx->entries[i].label);
    }
    free(lx->entries);
    for (size_t i = 0; lx->starts && i < lx->nterms; i++)
        free(lx->starts[i]);
    free(lx->starts);
    free(lx->nstarts);
    for (size_t i = 0; i < lx->nsections; i++) {
        free(lx->sections[i].type);
        free(lx->sections[i].code);
    }
    free(lx->sections);
    for (size_t i = 0; i < lx->nrules; i++) {
        free(lx->rules[i].name);
        free(lx->rules[i].group_first);
        free(lx->rules[i].actions);
    }
    free(lx->rules);
    free(lx->rule_entries);
    for (size_t i = 0; i < lx->nparams; i++) {
        free(lx->params[i].name);
        free(lx->params[i].value);
        free(lx->params[i].where);
    }
    free(lx->params);
    wordmap_clear(&lx->prefixes, NULL);
    wordmap_clear(&lx->known, NULL);
    wordmap_clear(&lx->function, NULL);
    wordmap_clear(&lx->common, common_free);
    for (size_t i = 0; i < lx->ncommon_forms; i++)
        free(lx->common_forms[i]);
    free(lx->common_forms);
    free(lx->common_first);
    wordmap_clear(&lx->fuzzy, lex_ids_free);
    free(lx);
}

int lex_section(const struct lex *lx, const char *type, const char *code)
{
    return section_index((struct lex *)lx, type, code);
}

double lex_param(const struct lex *lx, const char *name, double def)
{
    for (size_t i = lx->nparams; i-- > 0;)
        if (strcmp(lx->params[i].name, name) == 0 && lx->params[i].is_num)
            return lx->params[i].num;
    return def;
}

int lex_check_params(const struct lex *lx, const char *const *names, char *err, size_t errlen)
{
    for (size_t i = 0; i < lx->nparams; i++) {
        const struct lex_param *p = &lx->params[i];
        size_t k = 0;
        while (names[k] && strcmp(names[k], p->name) != 0)
            k++;
        if (names[k] == NULL) {
            snprintf(err, errlen, "%s: unknown [param] '%s'", p->where, p->name);
            return -1;
        }
    }
    return 0;
}

const char *lex_param_str(const struct lex *lx, const char *name)
{
    for (size_t i = lx->nparams; i-- > 0;)
        if (strcmp(lx->params[i].name, name) == 0)
            return lx->params[i].value;
    return NULL;
}
