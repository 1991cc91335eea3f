/* Matching a lexicon against an analysed text.
 *
 * Each distinct word is looked up once and remembered (the memo): its stem,
 * its exact form and its prefixes against the term index; failing those, a
 * misspelling within one edit of a stem; failing that, a split into a
 * preposition or negation and a lexicon word ("вподъезде", "нетводы",
 * "водынет").  Phrases are then followed word by word over those candidates,
 * allowing one stray word between two of their words, within one clause.
 *
 * A frequent word (one of the [common] lists) is taken for what it is: never
 * for a misspelling, never split, and caught by a prefix only when the
 * prefix covers its whole stem ("цен*" finds "цены", not "центр") or a
 * one-word entry names it itself ("жалуются"). */
#include <stdlib.h>
#include <string.h>

#include "lexint.h"

#define MEMO_MAX 100000
#define KEY_MAX 256

struct lex_cands {
    uint16_t n;
    uint16_t nexact;     /* ids [nexact, n) are misspellings found by the fuzzy index */
    uint16_t nleft;      /* split: ids [0, nleft) are the left part's */
    uint8_t how;         /* LEX_HIT_SPLIT or 0 */
    uint8_t neg_side;    /* split: 1 = the right part is negated, 2 = the left part */
    bool left_function;
    bool function;       /* the word is a preposition, particle or negation */
    uint32_t id[];
};

static const char *const negations[] = {"не", "нет", "нету", "без", "ни", NULL};

static bool is_negation(const char *w)
{
    for (size_t i = 0; negations[i]; i++)
        if (strcmp(negations[i], w) == 0)
            return true;
    return false;
}

/* ---- candidates of one word ---- */

static void lookup(const struct lex *lx, char kind, const char *key, size_t klen,
                   struct lex_ids *out)
{
    char buf[KEY_MAX];
    if (klen + 3 > sizeof(buf))
        return;
    buf[0] = kind;
    buf[1] = ':';
    memcpy(buf + 2, key, klen);
    buf[klen + 2] = '\0';
    const struct lex_ids *s = wordmap_get(&lx->term_by_key, buf, klen + 2);
    for (uint32_t i = 0; s && i < s->n; i++)
        lex_ids_add(out, s->v[i]);
}

/* A one-word entry names the word: terms [from, n) of ids hold one. */
static bool names_entry(const struct lex *lx, const struct lex_ids *ids, size_t from)
{
    for (size_t i = from; i < ids->n; i++)
        if (lx->terms[ids->v[i]].flags & LEX_TERM_ENTRY)
            return true;
    return false;
}

/* The prefix terms of word: all of them, or for a [common] word only those
 * that cover its stem (refused gets the others, when not NULL). */
static size_t prefix_cands(const struct lex *lx, const char *word, size_t stem_cps,
                           bool common, struct lex_ids *out,
                           void (*refused)(void *, uint32_t, const char *), void *arg)
{
    size_t wl = strlen(word), longest = 0;
    if (lx->prefixes.n == 0 || wl >= KEY_MAX)
        return 0;
    char buf[KEY_MAX];
    size_t cps = 0;
    for (size_t i = 0; i <= wl; i++) {
        if (i < wl && ((unsigned char)word[i] & 0xC0) == 0x80)
            continue;
        if (cps >= lx->min_prefix_cps && i > 0) {
            memcpy(buf, word, i);
            buf[i] = '\0';
            if (wordmap_get(&lx->prefixes, buf, i)) {
                if (common && cps < stem_cps) {
                    struct lex_ids no = {0};
                    lookup(lx, 'p', buf, i, &no);
                    for (uint32_t k = 0; refused && k < no.n; k++)
                        refused(arg, no.v[k], word);
                    free(no.v);
                } else {
                    size_t n = out->n;
                    lookup(lx, 'p', buf, i, out);
                    if (out->n > n && cps > longest)
                        longest = cps;
                }
            }
        }
        cps++;
    }
    return longest;
}

