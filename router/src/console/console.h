/* console.h — the agent and supervisor console: accounts and sessions (auth.c), routing of
 * queued conversations to agents (routing.c with route_offer.lua and agent_ops.lua), the JSON
 * protocol on /ws (console.c, views.c; docs/console-protocol.md) and the supervisor's live
 * floor (supervisor.c). All state lives in Redis; a router only holds its sockets. Owned by
 * router.c, which creates it after the HTTP server and destroys it after the store. */
#ifndef HILO_CONSOLE_H
#define HILO_CONSOLE_H

#include <stddef.h>

#include "hilo/compliance.h"
#include "http.h"
#include "router_ctx.h"

typedef struct hilo_console hilo_console_t;

/* Adds /api/login, /ws and the static assets to `http` and starts the routing timer.
 * NULL with the reason in err when the console is misconfigured. */
hilo_console_t *hilo_console_new(hilo_router_ctx_t *ctx, hilo_http_t *http, char *err, size_t errlen);
/* Stops the timer (the loop closes it). Call after the store is destroyed: pending Redis
 * replies still reach the console while the store fails them. */
/* Closes the console's own Redis connection (the event read); called with the router's
 * store, before the loop is run down. */
void hilo_console_stop(hilo_console_t *self);
void hilo_console_destroy(hilo_console_t **self_p);
/* Reads the compliance rule packs again (SIGHUP) for the agents' replies. 0, or -1 with the
 * reason in err and the old packs still in use. */
int hilo_console_reload_gate(hilo_console_t *self, char *err, size_t errlen);
/* The console's gate (NULL when its rule packs failed to load). */
const hilo_compliance_t *hilo_console_gate(const hilo_console_t *self);
/* The floor's figures for /metrics as last read (floor_gauges.c); NULL before the first
 * complete read, or when [console] floor_metrics_s is 0. */
const hilo_floor_gauges_t *hilo_console_floor_gauges(const hilo_console_t *self);

/* Debtors whose message was just stored in a conversation an agent had closed
 * (commit_inbound.lua's status 2, router/src/inbound.c): reopen.lua puts each back in its
 * queue when the close is within [console] reopen_window_s. */
void hilo_console_closed_written(hilo_console_t *self, const char **debtors, int n);
/* Called once with HILO_OK when the step is settled, HILO_AGAIN when Redis did not settle it
 * (try again), HILO_ERR when the router is closing. */
typedef void (*hilo_console_done_fn)(void *arg, int rc);
/* The agent's phone did not answer the caller it was connected to (calls.c, call event
 * AGENT_NO_ANSWER of call `call_id`, engine turn `turn`): the conversation is queued again,
 * without that agent (agent_ops.lua op call_unanswered), once per turn. */
void hilo_console_call_unanswered(hilo_console_t *self, const char *debtor, const char *call_id, const char *turn,
                                  hilo_console_done_fn done, void *arg);
/* A connect order (`order`, sent at order_ms, router/src/calls.c) for call `call_id` failed with
 * the provider's `code`: the call over, the conversation leaves the agent (no capacity held for
 * a call that is not there); the call still live, the caller is queued again. Said in the thread
 * (agent_ops.lua op call_connect_failed). done as for call_unanswered. */
void hilo_console_call_connect_failed(hilo_console_t *self, const char *debtor, const char *call_id, const char *order,
                                      int64_t order_ms, const char *code, hilo_console_done_fn done, void *arg);

#endif
