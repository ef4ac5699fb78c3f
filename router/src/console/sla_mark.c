/* sla_mark.c — the supervisor floor's SLA and day (docs/console-protocol.md, "SLA"): the clock
 * the day's counters follow (the test clock under [engine] test_clock), the business day of a
 * time ([console] business_day_zone, business_day_start), and the first-response verdict of a
 * conversation when its agent first replies (views.c): read the conversation (its slot), count
 * the verdict on its queue (sla_mark.lua, the queue's slot), then stamp the conversation. Each
 * step is atomic on its own slot; a crash after the count is repaired by the next reply (the
 * count is claimed from the queue's awaiting set, so it is never counted twice). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/log.h"

#include "sla.h"

/* --- the clock ------------------------------------------------------------------------ */

typedef struct {
    console_clock_fn fn;
    void *arg;
    void (*free_arg)(void *);
} clock_req_t;

static void clock_req_free(void *p) {
    clock_req_t *q = p;
    if (q->free_arg) q->free_arg(q->arg);
    free(q);
}

static void on_clock(hilo_console_t *k, conn_t *c, json_t **res, int n, void *p) {
    (void)c;
    clock_req_t *q = p;
    const char *v = n >= 1 ? json_string_value(res[0]) : NULL;
    /* An unset test clock is the router's own. */
    q->fn(k, v ? strtoll(v, NULL, 10) : hilo_now_ms(), q->arg);
    free(q);
}

void console_stats_clock(hilo_console_t *k, console_clock_fn fn, void *arg, void (*free_arg)(void *)) {
    if (!k->cfg->test_clock) {
        fn(k, hilo_now_ms(), arg);
        return;
    }
    clock_req_t *q = hilo_xcalloc(1, sizeof *q);
    q->fn = fn, q->arg = arg, q->free_arg = free_arg;
    batch_t *b = batch_new(k, NULL, on_clock, q, clock_req_free);
    batch_cmd(b, "GET " HILO_KEY_TEST_CLOCK);
    batch_run(b);
}

void console_clock_cmd(hilo_console_t *k, batch_t *b) {
    if (k->cfg->test_clock) batch_cmd(b, "GET " HILO_KEY_TEST_CLOCK);
}

int64_t console_clock_of(const hilo_console_t *k, json_t **res, int n, int i) {
    const char *v = k->cfg->test_clock && i < n ? json_string_value(res[i]) : NULL;
    long long ms = v ? strtoll(v, NULL, 10) : 0;
    return ms > 0 ? ms : hilo_now_ms(); /* an unset test clock is the router's own */
}

void console_business_day(const hilo_console_t *k, int64_t now_ms, int64_t *day, int64_t *start_ms) {
    hilo_sla_business_day(k->day_tz, k->cfg->sla.start_min, now_ms, day, start_ms);
}

/* --- the first response ----------------------------------------------------------------- */

typedef struct {
    char debtor[CONSOLE_ID_MAX + 32];
    int64_t now;
} resp_t;

static void on_counted(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    resp_t *r = arg;
    if (n >= 1 && json_is_integer(res[0])) {
        /* Counted now or before: the conversation is stamped; later replies skip the count. */
        char ck[HILO_KEY_MAX];
        if (hilo_key_debtor(ck, sizeof ck, r->debtor, HILO_KEY_CONV) > 0)
            hilo_store_command(k->ctx->store, NULL, NULL, "HSET %s resp_ms %lld", ck, (long long)r->now);
    } else {
        const char *e = n >= 1 && res[0] ? jstr(res[0], "error") : "no reply";
        hilo_log_warn("console", "event=sla_mark_failed debtor=%s reply=\"%s\" effect=\"counted on the next reply\"",
                      r->debtor, e ? e : "?");
    }
    free(r);
}

static void on_conv_read(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    resp_t *r = arg;
    json_t *f = n >= 1 && json_is_array(res[0]) ? res[0] : NULL;
    const char *esc = json_string_value(json_array_get(f, 0)), *q = json_string_value(json_array_get(f, 1)),
               *resp = json_string_value(json_array_get(f, 2));
    int64_t esc_ms = esc ? strtoll(esc, NULL, 10) : 0;
    /* Awaited on a queue (route_offer.lua saw it queued), and not answered since it escalated. */
    if (!esc || !q || (resp && strtoll(resp, NULL, 10) >= esc_ms)) {
        free(r);
        return;
    }
    const hilo_sla_target_t *t = hilo_sla_target(&k->cfg->sla, q);
    const char *verdict = r->now - esc_ms <= t->first_response_ms ? "met" : "breached";
    console_sla_count(k, q, "await", r->debtor, esc, r->now, verdict, on_counted, r);
}

void console_sla_count(hilo_console_t *k, const char *queue, const char *set, const char *debtor, const char *esc,
                       int64_t now_ms, const char *verdict, batch_fn fn, void *arg) {
    int64_t day, start;
    console_business_day(k, now_ms, &day, &start);
    char awaited[HILO_KEY_MAX], counts[HILO_KEY_MAX], member[CONSOLE_ID_MAX + 64], keep[16];
    snprintf(awaited, sizeof awaited, "hilo:{q:%s}:%s", queue, set);
    snprintf(counts, sizeof counts, "hilo:{q:%s}:sla:%lld", queue, (long long)day);
    snprintf(member, sizeof member, "%s|%s", debtor, esc);
    snprintf(keep, sizeof keep, "%d", CONSOLE_SLA_KEEP_S);
    const char *argv[] = {"EVALSHA", k->scripts[SCRIPT_SLA].sha, "2", awaited, counts, member, verdict, keep};
    batch_t *b = batch_new(k, NULL, fn, arg, free);
    batch_argv(b, 8, argv, NULL);
    batch_mark_script(b, SCRIPT_SLA);
    batch_run(b);
}

void console_sla_responded(hilo_console_t *k, const char *debtor, int64_t now_ms) {
    char ck[HILO_KEY_MAX];
    if (hilo_key_debtor(ck, sizeof ck, debtor, HILO_KEY_CONV) < 0) return;
    resp_t *r = hilo_xcalloc(1, sizeof *r);
    snprintf(r->debtor, sizeof r->debtor, "%s", debtor);
    r->now = now_ms;
    batch_t *b = batch_new(k, NULL, on_conv_read, r, free);
    batch_cmd(b, "HMGET %s esc_ms sla_q resp_ms", ck);
    batch_run(b);
}
