/* strategy_plan.c — `hilo strategy plan` (see strategy_plan.h, docs/strategies.md). */
#include "strategy_plan.h"

#include <ctype.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/buf.h"
#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/json_write.h"
#include "hilo/keys.h"
#include "hilo/strategy.h"
#include "hilo/tz.h"
#include "options.h"

#define BATCH 1000     /* debtors per SSCAN and per pipeline (5 HGETALLs each) */
#define PARTS 5        /* debtor, conv, consent, promises, payments */

/* ---- time ------------------------------------------------------------------------------------ */

static int digits(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + s[i] - '0';
    }
    return v;
}

int hilo_strategy_parse_time(const char *s, int64_t *ms) {
    size_t n = strlen(s);
    if (n && strspn(s, "0123456789") == n) {
        *ms = strtoll(s, NULL, 10);
        return *ms > 0 ? HILO_OK : HILO_ERR;
    }
    if (n < 17 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':') return HILO_ERR;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2), h = digits(s + 11, 2), mi = digits(s + 14, 2);
    int sec = 0;
    const char *p = s + 16;
    if (*p == ':') {
        sec = digits(p + 1, 2);
        p += 3;
    }
    if (y < 1970 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 ||
        !hilo_date_valid(y, mo, d))
        return HILO_ERR;
    int off = 0;
    if (*p == 'Z' && !p[1]) {
        off = 0;
    } else if ((*p == '+' || *p == '-') && (strlen(p) == 6 || strlen(p) == 5)) {
        int oh = digits(p + 1, 2), om = digits(p + (p[3] == ':' ? 4 : 3), 2);
        if (oh < 0 || om < 0 || oh > 18 || om > 59) return HILO_ERR;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
    } else {
        return HILO_ERR; /* a time without its zone would depend on where the plan runs */
    }
    *ms = ((hilo_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off * 60) * 1000LL;
    return HILO_OK;
}

/* ---- counting -------------------------------------------------------------------------------- */

typedef struct {
    char key[96];
    long n;
} count_t;

typedef struct {
    count_t *c;
    size_t n;
} counts_t;

static void count(counts_t *cs, const char *key) {
    for (size_t i = 0; i < cs->n; i++)
        if (strcmp(cs->c[i].key, key) == 0) {
            cs->c[i].n++;
            return;
        }
    cs->c = hilo_xrealloc(cs->c, (cs->n + 1) * sizeof *cs->c);
    snprintf(cs->c[cs->n].key, sizeof cs->c[cs->n].key, "%s", key);
    cs->c[cs->n++].n = 1;
}

/* The same debtor id twice from SSCAN (the set was resized during the scan) is planned once. */
typedef struct {
    char **slot;
    size_t cap, n;
} idset_t;

static uint64_t hash_id(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static bool idset_add(idset_t *s, const char *id) {
    if ((s->n + 1) * 2 > s->cap) {
        idset_t bigger = {hilo_xcalloc(s->cap ? s->cap * 2 : 1024, sizeof(char *)), s->cap ? s->cap * 2 : 1024, 0};
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i]) {
                size_t j = hash_id(s->slot[i]) & (bigger.cap - 1);
                while (bigger.slot[j]) j = (j + 1) & (bigger.cap - 1);
                bigger.slot[j] = s->slot[i];
                bigger.n++;
            }
        free(s->slot);
        *s = bigger;
    }
    size_t j = hash_id(id) & (s->cap - 1);
    for (; s->slot[j]; j = (j + 1) & (s->cap - 1))
        if (strcmp(s->slot[j], id) == 0) return false;
    s->slot[j] = hilo_xstrdup(id);
    s->n++;
    return true;
}

static void idset_free(idset_t *s) {
    for (size_t i = 0; i < s->cap; i++) free(s->slot[i]);
    free(s->slot);
}

typedef struct {
    const hilo_strategy_t *st;
    int64_t day;
    long n;
} budget_t;

/* ---- the plan -------------------------------------------------------------------------------- */

typedef struct {
    hilo_cli_t *cli;
    const hilo_strategy_set_t *set;
    hilo_compliance_t *gate;
    hilo_tzdb_t *tzdb;
    int64_t at_ms;
    bool json;
    long limit, shown;
    long debtors, planned, excluded;
    counts_t reasons, channels, strategies;
    budget_t *budgets;
    size_t nbudgets;
    hilo_buf_t out;
    hilo_buf_t resp; /* the next batch's commands */
} plan_t;

static const char *get(const void *rec, const char *field) { return hilo_reply_field(rec, field); }

