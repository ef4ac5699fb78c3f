/* test_strategy_load.c — strategy files: the shipped demo loads, bad files are refused with
 * FILE:LINE and the reason, a failed reload keeps the old set, transitions and windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/strategy.h"

#define HEAD "[strategy]\nname = t\npriority = 10\nlanguages = en es\n"
#define SEG "[segment s]\nsteps = a\n"
#define STEP_A "[step a]\nchannel = sms\ntext.en = Hi STOP\ntext.es = Hola STOP\n"

static hilo_strategy_set_t *parse(const char *text, char *err, size_t errlen) {
    return hilo_strategy_set_parse("t.strategy", text, strlen(text), err, errlen);
}

static void test_demo_loads(void **state) {
    (void)state;
    char err[512] = "";
    const char *path = HILO_STRATEGY_DIR "/demo.strategy";
    hilo_strategy_set_t *set = hilo_strategy_set_load_files(&path, 1, err, sizeof err);
    if (!set) fail_msg("%s", err);
    assert_int_equal(hilo_strategy_set_count(set), 1);
    const hilo_strategy_t *st = hilo_strategy_set_find(set, "demo_reminders");
    assert_non_null(st);
    assert_int_equal(hilo_strategy_state(st), HILO_STRATEGY_PAUSED);
    assert_int_equal(hilo_strategy_variant_count(st), 2);
    assert_string_equal(hilo_strategy_variant_name(st, 1), "sms_first");
    assert_int_equal(hilo_strategy_variant_share(st, 0), 80);
    assert_int_equal(hilo_strategy_cap(st, HILO_CHANNEL_SMS).limit, 2);
    assert_int_equal(hilo_strategy_daily_budget(st), 5000);
    const hilo_strategy_segment_t *early = hilo_strategy_segment_find(st, "early");
    assert_non_null(early);
    assert_string_equal(hilo_strategy_step_name(hilo_strategy_first_step(early, 0)), "hello_whatsapp");
    assert_string_equal(hilo_strategy_step_name(hilo_strategy_first_step(early, 1)), "hello_sms");
    const hilo_strategy_step_t *wa = hilo_strategy_first_step(early, 0);
    assert_string_equal(hilo_strategy_step_template(wa), "hello_limited_v1");
    assert_int_equal(hilo_strategy_step_within_ms(wa), 4 * 3600 * 1000);

    /* "WhatsApp not delivered within 4 h -> SMS", delivered -> the day-3 SMS after 3 days. */
    hilo_strategy_next_t nx;
    hilo_strategy_next(early, 0, wa, HILO_RESULT_TIMEOUT, 1000, &nx);
    assert_int_equal(nx.kind, HILO_NEXT_STEP);
    assert_string_equal(hilo_strategy_step_name(nx.step), "hello_sms");
    assert_int_equal(nx.at_ms, 1000);
    hilo_strategy_next(early, 0, wa, HILO_RESULT_DELIVERED, 1000, &nx);
    assert_string_equal(hilo_strategy_step_name(nx.step), "sms_day3");
    assert_int_equal(nx.at_ms, 1000 + 3LL * 86400000);
    hilo_strategy_next(early, 0, wa, HILO_RESULT_REPLIED, 1000, &nx);
    assert_int_equal(nx.kind, HILO_NEXT_END);
    hilo_strategy_next(early, 0, wa, HILO_RESULT_READ, 1000, &nx);
    assert_int_equal(nx.kind, HILO_NEXT_WAIT);
    /* The reload rule's lookup: by name within the debtor's segment and variant. */
    assert_non_null(hilo_strategy_step_find(early, 0, "sms_day3"));
    assert_null(hilo_strategy_step_find(early, 1, "hello_whatsapp"));
    assert_null(hilo_strategy_step_find(early, 0, "late_sms"));
    /* The listed order per variant (the console's funnel rows); the variant's own list. */
    assert_int_equal(hilo_strategy_segment_step_count(early, 0), 3);
    assert_string_equal(hilo_strategy_step_name(hilo_strategy_segment_step(early, 0, 2)), "sms_day3");
    assert_int_equal(hilo_strategy_segment_step_count(early, 1), 2);
    assert_string_equal(hilo_strategy_step_name(hilo_strategy_segment_step(early, 1, 0)), "hello_sms");
    assert_null(hilo_strategy_segment_step(early, 1, 2));
    assert_null(hilo_strategy_segment_step(early, 0, -1));
    hilo_strategy_set_destroy(&set);
    assert_null(set);
}

