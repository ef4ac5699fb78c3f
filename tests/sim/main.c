/* hilo-sim — the contact optimizer's simulator. Runs a population file (default
 * tests/sim/populations/default.json) for some weeks over several seeds through four policies:
 * the optimizer (the library's decision code, with its holdout), the best of the population's
 * family of fixed cadences (chosen knowing the hidden rates, on a seed of its own), random, and
 * the oracle; prints each one's collected amount, promises/payments, contacts, opt-outs and
 * complaints with 95 % confidence intervals over the seeds. --holdout sets the optimizer's
 * holdout share (default the library's, 10 %). --check makes it a test: it exits 1
 * unless the optimizer beats random and no policy broke the cap or chose a refused arm.
 * tests/bench/optimizer.sh runs the benchmark; docs/optimizer.md explains the model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "population.h"
#include "world.h"

#define MAX_SEEDS 64
enum { P_OPT, P_FIXED, P_RANDOM, P_ORACLE, N_POLICIES };
static const char *const policy_names[N_POLICIES] = {"optimizer", "best_fixed", "random", "oracle"};

typedef struct {
    double mean, lo, hi;
} ci_t;

/* Student's t, two-sided 95 %, for 1..30 degrees of freedom (then 1.96). */
static double t95(int df) {
    static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    return df < 1 ? 0 : df <= 30 ? t[df - 1] : 1.96;
}

static ci_t ci(const double *x, int n) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    double m = s / n;
    for (int i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
    double half = n > 1 ? t95(n - 1) * sqrt(ss / (n - 1) / n) : 0;
    return (ci_t){m, m - half, m + half};
}

static void usage(void) {
    fprintf(stderr, "usage: hilo-sim [--population FILE] [--seeds N] [--seed S] [--weeks W] [--scale X]\n"
                    "                [--holdout SHARE] [--json] [--curve FILE] [--check]\n");
}

static int parse_args(int argc, char **argv, const char **file, int *seeds, unsigned long long *seed0, int *weeks,
                      double *scale, double *holdout, int *json, const char **curve, int *check) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--json")) *json = 1;
        else if (!strcmp(a, "--check")) *check = 1;
        else if (!v) return fprintf(stderr, "hilo-sim: %s needs a value (or is unknown)\n", a), -1;
        else if (!strcmp(a, "--population")) *file = v, i++;
        else if (!strcmp(a, "--curve")) *curve = v, i++;
        else if (!strcmp(a, "--seeds")) *seeds = (int)strtol(v, &end, 10), i++;
        else if (!strcmp(a, "--seed")) *seed0 = strtoull(v, &end, 10), i++;
        else if (!strcmp(a, "--weeks")) *weeks = (int)strtol(v, &end, 10), i++;
        else if (!strcmp(a, "--scale")) *scale = strtod(v, &end), i++;
        else if (!strcmp(a, "--holdout")) *holdout = strtod(v, &end), i++;
        else return fprintf(stderr, "hilo-sim: unknown option %s\n", a), -1;
        if (end && *end) return fprintf(stderr, "hilo-sim: %s: not a number: %s\n", a, v), -1;
    }
    if (*seeds < 1 || *seeds > MAX_SEEDS) return fprintf(stderr, "hilo-sim: --seeds is 1..%d\n", MAX_SEEDS), -1;
    if (*weeks < 1 || *weeks > SIM_MAX_WEEKS) return fprintf(stderr, "hilo-sim: --weeks is 1..%d\n", SIM_MAX_WEEKS), -1;
    if (!(*scale > 0 && *scale <= 100)) return fprintf(stderr, "hilo-sim: --scale is in (0, 100]\n"), -1;
    if (!(*holdout >= 0 && *holdout < 1)) return fprintf(stderr, "hilo-sim: --holdout is a share in [0, 1)\n"), -1;
    return 0;
}

/* The family's best cadence by the reward, on a seed none of the compared runs uses. */
static int best_cadence(const sim_population_t *pop, const hilo_opt_config_t *cfg, uint64_t seed, int weeks,
                        sim_result_t *scratch) {
    int best = 0;
    double best_reward = -HUGE_VAL;
    for (int c = 0; c < pop->n_cadences; c++) {
        sim_run(pop, cfg, SIM_FIXED, &pop->cadences[c], seed, weeks, scratch);
        if (scratch->reward > best_reward) best_reward = scratch->reward, best = c;
    }
    return best;
}

#define METRICS 6
static const char *const metric_names[METRICS] = {"collected", "promises_or_payments", "contacts", "opt_outs",
                                                  "complaints", "reward"};
static double metric(const sim_result_t *r, int m) {
    switch (m) {
    case 0: return r->collected;
    case 1: return r->successes;
    case 2: return r->contacts;
    case 3: return r->optouts;
    case 4: return r->complaints;
    default: return r->reward;
    }
}

