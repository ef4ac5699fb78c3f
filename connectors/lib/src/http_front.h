/* http_front.h — the webhook server's own listening sockets, in front of libwebsockets. It
 * accepts connections on one or more bind:port pairs, reads each request's head (request line
 * and header lines) itself, byte for byte, answers 431 when the head is over the limit, closes a
 * client too slow to send it, and hands every good head — with the connection — to the caller,
 * who gives both to libwebsockets (lws_adopt_socket_vhost_readbuf). Why: lws 4.1 percent-decodes
 * the request line before anyone sees it (Twilio signs the URL as sent) and drops oversize heads
 * without a status. Private to the connector library; webhook_server.c is its one user. Owns the
 * listening sockets and the connections until they are handed over. */
#ifndef HILO_HTTP_FRONT_H
#define HILO_HTTP_FRONT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define HILO_HTTP_FRONT_MAX_LISTENERS 2

typedef struct hilo_http_front hilo_http_front_t;

/* A request head read off a new connection. Valid only during the call. */
typedef struct {
    int listener;           /* index of the listener it came in on */
    int fd;                 /* the connection: the callee owns it from now on */
    const char *head;       /* every byte read: the request line and the header lines, up to the
                             * blank line's final '\n' excluded — that byte, and the body, are
                             * still unread on the socket (see http_front.c) */
    size_t head_len;
    const char *target;     /* the request-target exactly as received, NUL-terminated; "" when
                             * the request line is not "METHOD SP target SP version" */
} hilo_http_front_head_t;

typedef void(hilo_http_front_head_fn)(void *arg, const hilo_http_front_head_t *head);

/* Why a connection was refused before its head was handed over (for counters). */
typedef enum {
    HILO_HTTP_FRONT_HEAD_TOO_LARGE, /* answered 431 */
    HILO_HTTP_FRONT_HEAD_TOO_SLOW,  /* closed: the head was not in within head_timeout_ms */
} hilo_http_front_refusal_t;
typedef void(hilo_http_front_refused_fn)(void *arg, int listener, hilo_http_front_refusal_t why);

typedef struct {
    struct {
        const char *bind;   /* an IPv4 address */
        int port;           /* 0 = any free port (see hilo_http_front_port) */
    } listen[HILO_HTTP_FRONT_MAX_LISTENERS];
    int n_listen;
    size_t max_head;        /* bytes of request line + headers (the blank line excluded) */
    unsigned max_fields;    /* header lines + query arguments ('&' or ';'): lws keeps at most
                             * about 90 fragments and drops the request without a status past it */
    int head_timeout_ms;    /* the whole head must be in by then */
    hilo_http_front_head_fn *on_head;
    hilo_http_front_refused_fn *on_refused; /* may be NULL */
    void *arg;
} hilo_http_front_options_t;

/* Listens on every listener at once. NULL with the reason in err when one cannot be bound. */
hilo_http_front_t *hilo_http_front_new(uv_loop_t *loop, const hilo_http_front_options_t *opts, char *err,
                                       size_t errlen);
/* The port listener i is bound to. */
int hilo_http_front_port(const hilo_http_front_t *self, int i);
/* Closes the listeners and the connections not yet handed over; no callback after this. The
 * memory goes once the loop has run the close callbacks. Accepts NULL; nulls the pointer. */
void hilo_http_front_destroy(hilo_http_front_t **self_p);

#endif
