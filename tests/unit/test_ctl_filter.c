/* The filters shared by the control commands tail and list: what the
 * request's arguments mean and which events they let through. */
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "filter.h"
#include "json.h"
#include "test.h"

static const int64_t NOW = 1795900000000;

static int parse(struct ctl_filter *f, const char *args, bool types, char *err)
{
    char perr[128];
    struct json_doc *d = json_parse(args, strlen(args), 16, perr, sizeof(perr));
    if (d == NULL) {
        printf("# bad test JSON: %s\n", perr);
        return -2;
    }
    static const char *const extra[] = {"limit", NULL};
    int rc = ctl_filter_parse(f, &d->root, extra, types, err, 256);
    json_free(d);
    return rc;
}

static bool matches(const char *args, const struct tail_event *ev)
{
    struct ctl_filter f;
    char err[256] = "";
    if (parse(&f, args, true, err) != 0) {
        printf("# %s: %s\n", args, err);
        return false;
    }
    bool m = ctl_filter_match(&f, ev, NOW);
    ctl_filter_free(&f);
    return m;
}

static const struct tail_event created = {
    .type = "appeal", .event = "created", .appeal_id = "vk:-1:wall:2:c3", .org = "maykop",
    .category = "roads", .municipality = "maykop", .priority = "high", .state = "open",
    .due_ms = NOW + 3600 * 1000,
};

TEST(no_arguments_match_everything)
{
    CHECK(matches("{}", &created));
    struct ctl_filter f;
    char err[256];
    CHECK_INT(ctl_filter_parse(&f, NULL, NULL, false, err, sizeof(err)), 0);
    CHECK(ctl_filter_match(&f, &created, NOW));
    ctl_filter_free(&f);
}

TEST(fields_match_any_of_their_values)
{
    CHECK(matches("{\"org\":\"maykop\"}", &created));
    CHECK(!matches("{\"org\":\"minzdrav\"}", &created));
    CHECK(matches("{\"org\":\"minzdrav,maykop\"}", &created));
    CHECK(matches("{\"org\":[\"minzdrav\",\"maykop\"]}", &created));
    CHECK(matches("{\"org\":[\"minzdrav, maykop\"]}", &created));
    CHECK(matches("{\"category\":\"roads\",\"priority\":\"high\",\"state\":\"open\"}", &created));
    CHECK(!matches("{\"category\":\"roads\",\"priority\":\"low\"}", &created));
    CHECK(matches("{\"municipality\":\"maykop\"}", &created));
}

TEST(a_field_the_event_lacks_never_matches_a_filter_on_it)
{
    struct tail_event ev = created;
    ev.category = NULL;
    CHECK(!matches("{\"category\":\"roads\"}", &ev));
    CHECK(matches("{\"org\":\"maykop\"}", &ev));
}

TEST(types)
{
    struct tail_event sla = created;
    sla.type = "sla";
    sla.event = "breach";
    CHECK(matches("{\"types\":[\"sla\"]}", &sla));
    CHECK(!matches("{\"types\":[\"sla\"]}", &created));
    CHECK(matches("{\"types\":\"appeal,sla\"}", &created));
}

TEST(overdue_and_due_within)
{
    struct tail_event late = created, none = created;
    late.due_ms = NOW - 1000;
    none.due_ms = 0;
    CHECK(matches("{\"overdue\":true}", &late));
    CHECK(!matches("{\"overdue\":true}", &created));
    CHECK(!matches("{\"overdue\":true}", &none));
    CHECK(matches("{\"overdue\":false}", &created));
    CHECK(matches("{\"overdue\":false}", &none));
    CHECK(!matches("{\"overdue\":false}", &late));
    /* due in one hour: within 3600 s (inclusive), not within 3599 s */
    CHECK(matches("{\"due_within_s\":3600}", &created));
    CHECK(!matches("{\"due_within_s\":3599}", &created));
    CHECK(matches("{\"due_within_s\":0}", &late));
    CHECK(!matches("{\"due_within_s\":86400}", &none));
    CHECK(!matches("{\"due_within_s\":7200,\"overdue\":false}", &late));
}

TEST(bad_arguments_are_refused_with_their_name)
{
    struct ctl_filter f;
    char err[256];
    CHECK_INT(parse(&f, "{\"orgg\":\"maykop\"}", true, err), -1);
    CHECK(strstr(err, "unknown argument 'orgg'") != NULL);
    CHECK_INT(parse(&f, "{\"overdue\":\"yes\"}", true, err), -1);
    CHECK(strstr(err, "overdue") != NULL);
    CHECK_INT(parse(&f, "{\"due_within_s\":-5}", true, err), -1);
    CHECK(strstr(err, "due_within_s") != NULL);
    CHECK_INT(parse(&f, "{\"due_within_s\":1.5}", true, err), -1);
    CHECK_INT(parse(&f, "{\"org\":5}", true, err), -1);
    CHECK(strstr(err, "org: expected a string") != NULL);
    CHECK_INT(parse(&f, "{\"org\":[[\"a\"]]}", true, err), -1);
    CHECK_INT(parse(&f, "{\"org\":\" , \"}", true, err), -1);   /* would match everything */
    CHECK(strstr(err, "org: no value") != NULL);
    CHECK_INT(parse(&f, "{\"types\":[\"gossip\"]}", true, err), -1);
    CHECK(strstr(err, "unknown event type 'gossip'") != NULL);
    /* list has no event types: "types" is then an unknown argument */
    CHECK_INT(parse(&f, "{\"types\":[\"sla\"]}", false, err), -1);
    CHECK(strstr(err, "unknown argument 'types'") != NULL);
    /* the command's own arguments pass */
    CHECK_INT(parse(&f, "{\"limit\":10,\"org\":\"x\"}", false, err), 0);
    ctl_filter_free(&f);
    CHECK_INT(parse(&f, "[1]", false, err), -1);
}

int main(void)
{
    RUN(no_arguments_match_everything);
    RUN(fields_match_any_of_their_values);
    RUN(a_field_the_event_lacks_never_matches_a_filter_on_it);
    RUN(types);
    RUN(overdue_and_due_within);
    RUN(bad_arguments_are_refused_with_their_name);
    return test_done();
}
