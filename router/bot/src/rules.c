/* rules.c — payment-plan arithmetic and promise validation. */
#include "rules.h"

int bot_plan_offer(const bot_rules_t *r, int64_t balance, bot_plan_option_t *out, int max) {
    int n = 0;
    if (balance <= 0) return 0;
    if (r->lump_discount_bp > 0 && n < max) {
        /* The discount is rounded down: the debtor never pays more than the stated percent off. */
        int64_t discount = balance * r->lump_discount_bp / 10000;
        out[n++] = (bot_plan_option_t){1, balance - discount, balance - discount, r->lump_discount_bp};
    }
    for (int i = 0; i < r->nplan_n && n < max; i++) {
        int k = r->plan_n[i];
        int64_t instalment = (balance + k - 1) / k; /* rounded up: k instalments cover it all */
        if (instalment < r->plan_min_instalment_cents) continue;
        out[n++] = (bot_plan_option_t){k, instalment, balance, 0};
    }
    return n;
}

int64_t bot_promise_min(const bot_rules_t *r, int64_t balance) {
    return balance < r->promise_min_cents ? balance : r->promise_min_cents;
}

bot_promise_check_t bot_promise_check_amount(const bot_rules_t *r, int64_t balance, int64_t amount) {
    if (amount <= 0 || amount < bot_promise_min(r, balance)) return BOT_PROMISE_AMOUNT_LOW;
    if (amount > balance) return BOT_PROMISE_AMOUNT_HIGH;
    return BOT_PROMISE_OK;
}

bot_promise_check_t bot_promise_check_date(const bot_rules_t *r, int32_t today, int32_t date) {
    if (date < today) return BOT_PROMISE_DATE_PAST;
    if (date > today + r->promise_max_days) return BOT_PROMISE_DATE_FAR;
    return BOT_PROMISE_OK;
}
