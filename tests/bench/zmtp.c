/* zmtp.c — ZMTP 3.0 DEALER client, NULL mechanism (zmtp.h). The layout of every byte is in
 * the spec, rfc.zeromq.org/spec/23: a 64-byte greeting each way, then frames of
 *   flags (bit 0 MORE, bit 1 LONG, bit 2 COMMAND), size (1 byte, or 8 bytes big-endian if
 *   LONG), body
 * where the NULL mechanism's handshake is one READY command each way carrying the socket
 * type. */
#include "zmtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hilo/common.h"

enum { FLAG_MORE = 1, FLAG_LONG = 2, FLAG_COMMAND = 4 };
#define GREETING_LEN 64

static void put_frame_header(hilo_buf_t *b, uint8_t flags, size_t len) {
    uint8_t h[9];
    if (len <= 255) {
        h[0] = flags;
        h[1] = (uint8_t)len;
        hilo_buf_append(b, h, 2);
        return;
    }
    h[0] = flags | FLAG_LONG;
    for (int k = 0; k < 8; k++) h[1 + k] = (uint8_t)((uint64_t)len >> (56 - 8 * k));
    hilo_buf_append(b, h, 9);
}

/* Our greeting (signature, version 3.0, mechanism NULL, not the server) and READY with
 * Socket-Type DEALER. */
static void queue_handshake(zmtp_conn_t *z) {
    uint8_t g[GREETING_LEN] = {0};
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3; /* version major */
    g[11] = 0; /* minor */
    memcpy(g + 12, "NULL", 4);
    hilo_buf_append(&z->out, g, sizeof g);

    static const char name[] = "Socket-Type", value[] = "DEALER";
    uint8_t body[64];
    size_t n = 0;
    body[n++] = 5;
    memcpy(body + n, "READY", 5), n += 5;
    body[n++] = (uint8_t)(sizeof name - 1);
    memcpy(body + n, name, sizeof name - 1), n += sizeof name - 1;
    uint32_t vlen = htonl((uint32_t)(sizeof value - 1));
    memcpy(body + n, &vlen, 4), n += 4;
    memcpy(body + n, value, sizeof value - 1), n += sizeof value - 1;
    put_frame_header(&z->out, FLAG_COMMAND, n);
    hilo_buf_append(&z->out, body, n);
    z->hs_len = z->out.len;
}

int zmtp_connect(zmtp_conn_t *z, const char *endpoint) {
    memset(z, 0, sizeof *z);
    z->fd = -1;
    char host[64];
    int port = 0;
    if (sscanf(endpoint, "tcp://%63[0-9.]:%d", host, &port) != 2 || port <= 0 || port > 65535) {
        fprintf(stderr, "zmtp: endpoint must be tcp://A.B.C.D:PORT, not %s\n", endpoint);
        return -1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "zmtp: bad address %s\n", host);
        return -1;
    }
    z->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (z->fd < 0 || connect(z->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "zmtp: connect %s: %s\n", endpoint, strerror(errno));
        zmtp_close(z);
        return -1;
    }
    int one = 1;
    setsockopt(z->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(z->fd, F_SETFL, fcntl(z->fd, F_GETFL) | O_NONBLOCK);
    queue_handshake(z);
    return zmtp_flush(z);
}

int zmtp_flush(zmtp_conn_t *z) {
    size_t end = z->ready ? z->out.len : z->hs_len;
    while (z->out_off < end) {
        ssize_t w = send(z->fd, z->out.data + z->out_off, end - z->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) break;
            fprintf(stderr, "zmtp: send: %s\n", strerror(errno));
            return -1;
        }
        z->out_off += (size_t)w;
    }
    if (z->out_off == z->out.len) { /* all written: reuse from the start */
        z->out.len = z->out_off = 0;
        z->hs_len = 0; /* (the handshake is among what was written) */
    }
    return 0;
}

int zmtp_send(zmtp_conn_t *z, const void *data, size_t len) {
    put_frame_header(&z->out, 0, len);
    hilo_buf_append(&z->out, data, len);
    return zmtp_flush(z);
}

