#include "text.h"

#include <libstemmer.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "clean.h"
#include "sbuf.h"
#include "wordmap.h"
#include "utf8.h"

/* Words in the vocabulary before it is emptied: bounds memory on
 * adversarial input (every comment full of new words) while real Russian
 * text, with its few thousand frequent forms, stays in it. */
#define VOCABULARY_MAX 65536
#define WORD_MAX_CPS 96        /* longer runs are cut: nobody writes such words */

struct text_result {
    struct apd_text pub;       /* first: the public view is the result */
    struct clean_out clean;
    struct apd_token *tok;
    uint32_t *ids;             /* word ids, parallel to tok */
    uint32_t *woff, *soff;     /* word/stem offsets into pool until pointers are fixed */
    size_t cap;
    struct sbuf pool;
    const char **urls;
    size_t ucap;
};

/* The vocabulary: every distinct word seen gets an id, with its stem, so a
 * word is stemmed once and classifiers can remember words by id. */
struct text_analyzer {
    struct sb_stemmer *stemmer;
    struct wordmap ids;        /* folded word -> id + 1 */
    char **stems;              /* by id: the stem, or NULL when it is the word */
    size_t nwords, cap;
    uint32_t generation;
    struct text_result hot;
};

/* ---- character classes: a table for Latin and Cyrillic, utf8proc beyond ---- */

enum { CH_LETTER = 1, CH_DIGIT = 2, CH_MARK = 4, CH_UPPER = 8, CH_CYR = 16, CH_LAT = 32 };

#define FAST_CPS 0x500
static uint8_t fast_class[FAST_CPS];
static uint16_t fast_fold[FAST_CPS];  /* 0: the fold is not a single character */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static uint32_t fold_one(uint32_t cp, uint32_t out[4], size_t *n)
{
    utf8proc_int32_t buf[4];
    int bc = 0;
    utf8proc_ssize_t r = utf8proc_decompose_char((utf8proc_int32_t)cp, buf, 4, UTF8PROC_CASEFOLD, &bc);
    if (r <= 0 || r > 4) {
        out[0] = cp;
        *n = 1;
        return cp;
    }
    for (utf8proc_ssize_t i = 0; i < r; i++)
        out[i] = buf[i] == 0x451 ? 0x435 : (uint32_t)buf[i];   /* ё → е */
    *n = (size_t)r;
    return out[0];
}

static uint8_t slow_class(uint32_t cp)
{
    uint8_t c = 0;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LT: c = CH_LETTER | CH_UPPER; break;
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: c = CH_LETTER; break;
    case UTF8PROC_CATEGORY_ND: c = CH_DIGIT; break;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME: c = CH_MARK; break;
    default: return 0;
    }
    if (cp >= 0x400 && cp <= 0x52F)
        c |= CH_CYR;
    else if ((c & CH_LETTER) && (cp < 0x250 || (cp >= 0x1E00 && cp <= 0x1EFF)))
        c |= CH_LAT;
    return c;
}

static void init_tables(void)
{
    for (uint32_t cp = 0; cp < FAST_CPS; cp++) {
        fast_class[cp] = slow_class(cp);
        uint32_t out[4];
        size_t n;
        fold_one(cp, out, &n);
        fast_fold[cp] = n == 1 ? (uint16_t)out[0] : 0;
    }
}

static uint8_t char_class(uint32_t cp) { return cp < FAST_CPS ? fast_class[cp] : slow_class(cp); }

/* Latin letters that look like Cyrillic ones, by their written case. */
static uint32_t lookalike(uint32_t cp)
{
    static const char lat[] = "AaBCcEeHKkMOoPpTXxyY";
    static const uint16_t cyr[] = {0x410, 0x430, 0x412, 0x421, 0x441, 0x415, 0x435, 0x41D,
                                   0x41A, 0x43A, 0x41C, 0x41E, 0x43E, 0x420, 0x440, 0x422,
                                   0x425, 0x445, 0x443, 0x423};
    const char *p = cp < 0x80 && cp ? strchr(lat, (int)cp) : NULL;
    return p ? cyr[p - lat] : 0;
}

