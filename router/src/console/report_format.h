/* report_format.h — the supervisor's reports (docs/console-protocol.md, "Reports"), in and out:
 * one day's roll-up hash (hilo:{r:<day>}:rollup) read as the report's day object, and a report's
 * days written as CSV, one row per figure, `date,dimension,id,name,metric,value`, in a fixed
 * order (days, then queue, agent, reason, disposition, block, strategy; ids and metrics sorted)
 * so two exports of the same days are the same bytes. Used by the console (reports.c) and the
 * CLI (`hilo report daily`); knows nothing of either (jansson in, jansson or a string out). */
#ifndef HILO_REPORT_FORMAT_H
#define HILO_REPORT_FORMAT_H

#include <jansson.h>
#include <stdbool.h>

#include <stdint.h>

#include "hilo/buf.h"

#define HILO_REPORT_RANGE_MAX 366 /* days in one report */

/* A date written YYYY-MM-DD (a real one: 2026-02-30 is refused) as days since 1970-01-01. */
bool hilo_report_parse_date(const char *s, int64_t *day);
/* Day `day` (days since 1970-01-01 of its local date) from its roll-up's fields as a flat JSON
 * array [field, value, ...] (HGETALL; non-strings skipped): {"date", "day", "queues", "agents",
 * "reasons", "dispositions", "blocks", "strategies"} with only the figures that are not zero.
 * New reference. */
json_t *hilo_report_day(int64_t day, const json_t *pairs);
/* The agents met in a report's days (sorted ids), for their names. New reference. */
json_t *hilo_report_agents(const json_t *days);

/* days: the report's "days" array; names: agent id -> name. Returns a malloc'd string (RFC
 * 4180: CRLF line ends, fields with a comma, quote, CR or LF quoted, quotes doubled; a text
 * field a spreadsheet would run as a formula (= + - @ first) gets a leading apostrophe). */
char *hilo_report_csv(const json_t *days, const json_t *names);

/* One field as CSV, appended to buf (text_field: may need the formula guard). */
void hilo_report_csv_field(hilo_buf_t *buf, const char *text, bool text_field);

#endif
