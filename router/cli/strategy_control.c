/* strategy_control.c — `hilo strategy start|pause|resume NAME` and `hilo strategy report NAME
 * [--json]`: the operator's side of the running strategies (router/src/strategy_run.c;
 * docs/strategies.md, "Running a strategy").
 *
 * start and resume set hilo:{s:NAME}:state to running and put every imported debtor at the front
 * of the runners' time index (each debtor keeps its place in its strategy: the runner decides
 * from it); pause sets it to paused (no new step of the strategy is committed; a step already
 * committed still passes the gate at hand-off). report prints the strategy's funnel: per variant
 * and step, the counters the runners keep in hilo:{s:NAME}:funnel. */
#include "strategy_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/buf.h"
#include "hilo/common.h"
#include "hilo/json_write.h"
#include "hilo/keys.h"
#include "hilo/strategy.h"
#include "options.h"

#define ENROLL_BATCH 1000

/* The strategy must be one of [strategies] dir: a typo must not start nothing silently. */
static int known(hilo_cli_t *cli, const char *name) {
    char err[1024];
    hilo_strategy_set_t *set = hilo_strategy_set_load_dir(hilo_cli_settings(cli)->strategies_dir, err, sizeof err);
    if (!set) {
        fprintf(stderr, "%s\n", err);
        return HILO_EXIT_CONFIG;
    }
    int rc = HILO_EXIT_OK;
    if (!hilo_strategy_set_find(set, name)) {
        fprintf(stderr, "hilo: no strategy named '%s' in %s\n", name, hilo_cli_settings(cli)->strategies_dir);
        rc = HILO_EXIT_DATA;
    }
    hilo_strategy_set_destroy(&set);
    return rc;
}

static int set_state(hilo_cli_t *cli, const char *name, const char *state) {
    char k[HILO_KEY_MAX];
    hilo_key_strategy(k, sizeof k, name, "state");
    redisReply *r = hilo_cli_cmd(cli, "SET %s %s", k, state);
    if (!r) return HILO_EXIT_REDIS;
    freeReplyObject(r);
    return HILO_EXIT_OK;
}

/* Every imported debtor to the front of the index, a batch per round trip. */
static int enroll(hilo_cli_t *cli, long *count) {
    char cursor[32] = "0";
    *count = 0;
    size_t cap = ENROLL_BATCH;
    hilo_cli_args_t *cmds = hilo_xcalloc(cap, sizeof *cmds);
    int rc = HILO_EXIT_OK;
    do {
        redisReply *r = hilo_cli_cmd(cli, "SSCAN %s %s COUNT %d", HILO_KEY_DEBTORS, cursor, ENROLL_BATCH);
        if (!r) {
            rc = HILO_EXIT_REDIS;
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "hilo: unexpected SSCAN reply\n");
            freeReplyObject(r);
            rc = HILO_EXIT_REDIS;
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const redisReply *m = r->element[1];
        size_t n = 0;
        /* COUNT is a hint: a reply may hold more ids than asked. */
        if (m->elements > cap) {
            cmds = hilo_xrealloc(cmds, m->elements * sizeof *cmds);
            memset(cmds + cap, 0, (m->elements - cap) * sizeof *cmds);
            cap = m->elements;
        }
        for (size_t i = 0; i < m->elements; i++) {
            const char *id = m->element[i]->str;
            if (m->element[i]->type != REDIS_REPLY_STRING || !hilo_debtor_id_valid(id)) continue;
            char k[HILO_KEY_MAX];
            hilo_key_sched(k, sizeof k, hilo_outbox_partition(id));
            hilo_cli_args_add(&cmds[n], "ZADD");
            hilo_cli_args_add(&cmds[n], k);
            hilo_cli_args_add(&cmds[n], "0");
            hilo_cli_args_add(&cmds[n], id);
            n++;
        }
        freeReplyObject(r);
        if (n) {
            redisReply **rep = hilo_cli_pipeline(cli, cmds, n);
            for (size_t i = 0; i < n; i++) hilo_cli_args_clear(&cmds[i]);
            if (!rep) {
                rc = HILO_EXIT_REDIS;
                break;
            }
            hilo_cli_replies_free(rep, n);
            *count += (long)n;
        }
    } while (strcmp(cursor, "0") != 0);
    free(cmds);
    return rc;
}

static int start(hilo_cli_t *cli, const char *verb, const char *name) {
    int rc = known(cli, name);
    if (rc == HILO_EXIT_OK) rc = set_state(cli, name, "running");
    long n = 0;
    if (rc == HILO_EXIT_OK) rc = enroll(cli, &n);
    if (rc == HILO_EXIT_OK)
        printf("strategy %s %s: running; %ld debtor%s to be looked at by the routers\n", name, verb, n,
               n == 1 ? "" : "s");
    return rc;
}

static int pause_(hilo_cli_t *cli, const char *name) {
    int rc = known(cli, name);
    if (rc == HILO_EXIT_OK) rc = set_state(cli, name, "paused");
    if (rc == HILO_EXIT_OK)
        printf("strategy %s paused: no new step is committed (steps already committed still pass the gate "
               "at hand-off); `hilo strategy resume %s` goes on\n",
               name, name);
    return rc;
}

/* --- report -------------------------------------------------------------------------------- */

typedef struct {
    char variant[HILO_STRATEGY_NAME_MAX + 1], step[HILO_STRATEGY_NAME_MAX + 1], metric[128];
    long long n;
} row_t;

