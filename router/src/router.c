/* router.c — wiring of the router's parts on one libuv loop. */
#include "router.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <zmq.h>

#include "clock_check.h"
#include "dispatch.h"
#include "engine.h"
#include "hilo/common.h"
#include "hilo/log.h"
#include "hilo/watchdog.h"
#include "console/console.h"
#include "http.h"
#include "identity_cache.h"
#include "inbound.h"
#include "promises.h"
#include "schema_gate.h"
#include "strategy_run.h"
#include "turns.h"
#include "router_ctx.h"

struct hilo_router {
    uv_loop_t loop;
    hilo_router_ctx_t ctx;
    void *zctx;               /* ZeroMQ context */
    hilo_http_t *http;
    hilo_console_t *console;  /* agent and supervisor console on the HTTP server */
    hilo_promises_t *promises; /* promise sweeper; NULL when the engine is off */
    hilo_turns_t *turns;       /* pending-turns sweeper; NULL when the engine is off */
    hilo_strategy_run_t *strategies; /* the outbound strategies' runner (none loaded: idle) */
    hilo_clock_check_t *clock; /* this router's clock against Redis's */
    hilo_watchdog_t *watchdog; /* systemd READY/STOPPING/WATCHDOG notices from this loop */
    hilo_schema_gate_t *schema; /* the data's schema version, checked on every Redis connection */
    int status;               /* hilo_router_run's result: 0, or HILO_ROUTER_EXIT_SCHEMA */
    uv_signal_t sigterm, sigint, sighup;
    bool signals;             /* the signal handles were initialized */
};

void hilo_router_inflight_begin(hilo_router_ctx_t *ctx) {
    if (++ctx->inflight >= ctx->cfg->max_inflight) hilo_link_server_pause(ctx->link);
}

void hilo_router_inflight_end(hilo_router_ctx_t *ctx) {
    /* Resume below 90 % so the socket is not toggled on every reply. */
    if (--ctx->inflight < ctx->cfg->max_inflight - ctx->cfg->max_inflight / 10 || ctx->inflight == 0)
        hilo_link_server_resume(ctx->link);
}

static void on_envelope(const hilo_peer_ref_t *peer, hilo_frame_t *frame, int64_t recv_us, void *arg) {
    hilo_router_ctx_t *ctx = arg;
    hilo_inbound_handle(ctx->inbound, peer, frame, recv_us);
}

static void on_peers_changed(int channel, void *arg) {
    hilo_router_ctx_t *ctx = arg;
    hilo_dispatch_peers_changed(ctx->dispatch, channel);
}

static void on_store_state(bool ready, void *arg) {
    hilo_router_ctx_t *ctx = arg;
    hilo_identity_cache_store_state(ctx->identity, ready);
    if (ready && ctx->dispatch) {
        hilo_dispatch_migrate(ctx->dispatch);
        for (int c = 1; c < HILO_CHANNEL_MAX; c++) hilo_dispatch_kick(ctx->dispatch, c);
    }
}

static void gauges(const hilo_router_t *r, hilo_metrics_gauges_t *g) {
    const hilo_router_ctx_t *ctx = &r->ctx;
    for (int c = 1; c < HILO_CHANNEL_MAX; c++) g->connectors[c] = hilo_link_server_peer_count(ctx->link, c);
    g->redis_up = hilo_store_ready(ctx->store);
    g->inflight = ctx->inflight;
    hilo_identity_cache_gauges_t ig;
    hilo_identity_cache_gauges(ctx->identity, &ig);
    g->identity_cache_live = ig.live;
    g->identity_cache_entries = ig.entries;
    g->identity_cache_evicted = ig.evicted;
    g->clock_known = hilo_clock_check_offset(r->clock, &g->clock_offset_ms);
    g->floor = hilo_console_floor_gauges(r->console);
    g->gate = ctx->engine ? hilo_engine_gate(ctx->engine) : r->console ? hilo_console_gate(r->console)
                                                                      : hilo_dispatch_gate(ctx->dispatch);
}

static void on_metrics(hilo_http_reply_t *reply, void *arg) {
    hilo_router_t *r = arg;
    hilo_router_ctx_t *ctx = &r->ctx;
    hilo_metrics_gauges_t g = {.redis_up = false};
    gauges(r, &g);
    reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
    hilo_metrics_render(&ctx->metrics, &g, &reply->body);
}

/* 200 when this router can accept envelopes (Redis connected, scripts loaded), else 503:
 * a load balancer or an operator reads the reason in the JSON. */
