/* turn_spool.c — voice turns answered before their ack, kept in the spool until the router has
 * them (turn_spool.h). Why: a voice webhook gets the fallback TwiML after
 * voice_reply_deadline_ms whether the router acked or not, and Twilio never sends a 200'd
 * webhook again; until now the envelope then lived only in the link's memory, so a connector
 * killed before the router came back lost what the caller said. The router dedupes on
 * (channel, provider_message_id), so a record replayed after an ack that was lost in a crash
 * lands once in the thread. */
#include "turn_spool.h"

#include <inttypes.h>
#include <stdlib.h>

#include "hilo/common.h"
#include "hilo/log.h"
#include "u64map.h"

#define MOD "spool"
#define KEY(v) ((void *)(uintptr_t)(v))
#define VAL(p) ((uint64_t)(uintptr_t)(p))

struct hilo_turn_spool {
    hilo_spool_t *spool;       /* borrowed */
    hilo_link_t *link;         /* borrowed */
    int channel;               /* set on replayed envelopes */
    int64_t ttl_ms;            /* their time to live in the link */
    hilo_u64map_t *unacked;    /* seq → 1: turn envelopes the link still holds */
    hilo_u64map_t *by_seq;     /* seq → spool id: spooled records in flight */
    hilo_u64map_t *inflight;   /* spool id → seq */
};

hilo_turn_spool_t *hilo_turn_spool_new(hilo_spool_t *spool, hilo_link_t *link, int channel, int64_t ttl_ms) {
    hilo_turn_spool_t *self = hilo_xcalloc(1, sizeof *self);
    self->spool = spool;
    self->link = link;
    self->channel = channel;
    self->ttl_ms = ttl_ms;
    self->unacked = hilo_u64map_new();
    self->by_seq = hilo_u64map_new();
    self->inflight = hilo_u64map_new();
    return self;
}

void hilo_turn_spool_destroy(hilo_turn_spool_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_turn_spool_t *self = *self_p;
    hilo_u64map_destroy(&self->unacked);
    hilo_u64map_destroy(&self->by_seq);
    hilo_u64map_destroy(&self->inflight);
    free(self);
    *self_p = NULL;
}

void hilo_turn_spool_track(hilo_turn_spool_t *self, uint64_t seq) {
    if (seq) hilo_u64map_put(self->unacked, seq, KEY(1));
}

void hilo_turn_spool_done(hilo_turn_spool_t *self, uint64_t seq, hilo_link_result_t result) {
    hilo_u64map_del(self->unacked, seq);
    uint64_t id = VAL(hilo_u64map_del(self->by_seq, seq));
    if (!id) return;
    hilo_u64map_del(self->inflight, id);
    if (result == HILO_LINK_ACKED || result == HILO_LINK_DUPLICATE || result == HILO_LINK_DEAD_LETTER) {
        hilo_spool_remove(self->spool, id);
        hilo_log_info(MOD, "event=spool_delivered id=%" PRIu64 " seq=%" PRIu64 " duplicate=%d dead_letter=%d", id, seq,
                      result == HILO_LINK_DUPLICATE, result == HILO_LINK_DEAD_LETTER);
    } else if (result == HILO_LINK_REFUSED) {
        /* Refused for good and no dead-letter file took it: sending it again would be refused
         * the same way forever. */
        hilo_spool_discard(self->spool, id);
        hilo_log_error(MOD, "event=spool_refused id=%" PRIu64 " seq=%" PRIu64 " msg=\"the router refused the spooled "
                       "event for good; set dead_letter_file to keep such events\"", id, seq);
    }
    /* EXPIRED, ABANDONED: the record stays; replay() submits it again. */
}

static void on_done(void *arg, uint64_t seq, hilo_link_result_t result, const char *reason) {
    (void)reason;
    hilo_turn_spool_done(arg, seq, result);
}

bool hilo_turn_spool_keep(hilo_turn_spool_t *self, uint64_t seq, const uint8_t *env, size_t len) {
    if (seq && !hilo_u64map_get(self->unacked, seq)) return true; /* acked (or finished) already */
    uint64_t id = 0;
    int rc = hilo_spool_put(self->spool, env, len, hilo_now_ms(), &id);
    if (rc == HILO_AGAIN) {
        hilo_spool_stats_t st;
        hilo_spool_stats(self->spool, &st);
        hilo_log_error(MOD, "event=spool_full seq=%" PRIu64 " held=%zu msg=\"spool_max_events reached: this call event "
                       "is not spooled and is lost if the connector stops before the router acks it\"", seq, st.count);
        return false;
    }
    if (rc != HILO_OK) return false; /* logged by the spool, with errno */
    if (seq) {
        hilo_u64map_put(self->by_seq, seq, KEY(id));
        hilo_u64map_put(self->inflight, id, KEY(seq));
    }
    hilo_log_info(MOD, "event=spool_kept id=%" PRIu64 " seq=%" PRIu64 " in_link=%d", id, seq, seq != 0);
    return true;
}

typedef struct {
    hilo_turn_spool_t *self;
    size_t submitted;
    bool full; /* the link's queue is full: the rest waits for the next replay */
} replay_t;

static void replay_one(void *arg, uint64_t id, const uint8_t *data, size_t len, int64_t written_ms) {
    (void)written_ms;
    replay_t *r = arg;
    hilo_turn_spool_t *self = r->self;
    if (r->full || hilo_u64map_get(self->inflight, id)) return;
    hilo_envelope_t *env = hilo__link__v1__envelope__unpack(NULL, len, data);
    if (!env) {
        hilo_spool_discard(self->spool, id);
        hilo_log_error(MOD, "event=spool_bad_record id=%" PRIu64 " reason=\"not an Envelope\" msg=\"dropped\"", id);
        return;
    }
    env->channel = self->channel;
    uint64_t seq = 0;
    int rc = hilo_link_submit(self->link, env, self->ttl_ms, false, on_done, self, &seq);
    hilo__link__v1__envelope__free_unpacked(env, NULL);
    if (rc != HILO_OK) {
        r->full = true;
        return;
    }
    hilo_u64map_put(self->by_seq, seq, KEY(id));
    hilo_u64map_put(self->inflight, id, KEY(seq));
    r->submitted++;
    hilo_log_info(MOD, "event=spool_replay id=%" PRIu64 " seq=%" PRIu64, id, seq);
}

size_t hilo_turn_spool_replay(hilo_turn_spool_t *self, int64_t wall_ms) {
    replay_t r = {self, 0, false};
    hilo_spool_scan(self->spool, wall_ms, replay_one, &r);
    return r.submitted;
}

size_t hilo_turn_spool_idle(const hilo_turn_spool_t *self) {
    hilo_spool_stats_t st;
    hilo_spool_stats(self->spool, &st);
    size_t busy = hilo_u64map_size(self->inflight);
    return st.count > busy ? st.count - busy : 0;
}
