/* Building and validating the [rule "NAME"] sections (see rules.h). */
#include "rules.h"

#include <locale.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "directory.h"
#include "module.h"
#include "route.h"
#include "textfold.h"

/* glibc's regex reads the character set from the locale in effect at
 * regcomp/regexec time.  The daemon never calls setlocale (logs and numbers
 * stay in "C"), so patterns run under a private C.UTF-8 locale: '.' is one
 * character, not one byte, and REG_ICASE folds Cyrillic. */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t rules_locale(void)
{
    pthread_once(&utf8_once, utf8_locale_init);
    return utf8_locale;
}

bool rules_pattern_match(const struct rule_pattern *p, const char *text, char *match,
                         size_t matchlen)
{
    locale_t loc = rules_locale();
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    regmatch_t m[1];
    int rc = regexec(&p->re, text, 1, m, 0);
    if (loc)
        uselocale(old);
    if (rc != 0)
        return false;
    if (match && matchlen) {
        size_t n = (size_t)(m[0].rm_eo - m[0].rm_so);
        if (n >= matchlen)
            n = matchlen - 1;
        memcpy(match, text + m[0].rm_so, n);
        match[n] = '\0';
    }
    return true;
}

#define R(f) offsetof(struct rule, f)
static const char *const rule_actions[] = {"route", "triage", "drop", NULL};
/* The bound keys; `pattern` is read line by line by compile_patterns() (a
 * list would split a regex at its commas), so it is only in the reference. */
#define RULE_KEYS \
    {"source", CT_LIST, R(source), NULL, 0, 0, NULL, 0, "condition: source names"}, \
    {"page", CT_LIST, R(page), NULL, 0, 0, NULL, 0, "condition: pages, as SOURCE:ID"}, \
    {"owner", CT_LIST, R(owner), NULL, 0, 0, NULL, 0, \
     "condition: code of the organisation that owns the page"}, \
    {"owner_type", CT_LIST, R(owner_type), NULL, 0, 0, NULL, 0, \
     "condition: type of the page's owner (cur, ministry, municipality, service)"}, \
    {"item_kind", CT_LIST, R(item_kind), NULL, 0, 0, NULL, 0, \
     "condition: comment, message, suggested_post, ..."}, \
    {"kind", CT_LIST, R(kind), NULL, 0, 0, NULL, 0, \
     "condition: complaint, question, request, gratitude, noise ('unknown': not classified)"}, \
    {"category", CT_LIST, R(category), NULL, 0, 0, NULL, 0, \
     "condition: category codes ('unknown': not classified)"}, \
    {"municipality", CT_LIST, R(municipality), NULL, 0, 0, NULL, 0, \
     "condition: municipality codes ('unknown': none detected)"}, \
    {"priority", CT_LIST, R(priority), NULL, 0, 0, NULL, 0, "condition: critical, high, normal"}, \
    {"keywords", CT_LIST, R(keywords), NULL, 0, 0, NULL, 0, \
     "condition: the text contains one of these (case- and ё-insensitive substrings)"}, \
    {"exclude", CT_LIST, R(exclude), NULL, 0, 0, NULL, 0, \
     "condition: the text contains none of these"}, \
    {"action", CT_ENUM, R(action), "route", 0, 0, rule_actions, 0, \
     "route (to org), triage (the ЦУР's queue) or drop (noise: counted, not routed)"}, \
    {"org", CT_STR, R(org), NULL, 0, 0, NULL, 0, \
     "recipient: a code, @municipality (its administration) or @owner (the page's owner)"}, \
    {"copy", CT_LIST, R(copy), NULL, 0, 0, NULL, 0, \
     "also deliver to these (codes, @municipality, @owner)"}, \
    {"sla_policy", CT_STR, R(sla_policy), NULL, 0, 0, NULL, 0, \
     "SLA policy instead of the recipient's default"}, \
    {"set_priority", CT_STR, R(set_priority), NULL, 0, 0, NULL, 0, \
     "priority instead of the classifier's"},

static const struct conf_key rule_keys[] = {RULE_KEYS {0}};
static const struct conf_key rule_reference_keys[] = {
    RULE_KEYS
    {"pattern", CT_LIST, 0, NULL, 0, 0, NULL, 0,
     "condition: POSIX extended regex on the folded text, case-insensitive; one per line, "
     "repeatable (any matches)"},
    {0},
};

static const struct strlist *cond_lists(const struct rule *r, size_t i)
{
    const struct strlist *v[] = {&r->source,   &r->page,     &r->owner,
                                 &r->owner_type, &r->item_kind, &r->kind,
                                 &r->category, &r->municipality, &r->priority,
                                 &r->keywords, &r->exclude};
    return i < sizeof(v) / sizeof(v[0]) ? v[i] : NULL;
}

