/* classify_ru: the feature vector of a text (see fvec.h for the recipe).
 *
 * Cost matters: the daemon classifies every comment on the loop thread.  A
 * word's own features (stem, character n-grams) depend on the word only, so
 * they are computed once per word of the host's vocabulary and remembered by
 * its id (apd_text.word_ids) until the host starts a new vocabulary; a text
 * then costs one lookup per token plus its bigrams.  Duplicates are merged
 * in a small open-addressing table sized to the text (it stays in the
 * cache), emptied by a generation number instead of a clear. */
#include "fvec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ru.h"

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u
#define VOCAB_MAX 65536u

struct feat_state {
    /* per vocabulary word id: where its features start in pool, how many */
    uint32_t gen;
    bool have_gen;
    uint32_t *start;
    uint16_t *count;
    uint32_t *stemh;          /* hash of the stem, for bigrams */
    uint32_t *pool;
    size_t npool, poolcap;
    /* merging duplicates: a slot is taken when its gen is cur; it holds a
     * bucket and that bucket's position in the vector */
    struct seen {
        uint32_t gen, bucket, pos;
    } *seen;
    uint32_t nseen, cur;
    uint32_t scratch[512];
};

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * FNV_PRIME;
    return h;
}

static uint32_t fnv_str(char ns, const char *s)
{
    uint32_t h = fnv(FNV_OFFSET, &ns, 1);
    return fnv(h, s, strlen(s));
}

static uint32_t bucket(uint32_t h) { return h % FEAT_DIM; }

struct feat_state *feat_new(void)
{
    struct feat_state *fs = calloc(1, sizeof(*fs));
    if (fs == NULL)
        abort();
    fs->start = malloc(VOCAB_MAX * sizeof(uint32_t));
    fs->count = calloc(VOCAB_MAX, sizeof(uint16_t));
    fs->stemh = calloc(VOCAB_MAX, sizeof(uint32_t));
    fs->nseen = 4096;
    fs->seen = calloc(fs->nseen, sizeof(*fs->seen));
    if (!fs->start || !fs->count || !fs->stemh || !fs->seen)
        abort();
    memset(fs->start, 0xff, VOCAB_MAX * sizeof(uint32_t));
    return fs;
}

void feat_free(struct feat_state *fs)
{
    if (fs == NULL)
        return;
    free(fs->start);
    free(fs->count);
    free(fs->stemh);
    free(fs->pool);
    free(fs->seen);
    free(fs);
}

void fvec_free(struct fvec *v)
{
    free(v->idx);
    free(v->val);
    free(v->from);
    memset(v, 0, sizeof(*v));
}

static void grow_seen(struct feat_state *fs, struct fvec *v);

static void push(struct feat_state *fs, struct fvec *v, uint32_t b, float x,
                 struct feat_origin o)
{
    uint32_t mask = fs->nseen - 1, i = (b * 2654435761u) & mask;
    while (fs->seen[i].gen == fs->cur) {
        if (fs->seen[i].bucket == b) {
            v->val[fs->seen[i].pos] += x;
            return;
        }
        i = (i + 1) & mask;
    }
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->idx = realloc(v->idx, v->cap * sizeof(*v->idx));
        v->val = realloc(v->val, v->cap * sizeof(*v->val));
        v->from = realloc(v->from, v->cap * sizeof(*v->from));
        if (!v->idx || !v->val || !v->from)
            abort();
    }
    fs->seen[i] = (struct seen){fs->cur, b, (uint32_t)v->n};
    v->idx[v->n] = b;
    v->val[v->n] = x;
    v->from[v->n] = o;
    v->n++;
    if (v->n * 2 > fs->nseen)
        grow_seen(fs, v);
}

/* A longer text than the table was sized for: twice the slots, the
 * vector's buckets entered again. */
static void grow_seen(struct feat_state *fs, struct fvec *v)
{
    free(fs->seen);
    fs->nseen *= 2;
    if ((fs->seen = calloc(fs->nseen, sizeof(*fs->seen))) == NULL)
        abort();
    fs->cur = 1;
    uint32_t mask = fs->nseen - 1;
    for (size_t k = 0; k < v->n; k++) {
        uint32_t i = (v->idx[k] * 2654435761u) & mask;
        while (fs->seen[i].gen == fs->cur)
            i = (i + 1) & mask;
        fs->seen[i] = (struct seen){fs->cur, v->idx[k], (uint32_t)k};
    }
}

/* The buckets of a word's own features: its stem and its character 3- and
 * 4-grams between the boundary marks.  Returns how many went into out. */
