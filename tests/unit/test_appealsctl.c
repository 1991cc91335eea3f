/* appealsctl without a daemon: every command's arguments become the request
 * docs/control-protocol.md describes, bad command lines are usage errors,
 * and recorded replies turn into aligned, readable output. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "output.h"
#include "sbuf.h"
#include "test.h"

/* ---- arguments -> request ---- */

static char err[512];

static int parse_line(const char *line, struct cli_request *req)
{
    char *copy = strdup(line), *argv[32];
    int argc = 0;
    /* words split on spaces; '~' stands for a space inside a word */
    for (char *w = strtok(copy, " "); w && argc < 32; w = strtok(NULL, " ")) {
        for (char *p = w; *p; p++)
            if (*p == '~')
                *p = ' ';
        argv[argc++] = w;
    }
    int rc = cli_parse(argc, argv, req, err, sizeof(err));
    free(copy);
    return rc;
}

static void check_request(const char *line, const char *want)
{
    struct cli_request req;
    err[0] = '\0';
    if (parse_line(line, &req) != 0) {
        printf("# '%s' refused: %s\n", line, err);
        test_cur_failed = 1;
        return;
    }
    if (req.line == NULL || strcmp(req.line, want) != 0) {
        printf("# '%s'\n#   sends %s\n#   want  %s\n", line, req.line ? req.line : "(nothing)",
               want);
        test_cur_failed = 1;
    }
    cli_request_free(&req);
}

static void check_usage_error(const char *line, const char *needle)
{
    struct cli_request req;
    err[0] = '\0';
    if (parse_line(line, &req) == 0) {
        printf("# '%s' was accepted: %s\n", line, req.line);
        cli_request_free(&req);
        test_cur_failed = 1;
        return;
    }
    if (strstr(err, needle) == NULL) {
        printf("# '%s': error \"%s\" lacks \"%s\"\n", line, err, needle);
        test_cur_failed = 1;
    }
}

#define ID "vk:-100001:wall:42:c501"

TEST(read_only_commands)
{
    check_request("status", "{\"cmd\":\"status\",\"args\":{}}");
    check_request("stats", "{\"cmd\":\"stats\",\"args\":{\"by\":\"org\"}}");
    check_request("stats --by municipality",
                  "{\"cmd\":\"stats\",\"args\":{\"by\":\"municipality\"}}");
    check_request("stats --by=category", "{\"cmd\":\"stats\",\"args\":{\"by\":\"category\"}}");
    check_request("show " ID, "{\"cmd\":\"show\",\"args\":{\"id\":\"" ID "\"}}");
    check_request("list", "{\"cmd\":\"list\",\"args\":{}}");
    check_request("list --overdue --org maykop --limit 10",
                  "{\"cmd\":\"list\",\"args\":{\"limit\":10,\"org\":\"maykop\","
                  "\"overdue\":true}}");
    check_request("list --category roads,water --municipality maykop --priority high "
                  "--state open,answered --due-within 2h",
                  "{\"cmd\":\"list\",\"args\":{\"category\":[\"roads\",\"water\"],"
                  "\"municipality\":\"maykop\",\"priority\":\"high\",\"state\":[\"open\","
                  "\"answered\"],\"due_within_s\":7200}}");
    check_request("help", "{\"cmd\":\"help\",\"args\":{}}");
}

TEST(tail_filters_and_its_own_options)
{
    struct cli_request req;
    CHECK_INT(parse_line("tail -f -n 5 --type sla,appeal --org maykop,~minzdrav --overdue "
                         "--due-within 90s", &req), 0);
    CHECK_STR(req.line, "{\"cmd\":\"tail\",\"args\":{\"last\":5,\"types\":[\"sla\","
                        "\"appeal\"],\"org\":[\"maykop\",\"minzdrav\"],\"overdue\":true,"
                        "\"due_within_s\":90}}");
    CHECK_INT(req.count, 0);
    CHECK_INT(req.lines, 5);
    CHECK(req.follow);
    CHECK(req.cmd->stream);
    cli_request_free(&req);
    CHECK_INT(parse_line("tail -n 0", &req), 0);   /* nothing from the past; follow */
    CHECK_INT(req.lines, 0);
    CHECK(!req.follow);
    cli_request_free(&req);
    CHECK_INT(parse_line("tail --count=3", &req), 0);
    CHECK_INT(req.count, 3);
    CHECK_INT(req.lines, -1);
    CHECK_STR(req.line, "{\"cmd\":\"tail\",\"args\":{}}");
    cli_request_free(&req);
    /* a due-within below a second rounds up: never a narrower window */
    check_request("tail --due-within 1500ms", "{\"cmd\":\"tail\",\"args\":{\"due_within_s\":2}}");
}

