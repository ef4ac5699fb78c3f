/* bot.c — one turn of the collections bot (bot.h; the flow's meaning is in docs/bot-flow.md).
 *
 * A turn reads the state, looks at the input in a fixed order, and lets the current step
 * react. The order matters and is the same in every step:
 *   A. escalation topics, opt-out and language switches typed anywhere win over everything
 *      ("no puedo pagar" in the promise step is hardship, not an amount);
 *   B. a pressed button or a digit the step maps names an intent outright;
 *   C. what the step collects (the 4 digits, a promise's amount and date, a plan option,
 *      yes/no);
 *   D. the picked intent; E. an intent matched in the text; F. an amount with a date typed
 *      anywhere is a promise; G/H. not understood.
 * Privacy: a step that is not public cannot be entered unverified — bot_enter() sends the
 * debtor to verification and remembers where they wanted to go — and the renderer refuses
 * private templates on its own, so no path here can show a balance before verification. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extract.h"
#include "flow_int.h"
#include "hilo/bot.h"
#include "hilo/common.h"
#include "hilo/log.h"
#include "render.h"
#include "rules.h"
#include "state.h"
#include "turn.h"

static void reprompt(turn_t *t);

/* ---- results ---------------------------------------------------------------------------- */

static void push_reply(turn_t *t, char *text) {
    hilo_bot_result_t *r = t->res;
    r->replies = hilo_xrealloc(r->replies, (r->nreplies + 1) * sizeof *r->replies);
    r->replies[r->nreplies++] = text;
}

