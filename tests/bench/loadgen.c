/* loadgen.c — hilo-loadgen: N fake connectors pushing the generated messages (gen.h) through
 * the router and timing send -> Ack for every envelope.
 *
 * Two modes:
 *   closed loop (--messages M --window W): keeps W envelopes unacked across all connectors,
 *     sends the next one as an ack comes back; gives the maximum sustained rate.
 *   open loop (--rate R --duration S): envelope i is due at t0 + i/R whatever the acks do;
 *     latency is also reported from the due time, so a stall in the router is not hidden by
 *     the generator waiting for it (no coordinated omission).
 *
 * Two transports (--transport):
 *   zmq   libzmq DEALER sockets, as the connectors have; libzmq adds its I/O thread.
 *   zmtp  the same link spoken by this thread on plain TCP sockets (zmtp.h): no I/O thread, so
 *         the load generator costs less on the core it shares with the router.
 * One thread, no ZeroMQ poller: the sockets' ZMQ_FD (or TCP sockets) are waited on with
 * ppoll(), which takes a nanosecond timeout (zmq_poll's is milliseconds — too coarse to pace
 * 30,000 messages/s). ZMQ_FD is edge-triggered, so after every send every socket is drained
 * until EAGAIN before waiting again. Prints one JSON line; exit status 0 when every envelope
 * was acked. */
#define _GNU_SOURCE /* ppoll(): nanosecond waits */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <zmq.h>

#include "gen.h"
#include "hilo/common.h"
#include "hilo/frame.h"
#include "zmtp.h"

#define MAX_CONNECTORS 64

typedef struct {
    void *sock;           /* DEALER (--transport zmq) */
    zmtp_conn_t z;        /* the TCP connection (--transport zmtp) */
    int fd;               /* its ZMQ_FD, or the TCP socket */
    int channel;          /* the channel of its Hello */
    bool welcomed;        /* Welcome received */
    int64_t last_hb_us;   /* last heartbeat sent */
} conn_t;

typedef struct {
    const char *endpoint;
    int connectors;
    uint64_t messages;    /* closed loop: how many */
    uint32_t window;      /* closed loop: in flight */
    double rate;          /* open loop: messages/s (0 = closed loop) */
    double duration;      /* open loop: seconds */
    double warmup;        /* open loop: seconds not counted in the latency figures */
    int64_t tick_us;      /* open loop: sleep at least this long between sends (batches the due ones) */
    int64_t timeout_ms;   /* wait this long for the last acks */
    uint64_t first;       /* number of the first message */
    const char *label;    /* copied into the JSON line */
    const char *timeline; /* --timeline FILE: per 10 ms of send time, messages, worst and >2 ms */
    bool zmtp;            /* --transport zmtp */
    bench_gen_t gen;
} opts_t;

enum { ST_UNSENT = 0, ST_SENT, ST_ACKED, ST_NACKED };

typedef struct {
    opts_t o;
    void *ctx;
    conn_t c[MAX_CONNECTORS];
    int nconn;
    int64_t hb_us;        /* heartbeat interval from Welcome */
    uint64_t total;       /* envelopes to send */
    uint64_t sent, acked, duplicates, nacked, unknown_acks;
    uint64_t inflight;
    uint64_t nack_codes[16];
    uint8_t *state;       /* per message */
    int64_t *sent_us;     /* per message: when it left */
    int64_t t0_us;        /* start of sending (message 0 due) */
    int64_t measure_us;   /* acks for messages due at or after this are in the latency figures */
    int64_t t_last_ack_us;
    int64_t max_lag_us;   /* open loop: worst send time minus due time */
    int64_t *lat_send;    /* measured latencies, send -> ack */
    int64_t *lat_due;     /* due -> ack (open loop) */
    size_t nlat;
    int rr[HILO_CHANNEL_MAX]; /* round robin position per channel */
    size_t nslots;        /* --timeline: 10 ms slots of send time */
    uint32_t *slot_n, *slot_slow;
    int64_t *slot_worst;
} lg_t;