TEST(commands_that_change_state)
{
    check_request("answer " ID, "{\"cmd\":\"answer\",\"args\":{\"id\":\"" ID "\"}}");
    check_request("answer " ID " --link https://vk.com/wall-1_2 --reason by~phone",
                  "{\"cmd\":\"answer\",\"args\":{\"id\":\"" ID "\","
                  "\"link\":\"https://vk.com/wall-1_2\",\"reason\":\"by phone\"}}");
    const char *const with_reason[] = {"close", "reopen", "pause", "resume", "convert", NULL};
    for (const char *const *c = with_reason; *c; c++) {
        char line[256], want[256];
        snprintf(line, sizeof(line), "%s " ID " --reason решено", *c);
        snprintf(want, sizeof(want), "{\"cmd\":\"%s\",\"args\":{\"id\":\"" ID "\","
                 "\"reason\":\"решено\"}}", *c);
        check_request(line, want);
        snprintf(line, sizeof(line), "%s " ID, *c);
        check_usage_error(line, "--reason TEXT is required");
    }
    check_request("extend " ID " --days 10 --reason=запрос~в~ведомство",
                  "{\"cmd\":\"extend\",\"args\":{\"id\":\"" ID "\",\"days\":10,"
                  "\"reason\":\"запрос в ведомство\"}}");
    check_request("reroute " ID " minzdrav --reason not~ours",
                  "{\"cmd\":\"reroute\",\"args\":{\"id\":\"" ID "\",\"org\":\"minzdrav\","
                  "\"reason\":\"not ours\"}}");
    check_request("rebuild", "{\"cmd\":\"rebuild\",\"args\":{}}");
    check_request("reload --wait", "{\"cmd\":\"reload\",\"args\":{}}");
    check_request("reload", "{\"cmd\":\"reload\",\"args\":{}}");
    check_request("log-level debug", "{\"cmd\":\"log-level\",\"args\":{\"level\":\"debug\"}}");
    check_usage_error("log-level", "missing the LEVEL (usage: appealsctl log-level LEVEL)");
    /* after "--" a word is an argument even when it starts with a dash */
    check_request("show -- -1", "{\"cmd\":\"show\",\"args\":{\"id\":\"-1\"}}");
}

TEST(usage_errors_say_what_is_wrong)
{
    check_usage_error("frobnicate", "unknown command 'frobnicate'");
    check_usage_error("show", "missing the appeal ID");
    check_usage_error("reroute " ID " --reason x", "missing the organisation ORG");
    check_usage_error("show a b", "unexpected argument 'b'");
    check_usage_error("list --limit 0", "--limit: expected a whole number 1..1000");
    check_usage_error("list --limit many", "not 'many'");
    check_usage_error("extend " ID " --days 31 --reason x", "--days: expected a whole number 1..30");
    check_usage_error("extend " ID " --reason x", "--days N is required");
    check_usage_error("list --due-within soon", "'soon' is not a duration");
    check_usage_error("stats --by town", "--by: expected one of org category municipality");
    check_usage_error("list --types sla", "unknown option '--types'");
    check_usage_error("list --type sla", "unknown option '--type'");
    check_usage_error("tail -x", "unknown option '-x'");
    check_usage_error("list --overdue=yes", "--overdue takes no value");
    check_usage_error("list --org", "--org needs a value (ORG)");
    check_usage_error("list --org ,", "--org: the value must not be empty");
    check_usage_error("close " ID " --reason=", "--reason: the value must not be empty");
    check_usage_error("tail --count 0", "--count: expected a whole number above 0");
    check_usage_error("tail -n -1", "--lines: expected a whole number 0..100000");
}

