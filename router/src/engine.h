/* engine.h — the conversation engine: after an inbound message is committed, decides what
 * happens next — opt-out keywords, the self-service bot (router/bot), escalation to a human
 * queue — runs every reply through the compliance gate (router/compliance), and applies all
 * effects in one atomic step (engine_apply.lua). Voice turns are answered straight to the
 * connector that waits; other replies go out through dispatch.c. Owned by router.c; called
 * by inbound.c once per newly stored envelope. */
#ifndef HILO_ENGINE_H
#define HILO_ENGINE_H

#include "hilo/bot.h"
#include "hilo/compliance.h"
#include "router_ctx.h"

/* Loads the flow and the compliance rule packs named in the config. NULL when either is
 * bad; the reason ("file:line: …") is written into err. */
hilo_engine_t *hilo_engine_new(hilo_router_ctx_t *ctx, char *err, size_t errlen);
/* The same files read and dropped: for the start-up check (main.c), before anything runs.
 * 0, or -1 with the reason in err. */
int hilo_engine_check_files(const hilo_router_config_t *cfg, char *err, size_t errlen);
void hilo_engine_destroy(hilo_engine_t **self_p);
/* Reads the flow and the rule packs again (SIGHUP) and uses them from the next turn on; turns
 * running keep nothing of the old ones. 0, or -1 with the reason in err and the old files still
 * in use. */
int hilo_engine_reload(hilo_engine_t *self, char *err, size_t errlen);
/* The rule packs the engine's gate uses now (replaced by a reload). */
const hilo_compliance_t *hilo_engine_gate(const hilo_engine_t *self);

/* The queues the loaded flow can escalate to (hilo_flow_queues, router/bot); fn is called
 * during this call only. Nothing when self is NULL (the engine is off). */
void hilo_engine_queues(const hilo_engine_t *self, void (*fn)(const char *queue, const char *escalation, void *arg),
                        void *arg);

/* The loaded flow's payment link for this debtor (hilo_bot_payment_link; caller frees); NULL
 * when the engine is off or the flow has none. */
char *hilo_engine_payment_link(const hilo_engine_t *self, const hilo_bot_debtor_t *debtor, int64_t amount_cents);

/* One turn for the envelope just committed for `debtor` (unidentified: "u:<E.164>"), sent
 * by `peer`, from the normalized address `addr`; `turn` is the key its pending record was
 * committed under and `in_ms` the commit's time (commit_inbound.lua). Takes ownership of
 * `frame`. The turn is applied exactly once (by this router or a sweep's), after the debtor's
 * older pending turns. */
void hilo_engine_turn(hilo_engine_t *self, const hilo_peer_ref_t *peer, hilo_frame_t *frame, const char *debtor,
                      bool unidentified, const char *addr, const char *turn, int64_t in_ms);
/* Takes up the debtor's pending turn `turn` from its record in Redis (the sweep, turns.c),
 * unless this router has it in hand already. A turn applied meanwhile is a no-op. */
void hilo_engine_resume(hilo_engine_t *self, const char *debtor, const char *turn);

#endif
