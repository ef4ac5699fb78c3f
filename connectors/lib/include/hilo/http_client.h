/* http_client.h — outbound HTTP(S) calls to provider APIs on the caller's libuv loop (libcurl
 * multi: CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION drive uv_poll/uv_timer handles). One call =
 * one request and one completion callback; retries are the caller's business (sender.c).
 * Used by the outbound sender. Owns its curl handles and uv handles; copies what it sends. */
#ifndef HILO_HTTP_CLIENT_H
#define HILO_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "hilo/adapter.h"

typedef struct hilo_http_client hilo_http_client_t;

/* The outcome of one call. http_status 0 = transport failure (DNS, connect, TLS, timeout), with
 * curl's text in `error`. body (NUL-terminated, capped at 1 MiB) is valid only during the call.
 * maybe_sent: the request may have reached the server (it got past connecting, or an answer
 * came); false only when it certainly did not (DNS, connection refused, TLS handshake) — what an
 * at-most-once sender needs to tell "not sent" from "unknown". */
typedef void(hilo_http_done_fn)(void *arg, int http_status, const char *body, size_t len, const char *error,
                                bool maybe_sent);

/* NULL on failure (curl could not be initialised). */
hilo_http_client_t *hilo_http_client_new(uv_loop_t *loop);
/* Aborts the calls in flight (no callbacks), closes the handles and frees itself once they are
 * closed (run the loop). Accepts NULL; nulls the caller's pointer. */
void hilo_http_client_destroy(hilo_http_client_t **self_p);

/* Starts `call` (copied). timeout_ms: whole-request limit. Returns a call id (> 0) or 0 when the
 * request could not be started (the callback is then not called). */
uint64_t hilo_http_client_start(hilo_http_client_t *self, const hilo_http_call_t *call, long timeout_ms,
                                hilo_http_done_fn *done, void *arg);
/* Cancels a call in flight: no callback. Unknown ids are ignored. */
void hilo_http_client_cancel(hilo_http_client_t *self, uint64_t id);
size_t hilo_http_client_in_flight(const hilo_http_client_t *self);

#endif
