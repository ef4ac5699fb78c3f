/* promise_plan.c — a payment plan recorded from the console ({"t":"plan"}, docs/promises.md,
 * "From the console"): the total, the number of instalments and the first due day the debtor
 * agreed with the agent. The entries are the bot's (promise_ledger.c: one plan entry, one
 * promise per instalment, monthly, due at the end of each day where the debtor lives, the last
 * one what remains of the total), built here from the debtor's zone and currency and written by
 * agent_ops.lua (op promise_plan) in one atomic step that checks the open balance. The client
 * never sends entries: only the three numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/log.h"
#include "promise_ledger.h"

#define PLAN_INSTALMENTS_MAX 24

typedef struct {
    json_t *rid;
    char debtor[CONSOLE_ID_MAX + 32];
    int instalments;
    int64_t total_cents;
    char first_due[11];
    char comment[256];
} plan_t;

static void plan_free(void *arg) {
    plan_t *p = arg;
    json_decref(p->rid);
    free(p);
}

static void on_debtor(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    plan_t *p = arg;
    if (!conn_alive(c)) goto out;
    if (n < 1 || !res_ok(res[0]) || !json_is_array(res[0])) {
        conn_error(c, p->rid, "unavailable", "the debtor's record could not be read; try again");
        goto out;
    }
    const char *zone = json_string_value(json_array_get(res[0], 0));
    const char *cur = json_string_value(json_array_get(res[0], 1));
    char err[128];
    const hilo_tz_t *tz = zone && *zone ? hilo_tzdb_get(k->tz, zone, err, sizeof err) : NULL;
    if (zone && *zone && !tz)
        hilo_log_warn("console", "event=debtor_zone_unknown debtor=%s zone=\"%s\" effect=\"the plan's days taken as UTC\"",
                      p->debtor, zone);
    hilo_bot_action_t a;
    memset(&a, 0, sizeof a);
    a.kind = HILO_BOT_PLAN_ACCEPTED;
    a.instalments = p->instalments;
    a.total_cents = p->total_cents;
    a.amount_cents = (p->total_cents + p->instalments - 1) / p->instalments; /* the last one takes the rest */
    snprintf(a.currency, sizeof a.currency, "%s", cur ? cur : "");
    snprintf(a.due_date, sizeof a.due_date, "%s", p->first_due);
    json_t *effects = json_object();
    hilo_promise_ledger_t l = {.effects = effects, .now_ms = console_clock_of(k, res, n, 1), .channel = "", .tz = tz};
    hilo_promise_ledger_plan(&l, &a);
    json_t *args = json_pack("{s:o,s:s}", "effects", effects, "comment", p->comment);
    console_op(c, p->rid, "promise_plan", p->debtor, args);
    json_decref(args);
out:
    plan_free(p);
}

void console_plan(conn_t *c, json_t *rid, const char *debtor, const json_t *m) {
    const json_t *n = json_object_get(m, "instalments"), *total = json_object_get(m, "total_cents");
    const char *first = jstr(m, "first_due"), *comment = jstr(m, "comment");
    int y, mo, d, used = 0;
    if (!json_is_integer(n) || json_integer_value(n) < 2 || json_integer_value(n) > PLAN_INSTALMENTS_MAX ||
        !json_is_integer(total) || json_integer_value(total) < json_integer_value(n) ||
        json_integer_value(total) >= (json_int_t)1 << 53) {
        conn_error(c, rid, "bad_request",
                   "a plan needs \"instalments\" (2 to 24) and \"total_cents\" (whole cents, at least one a month)");
        return;
    }
    if (!first || strlen(first) != 10 || sscanf(first, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10 ||
        !hilo_date_valid(y, mo, d)) {
        char text[256];
        console_refusal_text("bad_promise", "due", text, sizeof text);
        json_t *e = json_pack("{s:s,s:s,s:s,s:s}", "t", "error", "code", "bad_promise", "detail", "due", "text", text);
        if (rid) json_object_set(e, "rid", rid);
        conn_send(c, e);
        return;
    }
    plan_t *p = hilo_xcalloc(1, sizeof *p);
    p->rid = json_incref(rid);
    snprintf(p->debtor, sizeof p->debtor, "%s", debtor);
    p->instalments = (int)json_integer_value(n);
    p->total_cents = json_integer_value(total);
    snprintf(p->first_due, sizeof p->first_due, "%s", first);
    snprintf(p->comment, sizeof p->comment, "%s", comment ? comment : "");
    batch_t *b = batch_new(c->console, c, on_debtor, p, plan_free);
    batch_cmd(b, "HMGET hilo:{d:%s}:debtor timezone currency", debtor);
    console_clock_cmd(c->console, b); /* the one clock: the plan's ids and stamps */
    batch_run(b);
}
