/* promise_ledger.c — promise and payment-plan entries into a turn's effects (see
 * promise_ledger.h). The instalments of a plan are ordinary promises, so payment_apply.lua
 * keeps them and promise_break.lua breaks them with no special case; both scripts then bring
 * the plan's own state up to date from its instalments (lua/lib/plan_state.lua). */
#include "promise_ledger.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hilo/common.h"

static json_t *member(json_t *parent, const char *key) {
    json_t *o = json_object_get(parent, key);
    if (!o) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

/* An audit entry for engine_apply.lua; takes ownership of `j`. */
static void audit(const hilo_promise_ledger_t *l, const char *ev, json_t *j) {
    json_t *list = json_object_get(l->effects, "audit");
    if (!list) {
        list = json_array();
        json_object_set_new(l->effects, "audit", list);
    }
    char *s = json_dumps(j, JSON_COMPACT);
    json_array_append_new(list, json_pack("{s:s,s:s}", "ev", ev, "j", s));
    free(s);
    json_decref(j);
}

/* "p<now ms>-<8 hex>": sorts by creation, unique across routers. */
static void new_id(const hilo_promise_ledger_t *l, char id[40]) {
    unsigned char b[4];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        for (size_t i = 0; i < sizeof b; i++) b[i] = (unsigned char)(hilo_mono_us() >> (8 * i));
    snprintf(id, 40, "p%lld-%02x%02x%02x%02x", (long long)l->now_ms, b[0], b[1], b[2], b[3]);
}

int64_t hilo_promise_ledger_day_end_ms(const hilo_tz_t *tz, int y, int m, int d) {
    int64_t end_s = tz ? hilo_tz_utc(tz, y, m, d, 23, 59, 59) : hilo_days_from_civil(y, m, d) * 86400 + 86399;
    return end_s * 1000 + 999;
}

static json_t *entry(const char *kind, int64_t amount_cents, const char *currency) {
    return json_pack("{s:s,s:I,s:s}", "kind", kind, "amount_cents", (json_int_t)amount_cents, "currency", currency);
}

static void entry_tail(const hilo_promise_ledger_t *l, json_t *p) {
    json_object_set_new(p, "channel", json_string(l->channel));
    json_object_set_new(p, "created_ms", json_integer(l->now_ms));
    json_object_set_new(p, "state", json_string("pending"));
}

/* Into the effects: the entry and, with a date (y != 0), its due_ms and its member of the due
 * index (the sweeper breaks it once that day is over). */
static void add(const hilo_promise_ledger_t *l, const char *id, json_t *p, int y, int m, int d) {
    if (y) {
        int64_t due_ms = hilo_promise_ledger_day_end_ms(l->tz, y, m, d);
        char due[24];
        snprintf(due, sizeof due, "%lld", (long long)due_ms);
        json_object_set_new(member(l->effects, "due"), id, json_string(due));
        json_object_set_new(p, "due_ms", json_integer(due_ms));
    }
    char *s = json_dumps(p, JSON_COMPACT);
    json_object_set_new(member(l->effects, "promises"), id, json_string(s));
    free(s);
}

static bool parse_date(const char *s, int *y, int *m, int *d) { return sscanf(s, "%d-%d-%d", y, m, d) == 3; }

void hilo_promise_ledger_promise(const hilo_promise_ledger_t *l, const hilo_bot_action_t *a) {
    char id[40];
    new_id(l, id);
    json_t *p = entry("promise", a->amount_cents, a->currency);
    json_object_set_new(p, "due", json_string(a->due_date));
    entry_tail(l, p);
    int y = 0, m = 0, d = 0;
    if (!parse_date(a->due_date, &y, &m, &d)) y = 0;
    add(l, id, p, y, m, d);
    json_object_set_new(p, "id", json_string(id));
    audit(l, "promise", p);
}

void hilo_promise_ledger_add_months(int y, int m, int d, int months, int *oy, int *om, int *od) {
    int mm = m - 1 + months;
    *oy = y + mm / 12;
    *om = mm % 12 + 1;
    int ny = *om == 12 ? *oy + 1 : *oy, nm = *om == 12 ? 1 : *om + 1;
    int last = (int)(hilo_days_from_civil(ny, nm, 1) - hilo_days_from_civil(*oy, *om, 1));
    *od = d < last ? d : last;
}

void hilo_promise_ledger_plan(const hilo_promise_ledger_t *l, const hilo_bot_action_t *a) {
    char id[40];
    new_id(l, id);
    int n = a->instalments > 0 ? a->instalments : 1;
    int y = 0, m = 0, d = 0;
    bool dated = parse_date(a->due_date, &y, &m, &d);
    json_t *plan = entry("plan", a->amount_cents, a->currency);
    json_object_set_new(plan, "instalments", json_integer(n));
    json_object_set_new(plan, "total_cents", json_integer(a->total_cents));
    json_object_set_new(plan, "discount_bp", json_integer(a->discount_bp));
    if (dated) json_object_set_new(plan, "first_due", json_string(a->due_date));
    entry_tail(l, plan);
    json_t *ids = json_array();
    for (int k = 1; dated && k <= n; k++) {
        char iid[48], due[16];
        snprintf(iid, sizeof iid, "%s.%d", id, k);
        int iy, im, iday;
        hilo_promise_ledger_add_months(y, m, d, k - 1, &iy, &im, &iday);
        snprintf(due, sizeof due, "%04d-%02d-%02d", iy % 10000, im, iday);
        int64_t amount = k < n ? a->amount_cents : a->total_cents - (int64_t)(n - 1) * a->amount_cents;
        if (amount <= 0) break; /* rounding left nothing for the last one */
        json_t *p = entry("promise", amount, a->currency);
        json_object_set_new(p, "due", json_string(due));
        json_object_set_new(p, "plan", json_string(id));
        json_object_set_new(p, "instalment", json_integer(k));
        json_object_set_new(p, "of", json_integer(n));
        entry_tail(l, p);
        add(l, iid, p, iy, im, iday);
        json_decref(p);
        json_array_append_new(ids, json_string(iid));
    }
    json_object_set_new(plan, "instalment_ids", ids);
    add(l, id, plan, 0, 0, 0);
    json_object_set_new(plan, "id", json_string(id));
    audit(l, "plan", plan);
}
