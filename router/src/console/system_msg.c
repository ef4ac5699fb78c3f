/* system_msg.c — the debtor is never left in silence (docs/console-protocol.md, "System
 * messages"): what the router says by itself when a person's queue takes the conversation, when
 * nobody of that queue can answer, and when the agent closes it. The texts are [messages] of
 * hilo.conf (messages.h). Each message is committed like an agent's reply (commit_outbound.lua,
 * the dispatch index) but as collector-initiated: the gate at hand-off decides when it is handed
 * to a provider (contact hours, opt-out, caps), and what it refuses is cancelled with its reason
 * in the debtor's audit, never sent. Called by routing.c after an operation succeeded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "dispatch.h"
#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/outbound_record.h"
#include "messages.h"

typedef struct {
    char debtor[HILO_DEBTOR_ID_MAX + 1];
    char queue[65];
    int kind;
    int channel;
    hilo_outbound_record_t *rec;
} sysmsg_t;

static void sysmsg_free(void *arg) {
    sysmsg_t *s = arg;
    hilo_outbound_record_destroy(&s->rec);
    free(s);
}

static void on_committed(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    sysmsg_t *s = arg;
    if (n < 2 || !res_ok(res[0]) || !res_ok(res[1])) {
        hilo_log_error("console", "event=system_msg_commit_failed debtor=%s kind=%s", s->debtor,
                       hilo_messages_kind_name(s->kind));
    } else {
        hilo_dispatch_kick_debtor(k->ctx->dispatch, s->channel, s->debtor);
        hilo_log_info("console", "event=system_msg debtor=%s kind=%s channel=%s oid=%s", s->debtor,
                      hilo_messages_kind_name(s->kind), hilo_channel_name(s->channel), hilo_outbound_record_id(s->rec));
    }
    sysmsg_free(s);
}

/* The newest history item was already an acknowledgement: the bot's (its hand-off reply comes
 * with the escalation) or ours, and the debtor has not written since. */
static bool acknowledged(const json_t *newest) {
    json_t *e = json_array_get(newest, 0);
    json_t *f = res_hash(json_array_get(e, 1));
    const char *j = jstr(f, "j");
    json_t *item = j ? json_loads(j, 0, NULL) : NULL;
    const char *dir = jstr(item, "dir"), *by = jstr(item, "by");
    bool yes = dir && strcmp(dir, "out") == 0 && by && (strcmp(by, "bot") == 0 || strcmp(by, "system:ack") == 0);
    json_decref(item);
    json_decref(f);
    return yes;
}

static void on_facts(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    sysmsg_t *s = arg;
    if (n < 3 || !res_ok(res[0]) || !res_ok(res[1]) || !res_ok(res[2])) {
        hilo_log_warn("console", "event=system_msg_skipped debtor=%s kind=%s why=\"redis read failed\"", s->debtor,
                      hilo_messages_kind_name(s->kind));
        sysmsg_free(s);
        return;
    }
    json_t *conv = res_hash(res[0]), *deb = res_hash(res[1]);
    const char *lang = jstr(deb, "language"), *queue = *s->queue ? s->queue : jstr(conv, "queue");
    const char *text = hilo_messages_text(&k->cfg->messages, s->kind, queue, lang);
    const char *last = jstr(conv, "last_channel");
    s->channel = last ? hilo_channel_parse(last) : 0;
    char buf[64], by[32];
    const char *to = s->channel ? console_debtor_address(conv, deb, s->channel, buf, sizeof buf) : NULL;
    const char *skip = !text                                    ? NULL /* nothing configured: say nothing */
                       : json_object_size(conv) == 0            ? "no conversation"
                       : s->channel == HILO_CHANNEL_VOICE       ? "the debtor's last channel is voice"
                       : !to                                    ? "no address on the debtor's last channel"
                       : s->kind == HILO_MSG_ACK && acknowledged(res[2]) ? "already acknowledged"
                                                                : NULL;
    if (!text || skip) {
        if (skip)
            hilo_log_info("console", "event=system_msg_skipped debtor=%s kind=%s why=\"%s\"", s->debtor,
                          hilo_messages_kind_name(s->kind), skip);
        json_decref(conv);
        json_decref(deb);
        sysmsg_free(s);
        return;
    }
    snprintf(by, sizeof by, "system:%s", hilo_messages_kind_name(s->kind));
    /* Collector-initiated (reply = false): the gate judges it as strictly as a reminder. */
    hilo_outbound_spec_t spec = {.debtor_id = s->debtor, .channel = s->channel, .to = to, .text = text,
                                 .by = by, .language = lang};
    int64_t now = console_clock_of(k, res, n, 3);
    s->rec = hilo_outbound_record_new(&spec, now, k->cfg->history_max,
                                      hilo_store_sha(k->ctx->store, HILO_SCRIPT_COMMIT_OUTBOUND));
    json_decref(conv);
    json_decref(deb);
    if (!s->rec) {
        hilo_log_warn("console", "event=system_msg_skipped debtor=%s kind=%s why=\"the message could not be built\"",
                      s->debtor, hilo_messages_kind_name(s->kind));
        sysmsg_free(s);
        return;
    }
    batch_t *b = batch_new(k, NULL, on_committed, s, sysmsg_free);
    console_outbound_commit(b, s->rec, s->debtor, s->channel, by);
    batch_run(b);
}

void console_system_msg(hilo_console_t *k, const char *debtor, int kind, const char *queue) {
    if (k->cfg->messages.n == 0) return; /* [messages] says nothing */
    sysmsg_t *s = hilo_xcalloc(1, sizeof *s);
    snprintf(s->debtor, sizeof s->debtor, "%s", debtor);
    snprintf(s->queue, sizeof s->queue, "%s", queue ? queue : "");
    s->kind = kind;
    char ck[HILO_KEY_MAX], dk[HILO_KEY_MAX], hk[HILO_KEY_MAX];
    if (hilo_key_debtor(ck, sizeof ck, debtor, HILO_KEY_CONV) < 0 ||
        hilo_key_debtor(dk, sizeof dk, debtor, HILO_KEY_DEBTOR) < 0 ||
        hilo_key_debtor(hk, sizeof hk, debtor, HILO_KEY_HIST) < 0) {
        free(s);
        return;
    }
    batch_t *b = batch_new(k, NULL, on_facts, s, sysmsg_free);
    batch_cmd(b, "HGETALL %s", ck);
    batch_cmd(b, "HGETALL %s", dk);
    batch_cmd(b, "XREVRANGE %s + - COUNT 1", hk);
    console_clock_cmd(k, b);
    batch_run(b);
}
