/* test_gate.c — the whole gate with the shipped data (deploy/compliance/): order of the checks,
 * opt-out, WhatsApp window, replies, caps; the freq-cap command and reply; compliance.conf
 * errors. Instants: Python zoneinfo over the system tzdata, cross-checked with GNU date, e.g.
 *   TZ=America/Bogota date -d @1752595200  ->  Tue Jul 15 11:00:00 -05 2025 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "hilo/compliance.h"
#include "hilo/freq_cap.h"
#include "hilo/utf8.h"

#define MS(s) ((int64_t)(s) * 1000)
#define HOUR (3600LL * 1000)
#define MIN (60LL * 1000)
#define NY_2230 MS(1752633000)  /* Tue 2025-07-15 22:30 America/New_York */
#define NY_1000 MS(1752588000)  /* Tue 2025-07-15 10:00 America/New_York */
#define BOG_1100 MS(1752595200) /* Tue 2025-07-15 11:00 America/Bogota */
#define DAY7 (7LL * 24 * HOUR)

static hilo_compliance_t *gate;

static int setup(void **state) {
    char err[512] = "";
    gate = hilo_compliance_new(HILO_COMPLIANCE_DATA, NULL, err, sizeof err);
    if (!gate) fail_msg("%s", err);
    return 0;
}

static int teardown(void **state) {
    hilo_compliance_destroy(&gate);
    assert_null(gate);
    return 0;
}

static hilo_attempt_t attempt(const char *cc, const char *tz, int ch, int64_t now) {
    hilo_attempt_t a = {0};
    a.country = cc;
    a.timezone = tz;
    a.channel = ch;
    a.now_ms = now;
    return a;
}

static hilo_verdict_t run(const hilo_attempt_t *a, bool allowed, hilo_reason_t why, const char *text) {
    hilo_verdict_t v;
    bool ok = hilo_compliance_check(gate, a, &v);
    if (ok != allowed || v.allowed != allowed || v.reason != why || (text && !strstr(v.text, text)))
        fail_msg("got allowed=%d %s \"%s\", want allowed=%d %s \"%s\"", ok, hilo_reason_name(v.reason), v.text,
                 allowed, hilo_reason_name(why), text ? text : "");
    return v;
}

static void test_whatsapp_window(void **state) {
    int64_t now = BOG_1100;
    assert_true(hilo_whatsapp_may_send(now - 23 * HOUR, now, false));
    assert_false(hilo_whatsapp_may_send(now - 25 * HOUR, now, false));
    assert_false(hilo_whatsapp_may_send(now - 24 * HOUR, now, false)); /* the window is 24 h, open-ended */
    assert_true(hilo_whatsapp_may_send(now - 25 * HOUR, now, true));
    assert_false(hilo_whatsapp_may_send(0, now, false));
    assert_true(hilo_whatsapp_may_send(0, now, true));

    hilo_attempt_t a = attempt("CO", "America/Bogota", HILO_CHANNEL_WHATSAPP, now);
    a.last_in_ms[HILO_CHANNEL_WHATSAPP] = now - 23 * HOUR;
    hilo_verdict_t v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 7); /* outreach: the caller runs the cap */
    a.last_in_ms[HILO_CHANNEL_WHATSAPP] = now - 25 * HOUR;
    run(&a, false, HILO_REASON_WHATSAPP_WINDOW, "25 h 00 min ago: outside the 24-hour window only a template");
    a.kind = HILO_MSG_TEMPLATE;
    run(&a, true, HILO_REASON_OK, NULL);
    /* The window does not apply to SMS. */
    a = attempt("CO", "America/Bogota", HILO_CHANNEL_SMS, now);
    run(&a, true, HILO_REASON_OK, NULL);
}

