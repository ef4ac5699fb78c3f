/* test_twilio.c — Twilio webhook forms → envelopes, the 1600-character policy, REST requests
 * and results. Bodies are built the way Twilio posts them (urlencoded) and decoded by form.c. */
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
#include "hilo/signature.h"
#include "hilo/twilio.h"

static hilo_form_t *form(const char *body) {
    char err[128];
    hilo_form_t *f = hilo_form_parse(body, strlen(body), err, sizeof err);
    if (!f) fail_msg("form: %s", err);
    return f;
}

/* ---- SMS inbound ----------------------------------------------------------------------------- */

static void test_sms_inbound(void **state) {
    hilo_form_t *f = form("ToCountry=US&ToState=CA&SmsMessageSid=SM1&NumMedia=0&SmsSid=SM1&SmsStatus=received"
                          "&Body=Hola%2C+quiero+pagar+%C2%BFc%C3%B3mo%3F&To=%2B18005551212&NumSegments=1"
                          "&MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&AccountSid=AC123&From=%2B14158675309"
                          "&ApiVersion=2010-04-01");
    hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
    hilo_provider_error_t e;
    assert_int_equal(hilo_twilio_sms_inbound(f, &envs, &e), HILO_OK);
    assert_int_equal(envs.count, 1);
    hilo_envelope_t *env = envs.items[0];
    assert_int_equal(env->channel, HILO_CHANNEL_SMS);
    assert_string_equal(env->provider_message_id, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
    assert_string_equal(env->from, "+14158675309");
    assert_string_equal(env->to, "+18005551212");
    assert_string_equal(env->text, "Hola, quiero pagar ¿cómo?");
    assert_int_equal(env->n_media, 0);
    assert_int_equal(env->sent_at_ms, 0);
    assert_false(env->wants_reply);
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);
}

static void test_mms_inbound(void **state) {
    hilo_form_t *f = form("MessageSid=MM9&From=%2B14158675309&To=%2B18005551212&Body=&NumMedia=2"
                          "&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC1%2FMessages%2FMM9"
                          "%2FMedia%2FME0&MediaContentType0=image%2Fjpeg"
                          "&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fm1&MediaContentType1=application%2Fpdf");
    hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
    hilo_provider_error_t e;
    assert_int_equal(hilo_twilio_sms_inbound(f, &envs, &e), HILO_OK);
    hilo_envelope_t *env = envs.items[0];
    assert_string_equal(env->text, "");
    assert_int_equal(env->n_media, 2);
    assert_string_equal(env->media[0]->url, "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM9/Media/ME0");
    assert_string_equal(env->media[0]->mime_type, "image/jpeg");
    assert_string_equal(env->media[0]->id, "");
    assert_string_equal(env->media[1]->url, "https://api.twilio.com/m1");
    assert_string_equal(env->media[1]->mime_type, "application/pdf");
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);
}

static void expect_fail(int rc, const hilo_provider_error_t *e, const char *code, hilo_provider_envs_t *envs) {
    assert_int_equal(rc, HILO_ERR);
    assert_string_equal(e->code, code);
    assert_int_equal(envs->count, 0);
}

