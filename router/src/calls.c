/* calls.c — connect orders for calls in progress (see calls.h).
 *
 * Why an Outbound straight to a connector, not a message in the debtor's outbox: the caller is
 * on the line now and called us, so this is no contact the collector starts — the gate at
 * hand-off (contact hours, caps) must not hold it, and a retry minutes later would ring an agent
 * for a caller who has long gone. Any connector of the channel may carry it (the provider's REST
 * API updates a call whichever process received its webhooks), but only one that speaks 1.4:
 * an older one would read KIND_CONNECT as an unknown action. A FAILED report of the order is
 * acted on (hilo_calls_order_failed: the caller queued again, or the agent freed when the call is
 * over). If the order is lost (connector dies), the agent hears nothing and the caller keeps waiting in the queue; the agent sees no
 * "ringing" in the thread and can transfer the conversation back to the queue. */
#include "calls.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "console/console.h"
#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/log.h"

bool hilo_calls_can_connect(hilo_router_ctx_t *ctx) {
    hilo_peer_ref_t peer;
    return hilo_link_server_pick_minor(ctx->link, HILO_CHANNEL_VOICE, HILO_CALLS_MINOR, &peer) == HILO_OK;
}

int hilo_calls_connect(hilo_router_ctx_t *ctx, const hilo_call_connect_t *cc) {
    hilo_peer_ref_t peer;
    if (hilo_link_server_pick_minor(ctx->link, HILO_CHANNEL_VOICE, HILO_CALLS_MINOR, &peer) != HILO_OK) {
        hilo_log_warn("calls", "event=connect_no_connector debtor=%s call_id=%s", cc->debtor, cc->call_id);
        return HILO_AGAIN;
    }
    /* A new id per order: connectors dedupe on it, and a second accept (another agent after a
     * no-answer) must ring that agent. */
    char oid[96];
    int64_t now = hilo_now_ms();
    snprintf(oid, sizeof oid, "call-%s-%" PRId64, cc->call_id, now);
    hilo_outbound_t ob = HILO_OUTBOUND_INIT;
    hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
    va.kind = HILO_VOICE_ACTION_CONNECT;
    va.target = (char *)cc->target;
    va.call_id = (char *)cc->call_id;
    va.queue = (char *)cc->queue;
    va.timeout_s = HILO_CALLS_RING_S;
    ob.outbound_id = oid;
    ob.channel = HILO_CHANNEL_VOICE;
    ob.to = (char *)cc->caller;
    ob.debtor_id = (char *)cc->debtor;
    ob.voice = &va;
    ob.created_ms = now;
    ob.attempt = 1;
    hilo_link_server_send_outbound(ctx->link, &peer, &ob);
    ctx->metrics.outbound_sent[HILO_CHANNEL_VOICE]++;
    hilo_log_info("calls", "event=connect_sent debtor=%s call_id=%s outbound_id=%s", cc->debtor, cc->call_id, oid);
    return HILO_OK;
}

bool hilo_calls_unanswered(hilo_router_ctx_t *ctx, const char *debtor, const char *turn, const hilo_envelope_t *e,
                           void (*done)(void *arg, int rc), void *arg) {
    if (!e || !e->voice || e->voice->kind != HILO_VOICE_AGENT_NO_ANSWER || !ctx->console) return false;
    hilo_console_call_unanswered(ctx->console, debtor, e->voice->call_id, turn, done, arg);
    return true;
}

bool hilo_calls_is_order(const char *oid) { return strncmp(oid, "call-", 5) == 0 && strrchr(oid, '-') > oid + 5; }

void hilo_calls_order_failed(hilo_router_ctx_t *ctx, const char *debtor, const char *oid, const char *code,
                             void (*done)(void *arg, int rc), void *arg) {
    const char *dash = strrchr(oid, '-');
    char call[96];
    snprintf(call, sizeof call, "%.*s", (int)(dash - oid - 5), oid + 5);
    int64_t sent_ms = strtoll(dash + 1, NULL, 10);
    hilo_log_warn("calls", "event=connect_failed debtor=%s call_id=%s outbound_id=%s code=%s", debtor, call, oid,
                  hilo_log_value(code));
    hilo_console_call_connect_failed(ctx->console, debtor, call, oid, sent_ms, code, done, arg);
}