TEST(json_and_help_after_the_command)
{
    struct cli_request req;
    CHECK_INT(parse_line("list --json --overdue", &req), 0);
    CHECK(req.json);
    CHECK_STR(req.line, "{\"cmd\":\"list\",\"args\":{\"overdue\":true}}");
    cli_request_free(&req);
    CHECK_INT(parse_line("close --help", &req), 0);
    CHECK(req.help);
    CHECK(req.line == NULL);
    CHECK_INT(parse_line("show -h", &req), 0);
    CHECK(req.help);
}

TEST(every_command_has_help_and_admin_marks_match_the_protocol)
{
    static const char *const admin[] = {"answer", "close", "reopen", "pause", "resume", "extend",
                                        "convert", "register", "reroute", "rebuild", "reload",
                                        "incident merge", "incident split", "log-level", NULL};
    size_t n = 0;
    for (const struct cli_command *c = cli_commands; c->name; c++, n++) {
        bool want = false;
        for (const char *const *a = admin; *a; a++)
            want |= strcmp(*a, c->name) == 0;
        CHECK(c->admin == want);
        CHECK(c->summary && c->summary[0]);
        CHECK(c->format != NULL);
    }
    CHECK_INT(n, 23);   /* + poll (issue 17) */
}

/* ---- output ---- */

static char *out;
static size_t outlen;

static FILE *capture(void)
{
    free(out);
    out = NULL;
    return open_memstream(&out, &outlen);
}

static void format(cli_format_fn fn, const char *cmd, const char *result_json)
{
    char perr[128];
    struct json_doc *d = json_parse(result_json, strlen(result_json), 32, perr, sizeof(perr));
    if (d == NULL) {
        printf("# bad recorded reply: %s\n", perr);
        test_cur_failed = 1;
        return;
    }
    FILE *f = capture();
    fn(f, cli_find(cmd), &d->root);
    fclose(f);
    json_free(d);
}

#define CHECK_OUT(needle)                                                        \
    do {                                                                         \
        if (out == NULL || strstr(out, needle) == NULL) {                        \
            printf("# output lacks \"%s\":\n%s", needle, out ? out : "(none)"); \
            test_cur_failed = 1;                                                 \
        }                                                                        \
    } while (0)

/* Column (in display width) at which needle starts on the line holding it. */
static long column_of(const char *needle, const char *on_line_with)
{
    const char *line = strstr(out, on_line_with);
    if (line == NULL)
        return -1;
    while (line > out && line[-1] != '\n')
        line--;
    const char *end = strchr(line, '\n');
    char buf[1024];
    snprintf(buf, sizeof(buf), "%.*s", (int)(end ? end - line : (long)strlen(line)), line);
    char *at = strstr(buf, needle);
    if (at == NULL)
        return -1;
    *at = '\0';
    return (long)display_width(buf);
}

TEST(display_width_counts_columns_not_bytes)
{
    CHECK_INT(display_width("maykop"), 6);
    CHECK_INT(display_width("Майкоп"), 6);
    CHECK_INT(display_width("Тахтамукайский район"), 20);
    CHECK_INT(display_width("日本"), 4);
    CHECK_INT(display_width("\xf0\x9f\x91\x8d"), 2);      /* thumbs up */
    CHECK_INT(display_width("e\xcc\x81"), 1);              /* e + combining acute */
    CHECK_INT(display_width("a\xffz"), 3);                 /* a stray byte: one column */
    char buf[64];
    fit_width(buf, sizeof(buf), "Тахтамукайский", 6);
    CHECK_STR(buf, "Тахта…");
    fit_width(buf, sizeof(buf), "Майкоп", 6);
    CHECK_STR(buf, "Майкоп");
    fit_width(buf, sizeof(buf), "日本語", 4);
    CHECK_STR(buf, "日…");
}

