/* report_csv.c — a report's days as CSV (report_csv.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_csv.h"

void hilo_report_csv_field(hilo_buf_t *buf, const char *text, bool text_field) {
    bool formula = text_field && strchr("=+-@", text[0]) && text[0];
    bool quote = strpbrk(text, ",\"\r\n") != NULL || formula;
    if (!quote) {
        hilo_buf_append(buf, text, strlen(text));
        return;
    }
    hilo_buf_append(buf, "\"", 1);
    if (formula) hilo_buf_append(buf, "'", 1); /* shown as text, never run */
    for (const char *p = text; *p; p++) {
        if (*p == '"') hilo_buf_append(buf, "\"", 1);
        hilo_buf_append(buf, p, 1);
    }
    hilo_buf_append(buf, "\"", 1);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The keys of an object, sorted (the array is malloc'd; *n its length). */
static const char **sorted_keys(const json_t *o, size_t *n) {
    *n = json_object_size(o);
    const char **k = malloc((*n ? *n : 1) * sizeof *k);
    if (!k) abort();
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) k[i++] = key;
    qsort(k, *n, sizeof *k, cmp_str);
    return k;
}

static void row(hilo_buf_t *b, const char *date, const char *dim, const char *id, const char *name, const char *metric,
                json_int_t value) {
    hilo_report_csv_field(b, date, false);
    hilo_buf_append(b, ",", 1);
    hilo_report_csv_field(b, dim, false);
    hilo_buf_append(b, ",", 1);
    hilo_report_csv_field(b, id, true);
    hilo_buf_append(b, ",", 1);
    hilo_report_csv_field(b, name, true);
    hilo_buf_append(b, ",", 1);
    hilo_report_csv_field(b, metric, true);
    hilo_buf_printf(b, ",%lld\r\n", (long long)value);
}

/* The figures of one row object (id's metrics): numbers in a fixed order, then, nested, the
 * agent's dispositions as "disposition:<code>". */
static void metrics(hilo_buf_t *b, const char *date, const char *dim, const char *id, const char *name, const json_t *o) {
    static const char *const order[] = {"escalated", "offered", "answered", "abandoned", "closed", "sla_met",
                                        "sla_breached"};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        json_t *v = json_object_get(o, order[i]);
        if (json_is_integer(v)) row(b, date, dim, id, name, order[i], json_integer_value(v));
    }
    size_t n;
    const char **keys = sorted_keys(o, &n);
    for (size_t i = 0; i < n; i++) {
        bool known = false;
        for (size_t j = 0; j < sizeof order / sizeof *order && !known; j++) known = strcmp(keys[i], order[j]) == 0;
        json_t *v = json_object_get(o, keys[i]);
        if (known) continue;
        if (json_is_integer(v)) {
            row(b, date, dim, id, name, keys[i], json_integer_value(v));
        } else if (json_is_object(v)) {
            size_t m;
            const char **sk = sorted_keys(v, &m);
            for (size_t j = 0; j < m; j++) {
                char metric[300];
                snprintf(metric, sizeof metric, "%s:%s", keys[i], sk[j]);
                json_t *x = json_object_get(v, sk[j]);
                if (json_is_integer(x)) row(b, date, dim, id, name, metric, json_integer_value(x));
            }
            free(sk);
        }
    }
    free(keys);
}

char *hilo_report_csv(const json_t *days, const json_t *names) {
    static const struct { const char *key, *dim; bool rows; } dims[] = {
        {"queues", "queue", true}, {"agents", "agent", true}, {"reasons", "reason", false},
        {"dispositions", "disposition", false}, {"blocks", "compliance_block", false}, {"strategies", "strategy", true}};
    hilo_buf_t b = {0};
    hilo_buf_append(&b, "date,dimension,id,name,metric,value\r\n", 37);
    size_t di;
    json_t *day;
    json_array_foreach(days, di, day) {
        const char *date = json_string_value(json_object_get(day, "date"));
        if (!date) continue;
        for (size_t d = 0; d < sizeof dims / sizeof *dims; d++) {
            json_t *o = json_object_get(day, dims[d].key);
            size_t n;
            const char **keys = sorted_keys(o, &n);
            for (size_t i = 0; i < n; i++) {
                json_t *v = json_object_get(o, keys[i]);
                const char *name = "";
                if (strcmp(dims[d].key, "agents") == 0) {
                    const char *nm = json_string_value(json_object_get(names, keys[i]));
                    if (nm) name = nm;
                }
                if (dims[d].rows) metrics(&b, date, dims[d].dim, keys[i], name, v);
                else if (json_is_integer(v)) row(&b, date, dims[d].dim, keys[i], "", "count", json_integer_value(v));
            }
            free(keys);
        }
    }
    return b.data; /* the buffer's bytes, NUL-terminated, handed over */
}
