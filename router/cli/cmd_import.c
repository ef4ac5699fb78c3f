/* cmd_import.c — `hilo import-debtors FILE.csv`: reads the portfolio CSV, validates each row
 * (debtor_schema.c) and writes each good one: the phone -> debtor identity map, then the debtor
 * hash and the consent columns' records in one transaction on the debtor's slot, then the debtors
 * set, the name index (the console's search) and the strategies' schedule (each step on one hash
 * slot: docs/architecture.md, "Keys on a Redis Cluster"). A bad row is
 * reported as FILE:LINE and skipped; so is a phone that is not a valid number of the row's
 * country, and the row loads without it. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "options.h"
#include "migrate.h"
#include "csv.h"
#include "debtor_schema.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/name_index.h"
#include "hilo/strategy.h" /* HILO_KEY_CONSENT */
#include "hilo/tz.h"

#define STORE_ATTEMPTS 5 /* optimistic retries when a watched key changes under us */

typedef enum { STORED, CONFLICT, BUSY, FAILED } store_result_t;

static bool in_list(char **list, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return true;
    return false;
}

static void add_addr(hilo_cli_args_t *a, const char *phone) {
    char key[HILO_KEY_MAX];
    hilo_key_addr(key, sizeof key, phone);
    hilo_cli_args_add(a, key);
}

/* An error reply where none may be: prints it, returns true. */
static bool refused(const redisReply *r, const char *id) {
    if (r->type != REDIS_REPLY_ERROR) return false;
    fprintf(stderr, "hilo: Redis refused part of debtor %s's import: %s\n", id, r->str);
    return true;
}

/* ---- consent columns ----------------------------------------------------------------------
 * consent_<channel> (sms, whatsapp): YYYY-MM-DD = granted that day, yes = granted (now), no =
 * revoked (now), empty = unchanged; consent_source: where it was given ("web form"), default
 * none. They set hilo:{d:ID}:consent "<channel>:<phone>" = "granted|<ms>|import[:<source>]" for
 * every phone of the row (docs/strategies.md, "Consent"); the columns are also kept as
 * attributes like any other. A record the import did not write (a STOP in a conversation, an
 * agent) is never overwritten by an import: the debtor's own word is newer than the file. */
static const char *const consent_channels[] = {"sms", "whatsapp"};

static const char *row_value(const hilo_debtor_row_t *row, const char *field) {
    for (size_t i = 0; i < row->nset; i++)
        if (strcmp(row->set_field[i], field) == 0) return row->set_value[i];
    return NULL;
}

/* The consent value of one column as "<state>|<ms>|<source>" into out; false with why when bad. */
static bool consent_value(const hilo_debtor_row_t *row, const char *ch, int64_t now, char *out, size_t n, char *why,
                          size_t whylen) {
    char col[48];
    snprintf(col, sizeof col, "attr:consent_%s", ch);
    const char *v = row_value(row, col), *src = row_value(row, "attr:consent_source");
    out[0] = '\0';
    if (!v || !*v) return true;
    char source[160];
    snprintf(source, sizeof source, "import%s%.120s", src && *src ? ":" : "", src && *src ? src : "");
    for (char *p = source; *p; p++)
        if (*p == '|' || (unsigned char)*p < 0x20) *p = ' ';
    int y, m, d, k = 0;
    if (strcmp(v, "yes") == 0) {
        snprintf(out, n, "granted|%" PRId64 "|%s", now, source);
    } else if (strcmp(v, "no") == 0) {
        snprintf(out, n, "revoked|%" PRId64 "|%s", now, source);
    } else if (sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &k) == 3 && k == 10 && !v[10] && y >= 1970 &&
               hilo_date_valid(y, m, d)) {
        snprintf(out, n, "granted|%" PRId64 "|%s", (int64_t)(hilo_days_from_civil(y, m, d) * 86400000LL), source);
    } else {
        snprintf(why, whylen, "consent_%s: want YYYY-MM-DD (granted that day), yes, no or empty, got '%.40s'", ch, v);
        return false;
    }
    return true;
}