TEST(tables_align_cyrillic_by_width)
{
    out_init(COLOR_NEVER);
    format(fmt_stats, "stats",
           "{\"by\":\"municipality\",\"rows\":["
           "{\"key\":\"Тахтамукайский район\",\"open\":12,\"answered\":30,\"closed\":100,"
           "\"overdue\":2,\"breached_today\":1,\"first_response_compliance\":0.875,"
           "\"median_first_response_s\":5400},"
           "{\"key\":\"maykop\",\"open\":3,\"answered\":4,\"closed\":5,\"overdue\":0,"
           "\"breached_today\":0,\"first_response_compliance\":null,"
           "\"median_first_response_s\":null}]}");
    CHECK_OUT("MUNICIPALITY");
    CHECK_OUT("87.5%");
    CHECK_OUT("1h30m");
    /* the OPEN column ends at the same column on every row */
    long head = column_of("OPEN", "MUNICIPALITY") + 4;
    CHECK_INT(column_of("12", "Тахтамукайский") + 2, head);
    CHECK_INT(column_of("3", "maykop  ") + 1, head);
}

TEST(colour_codes_do_not_shift_columns)
{
    out_init(COLOR_ALWAYS);
    format(fmt_list, "list",
           "{\"appeals\":[{\"id\":\"vk:1\",\"org\":\"Минздрав\",\"state\":\"open\","
           "\"overdue\":true,\"due\":\"2026-11-30T09:15:02.123+03:00\","
           "\"received_at\":\"2026-11-29T09:15:02.123+03:00\"},"
           "{\"id\":\"vk:22\",\"org\":\"maykop\",\"state\":\"answered\",\"overdue\":false,"
           "\"answered_at\":\"2026-11-29T10:00:00.000+03:00\","
           "\"first_response_due\":\"2026-11-29T17:15:02.123+03:00\"}],\"truncated\":true}");
    out_init(COLOR_NEVER);
    CHECK_OUT("\033[31;1m2026-11-30 09:15 +03 OVERDUE");
    /* strip escapes, then the STATE column lines up */
    char *w = out;
    for (char *r = out; *r; r++) {
        if (*r == '\033') {
            while (*r && *r != 'm')
                r++;
            continue;
        }
        *w++ = *r;
    }
    *w = '\0';
    CHECK_INT(column_of("open", "vk:1 "), column_of("STATE", "APPEAL"));
    CHECK_INT(column_of("answered", "vk:22"), column_of("STATE", "APPEAL"));
    /* an answered appeal has no first-response deadline left to show */
    CHECK(strstr(out, "2026-11-29 17:15") == NULL);
    CHECK_OUT("2 appeals; more match");
}

TEST(status_from_the_protocol_example)
{
    out_init(COLOR_NEVER);
    format(fmt_status, "status",
           "{\"version\":\"0.1.0\",\"instance\":\"adygea-1\",\"state\":\"running\","
           "\"uptime_s\":3725,\"config_generation\":2,\"reloads\":1,\"reload_failures\":1,"
           "\"last_reload_error\":\"x.conf:3: [http] max_body: bad\","
           "\"kafka\":{\"brokers\":\"k:9092\",\"connected\":true,\"brokers_up\":1,\"queued\":0},"
           "\"redis\":{\"url\":\"redis://***@r:6379/0\",\"connected\":false,\"pending\":0,"
           "\"errors\":3,\"timeouts\":1,\"came_back_empty\":true},"
           "\"spool\":{\"unreleased\":4,\"bytes\":2281,\"max_bytes\":2147483648},"
           "\"pipeline\":{\"published\":9},"
           "\"http\":{\"port\":8080},\"control\":{\"clients\":2,\"tail_subscribers\":1,"
           "\"events_sent\":10,\"events_dropped\":3}}");
    CHECK_OUT("running (adygea-1), up 1h02m");
    CHECK_OUT("generation 2, 1 reloads, 1 refused");
    CHECK_OUT("last reload error  x.conf:3: [http] max_body: bad");
    CHECK_OUT("kafka              connected  1 brokers up");
    CHECK_OUT("redis              DISCONNECTED  0 pending, 3 errors");
    CHECK_OUT("CAME BACK EMPTY: run appealsctl rebuild");
    CHECK_OUT("4 unreleased, 2.2 KiB of 2.0 GiB");
    CHECK_OUT("2 clients, 1 tailing, 10 events sent, 3 dropped");
}

