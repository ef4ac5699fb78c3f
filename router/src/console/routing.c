/* routing.c — the C side of routing to humans: runs route_offer.lua on every tick (offers,
 * accept timeouts, agents gone past the grace period; deadlines live in Redis so any router
 * sweeps them), and agent_ops.lua for what agents and supervisors do (accept, decline,
 * transfer, wrap-up, close, availability; a promise edited or cancelled from the debtor
 * panel). Capacity is checked and reserved inside the scripts, atomically. reopen.lua for closed conversations the debtor writes to again: on
 * the commit's word (inbound.c), its retries, and a periodic sweep of hilo:closed for the
 * reopens a stopped router never did. */
#include <stdio.h>
#include <string.h>

#include "calls.h"
#include "console_int.h"
#include "promise_ledger.h"
#include "sla.h"
#include "hilo/common.h"
#include "hilo/keys.h"
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

/* Offer deadlines and presence follow the router's clock; the SLA and the day's counters the
 * stats clock (the test clock under [engine] test_clock: sla_mark.c). */
static void route_run(hilo_console_t *k, int64_t stats_now, void *arg) {
    (void)arg;
    char now[24], timeout[24], grace[24], scan[24], reopen[24], snow[24], day[24];
    int64_t d, start;
    console_business_day(k, stats_now, &d, &start);
    snprintf(snow, sizeof snow, "%lld", (long long)stats_now);
    snprintf(day, sizeof day, "%lld", (long long)d);
    snprintf(now, sizeof now, "%lld", (long long)hilo_now_ms());
    snprintf(timeout, sizeof timeout, "%ld", k->cfg->console_offer_timeout_ms);
    snprintf(grace, sizeof grace, "%ld", k->cfg->console_grace_ms);
    snprintf(scan, sizeof scan, "%d", ROUTE_SCAN);
    snprintf(reopen, sizeof reopen, "%lld", (long long)k->cfg->console_reopen_window_s * 1000);
    char max_offers[24], cooldown[24];
    snprintf(max_offers, sizeof max_offers, "%ld", k->cfg->console_max_offers);
    snprintf(cooldown, sizeof cooldown, "%ld", k->cfg->console_decline_cooldown_ms);
    const char *args[11] = {now,  timeout, grace, scan, reopen, ROUTE_INDEX_REFRESH, snow, day, k->cfg->sla.targets_json,
                            max_offers, cooldown};
    batch_t *b = batch_new(k, NULL, on_routed, NULL, NULL);
    batch_script(b, SCRIPT_ROUTE, 11, args);
    batch_run(b);
}

void console_route_tick(hilo_console_t *k) {
    if (k->route_inflight) return;
    k->route_inflight = true;
    console_stats_clock(k, route_run, NULL, NULL);
}

#define REOPEN_RETRY_MS 1000
#define REOPEN_RETRY_MAX 10000 /* debtors kept for a retry; past it the oldest are given up */

#define REOPEN_SWEEP_PAGE "200" /* hilo:closed entries per ZSCAN page (one page per tick) */