size_t lex_exact_cands(const struct lex *lx, const char *word, const char *stem,
                       struct lex_ids *out)
{
    size_t wl = strlen(word), before = out->n, longest = 0;
    bool common = lex_is_common(lx, word, wl);
    lookup(lx, 's', stem, strlen(stem), out);
    lookup(lx, 'w', word, wl, out);
    if (out->n > before)
        longest = lex_cps(word);
    /* "центр" is no "цен*", but "цены" is, and "жалуются" is its own entry */
    bool strict = common && !names_entry(lx, out, before);
    size_t p = prefix_cands(lx, word, lex_cps(stem), strict, out, NULL, NULL);
    return p > longest ? p : longest;
}

struct catches {
    void (*fn)(void *, uint32_t, const char *);
    void *arg;
    size_t n;
};

static void count_catch(void *arg, uint32_t term, const char *word)
{
    struct catches *c = arg;
    c->n++;
    if (c->fn)
        c->fn(c->arg, term, word);
}

size_t lex_prefix_catches(const struct lex *lx,
                          void (*fn)(void *arg, uint32_t term, const char *word), void *arg)
{
    struct catches c = {fn, arg, 0};
    for (size_t i = 0; i < lx->common.cap; i++) {
        const struct wordmap_slot *sl = &lx->common.slots[i];
        if (sl->key == NULL)
            continue;
        const struct lex_common *lc = sl->val;
        struct lex_ids ids = {0};
        lookup(lx, 's', lc->stem, strlen(lc->stem), &ids);
        lookup(lx, 'w', sl->key, sl->len, &ids);
        if (!names_entry(lx, &ids, 0))
            prefix_cands(lx, sl->key, lex_cps(lc->stem), true, &ids, count_catch, &c);
        free(ids.v);
    }
    return c.n;
}

/* Candidates of a part of a glued word, analysed like any text. */
static size_t part_cands(struct lex_matcher *m, const char *part, size_t len, struct lex_ids *out)
{
    const struct apd_text *t = m->api->text_analyze(m->handle, part, len);
    if (t == NULL)
        return 0;
    size_t before = out->n;
    if (t->ntokens == 1)
        lex_exact_cands(m->lx, t->tokens[0].word, t->tokens[0].stem, out);
    m->api->text_free(m->handle, t);
    return out->n - before;
}

/* "вподъезде" → в + подъезде, "нетводы" → нет + воды, "водынет" → воды + нет. */
static bool split_word(struct lex_matcher *m, const char *w, struct lex_ids *ids,
                       struct lex_cands *proto)
{
    const struct lex *lx = m->lx;
    size_t len = strlen(w), cps = 0;
    char left[32];
    for (size_t b = 0; b < len && cps < 4; b++) {
        if (((unsigned char)w[b] & 0xC0) == 0x80 || b == 0)
            continue;
        cps++;
        if (b >= sizeof(left) || lex_cps(w + b) < 3)
            break;
        memcpy(left, w, b);
        left[b] = '\0';
        if (!wordmap_get(&lx->function, left, b) && !is_negation(left))
            continue;
        ids->n = 0;
        lex_exact_cands(lx, left, left, ids);
        uint16_t nleft = (uint16_t)ids->n;
        if (part_cands(m, w + b, len - b, ids) > 0) {
            proto->nleft = nleft;
            proto->neg_side = is_negation(left) ? 1 : 0;
            proto->left_function = true;
            return true;
        }
    }
    for (size_t k = 0; negations[k]; k++) {
        size_t nl = strlen(negations[k]);
        if (len > nl && strcmp(w + len - nl, negations[k]) == 0 && lex_cps(w) - lex_cps(negations[k]) >= 3) {
            ids->n = 0;
            if (part_cands(m, w, len - nl, ids) == 0)
                continue;
            proto->nleft = (uint16_t)ids->n;
            lex_exact_cands(lx, negations[k], negations[k], ids);
            proto->neg_side = 2;
            return true;
        }
    }
    ids->n = 0;
    return false;
}

static void memo_reset(struct lex_matcher *m) { wordmap_clear(&m->memo, free); }

static void by_id_reset(struct lex_matcher *m)
{
    for (size_t i = 0; i < m->idcap; i++) {
        free(m->by_id[i]);
        m->by_id[i] = NULL;
    }
}

