/* test_history_item.c — the hand-written history item (router/src/history_item.c) is byte for
 * byte what jansson prints for the same item: the thread reader, the console and the
 * replay's fidelity check all see one format. The reference below builds the item as a
 * jansson tree, the way the router did before the writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hilo/history_item.h"

static void ref_str(json_t *o, const char *k, const char *v) {
    if (v && *v) json_object_set_new(o, k, json_string(v));
}

static char *reference(const hilo_envelope_t *e, const char *from, int64_t recv_ms) {
    static const char *const events[] = {"unknown", "call_start", "gather", "call_end"};
    json_t *o = json_object();
    json_object_set_new(o, "ch", json_string(hilo_channel_name(e->channel)));
    json_object_set_new(o, "dir", json_string("in"));
    json_object_set_new(o, "kind", json_string(e->button  ? "button"
                                               : e->voice ? "voice"
                                               : (!*e->text && e->n_media) ? "media"
                                                                            : "text"));
    ref_str(o, "pmid", e->provider_message_id);
    ref_str(o, "from", from);
    ref_str(o, "to", e->to);
    json_object_set_new(o, "sent_ms", json_integer(e->sent_at_ms));
    json_object_set_new(o, "recv_ms", json_integer(recv_ms));
    ref_str(o, "name", e->contact_name);
    ref_str(o, "text", e->text);
    if (e->n_media) {
        json_t *arr = json_array();
        for (size_t i = 0; i < e->n_media; i++) {
            json_t *mo = json_object();
            ref_str(mo, "id", e->media[i]->id);
            ref_str(mo, "url", e->media[i]->url);
            ref_str(mo, "mime", e->media[i]->mime_type);
            ref_str(mo, "caption", e->media[i]->caption);
            ref_str(mo, "filename", e->media[i]->filename);
            json_array_append_new(arr, mo);
        }
        json_object_set_new(o, "media", arr);
    }
    if (e->button) {
        json_t *b = json_object();
        ref_str(b, "payload", e->button->payload);
        ref_str(b, "title", e->button->title);
        json_object_set_new(o, "button", b);
    }
    if (e->voice) {
        const hilo_voice_event_t *v = e->voice;
        json_t *vo = json_object();
        json_object_set_new(vo, "event", json_string(events[v->kind >= 0 && v->kind <= 3 ? v->kind : 0]));
        ref_str(vo, "call_id", v->call_id);
        ref_str(vo, "digits", v->digits);
        ref_str(vo, "speech", v->speech);
        if (v->confidence > 0) json_object_set_new(vo, "confidence", json_real(v->confidence));
        ref_str(vo, "status", v->call_status);
        if (v->duration_s) json_object_set_new(vo, "duration_s", json_integer(v->duration_s));
        json_object_set_new(o, "voice", vo);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void assert_same(const hilo_envelope_t *e, const char *from) {
    hilo_buf_t b = HILO_BUF_INIT;
    hilo_buf_append(&b, "x", 1); /* appends after what the buffer holds */
    hilo_history_item_inbound(&b, e, from, 1795400000123);
    char *want = reference(e, from, 1795400000123);
    assert_non_null(want);
    assert_string_equal(b.data + 1, want);
    free(want);
    hilo_buf_free(&b);
}

static hilo_envelope_t text_envelope(const char *text) {
    hilo_envelope_t e = HILO__LINK__V1__ENVELOPE__INIT;
    e.channel = HILO_CHANNEL_WHATSAPP;
    e.provider_message_id = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdCRDg5";
    e.to = "15550001111";
    e.sent_at_ms = 1795400000000;
    e.text = (char *)text;
    return e;
}

static void test_text(void **state) {
    (void)state;
    hilo_envelope_t e = text_envelope("hola, ¿cuánto debo?");
    assert_same(&e, "+16505551234");
    e.contact_name = "Ana \"la jefa\" Pérez";
    e.channel = HILO_CHANNEL_SMS;
    assert_same(&e, "+16505551234");
}

/* Every byte that needs an escape, and some that do not (slash, DEL, multi-byte UTF-8). */
static void test_escapes(void **state) {
    (void)state;
    char text[128];
    size_t n = 0;
    for (int c = 1; c < 0x20; c++) text[n++] = (char)c;
    const char *rest = "\"\\/\x7f é ✓ 😀 end";
    memcpy(text + n, rest, strlen(rest) + 1);
    hilo_envelope_t e = text_envelope(text);
    assert_same(&e, "+16505551234");
}

static void test_media_button_voice(void **state) {
    (void)state;
    hilo_media_t m1 = HILO__LINK__V1__MEDIA__INIT, m2 = HILO__LINK__V1__MEDIA__INIT;
    m1.id = "1166";
    m1.mime_type = "image/jpeg";
    m1.caption = "receipt\nJune";
    m2.url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1";
    m2.filename = "a.pdf";
    hilo_media_t *media[2] = {&m1, &m2};
    hilo_envelope_t e = text_envelope("");
    e.n_media = 2;
    e.media = media;
    assert_same(&e, "+16505551234"); /* kind media */
    e.text = "with a caption";
    assert_same(&e, "+16505551234"); /* kind text, media kept */

    hilo_button_t btn = HILO__LINK__V1__BUTTON__INIT;
    btn.payload = "PAY_NOW";
    btn.title = "Pay now";
    hilo_envelope_t b = text_envelope("");
    b.button = &btn;
    assert_same(&b, "+16505551234");

    hilo_voice_event_t v = HILO__LINK__V1__VOICE_EVENT__INIT;
    hilo_envelope_t c = text_envelope("");
    c.channel = HILO_CHANNEL_VOICE;
    c.voice = &v;
    v.kind = HILO_VOICE_CALL_START;
    v.call_id = "CA5f1e";
    assert_same(&c, "+16505551234");
    const float confidences[] = {0.9f, 1.0f, 1e-5f, 0.123456789f, 2.5e-7f, 0.5f, 3e20f};
    v.kind = HILO_VOICE_GATHER;
    v.speech = "I can pay fifty dollars";
    v.digits = "2";
    for (size_t i = 0; i < sizeof confidences / sizeof confidences[0]; i++) {
        v.confidence = confidences[i];
        assert_same(&c, "+16505551234");
    }
    v.kind = HILO_VOICE_CALL_END;
    v.confidence = 0;
    v.call_status = "completed";
    v.duration_s = 184;
    assert_same(&c, "");  /* no from: the key is left out */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_media_button_voice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
