/* The lexicon matcher (plugins/lexicon) with the host's own text analysis:
 * no false friends.  A frequent word is never a misspelling of a lexicon
 * word nor two glued words, a prefix catches it only when it covers the
 * word's stem, a misspelling keeps the first letters of its word, and a word
 * of a short stem ("СВО", "семена") matches only as written and in the forms
 * its [common] line gives it — while the genuine forms still match.  Runs on
 * small lexicons written here and on the shipped ones (APD_SOURCE_ROOT). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lex.h"
#include "test.h"
#include "text.h"

static struct text_analyzer *an;
static char logbuf[32768];
static size_t loglen;
static char tmpdir[256];

static const struct apd_text *h_analyze(void *h, const char *s, size_t len)
{
    (void)h;
    return text_analyze_owned(an, s, len);
}

static void h_free(void *h, const struct apd_text *t)
{
    (void)h;
    text_release(t);
}

static void h_log(void *h, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void h_log(void *h, int level, const char *fmt, ...)
{
    (void)h;
    (void)level;
    va_list ap;
    va_start(ap, fmt);
    if (loglen < sizeof(logbuf)) {
        int n = vsnprintf(logbuf + loglen, sizeof(logbuf) - loglen, fmt, ap);
        if (n > 0)
            loglen += (size_t)n;
        if (loglen + 1 < sizeof(logbuf))
            logbuf[loglen++] = '\n';
        logbuf[loglen < sizeof(logbuf) ? loglen : sizeof(logbuf) - 1] = '\0';
    }
    va_end(ap);
}

static const struct apd_host_api api = {
    .abi_major = APD_PLUGIN_ABI_MAJOR,
    .abi_minor = APD_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(struct apd_host_api),
    .log = h_log,
    .text_analyze = h_analyze,
    .text_free = h_free,
};

/* The section types of classify_ru. */
static const struct lex_schema schema[] = {
    {"category", true, false, false}, {"kind", true, false, false},
    {"priority", true, false, false}, {"place", true, false, false},
    {"learned", true, false, false},  {"marker", false, true, false},
    {"street", false, true, false},   {"landmark", false, true, false},
    {NULL, false, false, false},
};

struct lexicon {
    struct lex *lx;
    struct lex_matcher *m;
};

static struct lexicon load_path(const char *path)
{
    char err[512] = "";
    loglen = 0;
    logbuf[0] = '\0';
    struct lexicon l = {0};
    l.lx = lex_load(&api, NULL, schema, &path, 1, 6, err, sizeof(err));
    if (l.lx == NULL) {
        printf("# %s: %s\n", path, err);
        return l;
    }
    l.m = lex_matcher_new(l.lx, &api, NULL);
    return l;
}

static struct lexicon load_text(const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/t.lex", tmpdir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return load_path(path);
}

static void unload(struct lexicon *l)
{
    lex_matcher_free(l->m);
    lex_free(l->lx);
    l->m = NULL;
    l->lx = NULL;
}

/* How text hits the entry written `entry` (in any section): 0 when it does
 * not, else LEX_HIT_* | 0x80. */
static unsigned hits(const struct lexicon *l, const char *text, const char *entry)
{
    if (l->lx == NULL)
        return 0;
    const struct apd_text *t = text_analyze_owned(an, text, strlen(text));
    lex_match(l->m, t);
    unsigned how = 0;
    for (size_t e = 0; e < l->lx->nentries; e++) {
        const struct lex_hit *h = lex_hit_of(l->m, (uint32_t)e);
        if (h && strcmp(l->lx->entries[e].text, entry) == 0)
            how |= 0x80u | h->flags;
    }
    text_release(t);
    return how;
}

/* Whether text hits any entry of section (type, code). */
static bool hits_section(const struct lexicon *l, const char *text, const char *type,
                         const char *code)
{
    int sec = lex_section(l->lx, type, code);
    const struct apd_text *t = text_analyze_owned(an, text, strlen(text));
    lex_match(l->m, t);
    bool any = false;
    for (size_t i = 0; i < l->m->nhits; i++)
        if (l->lx->entries[l->m->hits[i].entry].section == (uint32_t)sec) {
            printf("# \"%s\" hits %s %s by \"%s\"\n", text, type, code,
                   l->lx->entries[l->m->hits[i].entry].text);
            any = true;
        }
    text_release(t);
    return any;
}

