/* gen.h — the benchmark's workload: message number i -> (debtor, channel, sender address,
 * provider message id, text), derived from a seed alone so that hilo-loadgen (through the
 * router) and hilo-replay (straight to Redis) produce byte-for-byte the same messages.
 * Also the debtor portfolio both preload. Pure: no I/O; the caller owns every buffer. */
#ifndef HILO_BENCH_GEN_H
#define HILO_BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_PHONE_MAX 24 /* "+1555" + 7 digits, with room */
#define BENCH_ID_MAX 80    /* provider message ids and debtor ids */
#define BENCH_TEXT_MAX 256 /* texts are 60..200 bytes */

/* How message i chooses its debtor. */
typedef enum {
    BENCH_ASSIGN_RANDOM = 0, /* uniform over the debtors (load runs) */
    BENCH_ASSIGN_ROUND_ROBIN /* i % debtors (memory runs: every debtor gets the same count) */
} bench_assign_t;

typedef struct {
    uint64_t seed;       /* same seed, same messages */
    uint32_t debtors;    /* K: debtor ids 0..K-1 */
    uint32_t tag;        /* run tag, part of every provider id (unique across runs) */
    uint32_t unknown_pm; /* per mille of messages from an address that is not imported */
    uint32_t wa_weight;  /* channel mix: whatsapp : sms */
    uint32_t sms_weight;
    bench_assign_t assign;
} bench_gen_t;

typedef struct {
    uint32_t debtor;                /* index 0..K-1 (for unknown senders: the index of the number) */
    int known;                      /* 1 when the address is imported */
    int channel;                    /* HILO_CHANNEL_WHATSAPP or HILO_CHANNEL_SMS */
    char from[BENCH_PHONE_MAX];     /* as the provider spells it (wa_id without '+', SMS with) */
    char e164[BENCH_PHONE_MAX];     /* normalized: what the router looks up */
    const char *to;                 /* our business address on that channel */
    char pmid[BENCH_ID_MAX];        /* provider message id, unique per (tag, i) */
    char text[BENCH_TEXT_MAX];      /* 60..200 bytes of UTF-8 */
    size_t text_len;
} bench_msg_t;

void bench_gen_defaults(bench_gen_t *g);
/* Fills *m for message number i (0-based). */
void bench_gen_message(const bench_gen_t *g, uint64_t i, bench_msg_t *m);

/* The imported debtor number d: id "D0000042", phone "+15550000042". Unknown senders use
 * "+15559xxxxxx" numbers that are never imported. */
void bench_debtor_id(uint32_t d, char *buf, size_t n);
void bench_debtor_phone(uint32_t d, char *buf, size_t n);

/* Percentile (0..100) of a sorted array; 0 when empty. */
int64_t bench_percentile(const int64_t *sorted, size_t n, double p);
/* Sorts samples in place and writes {"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"mean":..}
 * (microseconds) into buf. */
void bench_latency_json(int64_t *samples, size_t n, char *buf, size_t len);

#endif
