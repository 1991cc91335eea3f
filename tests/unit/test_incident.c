/* Incident grouping (daemon/incident/incident.c): the features of a text,
 * the rules that join or separate two reports, the Redis text form, and the
 * grouper of `appealsd incidents`. */
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "sbuf.h"
#include "test.h"

#define H 3600000LL

static struct inc_features feat(const char *text, const char *cat, const char *mun, int64_t at)
{
    struct inc_features f;
    inc_features_of(text, strlen(text), cat, mun, at, &f);
    return f;
}

static double match(const struct inc_features *a, const struct inc_features *b)
{
    struct inc_params p;
    inc_params_default(&p);
    return inc_match(&p, a, b, b->at_ms);
}

TEST(street_forms_are_one_place)
{
    struct inc_features a = feat("Нет света на ул. Пролетарской", "power", "maykop", 0);
    struct inc_features b = feat("Пролетарская 45, отключили свет", "power", "maykop", 0);
    struct inc_features c = feat("Майкоп, Пролетарская улица — электричества нет", "power",
                                 "maykop", 0);
    struct inc_features d = feat("Когда дадут свет на Пролетарской?", "power", "", 0);
    bool both;
    CHECK(inc_same_place(&a, &b, &both) && both);
    CHECK(inc_same_place(&a, &c, &both));
    CHECK(inc_same_place(&a, &d, &both));
    struct inc_features e = feat("На ул. Пионерской пропал свет", "power", "maykop", 0);
    CHECK(!inc_same_place(&a, &e, &both) && both);
}

TEST(numbered_objects)
{
    struct inc_features a = feat("В школе № 8 холодно", "education", "maykop", 0);
    struct inc_features b = feat("Школа N8: батареи ледяные", "education", "maykop", 0);
    struct inc_features c = feat("школа 9, батареи холодные", "education", "maykop", 0);
    struct inc_features d = feat("Автобус номер 5 не ходит", "transport", "maykop", 0);
    struct inc_features e = feat("маршрут 5 отменили?", "transport", "maykop", 0);
    bool both;
    CHECK(inc_same_place(&a, &b, &both));
    CHECK(!inc_same_place(&a, &c, &both) && both);
    CHECK(inc_same_place(&d, &e, &both));
    /* a house number is no object: the street decides */
    struct inc_features f = feat("Ленина, д. 15 — нет воды", "housing", "maykop", 0);
    struct inc_features g = feat("ул. Ленина 15, нет воды", "housing", "maykop", 0);
    CHECK(inc_same_place(&f, &g, &both));
}

TEST(topics_stand_for_the_category)
{
    /* the classifier called the first roads: the topic "power" joins them */
    struct inc_features a = feat("Нет света на ул. Пролетарской с утра", "roads", "maykop", 0);
    struct inc_features b = feat("Пролетарская, электричества нет четвёртый час", "power",
                                 "maykop", H);
    CHECK(match(&b, &a) > 0);
    /* the same street, another problem */
    struct inc_features c = feat("На ул. Пролетарской разбит асфальт, ямы", "roads", "maykop", H);
    CHECK(match(&c, &a) == 0);
    /* false friends are no topic */
    struct inc_features d = feat("светофор не работает, водитель проехал", "roads", "maykop", 0);
    CHECK_INT(d.topics, 0);
}

TEST(window_town_and_street_separate)
{
    struct inc_params p;
    inc_params_default(&p);
    struct inc_features a = feat("На ул. Чкалова нет воды с утра", "housing", "maykop", 0);
    struct inc_features late = feat("На ул. Чкалова нет воды", "housing", "maykop", 25 * H);
    struct inc_features town = feat("На ул. Чкалова нет воды", "housing", "giaginsky", H);
    struct inc_features street = feat("На ул. Гоголя нет воды", "housing", "maykop", H);
    struct inc_features ok = feat("Чкалова 60 — воды нет, ни подвоза", "housing", "maykop", H);
    CHECK(inc_match(&p, &late, &a, a.at_ms) == 0);
    CHECK(inc_match(&p, &town, &a, a.at_ms) == 0);
    CHECK(inc_match(&p, &street, &a, a.at_ms) == 0);
    CHECK(inc_match(&p, &ok, &a, a.at_ms) > 0);
    /* the window runs from the incident's latest report */
    CHECK(inc_match(&p, &late, &a, 2 * H) > 0);
    /* an unknown town joins only through a shared place */
    struct inc_features anon = feat("воды нет с утра, когда дадут", "housing", "", H);
    CHECK(inc_match(&p, &anon, &a, a.at_ms) == 0);
}

