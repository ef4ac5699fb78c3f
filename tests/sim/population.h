/* population.h — a synthetic portfolio for the optimizer's simulator: segments and their sizes,
 * the hidden rates (promise/payment, reply, opt-out, complaint) by channel x local-hour bucket,
 * the template variants' lift, fatigue from over-contact, amounts, never-payers, consent, the
 * legal cap and the hours the gate allows per country. Read from a JSON file
 * (tests/sim/populations/; the format: docs/optimizer.md, "The simulator"). */
#ifndef HILO_SIM_POPULATION_H
#define HILO_SIM_POPULATION_H

#include <stddef.h>

#include "hilo/optimizer.h"

#define SIM_MAX_SEGMENTS 32
#define SIM_MAX_CADENCES 128

typedef struct {
    char name[64];
    int size;                                     /* debtors */
    char dpd[16], balance[16], country[8], language[8], product[24]; /* the cell's fields */
    double never_pay;                             /* share who never pay whatever we do */
    double amount_mean, amount_sd;                /* a payment: mean x lognormal(sd) */
    double consent[HILO_OPT_CHANNELS];            /* share with consent / a usable number */
    double pay[HILO_OPT_CHANNELS][HILO_OPT_HOURS];   /* per contact, for a debtor who can pay */
    double reply[HILO_OPT_CHANNELS][HILO_OPT_HOURS];
    double optout[HILO_OPT_CHANNELS];             /* per contact */
    double complaint;                             /* per contact */
    double variant_lift[HILO_OPT_VARIANTS];       /* multiplies pay and reply */
    int fatigue_free;                             /* contacts a week before fatigue */
    double fatigue_factor;                        /* pay and reply x this per contact past free */
    double fatigue_optout;                        /* opt-out and complaint x (1 + this x excess) */
    int delay_days;                               /* a payment comes 0..delay_days after its contact */
    unsigned hours_mask;                          /* hour buckets the gate allows (the country's) */
} sim_segment_t;

typedef struct {
    int channel, hour, variant, per_week;
} sim_cadence_t;

typedef struct {
    char name[64];
    int cap_per_week;                /* the legal cap: contacts per debtor per week, all channels */
    sim_cadence_t fixed;             /* the strategy's own cadence: what the holdout keeps */
    sim_cadence_t cadences[SIM_MAX_CADENCES]; /* the family the best fixed cadence comes from */
    int n_cadences;
    sim_segment_t seg[SIM_MAX_SEGMENTS];
    int n_segments;
    int total;                       /* debtors, all segments */
} sim_population_t;

/* Loads and checks a population file; scale multiplies every segment's size (>= 1 debtor each).
 * On error returns -1 with "FILE: where: why" in err and leaves nothing allocated. */
int sim_population_load(const char *path, double scale, sim_population_t *pop, char *err, size_t errlen);

#endif
