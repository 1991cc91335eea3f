#include "sla.h"

#include <glob.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "config.h"
#include "directory.h"
#include "hours.h"
#include "module.h"

static const char *const time_bases[] = {"working", "calendar", NULL};
static const char *const regimes[] = {"social", "59fz", NULL};
static const char *const reroute_modes[] = {"keep", "restart", NULL};
static const char *const answer_qualities[] = {"default", "required", NULL};
/* In the order of enum day_off_rule. */
static const char *const day_off_rules[] = {"preceding", "following", "keep", NULL};

#define SLA(f) offsetof(struct sla_config, f)
static const struct conf_key sla_keys[] = {
    {"first_response", CT_STR, SLA(first_response), "8h", 0, 0, NULL, 0,
     "default time for the first public response (working time: 8h = 8 working hours)"},
    {"resolution", CT_STR, SLA(resolution), NULL, 0, 0, NULL, 0,
     "default time to resolve (e.g. 3d = the same time on the 3rd working day); none if unset"},
    {"warning", CT_STR, SLA(warning), "80%", 0, 0, NULL, 0,
     "default warning: a share of the allowed time (80%) or a time before the deadline (1h)"},
    {"time", CT_ENUM, SLA(time), "working", 0, 0, time_bases, 0,
     "default time base of policies: working or calendar"},
    {"pause", CT_LIST, SLA(pause), "waiting", 0, 0, NULL, 0,
     "default appeal states that pause the clock"},
    {"formal_resolution", CT_STR, SLA(formal_resolution), "30d", 0, 0, NULL, 0,
     "59-FZ term of the built-in formal policy (calendar days from the day after registration)"},
    {"formal_extension", CT_STR, SLA(formal_extension), "30d", 0, 0, NULL, 0,
     "longest 59-FZ extension (art. 12 ch. 2), granted once with notice to the citizen"},
    {"calendar", CT_STR, SLA(calendar_name), "default", 0, 0, NULL, 0,
     "calendar of organisations that name none ('default': Labour Code holidays only, "
     "'none': every day works)"},
    {"hours", CT_STR, SLA(hours_name), "standard", 0, 0, NULL, 0,
     "working hours of organisations that name none (built-in 'standard': 09:00-18:00, "
     "Friday to 17:00, lunch 13:00-13:48, 40 h a week; 'duty': around the clock)"},
    {"policy", CT_STR, SLA(policy_name), NULL, 0, 0, NULL, 0,
     "policy for messages when no other applies (default: built from these keys)"},
    {"formal_policy", CT_STR, SLA(formal_policy_name), NULL, 0, 0, NULL, 0,
     "policy for converted 59-FZ appeals when no other applies"},
    {"critical", CT_LIST, SLA(critical), "critical", 0, 0, NULL, 0,
     "priority values whose escalations are sent at any hour"},
    {"tick", CT_DURATION, SLA(tick_ms), "250ms", 10, 10000, NULL, 0,
     "longest wait of the timer scheduler between two looks at Redis"},
    {"lease", CT_DURATION, SLA(lease_ms), "45s", 1000, 3600000, NULL, 0,
     "how long a claimed timer or unpublished event belongs to one daemon before another "
     "takes it over; must exceed kafka.delivery_timeout"},
    {"batch", CT_INT, SLA(batch), "500", 1, 100000, NULL, 0,
     "timers claimed from Redis per round"},
    {"metrics_interval", CT_DURATION, SLA(metrics_interval_ms), "15s", 1000, 3600000, NULL, 0,
     "how often SLA gauges are refreshed from Redis"},
    {"retention", CT_DURATION, SLA(retention_ms), "30d", 60000, 3650LL * 86400000, NULL, 0,
     "how long a closed appeal's record and audit stay in Redis"},
    {"status_group", CT_STR, SLA(status_group), "appealsd-status", 0, 0, NULL, CF_RESTART,
     "Kafka consumer group sharing kafka.topic_status among daemons"},
    {"status_shared_topic", CT_BOOL, SLA(status_shared), "no", 0, 0, NULL, CF_RESTART,
     "also take statuses from kafka.topic_status itself, where any producer can speak for "
     "any organisation (for a migration; each organisation has its own topic_status.CODE)"},
    {"status_session_timeout", CT_DURATION, SLA(status_session_ms), "10s", 6000, 300000, NULL,
     CF_RESTART, "a daemon that stops heartbeating (killed, hung) loses its status partitions "
     "to the others after this long (the broker's group.min/max.session.timeout.ms bound it)"},
    {"status_max_bytes", CT_SIZE, SLA(status_max_bytes), "64KiB", 256, 16 << 20, NULL, 0,
     "larger agency status messages go to the dead-letter topic"},
    {0},
};

