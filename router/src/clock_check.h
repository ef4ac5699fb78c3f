/* clock_check.h — how far this router's clock is from Redis's. Offer deadlines, agent presence
 * and the times in history items and audit entries are written with each router's own clock
 * (docs/operations.md, "Clocks"), so routers whose clocks disagree by seconds disagree about
 * those too. Every 10 s the router asks Redis for TIME; the offset (Redis's clock minus this
 * router's, at the middle of the round trip) is the gauge hilo_clock_offset_seconds on
 * /metrics, and past 1 s a warning in the log (event=clock_skew). Owned by router.c. */
#ifndef HILO_CLOCK_CHECK_H
#define HILO_CLOCK_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "router_ctx.h"

#define HILO_CLOCK_SKEW_WARN_MS 1000

typedef struct hilo_clock_check hilo_clock_check_t;

hilo_clock_check_t *hilo_clock_check_new(hilo_router_ctx_t *ctx);
/* Starts the timer (first check after one second). */
void hilo_clock_check_start(hilo_clock_check_t *self);
/* Accepts NULL; nulls the caller's pointer. Call after the store is destroyed (its pending
 * callbacks, which use the check, have run by then). */
void hilo_clock_check_destroy(hilo_clock_check_t **self_p);

/* Redis's clock minus this router's, in ms; false before the first answer. */
bool hilo_clock_check_offset(const hilo_clock_check_t *self, double *offset_ms);

#endif
