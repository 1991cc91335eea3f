/* The appeal state machine and clock arithmetic, without Redis or Kafka:
 * what each event does to state, owner and clocks, which events it
 * publishes, and what it refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

#include "clock.h"
#include "config.h"
#include "directory.h"
#include "eventbox.h"
#include "judge.h"
#include "record.h"
#include "sla.h"
#include "test.h"
#include "transition.h"
#include "units.h"

static char tmpdir[256];

/* Working hours 09:00-18:00 with lunch 13:00-13:48 in Moscow, Labour Code
 * calendar; the ЦУР's desk around the clock.  Chain: vodokanal -> maykop -> cur. */
static const char *CONFIG =
    "[sla]\nhours = standard\npolicy = social\nformal_policy = formal\n"
    "[hours \"standard\"]\ntime = 09:00-18:00\nlunch = 13:00-13:48\n"
    "[hours \"duty\"]\ntime = 00:00-24:00\n"
    "[policy \"social\"]\nfirst_response = 8h\nresolution = 5d\nwarning = 75%\n"
    "escalate = after=0 to=up\nescalate = after=4h to=up:2\n"
    "[policy \"critical\"]\npriority = critical\nfirst_response = 2h\ntime = calendar\n"
    "warning = none\nescalate = after=1h to=up\n"
    "[policy \"restarting\"]\norg = minzdrav\nfirst_response = 4h\nreroute = restart\n"
    "[policy \"formal\"]\nregime = 59fz\nresolution = 30d\nwarning = 5d\nextension = 30d\n"
    "[org \"cur\"]\nname = ЦУР\ntype = cur\ncalendar = none\nhours = duty\n"
    "[org \"maykop\"]\nname = Майкоп\ntype = municipality\nparent = cur\n"
    "municipality = maykop\n"
    "[org \"vodokanal\"]\nname = Водоканал\ntype = service\nparent = maykop\n"
    "[org \"minzdrav\"]\nname = Минздрав\ntype = ministry\nparent = cur\n"
    "[org \"minstroy\"]\nname = Минстрой\ntype = ministry\nparent = cur\n"
    "[hours \"morning\"]\ntime = 09:00-12:00\n"
    "[org \"district\"]\nname = Район\ntype = municipality\nparent = cur\nhours = morning\n"
    "[org \"school\"]\nname = Школа\ntype = service\nparent = district\n"
    "[org \"roads\"]\nname = Дороги\ntype = service\nparent = cur\n"
    "[policy \"strict\"]\norg = roads\nfirst_response = 8h\nresolution = 5d\n"
    "answer_quality = required\n";

/* The configuration above; with_judge adds the shipped answer judge. */
static struct apd_config *load_config(bool with_judge)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
    FILE *f = fopen(path, "w");
    fputs(CONFIG, f);
    if (with_judge)
        fprintf(f, "[answer]\nlexicon = %s/config/classifier/ru/05-common.lex, "
                "%s/config/answer/ru.lex\n", APD_SOURCE_ROOT, APD_SOURCE_ROOT);
    fclose(f);
    struct diag d = {0};
    struct config_opts o = {.path = path, .skip_plugins = !with_judge};
    struct apd_config *c = config_load(&o, &d);
    for (size_t i = 0; i < d.n; i++)
        printf("# config: %s\n", d.msg[i]);
    diag_free(&d);
    return c;
}

static struct apd_config *load(void) { return load_config(false); }

static int64_t at(const char *iso)
{
    int64_t ms = 0;
    parse_iso8601(iso, "Europe/Moscow", &ms);
    return ms;
}

#define H(n) ((int64_t)(n) * 3600000)
#define M(n) ((int64_t)(n) * 60000)
/* The last millisecond of a local date: where a 59-FZ term ends. */
#define END(date) (at(date "T00:00") + H(24) - 1)

/* Applies an event to *rec, as the lifecycle does after a successful write. */
static enum lc_status apply(struct apd_config *c, struct appeal_rec *rec, struct lc_event ev,
                            struct lc_plan *plan)
{
    transition_plan(c, rec, &ev, plan);
    if (plan->status == LC_OK) {
        record_free(rec);
        record_copy(rec, &plan->after);
    }
    return plan->status;
}

static void step(struct apd_config *c, struct appeal_rec *rec, struct lc_event ev)
{
    struct lc_plan plan;
    apply(c, rec, ev, &plan);
    transition_plan_free(&plan);
}

static void create(struct apd_config *c, struct appeal_rec *r, const char *org,
                   const char *priority, int64_t received)
{
    record_init(r, "vk:-1:wall:1:c1");
    r->seq = 1;
    struct lc_created cr = {.source = "vk", .page = "1", .text = "Нет воды", .org = org,
                            .priority = priority, .municipality = "maykop",
                            .created_ms = received, .received_ms = received};
    step(c, r, (struct lc_event){.kind = LC_CREATED, .actor = "vk", .created = &cr,
                                 .now = received});
}

static const char *msg_event(const struct lc_plan *p, size_t i)
{
    return i < p->nmsgs ? p->msgs[i].event : "(none)";
}

