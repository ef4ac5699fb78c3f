/* test_link.c — the link client against a real ZeroMQ ROUTER peer played by the test on
 * 127.0.0.1 (ephemeral port): Hello/Welcome, ack matching, duplicate acks, re-send after the
 * ack timeout, the router going silent and coming back on the same port, HELLO_REQUIRED,
 * retryable and final Nacks, Outbound delivery, the pending bound, expiry, and a clean close.
 * The peer runs in the test's thread: waiting = pumping the uv loop with UV_RUN_NOWAIT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>
#include <zmq.h>

#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/link_client.h"
#include "hilo/log.h"

typedef struct {
    void *ctx, *sock;
    char endpoint[64];
    uint8_t peer_id[256];
    size_t peer_id_len;
} peer_t;

typedef struct {
    int ups, downs;
    int done_calls;
    uint64_t done_seq;
    hilo_link_result_t done_result;
    char done_reason[300];
    int outbounds;
    char ob_id[64], ob_text[64];
    uint64_t ob_reply_to;
} events_t;

static events_t ev;
static uv_loop_t loop;

static void peer_bind(peer_t *p, const char *endpoint) {
    p->sock = zmq_socket(p->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof zero);
    int rc = -1;
    for (int i = 0; i < 100 && rc != 0; i++) { /* re-binding a port just closed may need a moment */
        rc = zmq_bind(p->sock, endpoint);
        if (rc != 0) usleep(20000);
    }
    assert_int_equal(rc, 0);
    size_t len = sizeof p->endpoint;
    zmq_getsockopt(p->sock, ZMQ_LAST_ENDPOINT, p->endpoint, &len);
}

static void peer_close(peer_t *p) {
    zmq_close(p->sock);
    p->sock = NULL;
}

static void pump(void) {
    uv_run(&loop, UV_RUN_NOWAIT);
    usleep(1000);
}

/* Next frame from the link (any body), pumping the loop; NULL after timeout_ms. */
static hilo_frame_t *peer_recv_any(peer_t *p, int timeout_ms) {
    int64_t end = hilo_mono_us() + (int64_t)timeout_ms * 1000;
    while (hilo_mono_us() < end) {
        pump();
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, p->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            continue;
        }
        memcpy(p->peer_id, zmq_msg_data(&id), zmq_msg_size(&id));
        p->peer_id_len = zmq_msg_size(&id);
        zmq_msg_close(&id);
        zmq_msg_init(&body);
        zmq_msg_recv(&body, p->sock, 0);
        hilo_frame_t *f = hilo_frame_unpack(zmq_msg_data(&body), zmq_msg_size(&body));
        zmq_msg_close(&body);
        assert_non_null(f);
        assert_int_equal(f->major, 1);
        return f;
    }
    return NULL;
}

/* Next frame with this body, skipping heartbeats (and Hellos unless asked for). */
static hilo_frame_t *peer_expect(peer_t *p, int body, int timeout_ms) {
    int64_t end = hilo_mono_us() + (int64_t)timeout_ms * 1000;
    while (hilo_mono_us() < end) {
        hilo_frame_t *f = peer_recv_any(p, 10);
        if (!f) continue;
        if ((int)f->body_case == body) return f;
        hilo_frame_free(&f);
    }
    return NULL;
}

static void peer_send(peer_t *p, hilo_frame_t *f) {
    size_t len;
    uint8_t *buf = hilo_frame_pack(f, &len);
    assert_int_equal(zmq_send(p->sock, p->peer_id, p->peer_id_len, ZMQ_SNDMORE), (int)p->peer_id_len);
    assert_int_equal(zmq_send(p->sock, buf, len, 0), (int)len);
    free(buf);
}

static void peer_welcome(peer_t *p, uint32_t hb_ms) {
    hilo_welcome_t w = HILO_WELCOME_INIT;
    w.router_instance = "router-test";
    w.heartbeat_ms = hb_ms;
    w.max_payload = 65536;
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_WELCOME;
    f.welcome = &w;
    peer_send(p, &f);
}

static void peer_ack(peer_t *p, uint64_t seq, bool dup) {
    hilo_ack_t a = HILO_ACK_INIT;
    a.seq = seq;
    a.duplicate = dup;
    a.debtor_id = "d1";
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_ACK;
    f.ack = &a;
    peer_send(p, &f);
}