/* The debtors of one reopen.lua call, for a retry should it fail. */
typedef struct {
    const char *source; /* "message" (the commit found it closed), "retry" or "sweep" */
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

static void reopen_call(hilo_console_t *k, const char **debtors, int n, const char *source);

static void reopen_req_free(void *arg) {
    reopen_req_t *q = arg;
    for (int i = 0; i < q->n; i++) free(q->debtors[i]);
    free(q);
}

static void on_reopened(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    reopen_req_t *q = arg;
    json_t *r = n >= 1 ? res[0] : NULL;
    if (json_is_array(r) && json_is_integer(json_array_get(r, 0))) {
        json_int_t reopened = json_integer_value(json_array_get(r, 0));
        /* The satisfaction answers reopen.lua recorded on the debtors' keys, added to their
         * queue's totals as a step of its own on the queue's slot (a crash in between: the
         * answer stays on the conversation and in its audit, missing from the floor's average). */
        json_t *csat = json_array_get(r, 1);
        for (size_t i = 0; i + 1 < json_array_size(csat); i += 2) {
            const char *queue = json_string_value(json_array_get(csat, i));
            const char *score = json_string_value(json_array_get(csat, i + 1));
            if (!queue || !score || !hilo_sla_queue_name_ok(queue, strlen(queue))) continue;
            hilo_store_command(k->ctx->store, NULL, NULL, "HINCRBY hilo:{q:%s}:csat n 1", queue);
            hilo_store_command(k->ctx->store, NULL, NULL, "HINCRBY hilo:{q:%s}:csat sum %s", queue, score);
        }
        /* A sweep that reopens something found a message no router had answered: worth a
         * warning (a router stopped between a commit and its reopen). */
        if (reopened > 0 && strcmp(q->source, "sweep") == 0)
            hilo_log_warn("console", "event=reopened conversations=%lld source=sweep", (long long)reopened);
        else if (reopened > 0)
            hilo_log_info("console", "event=reopened conversations=%lld source=%s", (long long)reopened, q->source);
    } else {
        const char *e = n >= 1 && res[0] ? jstr(res[0], "error") : "no reply";
        if (strcmp(q->source, "sweep") == 0) {
            /* Most of a sweep's debtors need nothing: the next sweep tries them all again,
             * rather than the retry list filling with them. */
            hilo_log_warn("console", "event=reopen_failed conversations=%d source=sweep reply=\"%s\" "
                                     "effect=\"swept again in %ld s\"",
                          q->n, e ? e : "?", k->cfg->console_reopen_sweep_s);
        } else {
            hilo_log_warn("console", "event=reopen_failed conversations=%d reply=\"%s\" effect=\"tried again in %d ms\"",
                          q->n, e ? e : "?", REOPEN_RETRY_MS);
            keep_for_retry(k, q);
        }
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
    reopen_call(k, (const char **)debtors, (int)n, "retry");
    for (size_t i = 0; i < n; i++) free(debtors[i]);
    free(debtors);
}

void console_reopen_forget(hilo_console_t *k) {
    for (size_t i = 0; i < k->reopen_nretry; i++) free(k->reopen_retry[i]);
    free(k->reopen_retry);
    k->reopen_retry = NULL;
    k->reopen_nretry = 0;
}

static void reopen_call(hilo_console_t *k, const char **debtors, int n, const char *source) {
    if (n == 0 || k->cfg->console_reopen_window_s == 0) return;
    reopen_req_t *q = hilo_xmalloc(sizeof *q + (size_t)n * sizeof q->debtors[0]);
    q->source = source;
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
    batch_t *b = batch_new(k, NULL, on_reopened, q, reopen_req_free);
    batch_argv(b, n + 5, argv, NULL);
    batch_mark_script(b, SCRIPT_REOPEN);
    batch_run(b);
    free(argv);
}

void console_reopen(hilo_console_t *k, const char **debtors, int n) { reopen_call(k, debtors, n, "message"); }

/* --- the sweep of hilo:closed ------------------------------------------------------------ */

static void sweep_done(hilo_console_t *k) {
    k->reopen_sweep_cursor[0] = '\0';
    k->reopen_sweep_ms = hilo_now_ms() + k->cfg->console_reopen_sweep_s * 1000;
}

static void on_sweep_page(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)conn;
    (void)arg;
    k->reopen_sweep_inflight = false;
    json_t *r = n >= 1 ? res[0] : NULL;
    const char *cursor = json_is_array(r) && json_array_size(r) == 2 ? json_string_value(json_array_get(r, 0)) : NULL;
    json_t *page = cursor ? json_array_get(r, 1) : NULL;
    if (!json_is_array(page) || strlen(cursor) >= sizeof k->reopen_sweep_cursor) {
        const char *e = r && json_is_object(r) ? jstr(r, "error") : "unexpected reply";
        hilo_log_warn("console", "event=reopen_sweep_failed reply=\"%s\" effect=\"swept again in %ld s\"", e ? e : "?",
                      k->cfg->console_reopen_sweep_s);
        sweep_done(k);
        return;
    }
    /* ZSCAN's page: member, score, member, score... */
    int m = (int)(json_array_size(page) / 2);
    const char **debtors = hilo_xmalloc(sizeof *debtors * (size_t)(m ? m : 1));
    int nd = 0;
    for (int i = 0; i < m; i++) {
        const char *d = json_string_value(json_array_get(page, (size_t)i * 2));
        if (d && console_debtor_ok(d)) debtors[nd++] = d;
    }
    reopen_call(k, debtors, nd, "sweep");
    free(debtors);
    k->reopen_swept += nd;
    if (strcmp(cursor, "0") == 0) {
        hilo_log_debug("console", "event=reopen_swept closed=%ld", k->reopen_swept);
        sweep_done(k);
    } else {
        snprintf(k->reopen_sweep_cursor, sizeof k->reopen_sweep_cursor, "%s", cursor);
    }
}

void console_reopen_sweep(hilo_console_t *k) {
    if (k->reopen_sweep_inflight || k->cfg->console_reopen_window_s == 0) return;
    if (!k->reopen_sweep_cursor[0]) {
        if (hilo_now_ms() < k->reopen_sweep_ms) return;
        k->reopen_swept = 0;
        snprintf(k->reopen_sweep_cursor, sizeof k->reopen_sweep_cursor, "0");
    }
    k->reopen_sweep_inflight = true;
    batch_t *b = batch_new(k, NULL, on_sweep_page, NULL, NULL);
    batch_cmd(b, "ZSCAN hilo:closed %s COUNT " REOPEN_SWEEP_PAGE, k->reopen_sweep_cursor);
    batch_run(b);
}

typedef struct {
    json_t *rid;
    conn_t *conn;                    /* the actor's socket (a reference is held) */
    char *args;                      /* the op's arguments as JSON */
    char op[16];
    char debtor[CONSOLE_ID_MAX + 32];
    char target[CONSOLE_ID_MAX + 1]; /* op "state": the agent whose state is set ("" = the actor) */
} op_t;

/* A refusal with its words (refusals.c) and, when the script gave one, its detail. */
static void op_refused(conn_t *c, json_t *rid, const char *code, const char *detail) {
    char text[512];
    console_refusal_text(code, detail, text, sizeof text);
    json_t *m = json_pack("{s:s,s:s,s:s}", "t", "error", "code", code, "text", text);
    if (detail) json_object_set_new(m, "detail", json_string(detail));
    if (rid) json_object_set(m, "rid", rid);
    conn_send(c, m);
}

static void op_free(void *arg) {
    op_t *o = arg;
    json_decref(o->rid);
    free(o->args);
    if (o->conn) conn_unref(o->conn);
    free(o);
}

static void on_op(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg);

/* A promise was cancelled or edited: the strategy runners look at the debtor again now (a
 * cancelled promise no longer stops its strategy; an edited one changes {due_date}), a step of
 * its own on the schedule's partition. Lost (Redis down, a crash before it), the runners' own
 * recheck of stopped debtors ([strategies] recheck_s) comes to the same. XX: a debtor in no
 * strategy is not added. */
static void promise_changed(hilo_console_t *k, const char *debtor) {
    char sched[HILO_KEY_MAX];
    if (hilo_key_sched(sched, sizeof sched, hilo_outbox_partition(debtor)) < 0) return;
    hilo_store_command(k->ctx->store, NULL, NULL, "ZADD %s XX 0 %s", sched, debtor);
}

/* An accepted voice offer with its caller on the line (agent_ops.lua accept's third element:
 * {"call", "caller", "phone", "queue"}): the call is put through to the agent's phone. The
 * accept stands whatever happens next: the call's events say how it went (calls.h). */
static void connect_call(hilo_console_t *k, const char *debtor, const json_t *r) {
    json_t *call = json_loads(json_string_value(json_array_get(r, 2)), 0, NULL);
    hilo_call_connect_t cc = {.debtor = debtor, .call_id = jstr(call, "call"), .caller = jstr(call, "caller"),
                              .target = jstr(call, "phone"), .queue = jstr(call, "queue")};
    if (cc.call_id && cc.caller && cc.target && cc.queue) hilo_calls_connect(k->ctx, &cc);
    json_decref(call);
}

/* agent_ops.lua: offer deadlines and presence by the router's clock (as the route sweep keeps
 * them); the day's counters and the ledger's checks and stamps (a due day or a call-back already
 * past) by the one clock, the stats clock: the test clock under [engine] test_clock. */
static void op_run(hilo_console_t *k, int64_t stats_now, void *arg) {
    op_t *o = arg;
    conn_t *c = o->conn;
    if (!conn_alive(c)) {
        op_free(o);
        return;
    }
    int64_t d, start;
    console_business_day(k, stats_now, &d, &start);
    char now[24], timeout[24], day[24], clock[24];
    snprintf(now, sizeof now, "%lld", (long long)hilo_now_ms());
    snprintf(timeout, sizeof timeout, "%ld", k->cfg->console_offer_timeout_ms);
    snprintf(day, sizeof day, "%lld", (long long)d);
    snprintf(clock, sizeof clock, "%lld", (long long)stats_now);
    const char *argv[9] = {o->op, c->agent, c->supervisor ? "supervisor" : "agent", o->debtor, now, o->args,
                           timeout, day, clock};
    batch_t *b = batch_new(k, c, on_op, o, op_free);
    batch_script(b, SCRIPT_OPS, 9, argv);
    batch_run(b);
}

static void on_op(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    op_t *o = arg;
    json_t *r = n >= 1 ? res[0] : NULL;
    if (!json_is_array(r) || json_array_size(r) < 2 || json_array_size(r) > 3) {
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
        if (strcmp(o->op, "accept") == 0 && json_is_string(json_array_get(r, 2))) connect_call(k, o->debtor, r);
        if (strcmp(o->op, "close") == 0 || (strcmp(o->op, "wrapup") == 0 && strstr(o->args, "\"close\":true"))) {
            console_sla_closed(k, o->debtor);
            console_system_msg(k, o->debtor, HILO_MSG_CLOSING, NULL); /* then the satisfaction question */
        }
        if (strcmp(o->op, "state") == 0 && o->target[0] && strcmp(o->target, c->agent) != 0)
            console_send_agent_of(k, o->target);
        if (strncmp(o->op, "promise_", 8) == 0) promise_changed(k, o->debtor);
        /* Moved to a queue for a person: the debtor hears so (unless they just did). */
        if (strcmp(o->op, "transfer") == 0 && strstr(o->args, "\"to_queue\"") && !strstr(o->args, "\"to_agent\""))
            console_system_msg(k, o->debtor, HILO_MSG_ACK, NULL);
    } else {
        const char *code = json_string_value(json_array_get(r, 1));
        const char *detail = json_string_value(json_array_get(r, 2)); /* (NULL when there is none) */
        /* An agent gets the same answer for a conversation that does not exist as for one that
         * is not theirs (the script's "not yours" code for that op), so debtor ids cannot be
         * probed; supervisors see every conversation anyway and may learn that one is absent. */
        if (code && strcmp(code, "not_found") == 0 && !c->supervisor)
            code = strcmp(o->op, "accept") == 0 || strcmp(o->op, "decline") == 0 ? "not_offered" : "not_assigned";
        op_refused(c, o->rid, code ? code : "refused", detail);
    }
    op_free(o);
}

/* What the wrap-up needs from the debtor's zone, read first; the op then runs with the result.
 * A promise an agent records is settled like the bot's (docs/promises.md): due at the end of its
 * day where the debtor lives ("due_ms"). A call-back time is the debtor's wall-clock time
 * ("callback_at", YYYY-MM-DDTHH:MM, as the console's form gives it): the router makes it an
 * instant in the debtor's zone ("callback_ms", with "callback_tz" recorded), never the zone of
 * the agent's browser. A debtor without a known zone: UTC, and the disposition says so. */
typedef struct {
    json_t *rid;
    json_t *args;
    char debtor[HILO_DEBTOR_ID_MAX + 1];
    char op[16];           /* wrapup, or promise_edit (a new due day) */
    bool callback;         /* else a promise */
    int y, m, d, h, mi;
} wrapup_t;

static void wrapup_free(void *arg) {
    wrapup_t *w = arg;
    json_decref(w->rid);
    json_decref(w->args);
    free(w);
}

static void on_wrapup_zone(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    wrapup_t *w = arg;
    const char *zone = n == 1 && json_is_string(res[0]) ? json_string_value(res[0]) : NULL;
    if (n != 1 || !res_ok(res[0])) {
        conn_error(c, w->rid, "unavailable", "the debtor's record could not be read; try again");
    } else {
        char err[128];
        const hilo_tz_t *tz = zone && *zone ? hilo_tzdb_get(k->tz, zone, err, sizeof err) : NULL;
        if (zone && *zone && !tz)
            hilo_log_warn("console", "event=debtor_zone_unknown debtor=%s zone=\"%s\" effect=\"%s taken as UTC\"",
                          w->debtor, zone, w->callback ? "the call-back time" : "the promise's day");
        if (w->callback) {
            int64_t s = tz ? hilo_tz_utc(tz, w->y, w->m, w->d, w->h, w->mi, 0)
                           : (hilo_days_from_civil(w->y, w->m, w->d) * 86400 + w->h * 3600 + w->mi * 60);
            json_object_set_new(w->args, "callback_ms", json_integer(s * 1000));
            json_object_set_new(w->args, "callback_tz", json_string(tz ? hilo_tz_name(tz) : "UTC"));
        } else {
            json_object_set_new(w->args, "due_ms", json_integer(hilo_promise_ledger_day_end_ms(tz, w->y, w->m, w->d)));
        }
        console_op(c, w->rid, w->op, w->debtor, w->args);
    }
    wrapup_free(w);
}

/* "YYYY-MM-DDTHH:MM" (seconds ":SS" allowed and ignored, as <input type=datetime-local> may
 * send them) into w; false when it is not one. */
static bool parse_local(const char *s, wrapup_t *w) {
    int sec = 0, used = 0;
    size_t len = strlen(s);
    if (len != 16 && len != 19) return false;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &w->y, &w->m, &w->d, &w->h, &w->mi, &used) != 5 || used != 16) return false;
    if (len == 19 && (sscanf(s + 16, ":%2d%n", &sec, &used) != 1 || used != 3 || sec < 0 || sec > 59)) return false;
    return hilo_date_valid(w->y, w->m, w->d) && w->h >= 0 && w->h <= 23 && w->mi >= 0 && w->mi <= 59;
}

