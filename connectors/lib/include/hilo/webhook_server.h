/* webhook_server.h — the connector's HTTP server (libwebsockets on the caller's libuv loop:
 * LWS_SERVER_OPTION_LIBUV + foreign loop, behind our own listeners: http_front.c). It collects
 * one complete request (method, path, the request-target as sent, the headers signatures need,
 * the raw body up to max_body — past it 413; a head over max_head 431), hands it to the
 * caller, and writes the answer whenever the caller gives it: at once or much later (deferred:
 * after the router's ack). Knows nothing of adapters or the link; connector.c routes. Owns the
 * listeners, the lws context and one connection record per request in progress. */
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
    const char *bind;           /* an IPv4 address, "127.0.0.1" by default */
    int port;                   /* 0 = any free port (see hilo_webhook_server_port) */
    const char *admin_bind;     /* a second listener (metrics, health), "127.0.0.1" by default */
    int admin_port;             /* -1 = none, 0 = any free port; its requests have listener 1 */
    size_t max_body;            /* larger bodies get 413 (default 1 MiB) */
    size_t max_head;            /* request line + headers; larger heads get 431 (default 8 KiB) */
    size_t max_buffered;        /* body bytes all connections together may hold before they are
                                 * handed over (default 16 MiB); a POST that would go past it
                                 * gets 503 with Retry-After, unread */
    int request_timeout_ms;     /* a request's body must be in by then, or the connection is
                                 * closed (default 30 s; docs/security.md, slow requests) */
    hilo_webhook_request_fn *on_request;
    /* May be NULL. A POST's head, before its body is read (`req` has an empty body): answer it
     * (hilo_webhook_server_respond) to refuse it with its body unread, or return without. */
    hilo_webhook_request_fn *on_head;
    hilo_webhook_gone_fn *on_gone;  /* may be NULL */
    void *arg;
} hilo_webhook_server_options_t;

typedef struct {
    uint64_t requests, too_large, gone, responses, too_slow;
    uint64_t head_too_large;    /* heads answered 431 */
    uint64_t overloaded;        /* POSTs answered 503: max_buffered reached */
} hilo_webhook_server_stats_t;

/* Listens at once. NULL with a reason in err on failure (port in use, ...). When libwebsockets
 * itself fails to start (out of memory) the server is returned with hilo_webhook_server_port()
 * == -1 and err set: lws 4.1 cannot tear such a context down, so the caller must exit without
 * closing it. */
hilo_webhook_server_t *hilo_webhook_server_new(uv_loop_t *loop, const hilo_webhook_server_options_t *opts,
                                               char *err, size_t errlen);
/* Stops: closes the listener and every connection; no callback after this call. lws then
 * closes its uv handles from the loop. Accepts NULL; a second call does nothing. */
void hilo_webhook_server_close(hilo_webhook_server_t *self);
/* Frees the server. Call it after close() once the loop has run dry (uv_run returned): lws 4.1
 * on a foreign loop completes its teardown only then. Accepts NULL; nulls the caller's pointer. */
void hilo_webhook_server_destroy(hilo_webhook_server_t **self_p);

/* The port listened on; -1 when libwebsockets could not start (see _new). */
int hilo_webhook_server_port(const hilo_webhook_server_t *self);
/* The admin listener's port; -1 when there is none. */
int hilo_webhook_server_admin_port(const hilo_webhook_server_t *self);
/* Answers request conn_id with a copy of `resp`. HILO_ERR when that request is gone or already
 * answered. */
int hilo_webhook_server_respond(hilo_webhook_server_t *self, uint64_t conn_id, const hilo_http_response_t *resp);
/* Shorthand for a text answer. */
int hilo_webhook_server_respond_text(hilo_webhook_server_t *self, uint64_t conn_id, int status, const char *text);
void hilo_webhook_server_stats(const hilo_webhook_server_t *self, hilo_webhook_server_stats_t *out);

#endif
