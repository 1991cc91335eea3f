/* Lexicons for classifier plugins: the data files operators edit, and
 * matching them against an analysed text.
 *
 * File format (UTF-8, line-based; see config/classifier/README.md):
 *
 *   # comment
 *   [category roads]            a section: TYPE and an optional CODE
 *   яма = 3                     a phrase and its weight (default 1)
 *   ямочный ремонт = 3          words in order; one other word may stand between
 *   асфальт* = 1.5              '*' after a word: any word starting so
 *   =газ                        '=' before a word: this exact form, not its stem
 *   !вода = 2                   '!' before a word: only when negated ("нет воды")
 *   ~горит = 3                  '~' before a word: only when not negated
 *   @победа                     '@' before a phrase: only after a settlement
 *                               marker ("пос. Победа")
 *   !вод* = 2 : нет воды        ' : ' and a label: how the phrase is named
 *                               where a person reads it (a priority's reason)
 *
 *   [domain shortener]          in sections a plugin declares raw, lines are
 *   bit.ly = 2                  kept as written (host names, codes) for the
 *                               plugin to use; they match no words
 *
 *   [param]                     named numbers and words the plugin reads
 *   question_mark = 2
 *
 *   [rule road-lighting]        a context rule:
 *   if = фонарь | освещение     any of these phrases ...
 *   and = дорога | трасса       ... and any of these (repeat `and` for more)
 *   unless = двор | парк        ... and none of these
 *   then = category roads +3    actions, ';'-separated: TYPE CODE +W | TYPE CODE -W
 *
 * Words are brought into the same form as texts by the host's own analysis
 * (apd_host_api.text_analyze), so a lexicon matches every grammatical form
 * of what it lists.  Misspellings within one edit of a lexicon stem or
 * prefix of fuzzy_min_cps letters or more that keep its first
 * LEX_FUZZY_KEEP letters, and words glued to a preposition or a negation
 * ("вподъезде", "нетводы"), match too, marked as such in the evidence.
 *
 *   [common]                    frequent word forms, one word per line with
 *   семья семьи семье семью     its forms: never a misspelling, never split,
 *                               and caught by a prefix only when the prefix
 *                               covers the word's whole stem ("цен*" finds
 *                               "цены", not "центр") or a one-word entry
 *                               names the word itself
 *
 * A word whose stem has three letters or fewer ("сво", "семена" → "сем")
 * matches only as written and in the forms its [common] line gives it
 * ("газ": "газа", "газом"): "своих" is not "СВО", "семья" not "семена".
 *
 * A struct lex is read-only after lex_load(); a struct lex_matcher holds the
 * per-text scratch space and a memo of words seen, and belongs to one thread. */
#ifndef APPEALSD_LEX_H
#define APPEALSD_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appealsd/plugin.h"
#include "strmap.h"
#include "wordmap.h"

enum lex_term_kind { LEX_STEM, LEX_WORD, LEX_PREFIX };
enum lex_neg { LEX_NEG_ANY, LEX_NEG_ONLY, LEX_NEG_NEVER };

/* lex_term.flags */
#define LEX_TERM_SHORT 0x1u    /* a word of a stem of three letters or fewer
                                  (a LEX_WORD): it matches as written and in the
                                  forms of its [common] line with its stem */
#define LEX_TERM_ENTRY 0x2u    /* a whole one-word entry by itself */

/* A misspelling keeps this many first letters of the word it stands for. */
#define LEX_FUZZY_KEEP 3

struct lex_term {
    char *key;
    uint8_t kind;          /* enum lex_term_kind */
    uint8_t neg;           /* enum lex_neg */
    uint8_t flags;         /* LEX_TERM_* */
    uint16_t cps;          /* code points of key */
};

#define LEX_ENTRY_MARKER 0x1u   /* needs a settlement marker before it */

struct lex_entry {
    uint32_t section;
    float weight;
    uint32_t first;        /* index of its first term id in lex.seq */
    uint16_t nterms;
    uint8_t flags;
    char *text;            /* as written, for the evidence */
    char *label;           /* "PHRASE = W : LABEL": a human name for it, or NULL */
};

struct lex_section {
    char *type;
    char *code;            /* NULL for sections without one */
};

struct lex_action {
    uint32_t section;      /* what it adds to: a (type, code) section */
    float weight;
};

struct lex_rule {
    char *name;
    /* groups of entry ids: group 0 is `if`, 1..ngroups-1 are the `and`s */
    uint32_t *group_first;  /* ngroups+1 offsets into lex.rule_entries */
    uint32_t ngroups;
    uint32_t unless_first, unless_n;   /* into lex.rule_entries */
    struct lex_action *actions;
    uint32_t nactions;
};

struct lex_param {
    char *name;
    char *value;
    char *where;           /* "FILE:LINE" */
    double num;
    bool is_num;
};

/* What a word is by itself, when it is a one-word entry of a section of
 * type "marker" (settlement markers: "пос", "станица"), "street" ("ул") or
 * "landmark" ("возле", "около"). */
#define LEX_IS_MARKER 0x1u
#define LEX_IS_STREET 0x2u
#define LEX_IS_LANDMARK 0x4u     /* "landmark": prepositions of place ("возле", "около") */