static void test_sms_inbound_errors(void **state) {
    const struct {
        const char *body, *code;
    } cases[] = {
        {"From=%2B1415&To=%2B1800&Body=x", "missing_field"},
        {"MessageSid=SM1&To=%2B1800&Body=x", "missing_field"},
        {"MessageSid=SM1&From=&To=%2B1800&Body=x", "missing_field"},
        {"MessageSid=SM1&From=%2B1415&Body=x", "missing_field"},
        {"MessageSid=SM1&From=%2B1415&To=%2B1800&Body=%FF%FE", "invalid_utf8"},
        {"MessageSid=SM1&From=%2B1415&To=%2B1800&Body=%C3%28", "invalid_utf8"},
        {"MessageSid=SM1&From=%2B1415&To=%2B1800&NumMedia=x", "bad_field"},
        {"MessageSid=SM1&From=%2B1415&To=%2B1800&NumMedia=11", "bad_field"},
        {"MessageSid=SM1&From=%2B1415&To=%2B1800&NumMedia=1", "missing_field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hilo_form_t *f = form(cases[i].body);
        hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
        hilo_provider_error_t e = {"", ""};
        expect_fail(hilo_twilio_sms_inbound(f, &envs, &e), &e, cases[i].code, &envs);
        hilo_form_destroy(&f);
    }
}

/* ---- SMS status --------------------------------------------------------------------------------- */

static void test_sms_status(void **state) {
    const struct {
        const char *status;
        int state;
    } map[] = {
        {"queued", 0},       {"accepted", 0},   {"scheduled", 0}, {"sending", 0},
        {"sent", HILO_DELIVERY_SENT},           {"delivered", HILO_DELIVERY_DELIVERED},
        {"read", HILO_DELIVERY_READ},           {"undelivered", HILO_DELIVERY_FAILED},
        {"failed", HILO_DELIVERY_FAILED},       {"canceled", HILO_DELIVERY_FAILED},
        {"receiving", 0},    {"something-new", 0},
    };
    hilo_form_t *q = form("ob=ob-42%2Fa");
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "SmsSid=SM5&SmsStatus=%s&MessageStatus=%s&To=%%2B14158675309&MessageSid=SM5&AccountSid=AC1"
                 "&From=%%2B18005551212&ApiVersion=2010-04-01",
                 map[i].status, map[i].status);
        hilo_form_t *f = form(body);
        hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
        hilo_provider_error_t e;
        assert_int_equal(hilo_twilio_sms_status(f, q, &envs, &e), HILO_OK);
        if (!map[i].state) {
            assert_int_equal(envs.count, 0);
        } else {
            assert_int_equal(envs.count, 1);
            hilo_envelope_t *env = envs.items[0];
            char id[64];
            snprintf(id, sizeof id, "SM5:%s", map[i].status);
            assert_string_equal(env->provider_message_id, id);
            assert_string_equal(env->from, "+14158675309"); /* the debtor */
            assert_string_equal(env->to, "+18005551212");
            assert_int_equal(env->delivery->state, map[i].state);
            assert_string_equal(env->delivery->provider_message_id, "SM5");
            assert_string_equal(env->delivery->outbound_id, "ob-42/a");
            assert_string_equal(env->delivery->error_code, "");
        }
        hilo_provider_envs_clear(&envs);
        hilo_form_destroy(&f);
    }
    hilo_form_destroy(&q);

    /* Failures carry ErrorCode (and a text for the well-known ones); no query = no outbound_id. */
    hilo_form_t *f = form("MessageSid=SM6&MessageStatus=undelivered&ErrorCode=30003&To=%2B1415&From=%2B1800");
    hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
    hilo_provider_error_t e;
    assert_int_equal(hilo_twilio_sms_status(f, NULL, &envs, &e), HILO_OK);
    assert_int_equal(envs.items[0]->delivery->state, HILO_DELIVERY_FAILED);
    assert_string_equal(envs.items[0]->delivery->error_code, "30003");
    assert_string_equal(envs.items[0]->delivery->error_message, "unreachable destination handset");
    assert_string_equal(envs.items[0]->delivery->outbound_id, "");
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);
    f = form("MessageSid=SM7&MessageStatus=failed&ErrorCode=12345&ErrorMessage=Something+odd");
    assert_int_equal(hilo_twilio_sms_status(f, NULL, &envs, &e), HILO_OK);
    assert_string_equal(envs.items[0]->delivery->error_code, "12345");
    assert_string_equal(envs.items[0]->delivery->error_message, "Something odd");
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);

    f = form("MessageStatus=sent");
    expect_fail(hilo_twilio_sms_status(f, NULL, &envs, &e), &e, "missing_field", &envs);
    hilo_form_destroy(&f);
    f = form("MessageSid=SM8");
    expect_fail(hilo_twilio_sms_status(f, NULL, &envs, &e), &e, "missing_field", &envs);
    hilo_form_destroy(&f);
}

/* ---- voice ---------------------------------------------------------------------------------------- */

