/* migrate_addresses.c — the schema step 1 -> 2 of `hilo migrate` (cmd_migrate.c; alone, the old
 * `hilo migrate-addresses`): rewrites the identity keys (hilo:addr:<E.164> -> debtor id) and the
 * debtors' `phones` fields written under an older phone normalisation into today's canonical
 * form (proto/src/phone.c), e.g. the hand rules' Mexican "+5215512345678" into libphonenumber's
 * "+525512345678". docs/operations.md, "Upgrading", tells when it runs.
 *
 * Each change is its own small step, atomic on one key (one hash slot), ordered so that a crash
 * between two steps leaves nothing a second run does not finish:
 *   1. SET hilo:addr:<new> <debtor> NX      (the new key first: lookups find either form)
 *   2. delete hilo:addr:<old> if it still names <debtor>  (a compare-and-delete script)
 *   3. the debtor's `phones` field rewritten if it still holds what was read (compare-and-set)
 * A new key that already names another debtor is a conflict: both keys are left as they are and
 * reported, and the command exits 1. Running it again after it finished changes nothing: every
 * key and field is then canonical. --dry-run reads only, and prints what it would change. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/phone.h"

/* KEYS[1] addr key; ARGV[1] the debtor it must still name (migrate.h). */
const char hilo_migrate_addr_unmap[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/* KEYS[1] debtor hash; ARGV[1] the phones field read, ARGV[2] its canonical form. */
static const char cas_phones[] = "if redis.call('HGET', KEYS[1], 'phones') == ARGV[1] then "
                                 "redis.call('HSET', KEYS[1], 'phones', ARGV[2]) return 1 end return 0";

typedef struct {
    bool dry;
    long checked, moved, dropped, conflicts, unparsed; /* identity keys */
    long records, rewritten, raced;                    /* debtor records */
} tally_t;

/* Runs a compare-and-* script; 1 = done, 0 = the value changed meanwhile, -1 = Redis failed. */
static int run_cas(hilo_cli_t *cli, const char *body, const char *key, const char *a1, const char *a2) {
    char sha[41];
    if (!hilo_cli_script_load(cli, body, sha)) return -1;
    const char *argv[6] = {"EVALSHA", sha, "1", key, a1, a2};
    size_t lens[6];
    int argc = a2 ? 6 : 5;
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    redisReply *r = hilo_cli_evalsha(cli, body, argc, argv, lens);
    if (!r) return -1;
    int done = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return done;
}

/* One identity key. HILO_EXIT_OK or HILO_EXIT_REDIS. */
static int migrate_key(hilo_cli_t *cli, const char *key, tally_t *t) {
    const char *old = key + strlen(HILO_KEY_ADDR_PREFIX);
    char canon[HILO_PHONE_MAX];
    const char *why = NULL;
    t->checked++;
    if (hilo_phone_normalize(old, hilo_cli_settings(cli)->default_cc, canon, sizeof canon, &why) != HILO_OK) {
        fprintf(stderr, "hilo: kept %s: not a phone number today (%s)\n", key, why);
        t->unparsed++;
        return HILO_EXIT_OK;
    }
    if (strcmp(canon, old) == 0) return HILO_EXIT_OK;
    char nkey[HILO_KEY_MAX];
    hilo_key_addr(nkey, sizeof nkey, canon);
    /* Two GETs, not one MGET: the two keys are in two hash slots (a cluster refuses the MGET). */
    hilo_cli_args_t get[2] = {{0}};
    hilo_cli_args_add(&get[0], "GET");
    hilo_cli_args_add(&get[0], key);
    hilo_cli_args_add(&get[1], "GET");
    hilo_cli_args_add(&get[1], nkey);
    redisReply **got = hilo_cli_pipeline(cli, get, 2);
    hilo_cli_args_clear(&get[0]);
    hilo_cli_args_clear(&get[1]);
    if (!got) return HILO_EXIT_REDIS;
    if (got[0]->type != REDIS_REPLY_STRING) {
        hilo_cli_replies_free(got, 2); /* gone (or not a string) since the scan: nothing to move */
        return HILO_EXIT_OK;
    }
    char debtor[HILO_DEBTOR_ID_MAX + 32], other[HILO_DEBTOR_ID_MAX + 32] = "";
    snprintf(debtor, sizeof debtor, "%s", got[0]->str);
    if (got[1]->type == REDIS_REPLY_STRING) snprintf(other, sizeof other, "%s", got[1]->str);
    hilo_cli_replies_free(got, 2);
    redisReply *r;
    if (*other && strcmp(other, debtor) != 0) {
        fprintf(stderr, "hilo: conflict: %s names debtor %s but %s names debtor %s: both left as they are\n", key,
                debtor, nkey, other);
        t->conflicts++;
        return HILO_EXIT_OK;
    }
    const char *verb = *other ? "drop" : "move";
    if (t->dry) {
        printf("would %s %s -> %s (debtor %s)\n", verb, key, nkey, debtor);
    } else {
        if (!*other) {
            r = hilo_cli_cmd(cli, "SET %s %s NX", nkey, debtor);
            if (!r) return HILO_EXIT_REDIS;
            bool set = r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            if (!set) { /* written by someone else since the read: judge again next run */
                fprintf(stderr, "hilo: %s changed during the migration: run it again\n", nkey);
                t->conflicts++;
                return HILO_EXIT_OK;
            }
        }
        int done = run_cas(cli, hilo_migrate_addr_unmap, key, debtor, NULL);
        if (done < 0) return HILO_EXIT_REDIS;
        printf("%s %s -> %s (debtor %s)\n", *other ? "dropped" : "moved", key, nkey, debtor);
    }
    if (*other)
        t->dropped++;
    else
        t->moved++;
    return HILO_EXIT_OK;
}

/* The canonical form of a `phones` field ("a;b"), duplicates removed; unparseable entries are
 * kept as they are (the import reports them when the row comes again). */
static char *canonical_phones(const char *phones, const char *default_cc) {
    char *copy = hilo_xstrdup(phones), *save = NULL;
    size_t cap = strlen(phones) * 2 + 2, len = 0;
    char *out = hilo_xcalloc(1, cap);
    for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        char canon[HILO_PHONE_MAX];
        const char *why, *use = tok;
        if (hilo_phone_normalize(tok, default_cc, canon, sizeof canon, &why) == HILO_OK) use = canon;
        /* Already there? Compare whole entries. */
        bool dup = false;
        for (const char *p = out; *p && !dup;) {
            size_t n = strcspn(p, ";");
            dup = n == strlen(use) && strncmp(p, use, n) == 0;
            p += n + (p[n] == ';');
        }
        if (dup) continue;
        size_t need = len + strlen(use) + 2;
        if (need > cap) out = hilo_xrealloc(out, cap = need * 2);
        len += (size_t)sprintf(out + len, "%s%s", len ? ";" : "", use);
    }
    free(copy);
    return out;
}

