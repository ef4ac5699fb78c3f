/* world.c — the simulated portfolio and its week loop (world.h). The optimizer's debtors go
 * through hilo_opt_decide / hilo_opt_intensity / hilo_opt_credit exactly as the router's
 * runner will call them: one segment cell per population segment, the pool rebuilt daily. */
#include "world.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    uint16_t seg;
    uint8_t never, consent, opted, paid, hold, target, week_contacts;
    int16_t pay_day;  /* the day a payment will come (absolute day), -1 none */
    float amount;
    hilo_opt_credit_t credit;
} debtor_t;

/* Common random numbers: the same (seed, debtor, day, kind) gives the same uniform whatever the
 * policy, so two policies differ by what they did, not by luck. */
enum { U_NEVER, U_AMOUNT, U_AMOUNT2, U_CONSENT, U_PAY = 8, U_REPLY, U_OPTOUT, U_COMPLAINT, U_DELAY };
static double u01(uint64_t seed, uint64_t debtor, uint64_t day, uint64_t kind) {
    uint64_t h = hilo_rng_mix(seed ^ hilo_rng_mix((debtor << 20) ^ (day << 6) ^ kind));
    return (double)(h >> 11) * 0x1.0p-53;
}

/* What the gate and consent allow this debtor now: channels with consent and not opted out,
 * the country's hour buckets, every variant. */
static uint32_t allowed_arms(const sim_segment_t *g, const debtor_t *d) {
    uint32_t m = 0;
    for (int ch = 0; ch < HILO_OPT_CHANNELS; ch++) {
        if (!(d->consent & (1u << ch)) || (d->opted & (1u << ch))) continue;
        for (int h = 0; h < HILO_OPT_HOURS; h++)
            if (g->hours_mask & (1u << h))
                for (int v = 0; v < HILO_OPT_VARIANTS; v++) m |= 1u << hilo_opt_arm(ch, h, v);
    }
    return m;
}

/* A fixed cadence's arm for this debtor, as a strategy's on.failed would fall back: its own arm;
 * else the same hour and variant on the next channel; else its channel at the first allowed
 * hour; else the first allowed arm. -1 when nothing is allowed. */
static int fixed_arm(const sim_cadence_t *c, uint32_t allowed) {
    if (!allowed) return -1;
    int want = hilo_opt_arm(c->channel, c->hour, c->variant);
    if (allowed & (1u << want)) return want;
    for (int i = 1; i < HILO_OPT_CHANNELS; i++) {
        int a = hilo_opt_arm((c->channel + i) % HILO_OPT_CHANNELS, c->hour, c->variant);
        if (allowed & (1u << a)) return a;
    }
    for (int h = 0; h < HILO_OPT_HOURS; h++) {
        int a = hilo_opt_arm(c->channel, h, c->variant);
        if (allowed & (1u << a)) return a;
    }
    return __builtin_ctz(allowed);
}

static double fatigue(const sim_segment_t *g, int nth) { /* nth: this contact's number in the week */
    int excess = nth - g->fatigue_free;
    return excess > 0 ? pow(g->fatigue_factor, excess) : 1.0;
}
static double tiredness(const sim_segment_t *g, int nth) {
    int excess = nth - g->fatigue_free;
    return 1.0 + (excess > 0 ? g->fatigue_optout * excess : 0);
}

/* The oracle's expected value of arm a as the nth contact of the week (it knows the hidden
 * rates and the segment's never-payer share, not which debtor is one). */
static double oracle_value(const hilo_opt_config_t *cfg, const sim_segment_t *g, int a, int nth) {
    int ch = hilo_opt_arm_channel(a), h = hilo_opt_arm_hour(a), v = hilo_opt_arm_variant(a);
    double f = fatigue(g, nth), t = tiredness(g, nth);
    double pay = (1 - g->never_pay) * g->pay[ch][h] * g->variant_lift[v] * f;
    double reply = g->reply[ch][h] * g->variant_lift[v] * f;
    double bad = (g->optout[ch] + g->complaint) * t;
    return pay * (cfg->w_amount * g->amount_mean + cfg->w_success) + reply * cfg->w_reply - cfg->cost[ch] -
           bad * cfg->penalty;
}