TEST(created_starts_clocks_in_working_time)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    /* Friday 17:00: 1 working hour on Friday, 7 on Monday */
    create(c, &r, "maykop", NULL, at("2026-11-27T17:00"));
    CHECK(r.exists);
    CHECK_STR(r.state, "open");
    CHECK_STR(r.policy, "social");
    CHECK_INT(r.clk[CLK_FR].state, CS_RUN);
    CHECK_INT(r.clk[CLK_FR].due, at("2026-11-30T16:48"));
    CHECK_INT(r.clk[CLK_FR].bud, H(8));
    CHECK_INT(r.clk[CLK_RES].due, at("2026-12-04T17:00"));
    CHECK_INT(r.seq, 1);
    /* a repeat of the creation changes nothing */
    struct lc_plan p;
    struct lc_created cr = {.source = "vk", .org = "maykop", .received_ms = at("2026-11-28")};
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_CREATED, .created = &cr}, &p), LC_NOOP);
    transition_plan_free(&p);
    record_free(&r);
    /* critical appeals run on calendar time under their own policy */
    create(c, &r, "maykop", "critical", at("2026-11-28T23:00"));
    CHECK_STR(r.policy, "critical");
    CHECK_INT(r.clk[CLK_FR].due, at("2026-11-29T01:00"));
    CHECK_INT(r.clk[CLK_RES].state, CS_NONE);
    record_free(&r);
    config_unref(c);
}

TEST(the_page_reply_meets_the_first_response_once)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-30T10:00"));
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_REPLY, .actor = "vk", .link = "L1",
                                             .now = at("2026-11-30T14:48")}, &p), LC_OK);
    CHECK_INT(p.nmsgs, 2);
    CHECK_STR(msg_event(&p, 0), "answered");
    CHECK_STR(msg_event(&p, 1), "met");
    CHECK(p.counts.fr_met && p.counts.fr_on_time);
    CHECK_INT(p.counts.fr_used_ms, H(4));          /* 3h before lunch, 1h after */
    CHECK_INT(p.naudit, 2);
    CHECK(strstr(p.audit[1], "\"action\":\"met\"") != NULL);
    CHECK(strstr(p.msgs[1].envelope, "\"link\":\"L1\"") != NULL);
    transition_plan_free(&p);
    CHECK_STR(r.state, "answered");
    CHECK_INT(r.clk[CLK_FR].state, CS_MET);
    CHECK_INT(r.clk[CLK_RES].state, CS_RUN);
    CHECK_INT(r.seq, 3);
    CHECK_STR(r.fr_link, "L1");
    /* the same reply delivered again */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_REPLY, .link = "L1"}, &p), LC_NOOP);
    transition_plan_free(&p);
    /* an operator cannot answer what the page answered */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_ANSWER}, &p), LC_REFUSED);
    CHECK_STR(p.code, "conflict");
    transition_plan_free(&p);
    record_free(&r);
    config_unref(c);
}

TEST(pause_keeps_the_working_time_left)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-30T10:00"));
    step(c, &r, (struct lc_event){.kind = LC_PAUSE, .reason = "ждём адрес",
                                  .now = at("2026-11-30T12:00")});
    CHECK_STR(r.state, "waiting");
    CHECK_STR(r.prev_state, "open");
    CHECK_INT(r.clk[CLK_FR].state, CS_PAUSE);
    CHECK_INT(r.clk[CLK_FR].left, H(6));
    CHECK_INT(transition_next_at(c, &r), INT64_MAX);   /* nothing is due while paused */
    /* resumed the next morning: six working hours from 09:00 */
    step(c, &r, (struct lc_event){.kind = LC_RESUME, .reason = "адрес получен",
                                  .now = at("2026-12-01T09:00")});
    CHECK_STR(r.state, "open");
    CHECK(r.prev_state == NULL);
    CHECK_INT(r.clk[CLK_FR].due, at("2026-12-01T15:48"));
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_RESUME}, &p), LC_REFUSED);
    transition_plan_free(&p);
    /* an agency asking the citizen for more also pauses; its progress resumes */
    step(c, &r, (struct lc_event){.kind = LC_NEEDS_INFO, .sender = "maykop",
                                  .now = at("2026-12-01T10:00")});
    CHECK_STR(r.state, "waiting");
    step(c, &r, (struct lc_event){.kind = LC_IN_PROGRESS, .sender = "maykop",
                                  .now = at("2026-12-01T11:00")});
    CHECK_STR(r.state, "in_progress");
    CHECK_INT(r.clk[CLK_FR].due, at("2026-12-01T16:48"));
    record_free(&r);
    config_unref(c);
}

TEST(timer_fires_each_stage_once_at_its_instant)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "vodokanal", NULL, at("2026-11-30T09:00"));
    /* fr due 17:48; warning at 75%: 2h before (15:48); level 1 at the breach to
     * Maykop; level 2 four working hours later to the ЦУР */
    CHECK_INT(transition_next_at(c, &r), at("2026-11-30T15:48"));
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_TIMER, .now = at("2026-11-30T15:48")},
                    &p), LC_OK);
    CHECK_INT(p.nmsgs, 1);
    CHECK_STR(msg_event(&p, 0), "warning");
    CHECK_INT(p.msgs[0].at, at("2026-11-30T15:48"));
    transition_plan_free(&p);
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_TIMER, .now = at("2026-11-30T16:00")},
                    &p), LC_NOOP);
    transition_plan_free(&p);
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_TIMER, .now = at("2026-11-30T17:48")},
                    &p), LC_OK);
    CHECK_INT(p.nmsgs, 2);
    CHECK_STR(msg_event(&p, 0), "breach");
    CHECK_STR(msg_event(&p, 1), "escalation");
    CHECK(strstr(p.msgs[1].body, "\"level\":1") && strstr(p.msgs[1].body, "\"code\":\"maykop\""));
    CHECK_INT(p.counts.breaches, 1);
    transition_plan_free(&p);
    CHECK(record_overdue(&r));
    /* level 2: 4 working hours after 17:48 is 12:48 next day; the ЦУР is on duty */
    CHECK_INT(transition_next_at(c, &r), at("2026-12-01T12:48"));
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_TIMER, .now = at("2026-12-01T12:48")},
                    &p), LC_OK);
    CHECK(p.nmsgs == 1 && strstr(p.msgs[0].body, "\"code\":\"cur\"") != NULL);
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_FR].fired, 0xf);
    /* a daemon that was down for days fires what was missed, once, without a
     * warning that its breach already makes moot */
    struct appeal_rec q;
    create(c, &q, "maykop", NULL, at("2026-11-30T09:00"));
    CHECK_INT(apply(c, &q, (struct lc_event){.kind = LC_TIMER, .now = at("2026-12-10T12:00")},
                    &p), LC_OK);
    CHECK_STR(msg_event(&p, 0), "breach");
    CHECK_INT(p.nmsgs, 6);   /* breach + 2 levels for each of the two clocks */
    transition_plan_free(&p);
    record_free(&q);
    record_free(&r);
    config_unref(c);
}

