/* strategy_optimize.c — the contact optimizer in the strategy runner (strategy_optimize.h;
 * docs/optimizer.md, "In the router").
 *
 * Reading. Each router keeps every segment cell's model in memory, refreshed once per sweep
 * (SMEMBERS hilo:{o}:cells, then a GET per cell, pipelined), and the pool built from them when
 * the refresh is in. A decision reads only that cache: it costs no Redis round trip of its own. A
 * model staler than one sweep only delays learning by that much; counts are never lost, because
 * they are added in Redis (optimizer_cell.lua), not written back whole.
 *
 * Writing. A decision's credit (16 bytes, as 32 hex chars in conv opt_credit) rides in the
 * debtor's own step (commit_outbound.lua for a send, strategy_set.lua otherwise); the counts go
 * after it succeeded, one optimizer_cell.lua call per touched cell, on the cell's slot. The
 * credit's flags are written first, so a crash in between loses a count and never doubles one
 * (DESIGN.md, "Keys on a Redis Cluster"). */
#include "strategy_optimize.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/reply.h"

#define DAY_MS 86400000LL
#define WEEK_MS (7 * DAY_MS)
#define CELL_FLOATS ((HILO_OPT_CELL_BYTES - 4) / 4)

typedef struct {
    char name[HILO_SOPT_CELL_MAX + 1];
    uint32_t id;                  /* FNV-1a of the name: the credit's cell_id */
    hilo_opt_cell_t cell;         /* as last read, plus this router's own counts since */
    bool indexed;                 /* known to be in hilo:{o}:cells */
} entry_t;

struct hilo_strategy_opt {
    hilo_store_t *store;
    hilo_opt_config_t cfg;
    hilo_rng_t rng;
    hilo_opt_pool_t pool;
    entry_t *cells;
    size_t n, cap;
    int refreshing;               /* replies of this refresh still out; 0 = none */
    bool closed;
};

static const int hour_lo[HILO_OPT_HOURS] = {8, 11, 14, 17}, hour_hi[HILO_OPT_HOURS] = {11, 14, 17, 21};

static uint32_t fnv(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The optimizer's channels are sms, whatsapp, voice; the wire's HILO_CHANNEL_* differ. */
static int opt_channel(int ch) {
    return ch == HILO_CHANNEL_SMS ? HILO_OPT_SMS : ch == HILO_CHANNEL_WHATSAPP ? HILO_OPT_WHATSAPP
                                                 : ch == HILO_CHANNEL_VOICE    ? HILO_OPT_VOICE : -1;
}
static int wire_channel(int oc) {
    return oc == HILO_OPT_SMS ? HILO_CHANNEL_SMS : oc == HILO_OPT_WHATSAPP ? HILO_CHANNEL_WHATSAPP : HILO_CHANNEL_VOICE;
}

static void rebuild_pool(hilo_strategy_opt_t *o) {
    const hilo_opt_cell_t **v = hilo_xcalloc(o->n ? o->n : 1, sizeof *v);
    for (size_t i = 0; i < o->n; i++) v[i] = &o->cells[i].cell;
    hilo_opt_pool_build(&o->cfg, v, o->n, &o->pool);
    free(v);
}

static entry_t *find(hilo_strategy_opt_t *o, const char *name) {
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->cells[i].name, name) == 0) return &o->cells[i];
    return NULL;
}

static entry_t *find_id(hilo_strategy_opt_t *o, uint32_t id) {
    for (size_t i = 0; i < o->n; i++)
        if (o->cells[i].id == id) return &o->cells[i];
    return NULL;
}

static entry_t *add(hilo_strategy_opt_t *o, const char *name) {
    entry_t *e = find(o, name);
    if (e) return e;
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 16;
        o->cells = hilo_xrealloc(o->cells, o->cap * sizeof *o->cells);
    }
    e = &o->cells[o->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->id = fnv(name);
    return e;
}

