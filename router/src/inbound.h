/* inbound.h — from an accepted envelope to an ack: content checks, address normalization,
 * identity lookup (hilo:addr:), the atomic commit (commit_inbound.lua), the listing index,
 * then Ack or Nack. Delivery-report envelopes are handed to dispatch.c. Called by the link
 * server's on_envelope handler; owns each envelope until it is answered. */
#ifndef HILO_INBOUND_H
#define HILO_INBOUND_H

#include "router_ctx.h"

hilo_inbound_t *hilo_inbound_new(hilo_router_ctx_t *ctx);
void hilo_inbound_destroy(hilo_inbound_t **self_p);

/* Takes ownership of `frame` (an envelope). */
void hilo_inbound_handle(hilo_inbound_t *self, const hilo_peer_ref_t *peer, hilo_frame_t *frame, int64_t recv_us);

#endif
