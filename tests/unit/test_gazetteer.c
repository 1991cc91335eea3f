/* The gazetteer (config/classifier/ru/40-places.lex) and the priority
 * lexicon (30-priority.lex) through the real classifier: a settlement of
 * every municipality of Adygea in several grammatical cases gives its
 * municipality; ordinary sentences whose words look like settlement names
 * give none; danger to people in the short words people write it is
 * critical or high, and ordinary complaints stay normal.  The lexicons
 * alone decide here (no trained model is configured), as they decide
 * municipality and priority in every configuration.  Needs the plugins of
 * the build tree (APD_BUILD_DIR) and the sources (APD_SOURCE_ROOT).  Every
 * text is made up for this test. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "chain_harness.h"
#include "test.h"

/* The ru classifier alone, with the shipped lexicons and no model. */
static struct apd_config *load(struct diag *d)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "[daemon]\nplugin_dir = %s/plugins\n"
             "[classifier \"ru\"]\nlexicon = %s/config/classifier/ru\norder = 10\n",
             ch_build_dir, ch_source_dir);
    return ch_load(text, NULL, d);
}

static const struct classify_result *classify(const char *text)
{
    return ch_classify(text, NULL);
}

/* The municipality of a text, "" when it names none. */
static const char *mun(const char *text)
{
    const char *m = classify(text)->municipality;
    return m ? m : "";
}

static const char *prio(const char *text) { return classify(text)->priority; }

/* Checks each text of a NULL-terminated list against one expectation,
 * printing the text that fails. */
static void expect_mun(const char *want, const char *const *texts)
{
    for (size_t i = 0; texts[i]; i++) {
        const char *got = mun(texts[i]);
        if (strcmp(got, want) != 0) {
            printf("# \"%s\": municipality \"%s\", expected \"%s\"\n", texts[i], got, want);
            test_cur_failed = 1;
        }
    }
}

/* Critical or high, as the list says: "critical", "high", or "urgent" for
 * either of the two. */
static void expect_prio(const char *want, const char *const *texts)
{
    for (size_t i = 0; texts[i]; i++) {
        const char *got = prio(texts[i]);
        bool ok = strcmp(want, "urgent") == 0
                      ? strcmp(got, "critical") == 0 || strcmp(got, "high") == 0
                      : strcmp(got, want) == 0;
        if (!ok) {
            printf("# \"%s\": priority %s (%s), expected %s\n", texts[i], got,
                   ch_res.priority_reason, want);
            test_cur_failed = 1;
        }
    }
}

TEST(maykop_city_and_its_settlements)
{
    expect_mun("maykop", (const char *const[]){
        "Третий день нет воды в Майкопе",
        "Из Майкопа автобус ушёл раньше времени",
        "В станице Ханской не вывозят мусор",
        "Ханская: на Краснооктябрьской опять прорыв трубы",
        "В хуторе Гавердовском нет освещения на улицах",
        "Из Гавердовского в город не ходит маршрутка",
        "пос. Родниковый без газа с утра",
        "В посёлке Северном яма на яме",
        "Жители посёлка Западного просят остановку",
        "В хуторе Косинове размыло дорогу",
        "х. Весёлый: провалился мост через ручей",
        NULL});
}

TEST(adygeysk_and_its_auls)
{
    expect_mun("adygeysk", (const char *const[]){
        "В Адыгейске прорвало трубу на центральной улице",
        "Из Адыгейска не уехать вечером",
        "В ауле Гатлукай не горят фонари",
        "Гатлукай третий день без света",
        "х. Псекупс: дорогу не чистят",
        NULL});
}

