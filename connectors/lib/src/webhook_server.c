/* webhook_server.c — libwebsockets HTTP server on a foreign libuv loop, with deferred answers. */
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
#include "u64map.h"

#define MOD "http"
#define DRAIN_FACTOR 4 /* a too-large body is read and dropped up to this many times max_body */

typedef struct conn {
    uint64_t id;
    struct lws *wsi;
    unsigned method;            /* HILO_HTTP_GET / HILO_HTTP_POST / 0 = other */
    char path[512];
    char query[4096];
    char uri[4608];
    char content_type[128];
    char host[256];
    char hub_sig[160];
    char twilio_sig[160];
    char remote[64];
    uint8_t *body;              /* raw body + '\0' */
    size_t body_len, body_cap;
    size_t body_seen;           /* bytes received, kept or not */
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
    hilo_webhook_server_options_t opt;
    char *bind;
    int port;
    hilo_u64map_t *conns;       /* id → conn */
    uint64_t next_id;
    hilo_webhook_server_stats_t stats;
    bool destroying;            /* close() was called */
};

static void lws_log_to_hilo(int level, const char *line) {
    hilo_log_library_line(level == LLL_ERR ? HILO_LOG_ERROR : HILO_LOG_WARN, "lws", line);
}

static void free_conn(hilo_webhook_server_t *s, conn_t *c) {
    hilo_u64map_del(s->conns, c->id);
    hilo_http_response_clear(&c->resp);
    free(c->body);
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

/* Rebuilds the query string from lws's '&'-separated fragments. */
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
    copy_query(wsi, c->query, sizeof c->query);
    snprintf(c->uri, sizeof c->uri, "%s%s%s", c->path, c->query[0] ? "?" : "", c->query);
    copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, c->content_type, sizeof c->content_type);
    copy_hdr(wsi, WSI_TOKEN_HOST, c->host, sizeof c->host);
    copy_custom(wsi, "x-hub-signature-256:", c->hub_sig, sizeof c->hub_sig);
    copy_custom(wsi, "x-twilio-signature:", c->twilio_sig, sizeof c->twilio_sig);
    lws_get_peer_simple(wsi, c->remote, sizeof c->remote);
    hilo_u64map_put(s->conns, c->id, c);
    s->stats.requests++;
    return c;
}

static void dispatch(hilo_webhook_server_t *s, conn_t *c) {
    if (c->too_large) {
        s->stats.too_large++;
        hilo_log_warn(MOD, "event=body_too_large path=%s bytes=%zu max=%zu remote=%s", hilo_log_value(c->path), c->body_seen,
                      s->opt.max_body, c->remote);
        set_response(c, 413, "text/plain", "request body too large\n", (size_t)-1);
        return;
    }
    c->dispatched = true;
    if (!c->body) c->body = hilo_xcalloc(1, 1);
    hilo_http_request_t req = {
        .route = -1, .method = c->method, .path = c->path, .query = c->query, .uri = c->uri,
        .body = c->body, .body_len = c->body_len, .content_type = c->content_type, .host = c->host,
        .x_hub_signature_256 = c->hub_sig, .x_twilio_signature = c->twilio_sig, .remote_addr = c->remote,
    };
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
            if (n > (long long)(s->opt.max_body * DRAIN_FACTOR)) {
                /* Too big to even read and drop: answer and close once written. */
                c->too_large = true;
                c->body_seen = (size_t)n;
                dispatch(s, c);
            } else if (n > (long long)s->opt.max_body) {
                c->too_large = true;
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
            hilo_log_warn(MOD, "event=request_too_slow path=%s bytes=%zu limit_ms=%d remote=%s", hilo_log_value(c->path),
                          c->body_seen + len, s->opt.request_timeout_ms, c->remote);
            return -1;
        }
        c->body_seen += len;
        if (c->body_seen > s->opt.max_body) {
            c->too_large = true;
            free(c->body);
            c->body = NULL;
            c->body_len = c->body_cap = 0;
            if (c->body_seen > s->opt.max_body * DRAIN_FACTOR) dispatch(s, c);
            return 0;
        }
        if (c->body_len + len + 1 > c->body_cap) {
            c->body_cap = (c->body_len + len + 1) * 2;
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
    default: break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(pss_t), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Can bind:port be listened on? lws 4.1 on a foreign loop does not fail lws_create_context()
 * when its listener cannot bind: it logs, creates no vhost, and its context then cannot be torn
 * down safely (it unloads its libuv plugin under live handles). So we try the bind ourselves
 * first, with the SO_REUSEADDR lws uses, and fail cleanly with the reason. An IPv4 literal only;
 * anything else (an interface name) is left to lws. */
static int probe_listen(const char *bind_addr, int port, char *err, size_t errlen) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (port <= 0 || inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) return HILO_OK;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, rc = HILO_OK;
    if (fd < 0) return HILO_OK;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", bind_addr, port, strerror(errno));
        rc = HILO_ERR;
    }
    close(fd);
    return rc;
}