/* The phones of the previous import (hash field `phones`) that this row no longer has. */
static size_t dropped_phones(const hilo_debtor_row_t *row, const redisReply *prev, char ***out) {
    size_t n = 0;
    *out = NULL;
    if (prev->type != REDIS_REPLY_STRING) return 0;
    char *copy = hilo_xstrdup(prev->str), *save = NULL;
    for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save))
        if (!in_list(row->phones, row->nphones, t) && !in_list(*out, n, t)) {
            *out = hilo_xrealloc(*out, (n + 1) * sizeof **out);
            (*out)[n++] = hilo_xstrdup(t);
        }
    free(copy);
    return n;
}

/* KEYS[1] hilo:addr:<E.164>, ARGV[1] the row's debtor: maps the phone to the debtor unless it
 * names another. 2 = mapped now, 1 = it named the debtor already, else the other debtor's id. */
static const char addr_claim[] =
    "local o = redis.call('GET', KEYS[1]) "
    "if not o then redis.call('SET', KEYS[1], ARGV[1]) return 2 end "
    "if o == ARGV[1] then return 1 end return o";

/* One command per phone on its identity key (each key its own slot), in one round trip: EVAL of
 * `body` with ARGV[1] = id, or GET when body is NULL. NULL when Redis failed (printed). */
static redisReply **addr_evals(hilo_cli_t *cli, const char *body, char **phones, size_t n, const char *id) {
    hilo_cli_args_t *cmd = hilo_xcalloc(n, sizeof *cmd);
    for (size_t i = 0; i < n; i++) {
        hilo_cli_args_add(&cmd[i], body ? "EVAL" : "GET");
        if (body) hilo_cli_args_add(&cmd[i], body);
        if (body) hilo_cli_args_add(&cmd[i], "1");
        add_addr(&cmd[i], phones[i]);
        if (body) hilo_cli_args_add(&cmd[i], id);
    }
    redisReply **rep = hilo_cli_pipeline(cli, cmd, n);
    for (size_t i = 0; i < n; i++) hilo_cli_args_clear(&cmd[i]);
    free(cmd);
    return rep;
}

/* A conflict found while the record is watched: UNWATCH, then `result` (FAILED when Redis failed). */
static store_result_t unwatch(hilo_cli_t *cli, store_result_t result) {
    redisReply *u = hilo_cli_cmd(cli, "UNWATCH");
    if (!u) return FAILED;
    freeReplyObject(u);
    return result;
}

/* One attempt at writing a row. Each step is atomic on one hash slot, and they are ordered so
 * that a crash between two leaves nothing a second import of the file does not finish:
 *   1. WATCH the record and consent (the debtor's slot), read the previous import's phones and
 *      who owns the row's phones (one GET per identity key: each its own slot);
 *   2. a phone of another debtor refuses the row here, before anything is written;
 *   3. unmap the dropped phones that still name this debtor (compare-and-delete), then map the
 *      row's phones (compare-and-set: a phone another import took meanwhile refuses the row, and
 *      what this attempt mapped is unmapped again); while the record still lists a dropped phone,
 *      a crash here is finished by the next import, which drops it again;
 *   4. MULTI on the debtor's slot: record + consent, EXEC (nil: the record changed since step 1,
 *      BUSY, and the caller tries again); then the debtors set and the strategy index, each on
 *      its own slot.
 * A crash between 3 and 4 leaves the row's new phones naming a debtor whose record does not list
 * them yet (a message from one is then the debtor's): the import exits non-zero and its re-run
 * writes the record. `why` gets the reason of a CONFLICT. */
