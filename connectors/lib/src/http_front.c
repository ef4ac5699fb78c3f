/* http_front.c — accepting connections and reading request heads before libwebsockets does.
 *
 * Why a front at all: libwebsockets 4.1.6 percent-decodes the request line while it parses it
 * (the raw bytes are gone: Twilio's signature covers the URL as sent), and it drops a request
 * whose head overflows its header table without any status. So the head is read here, off the
 * socket, then given to lws together with the connection (lws_adopt_socket_vhost_readbuf).
 *
 * The one delicate rule: the head handed over stops just before the blank line's final '\n',
 * which stays unread on the socket with the body. lws parses what it is given from the
 * connection's buffer list, and lws_http_action (roles/http/server/server.c) then reads a POST's
 * body from that same buffer list *before* the buffered segment has been marked consumed — the
 * head would be taken for the body (the root of the pipelining freeze, docs/architecture.md).
 * With the last byte of the head left on the socket, the head completes on a plain socket read,
 * the buffer list is empty by then, and lws goes on exactly as for a connection it accepted
 * itself. Hence MSG_PEEK: look, then consume only bytes known to come before that '\n'. Every
 * peeked byte is consumed unless it is that '\n', so a readable socket always makes progress
 * (level-triggered polling never spins on bytes we leave).
 *
 * A refused head (431) is answered here, then the socket is shut for writing and read and
 * dropped for a short while, so that the client reads the answer instead of a reset. */
#define _GNU_SOURCE /* accept4: the new socket non-blocking and close-on-exec in one call */
#include "http_front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hilo/common.h"
#include "hilo/log.h"

#define MOD "http"
#define SWEEP_MS 200          /* deadlines are checked this often */
#define LINGER_MS 2000        /* after a refusal: how long the rest of the request is read and dropped */
#define LINGER_BYTES (256u << 10) /* ... and at most how much of it */
#define ACCEPT_PAUSE_US 200000    /* out of descriptors: stop accepting for this long */

typedef struct pend {
    struct pend *prev, *next;   /* the front's list of connections not yet handed over */
    hilo_http_front_t *front;
    uv_poll_t poll;
    int fd;                     /* -1 once handed over */
    int listener;
    int64_t deadline_us;        /* monotonic: the head (or the lingering) ends by then */
    bool lingering;             /* refused: dropping what the client still sends */
    size_t discarded;           /* bytes dropped while lingering */
    size_t len;                 /* bytes of buf consumed from the socket */
    char buf[];                 /* max_head + 2 */
} pend_t;

typedef struct {
    hilo_http_front_t *front;
    uv_poll_t poll;
    int fd;
    int port;
    bool paused;                /* not accepting (out of descriptors) until paused_until */
} listener_t;

struct hilo_http_front {
    uv_loop_t *loop;
    hilo_http_front_options_t opt;
    listener_t lst[HILO_HTTP_FRONT_MAX_LISTENERS];
    int n_lst;
    uv_timer_t sweep;
    pend_t *pends;              /* connections reading their head, or lingering */
    int64_t paused_until_us;
    int handles;                /* uv handles not yet closed: the memory goes at 0 */
    bool closing;
};

static void handle_closed(hilo_http_front_t *f) {
    if (--f->handles == 0 && f->closing) free(f);
}

static void on_pend_closed(uv_handle_t *h) {
    pend_t *p = h->data;
    hilo_http_front_t *f = p->front;
    free(p);
    handle_closed(f);
}

