/* strategy_run.c — the outbound strategies, running (strategy_run.h; docs/strategies.md,
 * "Running a strategy").
 *
 * A sweep: the clock (the test clock when on), each strategy's control state (start/pause), then
 * every partition of the time index: claim the due debtors, and for each a look — read
 * (strategy_read.lua), decide (decide(): pure, on what was read), write if unchanged
 * (strategy_set.lua, or commit_outbound.lua with the field's compare-and-set for a send), then
 * give the debtor its next score in the index. */
#include "strategy_run.h"

#include "clock.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "strategy_optimize.h"
#include "hilo/common.h"
#include "hilo/compliance.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/reply.h"
#include "hilo/outbound_record.h"
#include "hilo/strategy.h"
#include "hilo/tz.h"

#define NAME_MAX_ (HILO_STRATEGY_NAME_MAX + 1)
#define HOLD_TURN_MS 5000       /* a turn of the debtor is pending: look again after this */
#define RETRY_MS 60000          /* a look that could not decide (Redis, rule packs) is retried after this */
#define MAX_HOPS 16             /* steps one look may pass (skipped steps, immediate transitions) */
#define MAX_AUDIT 8             /* audit entries one look writes */
#define MAX_FUNNEL 12           /* funnel counters one look bumps */
#define MAX_RETRIES 3           /* a look whose write found the field changed reads again */

enum { CTL_FILE = 0, CTL_RUNNING, CTL_PAUSED };

struct hilo_strategy_run {
    hilo_router_ctx_t *ctx;
    uv_timer_t timer;
    hilo_strategy_set_t *set;  /* NULL: no [strategies] dir */
    char dir[512];
    hilo_tzdb_t *tzdb;
    int *ctl;                  /* per strategy of `set` (its order): CTL_* from hilo:{s:NAME}:state */
    int ctl_pending;           /* control reads of this sweep still out */
    bool sweeping;             /* a sweep is between its clock read and its claims */
    bool claiming[HILO_OUTBOX_PARTITIONS];
    bool again[HILO_OUTBOX_PARTITIONS];
    int outstanding[HILO_OUTBOX_PARTITIONS]; /* looks in flight per partition */
    int64_t now_ms;            /* this sweep's clock */
    uint64_t claims;           /* claims made (their marks' jitter) */
    hilo_strategy_opt_t *opt;  /* the contact optimizer's cache of cell models (strategy_optimize.c) */
    bool closed;
};

/* The conv field `strat` (lib/strategy_state.lua), parsed. */
typedef struct {
    char st[8], strategy[NAME_MAX_], segment[NAME_MAX_], variant[NAME_MAX_], step[NAME_MAX_], last[NAME_MAX_];
    int64_t at, sent;
    char oid[64], why[96], prev[8];
    long rev;
} srec_t;

/* One debtor being looked at. */
typedef struct {
    hilo_strategy_run_t *sr;
    char debtor[HILO_DEBTOR_ID_MAX + 1];
    int64_t mark;              /* the index score our claim gave it (set_if) */
    int64_t now;
    int retries;
    /* the decision */
    char old[600], new_[600];  /* the field as read ("" absent) and as it becomes ("" removed) */
    bool write;                /* write new_ (else only the index score changes) */
    int64_t score;             /* next index score; -1 = leave the index */
    char *audit[MAX_AUDIT];
    int naudit;
    char funnel_strategy[NAME_MAX_];
    char *funnel[MAX_FUNNEL];  /* "<variant>|<step>|<metric>" */
    long long funnel_by[MAX_FUNNEL]; /* ... and how much to add */
    int nfunnel;
    char attr_mark[96];        /* conv strat_attr to write ("": unchanged; see attribute()) */
    char result[16];           /* conv strat_result to write: the last step's result, which segments
                                * may ask for (last_result); "": unchanged */
    hilo_outbound_record_t *send; /* a step to commit */
    int channel;
    long budget;               /* the strategy's daily budget (0 = none) */
    hilo_strategy_opt_look_t opt; /* the optimizer's credit and counts (a `best` step; results) */
} look_t;

static void look_read(look_t *lk);

static int run(hilo_strategy_run_t *sr, hilo_store_reply_fn cb, void *arg, int argc, const char **argv) {
    size_t lens[32];
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    return hilo_store_argv(sr->ctx->store, cb, arg, argc, argv, lens);
}

/* --- the field ---------------------------------------------------------------------------- */

static bool srec_parse(const char *s, srec_t *r) {
    memset(r, 0, sizeof *r);
    if (!s || !*s) return false;
    char *f[12];
    char buf[600];
    snprintf(buf, sizeof buf, "%s", s);
    int n = 0;
    char *p = buf;
    for (; n < 12; n++) {
        f[n] = p;
        char *bar = strchr(p, '|');
        if (!bar) {
            n++;
            break;
        }
        *bar = '\0';
        p = bar + 1;
    }
    if (n != 12) return false;
    snprintf(r->st, sizeof r->st, "%s", f[0]);
    snprintf(r->strategy, sizeof r->strategy, "%s", f[1]);
    snprintf(r->segment, sizeof r->segment, "%s", f[2]);
    snprintf(r->variant, sizeof r->variant, "%s", f[3]);
    snprintf(r->step, sizeof r->step, "%s", f[4]);
    snprintf(r->last, sizeof r->last, "%s", f[5]);
    r->at = strtoll(f[6], NULL, 10);
    r->sent = strtoll(f[7], NULL, 10);
    snprintf(r->oid, sizeof r->oid, "%s", f[8]);
    snprintf(r->why, sizeof r->why, "%s", f[9]);
    snprintf(r->prev, sizeof r->prev, "%s", f[10]);
    r->rev = strtol(f[11], NULL, 10);
    return true;
}

static void srec_format(const srec_t *r, char *out, size_t n) {
    snprintf(out, n, "%s|%s|%s|%s|%s|%s|%" PRId64 "|%" PRId64 "|%s|%s|%s|%ld", r->st, r->strategy, r->segment,
             r->variant, r->step, r->last, r->at, r->sent, r->oid, r->why, r->prev, r->rev + 1);
}

static bool is(const char *a, const char *b) { return strcmp(a, b) == 0; }

/* --- reading the records ------------------------------------------------------------------ */

/* The facts' getter (hilo_strategy_facts_t.get): a field of a hash reply. */
static const char *get(const void *rec, const char *field) { return hilo_reply_field(rec, field); }

static int64_t get_ms(const redisReply *rec, const char *field) {
    const char *v = get(rec, field);
    return v ? strtoll(v, NULL, 10) : 0;
}

/* --- the decision ------------------------------------------------------------------------- */

static void add_audit(look_t *lk, json_t *o) {
    if (lk->naudit < MAX_AUDIT) {
        json_object_set_new(o, "ms", json_integer(lk->now));
        lk->audit[lk->naudit++] = json_dumps(o, JSON_COMPACT);
    }
    json_decref(o);
}

static void add_funnel_by(look_t *lk, const char *strategy, const char *variant, const char *step, const char *metric,
                          long long by) {
    if (lk->nfunnel >= MAX_FUNNEL || !*strategy) return;
    snprintf(lk->funnel_strategy, sizeof lk->funnel_strategy, "%s", strategy);
    char buf[256];
    snprintf(buf, sizeof buf, "%s|%s|%s", variant, step, metric);
    lk->funnel_by[lk->nfunnel] = by;
    lk->funnel[lk->nfunnel++] = hilo_xstrdup(buf);
}

static void add_funnel(look_t *lk, const char *strategy, const char *variant, const char *step, const char *metric) {
    add_funnel_by(lk, strategy, variant, step, metric, 1);
}