static void test_voice_start_gather_end(void **state) {
    /* The signature vectors' voice params (T1) are a call webhook too. */
    hilo_form_t *f = form("CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212"
                          "&Caller=%2B14158675309&CallStatus=ringing&Direction=inbound&CallerName=JUAN+PEREZ");
    hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
    hilo_provider_error_t e;
    assert_int_equal(hilo_twilio_voice_start(f, &envs, &e), HILO_OK);
    hilo_envelope_t *env = envs.items[0];
    assert_int_equal(env->channel, HILO_CHANNEL_VOICE);
    assert_string_equal(env->provider_message_id, "CA1234567890ABCDE:start");
    assert_string_equal(env->from, "+14158675309");
    assert_string_equal(env->to, "+18005551212");
    assert_string_equal(env->contact_name, "JUAN PEREZ");
    assert_true(env->wants_reply);
    assert_int_equal(env->voice->kind, HILO_VOICE_CALL_START);
    assert_string_equal(env->voice->call_id, "CA1234567890ABCDE");
    assert_string_equal(env->voice->call_status, "ringing");
    assert_string_equal(env->voice->digits, ""); /* Digits on a start webhook are not a turn */
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);

    hilo_form_t *q = form("turn=ob-7");
    f = form("CallSid=CA1&From=%2B14158675309&To=%2B18005551212&Digits=1&SpeechResult=quiero+pagar"
             "&Confidence=0.91&CallStatus=in-progress");
    assert_int_equal(hilo_twilio_voice_gather(f, q, &envs, &e), HILO_OK);
    env = envs.items[0];
    assert_string_equal(env->provider_message_id, "CA1:gather:ob-7");
    assert_int_equal(env->voice->kind, HILO_VOICE_GATHER);
    assert_string_equal(env->voice->digits, "1");
    assert_string_equal(env->voice->speech, "quiero pagar");
    assert_true(env->voice->confidence > 0.90f && env->voice->confidence < 0.92f);
    assert_true(env->wants_reply);
    /* The same request again (a Twilio retry) gives the same id: the router dedupes it. */
    assert_int_equal(hilo_twilio_voice_gather(f, q, &envs, &e), HILO_OK);
    assert_string_equal(envs.items[1]->provider_message_id, env->provider_message_id);
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);
    /* A bad Confidence is ignored, an empty result (silence) is still a turn. */
    f = form("CallSid=CA1&From=%2B1415&To=%2B1800&Confidence=abc");
    assert_int_equal(hilo_twilio_voice_gather(f, q, &envs, &e), HILO_OK);
    assert_true(envs.items[0]->voice->confidence == 0.0f);
    assert_string_equal(envs.items[0]->voice->digits, "");
    hilo_provider_envs_clear(&envs);
    /* No turn in the action URL: refused. */
    hilo_form_t *noturn = form("x=1");
    expect_fail(hilo_twilio_voice_gather(f, noturn, &envs, &e), &e, "missing_turn", &envs);
    expect_fail(hilo_twilio_voice_gather(f, NULL, &envs, &e), &e, "missing_turn", &envs);
    hilo_form_destroy(&noturn);
    hilo_form_destroy(&f);
    hilo_form_destroy(&q);

    const char *ends[] = {"completed", "busy", "no-answer", "failed", "canceled"};
    for (size_t i = 0; i < 5; i++) {
        char body[200];
        snprintf(body, sizeof body, "CallSid=CA2&From=%%2B1415&To=%%2B1800&CallStatus=%s&CallDuration=%s", ends[i],
                 i == 0 ? "42" : "0");
        f = form(body);
        assert_int_equal(hilo_twilio_voice_status(f, &envs, &e), HILO_OK);
        env = envs.items[0];
        assert_string_equal(env->provider_message_id, "CA2:end");
        assert_int_equal(env->voice->kind, HILO_VOICE_CALL_END);
        assert_string_equal(env->voice->call_status, ends[i]);
        assert_int_equal(env->voice->duration_s, i == 0 ? 42 : 0);
        assert_false(env->wants_reply);
        hilo_provider_envs_clear(&envs);
        hilo_form_destroy(&f);
    }
    f = form("CallSid=CA2&CallStatus=in-progress");
    assert_int_equal(hilo_twilio_voice_status(f, &envs, &e), HILO_OK);
    assert_int_equal(envs.count, 0);
    hilo_form_destroy(&f);
    /* Calls we placed: Twilio's From is our number, the envelope's from is still the debtor. */
    f = form("CallSid=CA3&From=%2B18005551212&To=%2B14158675309&CallStatus=completed&Direction=outbound-api");
    assert_int_equal(hilo_twilio_voice_status(f, &envs, &e), HILO_OK);
    assert_string_equal(envs.items[0]->from, "+14158675309");
    assert_string_equal(envs.items[0]->to, "+18005551212");
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);

    f = form("From=%2B1415&To=%2B1800");
    expect_fail(hilo_twilio_voice_start(f, &envs, &e), &e, "missing_field", &envs);
    hilo_form_destroy(&f);
    f = form("CallSid=CA%FF&From=%2B1415&To=%2B1800");
    expect_fail(hilo_twilio_voice_start(f, &envs, &e), &e, "invalid_utf8", &envs);
    hilo_form_destroy(&f);
    f = form("CallSid=CA4");
    expect_fail(hilo_twilio_voice_status(f, &envs, &e), &e, "missing_field", &envs);
    hilo_form_destroy(&f);
}

/* ---- the 1600-character policy -------------------------------------------------------------------- */

static void test_sms_chars_and_split(void **state) {
    assert_int_equal(hilo_twilio_sms_chars("abc"), 3);
    assert_int_equal(hilo_twilio_sms_chars("señor"), 5);           /* 6 bytes */
    assert_int_equal(hilo_twilio_sms_chars("\xF0\x9F\x98\x80!"), 3); /* an emoji counts 2 */

    char **parts;
    size_t n = hilo_twilio_sms_split("uno dos tres cuatro", 8, &parts);
    assert_int_equal(n, 3);
    assert_string_equal(parts[0], "uno dos");
    assert_string_equal(parts[1], "tres");
    assert_string_equal(parts[2], "cuatro");
    for (size_t i = 0; i < n; i++) free(parts[i]);
    free(parts);

    n = hilo_twilio_sms_split("abcdefghij kl", 4, &parts); /* a word longer than a part: cut it */
    assert_int_equal(n, 4);
    assert_string_equal(parts[0], "abcd");
    assert_string_equal(parts[1], "efgh");
    assert_string_equal(parts[2], "ij");
    assert_string_equal(parts[3], "kl");
    for (size_t i = 0; i < n; i++) free(parts[i]);
    free(parts);

    n = hilo_twilio_sms_split("ññññ ñññ", 5, &parts); /* characters, not bytes */
    assert_int_equal(n, 2);
    assert_string_equal(parts[0], "ññññ");
    assert_string_equal(parts[1], "ñññ");
    for (size_t i = 0; i < n; i++) free(parts[i]);
    free(parts);

    n = hilo_twilio_sms_split("a\xF0\x9F\x98\x80" "b", 2, &parts); /* never split inside a code point */
    assert_int_equal(n, 3);
    assert_string_equal(parts[0], "a");
    assert_string_equal(parts[1], "\xF0\x9F\x98\x80");
    assert_string_equal(parts[2], "b");
    for (size_t i = 0; i < n; i++) free(parts[i]);
    free(parts);
}

