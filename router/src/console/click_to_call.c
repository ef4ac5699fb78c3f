/* click_to_call.c — {"t":"call","debtor"} (docs/console-protocol.md, "Click-to-call"): the agent
 * holding a conversation calls the debtor from the console. The agent's phone rings first; once
 * the agent answers, the debtor is dialled (protocol 1.4, VoiceAction BRIDGE). It is a contact
 * the collector starts: it goes the way of an agent's voice message (views.c, console_reply) —
 * the gate now, then again at hand-off, never judged as a reply, counted by the call limits —
 * and its answer is a reply_result with "call": true (refused: the gate's reason in words).
 * Refused before anything when the agent has no phone (no_phone) or no voice connector that
 * can place it is connected (no_call_connector). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "console_int.h"
#include "hilo/common.h"

/* The words of a click-to-call's thread item (the connector says nothing: it only dials). */
#define CALL_TEXT "Call from the agent's phone"

typedef struct {
    json_t *rid;
    char debtor[CONSOLE_ID_MAX + 32];
} call_t;

static void call_free(void *arg) {
    call_t *o = arg;
    json_decref(o->rid);
    free(o);
}

static void on_phone(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    call_t *o = arg;
    const char *phone = n >= 1 ? json_string_value(res[0]) : NULL;
    char code[32] = "";
    if (!phone || !*phone) snprintf(code, sizeof code, "no_phone");
    else if (!hilo_calls_can_connect(k->ctx)) snprintf(code, sizeof code, "no_call_connector");
    if (*code) {
        char text[512];
        console_refusal_text(code, NULL, text, sizeof text);
        json_t *m = json_pack("{s:s,s:s,s:s}", "t", "error", "code", code, "text", text);
        if (o->rid) json_object_set(m, "rid", o->rid);
        conn_send(c, m);
    } else {
        console_reply_or_call(c, o->rid, o->debtor, "voice", CALL_TEXT, false, phone);
    }
    call_free(o);
}

void console_call(conn_t *c, json_t *rid, const char *debtor) {
    if (c->supervisor) {
        conn_error(c, rid, "forbidden", "only the agent holding the conversation may call");
        return;
    }
    call_t *o = hilo_xcalloc(1, sizeof *o);
    o->rid = json_incref(rid);
    snprintf(o->debtor, sizeof o->debtor, "%s", debtor);
    batch_t *b = batch_new(c->console, c, on_phone, o, call_free);
    batch_cmd(b, "HGET hilo:agent:%s phone", c->agent);
    batch_run(b);
}
