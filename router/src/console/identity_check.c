/* identity_check.c — an agent checks who they are talking to before disclosing the debt
 * ({"t":"verify","debtor","digits"}): the digits the debtor gives (their document number, or
 * its last 4) are compared by verify_agent.lua with the portfolio's document_last4, which the
 * console never shows. A match marks the conversation verified (as the bot's check does);
 * VERIFY_ATTEMPTS mismatches lock the check for the conversation (audited; a supervisor sees it
 * in the audit). docs/console-protocol.md, "Identity check". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/keys.h"

#define VERIFY_ATTEMPTS "3"

static void on_verified(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    json_t *rid = arg;
    json_t *r = n >= 1 ? res[0] : NULL;
    const char *what = json_string_value(json_array_get(r, 1));
    if (!json_is_array(r) || !what) {
        conn_error(c, rid, "unavailable", "try again");
    } else if (json_integer_value(json_array_get(r, 0)) == 1) {
        conn_ok(c, rid, json_pack("{s:s}", "result", what));
        (void)k;
    } else {
        char detail[24] = "";
        if (json_is_integer(json_array_get(r, 2)))
            snprintf(detail, sizeof detail, "%lld", (long long)json_integer_value(json_array_get(r, 2)));
        char text[256];
        console_refusal_text(what, NULL, text, sizeof text);
        json_t *m = json_pack("{s:s,s:s,s:s}", "t", "error", "code", what, "text", text);
        if (*detail) json_object_set_new(m, "attempts_left", json_integer(strtoll(detail, NULL, 10)));
        if (rid) json_object_set(m, "rid", rid);
        conn_send(c, m);
    }
    json_decref(rid);
}

void console_verify(conn_t *c, json_t *rid, const char *debtor, const char *digits) {
    size_t n = digits ? strlen(digits) : 0;
    bool ok = n >= 4 && n <= 12;
    for (size_t i = 0; ok && i < n; i++) ok = isdigit((unsigned char)digits[i]);
    if (!ok) {
        conn_error(c, rid, "bad_request", "digits: the document number the debtor gave, 4 to 12 digits");
        return;
    }
    char ck[HILO_KEY_MAX], dk[HILO_KEY_MAX], ak[HILO_KEY_MAX], now[24];
    if (hilo_key_debtor(ck, sizeof ck, debtor, HILO_KEY_CONV) < 0 ||
        hilo_key_debtor(dk, sizeof dk, debtor, HILO_KEY_DEBTOR) < 0 ||
        hilo_key_debtor(ak, sizeof ak, debtor, HILO_KEY_AUDIT) < 0) {
        conn_error(c, rid, "bad_request", "\"debtor\" must be a debtor id");
        return;
    }
    snprintf(now, sizeof now, "%lld", (long long)hilo_now_ms());
    batch_t *b = batch_new(c->console, c, on_verified, json_incref(rid), batch_free_json);
    const char *argv[] = {"EVALSHA", c->console->scripts[SCRIPT_VERIFY].sha, "3", ck, dk, ak, c->agent, digits, now,
                          VERIFY_ATTEMPTS};
    batch_argv(b, (int)(sizeof argv / sizeof *argv), argv, NULL);
    batch_mark_script(b, SCRIPT_VERIFY);
    batch_run(b);
}
