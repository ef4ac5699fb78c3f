/* payment_link.c — the agent inserts the debtor's payment link into a reply
 * ({"t":"payment_link","debtor","amount_cents"?}): the same link the bot sends (the flow's
 * [rules] payment_link, with the portfolio's attr:payment_token), made by the router so the
 * token never has to be typed. Only for the assigned agent of a verified debtor (a link names
 * the debt); audited `payment_link` with by = the agent. The agent then sends it as any reply,
 * through the compliance gate. docs/console-protocol.md, "Payment link". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "engine.h"
#include "hilo/common.h"
#include "hilo/keys.h"

typedef struct {
    json_t *rid;
    char debtor[CONSOLE_ID_MAX + 32];
    json_int_t amount_cents;
} link_t;

static void link_free(void *arg) {
    link_t *l = arg;
    json_decref(l->rid);
    free(l);
}

static void on_record(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    link_t *l = arg;
    /* res[0]: conv state agent verified_ms; res[1]: debtor full_name balance currency attr:payment_token */
    const json_t *cv = n >= 2 ? res[0] : NULL, *dv = n >= 2 ? res[1] : NULL;
    const char *st = json_string_value(json_array_get(cv, 0)), *agent = json_string_value(json_array_get(cv, 1));
    const char *verified = json_string_value(json_array_get(cv, 2));
    if (!json_is_array(cv) || !json_is_array(dv)) {
        conn_error(c, l->rid, "unavailable", "try again");
    } else if (!st || strcmp(st, "assigned") != 0 || !agent || strcmp(agent, c->agent) != 0) {
        conn_error(c, l->rid, "not_assigned", "not_assigned");
    } else if (!verified || strtoll(verified, NULL, 10) <= 0) {
        char text[256];
        console_refusal_text("not_verified", NULL, text, sizeof text);
        conn_error(c, l->rid, "not_verified", text);
    } else {
        int64_t balance = 0;
        const char *b = json_string_value(json_array_get(dv, 1));
        if (b) hilo_bot_parse_amount(b, &balance);
        hilo_bot_debtor_t d = {.debtor_id = l->debtor, .full_name = json_string_value(json_array_get(dv, 0)),
                               .balance_cents = balance, .currency = json_string_value(json_array_get(dv, 2)),
                               .payment_token = json_string_value(json_array_get(dv, 3))};
        char *url = hilo_engine_payment_link(k->ctx->engine, &d, l->amount_cents);
        if (!url) {
            char text[256];
            console_refusal_text("no_payment_link", NULL, text, sizeof text);
            conn_error(c, l->rid, "no_payment_link", text);
        } else {
            char ak[HILO_KEY_MAX];
            if (hilo_key_debtor(ak, sizeof ak, l->debtor, HILO_KEY_AUDIT) > 0) {
                json_t *j = json_pack("{s:s,s:s,s:I}", "by", c->agent, "url", url, "ms", (json_int_t)hilo_now_ms());
                char *js = json_dumps(j, JSON_COMPACT);
                const char *argv[] = {"XADD", ak, "*", "ev", "payment_link", "j", js};
                hilo_store_argv(k->ctx->store, NULL, NULL, 7, argv, NULL);
                free(js);
                json_decref(j);
            }
            conn_ok(c, l->rid, json_pack("{s:s}", "url", url));
            free(url);
        }
    }
    link_free(l);
}

void console_payment_link(conn_t *c, json_t *rid, const char *debtor, json_t *amount) {
    if (amount && !json_is_null(amount) && (!json_is_integer(amount) || json_integer_value(amount) <= 0)) {
        conn_error(c, rid, "bad_request", "amount_cents: whole cents above zero, or leave it out for the balance");
        return;
    }
    char ck[HILO_KEY_MAX], dk[HILO_KEY_MAX];
    if (hilo_key_debtor(ck, sizeof ck, debtor, HILO_KEY_CONV) < 0 ||
        hilo_key_debtor(dk, sizeof dk, debtor, HILO_KEY_DEBTOR) < 0) {
        conn_error(c, rid, "bad_request", "\"debtor\" must be a debtor id");
        return;
    }
    link_t *l = hilo_xcalloc(1, sizeof *l);
    l->rid = json_incref(rid);
    snprintf(l->debtor, sizeof l->debtor, "%s", debtor);
    l->amount_cents = json_is_integer(amount) ? json_integer_value(amount) : 0;
    batch_t *b = batch_new(c->console, c, on_record, l, link_free);
    batch_cmd(b, "HMGET %s state agent verified_ms", ck);
    batch_cmd(b, "HMGET %s full_name balance currency attr:payment_token", dk);
    batch_run(b);
}