static size_t word_features(const struct apd_token *tk, uint32_t *out, size_t cap,
                            uint32_t *stem_hash)
{
    size_t n = 0;
    if (tk->flags & APD_TOK_NUMBER) {
        *stem_hash = fnv_str('w', "num");
        out[n++] = bucket(*stem_hash);
        return n;
    }
    *stem_hash = fnv_str('w', tk->stem);
    out[n++] = bucket(*stem_hash);
    /* code point starts of "^word$": the marks are one byte each */
    const char *w = tk->word;
    size_t cps[130], ncp = 0;
    char buf[600];
    size_t blen = 0;
    buf[blen++] = '^';
    for (size_t i = 0; w[i] && blen < sizeof(buf) - 2 && ncp < 127; i++) {
        if (((unsigned char)w[i] & 0xC0) != 0x80)
            cps[ncp++] = blen;
        buf[blen++] = w[i];
    }
    buf[blen++] = '$';
    /* positions of code points in buf: '^' at 0, the word's, '$' at the end */
    size_t pos[132], npos = 0;
    pos[npos++] = 0;
    for (size_t i = 0; i < ncp; i++)
        pos[npos++] = cps[i];
    pos[npos++] = blen - 1;
    pos[npos] = blen;
    for (size_t g = 3; g <= 4; g++)
        for (size_t i = 0; i + g <= npos && n < cap; i++)
            out[n++] = bucket(fnv(fnv(FNV_OFFSET, "c", 1), buf + pos[i], pos[i + g] - pos[i]));
    return n;
}

/* The features of the word with this vocabulary id, computed on first use. */
static const uint32_t *cached_word(struct feat_state *fs, const struct apd_text *t, size_t i,
                                   size_t *n, uint32_t *stem_hash)
{
    const struct apd_token *tk = &t->tokens[i];
    uint32_t id = t->word_ids ? t->word_ids[i] : VOCAB_MAX;
    if (id >= VOCAB_MAX) {
        *n = word_features(tk, fs->scratch, sizeof(fs->scratch) / sizeof(fs->scratch[0]),
                           stem_hash);
        return fs->scratch;
    }
    if (!fs->have_gen || fs->gen != t->vocabulary || fs->npool > (64u << 20) / 4) {
        memset(fs->start, 0xff, VOCAB_MAX * sizeof(uint32_t));
        fs->npool = 0;
        fs->gen = t->vocabulary;
        fs->have_gen = true;
    }
    if (fs->start[id] == UINT32_MAX) {
        size_t k = word_features(tk, fs->scratch, sizeof(fs->scratch) / sizeof(fs->scratch[0]),
                                 &fs->stemh[id]);
        if (fs->npool + k > fs->poolcap) {
            fs->poolcap = (fs->npool + k) * 2;
            if ((fs->pool = realloc(fs->pool, fs->poolcap * sizeof(uint32_t))) == NULL)
                abort();
        }
        memcpy(fs->pool + fs->npool, fs->scratch, k * sizeof(uint32_t));
        fs->start[id] = (uint32_t)fs->npool;
        fs->count[id] = (uint16_t)k;
        fs->npool += k;
    }
    *n = fs->count[id];
    *stem_hash = fs->stemh[id];
    return fs->pool + fs->start[id];
}

/* The features of the words: with words, each word's own features too;
 * without, those are left to the caller (a per-word cache of their
 * weights) but still counted.  Every occurrence counts, and the values are
 * scaled by 1 / sqrt(occurrences), so the sum over the words' own features
 * is the same whether taken feature by feature or word by word. */
static void text_features(struct feat_state *fs, const struct apd_text *t, bool words,
                          struct fvec *v)
{
    uint32_t prev_h = 0;
    int32_t prev = -1;
    size_t first = 0, occurrences = 0;
    for (size_t i = 0; i < t->ntokens; i++) {
        const struct apd_token *tk = &t->tokens[i];
        struct feat_origin o = {(int32_t)i, NULL};
        size_t n;
        uint32_t sh;
        const uint32_t *f = cached_word(fs, t, i, &n, &sh);
        for (size_t k = 0; words && k < n; k++)
            push(fs, v, f[k], 1, o);
        occurrences += n;
        if (tk->flags & APD_TOK_NEGATED) {
            push(fs, v, bucket(fnv(sh, "n", 1)), 1, o);
            occurrences++;
        }
        if (first < 2 && !(tk->flags & APD_TOK_NUMBER)) {
            push(fs, v, bucket(fnv(sh, "f", 1)), 1, o);
            first++;
            occurrences++;
        }
        if (prev >= 0 && t->tokens[prev].sentence == tk->sentence) {
            push(fs, v, bucket((prev_h * 31u) ^ fnv(sh, "b", 1)), 1, o);
            occurrences++;
        }
        prev = (int32_t)i;
        prev_h = sh;
    }
    v->scale = occurrences ? (float)(1 / sqrt((double)occurrences)) : 0;
    for (size_t k = 0; k < v->n; k++)
        v->val[k] *= v->scale;
}

static void named(struct feat_state *fs, struct fvec *v, const char *name, double x)
{
    if (x != 0)
        push(fs, v, bucket(fnv_str('S', name)), (float)x, (struct feat_origin){-1, name});
}