/* What decide() works with. */
typedef struct {
    look_t *lk;
    hilo_strategy_run_t *sr;
    const hilo_strategy_t *st;
    const hilo_strategy_segment_t *seg;
    int variant;
    hilo_strategy_facts_t *f;
    const hilo_tz_t *tz;
    const redisReply *ostat;   /* the current step's delivery status (string) */
    srec_t rec;                /* what is written (starts as what was read) */
} dctx_t;

static int64_t recheck_ms(const dctx_t *d) { return d->sr->ctx->cfg->strategy_recheck_ms; }

static void write_rec(dctx_t *d) {
    srec_format(&d->rec, d->lk->new_, sizeof d->lk->new_);
    d->lk->write = true;
}

static void audit(dctx_t *d, const char *event, const char *step, const char *reason) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "event", event, "strategy", d->rec.strategy, "variant",
                          d->rec.variant, "step", step);
    if (reason && *reason) json_object_set_new(o, "reason", json_string(reason));
    add_audit(d->lk, o);
}

static void funnel(dctx_t *d, const char *step, const char *metric) {
    add_funnel(d->lk, d->rec.strategy, d->rec.variant, step, metric);
}

/* The debtor's run of the strategy is over. */
/* An ended run stays in the schedule index until the attribution window after its last step is
 * over, so that what the debtor does meanwhile (verifies, promises, pays — the events kick the
 * runner) is still counted for that step (attribute()); then it leaves (-1). */
static int64_t ended_score(const look_t *lk, const srec_t *rec) {
    const hilo_strategy_t *st = hilo_strategy_set_find(lk->sr->set, rec->strategy);
    if (!st || !*rec->last || rec->sent <= 0) return -1;
    int64_t until = rec->sent + hilo_strategy_attribution_ms(st);
    return until > lk->now ? until : -1;
}

static void end_run(dctx_t *d, const char *why) {
    snprintf(d->rec.st, sizeof d->rec.st, "end");
    snprintf(d->rec.why, sizeof d->rec.why, "%s", why);
    d->rec.oid[0] = d->rec.prev[0] = '\0';
    d->rec.at = 0;
    write_rec(d);
    d->lk->score = ended_score(d->lk, &d->rec);
    audit(d, "ended", d->rec.step, why);
    funnel(d, d->rec.step, "ended");
}

static void schedule_or_send(dctx_t *d, const hilo_strategy_step_t *step, int64_t due);

static void apply_next(dctx_t *d, const hilo_strategy_next_t *nx, const char *why) {
    if (hilo_strategy_result_parse(why) >= 0) snprintf(d->lk->result, sizeof d->lk->result, "%s", why);
    if (nx->kind == HILO_NEXT_STEP)
        schedule_or_send(d, nx->step, nx->at_ms);
    else
        end_run(d, why);
}

/* A step that cannot be sent (no usable phone, consent, the gate, no window, no text): a failed
 * result, with its reason in the audit and the funnel. */
static void skip(dctx_t *d, const hilo_strategy_step_t *step, const char *why, int hops) {
    const char *name = hilo_strategy_step_name(step);
    audit(d, "skipped", name, why);
    char metric[128];
    snprintf(metric, sizeof metric, "skipped:%s", why);
    funnel(d, name, metric);
    hilo_strategy_next_t nx;
    hilo_strategy_next(d->seg, d->variant, step, HILO_RESULT_FAILED, d->lk->now, &nx);
    snprintf(d->lk->result, sizeof d->lk->result, "failed");
    if (nx.kind == HILO_NEXT_STEP && hops < MAX_HOPS) {
        schedule_or_send(d, nx.step, nx.at_ms);
        return;
    }
    end_run(d, why); /* nothing can follow a step that could not go (docs/strategies.md) */
}

static void schedule_hops(dctx_t *d, const hilo_strategy_step_t *step, int64_t due, int hops) {
    look_t *lk = d->lk;
    const char *name = hilo_strategy_step_name(step);
    int ch = hilo_strategy_step_channel(step);
    hilo_strategy_excl_t why = HILO_EXCL_NONE;
    char phone[40], detail[96], reason[128];
    /* A `best` step that is due: the optimizer chooses (strategy_optimize.c); the holdout keeps
     * the fixed cadence below (the first channel, the fallback hours). */
    hilo_strategy_opt_pick_t pk = {.arm = -1};
    bool best = hilo_strategy_step_optimize(step) != 0, hold = best && hilo_strategy_opt_holdout(d->sr->opt, lk->debtor);
    if (best && !hold && due <= lk->now + 1000) {
        int prior = -1;
        if (is(d->rec.st, "due") && is(d->rec.step, name) && strncmp(d->rec.why, "opt:", 4) == 0)
            prior = atoi(d->rec.why + 4);
        hilo_strategy_opt_ask_t ask = {.gate = hilo_dispatch_gate(d->sr->ctx->dispatch), .f = d->f, .tz = d->tz,
                                       .st = d->st, .step = step, .from_ms = lk->now, .prior_arm = prior};
        hilo_strategy_opt_choose(d->sr->opt, &ask, lk->now, &pk);
        if (pk.audit) {
            json_object_set_new(pk.audit, "strategy", json_string(d->rec.strategy));
            json_object_set_new(pk.audit, "step", json_string(name));
            add_audit(lk, pk.audit);
        }
        if (pk.arm < 0) {
            skip(d, step, "optimizer:none_allowed", hops + 1);
            return;
        }
        ch = pk.channel;
    } else if (best && !hold) { /* not due yet: the optimizer decides when it is */
        snprintf(d->rec.step, sizeof d->rec.step, "%s", name);
        d->rec.oid[0] = d->rec.why[0] = d->rec.prev[0] = '\0';
        bool moved = !is(d->rec.st, "due") || d->rec.at != due;
        snprintf(d->rec.st, sizeof d->rec.st, "due");
        d->rec.at = due;
        if (moved) write_rec(d);
        lk->score = due;
        return;
    }
    if (!hilo_strategy_channel_usable(d->st, hilo_dispatch_gate(d->sr->ctx->dispatch), d->f, ch, &why, phone,
                                      sizeof phone)) {
        skip(d, step, hilo_strategy_excl_name(why), hops + 1);
        return;
    }
    int64_t t = pk.arm >= 0 ? pk.at_ms
                            : hilo_strategy_send_time(hilo_dispatch_gate(d->sr->ctx->dispatch), d->f, d->tz, step,
                                                      due > lk->now ? due : lk->now, &why, detail, sizeof detail);
    if (t < 0) {
        snprintf(reason, sizeof reason, "%s%s%s", hilo_strategy_excl_name(why), *detail ? ":" : "", detail);
        skip(d, step, reason, hops + 1);
        return;
    }
    snprintf(d->rec.step, sizeof d->rec.step, "%s", name);
    d->rec.oid[0] = d->rec.why[0] = d->rec.prev[0] = '\0';
    if (t > lk->now + 1000) { /* not yet: due at the first instant the window and the gate allow */
        char opt_why[16] = "";
        if (pk.arm >= 0) snprintf(opt_why, sizeof opt_why, "opt:%d", pk.arm); /* the chosen arm, kept */
        bool moved = !is(d->rec.st, "due") || d->rec.at != t || !is(d->rec.why, opt_why);
        snprintf(d->rec.st, sizeof d->rec.st, "due");
        snprintf(d->rec.why, sizeof d->rec.why, "%s", opt_why);
        d->rec.at = t;
        if (moved) write_rec(d);
        lk->score = t;
        return;
    }
    char *text = NULL;
    if (hilo_strategy_render(d->st, step, d->variant, d->f, &text, reason, sizeof reason) != HILO_OK) {
        skip(d, step, "render", hops + 1);
        return;
    }
    char by[HILO_STRATEGY_NAME_MAX + 16];
    snprintf(by, sizeof by, "strategy:%s", d->rec.strategy);
    const char *lang = hilo_strategy_text_language(d->st, step, d->variant, d->f);
    hilo_outbound_spec_t spec = {.debtor_id = lk->debtor,
                                 .channel = ch,
                                 .to = phone,
                                 .text = text,
                                 .by = by,
                                 .language = lang ? lang : "",
                                 .template_name = ch == HILO_CHANNEL_WHATSAPP ? hilo_strategy_step_template(step) : NULL,
                                 .wait_window = true,
                                 .strategy = d->rec.strategy};
    const hilo_router_config_t *cfg = d->sr->ctx->cfg;
    lk->send = hilo_outbound_record_new(&spec, lk->now, cfg->history_max,
                                        hilo_store_sha(d->sr->ctx->store, HILO_SCRIPT_COMMIT_OUTBOUND));
    free(text);
    if (!lk->send) {
        skip(d, step, "render", hops + 1);
        return;
    }
    lk->channel = ch;
    lk->budget = hilo_strategy_daily_budget(d->st);
    if (best) { /* the decision counts on its arm (or the holdout's week) and starts its credit */
        if (hold) {
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "optimizer", "why", "holdout", "strategy",
                                  d->rec.strategy, "step", name, "channel", hilo_channel_name(ch));
            add_audit(lk, o);
        }
        hilo_strategy_opt_sent(d->sr->opt, &lk->opt, d->f, &pk.d, hold, lk->now);
    }
    int64_t within = hilo_strategy_step_within_ms(step);
    snprintf(d->rec.st, sizeof d->rec.st, "out");
    snprintf(d->rec.last, sizeof d->rec.last, "%s", name);
    snprintf(d->rec.oid, sizeof d->rec.oid, "%s", hilo_outbound_record_id(lk->send));
    d->rec.sent = lk->now;
    d->rec.at = within > 0 ? lk->now + within : 0;
    srec_format(&d->rec, lk->new_, sizeof lk->new_);
    lk->write = true;
    lk->score = within > 0 ? lk->now + within : lk->now + recheck_ms(d);
    funnel(d, name, "committed");
}