/* agent_ops.lua's op leave, added to batch b (its header): an agent taken out of routing when
 * they leave. Deadlines and the day's counters by the router's clock: leave runs inside the
 * logout's own batch, which cannot wait for the stats clock (op_run's). */
static void ops_script(hilo_console_t *k, batch_t *b, const char *op, const char *agent, const char *debtor,
                       const json_t *args) {
    char *aj = json_dumps(args, JSON_COMPACT);
    int64_t d, start, now_ms = hilo_now_ms();
    console_business_day(k, now_ms, &d, &start);
    char now[24], timeout[24], day[24];
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(timeout, sizeof timeout, "%ld", k->cfg->console_offer_timeout_ms);
    snprintf(day, sizeof day, "%lld", (long long)d);
    const char *argv[8] = {op, agent, "agent", debtor, now, aj ? aj : "{}", timeout, day};
    batch_script(b, SCRIPT_OPS, 8, argv);
    free(aj);
}

static void leave_script(hilo_console_t *k, batch_t *b, const char *agent, const json_t *args) {
    ops_script(k, b, "leave", agent, "", args);
}

typedef struct {
    char op[24];
    char debtor[HILO_DEBTOR_ID_MAX + 1];
    hilo_console_done_fn done;
    void *arg;
} router_op_t;