static store_result_t store_once(hilo_cli_t *cli, const hilo_debtor_row_t *row, char *why, size_t whylen) {
    char dkey[HILO_KEY_MAX], ckey[HILO_KEY_MAX];
    hilo_key_debtor(dkey, sizeof dkey, row->id, HILO_KEY_DEBTOR);
    hilo_key_debtor(ckey, sizeof ckey, row->id, HILO_KEY_CONSENT);
    store_result_t result = FAILED;
    int64_t now_ms = hilo_now_ms();
    char consent[HILO_ARRAY_LEN(consent_channels)][200];
    redisReply *prev_consent = NULL; /* the consent hash as it was, under WATCH */
    hilo_name_words_t old_words = {0}, new_words; /* the name's words before and after */
    char **old = NULL;        /* phones of the previous import that this row drops */
    size_t nold = 0;
    hilo_cli_args_t cmd[12] = {{0}};
    redisReply **rep = NULL;
    size_t n = 0;

    /* 1 */
    for (size_t c = 0; c < HILO_ARRAY_LEN(consent_channels); c++)
        if (!consent_value(row, consent_channels[c], now_ms, consent[c], sizeof consent[c], why, whylen))
            return CONFLICT; /* checked before: not reached */
    /* WATCH, the record's phones, the consent, one GET per phone of the row (each its slot), then
     * the record's name (for the name index) */
    size_t n1 = 4 + row->nphones;
    hilo_cli_args_t *c1 = hilo_xcalloc(n1, sizeof *c1);
    hilo_cli_args_add(&c1[0], "WATCH");
    hilo_cli_args_add(&c1[0], dkey);
    hilo_cli_args_add(&c1[0], ckey);
    hilo_cli_args_add(&c1[1], "HGET");
    hilo_cli_args_add(&c1[1], dkey);
    hilo_cli_args_add(&c1[1], "phones");
    hilo_cli_args_add(&c1[2], "HGETALL");
    hilo_cli_args_add(&c1[2], ckey);
    for (size_t i = 0; i < row->nphones; i++) {
        hilo_cli_args_add(&c1[3 + i], "GET");
        add_addr(&c1[3 + i], row->phones[i]);
    }
    hilo_cli_args_add(&c1[n1 - 1], "HGET");
    hilo_cli_args_add(&c1[n1 - 1], dkey);
    hilo_cli_args_add(&c1[n1 - 1], "full_name");
    rep = hilo_cli_pipeline(cli, c1, n = n1);
    for (size_t i = 0; i < n1; i++) hilo_cli_args_clear(&c1[i]);
    free(c1);
    if (!rep) goto out;
    for (size_t i = 0; i < n; i++)
        if (refused(rep[i], row->id)) goto out;
    if (rep[n1 - 1]->type == REDIS_REPLY_STRING) hilo_name_words(rep[n1 - 1]->str, &old_words);
    nold = dropped_phones(row, rep[1], &old);
    prev_consent = rep[2];
    rep[2] = NULL;

    /* 2 */
    for (size_t i = 0; i < row->nphones; i++) {
        const redisReply *e = rep[3 + i];
        if (e->type == REDIS_REPLY_STRING && strcmp(e->str, row->id) != 0) {
            snprintf(why, whylen, "phone %s already belongs to debtor %s", row->phones[i], e->str);
            result = unwatch(cli, CONFLICT);
            goto out;
        }
    }
    hilo_cli_replies_free(rep, n);
    rep = NULL;

    /* 3 */
    if (nold) { /* the compare-and-delete leaves a phone that names another debtor by now */
        if (!(rep = addr_evals(cli, hilo_migrate_addr_unmap, old, n = nold, row->id))) goto out;
        for (size_t i = 0; i < nold; i++)
            if (refused(rep[i], row->id)) goto out;
        hilo_cli_replies_free(rep, n);
        rep = NULL;
    }
    if (row->nphones) {
        if (!(rep = addr_evals(cli, addr_claim, row->phones, n = row->nphones, row->id))) goto out;
        for (size_t i = 0; i < n; i++)
            if (refused(rep[i], row->id)) goto out;
        char **mapped = hilo_xcalloc(n, sizeof *mapped); /* what this attempt mapped: undone on a conflict */
        size_t nmapped = 0;
        const char *taken = NULL;
        for (size_t i = 0; i < n; i++) {
            if (rep[i]->type == REDIS_REPLY_INTEGER && rep[i]->integer == 2) mapped[nmapped++] = row->phones[i];
            if (rep[i]->type == REDIS_REPLY_STRING && !taken) {
                taken = rep[i]->str;
                snprintf(why, whylen, "phone %s already belongs to debtor %s", row->phones[i], taken);
            }
        }
        redisReply **undo = taken && nmapped ? addr_evals(cli, hilo_migrate_addr_unmap, mapped, nmapped, row->id) : NULL;
        bool undone = !(taken && nmapped) || undo;
        hilo_cli_replies_free(undo, nmapped);
        free(mapped);
        if (taken) {
            result = undone ? unwatch(cli, CONFLICT) : FAILED;
            goto out;
        }
        hilo_cli_replies_free(rep, n);
        rep = NULL;
    }

    /* 4 */
    n = 0;
    hilo_cli_args_add(&cmd[n++], "MULTI");
    hilo_cli_args_add(&cmd[n], "HSET");
    hilo_cli_args_add(&cmd[n], dkey);
    for (size_t i = 0; i < row->nset; i++) {
        hilo_cli_args_add(&cmd[n], row->set_field[i]);
        hilo_cli_args_add(&cmd[n], row->set_value[i]);
    }
    char now[32];
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    hilo_cli_args_add(&cmd[n], "imported_ms");
    hilo_cli_args_add(&cmd[n++], now);
    if (row->nclear) { /* a column emptied since the last import is emptied here too */
        hilo_cli_args_add(&cmd[n], "HDEL");
        hilo_cli_args_add(&cmd[n], dkey);
        for (size_t i = 0; i < row->nclear; i++) hilo_cli_args_add(&cmd[n], row->clear_field[i]);
        n++;
    }
    bool any_consent = false;
    for (size_t c = 0; c < HILO_ARRAY_LEN(consent_channels); c++)
        for (size_t i = 0; consent[c][0] && i < row->nphones; i++) {
            char field[128];
            snprintf(field, sizeof field, "%s:%s", consent_channels[c], row->phones[i]);
            const char *was = hilo_reply_field(prev_consent, field);
            const char *src = was ? strchr(strchr(was, '|') ? strchr(was, '|') + 1 : was, '|') : NULL;
            if (was && !(src && strncmp(src + 1, "import", 6) == 0)) continue; /* not the file's to change */
            if (!any_consent) {
                hilo_cli_args_add(&cmd[n], "HSET");
                hilo_cli_args_add(&cmd[n], ckey);
                any_consent = true;
            }
            hilo_cli_args_add(&cmd[n], field);
            hilo_cli_args_add(&cmd[n], consent[c]);
        }
    if (any_consent) n++;
    size_t exec_at = n;
    hilo_cli_args_add(&cmd[n++], "EXEC");
    /* The debtors set after the record, on its own slot (a crash in between: the re-run adds it). */
    hilo_cli_args_add(&cmd[n], "SADD");
    hilo_cli_args_add(&cmd[n], HILO_KEY_DEBTORS);
    hilo_cli_args_add(&cmd[n++], row->id);
    /* The name index (hilo/name_index.h): a step of its own on the index's partition, after the
     * record. New words first, then the words the old name had and the new one has not, so the
     * debtor is findable all along. A crash before this step leaves the record ahead of the
     * index: the console's search checks every hit against the record (a stale word finds
     * nothing), and the next import of the row writes the missing words. */
    hilo_name_words(row_value(row, "full_name"), &new_words);
    char names[HILO_KEY_MAX], member[HILO_NAME_WORD_MAX + HILO_DEBTOR_ID_MAX + 2];
    hilo_key_names(names, sizeof names, hilo_name_partition(row->id));
    if (new_words.n) {
        hilo_cli_args_add(&cmd[n], "ZADD");
        hilo_cli_args_add(&cmd[n], names);
        for (int i = 0; i < new_words.n; i++) {
            hilo_name_member(member, sizeof member, new_words.w[i], row->id);
            hilo_cli_args_add(&cmd[n], "0");
            hilo_cli_args_add(&cmd[n], member);
        }
        n++;
    }
    bool any_gone = false;
    for (int i = 0; i < old_words.n; i++) {
        bool kept = false;
        for (int j = 0; j < new_words.n && !kept; j++) kept = strcmp(old_words.w[i], new_words.w[j]) == 0;
        if (kept) continue;
        if (!any_gone) {
            hilo_cli_args_add(&cmd[n], "ZREM");
            hilo_cli_args_add(&cmd[n], names);
            any_gone = true;
        }
        hilo_name_member(member, sizeof member, old_words.w[i], row->id);
        hilo_cli_args_add(&cmd[n], member);
    }
    if (any_gone) n++;
    /* The strategy runners look at the debtor again (router/src/strategy_run.c): its segment may
     * have changed. A step of its own on the index's partition, after the record (a crash in
     * between leaves the debtor for `hilo strategy start`, which enrolls everyone). */
    char sched[HILO_KEY_MAX];
    hilo_key_sched(sched, sizeof sched, hilo_outbox_partition(row->id));
    hilo_cli_args_add(&cmd[n], "ZADD");
    hilo_cli_args_add(&cmd[n], sched);
    hilo_cli_args_add(&cmd[n], "0");
    hilo_cli_args_add(&cmd[n++], row->id);
    if (!(rep = hilo_cli_pipeline(cli, cmd, n))) goto out;
    const redisReply *exec = rep[exec_at];
    if (exec->type == REDIS_REPLY_NIL) {
        result = BUSY;
        goto out;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) ok = !refused(rep[i], row->id); /* queued, EXEC, the indexes */
    for (size_t i = 0; ok && exec->type == REDIS_REPLY_ARRAY && i < exec->elements; i++)
        ok = !refused(exec->element[i], row->id);
    result = ok ? STORED : FAILED;
out:
    if (prev_consent) freeReplyObject(prev_consent);
    hilo_cli_replies_free(rep, n);
    for (size_t i = 0; i < HILO_ARRAY_LEN(cmd); i++) hilo_cli_args_clear(&cmd[i]);
    for (size_t i = 0; i < nold; i++) free(old[i]);
    free(old);
    return result;
}

