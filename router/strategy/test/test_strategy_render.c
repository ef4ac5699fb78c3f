/* test_strategy_render.c — rendering a step for a debtor (variables, languages, variants, the
 * privacy guard) and the checks of `hilo strategy check` against the shipped rule packs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "facts.h"
#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/strategy.h"

static const char text[] =
    "[strategy]\nname = r\npriority = 1\nstate = active\nlanguages = es en\ncompany = ACME\n"
    "payment_link = https://pay.example/p/{debtor_id}?t={token}\n"
    "[variant a]\nshare = 50\n[variant b]\nshare = 50\n"
    "[segment v]\nverified = yes\nsteps = pay\n"
    "[segment u]\nsteps = hello\n"
    "[step pay]\nchannel = sms\n"
    "text.es = {first_name}: saldo {balance}, paga en {payment_link} ({{ok}}) cobrador de deudas STOP\n"
    "text.en = {first_name}: balance {balance} due {due_date}, debt collector STOP\n"
    "[step hello]\nchannel = sms\ntext.es = Hola de {company}. STOP\\nGracias\ntext.en = Hello from {company}. STOP\n"
    "text.en.b = Hi from {company}! STOP\n";

typedef struct {
    rec_t debtor, conv;
    hilo_strategy_facts_t f;
} debtor_t;

static void debtor_init(debtor_t *d) {
    memset(d, 0, sizeof *d);
    rec_set(&d->debtor, "full_name", "Ana María Gómez");
    rec_set(&d->debtor, "balance", "1250000.50");
    rec_set(&d->debtor, "currency", "COP");
    rec_set(&d->debtor, "language", "es-CO");
    rec_set(&d->debtor, "attr:payment_token", "tok123");
    d->f = (hilo_strategy_facts_t){.debtor_id = "D9", .get = rec_get, .debtor = &d->debtor, .conv = &d->conv};
}

static hilo_strategy_set_t *load(const char *t) {
    char err[512];
    hilo_strategy_set_t *set = hilo_strategy_set_parse("r.strategy", t, strlen(t), err, sizeof err);
    if (!set) fail_msg("%s", err);
    return set;
}

static char *render(const hilo_strategy_t *st, const char *segment, int variant, debtor_t *d, char *why) {
    const hilo_strategy_step_t *step = hilo_strategy_first_step(hilo_strategy_segment_find(st, segment), variant);
    char *out = NULL;
    int rc = hilo_strategy_render(st, step, variant, &d->f, &out, why, 256);
    assert_true((rc == HILO_OK) == (out != NULL));
    return out;
}

static void test_render(void **state) {
    (void)state;
    hilo_strategy_set_t *set = load(text);
    const hilo_strategy_t *st = hilo_strategy_set_get(set, 0);
    debtor_t d;
    debtor_init(&d);
    char why[256];
    char *s = render(st, "u", 0, &d, why);
    assert_string_equal(s, "Hola de ACME. STOP\nGracias");
    free(s);
    rec_set(&d.debtor, "language", "en");
    s = render(st, "u", 1, &d, why); /* variant b has its own English text */
    assert_string_equal(s, "Hi from ACME! STOP");
    free(s);
    rec_set(&d.debtor, "language", "fr"); /* no French: the default language (es) */
    s = render(st, "u", 1, &d, why);
    assert_string_equal(s, "Hola de ACME. STOP\nGracias");
    free(s);
    /* Disclosure variables: refused until the debtor is verified. */
    rec_set(&d.debtor, "language", "es");
    assert_null(render(st, "v", 0, &d, why));
    assert_non_null(strstr(why, "not verified"));
    rec_set(&d.conv, "verified_ms", "1795000000000");
    s = render(st, "v", 0, &d, why);
    assert_string_equal(s, "Ana: saldo 1.250.000,50 COP, paga en https://pay.example/p/D9?t=tok123 ({ok}) "
                           "cobrador de deudas STOP");
    free(s);
    rec_set(&d.debtor, "language", "en");
    rec_set(&d.debtor, "balance", "640.5");
    rec_set(&d.debtor, "currency", "USD");
    assert_null(render(st, "v", 0, &d, why)); /* no promise, no attribute due_date */
    assert_string_equal(why, "step pay: no value for {due_date}");
    const char p[] = "{\"kind\":\"promise\",\"amount_cents\":20000,\"due\":\"2026-11-30\",\"state\":\"pending\"}";
    hilo_strategy_ledger_promise(&d.f.ledger, p, strlen(p));
    s = render(st, "v", 0, &d, why);
    assert_string_equal(s, "Ana: balance 640.50 USD due 2026-11-30, debt collector STOP");
    free(s);
    hilo_strategy_set_destroy(&set);
}

