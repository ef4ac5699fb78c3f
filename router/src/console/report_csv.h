/* report_csv.h — a report's days as CSV (docs/console-protocol.md, "Reports"): one row per
 * figure, `date,dimension,id,name,metric,value`, in a fixed order (days, then queue, agent,
 * reason, disposition, block; ids and metrics sorted) so two exports of the same days are the
 * same bytes. Called by reports.c; knows nothing of the router (jansson in, a string out). */
#ifndef HILO_REPORT_CSV_H
#define HILO_REPORT_CSV_H

#include <jansson.h>
#include <stdbool.h>

#include "hilo/buf.h"

/* days: the report's "days" array; names: agent id -> name. Returns a malloc'd string (RFC
 * 4180: CRLF line ends, fields with a comma, quote, CR or LF quoted, quotes doubled; a text
 * field a spreadsheet would run as a formula (= + - @ first) gets a leading apostrophe). */
char *hilo_report_csv(const json_t *days, const json_t *names);

/* One field as CSV, appended to buf (text_field: may need the formula guard). */
void hilo_report_csv_field(hilo_buf_t *buf, const char *text, bool text_field);

#endif
