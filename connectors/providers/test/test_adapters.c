/* test_adapters.c — the three provider adapters (connectors/{whatsapp,sms,voice}/adapter_*.c)
 * driven through adapter.h without processes or sockets: configuration, signature refusals
 * (WhatsApp 401, Twilio 403, no envelope submitted), envelopes and answers for the fixture
 * payloads, send plans, send results and voice TwiML replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hilo/adapter.h"
#include "hilo/form.h"
#include "hilo/signature.h"
#include "testutil.h"

extern const hilo_adapter_ops_t hilo_whatsapp_adapter, hilo_sms_adapter, hilo_voice_adapter;

static const char *CONFIG = "[whatsapp]\napp_secret = s3cret\nverify_token = meatyhamhock\naccess_token = tok\n"
                            "phone_number_id = 106540352242922\n"
                            "[sms]\naccount_sid = AC123\nauth_token = 12345\nfrom = +18005551212\n"
                            "public_url = https://hilo.example.com/\nmax_parts = 2\n"
                            "[voice]\naccount_sid = AC123\nauth_token = 12345\nfrom = +18005551212\n"
                            "public_url = https://hilo.example.com\nfallback_queue = cobranza\n"
                            "[broken]\naccount_sid = AC1\nauth_token = t\npublic_url = ftp://x\nfrom = +1\n"
                            "[query]\naccount_sid = AC1\npublic_url = https://hilo.example.com/?tenant=a\n"
                            "auth_token = t\nfrom = +1\n";

static hilo_config_t *config(void) {
    char path[] = "/tmp/hilo-adapters-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, CONFIG, strlen(CONFIG)), (ssize_t)strlen(CONFIG));
    close(fd);
    char err[256];
    hilo_config_t *cfg = hilo_config_load(path, err, sizeof err);
    unlink(path);
    if (!cfg) fail_msg("%s", err);
    return cfg;
}

static void setup_adapter(hilo_adapter_t *a, const hilo_adapter_ops_t *ops, hilo_config_t *cfg) {
    memset(a, 0, sizeof *a);
    a->ops = ops;
    a->section = ops->name;
    char err[256] = "";
    if (hilo_adapter_configure(a, cfg, ops->name, err, sizeof err) != HILO_OK) fail_msg("configure: %s", err);
}

static hilo_http_request_t request(int route, unsigned method, const char *path, const char *query, const char *body,
                                   size_t len) {
    static char uri[1024];
    snprintf(uri, sizeof uri, "%s%s%s", path, *query ? "?" : "", query);
    hilo_http_request_t r = {
        .route = route, .method = method, .path = path, .query = query, .uri = uri,
        .body = (const uint8_t *)body, .body_len = len, .content_type = "", .host = "",
        .x_hub_signature_256 = "", .x_twilio_signature = "", .remote_addr = "127.0.0.1",
    };
    return r;
}

static hilo_envelope_t *envelope(const hilo_webhook_result_t *out, size_t i) {
    assert_true(i < out->n_envelopes);
    hilo_envelope_t *e = hilo__link__v1__envelope__unpack(NULL, out->env_len[i], out->env_buf[i]);
    assert_non_null(e);
    return e;
}

/* ---- WhatsApp ------------------------------------------------------------------------------------ */