TEST(unrelated_text_does_not_join)
{
    struct inc_features a = feat("Трава по пояс в парке, никто не косит", "improvement",
                                 "maykop", 0);
    struct inc_features b = feat("Сломаны скамейки в сквере, почините", "improvement",
                                 "maykop", H);
    CHECK(match(&b, &a) == 0);
    struct inc_features e1 = feat("", "other", "maykop", 0), e2 = feat("", "other", "maykop", 0);
    CHECK(match(&e1, &e2) == 0);
}

TEST(encode_decode_round_trip)
{
    struct inc_features a = feat("Школа № 8: батареи холодные, ул. Ленина", "education",
                                 "maykop", 1778563800000LL);
    struct sbuf b = SBUF_INIT;
    inc_features_encode(&a, &b);
    struct inc_features d;
    CHECK_INT(inc_features_decode(b.p, b.len, &d), 0);
    CHECK_STR(d.category, "education");
    CHECK_STR(d.municipality, "maykop");
    CHECK_INT(d.at_ms, a.at_ms);
    CHECK_INT(d.topics, a.topics);
    CHECK_INT(d.nplaces, a.nplaces);
    CHECK_INT(d.nwords, a.nwords);
    CHECK(memcmp(d.words, a.words, a.nwords * sizeof(a.words[0])) == 0);
    CHECK(memcmp(d.places, a.places, a.nplaces * sizeof(a.places[0])) == 0);
    const char *bad[] = {"", "a|b", "a|b|x|0||", "a|b|1|zz||", "a|b|1|0|123456789|",
                         "a|b|1|0||0000000b,0000000a", "a|b|1|0||,"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(inc_features_decode(bad[i], strlen(bad[i]), &d) == -1);
    CHECK_INT(inc_features_decode("||5|0||", 7, &d), 0);
    sbuf_free(&b);
}

TEST(grouper_numbers_incidents_in_order)
{
    struct inc_params p;
    inc_params_default(&p);
    p.max_size = 3;
    struct inc_grouper *g = inc_grouper_new(&p);
    const char *texts[] = {
        "Нет света на ул. Пролетарской", "На ул. Шовгенова яма на дороге",
        "Пролетарская 12: света нет", "ул. Пролетарская, нет электричества",
        "Пролетарская, свет так и не дали",   /* the first incident is full (max_size) */
    };
    const char *cats[] = {"power", "roads", "power", "power", "power"};
    size_t want[] = {1, 2, 1, 1, 3};
    for (size_t i = 0; i < 5; i++) {
        struct inc_features f = feat(texts[i], cats[i], "maykop", (int64_t)i * H);
        CHECK_INT(inc_grouper_add(g, &f), want[i]);
    }
    inc_grouper_free(g);
}

TEST(invalid_utf8_and_long_text)
{
    char junk[] = "\xff\xfe ул. \xd0 Ленина \xe2\x82 яма";
    struct inc_features f = feat(junk, "roads", "maykop", 0);
    CHECK(f.nwords > 0);
    size_t n = 200000;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = "абв гдежзи "[i % 11];
    big[n] = '\0';
    f = feat(big, "roads", "maykop", 0);
    CHECK(f.nwords <= INC_MAX_WORDS);
    free(big);
}

int main(void)
{
    RUN(street_forms_are_one_place);
    RUN(numbered_objects);
    RUN(topics_stand_for_the_category);
    RUN(window_town_and_street_separate);
    RUN(unrelated_text_does_not_join);
    RUN(encode_decode_round_trip);
    RUN(grouper_numbers_incidents_in_order);
    RUN(invalid_utf8_and_long_text);
    return test_done();
}
