/* system_msg.c — the debtor is never left in silence (docs/console-protocol.md, "System
 * messages"): what the router says by itself when a person's queue takes the conversation, when
 * nobody of that queue can answer or the queue is closed, and when the agent closes it. The
 * texts and the queues' hours are [messages] of hilo.conf (messages.h). Each message is
 * committed like an agent's reply (console_outbound_commit) but as collector-initiated: the
 * gate at hand-off decides when it is handed to a provider (contact hours, opt-out, caps), and
 * what it refuses is cancelled with its reason in the debtor's audit, never sent. Called by
 * routing.c after an operation succeeded and by console.c for the event stream's escalations;
 * a message every router would say (an event every router reads) is claimed first on the
 * debtor's slot (hilo:{d:<id>}:said:<kind>:<escalation>), so it is said once. */
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

#define CLAIM_KEEP_MS (8LL * 86400 * 1000) /* a claim outlives any wait in a queue */

typedef struct {
    char debtor[HILO_DEBTOR_ID_MAX + 1];
    char queue[65];
    int kind;
    int channel;
    int64_t now;
    json_t *conv, *deb;          /* the facts read first */
    char claim[HILO_KEY_MAX];    /* "" when the message needs no claim */
    hilo_outbound_record_t *rec;
} sysmsg_t;

static void sysmsg_free(void *arg) {
    sysmsg_t *s = arg;
    hilo_outbound_record_destroy(&s->rec);
    json_decref(s->conv);
    json_decref(s->deb);
    free(s);
}

static void skipped(sysmsg_t *s, const char *why) {
    hilo_log_info("console", "event=system_msg_skipped debtor=%s kind=%s why=\"%s\"", s->debtor,
                  hilo_messages_kind_name(s->kind), why);
    sysmsg_free(s);
}

/* After the closing message (said or not), the satisfaction question: its own commit, after the
 * first, so the debtor's channel queue keeps them in order. */
static void csat_after_closing(hilo_console_t *k, const sysmsg_t *s) {
    if (s->kind == HILO_MSG_CLOSING) console_system_msg(k, s->debtor, HILO_MSG_CSAT, s->queue);
}

