/* Writes appealsctl's bash completion from its command table (cli.c), at
 * build time, so the completion offers exactly the commands and options
 * appealsctl accepts: a hand-written script would fall behind the table.
 *
 *   appealsctl-completion > appealsctl.bash   (installed as
 *   share/bash-completion/completions/appealsctl) */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void option_words(const struct cli_opt *o)
{
    printf(" --%s", o->name);
    if (o->short_name)
        printf(" -%c", o->short_name);
}

/* The options that take a value, so the word after them is not a command. */
static void global_value_case(void)
{
    const char *sep = "";
    printf("            ");
    for (const struct cli_global *g = cli_globals; g->name; g++) {
        if (g->metavar == NULL)
            continue;
        printf("%s--%s", sep, g->name);
        if (g->short_name)
            printf("|-%c", g->short_name);
        sep = "|";
    }
    printf(") i=$((i + 1)) ;;\n");
}

static void command_case(const struct cli_command *c)
{
    printf("        %s) opts=\"--json --help", c->name);
    for (const struct cli_opt *const *o = c->opts; *o; o++)
        option_words(*o);
    printf("\" ;;\n");
}

/* Whether a command of two words ("incident show") follows another of its
 * group: the group's first word is offered once. */
static bool same_group(const struct cli_command *c)
{
    size_t n = strcspn(c->name, " ");
    return c > cli_commands && strncmp(c[-1].name, c->name, n) == 0 && c[-1].name[n] == ' ';
}

/* "incident) opts=\"show merge split\"": the group's second words. */
static void group_case(const struct cli_command *c)
{
    const char *group = c->name;
    size_t n = strcspn(group, " ");
    printf("        %.*s) opts=\"--json --help", (int)n, group);
    for (; c->name && strncmp(c->name, group, n) == 0 && c->name[n] == ' '; c++)
        printf(" %s", c->name + n + 1);
    printf("\" ;;\n");
}

static void choice_cases(void)
{
    for (const struct cli_command *c = cli_commands; c->name; c++)
        for (const struct cli_opt *const *o = c->opts; *o; o++) {
            if ((*o)->kind != OPT_CHOICE || (*o)->choices == NULL)
                continue;
            printf("        --%s) COMPREPLY=($(compgen -W \"", (*o)->name);
            for (const char *const *ch = (*o)->choices; *ch; ch++)
                printf("%s%s", ch == (*o)->choices ? "" : " ", *ch);
            printf("\" -- \"$cur\")); return ;;\n");
        }
}

int main(void)
{
    printf("# bash completion for appealsctl, generated from its command table\n"
           "_appealsctl() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
           "    local cmd= i opts\n"
           "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "        case ${COMP_WORDS[i]} in\n");
    global_value_case();
    printf("            -*) ;;\n"
           "            *) cmd=${COMP_WORDS[i]}; break ;;\n"
           "        esac\n"
           "    done\n"
           "    if [[ -z $cmd ]]; then\n"
           "        case $prev in\n"
           "        --socket|-s|--config|-c) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
           "        --color) COMPREPLY=($(compgen -W \"auto always never\" -- \"$cur\")); "
           "return ;;\n"
           "        esac\n"
           "        COMPREPLY=($(compgen -W \"");
    for (const struct cli_global *g = cli_globals; g->name; g++)
        printf("--%s ", g->name);
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (!strchr(c->name, ' ') || !same_group(c))
            printf("%s%.*s", c == cli_commands ? "" : " ", (int)strcspn(c->name, " "), c->name);
    printf("\" -- \"$cur\"))\n"
           "        return\n"
           "    fi\n"
           "    case $prev in\n");
    choice_cases();
    printf("    esac\n"
           "    case $cmd in\n");
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (!strchr(c->name, ' '))
            command_case(c);
        else if (!same_group(c))
            group_case(c);
    printf("        *) opts=\"--json --help\" ;;\n"
           "    esac\n"
           "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
           "}\n"
           "complete -F _appealsctl appealsctl\n");
    return ferror(stdout) ? 1 : 0;
}
