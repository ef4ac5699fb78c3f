/* engine_indexes.h — the global keys an engine turn writes beside its debtor's: the entry of the
 * queue it escalates to, the due entries of the promises it records (before engine_apply.lua),
 * the entry of the queue it leaves and the consoles' event (after). Each is a command of its own
 * on one hash slot ("Keys on a Redis Cluster", docs/architecture.md), ordered so that a crash
 * between it and the script leaves only what a sweep drops. Called by engine.c; owns nothing. */
#ifndef HILO_ENGINE_INDEXES_H
#define HILO_ENGINE_INDEXES_H

#include <jansson.h>

#include "router_ctx.h"

/* Queues the steps that go before the turn's script (pipelined ahead of it on the one
 * connection, so Redis runs them first): SADD hilo:queues, ZADD LT hilo:queue:<skill>, ZADD
 * hilo:promises:due per due promise. `effects` is the turn's (engine_apply.lua's ARGV[2]).
 * Replies are not waited for (a refusal is logged; hilo_engine_indexes_after writes them again).
 * Returns HILO_ERR when the store took none of them (the turn is tried again). */
int hilo_engine_indexes_before(hilo_router_ctx_t *ctx, const json_t *effects);

/* Queues the steps that go after a turn whose script applied: the steps before once more (a
 * refusal before, an error rather than a crash, is repaired; they are idempotent and as rare as
 * escalations and promises), ZREM of the queue it left, XADD of hilo:console:events when the
 * turn notifies. Replies are not waited for (a failure is logged): what a crash or an error
 * loses is repaired by route_offer.lua, which drops an entry of a queue the conversation is not
 * in, and by the consoles' next snapshot. */
void hilo_engine_indexes_after(hilo_router_ctx_t *ctx, const json_t *effects);

#endif