static const hilo_twilio_account_t ACCT = {
    .api_base = "https://api.twilio.com",
    .account_sid = "AC123",
    .auth_user = "",
    .auth_secret = "token",
    .from = "+18005551212",
    .messaging_service_sid = "",
    .status_callback = "https://hilo.example.com/webhooks/twilio/sms/status",
    .max_parts = 3,
};

static void test_build_sms(void **state) {
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = "ob-1";
    ob.to = "+14158675309";
    ob.text = "Su saldo es $120.00 & vence hoy";
    hilo_provider_request_t reqs[8];
    size_t n = 0;
    hilo_provider_error_t e;
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 8, &n, &e), HILO_OK);
    assert_int_equal(n, 1);
    assert_string_equal(reqs[0].method, "POST");
    assert_string_equal(reqs[0].url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
    assert_string_equal(reqs[0].content_type, "application/x-www-form-urlencoded");
    assert_string_equal(reqs[0].basic_user, "AC123");
    assert_string_equal(reqs[0].basic_pass, "token");
    assert_null(reqs[0].bearer);
    assert_string_equal(reqs[0].body, "To=%2B14158675309&From=%2B18005551212&Body=Su+saldo+es+%24120.00+%26+vence+hoy"
                                      "&StatusCallback=https%3A%2F%2Fhilo.example.com%2Fwebhooks%2Ftwilio%2Fsms"
                                      "%2Fstatus%3Fob%3Dob-1");
    assert_int_equal(reqs[0].body_len, strlen(reqs[0].body));
    /* What Twilio decodes is what we meant. */
    char err[64];
    hilo_form_t *f = hilo_form_parse(reqs[0].body, reqs[0].body_len, err, sizeof err);
    assert_string_equal(hilo_form_get(f, "Body"), "Su saldo es $120.00 & vence hoy");
    assert_string_equal(hilo_form_get(f, "StatusCallback"), "https://hilo.example.com/webhooks/twilio/sms/status?ob=ob-1");
    hilo_form_destroy(&f);
    hilo_provider_request_clear(&reqs[0]);

    /* A messaging service replaces From; an explicit ob->from wins over both; buttons as options. */
    hilo_twilio_account_t svc = ACCT;
    svc.messaging_service_sid = "MG9";
    svc.auth_user = "SKkey";
    hilo_button_t b1 = HILO_BUTTON_INIT, b2 = HILO_BUTTON_INIT;
    b1.title = "Pagar";
    b2.title = "Hablar con un agente";
    hilo_button_t *buttons[] = {&b1, &b2};
    ob.buttons = buttons;
    ob.n_buttons = 2;
    ob.text = "¿Qué desea hacer?";
    assert_int_equal(hilo_twilio_build_sms(&svc, &ob, reqs, 8, &n, &e), HILO_OK);
    f = hilo_form_parse(reqs[0].body, reqs[0].body_len, err, sizeof err);
    assert_string_equal(hilo_form_get(f, "MessagingServiceSid"), "MG9");
    assert_null(hilo_form_get(f, "From"));
    assert_string_equal(hilo_form_get(f, "Body"), "¿Qué desea hacer?\n\n1. Pagar\n2. Hablar con un agente");
    assert_string_equal(reqs[0].basic_user, "SKkey");
    hilo_form_destroy(&f);
    hilo_provider_request_clear(&reqs[0]);
    ob.from = "+15005550006";
    assert_int_equal(hilo_twilio_build_sms(&svc, &ob, reqs, 8, &n, &e), HILO_OK);
    f = hilo_form_parse(reqs[0].body, reqs[0].body_len, err, sizeof err);
    assert_string_equal(hilo_form_get(f, "From"), "+15005550006");
    assert_null(hilo_form_get(f, "MessagingServiceSid"));
    hilo_form_destroy(&f);
    hilo_provider_request_clear(&reqs[0]);

    /* No status callback configured: none sent. */
    hilo_twilio_account_t quiet = ACCT;
    quiet.status_callback = NULL;
    ob.n_buttons = 0;
    assert_int_equal(hilo_twilio_build_sms(&quiet, &ob, reqs, 8, &n, &e), HILO_OK);
    assert_null(strstr(reqs[0].body, "StatusCallback"));
    hilo_provider_request_clear(&reqs[0]);

    /* Refusals. */
    ob.text = "";
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 8, &n, &e), HILO_ERR);
    assert_string_equal(e.code, "empty");
    hilo_template_t t = HILO_TEMPLATE_INIT;
    t.name = "reminder";
    ob.template_ = &t;
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 8, &n, &e), HILO_ERR);
    assert_string_equal(e.code, "template_unsupported");
    ob.template_ = NULL;
    ob.text = "hola";
    ob.to = "";
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 8, &n, &e), HILO_ERR);
    assert_string_equal(e.code, "invalid_address");
    ob.to = "+14158675309";
    ob.from = "";
    hilo_twilio_account_t nosender = ACCT;
    nosender.from = "";
    assert_int_equal(hilo_twilio_build_sms(&nosender, &ob, reqs, 8, &n, &e), HILO_ERR);
    assert_string_equal(e.code, "no_sender");
    assert_int_equal(n, 0);
}

