/* schema_gate.h — the router's check of the schema version of the data in Redis (hilo/schema.h),
 * run by the store on every connection before it reports ready (store.h, the gate): the current
 * version passes; a fresh Redis (no hilo data) is stamped with it; data of an older version
 * (`hilo migrate` first), a newer one or an unreadable key is refused: one error line in the log,
 * then on_refuse (router.c stops the router, exit status HILO_ROUTER_EXIT_SCHEMA). Owned by
 * router.c; destroy it after the store. */
#ifndef HILO_SCHEMA_GATE_H
#define HILO_SCHEMA_GATE_H

#include "store.h"

#define HILO_ROUTER_EXIT_SCHEMA 4 /* hilo-router's exit status after a refusal (hilo-router(8)) */

typedef struct hilo_schema_gate hilo_schema_gate_t;

hilo_schema_gate_t *hilo_schema_gate_new(hilo_store_t *store, const char *instance, void (*on_refuse)(void *arg),
                                         void *arg);
void hilo_schema_gate_destroy(hilo_schema_gate_t **self_p);

#endif
