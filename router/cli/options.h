/* options.h — how every `hilo` command reads its options: GNU getopt_long (long options with
 * `--opt=value` or `--opt value`, unique prefixes, `--` ending the options), quiet, with the
 * CLI's own message on a bad command line: "hilo CMD: unknown option '--x'" or "hilo CMD: option
 * '--limit' needs a value", after which the command prints its usage and exits HILO_EXIT_USAGE.
 * Used by main.c and the cmd_*.c files; knows nothing of Redis. */
#ifndef HILO_CLI_OPTIONS_H
#define HILO_CLI_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>

/* Starts the parse of a command's argv (argv[0] is the command's name): getopt keeps its state
 * in globals, and each command (or subcommand) parses its own argv from the start. */
void hilo_opts_begin(void);

/* The next option of argv, as getopt_long() returns it (the option's val), or -1 at the end of
 * the options: optind is then the first operand (GNU getopt moves operands after the options,
 * unless shortopts starts with '+': then the first operand ends the options). On an unknown
 * option, a missing value or a value given to an option that takes none it prints why, naming
 * `cmd` ("" for hilo's own options), and returns '?'. shortopts as getopt_long's ("" when the command has no short options). */
int hilo_opts_next(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Parses a decimal integer in [min, max]; false after printing "hilo CMD: OPTION wants ...". */
bool hilo_opts_long(const char *cmd, const char *option, const char *value, long min, long max, long *out);

#endif
