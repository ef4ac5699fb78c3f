/* test_strategy_match.c — matching debtors to strategies and segments, the stops, channel
 * usability (opt-out, consent, wrong numbers), and variants that stay put when shares change. */
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

static const char two[] =
    "[strategy]\nname = high\npriority = 20\nstate = active\nlanguages = en\nstop_attributes = attorney bankruptcy\n"
    "consent.sms = required\n"
    "[segment big]\nbalance.USD = 1000-\nbalance.EUR = 500.50-\nsteps = w\n"
    "[segment vip]\nattr.tier = gold platinum\npromise = none broken\nbroken_promises = 1-\nsteps = s\n"
    "[step w]\nchannel = whatsapp\ntemplate = t1\ntext.en = w STOP\n"
    "[step s]\nchannel = sms\ntext.en = s STOP\n"
    "---\n"
    "[strategy]\nname = low\npriority = 10\nstate = active\nlanguages = en\n"
    "[segment early]\ndays_past_due = 1-30\ncountry = US\nlanguage = en\nverified = no\nsteps = a\n"
    "[segment verified]\nverified = yes\nlast_result = none failed\nsteps = b\n"
    "[step a]\nchannel = sms\ntext.en = a STOP\n"
    "[step b]\nchannel = whatsapp\ntemplate = t2\ntext.en = b STOP\n";

static hilo_strategy_set_t *load_two(void) {
    /* Two files: write the halves to temporary files and load them as a set. */
    const char *cut = strstr(two, "---\n");
    char pa[] = "/tmp/hilo-st-a-XXXXXX", pb[] = "/tmp/hilo-st-b-XXXXXX";
    int fa = mkstemp(pa), fb = mkstemp(pb);
    assert_true(fa >= 0 && fb >= 0);
    FILE *a = fdopen(fa, "w"), *b = fdopen(fb, "w");
    fwrite(two, 1, (size_t)(cut - two), a);
    fputs(cut + 4, b);
    fclose(a);
    fclose(b);
    const char *paths[2] = {pb, pa};
    char err[512];
    hilo_strategy_set_t *set = hilo_strategy_set_load_files(paths, 2, err, sizeof err);
    remove(pa);
    remove(pb);
    if (!set) fail_msg("%s", err);
    return set;
}

typedef struct {
    rec_t debtor, conv, consent;
    hilo_strategy_facts_t f;
} debtor_t;

static void debtor_init(debtor_t *d, const char *id) {
    memset(d, 0, sizeof *d);
    rec_set(&d->debtor, "phones", "+16505551234");
    rec_set(&d->debtor, "balance", "100.00");
    rec_set(&d->debtor, "currency", "USD");
    rec_set(&d->debtor, "days_past_due", "20");
    rec_set(&d->debtor, "country", "US");
    rec_set(&d->debtor, "language", "en");
    rec_set(&d->debtor, "timezone", "America/New_York");
    rec_set(&d->consent, "sms:+16505551234", "granted|1700000000000|import");
    d->f = (hilo_strategy_facts_t){.debtor_id = id, .get = rec_get, .debtor = &d->debtor, .conv = &d->conv,
                                   .consent = &d->consent, .now_ms = 1795510800000};
}

static void expect(const hilo_strategy_set_t *set, debtor_t *d, const char *strategy, const char *segment,
                   hilo_strategy_excl_t excl) {
    hilo_strategy_match_t m;
    bool in = hilo_strategy_match(set, NULL, &d->f, &m);
    if (m.excluded != excl)
        fail_msg("excluded %s, expected %s", hilo_strategy_excl_name(m.excluded), hilo_strategy_excl_name(excl));
    assert_int_equal(in, excl == HILO_EXCL_NONE);
    if (strategy) {
        assert_non_null(m.strategy);
        assert_string_equal(hilo_strategy_name(m.strategy), strategy);
        assert_string_equal(hilo_strategy_segment_name(m.segment), segment);
    } else if (excl != HILO_EXCL_PAID && excl != HILO_EXCL_PROMISE) {
        assert_null(m.strategy);
    }
}