/* A command from the peer: READY ends the handshake, ERROR ends the connection; others
 * (PING without heartbeats configured, properties we do not use) are skipped. */
static int on_command(zmtp_conn_t *z, const uint8_t *body, size_t len) {
    if (len < 1 || (size_t)body[0] + 1 > len) {
        fprintf(stderr, "zmtp: malformed command\n");
        return -1;
    }
    size_t nlen = body[0];
    const char *name = (const char *)body + 1;
    if (nlen == 5 && memcmp(name, "READY", 5) == 0) {
        z->ready = true;
    } else if (nlen == 5 && memcmp(name, "ERROR", 5) == 0) {
        size_t rlen = len > 7 ? body[6] : 0; /* reason: its length, then its bytes */
        if (rlen > len - 7) rlen = len > 7 ? len - 7 : 0;
        fprintf(stderr, "zmtp: peer refused the handshake: %.*s\n", (int)rlen, len > 7 ? (const char *)body + 7 : "");
        return -1;
    }
    return 0;
}

/* Parses what is buffered; the unparsed tail stays for the next read. */
static int parse(zmtp_conn_t *z, zmtp_message_cb cb, void *arg) {
    size_t pos = 0;
    if (!z->greeted) {
        if (z->in_len < GREETING_LEN) return 0;
        if (z->in[0] != 0xFF || z->in[9] != 0x7F || z->in[10] < 3) {
            fprintf(stderr, "zmtp: the peer does not speak ZMTP 3\n");
            return -1;
        }
        z->greeted = true;
        pos = GREETING_LEN;
    }
    while (z->in_len - pos >= 2) {
        uint8_t flags = z->in[pos];
        size_t hlen = (flags & FLAG_LONG) ? 9 : 2;
        if (z->in_len - pos < hlen) break;
        uint64_t len = 0;
        if (flags & FLAG_LONG)
            for (int k = 0; k < 8; k++) len = (len << 8) | z->in[pos + 1 + k];
        else
            len = z->in[pos + 1];
        if (len > (64u << 20)) {
            fprintf(stderr, "zmtp: frame of %llu bytes\n", (unsigned long long)len);
            return -1;
        }
        if (z->in_len - pos - hlen < len) break;
        const uint8_t *body = z->in + pos + hlen;
        pos += hlen + (size_t)len;
        if (flags & FLAG_COMMAND) {
            if (on_command(z, body, (size_t)len) < 0) return -1;
        } else if (flags & FLAG_MORE) {
            fprintf(stderr, "zmtp: multi-frame message (the link's messages are one frame)\n");
            return -1;
        } else {
            cb(arg, body, (size_t)len);
        }
    }
    memmove(z->in, z->in + pos, z->in_len - pos);
    z->in_len -= pos;
    return 0;
}

int zmtp_read(zmtp_conn_t *z, zmtp_message_cb cb, void *arg) {
    for (;;) {
        if (z->in_cap - z->in_len < 65536) {
            z->in_cap = z->in_cap ? 2 * z->in_cap : 131072;
            z->in = hilo_xrealloc(z->in, z->in_cap);
        }
        ssize_t r = recv(z->fd, z->in + z->in_len, z->in_cap - z->in_len, 0);
        if (r == 0) {
            fprintf(stderr, "zmtp: the peer closed the connection\n");
            return -1;
        }
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) return 0;
            fprintf(stderr, "zmtp: recv: %s\n", strerror(errno));
            return -1;
        }
        z->in_len += (size_t)r;
        bool was_ready = z->ready;
        if (parse(z, cb, arg) < 0) return -1;
        if (!was_ready && z->ready && zmtp_flush(z) < 0) return -1; /* what waited for READY */
    }
}

void zmtp_close(zmtp_conn_t *z) {
    if (z->fd >= 0) close(z->fd);
    z->fd = -1;
    hilo_buf_free(&z->out);
    z->out_off = 0;
    free(z->in);
    z->in = NULL;
    z->in_len = z->in_cap = 0;
}