/* ---- emoji ---- */

static bool is_pictograph(uint32_t cp)
{
    return (cp >= 0x1F300 && cp <= 0x1FAFF) || (cp >= 0x2600 && cp <= 0x27BF) ||
           (cp >= 0x1F000 && cp <= 0x1F2FF) || (cp >= 0x2B00 && cp <= 0x2BFF);
}

static int emoji_tone(uint32_t cp)
{
    static const uint32_t pos[] = {0x1F44D, 0x1F44F, 0x1F64F, 0x2764, 0x2665, 0x1F60A, 0x1F600,
                                   0x1F601, 0x1F603, 0x1F604, 0x1F606, 0x1F60D, 0x1F970,
                                   0x1F618, 0x263A, 0x1F917, 0x1F490, 0x1F339, 0x1F44C,
                                   0x1F4AA, 0x2705, 0x1F389, 0x1F642, 0x1F495, 0x1F496,
                                   0x1F497, 0x1F493, 0x1F49E, 0x1F49C, 0x1F499, 0x1F49A,
                                   0x1F49B, 0x1F607, 0x1F973, 0x1F44B, 0x1F31E, 0x1F338};
    static const uint32_t neg[] = {0x1F44E, 0x1F621, 0x1F92C, 0x1F620, 0x1F624, 0x1F622,
                                   0x1F62D, 0x1F61E, 0x1F612, 0x1F926, 0x1F4A9, 0x1F631,
                                   0x1F630, 0x1F629, 0x1F62B, 0x1F641, 0x2639, 0x1F614,
                                   0x1F615, 0x1F92E, 0x1F922, 0x1F62A, 0x1F625, 0x1F613,
                                   0x1F623, 0x1F616, 0x1F61F, 0x1F628, 0x1F635};
    for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++)
        if (pos[i] == cp)
            return 1;
    for (size_t i = 0; i < sizeof(neg) / sizeof(neg[0]); i++)
        if (neg[i] == cp)
            return -1;
    return 0;
}

/* ---- result buffers ---- */

static void result_reset(struct text_result *r)
{
    const struct clean_out keep = r->clean;
    struct apd_token *tok = r->tok;
    uint32_t *ids = r->ids, *woff = r->woff, *soff = r->soff;
    size_t cap = r->cap, ucap = r->ucap;
    struct sbuf pool = r->pool;
    const char **urls = r->urls;
    memset(r, 0, sizeof(*r));
    r->clean = keep;
    r->tok = tok;
    r->ids = ids;
    r->woff = woff;
    r->soff = soff;
    r->cap = cap;
    r->pool = pool;
    r->urls = urls;
    r->ucap = ucap;
    sbuf_reset(&r->pool);
    r->pub.struct_size = sizeof(r->pub);
}

static void result_free(struct text_result *r)
{
    clean_out_free(&r->clean);
    free(r->tok);
    free(r->ids);
    free(r->woff);
    free(r->soff);
    free(r->urls);
    sbuf_free(&r->pool);
}

static struct apd_token *new_token(struct text_result *r)
{
    if (r->pub.ntokens == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct apd_token *t = realloc(r->tok, cap * sizeof(*t));
        uint32_t *w = realloc(r->woff, cap * sizeof(*w));
        uint32_t *s = realloc(r->soff, cap * sizeof(*s));
        uint32_t *d = realloc(r->ids, cap * sizeof(*d));
        if (t == NULL || w == NULL || s == NULL || d == NULL)
            abort();
        r->tok = t;
        r->ids = d;
        r->woff = w;
        r->soff = s;
        r->cap = cap;
    }
    struct apd_token *t = &r->tok[r->pub.ntokens];
    memset(t, 0, sizeof(*t));
    return t;
}

/* ---- the vocabulary ---- */