/* The log so far as TAP comments. */
static void print_log(void)
{
    for (const char *p = logbuf; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        printf("# %.*s\n", (int)n, p);
        p += n + (e != NULL);
    }
}

#define HIT(l, text, entry) (hits(&(l), text, entry) != 0)
#define FUZZY(l, text, entry) ((hits(&(l), text, entry) & LEX_HIT_FUZZY) != 0)
#define SPLIT(l, text, entry) ((hits(&(l), text, entry) & LEX_HIT_SPLIT) != 0)

/* ---- the rules, on small lexicons ---- */

TEST(short_entries_are_exact)
{
    struct lexicon l = load_text("[common]\n"
                                 "свой своя свое свои своего своей своих своим своими свою\n"
                                 "газ газа газу газом газе газы газов\n"
                                 "газета газеты газете газету\n"
                                 "семья семьи семье семью семьей семей\n"
                                 "[category a]\n"
                                 "сво = 1\n"
                                 "газ = 1\n"
                                 "семена = 1\n"
                                 "своими силами = 1\n");
    CHECK(l.lx != NULL);
    /* an abbreviation is the whole word: "сво" is a prefix of "своих" */
    CHECK(HIT(l, "Помощь участникам СВО", "сво"));
    CHECK(!HIT(l, "Каждый любит своих детей", "сво"));
    CHECK(!HIT(l, "всё своё", "сво"));
    /* nor does another word of the same stem lend its forms to it */
    CHECK(HIT(l, "сделали своими силами", "своими силами"));
    CHECK(!HIT(l, "сделали своими силами", "сво"));
    /* a short word takes the forms its [common] line gives it */
    CHECK(HIT(l, "нет газа", "газ"));
    CHECK(HIT(l, "пахнет газом", "газ"));
    CHECK(!HIT(l, "читаю газету", "газ"));
    /* "семья" and "семена" share the stem "сем", and nothing else */
    CHECK(HIT(l, "купить семена", "семена"));
    CHECK(!HIT(l, "Вся семья собралась", "семена"));
    CHECK(!HIT(l, "помощь семьям", "семена"));
    unload(&l);

    /* without a [common] line a short word is exact */
    l = load_text("[category a]\nгаз = 1\n");
    CHECK(HIT(l, "газ", "газ"));
    CHECK(!HIT(l, "нет газа", "газ"));
    unload(&l);
}

TEST(misspellings_keep_their_first_letters)
{
    struct lexicon l = load_text("[common]\n"
                                 "страна страны стране страну страной стран странах\n"
                                 "[category a]\n"
                                 "подъезд* = 1\n"
                                 "трамва* = 1\n"
                                 "страшно = 1\n"
                                 "разбит* = 1\n"
                                 "тротуар* = 1\n");
    CHECK(l.lx != NULL);
    CHECK(HIT(l, "в подъезде", "подъезд*"));
    CHECK(FUZZY(l, "в подьезде грязно", "подъезд*"));       /* ъ → ь */
    CHECK(FUZZY(l, "в подъзде грязно", "подъезд*"));        /* a letter missing */
    /* a word that begins otherwise is another word */
    CHECK(!HIT(l, "в падъезде грязно", "подъезд*"));
    /* a letter written for another is a vowel for a vowel, "ь" for "ъ" */
    CHECK(FUZZY(l, "на тротаре машины", "тротуар*"));       /* у missing */
    CHECK(FUZZY(l, "на тротуоре машины", "тротуар*"));      /* а → о */
    CHECK(!HIT(l, "развитие района", "разбит*"));            /* в for б: another word */
    CHECK(HIT(l, "разбитые дороги", "разбит*"));
    /* no misspellings of short words */
    CHECK(!HIT(l, "трава по пояс", "трамва*"));
    CHECK(FUZZY(l, "трамвйа не ходит", "трамва*"));
    /* a frequent word is what it is, not a misspelling */
    CHECK(!HIT(l, "Жители других страны", "страшно"));
    CHECK(HIT(l, "Очень страшно", "страшно"));
    unload(&l);

    /* "страны" is one letter from "страшно": only the list keeps them apart */
    l = load_text("[category a]\nстрашно = 1\n");
    CHECK(FUZZY(l, "Жители других страны", "страшно"));
    unload(&l);
}

