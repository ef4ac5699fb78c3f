/* cmd_strategy.c — `hilo strategy check FILE...` and the dispatch of `hilo strategy plan`
 * (strategy_plan.c) and start|pause|resume|report (strategy_control.c). Check loads each file
 * (syntax and references: the loader's FILE:LINE), then runs the library's checks against the
 * rule packs of [engine] compliance_dir: privacy, opt-out notices, first-contact disclosures,
 * reachability (docs/strategies.md). Check and plan read FILE "-" from standard input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "hilo/common.h"
#include "hilo/sections.h"
#include "hilo/strategy.h"
#include "strategy_control.h"
#include "strategy_plan.h"

static const char usage[] =
    "usage: hilo strategy check FILE.strategy... (- is standard input)\n"
    "       hilo strategy plan [--at TIME] [--json] [--limit N] [FILE.strategy...]\n"
    "       hilo strategy start|pause|resume NAME\n"
    "       hilo strategy report NAME [--json]\n";

/* Standard input's text, read at the first "-" and kept: check loads every file twice (alone,
 * then with the others). */
static char *stdin_text;
static size_t stdin_len;

static int add_file(hilo_strategy_set_t *set, const char *path, char *err, size_t errlen) {
    if (strcmp(path, "-") != 0) {
        size_t len;
        char *text = hilo_sections_read_file(path, HILO_STRATEGY_FILE_MAX, &len, err, errlen);
        int rc = text ? hilo_strategy_set_add_text(set, path, text, len, err, errlen) : HILO_ERR;
        free(text);
        return rc;
    }
    if (!stdin_text) {
        stdin_text = hilo_xmalloc(HILO_STRATEGY_FILE_MAX + 2);
        stdin_len = fread(stdin_text, 1, HILO_STRATEGY_FILE_MAX + 1, stdin);
        stdin_text[stdin_len] = '\0';
    }
    if (ferror(stdin) || stdin_len > HILO_STRATEGY_FILE_MAX) {
        if (ferror(stdin)) snprintf(err, errlen, "<stdin>:0: cannot read");
        else snprintf(err, errlen, "<stdin>:0: larger than %d bytes", HILO_STRATEGY_FILE_MAX);
        return HILO_ERR;
    }
    return hilo_strategy_set_add_text(set, "<stdin>", stdin_text, stdin_len, err, errlen);
}

hilo_strategy_set_t *hilo_cli_load_strategies(const char *const *paths, size_t n, char *err, size_t errlen) {
    hilo_strategy_set_t *set = hilo_strategy_set_load_files(NULL, 0, err, errlen); /* empty */
    for (size_t i = 0; i < n; i++) {
        if (add_file(set, paths[i], err, errlen) != HILO_OK) {
            hilo_strategy_set_destroy(&set);
            return NULL;
        }
    }
    return set;
}

static void print_problem(const char *problem, void *arg) {
    (void)arg;
    fprintf(stderr, "%s\n", problem);
}

static int check(hilo_cli_t *cli, int argc, char **argv) {
    hilo_opts_begin();
    if (hilo_opts_next("strategy check", argc, argv, "+", NULL) != -1 || optind >= argc) {
        fputs(usage, stderr);
        return HILO_EXIT_USAGE;
    }
    /* From here argv[1..] are the files, as before ("--" dropped). */
    argv += optind - 1;
    argc -= optind - 1;
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
        hilo_strategy_set_t *set = hilo_cli_load_strategies(&path, 1, err, sizeof err);
        if (!set) {
            fprintf(stderr, "%s\n", err);
            rc = HILO_EXIT_DATA;
            continue;
        }
        const hilo_strategy_t *st = hilo_strategy_set_get(set, 0);
        int problems = hilo_strategy_check(st, gate, print_problem, NULL);
        if (problems) {
            fprintf(stderr, "%s: %d problem%s\n", hilo_cli_input_name(path), problems, problems == 1 ? "" : "s");
            rc = HILO_EXIT_DATA;
        } else {
            printf("%s: ok — strategy %s, priority %d, %d segment%s, %d variant%s\n", hilo_cli_input_name(path), hilo_strategy_name(st),
                   hilo_strategy_priority(st), hilo_strategy_segment_count(st),
                   hilo_strategy_segment_count(st) == 1 ? "" : "s", hilo_strategy_variant_count(st),
                   hilo_strategy_variant_count(st) == 1 ? "" : "s");
        }
        hilo_strategy_set_destroy(&set);
    }
    if (rc == HILO_EXIT_OK && argc > 2) {
        hilo_strategy_set_t *all = hilo_cli_load_strategies((const char *const *)argv + 1, (size_t)argc - 1, err,
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
