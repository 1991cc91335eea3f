/* Text analysis: cleaning, case folding, stems, look-alike letters, glued
 * words, sentences, negation and the signals around the words. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "text.h"

static struct text_analyzer *an;

static const struct apd_text *run(const char *s) { return text_analyze(an, s, strlen(s)); }

/* The words of t joined by spaces (or the stems). */
static const char *joined(const struct apd_text *t, int stems)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->ntokens && n + 64 < sizeof(buf); i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "",
                              stems ? t->tokens[i].stem : t->tokens[i].word);
    return buf;
}

static const struct apd_token *find(const struct apd_text *t, const char *word)
{
    for (size_t i = 0; i < t->ntokens; i++)
        if (strcmp(t->tokens[i].word, word) == 0)
            return &t->tokens[i];
    return NULL;
}

static unsigned flags_of(const struct apd_text *t, const char *word)
{
    const struct apd_token *k = find(t, word);
    return k ? k->flags : 0xFFFFu;
}

TEST(folding_and_yo)
{
    const struct apd_text *t = run("ЁЛКИ-ПАЛКИ, Всё ОК! Ещё");
    CHECK_STR(joined(t, 0), "елки палки все ок еще");
    CHECK(flags_of(t, "елки") & APD_TOK_CAPS);
    CHECK(flags_of(t, "палки") & APD_TOK_HYPHEN);
    CHECK(flags_of(t, "ок") & APD_TOK_CYRILLIC);
}

TEST(stems_of_forms_agree)
{
    /* every form of a word meets its lexicon entry through the stem */
    const char *forms[] = {"дорога дороги дорогу дороге", "подъезд подъезда подъезде подъездом",
                           "Майкоп Майкопа Майкопе Майкопом", "Яблоновский Яблоновского "
                           "Яблоновском", NULL};
    for (size_t i = 0; forms[i]; i++) {
        const struct apd_text *t = run(forms[i]);
        CHECK(t->ntokens >= 3);
        for (size_t k = 1; k < t->ntokens; k++)
            CHECK_STR(t->tokens[k].stem, t->tokens[0].stem);
    }
    char first[64];
    snprintf(first, sizeof(first), "%s", run("Гиагинскому району")->tokens[0].stem);
    CHECK_STR(run("Гиагинская")->tokens[0].stem, first);
}

TEST(html_entities_mentions_links_phones)
{
    const struct apd_text *t = run("[id123|Анна Петрова], &quot;нет&nbsp;воды&quot;<br>звоните "
                                   "+7 (918) 123-45-67 или 89181234567, пишите ivanov@mail.ru "
                                   "и @admin_maykop, см. https://vk.com/wall-1_2?x=1 и t.me/spam.");
    CHECK_STR(joined(t, 0), "нет воды звоните или пишите и см и");
    CHECK_INT(t->mentions, 3);
    CHECK_INT(t->phones, 2);
    CHECK_INT(t->nurls, 2);
    CHECK_STR(t->urls[0], "https://vk.com/wall-1_2?x=1");
    CHECK_STR(t->urls[1], "t.me/spam");
    CHECK(strstr(t->text, "Анна") == NULL);
    CHECK(strchr(t->text, '<') == NULL);
    /* the <br> broke the sentence */
    CHECK(find(t, "звоните")->sentence == find(t, "воды")->sentence + 1);
    /* "д.5" and "т.к." stay words, not links */
    t = run("д.5, т.к. 3.5 кг");
    CHECK_INT(t->nurls, 0);
    CHECK_STR(joined(t, 0), "д 5 т к 3 5 кг");
}

TEST(lookalike_letters_are_repaired)
{
    /* Latin o, e, p, c, x in Cyrillic words, as spam and sloppy keyboards write */
    const struct apd_text *t = run("пoдъeзд гpязный, CBET");
    CHECK_STR(joined(t, 0), "подъезд грязный cbet");
    CHECK(flags_of(t, "подъезд") & APD_TOK_REPAIRED);
    CHECK(flags_of(t, "подъезд") & APD_TOK_CYRILLIC);
    CHECK(flags_of(t, "cbet") & APD_TOK_LATIN);   /* all Latin: left alone */
    CHECK_STR(run("Maykop")->tokens[0].word, "maykop");
}

TEST(glued_words_are_cut)
{
    const struct apd_text *t = run("вМайкопе 5дней 3дня");
    CHECK_STR(joined(t, 0), "в майкопе 5 дней 3 дня");
    CHECK(flags_of(t, "майкопе") & APD_TOK_SPLIT);
    CHECK(flags_of(t, "дней") & APD_TOK_SPLIT);
}

