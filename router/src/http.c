/* http.c — libwebsockets HTTP server with a small exact-path route table. */
#include "http.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/log.h"

#define MAX_ROUTES 32
#define CHUNK 4096 /* bytes written per writable callback */

typedef struct {
    const char *path;
    hilo_http_handler_fn fn;
    void *arg;
} route_t;

struct hilo_http {
    struct lws_context *lws;
    route_t routes[MAX_ROUTES];
    int nroutes;
    bool stopped;      /* first destroy stage done */
};

/* Per-connection state, allocated by lws (per_session_data_size). */
typedef struct {
    hilo_http_reply_t reply; /* the response being written */
    size_t sent;             /* body bytes written so far */
} session_t;

static void lws_log_line(int level, const char *line) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' ')) n--;
    hilo_log(level == LLL_ERR ? HILO_LOG_ERROR : HILO_LOG_WARN, "http", "event=lws msg=\"%.*s\"", (int)n, line);
}

static int start_reply(struct lws *wsi, session_t *s) {
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)s->reply.status, s->reply.content_type, s->reply.body.len, &p,
                                    end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p,
                                     end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    session_t *s = user;
    hilo_http_t *h = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        const char *path = in;
        memset(&s->reply, 0, sizeof s->reply);
        s->sent = 0;
        s->reply.status = 200;
        s->reply.content_type = "text/plain; charset=utf-8";
        route_t *r = NULL;
        for (int i = 0; i < h->nroutes; i++)
            if (strcmp(h->routes[i].path, path) == 0) r = &h->routes[i];
        if (r) {
            r->fn(&s->reply, r->arg);
        } else {
            s->reply.status = 404;
            hilo_buf_printf(&s->reply.body, "not found\n");
        }
        return start_reply(wsi, s);
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        unsigned char buf[LWS_PRE + CHUNK];
        size_t left = s->reply.body.len - s->sent, n = left > CHUNK ? CHUNK : left;
        if (n) memcpy(buf + LWS_PRE, s->reply.body.data + s->sent, n);
        enum lws_write_protocol mode = n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP;
        if (lws_write(wsi, buf + LWS_PRE, n, mode) != (int)n) return -1;
        s->sent += n;
        if (s->sent < s->reply.body.len) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        hilo_buf_free(&s->reply.body);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s) hilo_buf_free(&s->reply.body);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(session_t), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

hilo_http_t *hilo_http_new(uv_loop_t *loop, const char *bind, int port) {
    hilo_http_t *h = hilo_xcalloc(1, sizeof *h);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {loop};
    info.port = port;
    info.iface = bind;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = loops;
    info.user = h;
    h->lws = lws_create_context(&info);
    if (!h->lws) {
        hilo_log_error("http", "event=listen_failed bind=%s port=%d", bind, port);
        free(h);
        return NULL;
    }
    hilo_log_info("http", "event=listening bind=%s port=%d", bind, port);
    return h;
}

void hilo_http_route(hilo_http_t *h, const char *path, hilo_http_handler_fn fn, void *arg) {
    if (h->nroutes == MAX_ROUTES) abort(); /* programmer error: raise MAX_ROUTES */
    h->routes[h->nroutes++] = (route_t){path, fn, arg};
}

void hilo_http_stop(hilo_http_t *h) {
    if (h->stopped) return;
    h->stopped = true;
    lws_context_destroy(h->lws);
}

void hilo_http_destroy(hilo_http_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_http_t *h = *self_p;
    hilo_http_stop(h);
    lws_context_destroy(h->lws); /* second stage, after the loop ran the close callbacks */
    free(h);
    *self_p = NULL;
}