TEST(escalations_wait_for_working_hours_unless_critical)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    /* received Friday 15:00: fr due Monday 14:48; level 1 (after=0, up) goes to
     * Maykop at the breach, inside its hours */
    create(c, &r, "vodokanal", NULL, at("2026-11-27T15:00"));
    struct clock_ctx x;
    clock_ctx_init(&x, c, sla_policy_find(c, "social"), directory_org(c->dir, "vodokanal"), NULL);
    CHECK_INT(r.clk[CLK_FR].due, at("2026-11-30T14:48"));
    CHECK_INT(clock_stage_at(&r.clk[CLK_FR], &x, 2), at("2026-11-30T14:48"));
    /* "after" counts the policy's (working) time: level 2 is 4 working hours later */
    CHECK_INT(clock_stage_at(&r.clk[CLK_FR], &x, 3), at("2026-12-01T09:48"));
    record_free(&r);
    /* a school's breach at 14:48 goes to its district, which works mornings only:
     * the escalation waits for 09:00; a critical appeal's does not */
    create(c, &r, "school", NULL, at("2026-11-27T15:00"));
    clock_ctx_init(&x, c, sla_policy_find(c, "social"), directory_org(c->dir, "school"), NULL);
    CHECK_INT(clock_stage_at(&r.clk[CLK_FR], &x, 2), at("2026-12-01T09:00"));
    x.critical = true;
    CHECK_INT(clock_stage_at(&r.clk[CLK_FR], &x, 2), at("2026-11-30T14:48"));
    const struct org *to[4];
    struct escalation up3 = {.to = ESC_UP, .up = 3}, top = {.to = ESC_TOP};
    CHECK_INT(clock_recipients(&x, &up3, to, 4), 1);
    CHECK_STR(to[0]->code, "cur");     /* the chain ends at the ЦУР */
    CHECK_INT(clock_recipients(&x, &top, to, 4), 1);
    CHECK_STR(to[0]->code, "cur");
    record_free(&r);
    config_unref(c);
}

TEST(reroute_keeps_or_restarts_the_clock)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-30T09:00"));
    /* three working hours pass; not ours: to the ministry of construction */
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_NOT_OURS, .sender = "maykop",
                                             .org = "minstroy", .reason = "дорога региональная",
                                             .now = at("2026-11-30T12:00")}, &p), LC_OK);
    CHECK_STR(msg_event(&p, 0), "rerouted");
    CHECK(strstr(p.msgs[0].envelope, "\"previous_org\":{\"code\":\"maykop\"") != NULL);
    CHECK(strstr(p.msgs[0].body, "3h00m of the first-response time kept") != NULL);
    CHECK(strstr(p.msgs[0].body, "\"text\":\"Нет воды\"") != NULL);
    transition_plan_free(&p);
    CHECK_STR(r.org, "minstroy");
    CHECK_INT(r.clk[CLK_FR].due, at("2026-11-30T17:48"));   /* unchanged: 5h left */
    /* the sender must own the appeal */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_ACCEPTED, .sender = "maykop"}, &p),
              LC_REFUSED);
    CHECK_STR(p.code, "not_assigned");
    transition_plan_free(&p);
    /* to the health ministry, whose policy restarts clocks on a re-route */
    step(c, &r, (struct lc_event){.kind = LC_REROUTE, .org = "minzdrav", .reason = "медицина",
                                  .now = at("2026-11-30T14:48")});
    CHECK_STR(r.policy, "restarting");
    /* the old policy keeps the time: 5 of 8 hours used, the new allowance is 4h,
     * so the appeal is an hour overdue at once */
    CHECK_INT(r.clk[CLK_FR].bud, H(4));
    CHECK_INT(r.clk[CLK_FR].due, at("2026-11-30T13:48"));
    step(c, &r, (struct lc_event){.kind = LC_REROUTE, .org = "maykop", .reason = "назад",
                                  .now = at("2026-11-30T15:48")});
    /* the health ministry's policy restarts: 8 working hours from 15:48 */
    CHECK_INT(r.clk[CLK_FR].due, at("2026-12-01T15:36"));
    /* not ours without a suggestion: the ЦУР's triage */
    step(c, &r, (struct lc_event){.kind = LC_NOT_OURS, .sender = "maykop",
                                  .now = at("2026-11-30T16:00")});
    CHECK_STR(r.org, "cur");
    CHECK(r.triage);
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_REROUTE, .org = "nosuch"}, &p),
              LC_REFUSED);
    CHECK_STR(p.code, "not_found");
    transition_plan_free(&p);
    record_free(&r);
    config_unref(c);
}