static int entry_line(const struct ini_section *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].key, key) == 0)
            return s->e[i].line;
    return s->line;
}

static const char *entry_file(const struct ini_section *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].key, key) == 0)
            return s->e[i].file;
    return s->file;
}

#define RULE_ERR(s, key, ...) diag_add(d, entry_file(s, key), entry_line(s, key), __VA_ARGS__)

static void fold_list(struct strlist *l, const struct ini_section *s, const char *key,
                      const char *label, struct diag *d)
{
    for (size_t i = 0; i < l->n; i++) {
        char *f = text_fold(l->v[i], strlen(l->v[i]), NULL);
        if (f[0] == '\0')
            RULE_ERR(s, key, "%s %s: '%s' is empty once folded", label, key, l->v[i]);
        free(l->v[i]);
        l->v[i] = f;
    }
}

static void compile_patterns(struct rule *r, struct ini_section *s, const char *label,
                             struct diag *d)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].key, "pattern") == 0)
            n++;
    if (n == 0)
        return;
    r->patterns = calloc(n, sizeof(*r->patterns));
    if (r->patterns == NULL)
        abort();
    locale_t loc = rules_locale();
    for (size_t i = 0; i < s->n; i++) {
        struct ini_entry *e = &s->e[i];
        if (strcmp(e->key, "pattern") != 0)
            continue;
        e->used = true;
        /* The text is folded before matching.  Folding the pattern the same
         * way would change its syntax (\\W would become \\w), so it only gets
         * ё → е; REG_ICASE covers the case. */
        char *src = strdup(e->value);
        text_fold_yo(src, strlen(src));
        locale_t old = loc ? uselocale(loc) : (locale_t)0;
        int rc = regcomp(&r->patterns[r->npatterns].re, src,
                         REG_EXTENDED | REG_ICASE | REG_NEWLINE);
        if (loc)
            uselocale(old);
        free(src);
        if (rc != 0) {
            char msg[160];
            regerror(rc, &r->patterns[r->npatterns].re, msg, sizeof(msg));
            diag_add(d, e->file, e->line, "%s pattern: /%s/: %s%s", label, e->value, msg,
                     rc == REG_ECOLLATE ? " (ranges of non-ASCII letters such as [а-я] are not "
                                          "supported: use [[:alpha:]] or list the letters)"
                                        : "");
            continue;
        }
        r->patterns[r->npatterns++].src = strdup(e->value);
    }
}

/* A recipient reference: a known code, @municipality or @owner. */
static void check_recipient(const struct directory *dir, const char *ref,
                            const struct ini_section *s, const char *key, const char *label,
                            struct diag *d)
{
    if (ref[0] == '@') {
        if (strcmp(ref, "@municipality") != 0 && strcmp(ref, "@owner") != 0)
            RULE_ERR(s, key, "%s %s: '%s' is not @municipality or @owner", label, key, ref);
        return;
    }
    if (directory_org(dir, ref) == NULL)
        RULE_ERR(s, key, "%s %s: no organisation '%s'", label, key, ref);
}

static void check_codes(const struct strlist *l, const struct ini_section *s, const char *key,
                        const char *label, struct diag *d)
{
    for (size_t i = 0; i < l->n; i++)
        if (!code_valid(l->v[i]))
            RULE_ERR(s, key, "%s %s: '%s' is not a code (a-z, 0-9, '_', '-')", label, key,
                     l->v[i]);
}

