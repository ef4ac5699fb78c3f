/* adapter_provider.h — the bridge between the provider modules (connectors/providers, pure) and
 * the connector runtime's adapter interface (adapter.h). Included only by the adapter_*.c files,
 * which link both; neither side depends on the other otherwise. */
#ifndef HILO_ADAPTER_PROVIDER_H
#define HILO_ADAPTER_PROVIDER_H

#include <stdio.h>
#include <string.h>

#include "hilo/adapter.h"
#include "hilo/provider.h"
#include "hilo/twilio.h"

/* A provider module's reading of a send answer, as the runtime wants it. */
static inline void hilo_send_result_from_provider(const hilo_provider_result_t *r, hilo_send_result_t *res) {
    memset(res, 0, sizeof *res);
    res->ok = r->outcome == HILO_PROVIDER_SENT;
    res->retryable = r->outcome == HILO_PROVIDER_RETRY;
    snprintf(res->provider_message_id, sizeof res->provider_message_id, "%s", r->provider_message_id);
    snprintf(res->error_code, sizeof res->error_code, "%s", r->error_code);
    snprintf(res->error_message, sizeof res->error_message, "%s", r->error_message);
}

/* parse_send_result of the Twilio adapters: SMS and voice read the same REST answer. */
static inline int hilo_twilio_adapter_parse_send_result(hilo_adapter_t *self, int http_status, const char *body,
                                                        size_t len, hilo_send_result_t *res) {
    (void)self;
    hilo_provider_result_t r;
    hilo_twilio_parse_send_result(http_status, body, len, &r);
    hilo_send_result_from_provider(&r, res);
    return HILO_OK;
}

#endif