hilo_bot_action_t *bot_push_action(turn_t *t, hilo_bot_action_kind_t kind) {
    hilo_bot_result_t *r = t->res;
    r->actions = hilo_xrealloc(r->actions, (r->nactions + 1) * sizeof *r->actions);
    hilo_bot_action_t *a = &r->actions[r->nactions++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    snprintf(a->currency, sizeof a->currency, "%s", t->d->currency ? t->d->currency : "");
    return a;
}

static void clear_buttons(turn_t *t) {
    hilo_bot_result_t *r = t->res;
    for (size_t i = 0; i < r->nbuttons; i++) {
        free(r->buttons[i].id);
        free(r->buttons[i].title);
    }
    r->nbuttons = 0;
}

static void set_buttons(turn_t *t, int step) {
    clear_buttons(t);
    const bot_step_t *s = &t->f->steps[step];
    if (t->in->channel != HILO_BOT_CH_WHATSAPP || s->nbuttons == 0) return;
    hilo_bot_result_t *r = t->res;
    r->buttons = hilo_xrealloc(r->buttons, (size_t)s->nbuttons * sizeof *r->buttons);
    for (int i = 0; i < s->nbuttons; i++) {
        const bot_intent_t *in = &t->f->intents[s->buttons[i]];
        r->buttons[i].id = hilo_xstrdup(in->name);
        r->buttons[i].title = hilo_xstrdup(in->label[t->lang] ? in->label[t->lang] : in->name);
    }
    r->nbuttons = (size_t)s->nbuttons;
}

/* ---- saying things ---------------------------------------------------------------------- */

bool bot_verified(const turn_t *t) { return t->identified && t->st->verified; }

/* hilo_bot_result_t.keys for step `cur`: a menu or a confirmation takes only its mapped keys
 * (one character each: bot_digit_slot), so one key press is a whole answer. Other steps take
 * free-form digits too (verification, amounts, dates). */
static int one_key_step(const hilo_flow_t *flow, int cur) {
    if (cur < 0) return 0;
    const bot_step_t *s = &flow->steps[cur];
    return (s->kind == BOT_STEP_MENU || s->kind == BOT_STEP_CONFIRM) && s->digit_order[0] ? 1 : 0;
}

static void ctx_init(const turn_t *t, bot_render_ctx_t *c) {
    const bot_state_t *st = t->st;
    memset(c, 0, sizeof *c);
    c->flow = t->f;
    c->lang = t->lang;
    c->variant = t->variant;
    c->verified = bot_verified(t);
    c->debtor = t->d;
    c->today = t->today;
    c->step = t->cur;
    int left = t->f->rules.verify_attempts - st->attempts;
    c->attempts_left = left > 0 ? left : 0;
    c->plan = st->plan;
    c->nplan = st->nplan;
    if (strcmp(st->subject, "plan") == 0 && st->plan_choice >= 0 && st->plan_choice < st->nplan) {
        const bot_plan_option_t *o = &st->plan[st->plan_choice];
        c->has_amount = true;
        c->amount_cents = o->instalment_cents;
        c->total_cents = o->total_cents;
        c->n = o->n;
        c->option = st->plan_choice + 1;
        c->discount_bp = o->discount_bp;
    } else {
        c->has_amount = st->promise_cents > 0;
        c->amount_cents = st->promise_cents;
        c->has_date = st->has_promise_date;
        c->date = st->promise_date;
    }
}

void bot_say(turn_t *t, int tpl) {
    if (tpl < 0) return;
    bot_render_ctx_t c;
    ctx_init(t, &c);
    char *text = bot_render(&c, tpl);
    if (!text) {
        /* Refused: a private template for an unverified debtor. The loader rules this out on
         * every path it can see; should one slip through, ask for verification instead of
         * saying anything private. */
        hilo_log_warn("bot", "event=render_refused template=%s", t->f->tpls[tpl].name);
        const hilo_flow_t *f = t->f;
        int safe = t->identified ? f->steps[f->verify].prompt
                   : f->unidentified >= 0 ? f->steps[f->unidentified].prompt : f->tpl[BT_WAITING];
        if (!(text = bot_render(&c, safe))) return;
        tpl = safe;
    }
    push_reply(t, text);
    /* A reply that offers the payment link (in any channel's variant: on voice it may say
     * "we will text you the link") tells the router, which can send it where it fits. */
    if ((t->f->tpls[tpl].uses & BOT_VAR_BIT(BOT_V_PAYMENT_LINK)) && !t->link_sent) {
        char *url = bot_render_link(&c);
        if (url) {
            bot_push_action(t, HILO_BOT_PAYMENT_LINK)->url = url;
            t->link_sent = true;
        }
    }
}

static void set_step(turn_t *t, int step) {
    t->cur = step;
    snprintf(t->st->step, sizeof t->st->step, "%s", step >= 0 ? t->f->steps[step].name : "");
}

void bot_prompt(turn_t *t, int step) {
    bot_say(t, t->f->steps[step].prompt);
    set_buttons(t, step);
}

void bot_forget_subject(bot_state_t *st) {
    st->promise_cents = 0;
    st->has_promise_date = false;
    st->plan_choice = -1;
    st->subject[0] = '\0';
}

/* ---- escalation, opt-out, language -------------------------------------------------------- */

void bot_escalate(turn_t *t, const bot_escalation_t *e, const char *detail) {
    const char *lang = t->f->langs[t->lang].code;
    hilo_bot_action_t *a = bot_push_action(t, HILO_BOT_ESCALATE);
    a->reason = hilo_xstrdup(e->reason);
    a->detail = hilo_xstrdup(detail ? detail : e->name);
    a->topic = hilo_xstrdup(e->topic);
    a->language = hilo_xstrdup(lang);
    size_t n = strlen(lang) + strlen(e->topic) + 2;
    a->skill = hilo_xmalloc(n);
    snprintf(a->skill, n, "%s.%s", lang, e->topic);
    a->segment = hilo_xstrdup(t->d->segment ? t->d->segment : "");
    a->priority = e->priority;
    bot_say(t, e->reply);
    clear_buttons(t);
    snprintf(t->st->escalated, sizeof t->st->escalated, "%s", e->reason);
    t->st->pending[0] = '\0';
}

static void optout(turn_t *t) {
    const hilo_flow_t *f = t->f;
    bot_push_action(t, HILO_BOT_OPTOUT);
    bot_say(t, f->tpl[BT_OPTOUT]);
    clear_buttons(t);
    t->st->pending[0] = '\0';
    bot_forget_subject(t->st);
    if (!t->st->escalated[0])
        set_step(t, !t->identified ? f->unidentified : bot_verified(t) ? f->after_verify : f->start);
}

static void switch_language(turn_t *t, int lang) {
    t->lang = lang;
    snprintf(t->st->lang, sizeof t->st->lang, "%s", t->f->langs[lang].code);
    bot_say(t, t->f->tpl[BT_LANGUAGE]);
    reprompt(t);
}

/* A turn not understood. Counted, and the N-th in a row hands over (bot_failure) — except
 * on a first turn or right after being sent back to verification, where the debtor has not
 * had a question to answer yet: then the prompt is simply said. */
static void miss(turn_t *t, int tpl) {
    const hilo_flow_t *f = t->f;
    if (t->soft) {
        if (t->redirected) bot_say(t, f->tpl[BT_NEEDS_VERIFICATION]);
        reprompt(t);
        return;
    }
    t->st->misses = t->prev_misses + 1;
    if (t->st->misses >= f->rules.not_understood_max) {
        bot_escalate(t, &f->escs[f->esc_bot_failure], tpl == BT_VERIFY_FORMAT ? "verify_format" : "not_understood");
        return;
    }
    bot_say(t, f->tpl[tpl]);
    if (tpl == BT_NOT_UNDERSTOOD) reprompt(t);
}

/* ---- steps ------------------------------------------------------------------------------ */

/* The debtor asked for a step that needs verification: remember it (and any promise typed
 * with the request, unvalidated — checking it against the balance would disclose it), then
 * ask for the digits. An unidentified sender can never be verified: the unidentified prompt. */
static void gate(turn_t *t, int step, bool consume) {
    const hilo_flow_t *f = t->f;
    if (!t->identified) {
        if (f->unidentified < 0) {
            bot_escalate(t, &f->escs[f->unidentified_escalation], "unidentified");
            return;
        }
        set_step(t, f->unidentified);
        if (!t->first) bot_say(t, f->tpl[BT_NOT_UNDERSTOOD]);
        bot_prompt(t, f->unidentified);
        return;
    }
    snprintf(t->st->pending, sizeof t->st->pending, "%s", f->steps[step].name);
    if (f->steps[step].kind == BOT_STEP_PROMISE && consume) {
        bot_take_promise_text(t);
        t->bad_date = t->zero_amount = false; /* said after verification, if still wrong */
    }
    if (!t->first) bot_say(t, f->tpl[BT_NEEDS_VERIFICATION]);
    set_step(t, f->verify);
    bot_prompt(t, f->verify);
}

void bot_enter(turn_t *t, int step, bool consume) {
    const hilo_flow_t *f = t->f;
    if (step < 0 || ++t->depth > 2 * f->nsteps + 4) return; /* the loader refuses loops of say steps */
    const bot_step_t *s = &f->steps[step];
    if (!s->public_ && !bot_verified(t)) {
        gate(t, step, consume);
        return;
    }
    set_step(t, step);
    switch (s->kind) {
    case BOT_STEP_MENU:
    case BOT_STEP_VERIFY:
        bot_prompt(t, step);
        break;
    case BOT_STEP_SAY:
        bot_say(t, s->prompt);
        bot_enter(t, s->next, false);
        break;
    case BOT_STEP_END:
        bot_say(t, s->prompt);
        clear_buttons(t);
        set_step(t, s->next >= 0 ? s->next : f->after_verify);
        break;
    case BOT_STEP_PROMISE:
        snprintf(t->st->subject, sizeof t->st->subject, "promise");
        if (consume) bot_take_promise_text(t);
        bot_promise_progress(t);
        break;
    case BOT_STEP_PLAN:
        bot_offer_plan(t, consume);
        break;
    case BOT_STEP_CONFIRM:
        if (!t->st->subject[0])
            bot_enter(t, f->after_verify, false); /* nothing to confirm (the state was cleared) */
        else
            bot_prompt(t, step);
        break;
    }
}

/* Says the current step's question again. */
static void reprompt(turn_t *t) {
    const bot_step_t *s = &t->f->steps[t->cur];
    switch (s->kind) {
    case BOT_STEP_PROMISE:
        bot_promise_progress(t);
        break;
    case BOT_STEP_PLAN:
        if (t->st->nplan == 0)
            bot_offer_plan(t, false);
        else
            bot_prompt(t, t->cur);
        break;
    case BOT_STEP_CONFIRM:
    case BOT_STEP_SAY:
    case BOT_STEP_END:
        bot_enter(t, t->cur, false);
        break;
    default:
        bot_prompt(t, t->cur);
        break;
    }
}

static void run_intent(turn_t *t, int intent, bool consume) {
    const bot_intent_t *in = &t->f->intents[intent];
    switch (in->act) {
    case BOT_DO_GOTO:
        bot_enter(t, in->target, consume);
        break;
    case BOT_DO_ESCALATE:
        bot_escalate(t, &t->f->escs[in->target], in->name);
        break;
    case BOT_DO_OPTOUT:
        optout(t);
        break;
    case BOT_DO_LANGUAGE:
        switch_language(t, in->target);
        break;
    case BOT_DO_NONE: /* "yes" outside a confirm step */
        miss(t, BT_NOT_UNDERSTOOD);
        break;
    }
}

bool bot_intent_matches(const turn_t *t, int intent) {
    const bot_intent_t *in = &t->f->intents[intent];
    for (int p = 0; p < in->npats; p++)
        if (bot_pattern_match(&in->pats[p], &t->words)) return true;
    return false;
}

/* The first intent, in file order, whose phrases appear in the text. global_only: just the
 * ones that apply anywhere before the step's own reading (escalations, opt-out, language). */
static int match_intent(const turn_t *t, bool global_only) {
    for (int i = 0; i < t->f->nintents; i++) {
        bot_do_t act = t->f->intents[i].act;
        if (act == BOT_DO_NONE || (global_only && act == BOT_DO_GOTO)) continue;
        if (bot_intent_matches(t, i)) return i;
    }
    return -1;
}

/* ---- the turn ----------------------------------------------------------------------------- */

/* B: an intent named outright — a DTMF digit the step maps, or a bare number typed or said
 * ("2", "opción 2", "dos"). (A plan step reads its option numbers before these.) */
static int digit_pick(const turn_t *t, const bot_step_t *s) {
    if (t->dtmf[0]) {
        int slot = t->dtmf[1] ? -1 : bot_digit_slot(t->dtmf[0]);
        return slot >= 0 ? s->digit_intent[slot] : -1;
    }
    if (!t->has_text) return -1;
    int o = bot_extract_option(t->text);
    return o >= 0 && o <= 9 ? s->digit_intent[o] : -1;
}

static void handle(turn_t *t) {
    const hilo_flow_t *f = t->f;
    const hilo_bot_input_t *in = t->in;
    bool button = in->button && in->button[0];
    if (!t->has_text && !t->dtmf[0] && !button) { /* call start, a photo: say the question */
        if (t->redirected) bot_say(t, f->tpl[BT_NEEDS_VERIFICATION]);
        reprompt(t);
        return;
    }
    int g = t->has_text ? match_intent(t, true) : -1;
    if (g >= 0) {
        run_intent(t, g, false);
        return;
    }
    const bot_step_t *s = &f->steps[t->cur];
    int picked = -1;
    if (button)
        for (int i = 0; i < f->nintents && picked < 0; i++)
            if (strcmp(f->intents[i].name, in->button) == 0) picked = i;
    if (picked < 0 && s->kind != BOT_STEP_VERIFY) picked = digit_pick(t, s);
    switch (s->kind) {
    case BOT_STEP_VERIFY:
        if (picked < 0 && bot_capture_verify(t)) return;
        if (picked < 0 && !button) picked = digit_pick(t, s);
        break;
    case BOT_STEP_PLAN: {
        int o = button ? -1 : bot_plan_pick(t, false);
        if (o >= 0) {
            bot_choose_plan(t, o);
            return;
        }
        break;
    }
    case BOT_STEP_CONFIRM:
        if (bot_capture_confirm(t, picked)) return;
        break;
    case BOT_STEP_PROMISE:
        if (picked < 0 && !t->dtmf[0] && bot_take_promise_text(t)) {
            bot_promise_progress(t);
            return;
        }
        break;
    default:
        break;
    }
    if (picked >= 0) {
        run_intent(t, picked, false);
        return;
    }
    int i = t->has_text ? match_intent(t, false) : -1;
    if (i >= 0) {
        run_intent(t, i, true);
        return;
    }
    if (t->has_text && f->promise_step >= 0 && s->kind != BOT_STEP_PROMISE) {
        bot_promise_text_t p;
        bot_extract_promise(t->text, f->langs[t->lang].mdy ? BOT_MDY : BOT_DMY, t->today, &p);
        if (p.has_amount && p.has_date) {
            bot_enter(t, f->promise_step, true);
            return;
        }
    }
    miss(t, s->kind == BOT_STEP_VERIFY && t->digits_found > 0 ? BT_VERIFY_FORMAT : BT_NOT_UNDERSTOOD);
}

static int lang_index(const hilo_flow_t *f, const char *code) {
    char c[4] = "";
    for (int i = 0; code && i < 3 && code[i] && code[i] != '-' && code[i] != '_'; i++)
        c[i] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] + 32 : code[i]);
    for (int i = 0; i < f->nlangs; i++)
        if (c[0] && strcmp(f->langs[i].code, c) == 0) return i;
    return -1;
}

