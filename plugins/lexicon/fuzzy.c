/* Misspellings: the symmetric-delete index and the edit distance that
 * confirms its candidates.  A misspelling keeps the first LEX_FUZZY_KEEP
 * letters of its word (people misspell endings and middles, and a word that
 * begins otherwise is another word: "секретарь" is no "декрет"), the word
 * has fuzzy_min_cps letters at least ("трава" is no "трамвай"), and a letter
 * written for another is a vowel for a vowel or "ь" for "ъ". */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lexint.h"

#define MAX_CPS 64

/* Code points of s (at most MAX_CPS) and their byte offsets. */
static size_t decode(const char *s, uint32_t *cp, size_t *off)
{
    size_t n = 0, i = 0, len = strlen(s);
    while (i < len && n < MAX_CPS) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        uint32_t v = k == 1 ? c : c & (0xFF >> (k + 1));
        for (size_t j = 1; j < k && i + j < len; j++)
            v = (v << 6) | ((unsigned char)s[i + j] & 0x3F);
        off[n] = i;
        cp[n++] = v;
        i += k;
    }
    off[n] = i;
    return n;
}

/* Letters one writes for another by mistake: a vowel for a vowel
 * (unstressed "а" for "о", "и" for "е"; "й" counts with them), "ь" for "ъ".
 * Another consonant makes another word ("развитие" is no "разбит*",
 * "политика" no "полици*", "пересечение" no "переселени*"). */
static int letter_class(uint32_t c)
{
    switch (c) {
    case 0x430: case 0x435: case 0x451: case 0x438: case 0x439: case 0x43E: /* а е ё и й о */
    case 0x443: case 0x44B: case 0x44D: case 0x44E: case 0x44F:             /* у ы э ю я */
        return 1;
    case 0x44A: case 0x44C:                                                 /* ъ ь */
        return 2;
    default:
        return 0;
    }
}

/* Optimal string alignment distance, capped: returns 0, 1 or 2 (= more); a
 * substitution counts only between letters of one class (letter_class). */
static int osa_within_one(const uint32_t *a, size_t n, const uint32_t *b, size_t m)
{
    if (n > m + 1 || m > n + 1)
        return 2;
    size_t i = 0;
    while (i < n && i < m && a[i] == b[i])
        i++;
    if (i == n && i == m)
        return 0;
    /* the first difference at i: try the four single edits */
    if (n == m) {
        if (memcmp(a + i + 1, b + i + 1, (n - i - 1) * sizeof(*a)) == 0 &&
            letter_class(a[i]) != 0 && letter_class(a[i]) == letter_class(b[i]))
            return 1;                                     /* substitution */
        if (i + 1 < n && a[i] == b[i + 1] && a[i + 1] == b[i] &&
            memcmp(a + i + 2, b + i + 2, (n - i - 2) * sizeof(*a)) == 0)
            return 1;                                     /* swap */
        return 2;
    }
    if (n == m + 1)
        return memcmp(a + i + 1, b + i, (m - i) * sizeof(*a)) == 0 ? 1 : 2;  /* a has one more */
    return memcmp(a + i, b + i + 1, (n - i) * sizeof(*a)) == 0 ? 1 : 2;      /* b has one more */
}

static void variants(const char *s, void (*fn)(void *, const char *), void *arg)
{
    uint32_t cp[MAX_CPS];
    size_t off[MAX_CPS + 1];
    size_t n = decode(s, cp, off);
    size_t len = strlen(s);
    char buf[512];
    if (len >= sizeof(buf))
        return;
    fn(arg, s);
    for (size_t i = 0; i < n; i++) {
        size_t a = off[i], b = off[i + 1];
        memcpy(buf, s, a);
        memcpy(buf + a, s + b, len - b);
        buf[len - (b - a)] = '\0';
        fn(arg, buf);
    }
}

struct add_ctx {
    struct lex *lx;
    uint32_t id;
};

static void index_variant(void *arg, const char *v)
{
    struct add_ctx *x = arg;
    struct lex_ids *s = wordmap_get(&x->lx->fuzzy, v, strlen(v));
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            abort();
        wordmap_put(&x->lx->fuzzy, v, strlen(v), s);
    }
    lex_ids_add(s, x->id);
}

void lex_build_fuzzy(struct lex *lx)
{
    if (lx->fuzzy_min_cps == 0)
        return;
    for (size_t i = 0; i < lx->nterms; i++) {
        const struct lex_term *t = &lx->terms[i];
        if (t->kind == LEX_WORD || t->cps < lx->fuzzy_min_cps ||
            ((unsigned char)t->key[0] < 0x80))
            continue;
        if (t->kind == LEX_PREFIX) {
            if (lx->fuzzy_prefix_min == 0 || t->cps < lx->fuzzy_prefix_min)
                lx->fuzzy_prefix_min = t->cps;
            if (t->cps > lx->fuzzy_prefix_max)
                lx->fuzzy_prefix_max = t->cps;
        }
        struct add_ctx x = {lx, (uint32_t)i};
        variants(t->key, index_variant, &x);
    }
}

struct find_ctx {
    const struct lex *lx;
    const uint32_t *cp;
    size_t n;
    uint8_t kind;               /* the kind of term this probe may find */
    struct lex_ids *out;
};

static void probe_variant(void *arg, const char *v)
{
    struct find_ctx *x = arg;
    const struct lex_ids *s = wordmap_get(&x->lx->fuzzy, v, strlen(v));
    for (uint32_t k = 0; s && k < s->n; k++) {
        const struct lex_term *t = &x->lx->terms[s->v[k]];
        if (t->kind != x->kind)
            continue;
        uint32_t cp[MAX_CPS];
        size_t off[MAX_CPS + 1];
        size_t m = decode(t->key, cp, off);
        if (x->n < LEX_FUZZY_KEEP || m < LEX_FUZZY_KEEP ||
            memcmp(x->cp, cp, LEX_FUZZY_KEEP * sizeof(*cp)) != 0)
            continue;
        if (osa_within_one(x->cp, x->n, cp, m) == 1)
            lex_ids_add(x->out, s->v[k]);
    }
}

void lex_fuzzy_find(const struct lex *lx, const char *word, const char *stem,
                    struct lex_ids *out)
{
    if (lx->fuzzy_min_cps == 0 || lx->fuzzy.n == 0 || lex_cps(word) < lx->fuzzy_min_cps)
        return;
    uint32_t cp[MAX_CPS];
    size_t off[MAX_CPS + 1];
    size_t n = decode(stem, cp, off);
    if (n + 1 >= lx->fuzzy_min_cps && n < MAX_CPS) {
        struct find_ctx x = {lx, cp, n, LEX_STEM, out};
        variants(stem, probe_variant, &x);
    }
    /* "подъезд*" in a lexicon, "падъезде" in a text: the word's prefixes of
     * about the length of an indexed prefix, one edit away */
    if (lx->fuzzy_prefix_max == 0)
        return;
    n = decode(word, cp, off);
    char buf[4 * MAX_CPS + 1];
    for (size_t len = lx->fuzzy_prefix_min - 1; len <= lx->fuzzy_prefix_max + 1 && len <= n;
         len++) {
        if (len < 2 || off[len] >= sizeof(buf))
            continue;
        memcpy(buf, word, off[len]);
        buf[off[len]] = '\0';
        struct find_ctx x = {lx, cp, len, LEX_PREFIX, out};
        variants(buf, probe_variant, &x);
    }
}
