/* test_strategy_view.c — what the console shows of the outbound strategies (strategy_view.c):
 * the conv field `strat` parsed (and refused when malformed), a strategy file described with each
 * variant's steps in order, the funnel hash folded per variant and step with malformed fields
 * left out, the state read as the runner reads it, and a debtor's place with its channel and
 * its newest strategy audit events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "strategy_view.h"

static const char FILE_TEXT[] = "[strategy]\nname = t_view\npriority = 5\nstate = paused\nlanguages = en\n"
                                "[variant champion]\nshare = 70\n[variant fast]\nshare = 30\n"
                                "[segment early]\ndays_past_due = 1-30\nsteps = wa sms\nsteps.fast = sms\n"
                                "[segment late]\ndays_past_due = 31-\nsteps = late\n"
                                "[step wa]\nchannel = whatsapp\ntemplate = hello_v1\ntext.en = Hi. Reply STOP to opt out.\n"
                                "[step sms]\nchannel = sms\nwait = 3d\ntext.en = Hi. Reply STOP to opt out.\n"
                                "[step late]\nchannel = sms\ntext.en = Hi. Reply STOP to opt out.\n";

static hilo_strategy_set_t *load(void) {
    char err[512];
    hilo_strategy_set_t *set = hilo_strategy_set_parse("t.strategy", FILE_TEXT, strlen(FILE_TEXT), err, sizeof err);
    if (!set) fail_msg("%s", err);
    return set;
}

/* JSON text of v, compact with sorted keys (for comparisons that print both sides). */
static void assert_json(const json_t *v, const char *want) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (strcmp(s, want) != 0) print_error("got  %s\nwant %s\n", s, want);
    assert_string_equal(s, want);
    free(s);
}

static void test_parse(void **state) {
    (void)state;
    console_strat_t p;
    assert_true(console_strat_parse("due|t_view|early|champion|sms|wa|1795791600000|1795500000000|o-1|||7", &p));
    assert_string_equal(p.state, "due");
    assert_string_equal(p.step, "sms");
    assert_string_equal(p.last, "wa");
    assert_int_equal(p.at_ms, 1795791600000LL);
    assert_int_equal(p.sent_ms, 1795500000000LL);
    assert_int_equal(p.rev, 7);
    assert_true(console_strat_parse("stop|t_view|early|champion|wa||0|0||attribute:attorney|due|3", &p));
    assert_string_equal(p.why, "attribute:attorney");
    assert_string_equal(p.prev, "due");
    /* Malformed: too few or too many fields, no state or strategy, letters in a number, a name
     * longer than any strategy name. */
    const char *bad[] = {NULL, "", "due", "due|t|s|v|st|l|1|2|o|w|p", "due|t|s|v|st|l|1|2|o|w|p|3|x",
                         "|t|s|v|st|l|1|2|o|w|p|3", "due||s|v|st|l|1|2|o|w|p|3", "DUE|t|s|v|st|l|1|2|o|w|p|3",
                         "due|t|s|v|st|l|1x|2|o|w|p|3", "due|t|s|v|st|l|1|2|o|w|p|-3",
                         "due|t|s|v|st|l|1234567890123456789|2|o|w|p|3",
                         "due|t|s|v|a123456789012345678901234567890123456789012345678901234567890123456|l|1|2|o|w|p|3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (console_strat_parse(bad[i], &p)) fail_msg("accepted: %s", bad[i] ? bad[i] : "(null)");
}

static void test_describe(void **state) {
    (void)state;
    hilo_strategy_set_t *set = load();
    json_t *d = console_strategy_describe(hilo_strategy_set_get(set, 0));
    assert_json(d, "{\"file_state\":\"paused\",\"name\":\"t_view\",\"priority\":5,\"variants\":["
                   "{\"name\":\"champion\",\"share\":70,\"steps\":["
                   "{\"channel\":\"whatsapp\",\"name\":\"wa\",\"segment\":\"early\"},"
                   "{\"channel\":\"sms\",\"name\":\"sms\",\"segment\":\"early\"},"
                   "{\"channel\":\"sms\",\"name\":\"late\",\"segment\":\"late\"}]},"
                   "{\"name\":\"fast\",\"share\":30,\"steps\":["
                   "{\"channel\":\"sms\",\"name\":\"sms\",\"segment\":\"early\"},"
                   "{\"channel\":\"sms\",\"name\":\"late\",\"segment\":\"late\"}]}]}");
    json_decref(d);
    hilo_strategy_set_destroy(&set);
}

static void test_funnel_and_state(void **state) {
    (void)state;
    json_t *d = json_pack("{s:s,s:s}", "name", "t_view", "file_state", "paused");
    json_t *funnel = json_pack("[ssssssssssssss]", "champion|wa|sent", "12", "champion|wa|refused:outside_contact_hours",
                               "3", "fast|sms|collected_cents", "12500", "champion||stopped:paid", "2",
                               "no-bars", "1", "champion|wa|", "4", "champion|wa|read", "many");
    json_t *running = json_string("running");
    console_strategy_complete(d, running, funnel);
    assert_json(json_object_get(d, "funnel"),
                "{\"champion\":{\"\":{\"stopped:paid\":2},\"wa\":{\"refused:outside_contact_hours\":3,\"sent\":12}},"
                "\"fast\":{\"sms\":{\"collected_cents\":12500}}}");
    assert_string_equal(json_string_value(json_object_get(d, "state")), "running");
    assert_string_equal(json_string_value(json_object_get(d, "state_from")), "control");
    /* No control key: the file's state; an unknown control value is ignored like the runner does. */
    json_t *unknown = json_string("maybe");
    console_strategy_complete(d, json_null(), json_null());
    assert_string_equal(json_string_value(json_object_get(d, "state")), "paused");
    assert_string_equal(json_string_value(json_object_get(d, "state_from")), "file");
    assert_json(json_object_get(d, "funnel"), "{}");
    console_strategy_complete(d, unknown, NULL);
    assert_true(json_is_null(json_object_get(d, "control")));
    json_object_set_new(d, "file_state", json_string("active"));
    console_strategy_complete(d, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(d, "state")), "running");
    /* A draft matches nobody, whatever the control key says. */
    json_object_set_new(d, "file_state", json_string("draft"));
    console_strategy_complete(d, running, NULL);
    assert_string_equal(json_string_value(json_object_get(d, "state")), "draft");
    json_decref(running);
    json_decref(unknown);
    json_decref(funnel);
    json_decref(d);
}

