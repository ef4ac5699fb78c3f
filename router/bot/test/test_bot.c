/* test_bot.c — whole conversations through hilo_bot_turn() with the shipped flow
 * (deploy/flows/collections.flow): verification before disclosure, escalations, promises,
 * plans, voice, languages, and the state carried between turns as the router carries it
 * (a JSON string, across channels). Today is Sunday 2024-12-01 in the debtor's zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hilo/bot.h"
#include "hilo/common.h"

static hilo_flow_t *flow;

#define T0 1733040000000LL /* 2024-12-01 08:00 UTC */

typedef struct {
    hilo_bot_debtor_t debtor;
    bool unknown;               /* no portfolio record */
    hilo_bot_channel_t channel;
    int64_t now;
    const char *today;
    char *state;                /* as the router stores it */
    hilo_bot_result_t *r;       /* the last turn */
} conv_t;

static conv_t *conv_new(const char *lang) {
    conv_t *c = hilo_xcalloc(1, sizeof *c);
    c->debtor = (hilo_bot_debtor_t){"d-100", "María Pérez", "4321", 123456, "MXN", 45, lang, 0, "retail", "tok/1", 0};
    c->channel = HILO_BOT_CH_WHATSAPP;
    c->now = T0;
    c->today = "2024-12-01";
    return c;
}

static void conv_free(conv_t **c_p) {
    conv_t *c = *c_p;
    hilo_bot_result_destroy(&c->r);
    free(c->state);
    free(c);
    *c_p = NULL;
}

static hilo_bot_result_t *turn(conv_t *c, const char *text, const char *digits, const char *button) {
    hilo_bot_result_destroy(&c->r);
    hilo_bot_input_t in = {c->channel, text, digits, button, c->now, c->today};
    c->r = hilo_bot_turn(flow, c->unknown ? NULL : &c->debtor, c->state, &in);
    assert_non_null(c->r);
    assert_non_null(c->r->state);
    free(c->state);
    c->state = hilo_xstrdup(c->r->state);
    c->now += 30 * 1000;
    return c->r;
}

static hilo_bot_result_t *say(conv_t *c, const char *text) { return turn(c, text, NULL, NULL); }

static bool said(const hilo_bot_result_t *r, const char *needle) {
    for (size_t i = 0; i < r->nreplies; i++)
        if (strstr(r->replies[i], needle)) return true;
    return false;
}

static void expect_said(const hilo_bot_result_t *r, const char *needle) {
    if (said(r, needle)) return;
    char *json = hilo_bot_result_json(r);
    fail_msg("no reply says '%s': %s", needle, json);
}

static void expect_not_said(const hilo_bot_result_t *r, const char *needle) {
    if (!said(r, needle)) return;
    char *json = hilo_bot_result_json(r);
    fail_msg("a reply says '%s': %s", needle, json);
}

static const hilo_bot_action_t *action(const hilo_bot_result_t *r, hilo_bot_action_kind_t kind) {
    for (size_t i = 0; i < r->nactions; i++)
        if (r->actions[i].kind == kind) return &r->actions[i];
    return NULL;
}

static const hilo_bot_action_t *expect_action(const hilo_bot_result_t *r, hilo_bot_action_kind_t kind) {
    const hilo_bot_action_t *a = action(r, kind);
    if (!a) {
        char *json = hilo_bot_result_json(r);
        fail_msg("no %s action: %s", hilo_bot_action_name(kind), json);
    }
    return a;
}

static const hilo_bot_action_t *expect_escalation(const hilo_bot_result_t *r, const char *reason) {
    const hilo_bot_action_t *a = expect_action(r, HILO_BOT_ESCALATE);
    assert_string_equal(a->reason, reason);
    assert_true(r->handoff);
    assert_int_equal(r->nbuttons, 0);
    return a;
}

/* No balance, name or days past due in anything said so far. */
static void expect_no_disclosure(const hilo_bot_result_t *r) {
    static const char *const secrets[] = {"1.234,56", "1,234.56", "1234", "María", "Pérez", "45 días", "45 days"};
    for (size_t k = 0; k < HILO_ARRAY_LEN(secrets); k++) expect_not_said(r, secrets[k]);
    assert_false(r->verified);
    assert_null(action(r, HILO_BOT_PAYMENT_LINK));
}

static conv_t *verified_conv(const char *lang) {
    conv_t *c = conv_new(lang);
    say(c, lang[0] == 'e' && lang[1] == 'n' ? "hi" : "hola");
    expect_action(say(c, "4321"), HILO_BOT_VERIFIED);
    assert_true(c->r->verified);
    return c;
}

/* ---- verification ---- */