static int cmp_row(const void *a, const void *b) {
    const row_t *x = a, *y = b;
    int c = strcmp(x->variant, y->variant);
    if (!c) c = strcmp(x->step, y->step);
    if (!c) c = strcmp(x->metric, y->metric);
    return c;
}

/* The currency of a cost metric ("cost_micros:USD" -> "USD": millionths of it, [costs] in the
 * router's config), NULL for any other metric. */
static const char *cost_currency(const char *metric) {
    return strncmp(metric, "cost_micros:", 12) == 0 ? metric + 12 : NULL;
}

/* 20400 -> "0.020400". */
static const char *micros_text(long long m, char *buf, size_t n) {
    snprintf(buf, n, "%s%lld.%06lld", m < 0 ? "-" : "", llabs(m) / 1000000, llabs(m) % 1000000);
    return buf;
}

static int report(hilo_cli_t *cli, const char *name, bool json) {
    int rc = known(cli, name);
    if (rc != HILO_EXIT_OK) return rc;
    char kf[HILO_KEY_MAX], ks[HILO_KEY_MAX];
    hilo_key_strategy(kf, sizeof kf, name, "funnel");
    hilo_key_strategy(ks, sizeof ks, name, "state");
    redisReply *st = hilo_cli_cmd(cli, "GET %s", ks);
    if (!st) return HILO_EXIT_REDIS;
    redisReply *r = hilo_cli_cmd(cli, "HGETALL %s", kf);
    if (!r) {
        freeReplyObject(st);
        return HILO_EXIT_REDIS;
    }
    const char *state = st->type == REDIS_REPLY_STRING ? st->str : "as in its file";
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements / 2 : 0;
    row_t *rows = hilo_xcalloc(n ? n : 1, sizeof *rows);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *f = r->element[2 * i]->str, *v = r->element[2 * i + 1]->str;
        const char *b1 = f ? strchr(f, '|') : NULL, *b2 = b1 ? strchr(b1 + 1, '|') : NULL;
        if (!b2 || !v) continue;
        snprintf(rows[k].variant, sizeof rows[k].variant, "%.*s", (int)(b1 - f), f);
        snprintf(rows[k].step, sizeof rows[k].step, "%.*s", (int)(b2 - b1 - 1), b1 + 1);
        snprintf(rows[k].metric, sizeof rows[k].metric, "%s", b2 + 1);
        rows[k++].n = strtoll(v, NULL, 10);
    }
    qsort(rows, k, sizeof *rows, cmp_row);
    if (json) {
        hilo_buf_t b = HILO_BUF_INIT;
        hilo_jobj_t o, rs;
        hilo_jobj_begin(&o, &b);
        hilo_jobj_str(&o, "strategy", name);
        hilo_jobj_str(&o, "state", state);
        hilo_jobj_key(&o, "funnel");
        hilo_buf_printf(&b, "[");
        for (size_t i = 0; i < k; i++) {
            if (i) hilo_buf_printf(&b, ",");
            hilo_jobj_begin(&rs, &b);
            hilo_jobj_str(&rs, "variant", rows[i].variant);
            hilo_jobj_str(&rs, "step", rows[i].step);
            hilo_jobj_str(&rs, "metric", rows[i].metric);
            hilo_jobj_int(&rs, "count", rows[i].n);
            const char *cur = cost_currency(rows[i].metric);
            if (cur) { /* the amount as a decimal string: no binary rounding of money */
                char amount[48];
                hilo_jobj_str(&rs, "currency", cur);
                hilo_jobj_str(&rs, "amount", micros_text(rows[i].n, amount, sizeof amount));
            }
            hilo_jobj_end(&rs);
        }
        hilo_buf_printf(&b, "]");
        hilo_jobj_end(&o);
        printf("%.*s\n", (int)b.len, b.data);
        hilo_buf_free(&b);
    } else {
        printf("strategy %s (%s)\n", name, state);
        if (!k) printf("  nothing yet\n");
        for (size_t i = 0; i < k; i++) {
            if (i == 0 || strcmp(rows[i].variant, rows[i - 1].variant) || strcmp(rows[i].step, rows[i - 1].step))
                printf("  %s / %s:\n", rows[i].variant, *rows[i].step ? rows[i].step : "-");
            const char *cur = cost_currency(rows[i].metric);
            char amount[48];
            if (cur)
                printf("    %-32s %s %s\n", "cost", micros_text(rows[i].n, amount, sizeof amount), cur);
            else
                printf("    %-32s %lld\n", rows[i].metric, rows[i].n);
        }
    }
    free(rows);
    freeReplyObject(r);
    freeReplyObject(st);
    return HILO_EXIT_OK;
}

int hilo_strategy_control(hilo_cli_t *cli, int argc, char **argv) {
    const char *verb = argv[0];
    bool is_report = strcmp(verb, "report") == 0, json = false, bad = false;
    static const struct option report_opts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    char cmd[32];
    snprintf(cmd, sizeof cmd, "strategy %s", verb);
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next(cmd, argc, argv, "", is_report ? report_opts : NULL)) != -1;) {
        if (c == 'j') json = true;
        else bad = true;
    }
    if (bad || optind != argc - 1) {
        fprintf(stderr, "usage: hilo strategy start|pause|resume NAME\n       hilo strategy report NAME [--json]\n");
        return HILO_EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (strcmp(verb, "start") == 0) return start(cli, "started", name);
    if (strcmp(verb, "resume") == 0) return start(cli, "resumed", name);
    if (strcmp(verb, "pause") == 0) return pause_(cli, name);
    return report(cli, name, json);
}