static char *words(size_t chars) { /* "ñaaa ñaaa ..." exactly `chars` characters */
    char *s = malloc(chars * 2 + 1), *p = s;
    for (size_t i = 0; i < chars; i++) {
        if (i % 5 == 4) {
            *p++ = ' ';
        } else if (i % 5 == 0) {
            memcpy(p, "ñ", 2);
            p += 2;
        } else {
            *p++ = 'a';
        }
    }
    *p = '\0';
    return s;
}

static void test_build_sms_1600(void **state) {
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = "ob-2";
    ob.to = "+14158675309";
    hilo_provider_request_t reqs[8];
    size_t n = 0;
    hilo_provider_error_t e;
    char err[64];

    char *exact = words(1600); /* 1600 characters but more than 1600 bytes: one part */
    assert_true(strlen(exact) > 1600);
    ob.text = exact;
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 8, &n, &e), HILO_OK);
    assert_int_equal(n, 1);
    hilo_provider_request_clear(&reqs[0]);

    char *longer = words(4000); /* three parts, each ≤ 1600, cut at spaces */
    ob.text = longer;
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 8, &n, &e), HILO_OK);
    assert_int_equal(n, 3);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        hilo_form_t *f = hilo_form_parse(reqs[i].body, reqs[i].body_len, err, sizeof err);
        const char *body = hilo_form_get(f, "Body");
        assert_true(hilo_twilio_sms_chars(body) <= 1600);
        assert_true(body[0] != ' ' && body[strlen(body) - 1] != ' ');
        total += hilo_twilio_sms_chars(body);
        assert_string_equal(hilo_form_get(f, "To"), "+14158675309");
        assert_non_null(hilo_form_get(f, "StatusCallback"));
        hilo_form_destroy(&f);
        hilo_provider_request_clear(&reqs[i]);
    }
    assert_int_equal(total + 3, 4000); /* only the blanks at the two cuts and the final one are gone */

    hilo_twilio_account_t one = ACCT; /* max_parts 1 = refuse anything longer than 1600 */
    one.max_parts = 1;
    assert_int_equal(hilo_twilio_build_sms(&one, &ob, reqs, 8, &n, &e), HILO_ERR);
    assert_string_equal(e.code, "too_long");
    assert_int_equal(n, 0);
    char *huge = words(6000); /* 4 parts > max_parts 3 */
    ob.text = huge;
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 8, &n, &e), HILO_ERR);
    assert_string_equal(e.code, "too_long");
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 2, &n, &e), HILO_ERR); /* caller's array caps too */
    free(exact);
    free(longer);
    free(huge);
}

/* ---- multi-part SMS: every part's callback names its message, debtor and part --------------- */

/* The StatusCallback URL of request i, decoded from the form body (owned by the caller). */
static char *callback_of(const hilo_provider_request_t *req) {
    char err[64];
    hilo_form_t *f = hilo_form_parse(req->body, req->body_len, err, sizeof err);
    assert_non_null(f);
    const char *cb = hilo_form_get(f, "StatusCallback");
    assert_non_null(cb);
    char *out = strdup(cb);
    hilo_form_destroy(&f);
    return out;
}

/* Runs a status callback for `cb` (the URL we built) through hilo_twilio_sms_status. */
static hilo_delivery_t *status_via(const char *cb, const char *status, hilo_provider_envs_t *envs) {
    const char *q = strchr(cb, '?');
    hilo_form_t *query = form(q ? q + 1 : "");
    char body[256];
    snprintf(body, sizeof body, "MessageSid=SM77&MessageStatus=%s&To=%%2B14158675309&From=%%2B18005551212%s", status,
             strcmp(status, "undelivered") == 0 ? "&ErrorCode=30003" : "");
    hilo_form_t *f = form(body);
    hilo_provider_error_t e;
    assert_int_equal(hilo_twilio_sms_status(f, query, envs, &e), HILO_OK);
    hilo_form_destroy(&f);
    hilo_form_destroy(&query);
    assert_int_equal(envs->count, 1);
    return envs->items[0]->delivery;
}

