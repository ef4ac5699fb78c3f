/* store.h — the router's Redis connection: one async hiredis context on the router's libuv
 * loop, reconnected with backoff, with the Lua scripts (re)loaded on every connect, and a
 * watchdog that drops a Redis that stops answering (hiredis 0.14 has no command timeout).
 * Used by every part of the router (inbound, dispatch, engine, console). A reply is valid only during its callback. */
#ifndef HILO_STORE_H
#define HILO_STORE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "metrics.h"
#include "rconfig.h"

typedef struct hilo_store hilo_store_t;

typedef enum {
    HILO_SCRIPT_COMMIT_INBOUND = 0,
    HILO_SCRIPT_COMMIT_OUTBOUND,
    HILO_SCRIPT_OUTBOX_INDEX,
    HILO_SCRIPT_OUTBOUND_HANDOFF,
    HILO_SCRIPT_SETTLE_OUTBOUND,
    HILO_SCRIPT_ENGINE_APPLY,
    HILO_SCRIPT_FREQ_CAP,
    HILO_SCRIPT_PROMISE_BREAK,
    HILO_SCRIPT_TURN_CLAIM,
    HILO_SCRIPT_OUTBOX_MIGRATE,
    HILO_SCRIPT_STRATEGY_READ,
    HILO_SCRIPT_STRATEGY_SET,
    HILO_SCRIPT_PACING,
    HILO_SCRIPT_OPTIMIZER_CELL,
    HILO_SCRIPT_COUNT
} hilo_script_t;

/* reply == NULL: the command failed because the connection went away (or is being torn
 * down); it may or may not have been executed. */
typedef void (*hilo_store_reply_fn)(redisReply *reply, void *arg);
/* Called when the store becomes ready (connected, scripts loaded) or stops being ready. */
typedef void (*hilo_store_state_fn)(bool ready, void *arg);

hilo_store_t *hilo_store_new(uv_loop_t *loop, const hilo_router_config_t *cfg, hilo_metrics_t *metrics,
                             hilo_store_state_fn on_state, void *state_arg);
/* Starts connecting; reconnects by itself from then on. */
void hilo_store_start(hilo_store_t *self);
/* Fails every pending command (callbacks get NULL) and frees. */
void hilo_store_destroy(hilo_store_t **self_p);

bool hilo_store_ready(const hilo_store_t *self);
/* The server is a Redis Cluster node (learnt on every connection, before ready): a command or
 * script must then keep to one hash slot, where a standalone server takes a batch over many
 * (docs/architecture.md, "Keys on a Redis Cluster"). */
bool hilo_store_cluster(const hilo_store_t *self);
/* SHA1 of a loaded script (40 hex chars). */
const char *hilo_store_sha(const hilo_store_t *self, hilo_script_t script);

/* Queues one command (pipelined with the others). HILO_AGAIN when not ready: nothing queued,
 * fn will not be called. fn may be NULL for fire-and-forget. */
int hilo_store_argv(hilo_store_t *self, hilo_store_reply_fn fn, void *arg, int argc, const char **argv,
                    const size_t *argvlen);
int hilo_store_command(hilo_store_t *self, hilo_store_reply_fn fn, void *arg, const char *fmt, ...);

/* A check that runs on every connection once the scripts are loaded, before the store says it is
 * ready (router/src/schema_gate.c: the data's schema version). It talks to Redis with
 * hilo_store_gate_command / hilo_store_gate_argv (allowed before ready; a NULL reply means the
 * connection went away and the gate runs again on the next one), then calls
 * hilo_store_gate_passed, or leaves the store not ready (the router is stopping). */
typedef void (*hilo_store_gate_fn)(hilo_store_t *store, void *arg);
void hilo_store_set_gate(hilo_store_t *self, hilo_store_gate_fn fn, void *arg);
int hilo_store_gate_command(hilo_store_t *self, hilo_store_reply_fn fn, void *arg, const char *fmt, ...);
int hilo_store_gate_argv(hilo_store_t *self, hilo_store_reply_fn fn, void *arg, int argc, const char **argv,
                         const size_t *argvlen);
void hilo_store_gate_passed(hilo_store_t *self);

/* Drops the connection and reconnects (reloading the scripts), e.g. after NOSCRIPT. */
void hilo_store_reset(hilo_store_t *self, const char *why);

/* Commands sent and not yet answered. */
long hilo_store_pending(const hilo_store_t *self);

#endif