static void vocabulary_clear(struct text_analyzer *a)
{
    for (size_t i = 0; i < a->nwords; i++)
        free(a->stems[i]);
    a->nwords = 0;
    wordmap_clear(&a->ids, NULL);
    a->generation++;
}

/* The id of word w (stemmed when `stem`); *st gets its stem. */
static uint32_t word_id(struct text_analyzer *a, const char *w, size_t wlen, bool stem,
                        const char **st)
{
    uintptr_t got = (uintptr_t)wordmap_get(&a->ids, w, wlen);
    if (got) {
        *st = a->stems[got - 1] ? a->stems[got - 1] : w;
        return (uint32_t)(got - 1);
    }
    if (a->nwords >= VOCABULARY_MAX)
        vocabulary_clear(a);
    char *copy = NULL;
    const sb_symbol *s = stem ? sb_stemmer_stem(a->stemmer, (const sb_symbol *)w, (int)wlen) : NULL;
    if (s) {
        int n = sb_stemmer_length(a->stemmer);
        if ((size_t)n != wlen || memcmp(s, w, wlen) != 0)
            if ((copy = strndup((const char *)s, (size_t)n)) == NULL)
                abort();
    }
    if (a->nwords == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 1024;
        if ((a->stems = realloc(a->stems, a->cap * sizeof(*a->stems))) == NULL)
            abort();
    }
    a->stems[a->nwords] = copy;
    wordmap_put(&a->ids, w, wlen, (void *)(uintptr_t)(a->nwords + 1));
    *st = copy ? copy : w;
    return (uint32_t)a->nwords++;
}

/* ---- words ---- */

struct cpinfo {
    uint32_t cp;
    uint32_t off;   /* byte offset in the cleaned text */
    uint8_t cls;
};

/* Emits the token made of cps[a..b). */
static void emit_word(struct text_analyzer *an, struct text_result *r, const struct cpinfo *cps,
                      size_t a, size_t b, uint32_t end_off, uint16_t flags, uint16_t sentence)
{
    if (r->pub.ntokens >= TEXT_MAX_TOKENS) {
        r->pub.truncated = 1;
        return;
    }
    unsigned cyr = 0, lat = 0, digits = 0, upper = 0, letters = 0, fixable = 0;
    for (size_t i = a; i < b; i++) {
        uint8_t c = cps[i].cls;
        cyr += (c & CH_CYR) != 0 && (c & CH_LETTER);
        lat += (c & CH_LAT) != 0;
        fixable += (c & CH_LAT) && lookalike(cps[i].cp);
        digits += (c & CH_DIGIT) != 0;
        letters += (c & CH_LETTER) != 0;
        upper += (c & CH_UPPER) != 0;
    }
    bool repair = cyr > 0 && lat > 0 && fixable == lat;
    struct apd_token *t = new_token(r);
    uint32_t woff = (uint32_t)r->pool.len;
    /* at most 4 bytes per folded character, 3 characters per fold */
    sbuf_reserve(&r->pool, (b - a) * 12 + 1);
    char *out = r->pool.p + r->pool.len;
    for (size_t i = a; i < b; i++) {
        uint32_t cp = cps[i].cp;
        if (repair && (cps[i].cls & CH_LAT))
            cp = lookalike(cp);
        uint32_t fold[4];
        size_t n = 1;
        if (cp < FAST_CPS && fast_fold[cp])
            fold[0] = fast_fold[cp];
        else
            fold_one(cp, fold, &n);
        for (size_t k = 0; k < n; k++)
            out += utf8proc_encode_char((utf8proc_int32_t)fold[k], (utf8proc_uint8_t *)out);
    }
    r->pool.len = (size_t)(out - r->pool.p);
    r->pool.p[r->pool.len] = '\0';
    size_t wlen = r->pool.len - woff;
    sbuf_addc(&r->pool, '\0');
    if (repair) {
        cyr += lat;
        lat = 0;
        flags |= APD_TOK_REPAIRED;
    }
    if (digits && !letters)
        flags |= APD_TOK_NUMBER;
    else if (cyr && !lat)
        flags |= APD_TOK_CYRILLIC;
    else if (lat && !cyr)
        flags |= APD_TOK_LATIN;
    if (letters >= 2 && upper == letters)
        flags |= APD_TOK_CAPS;
    uint32_t soff = woff;
    size_t slen = wlen;
    const char *st;
    uint32_t id = word_id(an, r->pool.p + woff, wlen, (flags & APD_TOK_CYRILLIC) && letters > 2,
                          &st);
    if (st != r->pool.p + woff) {
        slen = strlen(st);
        soff = (uint32_t)r->pool.len;
        sbuf_add(&r->pool, st, slen);
        sbuf_addc(&r->pool, '\0');
    }
    r->ids[r->pub.ntokens] = id;
    t->start = cps[a].off;
    t->len = end_off - cps[a].off;
    t->wlen = (uint16_t)wlen;
    t->slen = (uint16_t)slen;
    t->flags = flags;
    t->sentence = sentence;
    r->woff[r->pub.ntokens] = woff;
    r->soff[r->pub.ntokens] = soff;
    r->pub.ntokens++;
    r->pub.letters += letters;
    r->pub.upper_letters += upper;
}

