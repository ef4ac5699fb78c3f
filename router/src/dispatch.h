/* dispatch.h — messages to debtors after they are committed: the dispatcher claims debtors
 * from the partitioned dispatch index (outbox_index.lua) for the channels this router has
 * connectors for, asks the compliance gate about the first message of each debtor's queue at
 * that moment, and takes it (outbound_handoff.lua: facts unchanged, frequency cap, a lease) or
 * cancels it or lets it wait; taken messages go out as Outbound frames with the gate's expiry.
 * Delivery reports settle them (settle_outbound.lua) or give them back (RETURNED). A lease that
 * runs out (connector or router died) makes the message due again, for any router, and the gate
 * is asked again. Owned by router.c. */
#ifndef HILO_DISPATCH_H
#define HILO_DISPATCH_H

#include "router_ctx.h"

hilo_dispatch_t *hilo_dispatch_new(hilo_router_ctx_t *ctx);
void hilo_dispatch_destroy(hilo_dispatch_t **self_p);

/* Starts polling the dispatch index every cfg->outbound_poll_ms. */
void hilo_dispatch_start(hilo_dispatch_t *self);
/* Polls `channel` now (Redis came back). */
void hilo_dispatch_kick(hilo_dispatch_t *self, int channel);
/* A connector of `channel` joined or left: polls it now, and looks again at once at the queues
 * that found no suitable connector (not only when their retry comes due on the clock). */
void hilo_dispatch_peers_changed(hilo_dispatch_t *self, int channel);
/* Looks at one debtor's queue on `channel` now (something was just committed or settled). */
void hilo_dispatch_kick_debtor(hilo_dispatch_t *self, int channel, const char *debtor);

/* Moves the messages of the dispatch index older routers kept (hilo:outbox:<channel>) to their
 * debtors' queues; run whenever Redis becomes ready (a no-op once the old index is empty). */
void hilo_dispatch_migrate(hilo_dispatch_t *self);

/* SIGHUP: reads the compliance rule packs again. 0, or -1 with err set (the old ones stay). */
int hilo_dispatch_reload_gate(hilo_dispatch_t *self, char *err, size_t errlen);
/* The gate the dispatcher decides with (NULL when the rule packs could not be read). */
struct hilo_compliance;
const struct hilo_compliance *hilo_dispatch_gate(const hilo_dispatch_t *self);

/* A delivery-report envelope (already content-checked). Takes ownership of `frame`; answers
 * the peer with Ack/Nack once the report is recorded. */
void hilo_dispatch_on_delivery(hilo_dispatch_t *self, const hilo_peer_ref_t *peer, hilo_frame_t *frame,
                               int64_t recv_us);

#endif