TEST(stress_marks_and_decomposed_letters)
{
    /* "за́мок" with a combining acute, "и" + combining breve for "й" */
    const struct apd_text *t = run("за\xcc\x81мок строи\xcc\x86ка");
    CHECK_STR(joined(t, 0), "замок стройка");
    /* invalid UTF-8 and control characters are spaces */
    t = run("вода\xff\xfe\x01газ");
    CHECK_STR(joined(t, 0), "вода газ");
}

TEST(sentences_questions_clauses)
{
    const struct apd_text *t = run("Здравствуйте! На ул. Ленина, д. 5 нет света. Когда дадут??");
    CHECK_INT(t->sentences, 3);
    CHECK_INT(t->questions, 1);
    CHECK_INT(t->question_runs, 1);
    CHECK(find(t, "ленина")->sentence == find(t, "на")->sentence);   /* "ул." is no end */
    CHECK(flags_of(t, "когда") & APD_TOK_SENT_START);
    CHECK(flags_of(t, "когда") & APD_TOK_QUESTION);
    CHECK(!(flags_of(t, "света") & APD_TOK_QUESTION));
    CHECK(flags_of(t, "д") & APD_TOK_CLAUSE);
    CHECK(flags_of(t, "здравствуйте") & APD_TOK_EXCLAIM);
}

TEST(negation_scopes)
{
    const struct apd_text *t = run("Третий день нет горячей воды и света, лифт не работает");
    CHECK(flags_of(t, "нет") & APD_TOK_NEGATOR);
    CHECK(flags_of(t, "горячей") & APD_TOK_NEGATED);
    CHECK(flags_of(t, "воды") & APD_TOK_NEGATED);
    CHECK(flags_of(t, "света") & APD_TOK_NEGATED);       /* through "и" */
    CHECK(flags_of(t, "работает") & APD_TOK_NEGATED);
    CHECK(!(flags_of(t, "лифт") & APD_TOK_NEGATED));
    t = run("воды нет, освещение отсутствует, не было газа");
    CHECK(flags_of(t, "воды") & APD_TOK_NEGATED);         /* "X нет" */
    CHECK(flags_of(t, "освещение") & APD_TOK_NEGATED);
    CHECK(flags_of(t, "газа") & APD_TOK_NEGATED);         /* through "было" */
    t = run("вода есть, свет дали");
    CHECK(!(flags_of(t, "вода") & APD_TOK_NEGATED));
    CHECK(!(flags_of(t, "свет") & APD_TOK_NEGATED));
}

TEST(emoji_smileys_capitals)
{
    const struct apd_text *t = run("СПАСИБО ВАМ БОЛЬШОЕ 👍👍 ❤️ ))) но 😡 и ((( :(");
    CHECK_INT(t->emoji, 4);
    CHECK_INT(t->emoji_positive, 4);
    CHECK_INT(t->emoji_negative, 3);
    CHECK(t->upper_letters * 2 > t->letters);
    CHECK_INT(run("!!! и ?! и ...")->exclaim_runs, 1);
}

TEST(long_text_is_capped)
{
    size_t n = 30000;
    char *s = malloc(n * 3 + 1);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(s + len, "ы ");
    const struct apd_text *t = text_analyze(an, s, len);
    CHECK_INT(t->ntokens, TEXT_MAX_TOKENS);
    CHECK(t->truncated);
    free(s);
    CHECK_INT(run("")->ntokens, 0);
    CHECK_INT(text_analyze(an, NULL, 0)->ntokens, 0);
}

TEST(owned_analysis_outlives_the_next)
{
    const struct apd_text *mine = text_analyze_owned(an, "мусор не вывозят", 31);
    run("что-то совсем другое");
    CHECK_INT(mine->ntokens, 3);
    CHECK_STR(mine->tokens[0].word, "мусор");
    text_release(mine);
    CHECK(text_analyzer_cached(an) > 0);
}

int main(void)
{
    char err[128];
    an = text_analyzer_new(err, sizeof(err));
    if (an == NULL) {
        printf("Bail out! %s\n", err);
        return 1;
    }
    RUN(folding_and_yo);
    RUN(stems_of_forms_agree);
    RUN(html_entities_mentions_links_phones);
    RUN(lookalike_letters_are_repaired);
    RUN(glued_words_are_cut);
    RUN(stress_marks_and_decomposed_letters);
    RUN(sentences_questions_clauses);
    RUN(negation_scopes);
    RUN(emoji_smileys_capitals);
    RUN(long_text_is_capped);
    RUN(owned_analysis_outlives_the_next);
    text_analyzer_free(an);
    return test_done();
}