static void test_dnc_and_optout(void **state) {
    int64_t now = BOG_1100;
    hilo_attempt_t a = attempt("CO", "America/Bogota", HILO_CHANNEL_SMS, now);
    a.dnc = true;
    run(&a, false, HILO_REASON_DNC, "do-not-contact");
    a.dnc = false;
    a.optout_ms[HILO_CHANNEL_SMS] = now - 2 * MIN;
    a.last_in_ms[HILO_CHANNEL_SMS] = now - 2 * MIN;
    a.reply = true; /* even a reply to the debtor: nothing but the confirmation */
    run(&a, false, HILO_REASON_OPTED_OUT, "opted out of sms 2 min ago");
    a.kind = HILO_MSG_OPTOUT_CONFIRM;
    hilo_verdict_t v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 0);
    a.optout_ms[HILO_CHANNEL_SMS] = now - HOUR; /* too late for the confirmation */
    run(&a, false, HILO_REASON_OPTED_OUT, NULL);
    /* The confirmation goes out even outside contact hours (it answers the debtor's STOP). */
    a = attempt("US", "America/New_York", HILO_CHANNEL_SMS, NY_2230);
    a.optout_ms[HILO_CHANNEL_SMS] = NY_2230 - MIN;
    a.kind = HILO_MSG_OPTOUT_CONFIRM;
    run(&a, true, HILO_REASON_OK, NULL);
    /* Opt-out is per channel: WhatsApp is still open. */
    a.channel = HILO_CHANNEL_WHATSAPP;
    a.kind = HILO_MSG_TEMPLATE;
    a.now_ms = NY_1000;
    run(&a, true, HILO_REASON_OK, NULL);
    /* Nothing to confirm. */
    a.kind = HILO_MSG_OPTOUT_CONFIRM;
    run(&a, false, HILO_REASON_INVALID, "no whatsapp opt-out to confirm");
}

static void test_hours_and_replies(void **state) {
    hilo_attempt_t a = attempt("US", "America/New_York", HILO_CHANNEL_SMS, NY_2230);
    run(&a, false, HILO_REASON_OUTSIDE_HOURS, "22:30 in America/New_York is outside 08:00-21:00");
    /* The bot's reply to a debtor who wrote 5 minutes ago goes out (pack: replies_outside_hours),
     * uncapped. */
    a.reply = true;
    a.bot = true;
    a.last_in_ms[HILO_CHANNEL_SMS] = NY_2230 - 5 * MIN;
    hilo_verdict_t v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 0);
    /* An agent's answer to the same message is the collector speaking: the hours apply. */
    a.bot = false;
    run(&a, false, HILO_REASON_OUTSIDE_HOURS, "22:30 in America/New_York");
    a.bot = true;
    /* "Reply" to a message from 2 hours ago (reply_window 60m) is outreach. */
    a.last_in_ms[HILO_CHANNEL_SMS] = NY_2230 - 2 * HOUR;
    run(&a, false, HILO_REASON_OUTSIDE_HOURS, NULL);
    /* The inbound must be on the same channel. */
    a.last_in_ms[HILO_CHANNEL_SMS] = 0;
    a.last_in_ms[HILO_CHANNEL_WHATSAPP] = NY_2230 - MIN;
    run(&a, false, HILO_REASON_OUTSIDE_HOURS, NULL);
    /* Unknown country: blocked, except a reply (policy replies_without_pack = yes). */
    a = attempt("BR", "America/Sao_Paulo", HILO_CHANNEL_SMS, NY_1000);
    run(&a, false, HILO_REASON_NO_RULE_PACK, NULL);
    a.reply = true;
    a.bot = true;
    a.last_in_ms[HILO_CHANNEL_SMS] = NY_1000 - MIN;
    v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 0);
    a.bot = false;
    run(&a, false, HILO_REASON_NO_RULE_PACK, NULL);
}

/* A last inbound in the gate's future: up to HILO_CLOCK_SKEW_MS it is "just now" (another
 * router's clock), beyond that it is no last inbound at all. */
