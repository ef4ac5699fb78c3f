/* promises.c — the promise sweeper: due promises still pending become broken. Two steps, each on
 * one hash slot: promise_break.lua on the debtor's keys, then the index member's ZREM once that
 * answered (a crash between them leaves the member, and the next sweep finds the promise no longer
 * pending and removes it). */
#include "promises.h"

#include "clock.h"
#include "strategy_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"

#define SWEEP_BATCH 100 /* due members taken per round; a full round sweeps again at once */

struct hilo_promises {
    hilo_router_ctx_t *ctx;
    uv_timer_t timer;
    bool sweeping;          /* a round is in flight: the timer does not start another */
    int outstanding;        /* promise_break.lua replies still expected in this round */
    bool full;              /* the round took SWEEP_BATCH members: more may be due */
    int64_t now_ms;         /* the round's clock */
    long broken;            /* promises broken by this router (logs) */
    bool closed;
};

/* One member of the index on its way through promise_break.lua. */
typedef struct {
    hilo_promises_t *p;
    char member[HILO_KEY_MAX];
} brk_t;

static void round_done(hilo_promises_t *p) {
    p->sweeping = false;
    if (p->full && !p->closed && !p->ctx->closing) hilo_promises_sweep(p);
}

/* The index member goes (before the round ends: a full round's next query must not see it). */
static void unindex(hilo_promises_t *p, const char *member) {
    const char *argv[] = {"ZREM", HILO_KEY_PROMISES_DUE, member};
    size_t lens[] = {4, strlen(HILO_KEY_PROMISES_DUE), strlen(member)};
    hilo_store_argv(p->ctx->store, NULL, NULL, 3, argv, lens);
}

static void on_broken(redisReply *r, void *arg) {
    brk_t *b = arg;
    hilo_promises_t *p = b->p;
    if (r && r->type == REDIS_REPLY_INTEGER && !p->ctx->closing) unindex(p, b->member);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
        p->broken++;
        hilo_log_info("promises", "event=promise_broken member=\"%s\"", b->member);
        /* A broken promise puts the debtor back into its strategy (docs/strategies.md). */
        char *bar = strchr(b->member, '|');
        if (bar) {
            *bar = '\0';
            hilo_strategy_run_kick(p->ctx, b->member);
        }
    } else if (r && r->type == REDIS_REPLY_ERROR) {
        hilo_log_error("promises", "event=break_failed member=\"%s\" reply=\"%s\"", b->member, r->str);
        if (strncmp(r->str, "NOSCRIPT", 8) == 0 && !p->ctx->closing)
            hilo_store_reset(p->ctx->store, "script cache flushed");
        p->full = false; /* do not spin on a failing script: the timer tries again */
    }
    free(b);
    if (--p->outstanding == 0) round_done(p);
}