static void schedule_or_send(dctx_t *d, const hilo_strategy_step_t *step, int64_t due) {
    schedule_hops(d, step, due, 0);
}

/* A step the provider took costs its channel's price for the number's country ([costs]): funnel
 * "cost_micros:<currency>" (the currency in the name, so that a change of currency never adds
 * two currencies up). The number is the one the step would use now (the debtor's own phone for
 * the channel), else the debtor's `country`. Nothing when no price is configured. */
static void add_cost(dctx_t *d, const hilo_strategy_step_t *step) {
    const hilo_costs_config_t *costs = &d->sr->ctx->cfg->costs;
    int ch = hilo_strategy_step_channel(step);
    hilo_strategy_excl_t why = HILO_EXCL_NONE;
    char phone[40], region[3] = "";
    if (!hilo_strategy_channel_usable(d->st, hilo_dispatch_gate(d->sr->ctx->dispatch), d->f, ch, &why, phone,
                                      sizeof phone) ||
        !hilo_costs_region_of(phone, region)) {
        const char *c = d->f->get(d->f->debtor, "country");
        if (c && strlen(c) == 2) snprintf(region, sizeof region, "%c%c", toupper((unsigned char)c[0]),
                                          toupper((unsigned char)c[1]));
    }
    int64_t micros = hilo_costs_of(costs, ch, region);
    if (micros < 0) return;
    char metric[32];
    snprintf(metric, sizeof metric, "cost_micros:%s", costs->currency);
    add_funnel_by(d->lk, d->rec.strategy, d->rec.variant, hilo_strategy_step_name(step), metric, micros);
}

/* The results of a step that was sent (state out): the debtor's reply, then what the provider
 * reported (sent < delivered < read, or failed), then the timeout. The results already counted
 * in the funnel are kept in the field's `why` ("s", "sd", "sdr", "f"). */
static void results(dctx_t *d, const hilo_strategy_step_t *cur) {
    look_t *lk = d->lk;
    const char *name = hilo_strategy_step_name(cur);
    int64_t last_in = get_ms(d->f->conv, "last_in_ms");
    hilo_strategy_next_t nx;
    if (d->rec.sent > 0 && last_in >= d->rec.sent) {
        hilo_strategy_next(d->seg, d->variant, cur, HILO_RESULT_REPLIED, last_in, &nx);
        if (nx.kind != HILO_NEXT_WAIT) {
            funnel(d, name, "replied");
            apply_next(d, &nx, "replied");
            return;
        }
    }
    const char *state = "", *reason = "";
    int64_t ms = lk->now;
    json_t *js = NULL;
    if (d->ostat && d->ostat->type == REDIS_REPLY_STRING && d->ostat->len) {
        js = json_loadb(d->ostat->str, d->ostat->len, 0, NULL);
        state = json_string_value(json_object_get(js, "state")) ? json_string_value(json_object_get(js, "state")) : "";
        reason = json_string_value(json_object_get(js, "reason")) ? json_string_value(json_object_get(js, "reason")) : "";
        /* The result's time is the runner's clock at this look (one clock: the report's own
         * stamp is the dispatcher's wall clock); a report makes the debtor due at once. */
    }
    if (is(state, "cancelled") && is(reason, "strategy_stopped")) {
        /* Held at hand-off before it went, and the hold is over: the step goes again. */
        json_decref(js);
        audit(d, "resumed", name, NULL);
        schedule_or_send(d, cur, lk->now);
        return;
    }
    hilo_strategy_result_t seen[3];
    int n = 0;
    const char *codes = "";
    /* A call a machine answered (hilo-voice's error_code "machine", docs/providers.md): it is
     * delivered, and also its own result, which fires first when the step has an on.machine. */
    const char *ecode = json_string_value(json_object_get(js, "error_code"));
    bool machine = ecode && strcmp(ecode, "machine") == 0 && hilo_strategy_step_channel(cur) == HILO_CHANNEL_VOICE;
    if (is(state, "failed") || is(state, "cancelled") || is(state, "unknown")) {
        /* unknown: the connector lost track during the provider's call (at most once: never
         * sent again); the strategy goes on as for a failure, counted apart. */
        seen[n++] = HILO_RESULT_FAILED;
        codes = "f";
    } else if (is(state, "read")) {
        seen[n++] = HILO_RESULT_SENT, seen[n++] = HILO_RESULT_DELIVERED, seen[n++] = HILO_RESULT_READ;
        codes = "sdr";
    } else if (is(state, "delivered") && machine) {
        seen[n++] = HILO_RESULT_SENT, seen[n++] = HILO_RESULT_MACHINE, seen[n++] = HILO_RESULT_DELIVERED;
        codes = "smd";
    } else if (is(state, "delivered")) {
        seen[n++] = HILO_RESULT_SENT, seen[n++] = HILO_RESULT_DELIVERED;
        codes = "sd";
    } else if (is(state, "sent")) {
        seen[n++] = HILO_RESULT_SENT;
        codes = "s";
    }
    /* Count the results not counted before. */
    size_t counted = strlen(d->rec.why);
    if (strcmp(codes, d->rec.why) != 0) {
        for (int i = 0; i < n; i++) {
            if ((size_t)i < counted && codes[i] == d->rec.why[i]) continue;
            if (is(state, "unknown")) {
                funnel(d, name, "unknown");
            } else if (seen[i] == HILO_RESULT_FAILED && is(state, "cancelled")) {
                char metric[128];
                snprintf(metric, sizeof metric, "refused:%s", reason);
                funnel(d, name, metric);
            } else {
                funnel(d, name, hilo_strategy_result_name(seen[i]));
                if (seen[i] == HILO_RESULT_SENT) add_cost(d, cur);
            }
        }
        snprintf(d->rec.why, sizeof d->rec.why, "%s", codes);
        write_rec(d);
    }
    json_decref(js);
    for (int i = 0; i < n; i++) {
        hilo_strategy_next(d->seg, d->variant, cur, seen[i], ms, &nx);
        if (nx.kind != HILO_NEXT_WAIT) {
            apply_next(d, &nx, hilo_strategy_result_name(seen[i]));
            return;
        }
    }
    int64_t within = hilo_strategy_step_within_ms(cur);
    if (within > 0 && lk->now >= d->rec.sent + within) {
        hilo_strategy_next(d->seg, d->variant, cur, HILO_RESULT_TIMEOUT, d->rec.sent + within, &nx);
        funnel(d, name, "timeout");
        apply_next(d, &nx, "timeout");
        return;
    }
    /* Nothing fired: wait for the next result, or the timeout. */
    if (is(d->rec.st, "hold")) {
        snprintf(d->rec.st, sizeof d->rec.st, "out");
        d->rec.prev[0] = '\0';
        write_rec(d);
    }
    lk->score = within > 0 ? d->rec.sent + within : lk->now + recheck_ms(d);
}

