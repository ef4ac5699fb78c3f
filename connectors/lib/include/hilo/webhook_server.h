/* webhook_server.h — the connector's HTTP server (libwebsockets on the caller's libuv loop:
 * LWS_SERVER_OPTION_LIBUV + foreign loop). It collects one complete request (method, path,
 * query, the headers signatures need, the raw body up to max_body — past it 413), hands it to
 * the caller, and writes the answer whenever the caller gives it: at once or much later
 * (deferred: after the router's ack). Knows nothing of adapters or the link; connector.c routes.
 * Owns the lws context and one connection record per request in progress. */
#ifndef HILO_WEBHOOK_SERVER_H
#define HILO_WEBHOOK_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "hilo/adapter.h"

typedef struct hilo_webhook_server hilo_webhook_server_t;

/* A complete request; `req` is valid only during the call (its `route` is -1: routing is the
 * caller's). Answer with hilo_webhook_server_respond(conn_id, ...) now or later. */
typedef void(hilo_webhook_request_fn)(void *arg, uint64_t conn_id, const hilo_http_request_t *req);
/* The client went away before its answer: drop what waits for it. */
typedef void(hilo_webhook_gone_fn)(void *arg, uint64_t conn_id);

typedef struct {
    const char *bind;           /* "127.0.0.1" */
    int port;                   /* 0 = any free port (see hilo_webhook_server_port) */
    size_t max_body;            /* larger bodies get 413 (default 1 MiB) */
    int request_timeout_ms;     /* a request's body must be in by then, or the connection is
                                 * closed (default 30 s; docs/security.md, slow requests) */
    hilo_webhook_request_fn *on_request;
    hilo_webhook_gone_fn *on_gone;  /* may be NULL */
    void *arg;
} hilo_webhook_server_options_t;

typedef struct {
    uint64_t requests, too_large, gone, responses, too_slow;
} hilo_webhook_server_stats_t;

/* Listens at once. NULL with a reason in err on failure (port in use, ...). In the rare race
 * where the port is taken between our probe and lws's bind, the server is returned with
 * hilo_webhook_server_port() == -1 and err set: lws 4.1 cannot tear such a context down, so the
 * caller must exit without closing it. */
hilo_webhook_server_t *hilo_webhook_server_new(uv_loop_t *loop, const hilo_webhook_server_options_t *opts,
                                               char *err, size_t errlen);
/* Stops: closes the listener and every connection; no callback after this call. lws then
 * closes its uv handles from the loop. Accepts NULL; a second call does nothing. */
void hilo_webhook_server_close(hilo_webhook_server_t *self);
/* Frees the server. Call it after close() once the loop has run dry (uv_run returned): lws 4.1
 * on a foreign loop completes its teardown only then. Accepts NULL; nulls the caller's pointer. */
void hilo_webhook_server_destroy(hilo_webhook_server_t **self_p);

/* The port listened on; -1 when the listener could not be bound (see _new). */
int hilo_webhook_server_port(const hilo_webhook_server_t *self);
/* Answers request conn_id with a copy of `resp`. HILO_ERR when that request is gone or already
 * answered. */
int hilo_webhook_server_respond(hilo_webhook_server_t *self, uint64_t conn_id, const hilo_http_response_t *resp);
/* Shorthand for a text answer. */
int hilo_webhook_server_respond_text(hilo_webhook_server_t *self, uint64_t conn_id, int status, const char *text);
void hilo_webhook_server_stats(const hilo_webhook_server_t *self, hilo_webhook_server_stats_t *out);

#endif
