/* optimizer.h — the contact optimizer's policy: which channel, local-hour bucket and template
 * variant a strategy step uses for one debtor, and how many contacts a week a segment gets.
 * Pure and deterministic: no Redis, no clock, no allocation; randomness only from the caller's
 * seeded hilo_rng_t, time only as the caller's "now". Used by the simulator (tests/sim/), the strategy
 * runner (router/src/strategy_optimize.c) and `hilo optimizer show`. The method: docs/optimizer.md.
 * The caller owns every struct; the model state of one segment cell is a hilo_opt_cell_t. */
#ifndef HILO_OPTIMIZER_H
#define HILO_OPTIMIZER_H

#include <stddef.h>
#include <stdint.h>

#include "hilo/opt_rng.h"

/* The arms: channel x local-hour bucket x template variant (arm = (ch * HOURS + hour) * VARIANTS
 * + variant). A mask of allowed arms is a uint32_t, bit `arm`. */
#define HILO_OPT_CHANNELS 3  /* sms, whatsapp, voice */
#define HILO_OPT_HOURS 4     /* local 08-11, 11-14, 14-17, 17-21 */
#define HILO_OPT_VARIANTS 2  /* the step's template variants a and b */
#define HILO_OPT_ARMS (HILO_OPT_CHANNELS * HILO_OPT_HOURS * HILO_OPT_VARIANTS)
#define HILO_OPT_LEVELS 8    /* contacts per week 0..7 (7: the strictest legal cap we model) */
#define HILO_OPT_CELL_BYTES 556 /* hilo_opt_cell_pack's size: a cell's state, <= 1 KB */
#define HILO_OPT_CREDIT_BYTES 16 /* hilo_opt_credit_pack's size: what a debtor keeps */

enum { HILO_OPT_SMS, HILO_OPT_WHATSAPP, HILO_OPT_VOICE };

static inline int hilo_opt_arm(int channel, int hour, int variant) {
    return (channel * HILO_OPT_HOURS + hour) * HILO_OPT_VARIANTS + variant;
}
static inline int hilo_opt_arm_channel(int arm) { return arm / (HILO_OPT_HOURS * HILO_OPT_VARIANTS); }
static inline int hilo_opt_arm_hour(int arm) { return (arm / HILO_OPT_VARIANTS) % HILO_OPT_HOURS; }
static inline int hilo_opt_arm_variant(int arm) { return arm % HILO_OPT_VARIANTS; }
/* "sms", "whatsapp", "voice"; the hour bucket as "08-11"...; NULL when out of range. */
const char *hilo_opt_channel_name(int channel);
const char *hilo_opt_hour_name(int hour);
/* "sms@11-14/b"; buf of at least 24 bytes. */
const char *hilo_opt_arm_name(int arm, char *buf, size_t len);

/* Reward weights and policy settings. hilo_opt_config_default gives the documented defaults. */
typedef struct {
    double w_amount;      /* reward per currency unit of a payment or promise (default 1) */
    double w_success;     /* fixed reward per promise or payment on top of the amount (0) */
    double w_reply;       /* reward for a reply (2) */
    double cost[HILO_OPT_CHANNELS]; /* cost of one message per channel (0.01, 0.02, 0.10) */
    double penalty;       /* an opt-out, complaint or dispute that follows (50) */
    int window_days;      /* what follows within this many days is credited (7); then expires */
    double floor;         /* exploration floor: share of decisions uniform over allowed arms (0.05) */
    double holdout;       /* share of debtors who keep the fixed cadence (0.10) */
    double prior_strength;/* pseudo-decisions of the pooled prior when cells cannot say (20) */
    uint64_t salt;        /* who is in the holdout: hash(debtor, salt) (fixed per deployment) */
} hilo_opt_config_t;

void hilo_opt_config_default(hilo_opt_config_t *cfg);

/* Counts of one arm, one intensity level or one group: decisions (or debtor-weeks), and those
 * followed within the window by a promise or payment, a reply, an opt-out/complaint/dispute. */
