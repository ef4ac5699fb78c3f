/* policy.c — the contact optimizer's decisions (hilo/optimizer.h): Thompson sampling over the
 * allowed arms with Beta posteriors whose priors are pooled across segment cells (empirical
 * Bayes), an exploration floor, the holdout, and the intensity levels. docs/optimizer.md.
 *
 * Why Beta posteriors on three rates rather than one posterior on the reward: the reward mixes a
 * rare large event (a payment, weighted by its amount) with frequent small ones (replies, costs)
 * and rare penalties; each is a Bernoulli rate with its own conjugate posterior, and one draw of
 * each gives one draw of the arm's expected reward (Chapelle & Li 2011, Agrawal & Goyal 2012). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hilo/optimizer.h"

static const char *const channel_names[HILO_OPT_CHANNELS] = {"sms", "whatsapp", "voice"};
static const char *const hour_names[HILO_OPT_HOURS] = {"08-11", "11-14", "14-17", "17-21"};

const char *hilo_opt_channel_name(int channel) {
    return channel >= 0 && channel < HILO_OPT_CHANNELS ? channel_names[channel] : NULL;
}

const char *hilo_opt_hour_name(int hour) { return hour >= 0 && hour < HILO_OPT_HOURS ? hour_names[hour] : NULL; }

const char *hilo_opt_arm_name(int arm, char *buf, size_t len) {
    if (arm < 0 || arm >= HILO_OPT_ARMS) snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%s@%s/%c", channel_names[hilo_opt_arm_channel(arm)], hour_names[hilo_opt_arm_hour(arm)],
                 'a' + hilo_opt_arm_variant(arm));
    return buf;
}

const char *hilo_opt_why_name(hilo_opt_why_t why) {
    switch (why) {
    case HILO_OPT_WHY_SAMPLED: return "sampled";
    case HILO_OPT_WHY_FLOOR: return "floor";
    case HILO_OPT_WHY_ONLY: return "only";
    case HILO_OPT_WHY_HOLDOUT: return "holdout";
    case HILO_OPT_WHY_NONE: return "none";
    }
    return "?";
}

void hilo_opt_config_default(hilo_opt_config_t *cfg) {
    *cfg = (hilo_opt_config_t){.w_amount = 1.0, .w_success = 0.0, .w_reply = 2.0,
                               .cost = {0.01, 0.02, 0.10}, .penalty = 50.0, .window_days = 7,
                               .floor = 0.05, .holdout = 0.10, .prior_strength = 20.0,
                               .salt = 0x68696c6f6f707431ULL};
}

/* A pooled rate's prior: half a success in `k` trials at the pooled rate m; never 0 or 1, so a
 * Beta with it always has positive parameters. */
static double clamp_rate(double m) { return m < 1e-4 ? 1e-4 : m > 0.9999 ? 0.9999 : m; }

/* Between-cell spread of one arm's rate -> how many pseudo-decisions the pooled rate is worth
 * in a cell (method of moments for a Beta-binomial: var_between = m(1-m)/(k+1)). Cells that
 * differ a lot give a weak prior (each cell learns on its own); cells that look alike give a
 * strong one (a small cell borrows from the others). */
static float pool_strength(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *const *cells, size_t n, int arm,
                           double m) {
    double wsum = 0, wvar = 0, noise = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const hilo_opt_stat_t *s = &cells[i]->arm[arm];
        if (s->n < 30) continue; /* a cell this small says more about noise than about spread */
        double r = s->pay / s->n, d = r - m;
        wsum += s->n;
        wvar += s->n * d * d;
        noise += m * (1 - m); /* n * the binomial variance m(1-m)/n of this cell's rate */
        used++;
    }
    if (used < 2) return (float)cfg->prior_strength;
    double between = (wvar - noise) / wsum;
    double k = between > 0 ? m * (1 - m) / between - 1 : 1000.0;
    return (float)(k < 2 ? 2 : k > 1000 ? 1000 : k);
}

