/* identity_cache.h — the router's copy of the address -> debtor keys (hilo:addr:*), kept
 * true to Redis by Redis's own invalidation messages, so that most envelopes skip the
 * identity lookup and reach Redis once (their commit) instead of twice.
 *
 * How it stays true (docs/architecture.md, "Identity cache"):
 *   - Its own Redis connection asks for broadcast tracking of the prefix hilo:addr:
 *     (CLIENT TRACKING on REDIRECT <itself> BCAST PREFIX hilo:addr:) and subscribes to
 *     __redis__:invalidate. Redis then names every changed hilo:addr: key (or says "flush
 *     everything") after any write to it, by whoever.
 *   - Entries are used and added only while that subscription is live. When it is lost —
 *     or the router's main Redis connection is — the whole cache is dropped and not used
 *     again until the subscription is back.
 *   - A lookup's answer is added only if no invalidation (and no loss) came between the
 *     lookup being sent and its answer (hilo_identity_cache_epoch): an answer that might
 *     predate a change is used for its own envelopes, never kept.
 * So a change to an address is seen by every envelope the router takes after the change's
 * invalidation reached it; Redis sends that invalidation before it answers the writer. */
#ifndef HILO_IDENTITY_CACHE_H
#define HILO_IDENTITY_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "metrics.h"
#include "rconfig.h"

typedef struct hilo_identity_cache hilo_identity_cache_t;

/* NULL when [identity] cache_max = 0 (every envelope looks its address up). */
hilo_identity_cache_t *hilo_identity_cache_new(uv_loop_t *loop, const hilo_router_config_t *cfg,
                                               hilo_metrics_t *metrics);
/* Connects; reconnects by itself from then on. */
void hilo_identity_cache_start(hilo_identity_cache_t *self);
void hilo_identity_cache_destroy(hilo_identity_cache_t **self_p);

/* true when addr's answer is cached: *debtor is the debtor id, or NULL for an address of no
 * debtor. Valid until the next return to the loop. Counts a hit or a miss. */
bool hilo_identity_cache_get(hilo_identity_cache_t *self, const char *addr, const char **debtor);
/* true when addr has an entry (a debtor or none), without counting a lookup: every entry's
 * address is a canonical number (inbound.c puts only those), which the inbound path uses to skip
 * parsing a sender it has seen (inbound.c, "The identity cache in front of the library"). */
bool hilo_identity_cache_has(const hilo_identity_cache_t *self, const char *addr);
/* Taken when a lookup is sent; 0 = not caching now. */
uint64_t hilo_identity_cache_epoch(const hilo_identity_cache_t *self);
/* A lookup's answer (debtor NULL = no debtor): kept only if `epoch` (from when the lookup
 * was sent) is still the current one. */
void hilo_identity_cache_put(hilo_identity_cache_t *self, uint64_t epoch, const char *addr, const char *debtor);
/* The router's main Redis connection became ready or stopped being ready. Not ready: the
 * cache is dropped and its connection made again (it may be to a Redis that is gone). */
void hilo_identity_cache_store_state(hilo_identity_cache_t *self, bool ready);

/* For /metrics. */
typedef struct {
    bool live;             /* subscribed: the cache is in use */
    size_t entries;
    size_t evicted;        /* entries dropped to make room (counter) */
} hilo_identity_cache_gauges_t;
void hilo_identity_cache_gauges(const hilo_identity_cache_t *self, hilo_identity_cache_gauges_t *g);

#endif
