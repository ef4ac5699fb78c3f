/* best.c — the choices a strategy step leaves to the contact optimizer (docs/optimizer.md,
 * docs/strategies.md "Steps"): `channel = best` with the candidates in `channels = ...`, and
 * `hours = best [fallback ranges]`. Called by the loader (load.c); pure. Until the strategy
 * runner asks the optimizer, such a step runs as its fixed cadence: the first listed channel and
 * the fallback hours — which is also what the optimizer's holdout keeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/frame.h"
#include "strategy_int.h"

int st_best_channels(const char *list, unsigned *mask, int *first, char *why, size_t len) {
    *mask = 0;
    *first = HILO_CHANNEL_UNSPECIFIED;
    int n = 0;
    char *copy = hilo_xstrdup(list), *save = NULL;
    for (char *t = strtok_r(copy, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
        int ch = hilo_channel_parse(t);
        if (ch == HILO_CHANNEL_UNSPECIFIED) {
            snprintf(why, len, "channels: want whatsapp, sms or voice, got '%s'", t);
            free(copy);
            return HILO_ERR;
        }
        if (*mask & (1u << ch)) {
            snprintf(why, len, "channels: %s given twice", t);
            free(copy);
            return HILO_ERR;
        }
        if (!n++) *first = ch;
        *mask |= 1u << ch;
    }
    free(copy);
    if (n < 2) {
        snprintf(why, len, "channels: channel = best needs two or more of whatsapp, sms, voice (the first is the "
                           "fixed cadence's)");
        return HILO_ERR;
    }
    return HILO_OK;
}

const char *st_best_hours(const char *value, bool *best) {
    *best = strncmp(value, "best", 4) == 0 && (value[4] == '\0' || value[4] == ' ' || value[4] == '\t');
    if (!*best) return value;
    value += 4;
    while (*value == ' ' || *value == '\t') value++;
    /* without fallback ranges: the span of the optimizer's hour buckets, 08:00-21:00 */
    return *value ? value : "08:00-21:00";
}

unsigned hilo_strategy_step_optimize(const hilo_strategy_step_t *p) { return p->optimize; }
unsigned hilo_strategy_step_channels(const hilo_strategy_step_t *p) { return p->channels; }