static void peer_nack(peer_t *p, uint64_t seq, int code, bool retryable, const char *reason) {
    hilo_nack_t n = HILO_NACK_INIT;
    n.seq = seq;
    n.code = code;
    n.retryable = retryable;
    n.reason = (char *)reason;
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_NACK;
    f.nack = &n;
    peer_send(p, &f);
}

static void peer_heartbeat(peer_t *p) {
    hilo_heartbeat_t h = HILO_HEARTBEAT_INIT;
    h.sent_ms = hilo_now_ms();
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_HEARTBEAT;
    f.heartbeat = &h;
    peer_send(p, &f);
}

/* ----- link callbacks ----- */

static void on_state(void *arg, bool up) {
    (void)arg;
    if (up) ev.ups++; else ev.downs++;
}

static void on_outbound(void *arg, const hilo_outbound_t *ob) {
    (void)arg;
    ev.outbounds++;
    snprintf(ev.ob_id, sizeof ev.ob_id, "%s", ob->outbound_id);
    snprintf(ev.ob_text, sizeof ev.ob_text, "%s", ob->text);
    ev.ob_reply_to = ob->reply_to_seq;
}

static void on_done(void *arg, uint64_t seq, hilo_link_result_t result, const char *reason) {
    (void)arg;
    ev.done_calls++;
    ev.done_seq = seq;
    ev.done_result = result;
    snprintf(ev.done_reason, sizeof ev.done_reason, "%s", reason);
}

static void wait_for(int *counter, int value, int timeout_ms) {
    int64_t end = hilo_mono_us() + (int64_t)timeout_ms * 1000;
    while (*counter < value && hilo_mono_us() < end) pump();
    assert_int_equal(*counter, value);
}

/* ----- fixture ----- */

typedef struct {
    peer_t peer;
    hilo_link_t *link;
} fx_t;

static size_t window = 0; /* max_inflight for the next make_link (0 = default) */
static hilo_dead_letter_t *dead_letter; /* for the next make_link (NULL = none) */
static char dead_path[64];

static hilo_link_t *make_link(const char *endpoint, size_t max_pending) {
    hilo_link_options_t o = {
        .max_inflight = window,
        .endpoint = endpoint, .channel = HILO_CHANNEL_WHATSAPP, .instance = "whatsapp-test",
        .software = "test_link", .max_outbound = 7, .ack_timeout_ms = 300, .heartbeat_ms = 100,
        .max_pending = max_pending, .retry_min_ms = 50, .retry_max_ms = 200, .dead_letter = dead_letter,
        .on_outbound = on_outbound, .on_state = on_state,
    };
    char err[256] = "";
    hilo_link_t *l = hilo_link_new(&loop, &o, err, sizeof err);
    if (!l) fprintf(stderr, "hilo_link_new: %s\n", err);
    assert_non_null(l);
    return l;
}

static int setup(void **state) {
    memset(&ev, 0, sizeof ev);
    fx_t *fx = calloc(1, sizeof *fx);
    assert_int_equal(uv_loop_init(&loop), 0);
    fx->peer.ctx = zmq_ctx_new();
    peer_bind(&fx->peer, "tcp://127.0.0.1:*");
    fx->link = make_link(fx->peer.endpoint, 4);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    hilo_link_destroy(&fx->link);
    assert_null(fx->link);
    /* every handle closed: the loop ends by itself and closes cleanly (leaks would fail here) */
    int64_t end = hilo_mono_us() + 2000000;
    while (uv_run(&loop, UV_RUN_NOWAIT) != 0 && hilo_mono_us() < end) usleep(1000);
    assert_int_equal(uv_loop_close(&loop), 0);
    if (fx->peer.sock) peer_close(&fx->peer);
    zmq_ctx_term(fx->peer.ctx);
    free(fx);
    return 0;
}

/* Hello → Welcome; the link reports up. */
static void handshake(fx_t *fx) {
    hilo_frame_t *f = peer_expect(&fx->peer, HILO_FRAME_HELLO, 3000);
    assert_non_null(f);
    assert_int_equal(f->hello->channel, HILO_CHANNEL_WHATSAPP);
    assert_string_equal(f->hello->instance, "whatsapp-test");
    assert_string_equal(f->hello->software, "test_link");
    assert_int_equal(f->hello->max_outbound, 7);
    hilo_frame_free(&f);
    int ups = ev.ups;
    peer_welcome(&fx->peer, 100);
    wait_for(&ev.ups, ups + 1, 2000);
    assert_true(hilo_link_is_up(fx->link));
    assert_string_equal(hilo_link_router_instance(fx->link), "router-test");
}

