/* link_client.c — the connector's router link: DEALER socket on a uv loop, Hello/Welcome,
 * heartbeats, must-deliver envelopes with acks, re-sends and backoff, Outbound dispatch. */
#include "hilo/link_client.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "hilo/backoff.h"
#include "hilo/common.h"
#include "hilo/link_keys.h"
#include "hilo/log.h"
#include "u64map.h"

#define MOD "link"

typedef struct entry {
    uint64_t seq;
    uint8_t *frame;            /* the packed Frame, seq included (sent as is every time) */
    size_t len;
    int64_t expire_at;         /* loop ms; 0 = never */
    int64_t next_send;         /* loop ms: send when the session is up and now >= this */
    unsigned nacks;            /* retryable Nacks so far (backoff step) */
    bool sent;                 /* sent at least once (a later send counts as a re-send) */
    bool inflight;             /* sent in this session and awaiting its answer (in the window) */
    bool must;                 /* outside max_pending */
    hilo_link_done_fn *done;
    void *done_arg;
    struct entry *prev, *next; /* submission order: re-sends keep it */
} entry_t;

struct hilo_link {
    uv_loop_t *loop;
    void *zctx, *sock;
    uv_poll_t poll;            /* on ZMQ_FD: readable = "look at ZMQ_EVENTS" (edge-triggered) */
    uv_timer_t timer;          /* the tick: heartbeats, silence, re-sends, expiry */
    uv_timer_t kick;           /* zero-delay: the post-send re-check of a submit, next loop turn */
    bool kick_armed;
    int open_handles;          /* uv handles not closed yet (destroy frees at 0) */
    hilo_link_options_t opt;
    char *endpoint, *instance, *software; /* owned copies of the options' strings */
    char **senders;            /* Hello.senders (protocol 1.3), owned */
    size_t nsenders;
    char router_instance[128];

    bool up;                   /* Welcome received and router not silent since */
    int hb_ms;                 /* heartbeat interval in force */
    uint32_t max_payload;      /* from Welcome, 0 = unknown */
    int64_t last_recv;         /* loop ms of the last frame from the router */
    int64_t last_hello;        /* loop ms of the last Hello actually sent, 0 = none yet */
    int64_t last_heartbeat;    /* loop ms of the last Heartbeat sent */
    int64_t hello_hold_until;  /* loop ms: no Hello before (the router refused the last one) */

    uint64_t next_seq;
    hilo_u64map_t *by_seq;     /* seq → entry */
    entry_t *head, *tail;
    size_t npending, nmust;    /* kept entries; those submitted with must */
    size_t ninflight;          /* entries in the window (sent, unanswered) */

    bool draining, recheck;    /* re-entrancy guard for drain() */
    bool destroyed;
    hilo_link_stats_t stats;
};

static void drain(hilo_link_t *l);

static int64_t now_ms(hilo_link_t *l) { return (int64_t)uv_now(l->loop); }

/* ----- sending ----- */

/* One frame, never blocking. false when ZeroMQ would block (not connected, HWM reached). */
static bool send_raw(hilo_link_t *l, const uint8_t *buf, size_t len) {
    int rc = zmq_send(l->sock, buf, len, ZMQ_DONTWAIT);
    /* ZMQ_FD is edge-triggered and a send can consume the edge that announced incoming data:
     * ZMQ_EVENTS must be looked at again after every send, or a frame could sit unread until
     * the next tick. Not here (the caller may be walking the entry list, and reading could
     * complete entries under it): every entry point ends with drain(), which loops on this. */
    l->recheck = true;
    if (rc < 0) {
        if (errno != EAGAIN) hilo_log_warn(MOD, "event=send_failed errno=%d err=\"%s\"", errno, zmq_strerror(errno));
        return false;
    }
    return true;
}

static bool send_frame(hilo_link_t *l, hilo_frame_t *f) {
    size_t len;
    uint8_t *buf = hilo_frame_pack(f, &len);
    bool ok = send_raw(l, buf, len);
    free(buf);
    return ok;
}

static void send_hello(hilo_link_t *l) {
    hilo_hello_t h = HILO_HELLO_INIT;
    h.channel = l->opt.channel;
    h.instance = l->instance;
    h.software = l->software;
    h.max_outbound = l->opt.max_outbound;
    h.supports_expiry = true; /* the sender honours Outbound.expires_in_ms (protocol 1.1) */
    h.supports_at_most_once = true; /* ... and Outbound.at_most_once: CALLING, UNKNOWN (1.2) */
    h.n_senders = l->nsenders;      /* the numbers it serves (1.3) */
    h.senders = l->senders;
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_HELLO;
    f.hello = &h;
    if (send_frame(l, &f)) {
        l->last_hello = now_ms(l);
        hilo_log_debug(MOD, "event=hello_sent instance=%s", l->instance);
    }
}

