/* mix64.h — splitmix64's finalizer (Steele, Lea & Flood 2014): a fixed 64-bit hash in which every
 * input bit moves every output bit. The one copy for whoever needs a stable, well-spread hash of
 * a number: the strategy library's variant shares, the optimizer's seeding and holdout. */
#ifndef HILO_MIX64_H
#define HILO_MIX64_H

#include <stdint.h>

static inline uint64_t hilo_mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

#endif