static void test_unverified_balance_never_disclosed(void **state) {
    conv_t *c = conv_new("es");
    hilo_bot_result_t *r = say(c, "¿Cuál es mi saldo?");
    expect_no_disclosure(r);
    assert_string_equal(r->step, "verify");
    expect_said(r, "últimos 4 dígitos");
    expect_no_disclosure(say(c, "dime cuánto debo, ya"));
    expect_no_disclosure(say(c, "1"));
    expect_no_disclosure(say(c, "pago 200 el 15/12"));
    expect_not_said(c->r, "200,00");
    expect_no_disclosure(turn(c, NULL, NULL, "balance")); /* a forged button press */
    expect_no_disclosure(say(c, "link de pago"));
    conv_free(&c);
}

static void test_wrong_digits_three_times_escalate(void **state) {
    conv_t *c = conv_new("es");
    say(c, "hola");
    const char *tries[] = {"1111", "2222", "3333"};
    for (int i = 0; i < 3; i++) {
        hilo_bot_result_t *r = say(c, tries[i]);
        const hilo_bot_action_t *a = expect_action(r, HILO_BOT_VERIFY_FAILED_ATTEMPT);
        assert_int_equal(a->attempt, i + 1);
        assert_int_equal(a->max_attempts, 3);
        expect_no_disclosure(r);
        if (i < 2) {
            assert_false(r->handoff);
            expect_said(r, i == 0 ? "intentos restantes: 2" : "intentos restantes: 1");
        }
    }
    const hilo_bot_action_t *e = expect_escalation(c->r, "verification_failed");
    assert_string_equal(e->skill, "es.verification");
    assert_string_equal(e->detail, "wrong_digits");
    /* Handed over: even the right digits now only get "please wait". */
    hilo_bot_result_t *r = say(c, "4321");
    expect_no_disclosure(r);
    assert_null(action(r, HILO_BOT_VERIFIED));
    assert_null(action(r, HILO_BOT_ESCALATE));
    assert_true(r->handoff);
    expect_said(r, "asesor");
    conv_free(&c);
}

static void test_right_digits_then_balance(void **state) {
    conv_t *c = conv_new("es");
    say(c, "hola");
    hilo_bot_result_t *r = say(c, "4321");
    expect_action(r, HILO_BOT_VERIFIED);
    expect_said(r, "Gracias, María");
    assert_string_equal(r->step, "menu");
    r = say(c, "saldo");
    expect_said(r, "1.234,56 MXN");
    expect_said(r, "45 días de atraso");
    assert_string_equal(r->step, "more");
    conv_free(&c);
}

static void test_request_before_verification_resumes(void **state) {
    conv_t *c = conv_new("es");
    expect_no_disclosure(say(c, "cuánto debo?"));
    hilo_bot_result_t *r = say(c, "mi documento termina en 4321");
    expect_action(r, HILO_BOT_VERIFIED);
    expect_said(r, "1.234,56 MXN");
    conv_free(&c);
}

static void test_bad_format_and_misses(void **state) {
    conv_t *c = conv_new("es");
    say(c, "hola");
    hilo_bot_result_t *r = say(c, "12");
    expect_said(r, "Necesito exactamente 4 dígitos");
    assert_null(action(r, HILO_BOT_VERIFY_FAILED_ATTEMPT));
    conv_free(&c);
}

static void test_verification_expires(void **state) {
    conv_t *c = verified_conv("es");
    c->now += 2 * 3600 * 1000LL; /* past verify_ttl_minutes = 60 */
    hilo_bot_result_t *r = say(c, "saldo");
    expect_no_disclosure(r);
    expect_said(r, "confirmar su identidad");
    r = say(c, "4321");
    expect_action(r, HILO_BOT_VERIFIED);
    expect_said(r, "1.234,56");
    conv_free(&c);
}

/* ---- escalations ---- */

static void test_requested_agent_es_en(void **state) {
    conv_t *c = conv_new("es");
    hilo_bot_result_t *r = say(c, "quiero hablar con un asesor");
    const hilo_bot_action_t *a = expect_escalation(r, "requested_agent");
    assert_non_null(strstr(a->skill, "es"));
    assert_string_equal(a->skill, "es.collections");
    assert_string_equal(a->language, "es");
    assert_string_equal(a->segment, "retail");
    assert_int_equal(a->priority, 50);
    expect_no_disclosure(r);
    conv_free(&c);

    c = conv_new("en");
    r = say(c, "I want to talk to a person");
    a = expect_escalation(r, "requested_agent");
    assert_string_equal(a->skill, "en.collections");
    expect_said(r, "An agent will be with you shortly");
    conv_free(&c);
}