TEST(conversion_and_one_extension_under_59fz)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-30T10:00"));
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_EXTEND, .days = 10}, &p), LC_REFUSED);
    CHECK(strstr(p.msg, "convert it first") != NULL);
    transition_plan_free(&p);
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_CONVERT, .reason = "ФИО и адрес",
                                             .now = at("2026-11-30T11:00")}, &p), LC_OK);
    CHECK_STR(msg_event(&p, 0), "converted");
    transition_plan_free(&p);
    CHECK_STR(r.formal, "formal");
    /* 30 calendar days from the day after registration, to the end of the last */
    CHECK_INT(r.clk[CLK_FZ].due, END("2026-12-30"));
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_EXTEND, .days = 31}, &p), LC_REFUSED);
    CHECK_STR(p.code, "bad_args");
    transition_plan_free(&p);
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_EXTEND, .days = 30, .reason = "запрос",
                                             .now = at("2026-12-01T09:00")}, &p), LC_OK);
    CHECK(strstr(p.msgs[0].body, "\"days\":30") != NULL);
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_FZ].due, END("2027-01-29"));   /* 60 days from registration */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_EXTEND, .days = 1}, &p), LC_REFUSED);
    CHECK(strstr(p.msg, "allows 1") != NULL);
    transition_plan_free(&p);
    /* the agency's answer meets the 59-FZ term */
    step(c, &r, (struct lc_event){.kind = LC_ANSWERED, .sender = "maykop",
                                  .now = at("2026-12-10T10:00")});
    CHECK_INT(r.clk[CLK_FZ].state, CS_MET);
    record_free(&r);
    config_unref(c);
}

TEST(fz_term_runs_from_registration_to_the_end_of_a_working_day)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-27T10:00"));
    struct lc_plan p;
    /* registered before it was received, or in the future: refused */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_CONVERT, .reason = "x",
                                             .received = at("2026-12-02T10:00"),
                                             .registered = at("2026-12-01T10:00"),
                                             .now = at("2026-12-03T09:00")}, &p), LC_REFUSED);
    CHECK_STR(p.code, "bad_args");
    transition_plan_free(&p);
    /* received on Friday 27 November, registered Wednesday 2 December (a
     * day late: 3 days end on Monday 30 November), converted the next day */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_CONVERT, .reason = "ФИО и адрес",
                                             .received = at("2026-11-27T10:00"),
                                             .registered = at("2026-12-02T10:00"),
                                             .now = at("2026-12-03T09:00")}, &p), LC_OK);
    CHECK(strstr(p.msgs[0].body, "\"registered_at\":\"2026-12-02T10:00:00") != NULL);
    transition_plan_free(&p);
    CHECK_INT(r.registered_ms, at("2026-12-02T10:00"));
    CHECK_INT(r.fz_received_ms, at("2026-11-27T10:00"));
    CHECK_INT(r.clk[CLK_REG].state, CS_MET);
    CHECK_INT(r.clk[CLK_REG].at, at("2026-12-02T10:00"));
    CHECK_INT(r.clk[CLK_REG].left, END("2026-11-30") - at("2026-12-02T10:00"));
    /* day 30 is 1 January 2027, a holiday: the preceding working day, 31
     * December (this test's calendar is the Labour Code's, no decree) */
    CHECK_INT(r.clk[CLK_FZ].state, CS_RUN);
    CHECK_INT(r.clk[CLK_FZ].due, END("2026-12-31"));
    /* the warning 5 days before, the breach at the end of the day */
    struct clock_ctx x;
    clock_ctx_init(&x, c, sla_policy_find(c, "formal"), NULL, NULL);
    CHECK_INT(clock_stage_at(&r.clk[CLK_FZ], &x, STAGE_WARNING), END("2026-12-26"));
    /* a 15-day extension: 45 days from registration, 16 January 2027 is a
     * Saturday, so Friday 15 January */
    step(c, &r, (struct lc_event){.kind = LC_EXTEND, .days = 15, .reason = "запрос",
                                  .now = at("2026-12-20T10:00")});
    CHECK_INT(r.clk[CLK_FZ].due, END("2027-01-15"));
    record_free(&r);
    config_unref(c);
}

TEST(fz_registration_pending_has_its_own_clock_until_register)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-26T10:00"));
    struct lc_plan p;
    /* received on Thursday 26 November, to be registered by the body:
     * 3 days end on Sunday, so the end of Friday 27 November */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_CONVERT, .reason = "письменное",
                                             .pending = true,
                                             .now = at("2026-11-26T11:00")}, &p), LC_OK);
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_REG].state, CS_RUN);
    CHECK_INT(r.clk[CLK_REG].due, END("2026-11-27"));
    CHECK_INT(r.clk[CLK_FZ].state, CS_NONE);
    CHECK_INT(r.registered_ms, 0);
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_EXTEND, .days = 5, .reason = "x"}, &p),
              LC_REFUSED);
    CHECK(strstr(p.msg, "register it first") != NULL);
    transition_plan_free(&p);
    /* the timer fires the registration breach and its escalation */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_TIMER, .now = END("2026-11-27")}, &p),
              LC_OK);
    int reg_stages = 0;
    for (size_t i = 0; i < p.nmsgs; i++)
        if (strstr(p.msgs[i].body, "\"timer\":\"registration\""))
            reg_stages |= strcmp(p.msgs[i].event, "breach") == 0 ? 1
                          : strcmp(p.msgs[i].event, "escalation") == 0 ? 2 : 4;
    CHECK_INT(reg_stages, 3);   /* the breach and its escalation, no warning */
    transition_plan_free(&p);
    /* registered on Monday: the term runs from Tuesday 1 December */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_REGISTER, .registered =
                                             at("2026-11-30T09:30"),
                                             .now = at("2026-11-30T10:00")}, &p), LC_OK);
    CHECK_STR(msg_event(&p, 0), "registered");
    CHECK_STR(msg_event(&p, 1), "met");
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_REG].state, CS_MET);
    CHECK(r.clk[CLK_REG].left < 0);
    CHECK_INT(r.registered_ms, at("2026-11-30T09:30"));
    CHECK_INT(r.clk[CLK_FZ].due, END("2026-12-30"));
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_REGISTER, .now = at("2026-12-01T10:00")},
                    &p), LC_REFUSED);
    CHECK_STR(p.code, "conflict");
    transition_plan_free(&p);
    record_free(&r);
    config_unref(c);
}

