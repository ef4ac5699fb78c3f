/* zmtp.h — the connector end of the link without libzmq: ZMTP 3.0 (rfc.zeromq.org/spec/23),
 * NULL mechanism, socket type DEALER, one-frame messages, over one non-blocking TCP socket.
 *
 * For hilo-loadgen only. libzmq moves every message through its I/O thread, and on the
 * benchmark's 2 CPUs that thread's wake-ups are the largest part of the load generator's cost
 * on the core it shares with the router. Speaking the wire protocol from the sending thread
 * itself removes them; the router still talks libzmq (a connector on another host is the same
 * to it). Everything happens in the caller's thread: it polls zmtp_fd() for POLLIN, and for
 * POLLOUT while zmtp_wants_write(). */
#ifndef HILO_BENCH_ZMTP_H
#define HILO_BENCH_ZMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo/buf.h"

typedef struct {
    int fd;
    bool greeted;     /* the peer's 64-byte greeting was read */
    bool ready;       /* the peer's READY was read: messages may flow */
    hilo_buf_t out;   /* bytes queued for the socket, from out_off */
    size_t out_off;
    size_t hs_len;    /* out's first hs_len bytes are our greeting and READY (0 once written) */
    uint8_t *in;      /* bytes read and not yet parsed */
    size_t in_len, in_cap;
} zmtp_conn_t;

/* Called for every message the peer sends (its one frame). */
typedef void (*zmtp_message_cb)(void *arg, const uint8_t *data, size_t len);

/* Connects to "tcp://A.B.C.D:PORT" and queues the greeting and READY. 0, or -1 with a message
 * on stderr. */
int zmtp_connect(zmtp_conn_t *z, const char *endpoint);
/* Queues one message (one frame) and writes what the socket takes. 0, or -1 when the
 * connection failed. Messages wait in the queue until the peer's READY has come: libzmq
 * takes any frame before it has sent its own READY for a handshake command, and drops the
 * connection. */
int zmtp_send(zmtp_conn_t *z, const void *data, size_t len);
/* Writes what is queued, as far as the socket takes it. 0, or -1 when the connection failed. */
int zmtp_flush(zmtp_conn_t *z);
/* Reads what the socket has and calls cb for each whole message. 0, or -1 when the peer
 * closed the connection or broke the protocol (a message on stderr says which). */
int zmtp_read(zmtp_conn_t *z, zmtp_message_cb cb, void *arg);
static inline bool zmtp_wants_write(const zmtp_conn_t *z) {
    return z->out_off < (z->ready ? z->out.len : z->hs_len);
}
void zmtp_close(zmtp_conn_t *z);

#endif
