/* router.h — the router daemon as one object: builds the loop and its parts (store, link
 * server, inbound, dispatch, HTTP), runs until SIGTERM/SIGINT, and tears everything down in
 * an order that lets late callbacks find what they need. Called by main.c. */
#ifndef HILO_ROUTER_H
#define HILO_ROUTER_H

#include "rconfig.h"

typedef struct hilo_router hilo_router_t;

/* NULL when a part cannot start (e.g. a port is taken); the reason is logged. */
hilo_router_t *hilo_router_new(const hilo_router_config_t *cfg);
/* Runs the loop until SIGTERM/SIGINT (returns 0), or until the schema gate refuses the data in
 * Redis (returns HILO_ROUTER_EXIT_SCHEMA, schema_gate.h). */
int hilo_router_run(hilo_router_t *self);
void hilo_router_destroy(hilo_router_t **self_p);

#endif
