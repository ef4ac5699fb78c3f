/* pending.c — deferred webhook answers: entries by id, envelope seqs → entry id. */
#include "hilo/pending.h"

#include <stdlib.h>

#include "hilo/common.h"
#include "u64map.h"

typedef struct {
    uint64_t id;
    void *user;
    int64_t deadline_ms;
    bool wants_reply;   /* wait for a reply after the acks */
    bool armed;         /* every envelope registered */
    bool kept;          /* an envelope went to the dead-letter file instead of being acked */
    size_t unacked;     /* envelopes not acked yet */
    uint64_t *seqs;     /* registered seqs (to unmap them on removal) */
    size_t nseqs;
    uint64_t reply_seq; /* the seq the reply names, 0 = none */
} entry_t;

struct hilo_pending {
    hilo_pending_ready_fn *ready;
    void *arg;
    hilo_u64map_t *by_id;   /* id → entry */
    hilo_u64map_t *by_seq;  /* seq → entry */
    uint64_t next_id;
};

hilo_pending_t *hilo_pending_new(hilo_pending_ready_fn *ready, void *arg) {
    hilo_pending_t *p = hilo_xcalloc(1, sizeof *p);
    p->ready = ready;
    p->arg = arg;
    p->by_id = hilo_u64map_new();
    p->by_seq = hilo_u64map_new();
    p->next_id = 1;
    return p;
}

static void free_entry(uint64_t key, void *value, void *arg) {
    (void)key, (void)arg;
    entry_t *e = value;
    free(e->seqs);
    free(e);
}

void hilo_pending_destroy(hilo_pending_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_pending_t *p = *self_p;
    hilo_u64map_each(p->by_id, free_entry, NULL);
    hilo_u64map_destroy(&p->by_id);
    hilo_u64map_destroy(&p->by_seq);
    free(p);
    *self_p = NULL;
}

uint64_t hilo_pending_open(hilo_pending_t *p, void *user, int64_t deadline_ms, bool wants_reply) {
    entry_t *e = hilo_xcalloc(1, sizeof *e);
    e->id = p->next_id++;
    e->user = user;
    e->deadline_ms = deadline_ms;
    e->wants_reply = wants_reply;
    hilo_u64map_put(p->by_id, e->id, e);
    return e->id;
}

/* Removes the entry from both maps, then calls back: the callback sees a consistent state. */
static void resolve(hilo_pending_t *p, entry_t *e, hilo_pending_outcome_t outcome, const void *reply) {
    hilo_u64map_del(p->by_id, e->id);
    for (size_t i = 0; i < e->nseqs; i++)
        if (hilo_u64map_get(p->by_seq, e->seqs[i]) == e) hilo_u64map_del(p->by_seq, e->seqs[i]);
    uint64_t id = e->id;
    void *user = e->user;
    free(e->seqs);
    free(e);
    if (p->ready) p->ready(p->arg, id, user, outcome, reply);
}

static void maybe_done(hilo_pending_t *p, entry_t *e) {
    if (e->armed && e->unacked == 0 && !e->wants_reply)
        resolve(p, e, e->kept ? HILO_PENDING_KEPT : HILO_PENDING_ACKED, NULL);
}

void hilo_pending_expect(hilo_pending_t *p, uint64_t id, uint64_t seq, bool is_reply_seq) {
    entry_t *e = hilo_u64map_get(p->by_id, id);
    if (!e) return;
    e->seqs = hilo_xrealloc(e->seqs, (e->nseqs + 1) * sizeof *e->seqs);
    e->seqs[e->nseqs++] = seq;
    e->unacked++;
    if (is_reply_seq) e->reply_seq = seq;
    hilo_u64map_put(p->by_seq, seq, e);
}

void hilo_pending_arm(hilo_pending_t *p, uint64_t id) {
    entry_t *e = hilo_u64map_get(p->by_id, id);
    if (!e) return;
    e->armed = true;
    /* A reply-waiting entry without a reply envelope can never be answered: say so now rather
     * than at the deadline. */
    if (e->wants_reply && e->reply_seq == 0) {
        resolve(p, e, HILO_PENDING_REFUSED, NULL);
        return;
    }
    maybe_done(p, e);
}

void hilo_pending_envelope_done(hilo_pending_t *p, uint64_t seq, hilo_pending_outcome_t outcome) {
    entry_t *e = hilo_u64map_get(p->by_seq, seq);
    if (!e) return;
    if (outcome == HILO_PENDING_KEPT && seq == e->reply_seq) {
        resolve(p, e, HILO_PENDING_KEPT, NULL); /* the router has not got it: no reply will come */
        return;
    }
    if (outcome != HILO_PENDING_ACKED && outcome != HILO_PENDING_KEPT) {
        resolve(p, e, outcome, NULL);
        return;
    }
    if (outcome == HILO_PENDING_KEPT) e->kept = true;
    /* The reply seq stays mapped after its ack: the reply comes later and names it. */
    if (seq != e->reply_seq) hilo_u64map_del(p->by_seq, seq);
    if (e->unacked) e->unacked--;
    maybe_done(p, e);
}

bool hilo_pending_reply(hilo_pending_t *p, uint64_t reply_to_seq, const void *reply) {
    entry_t *e = reply_to_seq ? hilo_u64map_get(p->by_seq, reply_to_seq) : NULL;
    if (!e || !e->wants_reply || e->reply_seq != reply_to_seq) return false;
    resolve(p, e, HILO_PENDING_REPLIED, reply);
    return true;
}

void hilo_pending_fail(hilo_pending_t *p, uint64_t id, hilo_pending_outcome_t outcome) {
    entry_t *e = hilo_u64map_get(p->by_id, id);
    if (e) resolve(p, e, outcome, NULL);
}

void hilo_pending_cancel(hilo_pending_t *p, uint64_t id) {
    entry_t *e = hilo_u64map_get(p->by_id, id);
    if (!e) return;
    hilo_u64map_del(p->by_id, id);
    for (size_t i = 0; i < e->nseqs; i++)
        if (hilo_u64map_get(p->by_seq, e->seqs[i]) == e) hilo_u64map_del(p->by_seq, e->seqs[i]);
    free(e->seqs);
    free(e);
}

typedef struct {
    int64_t now;
    uint64_t *ids;
    size_t n, cap;
    bool all;
} collect_t;

static void collect(uint64_t key, void *value, void *arg) {
    collect_t *c = arg;
    entry_t *e = value;
    if (!c->all && e->deadline_ms > c->now) return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->ids = hilo_xrealloc(c->ids, c->cap * sizeof *c->ids);
    }
    c->ids[c->n++] = key;
}

/* Collect first, resolve after: callbacks may change the map we would be walking. */
static void resolve_collected(hilo_pending_t *p, collect_t *c, hilo_pending_outcome_t outcome) {
    hilo_u64map_each(p->by_id, collect, c);
    for (size_t i = 0; i < c->n; i++) hilo_pending_fail(p, c->ids[i], outcome);
    free(c->ids);
}

void hilo_pending_expire(hilo_pending_t *p, int64_t now_ms) {
    collect_t c = {.now = now_ms};
    resolve_collected(p, &c, HILO_PENDING_TIMEOUT);
}

void hilo_pending_fail_all(hilo_pending_t *p, hilo_pending_outcome_t outcome) {
    collect_t c = {.all = true};
    resolve_collected(p, &c, outcome);
}

size_t hilo_pending_count(const hilo_pending_t *p) { return hilo_u64map_size(p->by_id); }
