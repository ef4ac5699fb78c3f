/* http.c — libwebsockets HTTP server: exact-path GET routes, async POST routes, one static
 * mount and one websocket path. Every lws call of the router lives here. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hilo/common.h"
#include "hilo/log.h"

#define MAX_ROUTES 32
#define CHUNK 4096                    /* bytes written per writable callback */
#define MAX_STATIC_FILE (4u << 20)    /* console assets are small */
#define CLOSE_WAIT_S 3                /* after our close frame, how long the peer has to answer it */
/* Request line + the headers the router reads (what lws knows by name): more gets 431. lws's
 * own header table is LWS_TABLE_FACTOR times as large, so that such a head is parsed and
 * answered; past the table lws closes the connection without a status (its complaint goes
 * through the rate-limited library log). Headers lws does not know count only there. */
#define MAX_HEAD 8192
#define LWS_TABLE_FACTOR 4

typedef struct {
    const char *path;
    hilo_http_handler_fn fn;          /* GET route, or NULL */
    hilo_http_post_fn post;           /* POST route, or NULL */
    size_t max_body;
    void *arg;
} route_t;

struct hilo_http {
    struct lws_context *lws;
    route_t routes[MAX_ROUTES];
    int nroutes;
    const char *static_prefix;        /* NULL: no static mount */
    const char *static_dir;
    const char *ws_path;              /* NULL: no websocket */
    hilo_ws_handlers_t ws;
    bool stopped;                     /* first destroy stage done */
    int request_timeout_ms;           /* a POST's body must be in by then */
};

/* A POST waiting for its answer; shared by the connection and the route's handler. */
struct hilo_http_req {
    struct lws *wsi;                  /* NULL once the client has gone */
    struct session *s;
    bool answered;
    char peer[64];                    /* the connection's address */
    char xff[512];                    /* X-Forwarded-For's tail ("" when absent) */
};

/* One queued websocket message, with LWS_PRE bytes of headroom before the text. */
typedef struct wsmsg {
    struct wsmsg *next;
    size_t len;
    unsigned char buf[];
} wsmsg_t;

struct hilo_ws {
    struct lws *wsi;
    hilo_http_t *http;
    void *conn;                       /* the handler's per-connection pointer */
    wsmsg_t *head, *tail;             /* unsent messages, oldest first */
    size_t queued;                    /* their bytes */
    hilo_buf_t rx;                    /* the message being received (fragments) */
    bool rx_too_big;                  /* dropping the rest of an oversize message */
    int close_code;                   /* != 0: close once the queue is written */
    char close_reason[64];
    bool close_sent;           /* our close frame is written; waiting for the peer's */
};

/* Per-connection state, allocated by lws (per_session_data_size). */
typedef struct session {
    hilo_http_reply_t reply;          /* the response being written */
    size_t sent;                      /* body bytes written so far */
    bool replying;                    /* headers written, body in progress */
    const route_t *post;              /* POST route being received */
    int64_t post_deadline_us;         /* monotonic: its whole body must be in by then */
    hilo_buf_t body;                  /* its body so far */
    bool body_too_big;
    hilo_http_req_t *req;             /* the POST waiting for its answer */
    char origin[256];
    char peer[64];                    /* POST: the connection's address */
    char xff[512];                    /* POST: X-Forwarded-For's tail */
    hilo_ws_t *ws;                    /* websocket connections */
} session_t;

static void lws_log_line(int level, const char *line) {
    hilo_log_library_line(level == LLL_ERR ? HILO_LOG_ERROR : HILO_LOG_WARN, "lws", line);
}

/* Every answer of the router's port, the console's page and API alike. The console loads only
 * its own files (no inline script or style: console.js builds the page with textContent) and
 * talks only to its own origin (fetch, the /ws websocket), so the policy can be this narrow; an
 * injected script from a debtor's text would have nowhere to load from or send to. */
static const struct {
    const char *name, *value;
} security_headers[] = {
    {"content-security-policy:", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
                                 "frame-ancestors 'none'"},
    {"x-content-type-options:", "nosniff"},
    {"x-frame-options:", "DENY"},
    {"referrer-policy:", "no-referrer"},
};

static int add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end) {
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)security_headers[i].name,
                                        (const unsigned char *)security_headers[i].value,
                                        (int)strlen(security_headers[i].value), p, end))
            return -1;
    return 0;
}

