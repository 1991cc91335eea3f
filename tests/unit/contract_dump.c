/* Prints one message of every event type of the Kafka contract, built by
 * the same builders the daemon uses (message.c), as "TYPE<TAB>JSON" lines.
 * tests/integration/test_contract.py validates each against docs/schemas, so
 * a builder and its schema cannot drift apart, including for the events
 * other modules (lifecycle, SLA, status consumer) produce. */
#include <stdio.h>
#include <string.h>

#include "incident_int.h"
#include "message.h"
#include "route.h"
#include "sbuf.h"

static const char *const TZ = "Europe/Moscow";
static const int64_t T0 = 1795900000000;

static void emit(const char *type, struct sbuf *b)
{
    printf("%s\t%s\n", type, sbuf_str(b));
    sbuf_reset(b);
}

static struct appeal_view base(const char *event, int64_t seq)
{
    struct appeal_view v = {
        .event = event,
        .appeal_id = "vk:-100001:wall:42:c501",
        .seq = seq,
        .source = "vk",
        .page = "100001",
        .page_name = "Администрация города Майкопа",
        .page_owner = "maykop",
        .item_kind = "comment",
        .platform_type = "wall_reply_new",
        .link = "https://vk.com/wall-100001_42?reply=501",
        .thread = "vk:-100001:wall:42",
        .created_ms = T0,
        .received_ms = T0 + 120,
        .now_ms = T0 + 450,
        .org_code = "maykop",
        .org_name = "Администрация муниципального образования «Город Майкоп»",
        .org_type = "municipality",
        .tz = TZ,
    };
    return v;
}