/* Cuts a run of word characters where letters meet digits and where a
 * lower-case letter meets a capital ("вМайкопе", "5дней", "3дня"). */
static void emit_run(struct text_analyzer *an, struct text_result *r, const struct cpinfo *cps,
                     size_t n, uint32_t end_off, uint16_t flags, uint16_t sentence)
{
    size_t a = 0;
    for (size_t i = 1; i <= n; i++) {
        bool cut = i == n;
        if (!cut) {
            uint8_t p = cps[i - 1].cls, c = cps[i].cls;
            if (c & CH_MARK)
                continue;
            cut = ((p & CH_DIGIT) != 0) != ((c & CH_DIGIT) != 0) ||
                  ((p & CH_LETTER) && !(p & CH_UPPER) && (c & CH_UPPER));
        }
        if (cut) {
            emit_word(an, r, cps, a, i, i == n ? end_off : cps[i].off,
                      (uint16_t)(flags | (a > 0 || i < n ? APD_TOK_SPLIT : 0)), sentence);
            flags &= (uint16_t)~(APD_TOK_HYPHEN | APD_TOK_CLAUSE);
            a = i;
        }
    }
}

/* ---- sentences ---- */

/* Abbreviations whose dot does not end a sentence ("ул. Ленина, д. 5"). */
static bool abbreviation(const struct text_result *r, size_t ti)
{
    static const char *const abbr[] = {"ул", "д", "г", "пос", "п", "ст", "кв", "им", "пр", "пер",
                                       "мкр", "р", "с", "х", "а", "т", "е", "др", "руб", "тыс",
                                       "корп", "стр", "обл", "респ", "пгт", "просп", "ш", "наб",
                                       "пл", "туп", "б", "тел", "т.е", "см", "м", "км", "ч",
                                       "мин", "сан", "св", "гр", "ж", "рн", NULL};
    const char *w = r->pool.p + r->woff[ti];
    for (size_t i = 0; abbr[i]; i++)
        if (strcmp(abbr[i], w) == 0)
            return true;
    return false;
}

struct scan {
    uint16_t sentence;
    size_t sent_first;         /* first token of the open sentence */
    bool pending_hyphen;
    bool pending_clause;       /* a comma or the like since the last word */
};

static void close_sentence(struct text_result *r, struct scan *sc, bool q, bool ex)
{
    if (r->pub.ntokens == sc->sent_first)
        return;
    for (size_t i = sc->sent_first; i < r->pub.ntokens; i++)
        r->tok[i].flags |= (uint16_t)((q ? APD_TOK_QUESTION : 0) | (ex ? APD_TOK_EXCLAIM : 0));
    r->tok[sc->sent_first].flags |= APD_TOK_SENT_START;
    r->pub.sentences++;
    r->pub.questions += q;
    if (sc->sentence < UINT16_MAX)
        sc->sentence++;
    sc->sent_first = r->pub.ntokens;
}