static void test_topic_escalations(void **state) {
    static const struct {
        const char *lang, *text, *reason, *skill;
        int priority;
    } cases[] = {
        {"es", "voy a demandarlos, ya hablé con mi abogado", "legal_threat", "es.legal", 90},
        {"en", "I'll sue you", "legal_threat", "en.legal", 90},
        {"es", "esa no es mi deuda", "dispute", "es.dispute", 60},
        {"en", "I already paid this", "dispute", "en.dispute", 60},
        {"es", "perdí mi trabajo y no me alcanza", "hardship", "es.hardship", 60},
        {"en", "I lost my job", "hardship", "en.hardship", 60},
        {"es", "son unos idiotas", "abusive", "es.supervisor", 30},
        {"es", "quiero poner una queja", "complaint", "es.complaints", 85},
        {"es", "número equivocado", "wrong_number", "es.wrong_party", 40},
    };
    for (size_t i = 0; i < HILO_ARRAY_LEN(cases); i++) {
        conv_t *c = conv_new(cases[i].lang);
        hilo_bot_result_t *r = say(c, cases[i].text);
        const hilo_bot_action_t *a = action(r, HILO_BOT_ESCALATE);
        if (!a || strcmp(a->reason, cases[i].reason) != 0)
            fail_msg("'%s': %s", cases[i].text, hilo_bot_result_json(r));
        assert_string_equal(a->skill, cases[i].skill);
        assert_int_equal(a->priority, cases[i].priority);
        expect_no_disclosure(r);
        conv_free(&c);
    }
    /* In the middle of a promise, hardship still wins over reading an amount. */
    conv_t *c = verified_conv("es");
    say(c, "quiero prometer un pago");
    expect_escalation(say(c, "no puedo pagar, estoy desempleado"), "hardship");
    conv_free(&c);
}

static void test_not_understood_escalates(void **state) {
    conv_t *c = verified_conv("es");
    hilo_bot_result_t *r = say(c, "xyzzy");
    expect_said(r, "no le entendí");
    expect_said(r, "Responda con un número"); /* and the question again */
    assert_false(r->handoff);
    r = say(c, "qwerty");
    assert_false(r->handoff);
    r = say(c, "asdf");
    const hilo_bot_action_t *a = expect_escalation(r, "bot_failure");
    assert_string_equal(a->skill, "es.collections");
    conv_free(&c);

    /* Misses must be consecutive: one understood turn starts the count again. */
    c = verified_conv("es");
    say(c, "xyzzy");
    say(c, "xyzzy");
    say(c, "1");
    assert_false(say(c, "xyzzy")->handoff);
    assert_false(say(c, "xyzzy")->handoff);
    expect_escalation(say(c, "xyzzy"), "bot_failure");
    conv_free(&c);
}

static void test_portfolio_rules_on_first_contact(void **state) {
    conv_t *c = conv_new("es");
    c->debtor.balance_cents = 600000;
    c->debtor.currency = "USD";
    hilo_bot_result_t *r = say(c, "hola");
    const hilo_bot_action_t *a = expect_escalation(r, "portfolio_rule");
    assert_string_equal(a->detail, "high_balance");
    assert_string_equal(a->skill, "es.high_balance");
    assert_int_equal(a->priority, 80);
    expect_not_said(r, "6.000,00");
    conv_free(&c);

    c = conv_new("en");
    c->debtor.broken_promises = 2;
    a = expect_escalation(say(c, "hello"), "portfolio_rule");
    assert_string_equal(a->detail, "broken_promises");
    conv_free(&c);

    c = conv_new("es");
    c->debtor.days_past_due = 200;
    a = expect_escalation(say(c, "hola"), "portfolio_rule");
    assert_string_equal(a->detail, "late_stage");
    conv_free(&c);
}

/* The shipped high_balance rule compares the balance with the threshold of the debtor's own
 * currency: 6,000.00 is over it in dollars, far under it in Mexican or Colombian pesos. A
 * currency the rule does not list is not matched by its balance condition, whatever the
 * number; the other rules still apply to that debtor. */
static void test_high_balance_in_the_debtors_currency(void **state) {
    static const struct {
        const char *currency;
        int64_t cents;
        bool escalates;
    } cases[] = {
        {"USD", 600000, true},           {"USD", 499999, false},          {"usd", 500000, true},
        {"MXN", 600000, false},          {"MXN", 9000000, true},          {"COP", 345000000, false},
        {"COP", 2500000000LL, true},     {"CLP", 45230000, false},        {"CLP", 450000000, true},
        {"PEN", 215000, false},          {"BRL", 99999999999LL, false},   {"", 99999999999LL, false},
    };
    for (size_t i = 0; i < HILO_ARRAY_LEN(cases); i++) {
        conv_t *c = conv_new("es");
        c->debtor.currency = cases[i].currency;
        c->debtor.balance_cents = cases[i].cents;
        hilo_bot_result_t *r = say(c, "hola");
        if (r->handoff != cases[i].escalates)
            fail_msg("%s %lld: handoff %d, wanted %d", cases[i].currency, (long long)cases[i].cents, r->handoff,
                     cases[i].escalates);
        if (cases[i].escalates) assert_string_equal(expect_escalation(r, "portfolio_rule")->detail, "high_balance");
        conv_free(&c);
    }
    /* An unlisted currency still meets the rules that do not count money. */
    conv_t *c = conv_new("es");
    c->debtor.currency = "BRL";
    c->debtor.days_past_due = 200;
    assert_string_equal(expect_escalation(say(c, "hola"), "portfolio_rule")->detail, "late_stage");
    conv_free(&c);
}