#define SLOT_US 10000
#define SLOW_US 2000

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { stop_flag = sig; }

/* -1 with errno EAGAIN: libzmq would block (zmtp queues instead); a broken connection ends
 * the run. */
static int send_frame(conn_t *c, hilo_frame_t *f) {
    size_t len;
    uint8_t *buf = hilo_frame_pack(f, &len);
    int rc;
    if (c->sock) {
        rc = zmq_send(c->sock, buf, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
    } else if ((rc = zmtp_send(&c->z, buf, len)) < 0) {
        fprintf(stderr, "hilo-loadgen: the link to the router broke\n");
        exit(1);
    }
    free(buf);
    return rc;
}

static void send_hello(conn_t *c, int k) {
    char instance[32];
    snprintf(instance, sizeof instance, "bench-%s-%d", hilo_channel_name(c->channel), k);
    hilo_hello_t h = HILO_HELLO_INIT;
    h.channel = c->channel;
    h.instance = instance;
    h.software = "hilo-loadgen";
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_HELLO;
    f.hello = &h;
    send_frame(c, &f);
}

static void send_heartbeat(conn_t *c) {
    hilo_heartbeat_t hb = HILO_HEARTBEAT_INIT;
    hb.sent_ms = hilo_now_ms();
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_HEARTBEAT;
    f.heartbeat = &hb;
    send_frame(c, &f);
}

/* Picks the next connector of the message's channel. */
static conn_t *conn_for(lg_t *lg, int channel) {
    for (int n = 0; n < lg->nconn; n++) {
        int k = (lg->rr[channel] + n) % lg->nconn;
        if (lg->c[k].channel == channel) {
            lg->rr[channel] = k + 1;
            return &lg->c[k];
        }
    }
    return NULL;
}

/* Sends message number first+idx; false when the socket would block (try again later). */
static bool send_envelope(lg_t *lg, uint64_t idx, int64_t now) {
    bench_msg_t m;
    bench_gen_message(&lg->o.gen, lg->o.first + idx, &m);
    conn_t *c = conn_for(lg, m.channel);
    if (!c) {
        fprintf(stderr, "hilo-loadgen: no connector for channel %s\n", hilo_channel_name(m.channel));
        exit(2);
    }
    hilo_envelope_t e = HILO_ENVELOPE_INIT;
    e.seq = lg->o.first + idx + 1; /* seq 0 means "unknown" in a Nack */
    e.channel = m.channel;
    e.provider_message_id = m.pmid;
    e.from = m.from;
    e.to = (char *)m.to;
    e.sent_at_ms = hilo_now_ms();
    e.text = m.text;
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_ENVELOPE;
    f.envelope = &e;
    if (send_frame(c, &f) < 0) {
        if (errno == EAGAIN) return false;
        fprintf(stderr, "hilo-loadgen: send: %s\n", zmq_strerror(errno));
        exit(1);
    }
    lg->state[idx] = ST_SENT;
    lg->sent_us[idx] = now;
    lg->sent++;
    lg->inflight++;
    return true;
}

static int64_t due_us(const lg_t *lg, uint64_t idx) {
    return lg->t0_us + (int64_t)((double)idx * 1e6 / lg->o.rate);
}

static void settle(lg_t *lg, uint64_t seq, bool ok, int64_t now) {
    if (seq <= lg->o.first || seq - lg->o.first - 1 >= lg->total) {
        lg->unknown_acks++;
        return;
    }
    uint64_t idx = seq - lg->o.first - 1;
    if (lg->state[idx] != ST_SENT) {
        lg->unknown_acks++; /* a second answer for the same envelope */
        return;
    }
    lg->state[idx] = ok ? ST_ACKED : ST_NACKED;
    lg->inflight--;
    if (!ok) return;
    lg->acked++;
    lg->t_last_ack_us = now;
    int64_t due = lg->o.rate > 0 ? due_us(lg, idx) : lg->sent_us[idx];
    if (lg->nslots) {
        size_t slot = (size_t)((lg->sent_us[idx] - lg->t0_us) / SLOT_US);
        if (slot >= lg->nslots) slot = lg->nslots - 1;
        int64_t l = now - lg->sent_us[idx];
        lg->slot_n[slot]++;
        if (l > SLOW_US) lg->slot_slow[slot]++;
        if (l > lg->slot_worst[slot]) lg->slot_worst[slot] = l;
    }
    if (due >= lg->measure_us) {
        lg->lat_send[lg->nlat] = now - lg->sent_us[idx];
        lg->lat_due[lg->nlat] = now - due;
        lg->nlat++;
    }
}

static void handle(lg_t *lg, conn_t *c, const uint8_t *buf, size_t len, int64_t now) {
    hilo_frame_t *f = hilo_frame_unpack(buf, len);
    if (!f) {
        fprintf(stderr, "hilo-loadgen: undecodable frame from the router (%zu bytes)\n", len);
        return;
    }
    switch (f->body_case) {
    case HILO_FRAME_WELCOME:
        c->welcomed = true;
        if (f->welcome->heartbeat_ms) lg->hb_us = (int64_t)f->welcome->heartbeat_ms * 1000;
        break;
    case HILO_FRAME_ACK:
        if (f->ack->duplicate) lg->duplicates++;
        settle(lg, f->ack->seq, true, now);
        break;
    case HILO_FRAME_NACK:
        lg->nack_codes[f->nack->code < 16 ? f->nack->code : 0]++;
        if (lg->nacked++ < 5)
            fprintf(stderr, "hilo-loadgen: nack seq=%llu code=%s reason=%s\n", (unsigned long long)f->nack->seq,
                    hilo_nack_code_name(f->nack->code), f->nack->reason ? f->nack->reason : "");
        if (f->nack->code == HILO_NACK_HELLO_REQUIRED) send_hello(c, (int)(c - lg->c));
        settle(lg, f->nack->seq, false, now);
        break;
    default: /* heartbeats, outbound: nothing to answer in a benchmark */
        break;
    }
    hilo_frame_free(&f);
}

typedef struct {
    lg_t *lg;
    conn_t *c;
} zmtp_ctx_t;

static void on_zmtp_message(void *arg, const uint8_t *data, size_t len) {
    zmtp_ctx_t *zc = arg;
    handle(zc->lg, zc->c, data, len, hilo_mono_us());
}

static void drain(lg_t *lg) {
    for (int k = 0; k < lg->nconn; k++) {
        if (!lg->c[k].sock) {
            zmtp_ctx_t zc = {lg, &lg->c[k]};
            if (zmtp_flush(&lg->c[k].z) < 0 || zmtp_read(&lg->c[k].z, on_zmtp_message, &zc) < 0) {
                fprintf(stderr, "hilo-loadgen: the link to the router broke\n");
                exit(1);
            }
            continue;
        }
        for (;;) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            int rc = zmq_msg_recv(&msg, lg->c[k].sock, ZMQ_DONTWAIT);
            if (rc < 0) {
                zmq_msg_close(&msg);
                if (errno != EAGAIN && errno != EINTR) fprintf(stderr, "hilo-loadgen: recv: %s\n", zmq_strerror(errno));
                break;
            }
            handle(lg, &lg->c[k], zmq_msg_data(&msg), zmq_msg_size(&msg), hilo_mono_us());
            zmq_msg_close(&msg);
        }
    }
}