static void test_segments(void **state) {
    (void)state;
    hilo_strategy_set_t *set = load_two();
    assert_string_equal(hilo_strategy_name(hilo_strategy_set_get(set, 0)), "high"); /* priority order */
    debtor_t d;
    debtor_init(&d, "D1");
    expect(set, &d, "low", "early", HILO_EXCL_NONE);
    rec_set(&d.debtor, "balance", "1000.00"); /* the higher priority strategy wins */
    expect(set, &d, "high", "big", HILO_EXCL_NONE);
    rec_set(&d.debtor, "currency", "EUR");
    rec_set(&d.debtor, "balance", "500.49");
    expect(set, &d, "low", "early", HILO_EXCL_NONE);
    rec_set(&d.debtor, "balance", "500.50");
    expect(set, &d, "high", "big", HILO_EXCL_NONE);
    rec_set(&d.debtor, "currency", "COP"); /* no balance range for COP: not in segment big */
    rec_set(&d.debtor, "balance", "5000000.00");
    expect(set, &d, "low", "early", HILO_EXCL_NONE);
    rec_set(&d.debtor, "days_past_due", "31");
    expect(set, &d, NULL, NULL, HILO_EXCL_NO_SEGMENT);
    rec_set(&d.conv, "verified_ms", "1700000000000");
    expect(set, &d, "low", "verified", HILO_EXCL_NONE);
    rec_set(&d.conv, HILO_CONV_LAST_RESULT, "replied");
    expect(set, &d, NULL, NULL, HILO_EXCL_NO_SEGMENT);
    rec_set(&d.conv, HILO_CONV_LAST_RESULT, "failed");
    expect(set, &d, "low", "verified", HILO_EXCL_NONE);
    /* attr.tier, promise state and broken count together */
    rec_set(&d.debtor, "attr:tier", "gold");
    expect(set, &d, "low", "verified", HILO_EXCL_NONE); /* broken_promises 0 */
    rec_set(&d.conv, "broken_promises", "2");
    expect(set, &d, "high", "vip", HILO_EXCL_NONE);
    rec_set(&d.debtor, "attr:tier", "silver");
    expect(set, &d, "low", "verified", HILO_EXCL_NONE);
    hilo_strategy_set_destroy(&set);
}

static void test_stops(void **state) {
    (void)state;
    hilo_strategy_set_t *set = load_two();
    debtor_t d;
    debtor_init(&d, "D2");
    expect(set, &d, "low", "early", HILO_EXCL_NONE);
    rec_set(&d.debtor, "balance", "0.00");
    expect(set, &d, NULL, NULL, HILO_EXCL_PAID);
    rec_set(&d.debtor, "balance", "100.00");
    rec_set(&d.debtor, "imported_ms", "1000");
    const char pay[] = "{\"reference\":\"R1\",\"amount_cents\":10000,\"currency\":\"USD\",\"imported_ms\":2000}";
    hilo_strategy_ledger_payment(&d.f.ledger, pay, strlen(pay), "USD", 1000);
    expect(set, &d, NULL, NULL, HILO_EXCL_PAID); /* a payment since the import covers the balance */
    memset(&d.f.ledger, 0, sizeof d.f.ledger);
    hilo_strategy_ledger_payment(&d.f.ledger, pay, strlen(pay), "USD", 5000); /* older than the import */
    hilo_strategy_ledger_payment(&d.f.ledger, pay, strlen(pay), "EUR", 1000); /* other currency */
    expect(set, &d, "low", "early", HILO_EXCL_NONE);
    const char pending[] = "{\"kind\":\"promise\",\"amount_cents\":5000,\"due\":\"2026-12-01\",\"state\":\"pending\"}";
    const char broken[] = "{\"kind\":\"promise\",\"amount_cents\":5000,\"due\":\"2026-11-01\",\"state\":\"broken\"}";
    hilo_strategy_ledger_promise(&d.f.ledger, pending, strlen(pending));
    expect(set, &d, NULL, NULL, HILO_EXCL_PROMISE);
    assert_string_equal(d.f.ledger.next_due, "2026-12-01");
    memset(&d.f.ledger, 0, sizeof d.f.ledger);
    hilo_strategy_ledger_promise(&d.f.ledger, broken, strlen(broken)); /* broken: contact resumes */
    expect(set, &d, "low", "early", HILO_EXCL_NONE);
    static const struct {
        const char *field, *value;
        hilo_strategy_excl_t excl;
    } stops[] = {
        {"esc_reason", "dispute", HILO_EXCL_DISPUTE},
        {"disposition", "{\"code\":\"dispute\",\"agent\":\"a1\"}", HILO_EXCL_DISPUTE},
        {HILO_CONV_DISPUTE, "1795000000000", HILO_EXCL_DISPUTE},
        {"esc_reason", "hardship", HILO_EXCL_HARDSHIP},
        {"dnc", "1", HILO_EXCL_CEASE},
        {HILO_CONV_CEASE, "1795000000000", HILO_EXCL_CEASE},
        {"disposition", "{\"code\":\"wrong_party\"}", HILO_EXCL_WRONG_NUMBER},
        {"state", "assigned", HILO_EXCL_AGENT},
        {"state", "queued", HILO_EXCL_AGENT},
    };
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        debtor_init(&d, "D2");
        rec_set(&d.conv, stops[i].field, stops[i].value);
        expect(set, &d, NULL, NULL, stops[i].excl);
    }
    debtor_init(&d, "D2");
    rec_set(&d.conv, "state", "closed"); /* a closed conversation does not stop anything */
    rec_set(&d.conv, "dnc", "0");
    expect(set, &d, "low", "early", HILO_EXCL_NONE);
    /* The strategy's own stop attributes: only for the strategy the debtor is in. */
    rec_set(&d.debtor, "attr:attorney", "no");
    expect(set, &d, "low", "early", HILO_EXCL_NONE);
    rec_set(&d.debtor, "balance", "2000.00");
    rec_set(&d.debtor, "attr:attorney", "Smith & Co");
    hilo_strategy_match_t m;
    assert_false(hilo_strategy_match(set, NULL, &d.f, &m));
    assert_int_equal(m.excluded, HILO_EXCL_ATTRIBUTE);
    assert_string_equal(m.detail, "attorney");
    assert_string_equal(hilo_strategy_name(m.strategy), "high");
    hilo_strategy_set_destroy(&set);
}

