/* cmd_optimizer.c — `hilo optimizer show [CELL] [--cap N] [--json]`: the contact optimizer's
 * model per segment cell, read from Redis (HILO_KEY_OPT_CELLS and each cell's
 * "hilo:{o:<cell>}:model", hilo/keys.h): each arm's estimated promise/payment rate with its 90 %
 * interval, its value under the default reward, the decisions it got, the learnt contacts-a-week
 * knee, and the uplift against the holdout with a 95 % interval (docs/optimizer.md). The pooled
 * prior is built from every cell, as the runner does. A cell whose bytes are not a model is
 * reported on stderr and the others are still shown (exit 1). Reads only. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hilo/keys.h"
#include "hilo/optimizer.h"
#include "options.h"

static const char usage_text[] =
    "usage: hilo optimizer show [CELL] [--cap N] [--json]\n"
    "       the contact optimizer's model per segment cell (or CELL alone): each arm's estimated\n"
    "       promise/payment rate (90 % interval), value and decisions, the contacts-a-week knee\n"
    "       within --cap (default 7), the uplift against the holdout (95 % interval)\n";

#define MAX_CELLS 4096

typedef struct {
    char *name;
    hilo_opt_cell_t model;
} cell_t;

static int by_name(const void *a, const void *b) {
    return strcmp(((const cell_t *)a)->name, ((const cell_t *)b)->name);
}

/* Every cell of the index with a readable model, in name order; *bad counts the unreadable. */
static int read_cells(hilo_cli_t *cli, cell_t **out, size_t *count, int *bad) {
    redisReply *names = hilo_cli_cmd(cli, "SMEMBERS %s", HILO_KEY_OPT_CELLS);
    if (!names) return HILO_EXIT_REDIS;
    size_t n = names->type == REDIS_REPLY_ARRAY ? names->elements : 0;
    if (n > MAX_CELLS) n = MAX_CELLS;
    cell_t *cells = calloc(n ? n : 1, sizeof *cells);
    hilo_cli_args_t *cmds = calloc(n ? n : 1, sizeof *cmds);
    if (!cells || !cmds) abort();
    size_t asked = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = names->element[i]->str;
        char key[200];
        if (!name || !hilo_opt_cell_name_valid(name) || hilo_key_opt_model(key, sizeof key, name) < 0) {
            fprintf(stderr, "hilo optimizer show: %s holds a bad cell name; left out\n", HILO_KEY_OPT_CELLS);
            (*bad)++;
            continue;
        }
        cells[asked].name = strdup(name);
        hilo_cli_args_add(&cmds[asked], "GET");
        hilo_cli_args_add(&cmds[asked], key);
        asked++;
    }
    freeReplyObject(names);
    redisReply **replies = asked ? hilo_cli_pipeline(cli, cmds, asked) : NULL;
    for (size_t i = 0; i < asked; i++) hilo_cli_args_clear(&cmds[i]);
    free(cmds);
    if (asked && !replies) {
        for (size_t i = 0; i < asked; i++) free(cells[i].name);
        free(cells);
        return HILO_EXIT_REDIS;
    }
    size_t kept = 0;
    for (size_t i = 0; i < asked; i++) {
        redisReply *r = replies[i];
        char err[160] = "";
        if (r->type != REDIS_REPLY_STRING)
            snprintf(err, sizeof err, "optimizer cell: %s", r->type == REDIS_REPLY_NIL ? "no model" : "not a string");
        else if (hilo_opt_cell_unpack((const uint8_t *)r->str, r->len, &cells[i].model, err, sizeof err) == 0)
            err[0] = 0;
        if (err[0]) {
            fprintf(stderr, "hilo optimizer show: cell %s: %s; left out\n", cells[i].name, err);
            (*bad)++;
            free(cells[i].name);
            continue;
        }
        cells[kept++] = cells[i];
    }
    hilo_cli_replies_free(replies, asked);
    qsort(cells, kept, sizeof *cells, by_name);
    *out = cells;
    *count = kept;
    return HILO_EXIT_OK;
}

static double cell_decisions(const hilo_opt_cell_t *m) {
    double n = 0;
    for (int a = 0; a < HILO_OPT_ARMS; a++) n += m->arm[a].n;
    return n;
}

/* Arms in order of estimated value, highest first. */
typedef struct {
    int arm;
    double value, rate, lo, hi;
} arm_row_t;
static int by_value(const void *a, const void *b) {
    double x = ((const arm_row_t *)a)->value, y = ((const arm_row_t *)b)->value;
    return x < y ? 1 : x > y ? -1 : ((const arm_row_t *)a)->arm - ((const arm_row_t *)b)->arm;
}

/* A count: a whole number prints as one (the model keeps floats, so that counts could decay). */
static json_t *count(double v) { return v == (double)(long long)v ? json_integer((json_int_t)v) : json_real(v); }

static json_t *group(const hilo_opt_stat_t *s) {
    return json_pack("{s:o, s:o, s:o}", "weeks", count(s->n), "promises_or_payments", count(s->pay),
                     "opt_outs_complaints", count(s->bad));
}