static void test_next_and_defaults(void **state) {
    (void)state;
    char err[512];
    hilo_strategy_set_t *set = parse(HEAD "[segment s]\nsteps = a b\n" STEP_A
                                          "[step b]\nchannel = sms\nwait = 2d\ntext.en = B STOP\ntext.es = B STOP\n",
                                     err, sizeof err);
    if (!set) fail_msg("%s", err);
    const hilo_strategy_t *st = hilo_strategy_set_get(set, 0);
    const hilo_strategy_segment_t *seg = hilo_strategy_segment(st, 0);
    const hilo_strategy_step_t *a = hilo_strategy_first_step(seg, 0);
    hilo_strategy_next_t nx;
    /* No transitions at all: a plain cadence, the next step once sent, after its wait. */
    hilo_strategy_next(seg, 0, a, HILO_RESULT_SENT, 5000, &nx);
    assert_int_equal(nx.kind, HILO_NEXT_STEP);
    assert_string_equal(hilo_strategy_step_name(nx.step), "b");
    assert_int_equal(nx.at_ms, 5000 + 2LL * 86400000);
    hilo_strategy_next(seg, 0, nx.step, HILO_RESULT_SENT, 5000, &nx);
    assert_int_equal(nx.kind, HILO_NEXT_END); /* after the last step */
    assert_string_equal(hilo_strategy_variant_name(st, 0), "default");
    assert_int_equal(hilo_strategy_state(st), HILO_STRATEGY_PAUSED);
    hilo_strategy_set_destroy(&set);
}

static void test_window(void **state) {
    (void)state;
    char err[512];
    hilo_strategy_set_t *set = parse(HEAD SEG
                                     "[step a]\nchannel = sms\ndays = mon-fri\nhours = 09:00-12:00, 14:00-18:00\n"
                                     "text.en = x STOP\ntext.es = x STOP\n",
                                     err, sizeof err);
    if (!set) fail_msg("%s", err);
    const hilo_strategy_step_t *a = hilo_strategy_first_step(hilo_strategy_segment(hilo_strategy_set_get(set, 0), 0), 0);
    hilo_tzdb_t *db = hilo_tzdb_new(NULL);
    const hilo_tz_t *ny = hilo_tzdb_get(db, "America/New_York", err, sizeof err);
    assert_non_null(ny);
    /* Friday 2026-11-20 */
    int64_t fri_0830 = hilo_tz_utc(ny, 2026, 11, 20, 8, 30, 0) * 1000;
    assert_int_equal(hilo_strategy_window_next(a, ny, fri_0830), hilo_tz_utc(ny, 2026, 11, 20, 9, 0, 0) * 1000);
    int64_t fri_1000 = hilo_tz_utc(ny, 2026, 11, 20, 10, 0, 0) * 1000;
    assert_int_equal(hilo_strategy_window_next(a, ny, fri_1000), fri_1000); /* inside: now */
    int64_t fri_1230 = hilo_tz_utc(ny, 2026, 11, 20, 12, 30, 0) * 1000;
    assert_int_equal(hilo_strategy_window_next(a, ny, fri_1230), hilo_tz_utc(ny, 2026, 11, 20, 14, 0, 0) * 1000);
    int64_t fri_1900 = hilo_tz_utc(ny, 2026, 11, 20, 19, 0, 0) * 1000;
    assert_int_equal(hilo_strategy_window_next(a, ny, fri_1900), hilo_tz_utc(ny, 2026, 11, 23, 9, 0, 0) * 1000);
    hilo_tzdb_destroy(&db);
    hilo_strategy_set_destroy(&set);
}