/* A first message that names a reason of its own while a portfolio rule holds: the stronger
 * one (priority) is the conversation's reason — a legal threat (90) or a complaint (85) over
 * high_balance (80); "talk to a person" (50) does not hide the rule. */
static void test_stronger_reason_in_the_first_message(void **state) {
    static const struct {
        const char *text, *reason, *detail;
        int priority;
    } cases[] = {
        {"hola, los voy a demandar", "legal_threat", "legal", 90},
        {"I want to talk to my lawyer", "legal_threat", "legal", 90},
        {"quiero poner una queja", "complaint", "complaint", 85},
        {"quiero hablar con un asesor", "portfolio_rule", "high_balance", 80},
        {"hola", "portfolio_rule", "high_balance", 80},
        /* two reasons in one message: the stronger, not the first in the flow file */
        {"son unos idiotas, tengo una queja", "complaint", "complaint", 85},
    };
    for (size_t i = 0; i < HILO_ARRAY_LEN(cases); i++) {
        conv_t *c = conv_new("es");
        c->debtor.currency = "USD";
        c->debtor.balance_cents = 900000;
        const hilo_bot_action_t *a = expect_escalation(say(c, cases[i].text), cases[i].reason);
        assert_string_equal(a->detail, cases[i].detail);
        assert_int_equal(a->priority, cases[i].priority);
        conv_free(&c);
    }
}

/* What the router asks when a person already holds the conversation. */
static void test_escalation_named(void **state) {
    hilo_bot_named_escalation_t e;
    assert_true(hilo_bot_escalation_named(flow, "Voy a DEMANDARLOS ante un juzgado", &e));
    assert_string_equal(e.reason, "legal_threat");
    assert_string_equal(e.topic, "legal");
    assert_int_equal(e.priority, 90);
    assert_true(hilo_bot_escalation_named(flow, "I want to file a complaint", &e));
    assert_string_equal(e.reason, "complaint");
    assert_int_equal(e.priority, 85);
    assert_true(hilo_bot_escalation_named(flow, "file a complaint, or I will sue", &e));
    assert_string_equal(e.reason, "legal_threat");
    assert_false(hilo_bot_escalation_named(flow, "hola, ¿cuánto debo?", &e));
    assert_false(hilo_bot_escalation_named(flow, "", &e));
    assert_false(hilo_bot_escalation_named(flow, NULL, &e));
}

/* Promises broken after the first contact count when the debtor comes back in a new session
 * (the flow's session_timeout_minutes), not only on the very first turn. */
static void test_portfolio_rules_on_a_new_session(void **state) {
    conv_t *c = conv_new("en");
    assert_false(say(c, "hello")->handoff);
    c->debtor.broken_promises = 2;
    assert_false(say(c, "1")->handoff); /* same session: the rules are not checked mid-way */
    c->now += 2LL * 24 * 3600 * 1000;   /* two days later: a new session */
    const hilo_bot_action_t *a = expect_escalation(say(c, "hi again"), "portfolio_rule");
    assert_string_equal(a->detail, "broken_promises");
    conv_free(&c);
}

static void test_unknown_sender(void **state) {
    conv_t *c = conv_new("es");
    c->unknown = true;
    hilo_bot_result_t *r = say(c, "¿cuál es mi saldo?");
    expect_no_disclosure(r);
    expect_said(r, "No encontramos una cuenta");
    assert_string_equal(r->step, "unidentified");
    r = say(c, "1234");
    expect_no_disclosure(r);
    assert_null(action(r, HILO_BOT_VERIFIED));
    r = say(c, "1");
    expect_escalation(r, "requested_agent");
    conv_free(&c);
}

static void test_optout(void **state) {
    conv_t *c = conv_new("es");
    hilo_bot_result_t *r = say(c, "BAJA");
    expect_action(r, HILO_BOT_OPTOUT);
    expect_said(r, "No le enviaremos más mensajes");
    conv_free(&c);
    c = verified_conv("en");
    r = say(c, "STOP");
    expect_action(r, HILO_BOT_OPTOUT);
    conv_free(&c);
    /* "alto" is a stop word only as the whole message */
    c = verified_conv("es");
    assert_null(action(say(c, "mi saldo es muy alto"), HILO_BOT_OPTOUT));
    conv_free(&c);
}