static uint64_t submit(fx_t *fx, const char *pmid) {
    hilo_envelope_t e = HILO_ENVELOPE_INIT;
    e.provider_message_id = (char *)pmid;
    e.from = "+16505551234";
    e.to = "15550001111";
    e.text = "hola";
    uint64_t seq = 0;
    assert_int_equal(hilo_link_submit(fx->link, &e, 0, false, on_done, NULL, &seq), HILO_OK);
    assert_true(seq > 0);
    return seq;
}

static void test_dead_letter(void **state) {
    fx_t *fx = *state;
    /* too large for the router's max_payload (known at the Welcome): kept, not sent */
    char *big = malloc(70000);
    memset(big, 'x', 69999);
    big[69999] = '\0';
    hilo_envelope_t e = HILO_ENVELOPE_INIT;
    e.provider_message_id = "wamid.big";
    e.from = "+16505551234";
    e.text = big;
    uint64_t seq = 0;
    assert_int_equal(hilo_link_submit(fx->link, &e, 0, false, on_done, NULL, &seq), HILO_OK);
    free(big);
    handshake(fx);
    wait_for(&ev.done_calls, 1, 2000);
    assert_int_equal(ev.done_result, HILO_LINK_DEAD_LETTER);
    assert_string_equal(ev.done_reason, "TOO_LARGE: larger than the router's max_payload");
    /* a final Nack: kept too */
    uint64_t s = submit(fx, "wamid.bad");
    hilo_frame_t *f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 2000);
    assert_non_null(f);
    assert_string_equal(f->envelope->provider_message_id, "wamid.bad"); /* the big one never went */
    hilo_frame_free(&f);
    peer_nack(&fx->peer, s, HILO_NACK_INVALID, false, "missing from");
    wait_for(&ev.done_calls, 2, 2000);
    assert_int_equal(ev.done_result, HILO_LINK_DEAD_LETTER);
    assert_string_equal(ev.done_reason, "INVALID: missing from");
    FILE *in = fopen(dead_path, "r");
    assert_non_null(in);
    char *line = malloc(200000);
    assert_non_null(fgets(line, 200000, in));
    assert_non_null(strstr(line, "\"code\":\"TOO_LARGE\""));
    assert_non_null(strstr(line, "\"provider_message_id\":\"wamid.big\""));
    assert_true(strlen(line) > 4 * 70000 / 3); /* the whole envelope, in base64 */
    assert_non_null(fgets(line, 200000, in));
    assert_non_null(strstr(line, "\"code\":\"INVALID\",\"reason\":\"missing from\""));
    assert_null(fgets(line, 200000, in));
    fclose(in);
    free(line);
    hilo_link_stats_t st;
    hilo_link_stats(fx->link, &st);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.dead_letters, 2);
    assert_int_equal(st.dead_letter_failures, 0);

    /* The disk takes only part of the next record (RLIMIT_FSIZE stands in for a full disk):
     * refused, not kept, and the partial line taken back so the file stays whole. */
    struct stat before;
    assert_int_equal(stat(dead_path, &before), 0);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)before.st_size + 40; /* a record is longer than 40 bytes */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    s = submit(fx, "wamid.full");
    f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 2000);
    assert_non_null(f);
    hilo_frame_free(&f);
    peer_nack(&fx->peer, s, HILO_NACK_INVALID, false, "missing from");
    wait_for(&ev.done_calls, 3, 2000);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(ev.done_result, HILO_LINK_REFUSED);
    struct stat after;
    assert_int_equal(stat(dead_path, &after), 0);
    assert_int_equal(after.st_size, before.st_size);
    hilo_link_stats(fx->link, &st);
    assert_int_equal(st.dead_letters, 2);
    assert_int_equal(st.dead_letter_failures, 1);
}