struct lex {
    struct lex_term *terms;
    size_t nterms;
    uint8_t *term_is;               /* per term: LEX_IS_* */
    struct wordmap term_by_key;     /* "s:stem", "w:word", "p:prefix" -> struct lex_ids */
    uint32_t *seq;                  /* term ids of all entries, back to back */
    size_t nseq;
    struct lex_entry *entries;
    size_t nentries;
    uint32_t **starts;              /* per term: entries whose first term it is */
    uint32_t *nstarts;
    struct lex_section *sections;
    size_t nsections;
    struct lex_rule *rules;
    size_t nrules;
    uint32_t *rule_entries;
    size_t nrule_entries;
    struct lex_param *params;
    size_t nparams;
    struct wordmap prefixes;        /* prefix keys present, for word-prefix lookups */
    uint16_t min_prefix_cps;
    struct wordmap known;           /* words never taken for misspellings */
    struct wordmap common;          /* frequent forms -> struct lex_common */
    char **common_forms;            /* the forms of [common] lines, line by line */
    uint32_t *common_first;         /* ncommon+1 offsets into common_forms */
    size_t ncommon, ncommon_forms;
    size_t common_first_cap, common_forms_cap;
    struct wordmap function;        /* prepositions and particles */
    struct wordmap fuzzy;           /* deletion variant -> struct lex_ids of terms */
    unsigned fuzzy_min_cps;
    unsigned fuzzy_prefix_min, fuzzy_prefix_max;   /* lengths of indexed prefixes */
};

/* What the plugin tells the loader: which section types exist, and whether
 * each needs a code ("category roads") or takes none ("param"). */
struct lex_schema {
    const char *type;
    bool has_code;
    bool is_list;          /* lines are lists of words, each its own entry */
    bool is_raw;           /* entries are kept as written, not matched against
                              words (host names, codes): nterms is 0 */
};

/**
 * @brief Loads every path (a .lex file, or a directory whose *.lex files
 *        are read in name order) into a new lexicon.
 * @returns the lexicon, or NULL with "FILE:LINE: problem" in err.
 * @remark Calls api->text_analyze for every phrase; init time only.
 */
struct lex *lex_load(const struct apd_host_api *api, void *handle,
                     const struct lex_schema *schema, const char *const *paths, size_t npaths,
                     unsigned fuzzy_min_cps, char *err, size_t errlen);
void lex_free(struct lex *lx);

/* Whether word (folded, as analysed) is a form of a [common] line. */
bool lex_is_common(const struct lex *lx, const char *word, size_t len);

/* The prefix terms that would catch a [common] word but are refused by the
 * matcher: shorter than the word's stem ("цен*" in "центр"), while no
 * one-word entry names the word by its stem or form.  fn is called once per
 * such pair, in no particular order; returns the number of pairs. */
size_t lex_prefix_catches(const struct lex *lx,
                          void (*fn)(void *arg, uint32_t term, const char *word), void *arg);

/* Index of section (type, code), or -1. */
int lex_section(const struct lex *lx, const char *type, const char *code);
/* A [param] value: number (def when absent) or string (NULL when absent). */
double lex_param(const struct lex *lx, const char *name, double def);
const char *lex_param_str(const struct lex *lx, const char *name);
/* Every [param] must be one of names (NULL-terminated): else -1 and
 * "FILE:LINE: unknown [param] 'x'" in err, so a misspelt name is not silently
 * ignored. */
int lex_check_params(const struct lex *lx, const char *const *names, char *err, size_t errlen);

/* ---- matching ---- */

#define LEX_HIT_FUZZY 0x1u
#define LEX_HIT_SPLIT 0x2u

struct lex_hit {
    uint32_t entry;
    uint32_t first, last;   /* virtual token range */
    uint32_t start, len;    /* bytes of apd_text.text */
    uint8_t flags;
};

/* A token as the matcher sees it: a real token, or half of a glued one. */
struct lex_vtok {
    const uint32_t *cand;   /* candidate term ids */
    uint16_t ncand;
    uint16_t nexact;        /* cand[nexact..] are misspellings */
    uint16_t flags;         /* APD_TOK_* */
    uint16_t sentence;
    uint8_t how;            /* LEX_HIT_SPLIT for half of a glued word */
    bool function;          /* a preposition, particle or negation */
    uint8_t is;             /* LEX_IS_* (a one-letter word only when a dot follows) */
    uint32_t start, len;
    const char *word;
};

struct lex_cands;

struct lex_matcher {
    const struct lex *lx;
    const struct apd_host_api *api;
    void *handle;
    struct wordmap memo;     /* word -> struct lex_cands, for hosts without word ids */
    struct lex_cands **by_id;/* the same by the host's word id (the usual way) */
    size_t idcap;
    uint32_t vocabulary;     /* generation the ids of by_id belong to */
    size_t memo_bytes;
    struct lex_vtok *vt;
    size_t nvt, vtcap;
    struct lex_hit *hits;
    size_t nhits, hitcap;
    uint32_t *seen;          /* per entry: index + 1 of its hit, 0 when not hit */
    uint32_t *seen_list;
    size_t nseen;
    uint8_t *rule_fired;     /* per rule */
    const char *text;        /* apd_text.text of the last match */
    size_t text_len;
};

struct lex_matcher *lex_matcher_new(const struct lex *lx, const struct apd_host_api *api,
                                    void *handle);
void lex_matcher_free(struct lex_matcher *m);

/* Matches the lexicon against t: fills m->vt and m->hits (each entry once,
 * at its first occurrence) and evaluates the rules (m->rule_fired). */
void lex_match(struct lex_matcher *m, const struct apd_text *t);

/* Token i - 1 (same sentence) is a marker or a street word (LEX_IS_*); a
 * one-letter word counts only when a dot follows it ("с. Белое", not
 * "с Белой"). */
bool lex_preceded_by(const struct lex_matcher *m, uint32_t i, unsigned is);

/* The first hit of an entry in the last match, or NULL. */
const struct lex_hit *lex_hit_of(const struct lex_matcher *m, uint32_t entry);

#endif
