/* The answer judge (daemon/answer) with the shipped lexicons: the written,
 * paraphrased answers and follow-ups of tests/data/ each get their label,
 * the reasons name what decided, and an [answer] section that does not load
 * is reported with its file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_harness.h"
#include "followup.h"
#include "judge.h"
#include "test.h"

static struct apd_config *load(struct diag *d)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "[answer]\nlexicon = %s/config/classifier/ru/05-common.lex, "
             "%s/config/answer/ru.lex\n",
             ch_source_dir, ch_source_dir);
    return ch_load(text, NULL, d);
}

static struct answer_judge *judge(void) { return answer_judge_of(ch_cfg); }

static struct answer_verdict verdict(const char *text)
{
    struct answer_verdict v;
    answer_judge_text(judge(), text, strlen(text), 0, &v);
    return v;
}

/* Each "label<TAB>text" line of tests/data/NAME, checked by fn; returns how
 * many lines there were. */
static int each_line(const char *name, void (*fn)(const char *label, const char *text))
{
    char path[1024], line[2048];
    snprintf(path, sizeof(path), "%s/tests/data/%s", ch_source_dir, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    int n = 0;
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || tab == NULL)
            continue;
        *tab = '\0';
        fn(line, tab + 1);
        n++;
    }
    if (f)
        fclose(f);
    return n;
}

static void check_answer(const char *label, const char *text)
{
    struct answer_verdict v = verdict(text);
    char why[160];
    answer_reasons_text(v.reasons, why, sizeof(why));
    if (strcmp(answer_quality_name(v.quality), label) != 0)
        printf("# \"%s\": %s (%s), labelled %s\n", text, answer_quality_name(v.quality), why,
               label);
    CHECK_STR(answer_quality_name(v.quality), label);
}

static void check_followup(const char *label, const char *text)
{
    const char *got = followup_name(answer_followup(judge(), text, strlen(text)));
    if (strcmp(got, label) != 0)
        printf("# \"%s\": %s, labelled %s\n", text, got, label);
    CHECK_STR(got, label);
}

TEST(written_answers_get_their_labels)
{
    CHECK(each_line("answers-written.tsv", check_answer) >= 30);
}

TEST(written_followups_get_their_outcomes)
{
    CHECK(each_line("followups-written.tsv", check_followup) >= 15);
}

TEST(reasons_name_what_decided)
{
    struct answer_verdict v = verdict("Яму заделаем до 15 мая, бригада выедет в понедельник.");
    CHECK((v.reasons & AR_TERM) && (v.reasons & AR_ACTION));
    CHECK(!(v.reasons & AR_EMPTY));
    v = verdict("Ваше обращение передано в профильное ведомство.");
    CHECK(v.quality == AQ_FORMAL && (v.reasons & AR_REDIRECT) && (v.reasons & AR_EMPTY));
    v = verdict("Согласно статье 12 Федерального закона обращение рассмотрено.");
    CHECK(v.quality == AQ_FORMAL && (v.reasons & AR_LAW));
    v = verdict("Обратитесь, пожалуйста, в управляющую компанию.");
    CHECK(v.quality == AQ_FORMAL && (v.reasons & AR_ELSEWHERE));
    /* a negated result is none: "не выполнены" */
    v = verdict("Работы пока не выполнены.");
    CHECK(!(v.reasons & AR_ACTION));
    /* a date written in digits is a term */
    v = verdict("Срок устранения — 20.05.2026.");
    CHECK(v.reasons & AR_TERM);
    char list[160];
    answer_reasons_text(AR_REDIRECT | AR_EMPTY, list, sizeof(list));
    CHECK_STR(list, "redirect,no_term_no_action");
    CHECK_INT(answer_reasons_parse(list), AR_REDIRECT | AR_EMPTY);
}

TEST(an_attachment_is_evidence)
{
    struct answer_verdict v;
    const char *text = "Фотоотчёт прилагаем.";
    answer_judge_text(judge(), text, strlen(text), 0, &v);
    CHECK(v.quality == AQ_FORMAL);
    answer_judge_text(judge(), text, strlen(text), 2, &v);
    CHECK(v.quality == AQ_SUBSTANTIVE && (v.reasons & AR_ATTACHMENT));
}

TEST(no_judge_no_verdict)
{
    struct answer_verdict v;
    answer_judge_text(NULL, "Передано.", 9, 0, &v);
    CHECK(v.quality == AQ_NONE && v.reasons == 0);
    CHECK(answer_quality_name(AQ_NONE) == NULL);
    CHECK(answer_followup(NULL, "до сих пор", 19) == FU_UPDATE);
    CHECK(answer_quality_parse("formal") == AQ_FORMAL);
    CHECK(answer_quality_parse("nonsense") == AQ_NONE);
}

TEST(a_broken_lexicon_is_reported_with_its_file)
{
    const char *bad = ch_write_file("bad.lex", "[signal term]\nдо = x\n");
    char text[1024];
    snprintf(text, sizeof(text), "[answer]\nlexicon = %s\n", bad);
    struct diag d = {0};
    struct apd_config *c = ch_load(text, NULL, &d);
    CHECK(c == NULL);
    bool named = false;
    for (size_t i = 0; i < d.n; i++)
        named = named || strstr(d.msg[i], "bad.lex") != NULL;
    CHECK(named);
    diag_free(&d);
    snprintf(text, sizeof(text), "[answer]\n");
    struct diag d2 = {0};
    c = ch_load(text, NULL, &d2);
    CHECK(c == NULL && d2.n > 0);
    diag_free(&d2);
}

int main(void)
{
    int rc = ch_setup("answer", load);
    if (rc != 0)
        return rc;
    RUN(written_answers_get_their_labels);
    RUN(written_followups_get_their_outcomes);
    RUN(reasons_name_what_decided);
    RUN(an_attachment_is_evidence);
    RUN(no_judge_no_verdict);
    RUN(a_broken_lexicon_is_reported_with_its_file);
    ch_teardown();
    return test_done();
}
