/* link_server.c — ZeroMQ ROUTER socket, connector peers, frame checks, and with link_auth =
 * curve (the default) the link's authentication: CURVE on the ROUTER socket and a ZAP handler
 * on this loop that lets in only the public keys of [router] link_keys. ZeroMQ then stamps
 * every message with the key it came through (the ZAP "user id"), which the Hello is checked
 * against: a key is allowed only the channels listed for it. */
#include "link_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "hilo/common.h"
#include "hilo/link_keys.h"
#include "hilo/log.h"
#include "hilo/utf8.h"

#define DRAIN_BUDGET 512 /* frames read per loop turn before yielding to Redis replies */
#define PEERS_DEAD_AFTER 3 /* heartbeat intervals of silence */

typedef struct {
    hilo_peer_ref_t ref;
    int channel;              /* from Hello */
    char instance[64];        /* from Hello, for logs */
    bool expiry;              /* Hello.supports_expiry (protocol 1.1) */
    bool amo;                 /* Hello.supports_at_most_once (protocol 1.2) */
    unsigned minor;           /* the Hello frame's minor: 4 and up take call orders (protocol 1.4) */
    char key[41];             /* its CURVE public key (Z85), "" with link_auth = none */
    char name[HILO_LINK_NAME_MAX]; /* the key's name in link_keys: its group, "" without auth */
    int64_t last_seen_us;     /* any frame received */
    char (*senders)[HILO_LINK_SENDER_MAX]; /* Hello.senders (protocol 1.3), malloc'd; NULL: serves any */
    int nsenders;
} peer_t;

struct hilo_link_server {
    uv_loop_t *loop;
    const hilo_router_config_t *cfg;
    hilo_metrics_t *metrics;
    hilo_link_handlers_t h;
    void *sock;               /* ZMQ_ROUTER */
    uv_poll_t poll;           /* on ZMQ_FD (edge-triggered: see drain()) */
    uv_idle_t idle;           /* keeps draining when the budget ran out or a send consumed the edge */
    uv_prepare_t recheck;     /* after sends: one ZMQ_EVENTS check before the loop sleeps */
    uv_timer_t heartbeat;
    bool paused;
    peer_t *peers;
    int npeers, cap;
    int rr[HILO_CHANNEL_MAX]; /* round-robin cursor per channel */
    int closing;              /* handles still to close */
    hilo_link_allow_t *allow; /* link_keys; NULL with link_auth = none */
    void *zap;                /* ZMQ_REP on inproc://zeromq.zap.01: the ZAP handler */
    uv_poll_t zap_poll;       /* on the ZAP socket's ZMQ_FD */
};

static peer_t *find_peer(hilo_link_server_t *ls, const hilo_peer_ref_t *ref) {
    for (int i = 0; i < ls->npeers; i++)
        if (ls->peers[i].ref.len == ref->len && memcmp(ls->peers[i].ref.id, ref->id, ref->len) == 0)
            return &ls->peers[i];
    return NULL;
}

static void on_idle(uv_idle_t *h);

/* ZMQ_FD only signals edges: after any send or receive, messages may be waiting with no
 * new edge to come. So after receiving, and before the loop sleeps after sending, we ask
 * ZMQ_EVENTS and keep draining from an idle handle while POLLIN holds (unless paused for
 * backpressure). Sends only mark the check: a turn that sends 32 acks asks once (each ask
 * costs libzmq two system calls). */
static void check_events(hilo_link_server_t *ls) {
    if (ls->paused || ls->closing) return;
    uint32_t ev = 0;
    size_t sz = sizeof ev;
    if (zmq_getsockopt(ls->sock, ZMQ_EVENTS, &ev, &sz) == 0 && (ev & ZMQ_POLLIN))
        uv_idle_start(&ls->idle, on_idle);
}

static void on_recheck(uv_prepare_t *h) {
    uv_prepare_stop(h);
    check_events(h->data);
}

