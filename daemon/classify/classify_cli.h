/* `appealsd classify`: see classify_cli.c. */
#ifndef APPEALSD_CLASSIFY_CLI_H
#define APPEALSD_CLASSIFY_CLI_H

int classify_main(int argc, char **argv);

#endif
