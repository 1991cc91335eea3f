/* Routing rules: conditions, first match wins, @municipality/@owner
 * resolution and fallthrough, copies, actions, validation errors with
 * file:line, text folding, and the shipped Adygea rules category by category. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "directory.h"
#include "route.h"
#include "rules.h"
#include "test.h"
#include "textfold.h"

static char tmpdir[256];

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* A small directory every test shares; rules are appended. */
static const char *const DIR_CONF =
    "[org \"cur\"]\nname = ЦУР\ntype = cur\n"
    "[org \"minstroy\"]\nname = Минстрой\ntype = ministry\nparent = cur\nsla_policy = ministry\n"
    "[org \"minzdrav\"]\nname = Минздрав\ntype = ministry\nparent = cur\n"
    "[org \"maykop\"]\nname = Майкоп\ntype = municipality\nmunicipality = maykop\nparent = cur\n"
    "[org \"giag\"]\nname = Гиагинский\ntype = municipality\nmunicipality = giaginsky\n"
    "parent = cur\n"
    "[org \"water\"]\nname = Водоканал\ntype = service\nmunicipality = maykop\nparent = maykop\n"
    "[org \"hook\"]\nname = HTTP only\ntype = service\nkafka = no\n"
    "http_url = http://127.0.0.1:9/in\nhttp_secret = 0123456789abcdef\n"
    "[page \"vk:1\"]\norg = maykop\n"
    "[page \"vk:2\"]\norg = minzdrav\n"
    "[page \"vk:5\"]\norg = cur\n"
    "[policy \"ministry\"]\nfirst_response = 4h\n";   /* the SLA module checks references */