/* Attribution: what the debtor did within the strategy's attribution window after their last
 * step counts for that step and variant, each event once — payments (funnel "paid" and
 * "collected_cents"), the right-party verification ("verified", conv verified_ms), promises and
 * plans ("promised", the ledger's created_ms) and opt-outs ("opted_out", conv optout:<channel>).
 * The conv field strat_attr keeps, per kind, the time of the newest event already counted:
 * "<payment import ms>|<verified ms>|<promise ms>|<opt-out ms>" (strat_paid, a payment time
 * alone, is what older routers kept). */
typedef struct {
    int64_t paid, verified, promised, optout;
} marks_t;

static marks_t marks_of(const redisReply *conv) {
    marks_t m = {0};
    const char *v = get(conv, "strat_attr");
    if (v)
        sscanf(v, "%" SCNd64 "|%" SCNd64 "|%" SCNd64 "|%" SCNd64, &m.paid, &m.verified, &m.promised, &m.optout);
    else
        m.paid = get_ms(conv, "strat_paid");
    return m;
}

static void attribute(look_t *lk, const srec_t *rec, const redisReply *conv, const redisReply *promises,
                      const redisReply *payments) {
    if (!*rec->last || rec->sent <= 0) return;
    const hilo_strategy_t *st = hilo_strategy_set_find(lk->sr->set, rec->strategy);
    if (!st) return;
    int64_t window = hilo_strategy_attribution_ms(st), until = rec->sent + window;
    marks_t seen = marks_of(conv), m = seen;
    for (size_t i = 1; payments->type == REDIS_REPLY_ARRAY && i < payments->elements; i += 2) {
        json_t *p = json_loadb(payments->element[i]->str, payments->element[i]->len, 0, NULL);
        int64_t paid = json_integer_value(json_object_get(p, "paid_ms"));
        int64_t imported = json_integer_value(json_object_get(p, "imported_ms"));
        int64_t cents = json_integer_value(json_object_get(p, "amount_cents"));
        /* A payment dated by day alone counts from the start of the step's UTC day. */
        int64_t from = json_is_true(json_object_get(p, "date_only")) ? rec->sent - rec->sent % 86400000 : rec->sent;
        if (imported > seen.paid && paid >= from && paid <= until && cents > 0) {
            add_funnel(lk, rec->strategy, rec->variant, rec->last, "paid");
            add_funnel_by(lk, rec->strategy, rec->variant, rec->last, "collected_cents", cents);
            if (imported > m.paid) m.paid = imported;
        }
        json_decref(p);
    }
    /* A promise or a plan, each once (a plan's instalments are not promises of their own). */
    for (size_t i = 1; promises->type == REDIS_REPLY_ARRAY && i < promises->elements; i += 2) {
        json_t *p = json_loadb(promises->element[i]->str, promises->element[i]->len, 0, NULL);
        const char *kind = json_string_value(json_object_get(p, "kind"));
        int64_t made = json_integer_value(json_object_get(p, "created_ms"));
        bool own = kind && (strcmp(kind, "plan") == 0 || (strcmp(kind, "promise") == 0 && !json_object_get(p, "plan")));
        if (own && made > seen.promised && made >= rec->sent && made <= until) {
            add_funnel(lk, rec->strategy, rec->variant, rec->last, "promised");
            if (made > m.promised) m.promised = made;
        }
        json_decref(p);
    }
    int64_t verified = get_ms(conv, "verified_ms");
    if (verified > seen.verified && verified >= rec->sent && verified <= until) {
        add_funnel(lk, rec->strategy, rec->variant, rec->last, "verified");
        m.verified = verified;
    }
    int64_t optout = 0;
    for (int ch = 1; ch < HILO_CHANNEL_MAX; ch++) {
        char field[32];
        snprintf(field, sizeof field, "optout:%s", hilo_channel_name(ch));
        int64_t at = get_ms(conv, field);
        if (at > optout) optout = at;
    }
    if (optout > seen.optout && optout >= rec->sent && optout <= until) {
        add_funnel(lk, rec->strategy, rec->variant, rec->last, "opted_out");
        m.optout = optout;
    }
    if (memcmp(&m, &seen, sizeof m) != 0)
        snprintf(lk->attr_mark, sizeof lk->attr_mark, "%" PRId64 "|%" PRId64 "|%" PRId64 "|%" PRId64, m.paid,
                 m.verified, m.promised, m.optout);
}

static int ctl_of(const hilo_strategy_run_t *sr, const hilo_strategy_t *st) {
    for (size_t i = 0; i < hilo_strategy_set_count(sr->set); i++)
        if (hilo_strategy_set_get(sr->set, i) == st) return sr->ctl[i];
    return CTL_FILE;
}

/* Decides about one debtor on what strategy_read.lua answered: fills lk (write, score, send,
 * audit, funnel). Pure: no I/O. */
