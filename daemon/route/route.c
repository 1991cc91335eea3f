#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "directory.h"
#include "rules.h"
#include "sbuf.h"
#include "textfold.h"

/* The input of one decision, resolved once: the page, its owner, the
 * municipality in question and the folded text. */
struct ctx {
    const struct apd_config *c;
    const struct route_input *in;
    const struct page *page;
    const struct org *owner;
    const char *municipality;
    bool muni_from_page;
    char *folded;               /* made on first use: most decisions never need it */
};

/* The folded text, folded the first time a rule looks at the text. */
static const char *folded_text(struct ctx *x)
{
    if (x->folded == NULL) {
        const struct route_input *in = x->in;
        size_t len = in->text ? (in->text_len ? in->text_len : strlen(in->text)) : 0;
        x->folded = text_fold(in->text, len, NULL);
    }
    return x->folded;
}

const char *route_action_name(enum route_action a)
{
    switch (a) {
    case ROUTE_ORG: return "org";
    case ROUTE_TRIAGE: return "triage";
    default: return "drop";
    }
}

static void why_add(struct route_result *out, const char *key, const char *value)
{
    if (out->nwhy >= ROUTE_MAX_WHY)
        return;
    struct route_why *w = &out->why[out->nwhy++];
    w->key = key;
    snprintf(w->value, sizeof(w->value), "%s", value);
}

static bool empty(const char *s) { return s == NULL || *s == '\0'; }

/* A list condition: empty list holds; otherwise one value must equal the
 * field, or be "unknown" while the field is unknown. */
static bool cond(const struct strlist *l, const char *key, const char *value,
                 struct route_result *out)
{
    if (l->n == 0)
        return true;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], "unknown") == 0 && empty(value)) {
            why_add(out, key, "unknown");
            return true;
        }
        if (!empty(value) && strcmp(l->v[i], value) == 0) {
            why_add(out, key, value);
            return true;
        }
    }
    return false;
}

static bool cond_page(const struct rule *r, const struct ctx *x, struct route_result *out)
{
    if (r->page.n == 0)
        return true;
    if (x->page == NULL)
        return false;
    for (size_t i = 0; i < r->page.n; i++) {
        const char *v = r->page.v[i];
        size_t sl = strlen(x->page->source);
        if (strncmp(v, x->page->source, sl) == 0 && v[sl] == ':' && strcmp(v + sl + 1,
                                                                            x->page->id) == 0) {
            why_add(out, "page", v);
            return true;
        }
    }
    return false;
}

static bool cond_text(const struct rule *r, struct ctx *x, struct route_result *out)
{
    if (r->exclude.n == 0 && r->keywords.n == 0 && r->npatterns == 0)
        return true;
    const char *text = folded_text(x);
    for (size_t i = 0; i < r->exclude.n; i++)
        if (strstr(text, r->exclude.v[i]))
            return false;
    if (r->keywords.n) {
        size_t i = 0;
        while (i < r->keywords.n && strstr(text, r->keywords.v[i]) == NULL)
            i++;
        if (i == r->keywords.n)
            return false;
        why_add(out, "keyword", r->keywords.v[i]);
    }
    if (r->npatterns) {
        char m[64];
        size_t i = 0;
        while (i < r->npatterns && !rules_pattern_match(&r->patterns[i], text, m, sizeof(m)))
            i++;
        if (i == r->npatterns)
            return false;
        char v[sizeof(out->why[0].value)];
        snprintf(v, sizeof(v), "/%s/ matched \"%s\"", r->patterns[i].src, m);
        why_add(out, "pattern", v);
    }
    return true;
}

static bool rule_holds(const struct rule *r, struct ctx *x, struct route_result *out)
{
    const struct route_input *in = x->in;
    out->nwhy = 0;
    if (!cond(&r->source, "source", in->source, out) || !cond_page(r, x, out) ||
        !cond(&r->owner, "owner", x->owner ? x->owner->code : NULL, out) ||
        !cond(&r->owner_type, "owner_type", x->owner ? org_type_name(x->owner->type) : NULL,
              out) ||
        !cond(&r->item_kind, "item_kind", in->item_kind, out) ||
        !cond(&r->kind, "kind", in->kind, out) ||
        !cond(&r->category, "category", in->category, out) ||
        !cond(&r->priority, "priority", in->priority, out))
        return false;
    size_t before = out->nwhy;
    if (!cond(&r->municipality, "municipality", x->municipality, out))
        return false;
    if (out->nwhy > before && x->muni_from_page)
        strncat(out->why[before].value, " (from the page)",
                sizeof(out->why[before].value) - strlen(out->why[before].value) - 1);
    return cond_text(r, x, out);
}

/* Resolves a recipient reference; NULL with why set when it cannot be. */
static const struct org *resolve(const struct ctx *x, const char *ref, const char **why)
{
    if (strcmp(ref, "@owner") == 0) {
        *why = "the page has no owner in the directory";
        return x->owner;
    }
    if (strcmp(ref, "@municipality") == 0) {
        if (x->municipality == NULL) {
            *why = "no municipality is known";
            return NULL;
        }
        *why = "the municipality has no administration in the directory";
        return directory_municipal_admin(x->c->dir, x->municipality);
    }
    *why = "unknown organisation";
    return directory_org(x->c->dir, ref);
}

