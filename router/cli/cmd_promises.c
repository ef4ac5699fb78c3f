/* cmd_promises.c — `hilo promises [--json] <debtor-id | phone>`: the debtor's promise ledger
 * (docs/promises.md), oldest first, each payment plan followed by its instalments:
 *
 *   p1795536000000-2b74bb46   promise      200.00 USD  due 2026-11-30  kept (BANK-0001)
 *   p1795536900000-1a2b3c4d   plan         3 x 333.34 USD = 1000.00 USD  pending (1 of 3 kept)
 *     .1                      instalment   333.34 USD  due 2026-12-01  kept (ACH-1)
 *
 * With --json, one stored entry per line with "id" added. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "options.h"
#include "text.h"

typedef struct {
    const char *id;
    const char *order; /* the plan's id for a plan and its instalments, else the id */
    long instalment;   /* 0: not an instalment */
    json_t *j;         /* NULL: the stored value is not a JSON object */
} entry_t;

static int by_order(const void *a, const void *b) {
    const entry_t *x = a, *y = b;
    int c = strcmp(x->order, y->order);
    if (c) return c;
    return (x->instalment > y->instalment) - (x->instalment < y->instalment);
}

static const char *str(json_t *j, const char *k) {
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

static long long num(json_t *j, const char *k) { return (long long)json_integer_value(json_object_get(j, k)); }

static void money(char *out, size_t n, long long cents, const char *currency) {
    snprintf(out, n, "%s%lld.%02lld %s", cents < 0 ? "-" : "", llabs(cents) / 100, llabs(cents) % 100, currency);
}

static void print_entry(const entry_t *e) {
    char *id = hilo_text_printable(e->id, strlen(e->id), 0);
    if (!e->j) {
        printf("%-25s (unreadable entry)\n", id);
        free(id);
        return;
    }
    json_t *j = e->j;
    char amount[64], what[160] = "", state[160];
    money(amount, sizeof amount, num(j, "amount_cents"), str(j, "currency"));
    const char *kind = str(j, "kind");
    if (strcmp(kind, "plan") == 0) {
        char total[64];
        money(total, sizeof total, num(j, "total_cents"), str(j, "currency"));
        snprintf(what, sizeof what, "plan         %lld x %s = %s", num(j, "instalments"), amount, total);
        snprintf(state, sizeof state, "%s (%lld of %lld kept)", str(j, "state"), num(j, "kept_instalments"),
                 num(j, "instalments"));
    } else {
        snprintf(what, sizeof what, "%-12s %s  due %s", e->instalment ? "instalment" : "promise", amount, str(j, "due"));
        snprintf(state, sizeof state, "%s", str(j, "state"));
        json_t *pays = json_object_get(j, "payments");
        if (json_array_size(pays)) {
            size_t used = strlen(state), i;
            json_t *p;
            json_array_foreach(pays, i, p) {
                used += (size_t)snprintf(state + used, used < sizeof state ? sizeof state - used : 0, "%s%s",
                                         i ? ", " : " (", json_string_value(p) ? json_string_value(p) : "?");
                if (used >= sizeof state) break;
            }
            if (used + 2 <= sizeof state) strcat(state, ")");
        }
    }
    const char *dot = e->instalment ? strrchr(id, '.') : NULL;
    char label[64];
    snprintf(label, sizeof label, "%s%s", dot ? "  " : "", dot ? dot : id);
    char *pw = hilo_text_printable(what, strlen(what), 0), *ps = hilo_text_printable(state, strlen(state), 0);
    printf("%-25s %s  %s\n", label, pw, ps);
    free(pw);
    free(ps);
    free(id);
}

int hilo_cmd_promises(hilo_cli_t *cli, int argc, char **argv) {
    bool as_json = false;
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    bool bad = false;
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next("promises", argc, argv, "", longopts)) != -1;) {
        if (c == 'j') as_json = true;
        else bad = true;
    }
    const char *who = optind == argc - 1 ? argv[optind] : NULL;
    if (!who || bad) {
        fprintf(stderr, "usage: hilo promises [--json] <debtor-id | phone>\n");
        return HILO_EXIT_USAGE;
    }
    char id[HILO_KEY_MAX], key[HILO_KEY_MAX];
    int rc = hilo_cli_resolve(cli, who, id, sizeof id);
    if (rc != HILO_EXIT_OK) return rc;
    hilo_key_debtor(key, sizeof key, id, HILO_KEY_PROMISES);
    redisReply *r = hilo_cli_cmd(cli, "HGETALL %s", key);
    if (!r) return HILO_EXIT_REDIS;
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements / 2 : 0;
    entry_t *es = hilo_xcalloc(n ? n : 1, sizeof *es);
    for (size_t i = 0; i < n; i++) {
        entry_t *e = &es[i];
        e->id = r->element[2 * i]->str;
        const redisReply *v = r->element[2 * i + 1];
        e->j = v->type == REDIS_REPLY_STRING ? json_loadb(v->str, v->len, 0, NULL) : NULL;
        if (e->j && !json_is_object(e->j)) {
            json_decref(e->j);
            e->j = NULL;
        }
        const char *plan = e->j ? json_string_value(json_object_get(e->j, "plan")) : NULL;
        e->order = plan ? plan : e->id;
        e->instalment = plan ? (long)num(e->j, "instalment") : 0;
    }
    qsort(es, n, sizeof *es, by_order);
    if (!as_json && n == 0) printf("%s has no promises to pay\n", id);
    for (size_t i = 0; i < n; i++) {
        if (as_json) {
            json_t *o = es[i].j ? json_deep_copy(es[i].j) : json_pack("{s:s}", "error", "unreadable entry");
            json_object_set_new(o, "id", json_string(es[i].id));
            char *s = json_dumps(o, JSON_COMPACT);
            puts(s);
            free(s);
            json_decref(o);
        } else {
            print_entry(&es[i]);
        }
        json_decref(es[i].j);
    }
    free(es);
    freeReplyObject(r);
    return HILO_EXIT_OK;
}
