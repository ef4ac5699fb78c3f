/* turn_spool.h — the connector runtime's use of the durable spool (hilo/spool.h) for voice turns
 * answered with the fallback before the router acked them: it knows which turn envelopes are
 * still unacked, spools one when its webhook is about to be answered anyway, submits spooled
 * records to the link again (at start, when the link comes back, and now and then while some are
 * not in flight) and removes each once the router has it. Private to connector.c; owns its maps,
 * not the spool or the link. */
#ifndef HILO_TURN_SPOOL_H
#define HILO_TURN_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo/link_client.h"
#include "hilo/spool.h"

typedef struct hilo_turn_spool hilo_turn_spool_t;

/* `spool` and `link` are borrowed and must outlive it; channel is set on replayed envelopes;
 * ttl_ms is their time to live in the link (EXPIRED ones are submitted again later). */
hilo_turn_spool_t *hilo_turn_spool_new(hilo_spool_t *spool, hilo_link_t *link, int channel, int64_t ttl_ms);
void hilo_turn_spool_destroy(hilo_turn_spool_t **self_p);

/* A turn envelope (seq) was submitted: it is unacked until turn_spool_done. */
void hilo_turn_spool_track(hilo_turn_spool_t *self, uint64_t seq);
/* The link finished envelope seq (any envelope: unknown seqs are ignored). */
void hilo_turn_spool_done(hilo_turn_spool_t *self, uint64_t seq, hilo_link_result_t result);
/* The turn's webhook is about to be answered without the router's ack: writes the packed envelope
 * to the spool (synced) unless it is acked already. seq 0: it never reached the link (queue
 * full). Returns true when the event is durable (acked or spooled); false when the spool refused
 * it (full, disk error: logged, counted). Call it before answering. */
bool hilo_turn_spool_keep(hilo_turn_spool_t *self, uint64_t seq, const uint8_t *env, size_t len);
/* Reads the spool and submits every record not in flight, oldest first (expired and bad records
 * are dropped by the spool, logged). Returns the number submitted. */
size_t hilo_turn_spool_replay(hilo_turn_spool_t *self, int64_t wall_ms);
/* Records held that are not in flight (replay() has work to do). */
size_t hilo_turn_spool_idle(const hilo_turn_spool_t *self);

#endif
