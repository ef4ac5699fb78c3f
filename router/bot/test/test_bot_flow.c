/* test_bot_flow.c — the flow file loader (every refusal names file:line and the reason) and
 * the privacy lock in the renderer (no private template or variable for an unverified
 * debtor, whatever the flow says). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow_int.h"
#include "hilo/bot_flow.h"
#include "hilo/common.h"
#include "render.h"

/* The smallest flow the loader accepts; tests append to it. Keep its last section a
 * template so appended sections start clean. */
static const char MIN_FLOW[] =
    "# minimal flow\n"
    "[flow]\n"
    "languages = es en\n"
    "start = verify\n"
    "verify = verify\n"
    "after_verify = menu\n"
    "unidentified = unknown\n"
    "\n"
    "[escalation verification_failed]\n"
    "topic = verification\n"
    "reply = bye\n"
    "[escalation bot_failure]\n"
    "topic = collections\n"
    "reply = bye\n"
    "[intent agent]\n"
    "label.es = Asesor\n"
    "label.en = Agent\n"
    "es = asesor\n"
    "en = agent\n"
    "do = escalate bot_failure\n"
    "[step verify]\n"
    "kind = verify\n"
    "prompt = ask\n"
    "[step unknown]\n"
    "kind = menu\n"
    "public = yes\n"
    "prompt = ask\n"
    "[step menu]\n"
    "kind = menu\n"
    "prompt = balance\n"
    "[template ask]\n"
    "es = Sus 4 dígitos\n"
    "en = Your 4 digits\n"
    "[template balance]\n"
    "es = Saldo {balance}\n"
    "en = Balance {balance}\n"
    "[template bye]\n"
    "es = adiós\n"
    "en = bye\n"
    "[template not_understood]\n"
    "es = ?\n"
    "en = ?\n"
    "[template waiting]\n"
    "es = espere\n"
    "en = wait\n"
    "[template optout]\n"
    "es = baja\n"
    "en = stop\n"
    "[template optout_keyword]\n"
    "es = no más\n"
    "en = no more\n"
    "[template optin_keyword]\n"
    "es = otra vez\n"
    "en = again\n"
    "[template language]\n"
    "es = español\n"
    "en = English\n"
    "[template verify_retry]\n"
    "es = otra vez\n"
    "en = again\n"
    "[template verify_format]\n"
    "es = 4 dígitos\n"
    "en = 4 digits\n";

static int base_lines(void) {
    int n = 0;
    for (const char *p = MIN_FLOW; *p; p++) n += *p == '\n';
    return n;
}

/* Loads MIN_FLOW + extra; expects a refusal starting "t.flow:<line>: " and containing why. */
static void expect_error(const char *extra, int line, const char *why) {
    size_t len = strlen(MIN_FLOW) + strlen(extra);
    char *text = hilo_xmalloc(len + 1);
    snprintf(text, len + 1, "%s%s", MIN_FLOW, extra);
    char err[512] = "", prefix[64];
    hilo_flow_t *f = hilo_flow_parse("t.flow", text, len, err, sizeof err);
    free(text);
    if (f) {
        hilo_flow_destroy(&f);
        fail_msg("accepted a bad flow (wanted line %d: %s)", line, why);
    }
    snprintf(prefix, sizeof prefix, "t.flow:%d: ", line);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, why))
        fail_msg("error '%s', wanted '%s…%s'", err, prefix, why);
}

static void test_min_flow_loads(void **state) {
    char err[512] = "";
    hilo_flow_t *f = hilo_flow_parse("t.flow", MIN_FLOW, strlen(MIN_FLOW), err, sizeof err);
    if (!f) fail_msg("%s", err);
    assert_int_equal(f->nlangs, 2);
    assert_int_equal(f->nsteps, 3);
    assert_true(f->tpls[f->steps[f->after_verify].prompt].private_);
    hilo_flow_destroy(&f);
    assert_null(f);
    hilo_flow_destroy(NULL);
}

static void test_shipped_flow_loads(void **state) {
    char err[512] = "";
    hilo_flow_t *f = hilo_flow_load(HILO_BOT_FLOW, err, sizeof err);
    if (!f) fail_msg("%s", err);
    assert_true(f->nintents >= 15);
    assert_true(f->npfrules >= 3);
    assert_non_null(f->rules.payment_link);
    hilo_flow_destroy(&f);
}

