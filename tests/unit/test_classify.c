/* The classifier chain with the shipped plugins and lexicons: places in any
 * grammatical case, the hard cases of the default scheme, misspellings,
 * negation, the page fallback, the chain's order and overrides, and the
 * errors a broken lexicon gives.  Needs the plugins of the build tree
 * (APD_BUILD_DIR) and the sources (APD_SOURCE_ROOT). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_harness.h"
#include "test.h"

/* A configuration with the shipped lexicons and the example directory;
 * `set` is one override ("classifier.spam.order=1") or NULL. */
static struct apd_config *load(const char *set, struct diag *d)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "[daemon]\nplugin_dir = %s/plugins\n"
             "include %s/config/conf.d/10-organisations.conf\n"
             "include %s/config/conf.d/20-pages.conf\n"
             "[classifier \"ru\"]\nlexicon = %s/config/classifier/ru\norder = 10\n"
             "[classifier \"spam\"]\nlexicon = %s/config/classifier/spam.lex\norder = 20\n",
             ch_build_dir, ch_source_dir, ch_source_dir, ch_source_dir, ch_source_dir);
    return ch_load(text, set, d);
}

static struct apd_config *load_shipped(struct diag *d) { return load(NULL, d); }

static const char *mun(const char *text) { return ch_classify(text, NULL)->municipality; }
static const char *cat(const char *text) { return ch_classify(text, NULL)->category; }

static bool has_evidence(const char *needle)
{
    bool ok = ch_res.evidence.p && strstr(ch_res.evidence.p, needle);
    if (!ok)
        printf("# no \"%s\" in the evidence: [%s]\n", needle,
               ch_res.evidence.p ? ch_res.evidence.p : "");
    return ok;
}

TEST(places_in_any_case)
{
    CHECK_STR(mun("Третий день нет воды в Майкопе"), "maykop");
    CHECK_STR(mun("Автобус из Яблоновского не пришёл"), "takhtamukaysky");
    CHECK_STR(mun("Дороги по Гиагинскому району разбиты"), "giaginsky");
    CHECK_STR(mun("В станице Ханской нет газа"), "maykop");
    CHECK_STR(mun("Аул Понежукай без света"), "teuchezhsky");
    CHECK_STR(mun("В Новой Адыгее нет МФЦ"), "takhtamukaysky");
    CHECK_STR(mun("В Майкопском районе сломан мост"), "maykopsky");
    CHECK_STR(mun("Майкопские дороги хуже всех"), "maykop");
    CHECK_STR(mun("В Адыгейске прорвало трубу"), "adygeysk");
    CHECK_STR(mun("мусор не вывозят, Кошехабль"), "koshekhablsky");
    /* ambiguous names count only after a settlement marker */
    CHECK_STR(mun("В пос. Победа нет связи"), "maykopsky");
    CHECK_STR(mun("С Днём Победы! Ямы на дороге так и не заделали"), "");
    CHECK_STR(mun("В село Белое не ходит автобус"), "krasnogvardeysky");
    CHECK_STR(mun("Разлили белую краску на дороге"), "");
    /* the Adyghe adjective is not the city; a street is not a place */
    CHECK_STR(mun("Адыгейский университет задерживает стипендию"), "");
    CHECK_STR(mun("Яблоновский, ул. Майкопская, 12: нет воды"), "takhtamukaysky");
    CHECK_STR(mun("На ул. Гиагинской яма"), "");
    CHECK_STR(mun("Нет воды третий день"), "");
    CHECK(ch_res.municipality_from == NULL);
}

TEST(page_fallback_never_guesses)
{
    ch_classify("Во дворе не вывозят мусор", "100001");
    CHECK_STR(ch_res.municipality, "maykop");
    CHECK_STR(ch_res.municipality_from, "page");
    CHECK(has_evidence("\"rule\":\"page\""));
    CHECK(has_evidence("vk:100001"));
    /* a place in the text wins over the page */
    ch_classify("В Яблоновском во дворе не вывозят мусор", "100001");
    CHECK_STR(ch_res.municipality, "takhtamukaysky");
    CHECK_STR(ch_res.municipality_from, "text");
    /* a ministry's page has no municipality: unknown stays unknown */
    ch_classify("Не могу записаться к врачу", "100002");
    CHECK_STR(ch_res.municipality, "");
}