static void send_frame(hilo_link_server_t *ls, const hilo_peer_ref_t *peer, hilo_frame_t *f) {
    uint8_t stack[512];
    if (f->major == 0) {
        f->major = HILO_PROTO_MAJOR;
        f->minor = HILO_PROTO_MINOR;
    }
    size_t len = hilo__link__v1__frame__get_packed_size(f);
    uint8_t *buf = len <= sizeof stack ? stack : hilo_xmalloc(len);
    hilo__link__v1__frame__pack(f, buf);
    if (zmq_send(ls->sock, peer->id, peer->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(ls->sock, buf, len, ZMQ_DONTWAIT) < 0) {
        /* EHOSTUNREACH: the peer is gone (ROUTER_MANDATORY); EAGAIN: its queue is full.
         * Either way the connector will retry what it did not get acked. */
        if (errno != EHOSTUNREACH)
            hilo_log_warn("link", "event=send_failed err=\"%s\"", zmq_strerror(errno));
    }
    if (buf != stack) free(buf);
    if (!ls->closing) uv_prepare_start(&ls->recheck, on_recheck);
}

void hilo_link_server_send_ack(hilo_link_server_t *ls, const hilo_peer_ref_t *peer, uint64_t seq, bool duplicate,
                               const char *debtor_id) {
    hilo_frame_t f = HILO_FRAME_INIT;
    hilo_ack_t a = HILO_ACK_INIT;
    a.seq = seq;
    a.duplicate = duplicate;
    a.debtor_id = (char *)debtor_id;
    f.body_case = HILO_FRAME_ACK;
    f.ack = &a;
    send_frame(ls, peer, &f);
    if (duplicate) ls->metrics->acks_duplicate++; else ls->metrics->acks++;
}

void hilo_link_server_send_nack(hilo_link_server_t *ls, const hilo_peer_ref_t *peer, uint64_t seq, int code,
                                const char *reason) {
    hilo_frame_t f = HILO_FRAME_INIT;
    hilo_nack_t n = HILO_NACK_INIT;
    n.seq = seq;
    n.code = code;
    n.reason = (char *)reason;
    n.retryable = code == HILO_NACK_HELLO_REQUIRED || code == HILO_NACK_UNAVAILABLE;
    f.body_case = HILO_FRAME_NACK;
    f.nack = &n;
    send_frame(ls, peer, &f);
    if (code > 0 && code < 16) ls->metrics->nacks[code]++;
    /* One line per refusal, at the place the decision is made (HELLO_REQUIRED and
     * UNAVAILABLE are expected during restarts and logged by their causes instead). */
    if (!n.retryable)
        hilo_log_warn("link", "event=nack code=%s seq=%llu reason=\"%s\"", hilo_nack_code_name(code),
                      (unsigned long long)seq, reason);
}

int hilo_link_server_send_outbound(hilo_link_server_t *ls, const hilo_peer_ref_t *peer, hilo_outbound_t *ob) {
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_OUTBOUND;
    f.outbound = ob;
    send_frame(ls, peer, &f);
    return HILO_OK;
}

static void send_welcome(hilo_link_server_t *ls, const hilo_peer_ref_t *peer) {
    hilo_frame_t f = HILO_FRAME_INIT;
    hilo_welcome_t w = HILO_WELCOME_INIT;
    w.router_instance = (char *)ls->cfg->instance;
    w.heartbeat_ms = (uint32_t)ls->cfg->heartbeat_ms;
    w.max_payload = (uint32_t)ls->cfg->max_payload;
    f.body_case = HILO_FRAME_WELCOME;
    f.welcome = &w;
    send_frame(ls, peer, &f);
}

/* Hello.senders: at most HILO_LINK_SENDERS_MAX, each 1..HILO_LINK_SENDER_MAX - 1 bytes of UTF-8
 * without control characters (they go into logs and into Outbound.from). NULL when fine, else
 * why (static or in buf). */
static const char *senders_bad(const hilo_hello_t *hello, char *buf, size_t len) {
    if (hello->n_senders > HILO_LINK_SENDERS_MAX) {
        snprintf(buf, len, "hello: at most %d senders", HILO_LINK_SENDERS_MAX);
        return buf;
    }
    for (size_t i = 0; i < hello->n_senders; i++) {
        const char *s = hello->senders[i];
        size_t n = strlen(s);
        bool ok = n > 0 && n < HILO_LINK_SENDER_MAX && hilo_utf8_valid(s, n);
        for (const unsigned char *c = (const unsigned char *)s; ok && *c; c++)
            if (*c < 0x20 || *c == 0x7F) ok = false;
        if (!ok) {
            snprintf(buf, len, "hello: sender %zu must be 1-%d bytes of UTF-8 without control characters", i + 1,
                     HILO_LINK_SENDER_MAX - 1);
            return buf;
        }
    }
    return NULL;
}

static void on_hello(hilo_link_server_t *ls, const hilo_peer_ref_t *ref, const char *key,
                     const hilo_hello_t *hello, unsigned minor, int64_t now) {
    if (hello->channel <= HILO_CHANNEL_UNSPECIFIED || hello->channel >= HILO_CHANNEL_MAX) {
        hilo_link_server_send_nack(ls, ref, 0, HILO_NACK_UNKNOWN_CHANNEL, "hello: unknown channel");
        return;
    }
    char why_buf[128];
    const char *why = senders_bad(hello, why_buf, sizeof why_buf);
    if (why) {
        hilo_log_warn("link", "event=hello_refused channel=%s instance=%s reason=\"%s\"",
                      hilo_channel_name((int)hello->channel), hilo_log_value(hello->instance ? hello->instance : ""),
                      why);
        hilo_link_server_send_nack(ls, ref, 0, HILO_NACK_MALFORMED, why);
        return;
    }
    const char *name = "";
    if (ls->allow) {
        /* The key is the one ZeroMQ authenticated (ZAP let it in, so it is listed); what it may
         * serve is the allowlist's business, not the Hello's. */
        unsigned channels = 0;
        name = hilo_link_allow_find(ls->allow, key, &channels);
        if (!name || !(channels & (1u << hello->channel))) {
            char reason[160];
            snprintf(reason, sizeof reason, "hello: this connector's key (%s) is not allowed for channel %s",
                     name ? name : "unlisted", hilo_channel_name((int)hello->channel));
            hilo_log_warn("link", "event=hello_refused channel=%s key_name=%s instance=%s",
                          hilo_channel_name((int)hello->channel), name ? name : "unlisted",
                          hilo_log_value(hello->instance ? hello->instance : ""));
            hilo_link_server_send_nack(ls, ref, 0, HILO_NACK_FORBIDDEN, reason);
            return;
        }
    }
    peer_t *p = find_peer(ls, ref);
    bool joined = !p;
    if (!p) {
        if (ls->npeers == ls->cap) {
            ls->cap = ls->cap ? ls->cap * 2 : 8;
            ls->peers = hilo_xrealloc(ls->peers, (size_t)ls->cap * sizeof *ls->peers);
        }
        p = &ls->peers[ls->npeers++];
        memset(p, 0, sizeof *p);
        p->ref = *ref;
    } else if (p->channel != (int)hello->channel) {
        joined = true; /* a peer that changes channel counts as leaving one and joining another */
        if (ls->h.on_peers_changed) ls->h.on_peers_changed(p->channel, ls->h.arg);
    }
    p->channel = hello->channel;
    p->expiry = hello->supports_expiry;
    p->amo = hello->supports_at_most_once && hello->supports_expiry; /* 1.2 builds on 1.1 */
    p->minor = minor;
    free(p->senders);
    p->senders = NULL;
    p->nsenders = (int)hello->n_senders;
    if (p->nsenders > 0) {
        p->senders = hilo_xcalloc((size_t)p->nsenders, sizeof *p->senders);
        for (int i = 0; i < p->nsenders; i++) snprintf(p->senders[i], sizeof p->senders[i], "%s", hello->senders[i]);
    }
    snprintf(p->key, sizeof p->key, "%s", ls->allow ? key : "");
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->instance, sizeof p->instance, "%s", hello->instance ? hello->instance : "");
    p->last_seen_us = now;
    send_welcome(ls, ref);
    if (joined) {
        hilo_log_info("link",
                      "event=connector_joined channel=%s instance=%s software=%s expiry=%d at_most_once=%d senders=%d "
                      "key_name=%s",
                      hilo_channel_name(p->channel), hilo_log_value(p->instance),
                      hilo_log_value(hello->software ? hello->software : ""), p->expiry, p->amo, p->nsenders,
                      *p->name ? p->name : "-");
        if (ls->h.on_peers_changed) ls->h.on_peers_changed(p->channel, ls->h.arg);
    }
}

