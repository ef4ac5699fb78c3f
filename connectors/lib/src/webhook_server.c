/* webhook_server.c — libwebsockets HTTP server on a foreign libuv loop, with deferred answers.
 * The listening sockets are ours (http_front.c reads each request's head first: 431, the
 * request-target as sent); lws takes each connection over with its head and parses it. */
#include "hilo/webhook_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "hilo/common.h"
#include "hilo/log.h"
#include "http_front.h"
#include "u64map.h"

#define MOD "http"
#define DRAIN_FACTOR 4 /* a too-large body is read and dropped up to this many times max_body */
/* lws keeps a head in its own header table, in a form up to ~3.3 times the raw size (each
 * unknown header costs 8 bytes more): room for any head the front let through. */
#define LWS_TABLE_FACTOR 4
#define RETRY_AFTER_S 1 /* told to a client refused for the buffered-bytes cap */

/* What the front read before lws took the connection over (the wsi's opaque user data). */
typedef struct {
    int listener;               /* 0 the webhook port, 1 the admin port */
    char *target;               /* the request-target exactly as received */
} adopted_t;

typedef struct conn {
    uint64_t id;
    struct lws *wsi;
    unsigned method;            /* HILO_HTTP_GET / HILO_HTTP_POST / 0 = other */
    int listener;               /* the port it came in on (options: 0 port, 1 admin_port) */
    char path[512];             /* as lws decoded and normalised it: for routing */
    char *query;                /* raw, as received (owned) */
    char *uri;                  /* the request-target as received (owned) */
    char content_type[128];
    char host[256];
    char hub_sig[160];
    char twilio_sig[160];
    char remote[64];
    uint8_t *body;              /* raw body + '\0' */
    size_t body_len, body_cap;
    size_t body_seen;           /* bytes received, kept or not */
    size_t reserved;            /* bytes counted against max_buffered for this body */
    int retry_after_s;          /* > 0: the answer carries Retry-After */
    bool too_large;             /* answer 413 once the body is over */
    int64_t deadline_us;        /* monotonic: the whole body must be in by then */
    bool dispatched;            /* handed to on_request */
    bool answered;              /* a response is set (maybe not written yet) */
    hilo_http_response_t resp;
} conn_t;

typedef struct {
    conn_t *conn;               /* the request in progress on this connection */
} pss_t;

struct hilo_webhook_server {
    uv_loop_t *loop;
    struct lws_context *ctx;
    struct lws_vhost *vhost;    /* lws's only vhost: it listens on nothing, it adopts */
    hilo_http_front_t *front;   /* our listeners */
    hilo_webhook_server_options_t opt;
    char *bind, *admin_bind;
    int port, admin_port;       /* bound ports (admin_port -1: none) */
    size_t buffered;            /* body bytes reserved by all connections (<= max_buffered) */
    hilo_log_limit_t refusals;  /* log budget for refusals strangers can repeat */
    hilo_u64map_t *conns;       /* id → conn */
    uint64_t next_id;
    hilo_webhook_server_stats_t stats;
    bool destroying;            /* close() was called */
};

static void lws_log_to_hilo(int level, const char *line) {
    /* lws 4.1.6 logs every socket adoption with a read buffer at error level (a debugging
     * leftover in core-net/adopt.c): one line per request here, and not an error. */
    if (strstr(line, "adopt_socket_readbuf: calling service") ||
        strstr(line, "adopt_socket_readbuf: deferring handling ah"))
        return;
    hilo_log_library_line(level == LLL_ERR ? HILO_LOG_ERROR : HILO_LOG_WARN, "lws", line);
}

static void release_body(hilo_webhook_server_t *s, conn_t *c) {
    s->buffered -= c->reserved;
    c->reserved = 0;
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
}

static void free_conn(hilo_webhook_server_t *s, conn_t *c) {
    hilo_u64map_del(s->conns, c->id);
    release_body(s, c);
    hilo_http_response_clear(&c->resp);
    free(c->query);
    free(c->uri);
    free(c);
}

static void set_response(conn_t *c, int status, const char *ctype, const char *body, size_t len) {
    hilo_http_response_set(&c->resp, status, ctype, body, len);
    c->answered = true;
    lws_callback_on_writable(c->wsi);
}

static void copy_hdr(struct lws *wsi, enum lws_token_indexes h, char *dst, size_t len) {
    dst[0] = '\0';
    if (lws_hdr_total_length(wsi, h) > 0 && lws_hdr_copy(wsi, dst, (int)len, h) < 0) dst[0] = '\0';
}