void hilo_opt_pool_build(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *const *cells, size_t n,
                         hilo_opt_pool_t *pool) {
    hilo_opt_cell_t sum;
    memset(&sum, 0, sizeof sum);
    for (size_t i = 0; i < n; i++) {
        for (int a = 0; a < HILO_OPT_ARMS; a++) {
            sum.arm[a].n += cells[i]->arm[a].n;
            sum.arm[a].pay += cells[i]->arm[a].pay;
            sum.arm[a].reply += cells[i]->arm[a].reply;
            sum.arm[a].bad += cells[i]->arm[a].bad;
        }
        for (int l = 0; l < HILO_OPT_LEVELS; l++) {
            sum.level[l].n += cells[i]->level[l].n;
            sum.level[l].pay += cells[i]->level[l].pay;
            sum.level[l].bad += cells[i]->level[l].bad;
        }
        sum.amount_n += cells[i]->amount_n;
        sum.amount_sum += cells[i]->amount_sum;
    }
    /* The pooled rates start from a weak hyperprior (1 success in 50, 0.2 replies, 1 opt-out in
     * 1000) so that an empty deployment still has finite, cautious priors. */
    for (int a = 0; a < HILO_OPT_ARMS; a++) {
        const hilo_opt_stat_t *s = &sum.arm[a];
        pool->m_pay[a] = (float)clamp_rate((s->pay + 0.2) / (s->n + 10.0));
        pool->m_reply[a] = (float)clamp_rate((s->reply + 2.0) / (s->n + 10.0));
        pool->m_bad[a] = (float)clamp_rate((s->bad + 0.01) / (s->n + 10.0));
        pool->k_pay[a] = pool_strength(cfg, cells, n, a, pool->m_pay[a]);
    }
    /* Diminishing returns: the n-th contact of a week is not expected to pay more than the one
     * before it, nor to annoy less. A level nobody has tried yet starts from the level below's
     * rates, not from the hyperprior (which would make every untried level look profitable and
     * push the knee to the cap). */
    for (int l = 0; l < HILO_OPT_LEVELS; l++) {
        const hilo_opt_stat_t *s = &sum.level[l];
        double pay = (s->pay + 0.5) / (s->n + 10.0), bad = (s->bad + 0.02) / (s->n + 10.0);
        if (l >= 2 && pay > pool->m_level[l - 1]) pay = pool->m_level[l - 1];
        if (l >= 2 && bad < pool->m_level_bad[l - 1]) bad = pool->m_level_bad[l - 1];
        pool->m_level[l] = (float)clamp_rate(pay);
        pool->m_level_bad[l] = (float)clamp_rate(bad);
    }
    pool->amount_mean = sum.amount_n > 0 ? (float)((sum.amount_sum + 100.0) / (sum.amount_n + 1.0)) : 100.0f;
}

int hilo_opt_in_holdout(const hilo_opt_config_t *cfg, const char *debtor_id) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a over the id, then mixed with the salt */
    for (const unsigned char *p = (const unsigned char *)debtor_id; *p; p++) h = (h ^ *p) * 0x100000001b3ULL;
    h = hilo_rng_mix(h ^ cfg->salt);
    return (double)(h >> 11) * 0x1.0p-53 < cfg->holdout;
}

/* The cell's mean amount of a success, shrunk towards the pool's by 5 pseudo-successes. */
static double cell_amount(const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool) {
    return (cell->amount_sum + 5.0 * pool->amount_mean) / (cell->amount_n + 5.0);
}

/* Posterior Beta(k m + s, k (1 - m) + n - s) of a rate with pooled prior (m, k). */
static void beta_post(double m, double k, double s, double n, double *a, double *b) {
    double f = n - s;
    *a = k * m + (s > 0 ? s : 0);
    *b = k * (1 - m) + (f > 0 ? f : 0);
}

/* The prior of one arm's promise/payment rate in a cell: three levels of shrinkage, each a
 * weighted mean of its own counts and the level above (what a hierarchical Beta-binomial's
 * posterior mean is):
 *   the pool (this arm across cells, worth k_pay pseudo-decisions: empirical Bayes, above)
 *   -> the cell's channel (its 8 arms together)     -> the cell's channel x hour (both variants)
 *   -> the arm's Beta prior, worth ARM_STRENGTH pseudo-decisions.
 * Arms of one channel or hour rarely differ by much more than the variants' lift, so an arm with
 * few decisions starts from its siblings' rate instead of the pool's alone: the cell learns its
 * 24 arms about as fast as it learns its 12 channel x hour pairs. */