static void test_sms_parts_callbacks(void **state) {
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = "1764000000000-ab12";
    ob.debtor_id = "D-1001";
    ob.to = "+14158675309";
    hilo_provider_request_t reqs[8];
    size_t n = 0;
    hilo_provider_error_t e;

    /* One part: ob and d, no part numbers. */
    ob.text = "hola";
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 8, &n, &e), HILO_OK);
    assert_int_equal(n, 1);
    char *cb = callback_of(&reqs[0]);
    assert_string_equal(cb, "https://hilo.example.com/webhooks/twilio/sms/status?ob=1764000000000-ab12&d=D-1001");
    hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
    hilo_delivery_t *d = status_via(cb, "delivered", &envs);
    assert_string_equal(d->outbound_id, "1764000000000-ab12");
    assert_string_equal(d->debtor_id, "D-1001");
    assert_int_equal(d->part, 0);
    assert_int_equal(d->parts, 0);
    hilo_provider_envs_clear(&envs);
    free(cb);
    hilo_provider_request_clear(&reqs[0]);

    /* 2000 characters: two calls, each naming its part; a debtor id that needs encoding. */
    char *text = malloc(2001);
    for (int i = 0; i < 2000; i++) text[i] = i % 10 == 9 ? ' ' : 'a';
    text[2000] = '\0';
    ob.text = text;
    ob.debtor_id = "u:+14158675309";
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 8, &n, &e), HILO_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        cb = callback_of(&reqs[i]);
        char want[256];
        snprintf(want, sizeof want,
                 "https://hilo.example.com/webhooks/twilio/sms/status?ob=1764000000000-ab12&d=u%%3A%%2B14158675309"
                 "&part=%zu&parts=2", i + 1);
        assert_string_equal(cb, want);
        d = status_via(cb, i == 1 ? "undelivered" : "delivered", &envs);
        assert_string_equal(d->outbound_id, "1764000000000-ab12");
        assert_string_equal(d->debtor_id, "u:+14158675309");
        assert_int_equal(d->part, i + 1);
        assert_int_equal(d->parts, 2);
        assert_int_equal(d->state, i == 1 ? HILO_DELIVERY_FAILED : HILO_DELIVERY_DELIVERED);
        if (i == 1) assert_string_equal(d->error_code, "30003");
        hilo_provider_envs_clear(&envs);
        free(cb);
        hilo_provider_request_clear(&reqs[i]);
    }

    /* A configured callback URL with a query of its own: ours follows with '&'. */
    hilo_twilio_account_t q = ACCT;
    q.status_callback = "https://hilo.example.com/webhooks/twilio/sms/status?tenant=7";
    assert_int_equal(hilo_twilio_build_sms(&q, &ob, reqs, 8, &n, &e), HILO_OK);
    cb = callback_of(&reqs[1]);
    assert_string_equal(cb, "https://hilo.example.com/webhooks/twilio/sms/status?tenant=7&ob=1764000000000-ab12"
                            "&d=u%3A%2B14158675309&part=2&parts=2");
    free(cb);
    for (size_t i = 0; i < n; i++) hilo_provider_request_clear(&reqs[i]);

    /* No outbound id (nothing to settle): no parameters at all. */
    ob.outbound_id = "";
    assert_int_equal(hilo_twilio_build_sms(&ACCT, &ob, reqs, 8, &n, &e), HILO_OK);
    cb = callback_of(&reqs[0]);
    assert_string_equal(cb, "https://hilo.example.com/webhooks/twilio/sms/status");
    free(cb);
    for (size_t i = 0; i < n; i++) hilo_provider_request_clear(&reqs[i]);
    free(text);

    /* Reading back: the old "?ob=" only form still gives the outbound id alone (the router then
     * matches by provider id); malformed parameters are refused, never half-used. */
    d = status_via("x?ob=ob-42", "sent", &envs);
    assert_string_equal(d->outbound_id, "ob-42");
    assert_string_equal(d->debtor_id, "");
    assert_int_equal(d->part, 0);
    hilo_provider_envs_clear(&envs);
    static const char *const bad[] = {
        "ob=o&d=D1&part=3&parts=2", "ob=o&d=D1&part=0&parts=2", "ob=o&d=D1&part=1", "ob=o&d=D1&parts=2",
        "ob=o&d=D1&part=1&parts=101", "ob=o&d=D1&part=x&parts=2", "ob=o&d=D1&part=-1&parts=2",
        "ob=o&d=D1&part=1&parts=2%20", "ob=o&d=%01D1", "ob=o%7F&d=D1", "ob=o&d=%C3", "ob=&d=D1", "ob=o&d=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hilo_form_t *query = form(bad[i]);
        hilo_form_t *f = form("MessageSid=SM77&MessageStatus=delivered");
        expect_fail(hilo_twilio_sms_status(f, query, &envs, &e), &e, "bad_query", &envs);
        hilo_form_destroy(&f);
        hilo_form_destroy(&query);
    }
    char longid[HILO_TWILIO_QUERY_ID_MAX + 8];
    snprintf(longid, sizeof longid, "ob=");
    memset(longid + 3, 'o', HILO_TWILIO_QUERY_ID_MAX + 1);
    longid[HILO_TWILIO_QUERY_ID_MAX + 4] = '\0';
    hilo_form_t *query = form(longid);
    hilo_form_t *f = form("MessageSid=SM77&MessageStatus=delivered");
    expect_fail(hilo_twilio_sms_status(f, query, &envs, &e), &e, "bad_query", &envs);
    hilo_form_destroy(&f);
    hilo_form_destroy(&query);

    /* What `hilo send` counts: the parts hilo_twilio_build_sms makes. */
    assert_int_equal(hilo_twilio_sms_parts("hola"), 1);
    char *big = malloc(4802);
    for (int i = 0; i < 4800; i++) big[i] = i % 10 == 9 ? ' ' : 'a';
    big[1600] = '\0';
    assert_int_equal(hilo_twilio_sms_parts(big), 1);
    big[1600] = 'a';
    big[1601] = '\0';
    assert_int_equal(hilo_twilio_sms_parts(big), 2);
    big[1601] = 'a';
    big[4800] = '\0';
    assert_int_equal(hilo_twilio_sms_parts(big), 3); /* cut at spaces: 3 × 1599, the blanks dropped */
    big[4800] = 'a';
    big[4801] = '\0';
    assert_int_equal(hilo_twilio_sms_parts(big), 4); /* one character more: a fourth part */
    memset(big, ' ', 2000);
    big[2000] = '\0';
    assert_int_equal(hilo_twilio_sms_parts(big), 0);
    free(big);
}