static int start_reply(struct lws *wsi, session_t *s) {
    unsigned char hdr[LWS_PRE + 2048], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)s->reply.status, s->reply.content_type, s->reply.body.len, &p,
                                    end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p,
                                     end) ||
        add_security_headers(wsi, &p, end) ||
        /* One request per HTTP/1 connection: libwebsockets 4.1.6 spins for ever on a request with
         * a body parsed from bytes already buffered on the connection (pipelined), see
         * connectors/lib/src/webhook_server.c and docs/security.md. HTTP/2 forbids the header. */
        (lws_get_network_wsi(wsi) == wsi &&
         lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5, &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    s->replying = true;
    lws_callback_on_writable(wsi);
    return 0;
}

/* --- static files ---------------------------------------------------------------------- */

static const char *mime_type(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return "application/octet-stream";
    if (strcmp(dot, ".html") == 0) return "text/html; charset=utf-8";
    if (strcmp(dot, ".js") == 0) return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".css") == 0) return "text/css; charset=utf-8";
    if (strcmp(dot, ".json") == 0) return "application/json";
    if (strcmp(dot, ".svg") == 0) return "image/svg+xml";
    if (strcmp(dot, ".png") == 0) return "image/png";
    if (strcmp(dot, ".ico") == 0) return "image/x-icon";
    return "application/octet-stream";
}

/* Reads <dir>/<name> into the reply; 404 for anything not a plain, visible file. */
static void serve_static(const hilo_http_t *h, const char *name, hilo_http_reply_t *reply) {
    if (!*name) name = "index.html";
    bool ok = strlen(name) < 200 && name[0] != '/' && !strstr(name, "..") && !strstr(name, "/.") && name[0] != '.';
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", h->static_dir, name);
    int fd = ok ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_STATIC_FILE) {
        if (fd >= 0) close(fd);
        reply->status = 404;
        hilo_buf_printf(&reply->body, "not found\n");
        return;
    }
    char buf[8192];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) hilo_buf_append(&reply->body, buf, (size_t)n);
    close(fd);
    if (!reply->body.data) hilo_buf_append(&reply->body, "", 0);
    reply->content_type = mime_type(name);
}

/* --- websockets ------------------------------------------------------------------------ */

static void ws_free_queue(hilo_ws_t *ws) {
    while (ws->head) {
        wsmsg_t *m = ws->head;
        ws->head = m->next;
        free(m);
    }
    ws->tail = NULL;
    ws->queued = 0;
}

void hilo_ws_send(hilo_ws_t *ws, const char *data, size_t len) {
    if (!ws->wsi || ws->close_code) return;
    if (ws->queued + len > ws->http->ws.max_queued) {
        hilo_log_warn("http", "event=ws_slow_client queued=%zu", ws->queued);
        ws_free_queue(ws);
        hilo_ws_close(ws, 1008, "too slow");
        return;
    }
    wsmsg_t *m = hilo_xmalloc(sizeof *m + LWS_PRE + len);
    m->next = NULL;
    m->len = len;
    memcpy(m->buf + LWS_PRE, data, len);
    if (ws->tail) ws->tail->next = m; else ws->head = m;
    ws->tail = m;
    ws->queued += len;
    lws_callback_on_writable(ws->wsi);
}

void hilo_ws_close(hilo_ws_t *ws, int code, const char *reason) {
    if (!ws->wsi || ws->close_code) return;
    ws->close_code = code;
    snprintf(ws->close_reason, sizeof ws->close_reason, "%s", reason ? reason : "");
    lws_callback_on_writable(ws->wsi);
}

size_t hilo_ws_queued(const hilo_ws_t *ws) { return ws->queued; }

static int ws_writable(struct lws *wsi, hilo_ws_t *ws) {
    if (ws->head) {
        wsmsg_t *m = ws->head;
        if (lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len) return -1;
        ws->head = m->next;
        if (!ws->head) ws->tail = NULL;
        ws->queued -= m->len;
        free(m);
        if (ws->head || ws->close_code) lws_callback_on_writable(wsi);
        return 0;
    }
    if (ws->close_code && !ws->close_sent) {
        /* The close frame is written here rather than left to lws_close_reason(): with 4.1 on
         * the libuv loop the peer otherwise sees the socket drop without it (1006). */
        unsigned char buf[LWS_PRE + 2 + sizeof ws->close_reason];
        size_t n = strlen(ws->close_reason);
        buf[LWS_PRE] = (unsigned char)(ws->close_code >> 8);
        buf[LWS_PRE + 1] = (unsigned char)(ws->close_code & 0xff);
        memcpy(buf + LWS_PRE + 2, ws->close_reason, n);
        lws_write(wsi, buf + LWS_PRE, 2 + n, (enum lws_write_protocol)4 /* LWS_WRITE_CLOSE, internal in 4.1 */);
        /* Then wait for the peer's close (lws answers it and ends the connection), at most
         * CLOSE_WAIT_S, reading and dropping whatever else it sends meanwhile. Closing the socket
         * at once would reset the connection when the peer's next messages are already on the
         * way, and a reset makes the peer's system drop our close frame unread (it sees 1006). */
        ws->close_sent = true;
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, CLOSE_WAIT_S);
        return 0;
    }
    return 0;
}