static void copy_custom(struct lws *wsi, const char *name, char *dst, size_t len) {
    dst[0] = '\0';
    int n = (int)strlen(name);
    if (lws_hdr_custom_length(wsi, name, n) > 0 && lws_hdr_custom_copy(wsi, dst, (int)len, name, n) < 0) dst[0] = '\0';
}

/* Rebuilds the query string from lws's '&'-separated, decoded fragments: only for a connection
 * lws accepted without our front (never today; kept so that a missing target degrades). */
static void copy_query(struct lws *wsi, char *dst, size_t len) {
    size_t o = 0;
    dst[0] = '\0';
    for (int i = 0;; i++) {
        int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (flen <= 0) break;
        if (o + (size_t)flen + 2 >= len) break;
        if (o) dst[o++] = '&';
        if (lws_hdr_copy_fragment(wsi, dst + o, (int)(len - o), WSI_TOKEN_HTTP_URI_ARGS, i) < 0) break;
        o += strlen(dst + o);
    }
    dst[o] = '\0';
}

static conn_t *new_conn(hilo_webhook_server_t *s, struct lws *wsi, const char *path) {
    conn_t *c = hilo_xcalloc(1, sizeof *c);
    c->id = s->next_id++;
    c->wsi = wsi;
    snprintf(c->path, sizeof c->path, "%s", path ? path : "/");
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0) c->method = HILO_HTTP_GET;
    else if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) c->method = HILO_HTTP_POST;
    const adopted_t *a = lws_get_opaque_user_data(wsi);
    if (a && a->target[0]) {
        /* Twilio signs the URL as it sent it: the uri and the query are the raw bytes. */
        c->listener = a->listener;
        c->uri = hilo_xstrdup(a->target);
        const char *q = strchr(a->target, '?');
        c->query = hilo_xstrdup(q ? q + 1 : "");
    } else {
        char q[4096];
        copy_query(wsi, q, sizeof q);
        c->query = hilo_xstrdup(q);
        size_t n = strlen(c->path) + strlen(q) + 2;
        c->uri = hilo_xmalloc(n);
        snprintf(c->uri, n, "%s%s%s", c->path, q[0] ? "?" : "", q);
    }
    copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, c->content_type, sizeof c->content_type);
    copy_hdr(wsi, WSI_TOKEN_HOST, c->host, sizeof c->host);
    copy_custom(wsi, "x-hub-signature-256:", c->hub_sig, sizeof c->hub_sig);
    copy_custom(wsi, "x-twilio-signature:", c->twilio_sig, sizeof c->twilio_sig);
    lws_get_peer_simple(wsi, c->remote, sizeof c->remote);
    hilo_u64map_put(s->conns, c->id, c);
    s->stats.requests++;
    return c;
}

static hilo_http_request_t request_of(const conn_t *c) {
    return (hilo_http_request_t){
        .route = -1, .method = c->method, .path = c->path, .query = c->query, .uri = c->uri,
        .body = c->body ? c->body : (const uint8_t *)"", .body_len = c->body_len, .content_type = c->content_type,
        .host = c->host, .x_hub_signature_256 = c->hub_sig, .x_twilio_signature = c->twilio_sig,
        .remote_addr = c->remote, .listener = c->listener,
    };
}

static void dispatch(hilo_webhook_server_t *s, conn_t *c) {
    if (c->too_large) {
        s->stats.too_large++;
        hilo_log_limited(&s->refusals, HILO_LOG_WARN, MOD, "event=body_too_large path=%s bytes=%zu max=%zu remote=%s",
                         hilo_log_value(c->path), c->body_seen, s->opt.max_body, c->remote);
        set_response(c, 413, "text/plain", "request body too large\n", (size_t)-1);
        return;
    }
    c->dispatched = true;
    hilo_http_request_t req = request_of(c);
    /* The answer may take a while (router ack, voice reply): lws must not time the request out
     * meanwhile; the caller's own deadline answers first. */
    lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
    s->opt.on_request(s->opt.arg, c->id, &req);
}