hilo_strategy_opt_t *hilo_strategy_opt_new(hilo_store_t *store) {
    hilo_strategy_opt_t *o = hilo_xcalloc(1, sizeof *o);
    o->store = store;
    hilo_opt_config_default(&o->cfg);
    /* Decisions need not repeat across runs (the holdout does: it hashes the id with the salt). */
    hilo_rng_seed(&o->rng, (uint64_t)hilo_now_ms() ^ ((uint64_t)getpid() << 32));
    rebuild_pool(o);
    return o;
}

void hilo_strategy_opt_destroy(hilo_strategy_opt_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_strategy_opt_t *o = *self_p;
    if (o->refreshing) { /* replies still out reference it: they free it */
        o->closed = true;
        *self_p = NULL;
        return;
    }
    free(o->cells);
    free(o);
    *self_p = NULL;
}

/* --- the per-sweep refresh --------------------------------------------------------------- */

typedef struct {
    hilo_strategy_opt_t *o;
    char name[HILO_SOPT_CELL_MAX + 1];
} get_t;

static void refresh_done(hilo_strategy_opt_t *o) {
    if (--o->refreshing > 0) return;
    if (o->closed) {
        free(o->cells);
        free(o);
        return;
    }
    rebuild_pool(o);
}

static void on_model(redisReply *r, void *arg) {
    get_t *g = arg;
    hilo_strategy_opt_t *o = g->o;
    if (r && !o->closed && r->type == REDIS_REPLY_STRING) {
        hilo_opt_cell_t c;
        char err[128];
        if (hilo_opt_cell_unpack((const uint8_t *)r->str, r->len, &c, err, sizeof err) == 0) {
            entry_t *e = add(o, g->name);
            e->cell = c;
            e->indexed = true;
        } else {
            hilo_log_warn("optimizer", "event=model_unreadable cell=%s reason=\"%s\"", g->name, err);
        }
    }
    free(g);
    refresh_done(o);
}

static void on_cells(redisReply *r, void *arg) {
    hilo_strategy_opt_t *o = arg;
    if (r && !o->closed && r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_STRING || e->len > HILO_SOPT_CELL_MAX) continue;
            get_t *g = hilo_xcalloc(1, sizeof *g);
            g->o = o;
            memcpy(g->name, e->str, e->len);
            char k[HILO_KEY_MAX];
            if (!hilo_opt_cell_name_valid(g->name) || hilo_key_opt_model(k, sizeof k, g->name) < 0) {
                free(g);
                continue;
            }
            const char *argv[] = {"GET", k};
            size_t lens[] = {3, strlen(k)};
            if (hilo_store_argv(o->store, on_model, g, 2, argv, lens) == HILO_OK)
                o->refreshing++;
            else
                free(g);
        }
    }
    refresh_done(o);
}

void hilo_strategy_opt_refresh(hilo_strategy_opt_t *o) {
    if (!o || o->refreshing) return; /* the last one is still out: skip this sweep's */
    o->refreshing = 1;
    if (hilo_store_command(o->store, on_cells, o, "SMEMBERS %s", HILO_KEY_OPT_CELLS) != HILO_OK) o->refreshing = 0;
}

/* --- the cell and the holdout -------------------------------------------------------------- */

static void token(const char *v, const char *dflt, bool upper, char *out, size_t len) {
    size_t j = 0;
    for (; v && *v && j + 1 < len && j < 24; v++) {
        char c = *v;
        if (c >= 'a' && c <= 'z' && upper) c = (char)(c - 32);
        if (c >= 'A' && c <= 'Z' && !upper) c = (char)(c + 32);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')
            out[j++] = c;
    }
    out[j] = '\0';
    if (!j) snprintf(out, len, "%s", dflt);
}

