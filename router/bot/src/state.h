/* state.h — the conversation's bot state (internal to router/bot): all the bot remembers
 * between turns, and its JSON form, the string the router keeps in the conv hash field
 * `bot`. Nothing else survives a turn, so a conversation moves freely between channels
 * (a promise begun on WhatsApp is confirmed by SMS) and between router instances. */
#ifndef HILO_BOT_STATE_H
#define HILO_BOT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "flow_int.h"
#include "rules.h"

#define BOT_STATE_VERSION 1

typedef struct {
    char step[BOT_NAME_MAX + 1];        /* current step, "" before the first turn */
    char lang[8];                       /* language chosen by the debtor, "" = the portfolio's */
    bool verified;                      /* right party verified */
    int64_t verified_ms;                /* when (verification expires, see verify_ttl_minutes) */
    int attempts;                       /* wrong verification attempts so far (never reset by time) */
    int misses;                         /* consecutive turns not understood */
    char pending[BOT_NAME_MAX + 1];     /* step asked for before verification, entered after it */
    char subject[8];                    /* what the confirm step confirms: "promise", "plan" or "" */
    int64_t promise_cents;              /* promise being collected: amount, 0 = not yet */
    bool has_promise_date;              /* promise being collected: date known */
    int32_t promise_date;               /* days since 1970-01-01 */
    bot_plan_option_t plan[BOT_PLAN_MAX]; /* the plan options offered (fixed once offered) */
    int nplan;
    int plan_choice;                    /* the chosen option, -1 none */
    char escalated[48];                 /* escalation reason once handed off, "" before */
    int turns;                          /* turns so far */
    int64_t created_ms, updated_ms;     /* first and last turn */
    char channel[12];                   /* channel of the last turn */
} bot_state_t;

void bot_state_init(bot_state_t *st);
/* Returns 0, or -1 (st re-initialized) when json is not a state of this version. */
int bot_state_from_json(const char *json, bot_state_t *st);
/* The caller frees the string. */
char *bot_state_to_json(const bot_state_t *st);

#endif
