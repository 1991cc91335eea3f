/* Logging: one line per event with a journald priority prefix under
 * systemd, and the per-call-site limit that keeps a flood of refused
 * webhooks from drowning the journal. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "test.h"

static char captured[8192];
/* capture(): "journal" points JOURNAL_STREAM at the temporary file (as
 * systemd does for the stream it connects to the journal), then log_init(). */
static bool as_journal;

/* Runs fn with stderr going to a temporary file; the text lands in captured. */
static void capture(void (*fn)(void))
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    if (as_journal) {
        struct stat st;
        char v[64];
        fstat(STDERR_FILENO, &st);
        snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        setenv("JOURNAL_STREAM", v, 1);
        log_init("appealsd");
    }
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof(captured) - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
}

static int count_lines(const char *needle)
{
    int n = 0;
    for (const char *p = captured; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void journal_lines(void)
{
    log_info("daemon: line one\nwith a newline in it");
    log_warn("kafka: broker down");
    log_debug("not shown at info");
}

TEST(journald_prefix_and_one_line_per_event)
{
    as_journal = true;
    log_set_level(LOG_LVL_INFO);
    capture(journal_lines);
    as_journal = false;
    CHECK_STR(captured, "<6>daemon: line one with a newline in it\n<4>kafka: broker down\n");
    unsetenv("JOURNAL_STREAM");
    unsetenv("INVOCATION_ID");
    log_init("appealsd");
    capture(journal_lines);
    CHECK(strstr(captured, " appealsd info: daemon: line one with") != NULL);
    CHECK(captured[0] >= '2' && captured[0] <= '9');   /* a timestamp first */
    /* ...labelled with its zone: "2026-12-07T23:47:34.596+00:00 appealsd" */
    CHECK(captured[23] == '+' || captured[23] == '-');
    CHECK(captured[26] == ':' && captured[29] == ' ');
}

static void one_line(void) { log_info("daemon: zone"); }

/* The log's times are the process's zone, the audit trail's the daemon's
 * [daemon] timezone: each line says which, so the two can be compared. */
TEST(log_times_carry_their_offset)
{
    unsetenv("JOURNAL_STREAM");
    const char *tz = getenv("TZ");
    char *saved = tz ? strdup(tz) : NULL;
    setenv("TZ", "Europe/Moscow", 1);
    tzset();
    log_init("appealsd");
    capture(one_line);
    CHECK(strncmp(captured + 23, "+03:00 appealsd info: daemon: zone\n", 35) == 0);
    setenv("TZ", "UTC", 1);
    tzset();
    capture(one_line);
    CHECK(strncmp(captured + 23, "+00:00 appealsd info: daemon: zone\n", 35) == 0);
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
}

/* A service whose stderr goes to a file (appealsd ... 2>>log under systemd)
 * inherits INVOCATION_ID and another stream's JOURNAL_STREAM: a file then
 * needs timestamps, and "<6>" would be noise in it. */
TEST(journald_prefix_only_when_stderr_is_the_journal)
{
    setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
    setenv("JOURNAL_STREAM", "8:1234", 1);
    log_init("appealsd");
    capture(journal_lines);
    CHECK(strstr(captured, " appealsd info: daemon: line one with") != NULL);
    CHECK(strstr(captured, "<6>") == NULL);
    unsetenv("JOURNAL_STREAM");
    log_init("appealsd");
    capture(journal_lines);
    CHECK(captured[0] >= '2' && captured[0] <= '9');
    unsetenv("INVOCATION_ID");
    log_init("appealsd");
}

static struct log_limit lim;

static void flood(void)
{
    /* 10 lines in one second, then one more a second later */
    for (int i = 0; i < 10; i++)
        if (log_limit_pass(&lim, LOG_LVL_INFO, 3, 1000, 5000 + i * 50))
            log_info("http: refused %d", i);
    if (log_limit_pass(&lim, LOG_LVL_INFO, 3, 1000, 6000))
        log_info("http: refused later");
    if (log_limit_pass(&lim, LOG_LVL_INFO, 3, 1000, 6001))
        log_info("http: refused again");
}

TEST(a_flood_is_cut_to_the_burst_and_counted)
{
    as_journal = true;
    capture(flood);
    as_journal = false;
    CHECK_INT(count_lines("http: refused"), 5);
    CHECK(strstr(captured, "<6>http: refused 0\n<6>http: refused 1\n<6>http: refused 2\n"
                           "<6>log: 7 lines like the next one were suppressed (at most 3 per 1 s)\n"
                           "<6>http: refused later\n<6>http: refused again\n") != NULL);
    unsetenv("JOURNAL_STREAM");
    log_init("appealsd");
}

static void macro_sites(void)
{
    for (int i = 0; i < 50; i++)
        log_limited(LOG_LVL_WARN, 4, 60000, "spool: full %d", i);
    for (int i = 0; i < 50; i++)
        log_limited(LOG_LVL_INFO, 2, 60000, "http: other site %d", i);
    log_set_level(LOG_LVL_ERROR);
    for (int i = 0; i < 50; i++)
        log_limited(LOG_LVL_INFO, 2, 60000, "hidden %d", i);
    log_set_level(LOG_LVL_INFO);
}

TEST(each_call_site_has_its_own_limit)
{
    capture(macro_sites);
    CHECK_INT(count_lines("spool: full"), 4);
    CHECK_INT(count_lines("other site"), 2);
    CHECK_INT(count_lines("hidden"), 0);
}

int main(void)
{
    RUN(journald_prefix_and_one_line_per_event);
    RUN(journald_prefix_only_when_stderr_is_the_journal);
    RUN(log_times_carry_their_offset);
    RUN(a_flood_is_cut_to_the_burst_and_counted);
    RUN(each_call_site_has_its_own_limit);
    return test_done();
}