#define HOUR_STRENGTH 30.0
#define ARM_STRENGTH 30.0
static double arm_prior(const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool, int arm, double *strength) {
    int ch = hilo_opt_arm_channel(arm), h = hilo_opt_arm_hour(arm);
    double ch_n = 0, ch_pay = 0, pair_n = 0, pair_pay = 0;
    for (int hh = 0; hh < HILO_OPT_HOURS; hh++)
        for (int v = 0; v < HILO_OPT_VARIANTS; v++) {
            const hilo_opt_stat_t *s = &cell->arm[hilo_opt_arm(ch, hh, v)];
            ch_n += s->n, ch_pay += s->pay;
            if (hh == h) pair_n += s->n, pair_pay += s->pay;
        }
    double kp = pool->k_pay[arm], m_ch = (ch_pay + kp * pool->m_pay[arm]) / (ch_n + kp);
    /* while the cell knows little of the channel, the pool's k_pay pseudo-decisions still hold */
    double from_pool = kp * kp / (ch_n + kp);
    *strength = from_pool > ARM_STRENGTH ? from_pool : ARM_STRENGTH;
    return clamp_rate((pair_pay + HOUR_STRENGTH * m_ch) / (pair_n + HOUR_STRENGTH));
}

static double arm_value(const hilo_opt_config_t *cfg, int arm, double pay, double reply, double bad,
                        double amount) {
    return pay * (cfg->w_amount * amount + cfg->w_success) + reply * cfg->w_reply -
           cfg->cost[hilo_opt_arm_channel(arm)] - bad * cfg->penalty;
}

static double sample_rate(hilo_rng_t *rng, double m, double k, double s, double n) {
    double a, b;
    beta_post(m, k, s, n, &a, &b);
    return hilo_rng_beta(rng, a, b);
}

void hilo_opt_decide(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool,
                     uint32_t allowed, hilo_rng_t *rng, hilo_opt_decision_t *out) {
    *out = (hilo_opt_decision_t){.arm = -1, .why = HILO_OPT_WHY_NONE};
    allowed &= (HILO_OPT_ARMS >= 32) ? 0xffffffffu : ((1u << HILO_OPT_ARMS) - 1);
    int count = __builtin_popcount(allowed);
    if (count == 0) return;
    double amount = cell_amount(cell, pool);
    if (count == 1) {
        out->arm = __builtin_ctz(allowed);
        out->why = HILO_OPT_WHY_ONLY;
    } else if (hilo_rng_uniform(rng) < cfg->floor) {
        uint32_t pick = hilo_rng_below(rng, (uint32_t)count), m = allowed;
        while (pick--) m &= m - 1; /* drop the lowest set bits until the pick-th is lowest */
        out->arm = __builtin_ctz(m);
        out->why = HILO_OPT_WHY_FLOOR;
    } else {
        double best = -HUGE_VAL;
        for (uint32_t m = allowed; m; m &= m - 1) {
            int a = __builtin_ctz(m);
            const hilo_opt_stat_t *s = &cell->arm[a];
            double k, prior = arm_prior(cell, pool, a, &k);
            double p = sample_rate(rng, prior, k, s->pay, s->n);
            double q = sample_rate(rng, pool->m_reply[a], cfg->prior_strength, s->reply, s->n);
            double r = sample_rate(rng, pool->m_bad[a], cfg->prior_strength, s->bad, s->n);
            double v = arm_value(cfg, a, p, q, r, amount);
            if (v > best) {
                best = v;
                out->arm = a;
            }
        }
        out->why = HILO_OPT_WHY_SAMPLED;
        out->value = best;
    }
    double v;
    hilo_opt_arm_estimate(cfg, cell, pool, out->arm, &v, NULL, NULL, NULL);
    out->mean = v;
}