TEST(hard_cases_of_the_scheme)
{
    CHECK_STR(cat("На дороге по улице Ленина не горят фонари, машины не видят пешеходов"), "roads");
    CHECK_STR(cat("Во дворе не горят фонари, у подъездов темнота"), "improvement");
    CHECK_STR(cat("В парке вечером не работает освещение"), "improvement");
    CHECK_STR(cat("Снег на дороге не убирают третий день"), "roads");
    CHECK_STR(cat("Во дворе снег по колено, не чистят"), "improvement");
    CHECK_STR(cat("Нет света во всём доме с утра"), "power");
    CHECK_STR(cat("В подъезде не горит лампочка на третьем этаже"), "housing");
    CHECK_STR(cat("Стая бродячих собак у школы кидается на детей"), "safety");
    CHECK_STR(cat("В школе холодно, батареи еле тёплые"), "education");
    CHECK_STR(cat("В детском саду не работает отопление"), "education");
    CHECK_STR(cat("Яма возле школы на дороге, машины бьют колёса"), "roads");
    /* a two-letter stem matches as written: every case form is in the lexicon */
    CHECK_STR(cat("Третий раз пишу про яму на Пионерской"), "roads");
    CHECK_STR(cat("Машина провалилась в яму, вся улица в ямах"), "roads");
    CHECK_STR(cat("Столб покосился и провода висят почти до земли"), "power");
    CHECK_STR(cat("Покосите траву во дворе"), "improvement");
}

TEST(kinds_and_appeals)
{
    ch_classify("Когда отремонтируют дорогу на Пионерской?", NULL);
    CHECK_STR(ch_res.kind, "question");
    CHECK(ch_res.is_appeal);
    ch_classify("Просим установить светофор на перекрёстке у рынка", NULL);
    CHECK_STR(ch_res.kind, "request");
    ch_classify("Третий день нет воды, сколько можно терпеть!!!", NULL);
    CHECK_STR(ch_res.kind, "complaint");
    CHECK_STR(ch_res.category, "housing");
    ch_classify("Спасибо большое за новую детскую площадку! 👍", NULL);
    CHECK_STR(ch_res.kind, "gratitude");
    CHECK(!ch_res.is_appeal);
    CHECK_STR(ch_res.category, "");          /* nothing to file */
    CHECK_STR(ch_res.priority, "normal");
    ch_classify("Спасибо администрации за «прекрасные» дороги, опять пробил колесо в яме", NULL);
    CHECK_STR(ch_res.kind, "complaint");     /* thanks that are a complaint */
    const char *noise[] = {"+", "👍👍👍", "Доброе утро всем!", "С праздником, земляки!",
                           "ахахах ну вы даёте", "", NULL};
    for (size_t i = 0; noise[i]; i++) {
        ch_classify(noise[i], NULL);
        if (strcmp(ch_res.kind, "noise") != 0)
            printf("# \"%s\" is %s\n", noise[i], ch_res.kind);
        CHECK_STR(ch_res.kind, "noise");
        CHECK(!ch_res.is_appeal);
    }
    CHECK(ch_res.kind_confidence > 0.5 && ch_res.kind_confidence <= 1);
    /* what is said among citizens and rants about nothing in particular */
    const char *chatter[] = {"Кто знает, во сколько сегодня салют?", "Кто на концерт идёт?",
                             "Опять отчитались картинками, а ничего не меняется", NULL};
    for (size_t i = 0; chatter[i]; i++) {
        ch_classify(chatter[i], NULL);
        CHECK(!ch_res.is_appeal);
    }
    ch_classify("Кто знает, почему салют отменили?", NULL);   /* a problem word: an appeal */
    CHECK(ch_res.is_appeal);
    /* written to the page in private, an opening is an appeal; under a post it is not */
    struct classify_request rq = {.text = "Добрый день, у меня вопрос", .source = "vk",
                                  .item_kind = "message"};
    rq.len = strlen(rq.text);
    classify_text(classify_chain_of(ch_cfg), &rq, &ch_res);
    CHECK_STR(ch_res.kind, "question");
    CHECK(has_evidence("\"rule\":\"private-message\""));
    ch_classify(rq.text, NULL);
    CHECK(!ch_res.is_appeal);
    rq.text = "Добрый день";
    rq.len = strlen(rq.text);
    classify_text(classify_chain_of(ch_cfg), &rq, &ch_res);
    CHECK(!ch_res.is_appeal);                 /* a greeting alone is still one */
}

