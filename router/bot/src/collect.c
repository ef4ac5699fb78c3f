/* collect.c — what steps collect from a debtor's words: the verification digits (compared
 * in constant time), a promise's amount and date (checked against the flow's rules, errors
 * explained, the missing part asked for), a payment plan choice, and a confirmation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "flow_int.h"
#include "hilo/bot.h"
#include "rules.h"
#include "state.h"
#include "turn.h"

/* ---- promises --------------------------------------------------------------------------- */

bool bot_take_promise_text(turn_t *t) {
    if (!t->has_text) return false;
    bot_promise_text_t p;
    bot_extract_promise(t->text, t->f->langs[t->lang].mdy ? BOT_MDY : BOT_DMY, t->today, &p);
    bot_state_t *st = t->st;
    if (p.has_amount && p.amount_cents > 0) st->promise_cents = p.amount_cents;
    if (p.has_amount && p.amount_cents <= 0) t->zero_amount = true;
    if (!p.has_amount && p.full) st->promise_cents = bot_open_cents(t->d->balance_cents, t->d->committed_cents);
    if (p.has_date) {
        st->has_promise_date = true;
        st->promise_date = p.date;
    }
    if (p.bad_date) st->has_promise_date = false; /* a new date was meant, even if unreadable */
    t->bad_date = p.bad_date;
    return p.has_amount || p.full || p.has_date || p.bad_date;
}

static void commit_promise(turn_t *t) {
    hilo_bot_action_t *a = bot_push_action(t, HILO_BOT_PROMISE);
    a->amount_cents = t->st->promise_cents;
    bot_date_iso(t->st->promise_date, a->due_date);
    t->clear_subject = true;
}

/* Pending promises already commit the whole balance: nothing more may be promised or planned
 * (docs/promises.md). Says so ([template all_committed], else `otherwise`) and moves on. */
static bool all_committed(turn_t *t, int otherwise) {
    const hilo_bot_debtor_t *d = t->d;
    if (d->committed_cents <= 0 || bot_open_cents(d->balance_cents, d->committed_cents) > 0) return false;
    bot_say(t, t->f->tpl[t->f->tpl[BT_ALL_COMMITTED] >= 0 ? BT_ALL_COMMITTED : otherwise]);
    t->st->promise_cents = 0;
    t->st->has_promise_date = false;
    bot_forget_subject(t->st);
    bot_enter(t, t->f->steps[t->cur].next, false);
    return true;
}

/* Checks what has been collected, explains what is wrong (and drops it), asks for what is
 * missing, or — both parts valid — moves on to confirmation. Error templates re-ask. The
 * amount is checked against what the balance leaves over pending promises. */
void bot_promise_progress(turn_t *t) {
    const hilo_flow_t *f = t->f;
    bot_state_t *st = t->st;
    bool said = false;
    if (all_committed(t, BT_PROMISE_AMOUNT_HIGH)) return;
    if (t->bad_date) {
        bot_say(t, f->tpl[BT_PROMISE_DATE_INVALID]);
        said = true;
    }
    if (t->zero_amount) {
        bot_say(t, f->tpl[BT_PROMISE_AMOUNT_LOW]);
        said = true;
    }
    if (st->promise_cents > 0) {
        bot_promise_check_t c = bot_promise_check_amount(
            &f->rules, bot_open_cents(t->d->balance_cents, t->d->committed_cents), st->promise_cents);
        if (c != BOT_PROMISE_OK) {
            bot_say(t, f->tpl[c == BOT_PROMISE_AMOUNT_LOW ? BT_PROMISE_AMOUNT_LOW : BT_PROMISE_AMOUNT_HIGH]);
            st->promise_cents = 0;
            said = true;
        }
    }
    if (st->has_promise_date) {
        bot_promise_check_t c = bot_promise_check_date(&f->rules, t->today, st->promise_date);
        if (c != BOT_PROMISE_OK) {
            bot_say(t, f->tpl[c == BOT_PROMISE_DATE_PAST ? BT_PROMISE_DATE_PAST : BT_PROMISE_DATE_FAR]);
            st->has_promise_date = false;
            said = true;
        }
    }
    t->bad_date = t->zero_amount = false;
    bool amount = st->promise_cents > 0, date = st->has_promise_date;
    const bot_step_t *s = &f->steps[t->cur];
    if (amount && date) {
        if (s->confirm >= 0) {
            bot_enter(t, s->confirm, false);
        } else {
            commit_promise(t);
            bot_enter(t, s->next, false);
        }
        return;
    }
    if (said) return;
    if (amount)
        bot_say(t, f->tpl[BT_PROMISE_NEED_DATE]);
    else if (date)
        bot_say(t, f->tpl[BT_PROMISE_NEED_AMOUNT]);
    else
        bot_prompt(t, t->cur);
}