/* A new dead-letter file is 0600; one an older install left 0644 is 0600 after the open. */
static void test_dead_letter_modes(void **state) {
    (void)state;
    char path[128], err[256];
    struct stat st;
    snprintf(path, sizeof path, "/tmp/hilo-linktest-modes-%d.jsonl", (int)getpid());
    unlink(path);
    mode_t old = umask(022);
    hilo_dead_letter_t *d = hilo_dead_letter_open(path, "sms-test", err, sizeof err);
    assert_non_null(d);
    hilo_dead_letter_close(&d);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(chmod(path, 0644), 0);
    d = hilo_dead_letter_open(path, "sms-test", err, sizeof err);
    assert_non_null(d);
    hilo_dead_letter_close(&d);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    umask(old);
    unlink(path);
}

static int setup_dead_letter(void **state) {
    snprintf(dead_path, sizeof dead_path, "/tmp/hilo-linktest-%d.jsonl", (int)getpid());
    unlink(dead_path);
    char err[256];
    dead_letter = hilo_dead_letter_open(dead_path, "whatsapp-test", err, sizeof err);
    assert_non_null(dead_letter);
    return setup(state);
}

static int teardown_dead_letter(void **state) {
    int rc = teardown(state);
    hilo_dead_letter_close(&dead_letter);
    assert_null(dead_letter);
    unlink(dead_path);
    return rc;
}

static void test_hello_ack(void **state) {
    fx_t *fx = *state;
    handshake(fx);
    uint64_t s1 = submit(fx, "wamid.1"), s2 = submit(fx, "wamid.2");
    assert_int_equal(s2, s1 + 1);
    hilo_frame_t *f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 2000);
    assert_non_null(f);
    assert_int_equal(f->envelope->seq, s1);
    assert_int_equal(f->envelope->channel, HILO_CHANNEL_WHATSAPP); /* filled in from Hello */
    assert_string_equal(f->envelope->provider_message_id, "wamid.1");
    hilo_frame_free(&f);
    f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 2000);
    assert_int_equal(f->envelope->seq, s2);
    hilo_frame_free(&f);
    /* acks matched by seq, in any order; an unknown seq is ignored */
    peer_ack(&fx->peer, s2, true);
    wait_for(&ev.done_calls, 1, 2000);
    assert_int_equal(ev.done_seq, s2);
    assert_int_equal(ev.done_result, HILO_LINK_DUPLICATE);
    peer_ack(&fx->peer, 424242, false);
    peer_ack(&fx->peer, s1, false);
    wait_for(&ev.done_calls, 2, 2000);
    assert_int_equal(ev.done_seq, s1);
    assert_int_equal(ev.done_result, HILO_LINK_ACKED);
    hilo_link_stats_t st;
    hilo_link_stats(fx->link, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.acked, 1);
    assert_int_equal(st.duplicates, 1);
    /* the link keeps heartbeating */
    f = peer_expect(&fx->peer, HILO_FRAME_HEARTBEAT, 1000);
    assert_non_null(f);
    hilo_frame_free(&f);
}

static void test_outbound(void **state) {
    fx_t *fx = *state;
    handshake(fx);
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = "ob-1";
    ob.channel = HILO_CHANNEL_WHATSAPP;
    ob.to = "+16505551234";
    ob.text = "Hola, ¿cómo podemos ayudar?";
    ob.reply_to_seq = 77;
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_OUTBOUND;
    f.outbound = &ob;
    peer_send(&fx->peer, &f);
    wait_for(&ev.outbounds, 1, 2000);
    assert_string_equal(ev.ob_id, "ob-1");
    assert_int_equal(ev.ob_reply_to, 77);
    /* several at once: all delivered (drained while ZMQ_EVENTS says POLLIN) */
    for (int i = 0; i < 50; i++) peer_send(&fx->peer, &f);
    wait_for(&ev.outbounds, 51, 2000);
}