struct calendar_raw {
    struct strlist files;
};

static const struct conf_key calendar_keys[] = {
    {"files", CT_LIST, offsetof(struct calendar_raw, files), NULL, 0, 0, NULL, CF_REQUIRED,
     "calendar data files (globs, relative to the main config file's directory)"},
    {0},
};

struct policy_raw {
    int regime;
    struct strlist org, category, priority;
    char *first_response, *resolution, *warning, *extension;
    int time;
    struct strlist pause;
    int reroute;
    int64_t extensions;
    char *registration, *forward;
    int due_on_day_off;
    int answer_quality;
    char *rework;
};

#define PR(f) offsetof(struct policy_raw, f)
static const struct conf_key policy_keys[] = {
    {"regime", CT_ENUM, PR(regime), "social", 0, 0, regimes, 0,
     "social (a message on a page) or 59fz (a formal обращение after conversion)"},
    {"org", CT_LIST, PR(org), NULL, 0, 0, NULL, 0, "applies to these organisations"},
    {"category", CT_LIST, PR(category), NULL, 0, 0, NULL, 0, "applies to these categories"},
    {"priority", CT_LIST, PR(priority), NULL, 0, 0, NULL, 0,
     "applies to these priorities (an appeal without one is 'normal')"},
    {"first_response", CT_STR, PR(first_response), NULL, 0, 0, NULL, 0,
     "time for the first public response (social regime)"},
    {"resolution", CT_STR, PR(resolution), NULL, 0, 0, NULL, 0,
     "time to resolve; for 59fz the formal term (30d)"},
    {"time", CT_ENUM, PR(time), NULL, 0, 0, time_bases, 0,
     "working (the organisation's calendar and hours) or calendar (around the clock)"},
    {"warning", CT_STR, PR(warning), NULL, 0, 0, NULL, 0,
     "warn at a share of the allowed time (75%) or a time before the deadline (2h)"},
    {"pause", CT_LIST, PR(pause), NULL, 0, 0, NULL, 0, "appeal states that stop the clock"},
    {"reroute", CT_ENUM, PR(reroute), "keep", 0, 0, reroute_modes, 0,
     "on a re-route keep the elapsed time, or restart the clock"},
    {"extension", CT_STR, PR(extension), NULL, 0, 0, NULL, 0,
     "59fz: the longest extension (default [sla] formal_extension)"},
    {"extensions", CT_INT, PR(extensions), "1", 0, 10, NULL, 0,
     "59fz: how many extensions are allowed"},
    {"registration", CT_STR, PR(registration), "3d", 0, 0, NULL, 0,
     "59fz: time to register a written appeal after receipt (59-FZ art. 8 ch. 2), or none"},
    {"forward", CT_STR, PR(forward), "7d", 0, 0, NULL, 0,
     "59fz: time from registration to forward an appeal to the competent body (art. 8 "
     "ch. 3: 7d; ch. 3.1: 5d), or none"},
    {"due_on_day_off", CT_ENUM, PR(due_on_day_off), "preceding", 0, 0, day_off_rules, 0,
     "59fz: a term whose last day is not a working day ends on the preceding working day "
     "(regional regulations), the following one (Civil Code art. 193) or keep"},
    {"answer_quality", CT_ENUM, PR(answer_quality), "default", 0, 0, answer_qualities, 0,
     "social: a formal answer (the answer judge, [answer]) meets the first response and "
     "opens the rework clock (default), or does not meet it (required)"},
    {"rework", CT_STR, PR(rework), "3d", 0, 0, NULL, 0,
     "social: time to give a substantive answer after a formal one (default 3 working days), "
     "or none"},
    {0},
};

