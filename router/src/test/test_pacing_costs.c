/* test_pacing_costs.c — the [pacing] and [costs] sections (router/src/pacing.c, costs.c): rates
 * to intervals and bursts, per-sender lines and their lookup (a '+' ignored, "default"), the
 * replies' reserve, lifting; prices in exact millionths per channel and country; the country of
 * a number; and each bad line refused with FILE:LINE. The Redis side (pacing.lua with several
 * routers): tests/integration/test_pacing.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf_file.h"

#include "costs.h"
#include "hilo/common.h"
#include "pacing.h"

static void test_pacing_rules(void **state) {
    (void)state;
    char path[64];
    hilo_config_t *c = conf_file("[pacing]\nwhatsapp = 80\nsms = 0.5\nsms.15005550006 = 100/150\n"
                            "sms.default = 2\nvoice = 0\nreply_reserve_pct = 25\n",
                            path, sizeof path);
    hilo_pacing_config_t p;
    assert_int_equal(hilo_pacing_config_load(c, &p), HILO_OK);
    const hilo_pacing_rule_t *r = hilo_pacing_rule(&p, HILO_CHANNEL_WHATSAPP, "+15550001111");
    assert_non_null(r);
    assert_int_equal(r->interval_us, 12500);
    assert_int_equal(r->burst, 80); /* one second's worth */
    assert_int_equal(hilo_pacing_allowance(&p, r, true), 80);
    assert_int_equal(hilo_pacing_allowance(&p, r, false), 60);
    r = hilo_pacing_rule(&p, HILO_CHANNEL_SMS, "+15005550006"); /* its own line, '+' ignored */
    assert_non_null(r);
    assert_int_equal(r->interval_us, 10000);
    assert_int_equal(r->burst, 150);
    r = hilo_pacing_rule(&p, HILO_CHANNEL_SMS, ""); /* no `from`: the default sender's line */
    assert_int_equal(r->interval_us, 500000);
    r = hilo_pacing_rule(&p, HILO_CHANNEL_SMS, "+15559990000"); /* the channel's */
    assert_int_equal(r->interval_us, 2000000);
    assert_int_equal(r->burst, 1);
    assert_int_equal(hilo_pacing_allowance(&p, r, false), 1); /* never below one */
    assert_null(hilo_pacing_rule(&p, HILO_CHANNEL_VOICE, "+15005550006")); /* 0 = unlimited */
    p.enabled = false;
    assert_null(hilo_pacing_rule(&p, HILO_CHANNEL_WHATSAPP, "+15550001111")); /* lifted */
    hilo_config_destroy(&c);
    unlink(path);
}

static void refused(const char *section, const char *text, int line, const char *why) {
    char path[64], want[128];
    hilo_config_t *c = conf_file(text, path, sizeof path);
    int rc;
    if (strcmp(section, "pacing") == 0) {
        hilo_pacing_config_t p;
        rc = hilo_pacing_config_load(c, &p);
    } else {
        hilo_costs_config_t k;
        rc = hilo_costs_config_load(c, &k);
    }
    assert_int_equal(rc, HILO_ERR);
    snprintf(want, sizeof want, "%s:%d:", path, line);
    const char *err = hilo_config_error(c);
    if (!strstr(err, want) || !strstr(err, why)) fail_msg("%s: want '%s' and '%s'", err, want, why);
    hilo_config_destroy(&c);
    unlink(path);
}

static void test_pacing_refused(void **state) {
    (void)state;
    refused("pacing", "[pacing]\nwhatsapp = 80\nsms = -1\n", 3, "must be messages per second");
    refused("pacing", "[pacing]\nsms = 1/5\n", 2, "the burst is <channel>_burst");
    refused("pacing", "[pacing]\n\nsms.1555x = 5\n", 3, "the sender must be");
    refused("pacing", "[pacing]\nfax.15550001111 = 5\n", 2, "a sender's line");
    refused("pacing", "[pacing]\nsms.15550001111 = 5/0\n", 2, "must be messages per second");
    refused("pacing", "[pacing]\nsms.15550001111 = fast\n", 2, "must be messages per second");
    refused("pacing", "[pacing]\nwhatsap = 80\n", 2, "unknown key");
}

static void test_costs(void **state) {
    (void)state;
    char path[64];
    hilo_config_t *c = conf_file("[costs]\ncurrency = COP\nsms = 0.0079\nsms.CO = 30\nwhatsapp.CO = 0.0125\n", path,
                            sizeof path);
    hilo_costs_config_t k;
    assert_int_equal(hilo_costs_config_load(c, &k), HILO_OK);
    assert_string_equal(k.currency, "COP");
    assert_int_equal(hilo_costs_of(&k, HILO_CHANNEL_SMS, "US"), 7900);
    assert_int_equal(hilo_costs_of(&k, HILO_CHANNEL_SMS, "CO"), 30000000);
    assert_int_equal(hilo_costs_of(&k, HILO_CHANNEL_WHATSAPP, "CO"), 12500);
    assert_int_equal(hilo_costs_of(&k, HILO_CHANNEL_WHATSAPP, "US"), -1); /* nothing configured */
    assert_int_equal(hilo_costs_of(&k, HILO_CHANNEL_SMS, ""), 7900);
    hilo_config_destroy(&c);
    unlink(path);
    char region[3];
    assert_true(hilo_costs_region_of("+573001234567", region));
    assert_string_equal(region, "CO");
    assert_true(hilo_costs_region_of("+16505550177", region));
    assert_string_equal(region, "US");
    assert_false(hilo_costs_region_of("not a number", region));
    assert_string_equal(region, "");
}

static void test_costs_refused(void **state) {
    (void)state;
    refused("costs", "[costs]\nsms = -0.01\n", 2, "must be an amount");
    refused("costs", "[costs]\nsms.US = 0.0000001\n", 2, "at most 6 decimals");
    refused("costs", "[costs]\nsms.us = 0.01\n", 2, "ISO 3166-1");
    refused("costs", "[costs]\nsms.ZZ = 0.01\n", 2, "ISO 3166-1");
    refused("costs", "[costs]\nfax.US = 0.01\n", 2, "<channel>.<country>");
    refused("costs", "[costs]\ncurrency = dollars\n", 2, "ISO 4217");
    refused("costs", "[costs]\nsmss = 0.01\n", 2, "unknown key");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pacing_rules),
        cmocka_unit_test(test_pacing_refused),
        cmocka_unit_test(test_costs),
        cmocka_unit_test(test_costs_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