void hilo_strategy_opt_cell_of(const hilo_strategy_facts_t *f, char *out, size_t len) {
    static const long dpd_b[] = {0, 30, 60, 90, 180}, bal_b[] = {0, 100, 500, 2000, 10000};
    const char *v = f->get(f->debtor, "days_past_due");
    long dpd = v ? strtol(v, NULL, 10) : 0, d = 0, b = 0;
    v = f->get(f->debtor, "balance");
    double bal = v ? strtod(v, NULL) : 0;
    for (int i = 0; i < 5; i++) {
        if (dpd >= dpd_b[i]) d = dpd_b[i];
        if (bal >= (double)bal_b[i]) b = bal_b[i];
    }
    char country[32], lang[32], product[32];
    token(f->get(f->debtor, "country"), "XX", true, country, sizeof country);
    token(f->get(f->debtor, "language"), "xx", false, lang, sizeof lang);
    token(f->get(f->debtor, "product"), "any", false, product, sizeof product);
    snprintf(out, len, "d%ld.b%ld.%s.%s.%s", d, b, country, lang, product);
}

bool hilo_strategy_opt_holdout(const hilo_strategy_opt_t *o, const char *debtor_id) {
    return hilo_opt_in_holdout(&o->cfg, debtor_id) != 0;
}

/* --- a look ---------------------------------------------------------------------------------- */

