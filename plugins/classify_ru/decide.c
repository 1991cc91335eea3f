/* classify_ru: from matched lexicon entries to a decision.
 *
 * Every section of the lexicons gets the sum of the weights of its entries
 * found in the text (a misspelt match counts fuzzy_factor of it; each entry
 * once) plus what fired rules add.  Then:
 *   category     the category section with the highest score, when it
 *                reaches category_min; else fallback_category;
 *   kind         the highest of five scores, each its lexicon section plus
 *                structural signals weighted by [param]s (see kind_scores);
 *   priority     critical when its score reaches critical_min, else high when
 *                its reaches high_min, else normal; the reason is the
 *                heaviest phrase (or rule) behind it;
 *   municipality the place section with the highest score (ties: the one
 *                named first); places inside a longer place ("Майкопский
 *                район" over "Майкоп…") and street names ("ул. Майкопская")
 *                do not count.
 * Confidences: softmax over the kind scores; best/(best + runner-up + 1)
 * for category; rising with the evidence for priority and municipality. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ru.h"

/* The word at i follows a preposition of place, right before it or with one
 * word between ("возле школы", "рядом со школой", "около нашей школы"). */
static bool landmark(const struct ru *ru, uint32_t i)
{
    const struct lex_matcher *m = ru->m;
    return lex_preceded_by(m, i, LEX_IS_LANDMARK) ||
           (i > 1 && lex_preceded_by(m, i - 1, LEX_IS_LANDMARK) &&
            m->vt[i - 1].sentence == m->vt[i].sentence &&
            !(m->vt[i].flags & APD_TOK_CLAUSE) && m->vt[i - 1].function);
}

/* A hit's weight: less for a misspelling, and less for a category word
 * named as a landmark ("яма возле школы" is not about the school). */
static double hit_weight(const struct ru *ru, const struct lex_hit *h)
{
    const struct lex_entry *e = &ru->lx->entries[h->entry];
    double w = e->weight;
    if (h->flags & LEX_HIT_FUZZY)
        w *= ru->p.fuzzy_factor;
    if (ru->sec_role[e->section] == ROLE_CATEGORY && w > 0 && landmark(ru, h->first))
        w *= ru->p.landmark;
    return w;
}

static bool place_suppressed(const struct ru *ru, const struct lex_hit *h)
{
    const struct lex_matcher *m = ru->m;
    for (size_t i = 0; i < m->nhits; i++) {
        const struct lex_hit *o = &m->hits[i];
        if (o == h || ru->sec_role[ru->lx->entries[o->entry].section] != ROLE_PLACE)
            continue;
        if (o->first <= h->first && o->last >= h->last &&
            o->last - o->first > h->last - h->first)
            return true;
    }
    return lex_preceded_by(ru->m, h->first, LEX_IS_STREET);
}

/* Whether a hit speaks for its section.  A place inside a longer place
 * does not; neither does a place or a topic word that is the name of a
 * street: "ул. Школьная" is not about a school, "ул. Связи" not about
 * phones. */
static bool counts(const struct ru *ru, const struct lex_hit *h)
{
    uint8_t role = ru->sec_role[ru->lx->entries[h->entry].section];
    if (role == ROLE_PLACE)
        return !place_suppressed(ru, h);
    if (role == ROLE_CATEGORY)
        return !lex_preceded_by(ru->m, h->first, LEX_IS_STREET);
    return role != ROLE_NONE;
}

/* The lead sentence: the first with three words that are not grammar (a
 * greeting before the point does not count). */
static uint16_t lead_sentence(const struct ru *ru)
{
    const struct lex_matcher *m = ru->m;
    unsigned content = 0;
    for (size_t i = 0; i < m->nvt; i++) {
        if (i > 0 && m->vt[i].sentence != m->vt[i - 1].sentence)
            content = 0;
        if (!m->vt[i].function && !(m->vt[i].flags & APD_TOK_NUMBER) && ++content == 3)
            return m->vt[i].sentence;
    }
    return m->nvt ? m->vt[0].sentence : 0;
}

/* Requests and questions weigh fully where the text makes its point: in the
 * lead sentence, among its first lead_words words that are not grammar
 * ("Просим установить…", "Уважаемая администрация, обратите внимание…"),
 * and later_sentence as much after that ("…сломаны качели, дети могут
 * пораниться, почините" reports a problem first). */
