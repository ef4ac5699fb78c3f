/* supervisor.c — the supervisor's live floor: once a second, when a supervisor on this router
 * follows it, floor_stats.lua computes queues, agents, escalations, compliance blocks, bot
 * containment and the channel mix in one read-only step, and the result is pushed to every
 * following supervisor. Reassigning and setting an agent's state go through routing.c
 * (agent_ops.lua with the supervisor role). */
#include <stdio.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/log.h"

static void on_floor(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    (void)arg;
    k->floor_inflight = false;
    const char *s = n >= 1 ? json_string_value(res[0]) : NULL;
    if (!s) {
        const char *e = n >= 1 && res[0] ? jstr(res[0], "error") : "no reply";
        hilo_log_warn("console", "event=floor_failed reply=\"%s\"", e ? e : "?");
        return;
    }
    size_t len = strlen(s);
    for (conn_t *c = k->conns; c; c = c->next)
        if (c->floor && c->state == CONN_READY && c->ws) hilo_ws_send(c->ws, s, len);
}

void console_floor_tick(hilo_console_t *k) {
    bool any = false;
    for (conn_t *c = k->conns; c && !any; c = c->next) any = c->floor && c->state == CONN_READY && c->ws;
    if (!any || k->floor_inflight || !hilo_store_ready(k->ctx->store)) return;
    k->floor_inflight = true;
    char now[24], sla[24];
    snprintf(now, sizeof now, "%lld", (long long)hilo_now_ms());
    snprintf(sla, sizeof sla, "%lld", (long long)k->cfg->console_sla_s * 1000);
    const char *args[2] = {now, sla};
    batch_t *b = batch_new(k, NULL, on_floor, NULL);
    batch_script(b, SCRIPT_FLOOR, 2, args);
    batch_run(b);
}

static void on_agents(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k;
    json_t *rid = arg;
    if (n >= 1 && json_is_array(res[0])) conn_ok(c, rid, json_pack("{s:O}", "agents", res[0]));
    else conn_error(c, rid, "unavailable", "try again");
    json_decref(rid);
}

/* {"t":"agents"}: the agent ids, for the reassign picker. */
void console_agents_list(conn_t *c, json_t *rid) {
    batch_t *b = batch_new(c->console, c, on_agents, json_incref(rid));
    batch_cmd(b, "SMEMBERS hilo:agents");
    batch_run(b);
}
