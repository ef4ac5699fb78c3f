/* link_server.h — the router's end of the connector link (docs/protocol.md): one ZeroMQ
 * ROUTER socket on the libuv loop, the table of connector peers (Hello/Welcome, heartbeats,
 * liveness), and frame checks (size, decoding, version, UTF-8, channel). Envelopes that pass
 * go to the on_envelope handler; everything else is answered here with a Nack.
 * Owned by the router (router.c); hands each accepted frame's ownership to the handler. */
#ifndef HILO_LINK_SERVER_H
#define HILO_LINK_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "hilo/frame.h"
#include "metrics.h"
#include "rconfig.h"

typedef struct hilo_link_server hilo_link_server_t;

/* A connector peer's ZeroMQ routing id, copied by value so a reply can be addressed after
 * asynchronous work even if the peer has gone meanwhile (the send then fails quietly). */
typedef struct {
    uint8_t id[32];
    uint8_t len;
} hilo_peer_ref_t;

typedef struct {
    /* An envelope from a peer that said Hello, with the peer's channel checked. `frame` is
     * the handler's to free (hilo_frame_free); recv_us is the monotonic receive time. */
    void (*on_envelope)(const hilo_peer_ref_t *peer, hilo_frame_t *frame, int64_t recv_us, void *arg);
    /* The set of peers of `channel` changed (joined or lost). */
    void (*on_peers_changed)(int channel, void *arg);
    void *arg;
} hilo_link_handlers_t;

/* Binds cfg->link_bind. NULL on failure (reason logged). */
hilo_link_server_t *hilo_link_server_new(uv_loop_t *loop, void *zmq_ctx, const hilo_router_config_t *cfg,
                                         hilo_metrics_t *metrics, const hilo_link_handlers_t *handlers);
void hilo_link_server_destroy(hilo_link_server_t **self_p);

void hilo_link_server_send_ack(hilo_link_server_t *self, const hilo_peer_ref_t *peer, uint64_t seq, bool duplicate,
                               const char *debtor_id);
void hilo_link_server_send_nack(hilo_link_server_t *self, const hilo_peer_ref_t *peer, uint64_t seq, int code,
                                const char *reason);
/* HILO_OK when handed to ZeroMQ. */
int hilo_link_server_send_outbound(hilo_link_server_t *self, const hilo_peer_ref_t *peer, hilo_outbound_t *ob);

/* What a peer's Hello said it supports. */
typedef struct {
    bool expiry;              /* supports_expiry (protocol 1.1) */
    bool at_most_once;        /* supports_at_most_once (protocol 1.2) */
} hilo_peer_caps_t;

#define HILO_LINK_SENDERS_MAX 256 /* senders one Hello may announce (protocol 1.3) */
#define HILO_LINK_SENDER_MAX 64   /* bytes of one sender address */

/* Next live peer of `channel` (round robin) whose Hello frame said minor >= min_minor (0: any;
 * 4 for a click-to-call, protocol 1.4); with need_expiry, only a peer whose Hello said
 * supports_expiry (protocol 1.1); with prefer_amo, a peer that honours at_most_once (1.2) when
 * one is connected, else any other that qualifies. `from` (NULL or "": none) is the address the
 * message goes out from (protocol 1.3): when a connected peer of the channel announced it in its
 * Hello, only such a peer; else only a peer that announced no senders (it serves any) — a
 * message from a sender whose connector is away waits for it rather than going out from another
 * number. *caps (may be NULL) says what the chosen one supports. HILO_AGAIN when there is none. */
int hilo_link_server_pick(hilo_link_server_t *self, int channel, bool need_expiry, bool prefer_amo,
                          const char *from, unsigned min_minor, hilo_peer_ref_t *out, hilo_peer_caps_t *caps);
/* Next live peer of `channel` whose Hello frame said protocol minor >= min_minor (round robin):
 * the one way to a feature that has no Hello flag, such as the call orders of 1.4 (a connector
 * that speaks 1.3 or less never gets one). HILO_AGAIN when there is none. */
int hilo_link_server_pick_minor(hilo_link_server_t *self, int channel, unsigned min_minor, hilo_peer_ref_t *out);
/* Whether a connected peer of `channel` announced senders: only then does the dispatcher look
 * for the sender of a message (hilo_link_server_pick's `from`). */
bool hilo_link_server_has_senders(const hilo_link_server_t *self, int channel);
/* The name its key has in link_keys (the peer's group: every instance of one connector), ""
 * for an unknown peer or with link_auth = none. Valid until the next call into the server. */
const char *hilo_link_server_peer_group(const hilo_link_server_t *self, const hilo_peer_ref_t *ref);
/* Whether the link authenticates its peers (link_auth = curve). */
bool hilo_link_server_auth(const hilo_link_server_t *self);
int hilo_link_server_peer_count(const hilo_link_server_t *self, int channel);

/* Backpressure: stop / resume reading the socket. */
void hilo_link_server_pause(hilo_link_server_t *self);
void hilo_link_server_resume(hilo_link_server_t *self);

#endif