static void test_syntax_error(void **state) {
    int b = base_lines();
    expect_error("\nthis line is wrong\n", b + 2, "expected 'key = value' or '[section]'");
    expect_error("[step broken\n", b + 1, "must end with ']'");
    expect_error("[stepp x]\n", b + 1, "unknown section [stepp]");
    expect_error("[step]\n", b + 1, "[step] needs a name");
    expect_error("[step a b c]\n", b + 1, "malformed section header");
    expect_error("[template x]\nes y = 1\n", b + 2, "invalid key 'es y'");
    expect_error("[template x]\nes = \xff\xfe\n", b + 2, "not valid UTF-8");
}

static void test_unknown_variable(void **state) {
    int b = base_lines();
    expect_error("\n[template extra]\nes = Hola {nombre}\nen = Hi\n", b + 3, "template 'extra': unknown variable {nombre}");
    expect_error("[template extra]\nes = Hola\nen = Hi {name\n", b + 3, "unclosed '{'");
    expect_error("[template extra]\nes = Hola }\nen = Hi\n", b + 2, "stray '}'");
    /* link-only variables do not exist in replies */
    expect_error("[template extra]\nes = {token}\nen = x\n", b + 2, "unknown variable {token}");
}

static void test_unknown_step_reference(void **state) {
    int b = base_lines();
    expect_error("\n[step extra]\nkind = say\nprompt = bye\nnext = nowhere\n", b + 5, "next: unknown step 'nowhere'");
    expect_error("[intent x]\nes = hola\ndo = goto nowhere\n", b + 3, "intent 'x': unknown step 'nowhere'");
    expect_error("[intent x]\nes = hola\ndo = escalate nobody\n", b + 3, "unknown escalation 'nobody'");
    expect_error("[step c]\nkind = confirm\nprompt = bye\nyes = menu\nno = gone\n", b + 5, "no: unknown step 'gone'");
    expect_error("[step s]\nkind = say\nprompt = missing\nnext = menu\n", b + 3, "prompt: unknown template 'missing'");
}

static void test_structure_errors(void **state) {
    int b = base_lines();
    expect_error("[template ask]\nes = x\nen = y\n", b + 1, "duplicate [template ask] (first at line 31)");
    expect_error("[template half]\nes = solo español\n", b + 1, "template 'half' has no 'en' text");
    expect_error("[template x]\nes = a\nes = b\nen = c\n", b + 3, "duplicate key 'es' (first at line");
    expect_error("[step s]\nkind = menu\nprompt = bye\nnext = menu\n", b + 4, "unknown key 'next' for a menu step");
    expect_error("[step s]\nkind = dance\nprompt = bye\n", b + 2, "kind: unknown 'dance'");
    expect_error("[step s]\nkind = say\nprompt = bye\n", b + 1, "say step 's' needs next");
    expect_error("[step d]\nkind = menu\nprompt = bye\ndigits = 1:nothing\n", b + 4, "digits: unknown intent 'nothing'");
    expect_error("[step d]\nkind = menu\nprompt = bye\ndigits = 1:agent 1:agent\n", b + 4, "'1' is mapped twice");
    expect_error("[intent w]\nes = pa*go\n", b + 2, "'*' may only end a word");
    expect_error("[intent w]\nes = x\ndo = dance\n", b + 3, "do: expected");
    expect_error("[intent w]\nen = a\nes =\n", b + 3, "intent 'w': no phrases after 'es ='");
    expect_error("[intent w]\nlabel.es = Una etiqueta demasiado larga\nlabel.en = x\nes = w\n"
                 "[step d]\nkind = menu\nprompt = bye\nbuttons = w\n",
                 b + 8, "longer than 20 characters");
    expect_error("[rules]\nverify_attempts = 0\n", b + 2, "verify_attempts: expected a whole number from 1 to 10");
    expect_error("[rules]\nverify_tries = 3\n", b + 2, "unknown key 'verify_tries' in [rules]");
    expect_error("[rules]\npromise_min = ten\n", b + 2, "promise_min: expected an amount");
    expect_error("[step a]\nkind = say\nprompt = bye\nnext = b\n[step b]\nkind = say\nprompt = bye\nnext = a\n",
                 b + 1, "say steps loop");
    expect_error("[step p]\nkind = promise\nprompt = bye\nnext = menu\nconfirm = menu\n", b + 5,
                 "confirm: step 'menu' is not a confirm step");
    expect_error("[language pt]\ndecimal = ,\n", b + 1, "language 'pt' is not in [flow] languages");
    expect_error("[template x]\nes = {payment_link}\nen = x\n", b + 1, "[rules] has no payment_link");
}

/* A portfolio rule's balance is per currency: a bare balance_min (compared whatever the
 * currency) is refused, and so is a code that is not one. */