static void decide(look_t *lk, const redisReply *r) {
    hilo_strategy_run_t *sr = lk->sr;
    const redisReply *debtor = r->element[0], *conv = r->element[1];
    lk->score = -1;
    const char *old = get(conv, "strat");
    snprintf(lk->old, sizeof lk->old, "%s", old ? old : "");
    dctx_t d = {.lk = lk, .sr = sr, .ostat = r->element[5]};
    bool had = srec_parse(lk->old, &d.rec);
    if (had) attribute(lk, &d.rec, conv, r->element[3], r->element[4]);
    if (debtor->type != REDIS_REPLY_ARRAY || debtor->elements == 0) { /* no portfolio record (any more) */
        hilo_log_info("strategy", "event=left_index debtor=%s reason=no_debtor", lk->debtor);
        if (had && !is(d.rec.st, "end")) end_run(&d, "no_debtor");
        lk->score = -1;
        return;
    }
    hilo_strategy_facts_t f = {.debtor_id = lk->debtor, .get = get, .debtor = debtor, .conv = conv,
                               .consent = r->element[2], .now_ms = lk->now};
    const char *currency = get(debtor, "currency");
    int64_t since = get_ms(debtor, "imported_ms");
    const redisReply *pr = r->element[3], *pay = r->element[4];
    for (size_t i = 1; pr->type == REDIS_REPLY_ARRAY && i < pr->elements; i += 2)
        hilo_strategy_ledger_promise(&f.ledger, pr->element[i]->str, pr->element[i]->len);
    for (size_t i = 1; pay->type == REDIS_REPLY_ARRAY && i < pay->elements; i += 2)
        hilo_strategy_ledger_payment(&f.ledger, pay->element[i]->str, pay->element[i]->len, currency, since);
    d.f = &f;
    hilo_strategy_opt_look_start(&lk->opt, get(conv, "opt_credit"));
    hilo_strategy_opt_results(sr->opt, &lk->opt, &f, pr, pay, lk->now);
    for (size_t i = 0; lk->opt.audit && i < json_array_size(lk->opt.audit); i++)
        add_audit(lk, json_incref(json_array_get(lk->opt.audit, i)));

    const hilo_compliance_t *gate = hilo_dispatch_gate(sr->ctx->dispatch);
    hilo_strategy_match_t m;
    bool in = gate && hilo_strategy_match(sr->set, gate, &f, &m);
    if (!gate) { /* the rule packs are unreadable: decide nothing, look again soon */
        lk->score = lk->now + RETRY_MS;
        return;
    }
    int ctl = m.strategy ? ctl_of(sr, m.strategy) : CTL_FILE;
    if (in && ctl == CTL_PAUSED) {
        in = false;
        m.excluded = HILO_EXCL_PAUSED;
    } else if (!in && m.excluded == HILO_EXCL_PAUSED && ctl == CTL_RUNNING) {
        in = true;
        m.excluded = HILO_EXCL_NONE;
    }
    if (m.excluded == HILO_EXCL_PAUSED) {
        /* Nothing changes while the strategy is paused; `hilo strategy start|resume` puts every
         * debtor at the front of the index again. */
        lk->score = lk->now + recheck_ms(&(dctx_t){.sr = sr});
        return;
    }
    if (!in) {
        char excl[128];
        snprintf(excl, sizeof excl, "%s%s%s", hilo_strategy_excl_name(m.excluded), *m.detail ? ":" : "", m.detail);
        if (!had) {
            /* Never started: in no strategy at all leaves the index (an import or `hilo strategy
             * start` brings it back); a stop is looked at again later. */
            lk->score = m.excluded == HILO_EXCL_NO_SEGMENT ? -1 : lk->now + recheck_ms(&d);
            if (lk->score < 0) hilo_log_debug("strategy", "event=left_index debtor=%s reason=no_segment", lk->debtor);
            return;
        }
        if (is(d.rec.st, "end")) {
            lk->score = ended_score(lk, &d.rec);
            return;
        }
        lk->score = lk->now + recheck_ms(&d);
        if (is(d.rec.st, "stop") && is(d.rec.why, excl)) return;
        const char *was = is(d.rec.st, "hold") ? d.rec.prev : d.rec.st;
        if (!is(d.rec.st, "stop")) snprintf(d.rec.prev, sizeof d.rec.prev, "%s", was);
        snprintf(d.rec.st, sizeof d.rec.st, "stop");
        snprintf(d.rec.why, sizeof d.rec.why, "%s", excl);
        d.rec.at = lk->now + recheck_ms(&d);
        write_rec(&d);
        audit(&d, "stopped", d.rec.step, excl);
        char metric[160];
        snprintf(metric, sizeof metric, "stopped:%s", hilo_strategy_excl_name(m.excluded));
        funnel(&d, d.rec.step, metric);
        return;
    }

    d.st = m.strategy;
    d.seg = m.segment;
    const char *zone = get(debtor, "timezone");
    char err[200];
    d.tz = zone && *zone ? hilo_tzdb_get(sr->tzdb, zone, err, sizeof err) : NULL;
    bool same = had && is(d.rec.strategy, hilo_strategy_name(d.st)) &&
                is(d.rec.segment, hilo_strategy_segment_name(d.seg));
    d.variant = same ? hilo_strategy_variant_of(d.st, lk->debtor, d.rec.variant) : m.variant;
    if (!d.tz) {
        lk->score = lk->now + recheck_ms(&d);
        if (!had) return;
        snprintf(d.rec.st, sizeof d.rec.st, "stop");
        snprintf(d.rec.why, sizeof d.rec.why, "gate:unknown_timezone");
        write_rec(&d);
        return;
    }
    const hilo_strategy_step_t *first = hilo_strategy_first_step(d.seg, d.variant);
    if (!same) { /* enters the segment (first time, or the debtor's facts moved it) */
        long rev = had ? d.rec.rev : 0;
        memset(&d.rec, 0, sizeof d.rec);
        d.rec.rev = rev;
        snprintf(d.rec.strategy, sizeof d.rec.strategy, "%s", hilo_strategy_name(d.st));
        snprintf(d.rec.segment, sizeof d.rec.segment, "%s", hilo_strategy_segment_name(d.seg));
        snprintf(d.rec.variant, sizeof d.rec.variant, "%s", hilo_strategy_variant_name(d.st, d.variant));
        snprintf(d.rec.st, sizeof d.rec.st, "new");
        funnel(&d, hilo_strategy_step_name(first), "entered");
        schedule_or_send(&d, first, lk->now + hilo_strategy_step_wait_ms(first));
        return;
    }
    if (is(d.rec.st, "end")) {
        lk->score = ended_score(lk, &d.rec);
        return;
    }
    if (is(d.rec.st, "hold") && r->element[6]->type == REDIS_REPLY_INTEGER && r->element[6]->integer > 0) {
        lk->score = lk->now + HOLD_TURN_MS; /* the conversation is mid-turn: decide after it */
        return;
    }
    const hilo_strategy_step_t *cur = *d.rec.step ? hilo_strategy_step_find(d.seg, d.variant, d.rec.step) : NULL;
    if (!cur) { /* its step is gone (a reload): the segment's first step (docs/strategies.md) */
        audit(&d, "restarted", hilo_strategy_step_name(first), d.rec.step);
        schedule_or_send(&d, first, lk->now + hilo_strategy_step_wait_ms(first));
        return;
    }
    const char *state = is(d.rec.st, "hold") ? d.rec.prev : d.rec.st;
    if (is(state, "out")) {
        results(&d, cur);
        return;
    }
    /* due, or stopped and now back in: the step goes at its time. A reply while it waited is the
     * last sent step's result. */
    int64_t last_in = get_ms(conv, "last_in_ms");
    if (*d.rec.last && last_in >= d.rec.sent && d.rec.sent > 0) {
        const hilo_strategy_step_t *last = hilo_strategy_step_find(d.seg, d.variant, d.rec.last);
        hilo_strategy_next_t nx;
        if (last) {
            hilo_strategy_next(d.seg, d.variant, last, HILO_RESULT_REPLIED, last_in, &nx);
            if (nx.kind != HILO_NEXT_WAIT) {
                funnel(&d, d.rec.last, "replied");
                d.rec.sent = last_in; /* the reply is used once */
                apply_next(&d, &nx, "replied");
                return;
            }
        }
    }
    if (is(d.rec.st, "stop")) {
        audit(&d, "resumed", d.rec.step, d.rec.why);
        schedule_or_send(&d, cur, lk->now);
        return;
    }
    schedule_or_send(&d, cur, d.rec.at);
}

/* --- writing ------------------------------------------------------------------------------ */

static void look_free(look_t *lk) {
    for (int i = 0; i < lk->naudit; i++) free(lk->audit[i]);
    for (int i = 0; i < lk->nfunnel; i++) free(lk->funnel[i]);
    hilo_outbound_record_destroy(&lk->send);
    hilo_strategy_opt_look_free(&lk->opt);
    free(lk);
}

