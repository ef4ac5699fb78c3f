/* identity_table.h — a bounded map from a sender's address (E.164) to what Redis said of it:
 * a debtor id, or "no debtor" (an unidentified contact). Plain memory, no I/O: the rules that
 * keep it true to Redis are in identity_cache.c. When full, adding evicts one entry chosen
 * by the new address's hash (about random), so a portfolio larger than the bound keeps
 * the table useful instead of emptying it. */
#ifndef HILO_IDENTITY_TABLE_H
#define HILO_IDENTITY_TABLE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hilo_identity_entry hilo_identity_entry_t;

typedef struct {
    hilo_identity_entry_t **buckets;
    size_t mask;     /* buckets - 1 (a power of two) */
    size_t count;    /* entries */
    size_t max;      /* bound on count */
    size_t evicted;  /* entries dropped to make room, since init */
} hilo_identity_table_t;

/* max >= 1. */
void hilo_identity_table_init(hilo_identity_table_t *t, size_t max);
void hilo_identity_table_free(hilo_identity_table_t *t);

/* true when addr is in the table; *debtor is then its debtor id, or NULL for "no debtor".
 * The string is valid until the entry is changed or removed. */
bool hilo_identity_table_get(const hilo_identity_table_t *t, const char *addr, const char **debtor);
/* Adds or replaces addr's entry (debtor NULL = no debtor). */
void hilo_identity_table_put(hilo_identity_table_t *t, const char *addr, const char *debtor);
/* true when there was an entry. */
bool hilo_identity_table_remove(hilo_identity_table_t *t, const char *addr);
void hilo_identity_table_clear(hilo_identity_table_t *t);

#endif