static int ws_receive(struct lws *wsi, hilo_ws_t *ws, const char *in, size_t len) {
    const hilo_ws_handlers_t *hd = &ws->http->ws;
    if (!ws->rx_too_big) {
        if (ws->rx.len + len > hd->max_message) {
            ws->rx_too_big = true;
            hilo_buf_free(&ws->rx);
        } else {
            hilo_buf_append(&ws->rx, in, len);
        }
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) return 0;
    if (ws->rx_too_big) {
        hilo_log_warn("http", "event=ws_message_too_large max=%zu", hd->max_message);
        ws->rx_too_big = false;
        hilo_ws_close(ws, 1009, "message too large");
        return 0;
    }
    if (!ws->close_code && ws->conn) hd->message(ws->conn, ws->rx.data ? ws->rx.data : "", ws->rx.len);
    hilo_buf_free(&ws->rx);
    return 0;
}

/* Before the upgrade: the right path, and an Origin the console accepts. */
static int ws_filter(struct lws *wsi, hilo_http_t *h, session_t *s) {
    char uri[256] = "";
    if (!h->ws_path || lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 || strcmp(uri, h->ws_path) != 0)
        return 1;
    s->origin[0] = 0;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) >= (int)sizeof s->origin) return 1;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) lws_hdr_copy(wsi, s->origin, sizeof s->origin, WSI_TOKEN_ORIGIN);
    if (!h->ws.accept(s->origin, h->ws.arg)) {
        hilo_log_warn("http", "event=ws_refused reason=origin");
        return 1;
    }
    return 0;
}

static void ws_open(struct lws *wsi, hilo_http_t *h, session_t *s) {
    hilo_ws_t *ws = hilo_xcalloc(1, sizeof *ws);
    ws->wsi = wsi;
    ws->http = h;
    s->ws = ws;
    char tok[160] = "", peer[64] = "";
    const char *t = lws_get_urlarg_by_name(wsi, "token=", tok, sizeof tok);
    lws_get_peer_simple(wsi, peer, sizeof peer);
    ws->conn = h->ws.open(ws, t ? t : "", peer, h->ws.arg);
}

static void ws_gone(session_t *s) {
    hilo_ws_t *ws = s->ws;
    if (!ws) return;
    s->ws = NULL;
    ws->wsi = NULL;
    if (ws->conn) ws->http->ws.closed(ws->conn);
    ws_free_queue(ws);
    hilo_buf_free(&ws->rx);
    free(ws);
}

/* --- POST ------------------------------------------------------------------------------ */