static void on_router_op(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)k, (void)c;
    router_op_t *u = arg;
    json_t *r = n >= 1 ? res[0] : NULL;
    /* {1, ok|done} or {0, code}: settled either way; an error (NOPERM, NOSCRIPT, no reply) is
     * not, and the caller tries again. */
    bool settled = json_is_array(r);
    const char *code = settled ? json_string_value(json_array_get(r, 1)) : "unavailable";
    hilo_log_info("console", "event=%s debtor=%s result=%s", u->op, u->debtor, code ? code : "?");
    u->done(u->arg, settled ? HILO_OK : HILO_AGAIN);
    free(u);
}

static void router_op_closing(void *arg) {
    router_op_t *u = arg;
    u->done(u->arg, HILO_ERR);
    free(u);
}

/* An agent_ops.lua op run by the router itself (no actor), its end told to done. */
static void router_op(hilo_console_t *k, const char *op, const char *debtor, const json_t *args,
                      hilo_console_done_fn done, void *arg) {
    if (!k || !console_debtor_ok(debtor)) {
        done(arg, HILO_OK); /* no conversation anyone could change */
        return;
    }
    router_op_t *u = hilo_xcalloc(1, sizeof *u);
    snprintf(u->op, sizeof u->op, "%s", op);
    snprintf(u->debtor, sizeof u->debtor, "%s", debtor);
    u->done = done;
    u->arg = arg;
    batch_t *b = batch_new(k, NULL, on_router_op, u, router_op_closing);
    ops_script(k, b, op, "", debtor, args);
    batch_run(b);
}