static int unhex(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void hilo_strategy_opt_look_start(hilo_strategy_opt_look_t *ol, const char *hex) {
    memset(ol, 0, sizeof *ol);
    ol->credit.arm = -1;
    uint8_t b[HILO_OPT_CREDIT_BYTES];
    if (!hex || strlen(hex) != 2 * HILO_OPT_CREDIT_BYTES) return;
    for (int i = 0; i < HILO_OPT_CREDIT_BYTES; i++) {
        int hi = unhex(hex[2 * i]), lo = unhex(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    char err[96];
    hilo_opt_credit_t c;
    if (hilo_opt_credit_unpack(b, sizeof b, &c, err, sizeof err) == 0) ol->credit = c;
}

void hilo_strategy_opt_look_free(hilo_strategy_opt_look_t *ol) {
    json_decref(ol->audit);
    ol->audit = NULL;
}

/* The look's working copy of a cell (the cache's, when first touched in this look). */
static hilo_opt_cell_t *work_of(hilo_strategy_opt_look_t *ol, const entry_t *e) {
    for (int i = 0; i < ol->ncells; i++)
        if (strcmp(ol->cell[i].name, e->name) == 0) return &ol->cell[i].work;
    if (ol->ncells == HILO_SOPT_LOOK_CELLS) return NULL;
    int i = ol->ncells++;
    snprintf(ol->cell[i].name, sizeof ol->cell[i].name, "%s", e->name);
    ol->cell[i].base = ol->cell[i].work = e->cell;
    return &ol->cell[i].work;
}

static void credit_changed(hilo_strategy_opt_look_t *ol) {
    uint8_t b[HILO_OPT_CREDIT_BYTES];
    hilo_opt_credit_pack(&ol->credit, b);
    for (int i = 0; i < HILO_OPT_CREDIT_BYTES; i++) snprintf(ol->hex + 2 * i, 3, "%02x", b[i]);
    ol->changed = true;
}

static void credit(hilo_strategy_opt_t *o, hilo_strategy_opt_look_t *ol, hilo_opt_event_t ev, double amount,
                   int64_t at_ms, int64_t now_ms, const char *what) {
    int64_t decided = (int64_t)ol->credit.decided_s * 1000, week = (int64_t)ol->credit.week_s * 1000;
    int64_t since = decided > 0 ? decided : week;
    if (since <= 0 || at_ms < since) return; /* nothing to credit, or it came before the decision */
    entry_t *e = find_id(o, ol->credit.cell_id);
    hilo_opt_cell_t *w = e ? work_of(ol, e) : NULL;
    if (!w) return; /* a cell this router does not know (yet): the count is lost, never doubled */
    int got = hilo_opt_credit(&o->cfg, w, &ol->credit, ev, amount, now_ms);
    if (!got) return;
    credit_changed(ol);
    if (!ol->audit) ol->audit = json_array();
    char arm[24];
    json_array_append_new(ol->audit, json_pack("{s:s, s:s, s:s, s:s, s:f, s:b}", "event", "optimizer_credit",
                                                "result", what, "cell", e->name, "arm",
                                                ol->credit.arm >= 0 ? hilo_opt_arm_name(ol->credit.arm, arm, sizeof arm)
                                                                    : "holdout",
                                                "amount", amount, "week_only", !(got & 7)));
}

void hilo_strategy_opt_results(hilo_strategy_opt_t *o, hilo_strategy_opt_look_t *ol, const hilo_strategy_facts_t *f,
                               const redisReply *promises, const redisReply *payments, int64_t now_ms) {
    if (!ol->credit.decided_s && !ol->credit.week_s) return;
    const char *v = f->get(f->conv, "last_in_ms");
    if (v) credit(o, ol, HILO_OPT_EV_REPLY, 0, strtoll(v, NULL, 10), now_ms, "replied");
    for (size_t i = 1; payments && payments->type == REDIS_REPLY_ARRAY && i < payments->elements; i += 2) {
        json_t *p = json_loadb(payments->element[i]->str, payments->element[i]->len, 0, NULL);
        int64_t paid = json_integer_value(json_object_get(p, "paid_ms"));
        int64_t cents = json_integer_value(json_object_get(p, "amount_cents"));
        /* A payment dated by day alone counts from the start of its UTC day (as the funnel's). */
        int64_t since = (int64_t)ol->credit.decided_s * 1000;
        if (json_is_true(json_object_get(p, "date_only")) && paid <= since && paid + DAY_MS > since) paid = since;
        if (cents > 0) credit(o, ol, HILO_OPT_EV_PAY, (double)cents / 100.0, paid, now_ms, "paid");
        json_decref(p);
    }
    for (size_t i = 1; promises && promises->type == REDIS_REPLY_ARRAY && i < promises->elements; i += 2) {
        json_t *p = json_loadb(promises->element[i]->str, promises->element[i]->len, 0, NULL);
        const char *kind = json_string_value(json_object_get(p, "kind"));
        int64_t made = json_integer_value(json_object_get(p, "created_ms"));
        int64_t cents = json_integer_value(json_object_get(p, "amount_cents"));
        if (kind && (strcmp(kind, "plan") == 0 || (strcmp(kind, "promise") == 0 && !json_object_get(p, "plan"))))
            credit(o, ol, HILO_OPT_EV_PROMISE, (double)cents / 100.0, made, now_ms, "promised");
        json_decref(p);
    }
    for (int ch = 1; ch < HILO_CHANNEL_MAX; ch++) {
        char field[32];
        snprintf(field, sizeof field, "optout:%s", hilo_channel_name(ch));
        v = f->get(f->conv, field);
        if (v) credit(o, ol, HILO_OPT_EV_OPTOUT, 0, strtoll(v, NULL, 10), now_ms, "opted_out");
    }
    v = f->get(f->conv, HILO_CONV_DISPUTE);
    if (v) credit(o, ol, HILO_OPT_EV_DISPUTE, 0, strtoll(v, NULL, 10), now_ms, "disputed");
}

/* --- the decision ---------------------------------------------------------------------------- */

/* The first instant >= from whose local hour is in bucket h (within a day and a bit). */
static int64_t bucket_start(const hilo_tz_t *tz, int h, int64_t from_ms) {
    hilo_tm_t tm;
    hilo_tz_local(tz, from_ms / 1000, &tm);
    if (tm.hour >= hour_lo[h] && tm.hour < hour_hi[h]) return from_ms;
    int64_t days = hilo_days_from_civil(tm.year, tm.month, tm.day) + (tm.hour >= hour_hi[h] ? 1 : 0);
    int y, m, d;
    hilo_civil_from_days(days, &y, &m, &d);
    return hilo_tz_utc(tz, y, m, d, hour_lo[h], 0, 0) * 1000;
}

static int bucket_of(const hilo_tz_t *tz, int64_t t_ms) {
    hilo_tm_t tm;
    hilo_tz_local(tz, t_ms / 1000, &tm);
    for (int h = 0; h < HILO_OPT_HOURS; h++)
        if (tm.hour < hour_hi[h]) return h; /* before 08:00 counts as the first bucket */
    return HILO_OPT_HOURS - 1;
}

static bool in_bucket(const hilo_tz_t *tz, int h, int64_t t_ms) {
    hilo_tm_t tm;
    hilo_tz_local(tz, t_ms / 1000, &tm);
    return tm.hour >= hour_lo[h] && tm.hour < hour_hi[h];
}

void hilo_strategy_opt_choose(hilo_strategy_opt_t *o, const hilo_strategy_opt_ask_t *ask, int64_t now_ms,
                              hilo_strategy_opt_pick_t *pk) {
    memset(pk, 0, sizeof *pk);
    pk->arm = -1;
    int64_t at[HILO_OPT_ARMS];
    uint32_t allowed = 0;
    json_t *removed = json_object();
    unsigned chans = hilo_strategy_step_channels(ask->step);
    bool hours = (hilo_strategy_step_optimize(ask->step) & HILO_STRATEGY_OPT_HOURS) != 0;
    char name[24], detail[96];
    for (int ch = 1; ch < HILO_CHANNEL_MAX; ch++) {
        int oc = opt_channel(ch);
        if (!(chans & (1u << ch)) || oc < 0) continue;
        hilo_strategy_excl_t why = HILO_EXCL_NONE;
        char phone[40];
        if (!hilo_strategy_channel_usable(ask->st, ask->gate, ask->f, ch, &why, phone, sizeof phone)) {
            json_object_set_new(removed, hilo_channel_name(ch), json_string(hilo_strategy_excl_name(why)));
            continue;
        }
        for (int h = 0; h < HILO_OPT_HOURS; h++) {
            int64_t from = hours ? bucket_start(ask->tz, h, ask->from_ms) : ask->from_ms;
            int64_t t = hilo_strategy_send_time_on(ask->gate, ask->f, ask->tz, ask->step, ch, from, &why, detail,
                                                   sizeof detail);
            const char *no = NULL;
            if (t < 0)
                no = *detail ? detail : hilo_strategy_excl_name(why);
            else if (hours && (!in_bucket(ask->tz, h, t) || t >= ask->from_ms + DAY_MS))
                no = "hours"; /* the gate or the step's window move it out of the bucket today */
            else if (!hours && bucket_of(ask->tz, t) != h)
                continue; /* the hour is the step's own: one arm per channel */
            int arm = hilo_opt_arm(oc, h, 0);
            if (no) {
                json_object_set_new(removed, hilo_opt_arm_name(arm, name, sizeof name), json_string(no));
                continue;
            }
            at[arm] = t < now_ms ? now_ms : t;
            allowed |= 1u << arm;
        }
    }
    if (ask->prior_arm >= 0 && ask->prior_arm < HILO_OPT_ARMS && (allowed & (1u << ask->prior_arm)) &&
        at[ask->prior_arm] <= now_ms + 1000) {
        pk->reused = true; /* chosen before, its hour has come and the gate still allows it */
        pk->arm = ask->prior_arm;
        pk->d.arm = pk->arm;
        pk->d.why = HILO_OPT_WHY_SAMPLED;
    } else {
        char cell[HILO_SOPT_CELL_MAX + 1];
        hilo_strategy_opt_cell_of(ask->f, cell, sizeof cell);
        entry_t *e = find(o, cell);
        hilo_opt_cell_t empty;
        memset(&empty, 0, sizeof empty);
        hilo_opt_decide(&o->cfg, e ? &e->cell : &empty, &o->pool, allowed, &o->rng, &pk->d);
        pk->arm = pk->d.arm;
        pk->audit = json_pack("{s:s, s:s, s:s, s:i, s:o}", "event", "optimizer", "why", hilo_opt_why_name(pk->d.why),
                              "cell", cell, "allowed", __builtin_popcount(allowed), "removed", json_incref(removed));
        if (pk->arm >= 0) {
            json_object_set_new(pk->audit, "arm", json_string(hilo_opt_arm_name(pk->arm, name, sizeof name)));
            json_object_set_new(pk->audit, "at_ms", json_integer(at[pk->arm]));
            json_object_set_new(pk->audit, "value", json_real(pk->d.value));
            json_object_set_new(pk->audit, "mean", json_real(pk->d.mean));
        }
    }
    json_decref(removed);
    if (pk->arm >= 0) {
        pk->channel = wire_channel(hilo_opt_arm_channel(pk->arm));
        pk->at_ms = at[pk->arm];
    }
}

void hilo_strategy_opt_sent(hilo_strategy_opt_t *o, hilo_strategy_opt_look_t *ol, const hilo_strategy_facts_t *f,
                            const hilo_opt_decision_t *d, bool holdout, int64_t now_ms) {
    char cell[HILO_SOPT_CELL_MAX + 1];
    hilo_strategy_opt_cell_of(f, cell, sizeof cell);
    entry_t *e = add(o, cell);
    hilo_opt_cell_t *w = work_of(ol, e);
    if (!w) return;
    int64_t week = (int64_t)ol->credit.week_s * 1000;
    bool new_week = week <= 0 || now_ms - week >= WEEK_MS || ol->credit.cell_id != e->id ||
                    !(ol->credit.flags & HILO_OPT_CR_HOLD) != !holdout;
    int nth = new_week ? 1 : ol->credit.nth + 1;
    if (new_week) hilo_opt_record_week(w, e->id, 0, holdout, now_ms, &ol->credit);
    if (!holdout) hilo_opt_record_decision(w, e->id, d, nth, now_ms, &ol->credit);
    else ol->credit.decided_s = (uint32_t)(now_ms / 1000), ol->credit.nth = (uint8_t)(nth < 7 ? nth : 7);
    credit_changed(ol);
}

static void on_cell_written(redisReply *r, void *arg) {
    char *name = arg;
    if (r && (r->type == REDIS_REPLY_ERROR || (r->type == REDIS_REPLY_INTEGER && r->integer != 1)))
        hilo_log_error("optimizer", "event=cell_write_failed cell=%s reply=\"%s\"", name,
                       r->type == REDIS_REPLY_ERROR ? r->str : "model unusable");
    free(name);
}

void hilo_strategy_opt_flush(hilo_strategy_opt_t *o, hilo_strategy_opt_look_t *ol) {
    for (int c = 0; c < ol->ncells; c++) {
        const float *b = (const float *)&ol->cell[c].base, *w = (const float *)&ol->cell[c].work;
        const char *argv[4 + 2 * CELL_FLOATS];
        size_t lens[4 + 2 * CELL_FLOATS];
        char num[2 * CELL_FLOATS][24], k[HILO_KEY_MAX];
        if (hilo_key_opt_model(k, sizeof k, ol->cell[c].name) < 0) continue;
        int argc = 0, nn = 0;
        argv[argc++] = "EVALSHA";
        argv[argc++] = hilo_store_sha(o->store, HILO_SCRIPT_OPTIMIZER_CELL);
        argv[argc++] = "1";
        argv[argc++] = k;
        argv[argc++] = "1"; /* the cell version (credit.c CELL_VERSION) */
        for (int i = 0; i < CELL_FLOATS; i++) {
            if (w[i] == b[i]) continue;
            snprintf(num[nn], sizeof num[nn], "%d", i);
            argv[argc++] = num[nn++];
            snprintf(num[nn], sizeof num[nn], "%.9g", (double)(w[i] - b[i]));
            argv[argc++] = num[nn++];
        }
        if (nn == 0) continue;
        for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
        entry_t *e = add(o, ol->cell[c].name);
        float *cached = (float *)&e->cell;
        for (int i = 0; i < CELL_FLOATS; i++) cached[i] += w[i] - b[i]; /* write-through until the refresh */
        hilo_store_argv(o->store, on_cell_written, hilo_xstrdup(e->name), argc, argv, lens);
        if (!e->indexed) {
            const char *sa[] = {"SADD", HILO_KEY_OPT_CELLS, e->name};
            size_t sl[] = {4, strlen(HILO_KEY_OPT_CELLS), strlen(e->name)};
            hilo_store_argv(o->store, NULL, NULL, 3, sa, sl);
            e->indexed = true;
        }
    }
    ol->ncells = 0;
}
