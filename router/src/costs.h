/* costs.h — what a message costs, per channel and destination country ([costs]), for the
 * strategies' funnel (strategy_run.c adds it to "<variant>|<step>|cost_micros:<CURRENCY>" when a
 * step is sent; `hilo strategy report` and the console show it). Pure: config and lookups. */
#ifndef HILO_COSTS_H
#define HILO_COSTS_H

#include <stdbool.h>
#include <stdint.h>

#include "hilo/config.h"
#include "hilo/frame.h"

#define HILO_COSTS_RULES_MAX 256

typedef struct {
    int channel;
    char region[3];   /* ISO 3166-1 alpha-2, "US" */
    int64_t micros;   /* millionths of the currency */
} hilo_cost_rule_t;

typedef struct {
    char currency[4];                   /* ISO 4217, "USD" */
    int64_t channel[HILO_CHANNEL_MAX];  /* each channel's price for any country; -1 = none */
    hilo_cost_rule_t rules[HILO_COSTS_RULES_MAX];
    int nrules;
} hilo_costs_config_t;

/* Reads [costs] into *out. HILO_OK, or HILO_ERR with hilo_config_error(c) naming file:line. */
int hilo_costs_config_load(hilo_config_t *c, hilo_costs_config_t *out);

/* The price of one message on `channel` to `region` (its line, else the channel's); -1 when
 * neither is configured (nothing is counted). */
int64_t hilo_costs_of(const hilo_costs_config_t *cfg, int channel, const char *region);

/* The country of a number ("+573001234567" -> "CO") into out[3]; false (out "") when unknown. */
bool hilo_costs_region_of(const char *number, char out[3]);

#endif