void hilo_opt_arm_estimate(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool,
                           int arm, double *value, double *rate, double *rate_lo, double *rate_hi) {
    const hilo_opt_stat_t *s = &cell->arm[arm];
    double a, b, qa, qb, ra, rb, k, m = arm_prior(cell, pool, arm, &k);
    beta_post(m, k, s->pay, s->n, &a, &b);
    beta_post(pool->m_reply[arm], cfg->prior_strength, s->reply, s->n, &qa, &qb);
    beta_post(pool->m_bad[arm], cfg->prior_strength, s->bad, s->n, &ra, &rb);
    double p = a / (a + b);
    if (value) *value = arm_value(cfg, arm, p, qa / (qa + qb), ra / (ra + rb), cell_amount(cell, pool));
    if (rate) *rate = p;
    if (rate_lo || rate_hi) {
        /* the Beta's 90 % interval by its normal approximation (the show command's summary) */
        double sd = sqrt(a * b / ((a + b) * (a + b) * (a + b + 1)));
        if (rate_lo) *rate_lo = p - 1.645 * sd < 0 ? 0 : p - 1.645 * sd;
        if (rate_hi) *rate_hi = p + 1.645 * sd > 1 ? 1 : p + 1.645 * sd;
    }
}

/* Intensity. level[n] counts the decisions that were the n-th contact of their debtor's week
 * and what followed each: the marginal rate of the n-th contact, given the earlier ones did not
 * settle the debt (each contact is a sample, so this learns far faster than counting
 * debtor-weeks per weekly target). The value of k contacts is the sum of the first k marginal
 * values (promise/payment x amount - the message's cost at the cheapest channel - penalties);
 * the week's target is the k of highest sampled sum, and the knee the k of highest mean sum. */
static double contact_value(const hilo_opt_config_t *cfg, double pay, double bad, double amount) {
    double cheapest = cfg->cost[0];
    for (int c = 1; c < HILO_OPT_CHANNELS; c++)
        if (cfg->cost[c] < cheapest) cheapest = cfg->cost[c];
    return pay * (cfg->w_amount * amount + cfg->w_success) - cheapest - bad * cfg->penalty;
}

static int clamp_cap(int cap) { return cap > HILO_OPT_LEVELS - 1 ? HILO_OPT_LEVELS - 1 : cap; }

/* rng NULL: posterior means (the knee); else one Thompson draw per level. */
static int best_level(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool,
                      int cap, hilo_rng_t *rng) {
    double amount = cell_amount(cell, pool), sum = 0, best = -HUGE_VAL;
    double below_pay = 1, below_bad = 0; /* the level below's posterior means in this cell */
    int pick = 1;
    for (int l = 1; l <= cap; l++) {
        const hilo_opt_stat_t *s = &cell->level[l];
        /* the prior: the pool's rate for the level, no better than this cell's level below */
        double m_pay = pool->m_level[l] < below_pay ? pool->m_level[l] : below_pay;
        double m_bad = pool->m_level_bad[l] > below_bad ? pool->m_level_bad[l] : below_bad;
        double a, b, ra, rb, p, r;
        beta_post(clamp_rate(m_pay), cfg->prior_strength, s->pay, s->n, &a, &b);
        beta_post(clamp_rate(m_bad), cfg->prior_strength, s->bad, s->n, &ra, &rb);
        below_pay = a / (a + b), below_bad = ra / (ra + rb);
        if (rng) {
            p = hilo_rng_beta(rng, a, b);
            r = hilo_rng_beta(rng, ra, rb);
        } else {
            p = below_pay, r = below_bad;
        }
        sum += contact_value(cfg, p, r, amount);
        if (sum > best) {
            best = sum;
            pick = l;
        }
    }
    return pick;
}

int hilo_opt_intensity(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool,
                       int cap, hilo_rng_t *rng) {
    cap = clamp_cap(cap);
    if (cap < 1) return 0;
    if (cap == 1) return 1;
    if (hilo_rng_uniform(rng) < cfg->floor) return 1 + (int)hilo_rng_below(rng, (uint32_t)cap);
    return best_level(cfg, cell, pool, cap, rng);
}

int hilo_opt_knee(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool, int cap) {
    cap = clamp_cap(cap);
    return cap < 1 ? 0 : best_level(cfg, cell, pool, cap, NULL);
}

int hilo_opt_uplift(const hilo_opt_cell_t *cell, double *diff, double *lo, double *hi) {
    const hilo_opt_stat_t *t = &cell->treat, *h = &cell->hold;
    if (t->n < 1 || h->n < 1) return -1;
    double pt = t->pay / t->n, ph = h->pay / h->n;
    double se = sqrt(pt * (1 - pt) / t->n + ph * (1 - ph) / h->n);
    *diff = pt - ph;
    *lo = *diff - 1.96 * se;
    *hi = *diff + 1.96 * se;
    return 0;
}