static void test_build_call(void **state) {
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = "ob-3";
    ob.debtor_id = "D-1001";
    ob.to = "+14158675309";
    hilo_provider_request_t req;
    hilo_provider_error_t e;
    hilo_twilio_account_t svc = ACCT;
    svc.messaging_service_sid = "MG9"; /* not for calls */
    svc.status_callback = "https://hilo.example.com/webhooks/twilio/voice/status";
    assert_int_equal(hilo_twilio_build_call(&svc, &ob, "<Response><Say>Hola</Say></Response>", &req, &e), HILO_OK);
    assert_string_equal(req.url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Calls.json");
    char err[64];
    hilo_form_t *f = hilo_form_parse(req.body, req.body_len, err, sizeof err);
    assert_string_equal(hilo_form_get(f, "To"), "+14158675309");
    assert_string_equal(hilo_form_get(f, "From"), "+18005551212");
    assert_string_equal(hilo_form_get(f, "Twiml"), "<Response><Say>Hola</Say></Response>");
    assert_string_equal(hilo_form_get(f, "StatusCallback"),
                        "https://hilo.example.com/webhooks/twilio/voice/status?ob=ob-3&d=D-1001");
    assert_string_equal(hilo_form_get(f, "MachineDetection"), "Enable");
    assert_non_null(strstr(req.body, "StatusCallbackEvent=initiated&StatusCallbackEvent=ringing"
                                     "&StatusCallbackEvent=answered&StatusCallbackEvent=completed"));
    hilo_form_destroy(&f);
    hilo_provider_request_clear(&req);
}

/* A placed call's outcomes as delivery reports (docs/providers.md, "Placed calls"). */
static void test_call_status(void **state) {
    static const struct {
        const char *status, *answered_by;
        int state;
        const char *code;
    } cases[] = {
        {"in-progress", "human", HILO_DELIVERY_DELIVERED, ""},
        {"completed", "unknown", HILO_DELIVERY_DELIVERED, ""},
        {"in-progress", "machine_end_beep", HILO_DELIVERY_DELIVERED, "machine"},
        {"completed", "machine_start", HILO_DELIVERY_DELIVERED, "machine"},
        {"completed", "fax", HILO_DELIVERY_DELIVERED, "fax"},
        {"busy", "", HILO_DELIVERY_FAILED, "busy"},
        {"no-answer", "", HILO_DELIVERY_FAILED, "no-answer"},
        {"failed", "", HILO_DELIVERY_FAILED, "failed"},
        {"canceled", "", HILO_DELIVERY_FAILED, "canceled"},
    };
    hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
    hilo_provider_error_t e;
    hilo_form_t *q = form("ob=ob-3&d=D-1001");
    for (size_t i = 0; i < HILO_ARRAY_LEN(cases); i++) {
        char body[240];
        snprintf(body, sizeof body, "CallSid=CA9&From=%%2B18005551212&To=%%2B14158675309&CallStatus=%s&AnsweredBy=%s"
                 "&Direction=outbound-api", cases[i].status, cases[i].answered_by);
        hilo_form_t *f = form(body);
        assert_int_equal(hilo_twilio_call_status(f, q, &envs, &e), HILO_OK);
        assert_int_equal(envs.count, 1);
        hilo_envelope_t *env = envs.items[0];
        char id[64];
        snprintf(id, sizeof id, "CA9:%s", cases[i].status);
        assert_string_equal(env->provider_message_id, id);
        assert_int_equal(env->channel, HILO_CHANNEL_VOICE);
        assert_string_equal(env->from, "+14158675309");
        assert_int_equal(env->delivery->state, cases[i].state);
        assert_string_equal(env->delivery->outbound_id, "ob-3");
        assert_string_equal(env->delivery->debtor_id, "D-1001");
        assert_string_equal(env->delivery->provider_message_id, "CA9");
        assert_string_equal(env->delivery->error_code, cases[i].code);
        hilo_provider_envs_clear(&envs);
        hilo_form_destroy(&f);
    }
    /* Progress without an outcome: nothing to report. */
    const char *quiet[] = {"queued", "initiated", "ringing"};
    for (size_t i = 0; i < HILO_ARRAY_LEN(quiet); i++) {
        char body[120];
        snprintf(body, sizeof body, "CallSid=CA9&CallStatus=%s", quiet[i]);
        hilo_form_t *f = form(body);
        assert_int_equal(hilo_twilio_call_status(f, q, &envs, &e), HILO_OK);
        assert_int_equal(envs.count, 0);
        hilo_form_destroy(&f);
    }
    hilo_form_t *f = form("CallSid=CA9&CallStatus=failed&ErrorCode=13224");
    assert_int_equal(hilo_twilio_call_status(f, q, &envs, &e), HILO_OK);
    assert_string_equal(envs.items[0]->delivery->error_message, "Twilio error 13224");
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&f);
    hilo_form_destroy(&q);
    f = form("CallSid=CA9&CallStatus=busy");
    q = form("ob=&d=D1");
    expect_fail(hilo_twilio_call_status(f, q, &envs, &e), &e, "bad_query", &envs);
    hilo_form_destroy(&q);
    hilo_form_destroy(&f);
    f = form("CallStatus=busy");
    expect_fail(hilo_twilio_call_status(f, NULL, &envs, &e), &e, "missing_field", &envs);
    hilo_form_destroy(&f);
}

