/* history_item.h — the history item JSON of an inbound message (docs/architecture.md,
 * "History item JSON"), appended to a buffer. The router's commit (router/src/inbound.c) and
 * hilo-replay (tests/bench/item.c) both write it here, so the replayed commit carries the
 * router's bytes. */
#ifndef HILO_HISTORY_ITEM_H
#define HILO_HISTORY_ITEM_H

#include <stdint.h>

#include "hilo/buf.h"
#include "hilo/frame.h"

/* from: the debtor's address as the router normalized it; recv_ms: the commit's time. */
void hilo_history_item_inbound(hilo_buf_t *out, const hilo_envelope_t *e, const char *from, int64_t recv_ms);

#endif