/* What is known about a word: looked up by the host's word id when the host
 * gives ids (an array access), by the word itself otherwise. */
static struct lex_cands **memo_slot(struct lex_matcher *m, const struct apd_text *t, size_t i)
{
    if (t->struct_size < offsetof(struct apd_text, vocabulary_size) + sizeof(uint32_t) ||
        t->word_ids == NULL)
        return NULL;
    if (t->vocabulary != m->vocabulary) {
        by_id_reset(m);
        m->vocabulary = t->vocabulary;
    }
    uint32_t id = t->word_ids[i];
    if (id >= m->idcap) {
        size_t cap = m->idcap ? m->idcap : 1024;
        while (cap <= id)
            cap *= 2;
        struct lex_cands **v = realloc(m->by_id, cap * sizeof(*v));
        if (v == NULL)
            abort();
        memset(v + m->idcap, 0, (cap - m->idcap) * sizeof(*v));
        m->by_id = v;
        m->idcap = cap;
    }
    return &m->by_id[id];
}

static const struct lex_cands *cands_for(struct lex_matcher *m, const struct apd_text *t,
                                         size_t ti)
{
    const struct apd_token *tk = &t->tokens[ti];
    struct lex_cands **slot = memo_slot(m, t, ti);
    const struct lex_cands *c = slot ? *slot : wordmap_get(&m->memo, tk->word, tk->wlen);
    if (c)
        return c;
    const struct lex *lx = m->lx;
    struct lex_ids ids = {0};
    struct lex_cands proto = {0};
    /* No match, or one by a prefix shorter than a misspelling may be found
     * for ("свет*" in "светафор"), leaves room for a misspelling of a
     * longer word. */
    size_t longest = lex_exact_cands(lx, tk->word, tk->stem, &ids);
    bool weak = longest < lx->fuzzy_min_cps;
    /* a frequent word is itself, not a misspelling of a lexicon word
     * ("страны" is no "страшно") nor two glued words ("оценил", "пожалуй") */
    bool eligible = weak && (tk->flags & APD_TOK_CYRILLIC) &&
                    !wordmap_get(&lx->known, tk->word, tk->wlen) &&
                    !wordmap_get(&lx->function, tk->word, tk->wlen) &&
                    !lex_is_common(lx, tk->word, tk->wlen);
    proto.nexact = (uint16_t)ids.n;
    if (eligible)
        lex_fuzzy_find(lx, tk->word, tk->stem, &ids);
    if (eligible && ids.n == 0 && lex_cps(tk->word) >= 5 && split_word(m, tk->word, &ids, &proto)) {
        proto.how = LEX_HIT_SPLIT;
        proto.nexact = (uint16_t)ids.n;
    }
    if (slot == NULL && m->memo.n >= MEMO_MAX)
        memo_reset(m);
    struct lex_cands *n = malloc(sizeof(*n) + ids.n * sizeof(uint32_t));
    if (n == NULL)
        abort();
    *n = proto;
    n->n = (uint16_t)ids.n;
    if (ids.n)
        memcpy(n->id, ids.v, ids.n * sizeof(uint32_t));
    free(ids.v);
    n->function = wordmap_get(&lx->function, tk->word, tk->wlen) != NULL;
    if (slot)
        *slot = n;
    else
        wordmap_put(&m->memo, tk->word, tk->wlen, n);
    return n;
}

/* ---- virtual tokens ---- */

static struct lex_vtok *vt_new(struct lex_matcher *m)
{
    m->vt = lex_grow(m->vt, &m->vtcap, m->nvt + 1, sizeof(*m->vt));
    struct lex_vtok *v = &m->vt[m->nvt++];
    memset(v, 0, sizeof(*v));
    return v;
}

