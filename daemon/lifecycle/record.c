#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "sbuf.h"
#include "units.h"

#define STR(f) offsetof(struct appeal_rec, f)
static const struct {
    const char *name;
    size_t off;
} str_fields[] = {
    {"source", STR(source)},       {"page", STR(page)},
    {"org", STR(org)},             {"state", STR(state)},
    {"prev_state", STR(prev_state)}, {"link", STR(link)},
    {"author", STR(author)},       {"item_kind", STR(item_kind)},
    {"rule", STR(rule)},           {"kind", STR(kind)},
    {"category", STR(category)},
    {"municipality", STR(municipality)}, {"priority", STR(priority)},
    {"policy", STR(policy)},       {"formal", STR(formal)},
    {"fr_link", STR(fr_link)},     {"copies", STR(copies)},
    {"answer_quality", STR(answer_quality)}, {"answer_reasons", STR(answer_reasons)},
    {"inc", STR(inc)},             {"inc_lead", STR(inc_lead)},
    {"inc_apps", STR(inc_apps)},
};
#define NSTR (sizeof(str_fields) / sizeof(str_fields[0]))

static const struct {
    const char *name;
    size_t off;
} int_fields[] = {
    {"seq", STR(seq)},             {"created_ms", STR(created_ms)},
    {"received_ms", STR(received_ms)}, {"formal_ms", STR(formal_ms)},
    {"ext_days", STR(ext_days)},   {"exts", STR(exts)},
    {"fz_received_ms", STR(fz_received_ms)}, {"registered_ms", STR(registered_ms)},
    {"forwarded_ms", STR(forwarded_ms)},
    {"confirmed_ms", STR(confirmed_ms)}, {"reopens", STR(reopens)},
    {"inc_ver", STR(inc_ver)},
};
#define NINT (sizeof(int_fields) / sizeof(int_fields[0]))

#define CLK(f) offsetof(struct clock, f)
static const struct {
    const char *suffix;
    size_t off;
} clock_fields[] = {
    {"_due", CLK(due)}, {"_left", CLK(left)}, {"_bud", CLK(bud)},
    {"_at", CLK(at)},   {"_used", CLK(used)},
};
#define NCLK (sizeof(clock_fields) / sizeof(clock_fields[0]))

static const char *const clock_names[CLK_N] = {"first_response", "resolution", "formal",
                                               "registration", "forward", "rework"};
static const char *const clock_fields_[CLK_N] = {"fr", "res", "fz", "rg", "fw", "rw"};

const char *clock_name(enum clock_id c) { return clock_names[c]; }
const char *clock_field(enum clock_id c) { return clock_fields_[c]; }

void record_set(char **field, const char *v)
{
    free(*field);
    *field = v && *v ? strdup(v) : NULL;
}

void record_init(struct appeal_rec *r, const char *id)
{
    memset(r, 0, sizeof(*r));
    r->id = strdup(id ? id : "");
}

void record_free(struct appeal_rec *r)
{
    for (size_t i = 0; i < NSTR; i++)
        free(*(char **)((char *)r + str_fields[i].off));
    free(r->id);
    free(r->text);
    memset(r, 0, sizeof(*r));
}

void record_copy(struct appeal_rec *dst, const struct appeal_rec *src)
{
    *dst = *src;
    for (size_t i = 0; i < NSTR; i++) {
        char **p = (char **)((char *)dst + str_fields[i].off);
        *p = *p ? strdup(*p) : NULL;
    }
    dst->id = src->id ? strdup(src->id) : NULL;
    dst->text = src->text ? strdup(src->text) : NULL;
}

static bool is_str(const redisReply *e)
{
    return e && (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS);
}