static void send_heartbeat(hilo_link_t *l) {
    hilo_heartbeat_t hb = HILO_HEARTBEAT_INIT;
    hb.sent_ms = hilo_now_ms();
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_HEARTBEAT;
    f.heartbeat = &hb;
    if (send_frame(l, &f)) l->last_heartbeat = now_ms(l);
}

/* ----- envelopes ----- */

static void set_inflight(hilo_link_t *l, entry_t *e, bool on) {
    if (e->inflight == on) return;
    e->inflight = on;
    if (on) l->ninflight++;
    else l->ninflight--;
}

static void unlink_entry(hilo_link_t *l, entry_t *e) {
    set_inflight(l, e, false);
    if (e->prev) e->prev->next = e->next; else l->head = e->next;
    if (e->next) e->next->prev = e->prev; else l->tail = e->prev;
    hilo_u64map_del(l->by_seq, e->seq);
    l->npending--;
    if (e->must) l->nmust--;
}

static void complete(hilo_link_t *l, entry_t *e, hilo_link_result_t result, const char *reason) {
    unlink_entry(l, e);
    switch (result) {
    case HILO_LINK_ACKED: l->stats.acked++; break;
    case HILO_LINK_DUPLICATE: l->stats.duplicates++; break;
    case HILO_LINK_REFUSED: l->stats.refused++; break;
    case HILO_LINK_DEAD_LETTER: l->stats.refused++, l->stats.dead_letters++; break;
    case HILO_LINK_EXPIRED: l->stats.expired++; break;
    case HILO_LINK_ABANDONED: break;
    }
    if (e->done) e->done(e->done_arg, e->seq, result, reason ? reason : "");
    free(e->frame);
    free(e);
}

/* The router will never take this envelope: into the dead-letter file when there is one (the
 * caller may then answer its webhook as kept), and done. `code` is the Nack code's name. */
static void refuse(hilo_link_t *l, entry_t *e, const char *code, const char *why) {
    char reason[300];
    snprintf(reason, sizeof reason, "%s: %s", code, why);
    hilo_link_result_t result = HILO_LINK_REFUSED;
    if (l->opt.dead_letter) {
        hilo_frame_t *f = hilo_frame_unpack(e->frame, e->len);
        /* A refused CALLING is the router's "do not call", not a lost event: nothing to keep. */
        bool calling = f && f->body_case == HILO_FRAME_ENVELOPE && f->envelope->delivery &&
                       f->envelope->delivery->state == HILO_DELIVERY_CALLING;
        if (calling)
            result = HILO_LINK_REFUSED;
        else if (f && f->body_case == HILO_FRAME_ENVELOPE &&
            hilo_dead_letter_write(l->opt.dead_letter, f->envelope, code, why) == HILO_OK)
            result = HILO_LINK_DEAD_LETTER;
        else
            l->stats.dead_letter_failures++;
        hilo_frame_free(&f);
    }
    complete(l, e, result, reason);
}

/* Sends every entry that is due, in submission order, keeping at most max_inflight unanswered
 * (docs/protocol.md §5.4: an unbounded sender only fills ZeroMQ queues while the router applies
 * backpressure); stops at the first send ZeroMQ refuses (the rest go on a later tick). */
static void flush(hilo_link_t *l) {
    if (!l->up) return;
    int64_t now = now_ms(l);
    for (entry_t *e = l->head, *next; e && l->up && !l->destroyed; e = next) {
        next = e->next;
        if (e->next_send > now) continue;
        if (!e->inflight && l->ninflight >= l->opt.max_inflight) continue; /* window full */
        if (!send_raw(l, e->frame, e->len)) break;
        if (e->sent) l->stats.resent++;
        e->sent = true;
        set_inflight(l, e, true);
        e->next_send = now + l->opt.ack_timeout_ms;
    }
}

static void on_kick(uv_timer_t *t) {
    hilo_link_t *l = t->data;
    l->kick_armed = false;
    drain(l);
}

