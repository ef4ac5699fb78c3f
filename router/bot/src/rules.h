/* rules.h — the collections rules the flow configures (internal to router/bot): how many
 * verification tries, when to give up, what a promise to pay may be, which payment plans
 * a balance gets. Pure arithmetic on integer cents; the turn engine and the tests use it. */
#ifndef HILO_BOT_RULES_H
#define HILO_BOT_RULES_H

#include <stdbool.h>
#include <stdint.h>

#define BOT_PLAN_N_MAX 8 /* instalment counts a flow may offer */
#define BOT_PLAN_MAX (BOT_PLAN_N_MAX + 1) /* options in one offer: the counts + a lump sum */

struct bot_tpl_text;

typedef struct {
    int verify_attempts;               /* wrong digits allowed before verification_failed */
    int verify_ttl_min;                /* a verification lasts this long (0: the whole session) */
    int session_timeout_min;           /* silence this long starts the flow over (0: never) */
    int not_understood_max;            /* consecutive misunderstood turns before bot_failure */
    int64_t promise_min_cents;         /* smallest promise (a smaller balance may be promised whole) */
    int promise_max_days;              /* a promise's date at most this many days ahead */
    int plan_n[BOT_PLAN_N_MAX];        /* instalment counts offered, e.g. 3 6 12 */
    int nplan_n;
    int64_t plan_min_instalment_cents; /* an option whose instalment is smaller is not offered */
    int lump_discount_bp;              /* lump-sum discount in basis points (0: no lump option) */
    int plan_first_due_days;           /* a plan's first instalment is due this many days after
                                        * it is accepted, the next ones monthly */
    struct bot_tpl_text *payment_link; /* URL template; NULL when the flow has no link */
} bot_rules_t;

typedef struct {
    int n;                    /* instalments (1 = lump sum) */
    int64_t instalment_cents; /* each instalment; the last may be smaller */
    int64_t total_cents;      /* what the plan pays in all */
    int discount_bp;          /* lump sum: the discount given */
} bot_plan_option_t;

/* The options a balance gets: the discounted lump sum first (when the flow has a discount),
 * then each instalment count whose instalment, rounded up to the cent, reaches the
 * minimum. Returns how many (0 when the balance is not positive). */
int bot_plan_offer(const bot_rules_t *r, int64_t balance_cents, bot_plan_option_t *out, int max);

typedef enum {
    BOT_PROMISE_OK = 0,
    BOT_PROMISE_AMOUNT_LOW,  /* ≤ 0, or below the minimum */
    BOT_PROMISE_AMOUNT_HIGH, /* above the balance */
    BOT_PROMISE_DATE_PAST,   /* before today */
    BOT_PROMISE_DATE_FAR,    /* after today + promise_max_days */
} bot_promise_check_t;

/* What a new promise or plan may commit: the balance less what pending promises (plan
 * instalments included) already commit of it, never below 0. */
static inline int64_t bot_open_cents(int64_t balance_cents, int64_t committed_cents) {
    return committed_cents > 0 ? (balance_cents > committed_cents ? balance_cents - committed_cents : 0) : balance_cents;
}

/* The smallest amount a debtor may promise: the rule's minimum, or the balance if smaller. */
int64_t bot_promise_min(const bot_rules_t *r, int64_t balance_cents);
bot_promise_check_t bot_promise_check_amount(const bot_rules_t *r, int64_t balance_cents, int64_t amount_cents);
bot_promise_check_t bot_promise_check_date(const bot_rules_t *r, int32_t today, int32_t date);

#endif