static void remove_peer(hilo_link_server_t *ls, int i, const char *why) {
    int channel = ls->peers[i].channel;
    hilo_log_warn("link", "event=connector_lost channel=%s instance=%s reason=%s", hilo_channel_name(channel),
                  hilo_log_value(ls->peers[i].instance), hilo_log_value(why));
    free(ls->peers[i].senders);
    ls->peers[i] = ls->peers[--ls->npeers];
    if (ls->h.on_peers_changed) ls->h.on_peers_changed(channel, ls->h.arg);
}

/* One message from the socket: [routing id][frame bytes]. */
static void handle(hilo_link_server_t *ls, const hilo_peer_ref_t *ref, const char *key, const uint8_t *data,
                   size_t len) {
    int64_t now = hilo_mono_us();
    hilo_frame_t *f = hilo_frame_unpack(data, len);
    if (len > (size_t)ls->cfg->max_payload) {
        uint64_t seq = f && f->body_case == HILO_FRAME_ENVELOPE ? f->envelope->seq : 0;
        char reason[96];
        snprintf(reason, sizeof reason, "frame of %zu bytes exceeds max_payload %ld", len, ls->cfg->max_payload);
        hilo_link_server_send_nack(ls, ref, seq, HILO_NACK_TOO_LARGE, reason);
        hilo_frame_free(&f);
        return;
    }
    if (!f) {
        hilo_link_server_send_nack(ls, ref, 0, HILO_NACK_MALFORMED, "not a decodable hilo.link.v1.Frame");
        return;
    }
    uint64_t seq = f->body_case == HILO_FRAME_ENVELOPE ? f->envelope->seq : 0;
    if (f->major != HILO_PROTO_MAJOR) {
        char reason[64];
        snprintf(reason, sizeof reason, "protocol major %u not supported (want %d)", f->major, HILO_PROTO_MAJOR);
        hilo_link_server_send_nack(ls, ref, seq, HILO_NACK_VERSION, reason);
        hilo_frame_free(&f);
        return;
    }
    const char *field = NULL;
    if (!hilo_frame_strings_valid(&f->base, &field)) {
        char reason[96];
        snprintf(reason, sizeof reason, "field '%s' is not valid UTF-8", field);
        hilo_link_server_send_nack(ls, ref, seq, HILO_NACK_INVALID_UTF8, reason);
        hilo_frame_free(&f);
        return;
    }
    if (f->body_case == HILO_FRAME_HELLO) {
        on_hello(ls, ref, key, f->hello, f->minor, now);
        hilo_frame_free(&f);
        return;
    }
    peer_t *p = find_peer(ls, ref);
    if (p && ls->allow && strcmp(p->key, key) != 0) p = NULL; /* never another key's session */
    if (!p) {
        /* Unknown peer: after a router restart ZeroMQ reconnects transparently with a new
         * routing id. Ask for a Hello; the connector then re-sends what is unacked. */
        hilo_link_server_send_nack(ls, ref, seq, HILO_NACK_HELLO_REQUIRED, "send Hello first");
        hilo_frame_free(&f);
        return;
    }
    p->last_seen_us = now;
    switch (f->body_case) {
    case HILO_FRAME_HEARTBEAT:
        hilo_frame_free(&f);
        return;
    case HILO_FRAME_ENVELOPE:
        if ((int)f->envelope->channel != p->channel) {
            char reason[96];
            snprintf(reason, sizeof reason, "envelope channel %d is not this connector's channel (%s)",
                     f->envelope->channel, hilo_channel_name(p->channel));
            hilo_link_server_send_nack(ls, ref, seq, HILO_NACK_UNKNOWN_CHANNEL, reason);
            hilo_frame_free(&f);
            return;
        }
        ls->metrics->envelopes[p->channel]++;
        ls->h.on_envelope(ref, f, now, ls->h.arg); /* ownership moves */
        return;
    default:
        hilo_link_server_send_nack(ls, ref, seq, HILO_NACK_INVALID, "frame type not accepted from a connector");
        hilo_frame_free(&f);
        return;
    }
}