static int import_file(hilo_cli_t *cli, const char *path, FILE *f) {
    hilo_csv_t *csv = hilo_csv_new(f);
    hilo_debtor_schema_t *schema = NULL;
    int rc = HILO_EXIT_DATA;
    long imported = 0, rejected = 0;
    const char **fields = NULL;
    size_t *lens = NULL;

    int got = hilo_csv_next(csv);
    if (got == HILO_CSV_END) {
        fprintf(stderr, "%s:1: empty file: a header row is required\n", path);
        goto done;
    }
    if (got != HILO_CSV_RECORD) {
        fprintf(stderr, "%s:%ld: bad header: %s\n", path, got == HILO_ERR ? 1L : hilo_csv_line(csv),
                hilo_csv_error(csv));
        goto done;
    }
    size_t n = hilo_csv_count(csv);
    fields = hilo_xcalloc(n, sizeof *fields);
    lens = hilo_xcalloc(n, sizeof *lens);
    for (size_t i = 0; i < n; i++) fields[i] = hilo_csv_field(csv, i, &lens[i]);
    char err[256];
    schema = hilo_debtor_schema_new(fields, lens, n, hilo_cli_settings(cli)->default_cc, NULL, err, sizeof err);
    if (!schema) {
        fprintf(stderr, "%s:%ld: bad header: %s\n", path, hilo_csv_line(csv), err);
        goto done;
    }
    if ((rc = hilo_migrate_stamp_fresh(cli, "import-debtors")) != HILO_EXIT_OK) goto done; /* hilo/schema.h */
    rc = HILO_EXIT_DATA;

    size_t cap = n;
    while ((got = hilo_csv_next(csv)) != HILO_CSV_END) {
        long line = hilo_csv_line(csv);
        if (got == HILO_ERR) {
            fprintf(stderr, "%s: %s: %s\n", path, hilo_csv_error(csv), strerror(errno));
            goto done;
        }
        if (got == HILO_CSV_BAD) { /* the record could not be cut into fields: no debtor id */
            fprintf(stderr, "%s:%ld: %s\n", path, line, hilo_csv_error(csv));
            rejected++;
            continue;
        }
        n = hilo_csv_count(csv);
        if (n > cap) {
            cap = n;
            fields = hilo_xrealloc(fields, cap * sizeof *fields);
            lens = hilo_xrealloc(lens, cap * sizeof *lens);
        }
        for (size_t i = 0; i < n; i++) fields[i] = hilo_csv_field(csv, i, &lens[i]);
        hilo_debtor_row_t *row = hilo_debtor_schema_row(schema, fields, lens, n);
        if (!row) {
            fprintf(stderr, "%s:%ld: debtor %s: %s\n", path, line, hilo_debtor_schema_error_id(schema),
                    hilo_debtor_schema_error(schema));
            rejected++;
            continue;
        }
        /* A phone that is not a valid number is reported and left out; the row's others load. */
        for (size_t i = 0; i < row->nbad; i++)
            fprintf(stderr, "%s:%ld: debtor %s: %s\n", path, line, row->id, row->bad[i]);
        char why[256] = "", cv[200];
        bool consent_ok = true;
        for (size_t c = 0; c < HILO_ARRAY_LEN(consent_channels) && consent_ok; c++)
            consent_ok = consent_value(row, consent_channels[c], 0, cv, sizeof cv, why, sizeof why);
        if (!consent_ok) {
            fprintf(stderr, "%s:%ld: debtor %s: %s\n", path, line, row->id, why);
            rejected++;
            hilo_debtor_row_destroy(&row);
            continue;
        }
        store_result_t res = BUSY;
        for (int attempt = 0; attempt < STORE_ATTEMPTS && res == BUSY; attempt++)
            res = store_once(cli, row, why, sizeof why);
        if (res == STORED) {
            imported++;
        } else if (res == FAILED) {
            hilo_debtor_row_destroy(&row);
            rc = HILO_EXIT_REDIS;
            goto done;
        } else {
            fprintf(stderr, "%s:%ld: debtor %s: %s\n", path, line, row->id,
                    res == CONFLICT ? why : "changed by someone else during the import, try again");
            rejected++;
        }
        hilo_debtor_row_destroy(&row);
    }
    rc = HILO_EXIT_OK;
done:
    /* The summary whenever rows were looked at, also when Redis failed half-way: the operator
     * needs to know how much went in before re-running the (idempotent) import. */
    if (schema && (rc != HILO_EXIT_REDIS || imported || rejected))
        printf("imported %ld, rejected %ld\n", imported, rejected);
    free(fields);
    free(lens);
    hilo_debtor_schema_destroy(&schema);
    hilo_csv_destroy(&csv);
    return rc;
}

int hilo_cmd_import_debtors(hilo_cli_t *cli, int argc, char **argv) {
    hilo_opts_begin();
    if (hilo_opts_next("import-debtors", argc, argv, "", NULL) != -1 || optind != argc - 1) {
        fprintf(stderr, "usage: hilo import-debtors FILE.csv   (- is standard input)\n");
        return HILO_EXIT_USAGE;
    }
    const char *path = argv[optind];
    FILE *f = hilo_cli_open_input(path);
    if (!f) return HILO_EXIT_DATA;
    int rc = import_file(cli, hilo_cli_input_name(path), f);
    fclose(f);
    return rc;
}