int hilo_link_submit(hilo_link_t *l, const hilo_envelope_t *env, int64_t ttl_ms, bool must,
                     hilo_link_done_fn *done, void *done_arg, uint64_t *seq) {
    if (l->destroyed) return HILO_ERR;
    if (!must && l->npending - l->nmust >= l->opt.max_pending) return HILO_AGAIN;
    hilo_envelope_t copy = *env; /* shallow: only seq changes, the strings stay the caller's */
    copy.seq = l->next_seq;
    if (copy.channel == HILO_CHANNEL_UNSPECIFIED) copy.channel = l->opt.channel;
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_ENVELOPE;
    f.envelope = &copy;
    entry_t *e = hilo_xcalloc(1, sizeof *e);
    e->frame = hilo_frame_pack(&f, &e->len);
    if (l->max_payload && e->len > l->max_payload) {
        hilo_log_error(MOD, "event=envelope_too_large bytes=%zu max=%u", e->len, l->max_payload);
        free(e->frame);
        free(e);
        return HILO_ERR;
    }
    e->seq = l->next_seq++;
    e->expire_at = ttl_ms > 0 ? now_ms(l) + ttl_ms : 0;
    e->must = must;
    e->done = done;
    e->done_arg = done_arg;
    e->prev = l->tail;
    if (l->tail) l->tail->next = e; else l->head = e;
    l->tail = e;
    hilo_u64map_put(l->by_seq, e->seq, e);
    l->npending++;
    if (must) l->nmust++;
    l->stats.submitted++;
    if (seq) *seq = e->seq;
    flush(l);
    /* Reading now could complete this very envelope (a fast Nack) before the caller has even
     * seen its seq: the re-check after the send runs on the next loop turn instead, and no
     * callback ever runs inside submit. */
    if (!l->kick_armed) {
        l->kick_armed = true;
        uv_timer_start(&l->kick, on_kick, 0, 0);
    }
    return HILO_OK;
}

/* ----- receiving ----- */

static void session_down(hilo_link_t *l, const char *why) {
    if (!l->up) return;
    l->up = false;
    l->stats.link_downs++;
    hilo_log_warn(MOD, "event=link_down reason=%s pending=%zu", why, l->npending);
    if (l->opt.on_state) l->opt.on_state(l->opt.arg, false);
}

static void on_welcome(hilo_link_t *l, const hilo_welcome_t *w) {
    bool was_up = l->up;
    l->hb_ms = w->heartbeat_ms ? (int)w->heartbeat_ms : l->opt.heartbeat_ms;
    l->max_payload = w->max_payload;
    snprintf(l->router_instance, sizeof l->router_instance, "%s", w->router_instance ? w->router_instance : "");
    l->up = true;
    l->stats.welcomes++;
    hilo_log_info(MOD, "event=welcome router=%s heartbeat_ms=%d max_payload=%u pending=%zu", l->router_instance,
                  l->hb_ms, l->max_payload, l->npending);
    /* A new session: the router may have lost what was in flight, so everything unacked goes
     * again now (the router dedupes). What this router would refuse as too large ends here. */
    for (entry_t *e = l->head, *next; e && !l->destroyed; e = next) {
        next = e->next;
        if (l->max_payload && e->len > l->max_payload) {
            hilo_log_error(MOD, "event=envelope_too_large seq=%" PRIu64 " bytes=%zu max=%u", e->seq, e->len,
                           l->max_payload);
            refuse(l, e, "TOO_LARGE", "larger than the router's max_payload");
            next = l->head; /* the callback may have changed the list: start over */
            continue;
        }
        e->next_send = 0;
        set_inflight(l, e, false);
    }
    if (l->destroyed) return;
    if (!was_up && l->opt.on_state) l->opt.on_state(l->opt.arg, true);
    if (!l->destroyed) flush(l);
}