/* ---- promises ---- */

static void test_promise_es(void **state) {
    conv_t *c = verified_conv("es");
    hilo_bot_result_t *r = say(c, "pago 200 el 15/12");
    assert_string_equal(r->step, "promise_confirm");
    expect_said(r, "200,00 MXN el 15 de diciembre de 2024");
    assert_null(action(r, HILO_BOT_PROMISE));
    r = say(c, "sí");
    const hilo_bot_action_t *a = expect_action(r, HILO_BOT_PROMISE);
    assert_int_equal(a->amount_cents, 20000);
    assert_string_equal(a->currency, "MXN");
    assert_string_equal(a->due_date, "2024-12-15");
    expect_said(r, "registramos su promesa de pago de 200,00 MXN");
    const hilo_bot_action_t *l = expect_action(r, HILO_BOT_PAYMENT_LINK);
    assert_string_equal(l->url, "https://pagos.example.com/p/d-100?t=tok%2F1");
    assert_string_equal(r->step, "more");
    /* The promise is forgotten once recorded. */
    assert_null(strstr(c->state, "\"promise\""));
    conv_free(&c);
}

static void test_promise_en(void **state) {
    conv_t *c = verified_conv("en");
    hilo_bot_result_t *r = say(c, "I can pay $150 on December 3");
    expect_said(r, "150.00 MXN on December 3, 2024");
    r = say(c, "yes");
    const hilo_bot_action_t *a = expect_action(r, HILO_BOT_PROMISE);
    assert_int_equal(a->amount_cents, 15000);
    assert_string_equal(a->due_date, "2024-12-03");
    conv_free(&c);

    c = verified_conv("es");
    r = say(c, "200 mañana");
    expect_said(r, "2 de diciembre de 2024");
    r = turn(c, NULL, NULL, "yes"); /* the WhatsApp button */
    a = expect_action(r, HILO_BOT_PROMISE);
    assert_string_equal(a->due_date, "2024-12-02");
    conv_free(&c);
}

static void test_promise_invalid(void **state) {
    conv_t *c = verified_conv("es");
    say(c, "2"); /* menu: promise */
    expect_said(c->r, "¿Cuánto puede pagar");
    hilo_bot_result_t *r = say(c, "pago 5000 el 15/12");
    expect_said(r, "no puede ser mayor que su saldo de 1.234,56 MXN");
    assert_null(action(r, HILO_BOT_PROMISE));
    r = say(c, "200"); /* the date was kept */
    expect_said(r, "Confirme su promesa de pago: 200,00 MXN el 15 de diciembre");
    r = say(c, "no, mejor el 20/11");
    expect_said(r, "ya pasó");
    r = say(c, "el 15/03");
    expect_said(r, "a más tardar el 31 de diciembre de 2024");
    r = say(c, "5 mañana");
    expect_said(r, "El monto mínimo para una promesa de pago es 10,00 MXN");
    r = say(c, "0 mañana");
    expect_said(r, "El monto mínimo");
    r = say(c, "100 el 31/02");
    expect_said(r, "No reconozco esa fecha");
    assert_null(action(r, HILO_BOT_PROMISE));
    r = say(c, "pasado mañana");
    expect_said(r, "100,00 MXN el 3 de diciembre de 2024");
    r = say(c, "2"); /* no, change it: back to the question, "2" is no amount */
    expect_said(r, "¿Cuánto puede pagar y en qué fecha?");
    r = say(c, "100 pasado mañana");
    r = say(c, "1");
    assert_int_equal(expect_action(r, HILO_BOT_PROMISE)->amount_cents, 10000);
    conv_free(&c);
}

static void test_promise_in_parts(void **state) {
    conv_t *c = verified_conv("en");
    say(c, "I want to make a promise");
    hilo_bot_result_t *r = say(c, "300");
    expect_said(r, "Got it: 300.00 MXN. On what date");
    r = say(c, "friday");
    expect_said(r, "300.00 MXN on December 6, 2024");
    r = say(c, "ok");
    assert_string_equal(expect_action(r, HILO_BOT_PROMISE)->due_date, "2024-12-06");
    conv_free(&c);
}

static void test_promise_before_verification_kept(void **state) {
    conv_t *c = conv_new("es");
    expect_no_disclosure(say(c, "quiero pagar 200 el 15/12"));
    hilo_bot_result_t *r = say(c, "4321");
    expect_action(r, HILO_BOT_VERIFIED);
    expect_said(r, "200,00 MXN el 15 de diciembre de 2024");
    assert_string_equal(r->step, "promise_confirm");
    conv_free(&c);
}

