/* report_format.c — the supervisor's reports in and out (report_format.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/tz.h"
#include "report_format.h"

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

/* --- a day's roll-up ---------------------------------------------------------------- */

bool hilo_report_parse_date(const char *s, int64_t *day) {
    int y, m, d;
    char tail;
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return false;
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) return false;
    *day = hilo_days_from_civil(y, m, d);
    int cy, cm, cd;
    hilo_civil_from_days(*day, &cy, &cm, &cd);
    return cy == y && cm == m && cd == d; /* 2026-02-30 is refused, not moved to March */
}

static json_t *sub(json_t *o, const char *key) {
    json_t *s = json_object_get(o, key);
    if (!s) json_object_set_new(o, key, s = json_object());
    return s;
}

json_t *hilo_report_day(int64_t day, const json_t *hash) {
    int y, m, d;
    char date[16];
    hilo_civil_from_days(day, &y, &m, &d);
    snprintf(date, sizeof date, "%04d-%02d-%02d", y, m, d);
    json_t *o = json_pack("{s:s,s:I,s:{},s:{},s:{},s:{},s:{},s:{}}", "date", date, "day", (json_int_t)day, "queues",
                          "agents", "reasons", "dispositions", "blocks", "strategies");
    for (size_t i = 0; i + 1 < json_array_size(hash); i += 2) {
        const char *f = json_string_value(json_array_get(hash, i)), *v = json_string_value(json_array_get(hash, i + 1));
        if (!f || !v || strlen(f) < 3 || f[1] != '|') continue;
        json_t *num = json_integer(strtoll(v, NULL, 10));
        const char *rest = f + 2, *bar = strrchr(rest, '|');
        char id[256];
        switch (f[0]) {
        case 'r': json_object_set_new(sub(o, "reasons"), rest, num); break;
        case 'd': json_object_set_new(sub(o, "dispositions"), rest, num); break;
        case 'b': json_object_set_new(sub(o, "blocks"), rest, num); break;
        case 'q':
        case 'a':
        case 's':
            if (!bar || bar == rest || (size_t)(bar - rest) >= sizeof id) {
                json_decref(num);
                break;
            }
            snprintf(id, sizeof id, "%.*s", (int)(bar - rest), rest);
            json_t *row = sub(sub(o, f[0] == 'q' ? "queues" : f[0] == 'a' ? "agents" : "strategies"), id);
            if (f[0] == 'a' && strncmp(bar + 1, "disp:", 5) == 0) json_object_set_new(sub(row, "dispositions"), bar + 6, num);
            else json_object_set_new(row, bar + 1, num);
            break;
        default: json_decref(num);
        }
    }
    /* A strategy's day: its funnel's totals at the day's last pass less where the day began. */
    const char *name;
    json_t *row;
    json_object_foreach(json_object_get(o, "strategies"), name, row) {
        json_t *day_row = json_object();
        const char *f;
        json_t *v;
        json_object_foreach(row, f, v) {
            if (strncmp(f, "total:", 6) != 0) continue;
            char base[160];
            snprintf(base, sizeof base, "base:%s", f + 6);
            json_t *b = json_object_get(row, base);
            json_int_t n = json_integer_value(v) - (b ? json_integer_value(b) : json_integer_value(v));
            if (n != 0) json_object_set_new(day_row, f + 6, json_integer(n));
        }
        json_object_update(row, day_row);
        json_object_clear(day_row);
        json_decref(day_row);
    }
    void *next;
    json_object_foreach_safe(json_object_get(o, "strategies"), next, name, row) {
        const char *f;
        void *tmp;
        json_t *v;
        json_object_foreach_safe(row, tmp, f, v) if (strchr(f, ':')) json_object_del(row, f);
        if (json_object_size(row) == 0) json_object_del(json_object_get(o, "strategies"), name); /* nothing that day */
    }
    return o;
}

json_t *hilo_report_agents(const json_t *days) {
    json_t *seen = json_object();
    size_t i;
    json_t *day;
    json_array_foreach(days, i, day) json_object_update(seen, json_object_get(day, "agents"));
    size_t n;
    const char **ids = sorted_keys(seen, &n);
    json_t *out = json_array();
    for (size_t k = 0; k < n; k++) json_array_append_new(out, json_string(ids[k]));
    free(ids);
    json_decref(seen);
    return out;
}

/* --- CSV ------------------------------------------------------------------------------ */

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
