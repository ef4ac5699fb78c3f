/* sla.h — the supervisor floor's service levels and day (docs/console-protocol.md, "SLA"):
 * [sla] first-response and resolution targets (defaults and per queue), and the business day
 * ([console] business_day_zone, business_day_start) the day's counters are kept by. Read by
 * rconfig.c; the console (routing.c, supervisor.c, views.c, sla_mark.c) passes the targets to
 * its scripts and names each day's counters with hilo_sla_business_day(). Pure: no I/O after
 * load. */
#ifndef HILO_SLA_H
#define HILO_SLA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo/config.h"
#include "hilo/tz.h"

#define HILO_SLA_QUEUES_MAX 64  /* [sla] per-queue lines */
#define HILO_SLA_QUEUE_MAX 64   /* a queue (skill) name: [A-Za-z0-9._-] */

typedef struct {
    char queue[HILO_SLA_QUEUE_MAX + 1]; /* "" for the defaults */
    int64_t first_response_ms;          /* the first agent reply within this of the escalation */
    int64_t resolution_ms;              /* closed within this of the escalation */
} hilo_sla_target_t;

typedef struct {
    hilo_sla_target_t def;                          /* first_response_s, resolution_s */
    hilo_sla_target_t queues[HILO_SLA_QUEUES_MAX];  /* <queue>.first_response_s, <queue>.resolution_s */
    int nqueues;
    char targets_json[HILO_SLA_QUEUES_MAX * 128 + 128]; /* {"*":{"f":ms,"r":ms},"<queue>":{...}} for the scripts */
    char zone[64];                                  /* [console] business_day_zone (IANA) */
    int start_min;                                  /* [console] business_day_start, minutes after midnight */
} hilo_sla_config_t;

/* Reads [sla] and the business day keys of [console] into *out (def_first_s: the default
 * first-response target when [sla] has none, [console] sla_s). HILO_ERR with the file:line. */
int hilo_sla_config_load(hilo_config_t *c, long def_first_s, hilo_sla_config_t *out);

/* Whether s[0..n) is a queue's name: 1 to HILO_SLA_QUEUE_MAX letters, digits, '.', '_', '-'. */
bool hilo_sla_queue_name_ok(const char *s, size_t n);

/* The targets of `queue` (its own line, else the defaults). */
const hilo_sla_target_t *hilo_sla_target(const hilo_sla_config_t *cfg, const char *queue);

/* The business day `now_ms` falls in, in zone `tz` (NULL = UTC) with days starting start_min
 * minutes after local midnight: *day = days since 1970-01-01 of its local date (the counters'
 * key suffix; UTC days with the defaults, as before), *start_ms = when it began. */
void hilo_sla_business_day(const hilo_tz_t *tz, int start_min, int64_t now_ms, int64_t *day, int64_t *start_ms);

#endif