/* XREVRANGE-shaped audit entries: [id, [field, value, ...]]. */
static json_t *audit_entry(const char *id, const char *ev, const char *j) {
    return j ? json_pack("[s,[s,s,s,s]]", id, "ev", ev, "j", j) : json_pack("[s,[s,s]]", id, "ev", ev);
}

static void test_debtor(void **state) {
    (void)state;
    hilo_strategy_set_t *set = load();
    json_t *audit = json_array();
    json_array_append_new(audit, audit_entry("9-0", "outbound", NULL));
    json_array_append_new(audit, audit_entry("8-0", "strategy", "{\"event\":\"scheduled\",\"step\":\"sms\",\"ms\":8}"));
    json_array_append_new(audit, audit_entry("7-0", "strategy", "not json"));
    json_array_append_new(audit, audit_entry("6-0", "strategy", "{\"no_event\":1}"));
    json_array_append_new(audit, audit_entry("5-0", "strategy", "{\"event\":\"entered\",\"step\":\"wa\",\"ms\":5}"));
    json_array_append_new(audit, audit_entry("4-0", "strategy", "{\"event\":\"older\",\"ms\":4}"));
    json_t *v = console_strategy_debtor(set, "due|t_view|early|champion|sms|wa|1795791600000|0|||| 1", audit, 2);
    /* (a malformed rev: no current place, the events all the same) */
    assert_json(v, "{\"current\":null,\"events\":[{\"event\":\"scheduled\",\"id\":\"8-0\",\"ms\":8,\"step\":\"sms\"},"
                   "{\"event\":\"entered\",\"id\":\"5-0\",\"ms\":5,\"step\":\"wa\"}]}");
    json_decref(v);
    v = console_strategy_debtor(set, "due|t_view|early|champion|wa||1795791600000|0||||1", NULL, 5);
    assert_json(v, "{\"current\":{\"at_ms\":1795791600000,\"channel\":\"whatsapp\",\"last\":\"\",\"prev\":\"\","
                   "\"segment\":\"early\",\"sent_ms\":0,\"state\":\"due\",\"step\":\"wa\",\"strategy\":\"t_view\","
                   "\"template\":\"hello_v1\",\"variant\":\"champion\",\"why\":\"\"},\"events\":[]}");
    json_decref(v);
    /* A step the loaded set no longer has (the `fast` variant does not list wa): no channel. */
    v = console_strategy_debtor(set, "hold|t_view|early|fast|wa||0|0||reply|due|2", NULL, 5);
    assert_null(json_object_get(json_object_get(v, "current"), "channel"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "current"), "why")), "reply");
    json_decref(v);
    v = console_strategy_debtor(NULL, "end|gone|s|v|x|x|0|0||||9", NULL, 5);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "current"), "state")), "end");
    json_decref(v);
    /* Neither a place nor events: nothing to show. */
    json_t *other = json_array();
    json_array_append_new(other, audit_entry("1-0", "outbound", NULL));
    assert_null(console_strategy_debtor(set, NULL, other, 5));
    json_decref(other);
    assert_null(console_strategy_debtor(set, "garbage", NULL, 5));
    json_decref(audit);
    hilo_strategy_set_destroy(&set);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_funnel_and_state),
        cmocka_unit_test(test_debtor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