void hilo_http_req_answer(hilo_http_req_t *req, int status, const char *content_type, const char *body, size_t len) {
    if (req->answered) return; /* programmer error tolerated: the first answer counts */
    req->answered = true;
    if (!req->wsi) {           /* the client went away meanwhile */
        free(req);
        return;
    }
    session_t *s = req->s;
    s->req = NULL;
    s->reply.status = status;
    s->reply.content_type = content_type ? content_type : "application/json";
    hilo_buf_append(&s->reply.body, body, len);
    struct lws *wsi = req->wsi;
    free(req);
    if (start_reply(wsi, s) != 0) lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

static void post_complete(struct lws *wsi, session_t *s) {
    const route_t *r = s->post;
    s->post = NULL;
    if (s->body_too_big) {
        s->reply.status = 413;
        hilo_buf_printf(&s->reply.body, "{\"error\":\"body too large\"}");
        s->reply.content_type = "application/json";
        start_reply(wsi, s);
        return;
    }
    hilo_http_req_t *req = hilo_xcalloc(1, sizeof *req);
    req->wsi = wsi;
    req->s = s;
    memcpy(req->peer, s->peer, sizeof req->peer);
    memcpy(req->xff, s->xff, sizeof req->xff);
    s->req = req;
    hilo_buf_t body = s->body;
    memset(&s->body, 0, sizeof s->body);
    r->post(req, body.data ? body.data : "", body.len, s->origin, r->arg);
    hilo_buf_free(&body);
}

const char *hilo_http_req_peer(const hilo_http_req_t *req) { return req->peer; }
const char *hilo_http_req_forwarded_for(const hilo_http_req_t *req) { return req->xff; }

/* X-Forwarded-For into out: only its tail matters (the entries the nearest proxies appended),
 * so a long header keeps its last bytes from an entry boundary. The head is at most MAX_HEAD. */
static void copy_forwarded_for(struct lws *wsi, char *out, size_t n) {
    char all[MAX_HEAD + 1];
    out[0] = 0;
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    if (len <= 0 || len > MAX_HEAD || lws_hdr_copy(wsi, all, sizeof all, WSI_TOKEN_X_FORWARDED_FOR) < 0) return;
    const char *p = all;
    size_t l = strlen(all);
    if (l >= n) {
        p = all + l - (n - 1);
        const char *comma = strchr(p, ',');
        p = comma ? comma + 1 : all + l; /* no boundary in the tail: nothing usable */
    }
    snprintf(out, n, "%s", p);
}

/* The bytes of the request line and of every header lws parsed by name. */
static size_t head_bytes(struct lws *wsi) {
    size_t n = 0;
    for (int t = 0; t < (int)WSI_TOKEN_COUNT; t++) {
        int l = lws_hdr_total_length(wsi, (enum lws_token_indexes)t);
        if (l > 0) n += (size_t)l;
    }
    return n;
}

static hilo_log_limit_t head_refusals; /* a stranger can send one oversize head after another */

static int head_too_large(struct lws *wsi) {
    size_t n = head_bytes(wsi);
    if (n <= MAX_HEAD) return 0;
    hilo_log_limited(&head_refusals, HILO_LOG_WARN, "http", "event=header_too_large status=431 bytes=%zu max=%d", n,
                     MAX_HEAD);
    return 1;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
    session_t *s = user;
    hilo_http_t *h = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        const char *path = in;
        memset(s, 0, sizeof *s);
        s->reply.status = 200;
        s->reply.content_type = "text/plain; charset=utf-8";
        if (head_too_large(wsi)) {
            s->reply.status = 431;
            hilo_buf_printf(&s->reply.body, "request header fields too large\n");
            return start_reply(wsi, s); /* a POST's body is never read: closed after the answer */
        }
        bool is_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        route_t *r = NULL;
        for (int i = 0; i < h->nroutes; i++)
            if (strcmp(h->routes[i].path, path) == 0 && (is_post ? h->routes[i].post != NULL : h->routes[i].fn != NULL))
                r = &h->routes[i];
        if (r && is_post) {
            s->post = r;
            s->post_deadline_us = hilo_mono_us() + (int64_t)h->request_timeout_ms * 1000;
            if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0 &&
                lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) < (int)sizeof s->origin)
                lws_hdr_copy(wsi, s->origin, sizeof s->origin, WSI_TOKEN_ORIGIN);
            lws_get_peer_simple(wsi, s->peer, sizeof s->peer);
            copy_forwarded_for(wsi, s->xff, sizeof s->xff);
            return 0; /* the body follows: LWS_CALLBACK_HTTP_BODY */
        }
        size_t plen = h->static_prefix ? strlen(h->static_prefix) : 0;
        if (r) {
            r->fn(&s->reply, r->arg);
        } else if (!is_post && plen && strncmp(path, h->static_prefix, plen) == 0) {
            serve_static(h, path + plen, &s->reply);
        } else if (!is_post && plen && strcmp(path, "/") == 0) {
            /* lws writes the redirect's headers into this buffer (after LWS_PRE), then sends them. */
            unsigned char hdr[LWS_PRE + 512];
            unsigned char *p = hdr + LWS_PRE;
            if (lws_http_redirect(wsi, 302, (const unsigned char *)h->static_prefix, (int)plen, &p, hdr + sizeof hdr) < 0)
                return -1;
            return -1; /* closed after the answer, as every answer (start_reply); lws flushes it first */
        } else {
            s->reply.status = 404;
            hilo_buf_printf(&s->reply.body, "not found\n");
        }
        return start_reply(wsi, s);
    }
    case LWS_CALLBACK_HTTP_BODY:
        /* lws restarts its content timeout on every chunk: a body trickled a byte at a time
         * would hold the connection for ever without this deadline. */
        if (s->post && hilo_mono_us() > s->post_deadline_us) {
            hilo_log_warn("http", "event=request_too_slow path=%s limit_ms=%d", s->post->path,
                          h->request_timeout_ms);
            return -1;
        }
        if (s->post && !s->body_too_big) {
            if (s->body.len + len > s->post->max_body) {
                s->body_too_big = true;
                hilo_buf_free(&s->body);
            } else {
                hilo_buf_append(&s->body, in, len);
            }
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (s->post) post_complete(wsi, s);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!s->replying) return 0;
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
        s->replying = false;
        return -1; /* one request per connection (start_reply); lws flushes what is queued first */
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s) {
            hilo_buf_free(&s->reply.body);
            hilo_buf_free(&s->body);
            if (s->req) { /* the handler still holds it: its answer will be dropped */
                s->req->wsi = NULL;
                s->req = NULL;
            }
        }
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (head_too_large(wsi)) return 1; /* (lws refuses the upgrade) */
        return ws_filter(wsi, h, s);
    case LWS_CALLBACK_ESTABLISHED:
        ws_open(wsi, h, s);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return s->ws ? ws_receive(wsi, s->ws, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return s->ws ? ws_writable(wsi, s->ws) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* After our own close frame (ws_writable), the peer's close is its answer and the
         * closing handshake is over: close without the echo lws would send otherwise. A second
         * close frame is a protocol error to Chromium ("Close received after close"), which then
         * reports 1006 instead of our code, and the console page never learns why it was closed. */
        return s->ws && s->ws->close_sent ? 1 : 0;
    case LWS_CALLBACK_CLOSED:
        ws_gone(s);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* One protocol serves HTTP and the websocket: a browser's upgrade without a subprotocol is
 * bound to the first protocol, so both share this callback and session struct. */
static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(session_t), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

hilo_http_t *hilo_http_new(uv_loop_t *loop, const char *bind, int port) {
    return hilo_http_new_tls(loop, bind, port, NULL, NULL, 0);
}

hilo_http_t *hilo_http_new_tls(uv_loop_t *loop, const char *bind, int port, const char *cert, const char *key,
                               int request_timeout_ms) {
    hilo_http_t *h = hilo_xcalloc(1, sizeof *h);
    h->request_timeout_ms = request_timeout_ms > 0 ? request_timeout_ms : 30000;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {loop};
    info.port = port;
    info.iface = bind;
    info.protocols = protocols;
    /* Silence while reading a request (lws restarts it on every chunk; a POST's whole body has
     * its own deadline, see LWS_CALLBACK_HTTP_BODY). */
    info.timeout_secs = (unsigned)(h->request_timeout_ms + 999) / 1000;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    /* An IPv4 address: listen on exactly it. With IPv6 on, lws 4.1 opens a dual-stack wildcard
     * socket (every interface, IPv4 and IPv6) whatever `iface` says (docs/security.md). */
    struct in_addr v4;
    if (bind && inet_pton(AF_INET, bind, &v4) == 1) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.user = h;
    info.max_http_header_data2 = MAX_HEAD * LWS_TABLE_FACTOR;
    /* Room for many console sockets: lws sizes its fd table from this. */
    info.fd_limit_per_thread = 0;
    bool tls = cert && *cert && key && *key;
    if (tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cert;
        info.ssl_private_key_filepath = key;
        /* TLS 1.2 and 1.3 only; for 1.2, forward-secret AEAD suites only (Mozilla's
         * "intermediate" list); 1.3's own suites are all of that kind (docs/security.md). */
        info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_CIPHER_SERVER_PREFERENCE;
        info.ssl_cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                               "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                               "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
    }
    h->lws = lws_create_context(&info);
    if (!h->lws) {
        hilo_log_error("http", "event=listen_failed bind=%s port=%d tls=%d", bind, port, tls);
        free(h);
        return NULL;
    }
    hilo_log_info("http", "event=listening bind=%s port=%d tls=%d", bind, port, tls);
    return h;
}

void hilo_http_route(hilo_http_t *h, const char *path, hilo_http_handler_fn fn, void *arg) {
    if (h->nroutes == MAX_ROUTES) abort(); /* programmer error: raise MAX_ROUTES */
    h->routes[h->nroutes++] = (route_t){path, fn, NULL, 0, arg};
}

void hilo_http_post_route(hilo_http_t *h, const char *path, size_t max_body, hilo_http_post_fn fn, void *arg) {
    if (h->nroutes == MAX_ROUTES) abort(); /* programmer error: raise MAX_ROUTES */
    h->routes[h->nroutes++] = (route_t){path, NULL, fn, max_body, arg};
}

void hilo_http_static(hilo_http_t *h, const char *prefix, const char *dir) {
    h->static_prefix = prefix;
    h->static_dir = dir;
}

void hilo_http_ws(hilo_http_t *h, const char *path, const hilo_ws_handlers_t *handlers) {
    h->ws_path = path;
    h->ws = *handlers;
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
