/* bot.h — the self-service collections bot: one inbound turn in, one decision out. Pure:
 * no Redis, ZeroMQ or clock. The router's conversation engine passes the debtor record and
 * the conv hash field `bot` (the state) to hilo_bot_turn(), then atomically stores
 * result->state and commits the replies and actions. The result owns all it points to (free
 * it with hilo_bot_result_destroy()). No debt detail is ever rendered before verification:
 * the flow loader and the renderer both refuse (docs/bot-flow.md). */
#ifndef HILO_BOT_H
#define HILO_BOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo/bot_flow.h"

/* The channel of the turn: picks template variants (voice menus say "press 1") and
 * whether reply buttons are offered (WhatsApp only). */
typedef enum {
    HILO_BOT_CH_OTHER = 0,
    HILO_BOT_CH_WHATSAPP,
    HILO_BOT_CH_SMS,
    HILO_BOT_CH_VOICE,
} hilo_bot_channel_t;

/* The debtor's portfolio record, as imported (see DESIGN.md, the collections domain).
 * Pass NULL to hilo_bot_turn() for an unidentified sender (no record; id "u:<E.164>"). */
typedef struct {
    const char *debtor_id;      /* portfolio id; NULL, "" or "u:…" means unidentified */
    const char *full_name;      /* "María Pérez" ({name}; {first_name} is its first word) */
    const char *document_last4; /* the 4 digits verification asks for; anything else: never verifiable */
    int64_t balance_cents;      /* outstanding balance in cents (hilo_bot_parse_amount() reads "1234.56") */
    const char *currency;       /* ISO 4217 code, "MXN" */
    int days_past_due;          /* from the portfolio */
    const char *language;       /* portfolio language, "es" or "en" ("es-MX" reads as "es") */
    int broken_promises;        /* broken promises so far (promise ledger) */
    const char *segment;        /* portfolio segment, copied into escalations; NULL or "" */
    const char *payment_token;  /* opaque token for {token} in the payment link; NULL or "" */
    int64_t committed_cents;    /* pending promises (plan instalments included) in the balance's currency:
                                   new promises and plans only commit what the balance leaves over them */
} hilo_bot_debtor_t;

/* One inbound turn. A turn with no text, digits or button (a voice call start, a photo)
 * just (re)states the current prompt. */
typedef struct {
    hilo_bot_channel_t channel; /* where the turn came from (and the replies go) */
    const char *text;           /* typed text, or the speech transcript on voice; NULL if none */
    const char *digits;         /* DTMF digits (voice gather); NULL if none */
    const char *button;         /* payload of a pressed reply button (an intent name); NULL if none */
    int64_t now_ms;             /* wall clock, Unix ms (verification and session expiry) */
    const char *today;          /* "YYYY-MM-DD" in the debtor's time zone, computed by the caller;
                                   NULL or malformed: the UTC date of now_ms */
} hilo_bot_input_t;

typedef enum {
    HILO_BOT_VERIFIED = 1,           /* right party verified */
    HILO_BOT_VERIFY_FAILED_ATTEMPT,  /* wrong digits: attempt of max_attempts */
    HILO_BOT_PROMISE,                /* promise to pay: amount_cents, currency, due_date */
    HILO_BOT_PLAN_ACCEPTED,          /* instalments x amount_cents (total_cents, discount_bp) */
    HILO_BOT_ESCALATE,               /* hand to a human: reason, skill, priority… */
    HILO_BOT_OPTOUT,                 /* the debtor asked not to be contacted (the compliance module decides) */
    HILO_BOT_PAYMENT_LINK,           /* a reply carries the payment link `url` */
} hilo_bot_action_kind_t;

typedef struct {
    hilo_bot_action_kind_t kind;
    int attempt;          /* VERIFY_FAILED_ATTEMPT: 1-based */
    int max_attempts;     /* VERIFY_FAILED_ATTEMPT: the flow's limit */
    int64_t amount_cents; /* PROMISE: the amount; PLAN_ACCEPTED: one instalment */
    int64_t total_cents;  /* PLAN_ACCEPTED: what the plan pays in all (after any discount) */
    int instalments;      /* PLAN_ACCEPTED: number of instalments, 1 = lump sum */
    int discount_bp;      /* PLAN_ACCEPTED: discount in basis points (1000 = 10%) */
    char currency[8];     /* PROMISE, PLAN_ACCEPTED: the debtor's currency */
    char due_date[11];    /* PROMISE: YYYY-MM-DD; PLAN_ACCEPTED: the first instalment's (then monthly) */
    char *reason;         /* ESCALATE: requested_agent, verification_failed, bot_failure, portfolio_rule, dispute… */
    char *detail;         /* ESCALATE: the escalation, intent or portfolio rule behind it */
    char *topic;          /* ESCALATE: collections, dispute, hardship, legal… */
    char *language;       /* ESCALATE: the conversation's language */
    char *skill;          /* ESCALATE: "<language>.<topic>", e.g. "es.dispute" */
    char *segment;        /* ESCALATE: the debtor's portfolio segment, "" if none */
    int priority;         /* ESCALATE: 0..100, higher is more urgent */
    char *url;            /* PAYMENT_LINK */
} hilo_bot_action_t;