TEST(prefixes_spare_frequent_words)
{
    struct lexicon l = load_text("[common]\n"
                                 "центр центра центру центром центре центры центров\n"
                                 "цена цены цене цену ценой цен ценам ценами ценах\n"
                                 "оценить оценю оценит оценил оценила оценили\n"
                                 "пожалуй, пожалуйста\n"
                                 "[function]\nв о по\n"
                                 "[category a]\n"
                                 "цен* = 1\n"
                                 "жалу* = 1\n"
                                 "подъезд* = 1\n");
    CHECK(l.lx != NULL);
    /* "цен*" covers the stem of "цены", not that of "центр" */
    CHECK(HIT(l, "Цены на продукты", "цен*"));
    CHECK(HIT(l, "по ценам рынка", "цен*"));
    CHECK(HIT(l, "ценник не тот", "цен*"));                 /* no [common] word */
    CHECK(!HIT(l, "в центре города", "цен*"));
    CHECK(!HIT(l, "торговый центр", "цен*"));
    /* a frequent word is not split: "о" + "ценил", "по" + "жалуй" */
    CHECK(!HIT(l, "Губернатор оценил работу", "цен*"));
    CHECK(!HIT(l, "Пожалуй, соглашусь", "жалу*"));
    CHECK(HIT(l, "Жители жалуются", "жалу*"));
    CHECK(SPLIT(l, "грязно вподъезде", "подъезд*"));       /* glued words still split */
    /* the catches the matcher refuses, for the load-time report */
    CHECK_INT(lex_prefix_catches(l.lx, NULL, NULL), 7);
    CHECK(strstr(logbuf, "prefix 'цен*'") != NULL);
    CHECK(strstr(logbuf, "центр") != NULL);
    CHECK(strstr(logbuf, "t.lex:") != NULL);
    print_log();
    unload(&l);

    /* without the list the false friends come back */
    l = load_text("[function]\nо по\n[category a]\nцен* = 1\nжалу* = 1\n");
    CHECK(HIT(l, "в центре города", "цен*"));
    CHECK(SPLIT(l, "Губернатор оценил работу", "цен*"));
    CHECK(SPLIT(l, "Пожалуй, соглашусь", "жалу*"));
    CHECK(loglen == 0);
    unload(&l);
}

TEST(a_one_word_entry_names_its_word)
{
    /* a frequent word that is an entry of its own may be caught by a
     * shorter prefix too; its other forms may not */
    struct lexicon l = load_text("[common]\n"
                                 "ремонтировать ремонтирую ремонтирует ремонтируют "
                                 "ремонтировал ремонтировали\n"
                                 "[category a]\nремонтируют = 1\n[category b]\nремонт* = 1\n");
    CHECK(HIT(l, "дорогу ремонтируют", "ремонтируют"));
    CHECK(HIT(l, "дорогу ремонтируют", "ремонт*"));
    CHECK(!HIT(l, "дорогу ремонтировали", "ремонт*"));
    CHECK(HIT(l, "ремонт дороги", "ремонт*"));
    unload(&l);
}

/* ---- the shipped lexicons ---- */

static struct lexicon shipped;

TEST(shipped_false_friends_do_not_match)
{
    CHECK(shipped.lx != NULL);
    if (shipped.lx == NULL)
        return;
    CHECK(!HIT(shipped, "Жители других страны приезжают к нам", "страшно"));
    CHECK(!HIT(shipped, "Вся семья собралась на праздник", "семена"));
    CHECK(!HIT(shipped, "Каждый из своих детей любит", "сво"));
    CHECK(!hits_section(&shipped, "Губернатор оценил работу", "category", "trade"));
    CHECK(!hits_section(&shipped, "Встретимся в центре города", "category", "trade"));
    CHECK(!HIT(shipped, "Пожалуй, соглашусь с вами", "жалуются"));
    CHECK(!hits_section(&shipped, "Пожалуй, соглашусь с вами", "kind", "complaint"));
    /* more of them: a prefix, a glued preposition, a misspelling each */
    CHECK(!HIT(shipped, "Мы жили в этом доме", "жилой дом"));
    CHECK(HIT(shipped, "жилой дом", "жилой дом"));
    CHECK(!HIT(shipped, "открыли окна", "окн"));
    CHECK(!HIT(shipped, "Было видно издалека", "идн"));
    CHECK(!hits_section(&shipped, "Секретарь ответила", "category", "social"));
    CHECK(!hits_section(&shipped, "трава выросла", "category", "transport"));
    CHECK(!HIT(shipped, "столько лет", "сколько"));
}