static void build_vtoks(struct lex_matcher *m, const struct apd_text *t)
{
    m->nvt = 0;
    for (size_t i = 0; i < t->ntokens; i++) {
        const struct apd_token *tk = &t->tokens[i];
        const struct lex_cands *c = cands_for(m, t, i);
        struct lex_vtok *v = vt_new(m);
        v->flags = tk->flags;
        v->sentence = tk->sentence;
        v->start = tk->start;
        v->len = tk->len;
        v->word = tk->word;
        v->how = c->how;
        v->function = (tk->flags & APD_TOK_NEGATOR) || c->function;
        if (c->how != LEX_HIT_SPLIT) {
            v->cand = c->id;
            v->ncand = c->n;
            v->nexact = c->nexact;
            continue;
        }
        v->cand = c->id;
        v->ncand = v->nexact = c->nleft;
        v->function = c->left_function || c->neg_side == 2;
        if (c->neg_side == 2)
            v->flags |= APD_TOK_NEGATED;
        struct lex_vtok *r = vt_new(m);
        *r = m->vt[m->nvt - 2];
        r->cand = c->id + c->nleft;
        r->ncand = r->nexact = (uint16_t)(c->n - c->nleft);
        r->flags = (uint16_t)(tk->flags | (c->neg_side == 1 ? APD_TOK_NEGATED : 0));
        r->function = c->neg_side == 2;
        if (c->neg_side == 2)
            r->flags = (uint16_t)((tk->flags & ~APD_TOK_NEGATED) | APD_TOK_NEGATOR);
    }
}

/* ---- phrases ---- */

static bool term_ok(const struct lex *lx, uint32_t id, const struct lex_vtok *v)
{
    uint8_t neg = lx->terms[id].neg;
    bool negated = (v->flags & APD_TOK_NEGATED) != 0;
    return neg == LEX_NEG_ANY || (neg == LEX_NEG_ONLY) == negated;
}

/* How token v has term id: 0 not at all, else LEX_HIT_MATCH, or
 * LEX_HIT_FUZZY for a misspelling (plus the token's LEX_HIT_SPLIT). */
#define LEX_HIT_MATCH 0x80u

static uint8_t has_term(const struct lex *lx, const struct lex_vtok *v, uint32_t id)
{
    for (uint16_t i = 0; i < v->ncand; i++)
        if (v->cand[i] == id)
            return term_ok(lx, id, v) ? (uint8_t)(LEX_HIT_MATCH | v->how |
                                                  (i >= v->nexact ? LEX_HIT_FUZZY : 0))
                                      : 0;
    return 0;
}

bool lex_preceded_by(const struct lex_matcher *m, uint32_t i, unsigned is)
{
    return i > 0 && i < m->nvt && m->vt[i - 1].sentence == m->vt[i].sentence &&
           (m->vt[i - 1].is & is);
}

/* What each token is by itself (marker, street word), once per text. */
static void mark_is(struct lex_matcher *m)
{
    const struct lex *lx = m->lx;
    for (size_t i = 0; i < m->nvt; i++) {
        struct lex_vtok *v = &m->vt[i];
        v->is = 0;
        for (uint16_t k = 0; k < v->ncand; k++)
            v->is |= lx->term_is[v->cand[k]];
        /* "с", "п", "г" are words of their own unless written as "с.", "п." */
        if (v->is && lex_cps(v->word) == 1 &&
            !(v->start + v->len < m->text_len && m->text[v->start + v->len] == '.'))
            v->is = 0;
    }
}

/* Follows entry e from token i; returns the last token or -1. */
static long follow(const struct lex_matcher *m, const struct lex_entry *e, size_t i, uint8_t *how)
{
    const struct lex *lx = m->lx;
    size_t pos = i;
    for (uint16_t k = 1; k < e->nterms; k++) {
        uint32_t want = lx->seq[e->first + k];
        size_t next = 0;
        for (size_t p = pos + 1; p <= pos + 2 && p < m->nvt; p++) {
            /* a phrase stays within its clause: "нет воды, в доме" is no "вода в домах" */
            if (m->vt[p].sentence != m->vt[i].sentence || (m->vt[p].flags & APD_TOK_CLAUSE))
                break;
            uint8_t found = has_term(lx, &m->vt[p], want);
            if (found) {
                next = p;
                *how |= found;
                break;
            }
        }
        if (next == 0)
            return -1;
        pos = next;
    }
    return (long)pos;
}