TEST(fz_forward_has_its_own_clock_and_the_new_body_a_new_term)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-30T10:00"));
    step(c, &r, (struct lc_event){.kind = LC_CONVERT, .reason = "ФИО и адрес",
                                  .now = at("2026-11-30T11:00")});
    CHECK_INT(r.clk[CLK_FZ].due, END("2026-12-30"));
    CHECK_INT(r.clk[CLK_FWD].state, CS_NONE);
    /* not ours, no competent body named: the ЦУР has until 7 December (7
     * days from registration, art. 8 ch. 3) to forward it */
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_NOT_OURS, .sender = "maykop",
                                             .reason = "не наш вопрос",
                                             .now = at("2026-12-03T10:00")}, &p), LC_OK);
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_FWD].state, CS_RUN);
    CHECK_INT(r.clk[CLK_FWD].due, END("2026-12-07"));
    {
        /* closed while waiting for a competent body: the forward clock stops */
        struct appeal_rec closed;
        record_copy(&closed, &r);
        step(c, &closed, (struct lc_event){.kind = LC_CLOSE, .reason = "дубль",
                                           .now = at("2026-12-04T10:00")});
        CHECK_INT(closed.clk[CLK_FWD].state, CS_STOP);
        CHECK_INT(transition_next_at(c, &closed), INT64_MAX);
        record_free(&closed);
    }
    CHECK(transition_next_at(c, &r) <= END("2026-12-07"));
    /* the breach fires at the end of 7 December */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_TIMER, .now = END("2026-12-07")}, &p),
              LC_OK);
    bool breach = false;
    for (size_t i = 0; i < p.nmsgs; i++)
        if (strcmp(p.msgs[i].event, "breach") == 0 && strstr(p.msgs[i].body, "\"forward\""))
            breach = true;
    CHECK(breach);
    transition_plan_free(&p);
    /* forwarded to the ministry on 8 December: the forward is met (late),
     * and the ministry's 30 days run from its registration */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_REROUTE, .org = "minstroy",
                                             .reason = "компетенция Минстроя",
                                             .now = at("2026-12-08T12:00")}, &p), LC_OK);
    CHECK(strstr(p.audit[0], "new term from registration by minstroy") != NULL);
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_FWD].state, CS_MET);
    CHECK(r.clk[CLK_FWD].left < 0);
    CHECK_INT(r.registered_ms, at("2026-12-08T12:00"));
    CHECK_INT(r.forwarded_ms, at("2026-12-08T12:00"));
    CHECK_INT(r.clk[CLK_FZ].state, CS_RUN);
    /* day 30 is 7 January 2027 (off): 31 December under the Labour Code */
    CHECK_INT(r.clk[CLK_FZ].due, END("2026-12-31"));
    CHECK_INT(r.clk[CLK_FZ].fired, 0);
    /* a forward straight to a competent body on time: met, no breach */
    struct appeal_rec q;
    create(c, &q, "maykop", NULL, at("2026-11-30T10:00"));
    step(c, &q, (struct lc_event){.kind = LC_CONVERT, .reason = "x",
                                  .now = at("2026-11-30T11:00")});
    step(c, &q, (struct lc_event){.kind = LC_NOT_OURS, .sender = "maykop", .org = "minzdrav",
                                  .reason = "здравоохранение", .now = at("2026-12-02T10:00")});
    CHECK_STR(q.org, "minzdrav");
    CHECK_INT(q.clk[CLK_FWD].state, CS_MET);
    CHECK(q.clk[CLK_FWD].left > 0);
    CHECK_INT(q.clk[CLK_FZ].due, END("2026-12-31"));   /* day 30, 1 January, is off */
    record_free(&q);
    record_free(&r);
    config_unref(c);
}

