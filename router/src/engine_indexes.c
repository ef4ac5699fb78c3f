/* engine_indexes.c — the global keys of an engine turn, as steps of one hash slot each around
 * engine_apply.lua (which writes the debtor's slot only).
 *
 * Why before, for the queue's entry and the promises' due entries: an entry without its
 * conversation is harmless and dropped — route_offer.lua drops a queue entry whose conversation
 * is not queued there (uncounted unless it was queued there in its current escalation), the
 * promise sweeper drops a due entry whose promise is not pending — while a conversation queued
 * without its entry would never be offered, and a promise without its due entry would never be
 * found broken, and nothing sweeps for those. So a crash between the step and the script, or a
 * turn that does not commit (the conversation moved on, an older turn first), costs one entry
 * that a sweep removes; the turn's next attempt writes the same entries again (idempotent).
 * Once the script applied they are written once more: a step Redis refused (an error, not a
 * crash: its reply is not waited for) is repaired then, at the cost of a few commands per
 * escalation or promise.
 *
 * Why after, for the queue the conversation leaves and the consoles' event: removing the old
 * entry before the script would leave a queued conversation in no queue should the turn not
 * commit; the old entry left by a crash is one route_offer.lua drops uncounted (the conversation
 * is queued in another queue). The event is a notification: a crash loses a push that the
 * consoles' next snapshot (a reconnect, a list refresh) repairs.
 *
 * The queue's entry is written with ZADD LT: a new entry at its score, an entry already there
 * only moved forward (a stronger reason raised while the conversation waits in the same queue
 * lowers its score; a retried or stale step never pushes a waiting conversation back). */
#include "engine_indexes.h"

#include <stdio.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "store.h"

static void on_step(redisReply *r, void *arg) {
    (void)arg;
    if (r && r->type == REDIS_REPLY_ERROR)
        hilo_log_warn("engine", "event=index_step_failed reply=\"%s\"", hilo_log_value(r->str));
}

/* One command of at most 12 words. */
static int step(hilo_router_ctx_t *ctx, int argc, const char **argv) {
    size_t lens[12];
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    return hilo_store_argv(ctx->store, on_step, NULL, argc, argv, lens);
}

int hilo_engine_indexes_before(hilo_router_ctx_t *ctx, const json_t *effects) {
    const char *debtor = json_string_value(json_object_get(effects, "debtor"));
    if (!debtor) return HILO_OK;
    int sent = 0, tried = 0;
    json_t *q = json_object_get(effects, "queue");
    const char *skill = json_string_value(json_object_get(q, "skill"));
    const char *score = json_string_value(json_object_get(q, "score"));
    char kqueue[HILO_KEY_MAX];
    if (skill && score && hilo_key_queue(kqueue, sizeof kqueue, skill) >= 0) {
        /* The listing of queues first: an entry in a queue no routing pass lists would wait. */
        const char *sadd[] = {"SADD", HILO_KEY_QUEUES, skill};
        const char *zadd[] = {"ZADD", kqueue, "LT", score, debtor};
        tried += 2;
        sent += step(ctx, (int)HILO_ARRAY_LEN(sadd), sadd) == HILO_OK;
        sent += step(ctx, (int)HILO_ARRAY_LEN(zadd), zadd) == HILO_OK;
    }
    const char *id;
    json_t *due;
    json_object_foreach(json_object_get(effects, "due"), id, due) {
        char member[HILO_KEY_MAX];
        const char *ms = json_string_value(due);
        if (!ms || snprintf(member, sizeof member, "%s|%s", debtor, id) >= (int)sizeof member) continue;
        const char *zadd[] = {"ZADD", HILO_KEY_PROMISES_DUE, ms, member};
        tried++;
        sent += step(ctx, (int)HILO_ARRAY_LEN(zadd), zadd) == HILO_OK;
    }
    return tried && !sent ? HILO_ERR : HILO_OK;
}

void hilo_engine_indexes_after(hilo_router_ctx_t *ctx, const json_t *effects) {
    const char *debtor = json_string_value(json_object_get(effects, "debtor"));
    if (!debtor) return;
    hilo_engine_indexes_before(ctx, effects);
    const char *left = json_string_value(json_object_get(effects, "unqueue"));
    char kqueue[HILO_KEY_MAX];
    if (left && *left && hilo_key_queue(kqueue, sizeof kqueue, left) >= 0) {
        const char *zrem[] = {"ZREM", kqueue, debtor};
        step(ctx, (int)HILO_ARRAY_LEN(zrem), zrem);
    }
    const char *agent = json_string_value(json_object_get(effects, "notify"));
    if (agent) {
        const char *kind = json_string_value(json_object_get(effects, "notify_kind"));
        const char *xadd[] = {"XADD", "hilo:console:events", "MAXLEN", "~", "10000", "*", "k",
                              kind ? kind : "escalation", "a", agent, "d", debtor};
        step(ctx, (int)HILO_ARRAY_LEN(xadd), xadd);
    }
}