TEST(priority_and_negation)
{
    ch_classify("В подъезде сильно пахнет газом!", NULL);
    CHECK_STR(ch_res.priority, "critical");
    CHECK_STR(ch_res.priority_reason, "пахнет газом");
    CHECK_STR(ch_res.category, "gas");
    ch_classify("Третий день нет воды, в доме лежачая бабушка", NULL);
    CHECK_STR(ch_res.priority, "high");
    CHECK_STR(ch_res.priority_reason, "нет воды");
    /* the same words without the negation are no lost service */
    ch_classify("Вода из крана идёт ржавая", NULL);
    CHECK_STR(ch_res.priority, "normal");
    ch_classify("На остановке провод оборван и искрит!", NULL);
    CHECK_STR(ch_res.priority, "critical");
    ch_classify("Фонарь не горит во дворе", NULL);
    CHECK_STR(ch_res.priority, "normal");    /* "не горит" is no fire */
}

TEST(misspellings_and_glued_words)
{
    ch_classify("в подъзде грязно и воняет", NULL);        /* a letter missing */
    CHECK_STR(ch_res.category, "housing");
    CHECK(has_evidence("\"fuzzy\":true"));
    /* a misspelling keeps the first letters of its word ("па" is not "по"),
     * and a frequent word is no misspelling ("страны" is not "страшно") */
    ch_classify("в падъезде грязно и воняет", NULL);
    CHECK(ch_res.evidence.p == NULL || strstr(ch_res.evidence.p, "подъезд") == NULL);
    ch_classify("Люди из других страны приезжают", NULL);
    CHECK(ch_res.evidence.p == NULL || strstr(ch_res.evidence.p, "страшно") == NULL);
    ch_classify("нетводы уже неделю", NULL);
    CHECK_STR(ch_res.category, "housing");
    CHECK(has_evidence("\"split\":true"));
    CHECK_STR(ch_res.priority, "high");
    ch_classify("мусор нe вывoзят", NULL);                   /* Latin e and o */
    CHECK_STR(ch_res.category, "waste");
}

TEST(chain_order_and_override)
{
    ch_classify("Продам дом в Майкопе, газ, вода, звоните 89181234567", NULL);
    CHECK_STR(ch_res.kind, "noise");             /* spam overrides ru */
    CHECK_STR(ch_res.by, "ru,spam");
    CHECK(has_evidence("\"by\":\"spam\""));
    CHECK(has_evidence("\"rule\":\"spam\""));
    ch_classify("Третий день нет воды на Гагарина, перезвоните мне 89181234567", NULL);
    CHECK_STR(ch_res.kind, "complaint");         /* a phone with a complaint is no ad */
    /* spam first and final: ru never runs on spam */
    struct diag d = {0};
    struct apd_config *c2 = load("classifier.spam.order=1", &d);
    CHECK(c2 != NULL);
    struct apd_config *keep = ch_cfg;
    ch_cfg = c2;
    ch_classify("Работа на дому, доход от 5000 в день, пишите в личку", NULL);
    CHECK_STR(ch_res.kind, "noise");
    CHECK_STR(ch_res.by, "spam");
    ch_classify("Яма на дороге", NULL);
    CHECK_STR(ch_res.by, "spam,ru");
    CHECK_STR(ch_res.category, "roads");
    ch_cfg = keep;
    config_unref(c2);
    diag_free(&d);
    /* a disabled classifier is not run; no classifier at all: an appeal of unknown kind */
    c2 = load("classifier.spam.enabled=no", &d);
    CHECK(c2 != NULL && classify_chain_length(classify_chain_of(c2)) == 1);
    config_unref(c2);
    struct classify_request rq = {.text = "x", .len = 1};
    classify_text(NULL, &rq, &ch_res);
    CHECK(ch_res.is_appeal && !ch_res.classified);
    CHECK_STR(ch_res.kind, "");
    CHECK_STR(ch_res.priority, "normal");
    diag_free(&d);
}

static bool diag_has(const struct diag *d, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->msg[i], needle))
            return true;
    printf("# no diagnostic contains \"%s\"; got:\n", needle);
    for (size_t i = 0; i < d->n; i++)
        printf("#   %s\n", d->msg[i]);
    return false;
}