typedef struct {
    const char *text;
    const char *err; /* expected "t.strategy:LINE: ..." prefix or substring */
} bad_t;

static void test_bad_files(void **state) {
    (void)state;
    static const bad_t bad[] = {
        {"name = x\n", "t.strategy:1: 'name = …' before any [section]"},
        {HEAD SEG STEP_A "[stepp b]\n", "t.strategy:11: unknown section [stepp]"},
        {"[strategy]\nname = T\n", "t.strategy:2: [strategy] needs name"},
        {"[strategy]\nname = t\nlanguages = en\n" SEG, "t.strategy:1: [strategy] needs priority"},
        {HEAD "priority = 3\n" SEG STEP_A, "t.strategy:5: 'priority' given twice (line 3)"},
        {HEAD "state = running\n" SEG STEP_A, "t.strategy:5: state: want active, paused or draft"},
        {HEAD SEG "[step a]\nchannel = fax\ntext.en = x\ntext.es = y\n", "t.strategy:8: channel: want whatsapp, sms, voice or best"},
        {HEAD SEG "[step a]\nchannel = best\ntext.en = x\ntext.es = y\n", "t.strategy:8: channel = best needs channels ="},
        {HEAD SEG "[step a]\nchannel = best\nchannels = sms\ntext.en = x\ntext.es = y\n",
         "t.strategy:9: channels: channel = best needs two or more"},
        {HEAD SEG "[step a]\nchannel = best\nchannels = sms fax\ntext.en = x\ntext.es = y\n",
         "t.strategy:9: channels: want whatsapp, sms or voice, got 'fax'"},
        {HEAD SEG "[step a]\nchannel = best\nchannels = sms sms\ntext.en = x\ntext.es = y\n",
         "t.strategy:9: channels: sms given twice"},
        {HEAD SEG "[step a]\nchannel = sms\nchannels = sms whatsapp\ntext.en = x\ntext.es = y\n",
         "t.strategy:9: channels: only with channel = best"},
        {HEAD SEG "[step a]\nchannel = best\nchannels = sms whatsapp\ntext.en = x\ntext.es = y\n",
         "t.strategy:7: [step a] channel whatsapp needs template"},
        {HEAD SEG "[step a]\nchannel = best\nchannels = sms voice\ntemplate = t1\ntext.en = x\ntext.es = y\n",
         "t.strategy:10: template: only WhatsApp steps"},
        {HEAD SEG "[step a]\nchannel = best\nchannels = sms whatsapp\ntemplate = t1\non.machine = end\ntext.en = x\n"
                  "text.es = y\n",
         "t.strategy:11: on.machine: only a call"},
        {HEAD SEG STEP_A "hours = best 19:00-09:00\n", "t.strategy:11: hours: bad '19:00-09:00'"},
        {HEAD SEG "[step a]\nchannel = sms\non.machine = end\ntext.en = x\ntext.es = y\n",
         "t.strategy:9: on.machine: only a call (channel = voice) reaches a machine"},
        {HEAD SEG "[step a]\nchannel = whatsapp\ntext.en = x\ntext.es = y\n",
         "t.strategy:7: [step a] channel whatsapp needs template"},
        {HEAD SEG "[step a]\nchannel = sms\ntext.en = x {balanse}\ntext.es = y\n",
         "t.strategy:9: text.en: unknown variable {balanse}"},
        {HEAD SEG "[step a]\nchannel = sms\ntext.en = x { y\ntext.es = y\n", "t.strategy:9: text.en: '{' without"},
        {HEAD SEG "[step a]\nchannel = sms\ntext.en = x\n", "t.strategy:7: [step a] has no text.es"},
        {HEAD SEG "[step a]\nchannel = sms\ntext.fr = x\n", "t.strategy:9: text.fr: 'fr' is not one of"},
        {HEAD SEG STEP_A "on.delivered = b\n", "t.strategy:11: on.delivered: no [step b]"},
        {HEAD SEG STEP_A "on.bounced = end\n", "t.strategy:11: on.bounced: unknown result"},
        {HEAD SEG STEP_A "on.timeout = end\n", "t.strategy:11: on.timeout needs within"},
        {HEAD SEG STEP_A "wait = 3 days\n", "t.strategy:11: wait: bad duration '3 days'"},
        {HEAD SEG STEP_A "hours = 19:00-09:00\n", "t.strategy:11: hours: bad '19:00-09:00'"},
        {HEAD SEG STEP_A "days = mon-funday\n", "t.strategy:11: days: bad"},
        {HEAD SEG STEP_A "colour = blue\n", "t.strategy:11: unknown key 'colour' in [step a]"},
        {HEAD "[segment s]\nsteps = a zz\n" STEP_A, "t.strategy:6: steps: no [step zz]"},
        {HEAD "[segment s]\ndays_past_due = 30-1\nsteps = a\n" STEP_A, "t.strategy:6: days_past_due: bad range '30-1'"},
        {HEAD "[segment s]\nbalance.usd = 1-2\nsteps = a\n" STEP_A, "t.strategy:6: balance.usd: want balance.<ISO 4217"},
        {HEAD "[segment s]\npromise = maybe\nsteps = a\n" STEP_A, "t.strategy:6: promise: want none, active or broken"},
        {HEAD "[segment s]\ncountry = usa\nsteps = a\n" STEP_A, "t.strategy:6: country: 'usa' is not"},
        {HEAD SEG STEP_A "[step b]\nchannel = sms\ntext.en = x\ntext.es = y\n", "t.strategy:11: [step b] is in no segment"},
        {HEAD "[segment s]\nsteps = a\n[segment r]\nsteps = a\n" STEP_A, "t.strategy:8: steps: step 'a' already belongs"},
        {HEAD "[variant x]\nshare = 60\n[variant y]\nshare = 30\n" SEG STEP_A,
         "t.strategy:5: variant shares add up to 90, not 100"},
        {HEAD "[variant x]\nshare = 100\n[segment s]\nsteps = a\nsteps.z = a\n" STEP_A, "t.strategy:9: steps.z: no [variant z]"},
        {HEAD SEG STEP_A "text.en.zz = x\n", "t.strategy:11: text.en.zz: no [variant zz]"},
        {HEAD, "t.strategy:1: no [segment NAME] section"},
        {HEAD SEG STEP_A "[step a]\n", "t.strategy:11: [step a] defined twice (line 7)"},
        {HEAD "cap.sms = lots\n" SEG STEP_A, "t.strategy:5: cap.sms: bad cap 'lots'"},
        {"[strategy]\nname = t\npriority = 1\nlanguages = en\n[segment s]\nsteps = a\n[step a]\nchannel = sms\n"
         "text.en = ok\xff\n",
         "t.strategy:9: not valid UTF-8 text"},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512] = "";
        hilo_strategy_set_t *set = parse(bad[i].text, err, sizeof err);
        if (set) {
            print_error("case %zu loaded, expected: %s\n", i, bad[i].err);
            hilo_strategy_set_destroy(&set);
            failed++;
        } else if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0) {
            print_error("case %zu:\n  got      %s\n  expected %s\n", i, err, bad[i].err);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* Steps that leave their channel or hours to the contact optimizer (docs/optimizer.md): loaded,
 * with the first candidate as the channel the runner uses until it asks the optimizer. */
static void test_optimizer_steps(void **state) {
    (void)state;
    char err[512] = "";
    hilo_strategy_set_t *set = parse(HEAD "[segment s]\nsteps = a b\n"
                                          "[step a]\nchannel = best\nchannels = sms whatsapp voice\ntemplate = t1\n"
                                          "hours = best\non.machine = end\ntext.en = Hi STOP\ntext.es = Hola STOP\n"
                                          "[step b]\nchannel = voice\nhours = best 10:00-12:00\ntext.en = Hi\n"
                                          "text.es = Hola\n",
                                     err, sizeof err);
    if (!set) fail_msg("%s", err);
    const hilo_strategy_segment_t *seg = hilo_strategy_segment_find(hilo_strategy_set_get(set, 0), "s");
    const hilo_strategy_step_t *a = hilo_strategy_first_step(seg, 0);
    assert_string_equal(hilo_strategy_step_name(a), "a");
    assert_int_equal(hilo_strategy_step_channel(a), HILO_CHANNEL_SMS);
    assert_int_equal(hilo_strategy_step_channels(a),
                     (1u << HILO_CHANNEL_SMS) | (1u << HILO_CHANNEL_WHATSAPP) | (1u << HILO_CHANNEL_VOICE));
    assert_int_equal(hilo_strategy_step_optimize(a), HILO_STRATEGY_OPT_CHANNEL | HILO_STRATEGY_OPT_HOURS);
    assert_string_equal(hilo_strategy_step_template(a), "t1");
    const hilo_strategy_step_t *b = hilo_strategy_step_find(seg, 0, "b");
    assert_non_null(b);
    assert_int_equal(hilo_strategy_step_optimize(b), HILO_STRATEGY_OPT_HOURS);
    assert_int_equal(hilo_strategy_step_channels(b), 1u << HILO_CHANNEL_VOICE);
    hilo_strategy_set_destroy(&set);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_reload_keeps_old(void **state) {
    (void)state;
    char dir[] = "/tmp/hilo-strategy-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char a[300], b[300], err[512];
    snprintf(a, sizeof a, "%s/a.strategy", dir);
    snprintf(b, sizeof b, "%s/b.strategy", dir);
    write_file(a, HEAD SEG STEP_A);
    hilo_strategy_set_t *set = hilo_strategy_set_load_dir(dir, err, sizeof err);
    if (!set) fail_msg("%s", err);
    const hilo_strategy_t *before = hilo_strategy_set_get(set, 0);
    /* A second file with the same priority: the new set is refused, the old one stays. */
    write_file(b, "[strategy]\nname = u\npriority = 10\nlanguages = en\n[segment s]\nsteps = a\n"
                  "[step a]\nchannel = sms\ntext.en = x\n");
    assert_int_equal(hilo_strategy_set_reload(&set, dir, err, sizeof err), HILO_ERR);
    assert_non_null(strstr(err, "b.strategy:1: priority 10 is also t's"));
    assert_ptr_equal(hilo_strategy_set_get(set, 0), before);
    /* A syntax error names its file and line. */
    write_file(b, "[strategy]\nname = u\npriority = 11\nlanguages = en\n[segment s]\nsteps = a\n[step a]\nchanel = sms\n");
    assert_int_equal(hilo_strategy_set_reload(&set, dir, err, sizeof err), HILO_ERR);
    assert_non_null(strstr(err, "b.strategy:7: [step a] needs channel"));
    assert_int_equal(hilo_strategy_set_count(set), 1);
    /* Fixed: the reload takes both, highest priority first. */
    write_file(b, "[strategy]\nname = u\npriority = 11\nlanguages = en\n[segment s]\nsteps = a\n[step a]\nchannel = sms\n"
                  "text.en = x\n");
    assert_int_equal(hilo_strategy_set_reload(&set, dir, err, sizeof err), HILO_OK);
    assert_int_equal(hilo_strategy_set_count(set), 2);
    assert_string_equal(hilo_strategy_name(hilo_strategy_set_get(set, 0)), "u");
    hilo_strategy_set_destroy(&set);
    unlink(a);
    unlink(b);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_loads),
        cmocka_unit_test(test_next_and_defaults),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_optimizer_steps),
        cmocka_unit_test(test_reload_keeps_old),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
