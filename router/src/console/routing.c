/* routing.c — the C side of routing to humans: runs route_offer.lua on every tick (offers,
 * accept timeouts, agents gone past the grace period; deadlines live in Redis so any router
 * sweeps them), and agent_ops.lua for what agents and supervisors do (accept, decline,
 * transfer, wrap-up, close, availability). Capacity is checked and reserved inside the
 * scripts, atomically. */
#include <stdio.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/log.h"

#define ROUTE_SCAN 50 /* queue entries examined per queue and pass */
#define ROUTE_INDEX_REFRESH "200" /* agents whose routing-index entries are refreshed per pass */

static void on_routed(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    (void)arg;
    k->route_inflight = false;
    if (n < 1 || !res_ok(res[0])) {
        const char *e = n >= 1 && res[0] ? jstr(res[0], "error") : "no reply";
        hilo_log_warn("console", "event=route_failed reply=\"%s\"", e ? e : "?");
        return;
    }
    json_int_t offers = json_integer_value(res[0]);
    if (offers) hilo_log_debug("console", "event=routed offers=%lld", (long long)offers);
}

void console_route_tick(hilo_console_t *k) {
    if (k->route_inflight) return;
    k->route_inflight = true;
    char now[24], timeout[24], grace[24], scan[24], reopen[24];
    snprintf(now, sizeof now, "%lld", (long long)hilo_now_ms());
    snprintf(timeout, sizeof timeout, "%ld", k->cfg->console_offer_timeout_ms);
    snprintf(grace, sizeof grace, "%ld", k->cfg->console_grace_ms);
    snprintf(scan, sizeof scan, "%d", ROUTE_SCAN);
    snprintf(reopen, sizeof reopen, "%lld", (long long)k->cfg->console_reopen_window_s * 1000);
    const char *args[6] = {now, timeout, grace, scan, reopen, ROUTE_INDEX_REFRESH};
    batch_t *b = batch_new(k, NULL, on_routed, NULL);
    batch_script(b, SCRIPT_ROUTE, 6, args);
    batch_run(b);
}

#define REOPEN_RETRY_MS 1000
#define REOPEN_RETRY_MAX 10000 /* debtors kept for a retry; past it the oldest are given up */

/* The debtors of one reopen.lua call, for a retry should it fail. */
typedef struct {
    int n;
    char *debtors[];
} reopen_req_t;

/* Takes the request's strings into the retry list (each debtor once). */
static void keep_for_retry(hilo_console_t *k, reopen_req_t *q) {
    for (int i = 0; i < q->n; i++) {
        bool known = false;
        for (size_t j = 0; j < k->reopen_nretry && !known; j++) known = strcmp(k->reopen_retry[j], q->debtors[i]) == 0;
        if (known) {
            free(q->debtors[i]);
            continue;
        }
        if (k->reopen_nretry == REOPEN_RETRY_MAX) {
            hilo_log_error("console", "event=reopen_given_up debtor=%s effect=\"stays closed until the debtor's next "
                                      "message\" reason=\"%d reopens already waiting\"",
                           k->reopen_retry[0], REOPEN_RETRY_MAX);
            free(k->reopen_retry[0]);
            memmove(k->reopen_retry, k->reopen_retry + 1, (k->reopen_nretry - 1) * sizeof *k->reopen_retry);
            k->reopen_nretry--;
        }
        k->reopen_retry = hilo_xrealloc(k->reopen_retry, (k->reopen_nretry + 1) * sizeof *k->reopen_retry);
        k->reopen_retry[k->reopen_nretry++] = q->debtors[i];
    }
    q->n = 0;
    k->reopen_retry_ms = hilo_now_ms() + REOPEN_RETRY_MS;
}

static void reopen_req_free(void *arg) {
    reopen_req_t *q = arg;
    for (int i = 0; i < q->n; i++) free(q->debtors[i]);
    free(q);
}

static void on_reopened(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    reopen_req_t *q = arg;
    if (n >= 1 && json_is_integer(res[0])) {
        if (json_integer_value(res[0]) > 0)
            hilo_log_info("console", "event=reopened conversations=%lld", (long long)json_integer_value(res[0]));
    } else {
        const char *e = n >= 1 && res[0] ? jstr(res[0], "error") : "no reply";
        hilo_log_warn("console", "event=reopen_failed conversations=%d reply=\"%s\" effect=\"tried again in %d ms\"",
                      q->n, e ? e : "?", REOPEN_RETRY_MS);
        keep_for_retry(k, q);
    }
    reopen_req_free(q);
}

void console_reopen_retry(hilo_console_t *k) {
    if (k->reopen_nretry == 0 || hilo_now_ms() < k->reopen_retry_ms) return;
    char **debtors = k->reopen_retry;
    size_t n = k->reopen_nretry;
    k->reopen_retry = NULL;
    k->reopen_nretry = 0;
    hilo_log_info("console", "event=reopen_retry conversations=%zu", n);
    console_reopen(k, (const char **)debtors, (int)n);
    for (size_t i = 0; i < n; i++) free(debtors[i]);
    free(debtors);
}

