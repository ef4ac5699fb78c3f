/* promise_ledger.h — the promise-ledger entries a conversation turn writes when the bot records
 * a promise to pay or a payment plan (docs/promises.md): the ledger JSON, the members of the
 * due index and the audit entries, added to the turn's effects for engine_apply.lua. Pure: no
 * I/O; the engine (engine.c) calls it and applies the effects atomically with the turn. */
#ifndef HILO_PROMISE_LEDGER_H
#define HILO_PROMISE_LEDGER_H

#include <jansson.h>
#include <stdint.h>

#include "hilo/bot.h"
#include "hilo/tz.h"

typedef struct {
    json_t *effects;     /* the turn's effects: "promises", "due" and "audit" are added to */
    int64_t now_ms;      /* the turn's time: ids and created_ms */
    const char *channel; /* where the debtor confirmed */
    const hilo_tz_t *tz; /* the debtor's zone (a due day ends there); NULL: UTC */
} hilo_promise_ledger_t;

/* A promise to pay (HILO_BOT_PROMISE): one entry, due at the end of a->due_date. */
void hilo_promise_ledger_promise(const hilo_promise_ledger_t *l, const hilo_bot_action_t *a);
/* A payment plan (HILO_BOT_PLAN_ACCEPTED): the plan entry and one promise per instalment, the
 * first due on a->due_date, the next ones monthly, the last one what remains of the total. */
void hilo_promise_ledger_plan(const hilo_promise_ledger_t *l, const hilo_bot_action_t *a);

/* The end of day y-m-d in the zone (NULL: UTC), in Unix ms: a promise due that day is kept by
 * a payment made any time on it there, and broken once it is over. */
int64_t hilo_promise_ledger_day_end_ms(const hilo_tz_t *tz, int y, int m, int d);

/* The date `months` months after y-m-d: the same day or, in a shorter month, its last day. */
void hilo_promise_ledger_add_months(int y, int m, int d, int months, int *oy, int *om, int *od);

#endif
