/* sla_resolution.c — the resolution verdict of a conversation when an agent or a supervisor
 * closes it (routing.c, after agent_ops.lua said ok): resolution is the time from the
 * escalation (esc_ms) to the close, against the queue's [sla] resolution_s. route_offer.lua
 * awaited it on hilo:{q:<queue>}:resolve when it first saw it queued (the conv's res_q names
 * the queue) and counts it res_breached once its deadline passes; a close before that claims
 * it from the set and counts it res_met (sla_mark.lua, the same claim as the first response, so
 * a verdict is counted once whoever comes twice). Two steps, each atomic on its own slot: read
 * the conversation, count on the queue. A crash between them leaves the member awaited: the
 * sweep counts it breached at its deadline (the conversation was closed in time, so the count
 * errs against the floor, never for it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"

#include "sla.h"

typedef struct {
    char debtor[CONSOLE_ID_MAX + 32];
    int64_t now;                    /* the stats clock at the close */
} closed_t;

static void on_counted(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    (void)c;
    closed_t *r = arg;
    if (n < 1 || !json_is_integer(res[0])) {
        const char *e = n >= 1 && res[0] ? jstr(res[0], "error") : "no reply";
        hilo_log_warn("console", "event=sla_resolution_failed debtor=%s reply=\"%s\" effect=\"counted breached at "
                      "its deadline\"", r->debtor, e ? e : "?");
    }
    free(r);
}

static void on_conv_read(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    closed_t *r = arg;
    json_t *f = n >= 1 && json_is_array(res[0]) ? res[0] : NULL;
    const char *esc = json_string_value(json_array_get(f, 0)), *q = json_string_value(json_array_get(f, 1)),
               *state = json_string_value(json_array_get(f, 2));
    if (!esc || !q || !state || strcmp(state, "closed") != 0 || strlen(q) > HILO_SLA_QUEUE_MAX) {
        free(r); /* never awaited (not escalated through a queue), or reopened already */
        return;
    }
    const hilo_sla_target_t *t = hilo_sla_target(&k->cfg->sla, q);
    const char *verdict = r->now - strtoll(esc, NULL, 10) <= t->resolution_ms ? "res_met" : "res_breached";
    console_sla_count(k, q, "resolve", r->debtor, esc, r->now, verdict, on_counted, r);
}

static void closed_at(hilo_console_t *k, int64_t now_ms, void *arg) {
    closed_t *r = arg;
    char ck[HILO_KEY_MAX];
    if (hilo_key_debtor(ck, sizeof ck, r->debtor, HILO_KEY_CONV) < 0) {
        free(r);
        return;
    }
    r->now = now_ms;
    batch_t *b = batch_new(k, NULL, on_conv_read, r, free);
    batch_cmd(b, "HMGET %s esc_ms res_q state", ck);
    batch_run(b);
}

void console_sla_closed(hilo_console_t *k, const char *debtor) {
    closed_t *r = hilo_xcalloc(1, sizeof *r);
    snprintf(r->debtor, sizeof r->debtor, "%s", debtor);
    console_stats_clock(k, closed_at, r, free);
}
