/* http_client.c — libcurl multi driven by libuv: one uv_poll per socket curl tells us about,
 * one uv_timer for curl's timeout, completions read from curl_multi_info_read. */
#include "hilo/http_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "hilo/common.h"
#include "hilo/log.h"
#include "u64map.h"

#define MOD "http_client"
#define MAX_RESPONSE (1024 * 1024)

typedef struct xfer {
    uint64_t id;
    CURL *easy;
    struct curl_slist *headers;
    char *body;             /* request body copy */
    char *resp;             /* response body */
    size_t resp_len, resp_cap;
    bool truncated;         /* the response passed MAX_RESPONSE */
    char errbuf[CURL_ERROR_SIZE];
    hilo_http_done_fn *done;
    void *arg;
} xfer_t;

/* One per socket curl watches; freed in its close callback. */
typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct hilo_http_client *client;
    struct sock_ctx *prev, *next; /* every socket context, to close leftovers at destroy */
} sock_ctx_t;

struct hilo_http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;        /* curl's timeout */
    hilo_u64map_t *xfers;    /* id → xfer */
    uint64_t next_id;
    int open_handles;        /* timer + socket polls still closing */
    sock_ctx_t *socks;       /* socket contexts not closed yet */
    bool destroyed;
};

static void maybe_free(struct hilo_http_client *c) {
    if (!c->destroyed || c->open_handles > 0) return;
    hilo_u64map_destroy(&c->xfers);
    free(c);
}

static void free_xfer(hilo_http_client_t *c, xfer_t *x) {
    curl_multi_remove_handle(c->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x->resp);
    free(x);
}

static void check_done(hilo_http_client_t *c) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        xfer_t *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode rc = m->data.result;
        hilo_u64map_del(c->xfers, x->id);
        long status = 0;
        if (rc == CURLE_OK) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        const char *err = rc == CURLE_OK ? "" : (x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        /* The transfer phase starts once the connection (and TLS) is up: before it, not a byte
         * of the request was written. */
        curl_off_t pretransfer = 0;
        long request_size = 0;
        curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
        curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &request_size);
        bool maybe_sent = status != 0 || pretransfer > 0 || request_size > 0;
        if (x->truncated) hilo_log_warn(MOD, "event=response_truncated bytes=%d", MAX_RESPONSE);
        if (x->done) x->done(x->arg, (int)status, x->resp ? x->resp : "", x->resp_len, err, maybe_sent);
        free_xfer(c, x);
        if (c->destroyed) return;
    }
}

static void on_closed_sock(uv_handle_t *h) {
    sock_ctx_t *s = h->data;
    hilo_http_client_t *c = s->client;
    c->open_handles--;
    if (s->prev) s->prev->next = s->next; else c->socks = s->next;
    if (s->next) s->next->prev = s->prev;
    free(s);
    maybe_free(c);
}

static void on_sock_event(uv_poll_t *h, int status, int events) {
    sock_ctx_t *s = h->data;
    hilo_http_client_t *c = s->client;
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    int running;
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    check_done(c);
}

/* CURLMOPT_SOCKETFUNCTION: curl says which events it wants on a socket, or that it is done. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
    (void)easy;
    hilo_http_client_t *c = userp;
    sock_ctx_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            if (!uv_is_closing((uv_handle_t *)&s->poll)) uv_close((uv_handle_t *)&s->poll, on_closed_sock);
            curl_multi_assign(c->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = hilo_xcalloc(1, sizeof *s);
        s->fd = fd;
        s->client = c;
        if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        c->open_handles++;
        s->next = c->socks;
        if (c->socks) c->socks->prev = s;
        c->socks = s;
        curl_multi_assign(c->multi, fd, s);
    }
    int ev = 0;
    if (what & CURL_POLL_IN) ev |= UV_READABLE;
    if (what & CURL_POLL_OUT) ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, on_sock_event);
    return 0;
}

static void on_timeout(uv_timer_t *t) {
    hilo_http_client_t *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

/* CURLMOPT_TIMERFUNCTION: -1 = stop the timer; 0 = act now (from the loop, not from here:
 * calling curl back from inside its own callback is not allowed). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
    (void)multi;
    hilo_http_client_t *c = userp;
    if (timeout_ms < 0) uv_timer_stop(&c->timer);
    else uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
    xfer_t *x = userdata;
    size_t n = size * nmemb;
    if (x->resp_len + n > MAX_RESPONSE) {
        x->truncated = true;
        n = MAX_RESPONSE - x->resp_len;
    }
    if (x->resp_len + n + 1 > x->resp_cap) {
        x->resp_cap = (x->resp_len + n + 1) * 2;
        x->resp = hilo_xrealloc(x->resp, x->resp_cap);
    }
    memcpy(x->resp + x->resp_len, ptr, n);
    x->resp_len += n;
    x->resp[x->resp_len] = '\0';
    return size * nmemb; /* the rest is dropped, not an error */
}