static void drain(hilo_link_server_t *ls) {
    for (int n = 0; n < DRAIN_BUDGET && !ls->paused; n++) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, ls->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            uv_idle_stop(&ls->idle);
            return; /* EAGAIN: drained */
        }
        zmq_msg_init(&body);
        bool ok = zmq_msg_more(&id) && zmq_msg_recv(&body, ls->sock, ZMQ_DONTWAIT) >= 0;
        if (ok && zmq_msg_more(&body)) {
            /* A conforming peer sends exactly one part: swallow the rest and refuse. */
            for (bool more = true; more;) {
                zmq_msg_t extra;
                zmq_msg_init(&extra);
                more = zmq_msg_recv(&extra, ls->sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&extra);
                zmq_msg_close(&extra);
            }
            ok = false;
        }
        hilo_peer_ref_t ref = {.len = 0};
        if (zmq_msg_size(&id) <= sizeof ref.id) {
            ref.len = (uint8_t)zmq_msg_size(&id);
            memcpy(ref.id, zmq_msg_data(&id), ref.len);
        }
        /* The key this message came through, as the ZAP handler named it (NULL without auth). */
        const char *key = ok ? zmq_msg_gets(&body, "User-Id") : NULL;
        if (ok && ref.len)
            handle(ls, &ref, key ? key : "", zmq_msg_data(&body), zmq_msg_size(&body));
        else if (ref.len)
            hilo_link_server_send_nack(ls, &ref, 0, HILO_NACK_MALFORMED, "expected exactly one frame part");
        zmq_msg_close(&id);
        zmq_msg_close(&body);
    }
    check_events(ls);
}

