/* strategy_plan.h — `hilo strategy plan [--at TIME] [--json] [--limit N] [FILE...]`: a dry run of
 * the strategies on the portfolio in Redis. Reads every imported debtor (SSCAN hilo:debtors, then
 * pipelined HGETALLs of its debtor, conv, consent, promises and payments hashes, a batch at a
 * time), matches it (router/strategy), and for those in: the first step it can be sent, the
 * rendered text, and the time — the step's due time moved into the step's window and then into
 * the compliance gate's hours in the debtor's zone, the gate asked at that time. Writes nothing.
 * Used by cmd_strategy.c. */
#ifndef HILO_STRATEGY_PLAN_H
#define HILO_STRATEGY_PLAN_H

#include <stdint.h>

#include "cli.h"
#include "hilo/strategy.h"

int hilo_strategy_plan(hilo_cli_t *cli, int argc, char **argv);

/* Loads strategy files as hilo_strategy_set_load_files() does, "-" being standard input (named
 * <stdin> in messages; read once, so it may be named again). In cmd_strategy.c. */
hilo_strategy_set_t *hilo_cli_load_strategies(const char *const *paths, size_t n, char *err, size_t errlen);

/* "2026-11-24T09:00:00Z", "2026-11-24T09:00Z", "...-05:00", "...+0100", or Unix ms (digits).
 * Returns HILO_OK with *ms set, or HILO_ERR. */
int hilo_strategy_parse_time(const char *s, int64_t *ms);

#endif