static void test_resend_after_ack_timeout(void **state) {
    fx_t *fx = *state;
    handshake(fx);
    uint64_t s = submit(fx, "wamid.r");
    hilo_frame_t *f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 2000);
    assert_int_equal(f->envelope->seq, s);
    hilo_frame_free(&f);
    int64_t t0 = hilo_mono_us();
    /* not acked: the same envelope again after ack_timeout_ms (300) */
    for (;;) {
        f = peer_recv_any(&fx->peer, 2000);
        assert_non_null(f);
        if (f->body_case == HILO_FRAME_HEARTBEAT) {
            peer_heartbeat(&fx->peer);
            hilo_frame_free(&f);
            continue;
        }
        break;
    }
    assert_int_equal(f->body_case, HILO_FRAME_ENVELOPE);
    assert_int_equal(f->envelope->seq, s);
    hilo_frame_free(&f);
    int64_t waited_ms = (hilo_mono_us() - t0) / 1000;
    assert_in_range(waited_ms, 200, 1500);
    peer_ack(&fx->peer, s, false);
    wait_for(&ev.done_calls, 1, 2000);
    assert_int_equal(ev.done_result, HILO_LINK_ACKED);
    hilo_link_stats_t st;
    hilo_link_stats(fx->link, &st);
    assert_true(st.resent >= 1);
}

static void test_router_silent_then_back(void **state) {
    fx_t *fx = *state;
    handshake(fx);
    /* the router dies: its socket closes, nothing answers */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "%s", fx->peer.endpoint);
    peer_close(&fx->peer);
    uint64_t s = submit(fx, "wamid.s"); /* kept while the router is away */
    wait_for(&ev.downs, 1, 3000);      /* 3 silent heartbeats (3 x 100 ms) → down */
    assert_false(hilo_link_is_up(fx->link));
    hilo_link_stats_t st;
    hilo_link_stats(fx->link, &st);
    assert_int_equal(st.pending, 1);
    /* a new router on the same port: the link reconnects, says Hello again, re-sends */
    peer_bind(&fx->peer, endpoint);
    hilo_frame_t *f = peer_expect(&fx->peer, HILO_FRAME_HELLO, 5000);
    assert_non_null(f);
    hilo_frame_free(&f);
    peer_welcome(&fx->peer, 100);
    wait_for(&ev.ups, 2, 2000);
    f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 2000);
    assert_non_null(f);
    assert_int_equal(f->envelope->seq, s);
    hilo_frame_free(&f);
    peer_ack(&fx->peer, s, false);
    wait_for(&ev.done_calls, 1, 2000);
    assert_int_equal(ev.done_result, HILO_LINK_ACKED);
}

static void test_hello_required(void **state) {
    fx_t *fx = *state;
    handshake(fx);
    uint64_t s = submit(fx, "wamid.h");
    hilo_frame_t *f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 2000);
    hilo_frame_free(&f);
    peer_nack(&fx->peer, s, HILO_NACK_HELLO_REQUIRED, true, "unknown peer");
    f = peer_expect(&fx->peer, HILO_FRAME_HELLO, 2000);
    assert_non_null(f);
    hilo_frame_free(&f);
    assert_int_equal(ev.done_calls, 0);
    peer_welcome(&fx->peer, 100);
    f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 2000); /* re-sent after the Welcome */
    assert_non_null(f);
    assert_int_equal(f->envelope->seq, s);
    hilo_frame_free(&f);
    peer_ack(&fx->peer, s, false);
    wait_for(&ev.done_calls, 1, 2000);
    assert_int_equal(ev.done_result, HILO_LINK_ACKED);
}

static void test_nacks(void **state) {
    fx_t *fx = *state;
    handshake(fx);
    uint64_t s = submit(fx, "wamid.n");
    hilo_frame_t *f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 2000);
    hilo_frame_free(&f);
    /* retryable: sent again after the backoff (50..200 ms), not completed */
    peer_nack(&fx->peer, s, HILO_NACK_UNAVAILABLE, true, "redis down");
    f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 2000);
    assert_non_null(f);
    assert_int_equal(f->envelope->seq, s);
    hilo_frame_free(&f);
    assert_int_equal(ev.done_calls, 0);
    /* final: completed REFUSED with code and reason */
    peer_nack(&fx->peer, s, HILO_NACK_INVALID, false, "missing from");
    wait_for(&ev.done_calls, 1, 2000);
    assert_int_equal(ev.done_result, HILO_LINK_REFUSED);
    assert_string_equal(ev.done_reason, "INVALID: missing from");
    hilo_link_stats_t st;
    hilo_link_stats(fx->link, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.nacks_retryable, 1);
}