TEST(show_record_deadlines_and_audit)
{
    out_init(COLOR_NEVER);
    fmt_set_now(1795936454276 + 3600 * 1000);   /* one hour after receipt */
    format(fmt_show, "show",
           "{\"appeal\":{\"id\":\"" ID "\",\"state\":\"open\",\"org\":\"maykop\","
           "\"text\":\"Яма на дороге\\nуже неделю\",\"seq\":3,\"received_ms\":1795936454276,"
           "\"received\":\"2026-11-29T10:14:14.276+03:00\",\"custom_note\":\"x\","
           "\"first_response_due\":\"2026-11-29T10:44:14.276+03:00\"},"
           "\"timers\":[{\"timer\":\"first_response\",\"due\":\"2026-11-29T10:44:14.276+03:00\","
           "\"due_ms\":1795938254276,\"overdue\":true},{\"timer\":\"final\","
           "\"due\":\"2026-12-29T10:14:14.276+03:00\",\"due_ms\":1798528454276}],"
           "\"audit\":[{\"at\":\"2026-11-29T10:14:14.936+03:00\",\"actor\":\"vk\","
           "\"action\":\"created\",\"org\":\"maykop\",\"reason\":\"page vk:100001 belongs to "
           "maykop\"},{\"at\":\"2026-11-29T11:00:00.000+03:00\",\"actor\":\"operator:anna\","
           "\"action\":\"paused\",\"reason\":\"ждём адрес\"},\"not json\"]}");
    fmt_set_now(0);
    CHECK_OUT("id                    " ID);
    CHECK_OUT("received              2026-11-29 10:14 +03\n");
    CHECK_OUT("custom_note           x");
    CHECK_OUT("events                3");
    CHECK_OUT("Яма на дороге\nуже неделю");
    CHECK_OUT("first_response  2026-11-29 10:44 +03  overdue by 30m00s");
    CHECK_OUT("final           2026-12-29 10:14 +03  in 29d23h");
    /* the audit trail's times carry the daemon's zone, as the log's do */
    CHECK_OUT("2026-11-29 11:00 +03  operator:anna  paused   ждём адрес");
    CHECK_OUT("org maykop; page vk:100001 belongs to maykop");
    CHECK_OUT("not json");
    CHECK(strstr(out, "received_ms") == NULL);
}

/* Clocks in words from the reply's "sla" object; their storage fields only
 * with --raw (issue 15: show printed "fr m", "fr_bud 28800000"). */
TEST(show_clocks_in_words_and_raw)
{
    static const char reply[] =
        "{\"id\":\"" ID "\",\"number\":\"86137-07491\","
        "\"appeal\":{\"state\":\"answered\",\"org\":\"maykop\",\"fr\":\"m\","
        "\"fr_at\":\"1795938254276\",\"fr_bud\":\"28800000\",\"res\":\"r\","
        "\"res_due\":\"1796366654276\",\"fz_st\":\"2\"},"
        "\"sla\":{\"clocks\":{\"first_response\":{\"state\":\"met\",\"left_ms\":27000000,"
        "\"allowed_ms\":28800000,\"breached\":false,"
        "\"met_at\":\"2026-11-29T10:44:14.276+03:00\",\"used_ms\":1800000},"
        "\"resolution\":{\"state\":\"running\",\"due\":\"2026-12-04T18:00:00.000+03:00\","
        "\"allowed_ms\":144000000,\"breached\":true},"
        "\"formal\":{\"state\":\"paused\",\"left_ms\":-7200000,\"allowed_ms\":2592000000,"
        "\"breached\":false}}},\"timers\":[],\"audit\":[]}";
    out_init(COLOR_NEVER);
    fmt_set_now(1795936454276);
    format(fmt_show, "show", reply);
    CHECK_OUT("appeal                " ID);
    CHECK_OUT("number                86137-07491");
    CHECK_OUT("first response        met 2026-11-29 10:44 +03, after 30m00s of 8h00m");
    CHECK_OUT("resolution            running, due 2026-12-04 18:00 +03 (in ");
    CHECK_OUT("of 1d16h allowed, BREACHED");
    CHECK_OUT("59-FZ term            paused, 2h00m over of 30d00h");
    CHECK(strstr(out, "fr_bud") == NULL && strstr(out, "fz_st") == NULL);
    fmt_set_raw(true);
    format(fmt_show, "show", reply);
    fmt_set_raw(false);
    fmt_set_now(0);
    CHECK_OUT("fr_bud                28800000");
    CHECK_OUT("fr                    m");
}

