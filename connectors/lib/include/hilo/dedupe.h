/* dedupe.h — the outbound dedupe set: the router re-sends an Outbound it has not seen settled
 * (lease expiry, connector restart, lost DeliveryReport), so the connector must never call the
 * provider twice for one outbound_id. Remembers the ids in progress (never evicted) and the
 * last `capacity` finished ones with their outcome, so a re-sent Outbound gets its
 * DeliveryReport again instead of a second send. Owned by the connector; pure (no I/O). */
#ifndef HILO_DEDUPE_H
#define HILO_DEDUPE_H

#include <stddef.h>

typedef struct hilo_dedupe hilo_dedupe_t;

typedef enum {
    HILO_DEDUPE_NEW = 0,     /* never seen: now recorded as in progress, go ahead */
    HILO_DEDUPE_IN_PROGRESS, /* being sent right now: its report will come, ignore this copy */
    HILO_DEDUPE_DONE,        /* finished: re-send the stored report */
} hilo_dedupe_status_t;

/* The outcome remembered for a finished outbound. Strings are owned by the set; valid until
 * the next call that changes the set. */
typedef struct {
    int state;                       /* HILO_DELIVERY_SENT or HILO_DELIVERY_FAILED */
    const char *provider_message_id; /* "" when none */
    const char *error_code;          /* "" when none */
    const char *error_message;       /* "" when none */
} hilo_dedupe_outcome_t;

/* capacity: finished ids remembered (oldest forgotten first), at least 1. */
hilo_dedupe_t *hilo_dedupe_new(size_t capacity);
void hilo_dedupe_destroy(hilo_dedupe_t **self_p);

/* Looks `id` up; NEW records it as in progress. For DONE, *outcome (may be NULL) is filled. */
hilo_dedupe_status_t hilo_dedupe_begin(hilo_dedupe_t *self, const char *id, hilo_dedupe_outcome_t *outcome);
/* Marks an id finished with its outcome (NULL strings = ""). An unknown id is added finished. */
void hilo_dedupe_finish(hilo_dedupe_t *self, const char *id, const hilo_dedupe_outcome_t *outcome);
/* Forgets an in-progress id (its send was abandoned, e.g. at shutdown): a later copy is NEW. */
void hilo_dedupe_forget(hilo_dedupe_t *self, const char *id);

size_t hilo_dedupe_in_progress(const hilo_dedupe_t *self);
size_t hilo_dedupe_finished(const hilo_dedupe_t *self);

#endif
