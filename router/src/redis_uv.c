/* redis_uv.c — hiredis async I/O on libuv, writing at the end of the loop turn (redis_uv.h). */
#include "redis_uv.h"

#include <stdbool.h>
#include <stdlib.h>

#include "hilo/common.h"

typedef struct {
    redisAsyncContext *ac; /* NULL once hiredis let go of it (cleanup) */
    uv_poll_t poll;
    uv_prepare_t flush;
    int events;            /* what the poll handle watches */
    bool want_write;       /* hiredis has output to send */
    int open_handles;
} attach_t;

static void on_poll(uv_poll_t *h, int status, int events);

static void watch(attach_t *a, int events) {
    if (events == a->events) return;
    a->events = events;
    if (events)
        uv_poll_start(&a->poll, events, on_poll);
    else
        uv_poll_stop(&a->poll);
}

static void on_poll(uv_poll_t *h, int status, int events) {
    attach_t *a = h->data;
    /* On a socket error, let hiredis find it out by reading (it then disconnects). */
    if (status < 0) events = UV_READABLE;
    if (a->ac && (events & UV_READABLE)) redisAsyncHandleRead(a->ac);
    if (a->ac && (events & UV_WRITABLE)) redisAsyncHandleWrite(a->ac);
}

/* Just before the loop waits: what was queued this turn goes out now. */
static void on_flush(uv_prepare_t *h) {
    attach_t *a = h->data;
    uv_prepare_stop(h);
    if (!a->ac || !a->want_write) return;
    /* Until connect() completes, only epoll can say so (hiredis takes the first writable
     * event as "connected"). */
    if (a->ac->c.flags & REDIS_CONNECTED) redisAsyncHandleWrite(a->ac);
    if (a->ac && a->want_write) watch(a, a->events | UV_WRITABLE); /* the rest when writable */
}

static void add_read(void *p) {
    attach_t *a = p;
    watch(a, a->events | UV_READABLE);
}

static void del_read(void *p) {
    attach_t *a = p;
    watch(a, a->events & ~UV_READABLE);
}

static void add_write(void *p) {
    attach_t *a = p;
    a->want_write = true;
    if (!(a->events & UV_WRITABLE)) uv_prepare_start(&a->flush, on_flush);
}

static void del_write(void *p) {
    attach_t *a = p;
    a->want_write = false;
    watch(a, a->events & ~UV_WRITABLE);
}

static void on_closed(uv_handle_t *h) {
    attach_t *a = h->data;
    if (--a->open_handles == 0) free(a);
}

static void cleanup(void *p) {
    attach_t *a = p;
    a->ac = NULL;
    uv_close((uv_handle_t *)&a->poll, on_closed);
    uv_close((uv_handle_t *)&a->flush, on_closed);
}

int hilo_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop) {
    if (ac->ev.data) return HILO_ERR;
    attach_t *a = hilo_xcalloc(1, sizeof *a);
    if (uv_poll_init(loop, &a->poll, ac->c.fd) != 0) {
        free(a);
        return HILO_ERR;
    }
    uv_prepare_init(loop, &a->flush);
    a->poll.data = a->flush.data = a;
    a->open_handles = 2;
    a->ac = ac;
    ac->ev.data = a;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return HILO_OK;
}

redisAsyncContext *hilo_redis_uv_connect(const char *host, int port) {
    return host[0] == '/' ? redisAsyncConnectUnix(host) : redisAsyncConnect(host, port);
}