static void appeal_events(struct sbuf *b)
{
    struct route_result r = {.action = ROUTE_ORG, .rule = "local-roads",
                             .sla_policy = "municipal", .priority = "normal", .nwhy = 2};
    r.why[0].key = "category";
    snprintf(r.why[0].value, sizeof(r.why[0].value), "roads");
    r.why[1].key = "municipality";
    snprintf(r.why[1].value, sizeof(r.why[1].value), "maykop (from the page)");
    snprintf(r.reason, sizeof(r.reason), "rule local-roads: category=roads -> maykop");
    snprintf(r.skipped, sizeof(r.skipped), "maykop-water: no keyword");

    struct appeal_view v = base("created", 1);
    v.author_pseudonym = "0123456789abcdef";
    v.text = "Яма на дороге по ул. Пионерской";
    v.text_len = strlen(v.text);
    v.municipality = "maykop";
    v.municipality_from_page = true;
    v.state = "open";
    v.kind = "complaint";
    v.category = "roads";
    v.priority = "normal";
    v.route = &r;
    v.sla_policy = "municipal";
    v.first_response_due_ms = T0 + 8 * 3600000;
    message_appeal(b, &v);
    emit("appeal.created", b);
    v.author_id = "7001";   /* the personal-data variant */
    v.author_name = "Анна Петрова";
    message_appeal(b, &v);
    emit("appeal.created", b);

    v = base("updated", 2);
    v.text = "Яма на дороге по ул. Пионерской, уже неделю";
    v.text_len = strlen(v.text);
    v.state = "open";
    message_appeal(b, &v);
    emit("appeal.updated", b);

    v = base("withdrawn", 3);
    v.state = "withdrawn";
    message_appeal(b, &v);
    emit("appeal.withdrawn", b);

    v = base("removed_by_page", 3);   /* a moderator deleted it: state and clocks stay */
    v.state = "open";
    message_appeal(b, &v);
    emit("appeal.removed_by_page", b);

    v = base("restored", 4);
    v.state = "open";
    message_appeal(b, &v);
    emit("appeal.restored", b);

    v = base("answered", 5);
    v.state = "answered";
    v.answer_link = "https://vk.com/wall-100001_42?reply=502&thread=501";
    v.answer_by = "page";
    message_appeal(b, &v);
    emit("appeal.answered", b);

    v = base("rerouted", 6);
    v.state = "open";
    v.org_code = "minstroy";
    v.org_name = "Министерство строительства";
    v.org_type = "ministry";
    v.previous_org_code = "maykop";
    v.previous_org_name = "Администрация муниципального образования «Город Майкоп»";
    v.actor_type = "agency";
    v.actor_id = "org:maykop";
    v.reason = "региональная дорога";
    message_appeal(b, &v);
    emit("appeal.rerouted", b);

    v = base("status_changed", 7);
    v.state = "in_progress";
    v.previous_state = "open";
    v.status = "in_progress";
    v.status_comment = "бригада выехала";
    v.actor_type = "agency";
    v.actor_id = "org:maykop";
    message_appeal(b, &v);
    emit("appeal.status_changed", b);

    v = base("status_changed", 8);   /* an operator pausing it */
    v.state = "paused";
    v.previous_state = "in_progress";
    v.actor_type = "operator";
    v.actor_id = "operator:ivanova";
    v.reason = "ждём адрес от заявителя";
    message_appeal(b, &v);
    emit("appeal.status_changed", b);

    v = base("closed", 9);
    v.state = "closed";
    v.actor_type = "operator";
    v.actor_id = "operator:ivanova";
    v.reason = "яму заделали";
    message_appeal(b, &v);
    emit("appeal.closed", b);

    v = base("reopened", 10);
    v.state = "open";
    v.previous_state = "closed";
    v.actor_type = "operator";
    v.actor_id = "operator:ivanova";
    v.reason = "заявитель пишет, что яма снова появилась";
    message_appeal(b, &v);
    emit("appeal.reopened", b);

    v = base("updated", 2);   /* with the SLA engine's own sla object */
    v.text = "x";
    v.text_len = 1;
    v.state = "open";
    v.sla_json = "{\"policy\":\"municipal\",\"regime\":\"social\",\"first_response_due\":"
                 "\"2026-11-29T17:06:40.000+03:00\",\"clocks\":{}}";
    message_appeal(b, &v);
    emit("appeal.updated", b);

    v = base("extended", 11);
    v.state = "open";
    v.extension_days = 30;
    v.due_ms = T0 + 60LL * 86400000;
    v.sla_policy = "59-fz";
    v.actor_type = "operator";
    v.actor_id = "operator:ivanova";
    v.reason = "нужна экспертиза";
    message_appeal(b, &v);
    emit("appeal.extended", b);

    v = base("converted", 12);
    v.state = "open";
    v.sla_policy = "59-fz";
    v.due_ms = T0 + 30LL * 86400000;
    v.actor_type = "operator";
    v.actor_id = "operator:ivanova";
    v.reason = "заявитель направил письменное обращение";
    message_appeal(b, &v);
    emit("appeal.converted", b);

    v = base("registered", 13);
    v.state = "open";
    v.sla_policy = "59-fz";
    v.due_ms = T0 + 30LL * 86400000;
    v.actor_type = "operator";
    v.actor_id = "operator:ivanova";
    v.reason = "зарегистрировано, вх. № 1187";
    message_appeal(b, &v);
    emit("appeal.registered", b);

    v = base("answered", 14);   /* a formal page answer, judged */
    v.state = "answered";
    v.answer_by = "page";
    v.answer_quality = "formal";
    v.answer_reasons = "redirect,no_term_no_action";
    v.answer_meets = -1;
    message_appeal(b, &v);
    emit("appeal.answered", b);

    v = base("reopened", 15);   /* by its author under the answer */
    v.state = "open";
    v.previous_state = "answered";
    v.actor_type = "citizen";
    v.actor_id = "citizen:0123456789abcdef";
    v.by = "citizen";
    v.reason = "the author wrote under the answer that the problem remains";
    message_appeal(b, &v);
    emit("appeal.reopened", b);

    v = base("confirmed", 16);
    v.state = "answered";
    v.previous_state = "answered";
    v.actor_type = "citizen";
    v.actor_id = "citizen:0123456789abcdef";
    v.by = "citizen";
    v.reason = "the author confirmed the fix under the answer";
    message_appeal(b, &v);
    emit("appeal.confirmed", b);

    v = base("incident_changed", 17);   /* the lead of an incident of two */
    v.state = "open";
    v.previous_state = "open";
    v.actor_type = "daemon";
    v.actor_id = "incident:inc-7";
    v.reason = "leads incident inc-7: its clocks are the incident's";
    v.sla_json = "{\"policy\":\"municipal\",\"overdue\":false,\"incident\":{\"id\":\"inc-7\","
                 "\"lead\":\"vk:-100001:wall:42:c501\",\"held\":false,\"appeals\":"
                 "[\"vk:-100001:wall:42:c501\",\"vk:-100001:wall:42:c502\"]},\"clocks\":{}}";
    message_appeal(b, &v);
    emit("appeal.incident_changed", b);
}

