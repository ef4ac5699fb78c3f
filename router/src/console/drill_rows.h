/* drill_rows.h — reads a list of conversations for the supervisor's drill-down and alerts
 * (drill.c, drill_alerts.c): each debtor's conv fields and name, in batches of commands that
 * each touch one key (so it works on a Redis Cluster), all at once; the caller gets one row per
 * debtor, in its order. Not for use outside router/src/console/. */
#ifndef HILO_DRILL_ROWS_H
#define HILO_DRILL_ROWS_H

#include "console_int.h"

#define DRILL_ROWS_MAX 100 /* conversations read for one view */

/* rows: an array of objects, one per debtor asked (in order): "debtor", "name" (the
 * portfolio's full_name or null), and the conv fields state, last_channel, esc_reason,
 * esc_detail, esc_ms, queue, offer_agent, offer_ch, offer_ms, agent, agent_ch, assigned_ms,
 * resp_ms, esc_priority (strings, or null when absent); NULL when Redis failed. Valid only
 * during the call. */
typedef void (*drill_rows_fn)(hilo_console_t *k, json_t *rows, void *arg);

/* Reads the conversations of `debtors` (an array of strings, at most DRILL_ROWS_MAX read; not
 * stolen), then calls fn(k, rows, arg). When the router closes first, fn is not called and
 * free_arg(arg) frees arg (NULL: nothing to free). */
void drill_rows_read(hilo_console_t *k, const json_t *debtors, drill_rows_fn fn, void *arg, void (*free_arg)(void *));

/* A row's field as a number (0 when absent or not a number). */
int64_t drill_row_ms(const json_t *row, const char *field);

#endif