static void wait_fds(lg_t *lg, int64_t timeout_us) {
    struct pollfd p[MAX_CONNECTORS];
    for (int k = 0; k < lg->nconn; k++) {
        const conn_t *c = &lg->c[k];
        short ev = POLLIN | (!c->sock && zmtp_wants_write(&c->z) ? POLLOUT : 0);
        p[k] = (struct pollfd){.fd = c->fd, .events = ev};
    }
    if (timeout_us < 0) timeout_us = 0;
    struct timespec ts = {.tv_sec = timeout_us / 1000000, .tv_nsec = (timeout_us % 1000000) * 1000};
    ppoll(p, (nfds_t)lg->nconn, &ts, NULL);
}

static void connect_all(lg_t *lg) {
    lg->ctx = lg->o.zmtp ? NULL : zmq_ctx_new();
    int zero = 0, linger = 0;
    for (int k = 0; k < lg->nconn; k++) {
        conn_t *c = &lg->c[k];
        /* Alternate the channels so that both are served whatever N is. */
        c->channel = (k % 2 == 0) ? HILO_CHANNEL_WHATSAPP : HILO_CHANNEL_SMS;
        if (lg->o.gen.sms_weight == 0) c->channel = HILO_CHANNEL_WHATSAPP;
        if (lg->o.gen.wa_weight == 0) c->channel = HILO_CHANNEL_SMS;
        if (lg->o.zmtp) {
            if (zmtp_connect(&c->z, lg->o.endpoint) != 0) exit(1);
            c->fd = c->z.fd;
            send_hello(c, k);
            continue;
        }
        c->sock = zmq_socket(lg->ctx, ZMQ_DEALER);
        /* No high-water mark: the window (or the rate) is the only limit on what is queued. */
        zmq_setsockopt(c->sock, ZMQ_SNDHWM, &zero, sizeof zero);
        zmq_setsockopt(c->sock, ZMQ_RCVHWM, &zero, sizeof zero);
        zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(c->sock, lg->o.endpoint) != 0) {
            fprintf(stderr, "hilo-loadgen: connect %s: %s\n", lg->o.endpoint, zmq_strerror(errno));
            exit(1);
        }
        size_t fl = sizeof c->fd;
        zmq_getsockopt(c->sock, ZMQ_FD, &c->fd, &fl);
        send_hello(c, k);
    }
    int64_t deadline = hilo_mono_us() + 10 * 1000000LL;
    for (;;) {
        drain(lg);
        int ready = 0;
        for (int k = 0; k < lg->nconn; k++) ready += lg->c[k].welcomed;
        if (ready == lg->nconn) break;
        if (hilo_mono_us() > deadline || stop_flag) {
            fprintf(stderr, "hilo-loadgen: no Welcome from %s within 10 s (%d of %d)\n", lg->o.endpoint, ready,
                    lg->nconn);
            exit(1);
        }
        wait_fds(lg, 100000);
    }
}

