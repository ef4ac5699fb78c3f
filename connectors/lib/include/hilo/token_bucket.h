/* token_bucket.h — send-rate limiting per sender number (WhatsApp Cloud API: 80 messages/s per
 * business number by default). The provider sender takes one token per API call and waits the
 * returned time when there is none. Pure: the caller passes the clock. */
#ifndef HILO_TOKEN_BUCKET_H
#define HILO_TOKEN_BUCKET_H

#include <stdint.h>

typedef struct {
    double rate;     /* tokens per second; <= 0 = unlimited */
    double burst;    /* bucket size (at least 1) */
    double tokens;   /* available now */
    int64_t last_ms; /* when tokens was computed */
} hilo_token_bucket_t;

/* Starts full. */
void hilo_token_bucket_init(hilo_token_bucket_t *tb, double rate, double burst, int64_t now_ms);
/* Takes one token: returns 0 when taken, else the milliseconds until one is available (nothing
 * taken). */
int64_t hilo_token_bucket_take(hilo_token_bucket_t *tb, int64_t now_ms);
/* What take() would answer, without taking a token: 0 = one is there, else ms to wait. */
int64_t hilo_token_bucket_peek(hilo_token_bucket_t *tb, int64_t now_ms);

#endif