TEST(broken_lexicons_are_reported_with_file_and_line)
{
    static const struct {
        const char *lex, *want;
    } cases[] = {
        {"[category roads]\nяма = много\n", "bad.lex:2: 'много' is not a weight"},
        {"яма = 2\n", "bad.lex:1: a line before the first [section]"},
        {"[categroy roads]\n", "bad.lex:1: unknown section type 'categroy'"},
        {"[category]\n", "bad.lex:1: [category] needs a code"},
        {"[param]\nquestion_mrak = 2\n", "bad.lex:2: unknown [param] 'question_mrak'"},
        {"[priority urgent]\nпожар = 3\n", "[priority urgent]: priorities are critical and high"},
        {"[rule r]\nif = яма\n", "rule r needs an `if` and a `then`"},
        {"[rule r]\nif = яма\nthen = category roads lots\n", "bad.lex:3: rule r: 'lots' is not"},
        {"[category roads]\nя* = 1\n", "bad.lex:2: 'я*': a prefix needs three letters"},
        {"[category roads]\n😀 = 1\n", "bad.lex:2: '😀' has no word in it"},
        {NULL, NULL},
    };
    for (size_t i = 0; cases[i].lex; i++) {
        char set[600];
        snprintf(set, sizeof(set), "classifier.ru.lexicon=%s",
                 ch_write_file("bad.lex", cases[i].lex));
        struct diag d = {0};
        struct apd_config *c = load(set, &d);
        CHECK(c == NULL);
        CHECK(diag_has(&d, cases[i].want));
        CHECK(diag_has(&d, "t.conf:5: [classifier \"ru\"]"));   /* and the section naming it */
        config_unref(c);
        diag_free(&d);
    }
    struct diag d = {0};
    CHECK(load("classifier.ru.lexicon=/nonexistent/x.lex", &d) == NULL);
    CHECK(diag_has(&d, "/nonexistent/x.lex:0: cannot read"));
    diag_free(&d);
    CHECK(load("classifier.x.plugin=classify_nothing", &d) == NULL);
    CHECK(diag_has(&d, "no classify_nothing.so"));
    diag_free(&d);
    CHECK(load("classifier.v.plugin=source_vk", &d) == NULL);
    CHECK(diag_has(&d, "not a classifier plugin"));
    diag_free(&d);
}

TEST(later_lexicons_extend_and_reweigh)
{
    char set[600];
    snprintf(set, sizeof(set), "classifier.ru.lexicon=%s",
             ch_write_file("local.lex", "[category culture]\nкукольн* театр* = 5\n"
                                        "[category roads]\nяма = 0.1\n"));
    struct diag d = {0};
    struct apd_config *c = load(set, &d);
    CHECK(c != NULL);
    struct apd_config *keep = ch_cfg;
    ch_cfg = c;
    CHECK_STR(cat("Когда откроют кукольный театр после ремонта?"), "culture");
    ch_classify("Огромная яма посреди дороги, колесо пробил", NULL);
    CHECK(has_evidence("\"term\":\"яма\",\"text\":\"яма\",\"weight\":0.10"));
    ch_cfg = keep;
    config_unref(c);
    diag_free(&d);
}

TEST(json_of_a_decision)
{
    ch_classify("В Майкопе на Пионерской яма на дороге", NULL);
    struct sbuf b = SBUF_INIT;
    classify_result_json(&ch_res, &b);
    /* the Kafka form: unknown members (here priority_reason) are left out */
    static const char head[] = "{\"is_appeal\":true,\"kind\":\"complaint\",\"category\":"
                               "\"roads\",\"municipality\":\"maykop\",\"municipality_from\":"
                               "\"text\",\"priority\":\"normal\",\"confidence\":0.";
    CHECK(strncmp(b.p, head, sizeof(head) - 1) == 0);
    CHECK(strstr(b.p, "null") == NULL);
    CHECK(strstr(b.p, ",\"confidences\":{\"kind\":0."));
    CHECK(strstr(b.p, "},\"evidence\":[{\"by\":\"ru\""));
    CHECK(strstr(b.p, "\"classifiers\":[\"ru\",\"spam\"]}"));
    sbuf_free(&b);
}

int main(void)
{
    int rc = ch_setup("classify", load_shipped);
    if (rc != 0)
        return rc;
    RUN(places_in_any_case);
    RUN(page_fallback_never_guesses);
    RUN(hard_cases_of_the_scheme);
    RUN(kinds_and_appeals);
    RUN(priority_and_negation);
    RUN(misspellings_and_glued_words);
    RUN(chain_order_and_override);
    RUN(broken_lexicons_are_reported_with_file_and_line);
    RUN(later_lexicons_extend_and_reweigh);
    RUN(json_of_a_decision);
    ch_teardown();
    return test_done();
}