/* --timeline: one line per 10 ms of send time that had messages: "ms messages worst_us slow". */
static void write_timeline(const lg_t *lg) {
    FILE *f = fopen(lg->o.timeline, "w");
    if (!f) {
        fprintf(stderr, "hilo-loadgen: %s: %s\n", lg->o.timeline, strerror(errno));
        return;
    }
    fprintf(f, "# send_ms messages worst_us over_%dus\n", SLOW_US);
    for (size_t k = 0; k < lg->nslots; k++)
        if (lg->slot_n[k])
            fprintf(f, "%zu %u %lld %u\n", k * (SLOT_US / 1000), lg->slot_n[k], (long long)lg->slot_worst[k],
                    lg->slot_slow[k]);
    fclose(f);
}

static void usage(void) {
    fprintf(stderr,
            "usage: hilo-loadgen [--endpoint E] [--connectors N] [--seed S] [--tag T] [--debtors K]\n"
            "                    [--unknown-pm N] [--whatsapp W --sms S] [--first I] [--timeout-ms T] [--label L]\n"
            "                    [--timeline FILE] [--transport zmq|zmtp]\n"
            "                    (--messages M [--window W] | --rate R --duration S [--warmup S] [--tick-us T])\n");
    exit(2);
}

int main(int argc, char **argv) {
    lg_t lg;
    memset(&lg, 0, sizeof lg);
    opts_t *o = &lg.o;
    *o = (opts_t){.endpoint = "tcp://127.0.0.1:5555", .connectors = 4, .window = 1000, .warmup = 1.0, .tick_us = 0,
                  .timeout_ms = 5000, .label = ""};
    bench_gen_defaults(&o->gen);
    static const struct option lo[] = {
        {"endpoint", 1, 0, 'e'},   {"connectors", 1, 0, 'n'}, {"seed", 1, 0, 's'},    {"tag", 1, 0, 't'},
        {"debtors", 1, 0, 'k'},    {"unknown-pm", 1, 0, 'u'}, {"whatsapp", 1, 0, 'W'}, {"sms", 1, 0, 'S'},
        {"first", 1, 0, 'f'},      {"timeout-ms", 1, 0, 'T'}, {"messages", 1, 0, 'm'}, {"window", 1, 0, 'w'},
        {"rate", 1, 0, 'r'},       {"duration", 1, 0, 'd'},   {"warmup", 1, 0, 'a'},   {"label", 1, 0, 'l'},
        {"round-robin", 0, 0, 'R'}, {"tick-us", 1, 0, 'i'},
        {"timeline", 1, 0, 'L'}, {"transport", 1, 0, 'x'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'e': o->endpoint = optarg; break;
        case 'n': o->connectors = atoi(optarg); break;
        case 's': o->gen.seed = strtoull(optarg, NULL, 10); break;
        case 't': o->gen.tag = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'k': o->gen.debtors = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'u': o->gen.unknown_pm = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'W': o->gen.wa_weight = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'S': o->gen.sms_weight = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'f': o->first = strtoull(optarg, NULL, 10); break;
        case 'T': o->timeout_ms = atoll(optarg); break;
        case 'm': o->messages = strtoull(optarg, NULL, 10); break;
        case 'w': o->window = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'r': o->rate = atof(optarg); break;
        case 'd': o->duration = atof(optarg); break;
        case 'a': o->warmup = atof(optarg); break;
        case 'l': o->label = optarg; break;
        case 'R': o->gen.assign = BENCH_ASSIGN_ROUND_ROBIN; break;
        case 'i': o->tick_us = atoll(optarg); break;
        case 'L': o->timeline = optarg; break;
        case 'x':
            if (strcmp(optarg, "zmq") != 0 && strcmp(optarg, "zmtp") != 0) usage();
            o->zmtp = strcmp(optarg, "zmtp") == 0;
            break;
        default: usage();
        }
    }
    bool open_loop = o->rate > 0;
    if (open_loop ? o->duration <= 0 : (o->messages == 0 || o->window == 0)) usage();
    if (o->connectors < 1 || o->connectors > MAX_CONNECTORS) usage();
    if (o->connectors < 2 && o->gen.wa_weight && o->gen.sms_weight) {
        fprintf(stderr, "hilo-loadgen: two channels need at least two connectors\n");
        return 2;
    }
    lg.nconn = o->connectors;
    lg.total = open_loop ? (uint64_t)(o->rate * o->duration) : o->messages;
    lg.hb_us = 1000000;
    lg.state = hilo_xcalloc(lg.total, 1);
    lg.sent_us = hilo_xcalloc(lg.total, sizeof *lg.sent_us);
    lg.lat_send = hilo_xcalloc(lg.total, sizeof *lg.lat_send);
    lg.lat_due = hilo_xcalloc(lg.total, sizeof *lg.lat_due);
    if (o->timeline) { /* the run's length plus the ack timeout, in 10 ms slots */
        double span = open_loop ? o->duration : 600.0;
        lg.nslots = (size_t)((span + (double)o->timeout_ms / 1000.0) * 1e6 / SLOT_US) + 1;
        lg.slot_n = hilo_xcalloc(lg.nslots, sizeof *lg.slot_n);
        lg.slot_slow = hilo_xcalloc(lg.nslots, sizeof *lg.slot_slow);
        lg.slot_worst = hilo_xcalloc(lg.nslots, sizeof *lg.slot_worst);
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* Default timer slack (50 us) would blur the pacing of a 30 us interval. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    connect_all(&lg);

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    int64_t now = hilo_mono_us();
    lg.t0_us = now;
    lg.measure_us = open_loop ? now + (int64_t)(o->warmup * 1e6) : now;
    for (int k = 0; k < lg.nconn; k++) lg.c[k].last_hb_us = now;
    uint64_t next = 0; /* next message index to send */
    int64_t last_send_us = now;
    while (!stop_flag) {
        now = hilo_mono_us();
        if (open_loop) {
            while (next < lg.total && due_us(&lg, next) <= now) {
                if (!send_envelope(&lg, next, now)) break;
                int64_t lag = now - due_us(&lg, next);
                if (lag > lg.max_lag_us) lg.max_lag_us = lag;
                next++;
                last_send_us = now;
            }
        } else {
            while (next < lg.total && lg.inflight < o->window) {
                if (!send_envelope(&lg, next, now)) break;
                next++;
                last_send_us = now;
            }
        }
        for (int k = 0; k < lg.nconn; k++)
            if (now - lg.c[k].last_hb_us >= lg.hb_us / 2) {
                send_heartbeat(&lg.c[k]);
                lg.c[k].last_hb_us = now;
            }
        drain(&lg);
        if (next == lg.total && lg.inflight == 0) break;
        now = hilo_mono_us();
        if (next == lg.total && now - last_send_us > o->timeout_ms * 1000) break;
        int64_t wait = 100000;
        if (open_loop && next < lg.total) {
            wait = due_us(&lg, next) - now;
            if (wait < o->tick_us) wait = o->tick_us;
        }
        else if (!open_loop && next < lg.total && lg.inflight < o->window) wait = 0;
        wait_fds(&lg, wait);
    }
    getrusage(RUSAGE_SELF, &ru1);
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;

    double secs = (double)(lg.t_last_ack_us - lg.t0_us) / 1e6;
    uint64_t timeouts = lg.inflight;
    char lat_send[256], lat_due[256];
    size_t nlat = lg.nlat;
    bench_latency_json(lg.lat_send, nlat, lat_send, sizeof lat_send);
    bench_latency_json(lg.lat_due, nlat, lat_due, sizeof lat_due);
    printf("{\"tool\":\"hilo-loadgen\",\"label\":\"%s\",\"mode\":\"%s\",\"transport\":\"%s\",\"connectors\":%d,\"debtors\":%u,"
           "\"target_rate\":%.0f,\"window\":%u,\"sent\":%llu,\"acked\":%llu,\"duplicates\":%llu,\"nacked\":%llu,"
           "\"timeouts\":%llu,\"unexpected_replies\":%llu,\"elapsed_s\":%.3f,\"rate\":%.0f,\"max_send_lag_us\":%lld,"
           "\"cpu_s\":%.2f,\"lat_us\":%s,\"lat_from_due_us\":%s}\n",
           o->label, open_loop ? "open" : "closed", o->zmtp ? "zmtp" : "zmq", lg.nconn, o->gen.debtors, o->rate, open_loop ? 0 : o->window,
           (unsigned long long)lg.sent, (unsigned long long)lg.acked, (unsigned long long)lg.duplicates,
           (unsigned long long)lg.nacked, (unsigned long long)timeouts, (unsigned long long)lg.unknown_acks, secs,
           secs > 0 ? (double)lg.acked / secs : 0.0, (long long)lg.max_lag_us, cpu, lat_send, lat_due);
    fflush(stdout);
    if (o->timeline) write_timeline(&lg);
    for (int k = 0; k < lg.nconn; k++) {
        if (lg.c[k].sock)
            zmq_close(lg.c[k].sock);
        else
            zmtp_close(&lg.c[k].z);
    }
    if (lg.ctx) zmq_ctx_term(lg.ctx);
    free(lg.state);
    free(lg.sent_us);
    free(lg.lat_send);
    free(lg.lat_due);
    free(lg.slot_n);
    free(lg.slot_slow);
    free(lg.slot_worst);
    return lg.acked == lg.total ? 0 : 1;
}
