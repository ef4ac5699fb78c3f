/* pacing.h — per-sender rate limits shared by every router (docs/architecture.md, "Pacing").
 * Reads [pacing] (a rate per channel, per-sender overrides, the share kept for replies) and
 * reserves send slots in Redis with pacing.lua, one key per sender in its own hash slot, at
 * hand-off (dispatch.c). Pure config plus one script call: it owns no state of its own; the
 * configuration lives in the router's settings (rconfig.h), read-only after load. */
#ifndef HILO_PACING_H
#define HILO_PACING_H

#include <stdbool.h>
#include <stdint.h>

#include "hilo/config.h"
#include "hilo/frame.h"

#define HILO_PACING_RULES_MAX 128  /* [pacing] per-sender lines */
#define HILO_PACING_SENDER_MAX 24  /* "default" or a number's digits (at most 20) */
#define HILO_PACING_DEFAULT "default" /* the sender of a message without `from`: each connector's own */

typedef struct {
    int channel;
    char sender[HILO_PACING_SENDER_MAX]; /* digits without '+', or "default" */
    int64_t interval_us;                 /* one message per this; 0 = unlimited */
    int burst;                           /* messages that may go at once after a quiet spell */
} hilo_pacing_rule_t;

typedef struct {
    bool enabled;                                  /* false: lifted (benchmarks), no Redis call */
    hilo_pacing_rule_t channel[HILO_CHANNEL_MAX];  /* each channel's default, for any sender */
    hilo_pacing_rule_t rules[HILO_PACING_RULES_MAX]; /* per-sender overrides */
    int nrules;
    int reply_reserve_pct;                         /* share of the burst only replies may use */
} hilo_pacing_config_t;

/* Reads [pacing] into *out. HILO_OK, or HILO_ERR with hilo_config_error(c) naming file:line. */
int hilo_pacing_config_load(hilo_config_t *c, hilo_pacing_config_t *out);

/* The rule for `sender` on `channel` ("" or NULL = the default sender; a leading '+' is
 * ignored): its override, else the channel's. NULL when unlimited (lifted, or rate 0). */
const hilo_pacing_rule_t *hilo_pacing_rule(const hilo_pacing_config_t *cfg, int channel, const char *sender);

/* How many messages of the burst a message may use: all of it for a reply to the debtor's
 * own message, the burst less the replies' reserve (at least 1) for anything else. */
int hilo_pacing_allowance(const hilo_pacing_config_t *cfg, const hilo_pacing_rule_t *rule, bool reply);

#endif