static struct apd_config *load_rules(const char *rules, struct diag *d)
{
    size_t n = strlen(DIR_CONF) + strlen(rules) + 1;
    char *text = malloc(n);
    snprintf(text, n, "%s%s", DIR_CONF, rules);
    const char *p = write_file("t.conf", text);
    free(text);
    struct config_opts o = {.path = p, .skip_plugins = true};
    return config_load(&o, d);
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

static struct route_result R;

static const char *decide(const struct apd_config *c, const struct route_input *in)
{
    route_decide(c, in, &R);
    if (R.drop)
        return "DROP";
    if (R.triage)
        return "TRIAGE";
    return R.org ? R.org->code : "(null)";
}

static const char *why(const char *key)
{
    for (size_t i = 0; i < R.nwhy; i++)
        if (strcmp(R.why[i].key, key) == 0)
            return R.why[i].value;
    return NULL;
}

TEST(fold_text)
{
    const char *t = "ЯМА на Дороге М\u20134, ЁЛКА «Ёж»";     /* en dash */
    char *f = text_fold(t, strlen(t), NULL);
    CHECK_STR(f, "яма на дороге м-4, елка «еж»");
    free(f);
    const char nbsp[] = "нет\xc2\xa0све\xc2\xadта";   /* no-break space, soft hyphen */
    f = text_fold(nbsp, strlen(nbsp), NULL);
    CHECK_STR(f, "нет света");
    free(f);
    const char bad[] = "ABC\xff\xfe" "DEF";              /* not UTF-8: ASCII still folds */
    size_t n;
    f = text_fold(bad, strlen(bad), &n);
    CHECK(n == strlen(bad) && memcmp(f, "abc\xff\xfe" "def", n) == 0);
    free(f);
}

TEST(first_match_wins_in_file_order)
{
    struct diag d = {0};
    struct apd_config *c = load_rules("[rule \"a\"]\ncategory = roads\norg = minstroy\n"
                                      "[rule \"b\"]\ncategory = roads, health\norg = minzdrav\n",
                                      &d);
    CHECK(c != NULL);
    struct route_input in = {.text = "x", .category = "roads"};
    CHECK_STR(decide(c, &in), "minstroy");
    CHECK_STR(R.rule, "a");
    CHECK_STR(R.topic, "appeals.org.minstroy");
    CHECK_STR(why("category"), "roads");
    in.category = "health";
    CHECK_STR(decide(c, &in), "minzdrav");
    CHECK_STR(R.rule, "b");
    in.category = "culture";
    CHECK_STR(decide(c, &in), "TRIAGE");
    CHECK_STR(R.rule, "triage");
    CHECK(R.org == directory_org(c->dir, "cur"));
    CHECK_STR(R.topic, "appeals.triage");
    CHECK(strstr(R.reason, "no rule matched") != NULL);
    config_unref(c);
    diag_free(&d);
}

TEST(conditions_all_must_hold)
{
    struct diag d = {0};
    struct apd_config *c = load_rules(
        "[rule \"r\"]\nsource = vk\nowner_type = municipality\nkind = complaint, request\n"
        "priority = high\nitem_kind = comment\norg = @owner\n", &d);
    CHECK(c != NULL);
    struct route_input in = {.source = "vk", .page = "1", .text = "t", .kind = "complaint",
                             .priority = "high", .item_kind = "comment"};
    CHECK_STR(decide(c, &in), "maykop");
    CHECK_STR(why("owner_type"), "municipality");
    CHECK_STR(why("kind"), "complaint");
    in.priority = "normal";
    CHECK_STR(decide(c, &in), "TRIAGE");
    in.priority = "high";
    in.item_kind = "message";
    CHECK_STR(decide(c, &in), "TRIAGE");
    in.item_kind = "comment";
    in.page = "2";                          /* owned by a ministry */
    CHECK_STR(decide(c, &in), "TRIAGE");
    in.page = "1";
    in.source = "tg";                       /* no such page: no owner either */
    CHECK_STR(decide(c, &in), "TRIAGE");
    config_unref(c);
    diag_free(&d);
}

TEST(unknown_matches_missing_fields)
{
    struct diag d = {0};
    struct apd_config *c = load_rules("[rule \"u\"]\ncategory = unknown\nmunicipality = unknown\n"
                                      "org = minstroy\n", &d);
    CHECK(c != NULL);
    struct route_input in = {.text = "t"};
    CHECK_STR(decide(c, &in), "minstroy");
    in.category = "";
    CHECK_STR(decide(c, &in), "minstroy");
    in.category = "roads";
    CHECK_STR(decide(c, &in), "TRIAGE");
    in.category = NULL;
    in.source = "vk";
    in.page = "1";                          /* the page gives a municipality */
    CHECK_STR(decide(c, &in), "TRIAGE");
    config_unref(c);
    diag_free(&d);
}

TEST(keywords_exclude_and_patterns_on_folded_text)
{
    struct diag d = {0};
    struct apd_config *c = load_rules(
        "[rule \"kw\"]\nkeywords = Водопровод, ЁЛК\nexclude = Трасс\norg = water\n"
        "[rule \"re\"]\npattern = ^нет (света|электричества)\npattern = свет[[:alpha:]]? "
        "погас\norg = minstroy\n"
        "[rule \"dot\"]\npattern = ^я.а$\norg = minzdrav\n", &d);
    CHECK(c != NULL);
    struct route_input in = {.text = "Прорвало ВОДОПРОВОД во дворе"};
    CHECK_STR(decide(c, &in), "water");
    CHECK_STR(why("keyword"), "водопровод");
    in.text = "Ёлку на площади не убрали";
    CHECK_STR(decide(c, &in), "water");
    in.text = "водопровод вдоль трассы";    /* exclude wins */
    CHECK_STR(decide(c, &in), "TRIAGE");
    in.text = "НЕТ СВЕТА на улице Ленина";
    CHECK_STR(decide(c, &in), "minstroy");
    CHECK_STR(why("pattern"), "/^нет (света|электричества)/ matched \"нет света\"");
    in.text = "вчера свет погас";
    CHECK_STR(decide(c, &in), "minstroy");
    in.text = "ЯМА";                         /* '.' is one character, not one byte */
    CHECK_STR(decide(c, &in), "minzdrav");
    in.text = "света нет";
    CHECK_STR(decide(c, &in), "TRIAGE");
    const char nul[] = "водо\0провод";   /* matching stops at a NUL (intake quarantines those) */
    in.text = nul;
    in.text_len = sizeof(nul) - 1;
    CHECK_STR(decide(c, &in), "TRIAGE");
    config_unref(c);
    diag_free(&d);
}

TEST(page_and_owner_conditions)
{
    struct diag d = {0};
    struct apd_config *c = load_rules("[rule \"p\"]\npage = vk:2\norg = minstroy\n"
                                      "[rule \"o\"]\nowner = maykop\norg = water\n", &d);
    CHECK(c != NULL);
    struct route_input in = {.source = "vk", .page = "2", .text = "x"};
    CHECK_STR(decide(c, &in), "minstroy");
    CHECK_STR(why("page"), "vk:2");
    in.page = "1";
    CHECK_STR(decide(c, &in), "water");
    CHECK_STR(why("owner"), "maykop");
    in.page = "5";
    CHECK_STR(decide(c, &in), "TRIAGE");
    config_unref(c);
    diag_free(&d);
}

TEST(at_municipality_resolves_or_falls_through)
{
    struct diag d = {0};
    struct apd_config *c = load_rules("[rule \"local\"]\ncategory = roads\norg = @municipality\n"
                                      "[rule \"region\"]\ncategory = roads\norg = minstroy\n", &d);
    CHECK(c != NULL);
    struct route_input in = {.text = "x", .category = "roads", .municipality = "giaginsky"};
    CHECK_STR(decide(c, &in), "giag");
    CHECK_STR(R.municipality, "giaginsky");
    CHECK(!R.municipality_from_page);
    /* the service org "water" also names maykop, but only administrations count */
    in.municipality = "maykop";
    CHECK_STR(decide(c, &in), "maykop");
    in.municipality = NULL;                  /* nothing known: the next rule */
    CHECK_STR(decide(c, &in), "minstroy");
    CHECK(strstr(R.skipped, "local: no municipality is known") != NULL);
    in.municipality = "shovgenovsky";        /* no administration in the directory */
    CHECK_STR(decide(c, &in), "minstroy");
    CHECK(strstr(R.skipped, "has no administration") != NULL);
    in.municipality = NULL;                  /* the page's municipality is the fallback */
    in.source = "vk";
    in.page = "1";
    CHECK_STR(decide(c, &in), "maykop");
    CHECK(R.municipality_from_page);
    config_unref(c);
    diag_free(&d);
}

TEST(copies_policy_priority_and_http_only)
{
    struct diag d = {0};
    struct apd_config *c = load_rules(
        "[rule \"c\"]\ncategory = housing\norg = water\ncopy = @municipality, water, minstroy, "
        "@owner\nsla_policy = utilities\nset_priority = high\n"
        "[rule \"default-policy\"]\ncategory = roads\norg = minstroy\n"
        "[rule \"h\"]\ncategory = other\norg = hook\n", &d);
    CHECK(c != NULL);
    struct route_input in = {.text = "x", .category = "housing", .municipality = "maykop",
                             .priority = "normal"};
    CHECK_STR(decide(c, &in), "water");
    /* the primary is not copied, @owner without a page is skipped */
    CHECK_INT(R.ncopies, 2);
    CHECK_STR(R.copies[0]->code, "maykop");
    CHECK_STR(R.copies[1]->code, "minstroy");
    CHECK_STR(R.sla_policy, "utilities");
    CHECK_STR(R.priority, "high");
    CHECK(strstr(R.reason, "(copies: maykop, minstroy)") != NULL);
    in.category = "roads";
    CHECK_STR(decide(c, &in), "minstroy");
    CHECK_STR(R.sla_policy, "ministry");     /* the organisation's default */
    CHECK_STR(R.priority, "normal");
    in.category = "other";
    CHECK_STR(decide(c, &in), "hook");
    CHECK(R.topic == NULL);                   /* HTTP only: no Kafka topic of its own */
    config_unref(c);
    diag_free(&d);
}

TEST(drop_and_triage_actions)
{
    struct diag d = {0};
    struct apd_config *c = load_rules("[rule \"noise\"]\nkind = noise\naction = drop\n"
                                      "[rule \"urgent\"]\npriority = critical\naction = triage\n"
                                      "copy = minzdrav\n", &d);
    CHECK(c != NULL);
    struct route_input in = {.text = "+", .kind = "noise"};
    CHECK_STR(decide(c, &in), "DROP");
    CHECK(R.org == NULL && R.topic == NULL && R.action == ROUTE_DROP);
    CHECK_STR(R.rule, "noise");
    in.kind = "complaint";
    in.priority = "critical";
    CHECK_STR(decide(c, &in), "TRIAGE");
    CHECK_STR(R.rule, "urgent");
    CHECK_INT(R.ncopies, 1);
    config_unref(c);
    diag_free(&d);
}

TEST(no_cur_means_triage_without_an_org)
{
    struct diag d = {0};
    const char *p = write_file("t.conf", "[org \"m\"]\nname = M\ntype = ministry\n");
    struct config_opts o = {.path = p, .skip_plugins = true};
    struct apd_config *c = config_load(&o, &d);
    CHECK(c != NULL);
    struct route_input in = {.text = "x"};
    CHECK_STR(decide(c, &in), "TRIAGE");
    CHECK(R.org == NULL);
    CHECK_STR(R.topic, "appeals.triage");
    config_unref(c);
    diag_free(&d);
}

TEST(rule_errors_name_file_and_line)
{
    struct diag d = {0};
    struct apd_config *c = load_rules(
        "[rule \"a\"]\ncategory = roads\norg = nobody\n"              /* +3 */
        "[rule \"b\"]\npattern = (unclosed\norg = cur\n"               /* +6 */
        "[rule \"c\"]\npattern = [а-я]+\norg = cur\n"                  /* +9 */
        "[rule \"d\"]\ncategory = roads\n"                             /* +11 */
        "[rule \"e\"]\nkind = noise\naction = drop\ncopy = cur\n"      /* +15 */
        "[rule \"f\"]\npage = vk:404\nowner_type = mayor\norg = @boss\n"
        "[rule \"g\"]\nkeywords = \xc2\xad\norg = cur\ncategory = Roads!\n"
        "[rule \"all\"]\norg = cur\n"
        "[rule \"late\"]\ncategory = roads\norg = cur\n", &d);
    CHECK(c == NULL);
    int base = 0;
    for (const char *s = DIR_CONF; *s; s++)
        base += *s == '\n';
    char want[160];
    snprintf(want, sizeof(want), "t.conf:%d: [rule \"a\"] org: no organisation 'nobody'", base + 3);
    CHECK(diag_has(&d, want));
    snprintf(want, sizeof(want), "t.conf:%d: [rule \"b\"] pattern: /(unclosed/:", base + 5);
    CHECK(diag_has(&d, want));
    CHECK(diag_has(&d, "are not supported: use [[:alpha:]]"));
    snprintf(want, sizeof(want), "t.conf:%d: [rule \"d\"]: says where to route", base + 10);
    CHECK(diag_has(&d, want));
    CHECK(diag_has(&d, "[rule \"e\"]: action = drop delivers nothing; remove copy"));
    CHECK(diag_has(&d, "[rule \"f\"] page: no page 'vk:404' in the directory"));
    CHECK(diag_has(&d, "[rule \"f\"] owner_type: 'mayor' is not one of"));
    CHECK(diag_has(&d, "[rule \"f\"] org: '@boss' is not @municipality or @owner"));
    CHECK(diag_has(&d, "[rule \"g\"] keywords: '\xc2\xad' is empty once folded"));
    CHECK(diag_has(&d, "[rule \"g\"] category: 'Roads!' is not a code"));
    CHECK(diag_has(&d, "[rule \"late\"] can never match: [rule \"all\"] at"));
    CHECK_INT(d.n, 11);
    diag_free(&d);
}

TEST(directory_delivery_validation)
{
    struct diag d = {0};
    const char *p = write_file("t.conf",
        "[org \"a\"]\nname = A\ntype = service\nkafka = no\n"
        "[org \"b\"]\nname = B\ntype = service\nhttp_url = ftp://u:tok3n@x\nhttp_secret = short\n"
        "[org \"c\"]\nname = C\ntype = service\ntopic = shared\npersonal_data = yes\n"
        "[org \"d\"]\nname = D\ntype = service\ntopic = shared\n"
        "[org \"e\"]\nname = E\ntype = municipality\nmunicipality = x\n"
        "[org \"f\"]\nname = F\ntype = municipality\nmunicipality = x\n"
        "[org \"g\"]\nname = G\ntype = service\ntopic = appeals.all\n"
        "[org \"h\"]\nname = H\ntype = service\nhttp_secret = 0123456789abcdef\n");
    struct config_opts o = {.path = p, .skip_plugins = true};
    CHECK(config_load(&o, &d) == NULL);
    CHECK(diag_has(&d, "t.conf:1: [org \"a\"]: kafka = no and no http_url"));
    CHECK(diag_has(&d, "t.conf:5: [org \"b\"] http_url: must start with http:// or https://"));
    CHECK(!diag_has(&d, "tok3n")); /* a refused URL is not echoed: it may carry a secret */
    CHECK(diag_has(&d, "[org \"b\"] http_secret: required with http_url, at least 16"));
    CHECK(diag_has(&d, "[org \"d\"] personal_data: it shares topic 'shared' with [org \"c\"]"));
    CHECK(diag_has(&d, "[org \"f\"] municipality: 'x' is already governed by [org \"e\"]"));
    CHECK(diag_has(&d, "[org \"g\"] topic: 'appeals.all' is one of the daemon's own topics"));
    CHECK(diag_has(&d, "[org \"h\"] http_secret: set, but there is no http_url"));
    CHECK(diag_has(&d, "t.conf:9: [org \"b\"] http_secret: secret too short (5 bytes)"));
    CHECK_INT(d.n, 8);
    diag_free(&d);
}

/* The shipped Adygea rules implement adygea.md's list of bodies. */
TEST(adygea_example_rules)
{
    const char *root = getenv("APD_SOURCE_ROOT");
    char path[1024];
    snprintf(path, sizeof(path), "%s/config/appealsd.conf", root ? root : ".");
    struct diag d = {0};
    struct config_opts o = {.path = path, .skip_plugins = true};
    struct apd_config *c = config_load(&o, &d);
    for (size_t i = 0; i < d.n; i++)
        printf("# %s\n", d.msg[i]);
    CHECK(c != NULL);
    if (c == NULL)
        return;
    static const struct {
        const char *category, *municipality, *kind, *text, *want, *copy;
    } cases[] = {
        {"health", "maykop", NULL, "нет талонов к терапевту", "minzdrav", NULL},
        {"education", NULL, NULL, "очередь в детский сад", "minobr", NULL},
        {"roads", "maykop", NULL, "яма на улице Пионерской", "maykop", NULL},
        {"roads", "takhtamukaysky", NULL, "яма на трассе М-4 у Энема", "minstroy", NULL},
        {"roads", NULL, NULL, "яма на дороге", "minstroy", NULL},
        {"improvement", "giaginsky", NULL, "во дворе сломаны качели", "giaginsky", NULL},
        {"improvement", NULL, NULL, "во дворе сломаны качели", "TRIAGE", NULL},
        {"housing", "maykop", NULL, "третий день нет воды", "maykop-vodokanal", "maykop"},
        {"housing", "maykop", NULL, "течёт крыша, УК не реагирует", "zhilnadzor", "maykop"},
        {"housing", "giaginsky", NULL, "в подъезде третий месяц не горит свет", "zhilnadzor",
         "giaginsky"},
        {"housing", NULL, NULL, "управляющая компания не убирает снег", "zhilnadzor", NULL},
        {"housing", "maykop", NULL, "наш ТСЖ не чинит лифт", "zhilnadzor", "maykop"},
        {"housing", "adygeysk", NULL, "нет воды", "adygeysk", "minstroy"},
        {"housing", "adygeysk", NULL, "в котельной авария, батареи холодные", "adygeysk",
         "minstroy"},
        {"housing", "adygeysk", NULL, "укладка плитки во дворе", "adygeysk", "minstroy"},
        {"housing", NULL, NULL, "нет горячей воды", "minstroy", NULL},
        {"other", "koshekhablsky", NULL, "фермеры не могут получить воду для орошения",
         "minselkhoz", NULL},
        {NULL, NULL, NULL, "пастбище распахали без согласия", "minselkhoz", NULL},
        {"transport", "maykop", NULL, "автобус №5 не ходит", "maykop", NULL},
        {"transport", "maykop", NULL, "междугородний автобус отменили", "minstroy", NULL},
        {"transport", NULL, NULL, "автобус не ходит", "minstroy", NULL},
        {"construction", "maykop", NULL, "самострой у школы", "minstroy", NULL},
        {"social", NULL, NULL, "не пришла выплата", "mintrud", NULL},
        {"ecology", NULL, NULL, "дым от сжигания", "minprirody", NULL},
        {"waste", "maykop", NULL, "не вывозят мусор", "eco-operator", "minprirody"},
        {"waste", "maykop", NULL, "стихийная свалка за гаражами", "maykop", "minprirody"},
        {"gas", NULL, NULL, "нет газа", "gazdistr", NULL},
        {"power", "maykop", NULL, "нет света", "setevaya", NULL},
        {"culture", NULL, NULL, "библиотека закрыта", "minkult", NULL},
        {"sport", NULL, NULL, "стадион закрыт", "minsport", NULL},
        {"trade", NULL, NULL, "незаконная торговля", "mineconom", NULL},
        {"communications", NULL, NULL, "нет связи", "mincifra", NULL},
        {"public_services", NULL, NULL, "очередь в МФЦ", "mincifra", "cur"},
        {"safety", "maykop", NULL, "стая собак", "maykop", NULL},
        {"other", "maykop", NULL, "вопрос", "TRIAGE", NULL},
        {NULL, NULL, "noise", "+", "DROP", NULL},
        {NULL, NULL, "gratitude", "спасибо", "DROP", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct route_input in = {.text = cases[i].text, .category = cases[i].category,
                                 .municipality = cases[i].municipality, .kind = cases[i].kind};
        const char *got = decide(c, &in);
        if (strcmp(got, cases[i].want) != 0)
            printf("# case %zu (%s, %s): got %s by rule %s, want %s\n", i,
                   cases[i].category ? cases[i].category : "-", cases[i].text, got, R.rule,
                   cases[i].want);
        CHECK_STR(got, cases[i].want);
        CHECK_STR(R.ncopies ? R.copies[0]->code : NULL, cases[i].copy);
    }
    /* not classified: the page's owner answers; on the ЦУР's page, triage */
    struct route_input in = {.source = "vk", .page = "100002", .text = "когда откроют?"};
    CHECK_STR(decide(c, &in), "minzdrav");
    CHECK_STR(R.rule, "unclassified-own-page");
    in.page = "100005";
    CHECK_STR(decide(c, &in), "TRIAGE");
    config_unref(c);
    diag_free(&d);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/apd-rules-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL)
        return 99;
    RUN(fold_text);
    RUN(first_match_wins_in_file_order);
    RUN(conditions_all_must_hold);
    RUN(unknown_matches_missing_fields);
    RUN(keywords_exclude_and_patterns_on_folded_text);
    RUN(page_and_owner_conditions);
    RUN(at_municipality_resolves_or_falls_through);
    RUN(copies_policy_priority_and_http_only);
    RUN(drop_and_triage_actions);
    RUN(no_cur_means_triage_without_an_org);
    RUN(rule_errors_name_file_and_line);
    RUN(directory_delivery_validation);
    RUN(adygea_example_rules);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return test_done();
}
