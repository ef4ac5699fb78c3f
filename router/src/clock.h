/* clock.h — "now" for the router's decisions (docs/architecture.md, "One clock"): the router's
 * own clock, or, under [engine] test_clock (builds with -DHILO_TEST_CLOCK=ON only; a production
 * build refuses the setting), the test clock in Redis (hilo:test:now_ms), which tests move to
 * run weeks in minutes. Used by the dispatcher for its leases, back-offs, give-ups, index scores
 * and claims; the key is read here and the time passed on as an argument, never read by a script
 * on another hash slot. Stateless: callers own their argument. */
#ifndef HILO_CLOCK_H
#define HILO_CLOCK_H

#include <stdint.h>

#include "router_ctx.h"

/* Called with "now" in Unix ms, or -1 when Redis did not answer (disconnected, or closing). */
typedef void (*hilo_clock_fn)(void *arg, int64_t now_ms);

/* Calls fn with "now": right away without the test clock (or when the store cannot take the
 * command: HILO_ERR, fn not called), else when Redis answers; a test clock not set (or not a
 * positive number) is the router's own clock. */
int hilo_clock_read(hilo_router_ctx_t *ctx, hilo_clock_fn fn, void *arg);

/* The test clock's value in a reply to GET hilo:test:now_ms, else the router's clock. */
int64_t hilo_clock_from_reply(const redisReply *r);

#endif