/* A run of terminators starting at i: returns its end. */
static size_t terminators(struct text_result *r, struct scan *sc, const char *s, size_t len,
                          size_t i)
{
    size_t e = i;
    unsigned q = 0, ex = 0, dots = 0;
    for (;; ) {
        if (e < len && (s[e] == '?' || s[e] == '!' || s[e] == '.')) {
            q += s[e] == '?';
            ex += s[e] == '!';
            dots += s[e] == '.';
            e++;
        } else if (e + 2 < len && memcmp(s + e, "…", 3) == 0) {
            dots += 3;
            e += 3;
        } else {
            break;
        }
    }
    if (q >= 2 || (q && ex))
        r->pub.question_runs++;
    if (ex >= 2)
        r->pub.exclaim_runs++;
    if (!q && !ex && dots == 1 && r->pub.ntokens > sc->sent_first) {
        size_t last = r->pub.ntokens - 1;
        bool next_digit = e < len && s[e] >= '0' && s[e] <= '9';
        if (next_digit || abbreviation(r, last))
            return e;
    }
    close_sentence(r, sc, q > 0, ex > 0);
    return e;
}

/* ')))' and ':)' are smiles, '(((' and ':(' frowns, in Russian comments. */
static size_t smileys(struct text_result *r, const char *s, size_t len, size_t i)
{
    size_t e = i;
    while (e < len && s[e] == s[i])
        e++;
    bool face = i > 0 && (s[i - 1] == ':' || s[i - 1] == '=' || s[i - 1] == ';' ||
                          (s[i - 1] == '-' && i > 1 && s[i - 2] == ':'));
    if (e - i >= 2 || face) {
        if (s[i] == ')')
            r->pub.emoji_positive++;
        else
            r->pub.emoji_negative++;
    }
    return e;
}

/* ---- negation ---- */

static bool word_in(const char *w, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(w, list[i]) == 0)
            return true;
    return false;
}

static const char *const negators[] = {"не", "нет", "нету", "ни", "без", "отсутствует",
                                       "отсутствуют", "отсутствие", "отсутствия", NULL};
/* Words a negation reaches through: "не было воды", "не могут починить". */
static const char *const auxiliaries[] = {
    "был", "была", "было", "были", "будет", "будут", "бывает", "может", "могут", "смогли",
    "смог", "смогла", "стал", "стала", "стало", "стали", "станет", "хотят", "хочет",
    "собираются", "спешат", "торопятся", "начали", "успели", "дают", "дает", "очень",
    "всегда", "совсем", "сразу", "вовремя", "так", "то", NULL};
static const char *const function_words[] = {"и", "в", "на", "с", "у", "по", "к", "из", "за",
                                             "для", "от", "до", "о", "об", "же", "ли", "бы",
                                             "уже", "еще", "даже", NULL};
static const char *const clause_breaks[] = {"но", "а", "зато", "однако", NULL};

static const char *tok_word(const struct text_result *r, size_t i)
{
    return r->pool.p + r->woff[i];
}

/* Every negator starts with н, б or о: most words are ruled out by their
 * first letter before any comparison. */
static bool may_negate(const char *w)
{
    return (unsigned char)w[0] == 0xD0 &&
           ((unsigned char)w[1] == 0xBD || (unsigned char)w[1] == 0xB1 ||
            (unsigned char)w[1] == 0xBE);
}