static void test_whatsapp(void **state) {
    hilo_config_t *cfg = config();
    hilo_adapter_t a;
    setup_adapter(&a, &hilo_whatsapp_adapter, cfg);
    assert_int_equal(hilo_whatsapp_adapter.default_http_port, 8081);
    assert_string_equal(hilo_whatsapp_adapter.routes[0].path, "/webhooks/whatsapp");
    hilo_webhook_result_t out;

    /* GET handshake, from the fixture's values. */
    hilo_http_request_t req = request(0, HILO_HTTP_GET, "/webhooks/whatsapp",
                                      "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock", "", 0);
    hilo_webhook_result_init(&out);
    assert_int_equal(hilo_adapter_handle_webhook(&a, &req, &out), HILO_OK);
    assert_int_equal(out.answer, HILO_ANSWER_NOW);
    assert_int_equal(out.response.status, 200);
    assert_string_equal(out.response.body, "1158201444");
    hilo_webhook_result_release(&out);
    req.query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong";
    hilo_webhook_result_init(&out);
    hilo_adapter_handle_webhook(&a, &req, &out);
    assert_int_equal(out.response.status, 403);
    hilo_webhook_result_release(&out);

    /* POST: bad or missing signature → 401, nothing submitted. */
    size_t len;
    char *body = fixture("wa_inbound_text.min.json", &len);
    char sig[HILO_SIGNATURE_META_LEN];
    hilo_signature_meta_compute("s3cret", body, len, sig);
    req = request(0, HILO_HTTP_POST, "/webhooks/whatsapp", "", body, len);
    const char *bad[] = {"", "sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221"};
    for (int i = 0; i < 2; i++) {
        req.x_hub_signature_256 = bad[i];
        hilo_webhook_result_init(&out);
        assert_int_equal(hilo_adapter_handle_webhook(&a, &req, &out), HILO_OK);
        assert_int_equal(out.answer, HILO_ANSWER_NOW);
        assert_int_equal(out.response.status, 401);
        assert_int_equal(out.n_envelopes, 0);
        hilo_webhook_result_release(&out);
    }
    req.x_hub_signature_256 = sig;
    hilo_webhook_result_init(&out);
    assert_int_equal(hilo_adapter_handle_webhook(&a, &req, &out), HILO_OK);
    assert_int_equal(out.answer, HILO_ANSWER_AFTER_ACK);
    assert_int_equal(out.response.status, 200);
    assert_int_equal(out.n_envelopes, 1);
    hilo_envelope_t *e = envelope(&out, 0);
    assert_string_equal(e->text, "Does it come in another color?");
    assert_int_equal(e->seq, 0);
    hilo__link__v1__envelope__free_unpacked(e, NULL);
    hilo_webhook_result_release(&out);
    free(body);

    /* value.errors only: answered now, nothing submitted. Signed garbage: 400. */
    body = fixture("wa_webhook_errors_rate_limit.json", &len);
    hilo_signature_meta_compute("s3cret", body, len, sig);
    req = request(0, HILO_HTTP_POST, "/webhooks/whatsapp", "", body, len);
    req.x_hub_signature_256 = sig;
    hilo_webhook_result_init(&out);
    hilo_adapter_handle_webhook(&a, &req, &out);
    assert_int_equal(out.answer, HILO_ANSWER_NOW);
    assert_int_equal(out.response.status, 200);
    assert_int_equal(out.n_envelopes, 0);
    hilo_webhook_result_release(&out);
    free(body);
    const char *garbage = "{\"object\":\"whatsapp_business_account\"";
    hilo_signature_meta_compute("s3cret", garbage, strlen(garbage), sig);
    req = request(0, HILO_HTTP_POST, "/webhooks/whatsapp", "", garbage, strlen(garbage));
    req.x_hub_signature_256 = sig;
    hilo_webhook_result_init(&out);
    hilo_adapter_handle_webhook(&a, &req, &out);
    assert_int_equal(out.response.status, 400);
    assert_int_equal(out.n_envelopes, 0);
    hilo_webhook_result_release(&out);

    /* Send plan: one call, Bearer token, JSON body; refusals become plan refusals. */
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = "ob-1";
    ob.to = "+16505551234";
    ob.text = "Hola";
    hilo_send_plan_t plan;
    hilo_send_plan_init(&plan);
    assert_int_equal(hilo_adapter_build_send(&a, &ob, &plan), HILO_OK);
    assert_false(plan.refused);
    assert_int_equal(plan.n_calls, 1);
    assert_string_equal(plan.calls[0].url, "https://graph.facebook.com/v26.0/106540352242922/messages");
    assert_string_equal(plan.calls[0].headers[0], "Authorization: Bearer tok");
    assert_string_equal(plan.calls[0].headers[1], "Content-Type: application/json");
    assert_non_null(strstr(plan.calls[0].body, "\"biz_opaque_callback_data\":\"ob-1\""));
    assert_string_equal(plan.rate_key, "106540352242922");
    hilo_send_plan_release(&plan);
    ob.text = "";
    hilo_send_plan_init(&plan);
    assert_int_equal(hilo_adapter_build_send(&a, &ob, &plan), HILO_OK);
    assert_true(plan.refused);
    assert_string_equal(plan.error_code, "empty");
    hilo_send_plan_release(&plan);

    hilo_send_result_t res;
    char *ok = fixture("wa_send_response_example.json", &len);
    hilo_adapter_parse_send_result(&a, 200, ok, len, &res);
    assert_true(res.ok);
    assert_string_equal(res.provider_message_id, "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3MUQ4RUQ3QkJBQTI0NjQ5MzgA");
    free(ok);
    hilo_adapter_parse_send_result(&a, 429, "", 0, &res);
    assert_false(res.ok);
    assert_true(res.retryable);
    assert_int_equal(hilo_adapter_render_reply(&a, NULL, NULL, NULL, &(hilo_http_response_t){0}), HILO_ERR); /* no voice */
    hilo_adapter_destroy_state(&a);
    assert_null(a.state);
    hilo_config_destroy(&cfg);
}

