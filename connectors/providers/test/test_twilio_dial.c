/* test_twilio_dial.c — a caller put through to an agent (protocol 1.4): the connect order's
 * TwiML and call update, the agent leg's status callbacks and the Dial's action as call events,
 * and what the caller hears after the Dial. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/twilio.h"
#include "hilo/twiml.h"

static hilo_form_t *form(const char *body) {
    char err[128];
    hilo_form_t *f = hilo_form_parse(body, strlen(body), err, sizeof err);
    if (!f) fail_msg("form: %s", err);
    return f;
}

static const hilo_twilio_account_t ACCT = {
    .api_base = "https://api.twilio.com",
    .account_sid = "AC123",
    .auth_user = "AC123",
    .auth_secret = "token",
    .from = "+18005551212",
};

static void connect_order(hilo_outbound_t *ob, hilo_voice_action_t *va, const char *target, const char *call) {
    *ob = (hilo_outbound_t)HILO_OUTBOUND_INIT;
    *va = (hilo_voice_action_t)HILO_VOICE_ACTION_INIT;
    va->kind = HILO_VOICE_ACTION_CONNECT;
    va->target = (char *)target;
    va->call_id = (char *)call;
    va->queue = "en.collections";
    ob->outbound_id = "call-1";
    ob->to = "+16505551234";
    ob->voice = va;
}

static void test_connect_twiml_and_update(void **state) {
    (void)state;
    hilo_outbound_t ob;
    hilo_voice_action_t va;
    connect_order(&ob, &va, "+15550001111", "CA0123abcd");
    hilo_provider_error_t e;
    char *xml = hilo_twiml_connect(&ob, "https://h.example/webhooks/twilio/voice/dialed",
                                   "https://h.example/webhooks/twilio/voice/agent", &e);
    assert_non_null(xml);
    assert_string_equal(xml,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial timeout=\"20\" "
                        "action=\"https://h.example/webhooks/twilio/voice/dialed?q=en.collections\" method=\"POST\">"
                        "<Number statusCallbackEvent=\"ringing answered\" "
                        "statusCallback=\"https://h.example/webhooks/twilio/voice/agent?call=CA0123abcd&amp;caller=%2B16505551234\">"
                        "+15550001111</Number></Dial></Response>");
    hilo_provider_request_t req;
    assert_int_equal(hilo_twilio_build_connect(&ACCT, &ob, xml, &req, &e), HILO_OK);
    assert_string_equal(req.url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Calls/CA0123abcd.json");
    char err[64];
    hilo_form_t *f = hilo_form_parse(req.body, req.body_len, err, sizeof err);
    assert_string_equal(hilo_form_get(f, "Twiml"), xml);
    assert_null(hilo_form_get(f, "To")); /* an update, not a new call */
    hilo_form_destroy(&f);
    hilo_provider_request_clear(&req);
    free(xml);

    /* A SIP agent; a call id that is no sid cannot go into the URL path. */
    connect_order(&ob, &va, "sip:ana@pbx.example", "CA/../x");
    xml = hilo_twiml_connect(&ob, "https://h/d", "https://h/a", &e);
    assert_non_null(strstr(xml, "<Sip statusCallbackEvent=\"ringing answered\""));
    assert_non_null(strstr(xml, ">sip:ana@pbx.example</Sip>"));
    assert_int_equal(hilo_twilio_build_connect(&ACCT, &ob, xml, &req, &e), HILO_ERR);
    assert_string_equal(e.code, "invalid_call");
    free(xml);
    connect_order(&ob, &va, "", "CA1");
    assert_null(hilo_twiml_connect(&ob, "https://h/d", "https://h/a", &e));
    assert_string_equal(e.code, "missing_target");
}

