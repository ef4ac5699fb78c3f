/* cmd_compliance.c — `hilo compliance check [--at YYYY-MM-DD] [--json]`: each rule pack of
 * [engine] compliance_dir with the countries compliance.conf maps to it, the holiday calendar it
 * uses and the years that calendar covers (hilo/pack_survey.h). A pack whose calendar does not
 * cover this year and the next, or whose pack or calendar file is missing or broken, is reported
 * on stderr (FILE:LINE: reason) and makes the exit status 1: when a calendar runs out the gate
 * blocks every contact under its packs (no_holiday_data, docs/compliance.md). Needs no Redis. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "hilo/common.h"
#include "hilo/pack_survey.h"
#include "hilo/tz.h"
#include "options.h"

static const char usage_text[] =
    "usage: hilo compliance check [--at YYYY-MM-DD] [--json]\n"
    "       each rule pack, its countries, its holiday calendar and the years it covers; exit 1\n"
    "       when a calendar misses this year or the next (--at: the day to judge from, default\n"
    "       today in UTC), or a pack or calendar is missing or broken\n";

typedef struct {
    int year;      /* the year of --at (or today) */
    bool json;
    int problems;  /* packs reported on stderr */
} check_t;

/* "ok", "no_calendar" (holidays = none), "not_covered", "missing" or "broken". */
static const char *status_of(const hilo_pack_survey_t *s, int year) {
    if (s->error) return s->missing ? "missing" : "broken";
    if (!s->calendar[0]) return "no_calendar";
    return s->first_year <= year && s->last_year >= year + 1 ? "ok" : "not_covered";
}

static void print_json(const hilo_pack_survey_t *s, const char *status) {
    json_t *countries = json_array();
    char *list = hilo_xstrdup(s->countries);
    for (char *c = strtok(list, " "); c; c = strtok(NULL, " ")) json_array_append_new(countries, json_string(c));
    free(list);
    json_t *o = json_pack("{s:s, s:s?, s:o, s:s?, s:s?}", "pack", s->pack_id, "name", s->name, "countries", countries,
                          "calendar", s->calendar[0] ? s->calendar : NULL, "calendar_file",
                          s->calendar_path[0] ? s->calendar_path : NULL);
    json_object_set_new(o, "first_year", s->first_year ? json_integer(s->first_year) : json_null());
    json_object_set_new(o, "last_year", s->last_year ? json_integer(s->last_year) : json_null());
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "error", s->error ? json_string(s->error) : json_null());
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line) puts(line);
    free(line);
    json_decref(o);
}

static void one_pack(const hilo_pack_survey_t *s, void *arg) {
    check_t *k = arg;
    const char *status = status_of(s, k->year);
    if (k->json) {
        print_json(s, status);
    } else {
        char first[16] = "-", last[16] = "-";
        if (s->first_year) snprintf(first, sizeof first, "%d", s->first_year);
        if (s->last_year) snprintf(last, sizeof last, "%d", s->last_year);
        printf("%-16s %-14s %-9s %-6s %-6s %s\n", s->pack_id, s->countries[0] ? s->countries : "-",
               s->calendar[0] ? s->calendar : s->error && !s->name ? "?" : "none", first, last, status);
    }
    if (s->error) {
        fprintf(stderr, "%s\n", s->error);
        k->problems++;
    } else if (strcmp(status, "not_covered") == 0) {
        fprintf(stderr,
                "hilo compliance check: warning: pack %s: holiday calendar %s covers %d-%d, not %d and %d: "
                "the gate blocks its contacts outside those years (no_holiday_data); add the missing years\n",
                s->pack_id, s->calendar_path, s->first_year, s->last_year, k->year, k->year + 1);
        k->problems++;
    }
}

static int check(hilo_cli_t *cli, int argc, char **argv) {
    check_t k = {0};
    int y = 0, m = 0, d = 0;
    static const struct option longopts[] = {
        {"at", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next("compliance check", argc, argv, "", longopts)) != -1;) {
        if (c == 'j') {
            k.json = true;
        } else if (c == 'a') {
            int n = 0;
            if (sscanf(optarg, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || optarg[n] ||
                !hilo_date_valid(y, m, d) || y < 1970) {
                fprintf(stderr, "hilo compliance check: --at %s: want a date, YYYY-MM-DD\n", optarg);
                return HILO_EXIT_USAGE;
            }
        } else {
            fputs(usage_text, stderr);
            return HILO_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    if (!y) {
        time_t now = (time_t)(hilo_now_ms() / 1000);
        struct tm tm;
        gmtime_r(&now, &tm);
        y = tm.tm_year + 1900;
    }
    k.year = y;
    const char *dir = hilo_cli_settings(cli)->compliance_dir;
    if (!k.json) printf("%-16s %-14s %-9s %-6s %-6s %s\n", "PACK", "COUNTRIES", "CALENDAR", "FIRST", "LAST", "STATUS");
    char err[1200];
    if (hilo_pack_survey_each(dir, one_pack, &k, err, sizeof err) < 0) {
        fprintf(stderr, "hilo: compliance rules ([engine] compliance_dir): %s\n", err);
        return HILO_EXIT_CONFIG;
    }
    return k.problems ? HILO_EXIT_DATA : HILO_EXIT_OK;
}

int hilo_cmd_compliance(hilo_cli_t *cli, int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "check") == 0) return check(cli, argc - 1, argv + 1);
    fputs(usage_text, stderr);
    return HILO_EXIT_USAGE;
}
