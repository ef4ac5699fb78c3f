/* test_outbound_record.c — the commit_outbound.lua call built by outbound_record.c: argv shape
 * and keys, history item JSON fields, outbound id format, the packed Outbound (buttons,
 * reply_to_seq), spec checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/keys.h"
#include "hilo/outbound_record.h"

#define SHA "0123456789abcdef0123456789abcdef01234567"
#define NOW 1795000000123LL

static hilo_outbound_spec_t spec_of(void) {
    hilo_outbound_spec_t s = {.debtor_id = "D1001",
                              .channel = HILO_CHANNEL_WHATSAPP,
                              .to = "+16505551234",
                              .text = "Hola Ana, ¿podemos hablar?",
                              .by = "agent:7",
                              .language = "es"};
    return s;
}

static void assert_id_format(const char *oid, long long now) {
    char want[16];
    snprintf(want, sizeof want, "o%013lld-", now);
    assert_int_equal(strlen(oid), 27);
    assert_memory_equal(oid, want, 15);
    for (int i = 15; i < 27; i++) assert_non_null(strchr("0123456789abcdef", oid[i]));
}

static void test_argv_shape(void **state) {
    hilo_outbound_spec_t spec = spec_of();
    hilo_outbound_record_t *r = hilo_outbound_record_new(&spec, NOW, 1000, SHA);
    assert_non_null(r);
    const char *oid = hilo_outbound_record_id(r);
    assert_id_format(oid, NOW);

    int argc;
    const char **argv;
    const size_t *len;
    assert_int_equal(hilo_outbound_record_argv(r, &argc, &argv, &len), HILO_OK);
    assert_int_equal(argc, 16);
    const char *want[] = {"EVALSHA", SHA, "5", "hilo:{d:D1001}:conv", "hilo:{d:D1001}:hist", "hilo:{d:D1001}:out",
                          "hilo:{d:D1001}:oq:whatsapp", "hilo:{d:D1001}:odisp", oid, "1795000000123",
                          NULL /* item */, "1000", NULL /* Outbound */, "D1001", "whatsapp", NULL /* dispatch */};
    for (int i = 0; i < argc; i++) {
        if (!want[i]) continue;
        assert_int_equal(len[i], strlen(want[i]));
        assert_memory_equal(argv[i], want[i], len[i]);
    }
    assert_string_equal(argv[10], hilo_outbound_record_item(r));
    /* ARGV[8]: how the gate at hand-off judges it (an agent's reply here). */
    json_t *disp = json_loads(argv[15], 0, NULL);
    assert_non_null(disp);
    assert_string_equal(json_string_value(json_object_get(disp, "by")), "agent:7");
    assert_true(json_is_false(json_object_get(disp, "bot")));
    assert_string_equal(json_string_value(json_object_get(disp, "kind")), "freeform");
    assert_true(json_is_false(json_object_get(disp, "wait")));
    json_decref(disp);

    /* ARGV[5]: the serialized Outbound, binary, length from argvlen. */
    hilo_outbound_t *o = hilo__link__v1__outbound__unpack(NULL, len[12], (const uint8_t *)argv[12]);
    assert_non_null(o);
    assert_string_equal(o->outbound_id, oid);
    assert_int_equal(o->channel, HILO_CHANNEL_WHATSAPP);
    assert_string_equal(o->to, "+16505551234");
    assert_string_equal(o->debtor_id, "D1001");
    assert_string_equal(o->text, "Hola Ana, ¿podemos hablar?");
    assert_string_equal(o->language, "es");
    assert_int_equal(o->created_ms, NOW);
    assert_int_equal(o->attempt, 0); /* the dispatcher counts attempts */
    hilo__link__v1__outbound__free_unpacked(o, NULL);

    /* First the mark in the debtor's partition of the dispatch index. */
    assert_int_equal(hilo_outbound_record_index_argv(r, &argc, &argv, &len), HILO_OK);
    assert_int_equal(argc, 4);
    char want_key[64];
    snprintf(want_key, sizeof want_key, "hilo:{p:%d}:outbox:whatsapp", hilo_outbox_partition("D1001"));
    assert_string_equal(argv[0], "ZADD");
    assert_string_equal(argv[1], want_key);
    assert_string_equal(argv[2], "0");
    assert_string_equal(argv[3], "D1001");

    assert_int_equal(hilo_outbound_record_listing_argv(r, &argc, &argv, &len), HILO_OK);
    assert_int_equal(argc, 4);
    assert_string_equal(argv[0], "EVAL"); /* ZADD hilo:convs at Redis's TIME */
    assert_non_null(strstr(argv[1], "'ZADD', 'hilo:convs'"));
    assert_non_null(strstr(argv[1], "redis.call('TIME')"));
    assert_string_equal(argv[2], "0");
    assert_string_equal(argv[3], "D1001");
    assert_int_equal(len[3], 5);

    hilo_outbound_record_destroy(&r);
    assert_null(r);
    hilo_outbound_record_destroy(&r); /* NULL is fine */
}