typedef struct {
    float n;     /* decisions / debtor-weeks */
    float pay;   /* followed by a promise or payment */
    float reply; /* followed by a reply */
    float bad;   /* followed by an opt-out, complaint or dispute */
} hilo_opt_stat_t;

/* The model state of one segment cell (dpd bucket x balance bucket x country x language x
 * product). Packed, it is HILO_OPT_CELL_BYTES (<= 1 KB) whatever the portfolio's size. */
typedef struct {
    hilo_opt_stat_t arm[HILO_OPT_ARMS];     /* per arm (treated debtors) */
    hilo_opt_stat_t level[HILO_OPT_LEVELS]; /* per n-th contact of a debtor's week (decisions) */
    hilo_opt_stat_t treat;                  /* debtor-weeks under the optimizer */
    hilo_opt_stat_t hold;                   /* debtor-weeks in the holdout (the fixed cadence) */
    float amount_n, amount_sum;             /* credited promises/payments and their amounts */
} hilo_opt_cell_t;

/* The pooled prior (empirical Bayes): every cell's counts summed, and how strongly the pooled
 * rate holds a cell, estimated from how much the cells differ. Rebuilt from the cells now and
 * then (it moves slowly); a decision reads one cell and the pool. */
typedef struct {
    float m_pay[HILO_OPT_ARMS], k_pay[HILO_OPT_ARMS]; /* pooled rate and prior strength per arm */
    float m_reply[HILO_OPT_ARMS], m_bad[HILO_OPT_ARMS];
    float m_level[HILO_OPT_LEVELS], m_level_bad[HILO_OPT_LEVELS];
    float amount_mean;                                /* pooled mean amount of a success */
} hilo_opt_pool_t;

void hilo_opt_pool_build(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *const *cells, size_t n,
                         hilo_opt_pool_t *pool);

/* Why a decision came out as it did (the debtor's audit says it). */
typedef enum {
    HILO_OPT_WHY_SAMPLED = 1, /* Thompson sampling: the highest sampled value among allowed arms */
    HILO_OPT_WHY_FLOOR,       /* the exploration floor: uniform over the allowed arms */
    HILO_OPT_WHY_ONLY,        /* one arm allowed */
    HILO_OPT_WHY_HOLDOUT,     /* the debtor is in the holdout: the strategy's fixed cadence */
    HILO_OPT_WHY_NONE,        /* nothing allowed: no contact (never a refused decision) */
} hilo_opt_why_t;
const char *hilo_opt_why_name(hilo_opt_why_t why);

typedef struct {
    int arm;            /* the chosen arm, -1 with WHY_NONE / WHY_HOLDOUT */
    hilo_opt_why_t why;
    double value;       /* the sampled value of the chosen arm (WHY_SAMPLED) */
    double mean;        /* its posterior mean value */
} hilo_opt_decision_t;

/* Is this debtor in the holdout? Stable: the same debtor and salt always answer the same. */
int hilo_opt_in_holdout(const hilo_opt_config_t *cfg, const char *debtor_id);

/* Chooses an arm among `allowed` (what the gate and the debtor's consent allow now). Never
 * returns an arm outside `allowed`; with allowed == 0, WHY_NONE. Reads cell and pool only. */
void hilo_opt_decide(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool,
                     uint32_t allowed, hilo_rng_t *rng, hilo_opt_decision_t *out);

/* The arm's posterior mean value and a 90 % credible interval of its promise/payment rate
 * (`hilo optimizer show`). */
void hilo_opt_arm_estimate(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool,
                           int arm, double *value, double *rate, double *rate_lo, double *rate_hi);

/* Intensity: the contacts for this debtor's coming week, 1..cap (cap = the legal and strategy
 * caps for the week, at most HILO_OPT_LEVELS - 1), by Thompson sampling over the marginal value
 * of the 1st, 2nd... contact of a week; 0 when cap < 1. */
int hilo_opt_intensity(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool,
                       int cap, hilo_rng_t *rng);
/* The learnt knee: the contacts a week (1..cap) of highest posterior mean total value — past
 * it, more contact stops paying. */
