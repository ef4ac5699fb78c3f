/* metrics.h — the connector's /metrics page (Prometheus text format 0.0.4): webhook answers
 * counted by result label and status, plus the link, sender and HTTP server counters read at
 * render time. Used by connector.c. Owns its label table and the rendered text buffer. */
#ifndef HILO_METRICS_H
#define HILO_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "hilo/link_client.h"
#include "hilo/sender.h"
#include "hilo/spool.h"
#include "hilo/webhook_server.h"

typedef struct hilo_metrics hilo_metrics_t;

hilo_metrics_t *hilo_metrics_new(const char *channel, const char *instance);
void hilo_metrics_destroy(hilo_metrics_t **self_p);

/* One webhook answered: `why` is the adapter's label ("ok", "bad_signature", ...; only
 * [a-z0-9_] is kept), status the HTTP status sent. */
void hilo_metrics_webhook(hilo_metrics_t *self, const char *why, int status);
/* The spool's counters for the next render (a connector without a spool never calls it: no
 * spool metrics). */
void hilo_metrics_set_spool(hilo_metrics_t *self, const hilo_spool_stats_t *spool);
/* Renders everything; the text is valid until the next call or destroy. Any stats pointer may
 * be NULL (not running). */
const char *hilo_metrics_render(hilo_metrics_t *self, const hilo_link_stats_t *link, const hilo_sender_stats_t *sender,
                                const hilo_webhook_server_stats_t *http, size_t webhooks_waiting, size_t *len);

#endif