TEST(close_reopen_withdraw_restore)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-30T10:00"));
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_CLOSE, .reason = "решено",
                                             .now = at("2026-11-30T12:00")}, &p), LC_OK);
    CHECK(p.counts.closed);
    CHECK_STR(msg_event(&p, 0), "closed");
    CHECK_STR(msg_event(&p, 1), "met");        /* the resolution */
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_FR].state, CS_STOP);  /* never answered: stopped, not met */
    CHECK_INT(r.clk[CLK_RES].state, CS_MET);
    CHECK_INT(transition_next_at(c, &r), INT64_MAX);
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_ACCEPTED, .sender = "maykop"}, &p),
              LC_REFUSED);
    transition_plan_free(&p);
    /* reopened the next morning: both clocks go on with what they had left */
    step(c, &r, (struct lc_event){.kind = LC_REOPEN, .reason = "снова",
                                  .now = at("2026-12-01T09:00")});
    CHECK_STR(r.state, "open");
    CHECK_INT(r.clk[CLK_FR].due, at("2026-12-01T15:48"));   /* 6h left */
    CHECK_INT(r.clk[CLK_RES].state, CS_RUN);
    /* the author deletes it, then restores it */
    step(c, &r, (struct lc_event){.kind = LC_WITHDRAWN, .now = at("2026-12-01T10:00")});
    CHECK_STR(r.state, "withdrawn");
    CHECK_INT(r.clk[CLK_FR].state, CS_STOP);
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_REOPEN, .reason = "x"}, &p),
              LC_REFUSED);
    transition_plan_free(&p);
    step(c, &r, (struct lc_event){.kind = LC_RESTORED, .now = at("2026-12-02T09:00")});
    CHECK_STR(r.state, "open");
    CHECK_INT(r.clk[CLK_FR].due, at("2026-12-02T14:48"));   /* 5h left */
    /* an edit with the same text is no change */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_EDITED, .text = "Нет воды"}, &p),
              LC_NOOP);
    transition_plan_free(&p);
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_EDITED, .text = "Нет воды с утра"}, &p),
              LC_OK);
    CHECK(p.text_changed);
    transition_plan_free(&p);
    record_free(&r);
    config_unref(c);
}

/* Finding 6: a deletion by someone other than the author (a moderator, the
 * page) is no withdrawal: the state and the clocks stay, the audit says so. */
TEST(a_deletion_by_the_page_keeps_the_clocks)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    record_init(&r, "vk:-1:wall:1:c2");
    r.seq = 1;
    struct lc_created cr = {.source = "vk", .page = "1", .text = "Нет воды", .org = "maykop",
                            .author = "a1b2c3d4e5f60718", .municipality = "maykop",
                            .created_ms = at("2026-11-30T10:00"),
                            .received_ms = at("2026-11-30T10:00")};
    step(c, &r, (struct lc_event){.kind = LC_CREATED, .actor = "vk", .created = &cr,
                                  .now = at("2026-11-30T10:00")});
    int64_t due = r.clk[CLK_FR].due;
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_WITHDRAWN, .actor = "vk",
                                             .deleter = "ffff000011112222", .published = true,
                                             .now = at("2026-11-30T11:00")}, &p), LC_OK);
    CHECK_STR(r.state, "open");
    CHECK_INT(r.clk[CLK_FR].state, CS_RUN);
    CHECK_INT(r.clk[CLK_FR].due, due);
    CHECK_INT(r.clk[CLK_RES].state, CS_RUN);
    CHECK(!p.counts.closed);
    CHECK(p.naudit == 1 && strstr(p.audit[0], "\"action\":\"removed_by_page\"") != NULL);
    transition_plan_free(&p);
    CHECK(transition_next_at(c, &r) < INT64_MAX);
    /* unknown deleter: the author's withdrawal, as before; the author's own too */
    CHECK(!transition_removed_by_page("a1b2c3d4e5f60718", NULL));
    CHECK(transition_removed_by_page(NULL, "a1b2c3d4e5f60718"));
    step(c, &r, (struct lc_event){.kind = LC_WITHDRAWN, .actor = "vk",
                                  .deleter = "a1b2c3d4e5f60718", .published = true,
                                  .now = at("2026-11-30T12:00")});
    CHECK_STR(r.state, "withdrawn");
    CHECK_INT(r.clk[CLK_FR].state, CS_STOP);
    record_free(&r);
    config_unref(c);
}

TEST(record_fields_round_trip_and_envelopes_parse)
{
    struct apd_config *c = load();
    struct appeal_rec r, back;
    create(c, &r, "maykop", "high", at("2026-11-30T10:00"));
    step(c, &r, (struct lc_event){.kind = LC_PAUSE, .reason = "x", .now = at("2026-11-30T11:00")});
    struct record_fields f;
    record_fields(&r, &f);
    /* the hash stays a listpack: no value over 64 bytes */
    for (size_t i = 0; i < f.n; i++)
        CHECK(strlen(f.value[i]) <= 64);
    /* back through the shape Redis gives (an array of field, value, ...) */
    redisReply items[256], *ptrs[256], arr = {.type = REDIS_REPLY_ARRAY};
    for (size_t i = 0; i < f.n * 2; i++) {
        char *v = i % 2 ? f.value[i / 2] : f.name[i / 2];
        items[i] = (redisReply){.type = REDIS_REPLY_STRING, .str = v, .len = strlen(v)};
        ptrs[i] = &items[i];
    }
    arr.elements = f.n * 2;
    arr.element = ptrs;
    record_init(&back, r.id);
    record_parse(&back, &arr, NULL);
    struct record_fields g;
    record_fields(&back, &g);
    CHECK_INT(g.n, f.n);
    for (size_t i = 0; i < f.n && i < g.n; i++) {
        CHECK_STR(g.name[i], f.name[i]);
        CHECK_STR(g.value[i], f.value[i]);
    }
    CHECK(back.exists && memcmp(back.clk, r.clk, sizeof(r.clk)) == 0);
    record_fields_free(&g);
    record_fields_free(&f);
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_RESUME, .reason = "y",
                                             .now = at("2026-11-30T12:00")}, &p), LC_OK);
    struct eventbox_msg m;
    CHECK_INT(eventbox_parse(p.msgs[0].envelope, &m), 0);
    CHECK_STR(m.key, r.id);
    CHECK_STR(m.event, "status_changed");   /* the contract's name for a resume */
    CHECK_STR(m.schema, "appealsd.appeal");
    CHECK(m.ntopics >= 1);
    CHECK(m.body[0] == '{');
    eventbox_msg_free(&m);
    CHECK_INT(eventbox_parse("no newlines", &m), -1);
    /* HTTP recipients ride among the topics as org:CODE; older envelopes
     * without them read as before */
    const char *topics[] = {"appeals.all"}, *orgs[] = {"hook", "boss"};
    char *env = eventbox_envelope_to("k", "warning", "appealsd.sla", topics, 1, orgs, 2, "{}");
    CHECK_STR(env, "k\nwarning\nappealsd.sla\nappeals.all org:hook org:boss\n{}");
    CHECK_INT(eventbox_parse(env, &m), 0);
    CHECK_INT(m.ntopics, 1);
    CHECK_INT(m.norgs, 2);
    CHECK_STR(m.topics[0], "appeals.all");
    CHECK_STR(m.orgs[0], "hook");
    CHECK_STR(m.orgs[1], "boss");
    eventbox_msg_free(&m);
    free(env);
    env = eventbox_envelope_to("k", "warning", "appealsd.sla", NULL, 0, orgs, 1, "{}");
    CHECK_INT(eventbox_parse(env, &m), 0);
    CHECK_INT(m.ntopics, 0);
    CHECK_STR(m.orgs[0], "hook");
    eventbox_msg_free(&m);
    free(env);
    transition_plan_free(&p);
    record_free(&back);
    record_free(&r);
    config_unref(c);
}

