/* test_whatsapp.c — Cloud API fixtures → envelopes; outbound → request bodies compared with the
 * fixtures; send results; the verification handshake; malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/whatsapp.h"
#include "testutil.h"

static hilo_whatsapp_webhook_t parse_fixture_ok(const char *name) {
    size_t len;
    char *body = fixture(name, &len);
    hilo_whatsapp_webhook_t w;
    memset(&w, 0, sizeof w);
    int rc = hilo_whatsapp_parse_webhook(body, len, &w);
    if (rc != HILO_OK) fail_msg("%s: %s", name, w.err);
    free(body);
    return w;
}

static int parse_str(const char *body, hilo_whatsapp_webhook_t *w) {
    memset(w, 0, sizeof *w);
    return hilo_whatsapp_parse_webhook(body, strlen(body), w);
}

/* ---- inbound messages ------------------------------------------------------------------------ */

static void check_inbound_text(const char *name) {
    hilo_whatsapp_webhook_t w = parse_fixture_ok(name);
    assert_int_equal(w.envs.count, 1);
    assert_int_equal(w.n_notes, 0);
    hilo_envelope_t *e = w.envs.items[0];
    assert_int_equal(e->channel, HILO_CHANNEL_WHATSAPP);
    assert_int_equal(e->seq, 0);
    assert_string_equal(e->provider_message_id, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
    assert_string_equal(e->from, "16505551234");
    assert_string_equal(e->to, "15550783881");
    assert_int_equal(e->sent_at_ms, 1749416383000LL);
    assert_string_equal(e->contact_name, "Sheena Nelson");
    assert_string_equal(e->text, "Does it come in another color?");
    assert_null(e->button);
    assert_null(e->delivery);
    assert_null(e->voice);
    assert_int_equal(e->n_media, 0);
    assert_false(e->wants_reply);
    /* The envelope is a valid protobuf message: it packs, and its strings are UTF-8. */
    const char *field = NULL;
    assert_true(hilo_frame_strings_valid(&e->base, &field));
    hilo_whatsapp_webhook_clear(&w);
}

static void test_inbound_text(void **state) {
    check_inbound_text("wa_inbound_text.json");
    check_inbound_text("wa_inbound_text.min.json");
}

static void test_inbound_button_reply(void **state) {
    hilo_whatsapp_webhook_t w = parse_fixture_ok("wa_inbound_interactive_button_reply.json");
    assert_int_equal(w.envs.count, 1);
    hilo_envelope_t *e = w.envs.items[0];
    assert_string_equal(e->provider_message_id, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQyOEJCNkI1RjQ4NkI0MUY3NkQ4RQA=");
    assert_string_equal(e->from, "16505551234");
    assert_string_equal(e->to, "15550783881");
    assert_int_equal(e->sent_at_ms, 1749416400000LL);
    assert_string_equal(e->contact_name, "Sheena Nelson");
    assert_string_equal(e->text, "");
    assert_non_null(e->button);
    assert_string_equal(e->button->payload, "cancel-button");
    assert_string_equal(e->button->title, "Cancel");
    hilo_whatsapp_webhook_clear(&w);
}

static void test_inbound_template_quick_reply(void **state) {
    hilo_whatsapp_webhook_t w = parse_fixture_ok("wa_inbound_template_quick_reply_button.json");
    assert_int_equal(w.envs.count, 1);
    hilo_envelope_t *e = w.envs.items[0];
    assert_string_equal(e->provider_message_id, "wamid.xsidjw");
    assert_string_equal(e->from, "972987654321");
    assert_string_equal(e->to, "972123456789");
    assert_int_equal(e->sent_at_ms, 1698269027000LL);
    assert_string_equal(e->contact_name, "Test Name");
    assert_non_null(e->button);
    assert_string_equal(e->button->payload, "callback_data");
    assert_string_equal(e->button->title, "title");
    hilo_whatsapp_webhook_clear(&w);
}

/* One payload, two entries, several changes: every message and status comes out, in order. */
static const char *BATCH =
    "{\"object\":\"whatsapp_business_account\",\"entry\":["
    "{\"id\":\"1\",\"changes\":["
    " {\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
    "  \"metadata\":{\"phone_number_id\":\"106540352242922\"},"
    "  \"contacts\":[{\"profile\":{\"name\":\"Ana\"},\"wa_id\":\"5215512345678\"},"
    "                {\"profile\":{\"name\":\"Luis\"},\"wa_id\":\"5215587654321\"}],"
    "  \"messages\":["
    "   {\"from\":\"5215512345678\",\"id\":\"wamid.A\",\"timestamp\":\"1700000000\",\"type\":\"image\","
    "    \"image\":{\"id\":\"MEDIA1\",\"mime_type\":\"image/jpeg\",\"sha256\":\"x\",\"caption\":\"mi recibo\"}},"
    "   {\"from\":\"5215587654321\",\"id\":\"wamid.B\",\"timestamp\":\"1700000001\",\"type\":\"document\","
    "    \"document\":{\"id\":\"MEDIA2\",\"mime_type\":\"application/pdf\",\"filename\":\"pago.pdf\"}},"
    "   {\"from\":\"5215512345678\",\"id\":\"wamid.C\",\"timestamp\":\"1700000002\",\"type\":\"interactive\","
    "    \"interactive\":{\"type\":\"list_reply\",\"list_reply\":{\"id\":\"plan-3\",\"title\":\"3 pagos\","
    "    \"description\":\"x\"}}},"
    "   {\"from\":\"5215512345678\",\"id\":\"wamid.D\",\"timestamp\":\"1700000003\",\"type\":\"location\","
    "    \"location\":{\"latitude\":19.4,\"longitude\":-99.1}}"
    "  ]}},"
    " {\"field\":\"account_update\",\"value\":{\"event\":\"x\"}},"
    " {\"field\":\"messages\",\"value\":{\"metadata\":{\"display_phone_number\":\"15550783881\","
    "  \"phone_number_id\":\"106540352242922\"},"
    "  \"statuses\":[{\"id\":\"wamid.OUT1\",\"status\":\"delivered\",\"timestamp\":\"1700000004\","
    "   \"recipient_id\":\"5215512345678\",\"biz_opaque_callback_data\":\"ob-77\"},"
    "   {\"id\":\"wamid.OUT2\",\"status\":\"deleted\",\"timestamp\":\"1700000005\",\"recipient_id\":\"1\"}]}}"
    "]},"
    "{\"id\":\"2\",\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"999\"},"
    "  \"messages\":[{\"from\":\"447700900123\",\"id\":\"wamid.E\",\"timestamp\":\"1700000006\",\"type\":\"audio\","
    "   \"audio\":{\"id\":\"MEDIA3\",\"mime_type\":\"audio/ogg; codecs=opus\",\"voice\":true}},"
    "   {\"from\":\"447700900123\",\"id\":\"wamid.F\",\"timestamp\":\"1700000007\",\"type\":\"video\","
    "   \"video\":{\"id\":\"MEDIA4\",\"mime_type\":\"video/mp4\"}},"
    "   {\"from\":\"447700900123\",\"id\":\"wamid.G\",\"timestamp\":\"1700000008\",\"type\":\"sticker\","
    "   \"sticker\":{\"id\":\"MEDIA5\",\"mime_type\":\"image/webp\",\"animated\":false}},"
    "   {\"from\":\"447700900123\",\"id\":\"wamid.H\",\"timestamp\":\"1700000009\",\"type\":\"interactive\","
    "   \"interactive\":{\"type\":\"nfm_reply\",\"nfm_reply\":{}}},"
    "   {\"from\":\"447700900123\",\"id\":\"wamid.I\",\"timestamp\":\"1700000010\",\"type\":\"some_future_type\"}"
    "  ]}}]}]}";

static void test_inbound_batch_every_type(void **state) {
    hilo_whatsapp_webhook_t w;
    assert_int_equal(parse_str(BATCH, &w), HILO_OK);
    assert_int_equal(w.envs.count, 10);
    assert_int_equal(w.n_ignored, 1);
    assert_int_equal(w.n_notes, 1); /* the "deleted" status */
    assert_string_equal(w.notes[0].message, "deleted");
    hilo_envelope_t **e = w.envs.items;

    assert_string_equal(e[0]->provider_message_id, "wamid.A");
    assert_string_equal(e[0]->to, "106540352242922"); /* no display number: phone_number_id */
    assert_string_equal(e[0]->contact_name, "Ana");
    assert_int_equal(e[0]->n_media, 1);
    assert_string_equal(e[0]->media[0]->id, "MEDIA1");
    assert_string_equal(e[0]->media[0]->mime_type, "image/jpeg");
    assert_string_equal(e[0]->media[0]->caption, "mi recibo");
    assert_string_equal(e[0]->media[0]->filename, "");

    assert_string_equal(e[1]->contact_name, "Luis"); /* matched by wa_id, not position */
    assert_string_equal(e[1]->media[0]->filename, "pago.pdf");
    assert_string_equal(e[1]->media[0]->mime_type, "application/pdf");

    assert_string_equal(e[2]->button->payload, "plan-3");
    assert_string_equal(e[2]->button->title, "3 pagos");

    assert_string_equal(e[3]->text, "[unsupported: location]");
    assert_int_equal(e[3]->sent_at_ms, 1700000003000LL);

    assert_string_equal(e[4]->provider_message_id, "wamid.OUT1:delivered");
    assert_string_equal(e[4]->to, "15550783881");
    assert_string_equal(e[4]->from, "5215512345678");
    assert_non_null(e[4]->delivery);
    assert_int_equal(e[4]->delivery->state, HILO_DELIVERY_DELIVERED);
    assert_string_equal(e[4]->delivery->provider_message_id, "wamid.OUT1");
    assert_string_equal(e[4]->delivery->outbound_id, "ob-77");

    assert_string_equal(e[5]->to, "999");
    assert_string_equal(e[5]->contact_name, ""); /* no contacts in that change */
    assert_string_equal(e[5]->media[0]->mime_type, "audio/ogg; codecs=opus");
    assert_string_equal(e[6]->media[0]->id, "MEDIA4");
    assert_string_equal(e[7]->media[0]->mime_type, "image/webp");
    assert_string_equal(e[8]->text, "[unsupported: interactive.nfm_reply]");
    assert_string_equal(e[9]->text, "[unsupported: some_future_type]");

    /* take() hands one envelope over; the rest are freed by clear() */
    hilo_envelope_t *taken = hilo_provider_envs_take(&w.envs, 0);
    assert_string_equal(taken->provider_message_id, "wamid.A");
    assert_int_equal(w.envs.count, 9);
    hilo_provider_envelope_free(&taken);
    assert_null(taken);
    hilo_whatsapp_webhook_clear(&w);
    assert_int_equal(w.envs.count, 0);
}

/* ---- statuses and errors ---------------------------------------------------------------------- */

static void check_status(const char *name, int state, int64_t ts) {
    hilo_whatsapp_webhook_t w = parse_fixture_ok(name);
    assert_int_equal(w.envs.count, 1);
    hilo_envelope_t *e = w.envs.items[0];
    assert_non_null(e->delivery);
    assert_int_equal(e->delivery->state, state);
    char want[64];
    snprintf(want, sizeof want, "wamid.xyzxyz:%s", hilo_delivery_state_name(state));
    assert_string_equal(e->provider_message_id, want);
    assert_string_equal(e->delivery->provider_message_id, "wamid.xyzxyz");
    assert_string_equal(e->delivery->outbound_id, "");
    assert_string_equal(e->from, "972987654321");
    assert_string_equal(e->to, "972123456789");
    assert_int_equal(e->sent_at_ms, ts);
    assert_string_equal(e->text, "");
    if (state == HILO_DELIVERY_FAILED) {
        assert_string_equal(e->delivery->error_code, "130472");
        assert_string_equal(e->delivery->error_message,
                            "User's number is part of an experiment: Failed to send message because this user's "
                            "phone number is part of an experiment");
    } else {
        assert_string_equal(e->delivery->error_code, "");
        assert_string_equal(e->delivery->error_message, "");
    }
    hilo_whatsapp_webhook_clear(&w);
}

static void test_statuses(void **state) {
    check_status("wa_status_sent.json", HILO_DELIVERY_SENT, 1698266945000LL);
    check_status("wa_status_delivered.json", HILO_DELIVERY_DELIVERED, 1698266945000LL);
    check_status("wa_status_read.json", HILO_DELIVERY_READ, 1689380458000LL);
    check_status("wa_status_failed.json", HILO_DELIVERY_FAILED, 1689380458000LL);
}

static void test_webhook_errors_are_notes(void **state) {
    hilo_whatsapp_webhook_t w = parse_fixture_ok("wa_webhook_errors_rate_limit.json");
    assert_int_equal(w.envs.count, 0);
    assert_int_equal(w.n_notes, 1);
    assert_int_equal(w.notes[0].code, 130429);
    assert_string_equal(w.notes[0].title, "Rate limit hit");
    assert_string_equal(w.notes[0].message,
                        "Rate limit hit: Message failed to send because there were too many messages sent from "
                        "this phone number in a short period of time");
    hilo_whatsapp_webhook_clear(&w);
}

/* ---- malformed input ------------------------------------------------------------------------- */

static void expect_error(const char *body, size_t len, const char *needle) {
    hilo_whatsapp_webhook_t w;
    memset(&w, 0, sizeof w);
    assert_int_equal(hilo_whatsapp_parse_webhook(body, len, &w), HILO_ERR);
    if (!strstr(w.err, needle)) fail_msg("error \"%s\" lacks \"%s\"", w.err, needle);
    assert_int_equal(w.envs.count, 0);
    hilo_whatsapp_webhook_clear(&w);
}

/* The message's time, as Meta sends it (a string of Unix seconds) or as a number; anything out
 * of range is "unknown" (0), never an overflow. */
static void test_timestamps(void **state) {
    (void)state;
    static const struct {
        const char *json;
        long long want_ms;
    } cases[] = {
        {"\"1700000000\"", 1700000000000LL}, {"1700000000", 1700000000000LL},
        {"\"-5\"", 0},   {"-5", 0},
        {"-9223372036854775808", 0}, {"9223372036854775807", 0},
        {"\"99999999999999999999\"", 0}, {"\"17e8\"", 0}, {"1.7e9", 0}, {"null", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
                 "\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"1065\"},"
                 "\"messages\":[{\"from\":\"5215512345678\",\"id\":\"wamid.T\",\"timestamp\":%s,"
                 "\"type\":\"text\",\"text\":{\"body\":\"hola\"}}]}}]}]}",
                 cases[i].json);
        hilo_whatsapp_webhook_t w;
        assert_int_equal(parse_str(body, &w), HILO_OK);
        assert_int_equal(w.envs.count, 1);
        if (w.envs.items[0]->sent_at_ms != cases[i].want_ms)
            fail_msg("timestamp %s: %lld ms, want %lld", cases[i].json, (long long)w.envs.items[0]->sent_at_ms,
                     cases[i].want_ms);
        hilo_whatsapp_webhook_clear(&w);
    }
}

static void test_malformed(void **state) {
    expect_error("", 0, "bad JSON");
    expect_error("{\"object\":", 10, "bad JSON");
    expect_error("[1,2]", 5, "whatsapp_business_account");
    expect_error("{\"object\":\"page\",\"entry\":[]}", 28, "whatsapp_business_account");
    expect_error("{\"object\":\"whatsapp_business_account\"}", 38, "entry");
    const char *no_changes = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\"}]}";
    expect_error(no_changes, strlen(no_changes), "changes");
    const char *no_id = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":\"messages\","
                        "\"value\":{\"metadata\":{\"phone_number_id\":\"1\"},\"messages\":[{\"from\":\"1\","
                        "\"type\":\"text\",\"text\":{\"body\":\"x\"}}]}}]}]}";
    expect_error(no_id, strlen(no_id), "without id");
    const char *no_from = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":\"messages\","
                          "\"value\":{\"metadata\":{\"phone_number_id\":\"1\"},\"messages\":[{\"id\":\"w1\","
                          "\"type\":\"text\"}]}}]}]}";
    expect_error(no_from, strlen(no_from), "without from");
    const char *no_meta = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":\"messages\","
                          "\"value\":{\"messages\":[{\"id\":\"w1\",\"from\":\"1\",\"type\":\"text\"}]}}]}]}";
    expect_error(no_meta, strlen(no_meta), "metadata");
    const char *bad_status = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":"
                             "\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"1\"},\"statuses\":"
                             "[{\"id\":\"w1\"}]}}]}]}";
    expect_error(bad_status, strlen(bad_status), "without status");
    /* A good message followed by a bad one: nothing is returned. */
    const char *half = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":\"messages\","
                       "\"value\":{\"metadata\":{\"phone_number_id\":\"1\"},\"messages\":[{\"id\":\"w1\",\"from\":"
                       "\"1\",\"type\":\"text\",\"text\":{\"body\":\"x\"}},{\"id\":\"w2\"}]}}]}]}";
    expect_error(half, strlen(half), "without from");

    /* Invalid UTF-8 (a lone continuation byte, an overlong '/') inside a real fixture body. */
    size_t len;
    char *body = fixture("wa_inbound_text.min.json", &len);
    char *p = strstr(body, "another");
    p[0] = (char)0x80;
    expect_error(body, len, "UTF-8");
    p[0] = (char)0xC0;
    p[1] = (char)0xAF;
    expect_error(body, len, "UTF-8");
    free(body);
    /* A \u0000 escape would cut the C string: jansson refuses it. */
    const char *nul = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":\"messages\","
                      "\"value\":{\"metadata\":{\"phone_number_id\":\"1\"},\"messages\":[{\"id\":\"w1\",\"from\":"
                      "\"1\",\"type\":\"text\",\"text\":{\"body\":\"a\\u0000b\"}}]}}]}]}";
    expect_error(nul, strlen(nul), "bad JSON");
}

/* ---- sending --------------------------------------------------------------------------------- */

static const hilo_whatsapp_account_t ACCOUNT = {
    .api_base = "https://graph.facebook.com",
    .api_version = "v26.0",
    .phone_number_id = "106540352242922",
    .access_token = "<ACCESS_TOKEN>",
    .preview_url = false,
};

static void test_send_text_matches_fixture(void **state) {
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.to = "+16505551234";
    ob.text = "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/";
    hilo_whatsapp_account_t acct = ACCOUNT;
    acct.preview_url = true; /* the fixture asks for a preview */
    hilo_provider_error_t e;
    char *body = hilo_whatsapp_send_body(&acct, &ob, &e);
    assert_non_null(body);
    char *want = fixture("wa_send_text_request_body.json", NULL);
    assert_string_equal(body, want); /* byte for byte, key order included */
    free(body);

    /* The whole request against wa_send_text_request.http. */
    hilo_provider_request_t req;
    assert_int_equal(hilo_whatsapp_build_send(&acct, &ob, &req, &e), HILO_OK);
    char *http = fixture("wa_send_text_request.http", NULL);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, "https://graph.facebook.com/v26.0/106540352242922/messages");
    assert_non_null(strstr(http, "POST /v26.0/106540352242922/messages HTTP/1.1"));
    assert_non_null(strstr(http, "Host: graph.facebook.com"));
    assert_string_equal(req.content_type, "application/json");
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", req.bearer);
    assert_non_null(strstr(http, auth));
    assert_int_equal(req.body_len, strlen(want));
    assert_non_null(strstr(http, req.body));
    hilo_provider_request_clear(&req);
    free(http);
    free(want);

    /* Default: no preview; outbound_id rides along as biz_opaque_callback_data. */
    ob.outbound_id = "ob-123";
    ob.text = "Hola";
    body = hilo_whatsapp_send_body(&ACCOUNT, &ob, &e);
    assert_string_equal(body, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\",\"to\":"
                              "\"+16505551234\",\"type\":\"text\",\"text\":{\"preview_url\":false,\"body\":\"Hola\"},"
                              "\"biz_opaque_callback_data\":\"ob-123\"}");
    free(body);

    /* With the debtor: "<outbound id>|<debtor id>", read back as both by the status parser. */
    ob.debtor_id = "D-42:x";
    body = hilo_whatsapp_send_body(&ACCOUNT, &ob, &e);
    assert_non_null(strstr(body, "\"biz_opaque_callback_data\":\"ob-123|D-42:x\""));
    free(body);
    const char *status = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
                         "\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"9\"},\"statuses\":[{"
                         "\"id\":\"wamid.S\",\"status\":\"read\",\"timestamp\":\"1700000004\",\"recipient_id\":\"1\","
                         "\"biz_opaque_callback_data\":\"ob-123|D-42:x\"}]}}]}]}";
    hilo_whatsapp_webhook_t w = {0};
    assert_int_equal(hilo_whatsapp_parse_webhook(status, strlen(status), &w), HILO_OK);
    assert_int_equal(w.envs.count, 1);
    assert_string_equal(w.envs.items[0]->delivery->outbound_id, "ob-123");
    assert_string_equal(w.envs.items[0]->delivery->debtor_id, "D-42:x");
    hilo_whatsapp_webhook_clear(&w);
}

static void test_send_buttons_match_fixture(void **state) {
    hilo_button_t b1 = HILO_BUTTON_INIT, b2 = HILO_BUTTON_INIT;
    b1.payload = "pay-now";
    b1.title = "Pay now";
    b2.payload = "talk-agent";
    b2.title = "Talk to an agent";
    hilo_button_t *buttons[] = {&b1, &b2};
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.to = "16505551234";
    ob.text = "Your balance of $120.00 is past due. How would you like to proceed?";
    ob.buttons = buttons;
    ob.n_buttons = 2;
    hilo_provider_error_t e;
    char *body = hilo_whatsapp_send_body(&ACCOUNT, &ob, &e);
    assert_non_null(body);
    char *want = fixture("wa_send_interactive_buttons_request_body.json", NULL);
    assert_string_equal(body, want);
    free(want);
    free(body);

    /* payload empty: the title is the id */
    b2.payload = "";
    body = hilo_whatsapp_send_body(&ACCOUNT, &ob, &e);
    assert_non_null(strstr(body, "{\"id\":\"Talk to an agent\",\"title\":\"Talk to an agent\"}"));
    free(body);

    /* 20 characters (multi-byte) fit, 21 do not */
    b2.title = "Hablar con un agente"; /* 20 */
    body = hilo_whatsapp_send_body(&ACCOUNT, &ob, &e);
    assert_non_null(body);
    free(body);
    b2.title = "ñññññññññññññññññññññ"; /* 21 characters, 42 bytes */
    assert_null(hilo_whatsapp_send_body(&ACCOUNT, &ob, &e));
    assert_string_equal(e.code, "too_long");
    b2.title = "";
    assert_null(hilo_whatsapp_send_body(&ACCOUNT, &ob, &e));
    assert_string_equal(e.code, "empty");
    b2.title = "Agent";

    hilo_button_t b3 = HILO_BUTTON_INIT, b4 = HILO_BUTTON_INIT;
    b3.title = "3";
    b4.title = "4";
    hilo_button_t *four[] = {&b1, &b2, &b3, &b4};
    ob.buttons = four;
    ob.n_buttons = 4;
    assert_null(hilo_whatsapp_send_body(&ACCOUNT, &ob, &e));
    assert_string_equal(e.code, "too_many_buttons");
    ob.n_buttons = 3;
    body = hilo_whatsapp_send_body(&ACCOUNT, &ob, &e);
    assert_non_null(body);
    free(body);
    ob.text = "";
    assert_null(hilo_whatsapp_send_body(&ACCOUNT, &ob, &e));
    assert_string_equal(e.code, "empty");
}

static void test_send_template(void **state) {
    char *params[] = {"Ana", "$1,200.00"};
    hilo_template_t t = HILO_TEMPLATE_INIT;
    t.name = "payment_reminder";
    t.parameters = params;
    t.n_parameters = 2;
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.to = "5215512345678";
    ob.text = "ignored when a template is set";
    ob.template_ = &t;
    ob.language = "es-MX";
    hilo_provider_error_t e;
    char *body = hilo_whatsapp_send_body(&ACCOUNT, &ob, &e);
    assert_non_null(body);
    assert_string_equal(body, "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\",\"to\":"
                              "\"5215512345678\",\"type\":\"template\",\"template\":{\"name\":\"payment_reminder\","
                              "\"language\":{\"code\":\"es_MX\"},\"components\":[{\"type\":\"body\",\"parameters\":"
                              "[{\"type\":\"text\",\"text\":\"Ana\"},{\"type\":\"text\",\"text\":\"$1,200.00\"}]}]}}");
    free(body);
    t.language = "en_US"; /* the template's own language wins */
    t.n_parameters = 0;
    body = hilo_whatsapp_send_body(&ACCOUNT, &ob, &e);
    assert_non_null(strstr(body, "\"template\":{\"name\":\"payment_reminder\",\"language\":{\"code\":\"en_US\"}}"));
    free(body);
    t.language = "";
    ob.language = "";
    assert_null(hilo_whatsapp_send_body(&ACCOUNT, &ob, &e));
    assert_string_equal(e.code, "no_language");
}

static void test_send_limits(void **state) {
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    ob.to = "16505551234";
    hilo_provider_error_t e;
    assert_null(hilo_whatsapp_send_body(&ACCOUNT, &ob, &e)); /* nothing to send */
    assert_string_equal(e.code, "empty");
    /* 4096 two-byte characters (8192 bytes) are fine: the limit counts characters */
    char *big = malloc(2 * 4097 + 1);
    for (int i = 0; i < 4096; i++) memcpy(big + 2 * i, "\xC3\xB1", 2);
    big[2 * 4096] = '\0';
    ob.text = big;
    char *body = hilo_whatsapp_send_body(&ACCOUNT, &ob, &e);
    assert_non_null(body);
    free(body);
    memcpy(big + 2 * 4096, "\xC3\xB1", 3);
    assert_null(hilo_whatsapp_send_body(&ACCOUNT, &ob, &e));
    assert_string_equal(e.code, "too_long");
    free(big);
    ob.text = "bad \xff utf8";
    assert_null(hilo_whatsapp_send_body(&ACCOUNT, &ob, &e));
    assert_string_equal(e.code, "invalid_utf8");
    ob.text = "hi";
    ob.to = "";
    assert_null(hilo_whatsapp_send_body(&ACCOUNT, &ob, &e));
    assert_string_equal(e.code, "invalid_address");
}

static void test_send_results(void **state) {
    size_t len;
    char *ok = fixture("wa_send_response_example.json", &len);
    hilo_provider_result_t r;
    hilo_whatsapp_parse_send_result(200, ok, len, &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_SENT);
    assert_string_equal(r.provider_message_id, "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI3MUQ4RUQ3QkJBQTI0NjQ5MzgA");
    free(ok);

    hilo_whatsapp_parse_send_result(200, "{}", 2, &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_SENT);
    assert_string_equal(r.provider_message_id, "");

    const char *window = "{\"error\":{\"message\":\"(#131047) Re-engagement message\",\"type\":\"OAuthException\","
                         "\"code\":131047,\"error_data\":{\"messaging_product\":\"whatsapp\",\"details\":\"More than "
                         "24 hours have passed\"},\"fbtrace_id\":\"Az\"}}";
    hilo_whatsapp_parse_send_result(400, window, strlen(window), &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_FINAL);
    assert_string_equal(r.error_code, "131047");
    assert_string_equal(r.error_message, "(#131047) Re-engagement message: More than 24 hours have passed");

    const char *throttled = "{\"error\":{\"message\":\"(#130429) Rate limit hit\",\"code\":130429}}";
    hilo_whatsapp_parse_send_result(400, throttled, strlen(throttled), &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_RETRY);
    assert_string_equal(r.error_code, "130429");
    hilo_whatsapp_parse_send_result(429, "", 0, &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_RETRY);
    assert_string_equal(r.error_code, "http_429");
    hilo_whatsapp_parse_send_result(503, "<html>oops</html>", 17, &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_RETRY);
    assert_string_equal(r.error_code, "http_503");
    assert_string_equal(r.error_message, "HTTP 503");
    const char *auth = "{\"error\":{\"message\":\"Invalid OAuth access token.\",\"code\":190}}";
    hilo_whatsapp_parse_send_result(401, auth, strlen(auth), &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_FINAL);
    assert_string_equal(r.error_code, "190");
    hilo_whatsapp_parse_send_result(0, NULL, 0, &r);
    assert_int_equal(r.outcome, HILO_PROVIDER_RETRY);
}

/* ---- handshake ------------------------------------------------------------------------------- */

static void test_verify_handshake_fixture(void **state) {
    char *http = fixture("wa_verify_handshake.http", NULL);
    char *q = strstr(http, "GET /webhooks?");
    assert_non_null(q);
    q += strlen("GET /webhooks?");
    size_t qlen = strcspn(q, " ");
    char err[64];
    hilo_form_t *query = hilo_form_parse(q, qlen, err, sizeof err);
    assert_non_null(query);
    const char *challenge = hilo_whatsapp_verify(query, "meatyhamhock");
    assert_non_null(challenge);
    assert_string_equal(challenge, "1158201444");
    assert_non_null(strstr(http, "\n1158201444\n")); /* what the fixture expects in the response */
    assert_null(hilo_whatsapp_verify(query, "meatyhamhocK"));
    assert_null(hilo_whatsapp_verify(query, "meatyhamhoc"));
    assert_null(hilo_whatsapp_verify(query, ""));
    hilo_form_destroy(&query);

    const char *unsub = "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meatyhamhock";
    query = hilo_form_parse(unsub, strlen(unsub), err, sizeof err);
    assert_null(hilo_whatsapp_verify(query, "meatyhamhock"));
    hilo_form_destroy(&query);
    const char *nochallenge = "hub.mode=subscribe&hub.verify_token=meatyhamhock";
    query = hilo_form_parse(nochallenge, strlen(nochallenge), err, sizeof err);
    assert_null(hilo_whatsapp_verify(query, "meatyhamhock"));
    hilo_form_destroy(&query);
    const char *evil = "hub.mode=subscribe&hub.challenge=%3Cscript%3E%0A&hub.verify_token=meatyhamhock";
    query = hilo_form_parse(evil, strlen(evil), err, sizeof err);
    assert_null(hilo_whatsapp_verify(query, "meatyhamhock")); /* control characters */
    hilo_form_destroy(&query);
    free(http);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inbound_text),
        cmocka_unit_test(test_inbound_button_reply),
        cmocka_unit_test(test_inbound_template_quick_reply),
        cmocka_unit_test(test_inbound_batch_every_type),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_webhook_errors_are_notes),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_send_text_matches_fixture),
        cmocka_unit_test(test_send_buttons_match_fixture),
        cmocka_unit_test(test_send_template),
        cmocka_unit_test(test_send_limits),
        cmocka_unit_test(test_send_results),
        cmocka_unit_test(test_verify_handshake_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