/* ---- plans ---- */

static void test_plan_options_and_acceptance(void **state) {
    conv_t *c = verified_conv("es");
    hilo_bot_result_t *r = say(c, "quiero un plan de pagos");
    expect_said(r, "1. Un solo pago de 1.111,11 MXN (10% de descuento)");
    expect_said(r, "2. 3 pagos mensuales de 411,52 MXN");
    expect_said(r, "3. 6 pagos mensuales de 205,76 MXN");
    expect_said(r, "4. 12 pagos mensuales de 102,88 MXN");
    r = say(c, "opción 2");
    expect_said(r, "Eligió 3 pago(s) de 411,52 MXN, en total 1.234,56 MXN");
    assert_null(action(r, HILO_BOT_PLAN_ACCEPTED));
    r = say(c, "1");
    const hilo_bot_action_t *a = expect_action(r, HILO_BOT_PLAN_ACCEPTED);
    assert_int_equal(a->instalments, 3);
    assert_int_equal(a->amount_cents, 41152);
    assert_int_equal(a->total_cents, 123456);
    assert_int_equal(a->discount_bp, 0);
    assert_string_equal(a->currency, "MXN");
    assert_string_equal(a->due_date, "2024-12-08"); /* first instalment: today + plan_first_due_days (7) */
    expect_action(r, HILO_BOT_PAYMENT_LINK);
    conv_free(&c);
}

static void test_plan_by_count_lump_and_change(void **state) {
    conv_t *c = verified_conv("es");
    hilo_bot_result_t *r = say(c, "me interesa pagar en 6 cuotas");
    expect_said(r, "Eligió 6 pago(s) de 205,76 MXN");
    r = say(c, "no, la opción 4"); /* no: back to the plans, and this text chooses again */
    expect_said(r, "Eligió 12 pago(s) de 102,88 MXN");
    r = say(c, "sí");
    assert_int_equal(expect_action(r, HILO_BOT_PLAN_ACCEPTED)->instalments, 12);
    conv_free(&c);

    c = verified_conv("en");
    r = say(c, "can I get a discount?");
    expect_said(r, "These are your payment options"); /* shown first, not chosen for them */
    r = say(c, "the lump sum please");
    expect_said(r, "1 payment(s) of 1,111.11 MXN");
    r = say(c, "yes");
    const hilo_bot_action_t *a = expect_action(r, HILO_BOT_PLAN_ACCEPTED);
    assert_int_equal(a->instalments, 1);
    assert_int_equal(a->discount_bp, 1000);
    assert_int_equal(a->total_cents, 111111);
    conv_free(&c);

    c = verified_conv("es");
    c->debtor.balance_cents = 4000; /* 40.00: too small for instalments, the discount still applies */
    r = say(c, "3");
    expect_said(r, "1. Un solo pago de 36,00 MXN (10% de descuento)");
    expect_not_said(r, "2. ");
    c->debtor.balance_cents = 0; /* nothing to plan */
    r = say(c, "9");             /* plan step: back to the menu */
    assert_string_equal(r->step, "menu");
    r = say(c, "3");
    expect_said(r, "menor que el mínimo para un plan");
    assert_string_equal(r->step, "more");
    conv_free(&c);
}

/* ---- voice ---- */

static void test_voice_digits_drive_the_menu(void **state) {
    conv_t *c = conv_new("es");
    c->channel = HILO_BOT_CH_VOICE;
    hilo_bot_result_t *r = turn(c, NULL, NULL, NULL); /* the call starts */
    expect_said(r, "marque o diga los últimos 4 dígitos");
    assert_int_equal(r->nbuttons, 0);
    r = turn(c, NULL, "4321#", NULL);
    expect_action(r, HILO_BOT_VERIFIED);
    expect_said(r, "Saldo, marque 1.");
    expect_said(r, "Hablar con asesor, marque 0.");
    r = turn(c, NULL, "1", NULL);
    expect_said(r, "1.234,56 MXN");
    r = turn(c, NULL, "2", NULL); /* "more" menu: 2 = plan */
    expect_said(r, "Opción 2: 3 pagos mensuales de 411,52 MXN.");
    r = turn(c, NULL, "3", NULL);
    expect_said(r, "Para confirmar, marque 1");
    r = turn(c, NULL, "1", NULL);
    assert_int_equal(expect_action(r, HILO_BOT_PLAN_ACCEPTED)->instalments, 6);
    expect_said(r, "Le enviaremos el enlace de pago por mensaje de texto");
    expect_action(r, HILO_BOT_PAYMENT_LINK); /* so the router can text it */
    r = turn(c, NULL, "0", NULL);
    expect_escalation(r, "requested_agent");
    conv_free(&c);
}

