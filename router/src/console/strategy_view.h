/* strategy_view.h — the outbound strategies as the console shows them (docs/console-protocol.md,
 * "Strategies"): a loaded strategy described for the supervisor's panel, its funnel hash folded
 * into {variant: {step: {metric: n}}}, and a debtor's place (the conv field `strat`,
 * router/lua/lib/strategy_state.lua) with its last strategy audit events for the agent's debtor
 * panel. Called by strategies.c and views.c. Pure: JSON in, JSON out, no Redis, no sockets. */
#ifndef HILO_CONSOLE_STRATEGY_VIEW_H
#define HILO_CONSOLE_STRATEGY_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hilo/strategy.h"

/* The conv field `strat`: "<state>|<strategy>|<segment>|<variant>|<step>|<last>|<at>|<sent_ms>|
 * <oid>|<why>|<prev>|<rev>". */
typedef struct {
    char state[8];                               /* due, out, hold, stop, end */
    char strategy[HILO_STRATEGY_NAME_MAX + 1];
    char segment[HILO_STRATEGY_NAME_MAX + 1];
    char variant[HILO_STRATEGY_NAME_MAX + 1];
    char step[HILO_STRATEGY_NAME_MAX + 1];       /* the pending step, or the one awaiting results */
    char last[HILO_STRATEGY_NAME_MAX + 1];       /* the last step sent ("" before any) */
    int64_t at_ms;                               /* due / timeout / recheck (0: none) */
    int64_t sent_ms;                             /* when `step` was committed (0: not yet) */
    char oid[64];                                /* its outbound id */
    char why[160];                               /* hold: the event; stop: the exclusion */
    char prev[8];                                /* hold/stop: the state before */
    long rev;                                    /* the field's write count */
} console_strat_t;

/* False (out unspecified) when s is not 12 '|'-separated fields with a known state, names that
 * fit, and numbers where numbers go. */
bool console_strat_parse(const char *s, console_strat_t *out);

/* A loaded strategy for the panel: {"name", "priority", "file_state" (active|paused|draft),
 * "variants": [{"name", "share", "steps": [{"name", "channel", "segment"}]}]} — each variant's
 * steps in the order its segments list them (segments in file order). New reference. */
json_t *console_strategy_describe(const hilo_strategy_t *st);

/* Completes a described strategy with what Redis holds: `control` is the GET of
 * hilo:{s:NAME}:state as batch.c returns it (a string, or null), `funnel` the HGETALL of
 * hilo:{s:NAME}:funnel (a flat array, or anything else for none). Adds "control" (running,
 * paused or null), "state" (running, paused or draft: the control when set and the strategy is
 * no draft, else the file's, `active` read as running), "state_from" (control|file) and
 * "funnel" {variant: {step: {metric: count}}}; fields that are not "<variant>|<step>|<metric>"
 * or counts that are not integers are left out. */
void console_strategy_complete(json_t *desc, const json_t *control, const json_t *funnel);

/* The strategy part of a debtor panel: {"current": {...} | null, "events": [...]} or NULL when
 * the debtor has neither a place (`strat`, may be NULL) nor strategy events. current: the
 * parsed field ("state", "strategy", "segment", "variant", "step", "last", "at_ms", "sent_ms",
 * "why", "prev") plus, when `set` (may be NULL) still has the step, its "channel" and
 * "template". events: from `audit` (XREVRANGE of the debtor's audit stream, newest first, as
 * batch.c returns it) the entries with ev=strategy, their `j` object + "id", newest first, at
 * most max_events. New reference. */
json_t *console_strategy_debtor(const hilo_strategy_set_t *set, const char *strat, const json_t *audit,
                                int max_events);

#endif
