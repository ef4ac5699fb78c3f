/* turn.h — one turn in progress (internal to router/bot): what bot.c (the turn driver:
 * intents, steps, escalations) and collect.c (what steps collect: the verification digits,
 * a promise, a plan choice, a yes or no) share. Lives only during hilo_bot_turn(). */
#ifndef HILO_BOT_TURN_H
#define HILO_BOT_TURN_H

#include <stdbool.h>
#include <stdint.h>

#include "flow_int.h"
#include "hilo/bot.h"
#include "state.h"
#include "text.h"

typedef struct {
    const hilo_flow_t *f;
    const hilo_bot_debtor_t *d;  /* never NULL: an empty record for the unidentified */
    bool identified;             /* a portfolio record: verification is possible */
    const hilo_bot_input_t *in;
    bot_state_t *st;
    hilo_bot_result_t *res;
    int lang;                    /* flow language index */
    int variant;                 /* BOT_VARIANT_* for the channel */
    int32_t today;
    int cur;                     /* current step index (st->step) */
    int prev_misses;             /* misses before this turn; a miss makes it prev + 1 */
    bool first;                  /* the conversation's first turn */
    bool new_session;            /* the previous session timed out: this turn starts a new one */
    bool soft;                   /* not understood only re-prompts (first turn, re-verification) */
    bool redirected;             /* sent back to verification at the start of this turn */
    bool clear_subject;          /* a promise/plan was committed: forget it when the turn ends */
    bool link_sent;              /* the payment_link action is in the result */
    bool bad_date;               /* the text had a date that does not exist */
    bool zero_amount;            /* the text had an amount of 0 */
    bool reoffer;                /* back at the plans from "no" at confirmation: options were seen */
    int digits_found;            /* verify step: digits seen in the input */
    int depth;                   /* steps entered this turn */
    bool has_text;
    const char *text;
    bot_words_t words;           /* the text, folded, for intent matching */
    char dtmf[16];               /* DTMF digits without the terminating '#' */
} turn_t;

/* bot.c */
bool bot_verified(const turn_t *t);              /* identified and verified */
hilo_bot_action_t *bot_push_action(turn_t *t, hilo_bot_action_kind_t kind);
void bot_say(turn_t *t, int tpl);                /* renders and appends a reply (-1: nothing) */
void bot_prompt(turn_t *t, int step);            /* the step's prompt, with its buttons */
void bot_enter(turn_t *t, int step, bool consume); /* consume: the step may read the turn's text */
void bot_escalate(turn_t *t, const bot_escalation_t *e, const char *detail);
void bot_forget_subject(bot_state_t *st);        /* drops a half-collected promise or plan choice */
bool bot_intent_matches(const turn_t *t, int intent);

/* collect.c */
bool bot_take_promise_text(turn_t *t);           /* true when the text held an amount or a date */
void bot_promise_progress(turn_t *t);
void bot_offer_plan(turn_t *t, bool consume);
int bot_plan_pick(turn_t *t, bool entering);
void bot_choose_plan(turn_t *t, int option);
bool bot_capture_verify(turn_t *t);              /* true when the turn was a verification answer */
bool bot_capture_confirm(turn_t *t, int picked); /* true when the turn was a yes or a no */

#endif