typedef struct {
    bool in;
    hilo_strategy_excl_t excl;
    char detail[96];
    hilo_strategy_match_t m;
    const hilo_strategy_step_t *step;
    char phone[40];
    int64_t at_ms;
    char local[80];
    char *text;
} item_t;

static bool over_budget(plan_t *p, const hilo_strategy_t *st, int64_t at_ms) {
    long budget = hilo_strategy_daily_budget(st);
    if (budget <= 0) return false;
    int64_t day = at_ms / 86400000;
    for (size_t i = 0; i < p->nbudgets; i++)
        if (p->budgets[i].st == st && p->budgets[i].day == day) return ++p->budgets[i].n > budget;
    p->budgets = hilo_xrealloc(p->budgets, (p->nbudgets + 1) * sizeof *p->budgets);
    p->budgets[p->nbudgets++] = (budget_t){st, day, 1};
    return false;
}

static void schedule(plan_t *p, const hilo_strategy_facts_t *f, const hilo_tz_t *tz, item_t *it, int64_t due) {
    it->at_ms = hilo_strategy_send_time(p->gate, f, tz, it->step, due, &it->excl, it->detail, sizeof it->detail);
    it->in = it->at_ms >= 0;
}

static void plan_debtor(plan_t *p, const char *id, redisReply **r, item_t *it) {
    memset(it, 0, sizeof *it);
    hilo_strategy_facts_t f = {.debtor_id = id, .get = get, .debtor = r[0], .conv = r[1], .consent = r[2],
                               .now_ms = p->at_ms};
    const char *currency = get(r[0], "currency"), *imported = get(r[0], "imported_ms");
    int64_t since = imported ? strtoll(imported, NULL, 10) : 0;
    for (size_t i = 1; r[3]->type == REDIS_REPLY_ARRAY && i < r[3]->elements; i += 2)
        hilo_strategy_ledger_promise(&f.ledger, r[3]->element[i]->str, r[3]->element[i]->len);
    for (size_t i = 1; r[4]->type == REDIS_REPLY_ARRAY && i < r[4]->elements; i += 2)
        hilo_strategy_ledger_payment(&f.ledger, r[4]->element[i]->str, r[4]->element[i]->len, currency, since);
    /* A paused strategy is planned as if started: the plan answers "what would it do". */
    if (!hilo_strategy_match(p->set, p->gate, &f, &it->m) && it->m.excluded != HILO_EXCL_PAUSED) {
        it->excl = it->m.excluded;
        snprintf(it->detail, sizeof it->detail, "%s", it->m.detail);
        return;
    }
    const hilo_strategy_t *st = it->m.strategy;
    const char *zone = get(r[0], "timezone");
    char err[200];
    const hilo_tz_t *tz = zone && *zone ? hilo_tzdb_get(p->tzdb, zone, err, sizeof err) : NULL;
    if (!tz) {
        it->excl = HILO_EXCL_GATE;
        snprintf(it->detail, sizeof it->detail, "unknown_timezone");
        return;
    }
    /* The first step that can be sent: a step whose channel cannot be used is a failed result
     * (docs/strategies.md), so the plan follows on.failed (or waits for nothing and ends). */
    const hilo_strategy_step_t *step = hilo_strategy_first_step(it->m.segment, it->m.variant);
    int64_t due = p->at_ms + hilo_strategy_step_wait_ms(step);
    hilo_strategy_excl_t why = HILO_EXCL_NO_PHONE;
    for (int hops = 0; step && hops < 64; hops++) {
        if (hilo_strategy_channel_usable(st, p->gate, &f, hilo_strategy_step_channel(step), &why, it->phone,
                                         sizeof it->phone))
            break;
        hilo_strategy_next_t nx;
        hilo_strategy_next(it->m.segment, it->m.variant, step, HILO_RESULT_FAILED, due, &nx);
        step = nx.kind == HILO_NEXT_STEP ? nx.step : NULL;
        due = nx.at_ms;
    }
    if (!step) {
        it->excl = why;
        return;
    }
    it->step = step;
    char whyr[200];
    if (hilo_strategy_render(st, step, it->m.variant, &f, &it->text, whyr, sizeof whyr) != HILO_OK) {
        it->excl = HILO_EXCL_RENDER;
        snprintf(it->detail, sizeof it->detail, "%s", whyr);
        return;
    }
    schedule(p, &f, tz, it, due);
    if (it->in && over_budget(p, st, it->at_ms)) {
        it->in = false;
        it->excl = HILO_EXCL_BUDGET;
    }
    if (it->in) {
        hilo_tm_t lt;
        hilo_tz_local(tz, it->at_ms / 1000, &lt);
        snprintf(it->local, sizeof it->local, "%04d-%02d-%02d %02d:%02d %s", lt.year, lt.month, lt.day, lt.hour,
                 lt.minute, zone);
    }
}

