/* commands.h — the `hilo` subcommands. Each takes the shared context and its own arguments
 * (argv[0] is the subcommand's name), prints its result on stdout and its complaints on stderr,
 * and returns an exit code (HILO_EXIT_*, cli.h). main.c dispatches to them. */
#ifndef HILO_COMMANDS_H
#define HILO_COMMANDS_H

#include "cli.h"

int hilo_cmd_import_debtors(hilo_cli_t *cli, int argc, char **argv); /* cmd_import.c */
int hilo_cmd_thread(hilo_cli_t *cli, int argc, char **argv);         /* cmd_thread.c */
int hilo_cmd_conversations(hilo_cli_t *cli, int argc, char **argv);  /* cmd_conversations.c */
int hilo_cmd_send(hilo_cli_t *cli, int argc, char **argv);           /* cmd_send.c */
int hilo_cmd_debtor(hilo_cli_t *cli, int argc, char **argv);         /* cmd_debtor.c */
int hilo_cmd_agent(hilo_cli_t *cli, int argc, char **argv);          /* cmd_agent.c */
int hilo_cmd_import_payments(hilo_cli_t *cli, int argc, char **argv); /* cmd_payments.c */
int hilo_cmd_promises(hilo_cli_t *cli, int argc, char **argv);       /* cmd_promises.c */
int hilo_cmd_strategy(hilo_cli_t *cli, int argc, char **argv);       /* cmd_strategy.c */
int hilo_cmd_report(hilo_cli_t *cli, int argc, char **argv);         /* cmd_report.c */
int hilo_cmd_migrate(hilo_cli_t *cli, int argc, char **argv);        /* cmd_migrate.c */
int hilo_cmd_migrate_addresses(hilo_cli_t *cli, int argc, char **argv); /* cmd_migrate.c */
int hilo_cmd_link(hilo_cli_t *cli, int argc, char **argv);           /* cmd_link.c */
int hilo_cmd_access_log(hilo_cli_t *cli, int argc, char **argv);     /* cmd_access_log.c */
int hilo_cmd_compliance(hilo_cli_t *cli, int argc, char **argv);     /* cmd_compliance.c */
int hilo_cmd_optimizer(hilo_cli_t *cli, int argc, char **argv);      /* cmd_optimizer.c */

#endif
