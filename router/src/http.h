/* http.h — the router's HTTP server: libwebsockets on the router's libuv loop (foreign loop,
 * LWS_SERVER_OPTION_LIBUV). Exact-path GET routes answered synchronously by a handler
 * (/healthz, /metrics; the console adds its own). Owned by router.c. */
#ifndef HILO_HTTP_H
#define HILO_HTTP_H

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
/* Routes must be added before traffic arrives; `path` must stay valid. */
void hilo_http_route(hilo_http_t *self, const char *path, hilo_http_handler_fn fn, void *arg);
/* Two stages, because libwebsockets 4.1 on a foreign libuv loop closes its handles
 * asynchronously: stop() closes the listener and connections; the owner then runs the loop
 * until the close callbacks are done; destroy() finishes (lws needs its destroy called
 * again after that, or it leaks its per-thread tables). destroy() without stop() does both
 * stages but leaves the freeing to lws's own close callbacks. */
void hilo_http_stop(hilo_http_t *self);
void hilo_http_destroy(hilo_http_t **self_p);

#endif