static void test_balance_thresholds_per_currency(void **state) {
    int b = base_lines();
    const char *rule = "[portfolio_rule big]\ntopic = big\nreply = bye\n";
    char extra[512];
    snprintf(extra, sizeof extra, "%sbalance_min = 5000.00\n", rule);
    expect_error(extra, b + 4, "balance_min: say the currency");
    snprintf(extra, sizeof extra, "%sbalance_min.usd = 5000.00\n", rule);
    expect_error(extra, b + 4, "'usd' is not a currency code");
    snprintf(extra, sizeof extra, "%sbalance_min.DOLLARS = 5000.00\n", rule);
    expect_error(extra, b + 4, "'DOLLARS' is not a currency code");
    snprintf(extra, sizeof extra, "%sbalance_min.USD = lots\n", rule);
    expect_error(extra, b + 4, "balance_min.USD: expected an amount");
    snprintf(extra, sizeof extra, "%sbalance_min.USD = 1\nbalance_min.USD = 2\n", rule);
    expect_error(extra, b + 5, "duplicate key 'balance_min.USD'");

    char text[4096], err[512] = "";
    snprintf(text, sizeof text, "%s%sbalance_min.USD = 5000.00\nbalance_min.COP = 20000000\n", MIN_FLOW, rule);
    hilo_flow_t *f = hilo_flow_parse("t.flow", text, strlen(text), err, sizeof err);
    if (!f) fail_msg("%s", err);
    assert_int_equal(f->npfrules, 1);
    assert_int_equal(f->pfrules[0].nbalance_min, 2);
    assert_string_equal(f->pfrules[0].balance_min[0].code, "USD");
    assert_int_equal(f->pfrules[0].balance_min[0].min_cents, 500000);
    assert_string_equal(f->pfrules[0].balance_min[1].code, "COP");
    assert_int_equal(f->pfrules[0].balance_min[1].min_cents, 2000000000LL);
    hilo_flow_destroy(&f);
}

/* The loader refuses any flow where a private template can be said before verification. */
static void test_private_templates_refused_where_public(void **state) {
    int b = base_lines();
    expect_error("[escalation leak]\ntopic = x\nreply = balance\n", b + 3,
                 "template 'balance' uses {balance}, but an escalation's reply can be said before verification");
    expect_error("[step pub]\nkind = menu\npublic = yes\nprompt = balance\n", b + 1,
                 "template 'balance' uses {balance}, but the public step's prompt");
    expect_error("[template secret]\nprivate = yes\nes = Usted tiene una deuda\nen = You have a debt\n"
                 "[escalation leak]\ntopic = x\nreply = secret\n",
                 b + 7, "template 'secret' is marked private");
    /* waiting is said to anyone who writes while handed over */
    char *flow = hilo_xstrdup(MIN_FLOW);
    char *w = strstr(flow, "es = espere");
    memcpy(w, "es = {name}", 11);
    char err[512];
    assert_null(hilo_flow_parse("t.flow", flow, strlen(flow), err, sizeof err));
    assert_non_null(strstr(err, "template 'waiting' uses {name}"));
    assert_int_equal(strncmp(err, "t.flow:43: ", 11), 0);
    free(flow);
}

/* An error in a real file on disk names that file and the line. */
static void test_load_file_errors(void **state) {
    char err[512];
    assert_null(hilo_flow_load("/nonexistent/x.flow", err, sizeof err));
    assert_string_equal(err, "/nonexistent/x.flow:0: cannot open: No such file or directory");
    FILE *in = fopen(HILO_BOT_FLOW, "r");
    assert_non_null(in);
    char path[] = "/tmp/hilo-flow-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "w");
    char line[4200];
    int n = 0, bad = 0;
    bool in_balance = false;
    while (fgets(line, sizeof line, in)) {
        n++;
        if (strncmp(line, "[template balance]", 18) == 0) in_balance = true;
        if (in_balance && !bad && strncmp(line, "en = ", 5) == 0) {
            bad = n;
            fputs("en = Your balance is {saldo}\n", out);
            continue;
        }
        fputs(line, out);
    }
    fclose(in);
    fclose(out);
    assert_true(bad > 0);
    char want[512];
    snprintf(want, sizeof want, "%s:%d: template 'balance': unknown variable {saldo}", path, bad);
    assert_null(hilo_flow_load(path, err, sizeof err));
    assert_string_equal(err, want);
    unlink(path);
}

/* ---- the renderer's privacy lock ---- */

static const hilo_bot_debtor_t DEBTOR = {"d-1", "María Pérez", "4321", 123456, "MXN", 45, "es", 0, "", "tok", 0};

static void ctx_for(const hilo_flow_t *f, bool verified, int variant, bot_render_ctx_t *c) {
    memset(c, 0, sizeof *c);
    c->flow = f;
    c->lang = 0;
    c->variant = variant;
    c->verified = verified;
    c->debtor = &DEBTOR;
    c->today = 20058;
    c->step = -1;
    c->has_amount = true;
    c->amount_cents = 20000;
    c->has_date = true;
    c->date = 20072;
}