static void validate_rule(struct rule *r, const struct directory *dir,
                          const struct ini_section *s, const char *label, struct diag *d)
{
    const char *const code_keys[] = {"source", "item_kind", "kind", "category",
                                     "municipality", "priority"};
    const struct strlist *code_lists[] = {&r->source,   &r->item_kind,    &r->kind,
                                          &r->category, &r->municipality, &r->priority};
    for (size_t i = 0; i < sizeof(code_keys) / sizeof(code_keys[0]); i++)
        check_codes(code_lists[i], s, code_keys[i], label, d);
    for (size_t i = 0; i < r->page.n; i++) {
        const char *colon = strchr(r->page.v[i], ':');
        char src[64];
        snprintf(src, sizeof(src), "%.*s", colon ? (int)(colon - r->page.v[i]) : 0,
                 r->page.v[i]);
        if (colon == NULL || directory_page(dir, src, colon + 1) == NULL)
            RULE_ERR(s, "page", "%s page: no page '%s' in the directory (write SOURCE:ID)",
                     label, r->page.v[i]);
    }
    for (size_t i = 0; i < r->owner.n; i++)
        if (directory_org(dir, r->owner.v[i]) == NULL)
            RULE_ERR(s, "owner", "%s owner: no organisation '%s'", label, r->owner.v[i]);
    for (size_t i = 0; i < r->owner_type.n; i++) {
        bool ok = false;
        for (int t = ORG_CUR; t <= ORG_SERVICE; t++)
            ok |= strcmp(org_type_name(t), r->owner_type.v[i]) == 0;
        if (!ok)
            RULE_ERR(s, "owner_type", "%s owner_type: '%s' is not one of: cur ministry "
                     "municipality service", label, r->owner_type.v[i]);
    }
    if (r->set_priority && !code_valid(r->set_priority))
        RULE_ERR(s, "set_priority", "%s set_priority: '%s' is not a code", label,
                 r->set_priority);
    switch (r->action) {
    case RULE_ROUTE:
        if (r->org == NULL)
            diag_add(d, s->file, s->line, "%s: says where to route: set org = CODE, "
                     "@municipality or @owner (or action = triage or drop)", label);
        else
            check_recipient(dir, r->org, s, "org", label, d);
        break;
    case RULE_TRIAGE:
    case RULE_DROP:
        if (r->org)
            RULE_ERR(s, "org", "%s org: action = %s takes no org", label,
                     rule_actions[r->action]);
        break;
    }
    if (r->action == RULE_DROP && (r->copy.n || r->sla_policy))
        RULE_ERR(s, r->copy.n ? "copy" : "sla_policy", "%s: action = drop delivers nothing; "
                 "remove %s", label, r->copy.n ? "copy" : "sla_policy");
    if (r->copy.n > ROUTE_MAX_COPIES)
        RULE_ERR(s, "copy", "%s copy: at most %d recipients", label, ROUTE_MAX_COPIES);
    for (size_t i = 0; i < r->copy.n; i++)
        check_recipient(dir, r->copy.v[i], s, "copy", label, d);
}

static void build_rule(struct rule *r, struct ini_section *s, const struct directory *dir,
                       struct diag *d)
{
    char label[160];
    snprintf(label, sizeof(label), "[rule \"%s\"]", s->name);
    conf_bind(rule_keys, s, r, label, d);
    r->name = strdup(s->name);
    r->file = s->file ? strdup(s->file) : NULL;
    r->line = s->line;
    fold_list(&r->keywords, s, "keywords", label, d);
    fold_list(&r->exclude, s, "exclude", label, d);
    compile_patterns(r, s, label, d);
    r->catch_all = ini_lookup(s, "pattern") == NULL;
    for (size_t i = 0; cond_lists(r, i); i++)
        if (cond_lists(r, i)->n)
            r->catch_all = false;
    validate_rule(r, dir, s, label, d);
}

static void rule_free(struct rule *r)
{
    conf_unbind(rule_keys, r);
    for (size_t i = 0; i < r->npatterns; i++) {
        regfree(&r->patterns[i].re);
        free(r->patterns[i].src);
    }
    free(r->patterns);
    free(r->name);
    free(r->file);
}

static void rules_build(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                        struct diag *d)
{
    size_t n = 0;
    for (size_t i = 0; i < ini->n; i++)
        n += strcmp(ini->s[i]->type, "rule") == 0;
    struct rules *rs = calloc(1, sizeof(*rs));
    if (rs == NULL || (rs->v = calloc(n + 1, sizeof(*rs->v))) == NULL)
        abort();
    for (size_t i = 0; i < ini->n; i++) {
        struct ini_section *s = ini->s[i];
        if (strcmp(s->type, "rule") != 0)
            continue;
        if (s->name == NULL) {
            diag_add(d, s->file, s->line, "[rule]: a rule needs a name: [rule \"NAME\"]");
            s->used = true;
            continue;
        }
        build_rule(&rs->v[rs->n++], s, c->dir, d);
    }
    for (size_t i = 0; i + 1 < rs->n; i++) {
        const struct rule *all = &rs->v[i], *next = &rs->v[i + 1];
        if (!all->catch_all)
            continue;
        diag_add(d, next->file, next->line, "[rule \"%s\"]%s can never match: [rule \"%s\"] at "
                 "%s:%d has no conditions and matches everything", next->name,
                 rs->n - i > 2 ? " and the rules after it" : "", all->name,
                 all->file ? all->file : "?", all->line);
        break;
    }
    c->rules = rs;
}

static void rules_free(struct apd_config *c)
{
    struct rules *rs = c->rules;
    if (rs == NULL)
        return;
    for (size_t i = 0; i < rs->n; i++)
        rule_free(&rs->v[i]);
    free(rs->v);
    free(rs);
    c->rules = NULL;
}

const struct rules *rules_of(const struct apd_config *c)
{
    static const struct rules none;
    return c && c->rules ? c->rules : &none;
}

static void rules_reference(void)
{
    conf_print_keys("rule \"NAME\"", rule_reference_keys);
    printf("\n");
}

const struct conf_module rules_conf_module = {
    .name = "rules",
    .build = rules_build,
    .free = rules_free,
    .reference = rules_reference,
};
