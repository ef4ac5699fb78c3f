/* identity_table.c — the address -> debtor map behind the identity cache (chained hash). */
#include "identity_table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"

struct hilo_identity_entry {
    hilo_identity_entry_t *next;
    char *debtor; /* NULL = no debtor */
    char addr[];
};

static uint64_t hash(const char *s) { /* FNV-1a */
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void hilo_identity_table_init(hilo_identity_table_t *t, size_t max) {
    memset(t, 0, sizeof *t);
    t->max = max ? max : 1;
    size_t n = 16;
    while (n < t->max) n <<= 1; /* load factor <= 1 */
    t->buckets = hilo_xcalloc(n, sizeof *t->buckets);
    t->mask = n - 1;
}

static void entry_free(hilo_identity_entry_t *e) {
    free(e->debtor);
    free(e);
}

void hilo_identity_table_clear(hilo_identity_table_t *t) {
    for (size_t i = 0; i <= t->mask; i++) {
        hilo_identity_entry_t *e = t->buckets[i];
        while (e) {
            hilo_identity_entry_t *next = e->next;
            entry_free(e);
            e = next;
        }
        t->buckets[i] = NULL;
    }
    t->count = 0;
}

void hilo_identity_table_free(hilo_identity_table_t *t) {
    if (!t->buckets) return;
    hilo_identity_table_clear(t);
    free(t->buckets);
    t->buckets = NULL;
}

static hilo_identity_entry_t **find(const hilo_identity_table_t *t, const char *addr) {
    hilo_identity_entry_t **p = &t->buckets[hash(addr) & t->mask];
    while (*p && strcmp((*p)->addr, addr) != 0) p = &(*p)->next;
    return p;
}

bool hilo_identity_table_get(const hilo_identity_table_t *t, const char *addr, const char **debtor) {
    hilo_identity_entry_t *e = *find(t, addr);
    if (!e) return false;
    *debtor = e->debtor;
    return true;
}

/* Drops the head of the first non-empty bucket from `from` on (the table is not empty). */
static void evict_one(hilo_identity_table_t *t, size_t from) {
    for (size_t i = 0; i <= t->mask; i++) {
        hilo_identity_entry_t **b = &t->buckets[(from + i) & t->mask];
        if (!*b) continue;
        hilo_identity_entry_t *e = *b;
        *b = e->next;
        entry_free(e);
        t->count--;
        t->evicted++;
        return;
    }
}

void hilo_identity_table_put(hilo_identity_table_t *t, const char *addr, const char *debtor) {
    hilo_identity_entry_t **p = find(t, addr);
    if (*p) {
        free((*p)->debtor);
        (*p)->debtor = debtor ? hilo_xstrdup(debtor) : NULL;
        return;
    }
    if (t->count >= t->max) {
        evict_one(t, (size_t)hash(addr) + 1);
        p = find(t, addr); /* the chain may have changed */
    }
    size_t len = strlen(addr);
    hilo_identity_entry_t *e = hilo_xmalloc(sizeof *e + len + 1);
    memcpy(e->addr, addr, len + 1);
    e->debtor = debtor ? hilo_xstrdup(debtor) : NULL;
    e->next = NULL;
    *p = e;
    t->count++;
}

bool hilo_identity_table_remove(hilo_identity_table_t *t, const char *addr) {
    hilo_identity_entry_t **p = find(t, addr);
    if (!*p) return false;
    hilo_identity_entry_t *e = *p;
    *p = e->next;
    entry_free(e);
    t->count--;
    return true;
}