TEST(giaginsky)
{
    expect_mun("giaginsky", (const char *const[]){
        "Из Гиагинской не ходит автобус",
        "В станице Гиагинской опять нет воды",
        "Дороги по Гиагинскому району разбиты",
        "Дондуковская, ул. Кирова: яма на дороге",
        "В Келермесской закрыли аптеку",
        "В хуторе Гончарка нет газа",
        "Жители Гончарки просят вышку связи",
        "В хуторе Вольно-Весёлом размыло дорогу",
        "х. Нижний Айрюм без воды",
        "в селе Сергиевском закрыли ФАП",
        "В хуторе Карцев снесло мост",
        NULL});
}

TEST(koshekhablsky)
{
    expect_mun("koshekhablsky", (const char *const[]){
        "В ауле Кошехабль нет воды",
        "мусор не вывозят, Кошехабль",
        "Из Кошехабля не дозвониться в больницу",
        "В Блечепсине не работает связь",
        "В посёлке Майском спортзал закрыт",
        "в ауле Ходзь размыло мост",
        "Жители Натырбово просят отремонтировать дорогу",
        "Х. Казенно-Кужорский остался без газа",
        "В селе Вольном ремонтируют школу третий год",
        "В ауле Хачемзий нет освещения",
        NULL});
}

TEST(krasnogvardeysky)
{
    expect_mun("krasnogvardeysky", (const char *const[]){
        "В Красногвардейском не работает банкомат",
        "В селе Белом нет аптеки",
        "В село Белое не ходит автобус",
        "В ауле Уляп размыло дорогу",
        "Из Хатукая до райцентра не доехать",
        "В Еленовском затопило подвалы",
        "В селе Садовом не горят фонари",
        "В Бжедугхабле закрыли почту",
        "Жители Джамбичи без газа",
        NULL});
}

TEST(maykopsky)
{
    expect_mun("maykopsky", (const char *const[]){
        "В Майкопском районе сломан мост",
        "В Тульском третий день нет воды",
        "Жители посёлка Тульского просят тротуар",
        "пос. Тимирязева без света",
        "В посёлке Тимирязева не вывозят мусор",
        "В станице Абадзехской закрыли ФАП",
        "В Каменномостском размыло дорогу",
        "Из Даховской не ходит автобус",
        "В пос. Победа нет связи",
        "В поселке Победа газ есть только на половине улиц",
        "В станице Курджипской не горят фонари",
        "В хуторе Северо-Восточные Сады нет тротуаров",
        "На Лагонаках закрыли приют",
        "В Гузерипле нет сотовой связи",
        NULL});
}

TEST(takhtamukaysky)
{
    expect_mun("takhtamukaysky", (const char *const[]){
        "Автобус из Яблоновского не пришёл",
        "В Яблоновском во дворе не вывозят мусор",
        "В посёлке городского типа Яблоновский нет воды",
        "В Новой Адыгее нет МФЦ",
        "В ауле Тахтамукай размыло дорогу",
        "В Энеме опять пробки на переезде",
        "В ауле Натухай нет освещения",
        "Жители Козета жалуются на запах с очистных",
        "В ауле Старобжегокай прорвало трубу",
        "В ауле Афипсип закрыли магазин",
        NULL});
}

TEST(teuchezhsky)
{
    expect_mun("teuchezhsky", (const char *const[]){
        "Аул Понежукай без света",
        "В Понежукае не работает банкомат",
        "В Тлюстенхабле отключили газ",
        "В ауле Габукай размыло дорогу",
        "В хуторе Казазов не ходит автобус",
        "В ауле Вочепший нет освещения",
        "Жители Тугургоя просят остановку",
        "В ауле Нешукай закрыли почту",
        NULL});
}

TEST(shovgenovsky)
{
    expect_mun("shovgenovsky", (const char *const[]){
        "В Хакуринохабле нет воды",
        "В ауле Хакуринохабль закрыли аптеку",
        "В ауле Джерокай размыло мост",
        "Жители Мамхега просят автобус",
        "В ауле Пшизов не горят фонари",
        "В хуторе Дукмасов третий день без света",
        "В посёлке Зарево не вывозят мусор",
        "В Шовгеновском районе нет скорой",
        NULL});
}