static int tpl_named(const hilo_flow_t *f, const char *name) {
    for (int i = 0; i < f->ntpls; i++)
        if (strcmp(f->tpls[i].name, name) == 0) return i;
    fail_msg("no template %s", name);
    return -1;
}

static void test_render_refuses_private_when_unverified(void **state) {
    char err[512];
    hilo_flow_t *f = hilo_flow_load(HILO_BOT_FLOW, err, sizeof err);
    assert_non_null(f);
    bot_render_ctx_t c;
    int balance = tpl_named(f, "balance");
    ctx_for(f, false, BOT_VARIANT_TEXT, &c);
    assert_null(bot_render(&c, balance));
    ctx_for(f, true, BOT_VARIANT_TEXT, &c);
    char *s = bot_render(&c, balance);
    assert_non_null(s);
    assert_non_null(strstr(s, "1.234,56 MXN"));
    free(s);
    /* The second lock: a template wrongly marked public still cannot show a private value. */
    f->tpls[balance].private_ = false;
    ctx_for(f, false, BOT_VARIANT_TEXT, &c);
    assert_null(bot_render(&c, balance));
    f->tpls[balance].private_ = true;
    /* The payment link (it carries the debtor's token) only for the verified. */
    ctx_for(f, false, BOT_VARIANT_TEXT, &c);
    assert_null(bot_render_link(&c));
    ctx_for(f, true, BOT_VARIANT_TEXT, &c);
    s = bot_render_link(&c);
    assert_string_equal(s, "https://pagos.example.com/p/d-1?t=tok");
    free(s);
    hilo_flow_destroy(&f);
}

/* Every template of the shipped flow, every language and channel: rendered for an
 * unverified debtor, either refused or free of any debt or identity detail. */
static void test_no_template_leaks_unverified(void **state) {
    char err[512];
    hilo_flow_t *f = hilo_flow_load(HILO_BOT_FLOW, err, sizeof err);
    assert_non_null(f);
    static const char *const secrets[] = {"1.234,56", "1,234.56", "4321", "María", "Pérez", "45", "200,00",
                                          "200.00", "tok", "d-1"};
    int refused = 0, said = 0;
    for (int t = 0; t < f->ntpls; t++)
        for (int lang = 0; lang < f->nlangs; lang++)
            for (int v = 0; v < BOT_VARIANT_N; v++) {
                bot_render_ctx_t c;
                ctx_for(f, false, v, &c);
                c.lang = lang;
                c.step = 0;
                char *s = bot_render(&c, t);
                if (!s) {
                    assert_true(f->tpls[t].private_);
                    refused++;
                    continue;
                }
                said++;
                for (size_t k = 0; k < HILO_ARRAY_LEN(secrets); k++)
                    if (strstr(s, secrets[k])) fail_msg("template %s says '%s' unverified: %s", f->tpls[t].name, secrets[k], s);
                free(s);
            }
    assert_true(refused > 20);
    assert_true(said > 20);
    hilo_flow_destroy(&f);
}

static void test_formatting(void **state) {
    bot_lang_t es = {"es", ',', '.', false}, en = {"en", '.', ',', true}, none = {"xx", ',', 0, false};
    char b[64];
    bot_money_format(123456, &es, b, sizeof b);
    assert_string_equal(b, "1.234,56");
    bot_money_format(123456, &en, b, sizeof b);
    assert_string_equal(b, "1,234.56");
    bot_money_format(100000000, &en, b, sizeof b);
    assert_string_equal(b, "1,000,000.00");
    bot_money_format(5, &none, b, sizeof b);
    assert_string_equal(b, "0,05");
    bot_money_format(-1500, &en, b, sizeof b);
    assert_string_equal(b, "-15.00");
    bot_date_format(20072, "es", b, sizeof b);
    assert_string_equal(b, "15 de diciembre de 2024");
    bot_date_format(20072, "en", b, sizeof b);
    assert_string_equal(b, "December 15, 2024");
    bot_date_format(20072, "pt", b, sizeof b);
    assert_string_equal(b, "2024-12-15");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_balance_thresholds_per_currency),
        cmocka_unit_test(test_min_flow_loads),
        cmocka_unit_test(test_shipped_flow_loads),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_unknown_variable),
        cmocka_unit_test(test_unknown_step_reference),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_private_templates_refused_where_public),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_render_refuses_private_when_unverified),
        cmocka_unit_test(test_no_template_leaks_unverified),
        cmocka_unit_test(test_formatting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
