/* u64map.h — a small hash map from uint64_t keys to pointers (chained, power-of-two buckets).
 * Private to the connector library: the link's envelopes by seq, the deferred webhooks by id
 * and by seq. The map never owns the values. */
#ifndef HILO_U64MAP_H
#define HILO_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hilo_u64map hilo_u64map_t;

hilo_u64map_t *hilo_u64map_new(void);
void hilo_u64map_destroy(hilo_u64map_t **self_p);

/* Sets key → value (replaces an existing value). */
void hilo_u64map_put(hilo_u64map_t *self, uint64_t key, void *value);
/* NULL when absent. */
void *hilo_u64map_get(const hilo_u64map_t *self, uint64_t key);
/* Removes key; returns its value or NULL. */
void *hilo_u64map_del(hilo_u64map_t *self, uint64_t key);
size_t hilo_u64map_size(const hilo_u64map_t *self);
/* Calls fn for every entry (order unspecified). fn must not change the map. */
void hilo_u64map_each(const hilo_u64map_t *self, void (*fn)(uint64_t key, void *value, void *arg),
                      void *arg);

#endif
