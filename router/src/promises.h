/* promises.h — the promise sweeper: every [engine] promise_sweep_ms it takes the promises to
 * pay whose due time has passed (hilo:promises:due, score <= now) and runs promise_break.lua on
 * each, which marks a still-pending one broken (kept ones were already removed from the index
 * by payment_apply.lua). Several routers may sweep the same Redis: the script is idempotent.
 * "now" is the router's clock, or hilo:test:now_ms when [engine] test_clock is on.
 * Owned by router.c (created only when the engine is enabled); docs/promises.md. */
#ifndef HILO_PROMISES_H
#define HILO_PROMISES_H

#include "router_ctx.h"

typedef struct hilo_promises hilo_promises_t;

hilo_promises_t *hilo_promises_new(hilo_router_ctx_t *ctx);
/* Accepts NULL; nulls the caller's pointer. Call after the store is destroyed (its pending
 * callbacks, which use the sweeper, have run by then). */
void hilo_promises_destroy(hilo_promises_t **self_p);

/* Starts the timer (first sweep after one interval). */
void hilo_promises_start(hilo_promises_t *self);
/* Sweeps now, unless a sweep is already running. */
void hilo_promises_sweep(hilo_promises_t *self);

#endif
