/* link_client.h — the connector's side of the router link (docs/protocol.md): a ZeroMQ DEALER
 * on the caller's libuv loop. Sends Hello and heartbeats, keeps every submitted envelope until
 * the router acks or refuses it (re-sending after the ack timeout, after retryable Nacks with
 * backoff, and after every new Welcome), and hands the router's Outbound frames to the caller.
 * Used by the connector runtime (connector.c) and by any C connector. Owns its socket, its
 * ZeroMQ context and its uv handles; the envelopes it keeps are private copies. */
#ifndef HILO_LINK_CLIENT_H
#define HILO_LINK_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "hilo/dead_letter.h"
#include "hilo/frame.h"

typedef struct hilo_link hilo_link_t;

/* How an envelope ended. */
typedef enum {
    HILO_LINK_ACKED = 0,   /* durably committed by the router */
    HILO_LINK_DUPLICATE,   /* the router had it already (ack with duplicate = true): also durable */
    HILO_LINK_REFUSED,     /* non-retryable Nack (reason given), or too large for the router */
    HILO_LINK_DEAD_LETTER, /* refused like that, and a copy is safe in the dead-letter file */
    HILO_LINK_EXPIRED,     /* not acked within its time to live */
    HILO_LINK_ABANDONED,   /* the link was destroyed first */
} hilo_link_result_t;

/* Per-envelope completion. `reason` ("INVALID: missing from", "") is valid during the call. */
typedef void(hilo_link_done_fn)(void *arg, uint64_t seq, hilo_link_result_t result, const char *reason);
/* An Outbound from the router; `ob` is valid only during the call. */
typedef void(hilo_link_outbound_fn)(void *arg, const hilo_outbound_t *ob);
/* The session went up (Welcome received) or down (router silent for 3 heartbeats). */
typedef void(hilo_link_state_fn)(void *arg, bool up);

typedef struct {
    const char *endpoint;        /* "tcp://127.0.0.1:5555" */
    int channel;                 /* HILO_CHANNEL_* */
    const char *instance;        /* "whatsapp-1" */
    const char *software;        /* "hilo-whatsapp 0.1.0" */
    uint32_t max_outbound;       /* announced in Hello (0 = router default) */
    int ack_timeout_ms;          /* re-send an unacked envelope after this (default 5000: more
                                  * than the router's Redis timeout, docs/protocol.md §5.3) */
    size_t max_inflight;         /* envelopes sent and unanswered at once; the rest wait in order
                                  * (default 256) */
    int heartbeat_ms;            /* until a Welcome says otherwise (default 1000) */
    size_t max_pending;          /* envelopes kept at once; submit() says HILO_AGAIN past it (default 10000) */
    int retry_min_ms;            /* backoff after a retryable Nack (default 200) */
    int retry_max_ms;            /* (default 5000) */
    hilo_dead_letter_t *dead_letter; /* may be NULL: where refused envelopes are kept (not owned) */
    const char *curve_server_key; /* the router's CURVE public key (Z85): the link authenticates
                                   * both ways (docs/protocol.md §2); NULL or "" = plain link */
    const char *curve_secret_key; /* this connector's CURVE secret key (Z85), with server key */
    const char *senders;         /* our addresses this connector sends from, separated by commas or
                                  * spaces (protocol 1.3, Hello.senders: the router sends it only
                                  * messages from them, or with no sender); NULL or "" = any. At most
                                  * 256, each 1-63 bytes, else hilo_link_new() fails */
    hilo_link_outbound_fn *on_outbound;
    hilo_link_state_fn *on_state;  /* may be NULL */
    void *arg;                   /* for on_outbound / on_state */
} hilo_link_options_t;

/* Counters for /metrics. */
typedef struct {
    uint64_t submitted, acked, duplicates, refused, expired, nacks_retryable, resent;
    uint64_t outbound_received, welcomes, link_downs;
    uint64_t dead_letters;       /* refused envelopes kept in the dead-letter file (also in refused) */
    uint64_t dead_letter_failures; /* refused envelopes the dead-letter file could not take */
    size_t pending;              /* envelopes kept now */
    bool up;                     /* session open */
} hilo_link_stats_t;

/* Creates the socket and connects (ZeroMQ connects in the background; Hello goes at once).
 * NULL with a reason in err on failure. */
hilo_link_t *hilo_link_new(uv_loop_t *loop, const hilo_link_options_t *opts, char *err, size_t errlen);
/* Checks an options' `senders` list as hilo_link_new() will (for a config reader's FILE:LINE
 * error). HILO_OK, or HILO_ERR with why in err. */
int hilo_link_senders_check(const char *list, char *err, size_t errlen);

/* Stops everything: every kept envelope completes ABANDONED (callbacks run inside this call),
 * then the uv handles close and the object frees itself once they have (run the loop to let
 * it). No callback after this returns. Accepts NULL; nulls the caller's pointer. */
void hilo_link_destroy(hilo_link_t **self_p);

/* Submits a copy of `env` (its seq is ignored: the link assigns one and returns it in *seq).
 * No callback runs inside this call: `done` for this envelope comes from a later loop turn, so
 * the caller can file *seq first.
 * ttl_ms: complete EXPIRED when not acked within it (0 = keep until acked). must: accept even
 * when max_pending is reached (delivery reports: they are bounded by the outbound flow).
 * Returns HILO_OK, or HILO_AGAIN when the pending queue is full (nothing kept, no callback).
 * `done` may be NULL. */
int hilo_link_submit(hilo_link_t *self, const hilo_envelope_t *env, int64_t ttl_ms, bool must,
                     hilo_link_done_fn *done, void *done_arg, uint64_t *seq);

bool hilo_link_is_up(const hilo_link_t *self);
void hilo_link_stats(const hilo_link_t *self, hilo_link_stats_t *out);
/* The router instance named in the last Welcome, "" before one. */
const char *hilo_link_router_instance(const hilo_link_t *self);

#endif
