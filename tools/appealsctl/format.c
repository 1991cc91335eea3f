/* Replies as people read them.  Every formatter takes the reply's "result"
 * (or one stream line) and writes to f; none of them talks to the socket, so
 * the unit tests feed them recorded replies. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "output.h"
#include "sbuf.h"
#include "units.h"

static int64_t fixed_now;

void fmt_set_now(int64_t ms) { fixed_now = ms; }

static bool raw_fields;

void fmt_set_raw(bool raw) { raw_fields = raw; }

static int64_t now(void) { return fixed_now ? fixed_now : now_ms(); }

static const char *str(const struct json *o, const char *k)
{
    return json_str(json_get(o, k));
}

static const char *num(const struct json *o, const char *k)
{
    const char *t = json_text(json_get(o, k));
    return t ? t : "-";
}

/* "2026-11-29T18:14:14.276+03:00" -> "2026-11-29 18:14 +03": the daemon's
 * zone, labelled, so that a table beside the log (whose lines carry their own
 * offset) cannot be read in the wrong zone. */
static const char *short_time(const char *iso, char *out, size_t n)
{
    if (iso == NULL)
        return "-";
    if (strlen(iso) < 16 || iso[10] != 'T')
        return iso;
    const char *zone = strlen(iso) > 19 ? strpbrk(iso + 19, "+-Z") : NULL;
    snprintf(out, n, "%.10s %.5s%s%.3s", iso, iso + 11, zone ? " " : "", zone ? zone : "");
    return out;
}

/* "2.1 KiB", "2.0 GiB" from a byte count in o[k]; "-" when absent. */
static const char *size_of(const struct json *o, const char *k, char *out, size_t n)
{
    int64_t b;
    if (!json_int64(json_get(o, k), &b))
        return "-";
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, n, "%" PRId64 " B", b);
    else
        snprintf(out, n, "%.1f %s", v, unit[u]);
    return out;
}

/* "in 3h12m" or "overdue by 25m" for a deadline. */
static void relative(int64_t due_ms, char *out, size_t n)
{
    char d[32];
    int64_t left = due_ms - now();
    format_duration(left < 0 ? -left : left, d, sizeof(d));
    snprintf(out, n, left < 0 ? "overdue by %s" : "in %s", d);
}

static const char *zoned_time(const char *iso, char *out, size_t n);

/* ---- status ---- */

static void kv_conn(FILE *f, const char *name, bool up, const char *detail)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s%s%s  %s", out_color(up ? "ok" : "bad"),
             up ? "connected" : "DISCONNECTED", out_color("reset"), detail);
    out_kv(f, name, buf);
}

/* Which status partitions this daemon applies: with several daemons, the
 * operator checks here that the group covers the topic. */
static void fmt_agency_status(FILE *f, const struct json *as)
{
    char parts[160] = "", buf[512];
    const struct json *pl = json_get(as, "partitions");
    size_t n = 0;
    for (size_t i = 0; pl && pl->type == JSON_ARRAY && i < pl->len && n + 24 < sizeof(parts);
         i++) {
        int64_t v = 0;
        json_int64(json_at(pl, i), &v);
        n += (size_t)snprintf(parts + n, sizeof(parts) - n, "%s%lld", i ? "," : "",
                              (long long)v);
    }
    snprintf(buf, sizeof(buf), "partitions [%s] of %s, %s applied, %s dead-lettered, "
             "%s rebalances", parts, str(as, "topic") ?: "?", num(as, "applied"),
             num(as, "dead_lettered"), num(as, "rebalances"));
    out_kv(f, "agency statuses", buf);
}

/* "2026, 2027" from a JSON array of years. */
static void years_list(const struct json *a, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; a && a->type == JSON_ARRAY && i < a->len && n + 8 < len; i++) {
        int64_t y = 0;
        json_int64(json_at(a, i), &y);
        n += (size_t)snprintf(out + n, len - n, "%s%lld", i ? ", " : "", (long long)y);
    }
}

/* A year a deadline used without a calendar file is a deadline that may be
 * a day off: said in red, with what to do. */
