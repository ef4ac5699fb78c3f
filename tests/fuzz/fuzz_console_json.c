/* fuzz_console_json.c — libFuzzer target for the console's websocket messages: one input is one
 * text message from an agent's browser, handed to the console's own message handler
 * (ws_message in router/src/console/console.c: JSON parse with duplicate keys refused, the "t"
 * dispatch, debtor and agent id checks, and each request's argument checks in routing.c,
 * views.c, auth.c and supervisor.c). Each input is sent on a fresh authenticated connection as
 * an agent, again as a supervisor, and once on a connection still authenticating.
 *
 * ws_message is static and takes a live connection, so the harness builds the smallest console
 * that has one, with the real code: hilo_console_new() on a router context whose Redis store is
 * never started. The handlers it registers with the HTTP server are caught by link-time
 * wrappers (-Wl,--wrap, see CMakeLists.txt) instead of a server, and so are the socket calls
 * (hilo_ws_send/close: no socket; what would be sent must be a JSON object with a "t").
 * With Redis not ready every command fails at once and each request's callback runs
 * synchronously with no reply — the "Redis unavailable" path. Redis replies themselves are not
 * fuzzed here, and neither is /api/login (its body goes to a thread-pool password check). */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/config.h"
#include "hilo/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- what the console asks of the HTTP server (http.c), caught ---------------------------- */

void __wrap_hilo_http_ws(hilo_http_t *self, const char *path, const hilo_ws_handlers_t *handlers);
void __wrap_hilo_http_route(hilo_http_t *self, const char *path, hilo_http_handler_fn fn, void *arg);
void __wrap_hilo_http_post_route(hilo_http_t *self, const char *path, size_t max_body, hilo_http_post_fn fn,
                                 void *arg);
void __wrap_hilo_http_static(hilo_http_t *self, const char *prefix, const char *dir);
void __wrap_hilo_ws_send(hilo_ws_t *ws, const char *data, size_t len);
void __wrap_hilo_ws_close(hilo_ws_t *ws, int code, const char *reason);
size_t __wrap_hilo_ws_queued(const hilo_ws_t *ws);
void __wrap_hilo_store_start(hilo_store_t *self);

static hilo_ws_handlers_t ws_handlers; /* the console's /ws handlers */
static bool ws_registered;
static char fake_ws; /* stands for the socket: its address is all the console keeps */

void __wrap_hilo_http_ws(hilo_http_t *self, const char *path, const hilo_ws_handlers_t *handlers) {
    (void)self;
    if (strcmp(path, "/ws") == 0) {
        ws_handlers = *handlers;
        ws_registered = true;
    }
}

void __wrap_hilo_http_route(hilo_http_t *self, const char *path, hilo_http_handler_fn fn, void *arg) {
    (void)self, (void)path, (void)fn, (void)arg;
}

void __wrap_hilo_http_post_route(hilo_http_t *self, const char *path, size_t max_body, hilo_http_post_fn fn,
                                 void *arg) {
    (void)self, (void)path, (void)max_body, (void)fn, (void)arg;
}

void __wrap_hilo_http_static(hilo_http_t *self, const char *prefix, const char *dir) {
    (void)self, (void)prefix, (void)dir;
}

/* Every message the console sends is a JSON object with a string "t" (docs/console-protocol.md). */
void __wrap_hilo_ws_send(hilo_ws_t *ws, const char *data, size_t len) {
    if (ws != (hilo_ws_t *)&fake_ws) abort();
    json_t *m = json_loadb(data, len, 0, NULL);
    if (!json_is_object(m) || !json_is_string(json_object_get(m, "t"))) abort();
    json_decref(m);
}

void __wrap_hilo_ws_close(hilo_ws_t *ws, int code, const char *reason) {
    (void)reason;
    if (ws != (hilo_ws_t *)&fake_ws || code < 1000 || code > 4999) abort();
}

size_t __wrap_hilo_ws_queued(const hilo_ws_t *ws) {
    (void)ws;
    return 0;
}

/* Never connects: every command then fails at once (hilo_store_argv → HILO_AGAIN). */
void __wrap_hilo_store_start(hilo_store_t *self) { (void)self; }

/* ---- the console -------------------------------------------------------------------------- */

static hilo_config_t *config;
static hilo_router_config_t rcfg;
static hilo_router_ctx_t ctx;
static hilo_console_t *console;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    /* Every log line is formatted, outside values included (see fuzz_adapters.h). */
    hilo_log_set_level(HILO_LOG_DEBUG);
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "[router]\ninstance = fuzz\nlink_auth = none\n[engine]\ncompliance_dir = %s\n"
                     "[console]\nassets_dir = /nonexistent\nrate_burst = 100\n",
                     HILO_FUZZ_COMPLIANCE_DIR);
    char path[] = "/tmp/hilo-fuzz-console-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || n <= 0 || write(fd, text, (size_t)n) != n) abort();
    close(fd);
    char err[256];
    config = hilo_config_load(path, err, sizeof err);
    if (!config || hilo_router_config_load(config, path, &rcfg) != HILO_OK) {
        fprintf(stderr, "fuzz_console_json: config: %s\n", config ? hilo_config_error(config) : err);
        abort();
    }
    unlink(path);
    ctx.loop = uv_default_loop();
    ctx.cfg = &rcfg;
    ctx.store = hilo_store_new(ctx.loop, &rcfg, &ctx.metrics, NULL, NULL);
    /* The HTTP server is never dereferenced: every call on it is one of the wrappers above. */
    console = hilo_console_new(&ctx, (hilo_http_t *)&fake_ws, err, sizeof err);
    if (!console || !ws_registered || ws_handlers.arg != console) {
        fprintf(stderr, "fuzz_console_json: console: %s\n", err);
        abort();
    }
    ctx.console = console;
    return 0;
}

/* One connection as ws_open() and the login check leave it, minus the socket. */
static conn_t *conn_new(conn_state_t state, bool supervisor) {
    conn_t *c = hilo_xcalloc(1, sizeof *c);
    c->console = console;
    c->ws = (hilo_ws_t *)&fake_ws;
    c->refs = 1;
    c->state = state;
    c->opened_ms = c->last_rx_ms = c->tokens_ms = hilo_now_ms();
    c->tokens = (double)rcfg.console_rate_burst;
    snprintf(c->agent, sizeof c->agent, "%s", supervisor ? "sup-1" : "ana");
    snprintf(c->name, sizeof c->name, "%s", supervisor ? "Supervisora" : "Ana");
    c->supervisor = supervisor;
    memset(c->session, 'a', 64);
    c->session_exp_ms = c->opened_ms + 3600000;
    c->next = console->conns;
    if (console->conns) console->conns->prev = c;
    console->conns = c;
    console->nconns++;
    return c;
}

static void one(conn_state_t state, bool supervisor, const uint8_t *data, size_t size) {
    conn_t *c = conn_new(state, supervisor);
    ws_handlers.message(c, (const char *)data, size);
    /* Nothing may still wait for Redis: the socket's reference is the last one. */
    if (c->refs != 1) abort();
    ws_handlers.closed(c); /* frees it */
    if (console->conns || console->nconns != 0 || console->following != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* http.c refuses larger messages (1009) before the console sees them. */
    if (size > ws_handlers.max_message) return 0;
    one(CONN_READY, false, data, size);
    one(CONN_READY, true, data, size);
    one(CONN_AUTHING, false, data, size);
    return 0;
}