static double position_factor(const struct ru *ru, const struct lex_hit *h)
{
    int s = (int)ru->lx->entries[h->entry].section;
    const struct lex_matcher *m = ru->m;
    bool lead = m->vt[h->first].sentence == ru->lead;
    unsigned before = 0;
    for (size_t i = 0; lead && i < h->first; i++)
        before += m->vt[i].sentence == ru->lead && !m->vt[i].function &&
                  !(m->vt[i].flags & APD_TOK_NUMBER);
    bool early = lead && before < ru->p.lead_words;
    if (ru->sec_role[s] == ROLE_CATEGORY)
        return early ? 1 : 0;          /* see accumulate: the lead bonus */
    if (s != ru->kind_sec[RU_REQUEST] && s != ru->kind_sec[RU_QUESTION])
        return 1;
    return early ? 1 : ru->p.later_sentence;
}

static void accumulate(struct ru *ru)
{
    const struct lex *lx = ru->lx;
    const struct lex_matcher *m = ru->m;
    memset(ru->score, 0, lx->nsections * sizeof(double));
    ru->lead = lead_sentence(ru);
    if (m->nhits > ru->okcap) {
        ru->okcap = m->nhits * 2;
        free(ru->ok);
        if ((ru->ok = malloc(ru->okcap)) == NULL)
            abort();
    }
    for (size_t i = 0; i < m->nhits; i++)
        ru->ok[i] = counts(ru, &m->hits[i]);
    memset(ru->lead_bonus, 0, lx->nsections * sizeof(double));
    for (size_t i = 0; i < m->nhits; i++) {
        if (!ru->ok[i])
            continue;
        const struct lex_hit *h = &m->hits[i];
        int s = ru->sec_target[lx->entries[h->entry].section];
        double w = hit_weight(ru, h);
        if (ru->sec_role[s] == ROLE_CATEGORY) {
            /* what a text is about usually comes first ("стройку огородили
             * забором на полтротуара" is about the building site): early
             * words weigh more in choosing the category, not in whether
             * there is one */
            ru->score[s] += w;
            ru->lead_bonus[s] += w * ru->p.lead_topic * position_factor(ru, h);
        } else {
            ru->score[s] += w * position_factor(ru, h);
        }
    }
    for (size_t r = 0; r < lx->nrules; r++)
        if (m->rule_fired[r])
            for (uint32_t a = 0; a < lx->rules[r].nactions; a++)
                ru->score[lx->rules[r].actions[a].section] += lx->rules[r].actions[a].weight;
}

static double sec(const struct ru *ru, int s) { return s >= 0 ? ru->score[s] : 0; }

/* ---- evidence ---- */

struct out {
    struct ru *ru;
    apd_evidence_fn fn;
    void *ctx;
};

static void say(const struct out *o, const char *field, const char *value, const char *term,
                const char *rule, double w, uint32_t start, uint32_t len, unsigned flags)
{
    struct apd_evidence ev = {.struct_size = sizeof(ev), .field = field, .value = value,
                              .term = term, .rule = rule, .weight = w, .start = start,
                              .len = len, .flags = flags};
    o->fn(o->ctx, &ev);
}

/* The hits of section s (at most max) and the rules that added to it. */
static void say_section(const struct out *o, int s, const char *field, const char *value,
                        size_t max)
{
    const struct ru *ru = o->ru;
    const struct lex *lx = ru->lx;
    const struct lex_matcher *m = ru->m;
    size_t said = 0;
    for (size_t i = 0; i < m->nhits && said < max; i++) {
        const struct lex_hit *h = &m->hits[i];
        const struct lex_entry *e = &lx->entries[h->entry];
        if (ru->sec_target[e->section] != s || !ru->ok[i])
            continue;
        unsigned f = ((h->flags & LEX_HIT_FUZZY) ? APD_EVD_FUZZY : 0) |
                     ((h->flags & LEX_HIT_SPLIT) ? APD_EVD_SPLIT : 0);
        double w = hit_weight(ru, h);
        if (ru->sec_role[e->section] != ROLE_CATEGORY)
            w *= position_factor(ru, h);
        say(o, field, value, e->text, NULL, w, h->start, h->len, f);
        said++;
    }
    for (size_t r = 0; r < lx->nrules; r++) {
        if (!m->rule_fired[r])
            continue;
        for (uint32_t a = 0; a < lx->rules[r].nactions; a++)
            if ((int)lx->rules[r].actions[a].section == s)
                say(o, field, value, NULL, lx->rules[r].name, lx->rules[r].actions[a].weight,
                    0, 0, 0);
    }
}

/* ---- kind ---- */

struct signals {
    double topic;              /* strength of the best category */
    unsigned content;          /* words that are not prepositions, particles, numbers */
    unsigned negations;
    bool shouting;
    bool lead_question;        /* the lead sentence ends with '?' */
    bool message;              /* a private message to the page */
    unsigned other_questions;  /* other sentences that do */
};