static void fmt_calendars(FILE *f, const struct json *cals)
{
    for (size_t i = 0; cals && cals->type == JSON_ARRAY && i < cals->len; i++) {
        const struct json *c = json_at(cals, i);
        char label[96], years[160], fb[160], buf[512];
        years_list(json_get(c, "years"), years, sizeof(years));
        years_list(json_get(c, "fallback_years"), fb, sizeof(fb));
        snprintf(label, sizeof(label), "calendar %s", str(c, "name") ?: "?");
        snprintf(buf, sizeof(buf), "years from files: %s%s%s%s%s%s", years[0] ? years : "none",
                 fb[0] ? out_color("bad") : "", fb[0] ? "; WITHOUT A FILE (Labour Code "
                 "fallback): " : "", fb, fb[0] ? "; add config/calendar/ru-YYYY.conf" : "",
                 fb[0] ? out_color("reset") : "");
        out_kv(f, label, buf);
    }
}

/* One polled page on one line: "ok:7000 idle, 12 polls, 3 items, 0 errors; note". */
static void fmt_poll_line(FILE *f, const struct json *p)
{
    char key[160], buf[512];
    snprintf(key, sizeof(key), "poll %s:%s", str(p, "source") ?: "?", str(p, "page") ?: "?");
    int n = snprintf(buf, sizeof(buf), "%s, %s polls, %s items, %s errors", str(p, "state") ?: "?",
                     num(p, "polls"), num(p, "items"), num(p, "errors"));
    if (str(p, "lease_holder") && n > 0 && (size_t)n < sizeof(buf))
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; polled by %s", str(p, "lease_holder"));
    if (str(p, "note") && n > 0 && (size_t)n < sizeof(buf))
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; %s", str(p, "note"));
    if (str(p, "last_error") && n > 0 && (size_t)n < sizeof(buf))
        snprintf(buf + n, sizeof(buf) - (size_t)n, "; last error: %s", str(p, "last_error"));
    out_kv(f, key, buf);
}

static void fmt_polls(FILE *f, const struct json *polls)
{
    for (uint32_t i = 0; polls && polls->type == JSON_ARRAY && i < polls->len; i++)
        fmt_poll_line(f, &polls->u.a[i]);
}

void fmt_poll(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    const struct json *p = json_get(r, "poll");
    if (p == NULL || p->type != JSON_OBJECT) {
        fprintf(f, "the page is not polled (no poll = yes, or its plugin cannot poll)\n");
        return;
    }
    out_kv_begin(19);
    fmt_poll_line(f, p);
    out_kv(f, "cursor", str(p, "cursor") ?: "");
}

