/* test_twiml.c — every twiml_*.xml fixture reproduced (whitespace-normalized), language
 * mapping, escaping, the fallback, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/twiml.h"
#include "testutil.h"

static void assert_xml_matches_fixture(const char *got, const char *name) {
    char *want_raw = fixture(name, NULL);
    char *want = xml_normalize(want_raw), *have = xml_normalize(got);
    if (strcmp(want, have) != 0) fail_msg("%s\n want: %s\n have: %s", name, want, have);
    free(want_raw);
    free(want);
    free(have);
}

static hilo_twiml_t *make(const char *wait_url, const char *queue_url, const char *fallback_queue) {
    hilo_twiml_opts_t o = {
        .language_map = "es=es-MX, en=en-US",
        .default_language = "es",
        .gather_action = "/twilio/voice/gather",
        .gather_timeout_s = 5,
        .enqueue_wait_url = wait_url,
        .dial_queue_url = queue_url,
        .fallback_queue = fallback_queue,
    };
    char err[128];
    hilo_twiml_t *t = hilo_twiml_new(&o, err, sizeof err);
    if (!t) fail_msg("%s", err);
    return t;
}

static void test_sms_fixtures(void **state) {
    assert_xml_matches_fixture(hilo_twiml_sms_empty(), "twiml_sms_empty_response.xml");
    char *msg = hilo_twiml_sms_message("Hello");
    assert_xml_matches_fixture(msg, "twiml_sms_reply_message.xml");
    free(msg);
}

static void test_voice_ivr_gather_fixture(void **state) {
    hilo_twiml_t *t = make(NULL, NULL, NULL);
    hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
    va.kind = HILO_VOICE_ACTION_SAY_GATHER;
    va.num_digits = 1;
    va.timeout_s = 5;
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = "ob-1";
    ob.language = "en";
    ob.voice = &va;
    ob.text = "This is a call from Example Recovery about your account. Press 1 or say pay to make a payment. "
              "Press 2 or say agent to speak with an agent.";
    hilo_provider_error_t e;
    char *xml = hilo_twiml_render(t, &ob, &e);
    assert_non_null(xml);
    /* The one deliberate difference from the fixture: our action URL names the turn. */
    char *fx = fixture("twiml_voice_ivr_gather.xml", NULL);
    char *at = strstr(fx, "action=\"/twilio/voice/gather\"");
    assert_non_null(at);
    size_t pre = (size_t)(at - fx) + strlen("action=\"/twilio/voice/gather");
    char *want = malloc(strlen(fx) + 32);
    snprintf(want, strlen(fx) + 32, "%.*s?turn=ob-1%s", (int)pre, fx, fx + pre);
    char *a = xml_normalize(want), *b = xml_normalize(xml);
    if (strcmp(a, b) != 0) fail_msg("want: %s\nhave: %s", a, b);
    free(a);
    free(b);
    free(want);
    free(fx);
    free(xml);

    /* Spanish: Gather and Say both carry es-MX; the no-input goodbye is Spanish too. */
    ob.language = "es";
    va.num_digits = 0;
    va.timeout_s = 0;
    ob.outbound_id = "ob 2/x";
    xml = hilo_twiml_render(t, &ob, &e);
    assert_non_null(strstr(xml, "action=\"/twilio/voice/gather?turn=ob+2%2Fx\""));
    assert_null(strstr(xml, "numDigits")); /* 0 = until '#' */
    assert_non_null(strstr(xml, "timeout=\"5\"")); /* the configured default */
    assert_non_null(strstr(xml, "language=\"es-MX\" actionOnEmptyResult=\"true\"><Say language=\"es-MX\">"));
    assert_non_null(strstr(xml, "<Say language=\"es-MX\">No recibimos ninguna respuesta. Hasta luego.</Say><Hangup/>"));
    free(xml);

    /* The webhook's own query stays on the next turn's action URL, our old turn token does not. */
    xml = hilo_twiml_render_turn(t, &ob, "tenant=a&turn=ob-1&x=%2F", &e);
    assert_non_null(strstr(xml, "action=\"/twilio/voice/gather?tenant=a&amp;x=%2F&amp;turn=ob+2%2Fx\""));
    free(xml);
    xml = hilo_twiml_render_turn(t, &ob, "turn=ob-1", &e);
    assert_non_null(strstr(xml, "action=\"/twilio/voice/gather?turn=ob+2%2Fx\""));
    free(xml);
    xml = hilo_twiml_render_turn(t, &ob, "", &e);
    assert_non_null(strstr(xml, "action=\"/twilio/voice/gather?turn=ob+2%2Fx\""));
    free(xml);

    /* No VoiceAction at all = say and gather; no outbound_id = no turn token = refused. */
    ob.voice = NULL;
    ob.outbound_id = "ob-3";
    xml = hilo_twiml_render(t, &ob, &e);
    assert_non_null(strstr(xml, "<Gather input=\"speech dtmf\""));
    free(xml);
    ob.outbound_id = "";
    assert_null(hilo_twiml_render(t, &ob, &e));
    assert_string_equal(e.code, "no_outbound_id");
    hilo_twiml_destroy(&t);
}