static void test_send_results(void **state) {
    const char *ok = "{\"account_sid\":\"AC123\",\"api_version\":\"2010-04-01\",\"body\":\"x\",\"sid\":"
                     "\"SM1f0e8ae6ade43cb3c0ce4525424e404f\",\"status\":\"queued\",\"error_code\":null}";
    hilo_provider_result_t r;
    hilo_twilio_parse_send_result(201, ok, strlen(ok), &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_SENT);
    assert_string_equal(r.provider_message_id, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
    const char *bad_to = "{\"code\":21211,\"message\":\"The 'To' number +1555 is not a valid phone number.\","
                         "\"more_info\":\"https://www.twilio.com/docs/errors/21211\",\"status\":400}";
    hilo_twilio_parse_send_result(400, bad_to, strlen(bad_to), &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_FINAL);
    assert_string_equal(r.error_code, "21211");
    assert_string_equal(r.error_message, "The 'To' number +1555 is not a valid phone number.");
    const char *stop = "{\"code\":21610,\"message\":\"Attempt to send to unsubscribed recipient\",\"status\":400}";
    hilo_twilio_parse_send_result(400, stop, strlen(stop), &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_FINAL);
    const char *busy = "{\"code\":20429,\"message\":\"Too Many Requests\",\"status\":429}";
    hilo_twilio_parse_send_result(429, busy, strlen(busy), &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_RETRY);
    assert_string_equal(r.error_code, "20429");
    hilo_twilio_parse_send_result(400, busy, strlen(busy), &r); /* the code alone is enough */
    assert_int_equal(r.outcome, HILO_PROVIDER_RETRY);
    hilo_twilio_parse_send_result(502, "Bad Gateway", 11, &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_RETRY);
    assert_string_equal(r.error_code, "http_502");
    hilo_twilio_parse_send_result(401, "", 0, &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_FINAL);
    assert_string_equal(r.error_code, "http_401");
    hilo_twilio_parse_send_result(200, "not json", 8, &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_SENT);
    assert_string_equal(r.provider_message_id, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sms_inbound),
        cmocka_unit_test(test_mms_inbound),
        cmocka_unit_test(test_sms_inbound_errors),
        cmocka_unit_test(test_sms_status),
        cmocka_unit_test(test_voice_start_gather_end),
        cmocka_unit_test(test_sms_chars_and_split),
        cmocka_unit_test(test_build_sms),
        cmocka_unit_test(test_build_sms_1600),
        cmocka_unit_test(test_sms_parts_callbacks),
        cmocka_unit_test(test_build_call),
        cmocka_unit_test(test_call_status),
        cmocka_unit_test(test_send_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