static void test_voice_speech(void **state) {
    conv_t *c = conv_new("es");
    c->channel = HILO_BOT_CH_VOICE;
    turn(c, NULL, NULL, NULL);
    hilo_bot_result_t *r = say(c, "cuatro tres dos uno");
    expect_action(r, HILO_BOT_VERIFIED);
    r = say(c, "uno");
    expect_said(r, "1.234,56");
    conv_free(&c);

    c = conv_new("en");
    c->channel = HILO_BOT_CH_VOICE;
    turn(c, NULL, NULL, NULL);
    expect_action(say(c, "four three two one"), HILO_BOT_VERIFIED);
    expect_said(c->r, "For Balance, press 1.");
    expect_escalation(turn(c, NULL, "0", NULL), "requested_agent");
    conv_free(&c);
}

/* ---- state, channels, languages ---- */

static void test_state_round_trip_across_channels(void **state) {
    conv_t *c = verified_conv("es");
    hilo_bot_result_t *r = say(c, "quiero pagar 250");
    expect_said(r, "Anotado: 250,00 MXN");
    json_t *j = json_loads(c->state, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "promise"), "amount_cents")), 25000);
    assert_string_equal(json_string_value(json_object_get(j, "step")), "promise");
    assert_string_equal(json_string_value(json_object_get(j, "channel")), "whatsapp");
    assert_true(json_is_true(json_object_get(j, "verified")));
    json_decref(j);
    /* The debtor goes on by SMS, hours later (same session, verification renewed). */
    c->channel = HILO_BOT_CH_SMS;
    c->now += 20 * 60 * 1000;
    r = say(c, "el 10/12");
    expect_said(r, "250,00 MXN el 10 de diciembre de 2024");
    assert_int_equal(r->nbuttons, 0); /* no buttons on SMS */
    r = say(c, "1");
    const hilo_bot_action_t *a = expect_action(r, HILO_BOT_PROMISE);
    assert_int_equal(a->amount_cents, 25000);
    assert_string_equal(a->due_date, "2024-12-10");
    assert_non_null(strstr(c->state, "\"channel\":\"sms\""));
    conv_free(&c);
}

static void test_bad_state_starts_over(void **state) {
    conv_t *c = conv_new("es");
    c->state = hilo_xstrdup("{\"v\":1,\"verified\":\"yes\"}");
    hilo_bot_result_t *r = say(c, "saldo");
    assert_true(r->state_reset);
    expect_no_disclosure(r);
    free(c->state);
    c->state = hilo_xstrdup("garbage{");
    r = say(c, "hola");
    assert_true(r->state_reset);
    assert_string_equal(r->step, "verify");
    /* A state naming a step the flow no longer has: back to a known step, still private. */
    free(c->state);
    c->state = hilo_xstrdup("{\"v\":1,\"step\":\"renamed_step\",\"turns\":3,\"updated_ms\":1733040000000}");
    r = say(c, "saldo");
    assert_false(r->state_reset);
    expect_no_disclosure(r);
    conv_free(&c);
}

static void test_language_switch(void **state) {
    conv_t *c = conv_new("es");
    hilo_bot_result_t *r = say(c, "hola");
    assert_string_equal(r->language, "es");
    r = say(c, "English please");
    assert_string_equal(r->language, "en");
    expect_said(r, "continue in English");
    expect_said(r, "last 4 digits");
    r = say(c, "4321");
    expect_said(r, "How can I help you?");
    r = say(c, "balance");
    expect_said(r, "1,234.56 MXN");
    r = say(c, "en español");
    assert_string_equal(r->language, "es");
    expect_said(r, "seguimos en español");
    expect_said(r, "¿Le ayudo con algo más?");
    conv_free(&c);

    /* Without a choice, the portfolio language; an unknown one falls back to the default. */
    c = conv_new("EN-us");
    assert_string_equal(say(c, "hi")->language, "en");
    conv_free(&c);
    c = conv_new("fr");
    assert_string_equal(say(c, "bonjour")->language, "es");
    conv_free(&c);
}

static void test_buttons_and_result_json(void **state) {
    conv_t *c = verified_conv("es");
    hilo_bot_result_t *r = c->r;
    assert_int_equal(r->nbuttons, 3);
    assert_string_equal(r->buttons[0].id, "balance");
    assert_string_equal(r->buttons[0].title, "Saldo");
    assert_string_equal(r->buttons[2].id, "agent");
    r = turn(c, NULL, NULL, "balance");
    expect_said(r, "1.234,56 MXN");
    r = say(c, "link de pago");
    const hilo_bot_action_t *l = expect_action(r, HILO_BOT_PAYMENT_LINK);
    expect_said(r, l->url);
    char *json = hilo_bot_result_json(r);
    assert_non_null(strstr(json, "\"type\":\"payment_link\""));
    assert_non_null(strstr(json, "\"step\":\"more\""));
    free(json);
    r = say(c, "gracias");
    expect_said(r, "Que tenga un buen día");
    assert_string_equal(r->step, "menu"); /* the next turn starts at the menu */
    conv_free(&c);
}

