/* cmd_report.c — `hilo report daily --from DATE --to DATE [--csv | --json]`: the supervisor's
 * daily roll-ups (hilo:{r:<business day>}:rollup, written by the routers: docs/console-protocol.md,
 * "Reports") of a date range, read from Redis and written as the console writes them
 * (router/src/console/report_format.c): a table per day and queue, the same CSV as the console's
 * export, or the console's JSON. Today's roll-up is as fresh as the routers' last pass
 * ([reports] rollup_s). */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "report_format.h"

static const char usage_text[] =
    "usage: hilo report daily --from YYYY-MM-DD --to YYYY-MM-DD [--csv | --json]\n"
    "       (business days, at most 366)\n";

/* An HGETALL or HGET reply as JSON: a flat array of strings, a string, or null. */
static json_t *reply_json(const redisReply *r) {
    if (r->type == REDIS_REPLY_STRING) return json_stringn(r->str, r->len);
    if (r->type != REDIS_REPLY_ARRAY) return json_null();
    json_t *a = json_array();
    for (size_t i = 0; i < r->elements; i++) {
        json_t *s = reply_json(r->element[i]);
        json_array_append_new(a, s ? s : json_null());
    }
    return a;
}

/* One command per item of `keys` (printf format with one %s or %lld), in one round trip; the
 * replies as JSON into out (appended). */
static int read_all(hilo_cli_t *cli, size_t n, const char *const *argv0, const char *const *key, const char *arg2,
                    json_t *out) {
    hilo_cli_args_t *cmds = calloc(n ? n : 1, sizeof *cmds);
    if (!cmds) abort();
    for (size_t i = 0; i < n; i++) {
        hilo_cli_args_add(&cmds[i], argv0[i]);
        hilo_cli_args_add(&cmds[i], key[i]);
        if (arg2) hilo_cli_args_add(&cmds[i], arg2);
    }
    redisReply **rs = n ? hilo_cli_pipeline(cli, cmds, n) : NULL;
    int rc = HILO_EXIT_OK;
    for (size_t i = 0; i < n && rs; i++) {
        if (rs[i]->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "hilo: report: %s\n", rs[i]->str);
            rc = HILO_EXIT_REDIS;
            break;
        }
        json_array_append_new(out, reply_json(rs[i]));
    }
    if (n && !rs) rc = HILO_EXIT_REDIS;
    if (rs) hilo_cli_replies_free(rs, n);
    for (size_t i = 0; i < n; i++) hilo_cli_args_clear(&cmds[i]);
    free(cmds);
    return rc;
}

static long long num(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void print_table(const json_t *days) {
    printf("%-10s %-24s %9s %7s %8s %9s %6s %10s\n", "DATE", "QUEUE", "ESCALATED", "OFFERED", "ANSWERED", "ABANDONED",
           "CLOSED", "WITHIN SLA");
    size_t i;
    json_t *day;
    json_array_foreach(days, i, day) {
        const char *date = json_string_value(json_object_get(day, "date"));
        const char *q;
        json_t *v;
        json_object_foreach(json_object_get(day, "queues"), q, v) {
            long long met = num(v, "sla_met"), br = num(v, "sla_breached");
            char sla[16] = "-";
            if (met + br > 0) snprintf(sla, sizeof sla, "%lld%%", (met * 100 + (met + br) / 2) / (met + br));
            printf("%-10s %-24.24s %9lld %7lld %8lld %9lld %6lld %10s\n", date, q, num(v, "escalated"), num(v, "offered"),
                   num(v, "answered"), num(v, "abandoned"), num(v, "closed"), sla);
        }
    }
}

int hilo_cmd_report(hilo_cli_t *cli, int argc, char **argv) {
    const char *from_s = NULL, *to_s = NULL;
    int csv = 0, json = 0;
    static const struct option longopts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"csv", no_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    bool bad = argc < 2 || strcmp(argv[1], "daily") != 0;
    int64_t from = 0, to = 0;
    hilo_opts_begin();
    for (int c; !bad && (c = hilo_opts_next("report daily", argc - 1, argv + 1, "", longopts)) != -1;) {
        switch (c) {
        case 'f': from_s = optarg; break;
        case 't': to_s = optarg; break;
        case 'c': csv = 1; break;
        case 'j': json = 1; break;
        default: bad = true;
        }
    }
    if (bad || optind != argc - 1 || !from_s || !to_s || (csv && json)) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    if (!hilo_report_parse_date(from_s, &from) || !hilo_report_parse_date(to_s, &to) || to < from ||
        to - from + 1 > HILO_REPORT_RANGE_MAX) {
        fprintf(stderr, "hilo: report: --from and --to must be dates written YYYY-MM-DD, in order, at most %d days "
                        "apart\n", HILO_REPORT_RANGE_MAX);
        return HILO_EXIT_USAGE;
    }
    size_t n = (size_t)(to - from + 1);
    char(*keys)[64] = calloc(n, sizeof *keys);
    const char **kp = calloc(n, sizeof *kp), **cmd = calloc(n, sizeof *cmd);
    if (!keys || !kp || !cmd) abort();
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "hilo:{r:%lld}:rollup", (long long)(from + (int64_t)i));
        kp[i] = keys[i], cmd[i] = "HGETALL";
    }
    json_t *hashes = json_array(), *days = json_array(), *names = json_object(), *got = json_array();
    int rc = read_all(cli, n, cmd, kp, NULL, hashes);
    for (size_t i = 0; rc == HILO_EXIT_OK && i < n; i++)
        json_array_append_new(days, hilo_report_day(from + (int64_t)i, json_array_get(hashes, i)));
    json_t *agents = hilo_report_agents(days);
    size_t na = json_array_size(agents);
    char(*akeys)[96] = calloc(na ? na : 1, sizeof *akeys);
    const char **ak = calloc(na ? na : 1, sizeof *ak), **hget = calloc(na ? na : 1, sizeof *hget);
    if (!akeys || !ak || !hget) abort();
    for (size_t i = 0; i < na; i++) {
        snprintf(akeys[i], sizeof akeys[i], "hilo:agent:%s", json_string_value(json_array_get(agents, i)));
        ak[i] = akeys[i], hget[i] = "HGET";
    }
    if (rc == HILO_EXIT_OK) rc = read_all(cli, na, hget, ak, "name", got);
    for (size_t i = 0; rc == HILO_EXIT_OK && i < na; i++) {
        const char *id = json_string_value(json_array_get(agents, i)), *name = json_string_value(json_array_get(got, i));
        json_object_set_new(names, id, json_string(name ? name : id));
    }
    if (rc == HILO_EXIT_OK) {
        if (csv) {
            char *text = hilo_report_csv(days, names);
            fputs(text, stdout);
            free(text);
        } else if (json) {
            json_t *o = json_pack("{s:s,s:s,s:O,s:O}", "from", from_s, "to", to_s, "days", days, "agent_names", names);
            json_dumpf(o, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(o);
        } else {
            print_table(days);
        }
    }
    free(keys), free(kp), free(cmd), free(akeys), free(ak), free(hget);
    json_decref(hashes), json_decref(days), json_decref(names), json_decref(got), json_decref(agents);
    return rc;
}
