/* strategies.c — the outbound strategies in the console (docs/console-protocol.md,
 * "Strategies"). Supervisors follow the strategies panel with {"t":"strategies"}: once a second,
 * while a supervisor on this router follows it, every strategy this router has loaded is read
 * (its control state hilo:{s:NAME}:state and its funnel hilo:{s:NAME}:funnel, both written by
 * the strategy runner and `hilo strategy start|pause|resume`) and pushed as one `strategies`
 * message — the floor's rhythm (supervisor.c). Agents get the debtor's place in its strategy with
 * the conversation (views.c calls console_strategy_of_debtor). The JSON shapes are
 * strategy_view.c's; this file does the protocol, the authorisation and the Redis reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/strategy.h"
#include "strategy_run.h"
#include "strategy_view.h"

#define READ_CHUNK 30  /* strategies per batch: 2 commands each, within batch.c's 64 */
#define EVENTS_MAX 5   /* strategy audit events shown in a debtor panel */

static const hilo_strategy_set_t *loaded(const hilo_console_t *k) {
    return k->ctx->strategies ? hilo_strategy_run_set(k->ctx->strategies) : NULL;
}

/* A strategy name as the files allow them: 1..64 of [a-z0-9_-]. */
static bool name_ok(const char *s) {
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= HILO_STRATEGY_NAME_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* --- the supervisor's panel ----------------------------------------------------------------- */

typedef struct {
    json_t *list;   /* the described strategies being completed, in priority order */
    size_t from;    /* the first one this batch reads */
} sread_t;

static void sread_free(void *arg) {
    sread_t *a = arg;
    json_decref(a->list);
    free(a);
}

static void read_chunk(hilo_console_t *k, json_t *list, size_t from);

/* The panel to every following supervisor: one encoding for those who follow all strategies,
 * a message of its own for each one who follows a single strategy. */
static void push(hilo_console_t *k, json_t *list) {
    json_int_t now = (json_int_t)hilo_now_ms();
    char *all = NULL;
    for (conn_t *c = k->conns; c; c = c->next) {
        if (!c->strategies || c->state != CONN_READY || !c->ws) continue;
        if (!c->strategy_filter[0]) {
            if (!all) {
                json_t *m = json_pack("{s:s,s:O,s:I}", "t", "strategies", "strategies", list, "now", now);
                all = json_dumps(m, JSON_COMPACT);
                json_decref(m);
            }
            if (all) hilo_ws_send(c->ws, all, strlen(all));
            continue;
        }
        json_t *one = json_array();
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s) {
            const char *name = jstr(s, "name");
            if (name && strcmp(name, c->strategy_filter) == 0) json_array_append(one, s);
        }
        conn_send(c, json_pack("{s:s,s:o,s:I}", "t", "strategies", "strategies", one, "now", now));
    }
    free(all);
}

static void on_chunk(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    sread_t *a = arg;
    size_t total = json_array_size(a->list), to = a->from;
    for (int r = 0; to < total && r + 1 < n; r += 2, to++) {
        if (!res[r] || !res[r + 1]) { /* Redis failed: the next second tries again */
            hilo_log_warn("console", "event=strategies_read_failed strategy=%s",
                          hilo_log_value(jstr(json_array_get(a->list, to), "name")));
            k->strategies_inflight = false;
            sread_free(a);
            return;
        }
        console_strategy_complete(json_array_get(a->list, to), res[r], res[r + 1]);
    }
    if (to < total) {
        read_chunk(k, a->list, to); /* the next strategies; the list moves on with them */
        free(a);
        return;
    }
    push(k, a->list);
    k->strategies_inflight = false;
    sread_free(a);
}

static void read_chunk(hilo_console_t *k, json_t *list, size_t from) {
    sread_t *a = hilo_xcalloc(1, sizeof *a);
    a->list = list;
    a->from = from;
    batch_t *b = batch_new(k, NULL, on_chunk, a, sread_free);
    for (size_t i = from; i < json_array_size(list) && i < from + READ_CHUNK; i++) {
        const char *name = jstr(json_array_get(list, i), "name");
        char ks[HILO_KEY_MAX], kf[HILO_KEY_MAX];
        if (hilo_key_strategy(ks, sizeof ks, name, "state") < 0 || hilo_key_strategy(kf, sizeof kf, name, "funnel") < 0) {
            snprintf(ks, sizeof ks, "hilo:invalid");
            snprintf(kf, sizeof kf, "hilo:invalid");
        }
        batch_cmd(b, "GET %s", ks);
        batch_cmd(b, "HGETALL %s", kf);
    }
    batch_run(b);
}

void console_strategies_tick(hilo_console_t *k) {
    bool any = false;
    for (conn_t *c = k->conns; c && !any; c = c->next) any = c->strategies && c->state == CONN_READY && c->ws;
    if (!any || k->strategies_inflight || !hilo_store_ready(k->ctx->store)) return;
    /* Described now, from the set loaded now: a reload (SIGHUP) between the reads of two chunks
     * changes nothing already described, and no pointer into the old set is kept. */
    const hilo_strategy_set_t *set = loaded(k);
    json_t *list = json_array();
    for (size_t i = 0; set && i < hilo_strategy_set_count(set); i++)
        json_array_append_new(list, console_strategy_describe(hilo_strategy_set_get(set, i)));
    k->strategies_inflight = true;
    read_chunk(k, list, 0);
}

/* {"t":"strategies", "strategy"?: NAME, "follow"?: bool} */
void console_strategies_request(conn_t *c, json_t *rid, const json_t *m) {
    if (!c->supervisor) {
        conn_error(c, rid, "forbidden", "supervisors only");
        return;
    }
    const json_t *follow = json_object_get(m, "follow"), *name = json_object_get(m, "strategy");
    if (follow && !json_is_boolean(follow)) {
        conn_error(c, rid, "bad_request", "\"follow\" must be true or false");
        return;
    }
    if (name && !name_ok(json_string_value(name))) {
        conn_error(c, rid, "bad_request", "\"strategy\" must be a strategy name (1-64 of a-z, 0-9, _ and -)");
        return;
    }
    if (follow && json_is_false(follow)) {
        c->strategies = false;
        c->strategy_filter[0] = '\0';
        conn_ok(c, rid, NULL);
        return;
    }
    const hilo_strategy_set_t *set = loaded(c->console);
    if (name && !(set && hilo_strategy_set_find(set, json_string_value(name)))) {
        char text[160];
        snprintf(text, sizeof text, "no strategy named '%s' is loaded", json_string_value(name));
        conn_error(c, rid, "not_found", text);
        return;
    }
    c->strategies = true;
    snprintf(c->strategy_filter, sizeof c->strategy_filter, "%s", name ? json_string_value(name) : "");
    conn_ok(c, rid, NULL);
    console_strategies_tick(c->console); /* the first panel now, not in up to a second */
}

/* --- the agent's debtor panel --------------------------------------------------------------- */

json_t *console_strategy_of_debtor(hilo_console_t *k, const json_t *conv, const json_t *audit) {
    return console_strategy_debtor(loaded(k), jstr(conv, "strat"), audit, EVENTS_MAX);
}