typedef struct {
    char all[8192];
    int n;
} problems_t;

static void collect(const char *problem, void *arg) {
    problems_t *p = arg;
    size_t len = strlen(p->all);
    snprintf(p->all + len, sizeof p->all - len, "%s\n", problem);
    p->n++;
}

static int check(const char *t, const hilo_compliance_t *gate, problems_t *p) {
    memset(p, 0, sizeof *p);
    hilo_strategy_set_t *set = load(t);
    int n = hilo_strategy_check(hilo_strategy_set_get(set, 0), gate, collect, p);
    hilo_strategy_set_destroy(&set);
    return n;
}

#define ASSERT_HAS(p, s) \
    do {                                                     \
        if (!strstr((p).all, s)) fail_msg("not found: %s\nin:\n%s", s, (p).all); \
    } while (0)

#define HEAD "[strategy]\nname = c\npriority = 1\nlanguages = en es\ncompany = ACME\n"

static void test_check(void **state) {
    (void)state;
    char err[512];
    hilo_compliance_t *gate = hilo_compliance_new(HILO_COMPLIANCE_DATA, NULL, err, sizeof err);
    if (!gate) fail_msg("%s", err);
    problems_t p;
    /* The shipped demo passes. */
    const char *demo = HILO_STRATEGY_DIR "/demo.strategy";
    hilo_strategy_set_t *set = hilo_strategy_set_load_files(&demo, 1, err, sizeof err);
    assert_non_null(set);
    memset(&p, 0, sizeof p);
    if (hilo_strategy_check(hilo_strategy_set_get(set, 0), gate, collect, &p)) fail_msg("%s", p.all);
    hilo_strategy_set_destroy(&set);

    /* Privacy: a disclosure variable where unverified debtors can be (verified = any). */
    assert_int_equal(check(HEAD "[segment s]\ncountry = CO\nsteps = a\n[step a]\nchannel = sms\n"
                                "text.en = You owe {balance}\ntext.es = Debe {days_past_due} días\n",
                           gate, &p),
                     2);
    ASSERT_HAS(p, "r.strategy:11: step a text.en uses {balance}, a disclosure variable, and "
                                  "unverified debtors reach it (segment s: verified = any)");
    ASSERT_HAS(p, "r.strategy:12: step a text.es uses {days_past_due}");
    /* The same in a verified-only segment: fine (CO's pack asks no notice). */
    assert_int_equal(check(HEAD "[segment s]\ncountry = CO\nverified = yes\nsteps = a\n[step a]\nchannel = sms\n"
                                "text.en = You owe {balance}\ntext.es = Debe {balance}\n",
                           gate, &p),
                     0);
    /* A step reached only through a transition is as reachable as the first. */
    assert_int_equal(check(HEAD "[segment s]\ncountry = CO\nsteps = a b\n[step a]\nchannel = sms\non.failed = b\n"
                                "text.en = Hi\ntext.es = Hola\n[step b]\nchannel = sms\ntext.en = Hi {attr.loan}\n"
                                "text.es = Hola\n",
                           gate, &p),
                     1);
    ASSERT_HAS(p, "step b text.en uses {attr.loan}");
    /* US: every text carries STOP; unverified texts may not say "debt collector"; the first
     * communication of a verified segment must, in its language. */
    assert_int_equal(check(HEAD "[segment s]\ncountry = US\nsteps = a\n[step a]\nchannel = sms\n"
                                "text.en = Hello, reply STOP to opt out\ntext.es = Hola, responda BAJA\n",
                           gate, &p),
                     1);
    ASSERT_HAS(p, "r.strategy:12: step a text.es lacks the opt-out notice pack us_reg_f requires "
                                  "for US (one of: STOP)");
    /* A call is not an electronic communication: no opt-out notice asked of a voice step; its
     * privacy is checked as any other step's. */
    assert_int_equal(check(HEAD "[segment s]\ncountry = US\nsteps = a\n[step a]\nchannel = voice\n"
                                "text.en = Please call us back\ntext.es = Llámenos, por favor\n",
                           gate, &p),
                     0);
    assert_int_equal(check(HEAD "[segment s]\ncountry = US\nsteps = a\n[step a]\nchannel = voice\n"
                                "text.en = You owe {balance}\ntext.es = Hola\n",
                           gate, &p),
                     1);
    ASSERT_HAS(p, "step a text.en uses {balance}, a disclosure variable");
    assert_int_equal(check(HEAD "[segment s]\ncountry = US\nsteps = a\n[step a]\nchannel = sms\n"
                                "text.en = A debt collector writes. STOP\ntext.es = Hola STOP\n",
                           gate, &p),
                     1);
    ASSERT_HAS(p, "carries the debt-collection disclosure \"debt collector\" and unverified");
    assert_int_equal(check(HEAD "[segment s]\ncountry = US\nverified = yes\nsteps = a b\n"
                                "[step a]\nchannel = sms\ntext.en = Your balance. STOP\ntext.es = Cobrador de deudas STOP\n"
                                "[step b]\nchannel = sms\ntext.en = Owe {balance} STOP\ntext.es = {balance} cobrador de deudas STOP\n",
                           gate, &p),
                     2);
    ASSERT_HAS(p, "r.strategy:12: step a text.en is the first communication of segment s and "
                                  "lacks the disclosure pack us_reg_f requires for US: \"debt collector\"");
    ASSERT_HAS(p, "r.strategy:16: step b text.en is a disclosing message of segment s");
    /* No country condition: every country with a pack counts (the US among them). */
    assert_true(check(HEAD "[segment s]\nsteps = a\n[step a]\nchannel = sms\ntext.en = Hi\ntext.es = Hola\n", gate, &p) >=
                2);
    /* A country whose mapping blocks, a variable without its [strategy] key, an unreachable step. */
    assert_int_equal(check("[strategy]\nname = c\npriority = 1\nlanguages = en\n[segment s]\ncountry = FR\nsteps = a b\n"
                           "[step a]\nchannel = sms\non.sent = end\ntext.en = Call {callback_phone}\n"
                           "[step b]\nchannel = sms\ntext.en = x\n",
                           gate, &p),
                     3);
    ASSERT_HAS(p, "r.strategy:5: segment s: country FR has no rule pack");
    ASSERT_HAS(p, "r.strategy:11: {callback_phone} needs callback_phone = ... in [strategy]");
    ASSERT_HAS(p, "r.strategy:12: step b is never reached from segment s's first step");
    /* Without the packs, privacy is still checked. */
    assert_int_equal(check(HEAD "[segment s]\nsteps = a\n[step a]\nchannel = sms\ntext.en = {balance}\ntext.es = x\n",
                           NULL, &p),
                     1);
    hilo_compliance_destroy(&gate);
}

static void test_vars_table(void **state) {
    (void)state;
    static const char *const disclosure[] = {"balance", "promise_amount", "due_date", "days_past_due", "first_name",
                                             "full_name", "product", "payment_link", "currency", "attr.anything"};
    for (size_t i = 0; i < sizeof disclosure / sizeof *disclosure; i++)
        assert_true(hilo_strategy_var_disclosure(disclosure[i]));
    assert_false(hilo_strategy_var_disclosure("company"));
    assert_false(hilo_strategy_var_disclosure("callback_phone"));
    assert_true(hilo_strategy_var_disclosure("not_a_variable"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_vars_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