static int oracle_arm(const hilo_opt_config_t *cfg, const sim_segment_t *g, uint32_t allowed, int nth, double *value) {
    int best = -1;
    *value = -HUGE_VAL;
    for (uint32_t m = allowed; m; m &= m - 1) {
        int a = __builtin_ctz(m);
        double v = oracle_value(cfg, g, a, nth);
        if (v > *value) *value = v, best = a;
    }
    return best;
}

/* Simulated time: day 0 is 2026-01-05 (a Monday), so no time is 0 (0 means "none" in a credit). */
static int64_t sim_ms(int day, int hour) { return 1767571200000LL + (int64_t)day * 86400000LL + hour * 3600000LL; }

typedef struct {
    const sim_population_t *pop;
    const hilo_opt_config_t *cfg;
    sim_kind_t kind;
    const sim_cadence_t *cadence;
    uint64_t seed;
    hilo_rng_t rng; /* the policy's own randomness (Thompson draws, random choices) */
    hilo_opt_cell_t cells[SIM_MAX_SEGMENTS];
    hilo_opt_pool_t pool;
    sim_result_t *r;
} run_t;

static void credit(run_t *x, debtor_t *d, hilo_opt_event_t ev, double amount, int day) {
    if (x->kind != SIM_OPTIMIZER) return;
    hilo_opt_credit(x->cfg, &x->cells[d->seg], &d->credit, ev, amount, sim_ms(day, 12));
}

static int week_target(run_t *x, debtor_t *d, uint32_t allowed) {
    const sim_segment_t *g = &x->pop->seg[d->seg];
    int cap = x->pop->cap_per_week;
    switch (x->kind) {
    case SIM_FIXED: return x->cadence->per_week;
    case SIM_RANDOM: return 1 + (int)hilo_rng_below(&x->rng, (uint32_t)cap);
    case SIM_ORACLE: {
        int k = 0;
        double v;
        while (k < cap && oracle_arm(x->cfg, g, allowed, k + 1, &v) >= 0 && v > 0) k++;
        return k;
    }
    case SIM_OPTIMIZER:
        if (d->hold) return x->pop->fixed.per_week;
        return hilo_opt_intensity(x->cfg, &x->cells[d->seg], &x->pool, cap, &x->rng);
    }
    return 0;
}