/* ---- plans ------------------------------------------------------------------------------ */

static void commit_plan(turn_t *t) {
    const bot_plan_option_t *o = &t->st->plan[t->st->plan_choice];
    hilo_bot_action_t *a = bot_push_action(t, HILO_BOT_PLAN_ACCEPTED);
    a->instalments = o->n;
    a->amount_cents = o->instalment_cents;
    a->total_cents = o->total_cents;
    a->discount_bp = o->discount_bp;
    bot_date_iso(t->today + t->f->rules.plan_first_due_days, a->due_date);
    t->clear_subject = true;
}

/* Whether the promise or plan being confirmed still fits what the balance leaves over the
 * pending promises: a promise made elsewhere since it was offered (an agent's, another
 * channel's) may have taken part of it. A plan fits when the offer on today's open amount
 * still holds the very same option. */
static bool still_fits(turn_t *t, bool plan) {
    int64_t open = bot_open_cents(t->d->balance_cents, t->d->committed_cents);
    if (!plan) return t->st->promise_cents <= open;
    const bot_plan_option_t *o = &t->st->plan[t->st->plan_choice];
    bot_plan_option_t now[BOT_PLAN_MAX];
    int n = bot_plan_offer(&t->f->rules, open, now, BOT_PLAN_MAX);
    for (int i = 0; i < n; i++)
        if (now[i].n == o->n && now[i].instalment_cents == o->instalment_cents && now[i].total_cents == o->total_cents &&
            now[i].discount_bp == o->discount_bp)
            return true;
    return false;
}

static bool has_word(const bot_words_t *w, const char *const *list) {
    for (int i = 0; i < w->n; i++)
        for (const char *const *l = list; *l; l++)
            if (strcmp(w->w[i], *l) == 0) return true;
    return false;
}

/* The option the input names: "6 cuotas" by count, "2"/"opción 2"/DTMF 2 by number, "pago
 * único"/"lump sum" the discounted one. -1 when none. entering: the text that led to the plan
 * step ("¿me hacen un descuento?") only chooses by an explicit count ("en 6 cuotas"); the
 * debtor has not seen the options yet. */
int bot_plan_pick(turn_t *t, bool entering) {
    static const char *const LUMP[] = {"unico", "contado", "lump", "single", "descuento", "discount",
                                       "liquidar", "settle", NULL};
    const bot_state_t *st = t->st;
    int o = -1;
    if (t->dtmf[0]) {
        if (bot_all_digits(t->dtmf) && strlen(t->dtmf) <= 2) o = atoi(t->dtmf);
    } else if (t->has_text) {
        int count = bot_extract_count(t->text);
        for (int i = 0; count > 0 && i < st->nplan; i++)
            if (st->plan[i].n == count) return i;
        if (entering) return -1;
        if (st->nplan > 0 && st->plan[0].discount_bp > 0 && has_word(&t->words, LUMP)) return 0;
        o = bot_extract_option(t->text);
    }
    return o >= 1 && o <= st->nplan ? o - 1 : -1;
}

void bot_choose_plan(turn_t *t, int option) {
    const bot_step_t *s = &t->f->steps[t->cur];
    t->st->plan_choice = option;
    if (s->confirm >= 0) {
        bot_enter(t, s->confirm, false);
    } else {
        commit_plan(t);
        bot_enter(t, s->next, false);
    }
}

void bot_offer_plan(turn_t *t, bool consume) {
    bot_state_t *st = t->st;
    const bot_step_t *s = &t->f->steps[t->cur];
    if (all_committed(t, BT_PLAN_NONE)) return;
    st->nplan = bot_plan_offer(&t->f->rules, bot_open_cents(t->d->balance_cents, t->d->committed_cents), st->plan,
                               BOT_PLAN_MAX);
    bot_forget_subject(st);
    if (st->nplan == 0) {
        bot_say(t, t->f->tpl[BT_PLAN_NONE]);
        bot_enter(t, s->next, false);
        return;
    }
    snprintf(st->subject, sizeof st->subject, "plan");
    int o = consume ? bot_plan_pick(t, !t->reoffer) : -1;
    if (o >= 0)
        bot_choose_plan(t, o);
    else
        bot_prompt(t, t->cur);
}

/* ---- verification ------------------------------------------------------------------------- */