static int write_response(hilo_webhook_server_t *s, struct lws *wsi, conn_t *c) {
    uint8_t hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    const char *ctype = c->resp.content_type[0] ? c->resp.content_type : "text/plain";
    if (lws_add_http_common_headers(wsi, (unsigned)c->resp.status, ctype, (lws_filepos_t)c->resp.body_len, &p, end))
        return 1;
    /* One request per HTTP/1 connection. libwebsockets 4.1.6 spins for ever on a request with a
     * body that it parses from bytes already buffered on the connection (a pipelined POST, or a
     * POST sent before the previous answer): lws_http_action's loop over the wsi's buflist
     * (roles/http/server/server.c) feeds the outer parser's own buffer back to it, which
     * consumes nothing. Closing after every answer means no second request is ever parsed on a
     * connection (docs/security.md). HTTP/2 forbids the header and is not affected. */
    if (lws_get_network_wsi(wsi) == wsi &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5, &p, end))
        return 1;
    if (c->retry_after_s > 0) {
        char ra[16];
        int n = snprintf(ra, sizeof ra, "%d", c->retry_after_s);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:", (const unsigned char *)ra, n, &p, end))
            return 1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end)) return 1;
    s->stats.responses++;
    if (c->resp.body_len) {
        /* lws_write needs LWS_PRE bytes of headroom before the payload. */
        uint8_t *buf = hilo_xmalloc(LWS_PRE + c->resp.body_len);
        memcpy(buf + LWS_PRE, c->resp.body, c->resp.body_len);
        int n = lws_write(wsi, buf + LWS_PRE, c->resp.body_len, LWS_WRITE_HTTP_FINAL);
        free(buf);
        if (n < 0) return 1;
    }
    return 0;
}

/* Counts `total` body bytes for c against max_buffered, the bytes all connections together may
 * hold before their signatures are checked. HILO_ERR when they do not fit. */
static int reserve(hilo_webhook_server_t *s, conn_t *c, size_t total) {
    if (total <= c->reserved) return HILO_OK;
    size_t more = total - c->reserved;
    if (s->buffered + more > s->opt.max_buffered) return HILO_ERR;
    s->buffered += more;
    c->reserved = total;
    return HILO_OK;
}

/* Too many bytes held already: 503 with Retry-After, nothing kept, closed once written. */
static void overloaded(hilo_webhook_server_t *s, conn_t *c, size_t want) {
    s->stats.overloaded++;
    hilo_log_limited(&s->refusals, HILO_LOG_WARN, MOD,
                     "event=buffers_full path=%s bytes=%zu buffered=%zu max_buffered=%zu remote=%s",
                     hilo_log_value(c->path), want, s->buffered, s->opt.max_buffered, c->remote);
    release_body(s, c);
    c->retry_after_s = RETRY_AFTER_S;
    set_response(c, 503, "text/plain", "busy, try again later\n", (size_t)-1);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    pss_t *pss = user;
    hilo_webhook_server_t *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        if (pss->conn) free_conn(s, pss->conn); /* (never: one request per connection) */
        conn_t *c = pss->conn = new_conn(s, wsi, in);
        c->deadline_us = hilo_mono_us() + (int64_t)s->opt.request_timeout_ms * 1000;
        if (c->method == HILO_HTTP_POST) {
            char cl[32];
            copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof cl);
            long long n = cl[0] ? atoll(cl) : 0;
            if (n < 0) n = 0;
            /* The head alone may be enough to refuse (a webhook without its signature): then
             * the body is never read, let alone kept. */
            if (s->opt.on_head) {
                hilo_http_request_t head = request_of(c);
                s->opt.on_head(s->opt.arg, c->id, &head);
                if (c->answered) return 0;
            }
            if (n > (long long)(s->opt.max_body * DRAIN_FACTOR)) {
                /* Too big to even read and drop: answer and close once written. */
                c->too_large = true;
                c->body_seen = (size_t)n;
                dispatch(s, c);
            } else if (n > (long long)s->opt.max_body) {
                c->too_large = true;
            } else if (reserve(s, c, (size_t)n) != HILO_OK) {
                overloaded(s, c, (size_t)n);
            }
            return 0; /* the body follows: LWS_CALLBACK_HTTP_BODY, then _COMPLETION */
        }
        dispatch(s, c);
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY: {
        conn_t *c = pss->conn;
        if (!c || c->answered) return 0;
        /* lws restarts its content timeout on every chunk, so a body trickled a byte at a time
         * would hold the connection (and its buffer) for ever: the whole body has a deadline. A
         * client that stops sending altogether meets lws's own timeout (timeout_secs). */
        if (!c->dispatched && hilo_mono_us() > c->deadline_us) {
            s->stats.too_slow++;
            hilo_log_limited(&s->refusals, HILO_LOG_WARN, MOD, "event=request_too_slow path=%s bytes=%zu limit_ms=%d remote=%s",
                             hilo_log_value(c->path), c->body_seen + len, s->opt.request_timeout_ms, c->remote);
            return -1;
        }
        c->body_seen += len;
        if (c->body_seen > s->opt.max_body) {
            c->too_large = true;
            release_body(s, c);
            if (c->body_seen > s->opt.max_body * DRAIN_FACTOR) dispatch(s, c);
            return 0;
        }
        if (c->too_large) return 0; /* announced too large: read and dropped */
        if (c->body_len + len > c->reserved && reserve(s, c, c->body_len + len) != HILO_OK) {
            /* More than its Content-Length announced (lws stops at it; kept as a guard). */
            overloaded(s, c, c->body_len + len);
            return 0;
        }
        if (!c->body) {
            c->body_cap = c->reserved + 1; /* what the cap counted: no slack */
            c->body = hilo_xmalloc(c->body_cap);
        }
        if (c->body_len + len + 1 > c->body_cap) {
            c->body_cap = c->body_len + len + 1;
            c->body = hilo_xrealloc(c->body, c->body_cap);
        }
        if (len) memcpy(c->body + c->body_len, in, len); /* an empty body comes as (NULL, 0) */
        c->body_len += len;
        c->body[c->body_len] = '\0';
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss->conn && !pss->conn->answered && !pss->conn->dispatched) dispatch(s, pss->conn);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        conn_t *c = pss->conn;
        if (!c || !c->answered) return 0;
        write_response(s, wsi, c);
        free_conn(s, c);
        pss->conn = NULL;
        return -1; /* closed after every answer (write_response); lws flushes what is queued first */
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss && pss->conn) {
            conn_t *c = pss->conn;
            pss->conn = NULL;
            if (c->dispatched && !c->answered) {
                s->stats.gone++;
                hilo_log_info(MOD, "event=client_gone path=%s remote=%s", hilo_log_value(c->path), c->remote);
                if (s->opt.on_gone) s->opt.on_gone(s->opt.arg, c->id);
            }
            free_conn(s, c);
        }
        return 0;
    case LWS_CALLBACK_WSI_DESTROY: {
        adopted_t *a = lws_get_opaque_user_data(wsi);
        if (a) {
            lws_set_opaque_user_data(wsi, NULL);
            free(a->target);
            free(a);
        }
        break;
    }
    default: break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(pss_t), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_front_head(void *arg, const hilo_http_front_head_t *h) {
    hilo_webhook_server_t *s = arg;
    if (s->destroying) {
        close(h->fd);
        return;
    }
    /* lws parses the head from its buffer list now; the head's last byte is still on the
     * socket (http_front.c), so no request completes inside this call. */
    struct lws *wsi = lws_adopt_socket_vhost_readbuf(s->vhost, h->fd, h->head, h->head_len);
    if (!wsi) return; /* lws refused the head and closed the socket */
    adopted_t *a = hilo_xcalloc(1, sizeof *a);
    a->listener = h->listener;
    a->target = hilo_xstrdup(h->target);
    lws_set_opaque_user_data(wsi, a);
}

