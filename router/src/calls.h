/* calls.h — orders about calls in progress (protocol 1.4, docs/protocol.md §11.4): connect a
 * caller waiting in the provider's queue to an agent's phone. Called by the console when an
 * agent accepts a voice offer (console/routing.c). Owns nothing: it picks a voice connector
 * that said protocol minor >= 4 in its Hello and hands it one Outbound (VoiceAction CONNECT). */
#ifndef HILO_CALLS_H
#define HILO_CALLS_H

#include <stdbool.h>

#include "hilo/frame.h"
#include "router_ctx.h"

#define HILO_CALLS_MINOR 4       /* the protocol minor that brought call orders */
#define HILO_CALLS_RING_S 20     /* how long the agent's phone rings before the caller waits again */

typedef struct {
    const char *debtor;          /* the conversation's debtor */
    const char *call_id;         /* the provider's id of the live call (conv call_live) */
    const char *caller;          /* the debtor's number on that call (conv call_from) */
    const char *target;          /* the agent's phone (E.164) or sip: address */
    const char *queue;           /* where the caller waits again when nobody answers */
} hilo_call_connect_t;

/* Whether a voice connector that takes call orders is connected to this router. */
bool hilo_calls_can_connect(hilo_router_ctx_t *ctx);
/* Sends the connect order. HILO_AGAIN when no such connector is connected (any more). Its
 * fate comes back as call events (engine.c) and a delivery report: a FAILED one is acted on
 * (hilo_calls_order_failed), others are recorded. */
int hilo_calls_connect(hilo_router_ctx_t *ctx, const hilo_call_connect_t *cc);

/* The agent's phone did not answer (call event AGENT_NO_ANSWER in envelope `e`, a turn of the
 * engine): queues the conversation again, without that agent (console op call_unanswered), and
 * calls done(arg, rc) when that step is settled; false (done not called) for any other envelope.
 *
 * Why before the turn's apply, not after: the event is committed with a pending turn
 * (docs/architecture.md, "Durable turns") and the turn stays pending until its apply. Requeue
 * first, apply second, and a crash anywhere in between leaves the turn pending, so the turns
 * sweep (turns.c) resumes it and the requeue runs again — a no-op the second time (once per
 * turn, agent_ops.lua). The other order had a window no sweep saw: the turn applied, the
 * requeue lost, the caller on the line in no queue. */
bool hilo_calls_unanswered(hilo_router_ctx_t *ctx, const char *debtor, const char *turn, const hilo_envelope_t *e,
                           void (*done)(void *arg, int rc), void *arg);

/* Whether outbound id `oid` names a connect order (hilo_calls_connect's "call-<CallSid>-<ms>"). */
bool hilo_calls_is_order(const char *oid);
/* A FAILED report of connect order `oid` for `debtor` (dispatch.c): acted on in one atomic step
 * (console op call_connect_failed: the call over, the conversation leaves the agent; still
 * live, the caller is queued again), done(arg, rc) as for hilo_calls_unanswered: HILO_OK
 * settled, HILO_AGAIN not (Nack the report: the connector sends it again), HILO_ERR closing. */
void hilo_calls_order_failed(hilo_router_ctx_t *ctx, const char *debtor, const char *oid, const char *code,
                             void (*done)(void *arg, int rc), void *arg);

#endif