static void test_session_timeout(void **state) {
    conv_t *c = verified_conv("es");
    say(c, "quiero pagar 250");
    c->now += 25 * 3600 * 1000LL; /* over session_timeout_minutes and verify_ttl_minutes */
    c->today = "2024-12-02";
    hilo_bot_result_t *r = say(c, "hola");
    expect_no_disclosure(r);
    assert_string_equal(r->step, "verify");
    r = say(c, "4321");
    expect_said(r, "¿En qué le puedo ayudar?"); /* the half promise was dropped */
    assert_null(strstr(c->state, "\"promise\""));
    conv_free(&c);
}

static int setup(void **state) {
    char err[512];
    flow = hilo_flow_load(HILO_BOT_FLOW, err, sizeof err);
    if (!flow) fprintf(stderr, "%s\n", err);
    return flow ? 0 : -1;
}

/* The texts the router says itself (keyword confirmations) come from the flow, in the
 * language asked for ("es-MX" reads as es), else the flow's default, per channel. */
static void test_router_texts_per_language(void **state) {
    assert_string_equal(hilo_flow_language(flow, "es-MX"), "es");
    assert_string_equal(hilo_flow_language(flow, "EN"), "en");
    assert_string_equal(hilo_flow_language(flow, NULL), "es");
    assert_string_equal(hilo_flow_language(flow, "fr"), "es");
    char *t = hilo_bot_text(flow, HILO_BOT_TEXT_OPTOUT_KEYWORD, "es-MX", HILO_BOT_CH_SMS);
    assert_non_null(strstr(t, "Ya no recibirá SMS"));
    free(t);
    t = hilo_bot_text(flow, HILO_BOT_TEXT_OPTOUT_KEYWORD, "en", HILO_BOT_CH_WHATSAPP);
    assert_non_null(strstr(t, "no longer receive WhatsApp messages"));
    free(t);
    t = hilo_bot_text(flow, HILO_BOT_TEXT_OPTIN_KEYWORD, "en", HILO_BOT_CH_SMS);
    assert_non_null(strstr(t, "Reply STOP"));
    free(t);
    t = hilo_bot_text(flow, HILO_BOT_TEXT_OPTOUT_KEYWORD, NULL, HILO_BOT_CH_VOICE);
    assert_non_null(strstr(t, "No volveremos a llamarle"));
    free(t);
    t = hilo_bot_text(flow, HILO_BOT_TEXT_OPTOUT_KEYWORD, "fr", HILO_BOT_CH_OTHER);
    assert_non_null(strstr(t, "Responda ALTA"));
    free(t);
}

static int teardown(void **state) {
    hilo_flow_destroy(&flow);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unverified_balance_never_disclosed),
        cmocka_unit_test(test_wrong_digits_three_times_escalate),
        cmocka_unit_test(test_right_digits_then_balance),
        cmocka_unit_test(test_request_before_verification_resumes),
        cmocka_unit_test(test_bad_format_and_misses),
        cmocka_unit_test(test_verification_expires),
        cmocka_unit_test(test_requested_agent_es_en),
        cmocka_unit_test(test_topic_escalations),
        cmocka_unit_test(test_not_understood_escalates),
        cmocka_unit_test(test_portfolio_rules_on_first_contact),
        cmocka_unit_test(test_portfolio_rules_on_a_new_session),
        cmocka_unit_test(test_high_balance_in_the_debtors_currency),
        cmocka_unit_test(test_stronger_reason_in_the_first_message),
        cmocka_unit_test(test_escalation_named),
        cmocka_unit_test(test_unknown_sender),
        cmocka_unit_test(test_optout),
        cmocka_unit_test(test_router_texts_per_language),
        cmocka_unit_test(test_promise_es),
        cmocka_unit_test(test_promise_en),
        cmocka_unit_test(test_promise_invalid),
        cmocka_unit_test(test_promise_in_parts),
        cmocka_unit_test(test_promise_before_verification_kept),
        cmocka_unit_test(test_plan_options_and_acceptance),
        cmocka_unit_test(test_plan_by_count_lump_and_change),
        cmocka_unit_test(test_voice_digits_drive_the_menu),
        cmocka_unit_test(test_voice_speech),
        cmocka_unit_test(test_state_round_trip_across_channels),
        cmocka_unit_test(test_bad_state_starts_over),
        cmocka_unit_test(test_language_switch),
        cmocka_unit_test(test_buttons_and_result_json),
        cmocka_unit_test(test_session_timeout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