static void test_clock_skew(void **state) {
    int64_t now = NY_2230;
    assert_int_equal(hilo_inbound_age(now - 5 * MIN, now), 5 * MIN);
    assert_int_equal(hilo_inbound_age(now, now), 0);
    assert_int_equal(hilo_inbound_age(now + HILO_CLOCK_SKEW_MS, now), 0);
    assert_int_equal(hilo_inbound_age(now + HILO_CLOCK_SKEW_MS + 1, now), -1);
    assert_int_equal(hilo_inbound_age(now + 12 * 24 * HOUR, now), -1);
    assert_int_equal(hilo_inbound_age(0, now), -1);

    /* The bot's reply at 22:30: a reply within the skew, outreach beyond it. */
    hilo_attempt_t a = attempt("US", "America/New_York", HILO_CHANNEL_SMS, now);
    a.reply = true;
    a.bot = true;
    a.last_in_ms[HILO_CHANNEL_SMS] = now + HILO_CLOCK_SKEW_MS;
    hilo_verdict_t v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 0);
    a.last_in_ms[HILO_CHANNEL_SMS] = now + HILO_CLOCK_SKEW_MS + 1;
    run(&a, false, HILO_REASON_OUTSIDE_HOURS, "22:30 in America/New_York");
    /* Inside the hours a "reply" beyond the skew goes out, but counted by the cap. */
    a.now_ms = NY_1000;
    a.last_in_ms[HILO_CHANNEL_SMS] = NY_1000 + HILO_CLOCK_SKEW_MS + 1;
    v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 7);
    a.last_in_ms[HILO_CHANNEL_SMS] = NY_1000 + HILO_CLOCK_SKEW_MS;
    v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 0);

    /* WhatsApp's window: the same rule. */
    assert_true(hilo_whatsapp_may_send(now + HILO_CLOCK_SKEW_MS, now, false));
    assert_false(hilo_whatsapp_may_send(now + HILO_CLOCK_SKEW_MS + 1, now, false));
    a = attempt("US", "America/New_York", HILO_CHANNEL_WHATSAPP, NY_1000);
    a.last_in_ms[HILO_CHANNEL_WHATSAPP] = NY_1000 + HOUR;
    run(&a, false, HILO_REASON_WHATSAPP_WINDOW, "in the future of this router's clock");
}

static void test_caps(void **state) {
    hilo_attempt_t a = attempt("US", "America/New_York", HILO_CHANNEL_VOICE, NY_1000);
    hilo_verdict_t v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 7);
    assert_int_equal(v.cap.window_ms, DAY7);
    a = attempt("MX", "America/Mexico_City", HILO_CHANNEL_SMS, NY_1000);
    v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 7); /* [caps] default */
    /* Colombia (Ley 2300) and Chile (Ley 19.496 art. 37): one call per rolling 7 days. */
    a = attempt("CO", "America/Bogota", HILO_CHANNEL_VOICE, BOG_1100);
    v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 1);
    assert_int_equal(v.cap.window_ms, DAY7);
    a = attempt("CL", "America/Santiago", HILO_CHANNEL_VOICE, BOG_1100);
    v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 1);
    assert_int_equal(v.cap.window_ms, DAY7);
    a = attempt("CO", "America/Bogota", HILO_CHANNEL_SMS, BOG_1100);
    v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 7); /* texts keep the default */
    hilo_pack_rules_t rules;
    assert_true(hilo_compliance_pack_rules(gate, "US", &rules));
    assert_true(rules.consent[HILO_CHANNEL_VOICE]); /* TCPA: calls to mobiles need consent */
    assert_true(hilo_compliance_pack_rules(gate, "CO", &rules));
    assert_false(rules.consent[HILO_CHANNEL_VOICE]);
}

/* Reg F 1006.14(b)(2)(ii): no call within 7 days after a phone conversation; at 7 days, allowed.
 * Only calls we start: a reply on a live call, an SMS, and packs without the rule are not held. */
static void test_after_phone_conversation(void **state) {
    hilo_attempt_t a = attempt("US", "America/New_York", HILO_CHANNEL_VOICE, NY_1000);
    a.talk_ms = NY_1000 - DAY7 + HOUR; /* 6 days 23 h ago */
    hilo_verdict_t v = run(&a, false, HILO_REASON_RECENT_CONVERSATION, "phone conversation with us 167 h 00 min ago");
    assert_true(v.next_ms == NY_1000 + HOUR);
    assert_true(hilo_reason_waitable(v.reason));
    assert_string_equal(hilo_reason_name(v.reason), "recent_phone_conversation");
    a.talk_ms = NY_1000 - DAY7; /* exactly 7 days */
    v = run(&a, true, HILO_REASON_OK, NULL);
    assert_int_equal(v.cap.limit, 7); /* and the call still counts against 7 in 7 days */
    a.talk_ms = NY_1000 + 1000;       /* stamped slightly in our future: just now */
    run(&a, false, HILO_REASON_RECENT_CONVERSATION, NULL);
    a.talk_ms = NY_1000 - HOUR;
    a.channel = HILO_CHANNEL_SMS; /* texts are not calls */
    run(&a, true, HILO_REASON_OK, NULL);
    a.channel = HILO_CHANNEL_VOICE; /* the bot answering on the live call */
    a.reply = a.bot = true;
    a.last_in_ms[HILO_CHANNEL_VOICE] = NY_1000 - 1000;
    run(&a, true, HILO_REASON_OK, NULL);
    a = attempt("MX", "America/Mexico_City", HILO_CHANNEL_VOICE, NY_1000); /* no such rule in mx */
    a.talk_ms = NY_1000 - HOUR;
    run(&a, true, HILO_REASON_OK, NULL);
}