void fmt_status(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    char buf[512], up[32];
    int64_t secs = 0;
    json_int64(json_get(r, "uptime_s"), &secs);
    format_duration(secs * 1000, up, sizeof(up));
    out_kv_begin(19);
    snprintf(buf, sizeof(buf), "%s (%s), up %s", str(r, "state") ?: "?",
             str(r, "instance") ?: "?", up);
    out_kv(f, "appealsd", buf);
    snprintf(buf, sizeof(buf), "%s, configuration generation %s, %s reloads, %s refused",
             str(r, "version") ?: "?", num(r, "config_generation"), num(r, "reloads"),
             num(r, "reload_failures"));
    out_kv(f, "version", buf);
    if (str(r, "last_reload_error"))
        out_kv(f, "last reload error", str(r, "last_reload_error"));
    if (str(r, "log_level")) {
        snprintf(buf, sizeof(buf), "%s%s", str(r, "log_level"),
                 json_truthy(json_get(r, "log_level_runtime")) ? " (set at runtime)" : "");
        out_kv(f, "log level", buf);
    }
    const struct json *k = json_get(r, "kafka");
    snprintf(buf, sizeof(buf), "%s brokers up, %s queued (%s)", num(k, "brokers_up"),
             num(k, "queued"), str(k, "brokers") ?: "?");
    kv_conn(f, "kafka", json_truthy(json_get(k, "connected")), buf);
    const struct json *rd = json_get(r, "redis");
    bool empty = json_truthy(json_get(rd, "came_back_empty"));
    snprintf(buf, sizeof(buf), "%s pending, %s errors, %s timeouts (%s)%s%s%s", num(rd, "pending"),
             num(rd, "errors"), num(rd, "timeouts"), str(rd, "url") ?: "?", out_color("bad"),
             empty ? "  CAME BACK EMPTY: run appealsctl rebuild" : "", out_color("reset"));
    kv_conn(f, "redis", json_truthy(json_get(rd, "connected")), buf);
    if (str(rd, "master")) {
        char since[64];
        snprintf(buf, sizeof(buf), "%s of '%s' since %s, %s failovers followed, "
                 "writes on %s replicas before release", *str(rd, "master") ? str(rd, "master")
                 : "(none yet)", str(rd, "master_name") ?: "?",
                 zoned_time(str(rd, "master_since"), since, sizeof(since)),
                 num(rd, "failovers"), num(rd, "min_replicas"));
        out_kv(f, "redis master", buf);
    }
    const struct json *sp = json_get(r, "spool");
    char used[24], cap[24];
    snprintf(buf, sizeof(buf), "%s unreleased, %s of %s, %s segments, %s fsyncs, "
             "%s write errors", num(sp, "unreleased"), size_of(sp, "bytes", used, sizeof(used)),
             size_of(sp, "max_bytes", cap, sizeof(cap)), num(sp, "segments"), num(sp, "fsyncs"),
             num(sp, "write_errors"));
    out_kv(f, "spool", buf);
    const struct json *p = json_get(r, "pipeline");
    snprintf(buf, sizeof(buf), "%s in flight, %s published, %s duplicates, %s ignored, "
             "%s quarantined, %s answers", num(p, "inflight"), num(p, "published"),
             num(p, "duplicates"), num(p, "ignored"), num(p, "quarantined"), num(p, "answers"));
    out_kv(f, "pipeline", buf);
    const struct json *h = json_get(r, "http");
    snprintf(buf, sizeof(buf), "port %s, %s waiting for the spool", num(h, "port"),
             num(h, "waiting_for_spool"));
    out_kv(f, "http", buf);
    const struct json *as = json_get(r, "agency_status");
    if (as)
        fmt_agency_status(f, as);
    const struct json *c = json_get(r, "control");
    if (c) {
        snprintf(buf, sizeof(buf), "%s clients, %s tailing, %s events sent, %s dropped",
                 num(c, "clients"), num(c, "tail_subscribers"), num(c, "events_sent"),
                 num(c, "events_dropped"));
        out_kv(f, "control", buf);
    }
    fmt_calendars(f, json_get(r, "calendars"));
    fmt_polls(f, json_get(r, "polls"));
}

/* ---- stats ---- */

static const char *percent(const struct json *v, char *out, size_t n)
{
    if (v == NULL || v->type != JSON_NUMBER)
        return "-";
    snprintf(out, n, "%.1f%%", strtod(v->u.s, NULL) * 100.0);
    return out;
}

void fmt_stats(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    const char *by = str(r, "by") ?: "org";
    char head[32];
    snprintf(head, sizeof(head), "%s", by);
    for (char *p = head; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    struct table *t = table_new();
    table_col(t, head, ALIGN_LEFT, 40);
    static const char *const heads[] = {"OPEN", "ANSWERED", "CLOSED", "OVERDUE",
                                        "BREACHED TODAY", "COMPLIANCE", "MEDIAN 1ST RESPONSE"};
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
        table_col(t, heads[i], ALIGN_RIGHT, 0);
    const struct json *rows = json_get(r, "rows");
    for (uint32_t i = 0; rows && rows->type == JSON_ARRAY && i < rows->len; i++) {
        const struct json *row = &rows->u.a[i];
        char pc[16], med[32];
        int64_t overdue = 0, median = -1;
        json_int64(json_get(row, "overdue"), &overdue);
        const struct json *cv = json_get(row, "first_response_compliance");
        bool low = cv && cv->type == JSON_NUMBER && strtod(cv->u.s, NULL) < 0.9;
        table_cell(t, str(row, "key") ?: num(row, "key"), NULL);
        table_cell(t, num(row, "open"), NULL);
        table_cell(t, num(row, "answered"), NULL);
        table_cell(t, num(row, "closed"), NULL);
        table_cell(t, num(row, "overdue"), overdue > 0 ? "bad" : NULL);
        table_cell(t, num(row, "breached_today"), NULL);
        table_cell(t, percent(cv, pc, sizeof(pc)), low ? "warn" : NULL);
        if (json_int64(json_get(row, "median_first_response_s"), &median) && median >= 0)
            format_duration(median * 1000, med, sizeof(med));
        else
            snprintf(med, sizeof(med), "-");
        table_cell(t, med, NULL);
    }
    table_print(t, f);
}

/* ---- show ---- */

static const char *const show_order[] = {
    "id", "state", "org", "source", "page", "link", "municipality", "category", "priority",
    "received", "created", "first_response_due", "first_response", "first_response_link",
    "author", "rule", "item_kind", NULL,
};

static bool listed(const char *k)
{
    for (const char *const *p = show_order; *p; p++)
        if (strcmp(*p, k) == 0)
            return true;
    return strcmp(k, "text") == 0;
}

/* The clocks' storage fields (fr, fr_due, fr_bud, rg_st, ...): shown in
 * words from the reply's "sla" object unless --raw. */
static bool clock_field(const char *k)
{
    static const char *const prefix[] = {"fr", "res", "fz", "rg", "fw"};
    static const char *const suffix[] = {"", "_due", "_left", "_bud", "_at", "_used", "_st"};
    for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++) {
        size_t n = strlen(prefix[i]);
        if (strncmp(k, prefix[i], n) != 0)
            continue;
        for (size_t j = 0; j < sizeof(suffix) / sizeof(suffix[0]); j++)
            if (strcmp(k + n, suffix[j]) == 0)
                return true;
    }
    return false;
}