static void record(struct lex_matcher *m, uint32_t entry, size_t first, size_t last, uint8_t how)
{
    if (m->seen[entry])
        return;
    m->hits = lex_grow(m->hits, &m->hitcap, m->nhits + 1, sizeof(*m->hits));
    struct lex_hit *h = &m->hits[m->nhits++];
    h->entry = entry;
    h->first = (uint32_t)first;
    h->last = (uint32_t)last;
    h->start = m->vt[first].start;
    h->len = m->vt[last].start + m->vt[last].len - h->start;
    h->flags = how & (LEX_HIT_FUZZY | LEX_HIT_SPLIT);
    m->seen[entry] = (uint32_t)m->nhits;   /* index + 1 */
    m->seen_list[m->nseen++] = entry;
}

static void eval_rules(struct lex_matcher *m)
{
    const struct lex *lx = m->lx;
    for (size_t r = 0; r < lx->nrules; r++) {
        const struct lex_rule *rule = &lx->rules[r];
        bool ok = true;
        for (uint32_t g = 0; g < rule->ngroups && ok; g++) {
            bool any = false;
            for (uint32_t k = rule->group_first[g]; k < rule->group_first[g + 1] && !any; k++)
                any = m->seen[lx->rule_entries[k]] != 0;
            ok = any;
        }
        for (uint32_t k = 0; ok && k < rule->unless_n; k++)
            ok = m->seen[lx->rule_entries[rule->unless_first + k]] == 0;
        m->rule_fired[r] = ok;
    }
}

void lex_match(struct lex_matcher *m, const struct apd_text *t)
{
    const struct lex *lx = m->lx;
    for (size_t i = 0; i < m->nseen; i++)
        m->seen[m->seen_list[i]] = 0;
    m->nseen = 0;
    m->nhits = 0;
    m->text = t->text;
    m->text_len = t->text_len;
    build_vtoks(m, t);
    mark_is(m);
    for (size_t i = 0; i < m->nvt; i++) {
        const struct lex_vtok *v = &m->vt[i];
        for (uint16_t c = 0; c < v->ncand; c++) {
            uint32_t id = v->cand[c];
            if (!term_ok(lx, id, v))
                continue;
            for (uint32_t s = 0; s < lx->nstarts[id]; s++) {
                uint32_t e = lx->starts[id][s];
                const struct lex_entry *en = &lx->entries[e];
                if (m->seen[e] || ((en->flags & LEX_ENTRY_MARKER) && !lex_preceded_by(m, (uint32_t)i, LEX_IS_MARKER)))
                    continue;
                uint8_t how = (uint8_t)(v->how | (c >= v->nexact ? LEX_HIT_FUZZY : 0));
                long last = follow(m, en, i, &how);
                if (last >= 0)
                    record(m, e, i, (size_t)last, how);
            }
        }
    }
    eval_rules(m);
}

const struct lex_hit *lex_hit_of(const struct lex_matcher *m, uint32_t entry)
{
    uint32_t k = m->seen[entry];
    return k ? &m->hits[k - 1] : NULL;
}

struct lex_matcher *lex_matcher_new(const struct lex *lx, const struct apd_host_api *api,
                                    void *handle)
{
    struct lex_matcher *m = calloc(1, sizeof(*m));
    if (m == NULL)
        abort();
    m->lx = lx;
    m->api = api;
    m->handle = handle;
    m->seen = calloc(lx->nentries + 1, sizeof(*m->seen));
    m->seen_list = calloc(lx->nentries + 1, sizeof(*m->seen_list));
    m->rule_fired = calloc(lx->nrules + 1, 1);
    if (m->seen == NULL || m->seen_list == NULL || m->rule_fired == NULL)
        abort();
    return m;
}

void lex_matcher_free(struct lex_matcher *m)
{
    if (m == NULL)
        return;
    memo_reset(m);
    by_id_reset(m);
    free(m->by_id);
    free(m->vt);
    free(m->hits);
    free(m->seen);
    free(m->seen_list);
    free(m->rule_fired);
    free(m);
}