static int choose_arm(run_t *x, debtor_t *d, uint32_t allowed, int nth, int64_t now_ms) {
    const sim_segment_t *g = &x->pop->seg[d->seg];
    double v;
    switch (x->kind) {
    case SIM_FIXED: return fixed_arm(x->cadence, allowed);
    case SIM_RANDOM: {
        if (!allowed) return -1;
        uint32_t pick = hilo_rng_below(&x->rng, (uint32_t)__builtin_popcount(allowed)), m = allowed;
        while (pick--) m &= m - 1;
        return __builtin_ctz(m);
    }
    case SIM_ORACLE: return oracle_arm(x->cfg, g, allowed, nth, &v);
    case SIM_OPTIMIZER: {
        if (d->hold) return fixed_arm(&x->pop->fixed, allowed);
        hilo_opt_decision_t dec;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        hilo_opt_decide(x->cfg, &x->cells[d->seg], &x->pool, allowed, &x->rng, &dec);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        x->r->decide_ns += (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
        x->r->decides++;
        hilo_opt_record_decision(&x->cells[d->seg], d->seg, &dec, nth, now_ms, &d->credit);
        return dec.arm;
    }
    }
    return -1;
}

static void contact(run_t *x, debtor_t *d, size_t id, int day) {
    const sim_segment_t *g = &x->pop->seg[d->seg];
    const hilo_opt_config_t *cfg = x->cfg;
    sim_result_t *r = x->r;
    uint32_t allowed = allowed_arms(g, d);
    int nth = d->week_contacts + 1;
    int64_t now_ms = sim_ms(day, 10);
    int a = choose_arm(x, d, allowed, nth, now_ms);
    if (a < 0) {
        r->no_arm++;
        return;
    }
    if (!(allowed & (1u << a))) { /* a decision the gate would refuse: counted, never sent */
        r->refused++;
        return;
    }
    d->week_contacts++;
    int ch = hilo_opt_arm_channel(a), h = hilo_opt_arm_hour(a), v = hilo_opt_arm_variant(a);
    sim_group_t *grp = x->kind == SIM_OPTIMIZER ? (d->hold ? &r->hold : &r->treat) : NULL;
    r->contacts++;
    r->cost += cfg->cost[ch];
    if (grp) grp->contacts++;
    double f = fatigue(g, nth), t = tiredness(g, nth);
    if (!d->never && d->pay_day < 0 && u01(x->seed, id, (uint64_t)day, U_PAY) < g->pay[ch][h] * g->variant_lift[v] * f)
        d->pay_day = (int16_t)(day + (int)(u01(x->seed, id, (uint64_t)day, U_DELAY) * (g->delay_days + 1)));
    if (u01(x->seed, id, (uint64_t)day, U_REPLY) < g->reply[ch][h] * g->variant_lift[v] * f) {
        r->replies++;
        credit(x, d, HILO_OPT_EV_REPLY, 0, day);
    }
    if (u01(x->seed, id, (uint64_t)day, U_OPTOUT) < g->optout[ch] * t) {
        d->opted |= (uint8_t)(1u << ch);
        r->optouts++;
        if (grp) grp->optouts++;
        credit(x, d, HILO_OPT_EV_OPTOUT, 0, day);
    }
    if (u01(x->seed, id, (uint64_t)day, U_COMPLAINT) < g->complaint * t) {
        r->complaints++;
        if (grp) grp->complaints++;
        credit(x, d, HILO_OPT_EV_COMPLAINT, 0, day);
    }
}

static void pay(run_t *x, debtor_t *d, int day) {
    sim_result_t *r = x->r;
    d->paid = 1;
    r->collected += d->amount;
    r->successes++;
    if (x->kind == SIM_OPTIMIZER) (d->hold ? &r->hold : &r->treat)->successes++;
    credit(x, d, HILO_OPT_EV_PAY, d->amount, day);
}

static void init_debtors(run_t *x, debtor_t *ds) {
    const sim_population_t *pop = x->pop;
    size_t id = 0;
    char name[32];
    for (int s = 0; s < pop->n_segments; s++) {
        const sim_segment_t *g = &pop->seg[s];
        for (int i = 0; i < g->size; i++, id++) {
            debtor_t *d = &ds[id];
            memset(d, 0, sizeof *d);
            d->seg = (uint16_t)s;
            d->pay_day = -1;
            d->credit.arm = -1;
            d->never = u01(x->seed, id, 0, U_NEVER) < g->never_pay;
            for (int ch = 0; ch < HILO_OPT_CHANNELS; ch++)
                if (u01(x->seed, id, (uint64_t)ch, U_CONSENT) < g->consent[ch]) d->consent |= (uint8_t)(1u << ch);
            /* lognormal amount with mean amount_mean (Box-Muller from two common uniforms) */
            double u1 = u01(x->seed, id, 0, U_AMOUNT), u2 = u01(x->seed, id, 0, U_AMOUNT2);
            double z = sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-300)) * cos(2 * M_PI * u2);
            d->amount = (float)(g->amount_mean * exp(g->amount_sd * z - g->amount_sd * g->amount_sd / 2));
            if (x->kind == SIM_OPTIMIZER) {
                snprintf(name, sizeof name, "D%zu", id);
                d->hold = (uint8_t)hilo_opt_in_holdout(x->cfg, name);
                (d->hold ? &x->r->hold : &x->r->treat)->debtors++;
            }
        }
    }
}