/* "2026-11-29 10:14 +03" from "2026-11-29T10:14:14.276+03:00": the daemon's
 * local time, labelled with its offset. */
static const char *zoned_time(const char *iso, char *out, size_t n)
{
    if (iso == NULL || strlen(iso) < 19 || iso[10] != 'T')
        return iso ? iso : "-";
    const char *zone = strpbrk(iso + 19, "+-Z");
    snprintf(out, n, "%.10s %.5s %.3s", iso, iso + 11, zone ? zone : "");
    return out;
}

static void show_field(FILE *f, const char *k, const struct json *v)
{
    char t[64];
    const char *s = json_text(v);
    if (s == NULL || (v->type == JSON_STRING && s[0] == '\0'))
        return;
    if (v->type == JSON_STRING && strlen(s) >= 25 && s[10] == 'T' && s[4] == '-')
        s = zoned_time(s, t, sizeof(t));
    out_kv(f, k, s);
}

static const char *clock_label(const char *name)
{
    static const char *const names[][2] = {
        {"first_response", "first response"}, {"resolution", "resolution"},
        {"formal", "59-FZ term"}, {"registration", "registration"}, {"forward", "forward"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i][0], name) == 0)
            return names[i][1];
    return name;
}

static const char *ms_text(const struct json *o, const char *k, char *out, size_t n)
{
    int64_t v;
    if (!json_int64(json_get(o, k), &v))
        return "-";
    format_duration(v < 0 ? -v : v, out, n);
    return out;
}

/* One clock of the "sla" object in a line: what state, when, how much. */
static void show_clock(FILE *f, const char *name, const struct json *c)
{
    char line[256], t[48], a[32], b[32], rel[64];
    const char *st = str(c, "state") ?: "?";
    int64_t left = 0, due_ms = 0;
    json_int64(json_get(c, "left_ms"), &left);
    if (strcmp(st, "running") == 0) {
        const char *due = str(c, "due");
        if (due && parse_iso8601(due, "UTC", &due_ms) == 0)
            relative(due_ms, rel, sizeof(rel));
        else
            snprintf(rel, sizeof(rel), "?");
        snprintf(line, sizeof(line), "running, due %s (%s) of %s allowed",
                 zoned_time(due, t, sizeof(t)), rel, ms_text(c, "allowed_ms", a, sizeof(a)));
    } else if (strcmp(st, "met") == 0 || strcmp(st, "stopped") == 0) {
        const char *at = str(c, strcmp(st, "met") == 0 ? "met_at" : "stopped_at");
        int n = snprintf(line, sizeof(line), "%s %s", st, zoned_time(at, t, sizeof(t)));
        if (json_get(c, "used_ms") && n > 0)
            snprintf(line + n, sizeof(line) - (size_t)n, ", after %s of %s",
                     ms_text(c, "used_ms", a, sizeof(a)), ms_text(c, "allowed_ms", b, sizeof(b)));
    } else {
        snprintf(line, sizeof(line), "%s, %s %s of %s", st, ms_text(c, "left_ms", a, sizeof(a)),
                 left < 0 ? "over" : "left", ms_text(c, "allowed_ms", b, sizeof(b)));
    }
    if (json_truthy(json_get(c, "breached")))
        strncat(line, ", BREACHED", sizeof(line) - strlen(line) - 1);
    out_kv(f, clock_label(name), line);
}

