/* u64map.c — chained hash map uint64_t → pointer. */
#include "u64map.h"

#include <stdlib.h>

#include "hilo/common.h"

typedef struct node {
    uint64_t key;
    void *value;
    struct node *next;
} node_t;

struct hilo_u64map {
    node_t **buckets; /* nbuckets heads */
    size_t nbuckets;  /* power of two */
    size_t size;      /* entries */
};

/* splitmix64 finalizer: sequential keys (seqs, ids) spread over all buckets. */
static size_t slot(const hilo_u64map_t *m, uint64_t k) {
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebULL;
    k ^= k >> 31;
    return (size_t)(k & (m->nbuckets - 1));
}

hilo_u64map_t *hilo_u64map_new(void) {
    hilo_u64map_t *m = hilo_xcalloc(1, sizeof *m);
    m->nbuckets = 64;
    m->buckets = hilo_xcalloc(m->nbuckets, sizeof *m->buckets);
    return m;
}

void hilo_u64map_destroy(hilo_u64map_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_u64map_t *m = *self_p;
    for (size_t i = 0; i < m->nbuckets; i++)
        for (node_t *n = m->buckets[i], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    free(m->buckets);
    free(m);
    *self_p = NULL;
}

static void grow(hilo_u64map_t *m) {
    size_t old = m->nbuckets;
    node_t **ob = m->buckets;
    m->nbuckets = old * 2;
    m->buckets = hilo_xcalloc(m->nbuckets, sizeof *m->buckets);
    for (size_t i = 0; i < old; i++)
        for (node_t *n = ob[i], *next; n; n = next) {
            next = n->next;
            size_t s = slot(m, n->key);
            n->next = m->buckets[s];
            m->buckets[s] = n;
        }
    free(ob);
}

void hilo_u64map_put(hilo_u64map_t *m, uint64_t key, void *value) {
    size_t s = slot(m, key);
    for (node_t *n = m->buckets[s]; n; n = n->next)
        if (n->key == key) {
            n->value = value;
            return;
        }
    node_t *n = hilo_xmalloc(sizeof *n);
    n->key = key;
    n->value = value;
    n->next = m->buckets[s];
    m->buckets[s] = n;
    if (++m->size > m->nbuckets) grow(m);
}

void *hilo_u64map_get(const hilo_u64map_t *m, uint64_t key) {
    for (node_t *n = m->buckets[slot(m, key)]; n; n = n->next)
        if (n->key == key) return n->value;
    return NULL;
}

void *hilo_u64map_del(hilo_u64map_t *m, uint64_t key) {
    for (node_t **pp = &m->buckets[slot(m, key)]; *pp; pp = &(*pp)->next)
        if ((*pp)->key == key) {
            node_t *n = *pp;
            void *v = n->value;
            *pp = n->next;
            free(n);
            m->size--;
            return v;
        }
    return NULL;
}

size_t hilo_u64map_size(const hilo_u64map_t *m) { return m->size; }

void hilo_u64map_each(const hilo_u64map_t *m, void (*fn)(uint64_t, void *, void *), void *arg) {
    for (size_t i = 0; i < m->nbuckets; i++)
        for (node_t *n = m->buckets[i]; n; n = n->next) fn(n->key, n->value, arg);
}