TEST(changes_rebuild_reload_help)
{
    out_init(COLOR_NEVER);
    format(fmt_change, "reroute",
           "{\"id\":\"" ID "\",\"state\":\"open\",\"seq\":4,\"org\":\"minzdrav\"}");
    CHECK_OUT(ID ": reroute, state open, event 4\n");
    CHECK_OUT("org                   minzdrav");
    format(fmt_rebuild, "rebuild", "{\"appeals\":12,\"timers\":20}");
    CHECK_OUT("re-armed 12 open appeals with 20 deadlines");
    format(fmt_reload, "reload", "{\"config_generation\":3}");
    CHECK_OUT("configuration generation 3 is active");
    format(fmt_log_level, "log-level", "{\"level\":\"debug\",\"was\":\"info\","
           "\"file_level\":\"info\"}");
    CHECK_OUT("log level debug (was info; the configuration file says info)\n");
    format(fmt_help, "help",
           "{\"admin\":false,\"commands\":[{\"name\":\"status\",\"admin\":false,\"help\":\"s\"},"
           "{\"name\":\"close\",\"admin\":true,\"help\":\"c\"}]}");
    CHECK_OUT("close    admin      c");
    CHECK_OUT("this connection is read-only");
    format(fmt_list, "list", "{\"appeals\":[],\"truncated\":false}");
    CHECK_OUT("no open appeal matches");
}

TEST(tail_lines)
{
    out_init(COLOR_NEVER);
    char perr[128];
    const char *ev = "{\"event\":{\"type\":\"appeal\",\"event\":\"created\","
                     "\"appeal_id\":\"" ID "\",\"org\":\"maykop\",\"category\":\"roads\","
                     "\"state\":\"open\","
                     "\"due\":\"2026-11-29T18:14:14.276+03:00\","
                     "\"at\":\"2026-11-29T10:14:14.936+03:00\",\"text\":\"Яма\\nна дороге\"}}";
    struct json_doc *d = json_parse(ev, strlen(ev), 16, perr, sizeof(perr));
    FILE *f = capture();
    CHECK_INT(fmt_stream_line(f, &d->root), 1);
    json_free(d);
    const char *drop = "{\"dropped\":42}";
    d = json_parse(drop, strlen(drop), 16, perr, sizeof(perr));
    CHECK_INT(fmt_stream_line(f, &d->root), 0);
    json_free(d);
    d = json_parse("{}", 2, 16, perr, sizeof(perr));
    CHECK_INT(fmt_stream_line(f, &d->root), -1);
    json_free(d);
    fclose(f);
    CHECK_OUT("10:14:14+03  created         " ID);
    CHECK_OUT("maykop         roads        open");
    CHECK_OUT("due 11-29 18:14");
    CHECK_OUT("Яма на дороге\n");
    CHECK_OUT("-- 42 events dropped");
}

static char *defang(const char *line, bool visible)
{
    struct sbuf b = SBUF_INIT;
    out_defang_json(&b, line, strlen(line), visible);
    sbuf_addc(&b, '\0');
    return b.p;
}

/* A citizen's text that clears the screen, turns the rest of a line
 * around (U+202E) or hides in C1 controls reaches the operator as visible
 * escapes; newlines and tabs stay; --json keeps the meaning in escapes. */
TEST(terminal_controls_in_daemon_strings_are_made_visible)
{
    const char *line = "{\"text\":\"a\\u001b[2Jb\xe2\x80\xae" "c\xc2\x9b" "d\\r\x7f\\n\\te\","
                       "\"org\":\"x\xe2\x81\xa6y\\u202Ez\",\"n\":1}";
    char *v = defang(line, true);
    CHECK_STR(v, "{\"text\":\"a\\\\x1b[2Jb\\\\u202ec\\\\u009bd\\\\x0d\\\\x7f\\n\\te\","
                 "\"org\":\"x\\\\u2066y\\\\u202ez\",\"n\":1}");
    char perr[128];
    struct json_doc *d = json_parse(v, strlen(v), 16, perr, sizeof(perr));
    CHECK(d != NULL);
    if (d) {
        CHECK_STR(json_str(json_get(&d->root, "text")),
                  "a\\x1b[2Jb\\u202ec\\u009bd\\x0d\\x7f\n\te");
        json_free(d);
    }
    free(v);
    char *j = defang(line, false);
    CHECK_STR(j, "{\"text\":\"a\\u001b[2Jb\\u202ec\\u009bd\\r\\u007f\\n\\te\","
                 "\"org\":\"x\\u2066y\\u202Ez\",\"n\":1}");
    free(j);
    /* outside strings nothing changes, and a quote inside one does not end it */
    j = defang("{\"a\":\"q\\\"\xe2\x80\xae\"}", true);
    CHECK_STR(j, "{\"a\":\"q\\\"\\\\u202e\"}");
    free(j);
}

