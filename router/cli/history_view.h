/* history_view.h — how `hilo thread` shows one history item (docs/architecture.md, "History item
 * JSON") on one line: time, channel, direction, kind, then the text or a short description of a
 * button, voice event, media or template, and the delivery state of an outbound item.
 * Pure (no Redis); strings returned are malloc'd, printable, and owned by the caller. */
#ifndef HILO_HISTORY_VIEW_H
#define HILO_HISTORY_VIEW_H

#include <jansson.h>
#include <stdint.h>

/* The content column: "hola", "[button] Pagar hoy (pay_today)", "[voice gather] digits 1", ... */
char *hilo_history_summary(const json_t *item);

/* A delivery status JSON from hilo:{d:ID}:ostat ({"state","error_code","error",...}) as
 * "delivered" or "failed: 131026 Message undeliverable"; a message sent in parts as
 * "failed (part 2 of 2: 30003 Unreachable destination handset)" or "sent (2 parts: 1
 * delivered, 2 sent)". NULL when it cannot be read. */
char *hilo_history_delivery(const char *status_json);

/* The whole line, without the trailing newline:
 * "2026-11-22T10:00:00.123Z  whatsapp  in   text     hola" (+ "  [delivery]" when given).
 * stream_ms is the stream entry id's time; delivery may be NULL. */
char *hilo_history_line(int64_t stream_ms, const json_t *item, const char *delivery);

#endif
