/* pending.h — deferred-response bookkeeping: which webhook requests wait for which envelopes'
 * acks (and, for voice turns, for the router's reply), and until when. The connector opens one
 * entry per webhook answered later; link completions, replies and the clock resolve it, and the
 * `ready` callback says how (then the entry is gone). Pure: no I/O, the caller passes the time.
 * The `user` pointer is the caller's (e.g. the HTTP connection id); never owned here. */
#ifndef HILO_PENDING_H
#define HILO_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hilo_pending hilo_pending_t;

typedef enum {
    HILO_PENDING_ACKED = 1,   /* every envelope acked (duplicates count) */
    HILO_PENDING_REPLIED,     /* the router's reply to the wants_reply envelope arrived */
    HILO_PENDING_UNAVAILABLE, /* an envelope could not be delivered (queue full, expired, stopping) */
    HILO_PENDING_REFUSED,     /* the router refused an envelope for good */
    HILO_PENDING_TIMEOUT,     /* the deadline passed first */
    HILO_PENDING_KEPT,        /* every envelope acked, or refused for good but kept in the dead-letter
                               * file (at least one): nothing is lost, the provider may stop */
} hilo_pending_outcome_t;

/* Called once per entry. `reply` is what hilo_pending_reply() was given (REPLIED only), valid only
 * during the call. The entry is already removed: the callback may call any function here. */
typedef void(hilo_pending_ready_fn)(void *arg, uint64_t id, void *user, hilo_pending_outcome_t outcome,
                                    const void *reply);

hilo_pending_t *hilo_pending_new(hilo_pending_ready_fn *ready, void *arg);
/* Drops every entry without callbacks. */
void hilo_pending_destroy(hilo_pending_t **self_p);

/* A new entry (ids start at 1). wants_reply: once acked, wait for a reply (voice turn). */
uint64_t hilo_pending_open(hilo_pending_t *self, void *user, int64_t deadline_ms, bool wants_reply);
/* Registers an envelope the entry waits for; is_reply_seq marks the one whose seq the router's
 * reply will name. */
void hilo_pending_expect(hilo_pending_t *self, uint64_t id, uint64_t seq, bool is_reply_seq);
/* Every envelope is registered: from now on the entry may resolve (at once when nothing is
 * left to wait for). Until armed, acks are counted but never resolve it. */
void hilo_pending_arm(hilo_pending_t *self, uint64_t id);
/* An envelope's fate: ACKED, KEPT (refused but in the dead-letter file: counts as acked, and the
 * entry then resolves KEPT; a kept reply seq resolves it at once, no reply will come),
 * UNAVAILABLE or REFUSED. Unknown seqs are ignored. */
void hilo_pending_envelope_done(hilo_pending_t *self, uint64_t seq, hilo_pending_outcome_t outcome);
/* The router answered envelope `reply_to_seq`. true when an entry was waiting (it resolves
 * REPLIED, before the ack if need be: a reply means the router has the envelope). */
bool hilo_pending_reply(hilo_pending_t *self, uint64_t reply_to_seq, const void *reply);
/* Resolves an entry now with `outcome` (e.g. UNAVAILABLE when a submit failed). */
void hilo_pending_fail(hilo_pending_t *self, uint64_t id, hilo_pending_outcome_t outcome);
/* Forgets an entry without a callback (its HTTP client went away). */
void hilo_pending_cancel(hilo_pending_t *self, uint64_t id);
/* Resolves TIMEOUT every entry whose deadline is <= now. */
void hilo_pending_expire(hilo_pending_t *self, int64_t now_ms);
/* Resolves every entry with `outcome` (shutdown). */
void hilo_pending_fail_all(hilo_pending_t *self, hilo_pending_outcome_t outcome);
size_t hilo_pending_count(const hilo_pending_t *self);

#endif
