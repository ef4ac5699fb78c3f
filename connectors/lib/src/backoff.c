/* backoff.c — exponential backoff with equal jitter. */
#include "hilo/backoff.h"

#include <stdlib.h>
#include <time.h>

int64_t hilo_backoff_base(const hilo_backoff_t *b, unsigned attempt) {
    int64_t min = b->min_ms > 0 ? b->min_ms : 1, max = b->max_ms > min ? b->max_ms : min;
    int64_t d = min;
    /* Double until the cap; the loop bound keeps huge attempt numbers from overflowing. */
    for (unsigned i = 1; i < attempt && d < max; i++) d *= 2;
    return d < max ? d : max;
}

int64_t hilo_backoff_delay(const hilo_backoff_t *b, unsigned attempt, uint32_t rnd) {
    int64_t base = hilo_backoff_base(b, attempt ? attempt : 1);
    int64_t half = base / 2;
    return half + (int64_t)(rnd % (uint64_t)(base - half + 1));
}

uint32_t hilo_backoff_random(void) {
    static int seeded;
    if (!seeded) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        srandom((unsigned)(ts.tv_nsec ^ ts.tv_sec));
        seeded = 1;
    }
    return (uint32_t)random();
}
