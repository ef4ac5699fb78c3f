/* dead_letter.h — the connector's dead-letter file: what the router refused for good (a final
 * Nack, or an envelope larger than the router accepts), kept so that the webhook can be answered
 * 2xx without losing it (docs/protocol.md §6). One JSON object per line, appended and synced
 * before the caller is told it is kept; the format is in docs/connectors.md ("Dead letters").
 * The file is opened for each record, so an operator may rotate it (rename) at any time. */
#ifndef HILO_DEAD_LETTER_H
#define HILO_DEAD_LETTER_H

#include <stddef.h>

#include "hilo/frame.h"

typedef struct hilo_dead_letter hilo_dead_letter_t;

/* Checks that `path` can be opened for appending (creating it, mode 0600; an existing file that
 * group or others may access is set to 0600, with a warning) and returns the store; NULL with
 * the reason in err when it cannot. `connector` names this instance in every record
 * ("whatsapp-1"). */
hilo_dead_letter_t *hilo_dead_letter_open(const char *path, const char *connector, char *err, size_t errlen);
void hilo_dead_letter_close(hilo_dead_letter_t **self_p);

/* Appends one record for the refused envelope (as it was sent, its seq included; `code`: the
 * Nack code name; `reason`: the router's words) and syncs it to disk. HILO_OK once it is
 * durable; HILO_ERR (logged with errno) when it is not, and nothing may then be answered as
 * kept. */
int hilo_dead_letter_write(hilo_dead_letter_t *self, const hilo_envelope_t *env, const char *code, const char *reason);

#endif