static void report(plan_t *p, const char *id, item_t *it) {
    p->debtors++;
    char key[160];
    if (it->in) {
        p->planned++;
        count(&p->channels, hilo_channel_name(hilo_strategy_step_channel(it->step)));
        count(&p->strategies, hilo_strategy_name(it->m.strategy));
    } else {
        p->excluded++;
        bool sub = it->excl == HILO_EXCL_GATE || it->excl == HILO_EXCL_ATTRIBUTE;
        snprintf(key, sizeof key, "%s%s%s", hilo_strategy_excl_name(it->excl), sub ? ":" : "", sub ? it->detail : "");
        count(&p->reasons, key);
    }
    hilo_buf_t *b = &p->out;
    char iso[32];
    if (p->json) {
        hilo_jobj_t o;
        hilo_jobj_begin(&o, b);
        hilo_jobj_str(&o, "debtor", id);
        if (it->m.strategy) {
            hilo_jobj_str(&o, "strategy", hilo_strategy_name(it->m.strategy));
            hilo_jobj_str(&o, "segment", hilo_strategy_segment_name(it->m.segment));
            hilo_jobj_str(&o, "variant", hilo_strategy_variant_name(it->m.strategy, it->m.variant));
        }
        if (it->in) {
            hilo_iso_ms(it->at_ms, iso, sizeof iso);
            hilo_jobj_str(&o, "step", hilo_strategy_step_name(it->step));
            hilo_jobj_str(&o, "channel", hilo_channel_name(hilo_strategy_step_channel(it->step)));
            hilo_jobj_str_opt(&o, "template", hilo_strategy_step_template(it->step));
            hilo_jobj_str(&o, "to", it->phone);
            hilo_jobj_int(&o, "at_ms", it->at_ms);
            hilo_jobj_str(&o, "at", iso);
            hilo_jobj_str(&o, "local", it->local);
            hilo_jobj_str(&o, "text", it->text);
        } else {
            hilo_jobj_str(&o, "excluded", hilo_strategy_excl_name(it->excl));
            hilo_jobj_str_opt(&o, "detail", it->detail);
        }
        hilo_jobj_end(&o);
        hilo_buf_append(b, "\n", 1);
    } else if (p->shown < p->limit) {
        p->shown++;
        if (it->in)
            hilo_buf_printf(b, "%-12s %s/%s/%s  %s  %s %s  %s\n    %s\n", id, hilo_strategy_name(it->m.strategy),
                            hilo_strategy_segment_name(it->m.segment),
                            hilo_strategy_variant_name(it->m.strategy, it->m.variant), hilo_strategy_step_name(it->step),
                            hilo_channel_name(hilo_strategy_step_channel(it->step)), it->phone, it->local, it->text);
        else if (it->m.strategy)
            hilo_buf_printf(b, "%-12s %s/%s/%s  excluded: %s%s%s\n", id, hilo_strategy_name(it->m.strategy),
                            hilo_strategy_segment_name(it->m.segment),
                            hilo_strategy_variant_name(it->m.strategy, it->m.variant), hilo_strategy_excl_name(it->excl),
                            it->detail[0] ? " — " : "", it->detail);
        else
            hilo_buf_printf(b, "%-12s excluded: %s%s%s\n", id, hilo_strategy_excl_name(it->excl), it->detail[0] ? " — " : "",
                            it->detail);
    }
    if (b->len > 1 << 16) {
        fwrite(b->data, 1, b->len, stdout);
        b->len = 0;
    }
    free(it->text);
}

static const char *const parts[PARTS] = {HILO_KEY_DEBTOR, HILO_KEY_CONV, HILO_KEY_CONSENT, HILO_KEY_PROMISES,
                                         HILO_KEY_PAYMENTS};

/* The batch's HGETALLs as one RESP text (see hilo_cli_append_resp). */
static bool send_batch(plan_t *p, char **ids, size_t n) {
    p->resp.len = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < PARTS; k++) {
            char key[HILO_KEY_MAX];
            int len = hilo_key_debtor(key, sizeof key, ids[i], parts[k]);
            hilo_buf_printf(&p->resp, "*2\r\n$7\r\nHGETALL\r\n$%d\r\n%s\r\n", len, key);
        }
    return hilo_cli_append_resp(p->cli, p->resp.data, p->resp.len) && hilo_cli_flush(p->cli);
}

