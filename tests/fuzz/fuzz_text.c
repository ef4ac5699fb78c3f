/* fuzz_text.c — libFuzzer target for the one text normaliser (proto/src/textnorm.c) and the
 * opt-out keyword detector over it (router/compliance/src/optout.c): one input is the text of
 * one inbound message, any bytes. Besides not crashing, the fold keeps its promises whatever
 * the input: the output is valid UTF-8, fits the buffer, has no leading, trailing or doubled
 * space, and is a fixed point (folding folded text changes nothing), so the bot and the
 * detector, which both fold, read one message the same way. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/frame.h"
#include "hilo/optout.h"
#include "hilo/textnorm.h"
#include "hilo/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_fold(const char *in, size_t len, size_t outlen) {
    char *out = malloc(outlen), *again = malloc(outlen);
    if (!out || !again) abort();
    bool cut = false;
    size_t n = hilo_textnorm_fold(in, len, out, outlen, "/.,$", &cut);
    if (n >= outlen || strlen(out) != n || !hilo_utf8_valid(out, n)) abort();
    if (n && (out[0] == ' ' || out[n - 1] == ' ' || strstr(out, "  "))) abort();
    if (!cut) {
        size_t m = hilo_textnorm_fold(out, n, again, outlen, "/.,$", NULL);
        if (m != n || memcmp(out, again, n) != 0) abort();
    }
    free(out);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    check_fold(text, size, 1);
    check_fold(text, size, 7);
    check_fold(text, size, 4 * size + 64);
    hilo_keyword_t k;
    (void)hilo_optout_detect(text, size, HILO_CHANNEL_SMS, &k);
    (void)hilo_optout_detect(text, size, HILO_CHANNEL_VOICE, &k);
    return 0;
}
