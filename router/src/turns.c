/* turns.c — the pending-turns index (hilo:{p:<n>}:turns) and its sweep.
 * Why an index at all: a turn recorded on a debtor's keys is found again only by someone who
 * knows the debtor. The router that committed it knows, until it crashes; the index is how any
 * other router learns of it. It is partitioned (HILO_TURN_PARTITIONS keys, each its own hash
 * slot) because it is global: every router sweeps every partition, a few commands a second.
 * An entry is a hint, never the truth: the debtor's turnq/turns keys say whether the turn is
 * still pending, so an entry left behind (a crash after the apply, a commit that failed or was
 * a duplicate) costs one look and is removed then (engine.c). */
#include "turns.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "engine.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"

#define CLAIM_BATCH 50 /* entries claimed per partition and round; a full claim sweeps again at once */

struct hilo_turns {
    hilo_router_ctx_t *ctx;
    uv_timer_t timer;
    bool sweeping;          /* a round is in flight: the timer does not start another */
    int outstanding;        /* claim replies still expected in this round */
    bool full;              /* some partition gave CLAIM_BATCH entries: more may be due */
    int64_t now_ms;         /* the round's clock */
    bool closed;
};

void hilo_turns_key_new(char key[HILO_TURN_KEY_MAX]) {
    static uint64_t counter;
    uint64_t v;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) v = (uint64_t)hilo_mono_us() * 2654435761u + ++counter;
    snprintf(key, HILO_TURN_KEY_MAX, "%016llx", (unsigned long long)v);
}

static int member_of(char *buf, size_t n, const char *debtor, const char *turn) {
    int len = snprintf(buf, n, "%s|%s", debtor, turn);
    return len < 0 || (size_t)len >= n ? -1 : len;
}

int hilo_turns_index(hilo_router_ctx_t *ctx, const char *debtor, const char *turn, int64_t due_ms) {
    char key[HILO_KEY_MAX], member[HILO_KEY_MAX], score[24];
    hilo_key_turn_index(key, sizeof key, hilo_turn_partition(debtor));
    if (member_of(member, sizeof member, debtor, turn) < 0) return HILO_AGAIN;
    snprintf(score, sizeof score, "%lld", (long long)due_ms);
    const char *argv[] = {"ZADD", key, score, member};
    size_t lens[] = {4, strlen(key), strlen(score), strlen(member)};
    return hilo_store_argv(ctx->store, NULL, NULL, 4, argv, lens);
}

void hilo_turns_unindex(hilo_router_ctx_t *ctx, const char *debtor, const char *turn) {
    char key[HILO_KEY_MAX], member[HILO_KEY_MAX];
    hilo_key_turn_index(key, sizeof key, hilo_turn_partition(debtor));
    if (member_of(member, sizeof member, debtor, turn) < 0) return;
    const char *argv[] = {"ZREM", key, member};
    size_t lens[] = {4, strlen(key), strlen(member)};
    hilo_store_argv(ctx->store, NULL, NULL, 3, argv, lens);
}

/* --- the sweep ------------------------------------------------------------------------ */

static void round_done(hilo_turns_t *s) {
    s->sweeping = false;
    if (s->full && !s->closed && !s->ctx->closing) hilo_turns_sweep(s);
}

/* Drops an index entry that names no turn anyone could resume, or it comes due forever. */
static void drop_member(hilo_turns_t *s, int partition, const redisReply *m) {
    char key[HILO_KEY_MAX];
    hilo_key_turn_index(key, sizeof key, partition);
    hilo_log_warn("turns", "event=bad_index_member member=\"%.80s\"", m->str ? m->str : "");
    const char *argv[] = {"ZREM", key, m->str ? m->str : ""};
    size_t lens[] = {4, strlen(key), m->str ? m->len : 0};
    hilo_store_argv(s->ctx->store, NULL, NULL, 3, argv, lens);
}

typedef struct {
    hilo_turns_t *s;
    int partition;
} claim_t;