static void on_nack(hilo_link_t *l, const hilo_nack_t *n) {
    const char *code = hilo_nack_code_name(n->code);
    entry_t *e = n->seq ? hilo_u64map_get(l->by_seq, n->seq) : NULL;
    if (n->code == HILO_NACK_HELLO_REQUIRED) {
        /* The router does not know this peer (it restarted, or dropped us): the session is
         * over; one Hello (a burst of these nacks for the envelopes in flight needs just one),
         * and everything unacked goes again after the Welcome. */
        hilo_log_info(MOD, "event=hello_required seq=%" PRIu64, n->seq);
        bool was_up = l->up;
        session_down(l, "hello_required");
        if (e) {
            e->next_send = 0;
            set_inflight(l, e, false);
        }
        if (was_up || now_ms(l) - l->last_hello >= l->hb_ms) send_hello(l);
        return;
    }
    if (!e && n->seq == 0 && !l->up &&
        (n->code == HILO_NACK_UNKNOWN_CHANNEL || n->code == HILO_NACK_VERSION || n->code == HILO_NACK_MALFORMED)) {
        /* Our Hello was refused: a configuration or implementation bug. Say it loudly, and
         * try again only every few seconds (docs/protocol.md §4.3). */
        hilo_log_error(MOD, "event=hello_refused code=%s reason=\"%s\"", code, n->reason ? n->reason : "");
        l->hello_hold_until = now_ms(l) + 5000;
        return;
    }
    if (!e) {
        hilo_log_warn(MOD, "event=nack_unknown seq=%" PRIu64 " code=%s reason=\"%s\"", n->seq, code,
                      n->reason ? n->reason : "");
        return;
    }
    if (n->retryable) {
        l->stats.nacks_retryable++;
        hilo_backoff_t b = {l->opt.retry_min_ms, l->opt.retry_max_ms};
        int64_t delay = hilo_backoff_delay(&b, ++e->nacks, hilo_backoff_random());
        e->next_send = now_ms(l) + delay;
        set_inflight(l, e, false);
        hilo_log_info(MOD, "event=nack_retry seq=%" PRIu64 " code=%s delay_ms=%" PRId64, n->seq, code, delay);
        return;
    }
    hilo_log_error(MOD, "event=envelope_refused seq=%" PRIu64 " code=%s reason=\"%s\"", n->seq, code,
                   n->reason ? n->reason : "");
    refuse(l, e, code, n->reason ? n->reason : "");
}

static void handle(hilo_link_t *l, const uint8_t *buf, size_t len) {
    hilo_frame_t *f = hilo_frame_unpack(buf, len);
    if (!f) {
        hilo_log_warn(MOD, "event=bad_frame reason=undecodable bytes=%zu", len);
        return;
    }
    if (f->major != HILO_PROTO_MAJOR) {
        hilo_log_warn(MOD, "event=bad_frame reason=version major=%u", f->major);
        hilo_frame_free(&f);
        return;
    }
    l->last_recv = now_ms(l);
    switch (f->body_case) {
    case HILO_FRAME_WELCOME: on_welcome(l, f->welcome); break;
    case HILO_FRAME_ACK: {
        entry_t *e = hilo_u64map_get(l->by_seq, f->ack->seq);
        if (e) complete(l, e, f->ack->duplicate ? HILO_LINK_DUPLICATE : HILO_LINK_ACKED, "");
        else hilo_log_debug(MOD, "event=ack_unknown seq=%" PRIu64, f->ack->seq);
        break;
    }
    case HILO_FRAME_NACK: on_nack(l, f->nack); break;
    case HILO_FRAME_OUTBOUND:
        l->stats.outbound_received++;
        if (l->opt.on_outbound) l->opt.on_outbound(l->opt.arg, f->outbound);
        break;
    case HILO_FRAME_HEARTBEAT: break;
    default: hilo_log_warn(MOD, "event=bad_frame reason=unexpected_body body=%d", (int)f->body_case); break;
    }
    hilo_frame_free(&f);
}

/* Reads while ZMQ_EVENTS says POLLIN. Re-entrant calls (a send from inside a callback) only ask
 * the running loop to look again. */
static void drain(hilo_link_t *l) {
    if (l->draining) {
        l->recheck = true;
        return;
    }
    l->draining = true;
    do {
        l->recheck = false;
        while (!l->destroyed) {
            int events = 0;
            size_t sz = sizeof events;
            if (zmq_getsockopt(l->sock, ZMQ_EVENTS, &events, &sz) != 0 || !(events & ZMQ_POLLIN)) break;
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, l->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            /* One Frame per message; an empty part (a REQ-style delimiter) carries nothing. */
            if (zmq_msg_size(&msg) > 0) handle(l, zmq_msg_data(&msg), zmq_msg_size(&msg));
            zmq_msg_close(&msg);
        }
    } while (l->recheck && !l->destroyed);
    l->draining = false;
}

static void on_poll(uv_poll_t *h, int status, int events) {
    (void)status, (void)events;
    drain(h->data);
}