static void mark_negation(struct text_result *r)
{
    size_t n = r->pub.ntokens;
    for (size_t i = 0; i < n; i++) {
        const char *w = tok_word(r, i);
        /* negators are 2..22 bytes: не, нет, без, ни, отсутствие... */
        if (!may_negate(w) || r->tok[i].wlen > 22 || !word_in(w, negators))
            continue;
        r->tok[i].flags |= APD_TOK_NEGATOR;
        bool ne = strcmp(w, "не") == 0 || strcmp(w, "ни") == 0;
        bool absent = strncmp(w, "отсутств", strlen("отсутств")) == 0;
        bool post = absent || strcmp(w, "нет") == 0 || strcmp(w, "нету") == 0;
        /* forward scope */
        int content = 0;
        size_t j;
        for (j = i + 1; j < n && j <= i + 4; j++) {
            if (r->tok[j].sentence != r->tok[i].sentence)
                break;
            const char *x = tok_word(r, j);
            if (word_in(x, negators) || word_in(x, clause_breaks))
                break;
            r->tok[j].flags |= APD_TOK_NEGATED;
            if (ne && !word_in(x, auxiliaries))
                break;
            if (!word_in(x, function_words) && ++content == 2)
                break;
        }
        /* "нет горячей воды и света": the scope goes on across "и", "или" */
        if (!ne && j + 2 < n && r->tok[j + 2].sentence == r->tok[i].sentence &&
            (strcmp(tok_word(r, j + 1), "и") == 0 || strcmp(tok_word(r, j + 1), "или") == 0))
            r->tok[j + 2].flags |= APD_TOK_NEGATED;
        /* "воды нет", "освещение отсутствует": the word before */
        if (post && i > 0 && r->tok[i - 1].sentence == r->tok[i].sentence) {
            const char *x = tok_word(r, i - 1);
            if (!word_in(x, negators) && !word_in(x, function_words))
                r->tok[i - 1].flags |= APD_TOK_NEGATED;
        }
    }
}

/* ---- the scan ---- */

static void scan_text(struct text_analyzer *an, struct text_result *r)
{
    const char *s = r->clean.text.p;
    size_t len = r->clean.text.len;
    struct cpinfo cps[WORD_MAX_CPS];
    size_t ncp = 0;
    uint32_t run_end = 0;
    struct scan sc = {0};
    size_t i = 0;
    while (i <= len) {
        uint32_t cp = 0;
        size_t n = 1;
        uint8_t cls = 0;
        if (i < len) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x80) {
                cp = c;
            } else if (c >= 0xC2 && c < 0xE0 && i + 1 < len) {
                cp = ((uint32_t)(c & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F);
                n = 2;
            } else {
                utf8proc_int32_t v;
                utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                                      (utf8proc_ssize_t)(len - i), &v);
                n = m > 0 ? (size_t)m : 1;
                cp = m > 0 ? (uint32_t)v : ' ';
            }
            cls = char_class(cp);
        }
        bool word = cls & (CH_LETTER | CH_DIGIT) || ((cls & CH_MARK) && ncp > 0);
        if (word && ncp < WORD_MAX_CPS) {
            cps[ncp++] = (struct cpinfo){cp, (uint32_t)i, cls};
            run_end = (uint32_t)(i + n);
            i += n;
            continue;
        }
        if (ncp > 0) {
            uint16_t f = (uint16_t)((sc.pending_hyphen ? APD_TOK_HYPHEN : 0) |
                                    (sc.pending_clause && r->pub.ntokens > sc.sent_first
                                         ? APD_TOK_CLAUSE : 0));
            emit_run(an, r, cps, ncp, run_end, f, sc.sentence);
            ncp = 0;
            sc.pending_hyphen = false;
            sc.pending_clause = false;
            if (word)
                continue;      /* an overlong run goes on as a new word */
            /* a hyphen between two words joins them: "из-за", "Ново-Адыгейск" */
            if (i + 1 < len && (cp == '-' || cp == 0x2010 || cp == 0x2011) &&
                (char_class((unsigned char)s[i + 1]) & (CH_LETTER | CH_DIGIT) ||
                 (unsigned char)s[i + 1] >= 0x80)) {
                sc.pending_hyphen = true;
                i += n;
                continue;
            }
        }
        if (i >= len)
            break;
        if (cp == '?' || cp == '!' || cp == '.' || cp == 0x2026) {
            i = terminators(r, &sc, s, len, i);
            continue;
        }
        if (cp == '\n')
            close_sentence(r, &sc, false, false);
        else if (cp == ',' || cp == ';' || cp == ':' || cp == '-' || cp == 0x2013 ||
                 cp == 0x2014)
            sc.pending_clause = true;
        else if (cp == ')' || cp == '(') {
            i = smileys(r, s, len, i);
            continue;
        } else if (cp >= 0x2190 && is_pictograph(cp)) {
            r->pub.emoji++;
            int tone = emoji_tone(cp);
            r->pub.emoji_positive += tone > 0;
            r->pub.emoji_negative += tone < 0;
        }
        i += n;
    }
    close_sentence(r, &sc, false, false);
}