static void look_reset(look_t *lk) {
    for (int i = 0; i < lk->naudit; i++) free(lk->audit[i]);
    for (int i = 0; i < lk->nfunnel; i++) free(lk->funnel[i]);
    hilo_outbound_record_destroy(&lk->send);
    hilo_strategy_opt_look_free(&lk->opt);
    memset(&lk->opt, 0, sizeof lk->opt);
    lk->naudit = lk->nfunnel = 0;
    lk->write = false;
    lk->attr_mark[0] = lk->result[0] = '\0';
    lk->old[0] = lk->new_[0] = '\0';
}

static void part_done(hilo_strategy_run_t *sr, int part);

/* The look is over: the debtor's next score (only if nobody moved it since our claim), counters. */
static void look_end(look_t *lk, bool decided) {
    hilo_strategy_run_t *sr = lk->sr;
    if (!sr->ctx->closing) {
        char k[HILO_KEY_MAX], mark[24], score[24] = "";
        int part = hilo_outbox_partition(lk->debtor);
        hilo_key_sched(k, sizeof k, part);
        snprintf(mark, sizeof mark, "%" PRId64, lk->mark);
        int64_t next = decided ? lk->score : lk->now + RETRY_MS;
        if (next >= 0) snprintf(score, sizeof score, "%" PRId64, next);
        const char *argv[] = {"EVALSHA", hilo_store_sha(sr->ctx->store, HILO_SCRIPT_OUTBOX_INDEX), "1", k, "set_if",
                              lk->debtor, mark, score};
        run(sr, NULL, NULL, (int)HILO_ARRAY_LEN(argv), argv);
        if (decided && lk->nfunnel) {
            char fk[HILO_KEY_MAX];
            hilo_key_strategy(fk, sizeof fk, lk->funnel_strategy, "funnel");
            for (int i = 0; i < lk->nfunnel; i++) {
                char by[24];
                snprintf(by, sizeof by, "%lld", lk->funnel_by[i]);
                const char *fa[] = {"HINCRBY", fk, lk->funnel[i], by};
                run(sr, NULL, NULL, 4, fa);
            }
        }
        part_done(sr, part);
    }
    look_free(lk);
}

static bool reply_failed(look_t *lk, redisReply *r, const char *what) {
    if (lk->sr->ctx->closing) {
        look_free(lk);
        return true;
    }
    if (!r) { /* Redis went away: the claim's lease brings the debtor back */
        look_end(lk, false);
        return true;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        hilo_log_error("strategy", "event=%s_failed debtor=%s reply=\"%s\"", what, lk->debtor, r->str);
        if (strncmp(r->str, "NOSCRIPT", 8) == 0) hilo_store_reset(lk->sr->ctx->store, "script cache flushed");
        look_end(lk, false);
        return true;
    }
    return false;
}

/* The field changed between our read and our write: read again (a few times), else later. */
static void changed(look_t *lk) {
    if (++lk->retries > MAX_RETRIES) {
        hilo_log_warn("strategy", "event=look_deferred debtor=%s reason=\"the debtor's strategy field kept changing\"",
                      lk->debtor);
        look_end(lk, false);
        return;
    }
    look_reset(lk);
    look_read(lk);
}

static void on_set(redisReply *r, void *arg) {
    look_t *lk = arg;
    if (reply_failed(lk, r, "strategy_set")) return;
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
        hilo_strategy_opt_flush(lk->sr->opt, &lk->opt); /* the debtor's credit first, then the cells */
        look_end(lk, true);
    }
    else
        changed(lk);
}

static void write_set(look_t *lk) {
    hilo_strategy_run_t *sr = lk->sr;
    char kconv[HILO_KEY_MAX], kaudit[HILO_KEY_MAX];
    hilo_key_debtor(kconv, sizeof kconv, lk->debtor, HILO_KEY_CONV);
    hilo_key_debtor(kaudit, sizeof kaudit, lk->debtor, HILO_KEY_AUDIT);
    const char *argv[10 + MAX_AUDIT] = {"EVALSHA", hilo_store_sha(sr->ctx->store, HILO_SCRIPT_STRATEGY_SET), "2", kconv,
                                        kaudit, lk->old, lk->new_, lk->attr_mark, lk->result, lk->opt.hex};
    int argc = 10;
    for (int i = 0; i < lk->naudit; i++) argv[argc++] = lk->audit[i];
    if (run(sr, on_set, lk, argc, argv) != HILO_OK) look_end(lk, false);
}

/* The debtor's mark in the partitioned dispatch index (lib/outbox.lua: before the commit, so that
 * a crash after it still leaves one, and again after it). */
static void mark_dispatch(look_t *lk) {
    int argc;
    const char **argv;
    const size_t *lens;
    hilo_outbound_record_index_argv(lk->send, &argc, &argv, &lens);
    hilo_store_argv(lk->sr->ctx->store, NULL, NULL, argc, argv, lens);
}

static void on_committed(redisReply *r, void *arg) {
    look_t *lk = arg;
    if (reply_failed(lk, r, "strategy_commit")) return;
    if (r->type == REDIS_REPLY_INTEGER && r->integer < 0) {
        changed(lk);
        return;
    }
    hilo_strategy_run_t *sr = lk->sr;
    int argc;
    const char **argv;
    const size_t *lens;
    /* The dispatch index mark again, the listing, the audit; then the gate at hand-off looks at
     * the debtor's queue. */
    mark_dispatch(lk);
    hilo_outbound_record_listing_argv(lk->send, &argc, &argv, &lens);
    hilo_store_argv(sr->ctx->store, NULL, NULL, argc, argv, lens);
    if (lk->naudit) {
        char kaudit[HILO_KEY_MAX];
        hilo_key_debtor(kaudit, sizeof kaudit, lk->debtor, HILO_KEY_AUDIT);
        for (int i = 0; i < lk->naudit; i++) {
            const char *a[] = {"XADD", kaudit, "*", "ev", "strategy", "j", lk->audit[i]};
            run(sr, NULL, NULL, 7, a);
        }
    }
    if (*lk->attr_mark || *lk->result) { /* attribution counted in this look, the last result */
        char kconv[HILO_KEY_MAX];
        hilo_key_debtor(kconv, sizeof kconv, lk->debtor, HILO_KEY_CONV);
        const char *a[6] = {"HSET", kconv};
        int n = 2;
        if (*lk->attr_mark) a[n++] = "strat_attr", a[n++] = lk->attr_mark;
        if (*lk->result) a[n++] = HILO_CONV_LAST_RESULT, a[n++] = lk->result;
        run(sr, NULL, NULL, n, a);
    }
    sr->ctx->metrics.strategy_sends++;
    hilo_log_info("strategy", "event=step_committed debtor=%s channel=%s outbound_id=%s", lk->debtor,
                  hilo_channel_name(lk->channel), hilo_outbound_record_id(lk->send));
    hilo_strategy_opt_flush(sr->opt, &lk->opt);
    hilo_dispatch_kick_debtor(sr->ctx->dispatch, lk->channel, lk->debtor);
    look_end(lk, true);
}

static void commit(look_t *lk) {
    hilo_strategy_run_t *sr = lk->sr;
    int argc;
    const char **argv;
    const size_t *lens;
    mark_dispatch(lk);
    hilo_outbound_record_argv(lk->send, &argc, &argv, &lens);
    const char *av[HILO_OUTBOUND_RECORD_ARGC + 3];
    size_t al[HILO_OUTBOUND_RECORD_ARGC + 3];
    memcpy(av, argv, sizeof(*argv) * (size_t)argc);
    memcpy(al, lens, sizeof(*lens) * (size_t)argc);
    av[argc] = lk->old;
    al[argc++] = strlen(lk->old);
    av[argc] = lk->new_;
    al[argc++] = strlen(lk->new_);
    av[argc] = lk->opt.hex;
    al[argc++] = strlen(lk->opt.hex);
    if (hilo_store_argv(sr->ctx->store, on_committed, lk, argc, av, al) != HILO_OK) look_end(lk, false);
}