/* The answer judge's verdict (given by the caller here) decides the clocks:
 * a formal answer meets the first response and opens rework, which a
 * substantive one meets; an operator may answer while rework runs. */
TEST(a_formal_answer_opens_rework_and_a_substantive_one_meets_it)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-30T10:00"));
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_REPLY, .actor = "vk", .link = "L1",
                                             .quality = AQ_FORMAL,
                                             .quality_reasons = AR_REDIRECT | AR_EMPTY,
                                             .now = at("2026-11-30T11:00")}, &p), LC_OK);
    CHECK(p.counts.fr_met && p.counts.rework_opened);
    CHECK_STR(p.counts.answer_quality, "formal");
    CHECK(strstr(p.audit[0], "rework until a substantive one") != NULL);
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_FR].state, CS_MET);
    CHECK_INT(r.clk[CLK_RWK].state, CS_RUN);
    CHECK_INT(r.clk[CLK_RWK].due, at("2026-12-03T11:00"));     /* 3 working days */
    CHECK_STR(r.answer_quality, "formal");
    CHECK_STR(r.answer_reasons, "redirect,no_term_no_action");
    /* an operator's substantive answer (judged by the caller) meets rework */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_ANSWER, .actor = "operator:ivan",
                                             .quality = AQ_SUBSTANTIVE,
                                             .quality_reasons = AR_ACTION,
                                             .now = at("2026-12-01T10:00")}, &p), LC_OK);
    CHECK_STR(msg_event(&p, 0), "answered");
    CHECK_STR(msg_event(&p, 1), "met");
    CHECK(strstr(p.msgs[0].body, "\"quality\":\"substantive\"") != NULL);
    CHECK(strstr(p.msgs[1].body, "\"timer\":\"rework\"") != NULL);
    CHECK(!p.counts.fr_met);
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_RWK].state, CS_MET);
    /* rework met: a further operator answer is refused as before */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_ANSWER, .quality = AQ_SUBSTANTIVE},
                    &p), LC_REFUSED);
    transition_plan_free(&p);
    record_free(&r);
    config_unref(c);
}

TEST(under_answer_quality_required_a_formal_answer_leaves_the_clock_running)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "roads", NULL, at("2026-11-30T10:00"));
    CHECK_STR(r.policy, "strict");
    struct lc_plan p;
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_REPLY, .link = "L1",
                                             .quality = AQ_FORMAL, .quality_reasons = AR_LAW,
                                             .now = at("2026-11-30T11:00")}, &p), LC_OK);
    CHECK_INT(p.nmsgs, 1);                              /* answered, no met */
    CHECK(!p.counts.fr_met && !p.counts.rework_opened);
    CHECK(strstr(p.audit[0], "requires a substantive answer") != NULL);
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_FR].state, CS_RUN);
    CHECK_INT(r.clk[CLK_RWK].state, CS_NONE);
    CHECK_STR(r.state, "answered");
    CHECK(r.fr_link == NULL);
    /* a refusal is an answer: it meets the clock */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_REPLY, .link = "L2",
                                             .quality = AQ_REFUSAL,
                                             .quality_reasons = AR_REFUSAL,
                                             .now = at("2026-11-30T12:00")}, &p), LC_OK);
    CHECK(p.counts.fr_met);
    transition_plan_free(&p);
    CHECK_INT(r.clk[CLK_FR].state, CS_MET);
    CHECK_STR(r.fr_link, "L2");
    record_free(&r);
    config_unref(c);
}