static void test_invalid(void **state) {
    hilo_attempt_t a = attempt("US", "America/New_York", 9, NY_1000);
    run(&a, false, HILO_REASON_INVALID, NULL);
    a = attempt("US", "America/New_York", HILO_CHANNEL_SMS, 0); /* no clock */
    run(&a, false, HILO_REASON_INVALID, NULL);
    for (int r = 0; r < HILO_REASON_COUNT; r++) assert_string_not_equal(hilo_reason_name(r), "unknown");
    assert_string_equal(hilo_reason_name(HILO_REASON_OUTSIDE_HOURS), "outside_contact_hours");
    /* Portfolio junk in the country never makes the text invalid UTF-8. */
    a = attempt("\xff\n", "America/New_York", HILO_CHANNEL_SMS, NY_1000);
    hilo_verdict_t v = run(&a, false, HILO_REASON_NO_RULE_PACK, "country '?\?'");
    /* A cut text never ends inside a UTF-8 sequence (every offset of a 2-byte and a 3-byte char). */
    for (int pad = 0; pad < 6; pad++) {
        char s[400] = "";
        for (int i = 0; i < pad; i++) strcat(s, "x");
        while (strlen(s) + 5 < sizeof s) strcat(s, pad % 2 ? "á€" : "€á"); /* 2- and 3-byte chars */
        hilo_verdict_block(&v, HILO_REASON_INVALID, "%s", s);
        assert_true(strlen(v.text) >= sizeof v.text - 4);
        assert_true(hilo_utf8_valid(v.text, strlen(v.text)));
    }
}

/* ---- freq cap C side ----------------------------------------------------------------------- */

#define SHA "0123456789abcdef0123456789abcdef01234567"

static void test_freq_cap_command(void **state) {
    hilo_freq_cap_cmd_t cmd;
    char err[256];
    hilo_cap_t cap = {7, DAY7};
    assert_int_equal(hilo_freq_cap_command(&cmd, SHA, "D-42", HILO_CHANNEL_VOICE, cap, 1752588000000, "o-1", err,
                                           sizeof err), 0);
    const char *want[] = {"EVALSHA", SHA, "1", "hilo:{d:D-42}:contacts:voice", "1752588000000", "604800000", "7",
                          "o-1"};
    assert_int_equal(cmd.argc, 8);
    for (int i = 0; i < 8; i++) {
        assert_string_equal(cmd.argv[i], want[i]);
        assert_int_equal(cmd.argvlen[i], strlen(want[i]));
    }
    assert_int_equal(hilo_freq_cap_command(&cmd, SHA, "u:+573001234567", HILO_CHANNEL_SMS, cap, 1, "o", err,
                                           sizeof err), 0);
    assert_string_equal(cmd.argv[3], "hilo:{d:u:+573001234567}:contacts:sms");
    assert_int_equal(hilo_freq_cap_command(&cmd, SHA, "bad}id", HILO_CHANNEL_SMS, cap, 1, "o", err, sizeof err), -1);
    assert_int_equal(hilo_freq_cap_command(&cmd, "nope", "D", HILO_CHANNEL_SMS, cap, 1, "o", err, sizeof err), -1);
    assert_int_equal(hilo_freq_cap_command(&cmd, SHA, "D", 0, cap, 1, "o", err, sizeof err), -1);
    assert_int_equal(hilo_freq_cap_command(&cmd, SHA, "D", HILO_CHANNEL_SMS, (hilo_cap_t){0, 0}, 1, "o", err,
                                           sizeof err), -1);
    assert_int_equal(hilo_freq_cap_command(&cmd, SHA, "D", HILO_CHANNEL_SMS, cap, 1, "", err, sizeof err), -1);
}