static void on_claimed(redisReply *r, void *arg) {
    claim_t *c = arg;
    hilo_turns_t *s = c->s;
    hilo_router_ctx_t *ctx = s->ctx;
    int partition = c->partition;
    free(c);
    if (r && !ctx->closing && r->type == REDIS_REPLY_ARRAY) {
        if (r->elements >= CLAIM_BATCH) s->full = true;
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *m = r->element[i];
            const char *bar = m->type == REDIS_REPLY_STRING ? memchr(m->str, '|', m->len) : NULL;
            char debtor[HILO_DEBTOR_ID_MAX + 32], turn[HILO_TURN_KEY_MAX];
            size_t dlen = bar ? (size_t)(bar - m->str) : 0;
            size_t tlen = bar ? m->len - dlen - 1 : 0;
            if (!bar || dlen == 0 || dlen >= sizeof debtor || tlen == 0 || tlen >= sizeof turn) {
                drop_member(s, partition, m);
                continue;
            }
            memcpy(debtor, m->str, dlen);
            debtor[dlen] = '\0';
            memcpy(turn, bar + 1, tlen);
            turn[tlen] = '\0';
            if (ctx->engine) hilo_engine_resume(ctx->engine, debtor, turn);
        }
    } else if (r && r->type == REDIS_REPLY_ERROR) {
        hilo_log_error("turns", "event=claim_failed partition=%d reply=\"%s\"", partition, r->str);
        if (strncmp(r->str, "NOSCRIPT", 8) == 0 && !ctx->closing) hilo_store_reset(ctx->store, "script cache flushed");
    }
    if (--s->outstanding == 0) round_done(s);
}

static void claim_all(hilo_turns_t *s) {
    hilo_router_ctx_t *ctx = s->ctx;
    char now[24], lease[24], batch[16];
    snprintf(now, sizeof now, "%lld", (long long)s->now_ms);
    snprintf(lease, sizeof lease, "%ld", ctx->cfg->turn_resume_ms);
    snprintf(batch, sizeof batch, "%d", CLAIM_BATCH);
    s->full = false;
    s->outstanding = 1; /* held while queuing, so a reply cannot end the round early */
    for (int p = 0; p < HILO_TURN_PARTITIONS; p++) {
        char key[HILO_KEY_MAX];
        hilo_key_turn_index(key, sizeof key, p);
        const char *argv[] = {"EVALSHA", hilo_store_sha(ctx->store, HILO_SCRIPT_TURN_CLAIM), "1", key, now, lease, batch};
        size_t lens[HILO_ARRAY_LEN(argv)];
        for (size_t i = 0; i < HILO_ARRAY_LEN(argv); i++) lens[i] = strlen(argv[i]);
        claim_t *c = hilo_xcalloc(1, sizeof *c);
        c->s = s;
        c->partition = p;
        if (hilo_store_argv(ctx->store, on_claimed, c, (int)HILO_ARRAY_LEN(argv), argv, lens) == HILO_OK)
            s->outstanding++;
        else
            free(c);
    }
    if (--s->outstanding == 0) s->sweeping = false; /* nothing sent: no second round at once */
}

static void on_clock(redisReply *r, void *arg) {
    hilo_turns_t *s = arg;
    if (!r || s->ctx->closing) {
        s->sweeping = false;
        return;
    }
    s->now_ms = hilo_clock_from_reply(r);
    claim_all(s);
}

void hilo_turns_sweep(hilo_turns_t *s) {
    hilo_router_ctx_t *ctx = s->ctx;
    if (s->closed || s->sweeping || !ctx->engine || !hilo_store_ready(ctx->store)) return;
    s->sweeping = true;
    s->now_ms = hilo_now_ms();
    if (ctx->cfg->test_clock) {
        /* The engine's clock: the index is scored with the commit's "now", which is the test
         * clock when it is on (inbound.c). */
        if (hilo_store_command(ctx->store, on_clock, s, "GET %s", HILO_KEY_TEST_CLOCK) != HILO_OK) s->sweeping = false;
        return;
    }
    claim_all(s);
}

static void on_timer(uv_timer_t *t) { hilo_turns_sweep(t->data); }

hilo_turns_t *hilo_turns_new(hilo_router_ctx_t *ctx) {
    hilo_turns_t *s = hilo_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    uv_timer_init(ctx->loop, &s->timer);
    s->timer.data = s;
    return s;
}

void hilo_turns_start(hilo_turns_t *s) {
    uint64_t every = (uint64_t)s->ctx->cfg->turn_sweep_ms;
    uv_timer_start(&s->timer, on_timer, every, every);
    hilo_log_info("turns", "event=sweeper_started every_ms=%ld resume_after_ms=%ld", s->ctx->cfg->turn_sweep_ms,
                  s->ctx->cfg->turn_resume_ms);
}

static void on_closed(uv_handle_t *h) { free(h->data); }

void hilo_turns_destroy(hilo_turns_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_turns_t *s = *self_p;
    s->closed = true;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_closed);
    *self_p = NULL;
}