static void show_clocks(FILE *f, const struct json *sla)
{
    const struct json *clocks = json_get(sla, "clocks");
    if (clocks == NULL || clocks->type != JSON_OBJECT || clocks->len == 0)
        return;
    for (uint32_t i = 0; i < clocks->len; i++)
        show_clock(f, clocks->u.o[i].key, &clocks->u.o[i].val);
}

static void show_timers(FILE *f, const struct json *timers)
{
    if (timers == NULL || timers->type != JSON_ARRAY || timers->len == 0) {
        fprintf(f, "\nno deadline is armed\n");
        return;
    }
    fprintf(f, "\n");
    struct table *t = table_new();
    table_col(t, "DEADLINE", ALIGN_LEFT, 0);
    table_col(t, "DUE", ALIGN_LEFT, 0);
    table_col(t, "WHEN", ALIGN_LEFT, 0);
    for (uint32_t i = 0; i < timers->len; i++) {
        const struct json *e = &timers->u.a[i];
        char when[32], rel[64];
        int64_t due = 0;
        json_int64(json_get(e, "due_ms"), &due);
        relative(due, rel, sizeof(rel));
        table_cell(t, str(e, "timer"), NULL);
        table_cell(t, short_time(str(e, "due"), when, sizeof(when)), NULL);
        table_cell(t, rel, due < now() ? "bad" : NULL);
    }
    table_print(t, f);
}

static void show_audit(FILE *f, const struct json *audit)
{
    if (audit == NULL || audit->type != JSON_ARRAY || audit->len == 0)
        return;
    fprintf(f, "\n");
    struct table *t = table_new();
    table_col(t, "AT", ALIGN_LEFT, 0);
    table_col(t, "BY", ALIGN_LEFT, 32);
    table_col(t, "ACTION", ALIGN_LEFT, 0);
    table_col(t, "DETAILS", ALIGN_LEFT, 72);
    for (uint32_t i = 0; i < audit->len; i++) {
        const struct json *e = &audit->u.a[i];
        char when[32], details[512] = "";
        if (e->type == JSON_STRING) {
            table_cell(t, "-", NULL);
            table_cell(t, "-", NULL);
            table_cell(t, "-", NULL);
            table_cell(t, json_str(e), NULL);
            continue;
        }
        if (str(e, "org"))
            snprintf(details, sizeof(details), "org %s; ", str(e, "org"));
        if (str(e, "reason"))
            snprintf(details + strlen(details), sizeof(details) - strlen(details), "%s",
                     str(e, "reason"));
        table_cell(t, short_time(str(e, "at"), when, sizeof(when)), NULL);
        table_cell(t, str(e, "actor"), NULL);
        table_cell(t, str(e, "action"), NULL);
        table_cell(t, details[0] ? details : "-", NULL);
    }
    table_print(t, f);
}

void fmt_show(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    const struct json *a = json_get(r, "appeal");
    out_kv_begin(22);
    if (str(r, "id"))
        out_kv(f, "appeal", str(r, "id"));
    if (str(r, "number"))
        out_kv(f, "number", str(r, "number"));
    for (const char *const *k = show_order; *k; k++)
        if (json_get(a, *k))
            show_field(f, *k, json_get(a, *k));
    for (uint32_t i = 0; a && a->type == JSON_OBJECT && i < a->len; i++) {
        const char *k = a->u.o[i].key;
        size_t kl = strlen(k);
        bool internal = (kl > 3 && strcmp(k + kl - 3, "_ms") == 0) || clock_field(k);
        if (!listed(k) && strcmp(k, "seq") != 0 && (raw_fields || !internal))
            show_field(f, k, &a->u.o[i].val);
    }
    if (!raw_fields)
        show_clocks(f, json_get(r, "sla"));
    if (json_get(a, "seq"))
        out_kv(f, "events", num(a, "seq"));
    if (str(a, "text"))
        fprintf(f, "\n%s\n", str(a, "text"));
    show_timers(f, json_get(r, "timers"));
    show_audit(f, json_get(r, "audit"));
}

/* ---- list ---- */