/* The balance condition in the debtor's own currency; none given for it: not met (a rule
 * cannot say a balance is large without knowing what it is counted in). */
static bool balance_matches(const bot_escalation_t *r, const hilo_bot_debtor_t *d) {
    if (!r->nbalance_min) return true;
    const char *cur = d->currency ? d->currency : "";
    for (int i = 0; i < r->nbalance_min; i++)
        if (strlen(cur) == 3 && strncasecmp(cur, r->balance_min[i].code, 3) == 0)
            return d->balance_cents >= r->balance_min[i].min_cents;
    return false;
}

static bool rule_matches(const bot_escalation_t *r, const hilo_bot_debtor_t *d) {
    return balance_matches(r, d) && (!r->has_dpd || d->days_past_due >= r->dpd_min) &&
           (!r->has_broken || d->broken_promises >= r->broken_min);
}

/* Of the escalation intents the words name, the one of highest priority (file order breaks
 * ties); -1 when none. */
static int strongest_named(const hilo_flow_t *f, const bot_words_t *w) {
    int best = -1;
    for (int i = 0; i < f->nintents; i++) {
        const bot_intent_t *in = &f->intents[i];
        if (in->act != BOT_DO_ESCALATE) continue;
        if (best >= 0 && f->escs[in->target].priority <= f->escs[f->intents[best].target].priority) continue;
        for (int p = 0; p < in->npats; p++)
            if (bot_pattern_match(&in->pats[p], w)) {
                best = i;
                break;
            }
    }
    return best;
}