static void on_tick(uv_timer_t *t) {
    hilo_link_t *l = t->data;
    int64_t now = now_ms(l);
    if (l->up && now - l->last_recv > 3LL * l->hb_ms) session_down(l, "router_silent");
    if (!l->up && now >= l->hello_hold_until && (l->last_hello == 0 || now - l->last_hello >= l->hb_ms))
        send_hello(l);
    if (l->up && now - l->last_heartbeat >= l->hb_ms) send_heartbeat(l);
    for (entry_t *e = l->head, *next; e && !l->destroyed; e = next) {
        next = e->next;
        if (e->expire_at && now >= e->expire_at) {
            hilo_log_warn(MOD, "event=envelope_expired seq=%" PRIu64, e->seq);
            complete(l, e, HILO_LINK_EXPIRED, "not acked in time");
            next = l->head; /* the callback may have changed the list: start over */
        }
    }
    if (!l->destroyed) flush(l);
    if (!l->destroyed) drain(l);
}

/* ----- lifecycle ----- */

/* "a, b c" -> l->senders (l NULL: only checked); the router's limits (link_server.c) checked
 * here, where the operator gets the error at start rather than a refused Hello later. */
static int split_senders(hilo_link_t *l, const char *list, char *err, size_t errlen) {
    size_t count = 0;
    for (const char *p = list ? list : ""; *p;) {
        size_t skip = strspn(p, ", \t"), n;
        p += skip;
        if (!*p) break;
        n = strcspn(p, ", \t");
        if (n >= 64 || count++ == 256) {
            snprintf(err, errlen, "at most 256 senders, each at most 63 bytes");
            return HILO_ERR;
        }
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7F) {
                snprintf(err, errlen, "a sender holds a control character");
                return HILO_ERR;
            }
        if (!l) {
            p += n;
            continue;
        }
        l->senders = hilo_xrealloc(l->senders, (l->nsenders + 1) * sizeof *l->senders);
        l->senders[l->nsenders] = hilo_xmalloc(n + 1);
        memcpy(l->senders[l->nsenders], p, n);
        l->senders[l->nsenders++][n] = '\0';
        p += n;
    }
    return HILO_OK;
}

int hilo_link_senders_check(const char *list, char *err, size_t errlen) { return split_senders(NULL, list, err, errlen); }