void fmt_list(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    const struct json *rows = json_get(r, "appeals");
    uint32_t n = rows && rows->type == JSON_ARRAY ? rows->len : 0;
    if (n == 0) {
        fprintf(f, "no open appeal matches\n");
        return;
    }
    struct table *t = table_new();
    table_col(t, "APPEAL", ALIGN_LEFT, 40);
    table_col(t, "ORG", ALIGN_LEFT, 20);
    table_col(t, "STATE", ALIGN_LEFT, 0);
    table_col(t, "CATEGORY", ALIGN_LEFT, 20);
    table_col(t, "MUNICIPALITY", ALIGN_LEFT, 20);
    table_col(t, "PRIORITY", ALIGN_LEFT, 0);
    table_col(t, "RECEIVED", ALIGN_LEFT, 0);
    table_col(t, "DUE", ALIGN_LEFT, 0);
    for (uint32_t i = 0; i < n; i++) {
        const struct json *e = &rows->u.a[i];
        char rcv[32], due[48];
        bool overdue = json_truthy(json_get(e, "overdue"));
        /* The next deadline when the daemon knows it, else the first
         * response's while it is still awaited. */
        const char *d = str(e, "due");
        if (d == NULL && str(e, "answered_at") == NULL)
            d = str(e, "first_response_due");
        table_cell(t, str(e, "id"), NULL);
        table_cell(t, str(e, "org"), NULL);
        table_cell(t, str(e, "state"), NULL);
        table_cell(t, str(e, "category"), NULL);
        table_cell(t, str(e, "municipality"), NULL);
        table_cell(t, str(e, "priority"), NULL);
        table_cell(t, short_time(str(e, "received_at"), rcv, sizeof(rcv)), NULL);
        if (overdue && d) {
            char s[32];
            snprintf(due, sizeof(due), "%s OVERDUE", short_time(d, s, sizeof(s)));
            table_cell(t, due, "bad");
        } else {
            table_cell(t, short_time(d, due, sizeof(due)), NULL);
        }
    }
    table_print(t, f);
    fprintf(f, "%s%u appeal%s%s%s\n", out_color("dim"), n, n == 1 ? "" : "s",
            json_truthy(json_get(r, "truncated"))
                ? "; more match (raise --limit or narrow the filters)" : "",
            out_color("reset"));
}

/* ---- commands that change state ---- */

void fmt_change(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    fprintf(f, "%s: %s, state %s%s%s, event %s\n", str(r, "id") ?: "?", cmd->name,
            out_color("head"), str(r, "state") ?: "?", out_color("reset"), num(r, "seq"));
    out_kv_begin(22);
    for (uint32_t i = 0; r && r->type == JSON_OBJECT && i < r->len; i++) {
        const char *k = r->u.o[i].key;
        const struct json *v = &r->u.o[i].val;
        if (strcmp(k, "id") && strcmp(k, "state") && strcmp(k, "seq") && json_text(v))
            show_field(f, k, v);
    }
}

void fmt_rebuild(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    fprintf(f, "re-armed %s open appeals with %s deadlines\n", num(r, "appeals"),
            num(r, "timers"));
}

void fmt_reload(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    fprintf(f, "reloaded: configuration generation %s is active\n",
            num(r, "config_generation"));
}

void fmt_log_level(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    fprintf(f, "log level %s (was %s; the configuration file says %s)\n",
            str(r, "level") ?: "?", str(r, "was") ?: "?", str(r, "file_level") ?: "?");
}

void fmt_help(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    const struct json *cmds = json_get(r, "commands");
    struct table *t = table_new();
    table_col(t, "COMMAND", ALIGN_LEFT, 0);
    table_col(t, "ACCESS", ALIGN_LEFT, 0);
    table_col(t, "WHAT", ALIGN_LEFT, 0);
    for (uint32_t i = 0; cmds && cmds->type == JSON_ARRAY && i < cmds->len; i++) {
        const struct json *c = &cmds->u.a[i];
        table_cell(t, str(c, "name"), NULL);
        table_cell(t, json_truthy(json_get(c, "admin")) ? "admin" : "read-only", NULL);
        table_cell(t, str(c, "help"), NULL);
    }
    table_print(t, f);
    fprintf(f, "this connection is %s\n",
            json_truthy(json_get(r, "admin")) ? "admin" : "read-only");
}

void fmt_tail_start(FILE *f, const struct cli_command *cmd, const struct json *r) {}

/* ---- tail ---- */

