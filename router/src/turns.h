/* turns.h — durable engine turns: the index of pending turns and the sweep that resumes them.
 * inbound.c records each new turn's index entry (before the commit that records the turn on
 * the debtor's keys), engine.c removes it once the turn is applied, and the sweep (owned by
 * router.c, created only when the engine is on) hands entries left pending past
 * [engine] turn_resume_ms to the engine (hilo_engine_resume). docs/architecture.md,
 * "Durable turns", gives the order of the steps and what a crash between them leaves. */
#ifndef HILO_TURNS_H
#define HILO_TURNS_H

#include "router_ctx.h"

#define HILO_TURN_KEY_MAX 24 /* a turn key and its NUL */

typedef struct hilo_turns hilo_turns_t;

/* A new turn key: 16 hex digits, random (unique across routers and restarts in practice). */
void hilo_turns_key_new(char key[HILO_TURN_KEY_MAX]);
/* Queues "ZADD hilo:{p:<n>}:turns <due_ms> <debtor>|<turn>" (no reply wanted). Sent before the
 * commit on the same connection, it reaches Redis first. HILO_OK or HILO_AGAIN (not sent). */
int hilo_turns_index(hilo_router_ctx_t *ctx, const char *debtor, const char *turn, int64_t due_ms);
/* Queues the ZREM of the debtor's turn from the index (no reply wanted; a lost one is swept). */
void hilo_turns_unindex(hilo_router_ctx_t *ctx, const char *debtor, const char *turn);

hilo_turns_t *hilo_turns_new(hilo_router_ctx_t *ctx);
/* Starts the timer (first sweep after one [engine] turn_sweep_ms). */
void hilo_turns_start(hilo_turns_t *self);
/* Sweeps now, unless a sweep is already running. */
void hilo_turns_sweep(hilo_turns_t *self);
/* Accepts NULL; nulls the caller's pointer. Call after the store is destroyed. */
void hilo_turns_destroy(hilo_turns_t **self_p);

#endif