static void on_poll(uv_poll_t *h, int status, int events) { drain(h->data); }
static void on_idle(uv_idle_t *h) { drain(h->data); }

static void on_heartbeat(uv_timer_t *t) {
    hilo_link_server_t *ls = t->data;
    int64_t now = hilo_mono_us();
    int64_t dead_us = (int64_t)ls->cfg->heartbeat_ms * 1000 * PEERS_DEAD_AFTER;
    for (int i = ls->npeers - 1; i >= 0; i--)
        if (now - ls->peers[i].last_seen_us > dead_us) remove_peer(ls, i, "no frame for 3 heartbeat intervals");
    hilo_frame_t f = HILO_FRAME_INIT;
    hilo_heartbeat_t hb = HILO_HEARTBEAT_INIT;
    hb.sent_ms = hilo_now_ms();
    f.body_case = HILO_FRAME_HEARTBEAT;
    f.heartbeat = &hb;
    for (int i = 0; i < ls->npeers; i++) send_frame(ls, &ls->peers[i].ref, &f);
}

static void on_closed(uv_handle_t *h) {
    hilo_link_server_t *ls = h->data;
    if (--ls->closing == 0) {
        hilo_link_allow_destroy(&ls->allow);
        for (int i = 0; i < ls->npeers; i++) free(ls->peers[i].senders);
        free(ls->peers);
        free(ls);
    }
}

