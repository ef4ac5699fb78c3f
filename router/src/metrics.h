/* metrics.h — the router's counters and latency histograms, rendered as Prometheus text on
 * GET /metrics. Plain data: the modules that observe an event bump the field directly; the
 * gauges (connectors, Redis up, in flight) are read from their owners at render time. */
#ifndef HILO_METRICS_H
#define HILO_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "hilo/buf.h"
#include "hilo/compliance.h"
#include "hilo/frame.h"

#define HILO_HIST_BUCKETS 14 /* 50us .. 1s, then +Inf */

typedef struct {
    uint64_t buckets[HILO_HIST_BUCKETS + 1]; /* counts per upper bound (not cumulative) */
    uint64_t count;                          /* observations */
    double sum_s;                            /* their sum, seconds */
} hilo_histogram_t;

typedef struct {
    uint64_t envelopes[HILO_CHANNEL_MAX];        /* envelopes received, by channel */
    uint64_t stored[HILO_CHANNEL_MAX];           /* new history items committed, by channel */
    uint64_t dedupes[HILO_CHANNEL_MAX];          /* duplicates recognised, by channel */
    uint64_t acks;                               /* acks for new items */
    uint64_t acks_duplicate;                     /* acks with duplicate = true */
    uint64_t nacks[16];                          /* nacks by Nack.Code */
    uint64_t outbound_sent[HILO_CHANNEL_MAX];    /* Outbound frames sent to connectors */
    uint64_t outbound_committed[HILO_CHANNEL_MAX]; /* outbound messages committed by this router */
    uint64_t delivery[HILO_CHANNEL_MAX][HILO_DELIVERY_STATES]; /* delivery reports by channel and state */
    uint64_t outbound_cancelled[HILO_CHANNEL_MAX]; /* refused by the gate at hand-off, or given up */
    uint64_t outbound_waiting[HILO_CHANNEL_MAX];   /* held for their next allowed window */
    uint64_t outbound_paced[HILO_CHANNEL_MAX];     /* waited for a slot of their sender's rate */
    uint64_t outbound_returned[HILO_CHANNEL_MAX];  /* given back by a connector (not handed off) */
    uint64_t outbound_unknown[HILO_CHANNEL_MAX];   /* at-most-once messages settled as unknown (maybe sent) */
    uint64_t delivery_unmatched;                 /* reports naming no known outbound */
    uint64_t strategy_sends;                     /* strategy steps committed by this router */
    uint64_t strategy_looks;                     /* debtors' strategy places decided by this router */
    uint64_t link_auth_refused;                  /* link handshakes the ZAP handler refused */
    uint64_t redis_reconnects;                   /* successful (re)connections after the first */
    uint64_t redis_timeouts;                     /* times Redis was declared silent */
    uint64_t identity_hits;                      /* envelopes whose address was in the identity cache */
    uint64_t identity_misses;                    /* ... looked up in Redis while the cache was live */
    uint64_t identity_invalidated;               /* addresses Redis said changed */
    uint64_t identity_drops;                     /* whole-cache drops (subscription lost, FLUSHALL) */
    uint64_t reloads_ok, reloads_failed;         /* SIGHUP reloads of the flow and rule packs */
    uint64_t turns_applied;                      /* engine turns whose effects this router applied */
    uint64_t turns_already_applied;              /* turns found applied already (by a router) */
    uint64_t turns_deferred;                     /* turns left pending for a sweep after the retries */
    uint64_t turns_dropped;                      /* pending records that could not be read: removed */
    uint64_t turn_retries;                       /* turn attempts retried (Redis error, NOSCRIPT, rev) */
    uint64_t turns_resumed;                      /* pending turns a sweep of this router took up */
    hilo_histogram_t redis_latency;              /* one command's round trip */
    hilo_histogram_t commit_latency;             /* envelope received -> ack sent */
} hilo_metrics_t;

/* The floor's figures, read from Redis by the console every [console] floor_metrics_s
 * (router/src/console/floor_gauges.c): the same on every router, since they come from Redis. */
#define HILO_FLOOR_QUEUE_MAX 64 /* a queue's name (a skill), longer ones are not exported */
typedef struct {
    char queue[HILO_FLOOR_QUEUE_MAX + 1];
    long waiting;                     /* conversations in the queue */
    double oldest_wait_s;             /* the longest a queued conversation has waited */
    long free[HILO_CHANNEL_MAX];      /* agents with the skill, available, with a free slot */
    long sla_met, sla_breached;       /* first responses today (business day) */
    long sla_breaching;               /* awaiting a first reply past the target now */
    long res_met, res_breached;       /* resolutions (escalation -> close) today */
    long calls_waiting;               /* callers on the line among the queue's first 200 */
} hilo_floor_queue_t;

enum { HILO_AGENT_AVAILABLE = 0, HILO_AGENT_AWAY, HILO_AGENT_OFFLINE, HILO_AGENT_DISABLED, HILO_AGENT_STATES };

typedef struct {
    int64_t sampled_ms;               /* when the last complete read ended (wall clock) */
    hilo_floor_queue_t *queues;
    size_t nqueues;
    long agents[HILO_AGENT_STATES];   /* accounts of role agent, by state */
    long calls_in_progress;           /* callers put through to an agent, call still live */
} hilo_floor_gauges_t;

typedef struct {
    int connectors[HILO_CHANNEL_MAX]; /* link peers with a Hello, by channel */
    bool redis_up;                    /* connected and scripts loaded */
    long inflight;                    /* envelopes being committed */
    bool identity_cache_live;         /* the identity cache is in use */
    size_t identity_cache_entries;
    uint64_t identity_cache_evicted;  /* counter: entries dropped to make room */
    bool clock_known;                 /* a clock reading exists (clock_check.c) */
    double clock_offset_ms;           /* Redis's clock minus this router's */
    const hilo_compliance_t *gate;    /* the rule packs in use (engine's, else console's); NULL = none */
    const hilo_floor_gauges_t *floor; /* NULL until the first complete read (or when it is off) */
} hilo_metrics_gauges_t;

void hilo_histogram_observe(hilo_histogram_t *h, double seconds);
extern const char *const hilo_agent_state_names[HILO_AGENT_STATES];

void hilo_metrics_render(const hilo_metrics_t *m, const hilo_metrics_gauges_t *g, hilo_buf_t *out);

#endif
