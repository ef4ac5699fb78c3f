/* token_bucket.c — token bucket rate limiter. */
#include "hilo/token_bucket.h"

#include <math.h>

void hilo_token_bucket_init(hilo_token_bucket_t *tb, double rate, double burst, int64_t now_ms) {
    tb->rate = rate;
    tb->burst = burst < 1 ? 1 : burst;
    tb->tokens = tb->burst;
    tb->last_ms = now_ms;
}

static void refill(hilo_token_bucket_t *tb, int64_t now_ms) {
    if (now_ms > tb->last_ms) {
        tb->tokens += (double)(now_ms - tb->last_ms) * tb->rate / 1000.0;
        if (tb->tokens > tb->burst) tb->tokens = tb->burst;
        tb->last_ms = now_ms;
    }
}

int64_t hilo_token_bucket_peek(hilo_token_bucket_t *tb, int64_t now_ms) {
    if (tb->rate <= 0) return 0;
    refill(tb, now_ms);
    if (tb->tokens >= 1.0) return 0;
    int64_t wait = (int64_t)ceil((1.0 - tb->tokens) * 1000.0 / tb->rate);
    return wait > 0 ? wait : 1;
}

int64_t hilo_token_bucket_take(hilo_token_bucket_t *tb, int64_t now_ms) {
    if (tb->rate <= 0) return 0;
    refill(tb, now_ms);
    if (tb->tokens >= 1.0) {
        tb->tokens -= 1.0;
        return 0;
    }
    int64_t wait = (int64_t)ceil((1.0 - tb->tokens) * 1000.0 / tb->rate);
    return wait > 0 ? wait : 1;
}