static void sla_events(struct sbuf *b)
{
    struct sla_view s = {
        .appeal_id = "vk:-100001:wall:42:c501", .timer = "first_response", .occurrence = 1,
        .policy = "municipal", .org_code = "maykop", .org_name = "Администрация Майкопа",
        .due_ms = T0 + 8 * 3600000, .occurred_ms = T0 + 7 * 3600000, .now_ms = T0 + 7 * 3600000,
        .elapsed_s = 7 * 3600, .category = "roads", .municipality = "maykop",
        .priority = "normal", .tz = TZ,
    };
    s.event = "warning";
    message_sla(b, &s);
    emit("sla.warning", b);
    s.event = "breach";
    s.occurred_ms = s.now_ms = T0 + 8 * 3600000;
    message_sla(b, &s);
    emit("sla.breach", b);
    static const char *const codes[] = {"cur", "minstroy"};
    static const char *const names[] = {"ЦУР Республики Адыгея", NULL};
    s.event = "escalation";
    s.level = 1;
    s.recipient_codes = codes;
    s.recipient_names = names;
    s.nrecipients = 2;
    s.late_ms = 250;
    s.regime = "social";
    s.state = "open";
    s.sla_json = "{\"policy\":\"municipal\",\"first_response_due\":"
                 "\"2026-11-29T17:06:40.000+03:00\",\"clocks\":{\"first_response\":"
                 "{\"elapsed_s\":28800,\"paused\":false}}}";
    message_sla(b, &s);
    emit("sla.escalation", b);
    struct sla_view m = s;
    m.event = "met";
    m.level = 0;
    m.nrecipients = 0;
    m.late_ms = 0;
    m.seq = 5;
    m.state = "answered";
    m.link = "https://vk.com/wall-100001_42?reply=502&thread=501";
    m.sla_json = NULL;
    message_sla(b, &m);
    emit("sla.met", b);
}

static void dead_letter(struct sbuf *b)
{
    const char bad[] = "{\"schema\":\"appealsd.status/1\",\"status\":\"done\xff\"}";
    struct dead_letter_view d = {
        .error = "bad_message", .reason = "\"status\": 'done' is not one of ...",
        .topic = "appeals.status", .partition = 2, .offset = 1041, .key = "vk:-1:wall:1:c1",
        .payload = bad, .payload_len = sizeof(bad) - 1, .received_ms = T0, .now_ms = T0 + 3,
        .tz = TZ,
    };
    message_dead_letter(b, &d);
    emit("dead_letter", b);
    d.payload = "{\"schema\":\"appealsd.status/1\",\"comment\":\"текст\"}";
    d.payload_len = strlen(d.payload);
    message_dead_letter(b, &d);
    emit("dead_letter", b);
    d.key = NULL;
    d.payload = "";
    d.payload_len = 0;
    message_dead_letter(b, &d);
    emit("dead_letter", b);
}

/* incident_joined as incident_store.c builds it: the first report and a
 * later one that made the incident high.  (incident_merged and
 * incident_split are built by their Redis scripts; the contract check at
 * the exit of tests/integration/test_incidents.py validates them.) */
static void incident_events(struct sbuf *b)
{
    struct inc_event e = {.event = "incident_joined", .appeal_id = "vk:-100001:wall:42:c501",
                          .incident = "inc-7", .lead = "vk:-100001:wall:42:c501",
                          .category = "power", .municipality = "maykop", .org = "maykop",
                          .size = 1};
    incident_event_json(b, &e, "vk:-100001:wall:42:c501#incident", T0, TZ);
    emit("incident.incident_joined", b);
    e.appeal_id = "vk:-100001:wall:43:c502";
    e.priority = "high";
    e.size = 3;
    e.category = "";              /* unknown: left out */
    incident_event_json(b, &e, "vk:-100001:wall:43:c502#incident", T0 + 60000, TZ);
    emit("incident.incident_joined", b);
}

int main(void)
{
    struct sbuf b = SBUF_INIT;
    appeal_events(&b);
    sla_events(&b);
    dead_letter(&b);
    incident_events(&b);
    sbuf_free(&b);
    return 0;
}
