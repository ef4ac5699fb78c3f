/* world.h — one simulated run: a population's debtors contacted week after week by one policy
 * (the optimizer through the library's own decision code, a fixed cadence, random, or the oracle
 * that knows the hidden rates), under the same legal cap, consent, opt-outs and allowed hours,
 * with fatigue and late payments. Outcomes draw from common random numbers (a hash of the seed,
 * the debtor and the contact), so policies compared on one seed meet the same luck. */
#ifndef HILO_SIM_WORLD_H
#define HILO_SIM_WORLD_H

#include <stdint.h>

#include "hilo/optimizer.h"
#include "population.h"

#define SIM_MAX_WEEKS 52

typedef enum { SIM_OPTIMIZER, SIM_FIXED, SIM_RANDOM, SIM_ORACLE } sim_kind_t;

typedef struct {
    double debtors, successes, optouts, complaints, contacts;
} sim_group_t;

typedef struct {
    double collected;      /* amount paid */
    double successes;      /* promises or payments (a debtor pays once, then leaves) */
    double contacts, replies, optouts, complaints;
    double cost, reward;   /* the optimizer's reward (hilo_opt_reward) summed over the run */
    long refused;          /* decisions outside what the gate allowed then: must stay 0 */
    long over_cap;         /* debtor-weeks with more contacts than the cap: must stay 0 */
    long no_arm;           /* contacts not made: nothing allowed (opted out of every channel...) */
    double decide_ns;      /* time in hilo_opt_decide (optimizer only) */
    long decides;
    sim_group_t treat, hold; /* optimizer only: its debtors and the holdout's */
    int days;
    double daily[SIM_MAX_WEEKS * 7]; /* collected so far at the end of each day */
} sim_result_t;

/* Runs `weeks` weeks. cadence is the fixed cadence for SIM_FIXED (else ignored). */
void sim_run(const sim_population_t *pop, const hilo_opt_config_t *cfg, sim_kind_t kind,
             const sim_cadence_t *cadence, uint64_t seed, int weeks, sim_result_t *out);

#endif
