/* calls.h — orders about calls in progress (protocol 1.4, docs/protocol.md §11.4): connect a
 * caller waiting in the provider's queue to an agent's phone. Called by the console when an
 * agent accepts a voice offer (console/routing.c). Owns nothing: it picks a voice connector
 * that said protocol minor >= 4 in its Hello and hands it one Outbound (VoiceAction CONNECT). */
#ifndef HILO_CALLS_H
#define HILO_CALLS_H

#include <stdbool.h>

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
 * fate comes back as call events (engine.c) and a delivery report (recorded, settles nothing). */
int hilo_calls_connect(hilo_router_ctx_t *ctx, const hilo_call_connect_t *cc);

#endif