TEST(shipped_genuine_forms_match)
{
    if (shipped.lx == NULL)
        return;
    CHECK(HIT(shipped, "Очень страшно ходить вечером", "страшно"));
    CHECK(HIT(shipped, "Где купить семена?", "семена"));
    CHECK(HIT(shipped, "Помощь семьям участников СВО", "сво"));
    CHECK(HIT(shipped, "Цены на продукты растут", "цена"));
    CHECK(HIT(shipped, "По ценам видно", "цена"));
    CHECK(hits_section(&shipped, "Цены на продукты растут", "category", "trade"));
    CHECK(HIT(shipped, "Жители жалуются на запах", "жалуются"));
    CHECK(hits_section(&shipped, "Жители жалуются на запах", "kind", "complaint"));
    /* short words in every form their [common] line gives */
    CHECK(HIT(shipped, "третий день нет газа", "газ"));
    CHECK(HIT(shipped, "в доме", "дом"));
    CHECK(HIT(shipped, "яму так и не закопали", "яма"));
    CHECK(HIT(shipped, "нет воды", "вода"));
    /* and a misspelling that keeps its first letters */
    CHECK(FUZZY(shipped, "в подъзде грязно", "подъезд*"));
}

static const char *const known_catches[] = {
    /* prefixes inside phrases ("счетчик* газ*", "сточн* вод*") and in
     * 30-priority.lex and 40-places.lex: the matcher refuses the frequent
     * words ("газета", "водитель", "светлый", "новости"); the phrase or the
     * place name there still matches */
    "газ", "вод", "свет", "нов", NULL,
};

static void catch_seen(void *arg, uint32_t term, const char *word)
{
    const struct lex *lx = arg;
    const char *key = lx->terms[term].key;
    size_t k = 0;
    while (known_catches[k] && strcmp(known_catches[k], key) != 0)
        k++;
    if (known_catches[k] == NULL) {
        printf("# prefix '%s*' catches the frequent word \"%s\"\n", key, word);
        test_cur_failed = 1;
    }
}

TEST(shipped_prefixes_catch_no_frequent_word)
{
    if (shipped.lx == NULL)
        return;
    size_t n = lex_prefix_catches(shipped.lx, catch_seen, shipped.lx);
    printf("# %zu refused catches of the known prefixes\n", n);
    /* the [common] list is there, with its thousands of forms */
    CHECK(shipped.lx->common.n > 3000);
    CHECK(lex_is_common(shipped.lx, "центр", strlen("центр")));
    CHECK(!lex_is_common(shipped.lx, "подъезд", strlen("подъезд")));
}

int main(void)
{
    char err[128];
    an = text_analyzer_new(err, sizeof(err));
    if (an == NULL) {
        printf("Bail out! %s\n", err);
        return 1;
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/apd-lexmatch-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    RUN(short_entries_are_exact);
    RUN(misspellings_keep_their_first_letters);
    RUN(prefixes_spare_frequent_words);
    RUN(a_one_word_entry_names_its_word);

    const char *src = getenv("APD_SOURCE_ROOT");
    char path[1024];
    snprintf(path, sizeof(path), "%s/config/classifier/ru", src ? src : APD_SOURCE_ROOT);
    shipped = load_path(path);
    if (loglen) {
        printf("# the shipped lexicons at load time:\n");
        print_log();
    }
    RUN(shipped_false_friends_do_not_match);
    RUN(shipped_genuine_forms_match);
    RUN(shipped_prefixes_catch_no_frequent_word);
    unload(&shipped);

    char p[300];
    snprintf(p, sizeof(p), "%s/t.lex", tmpdir);
    unlink(p);
    rmdir(tmpdir);
    text_analyzer_free(an);
    return test_done();
}
