/* test_optout.c — opt-out / opt-in keyword detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hilo/frame.h"
#include "hilo/optout.h"

static void expect(const char *text, int ch, hilo_keyword_kind_t kind, const char *keyword, const char *lang) {
    hilo_keyword_t k;
    bool hit = hilo_optout_detect(text, strlen(text), ch, &k);
    bool ok = hit == (kind != HILO_KEYWORD_NONE) && k.kind == kind &&
              (!keyword || (k.keyword && strcmp(k.keyword, keyword) == 0)) &&
              (!lang || (k.lang && strcmp(k.lang, lang) == 0));
    if (!ok)
        fail_msg("\"%s\" on %s: got kind %d \"%s\" %s, want kind %d \"%s\" %s", text, hilo_channel_name(ch), k.kind,
                 k.keyword ? k.keyword : "", k.lang ? k.lang : "", kind, keyword ? keyword : "", lang ? lang : "");
}

#define OUT HILO_KEYWORD_OPTOUT
#define IN HILO_KEYWORD_OPTIN
#define NONE HILO_KEYWORD_NONE
#define SMS HILO_CHANNEL_SMS
#define WA HILO_CHANNEL_WHATSAPP
#define VOICE HILO_CHANNEL_VOICE

static void test_english(void **state) {
    expect("STOP", SMS, OUT, "STOP", "en");
    expect("stop", WA, OUT, "STOP", "en");
    expect("  Stop!! ", SMS, OUT, "STOP", "en");
    expect("STOP 🙏", SMS, OUT, "STOP", "en");
    expect("stopall", SMS, OUT, "STOPALL", "en");
    expect("Unsubscribe.", SMS, OUT, "UNSUBSCRIBE", "en");
    expect("cancel", SMS, OUT, "CANCEL", "en");
    expect("END", SMS, OUT, "END", "en");
    expect("Quit", SMS, OUT, "QUIT", "en");
    expect("opt-out", SMS, OUT, "OPT OUT", "en");
    expect("Stop please", SMS, OUT, "STOP", "en");
    expect("please stop", SMS, OUT, "STOP", "en");
    /* First-word rule: only STOP/STOPALL/UNSUBSCRIBE, only on text channels. */
    expect("Stop texting me", SMS, OUT, "STOP", "en");
    expect("stop calling me", VOICE, NONE, NULL, NULL);
    expect("stop", VOICE, OUT, "STOP", "en");
    expect("cancel my payment plan", SMS, NONE, NULL, NULL);
    expect("end of the month I pay", SMS, NONE, NULL, NULL);
    expect("I want to stop", SMS, NONE, NULL, NULL); /* the bot's opt-out intent, not a keyword */
    expect("hello", SMS, NONE, NULL, NULL);
    expect("", SMS, NONE, NULL, NULL);
    expect("!!!", SMS, NONE, NULL, NULL);
    expect("please", SMS, NONE, NULL, NULL);
}

static void test_spanish_and_accents(void **state) {
    expect("BAJA", SMS, OUT, "BAJA", "es");
    expect("baja", WA, OUT, "BAJA", "es");
    expect("Baja, por favor", SMS, OUT, "BAJA", "es");
    expect("Por favor baja", SMS, OUT, "BAJA", "es");
    expect("ALTO", SMS, OUT, "ALTO", "es");
    expect("Cancelar.", SMS, OUT, "CANCELAR", "es");
    expect("parar", SMS, OUT, "PARAR", "es");
    expect("Detener", SMS, OUT, "DETENER", "es");
    expect("No más", SMS, OUT, "NO MAS", "es");               /* precomposed á */
    expect("NO MÁS", SMS, OUT, "NO MAS", "es");               /* upper-case Á */
    expect("no ma\xcc\x81s", WA, OUT, "NO MAS", "es");          /* a + combining acute */
    expect("NO MAS", SMS, OUT, "NO MAS", "es");
    expect("¡No más, gracias!", SMS, OUT, "NO MAS", "es");
    expect("Dar de baja", SMS, OUT, "DAR DE BAJA", "es");
    expect("BÁJA", SMS, OUT, "BAJA", "es");
    /* Collections Spanish: "cancelar la deuda" = pay off the debt, "baja la cuota" = lower it. */
    expect("Quiero cancelar la deuda", SMS, NONE, NULL, NULL);
    expect("cancelar la deuda", SMS, NONE, NULL, NULL);
    expect("Baja la cuota", SMS, NONE, NULL, NULL);
    expect("no más llamadas a las 7am por favor cambien el horario", SMS, NONE, NULL, NULL);
    /* Invalid UTF-8 bytes are separators, never a crash. */
    expect("\xff\xfe" "STOP\xc3", SMS, OUT, "STOP", "en");
}

/* The one normaliser (textnorm.h): what the bot folds the same way. */
static void test_unicode_forms(void **state) {
    expect("ＳＴＯＰ", SMS, OUT, "STOP", "en");               /* full-width letters */
    expect("ＢＡＪＡ", WA, OUT, "BAJA", "es");
    expect("B\xc3\x81JA", SMS, OUT, "BAJA", "es");            /* precomposed Á */
    expect("BA\xcc\x81JA", SMS, OUT, "BAJA", "es");           /* A + combining acute */
    expect("Ｎｏ　ｍáｓ", SMS, OUT, "NO MAS", "es");           /* full-width, ideographic space */
    expect("ba\xc2\xadja", SMS, OUT, "BAJA", "es");           /* a soft hyphen inside */
    expect("ｓｔａｒｔ", SMS, IN, "START", "en");
    expect("ＳＴＯＰ texting me", SMS, OUT, "STOP", "en");     /* first-word rule */
}

static void test_optin(void **state) {
    expect("START", SMS, IN, "START", "en");
    expect("unstop", SMS, IN, "UNSTOP", "en");
    expect("Alta", WA, IN, "ALTA", "es");
    expect("start paying next week", SMS, NONE, NULL, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_english),
        cmocka_unit_test(test_spanish_and_accents),
        cmocka_unit_test(test_unicode_forms),
        cmocka_unit_test(test_optin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