static void test_channels(void **state) {
    (void)state;
    hilo_strategy_set_t *set = load_two();
    debtor_t d;
    debtor_init(&d, "D3");
    rec_set(&d.conv, "optout:sms", "1795000000000");
    expect(set, &d, "low", "early", HILO_EXCL_OPTED_OUT); /* early uses SMS only */
    debtor_init(&d, "D3");
    rec_set(&d.consent, "sms:+16505551234", "revoked|1795000000000|conversation");
    expect(set, &d, "low", "early", HILO_EXCL_NONE); /* low does not require consent... */
    rec_set(&d.debtor, "balance", "5000.00");
    expect(set, &d, "high", "big", HILO_EXCL_NONE); /* ...and high's segment uses WhatsApp */
    rec_set(&d.debtor, "attr:tier", "gold");
    rec_set(&d.debtor, "balance", "10.00");
    rec_set(&d.conv, "broken_promises", "1");
    expect(set, &d, "high", "vip", HILO_EXCL_NO_CONSENT); /* vip: SMS, which high requires consent for */
    rec_set(&d.debtor, "phones", "+16505551234;+16505559999");
    rec_set(&d.consent, "sms:+16505559999", "granted|1795000000000|agent:a1");
    expect(set, &d, "high", "vip", HILO_EXCL_NONE);
    char phone[40];
    hilo_strategy_excl_t why;
    assert_true(hilo_strategy_channel_usable(hilo_strategy_set_find(set, "high"), NULL, &d.f, HILO_CHANNEL_SMS, &why,
                                             phone, sizeof phone));
    assert_string_equal(phone, "+16505559999");
    rec_set(&d.conv, HILO_CONV_WRONG_PREFIX "+16505559999", "1795000000000");
    expect(set, &d, "high", "vip", HILO_EXCL_NO_CONSENT);
    rec_set(&d.debtor, "phones", "+16505559999");
    expect(set, &d, "high", "vip", HILO_EXCL_WRONG_NUMBER);
    rec_set(&d.debtor, "phones", "");
    expect(set, &d, "high", "vip", HILO_EXCL_NO_PHONE);
    hilo_strategy_set_destroy(&set);
}

/* A `channel = best` step uses every candidate: opted out of its first (the fixed cadence's), the
 * debtor is still in while another candidate is usable. */
static void test_best_step_channels(void **state) {
    (void)state;
    static const char text[] = "[strategy]\nname = b\npriority = 1\nstate = active\nlanguages = en\n"
                               "[segment s]\nsteps = x\n[step x]\nchannel = best\nchannels = whatsapp sms\n"
                               "template = t1\nhours = best\ntext.en = x STOP\n";
    char err[512];
    hilo_strategy_set_t *set = hilo_strategy_set_parse("b.strategy", text, strlen(text), err, sizeof err);
    if (!set) fail_msg("%s", err);
    debtor_t d;
    debtor_init(&d, "D9");
    rec_set(&d.conv, "optout:whatsapp", "1795000000000");
    expect(set, &d, "b", "s", HILO_EXCL_NONE);
    rec_set(&d.conv, "optout:sms", "1795000000000");
    expect(set, &d, "b", "s", HILO_EXCL_OPTED_OUT);
    hilo_strategy_set_destroy(&set);
}