static void on_due(redisReply *r, void *arg) {
    hilo_promises_t *p = arg;
    hilo_router_ctx_t *ctx = p->ctx;
    p->full = false;
    if (!r || ctx->closing || r->type != REDIS_REPLY_ARRAY) {
        if (r && r->type == REDIS_REPLY_ERROR)
            hilo_log_error("promises", "event=sweep_failed reply=\"%s\"", r->str);
        p->sweeping = false;
        return;
    }
    p->full = r->elements >= SWEEP_BATCH;
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)p->now_ms);
    p->outstanding = 1; /* held while queuing, so a reply cannot end the round early */
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *m = r->element[i];
        if (m->type != REDIS_REPLY_STRING) continue;
        const char *bar = memchr(m->str, '|', m->len);
        char debtor[HILO_DEBTOR_ID_MAX + 32];
        size_t dlen = bar ? (size_t)(bar - m->str) : 0;
        if (!bar || dlen == 0 || dlen >= sizeof debtor || !bar[1] || m->len >= HILO_KEY_MAX) {
            /* Unusable: removed, or it would be taken on every round forever. */
            hilo_log_warn("promises", "event=bad_due_member member=\"%.80s\"", m->str);
            const char *argv[] = {"ZREM", HILO_KEY_PROMISES_DUE, m->str};
            size_t lens[] = {4, strlen(HILO_KEY_PROMISES_DUE), m->len};
            hilo_store_argv(ctx->store, NULL, NULL, 3, argv, lens);
            continue;
        }
        memcpy(debtor, m->str, dlen);
        debtor[dlen] = '\0';
        char kprom[HILO_KEY_MAX], kconv[HILO_KEY_MAX], kaudit[HILO_KEY_MAX];
        if (hilo_key_debtor(kprom, sizeof kprom, debtor, HILO_KEY_PROMISES) < 0 ||
            hilo_key_debtor(kconv, sizeof kconv, debtor, HILO_KEY_CONV) < 0 ||
            hilo_key_debtor(kaudit, sizeof kaudit, debtor, HILO_KEY_AUDIT) < 0)
            continue;
        brk_t *b = hilo_xcalloc(1, sizeof *b);
        b->p = p;
        memcpy(b->member, m->str, m->len);
        const char *argv[] = {"EVALSHA", hilo_store_sha(ctx->store, HILO_SCRIPT_PROMISE_BREAK), "3", kprom, kconv,
                              kaudit, bar + 1, now};
        size_t lens[HILO_ARRAY_LEN(argv)];
        for (size_t k = 0; k < HILO_ARRAY_LEN(argv); k++) lens[k] = strlen(argv[k]);
        if (hilo_store_argv(ctx->store, on_broken, b, (int)HILO_ARRAY_LEN(argv), argv, lens) == HILO_OK)
            p->outstanding++;
        else
            free(b);
    }
    if (--p->outstanding == 0) round_done(p);
}

static void query_due(hilo_promises_t *p) {
    char now[24], batch[16];
    snprintf(now, sizeof now, "%lld", (long long)p->now_ms);
    snprintf(batch, sizeof batch, "%d", SWEEP_BATCH);
    const char *argv[] = {"ZRANGEBYSCORE", HILO_KEY_PROMISES_DUE, "-inf", now, "LIMIT", "0", batch};
    size_t lens[HILO_ARRAY_LEN(argv)];
    for (size_t i = 0; i < HILO_ARRAY_LEN(argv); i++) lens[i] = strlen(argv[i]);
    if (hilo_store_argv(p->ctx->store, on_due, p, (int)HILO_ARRAY_LEN(argv), argv, lens) != HILO_OK)
        p->sweeping = false;
}

static void on_clock(redisReply *r, void *arg) {
    hilo_promises_t *p = arg;
    if (!r || p->ctx->closing) {
        p->sweeping = false;
        return;
    }
    p->now_ms = hilo_clock_from_reply(r);
    query_due(p);
}

void hilo_promises_sweep(hilo_promises_t *p) {
    hilo_router_ctx_t *ctx = p->ctx;
    if (p->closed || p->sweeping || !hilo_store_ready(ctx->store)) return;
    p->sweeping = true;
    p->now_ms = hilo_now_ms();
    if (ctx->cfg->test_clock) {
        /* The test clock, when set, is "now" for every decision (as in engine.c). */
        if (hilo_store_command(ctx->store, on_clock, p, "GET %s", HILO_KEY_TEST_CLOCK) != HILO_OK) p->sweeping = false;
        return;
    }
    query_due(p);
}

static void on_timer(uv_timer_t *t) { hilo_promises_sweep(t->data); }

hilo_promises_t *hilo_promises_new(hilo_router_ctx_t *ctx) {
    hilo_promises_t *p = hilo_xcalloc(1, sizeof *p);
    p->ctx = ctx;
    uv_timer_init(ctx->loop, &p->timer);
    p->timer.data = p;
    return p;
}

void hilo_promises_start(hilo_promises_t *p) {
    uint64_t every = (uint64_t)p->ctx->cfg->promise_sweep_ms;
    uv_timer_start(&p->timer, on_timer, every, every);
    hilo_log_info("promises", "event=sweeper_started every_ms=%ld", p->ctx->cfg->promise_sweep_ms);
}

static void on_closed(uv_handle_t *h) { free(h->data); }

void hilo_promises_destroy(hilo_promises_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_promises_t *p = *self_p;
    p->closed = true;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_closed);
    *self_p = NULL;
}