static void test_voice_say_hangup_fixture(void **state) {
    hilo_twiml_t *t = make(NULL, NULL, NULL);
    hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
    va.kind = HILO_VOICE_ACTION_SAY_HANGUP;
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.voice = &va;
    ob.language = "en-US";
    ob.text = "Thank you. Goodbye.";
    hilo_provider_error_t e;
    char *xml = hilo_twiml_render(t, &ob, &e);
    assert_xml_matches_fixture(xml, "twiml_voice_say_hangup.xml");
    free(xml);
    ob.text = "";
    xml = hilo_twiml_render(t, &ob, &e);
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Hangup/></Response>");
    free(xml);
    hilo_twiml_destroy(&t);
}

/* A call we place: the message, then the IVR from its start (docs/providers.md, "Placed calls"). */
static void test_placed_call(void **state) {
    hilo_twiml_t *t = make(NULL, NULL, NULL);
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = "ob-1";
    ob.language = "es";
    ob.text = "Le llama ACME & Cía.";
    hilo_provider_error_t e;
    char *xml = hilo_twiml_render_call(t, &ob, "https://hilo.example.com/webhooks/twilio/voice", &e);
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"es-MX\">Le llama "
                             "ACME &amp; Cía.</Say><Redirect method=\"POST\">https://hilo.example.com/webhooks/twilio/voice"
                             "</Redirect></Response>");
    free(xml);
    hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
    va.kind = HILO_VOICE_ACTION_SAY_HANGUP; /* a message only */
    ob.voice = &va;
    xml = hilo_twiml_render_call(t, &ob, "https://hilo.example.com/webhooks/twilio/voice", &e);
    assert_non_null(strstr(xml, "</Say><Hangup/></Response>"));
    assert_null(strstr(xml, "Redirect"));
    free(xml);
    ob.voice = NULL;
    ob.text = "\xff";
    assert_null(hilo_twiml_render_call(t, &ob, "https://hilo.example.com/webhooks/twilio/voice", &e));
    assert_string_equal(e.code, "invalid_utf8");
    hilo_twiml_destroy(&t);
}

static void test_voice_enqueue_fixture(void **state) {
    hilo_twiml_t *t = make("wait-music.xml", NULL, NULL);
    hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
    va.kind = HILO_VOICE_ACTION_ENQUEUE;
    va.target = "support";
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.voice = &va;
    hilo_provider_error_t e;
    char *xml = hilo_twiml_render(t, &ob, &e);
    assert_xml_matches_fixture(xml, "twiml_voice_enqueue.xml");
    free(xml);
    va.target = ""; /* no queue and no fallback queue */
    assert_null(hilo_twiml_render(t, &ob, &e));
    assert_string_equal(e.code, "no_target");
    hilo_twiml_destroy(&t);
    t = make(NULL, NULL, "cobranza");
    ob.text = "Un momento, por favor.";
    xml = hilo_twiml_render(t, &ob, &e);
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"es-MX\">Un momento, "
                             "por favor.</Say><Enqueue>cobranza</Enqueue></Response>");
    free(xml);
    hilo_twiml_destroy(&t);
}

static void test_voice_dial(void **state) {
    hilo_twiml_t *t = make(NULL, "https://example.com/about_to_connect.xml", NULL);
    hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
    va.kind = HILO_VOICE_ACTION_DIAL;
    va.target = "queue:support";
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.voice = &va;
    hilo_provider_error_t e;
    char *xml = hilo_twiml_render(t, &ob, &e);
    assert_xml_matches_fixture(xml, "twiml_voice_agent_dial_queue.xml");
    free(xml);
    va.target = "+5215512345678";
    xml = hilo_twiml_render(t, &ob, &e);
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial>+5215512345678</Dial></Response>");
    free(xml);
    va.target = "sip:agent7@pbx.example.com;transport=tls";
    ob.text = "Le comunico con un agente.";
    xml = hilo_twiml_render(t, &ob, &e);
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"es-MX\">Le comunico "
                             "con un agente.</Say><Dial><Sip>sip:agent7@pbx.example.com;transport=tls</Sip></Dial>"
                             "</Response>");
    free(xml);
    va.target = "";
    assert_null(hilo_twiml_render(t, &ob, &e));
    assert_string_equal(e.code, "no_target");
    hilo_twiml_destroy(&t);
}

static void test_escaping_and_utf8(void **state) {
    hilo_twiml_t *t = make(NULL, NULL, NULL);
    hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
    va.kind = HILO_VOICE_ACTION_SAY_HANGUP;
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.voice = &va;
    ob.language = "en";
    ob.text = "A&B <x> \"q\" 'a'\x01\ttab";
    hilo_provider_error_t e;
    char *xml = hilo_twiml_render(t, &ob, &e);
    assert_non_null(strstr(xml, "<Say>A&amp;B &lt;x&gt; &quot;q&quot; &apos;a&apos;  tab</Say>"));
    free(xml);
    ob.text = "bad \xC3";
    assert_null(hilo_twiml_render(t, &ob, &e));
    assert_string_equal(e.code, "invalid_utf8");
    char *m = hilo_twiml_sms_message("1 < 2 & señor");
    assert_string_equal(m, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>1 &lt; 2 &amp; señor</Message>"
                           "</Response>");
    free(m);
    hilo_twiml_destroy(&t);
}