static void finish(struct text_result *r)
{
    for (size_t i = 0; i < r->pub.ntokens; i++) {
        r->tok[i].word = r->pool.p + r->woff[i];
        r->tok[i].stem = r->pool.p + r->soff[i];
    }
    r->pub.tokens = r->tok;
    r->pub.word_ids = r->ids;
    r->pub.text = sbuf_str(&r->clean.text);
    r->pub.text_len = r->clean.text.len;
    if (r->clean.nurls > r->ucap) {
        const char **u = realloc(r->urls, r->clean.nurls * sizeof(*u));
        if (u == NULL)
            abort();
        r->urls = u;
        r->ucap = r->clean.nurls;
    }
    const char *p = r->clean.urls.p;
    for (size_t i = 0; i < r->clean.nurls; i++) {
        r->urls[i] = p;
        p += strlen(p) + 1;
    }
    r->pub.urls = r->urls;
    r->pub.nurls = r->clean.nurls;
    r->pub.mentions = r->clean.mentions;
    r->pub.phones = r->clean.phones;
}

static void analyze_into(struct text_analyzer *a, struct text_result *r, const char *s, size_t len)
{
    result_reset(r);
    clean_text(s ? s : "", s ? len : 0, &r->clean);
    sbuf_reserve(&r->pool, r->clean.text.len * 2 + 64);
    uint32_t generation = a->generation;
    scan_text(a, r);
    if (a->generation != generation) {
        /* the vocabulary was emptied half-way: give every word a new id */
        for (size_t i = 0; i < r->pub.ntokens; i++) {
            const char *st;
            const char *w = r->pool.p + r->woff[i];
            r->ids[i] = word_id(a, w, strlen(w), r->soff[i] != r->woff[i], &st);
        }
    }
    mark_negation(r);
    finish(r);
    r->pub.vocabulary = a->generation;
    r->pub.vocabulary_size = (uint32_t)a->nwords;
}

/* ---- public ---- */

struct text_analyzer *text_analyzer_new(char *err, size_t errlen)
{
    pthread_once(&tables_once, init_tables);
    struct text_analyzer *a = calloc(1, sizeof(*a));
    if (a == NULL)
        abort();
    a->stemmer = sb_stemmer_new("russian", NULL);
    if (a->stemmer == NULL) {
        snprintf(err, errlen, "libstemmer has no Russian stemmer for UTF-8");
        free(a);
        return NULL;
    }
    return a;
}

void text_analyzer_free(struct text_analyzer *a)
{
    if (a == NULL)
        return;
    vocabulary_clear(a);
    free(a->stems);
    result_free(&a->hot);
    sb_stemmer_delete(a->stemmer);
    free(a);
}

const struct apd_text *text_analyze(struct text_analyzer *a, const char *s, size_t len)
{
    analyze_into(a, &a->hot, s, len);
    return &a->hot.pub;
}

const struct apd_text *text_analyze_owned(struct text_analyzer *a, const char *s, size_t len)
{
    struct text_result *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    analyze_into(a, r, s, len);
    return &r->pub;
}

void text_release(const struct apd_text *t)
{
    if (t == NULL)
        return;
    struct text_result *r = (struct text_result *)(void *)t;
    result_free(r);
    free(r);
}

size_t text_analyzer_cached(const struct text_analyzer *a) { return a->nwords; }