static int take_batch(plan_t *p, char **ids, size_t n) {
    redisReply **r = hilo_cli_recv(p->cli, n * PARTS);
    if (!r) return HILO_EXIT_REDIS;
    int rc = HILO_EXIT_OK;
    for (size_t i = 0; i < n * PARTS && rc == HILO_EXIT_OK; i++)
        if (r[i]->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "hilo: Redis refused HGETALL of debtor %s: %s\n", ids[i / PARTS],
                    r[i]->type == REDIS_REPLY_ERROR ? r[i]->str : "not a hash");
            rc = HILO_EXIT_REDIS;
        }
    for (size_t i = 0; i < n && rc == HILO_EXIT_OK; i++) {
        if (r[i * PARTS]->elements == 0) continue; /* in the set, no record: nothing to plan */
        item_t it;
        plan_debtor(p, ids[i], &r[i * PARTS], &it);
        report(p, ids[i], &it);
    }
    hilo_cli_replies_free(r, n * PARTS);
    return rc;
}

static int cmp_count(const void *a, const void *b) {
    return strcmp(((const count_t *)a)->key, ((const count_t *)b)->key);
}

/* Counts in name order: the scan's order is Redis's, not the operator's. */
static void print_counts(hilo_buf_t *b, const char *title, counts_t *c) {
    if (!c->n) return;
    qsort(c->c, c->n, sizeof *c->c, cmp_count);
    hilo_buf_printf(b, "  %s:", title);
    for (size_t i = 0; i < c->n; i++) hilo_buf_printf(b, "%s %s %ld", i ? "," : "", c->c[i].key, c->c[i].n);
    hilo_buf_printf(b, "\n");
}

static void json_counts(hilo_jobj_t *o, const char *key, counts_t *c) {
    if (c->n) qsort(c->c, c->n, sizeof *c->c, cmp_count);
    hilo_jobj_key(o, key);
    hilo_jobj_t in;
    hilo_jobj_begin(&in, o->b);
    for (size_t i = 0; i < c->n; i++) hilo_jobj_int(&in, c->c[i].key, c->c[i].n);
    hilo_jobj_end(&in);
}

static void summary(plan_t *p, int64_t elapsed_ms) {
    hilo_buf_t *b = &p->out;
    char iso[32];
    hilo_iso_ms(p->at_ms, iso, sizeof iso);
    if (p->json) {
        hilo_jobj_t o, s;
        hilo_jobj_begin(&o, b);
        hilo_jobj_key(&o, "summary");
        hilo_jobj_begin(&s, b);
        hilo_jobj_str(&s, "at", iso);
        hilo_jobj_int(&s, "at_ms", p->at_ms);
        hilo_jobj_int(&s, "debtors", p->debtors);
        hilo_jobj_int(&s, "planned", p->planned);
        hilo_jobj_int(&s, "excluded", p->excluded);
        json_counts(&s, "by_channel", &p->channels);
        json_counts(&s, "by_strategy", &p->strategies);
        json_counts(&s, "by_reason", &p->reasons);
        hilo_jobj_int(&s, "elapsed_ms", elapsed_ms);
        hilo_jobj_end(&s);
        hilo_jobj_end(&o);
        hilo_buf_append(b, "\n", 1);
    } else {
        hilo_buf_printf(b, "plan at %s: %ld debtors, %ld planned, %ld excluded (%.1f s)\n", iso, p->debtors, p->planned,
                        p->excluded, (double)elapsed_ms / 1000);
        print_counts(b, "planned by channel", &p->channels);
        print_counts(b, "planned by strategy", &p->strategies);
        print_counts(b, "excluded", &p->reasons);
    }
    fwrite(b->data ? b->data : "", 1, b->len, stdout);
    b->len = 0;
}

