/* Operator subcommands of the appealsd binary (`appealsd parse ...`,
 * `appealsd classify ...`): tools that share the daemon's config and code
 * but run once, on stdin/stdout, with no side effects. */
#ifndef APPEALSD_CLI_H
#define APPEALSD_CLI_H

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);   /* argv[0] is the subcommand name */
    const char *synopsis;
};

/* NULL-terminated (subcommands.c). */
extern const struct subcommand subcommands[];

/* `appealsd route [--explain] [--no-classify]` (route_cmd.c). */
int route_main(int argc, char **argv);

/* `appealsd deadline`: working-time arithmetic (deadline.c). */
int cli_deadline(int argc, char **argv);

/* `appealsd answer-check`: the answer judge over JSON lines (answer/answer_cli.c). */
int answer_check_main(int argc, char **argv);
/* `appealsd incidents`: grouping appeals into incidents (incident/incidents_cli.c). */
int incidents_main(int argc, char **argv);

/* Default configuration file: $APPEALSD_CONFIG or SYSCONFDIR/appealsd/appealsd.conf. */
const char *cli_default_config(void);

#endif