void console_reopen_forget(hilo_console_t *k) {
    for (size_t i = 0; i < k->reopen_nretry; i++) free(k->reopen_retry[i]);
    free(k->reopen_retry);
    k->reopen_retry = NULL;
    k->reopen_nretry = 0;
}

void console_reopen(hilo_console_t *k, const char **debtors, int n) {
    if (n == 0 || k->cfg->console_reopen_window_s == 0) return;
    reopen_req_t *q = hilo_xmalloc(sizeof *q + (size_t)n * sizeof q->debtors[0]);
    q->n = n;
    for (int i = 0; i < n; i++) q->debtors[i] = hilo_xstrdup(debtors[i]);
    const char **argv = hilo_xmalloc(sizeof *argv * (size_t)(n + 5));
    char now[24], window[24];
    snprintf(now, sizeof now, "%lld", (long long)hilo_now_ms());
    snprintf(window, sizeof window, "%lld", (long long)k->cfg->console_reopen_window_s * 1000);
    argv[0] = "EVALSHA";
    argv[1] = k->scripts[SCRIPT_REOPEN].sha;
    argv[2] = "0";
    argv[3] = now;
    argv[4] = window;
    for (int i = 0; i < n; i++) argv[5 + i] = debtors[i];
    batch_t *b = batch_new(k, NULL, on_reopened, q);
    batch_own_arg(b, reopen_req_free);
    batch_argv(b, n + 5, argv, NULL);
    batch_mark_script(b, SCRIPT_REOPEN);
    batch_run(b);
    free(argv);
}

typedef struct {
    json_t *rid;
    char op[16];
    char debtor[CONSOLE_ID_MAX + 32];
    char target[CONSOLE_ID_MAX + 1]; /* op "state": the agent whose state is set ("" = the actor) */
} op_t;

static void on_op(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    op_t *o = arg;
    json_t *r = n >= 1 ? res[0] : NULL;
    if (!json_is_array(r) || json_array_size(r) != 2) {
        const char *e = r && json_is_object(r) ? jstr(r, "error") : "no reply";
        hilo_log_warn("console", "event=op_failed op=%s agent=%s reply=\"%s\"", o->op, c->agent, e ? e : "?");
        conn_error(c, o->rid, "unavailable", "the operation could not be completed; try again");
    } else if (json_integer_value(json_array_get(r, 0)) == 1) {
        hilo_log_info("console", "event=%s agent=%s debtor=%s", o->op, c->agent, o->debtor);
        conn_ok(c, o->rid, json_pack("{s:s,s:s}", "op", o->op, "debtor", o->debtor));
        /* The scripts announce the change on the event stream, which every router reads every
         * TICK_MS; the sockets on this router get the new view at once: the actor's own, and
         * for a state set by a supervisor, the target agent's. */
        if (strcmp(o->op, "state") == 0 || strcmp(o->op, "accept") == 0) console_send_agent(c);
        if (strcmp(o->op, "state") == 0 && o->target[0] && strcmp(o->target, c->agent) != 0)
            console_send_agent_of(k, o->target);
    } else {
        const char *code = json_string_value(json_array_get(r, 1));
        conn_error(c, o->rid, code ? code : "refused", code ? code : "refused");
    }
    json_decref(o->rid);
    free(o);
}

void console_op(conn_t *c, json_t *rid, const char *op, const char *debtor, json_t *args) {
    hilo_console_t *k = c->console;
    /* Who may do what (another agent's state, someone else's conversation) is decided in
     * the script from the actor's id and role, atomically with the change. */
    json_t *a = json_deep_copy(args);
    json_object_del(a, "t");
    json_object_del(a, "rid");
    json_object_del(a, "debtor");
    char *aj = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    char now[24], timeout[24], sla[24];
    snprintf(now, sizeof now, "%lld", (long long)hilo_now_ms());
    snprintf(timeout, sizeof timeout, "%ld", k->cfg->console_offer_timeout_ms);
    snprintf(sla, sizeof sla, "%lld", (long long)k->cfg->console_sla_s * 1000);
    const char *argv[8] = {op, c->agent, c->supervisor ? "supervisor" : "agent", debtor, now, aj, timeout, sla};
    op_t *o = hilo_xcalloc(1, sizeof *o);
    o->rid = json_incref(rid);
    snprintf(o->op, sizeof o->op, "%s", op);
    snprintf(o->debtor, sizeof o->debtor, "%s", debtor);
    const char *target = jstr(args, "agent");
    if (target && console_agent_id_ok(target)) snprintf(o->target, sizeof o->target, "%s", target);
    batch_t *b = batch_new(k, c, on_op, o);
    batch_script(b, SCRIPT_OPS, 8, argv);
    batch_run(b);
    free(aj);
}