/* One debtor record's `phones`. HILO_EXIT_OK or HILO_EXIT_REDIS. */
static int migrate_record(hilo_cli_t *cli, const char *id, tally_t *t) {
    char dkey[HILO_KEY_MAX];
    if (hilo_key_debtor(dkey, sizeof dkey, id, HILO_KEY_DEBTOR) < 0) return HILO_EXIT_OK;
    redisReply *r = hilo_cli_cmd(cli, "HGET %s phones", dkey);
    if (!r) return HILO_EXIT_REDIS;
    t->records++;
    if (r->type != REDIS_REPLY_STRING || r->len == 0) {
        freeReplyObject(r);
        return HILO_EXIT_OK;
    }
    char *canon = canonical_phones(r->str, hilo_cli_settings(cli)->default_cc);
    int rc = HILO_EXIT_OK;
    if (strcmp(canon, r->str) != 0) {
        if (t->dry) {
            printf("would rewrite %s phones %s -> %s\n", dkey, r->str, canon);
            t->rewritten++;
        } else {
            int done = run_cas(cli, cas_phones, dkey, r->str, canon);
            if (done < 0) {
                rc = HILO_EXIT_REDIS;
            } else if (done) {
                printf("rewrote %s phones %s -> %s\n", dkey, r->str, canon);
                t->rewritten++;
            } else {
                fprintf(stderr, "hilo: %s changed during the migration: run it again\n", dkey);
                t->raced++;
            }
        }
    }
    free(canon);
    freeReplyObject(r);
    return rc;
}

/* SCAN (or SSCAN key) with MATCH pattern, calling fn for every name. */
static int scan_all(hilo_cli_t *cli, const char *set, const char *pattern, int (*fn)(hilo_cli_t *, const char *, tally_t *),
                    tally_t *t) {
    char cursor[32] = "0";
    do {
        redisReply *r = set ? hilo_cli_cmd(cli, "SSCAN %s %s COUNT 500", set, cursor)
                            : hilo_cli_cmd(cli, "SCAN %s MATCH %s COUNT 500", cursor, pattern);
        if (!r) return HILO_EXIT_REDIS;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "hilo: unexpected reply to SCAN\n");
            freeReplyObject(r);
            return HILO_EXIT_REDIS;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const redisReply *e = r->element[1]->element[i];
            if (e->type != REDIS_REPLY_STRING) continue;
            int rc = fn(cli, e->str, t);
            if (rc != HILO_EXIT_OK) {
                freeReplyObject(r);
                return rc;
            }
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return HILO_EXIT_OK;
}

int hilo_migrate_addresses(hilo_cli_t *cli, bool dry) {
    tally_t t = {.dry = dry};
    int rc = scan_all(cli, NULL, HILO_KEY_ADDR_PREFIX "*", migrate_key, &t);
    if (rc == HILO_EXIT_OK) rc = scan_all(cli, HILO_KEY_DEBTORS, NULL, migrate_record, &t);
    const char *w = t.dry ? "would be " : "";
    printf("%s: %ld identity keys checked, %ld %smoved, %ld %sdropped (the canonical key already named the debtor), "
           "%ld conflicts, %ld not phone numbers; %ld debtor records checked, %ld %srewritten\n",
           t.dry ? "dry run" : "migrated", t.checked, t.moved, w, t.dropped, w, t.conflicts, t.unparsed, t.records,
           t.rewritten, w);
    if (rc != HILO_EXIT_OK) return rc;
    return t.conflicts || t.raced ? HILO_EXIT_DATA : HILO_EXIT_OK;
}
