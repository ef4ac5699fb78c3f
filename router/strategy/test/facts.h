/* facts.h — a debtor's records for the strategy unit tests: NULL-terminated field/value arrays
 * read by one getter, as the CLI reads hiredis replies. */
#ifndef HILO_STRATEGY_TEST_FACTS_H
#define HILO_STRATEGY_TEST_FACTS_H

#include <string.h>

#include "hilo/strategy.h"

typedef struct {
    const char *kv[64]; /* field, value, field, value, ..., NULL */
} rec_t;

static inline const char *rec_get(const void *r, const char *field) {
    const rec_t *x = r;
    for (int i = 0; x && x->kv[i]; i += 2)
        if (strcmp(x->kv[i], field) == 0) return x->kv[i + 1];
    return NULL;
}

/* Sets (or adds) field = value in r. */
static inline void rec_set(rec_t *r, const char *field, const char *value) {
    int i = 0;
    for (; r->kv[i]; i += 2)
        if (strcmp(r->kv[i], field) == 0) {
            r->kv[i + 1] = value;
            return;
        }
    r->kv[i] = field;
    r->kv[i + 1] = value;
    r->kv[i + 2] = NULL;
}

#endif
