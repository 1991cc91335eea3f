/* appealsd deadline: working-time arithmetic from the command line, with the
 * same calendars and hours the daemon uses.
 *
 *   appealsd deadline -c CONFIG [--org ORG] --from TIME --add DURATION [--calendar]
 *                     [--policy NAME]
 *
 * prints the due instant in ISO 8601 with its UTC offset. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "deadline_explain.h"
#include "directory.h"
#include "hours.h"
#include "sla.h"
#include "units.h"
#include "worktime.h"

static void deadline_usage(FILE *f)
{
    fprintf(f, "usage: appealsd deadline [-c CONFIG] [--set K=V]... [--org ORG] --from TIME "
               "--add DURATION [--calendar] [--policy NAME] [--explain]\n"
               "  TIME      2026-11-30T09:15, 2026-11-30T09:15:00+03:00, @UNIX or now\n"
               "            (without an offset: local time of the organisation's hours)\n"
               "  DURATION  8h = 8 working hours, 3d = the same time on the 3rd working day,\n"
               "            1d4h, 90m; --calendar counts calendar time instead\n"
               "  NAME      count as that policy does: --policy 59fz --add 30d is the 59-FZ\n"
               "            term, from the day after TIME to the end of the last day, a day\n"
               "            off moved by the policy's due_on_day_off\n"
               "  --explain prints, after the answer, the hours per weekday, the week's\n"
               "            total and the calendar's days and years it used\n");
}

/* Under a policy: its time base, and a 59-FZ policy's legal count of days. */
static int64_t policy_due(const struct sched *s, const struct policy *p, int64_t from,
                          const struct wdur *d, bool calendar_time)
{
    if (p == NULL)
        return worktime_add_dur(s, from, d, calendar_time);
    if (p->legal_days && d->ms == 0 && d->days > 0)
        return worktime_legal_end(s, from, d->days, (enum day_off_rule)p->due_on_day_off);
    return worktime_add_dur(s, from, d, p->calendar_time);
}

int cli_deadline(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
        {"org", required_argument, NULL, 'o'},    {"from", required_argument, NULL, 'f'},
        {"add", required_argument, NULL, 'a'},    {"calendar", no_argument, NULL, 'C'},
        {"policy", required_argument, NULL, 'p'}, {"explain", no_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config = cli_default_config(), *org_code = NULL, *from = NULL, *add = NULL;
    const char *policy = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof(char *));
    size_t nsets = 0;
    bool calendar_time = false, explain = false;
    int opt, rc = 2;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'o': org_code = optarg; break;
        case 'f': from = optarg; break;
        case 'a': add = optarg; break;
        case 'C': calendar_time = true; break;
        case 'E': explain = true; break;
        case 'p': policy = optarg; break;
        case 'h': deadline_usage(stdout); free(sets); return 0;
        default: deadline_usage(stderr); free(sets); return 2;
        }
    }
    struct wdur dur;
    if (from == NULL || add == NULL || optind < argc) {
        deadline_usage(stderr);
        free(sets);
        return 2;
    }
    if (wdur_parse(add, &dur) != 0) {
        fprintf(stderr, "appealsd deadline: '%s' is not a duration like 8h, 3d or 1d4h\n", add);
        free(sets);
        return 2;
    }
    struct diag d = {0};
    struct config_opts o = {.path = config, .overrides = sets, .skip_plugins = true};
    struct apd_config *c = config_load(&o, &d);
    if (c == NULL) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.msg[i]);
        rc = 1;
        goto out;
    }
    const struct org *org = NULL;
    if (org_code && (org = directory_org(c->dir, org_code)) == NULL) {
        fprintf(stderr, "appealsd deadline: no organisation '%s' in %s\n", org_code, config);
        rc = 1;
        goto out;
    }
    struct sched s = sla_sched(c, org);
    int64_t t;
    if (strcmp(from, "now") == 0) {
        t = now_ms();
    } else if (parse_iso8601(from, s.h->timezone, &t) != 0) {
        fprintf(stderr, "appealsd deadline: '%s' is not a time like 2026-11-30T09:15 or "
                "2026-11-30T09:15:00+03:00\n", from);
        rc = 2;
        goto out;
    }
    const struct policy *pol = NULL;
    if (policy && (pol = sla_policy_find(c, policy)) == NULL) {
        fprintf(stderr, "appealsd deadline: no [policy \"%s\"] in %s\n", policy, config);
        rc = 1;
        goto out;
    }
    char out[48];
    int64_t due = policy_due(&s, pol, t, &dur, calendar_time);
    format_iso8601(due, s.h->timezone, out, sizeof(out));
    printf("%s\n", out);
    if (explain)
        deadline_explain(&s, t, due, stdout);
    rc = 0;
out:
    diag_free(&d);
    config_unref(c);
    free(sets);
    return rc;
}