static void on_committed(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    sysmsg_t *s = arg;
    csat_after_closing(k, s);
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

static void commit(hilo_console_t *k, sysmsg_t *s) {
    char by[32];
    snprintf(by, sizeof by, "system:%s", hilo_messages_kind_name(s->kind));
    batch_t *b = batch_new(k, NULL, on_committed, s, sysmsg_free);
    console_outbound_commit(b, s->rec, s->debtor, s->channel, by);
    if (s->kind == HILO_MSG_CSAT) { /* the debtor's next message may answer it (reopen.lua) */
        char ck[HILO_KEY_MAX];
        if (hilo_key_debtor(ck, sizeof ck, s->debtor, HILO_KEY_CONV) >= 0)
            batch_cmd(b, "HSET %s csat_asked %lld", ck, (long long)s->now);
    }
    batch_run(b);
}

static void on_claim(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    sysmsg_t *s = arg;
    if (n < 1 || !json_is_string(res[0])) { /* nil: another router said it (or Redis failed) */
        skipped(s, "said already");
        return;
    }
    commit(k, s);
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

/* The text in the debtor's language on their last channel: built, then claimed or committed. */
static void say(hilo_console_t *k, sysmsg_t *s) {
    const char *lang = jstr(s->deb, "language"), *queue = *s->queue ? s->queue : jstr(s->conv, "queue");
    const char *text = hilo_messages_text(&k->cfg->messages, s->kind, queue, lang);
    const char *last = jstr(s->conv, "last_channel");
    s->channel = last ? hilo_channel_parse(last) : 0;
    char buf[64], by[32];
    const char *to = s->channel ? console_debtor_address(s->conv, s->deb, s->channel, buf, sizeof buf) : NULL;
    if (!text) { /* nothing configured: say nothing */
        csat_after_closing(k, s);
        sysmsg_free(s);
        return;
    }
    if (s->channel == HILO_CHANNEL_VOICE) {
        skipped(s, "the debtor's last channel is voice");
        return;
    }
    if (!to) {
        skipped(s, "no address on the debtor's last channel");
        return;
    }
    snprintf(by, sizeof by, "system:%s", hilo_messages_kind_name(s->kind));
    /* Collector-initiated (reply = false): the gate judges it as strictly as a reminder. */
    hilo_outbound_spec_t spec = {.debtor_id = s->debtor, .channel = s->channel, .to = to, .text = text,
                                 .by = by, .language = lang};
    s->rec = hilo_outbound_record_new(&spec, s->now, k->cfg->history_max,
                                      hilo_store_sha(k->ctx->store, HILO_SCRIPT_COMMIT_OUTBOUND));
    if (!s->rec) {
        skipped(s, "the message could not be built");
        return;
    }
    if (!*s->claim) {
        commit(k, s);
        return;
    }
    char keep[24];
    snprintf(keep, sizeof keep, "%lld", CLAIM_KEEP_MS);
    batch_t *b = batch_new(k, NULL, on_claim, s, sysmsg_free);
    batch_cmd(b, "SET %s 1 NX PX %s", s->claim, keep);
    batch_run(b);
}

static void on_agents(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    sysmsg_t *s = arg;
    if (n < 1 || !json_is_integer(res[0])) {
        skipped(s, "the queue's agents could not be read");
        return;
    }
    if (json_integer_value(res[0]) > 0) {
        skipped(s, "an agent of the queue is available");
        return;
    }
    say(k, s);
}

static void on_facts(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    sysmsg_t *s = arg;
    if (n < 3 || !res_ok(res[0]) || !res_ok(res[1]) || !res_ok(res[2])) {
        skipped(s, "redis read failed");
        return;
    }
    s->conv = res_hash(res[0]), s->deb = res_hash(res[1]);
    s->now = console_clock_of(k, res, n, 3);
    if (json_object_size(s->conv) == 0) {
        skipped(s, "no conversation");
        return;
    }
    const char *state = jstr(s->conv, "state");
    if ((s->kind == HILO_MSG_CLOSING || s->kind == HILO_MSG_CSAT) && (!state || strcmp(state, "closed") != 0)) {
        skipped(s, "not closed (any more)");
        return;
    }
    if (s->kind == HILO_MSG_ACK && acknowledged(res[2])) {
        skipped(s, "already acknowledged");
        return;
    }
    if (s->kind != HILO_MSG_WAITING) {
        say(k, s);
        return;
    }
    /* In a queue: closed (its hours, the business day's zone), or no agent of it available. */
    const char *queue = jstr(s->conv, "queue"), *esc = jstr(s->conv, "esc_ms");
    if (!state || strcmp(state, "queued") != 0 || !queue || !hilo_sla_queue_name_ok(queue, strlen(queue))) {
        sysmsg_free(s); /* not waiting for a person (any more) */
        return;
    }
    snprintf(s->queue, sizeof s->queue, "%s", queue);
    if (!hilo_messages_open(&k->cfg->messages, queue, k->day_tz, s->now)) s->kind = HILO_MSG_AFTER_HOURS;
    char part[96];
    snprintf(part, sizeof part, "said:%s:%s", hilo_messages_kind_name(s->kind), esc ? esc : "0");
    if (hilo_key_debtor(s->claim, sizeof s->claim, s->debtor, part) < 0) {
        skipped(s, "bad key");
        return;
    }
    if (s->kind == HILO_MSG_AFTER_HOURS) {
        say(k, s);
        return;
    }
    /* The agents' sets are global, as for routing: issue 23's re-layout left to do (docs/architecture.md,
     * "Keys on a Redis Cluster: the guard, and what is not yet single-slot"). */
    batch_t *b = batch_new(k, NULL, on_agents, s, sysmsg_free);
    batch_cmd(b, "SINTERCARD 2 hilo:agents:available hilo:skill:%s LIMIT 1", queue);
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