static hilo_strategy_set_t *variants(int a, int b, int third) {
    char text[1024], err[512];
    snprintf(text, sizeof text,
             "[strategy]\nname = exp\npriority = 1\nstate = active\nlanguages = en\n"
             "[variant champion]\nshare = %d\n[variant challenger]\nshare = %d\n%s"
             "[segment s]\nsteps = a\n[step a]\nchannel = sms\ntext.en = x\n",
             a, b, third ? "[variant third]\nshare = " : "");
    if (third) { /* insert the third variant's share after "share = " */
        char *at = strstr(text, "[variant third]\nshare = ") + strlen("[variant third]\nshare = ");
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", at);
        snprintf(at, sizeof text - (size_t)(at - text), "%d\n%s", third, rest);
    }
    hilo_strategy_set_t *set = hilo_strategy_set_parse("exp.strategy", text, strlen(text), err, sizeof err);
    if (!set) fail_msg("%s", err);
    return set;
}

static void test_variants_stable(void **state) {
    (void)state;
    hilo_strategy_set_t *s80 = variants(80, 20, 0), *s70 = variants(70, 30, 0), *s3 = variants(72, 18, 10);
    const hilo_strategy_t *a = hilo_strategy_set_get(s80, 0), *b = hilo_strategy_set_get(s70, 0),
                          *c = hilo_strategy_set_get(s3, 0);
    int n = 20000, in_a[2] = {0}, in_b[2] = {0}, moved = 0, wrong_way = 0, from_chal = 0;
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "D%06d", i);
        int va = hilo_strategy_variant_of(a, id, NULL), vb = hilo_strategy_variant_of(b, id, NULL);
        assert_int_equal(va, hilo_strategy_variant_of(a, id, NULL)); /* deterministic */
        in_a[va]++;
        in_b[vb]++;
        if (va != vb) {
            moved++;
            if (!(va == 0 && vb == 1)) wrong_way++; /* only champion -> challenger (its share grew) */
        }
        /* A third variant (the others' shares scaled, their ratio kept) only takes debtors: nobody
         * moves between the first two. */
        int vc = hilo_strategy_variant_of(c, id, NULL);
        if (vc != 2 && vc != va) from_chal++;
    }
    assert_int_equal(wrong_way, 0);
    assert_int_equal(from_chal, 0);
    /* Shares are met within 2 points, and only the minimum moves (about 10 % of debtors). */
    assert_in_range(in_a[1], n * 18 / 100, n * 22 / 100);
    assert_in_range(in_b[1], n * 28 / 100, n * 32 / 100);
    assert_in_range(moved, n * 8 / 100, n * 12 / 100);
    /* A stored variant is kept whatever the hash says; an unknown one is ignored. */
    assert_int_equal(hilo_strategy_variant_of(a, "D000001", "challenger"), 1);
    assert_int_equal(hilo_strategy_variant_of(a, "D000001", "gone"), hilo_strategy_variant_of(a, "D000001", NULL));
    hilo_strategy_set_destroy(&s80);
    hilo_strategy_set_destroy(&s70);
    hilo_strategy_set_destroy(&s3);
}

static void test_drafts_and_paused(void **state) {
    (void)state;
    char err[512];
    const char *t = "[strategy]\nname = d\npriority = 1\nstate = draft\nlanguages = en\n"
                    "[segment s]\nsteps = a\n[step a]\nchannel = sms\ntext.en = x\n";
    hilo_strategy_set_t *set = hilo_strategy_set_parse("d.strategy", t, strlen(t), err, sizeof err);
    assert_non_null(set);
    debtor_t d;
    debtor_init(&d, "D4");
    expect(set, &d, NULL, NULL, HILO_EXCL_NO_SEGMENT);
    hilo_strategy_set_destroy(&set);
    t = "[strategy]\nname = p\npriority = 1\nstate = paused\nlanguages = en\n"
        "[segment s]\nsteps = a\n[step a]\nchannel = sms\ntext.en = x\n";
    set = hilo_strategy_set_parse("p.strategy", t, strlen(t), err, sizeof err);
    expect(set, &d, "p", "s", HILO_EXCL_PAUSED); /* held by its strategy, not sent elsewhere */
    hilo_strategy_set_destroy(&set);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments),       cmocka_unit_test(test_stops),
        cmocka_unit_test(test_channels), cmocka_unit_test(test_best_step_channels),       cmocka_unit_test(test_variants_stable),
        cmocka_unit_test(test_drafts_and_paused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