/* Whether the text opens with prefix (and goes on after it). */
static bool starts(const struct apd_classify_input *in, const char *prefix)
{
    size_t n = strlen(prefix);
    return in->text_len > n && strncmp(in->text, prefix, n) == 0;
}

static void structure(struct feat_state *fs, const struct apd_classify_input *in,
                      const struct apd_text *t, struct fvec *v)
{
    static const char *const bands[] = {"S:len1", "S:len2", "S:len3", "S:len5", "S:len10",
                                        "S:len20", "S:len50", "S:len100", "S:len-more"};
    static const size_t limits[] = {1, 2, 3, 5, 10, 20, 50, 100, SIZE_MAX};
    size_t b = 0;
    while (t->ntokens > limits[b])
        b++;
    named(fs, v, bands[b], 1);
    named(fs, v, "S:question", t->questions ? 1 : 0);
    named(fs, v, "S:questions", t->questions > 1 ? 1 : 0);
    named(fs, v, "S:exclaim", t->exclaim_runs ? 1 : 0);
    named(fs, v, "S:link", t->nurls ? 1 : 0);
    named(fs, v, "S:phone", t->phones ? 1 : 0);
    named(fs, v, "S:mention", t->mentions ? 1 : 0);
    named(fs, v, "S:emoji-positive", t->emoji_positive ? 1 : 0);
    named(fs, v, "S:emoji-negative", t->emoji_negative ? 1 : 0);
    named(fs, v, "S:emoji", t->emoji ? 1 : 0);
    named(fs, v, "S:capitals", t->letters >= 12 && t->upper_letters * 10 >= t->letters * 6);
    /* "[id1|Анна], ..." answers a neighbour: on the real pages three in four
     * such replies are arguments; "[club1|Район], ..." answers the page,
     * and three in four of those are appeals, so the two are told apart */
    bool person = starts(in, "[id") || starts(in, APD_MENTION_PERSON);
    bool page = starts(in, "[club") || starts(in, "[public") || starts(in, APD_MENTION_COMMUNITY);
    named(fs, v, "S:reply-to-person", person ? 1 : 0);
    named(fs, v, "S:reply-to-page", page ? 1 : 0);
    bool message = in->item_kind && strcmp(in->item_kind, "message") == 0;
    named(fs, v, "S:private-message", message ? 1 : 0);
}

static double squash_log(double x) { return x >= 0 ? log1p(x) : -log1p(-x); }

static void lexicon(struct feat_state *fs, const struct ru *ru, const double kind_score[],
                    struct fvec *v)
{
    const struct lex *lx = ru->lx;
    for (size_t s = 0; s < lx->nsections; s++) {
        uint8_t role = ru->sec_role[s];
        if ((role != ROLE_CATEGORY && role != ROLE_KIND && role != ROLE_PRIORITY) ||
            ru->sec_target[s] != (int)s || ru->score[s] == 0)
            continue;
        uint32_t h = fnv(fnv_str('L', lx->sections[s].type), ":", 1);
        h = fnv(h, lx->sections[s].code, strlen(lx->sections[s].code));
        push(fs, v, bucket(h), (float)squash_log(ru->score[s] + ru->lead_bonus[s]),
             (struct feat_origin){-2 - (int32_t)s, NULL});
    }
    static const char *const kinds[RU_NKINDS] = {"K:complaint", "K:question", "K:request",
                                                 "K:gratitude", "K:noise"};
    for (int k = 0; k < RU_NKINDS; k++)
        named(fs, v, kinds[k], tanh(kind_score[k] / 4));
}

const uint32_t *feat_word(struct feat_state *fs, const struct apd_text *t, size_t i, size_t *n)
{
    uint32_t sh;
    return cached_word(fs, t, i, n, &sh);
}

void feat_extract(struct feat_state *fs, const struct ru *ru, const struct apd_classify_input *in,
                  const double kind_score[], bool words, struct fvec *out)
{
    out->n = 0;
    if (++fs->cur == 0) {
        memset(fs->seen, 0, fs->nseen * sizeof(*fs->seen));
        fs->cur = 1;
    }
    text_features(fs, in->analysis, words, out);
    structure(fs, in, in->analysis, out);
    lexicon(fs, ru, kind_score, out);
}

static int by_index(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void fvec_sort(struct fvec *v)
{
    /* sort (index, value) pairs through a packed copy; the origins are not
     * needed by the callers of a sorted vector */
    uint32_t (*pairs)[2] = malloc(v->n * sizeof(*pairs));
    if (pairs == NULL && v->n)
        abort();
    for (size_t i = 0; i < v->n; i++) {
        pairs[i][0] = v->idx[i];
        memcpy(&pairs[i][1], &v->val[i], sizeof(float));
    }
    qsort(pairs, v->n, sizeof(*pairs), by_index);
    for (size_t i = 0; i < v->n; i++) {
        v->idx[i] = pairs[i][0];
        memcpy(&v->val[i], &pairs[i][1], sizeof(float));
        v->from[i] = (struct feat_origin){-1, NULL};
    }
    free(pairs);
}