hilo_webhook_server_t *hilo_webhook_server_new(uv_loop_t *loop, const hilo_webhook_server_options_t *opts,
                                               char *err, size_t errlen) {
    if (probe_listen(opts->bind && *opts->bind ? opts->bind : "127.0.0.1", opts->port, err, errlen) != HILO_OK)
        return NULL;
    hilo_webhook_server_t *s = hilo_xcalloc(1, sizeof *s);
    s->loop = loop;
    s->opt = *opts;
    if (!s->opt.max_body) s->opt.max_body = 1024 * 1024;
    if (s->opt.request_timeout_ms <= 0) s->opt.request_timeout_ms = 30000;
    s->bind = hilo_xstrdup(opts->bind && *opts->bind ? opts->bind : "127.0.0.1");
    s->conns = hilo_u64map_new();
    s->next_id = 1;

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_hilo);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {loop};
    info.port = opts->port;
    info.iface = s->bind;
    info.protocols = protocols;
    info.user = s;
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6;
    /* Silence while reading headers or body (lws restarts it on every chunk; the whole body has
     * its own deadline, request_timeout_ms). */
    info.timeout_secs = (unsigned)(s->opt.request_timeout_ms + 999) / 1000;
    info.keepalive_timeout = 30;
    info.pcontext = &s->ctx;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s:%d (in use, or bad address)", s->bind, opts->port);
        hilo_u64map_destroy(&s->conns);
        free(s->bind);
        free(s);
        return NULL;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(s->ctx, "default");
    if (!vh) {
        /* The bind failed after probe_listen() succeeded (a race): lws created the context
         * without a vhost (see probe_listen). The server is returned with port -1 and the
         * caller must not tear it down; see hilo_webhook_server_port(). */
        snprintf(err, errlen, "cannot listen on %s:%d (in use, or bad address)", s->bind, opts->port);
        s->port = -1;
        return s;
    }
    s->port = lws_get_vhost_listen_port(vh);
    hilo_log_info(MOD, "event=listening bind=%s port=%d max_body=%zu", s->bind, s->port, s->opt.max_body);
    return s;
}

static void drop_conn(uint64_t key, void *value, void *arg) {
    (void)key, (void)arg;
    conn_t *c = value;
    hilo_http_response_clear(&c->resp);
    free(c->body);
    free(c);
}

static void free_server(hilo_webhook_server_t *s) {
    hilo_u64map_each(s->conns, drop_conn, NULL);
    hilo_u64map_destroy(&s->conns);
    free(s->bind);
    free(s);
}

void hilo_webhook_server_close(hilo_webhook_server_t *s) {
    if (!s || s->destroying) return;
    /* No callback reaches the caller from here on; lws closes the connections (CLOSED_HTTP
     * frees their records), then, from the loop, its own uv handles. */
    s->destroying = true;
    s->opt.on_gone = NULL;
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
