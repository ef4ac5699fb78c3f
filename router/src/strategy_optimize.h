/* strategy_optimize.h — the contact optimizer in the strategy runner (docs/optimizer.md, "In the
 * router"): a `channel = best` / `hours = best` step asks it which channel and hour bucket, among
 * what the gate and the debtor's consent allow at that instant; results credit the arm through
 * the debtor's 16-byte credit. Called by strategy_run.c only. Owns the per-router cache of the
 * segment cells' models (refreshed once per sweep) and the pool built from them; the decision
 * itself reads only that cache (no Redis round trip). */
#ifndef HILO_STRATEGY_OPTIMIZE_H
#define HILO_STRATEGY_OPTIMIZE_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hilo/compliance.h"
#include "hilo/optimizer.h"
#include "hilo/strategy.h"
#include "hilo/tz.h"
#include "store.h"

typedef struct hilo_strategy_opt hilo_strategy_opt_t;

#define HILO_SOPT_CELL_MAX 120 /* a cell's name: 1-120 of A-Z a-z 0-9 . _ : + - */
#define HILO_SOPT_LOOK_CELLS 2 /* cells one look may add counts to (the credit's, the decision's) */

/* What one look of the runner does with the optimizer: the debtor's credit (conv opt_credit) and
 * the counts it adds to cells, written after the debtor's own step (DESIGN.md: the debtor first,
 * then the cell; a crash between the two loses a count, never doubles one). */
typedef struct {
    hilo_opt_credit_t credit;  /* as read, then as it becomes */
    bool changed;              /* write the credit back */
    char hex[2 * HILO_OPT_CREDIT_BYTES + 1]; /* what to write ("" = unchanged) */
    int ncells;
    struct {
        char name[HILO_SOPT_CELL_MAX + 1];
        hilo_opt_cell_t base, work; /* the cached model when first touched, and with this look's counts */
    } cell[HILO_SOPT_LOOK_CELLS];
    json_t *audit;             /* credits made in this look (array), NULL when none */
} hilo_strategy_opt_look_t;

/* What the runner asks about one step of one debtor. */
typedef struct {
    const hilo_compliance_t *gate;
    const hilo_strategy_facts_t *f;
    const hilo_tz_t *tz;
    const hilo_strategy_t *st;
    const hilo_strategy_step_t *step;
    int64_t from_ms;           /* the step is due (<= now) */
    int prior_arm;             /* an arm chosen before for this step (st due, why "opt:<arm>"), else -1 */
} hilo_strategy_opt_ask_t;

typedef struct {
    int arm;                   /* -1: nothing allowed */
    int channel;               /* HILO_CHANNEL_* of the arm */
    int64_t at_ms;             /* the arm's first instant the gate allows */
    bool reused;               /* the prior arm, still allowed: no new decision */
    hilo_opt_decision_t d;
    json_t *audit;             /* the decision for the debtor's audit (owned by the caller) */
} hilo_strategy_opt_pick_t;

hilo_strategy_opt_t *hilo_strategy_opt_new(hilo_store_t *store);
void hilo_strategy_opt_destroy(hilo_strategy_opt_t **self_p);
/* Once per sweep: the cells' index and every model, pipelined; the pool is rebuilt when all are in. */
void hilo_strategy_opt_refresh(hilo_strategy_opt_t *o);

/* The debtor's segment cell: dpd bucket . balance bucket . country . language . product. */
void hilo_strategy_opt_cell_of(const hilo_strategy_facts_t *f, char *out, size_t len);
bool hilo_strategy_opt_holdout(const hilo_strategy_opt_t *o, const char *debtor_id);

/* Starts a look: the debtor's credit from conv opt_credit (NULL: none). */
void hilo_strategy_opt_look_start(hilo_strategy_opt_look_t *ol, const char *credit_hex);
void hilo_strategy_opt_look_free(hilo_strategy_opt_look_t *ol);
/* The results since the last decision (reply, promise, payment with amount, opt-out, dispute)
 * credited to its arm and week, each kind once, within the window. */
void hilo_strategy_opt_results(hilo_strategy_opt_t *o, hilo_strategy_opt_look_t *ol, const hilo_strategy_facts_t *f,
                               const redisReply *promises, const redisReply *payments, int64_t now_ms);
/* Chooses among the allowed arms (holdout debtors do not come here). */
void hilo_strategy_opt_choose(hilo_strategy_opt_t *o, const hilo_strategy_opt_ask_t *ask, int64_t now_ms,
                              hilo_strategy_opt_pick_t *pk);
/* The step goes out now: counts the decision (arm < 0: a holdout send) on the debtor's cell and
 * starts its credit; a new week (7 days since the last) is counted for the uplift. */
void hilo_strategy_opt_sent(hilo_strategy_opt_t *o, hilo_strategy_opt_look_t *ol, const hilo_strategy_facts_t *f,
                            const hilo_opt_decision_t *d, bool holdout, int64_t now_ms);
/* After the debtor's write succeeded: one script per touched cell (its own slot), the cell added
 * to the index the first time this router sees it. */
void hilo_strategy_opt_flush(hilo_strategy_opt_t *o, hilo_strategy_opt_look_t *ol);

#endif
