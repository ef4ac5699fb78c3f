/* strategy_control.h — `hilo strategy start|pause|resume NAME`, `hilo strategy report NAME
 * [--json]` (strategy_control.c). Used by cmd_strategy.c. */
#ifndef HILO_STRATEGY_CONTROL_H
#define HILO_STRATEGY_CONTROL_H

#include "cli.h"

/* argv[0] is the verb (start, pause, resume, report). */
int hilo_strategy_control(hilo_cli_t *cli, int argc, char **argv);

#endif