int hilo_strategy_plan(hilo_cli_t *cli, int argc, char **argv) {
    plan_t p = {.cli = cli, .limit = 50, .at_ms = 0};
    static const struct option longopts[] = {
        {"at", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"limit", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    hilo_opts_begin();
    /* '+': the options come before the files (a file "-" is standard input). */
    for (int c; (c = hilo_opts_next("strategy plan", argc, argv, "+", longopts)) != -1;) {
        if (c == 'j') {
            p.json = true;
        } else if (c == 'a') {
            if (hilo_strategy_parse_time(optarg, &p.at_ms) != HILO_OK) {
                fprintf(stderr, "hilo: --at %s: want 2026-11-24T09:00:00Z (or an offset such as -05:00), or Unix ms\n",
                        optarg);
                return HILO_EXIT_USAGE;
            }
        } else if (c == 'n') {
            char *end;
            p.limit = strtol(optarg, &end, 10);
            if (*end || end == optarg || p.limit < 0) {
                fprintf(stderr, "hilo: --limit wants a number >= 0\n");
                return HILO_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "usage: hilo strategy plan [--at TIME] [--json] [--limit N] [FILE.strategy...]\n");
            return HILO_EXIT_USAGE;
        }
    }
    int i = optind;
    if (!p.at_ms) p.at_ms = hilo_now_ms();
    char err[1024];
    const hilo_cli_settings_t *s = hilo_cli_settings(cli);
    hilo_strategy_set_t *set = i < argc ? hilo_cli_load_strategies((const char *const *)argv + i, (size_t)(argc - i), err,
                                                                  sizeof err)
                                        : hilo_strategy_set_load_dir(s->strategies_dir, err, sizeof err);
    if (!set) {
        fprintf(stderr, "%s\n", err);
        return i < argc ? HILO_EXIT_DATA : HILO_EXIT_CONFIG;
    }
    p.set = set;
    p.gate = hilo_compliance_new(s->compliance_dir, NULL, err, sizeof err);
    if (!p.gate) {
        fprintf(stderr, "hilo: compliance rules ([engine] compliance_dir): %s\n", err);
        hilo_strategy_set_destroy(&set);
        return HILO_EXIT_CONFIG;
    }
    p.tzdb = hilo_tzdb_new(NULL);
    /* Every batch frees some 100,000 small reply objects into glibc's fast bins, and the next
     * large buffer (the next batch's commands, the reader's buffer) makes glibc consolidate them
     * all first: measured with perf, that was a third of the plan's CPU time. Without fast bins
     * small chunks are merged as they are freed. (This process runs one command: the setting
     * ends with it.) */
    mallopt(M_MXFAST, 0);
    int64_t t0 = hilo_mono_us();
    int rc = HILO_EXIT_OK;
    /* First every id (SSCAN, deduplicated: a set resized during the scan may return one twice),
     * then the records a batch at a time, the next batch sent before the current one is
     * planned so that Redis reads while the plan computes. */
    idset_t seen = {0};
    char **ids = NULL;
    size_t nids = 0, capids = 0;
    char cursor[32] = "0";
    do {
        redisReply *r = hilo_cli_cmd(cli, "SSCAN %s %s COUNT %d", HILO_KEY_DEBTORS, cursor, BATCH);
        if (!r) {
            rc = HILO_EXIT_REDIS;
            break;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "hilo: unexpected SSCAN reply\n");
            freeReplyObject(r);
            rc = HILO_EXIT_REDIS;
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        redisReply *m = r->element[1];
        for (size_t k = 0; k < m->elements; k++)
            if (m->element[k]->type == REDIS_REPLY_STRING && hilo_debtor_id_valid(m->element[k]->str) &&
                idset_add(&seen, m->element[k]->str)) {
                if (nids == capids) ids = hilo_xrealloc(ids, (capids = capids ? capids * 2 : 4096) * sizeof *ids);
                ids[nids++] = hilo_xstrdup(m->element[k]->str);
            }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    idset_free(&seen);
    if (rc == HILO_EXIT_OK && nids && !send_batch(&p, ids, nids < BATCH ? nids : BATCH)) rc = HILO_EXIT_REDIS;
    for (size_t at = 0; rc == HILO_EXIT_OK && at < nids; at += BATCH) {
        size_t n = nids - at < BATCH ? nids - at : BATCH, next = at + n;
        if (next < nids && !send_batch(&p, ids + next, nids - next < BATCH ? nids - next : BATCH)) {
            rc = HILO_EXIT_REDIS;
            break;
        }
        rc = take_batch(&p, ids + at, n);
    }
    if (rc == HILO_EXIT_OK) summary(&p, (hilo_mono_us() - t0) / 1000);
    else if (p.out.len) fwrite(p.out.data, 1, p.out.len, stdout);
    for (size_t k = 0; k < nids; k++) free(ids[k]);
    free(ids);
    hilo_buf_free(&p.out);
    hilo_buf_free(&p.resp);
    free(p.reasons.c);
    free(p.channels.c);
    free(p.strategies.c);
    free(p.budgets);
    hilo_tzdb_destroy(&p.tzdb);
    hilo_compliance_destroy(&p.gate);
    hilo_strategy_set_destroy(&set);
    return rc;
}