static void on_front_refused(void *arg, int listener, hilo_http_front_refusal_t why) {
    hilo_webhook_server_t *s = arg;
    if (why == HILO_HTTP_FRONT_HEAD_TOO_LARGE) {
        s->stats.head_too_large++;
        hilo_log_limited(&s->refusals, HILO_LOG_WARN, MOD, "event=header_too_large status=431 listener=%d max=%zu",
                         listener, s->opt.max_head);
    } else {
        s->stats.too_slow++;
        hilo_log_limited(&s->refusals, HILO_LOG_WARN, MOD, "event=request_too_slow part=head listener=%d", listener);
    }
}

hilo_webhook_server_t *hilo_webhook_server_new(uv_loop_t *loop, const hilo_webhook_server_options_t *opts,
                                               char *err, size_t errlen) {
    hilo_webhook_server_t *s = hilo_xcalloc(1, sizeof *s);
    s->loop = loop;
    s->opt = *opts;
    if (!s->opt.max_body) s->opt.max_body = 1024 * 1024;
    if (!s->opt.max_head) s->opt.max_head = 8192;
    if (!s->opt.max_buffered) s->opt.max_buffered = 16u << 20;
    if (s->opt.request_timeout_ms <= 0) s->opt.request_timeout_ms = 30000;
    s->bind = hilo_xstrdup(opts->bind && *opts->bind ? opts->bind : "127.0.0.1");
    s->admin_bind = hilo_xstrdup(opts->admin_bind && *opts->admin_bind ? opts->admin_bind : "127.0.0.1");
    s->conns = hilo_u64map_new();
    s->next_id = 1;
    s->admin_port = -1;

    hilo_http_front_options_t fo = {
        .listen = {{s->bind, opts->port}, {s->admin_bind, opts->admin_port}},
        .n_listen = opts->admin_port >= 0 ? 2 : 1,
        .max_head = s->opt.max_head,
        /* The head must be in within the request's time (lws gave it 10 s of idle before). */
        .head_timeout_ms = s->opt.request_timeout_ms < 10000 ? s->opt.request_timeout_ms : 10000,
        .on_head = on_front_head, .on_refused = on_front_refused, .arg = s,
    };
    s->front = hilo_http_front_new(loop, &fo, err, errlen);
    if (!s->front) {
        hilo_u64map_destroy(&s->conns);
        free(s->bind);
        free(s->admin_bind);
        free(s);
        return NULL;
    }
    s->port = hilo_http_front_port(s->front, 0);
    if (opts->admin_port >= 0) s->admin_port = hilo_http_front_port(s->front, 1);

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_hilo);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {loop};
    /* A server vhost that listens on nothing: the front accepts and hands connections over. */
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = protocols;
    info.user = s;
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.max_http_header_data2 = (unsigned)(s->opt.max_head * LWS_TABLE_FACTOR);
    /* Silence while reading the body (lws restarts it on every chunk; the whole body has its
     * own deadline, request_timeout_ms). */
    info.timeout_secs = (unsigned)(s->opt.request_timeout_ms + 999) / 1000;
    info.keepalive_timeout = 30;
    info.pcontext = &s->ctx;
    s->ctx = lws_create_context(&info);
    s->vhost = s->ctx ? lws_get_vhost_by_name(s->ctx, "default") : NULL;
    if (!s->vhost) {
        /* Only when out of memory: lws 4.1 on a foreign loop cannot tear down a half-made
         * context (webhook_server.h), so the caller exits without closing this server. */
        snprintf(err, errlen, "libwebsockets could not start");
        s->port = -1;
        return s;
    }
    hilo_log_info(MOD, "event=listening bind=%s port=%d admin=%s:%d max_body=%zu max_head=%zu max_buffered=%zu",
                  s->bind, s->port, s->admin_port >= 0 ? s->admin_bind : "-", s->admin_port, s->opt.max_body,
                  s->opt.max_head, s->opt.max_buffered);
    return s;
}