static void test_bound_and_expiry(void **state) {
    fx_t *fx = *state;
    /* no router session: everything stays pending */
    hilo_envelope_t e = HILO_ENVELOPE_INIT;
    e.provider_message_id = "x";
    uint64_t seq;
    for (int i = 0; i < 4; i++) assert_int_equal(hilo_link_submit(fx->link, &e, 200, false, on_done, NULL, &seq), HILO_OK);
    assert_int_equal(hilo_link_submit(fx->link, &e, 0, false, on_done, NULL, &seq), HILO_AGAIN);
    /* must-deliver envelopes (delivery reports) pass the bound */
    assert_int_equal(hilo_link_submit(fx->link, &e, 0, true, on_done, NULL, &seq), HILO_OK);
    wait_for(&ev.done_calls, 4, 2000); /* the four with a 200 ms ttl expire */
    assert_int_equal(ev.done_result, HILO_LINK_EXPIRED);
    assert_int_equal(hilo_link_submit(fx->link, &e, 0, false, on_done, NULL, &seq), HILO_OK);
    /* destroy: what is left completes ABANDONED inside the call */
    hilo_link_destroy(&fx->link);
    assert_int_equal(ev.done_calls, 6);
    assert_int_equal(ev.done_result, HILO_LINK_ABANDONED);
}

static int setup_window(void **state) {
    window = 2;
    int rc = setup(state);
    window = 0;
    return rc;
}

static void test_inflight_window(void **state) {
    fx_t *fx = *state;
    handshake(fx);
    uint64_t s1 = submit(fx, "w1");
    submit(fx, "w2");
    submit(fx, "w3");
    hilo_frame_t *f;
    int got = 0;
    while ((f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 150))) {
        got++;
        hilo_frame_free(&f);
    }
    assert_int_equal(got, 2); /* the third waits for room in the window */
    peer_ack(&fx->peer, s1, false);
    f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 1000);
    assert_non_null(f);
    assert_int_equal(f->envelope->seq, s1 + 2);
    hilo_frame_free(&f);
}

static void test_hello_required_burst(void **state) {
    fx_t *fx = *state;
    handshake(fx);
    uint64_t s1 = submit(fx, "b1"), s2 = submit(fx, "b2"), s3 = submit(fx, "b3");
    for (int i = 0; i < 3; i++) {
        hilo_frame_t *f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 1000);
        hilo_frame_free(&f);
    }
    /* the router restarted: every envelope in flight comes back HELLO_REQUIRED; one Hello */
    peer_nack(&fx->peer, s1, HILO_NACK_HELLO_REQUIRED, true, "");
    peer_nack(&fx->peer, s2, HILO_NACK_HELLO_REQUIRED, true, "");
    peer_nack(&fx->peer, s3, HILO_NACK_HELLO_REQUIRED, true, "");
    int hellos = 0;
    hilo_frame_t *f;
    while ((f = peer_recv_any(&fx->peer, 60))) { /* well within one heartbeat interval (100 ms) */
        if (f->body_case == HILO_FRAME_HELLO) hellos++;
        hilo_frame_free(&f);
    }
    assert_int_equal(hellos, 1);
    peer_welcome(&fx->peer, 100);
    int resent = 0;
    while ((f = peer_expect(&fx->peer, HILO_FRAME_ENVELOPE, 300))) {
        resent++;
        peer_ack(&fx->peer, f->envelope->seq, false);
        hilo_frame_free(&f);
    }
    assert_int_equal(resent, 3);
    wait_for(&ev.done_calls, 3, 1000);
}

static void test_hello_refused(void **state) {
    fx_t *fx = *state;
    hilo_frame_t *f = peer_expect(&fx->peer, HILO_FRAME_HELLO, 3000);
    assert_non_null(f);
    hilo_frame_free(&f);
    peer_nack(&fx->peer, 0, HILO_NACK_UNKNOWN_CHANNEL, false, "no such channel");
    /* no new Hello for a few seconds (not every 100 ms interval) */
    f = peer_expect(&fx->peer, HILO_FRAME_HELLO, 1000);
    assert_null(f);
}

int main(void) {
    hilo_log_set_level(HILO_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resend_after_ack_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_silent_then_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter, setup_dead_letter, teardown_dead_letter),
        cmocka_unit_test(test_dead_letter_modes),
        cmocka_unit_test_setup_teardown(test_bound_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inflight_window, setup_window, teardown),
        cmocka_unit_test_setup_teardown(test_hello_required_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