static void test_language_mapping(void **state) {
    hilo_twiml_t *t = make(NULL, NULL, NULL);
    assert_string_equal(hilo_twiml_language(t, "es"), "es-MX");
    assert_string_equal(hilo_twiml_language(t, "ES"), "es-MX");
    assert_string_equal(hilo_twiml_language(t, "es-419"), "es-MX");
    assert_string_equal(hilo_twiml_language(t, "en"), "en-US");
    assert_string_equal(hilo_twiml_language(t, "en_GB"), "en-US"); /* primary subtag mapped */
    assert_string_equal(hilo_twiml_language(t, "pt-BR"), "pt-BR"); /* unmapped with region: as is */
    assert_string_equal(hilo_twiml_language(t, "pt"), "es-MX");    /* unmapped: the default language */
    assert_string_equal(hilo_twiml_language(t, ""), "es-MX");
    assert_string_equal(hilo_twiml_language(t, NULL), "es-MX");
    assert_string_equal(hilo_twiml_language(t, "x\"-y"), "es-MX");  /* never an attribute injection */
    hilo_twiml_destroy(&t);

    hilo_twiml_opts_t o = {.language_map = "es=es-US,es-ES=es-ES", .default_language = "en",
                           .gather_action = "/g"};
    char err[128];
    t = hilo_twiml_new(&o, err, sizeof err);
    assert_non_null(t);
    assert_string_equal(hilo_twiml_language(t, "es"), "es-US");
    assert_string_equal(hilo_twiml_language(t, "es-ES"), "es-ES"); /* whole tag first */
    assert_string_equal(hilo_twiml_language(t, "fr"), "en-US");    /* default "en" unmapped: Twilio's */
    hilo_twiml_destroy(&t);

    const char *bad[] = {"es", "es=", "=es-MX", "es=es\"MX"};
    for (size_t i = 0; i < 4; i++) {
        o.language_map = bad[i];
        assert_null(hilo_twiml_new(&o, err, sizeof err));
        assert_non_null(strstr(err, "language_map"));
    }
    o.language_map = NULL;
    o.gather_action = NULL;
    assert_null(hilo_twiml_new(&o, err, sizeof err));
    hilo_twiml_destroy(&t); /* NULL is fine */
}

static void test_fallback(void **state) {
    hilo_twiml_t *t = make(NULL, NULL, NULL);
    char *xml = hilo_twiml_fallback(t, NULL); /* default language es, no queue: hang up */
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"es-MX\">Lo sentimos, "
                             "tenemos dificultades técnicas. Por favor llame más tarde. Hasta luego.</Say><Hangup/>"
                             "</Response>");
    free(xml);
    xml = hilo_twiml_fallback(t, "en");
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>We are sorry, we are having "
                             "technical difficulties. Please call again later. Goodbye.</Say><Hangup/></Response>");
    free(xml);
    /* Bilingual: each language once, in the order given, each <Say> naming its language. */
    xml = hilo_twiml_fallback(t, "es,en");
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"es-MX\">Lo sentimos, "
                             "tenemos dificultades técnicas. Por favor llame más tarde. Hasta luego.</Say>"
                             "<Say language=\"en-US\">We are sorry, we are having technical difficulties. Please call "
                             "again later. Goodbye.</Say><Hangup/></Response>");
    free(xml);
    xml = hilo_twiml_fallback(t, " en, es-419 ,es , en-US");
    const char *en = strstr(xml, "<Say language=\"en-US\">We are sorry");
    const char *es = strstr(xml, "<Say language=\"es-MX\">Lo sentimos");
    assert_true(en && es && en < es);
    assert_null(strstr(es + 30, "Lo sentimos")); /* es-419 and es are both es-MX: said once */
    assert_null(strstr(en + 30, "We are sorry"));
    free(xml);
    hilo_twiml_destroy(&t);
    t = make("wait.xml", NULL, "agents");
    xml = hilo_twiml_fallback(t, "es");
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"es-MX\">Lo sentimos, "
                             "tenemos dificultades técnicas. Por favor espere en línea a un agente.</Say>"
                             "<Enqueue waitUrl=\"wait.xml\">agents</Enqueue></Response>");
    free(xml);
    hilo_twiml_destroy(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sms_fixtures),
        cmocka_unit_test(test_voice_ivr_gather_fixture),
        cmocka_unit_test(test_voice_say_hangup_fixture),
        cmocka_unit_test(test_placed_call),
        cmocka_unit_test(test_voice_enqueue_fixture),
        cmocka_unit_test(test_voice_dial),
        cmocka_unit_test(test_escaping_and_utf8),
        cmocka_unit_test(test_language_mapping),
        cmocka_unit_test(test_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