static void show_cell(const hilo_opt_config_t *cfg, const hilo_opt_pool_t *pool, const cell_t *c, int cap, bool json) {
    const hilo_opt_cell_t *m = &c->model;
    arm_row_t rows[HILO_OPT_ARMS];
    for (int a = 0; a < HILO_OPT_ARMS; a++) {
        rows[a].arm = a;
        hilo_opt_arm_estimate(cfg, m, pool, a, &rows[a].value, &rows[a].rate, &rows[a].lo, &rows[a].hi);
    }
    qsort(rows, HILO_OPT_ARMS, sizeof *rows, by_value);
    double diff = 0, lo = 0, hi = 0;
    bool has_uplift = hilo_opt_uplift(m, &diff, &lo, &hi) == 0;
    int knee = hilo_opt_knee(cfg, m, pool, cap);
    char name[24];
    if (json) {
        json_t *arms = json_array();
        for (int i = 0; i < HILO_OPT_ARMS; i++) {
            const hilo_opt_stat_t *s = &m->arm[rows[i].arm];
            json_array_append_new(arms, json_pack("{s:s, s:f, s:f, s:f, s:f, s:o, s:o, s:o, s:o}", "arm",
                                                  hilo_opt_arm_name(rows[i].arm, name, sizeof name), "rate",
                                                  rows[i].rate, "rate_lo", rows[i].lo, "rate_hi", rows[i].hi, "value",
                                                  rows[i].value, "decisions", count(s->n), "promises_or_payments",
                                                  count(s->pay), "replies", count(s->reply), "opt_outs_complaints",
                                                  count(s->bad)));
        }
        json_t *o = json_pack("{s:s, s:o, s:i, s:i}", "cell", c->name, "decisions", count(cell_decisions(m)), "knee",
                              knee, "cap", cap);
        json_object_set_new(o, "treated", group(&m->treat));
        json_object_set_new(o, "holdout", group(&m->hold));
        json_object_set_new(o, "uplift",
                            has_uplift ? json_pack("{s:f, s:f, s:f}", "diff", diff, "lo", lo, "hi", hi) : json_null());
        json_object_set_new(o, "arms", arms);
        char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        if (line) puts(line);
        free(line);
        json_decref(o);
        return;
    }
    printf("cell %s: %.0f decisions; knee %d contacts a week (cap %d)\n", c->name, cell_decisions(m), knee, cap);
    if (has_uplift)
        printf("  uplift against the holdout: %+.4f promises/payments per debtor-week [%+.4f, %+.4f] "
               "(%.0f weeks treated, %.0f in the holdout)\n",
               diff, lo, hi, (double)m->treat.n, (double)m->hold.n);
    else
        printf("  uplift against the holdout: not yet (%.0f weeks treated, %.0f in the holdout)\n", (double)m->treat.n,
               (double)m->hold.n);
    printf("  opt-outs/complaints per debtor-week: %.4f treated, %.4f holdout\n",
           m->treat.n > 0 ? m->treat.bad / m->treat.n : 0.0, m->hold.n > 0 ? m->hold.bad / m->hold.n : 0.0);
    printf("  %-18s %9s %20s %9s %9s %8s %8s\n", "ARM", "RATE", "90% INTERVAL", "VALUE", "DECISIONS", "PAID", "REPLIES");
    for (int i = 0; i < HILO_OPT_ARMS; i++) {
        const hilo_opt_stat_t *s = &m->arm[rows[i].arm];
        char interval[40];
        snprintf(interval, sizeof interval, "[%.4f, %.4f]", rows[i].lo, rows[i].hi);
        printf("  %-18s %9.4f %20s %9.2f %9.0f %8.0f %8.0f\n", hilo_opt_arm_name(rows[i].arm, name, sizeof name),
               rows[i].rate, interval, rows[i].value, (double)s->n, (double)s->pay, (double)s->reply);
    }
}

static int show(hilo_cli_t *cli, int argc, char **argv) {
    bool json = false;
    long cap = HILO_OPT_LEVELS - 1;
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"cap", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next("optimizer show", argc, argv, "", longopts)) != -1;) {
        if (c == 'j') json = true;
        else if (c == 'c') {
            if (!hilo_opts_long("optimizer show", "--cap", optarg, 1, HILO_OPT_LEVELS - 1, &cap)) return HILO_EXIT_USAGE;
        } else {
            fputs(usage_text, stderr);
            return HILO_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(usage_text, stderr);
        return HILO_EXIT_USAGE;
    }
    const char *only = optind < argc ? argv[optind] : NULL;
    if (only && !hilo_opt_cell_name_valid(only)) {
        fprintf(stderr, "hilo optimizer show: %s: not a cell name (1..120 of A-Z a-z 0-9 . _ : + -)\n", only);
        return HILO_EXIT_USAGE;
    }
    cell_t *cells = NULL;
    size_t n = 0;
    int bad = 0, rc = read_cells(cli, &cells, &n, &bad);
    if (rc != HILO_EXIT_OK) return rc;
    hilo_opt_config_t cfg;
    hilo_opt_config_default(&cfg);
    const hilo_opt_cell_t **models = calloc(n ? n : 1, sizeof *models);
    if (!models) abort();
    for (size_t i = 0; i < n; i++) models[i] = &cells[i].model;
    hilo_opt_pool_t pool;
    hilo_opt_pool_build(&cfg, models, n, &pool);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (only && strcmp(only, cells[i].name) != 0) continue;
        found = true;
        show_cell(&cfg, &pool, &cells[i], (int)cap, json);
    }
    if (only && !found) fprintf(stderr, "hilo optimizer show: no model for cell %s\n", only);
    else if (!n && !json) printf("no optimizer model yet (%s is empty)\n", HILO_KEY_OPT_CELLS);
    for (size_t i = 0; i < n; i++) free(cells[i].name);
    free(cells);
    free(models);
    return bad || (only && !found) ? HILO_EXIT_DATA : HILO_EXIT_OK;
}

int hilo_cmd_optimizer(hilo_cli_t *cli, int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "show") == 0) return show(cli, argc - 1, argv + 1);
    fputs(usage_text, stderr);
    return HILO_EXIT_USAGE;
}