static void test_item_json(void **state) {
    hilo_outbound_spec_t spec = spec_of();
    spec.channel = HILO_CHANNEL_SMS;
    spec.text = "line one\nline \"two\"";
    hilo_outbound_record_t *r = hilo_outbound_record_new(&spec, NOW, 50, SHA);
    assert_non_null(r);
    json_error_t jerr;
    json_t *item = json_loads(hilo_outbound_record_item(r), 0, &jerr);
    assert_non_null(item);
    assert_int_equal(json_object_size(item), 9);
    assert_string_equal(json_string_value(json_object_get(item, "ch")), "sms");
    assert_string_equal(json_string_value(json_object_get(item, "dir")), "out");
    assert_string_equal(json_string_value(json_object_get(item, "kind")), "text");
    assert_string_equal(json_string_value(json_object_get(item, "oid")), hilo_outbound_record_id(r));
    assert_string_equal(json_string_value(json_object_get(item, "to")), "+16505551234");
    assert_int_equal(json_integer_value(json_object_get(item, "sent_ms")), NOW);
    assert_int_equal(json_integer_value(json_object_get(item, "recv_ms")), NOW);
    assert_string_equal(json_string_value(json_object_get(item, "text")), "line one\nline \"two\"");
    assert_string_equal(json_string_value(json_object_get(item, "by")), "agent:7");
    json_decref(item);
    /* Field order as in docs/architecture.md: "ch" first. */
    assert_memory_equal(hilo_outbound_record_item(r), "{\"ch\":\"sms\",\"dir\":\"out\"", 23);
    int argc;
    const char **argv;
    const size_t *len;
    hilo_outbound_record_argv(r, &argc, &argv, &len);
    assert_string_equal(argv[6], "hilo:{d:D1001}:oq:sms");
    assert_string_equal(argv[11], "50");
    hilo_outbound_record_destroy(&r);
}

static void test_ids_differ_and_unidentified_contacts(void **state) {
    hilo_outbound_spec_t spec = spec_of();
    spec.language = NULL;
    hilo_outbound_record_t *a = hilo_outbound_record_new(&spec, NOW, 1000, SHA);
    hilo_outbound_record_t *b = hilo_outbound_record_new(&spec, NOW, 1000, SHA);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_not_equal(hilo_outbound_record_id(a), hilo_outbound_record_id(b));
    hilo_outbound_record_destroy(&a);
    hilo_outbound_record_destroy(&b);

    spec.debtor_id = "u:+16505550000"; /* the router answers unknown senders too */
    hilo_outbound_record_t *u = hilo_outbound_record_new(&spec, 5, 1000, SHA);
    assert_non_null(u);
    assert_id_format(hilo_outbound_record_id(u), 5);
    int argc;
    const char **argv;
    const size_t *len;
    hilo_outbound_record_argv(u, &argc, &argv, &len);
    assert_string_equal(argv[3], "hilo:{d:u:+16505550000}:conv");
    hilo_outbound_record_destroy(&u);
}