/* Words that look like settlement names: ordinary text names no place. */
TEST(ordinary_words_are_no_places)
{
    expect_mun("", (const char *const[]){
        "Нет воды третий день",
        "С Днём Победы! Ямы на дороге так и не заделали",
        "Разлили белую краску на дороге",
        "Адыгейский университет задерживает стипендию",
        "На ул. Гиагинской яма",
        "Огонь затухает, а дрова сырые",
        "Призовой фонд турнира так и не выдали",
        "Старая хатка у реки совсем развалилась",
        "В гончарной мастерской протекает крыша",
        "Продаю козетку, почти новая",
        "Ходил в одной майкой, замёрз",
        "Турбина котельной гудит всю ночь",
        "Стены заштукатурены кое-как",
        "Купил влагонепроницаемую куртку, протекает",
        "Казаков пригласили на праздник",
        "Сроки указаны неуказанные",
        "Смирная собака живёт у подъезда",
        "В поселке майские праздники прошли весело",
        "В ауле вольная борьба снова собрала детей",
        "В поселке новый магазин открыли",
        "Вывоз мусора с берегов реки Курджипс",
        "На бульваре Победы сломаны скамейки",
        "Дом на Северной улице без отопления",
        NULL});
}

/* Danger to people, in short real phrasings: critical or high. */
TEST(danger_is_critical_or_high)
{
    expect_prio("critical", (const char *const[]){
        "Провода висят над детской площадкой",
        "Во дворе оборван провод, лежит на тротуаре",
        "Оборвались провода у школы",
        "Дерево упало на провода",
        "Провод упал на дорогу и искрит",
        "Запах газа в подъезде",
        "В подъезде пахнет газом",
        "Ребенок застрял в заборе на площадке",
        "Открытый электрощит в подъезде, дети лезут внутрь",
        NULL});
    expect_prio("urgent", (const char *const[]){
        "Открыт люк",
        "Открытый люк возле школы, дети ходят мимо",
        "На тротуаре открытый люк",
        "Канализационный люк открыт уже неделю",
        "Колодец без крышки у детского сада",
        "Сосульки над входом в школу",
        "Над входом в подъезд висят огромные сосульки",
        "Дерево вот-вот упадет на детскую площадку",
        "Сухое дерево нависает над детской площадкой",
        "Наледь над входом в поликлинику",
        "Снег с крыши падает на людей у подъезда",
        "Нет отопления, на улице мороз",
        "В квартире холодно, батареи ледяные, маленький ребенок",
        "На детской площадке торчит арматура",
        NULL});
}

/* Ordinary complaints stay normal. */
TEST(ordinary_complaints_stay_normal)
{
    expect_prio("normal", (const char *const[]){
        "Яма на дороге по улице Ленина",
        "Провода интернета висят некрасиво, уберите",
        "Прошу обрезать деревья во дворе, закрывают окна",
        "Спилили дерево, а ветки бросили",
        "Мусор не вывозят неделю",
        "На крыше снег, когда почистят?",
        "Сорвало крышку мусорного бака",
        "Люк на дороге гремит, когда машины едут",
        "Дома холодно стало осенью, когда включат отопление по графику?",
        "Поставьте забор у школы",
        NULL});
}

int main(void)
{
    int rc = ch_setup("gazetteer", load);
    if (rc != 0)
        return rc;
    RUN(maykop_city_and_its_settlements);
    RUN(adygeysk_and_its_auls);
    RUN(giaginsky);
    RUN(koshekhablsky);
    RUN(krasnogvardeysky);
    RUN(maykopsky);
    RUN(takhtamukaysky);
    RUN(teuchezhsky);
    RUN(shovgenovsky);
    RUN(ordinary_words_are_no_places);
    RUN(danger_is_critical_or_high);
    RUN(ordinary_complaints_stay_normal);
    ch_teardown();
    return test_done();
}
