#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

static int parse_after(const char *v, struct escalation *e)
{
    size_t n = strlen(v);
    if (n > 1 && v[n - 1] == '%') {
        char *end;
        long pct = strtol(v, &end, 10);
        if (end != v + n - 1 || pct < 100 || pct > 100000)
            return -1;
        e->pct = true;
        e->after_pct = pct;
        return 0;
    }
    if (strcmp(v, "0") == 0) {
        e->after = (struct wdur){0, 0};
        return 0;
    }
    return wdur_parse(v, &e->after);
}

static int parse_to(const char *v, struct escalation *e)
{
    if (strcmp(v, "up") == 0 || strncmp(v, "up:", 3) == 0) {
        char *end;
        long n = v[2] ? strtol(v + 3, &end, 10) : 1;
        if (v[2] && (*end != '\0' || n < 1 || n > 32))
            return -1;
        e->to = ESC_UP;
        e->up = (int)n;
        return 0;
    }
    if (strcmp(v, "top") == 0) {
        e->to = ESC_TOP;
        return 0;
    }
    if (strcmp(v, "owner") == 0) {
        e->to = ESC_OWNER;
        return 0;
    }
    e->to = ESC_ORGS;
    const char *p = v;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0)
            return -1;
        char *code = strndup(p, len);
        strlist_add(&e->orgs, code);
        free(code);
        p += len + (c ? 1 : 0);
    }
    return e->orgs.n ? 0 : -1;
}

static int parse_via(const char *v, struct escalation *e)
{
    if (strcmp(v, "kafka") == 0) {
        e->via = VIA_KAFKA;
        return 0;
    }
    if (strcmp(v, "http") == 0) {
        e->via = VIA_HTTP;
        return 0;
    }
    if (strncmp(v, "topic:", 6) == 0 && v[6]) {
        e->via = VIA_TOPIC;
        e->topic = strdup(v + 6);
        return 0;
    }
    return -1;
}

int escalation_parse(const char *v, int level, struct escalation *e, char *why, size_t wl)
{
    memset(e, 0, sizeof(*e));
    e->level = level;
    e->to = ESC_UP;
    e->up = 1;
    e->text = strdup(v);
    char *copy = strdup(v), *save = NULL;
    int rc = 0;
    bool seen_to = false;
    for (char *tok = strtok_r(copy, " \t", &save); tok && rc == 0;
         tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL) {
            snprintf(why, wl, "'%s' is not key=value (after=, to=, via=)", tok);
            rc = -1;
            break;
        }
        *eq = '\0';
        const char *k = tok, *val = eq + 1;
        if (strcmp(k, "after") == 0) {
            if (parse_after(val, e) != 0) {
                snprintf(why, wl, "after=%s: expected a duration past the deadline (0, 2h, "
                         "1d) or a share of the allowed time of at least 100%%", val);
                rc = -1;
            }
        } else if (strcmp(k, "to") == 0) {
            strlist_free(&e->orgs);
            seen_to = true;
            if (parse_to(val, e) != 0) {
                snprintf(why, wl, "to=%s: expected up, up:N, top, owner or organisation "
                         "codes separated by commas", val);
                rc = -1;
            }
        } else if (strcmp(k, "via") == 0) {
            free(e->topic);
            e->topic = NULL;
            if (parse_via(val, e) != 0) {
                snprintf(why, wl, "via=%s: expected kafka, http or topic:NAME", val);
                rc = -1;
            }
        } else {
            snprintf(why, wl, "unknown part '%s' (after=, to=, via=)", k);
            rc = -1;
        }
    }
    free(copy);
    if (rc == 0 && !seen_to) {
        snprintf(why, wl, "to= is required (up, up:N, top, owner or codes)");
        rc = -1;
    }
    if (rc != 0)
        escalation_free(e);
    return rc;
}

void escalation_free(struct escalation *e)
{
    strlist_free(&e->orgs);
    free(e->topic);
    free(e->text);
    e->topic = e->text = NULL;
}

int warning_parse(const char *v, bool *pct, int64_t *value)
{
    size_t n = strlen(v);
    if (n > 1 && v[n - 1] == '%') {
        char *end;
        long x = strtol(v, &end, 10);
        if (end != v + n - 1 || x < 1 || x > 99)
            return -1;
        *pct = true;
        *value = x;
        return 0;
    }
    int64_t ms;
    if (parse_duration_ms(v, &ms) != 0 || ms <= 0)
        return -1;
    *pct = false;
    *value = ms;
    return 0;
}

int policy_specificity(const struct policy *p)
{
    return (p->match_org.n > 0) + (p->match_category.n > 0) + (p->match_priority.n > 0);
}

static bool crit_ok(const struct strlist *l, const char *v)
{
    return l->n == 0 || (v && *v && strlist_has(l, v));
}

bool policy_matches(const struct policy *p, const char *org, const char *category,
                    const char *priority)
{
    return crit_ok(&p->match_org, org) && crit_ok(&p->match_category, category) &&
           crit_ok(&p->match_priority, priority && *priority ? priority : "normal");
}

bool policy_pauses_in(const struct policy *p, const char *state)
{
    return state && strlist_has(&p->pause, state);
}

void policy_free(struct policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nesc; i++)
        escalation_free(&p->esc[i]);
    free(p->esc);
    strlist_free(&p->match_org);
    strlist_free(&p->match_category);
    strlist_free(&p->match_priority);
    strlist_free(&p->pause);
    free(p->name);
    free(p);
}