static void padded(FILE *f, const char *s, size_t width, const char *color)
{
    char cut[256];
    fit_width(cut, sizeof(cut), s ? s : "-", width);
    size_t w = display_width(cut);
    fprintf(f, "%s%s%s", out_color(color), cut, color ? out_color("reset") : "");
    for (; w < width + 1; w++)
        fputc(' ', f);
}

static const char *event_color(const char *type, const char *event)
{
    if (event == NULL)
        return NULL;
    if (strcmp(event, "breach") == 0 || strcmp(event, "escalation") == 0)
        return "bad";
    /* a page hid a complaint whose clocks still run: the ЦУР must see it */
    if (strcmp(event, "warning") == 0 || strcmp(event, "removed_by_page") == 0)
        return "warn";
    if (strcmp(event, "created") == 0)
        return "head";
    return type && strcmp(type, "appeal") == 0 ? NULL : "dim";
}

/* "10:14:14+03" from "2026-11-29T10:14:14.936+03:00": the daemon's local
 * time with its zone, so a line read next to the log (UTC) is not an hour
 * or three off. */
static void event_time(const char *at, char *out, size_t n)
{
    if (at == NULL || strlen(at) < 19) {
        snprintf(out, n, "--:--:--");
        return;
    }
    const char *zone = strpbrk(at + 19, "+-Z");
    if (zone && *zone == 'Z')
        snprintf(out, n, "%.8sZ", at + 11);
    else
        snprintf(out, n, "%.8s%.3s", at + 11, zone ? zone : "");
}

