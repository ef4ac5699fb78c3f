/* drill_alerts.c — the supervisor's live SLA alerts (docs/console-protocol.md, "SLA alerts"):
 * once a second, while a supervisor on this router follows the floor, every conversation that
 * passed a target and is still open on it is pushed as {"t":"sla_alerts"}: waiting for a first
 * reply past the queue's first-response target, or escalated and not closed past its
 * resolution target. route_offer.lua puts each breach it counts on the queue's
 * hilo:{q:<queue>}:overdue (member "f|<debtor>|<esc_ms>" or "r|...", score the deadline);
 * here each is checked against its conversation, and one that no longer holds (answered,
 * closed, back to the bot, escalated again since) is removed from the set. One command per
 * key; the alerts read ALERTS_PER_QUEUE of each queue's newest breaches at most. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill_rows.h"
#include "hilo/common.h"
#include "hilo/log.h"
#include "sla.h"

#define ALERTS_PER_QUEUE 20
#define ALERTS_QUEUES 60    /* queues looked at per push (a batch holds 64 commands) */

typedef struct {
    int64_t now;
    json_t *entries;        /* [[queue, kind, debtor, esc_ms, deadline_ms], ...], as the rows */
} alerts_t;

static void alerts_free(void *arg) {
    alerts_t *a = arg;
    json_decref(a->entries);
    free(a);
}

static void alerts_done(hilo_console_t *k, alerts_t *a) {
    k->alerts_inflight = false;
    alerts_free(a);
}

static void alerts_dropped(void *arg) {
    alerts_free(arg); /* the router is closing: nothing more is sent */
}

/* Does the breach still hold for the conversation as it is now? */
static bool breach_holds(const json_t *row, const char *kind, const char *esc) {
    const char *st = jstr(row, "state"), *e = jstr(row, "esc_ms");
    if (!st || !e || strcmp(e, esc) != 0 || (strcmp(st, "queued") != 0 && strcmp(st, "assigned") != 0)) return false;
    if (kind[0] == 'r') return true;
    int64_t resp = drill_row_ms(row, "resp_ms");
    return !(resp && resp >= strtoll(esc, NULL, 10)); /* not answered since the escalation */
}

static void on_alert_rows(hilo_console_t *k, json_t *rows, void *arg) {
    alerts_t *a = arg;
    if (!rows) return alerts_done(k, a);
    json_t *list = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(a->entries, i, e) {
        const char *q = json_string_value(json_array_get(e, 0)), *kind = json_string_value(json_array_get(e, 1)),
                   *d = json_string_value(json_array_get(e, 2)), *esc = json_string_value(json_array_get(e, 3));
        json_t *row = json_array_get(rows, i);
        if (!row) break;
        if (!breach_holds(row, kind, esc)) {
            char member[CONSOLE_ID_MAX + 64];
            snprintf(member, sizeof member, "%s|%s|%s", kind, d, esc);
            const char *argv[] = {"ZREM", "", member};
            char key[HILO_SLA_QUEUE_MAX + 32];
            snprintf(key, sizeof key, "hilo:{q:%s}:overdue", q);
            argv[1] = key;
            hilo_store_argv(k->ctx->store, NULL, NULL, 3, argv, NULL);
            continue;
        }
        const hilo_sla_target_t *t = hilo_sla_target(&k->cfg->sla, q);
        int64_t since = strtoll(esc, NULL, 10);
        json_int_t deadline = json_integer_value(json_array_get(e, 4));
        const char *ch = jstr(row, "agent_ch") ? jstr(row, "agent_ch") : jstr(row, "last_channel");
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s,s:O?,s:s?,s:O?,s:O?,s:I,s:I,s:I,s:I,s:I}", "kind",
                            kind[0] == 'f' ? "first_response" : "resolution", "queue", q, "debtor", d, "name",
                            json_object_get(row, "name"), "channel", ch, "state", json_object_get(row, "state"),
                            "agent", json_object_get(row, "agent"), "since_ms", (json_int_t)since, "deadline_ms",
                            deadline, "target_ms",
                            (json_int_t)(kind[0] == 'f' ? t->first_response_ms : t->resolution_ms), "waited_ms",
                            (json_int_t)(a->now - since), "over_ms", (json_int_t)(a->now - deadline)));
    }
    json_t *msg = json_pack("{s:s,s:I,s:o}", "t", "sla_alerts", "now", (json_int_t)a->now, "alerts", list);
    for (conn_t *c = k->conns; c; c = c->next)
        if (c->floor && c->state == CONN_READY && c->ws) conn_send(c, json_incref(msg));
    json_decref(msg);
    alerts_done(k, a);
}

/* Round 2: each queue's newest breaches. The rows are then read for their debtors. */
static void on_overdue(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    alerts_t *a = arg;
    json_t *queues = a->entries; /* round 1 left the queue names here */
    a->entries = json_array();
    json_t *debtors = json_array();
    for (int i = 0; i < n && json_array_size(debtors) < DRILL_ROWS_MAX; i++) {
        if (!json_is_array(res[i])) continue;
        const char *q = json_string_value(json_array_get(queues, (size_t)i));
        for (size_t j = 0; j + 1 < json_array_size(res[i]) && json_array_size(debtors) < DRILL_ROWS_MAX; j += 2) {
            const char *m = json_string_value(json_array_get(res[i], j));
            const char *score = json_string_value(json_array_get(res[i], j + 1));
            char kind[2], d[CONSOLE_ID_MAX + 32], esc[24];
            if (!m || !score || sscanf(m, "%1[fr]|%95[^|]|%23[0-9]", kind, d, esc) != 3) continue;
            json_array_append_new(a->entries, json_pack("[s,s,s,s,I]", q, kind, d, esc,
                                                        (json_int_t)strtoll(score, NULL, 10)));
            json_array_append_new(debtors, json_string(d));
        }
    }
    json_decref(queues);
    drill_rows_read(k, debtors, on_alert_rows, a, alerts_dropped);
    json_decref(debtors);
}

static void on_queues(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    alerts_t *a = arg;
    if (n < 1 || !json_is_array(res[0])) return alerts_done(k, a);
    a->entries = json_array();
    batch_t *b = batch_new(k, NULL, on_overdue, a, alerts_dropped);
    size_t i;
    json_t *q;
    json_array_foreach(res[0], i, q) {
        const char *name = json_string_value(q);
        if (!name || strlen(name) > HILO_SLA_QUEUE_MAX || json_array_size(a->entries) >= ALERTS_QUEUES) continue;
        json_array_append(a->entries, q);
        batch_cmd(b, "ZREVRANGE hilo:{q:%s}:overdue 0 %lld WITHSCORES", name, (long long)ALERTS_PER_QUEUE - 1);
    }
    if (json_array_size(a->entries) == 0) batch_cmd(b, "ZRANGE hilo:none 0 0");
    batch_run(b);
}

static void alerts_start(hilo_console_t *k, int64_t now, void *arg) {
    alerts_t *a = arg;
    a->now = now;
    batch_t *b = batch_new(k, NULL, on_queues, a, alerts_dropped);
    batch_cmd(b, "SMEMBERS hilo:queues");
    batch_run(b);
}

void console_alerts_tick(hilo_console_t *k) {
    if (k->alerts_inflight) return;
    k->alerts_inflight = true;
    alerts_t *a = hilo_xcalloc(1, sizeof *a);
    console_stats_clock(k, alerts_start, a, alerts_dropped);
}