/* --- ZAP (ZeroMQ RFC 27): one request per CURVE handshake ------------------------------
 * libzmq asks the handler bound at inproc://zeromq.zap.01 in the socket's context and holds the
 * handshake until the answer: 200 lets the peer in with our "user id" (its key in Z85, which
 * then labels each of its messages), 400 closes the connection. Answered here on the loop,
 * without waiting for anything. Without a handler libzmq would let every CURVE client in. */

static void zap_answer(void *zap, zmq_msg_t *reqid, const char *status, const char *text, const char *user) {
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_msg_send(reqid, zap, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(zap, status, strlen(status), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(zap, text, strlen(text), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(zap, user, strlen(user), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(zap, "", 0, ZMQ_DONTWAIT);
}

static void zap_one(hilo_link_server_t *ls) {
    /* version, request id, domain, address, identity, mechanism, credentials... */
    zmq_msg_t part[8];
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, ls->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 8)
            part[n++] = m;
        else
            zmq_msg_close(&m);
    }
    if (n < 2) {
        for (int i = 0; i < n; i++) zmq_msg_close(&part[i]);
        return;
    }
    char address[64] = "", mech[16] = "", key[41] = "";
    if (n >= 4) snprintf(address, sizeof address, "%.*s", (int)zmq_msg_size(&part[3]), (char *)zmq_msg_data(&part[3]));
    if (n >= 6) snprintf(mech, sizeof mech, "%.*s", (int)zmq_msg_size(&part[5]), (char *)zmq_msg_data(&part[5]));
    if (n >= 7 && strcmp(mech, "CURVE") == 0 && zmq_msg_size(&part[6]) == 32)
        zmq_z85_encode(key, zmq_msg_data(&part[6]), 32);
    unsigned channels = 0;
    const char *name = *key ? hilo_link_allow_find(ls->allow, key, &channels) : NULL;
    if (name) {
        hilo_log_debug("link", "event=link_auth_ok key_name=%s address=%s", name, hilo_log_value(address));
        zap_answer(ls->zap, &part[1], "200", "OK", key);
    } else {
        ls->metrics->link_auth_refused++;
        hilo_log_warn("link", "event=link_auth_refused reason=%s key=%s address=%s",
                      *key ? "key_not_in_link_keys" : "not_curve", *key ? key : "-", hilo_log_value(address));
        zap_answer(ls->zap, &part[1], "400", "key not allowed", "");
    }
    for (int i = 0; i < n; i++) zmq_msg_close(&part[i]);
}

static void on_zap(uv_poll_t *h, int status, int events) {
    hilo_link_server_t *ls = h->data;
    (void)status;
    (void)events;
    /* ZMQ_FD is edge-triggered: serve until ZMQ_EVENTS says nothing is waiting. */
    for (int guard = 0; guard < 1024; guard++) {
        uint32_t ev = 0;
        size_t sz = sizeof ev;
        if (zmq_getsockopt(ls->zap, ZMQ_EVENTS, &ev, &sz) != 0 || !(ev & ZMQ_POLLIN)) return;
        zap_one(ls);
    }
}

static int zap_start(hilo_link_server_t *ls, void *zctx) {
    char err[600];
    ls->allow = hilo_link_allow_load(ls->cfg->link_keys, err, sizeof err);
    if (!ls->allow) {
        hilo_log_error("link", "event=link_keys_failed reason=%s", hilo_log_value(err));
        return HILO_ERR;
    }
    ls->zap = zmq_socket(zctx, ZMQ_REP);
    int zero = 0;
    zmq_setsockopt(ls->zap, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(ls->zap, "inproc://zeromq.zap.01") != 0) {
        hilo_log_error("link", "event=zap_bind_failed err=\"%s\"", zmq_strerror(errno));
        return HILO_ERR;
    }
    int fd;
    size_t fdlen = sizeof fd;
    zmq_getsockopt(ls->zap, ZMQ_FD, &fd, &fdlen);
    uv_poll_init(ls->loop, &ls->zap_poll, fd);
    ls->zap_poll.data = ls;
    uv_poll_start(&ls->zap_poll, UV_READABLE, on_zap);
    int one = 1;
    zmq_setsockopt(ls->sock, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(ls->sock, ZMQ_CURVE_SECRETKEY, ls->cfg->link_secret, 41);
    /* A domain makes libzmq ask the handler (and refuse when it is gone: ZAP_ENFORCE_DOMAIN). */
    zmq_setsockopt(ls->sock, ZMQ_ZAP_DOMAIN, "hilo-link", 9);
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
    zmq_setsockopt(ls->sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one);
#endif
    hilo_log_info("link", "event=link_auth mode=curve keys=%d file=%s", hilo_link_allow_count(ls->allow),
                  hilo_log_value(ls->cfg->link_keys));
    return HILO_OK;
}

hilo_link_server_t *hilo_link_server_new(uv_loop_t *loop, void *zctx, const hilo_router_config_t *cfg,
                                         hilo_metrics_t *metrics, const hilo_link_handlers_t *handlers) {
    hilo_link_server_t *ls = hilo_xcalloc(1, sizeof *ls);
    ls->loop = loop;
    ls->cfg = cfg;
    ls->metrics = metrics;
    ls->h = *handlers;
    ls->sock = zmq_socket(zctx, ZMQ_ROUTER);
    int one = 1, zero = 0, hwm = 200000;
    int64_t maxmsg = (int64_t)cfg->max_payload * 4; /* larger frames get TOO_LARGE; absurd ones a disconnect */
    zmq_setsockopt(ls->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(ls->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(ls->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(ls->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(ls->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    int bound = -1;
    if ((!cfg->link_curve || zap_start(ls, zctx) == HILO_OK) && (bound = zmq_bind(ls->sock, cfg->link_bind)) != 0)
        hilo_log_error("link", "event=bind_failed endpoint=%s err=\"%s\"", cfg->link_bind, zmq_strerror(errno));
    if (bound != 0) {
        if (ls->zap) zmq_close(ls->zap);
        zmq_close(ls->sock);
        if (ls->zap_poll.data) {
            /* an initialised uv handle is freed only after the loop closed it */
            ls->closing = 1;
            uv_close((uv_handle_t *)&ls->zap_poll, on_closed);
        } else {
            hilo_link_allow_destroy(&ls->allow);
            free(ls);
        }
        return NULL;
    }
    if (!cfg->link_curve)
        hilo_log_warn("link", "event=link_auth mode=none effect=\"any local process may act as a connector\"");
    int fd;
    size_t fdlen = sizeof fd;
    zmq_getsockopt(ls->sock, ZMQ_FD, &fd, &fdlen);
    uv_poll_init(loop, &ls->poll, fd);
    ls->poll.data = ls;
    uv_poll_start(&ls->poll, UV_READABLE, on_poll);
    uv_idle_init(loop, &ls->idle);
    ls->idle.data = ls;
    uv_prepare_init(loop, &ls->recheck);
    ls->recheck.data = ls;
    uv_timer_init(loop, &ls->heartbeat);
    ls->heartbeat.data = ls;
    uv_timer_start(&ls->heartbeat, on_heartbeat, (uint64_t)cfg->heartbeat_ms, (uint64_t)cfg->heartbeat_ms);
    hilo_log_info("link", "event=listening endpoint=%s", cfg->link_bind);
    return ls;
}


void hilo_link_server_destroy(hilo_link_server_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_link_server_t *ls = *self_p;
    ls->closing = ls->zap ? 5 : 4;
    if (ls->zap) {
        uv_close((uv_handle_t *)&ls->zap_poll, on_closed);
        zmq_close(ls->zap);
    }
    uv_close((uv_handle_t *)&ls->poll, on_closed);
    uv_close((uv_handle_t *)&ls->idle, on_closed);
    uv_close((uv_handle_t *)&ls->recheck, on_closed);
    uv_close((uv_handle_t *)&ls->heartbeat, on_closed);
    zmq_close(ls->sock);
    *self_p = NULL;
}

static bool serves(const peer_t *p, const char *from) {
    for (int i = 0; i < p->nsenders; i++)
        if (strcmp(p->senders[i], from) == 0) return true;
    return false;
}

bool hilo_link_server_has_senders(const hilo_link_server_t *ls, int channel) {
    for (int i = 0; i < ls->npeers; i++)
        if (ls->peers[i].channel == channel && ls->peers[i].nsenders > 0) return true;
    return false;
}

int hilo_link_server_pick(hilo_link_server_t *ls, int channel, bool need_expiry, bool prefer_amo, const char *from,
                          unsigned min_minor, hilo_peer_ref_t *out, hilo_peer_caps_t *caps) {
    if (channel <= 0 || channel >= HILO_CHANNEL_MAX) return HILO_AGAIN;
    /* The sender: a peer that announced it, if one of the channel did (whatever its other
     * abilities: the message then waits for one that qualifies); else one that serves any. */
    bool claimed = false;
    for (int i = 0; from && *from && !claimed && i < ls->npeers; i++)
        claimed = ls->peers[i].channel == channel && serves(&ls->peers[i], from);
    /* Two rounds when at-most-once is preferred: a 1.2 peer first; a 1.1 peer (at-least-once)
     * only when no 1.2 peer of the channel is there, so that a mixed fleet during an upgrade
     * still sends. */
    for (int round = prefer_amo ? 0 : 1; round < 2; round++) {
        for (int k = 0; k < ls->npeers; k++) {
            int i = (ls->rr[channel] + k) % ls->npeers;
            const peer_t *p = &ls->peers[i];
            if (p->channel != channel || (need_expiry && !p->expiry) || (round == 0 && !p->amo) ||
                p->minor < min_minor)
                continue;
            if (claimed ? !serves(p, from) : (from && *from && p->nsenders > 0)) continue;
            ls->rr[channel] = i + 1;
            *out = p->ref;
            if (caps) *caps = (hilo_peer_caps_t){.expiry = p->expiry, .at_most_once = p->amo};
            return HILO_OK;
        }
    }
    return HILO_AGAIN;
}

int hilo_link_server_pick_minor(hilo_link_server_t *ls, int channel, unsigned min_minor, hilo_peer_ref_t *out) {
    if (!ls || channel <= 0 || channel >= HILO_CHANNEL_MAX) return HILO_AGAIN; /* no link: no connector */
    for (int k = 0; k < ls->npeers; k++) {
        int i = (ls->rr[channel] + k) % ls->npeers;
        const peer_t *p = &ls->peers[i];
        if (p->channel != channel || p->minor < min_minor) continue;
        ls->rr[channel] = i + 1;
        *out = p->ref;
        return HILO_OK;
    }
    return HILO_AGAIN;
}

const char *hilo_link_server_peer_group(const hilo_link_server_t *ls, const hilo_peer_ref_t *ref) {
    peer_t *p = find_peer((hilo_link_server_t *)ls, ref);
    return p ? p->name : "";
}

bool hilo_link_server_auth(const hilo_link_server_t *ls) { return ls->allow != NULL; }

int hilo_link_server_peer_count(const hilo_link_server_t *ls, int channel) {
    int n = 0;
    for (int i = 0; i < ls->npeers; i++) n += ls->peers[i].channel == channel;
    return n;
}

void hilo_link_server_pause(hilo_link_server_t *ls) {
    if (ls->paused) return;
    ls->paused = true;
    uv_idle_stop(&ls->idle);
    uv_poll_stop(&ls->poll);
}

void hilo_link_server_resume(hilo_link_server_t *ls) {
    if (!ls->paused) return;
    ls->paused = false;
    uv_poll_start(&ls->poll, UV_READABLE, on_poll);
    check_events(ls);
}
