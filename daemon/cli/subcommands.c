#include <stdlib.h>

#include "apd_build.h"
#include "classify_cli.h"
#include "cli.h"

const char *cli_default_config(void)
{
    const char *env = getenv("APPEALSD_CONFIG");
    return env && *env ? env : APD_SYSCONF_DIR "/appealsd.conf";
}

int cli_parse(int argc, char **argv);

const struct subcommand subcommands[] = {
    {"classify", classify_main, "classify [-c FILE] [--set ...] < texts.jsonl   "
                                "kind, category, place, priority per JSON line"},
    {"parse", cli_parse,
     "parse --source NAME [-c FILE] [--path PATH] [FILE]   print what a webhook body means"},
    {"route", route_main,
     "route [--explain] [--no-classify] [-c FILE] [--set ...] < appeals.jsonl   "
     "classification and routing decision per JSON line"},
    {"deadline", cli_deadline,
     "deadline [-c FILE] [--org ORG] --from TIME --add DURATION [--calendar] "
     "[--policy NAME] [--explain]"},
    {"answer-check", answer_check_main,
     "answer-check [-c FILE] [--set ...] < answers.jsonl   substantive, formal or refusal "
     "per JSON line, with reasons"},
    {"incidents", incidents_main,
     "incidents [-c FILE] [--set ...] < appeals.jsonl   the incident of each appeal, "
     "in time order"},
    {NULL, NULL, NULL},
};
