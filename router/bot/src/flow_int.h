/* flow_int.h — what a loaded flow holds, shared by the loader (flow.c), the renderer
 * (render.c) and the turn engine (bot.c). Internal to router/bot. Everything is resolved at
 * load: names become indexes, phrases are folded, templates are split into literal text and
 * variables, so a turn never parses anything of the flow again. */
#ifndef HILO_BOT_FLOW_INT_H
#define HILO_BOT_FLOW_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "hilo/bot_flow.h"
#include "rules.h"
#include "text.h"

#define BOT_LANG_MAX 8
#define BOT_NAME_MAX 48     /* names of steps, intents, templates, escalations */
#define BOT_BUTTONS_MAX 3   /* WhatsApp's reply buttons */
#define BOT_BUTTON_TITLE_MAX 20
#define BOT_DIGIT_SLOTS 12  /* '0'..'9', '*', '#' */

/* Template variants by channel: a voice prompt says "marque 1", a text one "responda 1". */
enum { BOT_VARIANT_TEXT = 0, BOT_VARIANT_WHATSAPP, BOT_VARIANT_SMS, BOT_VARIANT_VOICE, BOT_VARIANT_N };

typedef struct {
    bool is_var; /* a variable, else literal text */
    int var;     /* BOT_V_* */
    char *lit;   /* the literal text */
} bot_tpl_part_t;

typedef struct bot_tpl_text {
    bot_tpl_part_t *parts;
    int n;
} bot_tpl_text_t;

typedef struct {
    char *name;
    int line;
    uint64_t uses;       /* bit per BOT_V_* used in any text */
    bool private_;       /* shows debt or identity details: rendered only for a verified debtor */
    int private_var;     /* the variable that makes it private, -1 for "private = yes" */
    bot_tpl_text_t *text[BOT_LANG_MAX][BOT_VARIANT_N]; /* [lang][TEXT] always set */
} bot_template_t;

typedef enum { BOT_DO_NONE = 0, BOT_DO_GOTO, BOT_DO_ESCALATE, BOT_DO_OPTOUT, BOT_DO_LANGUAGE } bot_do_t;

typedef struct {
    char *name;
    int line;
    bot_pattern_t *pats;          /* every language's phrases, in file order */
    int npats;
    char *label[BOT_LANG_MAX];    /* button and menu text, NULL when not given */
    bot_do_t act;                 /* what matching it does anywhere in the flow */
    int target;                   /* step, escalation or language index for act */
} bot_intent_t;

typedef enum {
    BOT_STEP_MENU = 0, /* waits for an intent */
    BOT_STEP_VERIFY,   /* asks for the document's last 4 digits */
    BOT_STEP_SAY,      /* says its prompt and goes on to next */
    BOT_STEP_END,      /* says its prompt; the next turn starts at next */
    BOT_STEP_PROMISE,  /* collects a promise's amount and date */
    BOT_STEP_PLAN,     /* offers payment plans, takes a choice */
    BOT_STEP_CONFIRM,  /* yes/no on the pending promise or plan */
} bot_step_kind_t;

typedef struct {
    char *name;
    int line;
    bot_step_kind_t kind;
    bool public_;                      /* may be entered before verification */
    int prompt;                        /* template */
    int next, confirm, yes, no;        /* steps, -1 = none */
    int confirm_line;                  /* where confirm is set (load errors) */
    int digit_intent[BOT_DIGIT_SLOTS]; /* by bot_digit_slot(), -1 = none */
    char digit_order[BOT_DIGIT_SLOTS + 1]; /* mapped digits in file order: {menu} lists them so */
    int buttons[BOT_BUTTONS_MAX];      /* intents */
    int nbuttons;
} bot_step_t;

#define BOT_CURRENCIES_MAX 32 /* balance thresholds one portfolio rule may give */

typedef struct {
    char code[4];      /* ISO 4217, "USD" */
    int64_t min_cents; /* the rule holds from this balance up, in that currency's hundredths */
} bot_money_min_t;

typedef struct {
    char *name;
    int line;
    char *reason;      /* what the agent sees */
    char *topic;       /* skill topic */
    int priority;      /* 0..100 */
    int reply;         /* template said to the debtor */
    /* portfolio rules only: every condition given must hold */
    bool has_dpd, has_broken;
    bot_money_min_t balance_min[BOT_CURRENCIES_MAX]; /* balance_min.<CUR>: one per currency */
    int nbalance_min;  /* 0: no balance condition */
    int dpd_min, broken_min;
} bot_escalation_t;

typedef struct {
    char code[8];   /* "es" */
    char decimal;   /* ',' */
    char thousands; /* '.', or 0 for none */
    bool mdy;       /* "05/12" is May 12 */
} bot_lang_t;

/* Templates the engine says by name. */
enum {
    BT_NOT_UNDERSTOOD = 0, BT_WAITING, BT_OPTOUT, BT_LANGUAGE, BT_NEEDS_VERIFICATION,
    BT_VERIFY_OK, BT_VERIFY_RETRY, BT_VERIFY_FORMAT,
    BT_PROMISE_NEED_AMOUNT, BT_PROMISE_NEED_DATE, BT_PROMISE_AMOUNT_LOW, BT_PROMISE_AMOUNT_HIGH,
    BT_PROMISE_DATE_PAST, BT_PROMISE_DATE_FAR, BT_PROMISE_DATE_INVALID,
    BT_PLAN_LINE, BT_PLAN_LINE_LUMP, BT_PLAN_NONE, BT_ALL_COMMITTED, BT_MENU_ITEM, BT_WELCOME,
    BT_OPTOUT_KEYWORD, BT_OPTIN_KEYWORD, /* said by the router, not a turn (hilo_bot_text) */
    BT__N
};

struct hilo_flow {
    char *path;
    bot_lang_t langs[BOT_LANG_MAX];
    int nlangs;
    int default_lang;
    char *company;               /* {company} */
    int start;                   /* first step of an identified debtor's conversation */
    int after_verify;            /* where verification leads when nothing was pending */
    int verify;                  /* the verification step */
    int unidentified;            /* step for senders with no portfolio record */
    int unidentified_escalation; /* or, when ≥ 0, escalate them at once */
    int promise_step;            /* where an amount + date typed anywhere goes, -1 none */
    int intent_yes, intent_no;   /* for confirm steps, -1 when absent */
    int esc_verification_failed, esc_bot_failure;
    bot_rules_t rules;
    int tpl[BT__N];              /* well-known templates, -1 when absent */
    bot_template_t *tpls;
    int ntpls;
    bot_intent_t *intents;       /* file order = match priority */
    int nintents;
    bot_step_t *steps;
    int nsteps;
    bot_escalation_t *escs;
    int nescs;
    bot_escalation_t *pfrules;   /* portfolio rules, file order */
    int npfrules;
};

/* '0'..'9' → 0..9, '*' → 10, '#' → 11, else -1. */
static inline int bot_digit_slot(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c == '*' ? 10 : c == '#' ? 11 : -1;
}

#endif