TEST(the_authors_follow_up_reopens_confirms_or_updates)
{
    struct apd_config *c = load_config(true);
    CHECK(c != NULL);
    if (c == NULL)
        return;
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-30T10:00"));
    struct lc_plan p;
    /* before any answer a comment of the author is only an update */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_FOLLOWUP, .actor = "citizen:ab",
                                             .text = "до сих пор не сделали",
                                             .now = at("2026-11-30T10:30")}, &p), LC_OK);
    CHECK_STR(msg_event(&p, 0), "updated");
    CHECK(strstr(p.msgs[0].body, "\"text\":\"до сих пор не сделали\"") != NULL);
    transition_plan_free(&p);
    step(c, &r, (struct lc_event){.kind = LC_REPLY, .link = "L1",
                                  .text = "Свет восстановят до 2 декабря.",
                                  .now = at("2026-11-30T11:00")});
    CHECK_STR(r.answer_quality, "substantive");
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_FOLLOWUP, .actor = "citizen:ab",
                                             .text = "Спасибо, но до сих пор не сделали",
                                             .now = at("2026-12-03T10:00")}, &p), LC_OK);
    CHECK_STR(msg_event(&p, 0), "reopened");
    CHECK(strstr(p.msgs[0].body, "\"by\":\"citizen\"") != NULL);
    CHECK(strstr(p.msgs[0].body, "\"type\":\"citizen\"") != NULL);
    CHECK(p.counts.reopened_by_citizen);
    transition_plan_free(&p);
    CHECK_STR(r.state, "open");
    CHECK_INT(r.reopens, 1);
    CHECK_INT(r.clk[CLK_RES].state, CS_RUN);
    step(c, &r, (struct lc_event){.kind = LC_REPLY, .link = "L2",
                                  .text = "Светильник заменили сегодня.",
                                  .now = at("2026-12-03T12:00")});
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_FOLLOWUP, .actor = "citizen:ab",
                                             .text = "Спасибо, всё сделали!",
                                             .now = at("2026-12-03T18:00")}, &p), LC_OK);
    CHECK_STR(msg_event(&p, 0), "confirmed");
    CHECK(p.counts.confirmed);
    transition_plan_free(&p);
    CHECK_STR(r.state, "answered");
    CHECK_INT(r.confirmed_ms, at("2026-12-03T18:00"));
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_FOLLOWUP, .actor = "citizen:ab",
                                             .text = "А в соседнем дворе когда?",
                                             .now = at("2026-12-03T19:00")}, &p), LC_OK);
    CHECK_STR(msg_event(&p, 0), "updated");
    CHECK_STR(r.state, "answered");
    transition_plan_free(&p);
    record_free(&r);
    config_unref(c);
}

TEST(an_incident_holds_a_members_clocks_and_only_a_newer_version_moves_them)
{
    struct apd_config *c = load();
    struct appeal_rec r;
    create(c, &r, "maykop", NULL, at("2026-11-30T10:00"));
    int64_t due = r.clk[CLK_FR].due;
    struct lc_plan p;
    /* joined an incident led by another appeal: its clocks are held */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_INCIDENT, .actor = "incident:inc-1",
                                             .incident = "inc-1", .lead = "vk:-1:wall:1:c0",
                                             .members = "vk:-1:wall:1:c0,vk:-1:wall:1:c1",
                                             .inc_ver = 5, .now = at("2026-11-30T10:01")}, &p),
              LC_OK);
    CHECK_STR(msg_event(&p, 0), "incident_changed");
    CHECK(strstr(p.msgs[0].body, "\"held\":true") != NULL);
    CHECK(p.next_at == INT64_MAX);
    transition_plan_free(&p);
    CHECK(record_inc_held(&r));
    CHECK(r.inc_apps == NULL);      /* the lead keeps the list */
    /* its own deadline passes: nothing fires for it */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_TIMER, .now = due + 86400000}, &p),
              LC_NOOP);
    transition_plan_free(&p);
    /* a sync read before the join (older version) cannot undo it */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_INCIDENT, .incident = "inc-1",
                                             .lead = "vk:-1:wall:1:c1", .inc_ver = 4,
                                             .now = at("2026-11-30T10:02")}, &p), LC_NOOP);
    transition_plan_free(&p);
    CHECK(record_inc_held(&r));
    /* split off, it leads its own incident: its own clock runs again, as it was */
    CHECK_INT(apply(c, &r, (struct lc_event){.kind = LC_INCIDENT, .actor = "incident:inc-2",
                                             .incident = "inc-2", .lead = "vk:-1:wall:1:c1",
                                             .members = "vk:-1:wall:1:c1", .inc_ver = 7,
                                             .now = at("2026-11-30T10:03")}, &p), LC_OK);
    CHECK(strstr(p.msgs[0].body, "own clocks run again from its receipt") != NULL);
    CHECK(strstr(p.msgs[0].body, "\"appeals\":[\"vk:-1:wall:1:c1\"]") != NULL);
    CHECK(p.next_at <= due);
    transition_plan_free(&p);
    CHECK(!record_inc_held(&r));
    CHECK_INT(r.clk[CLK_FR].due, due);
    CHECK_INT(r.inc_ver, 7);
    record_free(&r);
    config_unref(c);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/apd-lifecycle-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(created_starts_clocks_in_working_time);
    RUN(the_page_reply_meets_the_first_response_once);
    RUN(pause_keeps_the_working_time_left);
    RUN(timer_fires_each_stage_once_at_its_instant);
    RUN(escalations_wait_for_working_hours_unless_critical);
    RUN(reroute_keeps_or_restarts_the_clock);
    RUN(conversion_and_one_extension_under_59fz);
    RUN(fz_term_runs_from_registration_to_the_end_of_a_working_day);
    RUN(fz_registration_pending_has_its_own_clock_until_register);
    RUN(fz_forward_has_its_own_clock_and_the_new_body_a_new_term);
    RUN(close_reopen_withdraw_restore);
    RUN(a_deletion_by_the_page_keeps_the_clocks);
    RUN(record_fields_round_trip_and_envelopes_parse);
    RUN(a_formal_answer_opens_rework_and_a_substantive_one_meets_it);
    RUN(under_answer_quality_required_a_formal_answer_leaves_the_clock_running);
    RUN(the_authors_follow_up_reopens_confirms_or_updates);
    RUN(an_incident_holds_a_members_clocks_and_only_a_newer_version_moves_them);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return test_done();
}