bool hilo_bot_escalation_named(const hilo_flow_t *flow, const char *text, hilo_bot_named_escalation_t *out) {
    bot_words_t *w = hilo_xmalloc(sizeof *w);
    bot_words(text ? text : "", NULL, w);
    int i = w->n ? strongest_named(flow, w) : -1;
    free(w);
    if (i < 0) return false;
    const bot_escalation_t *e = &flow->escs[flow->intents[i].target];
    *out = (hilo_bot_named_escalation_t){e->reason, flow->intents[i].name, e->topic, e->priority};
    return true;
}

static int variant_of(hilo_bot_channel_t ch) {
    switch (ch) {
    case HILO_BOT_CH_WHATSAPP: return BOT_VARIANT_WHATSAPP;
    case HILO_BOT_CH_SMS: return BOT_VARIANT_SMS;
    case HILO_BOT_CH_VOICE: return BOT_VARIANT_VOICE;
    default: return BOT_VARIANT_TEXT;
    }
}

static const char *channel_name(hilo_bot_channel_t ch) {
    switch (ch) {
    case HILO_BOT_CH_WHATSAPP: return "whatsapp";
    case HILO_BOT_CH_SMS: return "sms";
    case HILO_BOT_CH_VOICE: return "voice";
    default: return "other";
    }
}

