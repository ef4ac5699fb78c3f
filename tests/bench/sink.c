/* sink.c — hilo-sink: one fake connector (protocol 1.1, supports_expiry) that takes every
 * Outbound the router hands it and reports it SENT at once, as a provider that never fails
 * would. Measures how fast a router hands gated outbound messages to connectors
 * (tests/bench/outbound.py). Stops after --messages outbounds (and their acks) or --timeout;
 * prints one JSON line; exit status 0 when every outbound was received and reported. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "hilo/common.h"
#include "hilo/frame.h"

typedef struct {
    void *sock;
    int channel;
    uint64_t want, got, dup, acked, nacked, seq, expired;
    int64_t first_us, last_us, last_ack_us;
    uint32_t min_expiry, max_expiry;
    char **seen;        /* outbound ids received (duplicates are counted, never reported twice) */
    size_t nseen;
} sink_t;

static void send_frame(sink_t *s, hilo_frame_t *f) {
    size_t len;
    uint8_t *buf = hilo_frame_pack(f, &len);
    while (zmq_send(s->sock, buf, len, 0) < 0 && errno == EINTR) {
    }
    free(buf);
}

static void hello(sink_t *s) {
    hilo_hello_t h = HILO_HELLO_INIT;
    h.channel = s->channel;
    h.instance = "bench-sink";
    h.software = "hilo-sink";
    h.supports_expiry = true;
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_HELLO;
    f.hello = &h;
    send_frame(s, &f);
}

static void heartbeat(sink_t *s) {
    hilo_heartbeat_t hb = HILO_HEARTBEAT_INIT;
    hb.sent_ms = hilo_now_ms();
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_HEARTBEAT;
    f.heartbeat = &hb;
    send_frame(s, &f);
}

static void report_sent(sink_t *s, const hilo_outbound_t *o) {
    char pmid[160], env_id[200];
    snprintf(pmid, sizeof pmid, "SINK-%s", o->outbound_id);
    snprintf(env_id, sizeof env_id, "dr:%s:sent", pmid);
    hilo_delivery_t d = HILO_DELIVERY_INIT;
    d.outbound_id = o->outbound_id;
    d.debtor_id = o->debtor_id;
    d.provider_message_id = pmid;
    d.state = HILO_DELIVERY_SENT;
    hilo_envelope_t e = HILO_ENVELOPE_INIT;
    e.seq = ++s->seq;
    e.channel = s->channel;
    e.provider_message_id = env_id;
    e.from = o->to;
    e.sent_at_ms = hilo_now_ms();
    e.delivery = &d;
    hilo_frame_t f = HILO_FRAME_INIT;
    f.body_case = HILO_FRAME_ENVELOPE;
    f.envelope = &e;
    send_frame(s, &f);
}

static void handle(sink_t *s, const uint8_t *buf, size_t len) {
    hilo_frame_t *f = hilo_frame_unpack(buf, len);
    if (!f) return;
    int64_t now = (int64_t)hilo_mono_us();
    if (f->body_case == HILO_FRAME_OUTBOUND) {
        const hilo_outbound_t *o = f->outbound;
        if (o->attempt > 1) s->dup++;
        if (!s->got) s->first_us = now;
        s->got++;
        s->last_us = now;
        if (o->expires_in_ms == 0) s->expired++; /* no expiry: the router took us for 1.0 */
        if (!s->min_expiry || o->expires_in_ms < s->min_expiry) s->min_expiry = o->expires_in_ms;
        if (o->expires_in_ms > s->max_expiry) s->max_expiry = o->expires_in_ms;
        report_sent(s, o);
    } else if (f->body_case == HILO_FRAME_ACK) {
        s->acked++;
        s->last_ack_us = now;
    } else if (f->body_case == HILO_FRAME_NACK) {
        s->nacked++;
    }
    hilo_frame_free(&f);
}

int main(int argc, char **argv) {
    const char *endpoint = NULL;
    sink_t s = {.channel = HILO_CHANNEL_SMS};
    long timeout_s = 120;
    static const struct option opts[] = {{"endpoint", required_argument, 0, 'e'},
                                         {"messages", required_argument, 0, 'm'},
                                         {"channel", required_argument, 0, 'c'},
                                         {"timeout", required_argument, 0, 't'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'e': endpoint = optarg; break;
        case 'm': s.want = strtoull(optarg, NULL, 10); break;
        case 'c': s.channel = hilo_channel_parse(optarg); break;
        case 't': timeout_s = strtol(optarg, NULL, 10); break;
        default: return 64;
        }
    }
    if (!endpoint || !s.want || s.channel == HILO_CHANNEL_UNSPECIFIED) {
        fprintf(stderr, "usage: hilo-sink --endpoint tcp://... --messages N [--channel sms] [--timeout S]\n");
        return 64;
    }
    void *ctx = zmq_ctx_new();
    s.sock = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, big = 1000000;
    zmq_setsockopt(s.sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s.sock, ZMQ_SNDHWM, &big, sizeof big);
    zmq_setsockopt(s.sock, ZMQ_RCVHWM, &big, sizeof big);
    if (zmq_connect(s.sock, endpoint) != 0) {
        fprintf(stderr, "hilo-sink: connect %s: %s\n", endpoint, zmq_strerror(errno));
        return 1;
    }
    hello(&s);
    int64_t start = (int64_t)hilo_mono_us(), last_hb = start, deadline = start + timeout_s * 1000000;
    uint8_t *buf = malloc(1 << 20);
    while ((s.got < s.want || s.acked < s.got) && (int64_t)hilo_mono_us() < deadline) {
        zmq_pollitem_t it = {s.sock, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 100);
        for (;;) {
            int n = zmq_recv(s.sock, buf, 1 << 20, ZMQ_DONTWAIT);
            if (n < 0) break;
            handle(&s, buf, (size_t)n);
        }
        int64_t now = (int64_t)hilo_mono_us();
        if (now - last_hb > 500000) {
            heartbeat(&s);
            last_hb = now;
        }
    }
    free(buf);
    double secs = s.got > 1 ? (double)(s.last_us - s.first_us) / 1e6 : 0;
    double settled_secs = s.got ? (double)(s.last_ack_us - s.first_us) / 1e6 : 0;
    printf("{\"outbounds\":%llu,\"reattempts\":%llu,\"acked\":%llu,\"nacked\":%llu,\"without_expiry\":%llu,"
           "\"seconds\":%.3f,\"per_s\":%.0f,\"settled_seconds\":%.3f,\"expiry_ms_min\":%u,\"expiry_ms_max\":%u}\n",
           (unsigned long long)s.got, (unsigned long long)s.dup, (unsigned long long)s.acked,
           (unsigned long long)s.nacked, (unsigned long long)s.expired, secs, secs > 0 ? (double)s.got / secs : 0,
           settled_secs, s.min_expiry, s.max_expiry);
    zmq_close(s.sock);
    zmq_ctx_term(ctx);
    return s.got >= s.want && s.acked >= s.got ? 0 : 1;
}