static void test_freq_cap_reply(void **state) {
    hilo_cap_t cap = {7, DAY7};
    redisReply e[3] = {{.type = REDIS_REPLY_INTEGER, .integer = 1}, {.type = REDIS_REPLY_INTEGER, .integer = 3},
                       {.type = REDIS_REPLY_INTEGER, .integer = 0}};
    redisReply *ep[3] = {&e[0], &e[1], &e[2]};
    redisReply r = {.type = REDIS_REPLY_ARRAY, .elements = 3, .element = ep};
    hilo_verdict_t v;
    assert_int_equal(hilo_freq_cap_verdict(&r, HILO_CHANNEL_VOICE, cap, &v), 0);
    assert_true(v.allowed);
    e[0].integer = 0;
    e[1].integer = 7;
    e[2].integer = 1752600000000;
    assert_int_equal(hilo_freq_cap_verdict(&r, HILO_CHANNEL_VOICE, cap, &v), 0);
    assert_false(v.allowed);
    assert_int_equal(v.reason, HILO_REASON_FREQUENCY_CAP);
    assert_string_equal(v.text, "7 voice attempts in the last 7d (cap: 7 per 7d)");
    assert_int_equal(v.next_ms, 1752600000000);
    /* Fail closed on anything else. */
    e[1].type = REDIS_REPLY_STRING;
    assert_int_equal(hilo_freq_cap_verdict(&r, HILO_CHANNEL_VOICE, cap, &v), -1);
    assert_int_equal(v.reason, HILO_REASON_CAP_FAILED);
    redisReply err = {.type = REDIS_REPLY_ERROR, .str = "NOSCRIPT No matching script", .len = 27};
    assert_int_equal(hilo_freq_cap_verdict(&err, HILO_CHANNEL_VOICE, cap, &v), -1);
    assert_false(v.allowed);
    assert_non_null(strstr(v.text, "NOSCRIPT"));
    assert_int_equal(hilo_freq_cap_verdict(NULL, HILO_CHANNEL_VOICE, cap, &v), -1);
    assert_int_equal(v.reason, HILO_REASON_CAP_FAILED);
}

/* ---- compliance.conf errors ---------------------------------------------------------------- */

static void conf_error(const char *conf, const char *want) {
    char dir[] = "/tmp/hilo-gate-XXXXXX", path[128], err[512] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.pack", dir);
    FILE *f = fopen(path, "w");
    fputs("name = T\nsource = x\nholidays = none\nmon-sun = 08:00-20:00\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/compliance.conf", dir);
    f = fopen(path, "w");
    fputs(conf, f);
    fclose(f);
    hilo_compliance_t *c = hilo_compliance_new(dir, NULL, err, sizeof err);
    char full[256];
    snprintf(full, sizeof full, "%s/%s", dir, want);
    bool ok = want ? !c && strstr(err, full) : c != NULL;
    hilo_compliance_destroy(&c);
    unlink(path);
    snprintf(path, sizeof path, "%s/t.pack", dir);
    unlink(path);
    rmdir(dir);
    if (!ok) fail_msg("got \"%s\", want \"%s\"", err, want ? full : "(loaded)");
}

static void test_conf_errors(void **state) {
    conf_error("[countries]\nXX = t\ndefault = block\n[caps]\nsms = none\n[policy]\nreply_window = 2h\n", NULL);
    conf_error("[countries]\nXX = nope\n", "compliance.conf:2: no rule pack 'nope'");
    conf_error("[countries]\nColombia = t\n", "compliance.conf:2: 'Colombia' is not a country code");
    conf_error("# c\n[caps]\nfax = 1/1d\n", "compliance.conf:3: [caps] fax: unknown channel");
    conf_error("[caps]\nsms = 1/1d\nsms = 2/1d\n", "compliance.conf:3: [caps] sms: duplicate key");
    conf_error("[policy]\nreply_window = 10\n", "compliance.conf:2: bad duration '10'");
    conf_error("[policy]\nreplies_without_pack = maybe\n", "compliance.conf:2: expected yes or no");
    conf_error("[rules]\n", "compliance.conf:1: unknown section [rules]");
    conf_error("US = t\n", "compliance.conf:1: 'US' outside a section");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whatsapp_window),
        cmocka_unit_test(test_dnc_and_optout),
        cmocka_unit_test(test_hours_and_replies),
        cmocka_unit_test(test_clock_skew),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_after_phone_conversation),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_freq_cap_command),
        cmocka_unit_test(test_freq_cap_reply),
        cmocka_unit_test(test_conf_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