/* The clock and the calendar: a silent session starts over, a verification expires. */
static void apply_clock(turn_t *t) {
    bot_state_t *st = t->st;
    const bot_rules_t *r = &t->f->rules;
    int64_t now = t->in->now_ms;
    if (st->turns > 0 && r->session_timeout_min > 0 && now - st->updated_ms > (int64_t)r->session_timeout_min * 60000) {
        t->new_session = true;
        st->step[0] = st->pending[0] = '\0';
        bot_forget_subject(st);
        st->nplan = 0;
        st->misses = 0;
    }
    if (st->verified && r->verify_ttl_min > 0 && now - st->verified_ms > (int64_t)r->verify_ttl_min * 60000)
        st->verified = false;
}

/* First contact of a conversation or of a new session: the unidentified may be handed over at
 * once, and the portfolio rules (big balance, long overdue, broken promises) send the debtor
 * straight to a person.
 * Returns true when the turn is over. */
static bool first_contact(turn_t *t) {
    const hilo_flow_t *f = t->f;
    if (!t->identified && f->unidentified < 0) {
        bot_escalate(t, &f->escs[f->unidentified_escalation], "unidentified");
        return true;
    }
    for (int i = 0; t->identified && i < f->npfrules; i++)
        if (rule_matches(&f->pfrules[i], t->d)) {
            /* The same message may name a reason of its own ("hola, los voy a demandar"): the
             * stronger one (higher priority; the rule on a tie) is the conversation's reason. */
            int named = strongest_named(f, &t->words);
            if (named >= 0 && f->escs[f->intents[named].target].priority > f->pfrules[i].priority)
                bot_escalate(t, &f->escs[f->intents[named].target], f->intents[named].name);
            else
                bot_escalate(t, &f->pfrules[i], f->pfrules[i].name);
            return true;
        }
    return false;
}

