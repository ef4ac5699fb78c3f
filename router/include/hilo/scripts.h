/* scripts.h — the Lua scripts of router/lua/, embedded at build time (router/lua/embed.cmake).
 * Each is loaded with SCRIPT LOAD on every (re)connect and run with EVALSHA. */
#ifndef HILO_SCRIPTS_H
#define HILO_SCRIPTS_H

extern const char hilo_script_commit_inbound[];  /* dedupe + history + state, one debtor */
extern const char hilo_script_commit_outbound[]; /* outbound item + the debtor's queue */
extern const char hilo_script_outbox_index[];    /* the partitioned dispatch index: claim, set_if */
extern const char hilo_script_outbox_migrate[];  /* an older router's index entry -> the debtor's queue */
extern const char hilo_script_outbound_handoff[]; /* one debtor's queue: peek, take, cancel, release */
extern const char hilo_script_settle_outbound[]; /* delivery report: status, unpend */
extern const char hilo_script_engine_apply[];    /* one conversation turn's effects, rev-checked */
extern const char hilo_script_freq_cap[];        /* rolling-window contact cap, one channel */
extern const char hilo_script_payment_apply[];   /* imported payment: dedupe, keep promises it covers */
extern const char hilo_script_promise_break[];   /* a due promise still pending becomes broken */
extern const char hilo_script_strategy_read[]; /* what the strategy runner reads about a debtor */
extern const char hilo_script_strategy_set[];  /* the runner's decision, compare-and-set */
extern const char hilo_script_pacing[];          /* one sender's send slots (GCRA) */
extern const char hilo_script_optimizer_cell[]; /* add counts into one optimizer cell's model */
extern const char hilo_script_schema_stamp[];    /* the data's schema version, compare-and-set */
extern const char hilo_script_turn_claim[];      /* lease due entries of the pending-turns index */

#endif