static void parse_field(struct appeal_rec *r, const char *k, const char *v)
{
    for (size_t i = 0; i < NSTR; i++)
        if (strcmp(k, str_fields[i].name) == 0) {
            record_set((char **)((char *)r + str_fields[i].off), v);
            return;
        }
    for (size_t i = 0; i < NINT; i++)
        if (strcmp(k, int_fields[i].name) == 0) {
            *(int64_t *)((char *)r + int_fields[i].off) = strtoll(v, NULL, 10);
            return;
        }
    if (strcmp(k, "triage") == 0 || strcmp(k, "dropped") == 0) {
        *(k[0] == 't' ? &r->triage : &r->dropped) = strcmp(v, "1") == 0;
        return;
    }
    for (int c = 0; c < CLK_N; c++) {
        size_t pl = strlen(clock_fields_[c]);
        if (strncmp(k, clock_fields_[c], pl) != 0)
            continue;
        struct clock *ck = &r->clk[c];
        if (k[pl] == '\0') {
            ck->state = v[0];
            return;
        }
        if (strcmp(k + pl, "_st") == 0) {
            ck->fired = (uint32_t)strtoul(v, NULL, 10);
            return;
        }
        for (size_t i = 0; i < NCLK; i++)
            if (strcmp(k + pl, clock_fields[i].suffix) == 0) {
                *(int64_t *)((char *)ck + clock_fields[i].off) = strtoll(v, NULL, 10);
                return;
            }
    }
}

void record_parse(struct appeal_rec *r, const redisReply *hash, const redisReply *text)
{
    if (hash && hash->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < hash->elements; i += 2) {
            const redisReply *k = hash->element[i], *v = hash->element[i + 1];
            if (is_str(k) && is_str(v))
                parse_field(r, k->str, v->str);
        }
    r->exists = r->received_ms > 0 && r->state != NULL;
    if (is_str(text))
        record_set(&r->text, text->str);
}

static void put(struct record_fields *f, const char *name, char *value)
{
    if (value == NULL || f->n == sizeof(f->name) / sizeof(f->name[0])) {
        free(value);
        return;
    }
    f->name[f->n] = strdup(name);
    f->value[f->n++] = value;
}

static void put_int(struct record_fields *f, const char *name, int64_t v)
{
    char *s = NULL;
    if (v != 0 && asprintf(&s, "%lld", (long long)v) < 0)
        s = NULL;
    put(f, name, s);
}

void record_fields(const struct appeal_rec *r, struct record_fields *out)
{
    out->n = 0;
    for (size_t i = 0; i < NSTR; i++) {
        const char *v = *(char *const *)((const char *)r + str_fields[i].off);
        put(out, str_fields[i].name, v && *v ? strdup(v) : NULL);
    }
    for (size_t i = 0; i < NINT; i++)
        put_int(out, int_fields[i].name, *(const int64_t *)((const char *)r + int_fields[i].off));
    put(out, "triage", r->triage ? strdup("1") : NULL);
    put(out, "dropped", r->dropped ? strdup("1") : NULL);
    /* What readers of the first record layout look for (appealsctl list). */
    put_int(out, "first_response_due_ms",
            r->clk[CLK_FR].state == CS_RUN ? r->clk[CLK_FR].due : 0);
    put_int(out, "first_response_ms", r->clk[CLK_FR].state == CS_MET ? r->clk[CLK_FR].at : 0);
    for (int c = 0; c < CLK_N; c++) {
        const struct clock *ck = &r->clk[c];
        if (ck->state == CS_NONE)
            continue;
        char name[32], st[2] = {ck->state, '\0'};
        put(out, clock_fields_[c], strdup(st));
        snprintf(name, sizeof(name), "%s_st", clock_fields_[c]);
        put_int(out, name, ck->fired);
        for (size_t i = 0; i < NCLK; i++) {
            snprintf(name, sizeof(name), "%s%s", clock_fields_[c], clock_fields[i].suffix);
            put_int(out, name, *(const int64_t *)((const char *)ck + clock_fields[i].off));
        }
    }
}

void record_fields_free(struct record_fields *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->name[i]);
        free(f->value[i]);
    }
    f->n = 0;
}

bool state_is_kept(const char *s)
{
    return s && (strcmp(s, "not_appeal") == 0 || strcmp(s, "feedback") == 0);
}

bool state_is_final(const char *s)
{
    return s && (strcmp(s, "resolved") == 0 || strcmp(s, "closed") == 0 ||
                 strcmp(s, "withdrawn") == 0 || strcmp(s, "dropped") == 0 ||
                 state_is_kept(s));
}

bool state_is_active(const char *s)
{
    return s && (strcmp(s, "open") == 0 || strcmp(s, "accepted") == 0 ||
                 strcmp(s, "in_progress") == 0 || strcmp(s, "answered") == 0);
}