hilo_bot_result_t *hilo_bot_turn(const hilo_flow_t *flow, const hilo_bot_debtor_t *debtor, const char *state,
                                 const hilo_bot_input_t *in) {
    assert(flow && in);
    static const hilo_bot_debtor_t nobody = {0};
    turn_t *t = hilo_xcalloc(1, sizeof *t);
    bot_state_t st;
    t->f = flow;
    t->in = in;
    t->st = &st;
    t->res = hilo_xcalloc(1, sizeof *t->res);
    t->identified = debtor && debtor->debtor_id && debtor->debtor_id[0] && strncmp(debtor->debtor_id, "u:", 2) != 0;
    t->d = t->identified ? debtor : &nobody;
    if (state && state[0] && bot_state_from_json(state, &st) != 0) t->res->state_reset = true;
    if (!state || !state[0]) bot_state_init(&st);
    t->text = in->text ? in->text : "";
    bot_words(t->text, NULL, &t->words);
    t->has_text = t->words.n > 0;
    for (const char *p = in->digits ? in->digits : ""; *p && strlen(t->dtmf) + 1 < sizeof t->dtmf; p++)
        if (bot_digit_slot(*p) >= 0) t->dtmf[strlen(t->dtmf)] = *p;
    size_t dl = strlen(t->dtmf);
    if (dl > 1 && t->dtmf[dl - 1] == '#') t->dtmf[dl - 1] = '\0'; /* the "end of input" key */
    if (!in->today || bot_date_parse(in->today, &t->today) != 0)
        t->today = (int32_t)((in->now_ms >= 0 ? in->now_ms : in->now_ms - 86399999) / 86400000);
    int li = lang_index(flow, st.lang);
    if (li < 0) li = lang_index(flow, t->identified ? debtor->language : NULL);
    t->lang = li >= 0 ? li : flow->default_lang;
    t->variant = variant_of(in->channel);

    apply_clock(t);
    t->prev_misses = st.misses;
    st.misses = 0;
    t->cur = -1;
    for (int i = 0; i < flow->nsteps && st.step[0]; i++)
        if (strcmp(flow->steps[i].name, st.step) == 0) t->cur = i;
    bool done = false;
    if (st.escalated[0]) {
        /* Handed over: a person answers now. Only an opt-out still counts. */
        int g = t->has_text ? match_intent(t, true) : -1;
        if (g >= 0 && flow->intents[g].act == BOT_DO_OPTOUT) {
            bot_push_action(t, HILO_BOT_OPTOUT);
            bot_say(t, flow->tpl[BT_OPTOUT]);
        } else {
            bot_say(t, flow->tpl[BT_WAITING]);
        }
        done = true;
    } else if (st.turns == 0) {
        st.created_ms = in->now_ms;
        t->first = t->soft = true;
        bot_say(t, flow->tpl[BT_WELCOME]);
        done = first_contact(t);
    } else if (t->new_session) {
        /* A returning debtor: the portfolio may have changed since (promises broken, days
         * past due grown), so the rules are checked again at the start of every session. */
        done = first_contact(t);
    }
    if (!done && !t->identified && flow->unidentified < 0) { /* the flow hands every unidentified over */
        bot_escalate(t, &flow->escs[flow->unidentified_escalation], "unidentified");
        done = true;
    }
    if (!done) {
        if (t->cur < 0) { /* a new conversation, a new session, or a step the flow no longer has */
            set_step(t, !t->identified ? flow->unidentified : bot_verified(t) ? flow->after_verify : flow->start);
            t->soft = true;
        }
        const bot_step_t *s = &flow->steps[t->cur];
        if (!s->public_ && !bot_verified(t)) { /* e.g. the verification expired mid-conversation */
            if (t->identified) {
                if (!st.pending[0]) snprintf(st.pending, sizeof st.pending, "%s", s->name);
                set_step(t, flow->verify);
                t->redirected = !t->first;
            } else {
                set_step(t, flow->unidentified);
            }
            t->soft = true;
        }
        handle(t);
    }
    if (t->clear_subject) bot_forget_subject(&st);
    st.turns++;
    st.updated_ms = in->now_ms;
    snprintf(st.channel, sizeof st.channel, "%s", channel_name(in->channel));
    hilo_bot_result_t *r = t->res;
    r->handoff = st.escalated[0] != '\0';
    if (r->handoff) clear_buttons(t);
    r->verified = bot_verified(t);
    r->state = bot_state_to_json(&st);
    r->step = hilo_xstrdup(st.step);
    r->language = hilo_xstrdup(flow->langs[t->lang].code);
    r->keys = one_key_step(flow, r->handoff ? -1 : t->cur);
    free(t);
    return r;
}

/* ---- texts the router says outside a turn ------------------------------------------------ */

const char *hilo_flow_language(const hilo_flow_t *flow, const char *lang) {
    int li = lang_index(flow, lang);
    return flow->langs[li >= 0 ? li : flow->default_lang].code;
}

char *hilo_bot_text(const hilo_flow_t *flow, hilo_bot_text_t which, const char *lang, hilo_bot_channel_t channel) {
    static const hilo_bot_debtor_t nobody = {0};
    int tpl = which == HILO_BOT_TEXT_OPTIN_KEYWORD ? flow->tpl[BT_OPTIN_KEYWORD] : flow->tpl[BT_OPTOUT_KEYWORD];
    int li = lang_index(flow, lang);
    bot_render_ctx_t c = {.flow = flow,
                          .lang = li >= 0 ? li : flow->default_lang,
                          .variant = variant_of(channel),
                          .debtor = &nobody,
                          .step = -1};
    char *text = bot_render(&c, tpl);
    return text ? text : hilo_xstrdup(""); /* only if a public template failed to render */
}