const struct sla_config *sla_cfg(const struct apd_config *c) { return c->sla; }

/* ---- lookups ---- */

static struct calendar *find_cal(const struct sla_config *s, const char *name)
{
    for (size_t i = 0; name && i < s->ncals; i++)
        if (strcmp(calendar_name(s->cals[i]), name) == 0)
            return s->cals[i];
    return NULL;
}

static struct hours *find_hours(const struct sla_config *s, const char *name)
{
    for (size_t i = 0; name && i < s->nhours; i++)
        if (strcmp(s->hours[i]->name, name) == 0)
            return s->hours[i];
    return NULL;
}

static struct policy *find_policy(const struct sla_config *s, const char *name)
{
    for (size_t i = 0; name && i < s->npols; i++)
        if (strcmp(s->pols[i]->name, name) == 0)
            return s->pols[i];
    return NULL;
}

struct sched sla_sched(const struct apd_config *c, const struct org *org)
{
    const struct sla_config *s = c->sla;
    struct calendar *cal = org ? find_cal(s, org->calendar) : NULL;
    struct hours *h = org ? find_hours(s, org->hours) : NULL;
    return (struct sched){cal ? cal : s->def_cal, h ? h : s->def_hours};
}

const struct policy *sla_policy_find(const struct apd_config *c, const char *name)
{
    return find_policy(c->sla, name);
}

const struct policy *sla_policy_select(const struct apd_config *c, const struct org *org,
                                       const char *category, const char *priority,
                                       int regime, const char *route_policy)
{
    const struct sla_config *s = c->sla;
    const struct policy *p = find_policy(s, route_policy);
    if (p && p->regime == regime)
        return p;
    const struct policy *best = NULL;
    int best_score = 0;
    for (size_t i = 0; i < s->npols; i++) {
        const struct policy *q = s->pols[i];
        int score = policy_specificity(q);
        if (q->regime == regime && score > best_score &&
            policy_matches(q, org ? org->code : NULL, category, priority)) {
            best = q;
            best_score = score;
        }
    }
    if (best)
        return best;
    p = org ? find_policy(s, org->sla_policy) : NULL;
    if (p && p->regime == regime)
        return p;
    return regime == REGIME_59FZ ? s->def_formal : s->def_social;
}

bool sla_is_critical(const struct apd_config *c, const char *priority)
{
    const struct sla_config *s = c->sla;
    return priority && strlist_has(&s->critical, priority);
}

/* ---- building ---- */

static void push(void ***v, size_t *n, void *x)
{
    void **nv = realloc(*v, (*n + 1) * sizeof(void *));
    if (nv == NULL)
        abort();
    nv[(*n)++] = x;
    *v = nv;
}

static void load_calendar(struct sla_config *s, const struct apd_config *c,
                          struct ini_section *sec, struct diag *d)
{
    struct calendar_raw raw = {0};
    char label[160];
    snprintf(label, sizeof(label), "[calendar \"%s\"]", sec->name);
    conf_bind(calendar_keys, sec, &raw, label, d);
    struct calendar *cal = calendar_new(sec->name, false);
    char *pathcopy = strdup(c->path);
    const char *dir = dirname(pathcopy);
    for (size_t i = 0; i < raw.files.n; i++) {
        char pattern[4096];
        const char *f = raw.files.v[i];
        snprintf(pattern, sizeof(pattern), "%s%s%s", f[0] == '/' ? "" : dir,
                 f[0] == '/' ? "" : "/", f);
        glob_t g;
        if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
            struct ini_entry *e = ini_lookup(sec, "files");
            diag_add(d, e ? e->file : sec->file, e ? e->line : sec->line,
                     "%s files: no file matches %s", label, pattern);
        } else {
            for (size_t k = 0; k < g.gl_pathc; k++)
                calendar_load_file(cal, g.gl_pathv[k], d);
        }
        globfree(&g);
    }
    free(pathcopy);
    conf_unbind(calendar_keys, &raw);
    push((void ***)&s->cals, &s->ncals, cal);
}