static void measure(const struct ru *ru, const struct apd_text *t, struct signals *s)
{
    const struct lex_matcher *m = ru->m;
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < m->nvt; i++) {
        const struct lex_vtok *v = &m->vt[i];
        if (v->flags & APD_TOK_NEGATOR)
            s->negations++;
        if (!v->function && !(v->flags & APD_TOK_NUMBER) && strlen(v->word) > 2)
            s->content++;
    }
    s->shouting = t->letters >= 12 && t->upper_letters * 10 >= t->letters * 6;
    for (size_t i = 0; i < m->nvt; i++)
        if ((m->vt[i].flags & APD_TOK_SENT_START) && (m->vt[i].flags & APD_TOK_QUESTION)) {
            if (m->vt[i].sentence == ru->lead)
                s->lead_question = true;
            else
                s->other_questions++;
        }
}

struct kind_part {
    const char *name;
    double w;
};

/* The structural part of each kind's score, named for the evidence.  The
 * category's strength is not part of it: it says whether a text is an
 * appeal at all (appeal_boost), not which kind of appeal. */
static size_t structure(const struct ru *ru, const struct apd_text *t, const struct signals *s,
                        int k, struct kind_part *parts)
{
    const struct ru_params *p = &ru->p;
    double topic = fmin(s->topic, p->topic_cap);
    size_t n = 0;
#define PART(nm, v) do { double v_ = (v); if (v_ != 0) parts[n++] = (struct kind_part){nm, v_}; } while (0)
    switch (k) {
    case RU_COMPLAINT:
        PART("negation", p->negation * fmin(s->negations, 3));
        PART("negative-emoji", p->negative_emoji * fmin(t->emoji_negative, 3));
        PART("exclamation", t->exclaim_runs ? p->exclaim : 0);
        PART("capitals", s->shouting ? p->caps : 0);
        break;
    case RU_QUESTION:
        PART("question-mark", s->lead_question ? p->question_mark : 0);
        PART("later-question-mark", s->other_questions ? p->question_mark * p->later_sentence : 0);
        break;
    case RU_GRATITUDE:
        PART("positive-emoji", p->positive_emoji * fmin(t->emoji_positive, 3));
        PART("thanks-despite-problem", -p->thanks_vs_problem * sec(ru, ru->kind_sec[RU_COMPLAINT]));
        break;
    case RU_NOISE:
        PART("base", p->noise_base);
        /* short and about nothing: "+", "Согласна", "Класс"; short and about
         * something is less often noise: "Воду дайте!!!", "Света нет" */
        PART("short-text", s->content > p->short_words ? 0
                           : s->topic < p->category_min ? p->short_text
                           : p->short_text * p->short_topic);
        PART("links", p->link * fmin(t->nurls, 3));
        PART("phone-number", p->phone * fmin(t->phones, 2));
        PART("category-strength", -p->topic_vs_noise * topic);
        break;
    }
#undef PART
    return n;
}

/* What makes any appeal kind more likely than gratitude or noise: a topic
 * of the lexicons (capped), or its absence. */
static double appeal_boost(const struct ru *ru, const struct signals *s)
{
    const struct ru_params *p = &ru->p;
    if (s->topic < p->category_min)
        return -p->no_topic;
    return p->topic_weight * fmin(s->topic, p->topic_cap);
}

/* A private message is written to the authority: an appeal is likelier. */
static double message_boost(const struct ru *ru, const struct signals *s)
{
    return s->message ? ru->p.private_message : 0;
}

static int decide_kind(const struct ru *ru, const struct apd_text *t, const struct signals *s,
                       double score[RU_NKINDS])
{
    struct kind_part parts[8];
    for (int k = 0; k < RU_NKINDS; k++) {
        score[k] = sec(ru, ru->kind_sec[k]);
        size_t n = structure(ru, t, s, k, parts);
        for (size_t i = 0; i < n; i++)
            score[k] += parts[i].w;
    }
    /* Which appeal, if any: complaint unless a request or a question is
     * clearly made (ties go to the complaint, the commonest appeal). */
    int appeal = RU_COMPLAINT;
    if (score[RU_REQUEST] > score[appeal])
        appeal = RU_REQUEST;
    if (score[RU_QUESTION] > score[appeal])
        appeal = RU_QUESTION;
    double boost = appeal_boost(ru, s) + message_boost(ru, s);
    for (int k = RU_COMPLAINT; k <= RU_REQUEST; k++)
        score[k] += boost;
    /* Not an appeal only when thanks or noise clearly win: a lost appeal
     * costs more than one more text for an operator to read. */
    int other = score[RU_NOISE] > score[RU_GRATITUDE] ? RU_NOISE : RU_GRATITUDE;
    return score[other] > score[appeal] ? other : appeal;
}