hilo_http_client_t *hilo_http_client_new(uv_loop_t *loop) {
    static bool global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
        global_done = true;
    }
    hilo_http_client_t *c = hilo_xcalloc(1, sizeof *c);
    c->loop = loop;
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c);
        return NULL;
    }
    c->xfers = hilo_u64map_new();
    c->next_id = 1;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 32L);
    return c;
}

uint64_t hilo_http_client_start(hilo_http_client_t *c, const hilo_http_call_t *call, long timeout_ms,
                                hilo_http_done_fn *done, void *arg) {
    if (c->destroyed) return 0;
    xfer_t *x = hilo_xcalloc(1, sizeof *x);
    x->easy = curl_easy_init();
    if (!x->easy) {
        free(x);
        return 0;
    }
    x->id = c->next_id++;
    x->done = done;
    x->arg = arg;
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, call->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms > 0 && timeout_ms < 10000 ? timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hilo-connector/0.1");
    for (size_t i = 0; i < call->n_headers; i++) x->headers = curl_slist_append(x->headers, call->headers[i]);
    /* No "Expect: 100-continue" round trip on POST bodies. */
    x->headers = curl_slist_append(x->headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    if (strcmp(call->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        x->body = hilo_xmalloc(call->body_len + 1);
        if (call->body_len) memcpy(x->body, call->body, call->body_len);
        x->body[call->body_len] = '\0';
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
        if (strcmp(call->method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
    }
    hilo_u64map_put(c->xfers, x->id, x);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        hilo_u64map_del(c->xfers, x->id);
        curl_easy_cleanup(e);
        curl_slist_free_all(x->headers);
        free(x->body);
        free(x);
        return 0;
    }
    return x->id;
}

void hilo_http_client_cancel(hilo_http_client_t *c, uint64_t id) {
    xfer_t *x = hilo_u64map_del(c->xfers, id);
    if (x) free_xfer(c, x);
}

size_t hilo_http_client_in_flight(const hilo_http_client_t *c) { return hilo_u64map_size(c->xfers); }

static void collect_ids(uint64_t key, void *value, void *arg) {
    (void)value;
    uint64_t **pp = arg;
    *(*pp)++ = key;
}

static void on_closed_timer(uv_handle_t *h) {
    hilo_http_client_t *c = h->data;
    c->open_handles--;
    maybe_free(c);
}

void hilo_http_client_destroy(hilo_http_client_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_http_client_t *c = *self_p;
    *self_p = NULL;
    if (c->destroyed) return;
    c->destroyed = true;
    size_t n = hilo_u64map_size(c->xfers);
    uint64_t *ids = hilo_xcalloc(n ? n : 1, sizeof *ids), *p = ids;
    hilo_u64map_each(c->xfers, collect_ids, &p);
    /* Removing the easy handles makes curl close their sockets: CURL_POLL_REMOVE closes the polls. */
    for (size_t i = 0; i < n; i++) hilo_http_client_cancel(c, ids[i]);
    free(ids);
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    /* Cached keep-alive connections may close without a CURL_POLL_REMOVE: close what is left. */
    for (sock_ctx_t *s = c->socks; s; s = s->next)
        if (!uv_is_closing((uv_handle_t *)&s->poll)) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, on_closed_sock);
        }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_closed_timer);
}