/* A problem with one key of a section, reported at the key's line. */
static void entry_error(struct diag *d, struct ini_section *sec, const char *key,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void entry_error(struct diag *d, struct ini_section *sec, const char *key,
                        const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    struct ini_entry *e = sec ? ini_lookup(sec, key) : NULL;
    diag_add(d, e ? e->file : sec ? sec->file : NULL, e ? e->line : sec ? sec->line : 0, "%s",
             buf);
}

static void set_wdur(struct wdur *out, bool *has, const char *v, struct ini_section *sec,
                     const char *label, const char *key, struct diag *d)
{
    *has = false;
    if (v == NULL || strcmp(v, "none") == 0)
        return;
    if (wdur_parse(v, out) != 0 || (out->days == 0 && out->ms == 0)) {
        entry_error(d, sec, key, "%s %s: %s is not a duration like 8h, 3d or 1d4h", label, key,
                    v);
        return;
    }
    *has = true;
}

/* Escalation levels: the repeated `escalate` entries of a section ("none"
 * alone: no escalation). */
static void parse_escalations(struct escalation **out, size_t *n, struct ini_section *sec,
                              const char *label, struct diag *d)
{
    for (size_t i = 0; sec && i < sec->n; i++) {
        struct ini_entry *e = &sec->e[i];
        if (strcmp(e->key, "escalate") != 0)
            continue;
        e->used = true;
        if (strcmp(e->value, "none") == 0)
            continue;
        if (*n == SLA_MAX_LEVELS) {
            diag_add(d, e->file, e->line, "%s escalate: more than %d levels", label,
                     SLA_MAX_LEVELS);
            continue;
        }
        char why[256];
        struct escalation esc;
        if (escalation_parse(e->value, (int)*n + 1, &esc, why, sizeof(why)) != 0) {
            diag_add(d, e->file, e->line, "%s escalate: %s", label, why);
            continue;
        }
        struct escalation *v = realloc(*out, (*n + 1) * sizeof(*v));
        if (v == NULL)
            abort();
        *out = v;
        (*out)[(*n)++] = esc;
    }
}

static bool has_key(struct ini_section *sec, const char *key)
{
    for (size_t i = 0; sec && i < sec->n; i++)
        if (strcmp(sec->e[i].key, key) == 0)
            return true;
    return false;
}

static void copy_escalations(struct policy *p, const struct escalation *src, size_t n)
{
    char why[128];
    p->esc = calloc(n ? n : 1, sizeof(*p->esc));
    if (p->esc == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if (escalation_parse(src[i].text, (int)i + 1, &p->esc[p->nesc], why, sizeof(why)) == 0)
            p->nesc++;
}

static void set_warning(struct policy *p, const char *w, struct ini_section *sec,
                        const char *label, struct diag *d)
{
    p->has_warning = false;
    if (w == NULL || strcmp(w, "none") == 0)
        return;
    if (warning_parse(w, &p->warn_pct, &p->warn_value) != 0) {
        entry_error(d, sec, "warning", "%s warning: %s is not a share like 80%% or a "
                    "duration like 1h", label, w);
        return;
    }
    p->has_warning = true;
}

static void copy_list(struct strlist *dst, const struct strlist *src)
{
    for (size_t i = 0; i < src->n; i++)
        strlist_add(dst, src->v[i]);
}

/* 59-FZ counting: whole calendar days from the day after registration to
 * the end of the last day (art. 12 ch. 1); hours or working time keep the
 * plain arithmetic. */
static void set_legal(struct policy *p, const struct policy_raw *raw, struct ini_section *sec,
                      const char *label, struct diag *d)
{
    p->legal_days = p->calendar_time && p->resolution.ms == 0;
    p->due_on_day_off = raw->due_on_day_off;
    set_wdur(&p->registration, &p->has_registration, raw->registration, sec, label,
             "registration", d);
    set_wdur(&p->forward, &p->has_forward, raw->forward, sec, label, "forward", d);
    if ((p->has_registration && p->registration.ms) || (p->has_forward && p->forward.ms))
        diag_add(d, sec ? sec->file : NULL, sec ? sec->line : 0,
                 "%s: registration and forward are whole days (3d, 7d)", label);
}

/* A policy from a [policy] section, or (sec NULL) the built-in one of a regime
 * made from [sla]; dflt supplies what a section leaves out. */
static struct policy *build_policy(struct sla_config *s, const char *name,
                                   struct ini_section *sec, int builtin_regime,
                                   struct ini_section *sla_sec, struct diag *d)
{
    struct policy_raw raw = {.time = -1};
    char label[160];
    snprintf(label, sizeof(label), sec ? "[policy \"%s\"]" : "[sla] (built-in policy %s)",
             name);
    struct policy *p = calloc(1, sizeof(*p));
    p->name = strdup(name);
    if (sec) {
        conf_bind(policy_keys, sec, &raw, label, d);
        if (ini_lookup(sec, "time") == NULL)
            raw.time = -1;
    } else {
        conf_bind(policy_keys, NULL, &raw, label, d);
        raw.regime = builtin_regime;
        raw.time = -1;
        p->builtin = true;
    }
    p->regime = raw.regime;
    copy_list(&p->match_org, &raw.org);
    copy_list(&p->match_category, &raw.category);
    copy_list(&p->match_priority, &raw.priority);
    bool formal = p->regime == REGIME_59FZ;
    const char *fr = sec ? raw.first_response : formal ? NULL : s->first_response;
    const char *res = sec ? raw.resolution : formal ? s->formal_resolution : s->resolution;
    set_wdur(&p->first_response, &p->has_first_response, fr, sec ? sec : sla_sec, label,
             "first_response", d);
    set_wdur(&p->resolution, &p->has_resolution, res, sec ? sec : sla_sec, label,
             formal && !sec ? "formal_resolution" : "resolution", d);
    /* 59-FZ counts calendar days (art. 12); social messages working time. */
    p->calendar_time = raw.time >= 0 ? raw.time == 1 : formal ? true : s->time == 1;
    set_warning(p, sec && raw.warning ? raw.warning : s->warning, sec ? sec : sla_sec, label, d);
    if (sec && ini_lookup(sec, "pause"))
        copy_list(&p->pause, &raw.pause);
    else if (!formal)
        copy_list(&p->pause, &s->pause);
    p->reroute_restart = raw.reroute == 1;
    p->answer_required = raw.answer_quality == 1;
    if (!formal)
        set_wdur(&p->rework, &p->has_rework, raw.rework, sec ? sec : sla_sec, label, "rework",
                 d);
    bool has_ext;
    set_wdur(&p->extension_max, &has_ext, raw.extension ? raw.extension : s->formal_extension,
             sec ? sec : sla_sec, label, "extension", d);
    p->extensions = has_ext ? raw.extensions : 0;
    if (formal)
        set_legal(p, &raw, sec ? sec : sla_sec, label, d);
    /* A policy without escalate lines gets [sla]'s. */
    if (has_key(sec, "escalate"))
        parse_escalations(&p->esc, &p->nesc, sec, label, d);
    else
        copy_escalations(p, s->def_esc, s->ndef_esc);
    if (formal && !p->has_resolution)
        diag_add(d, sec ? sec->file : NULL, sec ? sec->line : 0,
                 "%s: a 59fz policy needs resolution (the formal term, e.g. 30d)", label);
    if (!formal && !p->has_first_response && !p->has_resolution)
        diag_add(d, sec ? sec->file : NULL, sec ? sec->line : 0,
                 "%s: needs first_response or resolution", label);
    if (formal && p->has_first_response)
        diag_add(d, sec ? sec->file : NULL, sec ? sec->line : 0,
                 "%s: first_response belongs to the social regime; 59fz has one term", label);
    conf_unbind(policy_keys, &raw);
    return p;
}

static void check_org_refs(struct sla_config *s, const struct apd_config *c, struct diag *d)
{
    const struct directory *dir = c->dir;
    for (size_t i = 0; dir && i < dir->norgs; i++) {
        const struct org *o = &dir->orgs[i];
        if (o->calendar && !find_cal(s, o->calendar))
            diag_add(d, NULL, 0, "[org \"%s\"] calendar: no [calendar \"%s\"]", o->code,
                     o->calendar);
        if (o->hours && !find_hours(s, o->hours))
            diag_add(d, NULL, 0, "[org \"%s\"] hours: no [hours \"%s\"]", o->code, o->hours);
        if (o->sla_policy && !find_policy(s, o->sla_policy))
            diag_add(d, NULL, 0, "[org \"%s\"] sla_policy: no [policy \"%s\"]", o->code,
                     o->sla_policy);
    }
    for (size_t i = 0; i < s->npols; i++) {
        const struct policy *p = s->pols[i];
        for (size_t j = 0; j < p->match_org.n; j++)
            if (!directory_org(dir, p->match_org.v[j]))
                diag_add(d, NULL, 0, "[policy \"%s\"] org: no organisation '%s'", p->name,
                         p->match_org.v[j]);
        for (size_t k = 0; k < p->nesc; k++)
            for (size_t j = 0; j < p->esc[k].orgs.n; j++)
                if (!directory_org(dir, p->esc[k].orgs.v[j]))
                    diag_add(d, NULL, 0, "[policy \"%s\"] escalate %s: no organisation '%s'",
                             p->name, p->esc[k].text, p->esc[k].orgs.v[j]);
    }
}

static void pick_defaults(struct sla_config *s, struct ini_section *sla_sec,
                          struct diag *d)
{
    s->def_cal = find_cal(s, s->calendar_name);
    s->def_hours = find_hours(s, s->hours_name);
    if (s->def_cal == NULL)
        entry_error(d, sla_sec, "calendar", "[sla] calendar: no [calendar \"%s\"]",
                    s->calendar_name);
    if (s->def_hours == NULL)
        entry_error(d, sla_sec, "hours", "[sla] hours: no [hours \"%s\"]", s->hours_name);
    struct policy *p = find_policy(s, s->policy_name ? s->policy_name : "default");
    struct policy *f = find_policy(s, s->formal_policy_name ? s->formal_policy_name : "59fz");
    if (p == NULL || p->regime != REGIME_SOCIAL)
        entry_error(d, sla_sec, "policy", "[sla] policy: '%s' is not a social policy",
                    s->policy_name ? s->policy_name : "default");
    if (f == NULL || f->regime != REGIME_59FZ)
        entry_error(d, sla_sec, "formal_policy", "[sla] formal_policy: '%s' is not a 59fz "
                    "policy", s->formal_policy_name ? s->formal_policy_name : "59fz");
    s->def_social = p;
    s->def_formal = f;
}

static void sla_build(struct apd_config *c, struct ini *ini, const struct config_opts *o,
                      struct diag *d)
{
    struct sla_config *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    c->sla = s;
    struct ini_section *sla_sec = ini_find(ini, "sla", NULL);
    conf_bind(sla_keys, sla_sec, s, "[sla]", d);
    /* Default escalation levels: [sla]'s, else one at the breach, one step up. */
    if (has_key(sla_sec, "escalate")) {
        parse_escalations(&s->def_esc, &s->ndef_esc, sla_sec, "[sla]", d);
    } else {
        char why[128];
        s->def_esc = calloc(1, sizeof(*s->def_esc));
        if (s->def_esc && escalation_parse("after=0 to=up", 1, s->def_esc, why,
                                           sizeof(why)) == 0)
            s->ndef_esc = 1;
    }
    for (size_t i = 0; i < ini->n; i++) {
        struct ini_section *sec = ini->s[i];
        if (sec->name == NULL)
            continue;
        if (strcmp(sec->type, "calendar") == 0)
            load_calendar(s, c, sec, d);
        else if (strcmp(sec->type, "hours") == 0)
            push((void ***)&s->hours, &s->nhours,
                 hours_build(sec->name, sec, c->daemon.timezone, d));
    }
    if (!find_cal(s, "default"))
        push((void ***)&s->cals, &s->ncals, calendar_new("default", false));
    if (!find_cal(s, "none"))
        push((void ***)&s->cals, &s->ncals, calendar_new("none", true));
    if (!find_hours(s, "standard"))
        push((void ***)&s->hours, &s->nhours,
             hours_build("standard", NULL, c->daemon.timezone, d));
    if (!find_hours(s, "duty"))
        push((void ***)&s->hours, &s->nhours, hours_around_the_clock("duty", c->daemon.timezone));
    for (size_t i = 0; i < ini->n; i++) {
        struct ini_section *sec = ini->s[i];
        if (sec->name && strcmp(sec->type, "policy") == 0) {
            if (find_policy(s, sec->name))
                diag_add(d, sec->file, sec->line, "[policy \"%s\"]: defined twice", sec->name);
            push((void ***)&s->pols, &s->npols, build_policy(s, sec->name, sec, 0, sla_sec, d));
        }
    }
    if (!find_policy(s, "default"))
        push((void ***)&s->pols, &s->npols,
             build_policy(s, "default", NULL, REGIME_SOCIAL, sla_sec, d));
    if (!find_policy(s, "59fz"))
        push((void ***)&s->pols, &s->npols,
             build_policy(s, "59fz", NULL, REGIME_59FZ, sla_sec, d));
    pick_defaults(s, sla_sec, d);
    check_org_refs(s, c, d);
    if (s->lease_ms <= c->kafka.delivery_timeout_ms)
        entry_error(d, sla_sec, "lease", "[sla] lease: %lld ms must exceed "
                    "kafka.delivery_timeout (%lld ms), or a slow delivery is published twice",
                    (long long)s->lease_ms, (long long)c->kafka.delivery_timeout_ms);
}

static void sla_free(struct apd_config *c)
{
    struct sla_config *s = c->sla;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->ncals; i++)
        calendar_free(s->cals[i]);
    for (size_t i = 0; i < s->nhours; i++)
        hours_free(s->hours[i]);
    for (size_t i = 0; i < s->npols; i++)
        policy_free(s->pols[i]);
    for (size_t i = 0; i < s->ndef_esc; i++)
        escalation_free(&s->def_esc[i]);
    free(s->def_esc);
    free(s->cals);
    free(s->hours);
    free(s->pols);
    conf_unbind(sla_keys, s);
    free(s);
    c->sla = NULL;
}

static const char *sla_restart_diff(const struct apd_config *a, const struct apd_config *b)
{
    static char buf[64];
    const char *k = conf_restart_diff(sla_keys, a->sla, b->sla);
    if (k == NULL)
        return NULL;
    snprintf(buf, sizeof(buf), "sla.%s", k);
    return buf;
}

static void sla_reference(void)
{
    conf_print_keys("sla", sla_keys);
    const char *doc = "default escalation levels (repeatable): after=, to=, via= (see [policy])";
    if (conf_reference_is_tsv())
        printf("sla\tescalate\tstring\tafter=0 to=up\t\t%s\n", doc);
    else
        printf("  %-22s %-8s %-10s %s\n\n", "escalate", "string", "after=0 to=up", doc);
    conf_print_keys("calendar \"NAME\"", calendar_keys);
    printf("\n");
    hours_reference();
    conf_print_keys("policy \"NAME\"", policy_keys);
    doc = "one escalation level per line: after=0|2h|150% to=up|up:N|top|owner|CODE,... "
          "[via=kafka|http|topic:NAME]";
    if (conf_reference_is_tsv())
        printf("policy \"NAME\"\tescalate\tstring\t\t\t%s\n", doc);
    else
        printf("  %-22s %-8s %-10s %s\n\n", "escalate", "string", "-", doc);
}

const struct conf_module sla_conf_module = {
    .name = "sla",
    .build = sla_build,
    .free = sla_free,
    .restart_diff = sla_restart_diff,
    .reference = sla_reference,
};