static void note_skipped(struct route_result *out, const struct rule *r, const char *why)
{
    size_t n = strlen(out->skipped);
    snprintf(out->skipped + n, sizeof(out->skipped) - n, "%s%s: %s", n ? "; " : "", r->name,
             why);
}

static void add_copies(const struct rule *r, const struct ctx *x, struct route_result *out)
{
    for (size_t i = 0; i < r->copy.n && out->ncopies < ROUTE_MAX_COPIES; i++) {
        const char *why;
        const struct org *o = resolve(x, r->copy.v[i], &why);
        bool dup = o == NULL || o == out->org;
        for (size_t k = 0; !dup && k < out->ncopies; k++)
            dup = out->copies[k] == o;
        if (!dup)
            out->copies[out->ncopies++] = o;
    }
}

static void to_triage(const struct ctx *x, struct route_result *out)
{
    out->action = ROUTE_TRIAGE;
    out->triage = true;
    out->org = x->c->dir ? x->c->dir->cur : NULL;
    out->topic = x->c->kafka.topic_triage;
}

/* Applies a matched rule; false when its recipient cannot be resolved. */
static bool apply(const struct rule *r, const struct ctx *x, struct route_result *out)
{
    switch (r->action) {
    case RULE_DROP:
        out->action = ROUTE_DROP;
        out->drop = true;
        break;
    case RULE_TRIAGE:
        to_triage(x, out);
        break;
    default: {
        const char *why;
        const struct org *o = resolve(x, r->org, &why);
        if (o == NULL) {
            note_skipped(out, r, why);
            return false;
        }
        out->action = ROUTE_ORG;
        out->org = o;
        out->topic = o->kafka ? o->topic : NULL;
        break;
    }
    }
    out->rule = r->name;
    if (r->action != RULE_DROP)
        add_copies(r, x, out);
    if (r->sla_policy)
        out->sla_policy = r->sla_policy;
    if (r->set_priority)
        out->priority = r->set_priority;
    return true;
}

static void explain(struct route_result *out)
{
    size_t n = 0;
    char *b = out->reason;
    size_t cap = sizeof(out->reason);
    if (out->rule && strcmp(out->rule, "triage") != 0)
        n += (size_t)snprintf(b, cap, "rule %s: ", out->rule);
    else
        n += (size_t)snprintf(b, cap, "no rule matched");
    for (size_t i = 0; i < out->nwhy && n < cap; i++)
        n += (size_t)snprintf(b + n, cap - n, "%s%s=%s", i ? ", " : "", out->why[i].key,
                              out->why[i].value);
    if (out->nwhy == 0 && out->rule && strcmp(out->rule, "triage") != 0 && n < cap)
        n += (size_t)snprintf(b + n, cap - n, "matches everything");
    if (n < cap)
        n += (size_t)snprintf(b + n, cap - n, " -> %s", out->drop ? "dropped"
                              : out->triage ? "triage" : out->org->code);
    for (size_t i = 0; i < out->ncopies && n < cap; i++)
        n += (size_t)snprintf(b + n, cap - n, "%s%s", i ? ", " : " (copies: ",
                              out->copies[i]->code);
    if (out->ncopies && n < cap)
        snprintf(b + n, cap - n, ")");
}

void route_decide(const struct apd_config *c, const struct route_input *in,
                  struct route_result *out)
{
    memset(out, 0, sizeof(*out));
    struct ctx x = {.c = c, .in = in};
    x.page = directory_page(c->dir, in->source, in->page);
    x.owner = x.page ? x.page->owner : NULL;
    x.municipality = empty(in->municipality) ? NULL : in->municipality;
    if (x.municipality == NULL && x.page && x.page->municipality) {
        /* The taxonomy's fallback: an appeal naming no place is about the
         * page's municipality. */
        x.municipality = x.page->municipality;
        x.muni_from_page = true;
    }
    out->page = x.page;
    out->municipality = x.municipality;
    out->municipality_from_page = x.muni_from_page;
    out->priority = empty(in->priority) ? NULL : in->priority;
    const struct rules *rs = rules_of(c);
    bool decided = false;
    for (size_t i = 0; i < rs->n && !decided; i++)
        decided = rule_holds(&rs->v[i], &x, out) && apply(&rs->v[i], &x, out);
    if (!decided) {
        out->nwhy = 0;
        out->rule = "triage";
        to_triage(&x, out);
    }
    if (out->sla_policy == NULL && out->org && !out->drop)
        out->sla_policy = out->org->sla_policy;
    explain(out);
    free(x.folded);
}

void route_write_json(struct jw *w, const struct route_result *r, bool evidence)
{
    jw_kstr(w, "action", route_action_name(r->action));
    jw_kstr(w, "rule", r->rule);
    jw_kstr(w, "reason", r->reason);
    jw_kbool(w, "triage", r->triage);
    if (r->sla_policy)
        jw_kstr(w, "sla_policy", r->sla_policy);
    if (r->priority)
        jw_kstr(w, "priority", r->priority);
    jw_key(w, "copies");
    jw_arr(w);
    for (size_t i = 0; i < r->ncopies; i++)
        jw_str(w, r->copies[i]->code);
    jw_arr_end(w);
    if (!evidence)
        return;
    jw_key(w, "why");
    jw_arr(w);
    for (size_t i = 0; i < r->nwhy; i++) {
        jw_obj(w);
        jw_kstr(w, "key", r->why[i].key);
        jw_kstr(w, "value", r->why[i].value);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    if (r->skipped[0])
        jw_kstr(w, "skipped", r->skipped);
}
