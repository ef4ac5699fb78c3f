/* cmd_strategy.c — `hilo strategy check FILE...` and the dispatch of `hilo strategy plan`
 * (strategy_plan.c) and start|pause|resume|report (strategy_control.c). Check loads each file (syntax and references: the loader's FILE:LINE),
 * then runs the library's checks against the rule packs of [engine] compliance_dir: privacy,
 * opt-out notices, first-contact disclosures, reachability (docs/strategies.md). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "hilo/common.h"
#include "hilo/strategy.h"
#include "strategy_control.h"
#include "strategy_plan.h"

static const char usage[] =
    "usage: hilo strategy check FILE.strategy...\n"
    "       hilo strategy plan [--at TIME] [--json] [--limit N] [FILE.strategy...]\n"
    "       hilo strategy start|pause|resume NAME\n"
    "       hilo strategy report NAME [--json]\n";

static void print_problem(const char *problem, void *arg) {
    (void)arg;
    fprintf(stderr, "%s\n", problem);
}

static int check(hilo_cli_t *cli, int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return HILO_EXIT_USAGE;
    }
    char err[1024];
    hilo_compliance_t *gate = hilo_compliance_new(hilo_cli_settings(cli)->compliance_dir, NULL, err, sizeof err);
    if (!gate) {
        fprintf(stderr, "hilo: compliance rules ([engine] compliance_dir): %s\n", err);
        return HILO_EXIT_CONFIG;
    }
    int rc = HILO_EXIT_OK;
    /* One file at a time, so that every file gets its verdict (a broken one does not hide the
     * others' problems); then all together for what only a set shows (names, priorities). */
    for (int i = 1; i < argc; i++) {
        const char *path = argv[i];
        hilo_strategy_set_t *set = hilo_strategy_set_load_files(&path, 1, err, sizeof err);
        if (!set) {
            fprintf(stderr, "%s\n", err);
            rc = HILO_EXIT_DATA;
            continue;
        }
        const hilo_strategy_t *st = hilo_strategy_set_get(set, 0);
        int problems = hilo_strategy_check(st, gate, print_problem, NULL);
        if (problems) {
            fprintf(stderr, "%s: %d problem%s\n", path, problems, problems == 1 ? "" : "s");
            rc = HILO_EXIT_DATA;
        } else {
            printf("%s: ok — strategy %s, priority %d, %d segment%s, %d variant%s\n", path, hilo_strategy_name(st),
                   hilo_strategy_priority(st), hilo_strategy_segment_count(st),
                   hilo_strategy_segment_count(st) == 1 ? "" : "s", hilo_strategy_variant_count(st),
                   hilo_strategy_variant_count(st) == 1 ? "" : "s");
        }
        hilo_strategy_set_destroy(&set);
    }
    if (rc == HILO_EXIT_OK && argc > 2) {
        hilo_strategy_set_t *all = hilo_strategy_set_load_files((const char *const *)argv + 1, (size_t)argc - 1, err,
                                                                sizeof err);
        if (!all) {
            fprintf(stderr, "%s\n", err);
            rc = HILO_EXIT_DATA;
        }
        hilo_strategy_set_destroy(&all);
    }
    hilo_compliance_destroy(&gate);
    return rc;
}

int hilo_cmd_strategy(hilo_cli_t *cli, int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "check") == 0) return check(cli, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "plan") == 0) return hilo_strategy_plan(cli, argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "start") == 0 || strcmp(argv[1], "pause") == 0 ||
                      strcmp(argv[1], "resume") == 0 || strcmp(argv[1], "report") == 0))
        return hilo_strategy_control(cli, argc - 1, argv + 1);
    fputs(usage, stderr);
    return HILO_EXIT_USAGE;
}