static void print_event(FILE *f, const struct json *e)
{
    char due[64] = "", text[512], when[24];
    const char *d = str(e, "due");
    event_time(str(e, "at"), when, sizeof(when));
    fprintf(f, "%-11s  ", when);
    padded(f, str(e, "event"), 15, event_color(str(e, "type"), str(e, "event")));
    padded(f, str(e, "appeal_id"), 30, NULL);
    padded(f, str(e, "org"), 14, NULL);
    padded(f, str(e, "category"), 12, NULL);
    padded(f, str(e, "state"), 9, NULL);
    if (d) {
        char s[32];
        const char *t = short_time(d, s, sizeof(s));
        /* the line's time already carries the zone */
        snprintf(due, sizeof(due), "due %.11s", strlen(t) >= 16 ? t + 5 : t);
    }
    padded(f, due, 15, NULL);
    const char *body = str(e, "text") ?: str(e, "reason");
    if (body) {
        char clean[512];
        snprintf(clean, sizeof(clean), "%s", body);
        for (char *p = clean; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        fit_width(text, sizeof(text), clean, 60);
        fputs(text, f);
    }
    fputc('\n', f);
}

int fmt_stream_line(FILE *f, const struct json *line)
{
    const struct json *e = json_get(line, "event");
    if (e && e->type == JSON_OBJECT) {
        print_event(f, e);
        return 1;
    }
    int64_t dropped;
    if (json_int64(json_get(line, "dropped"), &dropped)) {
        fprintf(f, "%s-- %" PRId64 " event%s dropped: this client fell behind; filter more or "
                   "raise [control] max_output --%s\n", out_color("bad"), dropped,
                dropped == 1 ? "" : "s", out_color("reset"));
        return 0;
    }
    return -1;
}

/* ---- incidents ---- */

void fmt_incident(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    static const char *const order[] = {"incident", "state", "size", "priority", "lead",
                                        "category", "municipality", "org", "merged_into",
                                        "split_from", NULL};
    char t1[32], t2[32];
    out_kv_begin(14);
    for (const char *const *k = order; *k; k++)
        if (json_text(json_get(r, *k)))
            out_kv(f, *k, json_text(json_get(r, *k)));
    if (str(r, "first_at"))
        out_kv(f, "first report", short_time(str(r, "first_at"), t1, sizeof(t1)));
    if (str(r, "last_at"))
        out_kv(f, "latest report", short_time(str(r, "last_at"), t2, sizeof(t2)));
    const struct json *as = json_get(r, "appeals");
    struct table *t = table_new();
    table_col(t, "APPEAL", ALIGN_LEFT, 0);
    table_col(t, "CREATED", ALIGN_LEFT, 0);
    for (uint32_t i = 0; as && as->type == JSON_ARRAY && i < as->len; i++) {
        table_cell(t, str(&as->u.a[i], "id"), NULL);
        table_cell(t, short_time(str(&as->u.a[i], "created_at"), t1, sizeof(t1)), NULL);
    }
    fputc('\n', f);
    table_print(t, f);
}

void fmt_incident_change(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    const char *from = str(r, "merged_from");
    if (from)
        fprintf(f, "%s merged into %s\n", from, str(r, "incident") ?: "?");
    else
        fprintf(f, "%s split from %s\n", str(r, "incident") ?: "?", str(r, "split_from") ?: "?");
}

/* ---- report ---- */

/* The report's columns: the reply's member, the table's heading, and how it
 * is shown (seconds as a duration, a share in per cent, else as it is). */
static const struct {
    const char *key, *head;
    char kind;                    /* 'd' duration, '%' share, 'n' number */
} report_cols[] = {
    {"appeals", "APPEALS", 'n'}, {"answered_on_time", "ON TIME", 'n'},
    {"on_time_share", "ON TIME %", '%'}, {"median_first_response_s", "MEDIAN 1ST", 'd'},
    {"p90_first_response_s", "P90 1ST", 'd'}, {"formal_answers", "FORMAL", 'n'},
    {"formal_share", "FORMAL %", '%'}, {"reworks", "REWORKS", 'n'},
    {"reopened_by_citizen", "REOPENED", 'n'}, {"confirmed", "CONFIRMED", 'n'},
    {"incidents", "INCIDENTS", 'n'}, {"incident_reports", "IN INCIDENTS", 'n'},
    {"largest_incident", "LARGEST", 'n'},
};
#define NREPORT_COLS (sizeof(report_cols) / sizeof(report_cols[0]))

static const char *report_cell(const struct json *row, size_t i, char *buf, size_t n)
{
    const struct json *v = json_get(row, report_cols[i].key);
    int64_t s;
    if (v == NULL || v->type == JSON_NULL)
        return "-";
    if (report_cols[i].kind == '%')
        return percent(v, buf, n);
    if (report_cols[i].kind == 'd' && json_int64(v, &s)) {
        format_duration(s * 1000, buf, n);
        return buf;
    }
    return json_text(v) ? json_text(v) : "-";
}

/* --csv: the reply's numbers as they are (shares 0..1, seconds), one line
 * per row after a header of member names. */
static void report_csv(FILE *f, const struct json *rows)
{
    fprintf(f, "key");
    for (size_t i = 0; i < NREPORT_COLS; i++)
        fprintf(f, ",%s", report_cols[i].key);
    fputc('\n', f);
    for (uint32_t r = 0; rows && rows->type == JSON_ARRAY && r < rows->len; r++) {
        const struct json *row = &rows->u.a[r];
        const char *key = str(row, "key") ?: "";
        fprintf(f, strpbrk(key, ",\"\n") ? "\"%s\"" : "%s", key);   /* codes: no quotes inside */
        for (size_t i = 0; i < NREPORT_COLS; i++) {
            const struct json *v = json_get(row, report_cols[i].key);
            fprintf(f, ",%s", v && v->type != JSON_NULL && json_text(v) ? json_text(v) : "");
        }
        fputc('\n', f);
    }
}

void fmt_report(FILE *f, const struct cli_command *cmd, const struct json *r)
{
    const struct json *rows = json_get(r, "rows");
    if (raw_fields) {
        report_csv(f, rows);
        return;
    }
    fprintf(f, "%s .. %s, by %s\n", str(r, "from") ?: "?", str(r, "to") ?: "?",
            str(r, "by") ?: "org");
    struct table *t = table_new();
    table_col(t, strcmp(str(r, "by") ?: "org", "org") == 0 ? "ORG" : "MUNICIPALITY", ALIGN_LEFT,
              40);
    for (size_t i = 0; i < NREPORT_COLS; i++)
        table_col(t, report_cols[i].head, ALIGN_RIGHT, 0);
    for (uint32_t k = 0; rows && rows->type == JSON_ARRAY && k < rows->len; k++) {
        const struct json *row = &rows->u.a[k];
        table_cell(t, str(row, "key") ?: "-", NULL);
        for (size_t i = 0; i < NREPORT_COLS; i++) {
            char buf[32];
            table_cell(t, report_cell(row, i, buf, sizeof(buf)), NULL);
        }
    }
    table_print(t, f);
}