/* The engine saw that the agent's phone did not answer the call it was connected to. */
void hilo_console_call_unanswered(hilo_console_t *k, const char *debtor, const char *call_id, const char *turn,
                                  hilo_console_done_fn done, void *arg) {
    json_t *args = json_pack("{s:s,s:s}", "call", call_id, "turn", turn);
    router_op(k, "call_unanswered", debtor, args, done, arg);
    json_decref(args);
}

/* A connect order's FAILED report (calls.c). */
void hilo_console_call_connect_failed(hilo_console_t *k, const char *debtor, const char *call_id, const char *order,
                                      int64_t order_ms, const char *code, hilo_console_done_fn done, void *arg) {
    json_t *args = json_pack("{s:s,s:s,s:I,s:s}", "call", call_id, "order", order, "order_ms", (json_int_t)order_ms,
                             "code", code);
    router_op(k, "call_connect_failed", debtor, args, done, arg);
    json_decref(args);
}

void console_op(conn_t *c, json_t *rid, const char *op, const char *debtor, json_t *args) {
    hilo_console_t *k = c->console;
    const char *code = jstr(args, "code"), *due = jstr(args, "due");
    int y, m, d;
    char tail;
    const char *cb_at = jstr(args, "callback_at");
    bool is_wrapup = strcmp(op, "wrapup") == 0 && code;
    bool promise = ((is_wrapup && strcmp(code, "promise_to_pay") == 0) || strcmp(op, "promise_edit") == 0) && due &&
                   !json_object_get(args, "due_ms") &&
                   sscanf(due, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
    bool callback = is_wrapup && strcmp(code, "callback") == 0 && cb_at && !json_object_get(args, "callback_tz");
    if (promise || callback) {
        wrapup_t *w = hilo_xcalloc(1, sizeof *w);
        if (callback && !parse_local(cb_at, w)) {
            free(w);
            op_refused(c, rid, "bad_callback", "format");
            return;
        }
        w->rid = json_incref(rid);
        w->args = json_deep_copy(args);
        snprintf(w->debtor, sizeof w->debtor, "%s", debtor);
        snprintf(w->op, sizeof w->op, "%s", op);
        w->callback = callback;
        if (promise) w->y = y, w->m = m, w->d = d;
        batch_t *b = batch_new(k, c, on_wrapup_zone, w, wrapup_free);
        batch_cmd(b, "HGET hilo:{d:%s}:debtor timezone", debtor);
        batch_run(b);
        return;
    }
    /* An agent named by the client must be an account id: agent_ops.lua builds key names from
     * it (hilo:agent:<id>, ...:live), so "ana:live" would pass its EXISTS check on another key
     * and have it write keys for an agent that does not exist. */
    const char *named[2] = {jstr(args, "agent"), jstr(args, "to_agent")};
    for (int i = 0; i < 2; i++) {
        if (!named[i] || console_agent_id_ok(named[i])) continue;
        if (i == 0 && !c->supervisor) conn_error(c, rid, "forbidden", "forbidden");
        else conn_error(c, rid, "unknown_agent", "unknown_agent");
        return;
    }
    /* Who may do what (another agent's state, someone else's conversation) is decided in
     * the script from the actor's id and role, atomically with the change. */
    json_t *a = json_deep_copy(args);
    json_object_del(a, "t");
    json_object_del(a, "rid");
    json_object_del(a, "debtor");
    char *aj = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    op_t *o = hilo_xcalloc(1, sizeof *o);
    o->rid = json_incref(rid);
    o->conn = c;
    conn_ref(c);
    o->args = aj;
    snprintf(o->op, sizeof o->op, "%s", op);
    snprintf(o->debtor, sizeof o->debtor, "%s", debtor);
    const char *target = jstr(args, "agent");
    if (target && console_agent_id_ok(target)) snprintf(o->target, sizeof o->target, "%s", target);
    console_stats_clock(k, op_run, o, op_free);
}

/* --- an agent leaves ---------------------------------------------------------------------- */

static void on_left(hilo_console_t *k, conn_t *conn, json_t **res, int n, void *arg) {
    (void)k;
    (void)conn;
    char *who = arg;
    json_t *r = n >= 1 ? res[0] : NULL;
    const char *said = json_is_array(r) ? json_string_value(json_array_get(r, 1)) : NULL;
    if (json_is_array(r) && json_integer_value(json_array_get(r, 0)) == 1)
        hilo_log_info("console", "event=agent_left agent=%s routing=%s", who,
                      said && strcmp(said, "kept") == 0 ? "kept" : "offline");
    else
        hilo_log_warn("console", "event=agent_leave_failed agent=%s effect=\"out of routing after the grace period\"",
                      who);
    free(who);
}

void console_agent_leave(hilo_console_t *k, batch_t *b, const char *agent, const char *session, const char *why) {
    json_t *a = json_pack("{s:s,s:s}", "session", session, "why", why);
    bool own = b == NULL;
    if (own) b = batch_new(k, NULL, on_left, hilo_xstrdup(agent), free);
    leave_script(k, b, agent, a);
    json_decref(a);
    if (own) batch_run(b);
}