/* ---- Twilio helpers ------------------------------------------------------------------------------- */

/* Signs `body` (a urlencoded form) as Twilio would for public URL + uri. */
static void twilio_sign(const hilo_http_request_t *req, char sig[HILO_SIGNATURE_TWILIO_LEN]) {
    char err[64], url[1200];
    hilo_form_t *f = hilo_form_parse((const char *)req->body, req->body_len, err, sizeof err);
    assert_non_null(f);
    snprintf(url, sizeof url, "https://hilo.example.com%s", req->uri);
    hilo_signature_twilio_compute("12345", url, f, sig);
    hilo_form_destroy(&f);
}

/* A Twilio webhook signed with the test's auth token, handed to the adapter; `out` is
 * initialised here and released by the caller. */
static void handle_signed(hilo_adapter_t *a, int route, const char *path, const char *query, const char *body,
                          hilo_webhook_result_t *out) {
    hilo_http_request_t req = request(route, HILO_HTTP_POST, path, query, body, strlen(body));
    char sig[HILO_SIGNATURE_TWILIO_LEN];
    twilio_sign(&req, sig);
    req.x_twilio_signature = sig;
    hilo_webhook_result_init(out);
    assert_int_equal(hilo_adapter_handle_webhook(a, &req, out), HILO_OK);
}

static void expect_403(hilo_adapter_t *a, hilo_http_request_t req) {
    hilo_webhook_result_t out;
    const char *sigs[] = {"", "RSOYDt4T1cUTdK1PDd93/VVr8B8="};
    for (int i = 0; i < 2; i++) {
        req.x_twilio_signature = sigs[i];
        hilo_webhook_result_init(&out);
        assert_int_equal(hilo_adapter_handle_webhook(a, &req, &out), HILO_OK);
        assert_int_equal(out.answer, HILO_ANSWER_NOW);
        assert_int_equal(out.response.status, 403);
        assert_int_equal(out.n_envelopes, 0);
        hilo_webhook_result_release(&out);
    }
}

/* ---- SMS ------------------------------------------------------------------------------------------ */