/* Confidence of the kind: how sure it is an appeal (or not), times how
 * sure it is this kind among the appeal kinds (or among gratitude and
 * noise).  A complaint is the default appeal, so it starts with a prior. */
static double kind_confidence(const struct ru *ru, const double *score, int best)
{
    double temp = ru->p.kind_temperature;
    double appeal = fmax(score[RU_COMPLAINT], fmax(score[RU_QUESTION], score[RU_REQUEST]));
    double other = fmax(score[RU_GRATITUDE], score[RU_NOISE]);
    double p_appeal = 1 / (1 + exp((other - appeal) / temp));
    double within[3] = {score[RU_COMPLAINT] + 1, score[RU_QUESTION], score[RU_REQUEST]};
    int lo = best <= RU_REQUEST ? 0 : RU_GRATITUDE, hi = best <= RU_REQUEST ? 2 : RU_NOISE;
    double top = best <= RU_REQUEST ? within[best] : score[best], sum = 0;
    for (int k = lo; k <= hi; k++)
        sum += exp(((best <= RU_REQUEST ? within[k] : score[k]) - top) / temp);
    return (best <= RU_REQUEST ? p_appeal : 1 - p_appeal) / sum;
}

static void say_kind(const struct out *o, const struct apd_text *t, const struct signals *s,
                     int k)
{
    const char *code = ru_kind_codes[k];
    say_section(o, o->ru->kind_sec[k], "kind", code, 5);
    struct kind_part parts[8];
    size_t n = structure(o->ru, t, s, k, parts);
    for (size_t i = 0; i < n; i++)
        say(o, "kind", code, NULL, parts[i].name, parts[i].w, 0, 0, 0);
    if (k <= RU_REQUEST) {
        say(o, "kind", code, NULL, s->topic < o->ru->p.category_min ? "no-topic"
            : "category-strength", appeal_boost(o->ru, s), 0, 0, 0);
        if (s->message)
            say(o, "kind", code, NULL, "private-message", message_boost(o->ru, s), 0, 0, 0);
    }
}

/* ---- category ---- */

static int best_of_role(const struct ru *ru, int role, double *best, double *second)
{
    int b = -1;
    *best = *second = 0;
    for (size_t i = 0; i < ru->lx->nsections; i++) {
        if (ru->sec_role[i] != role || ru->sec_target[i] != (int)i)
            continue;
        double v = ru->score[i] + ru->lead_bonus[i];
        if (b < 0 || v > *best) {
            *second = b < 0 ? 0 : *best;
            *best = v;
            b = (int)i;
        } else if (v > *second) {
            *second = v;
        }
    }
    return b;
}

static void decide_category(const struct out *o, struct apd_classification *io, int cat,
                            double best, double second)
{
    const struct ru *ru = o->ru;
    if (cat < 0 || best < ru->p.category_min) {
        io->category = ru->p.fallback_category;
        io->category_confidence = 0.4;
        say(o, "category", io->category, NULL, "no-topic", best, 0, 0, 0);
        return;
    }
    io->category = ru->lx->sections[cat].code;
    io->category_confidence = best / (best + second + 1);
    say_section(o, cat, "category", io->category, 6);
}

/* ---- priority ---- */

/* The heaviest phrase of section s as the reason, or the first rule. */
static const char *reason_of(struct ru *ru, int s)
{
    const struct lex *lx = ru->lx;
    const struct lex_matcher *m = ru->m;
    const struct lex_hit *best = NULL;
    for (size_t i = 0; i < m->nhits; i++) {
        const struct lex_hit *h = &m->hits[i];
        if ((int)lx->entries[h->entry].section == s &&
            (best == NULL || hit_weight(ru, h) > hit_weight(ru, best)))
            best = h;
    }
    if (best) {
        const struct lex_entry *e = &lx->entries[best->entry];
        if (e->label)
            return e->label;
        /* the words of the text that matched, as the citizen wrote them */
        size_t n = best->len < sizeof(ru->reason) ? best->len : sizeof(ru->reason) - 1;
        memcpy(ru->reason, ru->m->text + best->start, n);
        ru->reason[n] = '\0';
        return ru->reason;
    }
    for (size_t r = 0; r < lx->nrules; r++)
        for (uint32_t a = 0; m->rule_fired[r] && a < lx->rules[r].nactions; a++)
            if ((int)lx->rules[r].actions[a].section == s)
                return lx->rules[r].name;
    return NULL;
}

