/* item.h — the history item JSON the router writes for an inbound text message
 * (docs/architecture.md, "History item JSON"), built the same way for hilo-replay so that
 * the replayed EVALSHA carries the same bytes. Returns a malloc'd string (free it). */
#ifndef HILO_BENCH_ITEM_H
#define HILO_BENCH_ITEM_H

#include <stdint.h>

#include "gen.h"

char *bench_item_json(const bench_msg_t *m, int64_t sent_ms, int64_t recv_ms);

#endif
