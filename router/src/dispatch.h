/* dispatch.h — messages to debtors after they are committed: the dispatcher claims due
 * entries of each channel's dispatch index (claim_outbox.lua, a lease) for the channels this
 * router has connectors for, and sends them as Outbound frames; delivery-report envelopes
 * settle them (settle_outbound.lua). A lease that runs out (connector or router died) makes
 * the entry due again, for any router. Owned by router.c. */
#ifndef HILO_DISPATCH_H
#define HILO_DISPATCH_H

#include "router_ctx.h"

hilo_dispatch_t *hilo_dispatch_new(hilo_router_ctx_t *ctx);
void hilo_dispatch_destroy(hilo_dispatch_t **self_p);

/* Starts polling the dispatch index every cfg->outbound_poll_ms. */
void hilo_dispatch_start(hilo_dispatch_t *self);
/* Polls `channel` now (a connector joined, or something was just committed). */
void hilo_dispatch_kick(hilo_dispatch_t *self, int channel);

/* A delivery-report envelope (already content-checked). Takes ownership of `frame`; answers
 * the peer with Ack/Nack once the report is recorded. */
void hilo_dispatch_on_delivery(hilo_dispatch_t *self, const hilo_peer_ref_t *peer, hilo_frame_t *frame,
                               int64_t recv_us);

#endif
