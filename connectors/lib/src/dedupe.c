/* dedupe.c — bounded outbound-id set: a string hash table plus a FIFO of finished records. */
#include "hilo/dedupe.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"

typedef struct rec {
    char *id;
    bool done;                  /* finished (in the FIFO) or in progress */
    int state;                  /* outcome (done only) */
    char *pmid, *code, *msg;    /* outcome strings (done only) */
    struct rec *hnext;          /* hash chain */
    struct rec *fprev, *fnext;  /* FIFO of finished records, oldest at head */
} rec_t;

struct hilo_dedupe {
    rec_t **buckets;
    size_t nbuckets;     /* power of two */
    size_t size;         /* all records */
    size_t ndone;        /* records in the FIFO */
    size_t capacity;     /* max finished records */
    rec_t *head, *tail;  /* FIFO */
};

static uint64_t hash(const char *s) { /* FNV-1a */
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

hilo_dedupe_t *hilo_dedupe_new(size_t capacity) {
    hilo_dedupe_t *d = hilo_xcalloc(1, sizeof *d);
    d->capacity = capacity ? capacity : 1;
    d->nbuckets = 1024;
    d->buckets = hilo_xcalloc(d->nbuckets, sizeof *d->buckets);
    return d;
}

static void free_rec(rec_t *r) {
    free(r->id);
    free(r->pmid);
    free(r->code);
    free(r->msg);
    free(r);
}

void hilo_dedupe_destroy(hilo_dedupe_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_dedupe_t *d = *self_p;
    for (size_t i = 0; i < d->nbuckets; i++)
        for (rec_t *r = d->buckets[i], *next; r; r = next) {
            next = r->hnext;
            free_rec(r);
        }
    free(d->buckets);
    free(d);
    *self_p = NULL;
}

static rec_t **find(hilo_dedupe_t *d, const char *id) {
    rec_t **pp = &d->buckets[hash(id) & (d->nbuckets - 1)];
    while (*pp && strcmp((*pp)->id, id) != 0) pp = &(*pp)->hnext;
    return pp;
}

static void grow(hilo_dedupe_t *d) {
    size_t old = d->nbuckets;
    rec_t **ob = d->buckets;
    d->nbuckets *= 2;
    d->buckets = hilo_xcalloc(d->nbuckets, sizeof *d->buckets);
    for (size_t i = 0; i < old; i++)
        for (rec_t *r = ob[i], *next; r; r = next) {
            next = r->hnext;
            rec_t **slot = &d->buckets[hash(r->id) & (d->nbuckets - 1)];
            r->hnext = *slot;
            *slot = r;
        }
    free(ob);
}

static rec_t *insert(hilo_dedupe_t *d, const char *id) {
    rec_t *r = hilo_xcalloc(1, sizeof *r);
    r->id = hilo_xstrdup(id);
    rec_t **slot = &d->buckets[hash(id) & (d->nbuckets - 1)];
    r->hnext = *slot;
    *slot = r;
    if (++d->size > d->nbuckets) grow(d);
    return r;
}

static void unlink_fifo(hilo_dedupe_t *d, rec_t *r) {
    if (r->fprev) r->fprev->fnext = r->fnext; else d->head = r->fnext;
    if (r->fnext) r->fnext->fprev = r->fprev; else d->tail = r->fprev;
    r->fprev = r->fnext = NULL;
    d->ndone--;
}

static void remove_rec(hilo_dedupe_t *d, rec_t **pp) {
    rec_t *r = *pp;
    *pp = r->hnext;
    if (r->done) unlink_fifo(d, r);
    d->size--;
    free_rec(r);
}

hilo_dedupe_status_t hilo_dedupe_begin(hilo_dedupe_t *d, const char *id, hilo_dedupe_outcome_t *out) {
    rec_t **pp = find(d, id);
    if (!*pp) {
        insert(d, id);
        return HILO_DEDUPE_NEW;
    }
    rec_t *r = *pp;
    if (!r->done) return HILO_DEDUPE_IN_PROGRESS;
    if (out) *out = (hilo_dedupe_outcome_t){r->state, r->pmid, r->code, r->msg};
    return HILO_DEDUPE_DONE;
}

void hilo_dedupe_finish(hilo_dedupe_t *d, const char *id, const hilo_dedupe_outcome_t *o) {
    rec_t **pp = find(d, id);
    rec_t *r = *pp ? *pp : insert(d, id);
    if (r->done) unlink_fifo(d, r);
    free(r->pmid);
    free(r->code);
    free(r->msg);
    r->done = true;
    r->state = o->state;
    r->pmid = hilo_xstrdup(o->provider_message_id ? o->provider_message_id : "");
    r->code = hilo_xstrdup(o->error_code ? o->error_code : "");
    r->msg = hilo_xstrdup(o->error_message ? o->error_message : "");
    r->fprev = d->tail;
    if (d->tail) d->tail->fnext = r; else d->head = r;
    d->tail = r;
    d->ndone++;
    while (d->ndone > d->capacity) remove_rec(d, find(d, d->head->id));
}

void hilo_dedupe_forget(hilo_dedupe_t *d, const char *id) {
    rec_t **pp = find(d, id);
    if (*pp && !(*pp)->done) remove_rec(d, pp);
}

size_t hilo_dedupe_in_progress(const hilo_dedupe_t *d) { return d->size - d->ndone; }
size_t hilo_dedupe_finished(const hilo_dedupe_t *d) { return d->ndone; }