void sim_run(const sim_population_t *pop, const hilo_opt_config_t *cfg, sim_kind_t kind,
             const sim_cadence_t *cadence, uint64_t seed, int weeks, sim_result_t *out) {
    if (weeks > SIM_MAX_WEEKS) weeks = SIM_MAX_WEEKS;
    memset(out, 0, sizeof *out);
    run_t *x = calloc(1, sizeof *x);
    debtor_t *ds = calloc((size_t)pop->total, sizeof *ds);
    if (!x || !ds) abort(); /* house style: an allocation failure ends the process */
    *x = (run_t){.pop = pop, .cfg = cfg, .kind = kind, .cadence = cadence, .seed = seed, .r = out};
    hilo_rng_seed(&x->rng, seed ^ (0x9e37ULL * (uint64_t)(kind + 1)));
    init_debtors(x, ds);
    const hilo_opt_cell_t *cellp[SIM_MAX_SEGMENTS];
    for (int s = 0; s < pop->n_segments; s++) cellp[s] = &x->cells[s];
    for (int w = 0; w < weeks; w++) {
        hilo_opt_pool_build(cfg, cellp, (size_t)pop->n_segments, &x->pool);
        for (size_t i = 0; i < (size_t)pop->total; i++) {
            debtor_t *d = &ds[i];
            d->week_contacts = 0;
            if (d->paid) continue;
            int k = week_target(x, d, allowed_arms(&pop->seg[d->seg], d));
            if (k > pop->cap_per_week) k = pop->cap_per_week; /* never past the legal cap */
            d->target = (uint8_t)k;
            if (kind == SIM_OPTIMIZER)
                hilo_opt_record_week(&x->cells[d->seg], d->seg, k, d->hold, sim_ms(w * 7, 0), &d->credit);
        }
        for (int dd = 0; dd < 7; dd++) {
            int day = w * 7 + dd;
            if (kind == SIM_OPTIMIZER) hilo_opt_pool_build(cfg, cellp, (size_t)pop->n_segments, &x->pool);
            for (size_t i = 0; i < (size_t)pop->total; i++) {
                debtor_t *d = &ds[i];
                if (d->paid) continue;
                if (d->pay_day >= 0 && d->pay_day <= day) {
                    pay(x, d, day);
                    continue;
                }
                /* the week's k contacts on days 0, 7/k, 2*7/k...: at most one a day */
                for (int j = 0; j < d->target; j++)
                    if (j * 7 / d->target == dd) contact(x, d, i, day);
            }
            out->daily[day] = out->collected;
        }
        for (size_t i = 0; i < (size_t)pop->total; i++)
            if (ds[i].week_contacts > pop->cap_per_week) out->over_cap++;
    }
    /* payments already promised by the end are collected after it (they are the run's results) */
    for (size_t i = 0; i < (size_t)pop->total; i++)
        if (!ds[i].paid && ds[i].pay_day >= 0) pay(x, &ds[i], weeks * 7);
    out->days = weeks * 7;
    if (weeks > 0) out->daily[weeks * 7 - 1] = out->collected;
    out->reward = out->collected * cfg->w_amount + out->successes * cfg->w_success + out->replies * cfg->w_reply -
                  out->cost - (out->optouts + out->complaints) * cfg->penalty;
    if (getenv("HILO_SIM_DEBUG") && kind == SIM_OPTIMIZER)
        for (int s = 0; s < pop->n_segments; s++) {
            fprintf(stderr, "%s:", pop->seg[s].name);
            for (int l = 1; l <= pop->cap_per_week; l++)
                fprintf(stderr, " contact%d %.0f/%.0f/%.0f", l, x->cells[s].level[l].n, x->cells[s].level[l].pay,
                        x->cells[s].level[l].bad);
            fprintf(stderr, " knee=%d\n", hilo_opt_knee(cfg, &x->cells[s], &x->pool, pop->cap_per_week));
            for (int a = 0; a < HILO_OPT_ARMS; a++) {
                char nm[24];
                fprintf(stderr, "  %s %.0f/%.0f", hilo_opt_arm_name(a, nm, sizeof nm), x->cells[s].arm[a].n, x->cells[s].arm[a].pay);
            }
            fprintf(stderr, "\n");
        }
    free(ds);
    free(x);
}