TEST(usage_lists_every_command)
{
    FILE *f = capture();
    cli_usage(f);
    fclose(f);
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "\n  %s", c->name);
        CHECK_OUT(needle);
    }
    for (const struct cli_global *g = cli_globals; g->name; g++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "--%s", g->name);
        CHECK_OUT(needle);
    }
    /* no line wider than a terminal */
    for (char *line = out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (display_width(line) > 79) {
            printf("# too wide: %s\n", line);
            test_cur_failed = 1;
        }
        if (nl == NULL)
            break;
    }
}

/* Commands of two words, and an argument that takes the rest as an array. */
TEST(incident_commands)
{
    check_request("incident show inc-3", "{\"cmd\":\"incident_show\",\"args\":{\"id\":\"inc-3\"}}");
    check_request("incident merge inc-1 " ID,
                  "{\"cmd\":\"incident_merge\",\"args\":{\"id\":\"inc-1\",\"from\":\"" ID "\"}}");
    check_request("incident split inc-1 a b c",
                  "{\"cmd\":\"incident_split\",\"args\":{\"id\":\"inc-1\","
                  "\"appeals\":[\"a\",\"b\",\"c\"]}}");
    check_usage_error("incident split inc-1", "missing the APPEALS");
    check_usage_error("incident merge inc-1", "missing the incident FROM");
    check_usage_error("incident", "unknown command 'incident' (incident show");
    check_usage_error("incident nope x", "unknown command 'incident'");
    format(fmt_incident, "incident show",
           "{\"incident\":\"inc-1\",\"state\":\"open\",\"size\":2,\"priority\":\"high\","
           "\"lead\":\"a\",\"first_at\":\"2026-05-12T07:05:00.000+03:00\","
           "\"last_at\":\"2026-05-12T07:31:00.000+03:00\",\"appeals\":[{\"id\":\"a\","
           "\"created_at\":\"2026-05-12T07:05:00.000+03:00\"},{\"id\":\"b\","
           "\"created_at\":\"2026-05-12T07:31:00.000+03:00\"}]}");
    CHECK(out && strstr(out, "inc-1") && strstr(out, "high") && strstr(out, "2026-05-12 07:31"));
    CHECK(out && strstr(out, "APPEAL") && strstr(out, "\nb "));
    format(fmt_incident_change, "incident merge", "{\"incident\":\"inc-1\",\"merged_from\":\"inc-2\"}");
    CHECK_STR(out, "inc-2 merged into inc-1\n");
    format(fmt_incident_change, "incident split", "{\"incident\":\"inc-3\",\"split_from\":\"inc-1\"}");
    CHECK_STR(out, "inc-3 split from inc-1\n");
}

int main(void)
{
    RUN(read_only_commands);
    RUN(tail_filters_and_its_own_options);
    RUN(commands_that_change_state);
    RUN(usage_errors_say_what_is_wrong);
    RUN(json_and_help_after_the_command);
    RUN(every_command_has_help_and_admin_marks_match_the_protocol);
    RUN(display_width_counts_columns_not_bytes);
    RUN(tables_align_cyrillic_by_width);
    RUN(colour_codes_do_not_shift_columns);
    RUN(status_from_the_protocol_example);
    RUN(show_record_deadlines_and_audit);
    RUN(changes_rebuild_reload_help);
    RUN(tail_lines);
    RUN(show_clocks_in_words_and_raw);
    RUN(usage_lists_every_command);
    RUN(terminal_controls_in_daemon_strings_are_made_visible);
    RUN(incident_commands);
    free(out);
    return test_done();
}