/* The strategy's daily budget (UTC days), counted before the commit: over it, the step waits for
 * the next day. A crash between the count and the commit costs one unit of the budget, never a
 * send over it. */
static void on_budget(redisReply *r, void *arg) {
    look_t *lk = arg;
    if (reply_failed(lk, r, "strategy_budget")) return;
    if (r->type == REDIS_REPLY_INTEGER && r->integer > lk->budget) {
        srec_t rec;
        srec_parse(lk->new_, &rec);
        int64_t day = lk->now / 86400000;
        snprintf(rec.st, sizeof rec.st, "due");
        rec.oid[0] = '\0';
        rec.at = (day + 1) * 86400000;
        srec_t old;
        if (srec_parse(lk->old, &old)) snprintf(rec.last, sizeof rec.last, "%s", old.last), rec.sent = old.sent;
        srec_format(&rec, lk->new_, sizeof lk->new_);
        lk->score = rec.at;
        hilo_outbound_record_destroy(&lk->send);
        lk->opt.hex[0] = '\0'; /* not sent: no decision to credit, no counts */
        lk->opt.changed = false;
        lk->opt.ncells = 0;
        for (int i = 0; i < lk->nfunnel; i++) free(lk->funnel[i]);
        lk->nfunnel = 0;
        add_funnel(lk, rec.strategy, rec.variant, rec.step, "over_budget");
        char k[HILO_KEY_MAX], kday[40];
        snprintf(kday, sizeof kday, "budget:%" PRId64, day);
        hilo_key_strategy(k, sizeof k, rec.strategy, kday);
        const char *argv[] = {"DECR", k};
        run(lk->sr, NULL, NULL, 2, argv);
        write_set(lk);
        return;
    }
    commit(lk);
}

static void write_decision(look_t *lk) {
    if (lk->send && lk->budget > 0) {
        srec_t rec;
        srec_parse(lk->new_, &rec);
        char k[HILO_KEY_MAX], kday[40], ttl[16];
        snprintf(kday, sizeof kday, "budget:%" PRId64, lk->now / 86400000);
        hilo_key_strategy(k, sizeof k, rec.strategy, kday);
        snprintf(ttl, sizeof ttl, "%d", 3 * 86400);
        const char *argv[] = {"INCR", k};
        const char *exp[] = {"EXPIRE", k, ttl};
        if (run(lk->sr, on_budget, lk, 2, argv) != HILO_OK) {
            look_end(lk, false);
            return;
        }
        run(lk->sr, NULL, NULL, 3, exp);
        return;
    }
    if (lk->send)
        commit(lk);
    else if (lk->write || *lk->attr_mark || *lk->result || lk->opt.changed) {
        if (!lk->write) snprintf(lk->new_, sizeof lk->new_, "%s", lk->old); /* only strat_attr or strat_result */
        write_set(lk);
    }
    else
        look_end(lk, true);
}

/* --- reading ------------------------------------------------------------------------------ */

static void on_read(redisReply *r, void *arg) {
    look_t *lk = arg;
    if (reply_failed(lk, r, "strategy_read")) return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7) {
        hilo_log_error("strategy", "event=strategy_read_failed debtor=%s reply=unexpected", lk->debtor);
        look_end(lk, false);
        return;
    }
    lk->sr->ctx->metrics.strategy_looks++;
    decide(lk, r);
    write_decision(lk);
}

static void look_read(look_t *lk) {
    hilo_strategy_run_t *sr = lk->sr;
    static const char *const parts[] = {HILO_KEY_DEBTOR,  HILO_KEY_CONV,  HILO_KEY_CONSENT, HILO_KEY_PROMISES,
                                        HILO_KEY_PAYMENTS, HILO_KEY_OSTAT, HILO_KEY_TURNQ};
    char k[7][HILO_KEY_MAX];
    const char *argv[10] = {"EVALSHA", hilo_store_sha(sr->ctx->store, HILO_SCRIPT_STRATEGY_READ), "7"};
    for (int i = 0; i < 7; i++) {
        hilo_key_debtor(k[i], sizeof k[i], lk->debtor, parts[i]);
        argv[3 + i] = k[i];
    }
    if (run(sr, on_read, lk, 10, argv) != HILO_OK) look_end(lk, false);
}

/* --- the sweep ---------------------------------------------------------------------------- */

typedef struct {
    hilo_strategy_run_t *sr;
    int part;
    int64_t now;               /* the clock of the sweep that claimed (its looks decide on it) */
} claim_t;

static void claim(hilo_strategy_run_t *sr, int part);

static void part_done(hilo_strategy_run_t *sr, int part) {
    if (--sr->outstanding[part] > 0) return;
    sr->claiming[part] = false;
    if (sr->again[part] && !sr->closed) {
        sr->again[part] = false;
        claim(sr, part);
    }
}

static void on_claimed(redisReply *r, void *arg) {
    claim_t *c = arg;
    hilo_strategy_run_t *sr = c->sr;
    int part = c->part;
    int64_t now = c->now;
    free(c);
    if (sr->ctx->closing) return;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
        if (!r) {
            sr->claiming[part] = false;
            return;
        }
        if (r->type == REDIS_REPLY_ERROR) hilo_log_error("strategy", "event=claim_failed reply=\"%s\"", r->str);
        sr->claiming[part] = false;
        return;
    }
    int64_t mark = strtoll(r->element[0]->str, NULL, 10);
    size_t n = r->elements - 1;
    sr->again[part] = n >= (size_t)sr->ctx->cfg->strategy_batch;
    sr->outstanding[part] = 1; /* held while starting looks */
    for (size_t i = 1; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > HILO_DEBTOR_ID_MAX) continue;
        look_t *lk = hilo_xcalloc(1, sizeof *lk);
        lk->sr = sr;
        memcpy(lk->debtor, e->str, e->len);
        lk->mark = mark;
        lk->now = now;
        if (!hilo_debtor_id_valid(lk->debtor)) { /* not a debtor: out of the index */
            char k[HILO_KEY_MAX];
            hilo_key_sched(k, sizeof k, part);
            const char *argv[] = {"ZREM", k, lk->debtor};
            run(sr, NULL, NULL, 3, argv);
            free(lk);
            continue;
        }
        sr->outstanding[part]++;
        look_read(lk);
    }
    part_done(sr, part);
}

static void claim(hilo_strategy_run_t *sr, int part) {
    if (sr->claiming[part]) {
        sr->again[part] = true;
        return;
    }
    char k[HILO_KEY_MAX], now[24], lease[24], batch[16];
    hilo_key_sched(k, sizeof k, part);
    snprintf(now, sizeof now, "%" PRId64, sr->now_ms);
    /* Every claim's mark differs (set_if: a look only sets the score its own claim gave): two
     * claims of one debtor at the same instant (a kick between two sweeps; the test clock
     * standing still; another router) must not let the older look's decision win. */
    snprintf(lease, sizeof lease, "%ld", sr->ctx->cfg->strategy_lease_ms + (long)(++sr->claims % 9973));
    snprintf(batch, sizeof batch, "%ld", sr->ctx->cfg->strategy_batch);
    claim_t *c = hilo_xcalloc(1, sizeof *c);
    c->sr = sr;
    c->part = part;
    c->now = sr->now_ms;
    const char *argv[] = {"EVALSHA", hilo_store_sha(sr->ctx->store, HILO_SCRIPT_OUTBOX_INDEX), "1", k, "claim", now,
                          lease, batch};
    if (run(sr, on_claimed, c, (int)HILO_ARRAY_LEN(argv), argv) == HILO_OK)
        sr->claiming[part] = true;
    else
        free(c);
}