static void on_healthz(hilo_http_reply_t *reply, void *arg) {
    hilo_router_t *r = arg;
    hilo_router_ctx_t *ctx = &r->ctx;
    hilo_metrics_gauges_t g = {.redis_up = false};
    gauges(r, &g);
    json_t *o = json_object(), *conns = json_object();
    for (int c = 1; c < HILO_CHANNEL_MAX; c++) json_object_set_new(conns, hilo_channel_name(c), json_integer(g.connectors[c]));
    json_object_set_new(o, "status", json_string(g.redis_up ? "ok" : "unavailable"));
    json_object_set_new(o, "router", json_string(ctx->cfg->instance));
    json_object_set_new(o, "redis", json_string(g.redis_up ? "up" : "down"));
    json_object_set_new(o, "connectors", conns);
    json_object_set_new(o, "inflight", json_integer(g.inflight));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    reply->status = g.redis_up ? 200 : 503;
    reply->content_type = "application/json";
    hilo_buf_printf(&reply->body, "%s\n", s);
    free(s);
}

/* The data in Redis is of a schema version this router does not run (schema_gate.c logged why):
 * stop before any part writes to it. */
static void on_schema_refused(void *arg) {
    hilo_router_t *r = arg;
    r->status = HILO_ROUTER_EXIT_SCHEMA;
    hilo_watchdog_stopping(r->watchdog);
    uv_stop(&r->loop);
}

static void on_signal(uv_signal_t *h, int signum) {
    hilo_router_t *r = h->data;
    hilo_log_info("router", "event=stopping signal=%d inflight=%ld", signum, r->ctx.inflight);
    hilo_watchdog_stopping(r->watchdog);
    uv_stop(&r->loop);
}

/* SIGHUP: the bot flow, the compliance rule packs and the strategies read again
 * (docs/operations.md, "Reloading"). The flow and the packs both or neither: the engine's load
 * checks every file first, and the console then reads the same packs; then the strategies (a bad
 * file keeps the strategies loaded before). Everything else in the config needs a restart. */
static void on_reload(uv_signal_t *h, int signum) {
    (void)signum;
    hilo_router_t *r = h->data;
    hilo_router_ctx_t *ctx = &r->ctx;
    char err[512] = "";
    int rc = ctx->engine ? hilo_engine_reload(ctx->engine, err, sizeof err) : 0;
    if (rc == 0 && r->console) rc = hilo_console_reload_gate(r->console, err, sizeof err);
    if (rc == 0) rc = hilo_dispatch_reload_gate(ctx->dispatch, err, sizeof err);
    if (rc == 0 && r->strategies) rc = hilo_strategy_run_reload(r->strategies, err, sizeof err);
    if (rc == 0) {
        ctx->metrics.reloads_ok++;
        hilo_log_info("router", "event=reloaded flow=%s compliance_dir=%s", ctx->engine ? ctx->cfg->flow_path : "-",
                      ctx->cfg->compliance_dir);
    } else {
        ctx->metrics.reloads_failed++;
        hilo_log_error("router", "event=reload_failed reason=\"%s\" effect=\"the files loaded before stay in use\"",
                       err);
    }
}