static void drop_conn(uint64_t key, void *value, void *arg) {
    (void)key, (void)arg;
    conn_t *c = value;
    hilo_http_response_clear(&c->resp);
    free(c->body);
    free(c->query);
    free(c->uri);
    free(c);
}

static void free_server(hilo_webhook_server_t *s) {
    hilo_u64map_each(s->conns, drop_conn, NULL);
    hilo_u64map_destroy(&s->conns);
    free(s->bind);
    free(s->admin_bind);
    free(s);
}

void hilo_webhook_server_close(hilo_webhook_server_t *s) {
    if (!s || s->destroying) return;
    /* No callback reaches the caller from here on; lws closes the connections (CLOSED_HTTP
     * frees their records), then, from the loop, its own uv handles. */
    s->destroying = true;
    s->opt.on_gone = NULL;
    hilo_http_front_destroy(&s->front);
    lws_context_destroy(s->ctx);
}

void hilo_webhook_server_destroy(hilo_webhook_server_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_webhook_server_t *s = *self_p;
    *self_p = NULL;
    hilo_webhook_server_close(s);
    /* With a foreign loop, lws 4.1 finishes only when called again once its handles are closed
     * (what the loop running dry proves); it then clears s->ctx through info.pcontext. Calling
     * it earlier would free the context under pending close callbacks. */
    if (s->ctx) lws_context_destroy(s->ctx);
    free_server(s);
}

int hilo_webhook_server_port(const hilo_webhook_server_t *s) { return s->port; }

int hilo_webhook_server_admin_port(const hilo_webhook_server_t *s) { return s->admin_port; }

int hilo_webhook_server_respond(hilo_webhook_server_t *s, uint64_t conn_id, const hilo_http_response_t *resp) {
    if (s->destroying) return HILO_ERR;
    conn_t *c = hilo_u64map_get(s->conns, conn_id);
    if (!c || c->answered) return HILO_ERR;
    set_response(c, resp->status ? resp->status : 500, resp->content_type, resp->body, resp->body ? resp->body_len : 0);
    return HILO_OK;
}

int hilo_webhook_server_respond_text(hilo_webhook_server_t *s, uint64_t conn_id, int status, const char *text) {
    hilo_http_response_t r = {0};
    hilo_http_response_set(&r, status, "text/plain", text, (size_t)-1);
    int rc = hilo_webhook_server_respond(s, conn_id, &r);
    hilo_http_response_clear(&r);
    return rc;
}

void hilo_webhook_server_stats(const hilo_webhook_server_t *s, hilo_webhook_server_stats_t *out) { *out = s->stats; }