static void test_sms(void **state) {
    hilo_config_t *cfg = config();
    hilo_adapter_t a;
    setup_adapter(&a, &hilo_sms_adapter, cfg);
    assert_int_equal(hilo_sms_adapter.default_http_port, 8082);
    const char *body = "MessageSid=SM1&From=%2B14158675309&To=%2B18005551212&Body=Hola&NumMedia=0";
    hilo_http_request_t req = request(0, HILO_HTTP_POST, "/webhooks/twilio/sms", "", body, strlen(body));
    expect_403(&a, req);
    char sig[HILO_SIGNATURE_TWILIO_LEN];
    twilio_sign(&req, sig);
    req.x_twilio_signature = sig;
    hilo_webhook_result_t out;
    hilo_webhook_result_init(&out);
    assert_int_equal(hilo_adapter_handle_webhook(&a, &req, &out), HILO_OK);
    assert_int_equal(out.answer, HILO_ANSWER_AFTER_ACK);
    assert_int_equal(out.response.status, 200);
    assert_string_equal(out.response.content_type, "text/xml");
    char *empty = xml_normalize(out.response.body), *want_raw = fixture("twiml_sms_empty_response.xml", NULL);
    char *want = xml_normalize(want_raw);
    assert_string_equal(empty, want);
    free(empty);
    free(want);
    free(want_raw);
    assert_int_equal(out.n_envelopes, 1);
    hilo_envelope_t *e = envelope(&out, 0);
    assert_string_equal(e->provider_message_id, "SM1");
    assert_string_equal(e->text, "Hola");
    hilo__link__v1__envelope__free_unpacked(e, NULL);
    hilo_webhook_result_release(&out);

    /* The status callback: the query (?ob=) is part of the signed URL and names the outbound. */
    const char *st = "MessageSid=SM9&MessageStatus=delivered&To=%2B14158675309&From=%2B18005551212";
    handle_signed(&a, 1, "/webhooks/twilio/sms/status", "ob=ob-7", st, &out);
    assert_int_equal(out.answer, HILO_ANSWER_AFTER_ACK);
    e = envelope(&out, 0);
    assert_string_equal(e->delivery->outbound_id, "ob-7");
    hilo__link__v1__envelope__free_unpacked(e, NULL);
    hilo_webhook_result_release(&out);
    req.query = "ob=ob-8"; /* the same signature over another URL */
    req.uri = "/webhooks/twilio/sms/status?ob=ob-8";
    expect_403(&a, req);
    /* A part's callback names the debtor and the part: it settles without the provider id. */
    handle_signed(&a, 1, "/webhooks/twilio/sms/status", "ob=ob-7&d=D-1001&part=2&parts=2", st, &out);
    assert_int_equal(out.answer, HILO_ANSWER_AFTER_ACK);
    e = envelope(&out, 0);
    assert_string_equal(e->delivery->outbound_id, "ob-7");
    assert_string_equal(e->delivery->debtor_id, "D-1001");
    assert_int_equal(e->delivery->part, 2);
    assert_int_equal(e->delivery->parts, 2);
    hilo__link__v1__envelope__free_unpacked(e, NULL);
    hilo_webhook_result_release(&out);
    handle_signed(&a, 1, "/webhooks/twilio/sms/status", "ob=ob-7&d=D-1001&part=3&parts=2", st, &out);
    assert_int_equal(out.answer, HILO_ANSWER_NOW);
    assert_int_equal(out.response.status, 400);
    assert_int_equal(out.n_envelopes, 0);
    hilo_webhook_result_release(&out);

    /* Send plan: 2000 characters → two calls (max_parts = 2); 4000 → refused. */
    char *text = malloc(4001);
    for (int i = 0; i < 4000; i++) text[i] = i % 10 == 9 ? ' ' : 'a';
    text[2000] = '\0';
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = "ob-2";
    ob.to = "+14158675309";
    ob.text = text;
    hilo_send_plan_t plan;
    hilo_send_plan_init(&plan);
    assert_int_equal(hilo_adapter_build_send(&a, &ob, &plan), HILO_OK);
    assert_false(plan.refused);
    assert_int_equal(plan.n_calls, 2);
    assert_string_equal(plan.calls[1].url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
    assert_string_equal(plan.calls[0].headers[0], "Authorization: Basic QUMxMjM6MTIzNDU="); /* AC123:12345 */
    assert_string_equal(plan.calls[0].headers[1], "Content-Type: application/x-www-form-urlencoded");
    assert_non_null(strstr(plan.calls[0].body, "StatusCallback=https%3A%2F%2Fhilo.example.com%2Fwebhooks%2Ftwilio%2Fsms"
                                               "%2Fstatus%3Fob%3Dob-2%26part%3D1%26parts%3D2"));
    assert_non_null(strstr(plan.calls[1].body, "%2Fstatus%3Fob%3Dob-2%26part%3D2%26parts%3D2"));
    assert_string_equal(plan.rate_key, "+18005551212");
    hilo_send_plan_release(&plan);
    text[2000] = 'a';
    text[4000] = '\0';
    hilo_send_plan_init(&plan);
    assert_int_equal(hilo_adapter_build_send(&a, &ob, &plan), HILO_OK);
    assert_true(plan.refused);
    assert_string_equal(plan.error_code, "too_long");
    assert_int_equal(plan.n_calls, 0);
    hilo_send_plan_release(&plan);
    free(text);

    hilo_send_result_t res;
    const char *err21211 = "{\"code\":21211,\"message\":\"Invalid 'To' Phone Number\",\"status\":400}";
    hilo_adapter_parse_send_result(&a, 400, err21211, strlen(err21211), &res);
    assert_false(res.ok);
    assert_false(res.retryable);
    assert_string_equal(res.error_code, "21211");
    hilo_adapter_destroy_state(&a);

    /* A bad public_url is a configuration error that names the key. */
    memset(&a, 0, sizeof a);
    a.ops = &hilo_sms_adapter;
    char err[256] = "";
    assert_int_equal(hilo_adapter_configure(&a, cfg, "broken", err, sizeof err), HILO_ERR);
    assert_non_null(strstr(hilo_config_error(cfg), ":21: [broken] public_url: must start with https://"));
    hilo_adapter_destroy_state(&a);
    /* A query in public_url: Twilio would sign URLs we never rebuild (every webhook 403). */
    memset(&a, 0, sizeof a);
    a.ops = &hilo_sms_adapter;
    assert_int_equal(hilo_adapter_configure(&a, cfg, "query", err, sizeof err), HILO_ERR);
    assert_non_null(strstr(hilo_config_error(cfg), ":25: [query] public_url: must be a base URL without a query"));
    hilo_adapter_destroy_state(&a);
    hilo_config_destroy(&cfg);
}

/* ---- Voice ---------------------------------------------------------------------------------------- */

static void test_voice(void **state) {
    hilo_config_t *cfg = config();
    hilo_adapter_t a;
    setup_adapter(&a, &hilo_voice_adapter, cfg);
    assert_int_equal(hilo_voice_adapter.default_http_port, 8083);
    const char *call = "CallSid=CA1&From=%2B14158675309&To=%2B18005551212&CallStatus=ringing&Direction=inbound";
    hilo_http_request_t req = request(0, HILO_HTTP_POST, "/webhooks/twilio/voice", "", call, strlen(call));
    expect_403(&a, req);
    char sig[HILO_SIGNATURE_TWILIO_LEN];
    twilio_sign(&req, sig);
    req.x_twilio_signature = sig;
    hilo_webhook_result_t out;
    hilo_webhook_result_init(&out);
    hilo_adapter_handle_webhook(&a, &req, &out);
    assert_int_equal(out.answer, HILO_ANSWER_REPLY);
    assert_int_equal(out.n_envelopes, 1);
    assert_int_equal(out.reply_index, 0);
    hilo_envelope_t *e = envelope(&out, 0);
    assert_string_equal(e->provider_message_id, "CA1:start");
    assert_true(e->wants_reply);
    hilo__link__v1__envelope__free_unpacked(e, NULL);
    hilo_webhook_result_release(&out);

    /* A gather turn: the turn token comes from the signed action URL. */
    const char *g = "CallSid=CA1&From=%2B14158675309&To=%2B18005551212&Digits=2";
    handle_signed(&a, 1, "/webhooks/twilio/voice/gather", "turn=ob-5", g, &out);
    assert_int_equal(out.answer, HILO_ANSWER_REPLY);
    e = envelope(&out, 0);
    assert_string_equal(e->provider_message_id, "CA1:gather:ob-5");
    assert_string_equal(e->voice->digits, "2");
    hilo__link__v1__envelope__free_unpacked(e, NULL);
    hilo_webhook_result_release(&out);
    /* Without a turn: the caller hears the fallback, the router hears nothing. */
    handle_signed(&a, 1, "/webhooks/twilio/voice/gather", "", g, &out);
    assert_int_equal(out.answer, HILO_ANSWER_NOW);
    assert_int_equal(out.response.status, 200);
    assert_non_null(strstr(out.response.body, "<Enqueue>cobranza</Enqueue>"));
    assert_int_equal(out.n_envelopes, 0);
    hilo_webhook_result_release(&out);

    /* A withheld caller id: the fallback at once, nothing for the router, for each kind of
     * webhook of that call (its status only acknowledged). */
    const char *anon[] = {"CallSid=CA2&From=anonymous&To=%2B18005551212&CallStatus=ringing&Direction=inbound",
                          "CallSid=CA2&From=client%3AAnonymous&To=%2B18005551212&Digits=1",
                          "CallSid=CA2&From=RESTRICTED&To=%2B18005551212&CallStatus=completed&CallDuration=3"};
    for (int route = 0; route < 3; route++) {
        static const char *paths[] = {"/webhooks/twilio/voice", "/webhooks/twilio/voice/gather",
                                      "/webhooks/twilio/voice/status"};
        handle_signed(&a, route, paths[route], route == 1 ? "turn=ob-6" : "", anon[route], &out);
        assert_int_equal(out.answer, HILO_ANSWER_NOW);
        assert_int_equal(out.response.status, 200);
        assert_int_equal(out.n_envelopes, 0);
        assert_string_equal(out.why, "withheld_caller_id");
        if (route < 2) assert_non_null(strstr(out.response.body, "<Enqueue>cobranza</Enqueue>"));
        else assert_null(strstr(out.response.body, "Enqueue"));
        hilo_webhook_result_release(&out);
    }

    /* Status: completed → CALL_END after ack. */
    const char *s = "CallSid=CA1&From=%2B14158675309&To=%2B18005551212&CallStatus=completed&CallDuration=12";
    handle_signed(&a, 2, "/webhooks/twilio/voice/status", "", s, &out);
    assert_int_equal(out.answer, HILO_ANSWER_AFTER_ACK);
    e = envelope(&out, 0);
    assert_int_equal(e->voice->duration_s, 12);
    hilo__link__v1__envelope__free_unpacked(e, NULL);
    hilo_webhook_result_release(&out);

    /* render_reply: the Outbound as TwiML; NULL → the fallback. */
    hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
    va.kind = HILO_VOICE_ACTION_SAY_GATHER;
    va.num_digits = 1;
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.outbound_id = "ob-6";
    ob.to = "+14158675309";
    ob.text = "Marque 1";
    ob.language = "es";
    ob.voice = &va;
    ob.reply_to_seq = 42;
    hilo_http_response_t r = {0};
    assert_int_equal(hilo_adapter_render_reply(&a, &ob, NULL, NULL, &r), HILO_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/xml");
    assert_non_null(strstr(r.body, "action=\"https://hilo.example.com/webhooks/twilio/voice/gather?turn=ob-6\""));
    assert_non_null(strstr(r.body, "<Say language=\"es-MX\">Marque 1</Say>"));
    assert_int_equal(hilo_adapter_render_reply(&a, NULL, NULL, NULL, &r), HILO_OK);
    assert_non_null(strstr(r.body, "Lo sentimos"));
    /* The fallback of a later turn of the same call speaks the language the call was last
     * answered in; another call (no history) gets the default language. */
    hilo_voice_event_t ve = HILO_VOICE_EVENT_INIT;
    ve.kind = HILO_VOICE_GATHER;
    ve.call_id = "CA-en";
    hilo_envelope_t turn = HILO_ENVELOPE_INIT;
    turn.voice = &ve;
    turn.seq = 43;
    ob.language = "en";
    ob.text = "Press 1";
    assert_int_equal(hilo_adapter_render_reply(&a, &ob, &turn, NULL, &r), HILO_OK);
    assert_int_equal(hilo_adapter_render_reply(&a, NULL, &turn, NULL, &r), HILO_OK);
    assert_non_null(strstr(r.body, "We are sorry"));
    ve.call_id = "CA-other";
    assert_int_equal(hilo_adapter_render_reply(&a, NULL, &turn, NULL, &r), HILO_OK);
    assert_non_null(strstr(r.body, "Lo sentimos"));
    ob.language = "es";
    ob.text = "Marque 1";
    hilo_http_response_clear(&r);

    /* build_send: a late turn reply is refused; a fresh outbound places a call. */
    hilo_send_plan_t plan;
    hilo_send_plan_init(&plan);
    assert_int_equal(hilo_adapter_build_send(&a, &ob, &plan), HILO_OK);
    assert_true(plan.refused);
    assert_string_equal(plan.error_code, "turn_expired");
    hilo_send_plan_release(&plan);
    ob.reply_to_seq = 0;
    hilo_send_plan_init(&plan);
    assert_int_equal(hilo_adapter_build_send(&a, &ob, &plan), HILO_OK);
    assert_false(plan.refused);
    assert_int_equal(plan.n_calls, 1);
    assert_string_equal(plan.calls[0].url, "https://api.twilio.com/2010-04-01/Accounts/AC123/Calls.json");
    assert_non_null(strstr(plan.calls[0].body, "Twiml=%3C%3Fxml"));
    hilo_send_plan_release(&plan);
    hilo_adapter_destroy_state(&a);
    hilo_config_destroy(&cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whatsapp),
        cmocka_unit_test(test_sms),
        cmocka_unit_test(test_voice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