/* Compares without an early exit, so timing says nothing about how many digits were right. */
static bool same_digits(const char *a, const char *b, size_t n) {
    unsigned diff = 0;
    for (size_t i = 0; i < n; i++) diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

/* The digits of a verification answer: DTMF, or a text made only of digits, spoken digits
 * and words like "mis últimos dígitos son" — so "pago 200 el 15/12" is never an attempt. */
static int verify_digits(const turn_t *t, char *out, size_t outlen) {
    static const char *const FILLERS[] = {
        "mi", "mis", "los", "las", "el", "la", "son", "es", "ultimos", "ultimas", "digitos", "numeros", "numero",
        "del", "de", "documento", "identidad", "dni", "cedula", "ine", "id", "termina", "terminan", "en", "y",
        "con", "ok", "gracias", "aqui", "esta", "my", "the", "last", "digits", "numbers", "are", "is", "ends",
        "end", "with", "of", "document", "card", "here", "it", "thanks", "please", NULL};
    if (t->dtmf[0]) return bot_extract_digits(t->dtmf, out, outlen);
    for (int i = 0; i < t->words.n; i++) {
        const char *w = t->words.w[i];
        if (bot_all_digits(w) || bot_digit_word(w) >= 0) continue;
        bool filler = false;
        for (const char *const *f = FILLERS; *f && !filler; f++) filler = strcmp(w, *f) == 0;
        if (!filler) {
            if (outlen) out[0] = '\0';
            return 0;
        }
    }
    return bot_extract_digits(t->text, out, outlen);
}

bool bot_capture_verify(turn_t *t) {
    const hilo_flow_t *f = t->f;
    bot_state_t *st = t->st;
    char digits[32];
    int n = verify_digits(t, digits, sizeof digits);
    t->digits_found = n;
    if (n < 4 || n > 12 || !t->identified) return false; /* a whole document number: its last 4 */
    const char *want = t->d->document_last4;
    if (!want || strlen(want) != 4 || !bot_all_digits(want)) {
        bot_escalate(t, &f->escs[f->esc_verification_failed], "no_document_on_file");
        return true;
    }
    if (same_digits(digits + n - 4, want, 4)) {
        st->verified = true;
        st->verified_ms = t->in->now_ms;
        st->attempts = 0;
        t->soft = t->redirected = false;
        bot_push_action(t, HILO_BOT_VERIFIED);
        bot_say(t, f->tpl[BT_VERIFY_OK]);
        int target = -1;
        for (int i = 0; i < f->nsteps && st->pending[0]; i++)
            if (strcmp(f->steps[i].name, st->pending) == 0) target = i;
        st->pending[0] = '\0';
        bot_enter(t, target >= 0 ? target : f->after_verify, false);
        return true;
    }
    st->attempts++;
    hilo_bot_action_t *a = bot_push_action(t, HILO_BOT_VERIFY_FAILED_ATTEMPT);
    a->attempt = st->attempts;
    a->max_attempts = f->rules.verify_attempts;
    if (st->attempts >= f->rules.verify_attempts)
        bot_escalate(t, &f->escs[f->esc_verification_failed], "wrong_digits");
    else
        bot_say(t, f->tpl[BT_VERIFY_RETRY]);
    return true;
}

/* ---- confirmation ----------------------------------------------------------------------- */

bool bot_capture_confirm(turn_t *t, int picked) {
    const hilo_flow_t *f = t->f;
    bot_state_t *st = t->st;
    int yn = -1;
    if (picked >= 0 && (picked == f->intent_yes || picked == f->intent_no)) {
        yn = picked;
    } else if (picked < 0 && t->has_text) {
        bool yes = bot_intent_matches(t, f->intent_yes), no = bot_intent_matches(t, f->intent_no);
        if (yes != no) yn = yes ? f->intent_yes : f->intent_no; /* "sí… no" is no answer */
    }
    if (yn < 0) return false;
    const bot_step_t *s = &f->steps[t->cur];
    bool plan = strcmp(st->subject, "plan") == 0 && st->plan_choice >= 0 && st->plan_choice < st->nplan;
    bool promise = strcmp(st->subject, "promise") == 0 && st->promise_cents > 0 && st->has_promise_date;
    if (yn == f->intent_yes) {
        if (!plan && !promise) {
            bot_enter(t, f->after_verify, false);
        } else if (!still_fits(t, plan)) {
            /* Say why and collect again: the no-step offers what is left, if anything. */
            int why = f->tpl[BT_ALL_COMMITTED] >= 0 ? BT_ALL_COMMITTED : plan ? BT_PLAN_NONE : BT_PROMISE_AMOUNT_HIGH;
            bot_say(t, f->tpl[why]);
            bot_forget_subject(st);
            t->reoffer = true;
            bot_enter(t, s->no, false);
        } else {
            if (plan)
                commit_plan(t);
            else
                commit_promise(t);
            bot_enter(t, s->yes, false);
        }
    } else {
        /* "no, mejor 150 el 20": the no-step (collecting again) reads the rest of the text —
         * unless the no was a digit or a button ("2" is not an amount). */
        bot_forget_subject(st);
        t->reoffer = true;
        bot_enter(t, s->no, picked < 0);
    }
    return true;
}