static void test_agent_leg_events(void **state) {
    (void)state;
    hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
    hilo_provider_error_t e;
    hilo_form_t *q = form("call=CA0123&caller=%2B16505551234");
    hilo_form_t *f = form("CallSid=CAleg1&CallStatus=ringing&From=%2B18005551212&To=%2B15550001111");
    assert_int_equal(hilo_twilio_agent_status(f, q, &envs, &e), HILO_OK);
    assert_int_equal(envs.count, 1);
    assert_int_equal(envs.items[0]->voice->kind, HILO_VOICE_AGENT_RINGING);
    assert_string_equal(envs.items[0]->voice->call_id, "CA0123");
    assert_string_equal(envs.items[0]->from, "+16505551234");
    assert_string_equal(envs.items[0]->provider_message_id, "CAleg1:ringing");
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);
    f = form("CallSid=CAleg1&CallStatus=in-progress");
    assert_int_equal(hilo_twilio_agent_status(f, q, &envs, &e), HILO_OK);
    assert_int_equal(envs.items[0]->voice->kind, HILO_VOICE_AGENT_CONNECTED);
    assert_string_equal(envs.items[0]->provider_message_id, "CAleg1:answered");
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);
    f = form("CallSid=CAleg1&CallStatus=completed");
    assert_int_equal(hilo_twilio_agent_status(f, q, &envs, &e), HILO_OK);
    assert_int_equal(envs.count, 0);
    hilo_form_destroy(&f);
    hilo_form_destroy(&q);
    /* Without the caller in the URL the event could not be filed: refused. */
    q = form("call=CA0123");
    f = form("CallSid=CAleg1&CallStatus=ringing");
    assert_int_equal(hilo_twilio_agent_status(f, q, &envs, &e), HILO_ERR);
    assert_string_equal(e.code, "bad_query");
    assert_int_equal(envs.count, 0);
    hilo_form_destroy(&f);
    hilo_form_destroy(&q);
}

static void test_dial_action(void **state) {
    (void)state;
    hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
    hilo_provider_error_t e;
    bool answered = true;
    hilo_form_t *f = form("CallSid=CA0123&From=%2B16505551234&To=%2B18005551212&Direction=inbound"
                          "&DialCallStatus=no-answer&DialCallSid=CAleg1&DialCallDuration=0");
    assert_int_equal(hilo_twilio_dial_action(f, NULL, &envs, &answered, &e), HILO_OK);
    assert_false(answered);
    assert_int_equal(envs.items[0]->voice->kind, HILO_VOICE_AGENT_NO_ANSWER);
    assert_string_equal(envs.items[0]->voice->call_id, "CA0123");
    assert_string_equal(envs.items[0]->voice->call_status, "no-answer");
    assert_string_equal(envs.items[0]->from, "+16505551234");
    assert_string_equal(envs.items[0]->provider_message_id, "CAleg1:dial:no-answer");
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);
    f = form("CallSid=CA0123&From=%2B16505551234&DialCallStatus=completed&DialCallSid=CAleg1&DialCallDuration=61");
    assert_int_equal(hilo_twilio_dial_action(f, NULL, &envs, &answered, &e), HILO_OK);
    assert_true(answered);
    assert_int_equal(envs.count, 0);
    hilo_form_destroy(&f);

    char err[128];
    hilo_twiml_opts_t o = {.gather_action = "https://h/g"};
    hilo_twiml_t *t = hilo_twiml_new(&o, err, sizeof err);
    char *xml = hilo_twiml_after_dial(t, false, "en.collections");
    assert_non_null(strstr(xml, "<Enqueue>en.collections</Enqueue>"));
    free(xml);
    xml = hilo_twiml_after_dial(t, true, "en.collections");
    assert_non_null(strstr(xml, "<Hangup/>"));
    free(xml);
    hilo_twiml_destroy(&t);
}

/* Click-to-call: the agent's phone first (no machine detection), the debtor dialled from it. */
static void test_bridge(void **state) {
    (void)state;
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
    va.kind = HILO_VOICE_ACTION_BRIDGE;
    va.target = "+15550001111";
    ob.outbound_id = "o1";
    ob.debtor_id = "D1";
    ob.to = "+16505551234";
    ob.voice = &va;
    hilo_provider_error_t e;
    char *xml = hilo_twiml_bridge(&ob, "+18005551212", "https://v.example/dialed", &e);
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial timeout=\"30\" "
                             "callerId=\"+18005551212\" action=\"https://v.example/dialed?debtor=%2B16505551234&amp;ob=o1&amp;d=D1\" "
                             "method=\"POST\"><Number>+16505551234</Number></Dial></Response>");
    hilo_provider_request_t req;
    assert_int_equal(hilo_twilio_build_bridge(&ACCT, &ob, xml, &req, &e), HILO_OK);
    assert_string_equal(req.url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Calls.json");
    char err[64];
    hilo_form_t *f = hilo_form_parse(req.body, req.body_len, err, sizeof err);
    assert_string_equal(hilo_form_get(f, "To"), "+15550001111");
    assert_null(hilo_form_get(f, "MachineDetection"));
    hilo_form_destroy(&f);
    hilo_provider_request_clear(&req);
    free(xml);
    ob.to = "";
    assert_null(hilo_twiml_bridge(&ob, "+18005551212", "https://v.example/dialed", &e));
    assert_string_equal(e.code, "invalid_address");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bridge),
        cmocka_unit_test(test_connect_twiml_and_update),
        cmocka_unit_test(test_agent_leg_events),
        cmocka_unit_test(test_dial_action),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
