/* fetch's URLs in log lines: credentials in them never reach the journal. */
#include <string.h>

#include "fetch.h"
#include "test.h"

static void check(const char *url, const char *want)
{
    char out[512];
    fetch_url_for_log(url, out, sizeof(out));
    if (strcmp(out, want) != 0) {
        printf("# %s\n#   shown %s\n#   want  %s\n", url, out, want);
        test_cur_failed = 1;
    }
}

TEST(bot_tokens_passwords_and_credential_parameters_are_hidden)
{
    check("https://api.telegram.org/bot123456:AAE-secret_token/sendMessage",
          "https://api.telegram.org/bot***/sendMessage");
    check("https://api.telegram.org/bot123456:AAEsecret", "https://api.telegram.org/bot***");
    check("https://u:pa55@agency.example/in?access_token=T0P&x=1&sig=abc#frag",
          "https://***@agency.example/in?access_token=***&x=1&sig=***#***");
    check("https://api.vk.com/method/messages.send?v=5.199&Access_Token=vk1.a.x",
          "https://api.vk.com/method/messages.send?v=5.199&Access_Token=***");
    check("http://h/in box?secret=s3&token=t&key=k&password=p&signature=z",
          "http://h/in box?secret=***&token=***&key=***&password=***&signature=***");
}

TEST(urls_without_credentials_stay_as_they_are)
{
    check("https://botapi.example/bots/list?chat_id=42",
          "https://botapi.example/bots/list?chat_id=42");
    check("https://platform-api.max.ru/messages?chat_id=-100",
          "https://platform-api.max.ru/messages?chat_id=-100");
    check("http://127.0.0.1:8080/", "http://127.0.0.1:8080/");
    check("not a url", "not a url");
    check("", "");
}

TEST(a_long_url_is_cut_not_overflowed)
{
    char big[2000], out[64];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "https://h/bot1:x/", 17);
    fetch_url_for_log(big, out, sizeof(out));
    CHECK_INT((long long)strlen(out), 63);
    CHECK(strncmp(out, "https://h/bot***/aaa", 20) == 0);
}

int main(void)
{
    RUN(bot_tokens_passwords_and_credential_parameters_are_hidden);
    RUN(urls_without_credentials_stay_as_they_are);
    RUN(a_long_url_is_cut_not_overflowed);
    return test_done();
}