typedef struct {
    char *id;    /* payload: the intent name, fed back as hilo_bot_input_t.button */
    char *title; /* what the button says (≤ 20 characters, WhatsApp's limit) */
} hilo_bot_button_t;

typedef struct {
    char **replies;             /* rendered texts in the conversation's language, in order */
    size_t nreplies;
    hilo_bot_button_t *buttons; /* reply buttons for the last reply (WhatsApp only), ≤ 3 */
    size_t nbuttons;
    hilo_bot_action_t *actions; /* in the order they happened */
    size_t nactions;
    char *state;                /* the new bot state (JSON): store it in the conv hash field `bot` */
    char *step;                 /* the step the conversation is in now (logs, metrics) */
    char *language;             /* the conversation's language now */
    int keys;                   /* DTMF keys that make one answer to the step now waiting: 1 when
                                   it is a menu or a confirmation (each choice is one key: a voice
                                   gather ends on the key, no '#'), 0 for free-form entry (the
                                   document's digits, an amount, a date) ended by '#' or a pause */
    bool verified;              /* right party verified (after this turn) */
    bool handoff;               /* escalated: a human owns the conversation; later turns only get
                                   the flow's "waiting" reply until the router clears the state */
    bool state_reset;           /* the stored state was unreadable and was replaced (log it) */
} hilo_bot_result_t;

/* Runs one turn. `state` is the stored bot state (NULL or "" for a new conversation).
 * Never fails on input: a bad state string starts over (state_reset), unknown text is
 * "not understood". Asserts only on programmer errors (flow or in NULL). */
hilo_bot_result_t *hilo_bot_turn(const hilo_flow_t *flow, const hilo_bot_debtor_t *debtor,
                                 const char *state, const hilo_bot_input_t *in);

/* An escalation the flow's intents find in a text. The strings belong to the flow. */
typedef struct {
    const char *reason; /* what the agent sees: "legal_threat", "complaint"… */
    const char *detail; /* the intent that named it */
    const char *topic;  /* the skill topic: the queue is "<language>.<topic>" */
    int priority;       /* 0..100 */
} hilo_bot_named_escalation_t;

/* The strongest escalation (highest priority) the text names through the flow's intents
 * ("I'll sue you": legal_threat), without running a turn: the router asks it when a person
 * already holds the conversation, so a reason stronger than the one it was escalated for
 * (a portfolio rule, "talk to a person") is not lost. Returns false when it names none. */
bool hilo_bot_escalation_named(const hilo_flow_t *flow, const char *text, hilo_bot_named_escalation_t *out);

/* Accepts NULL; nulls the caller's pointer. */
void hilo_bot_result_destroy(hilo_bot_result_t **self_p);

/* The result as JSON (replies, buttons, actions, step, language, verified, handoff), for
 * the history and for tests. The caller frees the string. */
char *hilo_bot_result_json(const hilo_bot_result_t *self);

/* "verified", "verification_failed_attempt", "promise", "plan_accepted", "escalate",
 * "optout", "payment_link". */
const char *hilo_bot_action_name(hilo_bot_action_kind_t kind);

/* Reads a portfolio amount ("1234.56", "1,234.56", "1.234,56", "$150") into cents.
 * Returns HILO_OK or HILO_ERR. */
int hilo_bot_parse_amount(const char *s, int64_t *cents);

/* Texts the router says itself, outside a bot turn. They are the flow's templates (named in
 * docs/bot-flow.md), so they exist in every language the flow declares, per channel. */
typedef enum {
    HILO_BOT_TEXT_OPTOUT_KEYWORD = 0, /* [template optout_keyword]: STOP / BAJA confirmed */
    HILO_BOT_TEXT_OPTIN_KEYWORD,      /* [template optin_keyword]: START / ALTA confirmed */
} hilo_bot_text_t;

/* The flow language a language tag names ("es", "es-MX" → "es"), or the flow's default
 * language when lang is NULL, empty or not one of the flow's. The string is the flow's. */
const char *hilo_flow_language(const hilo_flow_t *flow, const char *lang);

/* Renders text `which` in hilo_flow_language(flow, lang) for `channel` (the template's
 * .sms/.whatsapp/.voice variant, else its plain text). The loader made sure these templates
 * exist and are public (no debt detail). Returns a string the caller frees. */
char *hilo_bot_text(const hilo_flow_t *flow, hilo_bot_text_t which, const char *lang, hilo_bot_channel_t channel);

/* "whatsapp", "sms", "voice" → the channel; anything else → HILO_BOT_CH_OTHER. */
hilo_bot_channel_t hilo_bot_channel_parse(const char *name);

/* The flow's payment link ([rules] payment_link) for a verified debtor, for amount_cents (<= 0:
 * the balance); the caller frees it. NULL when the flow has no link. Used by the console, which
 * decides verification itself (router/src/console/payment_link.c). */
char *hilo_bot_payment_link(const hilo_flow_t *flow, const hilo_bot_debtor_t *debtor, int64_t amount_cents);

#endif