bool record_inc_held(const struct appeal_rec *r)
{
    return r->inc && r->inc_lead && r->id && strcmp(r->inc_lead, r->id) != 0;
}

bool clock_overdue(const struct clock *c)
{
    return (c->state == CS_RUN || c->state == CS_PAUSE) && (c->fired & 1u << STAGE_BREACH);
}

bool record_overdue(const struct appeal_rec *r)
{
    for (int c = 0; c < CLK_N; c++)
        if (clock_overdue(&r->clk[c]))
            return true;
    return false;
}

int64_t record_next_due(const struct appeal_rec *r)
{
    int64_t best = 0;
    for (int c = 0; c < CLK_N; c++)
        if (r->clk[c].state == CS_RUN && (best == 0 || r->clk[c].due < best))
            best = r->clk[c].due;
    return best;
}

static const char *state_word(char s)
{
    switch (s) {
    case CS_RUN: return "running";
    case CS_PAUSE: return "paused";
    case CS_STOP: return "stopped";
    case CS_MET: return "met";
    default: return "none";
    }
}

/* "incident": whose clocks count, and (on the lead) the appeals they count for. */
static void incident_json(struct jw *w, const struct appeal_rec *r)
{
    jw_key(w, "incident");
    jw_obj(w);
    jw_kstr(w, "id", r->inc);
    if (r->inc_lead)
        jw_kstr(w, "lead", r->inc_lead);
    jw_kbool(w, "held", record_inc_held(r));
    if (r->inc_apps && !record_inc_held(r)) {
        jw_key(w, "appeals");
        jw_arr(w);
        for (const char *p = r->inc_apps; *p;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (n)
                jw_strn(w, p, n);
            p += n + (e != NULL);
        }
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

void record_sla_json(struct jw *w, const struct appeal_rec *r, const char *tz)
{
    jw_obj(w);
    /* The one deadline most consumers look for, at the top. */
    if (r->clk[CLK_FR].state == CS_RUN)
        jw_ktime(w, "first_response_due", r->clk[CLK_FR].due, tz);
    if (r->policy)
        jw_kstr(w, "policy", r->policy);
    if (r->formal) {
        jw_kstr(w, "formal_policy", r->formal);
        jw_ktime(w, "converted_at", r->formal_ms, tz);
        jw_kint(w, "extended_days", r->ext_days);
        jw_kint(w, "extensions", r->exts);
        if (r->fz_received_ms)
            jw_ktime(w, "formal_received_at", r->fz_received_ms, tz);
        if (r->registered_ms)
            jw_ktime(w, "registered_at", r->registered_ms, tz);
        if (r->forwarded_ms)
            jw_ktime(w, "forwarded_at", r->forwarded_ms, tz);
        if (r->clk[CLK_FZ].state == CS_RUN)
            jw_ktime(w, "formal_due", r->clk[CLK_FZ].due, tz);
        if (r->clk[CLK_FWD].state == CS_RUN)
            jw_ktime(w, "forward_due", r->clk[CLK_FWD].due, tz);
    }
    jw_kbool(w, "overdue", record_overdue(r));
    if (r->inc)
        incident_json(w, r);
    jw_key(w, "clocks");
    jw_obj(w);
    for (int c = 0; c < CLK_N; c++) {
        const struct clock *ck = &r->clk[c];
        if (ck->state == CS_NONE)
            continue;
        jw_key(w, clock_names[c]);
        jw_obj(w);
        jw_kstr(w, "state", state_word(ck->state));
        if (ck->state == CS_RUN)
            jw_ktime(w, "due", ck->due, tz);
        else
            jw_kint(w, "left_ms", ck->left);
        jw_kint(w, "allowed_ms", ck->bud);
        jw_kint(w, "fired", ck->fired);
        jw_kbool(w, "breached", (ck->fired & 1u << STAGE_BREACH) != 0);
        if (ck->state == CS_MET || ck->state == CS_STOP)
            jw_ktime(w, ck->state == CS_MET ? "met_at" : "stopped_at", ck->at, tz);
        if (ck->state == CS_MET && c == CLK_FR)
            jw_kint(w, "used_ms", ck->used);
        jw_obj_end(w);
    }
    jw_obj_end(w);
    jw_obj_end(w);
}