int hilo_opt_knee(const hilo_opt_config_t *cfg, const hilo_opt_cell_t *cell, const hilo_opt_pool_t *pool, int cap);

/* Uplift of the optimizer over the holdout: promise/payment rate per debtor-week, treated minus
 * holdout, with a 95 % interval (normal approximation). HILO_ERR without data on both sides. */
int hilo_opt_uplift(const hilo_opt_cell_t *cell, double *diff, double *lo, double *hi);

/* What a debtor keeps so that late results reach the decision that preceded them: 16 bytes
 * packed (hilo_opt_credit_pack), kept only for window_days after the last decision. */
typedef struct {
    uint32_t cell_id;    /* the caller's id of the cell the decision read */
    uint32_t decided_s;  /* the last decision, seconds since the epoch (0: none) */
    uint32_t week_s;     /* the start of the debtor's current week, same unit (0: none) */
    int8_t arm;          /* the last decision's arm, -1 for none / holdout */
    uint8_t nth;         /* the last decision was the nth contact of its week (1..7) */
    uint8_t level;       /* this week's contacts target */
    uint8_t flags;       /* HILO_OPT_CR_*: what was already credited, holdout */
} hilo_opt_credit_t;

enum {
    HILO_OPT_CR_PAY = 1, HILO_OPT_CR_REPLY = 2, HILO_OPT_CR_BAD = 4, /* credited to the decision */
    HILO_OPT_CR_WPAY = 8, HILO_OPT_CR_WREPLY = 16, HILO_OPT_CR_WBAD = 32, /* to the week */
    HILO_OPT_CR_HOLD = 64, /* the debtor is in the holdout */
};

typedef enum { HILO_OPT_EV_PAY, HILO_OPT_EV_PROMISE, HILO_OPT_EV_REPLY, HILO_OPT_EV_OPTOUT,
               HILO_OPT_EV_COMPLAINT, HILO_OPT_EV_DISPUTE } hilo_opt_event_t;

/* Records a decision, the nth contact of the debtor's week (counts it on its arm and level), and
 * starts its credit. */
void hilo_opt_record_decision(hilo_opt_cell_t *cell, uint32_t cell_id, const hilo_opt_decision_t *d, int nth,
                              int64_t now_ms, hilo_opt_credit_t *credit);
/* Records the start of a debtor-week with its target (holdout: the fixed cadence's count): the
 * weeks of the optimizer's debtors and of the holdout's, for the uplift and the guardrails. */
void hilo_opt_record_week(hilo_opt_cell_t *cell, uint32_t cell_id, int level, int holdout, int64_t now_ms,
                          hilo_opt_credit_t *credit);
/* A result for this debtor: credited to the decision that preceded it and to the week, each
 * kind once, within the window; `cell` is the cell credit->cell_id names. Returns what was
 * credited (HILO_OPT_CR_* bits), 0 when it came too late, twice, or before any decision. */
int hilo_opt_credit(const hilo_opt_config_t *cfg, hilo_opt_cell_t *cell, hilo_opt_credit_t *credit,
                    hilo_opt_event_t ev, double amount, int64_t now_ms);

/* The value of a reward event under cfg (what the policy maximises; the simulator's score). */
double hilo_opt_reward(const hilo_opt_config_t *cfg, hilo_opt_event_t ev, double amount);

/* Fixed little-endian layouts (for Redis). unpack refuses a wrong size or version, and counts
 * that are negative, not finite, or inconsistent (more successes than decisions), with a reason. */
void hilo_opt_cell_pack(const hilo_opt_cell_t *cell, uint8_t out[HILO_OPT_CELL_BYTES]);
int hilo_opt_cell_unpack(const uint8_t *in, size_t len, hilo_opt_cell_t *cell, char *err, size_t errlen);
void hilo_opt_credit_pack(const hilo_opt_credit_t *c, uint8_t out[HILO_OPT_CREDIT_BYTES]);
int hilo_opt_credit_unpack(const uint8_t *in, size_t len, hilo_opt_credit_t *c, char *err, size_t errlen);

#endif