int main(int argc, char **argv) {
    const char *file = HILO_SIM_DEFAULT_POPULATION, *curve = NULL;
    int seeds = 5, weeks = 8, json = 0, check = 0;
    unsigned long long seed0 = 1;
    double scale = 1.0, holdout;
    hilo_opt_config_t cfg;
    hilo_opt_config_default(&cfg);
    holdout = cfg.holdout;
    if (parse_args(argc, argv, &file, &seeds, &seed0, &weeks, &scale, &holdout, &json, &curve, &check) < 0) {
        usage();
        return 2;
    }
    static sim_population_t pop;
    char err[512];
    if (sim_population_load(file, scale, &pop, err, sizeof err) < 0) {
        fprintf(stderr, "hilo-sim: %s\n", err);
        return 2;
    }
    cfg.holdout = holdout;
    static sim_result_t r, scratch;
    int bc = best_cadence(&pop, &cfg, seed0 + 1000003, weeks, &scratch);
    static double vals[N_POLICIES][METRICS][MAX_SEEDS], ratio[MAX_SEEDS], uplift[MAX_SEEDS];
    static double curves[N_POLICIES][SIM_MAX_WEEKS * 7];
    double decide_ns = 0, decides = 0, bad = 0;
    sim_group_t treat = {0}, hold = {0};
    for (int s = 0; s < seeds; s++) {
        uint64_t seed = seed0 + (uint64_t)s;
        double coll[N_POLICIES] = {0}, succ[N_POLICIES] = {0};
        for (int p = 0; p < N_POLICIES; p++) {
            sim_kind_t kind = p == P_OPT ? SIM_OPTIMIZER : p == P_FIXED ? SIM_FIXED : p == P_RANDOM ? SIM_RANDOM : SIM_ORACLE;
            sim_run(&pop, &cfg, kind, &pop.cadences[bc], seed, weeks, &r);
            for (int m = 0; m < METRICS; m++) vals[p][m][s] = metric(&r, m);
            for (int d = 0; d < r.days; d++) curves[p][d] += r.daily[d] / seeds;
            coll[p] = r.collected, succ[p] = r.successes;
            bad += (double)(r.refused + r.over_cap);
            if (r.refused || r.over_cap)
                fprintf(stderr, "hilo-sim: %s seed %llu: %ld refused decisions, %ld debtor-weeks over the cap\n",
                        policy_names[p], (unsigned long long)seed, r.refused, r.over_cap);
            if (p == P_OPT) {
                decide_ns += r.decide_ns, decides += (double)r.decides;
                treat.debtors += r.treat.debtors, treat.successes += r.treat.successes, treat.optouts += r.treat.optouts;
                treat.complaints += r.treat.complaints, treat.contacts += r.treat.contacts;
                hold.debtors += r.hold.debtors, hold.successes += r.hold.successes, hold.optouts += r.hold.optouts;
                hold.complaints += r.hold.complaints, hold.contacts += r.hold.contacts;
            }
        }
        ratio[s] = coll[P_ORACLE] > 0 ? coll[P_OPT] / coll[P_ORACLE] : 0;
        uplift[s] = succ[P_FIXED] > 0 ? succ[P_OPT] / succ[P_FIXED] - 1 : 0;
    }
    ci_t res[N_POLICIES][METRICS];
    for (int p = 0; p < N_POLICIES; p++)
        for (int m = 0; m < METRICS; m++) res[p][m] = ci(vals[p][m], seeds);
    ci_t of_oracle = ci(ratio, seeds), over_fixed = ci(uplift, seeds);
    const sim_cadence_t *c = &pop.cadences[bc];
    /* the holdout against the optimizer's own debtors: promises/payments and opt-outs per debtor */
    double pt = treat.successes / treat.debtors, ph = hold.debtors > 0 ? hold.successes / hold.debtors : 0;
    double se = hold.debtors > 0 ? sqrt(pt * (1 - pt) / treat.debtors + ph * (1 - ph) / hold.debtors) : 0;
    double ot = treat.optouts / treat.debtors, oh = hold.debtors > 0 ? hold.optouts / hold.debtors : 0;
    double us = decides > 0 ? decide_ns / decides / 1000.0 : 0;
    if (json) {
        printf("{\"population\":\"%s\",\"debtors\":%d,\"weeks\":%d,\"seeds\":%d,\"seed\":%llu,", pop.name, pop.total, weeks,
               seeds, seed0);
        printf("\"best_fixed\":{\"channel\":\"%s\",\"hour\":\"%s\",\"variant\":%d,\"per_week\":%d},",
               hilo_opt_channel_name(c->channel), hilo_opt_hour_name(c->hour), c->variant, c->per_week);
        printf("\"policies\":{");
        for (int p = 0; p < N_POLICIES; p++) {
            printf("%s\"%s\":{", p ? "," : "", policy_names[p]);
            for (int m = 0; m < METRICS; m++)
                printf("%s\"%s\":[%.3f,%.3f,%.3f]", m ? "," : "", metric_names[m], res[p][m].mean, res[p][m].lo,
                       res[p][m].hi);
            printf("}");
        }
        printf("},\"optimizer_over_fixed_successes\":[%.4f,%.4f,%.4f],", over_fixed.mean, over_fixed.lo, over_fixed.hi);
        printf("\"optimizer_of_oracle_collected\":[%.4f,%.4f,%.4f],", of_oracle.mean, of_oracle.lo, of_oracle.hi);
        if (hold.debtors > 0)
            printf("\"holdout\":{\"treated_rate\":%.5f,\"holdout_rate\":%.5f,\"uplift\":[%.5f,%.5f,%.5f],"
                   "\"treated_optouts_per_debtor\":%.5f,\"holdout_optouts_per_debtor\":%.5f},",
                   pt, ph, pt - ph, pt - ph - 1.96 * se, pt - ph + 1.96 * se, ot, oh);
        else
            printf("\"holdout\":null,");
        printf("\"decide_us\":%.3f,\"refused_or_over_cap\":%.0f}\n", us, bad);
    } else {
        printf("population %s: %d debtors, %d weeks, %d seeds from %llu\n", pop.name, pop.total, weeks, seeds, seed0);
        printf("best fixed cadence: %s at %s, variant %c, %d a week (of %d in the family)\n",
               hilo_opt_channel_name(c->channel), hilo_opt_hour_name(c->hour), 'a' + c->variant, c->per_week,
               pop.n_cadences);
        printf("%-11s", "policy");
        for (int m = 0; m < METRICS; m++) printf(" %30s", metric_names[m]);
        printf("\n");
        for (int p = 0; p < N_POLICIES; p++) {
            printf("%-11s", policy_names[p]);
            for (int m = 0; m < METRICS; m++) {
                char cell[64];
                snprintf(cell, sizeof cell, "%.1f [%.1f, %.1f]", res[p][m].mean, res[p][m].lo, res[p][m].hi);
                printf(" %30s", cell);
            }
            printf("\n");
        }
        printf("optimizer vs best fixed, promises/payments: %+.1f %% [%+.1f, %+.1f]\n", 100 * over_fixed.mean,
               100 * over_fixed.lo, 100 * over_fixed.hi);
        printf("optimizer / oracle, collected: %.1f %% [%.1f, %.1f]\n", 100 * of_oracle.mean, 100 * of_oracle.lo,
               100 * of_oracle.hi);
        if (hold.debtors > 0)
            printf("holdout: promises/payments per debtor %.4f treated vs %.4f holdout, uplift %+.4f [%+.4f, %+.4f]; "
                   "opt-outs per debtor %.4f vs %.4f\n",
                   pt, ph, pt - ph, pt - ph - 1.96 * se, pt - ph + 1.96 * se, ot, oh);
        else
            printf("holdout: none (--holdout 0)\n");
        printf("decision time: %.2f us (mean of %.0f decisions); refused or over cap: %.0f\n", us, decides, bad);
    }
    if (curve) {
        FILE *f = fopen(curve, "w");
        if (!f) {
            perror(curve);
            return 2;
        }
        fprintf(f, "day,optimizer,best_fixed,random,oracle\n");
        for (int d = 0; d < weeks * 7; d++)
            fprintf(f, "%d,%.2f,%.2f,%.2f,%.2f\n", d + 1, curves[P_OPT][d], curves[P_FIXED][d], curves[P_RANDOM][d],
                    curves[P_ORACLE][d]);
        fclose(f);
    }
    if (check) {
        int ok = bad == 0;
        /* more contacts alone can beat random on the totals: the yield per contact must beat it too */
        for (int s = 0; s < seeds; s++)
            ok &= vals[P_OPT][0][s] > vals[P_RANDOM][0][s] && vals[P_OPT][5][s] > vals[P_RANDOM][5][s] &&
                  vals[P_OPT][1][s] / vals[P_OPT][2][s] > vals[P_RANDOM][1][s] / vals[P_RANDOM][2][s];
        if (!ok) {
            fprintf(stderr, "hilo-sim: CHECK FAILED: the optimizer must beat random on every seed (collected, "
                            "reward, promises/payments per contact) and no decision may be refused or exceed the cap\n");
            return 1;
        }
        printf("check: optimizer beat random on every seed (collected, reward, promises/payments per contact); "
               "no refused decision; no week over the cap\n");
    }
    return 0;
}