static void unlink_pend(pend_t *p) {
    if (p->prev) p->prev->next = p->next;
    else p->front->pends = p->next;
    if (p->next) p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

/* Stops watching the socket (uv_close takes it out of epoll at once), then closes it unless it
 * was handed over. */
static void drop_pend(pend_t *p) {
    unlink_pend(p);
    uv_close((uv_handle_t *)&p->poll, on_pend_closed);
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
}

static void refuse(pend_t *p, hilo_http_front_refusal_t why) {
    hilo_http_front_t *f = p->front;
    if (f->opt.on_refused) f->opt.on_refused(f->opt.arg, p->listener, why);
    if (why != HILO_HTTP_FRONT_HEAD_TOO_LARGE) {
        drop_pend(p);
        return;
    }
    static const char answer[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                 "Content-Type: text/plain\r\n"
                                 "Content-Length: 32\r\n"
                                 "Connection: close\r\n"
                                 "\r\n"
                                 "request header fields too large\n";
    /* A few hundred bytes into an empty send buffer: one non-blocking send is enough; if it is
     * not, the client was not reading anyway. */
    ssize_t w = send(p->fd, answer, sizeof answer - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    shutdown(p->fd, SHUT_WR);
    p->lingering = true;
    p->deadline_us = hilo_mono_us() + (int64_t)LINGER_MS * 1000;
}

/* The request-target: between the first and the second space of the first line. */
static char *request_target(const char *head, size_t len) {
    const char *eol = memchr(head, '\n', len);
    size_t line = eol ? (size_t)(eol - head) : len;
    const char *sp1 = memchr(head, ' ', line);
    if (!sp1) return hilo_xstrdup("");
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', line - (size_t)(t - head));
    if (!sp2 || sp2 == t) return hilo_xstrdup("");
    size_t n = (size_t)(sp2 - t);
    char *out = hilo_xmalloc(n + 1);
    memcpy(out, t, n);
    out[n] = '\0';
    return out;
}

/* Header lines (the request line included) plus query arguments: what lws spends its fragment
 * table on. */
static unsigned count_fields(const char *head, size_t len, const char *target) {
    unsigned n = 0;
    for (size_t i = 0; i < len; i++) n += head[i] == '\n';
    const char *q = strchr(target, '?');
    for (; q && *q; q++) n += *q == '&' || *q == ';';
    return n;
}

static void hand_over(pend_t *p) {
    hilo_http_front_t *f = p->front;
    char *target = request_target(p->buf, p->len);
    if (count_fields(p->buf, p->len, target) > f->opt.max_fields) {
        free(target);
        refuse(p, HILO_HTTP_FRONT_HEAD_TOO_LARGE);
        return;
    }
    hilo_http_front_head_t h = {
        .listener = p->listener, .fd = p->fd, .head = p->buf, .head_len = p->len, .target = target,
    };
    /* Out of our hands first: closing the poll handle takes the socket out of the loop's epoll
     * set now, so that lws can watch it; p's memory lives until the close callback. */
    p->fd = -1;
    drop_pend(p);
    f->opt.on_head(f->opt.arg, &h);
    free(target);
}

static void linger_read(pend_t *p) {
    char scratch[4096];
    for (;;) {
        ssize_t n = recv(p->fd, scratch, sizeof scratch, 0);
        if (n > 0) {
            p->discarded += (size_t)n;
            if (p->discarded > LINGER_BYTES) break;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        break; /* the client closed, or an error */
    }
    drop_pend(p);
}

/* The end of the head: the index of the '\n' that ends the blank line, searched from `from`;
 * 0 when not there yet (a blank line never ends at index 0 after a request line). */
static size_t head_end(const char *b, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        if (b[i] != '\n' || i == 0) continue;
        if (b[i - 1] == '\n' || (i >= 2 && b[i - 1] == '\r' && b[i - 2] == '\n')) return i;
    }
    return 0;
}

static void on_pend(uv_poll_t *h, int status, int events) {
    (void)events;
    pend_t *p = h->data;
    if (status < 0) {
        drop_pend(p);
        return;
    }
    if (p->lingering) {
        linger_read(p);
        return;
    }
    hilo_http_front_t *f = p->front;
    size_t room = f->opt.max_head + 1 - p->len;
    ssize_t n = recv(p->fd, p->buf + p->len, room, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) { /* gone before its head was in */
        drop_pend(p);
        return;
    }
    size_t end = head_end(p->buf, p->len ? p->len : 1, p->len + (size_t)n);
    size_t take = end ? end - p->len : (size_t)n;
    if (take) {
        ssize_t got = recv(p->fd, p->buf + p->len, take, 0);
        if (got <= 0) {
            drop_pend(p);
            return;
        }
        p->len += (size_t)got;
        if ((size_t)got != take) return; /* (never: the bytes were peeked) the rest next time */
    }
    if (p->len > f->opt.max_head) {
        refuse(p, HILO_HTTP_FRONT_HEAD_TOO_LARGE);
        return;
    }
    if (end) hand_over(p);
}

static void accept_some(listener_t *l) {
    hilo_http_front_t *f = l->front;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* The listener stays readable: without a pause the loop would spin on it. */
                hilo_log_warn(MOD, "event=accept_paused reason=%s", strerror(errno));
                for (int j = 0; j < f->n_lst; j++) {
                    if (!f->lst[j].paused) uv_poll_stop(&f->lst[j].poll);
                    f->lst[j].paused = true;
                }
                f->paused_until_us = hilo_mono_us() + ACCEPT_PAUSE_US;
            }
            return;
        }
        pend_t *p = hilo_xcalloc(1, sizeof *p + f->opt.max_head + 2);
        p->front = f;
        p->fd = fd;
        p->listener = (int)(l - f->lst);
        p->deadline_us = hilo_mono_us() + (int64_t)f->opt.head_timeout_ms * 1000;
        if (uv_poll_init_socket(f->loop, &p->poll, fd) != 0) {
            close(fd);
            free(p);
            continue;
        }
        f->handles++;
        p->poll.data = p;
        p->next = f->pends;
        if (f->pends) f->pends->prev = p;
        f->pends = p;
        uv_poll_start(&p->poll, UV_READABLE, on_pend);
    }
}

