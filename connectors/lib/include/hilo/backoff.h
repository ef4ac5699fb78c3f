/* backoff.h — the retry schedule shared by the link (retryable Nacks) and the provider sender
 * (429, 5xx, network errors): exponential from min_ms, capped at max_ms, with "equal jitter"
 * (a random point in the upper half) so that many connectors retrying at once spread out.
 * Pure: the caller passes the random number, so tests can pin the schedule. */
#ifndef HILO_BACKOFF_H
#define HILO_BACKOFF_H

#include <stdint.h>

typedef struct {
    int64_t min_ms;  /* first delay (before jitter), e.g. 1000 */
    int64_t max_ms;  /* cap, e.g. 30000 */
} hilo_backoff_t;

/* The delay before retry number `attempt` (1 = the first retry): base = min_ms * 2^(attempt-1)
 * capped at max_ms, then base/2 + rnd % (base/2 + 1). Always in [base/2, base]. */
int64_t hilo_backoff_delay(const hilo_backoff_t *b, unsigned attempt, uint32_t rnd);
/* The same without jitter (the upper bound). */
int64_t hilo_backoff_base(const hilo_backoff_t *b, unsigned attempt);
/* A random number for the jitter (not for secrets). */
uint32_t hilo_backoff_random(void);

#endif