static void decide_priority(const struct out *o, struct apd_classification *io)
{
    struct ru *ru = o->ru;
    double crit = sec(ru, ru->crit_sec), high = sec(ru, ru->high_sec);
    int s = -1;
    if (crit >= ru->p.critical_min) {
        io->priority = "critical";
        io->priority_confidence = fmin(0.95, 0.6 + 0.1 * crit);
        s = ru->crit_sec;
    } else if (high >= ru->p.high_min) {
        io->priority = "high";
        io->priority_confidence = fmin(0.9, 0.55 + 0.1 * high);
        s = ru->high_sec;
    } else {
        io->priority = "normal";
        io->priority_confidence = fmax(0.5, 0.8 - 0.15 * (crit + high));
        io->priority_reason = NULL;
        return;
    }
    const char *why = reason_of(ru, s);
    if (why != ru->reason)
        snprintf(ru->reason, sizeof(ru->reason), "%s", why ? why : io->priority);
    io->priority_reason = ru->reason;
    say_section(o, s, "priority", io->priority, 4);
}

/* ---- municipality ---- */

static void decide_place(const struct out *o, struct apd_classification *io)
{
    const struct ru *ru = o->ru;
    const struct lex *lx = ru->lx;
    const struct lex_matcher *m = ru->m;
    int best = -1;
    uint32_t best_at = 0;
    double total = 0;
    for (size_t i = 0; i < m->nhits; i++) {
        const struct lex_hit *h = &m->hits[i];
        int s = (int)lx->entries[h->entry].section;
        if (ru->sec_role[s] != ROLE_PLACE || !ru->ok[i])
            continue;
        if (best < 0 || ru->score[s] > ru->score[best] ||
            (ru->score[s] == ru->score[best] && h->start < best_at)) {
            best = s;
            best_at = h->start;
        }
    }
    for (size_t i = 0; i < lx->nsections; i++)
        if (ru->sec_role[i] == ROLE_PLACE && ru->score[i] > 0)
            total += ru->score[i];
    if (best < 0 || ru->score[best] < ru->p.place_min) {
        io->municipality = NULL;
        io->municipality_confidence = 0;
        return;
    }
    io->municipality = lx->sections[best].code;
    io->municipality_confidence = 0.95 * ru->score[best] / total;
    say_section(o, best, "municipality", io->municipality, 3);
}

/* ---- all of it ---- */

static void measure_all(struct ru *ru, const struct apd_text *t, bool message,
                        struct signals *s, int *cat, double *best, double *second)
{
    accumulate(ru);
    *cat = best_of_role(ru, ROLE_CATEGORY, best, second);
    measure(ru, t, s);
    s->message = message;
    s->topic = *cat >= 0 ? ru->score[*cat] : 0;   /* the lead bonus only chooses */
}

void ru_score(struct ru *ru, const struct apd_text *t, bool message,
              double kind_score[RU_NKINDS])
{
    struct signals s;
    int cat;
    double best, second;
    measure_all(ru, t, message, &s, &cat, &best, &second);
    decide_kind(ru, t, &s, kind_score);
}

static void not_an_appeal(struct apd_classification *io)
{
    /* nothing to file or to hurry */
    io->category = NULL;
    io->category_confidence = 0;
    io->priority = "normal";
    io->priority_confidence = 1;
    io->priority_reason = NULL;
}

void ru_decide(struct ru *ru, const struct apd_classify_input *in, bool message,
               struct apd_classification *io, apd_evidence_fn evidence, void *ctx)
{
    const struct apd_text *t = in->analysis;
    struct out o = {ru, evidence, ctx};
    struct signals s;
    int cat;
    double best, second, score[RU_NKINDS];
    measure_all(ru, t, message, &s, &cat, &best, &second);
    int k = decide_kind(ru, t, &s, score);
    if (ru->model) {
        ru_model_decide(ru, in, score, cat, best, io, evidence, ctx);
    } else {
        io->kind = ru_kind_codes[k];
        io->kind_confidence = kind_confidence(ru, score, k);
        say_kind(&o, t, &s, k);
        if (k <= RU_REQUEST)
            decide_category(&o, io, cat, best, second);
    }
    if (strcmp(io->kind, "gratitude") == 0 || strcmp(io->kind, "noise") == 0)
        not_an_appeal(io);
    else
        decide_priority(&o, io);
    decide_place(&o, io);
}
