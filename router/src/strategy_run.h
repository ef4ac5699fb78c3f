/* strategy_run.h — the outbound strategies, running (docs/strategies.md, "Running a strategy").
 *
 * Each debtor's place in its strategy is the conv field `strat` (router/lua/lib/strategy_state.lua);
 * when to look at it again is its score in the partitioned time index hilo:{p:N}:sched. Every
 * router sweeps every partition each [strategies] poll_ms: it claims the debtors that are due
 * (outbox_index.lua 'claim': a lease), reads each one's records in one step (strategy_read.lua),
 * decides with the strategy library (router/strategy: match, stops, transitions, windows,
 * rendering) and the compliance gate, and writes the decision only if the field is unchanged
 * since the read (strategy_set.lua, or commit_outbound.lua for a send). So two routers never
 * send the same step, and an event that held the step meanwhile (a reply, a payment, an agent:
 * they hold it in the same atomic step that records them) always wins. Sends are ordinary
 * committed outbound messages: the gate at hand-off (dispatch.c) decides when they go, and sends
 * them only while they are still the debtor's current step.
 *
 * Events that need a prompt decision (a delivery report of a step, a cancelled step, an engine
 * turn, a broken promise, an import) move the debtor to the front of the index with
 * hilo_strategy_run_kick(). Owned by router.c. */
#ifndef HILO_STRATEGY_RUN_H
#define HILO_STRATEGY_RUN_H

#include "router_ctx.h"

struct hilo_strategy_set;

/* The strategies this router runs (NULL when [strategies] dir is empty). Valid until the next
 * reload (SIGHUP) or destroy: read it within one callback, do not keep it. */
const struct hilo_strategy_set *hilo_strategy_run_set(const hilo_strategy_run_t *self);

/* Loads the strategies of [strategies] dir (none when the setting is empty). NULL with err set
 * when a file is refused ("FILE:LINE: reason"). */
hilo_strategy_run_t *hilo_strategy_run_new(hilo_router_ctx_t *ctx, char *err, size_t errlen);
void hilo_strategy_run_destroy(hilo_strategy_run_t **self_p);
/* Starts sweeping the time index every [strategies] poll_ms. */
void hilo_strategy_run_start(hilo_strategy_run_t *self);
/* SIGHUP: loads [strategies] dir again; on error the strategies loaded before keep running. A
 * debtor keeps its place by step name where the step still exists (applied as each debtor is
 * next looked at). 0, or -1 with err set. */
int hilo_strategy_run_reload(hilo_strategy_run_t *self, char *err, size_t errlen);

/* Looks at the debtor's place now if it has one (ZADD XX score 0 on its partition): no-op for a
 * debtor in no strategy. Fire and forget. */
void hilo_strategy_run_kick(hilo_router_ctx_t *ctx, const char *debtor_id);

#endif
