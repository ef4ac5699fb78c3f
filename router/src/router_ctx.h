/* router_ctx.h — what the router's parts share: the loop, settings, metrics, the Redis store
 * and the link. One per router process, owned by router.c; the parts keep a pointer to it
 * and never free what is in it. */
#ifndef HILO_ROUTER_CTX_H
#define HILO_ROUTER_CTX_H

#include <stdbool.h>
#include <uv.h>

#include "link_server.h"
#include "metrics.h"
#include "rconfig.h"
#include "store.h"

typedef struct hilo_inbound hilo_inbound_t;
typedef struct hilo_dispatch hilo_dispatch_t;
typedef struct hilo_engine hilo_engine_t;
typedef struct hilo_identity_cache hilo_identity_cache_t;
typedef struct hilo_console hilo_console_t;
typedef struct hilo_strategy_run hilo_strategy_run_t;

typedef struct {
    uv_loop_t *loop;
    const hilo_router_config_t *cfg;
    hilo_metrics_t metrics;
    hilo_store_t *store;
    hilo_link_server_t *link;
    hilo_identity_cache_t *identity; /* address -> debtor cache; NULL when [identity] cache_max = 0 */
    hilo_inbound_t *inbound;
    hilo_dispatch_t *dispatch;
    hilo_engine_t *engine;    /* NULL when [engine] enabled = false: a pure relay */
    hilo_console_t *console;  /* NULL until the console is up, and again once it is stopped */
    hilo_strategy_run_t *strategies; /* the strategy runner (strategy_run.h); NULL while stopping */
    long inflight;            /* envelopes received and not yet answered */
    bool closing;             /* shutting down: late callbacks only free their work */
} hilo_router_ctx_t;

/* Per-envelope bookkeeping for backpressure: call begin when an envelope is accepted for
 * work, end when it has been answered (ack or nack). */
void hilo_router_inflight_begin(hilo_router_ctx_t *ctx);
void hilo_router_inflight_end(hilo_router_ctx_t *ctx);

#endif