hilo_link_t *hilo_link_new(uv_loop_t *loop, const hilo_link_options_t *opts, char *err, size_t errlen) {
    hilo_link_t *l = hilo_xcalloc(1, sizeof *l);
    l->loop = loop;
    l->opt = *opts;
    if (l->opt.ack_timeout_ms <= 0) l->opt.ack_timeout_ms = 5000;
    if (l->opt.max_inflight == 0) l->opt.max_inflight = 256;
    if (l->opt.heartbeat_ms <= 0) l->opt.heartbeat_ms = 1000;
    if (l->opt.max_pending == 0) l->opt.max_pending = 10000;
    if (l->opt.retry_min_ms <= 0) l->opt.retry_min_ms = 200;
    if (l->opt.retry_max_ms < l->opt.retry_min_ms) l->opt.retry_max_ms = l->opt.retry_min_ms > 5000 ? l->opt.retry_min_ms : 5000;
    l->endpoint = hilo_xstrdup(opts->endpoint ? opts->endpoint : "");
    l->instance = hilo_xstrdup(opts->instance ? opts->instance : "");
    l->software = hilo_xstrdup(opts->software ? opts->software : "hilo-connector");
    if (split_senders(l, opts->senders, err, errlen) != HILO_OK) goto fail;
    l->hb_ms = l->opt.heartbeat_ms;
    /* Seqs start from the clock so that they stay unique across restarts: a router reply that
     * names a seq of a previous process (voice turn) can never match a new envelope. */
    l->next_seq = (uint64_t)hilo_now_ms() * 1000;
    l->by_seq = hilo_u64map_new();

    l->zctx = zmq_ctx_new();
    l->sock = l->zctx ? zmq_socket(l->zctx, ZMQ_DEALER) : NULL;
    if (!l->sock) {
        snprintf(err, errlen, "zmq socket: %s", zmq_strerror(errno));
        goto fail;
    }
    int zero = 0, one = 1, hwm = 100000, ivl = 100, ivl_max = 1000;
    zmq_setsockopt(l->sock, ZMQ_LINGER, &zero, sizeof zero);
    /* IMMEDIATE: no queueing into a pipe that is not connected; we keep and re-send ourselves. */
    zmq_setsockopt(l->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(l->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(l->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(l->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(l->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    zmq_setsockopt(l->sock, ZMQ_TCP_KEEPALIVE, &one, sizeof one);
    if (opts->curve_server_key && *opts->curve_server_key) {
        /* CURVE: the router proves it holds the secret of curve_server_key, we prove ours; the
         * router lets in only the keys of its link_keys. The keys are not kept here. */
        char pub[41];
        if (!hilo_link_key_valid(opts->curve_server_key) || !opts->curve_secret_key ||
            hilo_link_public_of(opts->curve_secret_key, pub) != HILO_OK) {
            snprintf(err, errlen, "link: the CURVE keys are not Z85 keys of 40 characters");
            goto fail;
        }
        if (zmq_setsockopt(l->sock, ZMQ_CURVE_SERVERKEY, opts->curve_server_key, 41) != 0 ||
            zmq_setsockopt(l->sock, ZMQ_CURVE_PUBLICKEY, pub, 41) != 0 ||
            zmq_setsockopt(l->sock, ZMQ_CURVE_SECRETKEY, opts->curve_secret_key, 41) != 0) {
            snprintf(err, errlen, "link: CURVE keys refused by libzmq: %s", zmq_strerror(errno));
            goto fail;
        }
    }
    if (zmq_connect(l->sock, l->endpoint) != 0) {
        snprintf(err, errlen, "link_connect %s: %s", l->endpoint, zmq_strerror(errno));
        goto fail;
    }
    int fd;
    size_t fdlen = sizeof fd;
    if (zmq_getsockopt(l->sock, ZMQ_FD, &fd, &fdlen) != 0) {
        snprintf(err, errlen, "zmq ZMQ_FD: %s", zmq_strerror(errno));
        goto fail;
    }
    if (uv_poll_init(loop, &l->poll, fd) != 0) {
        snprintf(err, errlen, "uv_poll_init failed");
        goto fail;
    }
    l->poll.data = l;
    l->open_handles++;
    uv_poll_start(&l->poll, UV_READABLE, on_poll);
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    l->open_handles++;
    uv_timer_init(loop, &l->kick);
    l->kick.data = l;
    l->open_handles++;
    int tick = l->opt.heartbeat_ms / 4 < 50 ? l->opt.heartbeat_ms / 4 : 50;
    uv_timer_start(&l->timer, on_tick, 0, tick > 5 ? (uint64_t)tick : 5);
    hilo_log_info(MOD, "event=connecting endpoint=%s instance=%s", l->endpoint, l->instance);
    return l;
fail:
    if (l->sock) zmq_close(l->sock);
    if (l->zctx) zmq_ctx_term(l->zctx);
    hilo_u64map_destroy(&l->by_seq);
    free(l->endpoint);
    free(l->instance);
    free(l->software);
    for (size_t i = 0; i < l->nsenders; i++) free(l->senders[i]);
    free(l->senders);
    free(l);
    return NULL;
}

static void on_closed(uv_handle_t *h) {
    hilo_link_t *l = h->data;
    if (--l->open_handles > 0) return;
    /* The socket closes only now: the poll handle watched its fd until here. */
    zmq_close(l->sock);
    zmq_ctx_term(l->zctx);
    hilo_u64map_destroy(&l->by_seq);
    free(l->endpoint);
    free(l->instance);
    free(l->software);
    for (size_t i = 0; i < l->nsenders; i++) free(l->senders[i]);
    free(l->senders);
    free(l);
}

void hilo_link_destroy(hilo_link_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_link_t *l = *self_p;
    *self_p = NULL;
    if (l->destroyed) return;
    l->destroyed = true;
    while (l->head) complete(l, l->head, HILO_LINK_ABANDONED, "link closed");
    uv_timer_stop(&l->timer);
    uv_timer_stop(&l->kick);
    uv_poll_stop(&l->poll);
    uv_close((uv_handle_t *)&l->timer, on_closed);
    uv_close((uv_handle_t *)&l->kick, on_closed);
    uv_close((uv_handle_t *)&l->poll, on_closed);
}

bool hilo_link_is_up(const hilo_link_t *l) { return l->up; }

void hilo_link_stats(const hilo_link_t *l, hilo_link_stats_t *out) {
    *out = l->stats;
    out->pending = l->npending;
    out->up = l->up;
}

const char *hilo_link_router_instance(const hilo_link_t *l) { return l->router_instance; }