static void on_listener(uv_poll_t *h, int status, int events) {
    (void)events;
    if (status < 0) return;
    accept_some(h->data);
}

static void on_sweep(uv_timer_t *t) {
    hilo_http_front_t *f = t->data;
    int64_t now = hilo_mono_us();
    for (pend_t *p = f->pends, *next; p; p = next) {
        next = p->next;
        if (now <= p->deadline_us) continue;
        if (p->lingering) drop_pend(p);
        else refuse(p, HILO_HTTP_FRONT_HEAD_TOO_SLOW);
    }
    if (f->paused_until_us && now >= f->paused_until_us) {
        f->paused_until_us = 0;
        for (int j = 0; j < f->n_lst; j++) {
            f->lst[j].paused = false;
            uv_poll_start(&f->lst[j].poll, UV_READABLE, on_listener);
        }
    }
}

static int listen_on(const char *bind_addr, int port, int *fd_out, int *port_out, char *err, size_t errlen) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (port < 0 || port > 65535 || inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "cannot listen on %s:%d: not an IPv4 address and port", bind_addr, port);
        return HILO_ERR;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", bind_addr, port, strerror(errno));
        return HILO_ERR;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 511) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", bind_addr, port, strerror(errno));
        close(fd);
        return HILO_ERR;
    }
    *fd_out = fd;
    *port_out = ntohs(sa.sin_port);
    return HILO_OK;
}

static void on_front_handle_closed(uv_handle_t *h) { handle_closed(h->data); }

hilo_http_front_t *hilo_http_front_new(uv_loop_t *loop, const hilo_http_front_options_t *opts, char *err,
                                       size_t errlen) {
    int fds[HILO_HTTP_FRONT_MAX_LISTENERS], ports[HILO_HTTP_FRONT_MAX_LISTENERS];
    int n = opts->n_listen;
    if (n < 1 || n > HILO_HTTP_FRONT_MAX_LISTENERS || !opts->on_head) abort(); /* programmer error */
    for (int i = 0; i < n; i++) {
        if (listen_on(opts->listen[i].bind, opts->listen[i].port, &fds[i], &ports[i], err, errlen) != HILO_OK) {
            while (i--) close(fds[i]);
            return NULL;
        }
    }
    hilo_http_front_t *f = hilo_xcalloc(1, sizeof *f);
    f->loop = loop;
    f->opt = *opts;
    if (!f->opt.max_head) f->opt.max_head = 8192;
    if (!f->opt.max_fields) f->opt.max_fields = 80;
    if (f->opt.head_timeout_ms <= 0) f->opt.head_timeout_ms = 10000;
    f->n_lst = n;
    for (int i = 0; i < n; i++) {
        listener_t *l = &f->lst[i];
        l->front = f;
        l->fd = fds[i];
        l->port = ports[i];
        uv_poll_init_socket(loop, &l->poll, l->fd);
        l->poll.data = l;
        f->handles++;
        uv_poll_start(&l->poll, UV_READABLE, on_listener);
    }
    uv_timer_init(loop, &f->sweep);
    f->sweep.data = f;
    f->handles++;
    uv_timer_start(&f->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    return f;
}

int hilo_http_front_port(const hilo_http_front_t *f, int i) { return i >= 0 && i < f->n_lst ? f->lst[i].port : -1; }

static void on_listener_closed(uv_handle_t *h) {
    listener_t *l = h->data;
    handle_closed(l->front);
}

void hilo_http_front_destroy(hilo_http_front_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_http_front_t *f = *self_p;
    *self_p = NULL;
    f->closing = true;
    f->handles++; /* held while closing, so that no close callback frees f under us */
    while (f->pends) drop_pend(f->pends);
    for (int i = 0; i < f->n_lst; i++) {
        uv_close((uv_handle_t *)&f->lst[i].poll, on_listener_closed);
        close(f->lst[i].fd);
    }
    uv_close((uv_handle_t *)&f->sweep, on_front_handle_closed);
    handle_closed(f);
}