static void test_buttons_reply_to_and_accessors(void **state) {
    hilo_outbound_spec_t spec = spec_of();
    const char *ids[] = {"pay_today", "call_me"}, *titles[] = {"Pagar hoy", "Llámame"};
    spec.button_ids = ids;
    spec.button_titles = titles;
    spec.nbuttons = 2;
    spec.reply_to_seq = 77;
    hilo_outbound_record_t *r = hilo_outbound_record_new(&spec, NOW, 1000, SHA);
    assert_non_null(r);
    assert_string_equal(hilo_outbound_record_text(r), "Hola Ana, ¿podemos hablar?");
    size_t len;
    const uint8_t *payload = hilo_outbound_record_payload(r, &len);
    int argc;
    const char **argv;
    const size_t *alen;
    hilo_outbound_record_argv(r, &argc, &argv, &alen);
    assert_ptr_equal(payload, (const uint8_t *)argv[12]);
    assert_int_equal(len, alen[12]);
    hilo_outbound_t *o = hilo__link__v1__outbound__unpack(NULL, len, payload);
    assert_non_null(o);
    assert_int_equal(o->reply_to_seq, 77);
    assert_int_equal(o->n_buttons, 2);
    assert_string_equal(o->buttons[1]->payload, "call_me");
    assert_string_equal(o->buttons[1]->title, "Llámame");
    hilo__link__v1__outbound__free_unpacked(o, NULL);
    json_t *item = json_loads(hilo_outbound_record_item(r), 0, NULL);
    json_t *b = json_object_get(item, "buttons");
    assert_int_equal(json_array_size(b), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(b, 0), "payload")), "pay_today");
    assert_string_equal(json_string_value(json_object_get(json_array_get(b, 0), "title")), "Pagar hoy");
    json_decref(item);
    hilo_outbound_record_destroy(&r);

    const char *four[] = {"a", "b", "c", "d"}, *empty[] = {"a", ""};
    const char *why;
    spec.button_ids = spec.button_titles = four;
    spec.nbuttons = 4;
    assert_int_equal(hilo_outbound_spec_check(&spec, &why), HILO_ERR);
    assert_string_equal(why, "too many buttons");
    spec.button_titles = empty;
    spec.nbuttons = 2;
    assert_int_equal(hilo_outbound_spec_check(&spec, &why), HILO_ERR);
    assert_string_equal(why, "a button without id or title");
}

static void test_spec_check(void **state) {
    static const struct {
        int field;
        const char *value;
        const char *why;
    } cases[] = {
        {0, "", "invalid debtor id"},           {0, "u:hello", "invalid debtor id"},
        {0, "D|1", "invalid debtor id"},        {1, NULL, "unknown channel"},
        {2, "", "no address to send to"},       {3, "", "empty text"},
        {4, "", "missing author (by)"},         {3, "bad \xC3\x28", "text is not valid UTF-8"},
        {5, "\xFF", "text is not valid UTF-8"},
    };
    for (size_t i = 0; i < HILO_ARRAY_LEN(cases); i++) {
        hilo_outbound_spec_t s = spec_of();
        switch (cases[i].field) {
        case 0: s.debtor_id = cases[i].value; break;
        case 1: s.channel = 9; break;
        case 2: s.to = cases[i].value; break;
        case 3: s.text = cases[i].value; break;
        case 4: s.by = cases[i].value; break;
        case 5: s.language = cases[i].value; break;
        }
        const char *why = NULL;
        assert_int_equal(hilo_outbound_spec_check(&s, &why), HILO_ERR);
        assert_string_equal(why, cases[i].why);
        assert_null(hilo_outbound_record_new(&s, NOW, 1000, SHA));
    }
    hilo_outbound_spec_t s = spec_of();
    const char *why = NULL;
    assert_int_equal(hilo_outbound_spec_check(&s, &why), HILO_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv_shape),
        cmocka_unit_test(test_item_json),
        cmocka_unit_test(test_ids_differ_and_unidentified_contacts),
        cmocka_unit_test(test_buttons_reply_to_and_accessors),
        cmocka_unit_test(test_spec_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