static void claim_all(hilo_strategy_run_t *sr) {
    sr->sweeping = false;
    if (sr->closed || sr->ctx->closing) return;
    for (int p = 0; p < HILO_OUTBOX_PARTITIONS; p++) claim(sr, p);
}

typedef struct {
    hilo_strategy_run_t *sr;
    size_t i;
    hilo_strategy_set_t *set; /* the set the read was for (a reload may replace it meanwhile) */
} ctl_t;

static void on_ctl(redisReply *r, void *arg) {
    ctl_t *c = arg;
    hilo_strategy_run_t *sr = c->sr;
    if (r && !sr->ctx->closing && c->set == sr->set) {
        int v = CTL_FILE;
        if (r->type == REDIS_REPLY_STRING) v = is(r->str, "running") ? CTL_RUNNING : is(r->str, "paused") ? CTL_PAUSED : CTL_FILE;
        sr->ctl[c->i] = v;
    }
    free(c);
    if (!sr->ctx->closing && --sr->ctl_pending == 0) claim_all(sr);
}

static void read_controls(hilo_strategy_run_t *sr) {
    size_t n = hilo_strategy_set_count(sr->set);
    sr->ctl_pending = 1;
    for (size_t i = 0; i < n; i++) {
        char k[HILO_KEY_MAX];
        hilo_key_strategy(k, sizeof k, hilo_strategy_name(hilo_strategy_set_get(sr->set, i)), "state");
        ctl_t *c = hilo_xcalloc(1, sizeof *c);
        c->sr = sr;
        c->i = i;
        c->set = sr->set;
        const char *argv[] = {"GET", k};
        if (run(sr, on_ctl, c, 2, argv) == HILO_OK)
            sr->ctl_pending++;
        else
            free(c);
    }
    if (--sr->ctl_pending == 0) claim_all(sr);
}

static void on_clock(redisReply *r, void *arg) {
    hilo_strategy_run_t *sr = arg;
    if (sr->ctx->closing) return;
    if (!r) {
        sr->sweeping = false;
        return;
    }
    sr->now_ms = hilo_clock_from_reply(r); /* the real one when no test clock is set */
    hilo_strategy_opt_refresh(sr->opt);
    read_controls(sr);
}

static void sweep(hilo_strategy_run_t *sr) {
    hilo_router_ctx_t *ctx = sr->ctx;
    if (sr->closed || sr->sweeping || !sr->set || hilo_strategy_set_count(sr->set) == 0 ||
        !hilo_store_ready(ctx->store))
        return;
    sr->sweeping = true;
    if (ctx->cfg->test_clock) { /* the test clock, when set, is "now" (as for the gate) */
        if (hilo_store_command(ctx->store, on_clock, sr, "GET %s", HILO_KEY_TEST_CLOCK) != HILO_OK) sr->sweeping = false;
        return;
    }
    sr->now_ms = hilo_now_ms();
    hilo_strategy_opt_refresh(sr->opt);
    read_controls(sr);
}

static void on_timer(uv_timer_t *t) { sweep(t->data); }

/* --- life ---------------------------------------------------------------------------------- */

typedef struct {
    char *err;
    size_t errlen;
    int n;
} problems_t;

static void first_problem(const char *problem, void *arg) {
    problems_t *p = arg;
    if (p->n++ == 0) snprintf(p->err, p->errlen, "%s", problem);
}

/* The files of [strategies] dir, refused as `hilo strategy check` refuses them (privacy, the
 * notices each reachable country's rule pack asks for): a router never runs what check refuses. */
static int load(hilo_strategy_run_t *sr, hilo_strategy_set_t **out, char *err, size_t errlen) {
    *out = NULL;
    if (!*sr->dir) return 0;
    *out = hilo_strategy_set_load_dir(sr->dir, err, errlen);
    if (!*out) return -1;
    const hilo_compliance_t *gate = hilo_dispatch_gate(sr->ctx->dispatch);
    problems_t p = {err, errlen, 0};
    for (size_t i = 0; i < hilo_strategy_set_count(*out) && !p.n; i++)
        hilo_strategy_check(hilo_strategy_set_get(*out, i), gate, first_problem, &p);
    if (p.n) {
        hilo_strategy_set_destroy(out);
        return -1;
    }
    return 0;
}

hilo_strategy_run_t *hilo_strategy_run_new(hilo_router_ctx_t *ctx, char *err, size_t errlen) {
    hilo_strategy_run_t *sr = hilo_xcalloc(1, sizeof *sr);
    sr->ctx = ctx;
    if (*ctx->cfg->strategies_dir)
        hilo_router_config_path(ctx->cfg, ctx->cfg->strategies_dir, sr->dir, sizeof sr->dir);
    if (load(sr, &sr->set, err, errlen) != 0) {
        free(sr);
        return NULL;
    }
    sr->ctl = hilo_xcalloc(sr->set ? hilo_strategy_set_count(sr->set) + 1 : 1, sizeof *sr->ctl);
    sr->tzdb = hilo_tzdb_new(NULL);
    sr->opt = hilo_strategy_opt_new(ctx->store);
    sr->claims = (uint64_t)hilo_mono_us(); /* another router starts its marks elsewhere */
    uv_timer_init(ctx->loop, &sr->timer);
    sr->timer.data = sr;
    return sr;
}

void hilo_strategy_run_start(hilo_strategy_run_t *sr) {
    uint64_t every = (uint64_t)sr->ctx->cfg->strategy_poll_ms;
    uv_timer_start(&sr->timer, on_timer, every, every);
    hilo_log_info("strategy", "event=runner_started dir=\"%s\" strategies=%zu every_ms=%" PRIu64, sr->dir,
                  sr->set ? hilo_strategy_set_count(sr->set) : 0, every);
}

int hilo_strategy_run_reload(hilo_strategy_run_t *sr, char *err, size_t errlen) {
    hilo_strategy_set_t *set;
    if (load(sr, &set, err, errlen) != 0) return -1;
    /* Looks in flight keep pointers into the old set only within their read callback (decide()
     * runs synchronously there), so it can go now. */
    hilo_strategy_set_destroy(&sr->set);
    sr->set = set;
    free(sr->ctl);
    sr->ctl = hilo_xcalloc(set ? hilo_strategy_set_count(set) + 1 : 1, sizeof *sr->ctl);
    sr->sweeping = false;
    return 0;
}

static void on_closed(uv_handle_t *h) {
    hilo_strategy_run_t *sr = h->data;
    hilo_strategy_set_destroy(&sr->set);
    hilo_tzdb_destroy(&sr->tzdb);
    hilo_strategy_opt_destroy(&sr->opt);
    free(sr->ctl);
    free(sr);
}

void hilo_strategy_run_destroy(hilo_strategy_run_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_strategy_run_t *sr = *self_p;
    sr->closed = true;
    uv_timer_stop(&sr->timer);
    uv_close((uv_handle_t *)&sr->timer, on_closed);
    *self_p = NULL;
}

const hilo_strategy_set_t *hilo_strategy_run_set(const hilo_strategy_run_t *sr) { return sr ? sr->set : NULL; }

void hilo_strategy_run_kick(hilo_router_ctx_t *ctx, const char *debtor_id) {
    if (!debtor_id || !hilo_debtor_id_valid(debtor_id) || ctx->closing) return;
    char k[HILO_KEY_MAX];
    hilo_key_sched(k, sizeof k, hilo_outbox_partition(debtor_id));
    const char *argv[] = {"ZADD", k, "XX", "0", debtor_id};
    size_t lens[5];
    for (int i = 0; i < 5; i++) lens[i] = strlen(argv[i]);
    hilo_store_argv(ctx->store, NULL, NULL, 5, argv, lens);
}