hilo_router_t *hilo_router_new(const hilo_router_config_t *cfg) {
    hilo_router_t *r = hilo_xcalloc(1, sizeof *r);
    uv_loop_init(&r->loop);
    hilo_router_ctx_t *ctx = &r->ctx;
    ctx->loop = &r->loop;
    ctx->cfg = cfg;
    r->watchdog = hilo_watchdog_new(&r->loop, "router");
    r->zctx = zmq_ctx_new();
    ctx->store = hilo_store_new(ctx->loop, cfg, &ctx->metrics, on_store_state, ctx);
    r->schema = hilo_schema_gate_new(ctx->store, cfg->instance, on_schema_refused, r);
    ctx->identity = hilo_identity_cache_new(ctx->loop, cfg, &ctx->metrics);
    hilo_link_handlers_t h = {on_envelope, on_peers_changed, ctx};
    ctx->link = hilo_link_server_new(ctx->loop, r->zctx, cfg, &ctx->metrics, &h);
    ctx->inbound = hilo_inbound_new(ctx);
    ctx->dispatch = hilo_dispatch_new(ctx);
    if (cfg->engine) {
        char err[512];
        ctx->engine = hilo_engine_new(ctx, err, sizeof err);
        if (!ctx->engine) {
            hilo_log_error("router", "event=engine_failed reason=\"%s\"", err);
            hilo_router_destroy(&r);
            return NULL;
        }
    }
    if (cfg->engine) r->promises = hilo_promises_new(ctx);
    if (cfg->engine) r->turns = hilo_turns_new(ctx);
    char serr[512];
    r->strategies = ctx->strategies = hilo_strategy_run_new(ctx, serr, sizeof serr);
    if (!r->strategies) {
        hilo_log_error("router", "event=strategies_failed reason=\"%s\"", serr);
        hilo_router_destroy(&r);
        return NULL;
    }
    r->clock = hilo_clock_check_new(ctx);
    r->http = hilo_http_new_tls(ctx->loop, cfg->http_bind, cfg->http_port, cfg->console_tls_cert, cfg->console_tls_key,
                                cfg->http_request_timeout_ms);
    if (!ctx->link || !r->http) {
        hilo_router_destroy(&r);
        return NULL;
    }
    hilo_http_route(r->http, "/healthz", on_healthz, r);
    hilo_http_route(r->http, "/metrics", on_metrics, r);
    char cerr[256];
    r->console = hilo_console_new(ctx, r->http, cerr, sizeof cerr);
    if (!r->console) {
        hilo_log_error("router", "event=console_failed reason=\"%s\"", cerr);
        hilo_router_destroy(&r);
        return NULL;
    }
    ctx->console = r->console;
    uv_signal_init(ctx->loop, &r->sigterm);
    uv_signal_init(ctx->loop, &r->sigint);
    uv_signal_init(ctx->loop, &r->sighup);
    r->sigterm.data = r->sigint.data = r->sighup.data = r;
    uv_signal_start(&r->sigterm, on_signal, SIGTERM);
    uv_signal_start(&r->sigint, on_signal, SIGINT);
    uv_signal_start(&r->sighup, on_reload, SIGHUP);
    r->signals = true;
    signal(SIGPIPE, SIG_IGN);
    hilo_store_start(ctx->store);
    hilo_identity_cache_start(ctx->identity);
    hilo_dispatch_start(ctx->dispatch);
    if (r->promises) hilo_promises_start(r->promises);
    if (r->turns) hilo_turns_start(r->turns);
    hilo_strategy_run_start(r->strategies);
    hilo_clock_check_start(r->clock);
    hilo_log_info("router", "event=started instance=%s link=%s http=%s:%d", cfg->instance, cfg->link_bind,
                  cfg->http_bind, cfg->http_port);
    return r;
}

int hilo_router_run(hilo_router_t *r) {
    /* The link and HTTP sockets listen since hilo_router_new: ready to serve (a Redis still
     * connecting is /healthz's 503, not a start failure). */
    hilo_watchdog_ready(r->watchdog);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    return r->status;
}

static void close_any(uv_handle_t *h, void *arg) {
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

void hilo_router_destroy(hilo_router_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_router_t *r = *self_p;
    hilo_router_ctx_t *ctx = &r->ctx;
    /* Order: stop taking frames; fail what is in flight in Redis (their callbacks see
     * `closing` and only free); then the parts those callbacks used. Unacked envelopes are
     * re-sent by their connectors to whichever router answers next. */
    ctx->closing = true;
    ctx->console = NULL;
    if (r->http) hilo_http_stop(r->http);
    hilo_link_server_destroy(&ctx->link);
    hilo_store_destroy(&ctx->store);
    hilo_identity_cache_destroy(&ctx->identity);
    if (r->console) hilo_console_stop(r->console); /* its own Redis connection */
    hilo_dispatch_destroy(&ctx->dispatch);
    hilo_promises_destroy(&r->promises);
    hilo_turns_destroy(&r->turns);
    ctx->strategies = NULL;
    hilo_strategy_run_destroy(&r->strategies);
    hilo_clock_check_destroy(&r->clock);
    hilo_engine_destroy(&ctx->engine);
    hilo_inbound_destroy(&ctx->inbound);
    hilo_watchdog_destroy(&r->watchdog);
    if (r->signals) {
        uv_close((uv_handle_t *)&r->sigterm, NULL);
        uv_close((uv_handle_t *)&r->sigint, NULL);
        uv_close((uv_handle_t *)&r->sighup, NULL);
    }
    uv_run(&r->loop, UV_RUN_DEFAULT); /* let every close callback run */
    hilo_http_destroy(&r->http);
    hilo_console_destroy(&r->console); /* after the store and lws: their callbacks reach it */
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_walk(&r->loop, close_any, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&r->loop) != 0) hilo_log_warn("router", "event=loop_not_closed");
    if (r->zctx) zmq_ctx_term(r->zctx);
    hilo_schema_gate_destroy(&r->schema); /* after the store: its last callbacks reach the gate */
    free(r);
    *self_p = NULL;
}
