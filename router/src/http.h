/* http.h — the router's HTTP server: libwebsockets on the router's libuv loop (foreign loop,
 * LWS_SERVER_OPTION_LIBUV). Exact-path GET routes answered synchronously by a handler
 * (/healthz, /metrics), POST routes answered later (the console's login), static files under a
 * prefix (the console's assets) and one websocket path (the console's /ws). lws types stay
 * in http.c. Owned by router.c. */
#ifndef HILO_HTTP_H
#define HILO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "hilo/buf.h"

typedef struct hilo_http hilo_http_t;

typedef struct {
    int status;               /* HTTP status, 200 by default */
    const char *content_type; /* static string, "text/plain; charset=utf-8" by default */
    hilo_buf_t body;          /* the handler appends; freed by the server */
} hilo_http_reply_t;

typedef void (*hilo_http_handler_fn)(hilo_http_reply_t *reply, void *arg);

/* Listens on bind:port. NULL on failure (logged). */
hilo_http_t *hilo_http_new(uv_loop_t *loop, const char *bind, int port);
/* The same over TLS when cert and key (PEM files) are both non-empty; plain HTTP otherwise. */
/* request_timeout_ms: a POST's whole body must arrive within it, or the connection is closed;
 * silence while reading a request closes it after the same time (0 = 30 s). */
hilo_http_t *hilo_http_new_tls(uv_loop_t *loop, const char *bind, int port, const char *cert, const char *key,
                               int request_timeout_ms);
/* Routes must be added before traffic arrives; `path` must stay valid. */
void hilo_http_route(hilo_http_t *self, const char *path, hilo_http_handler_fn fn, void *arg);

/* --- POST routes, answered asynchronously --------------------------------------------- */

/* One POST request waiting for its answer. Valid until hilo_http_req_answer(); if the client
 * goes away first, the answer is simply dropped (the request stays valid for the caller). */
typedef struct hilo_http_req hilo_http_req_t;
/* body: the whole request body (<= max_body bytes), valid during the call only; origin: the
 * Origin header ("" when absent). The handler must answer exactly once, now or later. */
typedef void (*hilo_http_post_fn)(hilo_http_req_t *req, const char *body, size_t len, const char *origin,
                                  void *arg);
void hilo_http_post_route(hilo_http_t *self, const char *path, size_t max_body, hilo_http_post_fn fn, void *arg);
/* The client's address as the connection shows it ("" when unknown) and the X-Forwarded-For
 * header's last 512 bytes from an entry boundary ("" when absent); valid until the answer. */
const char *hilo_http_req_peer(const hilo_http_req_t *req);
const char *hilo_http_req_forwarded_for(const hilo_http_req_t *req);
/* Sends the answer (body copied) and frees req. */
void hilo_http_req_answer(hilo_http_req_t *req, int status, const char *content_type, const char *body, size_t len);

/* --- static files ---------------------------------------------------------------------- */

/* GET <prefix><name> serves <dir>/<name> (no "..", no hidden files); GET <prefix> serves
 * <dir>/index.html. Both strings must stay valid. One static mount. */
void hilo_http_static(hilo_http_t *self, const char *prefix, const char *dir);

/* --- one websocket path ---------------------------------------------------------------- */

typedef struct hilo_ws hilo_ws_t; /* one websocket connection, owned by http.c */

typedef struct {
    /* Before the upgrade: false refuses it (HTTP 403). origin "" when absent. */
    bool (*accept)(const char *origin, void *arg);
    /* Established; token is the ?token= URL argument ("" when absent). Returns the caller's
     * per-connection pointer, passed to the other callbacks. */
    void *(*open)(hilo_ws_t *ws, const char *token, const char *peer, void *arg);
    /* One whole text message (valid during the call). */
    void (*message)(void *conn, const char *data, size_t len);
    /* The connection is gone: `ws` must not be used any more. */
    void (*closed)(void *conn);
    void *arg;
    size_t max_message;     /* larger messages close the connection with 1009 */
    size_t max_queued;      /* more unsent bytes than this close a slow client */
} hilo_ws_handlers_t;

void hilo_http_ws(hilo_http_t *self, const char *path, const hilo_ws_handlers_t *handlers);
/* Queues one text message (copied); it is written when the socket is writable. Never blocks. */
void hilo_ws_send(hilo_ws_t *ws, const char *data, size_t len);
/* Closes after the queued messages with a close code (e.g. 4401) and a short reason. */
void hilo_ws_close(hilo_ws_t *ws, int code, const char *reason);
/* Unsent bytes queued on this connection. */
size_t hilo_ws_queued(const hilo_ws_t *ws);

/* Two stages, because libwebsockets 4.1 on a foreign libuv loop closes its handles
 * asynchronously: stop() closes the listener and connections; the owner then runs the loop
 * until the close callbacks are done; destroy() finishes (lws needs its destroy called
 * again after that, or it leaks its per-thread tables). destroy() without stop() does both
 * stages but leaves the freeing to lws's own close callbacks. */
void hilo_http_stop(hilo_http_t *self);
void hilo_http_destroy(hilo_http_t **self_p);

#endif
