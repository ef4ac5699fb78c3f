/* cmd_migrate.c — `hilo migrate [--dry-run]`: brings the data in Redis from the schema version it
 * holds (hilo:{schema}; none = version 1 when there is hilo data) to this build's
 * HILO_SCHEMA_VERSION, one step per version in order (steps[], migrate.h), stamping the version
 * after each step, so that a crash or a conflict leaves the version of the last finished step and
 * a rerun starts from there (each step is idempotent besides). A fresh Redis (no hilo data) is
 * only stamped. --dry-run reads only and prints what each step would change. Data of a newer
 * version, or a key holding no version, is refused (exit HILO_EXIT_SCHEMA): this build does not
 * know what it would be migrating. `hilo migrate-addresses`, the old name, is kept as an alias
 * (below). docs/operations.md, "Upgrading". */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "hilo/build_info.h"
#include "hilo/keys.h"
#include "hilo/schema.h"
#include "hilo/scripts.h"
#include "migrate.h"
#include "options.h"

typedef struct {
    int to;                                  /* the version the step produces */
    const char *what;                        /* what it changes, one line */
    int (*run)(hilo_cli_t *cli, bool dry);   /* HILO_EXIT_* */
} step_t;

/* Index i brings version i+1 to i+2: one entry per version after the oldest, in order. */
static const step_t steps[] = {
    {2, "identity keys (hilo:addr:) and debtors' phones into canonical E.164", hilo_migrate_addresses},
};
_Static_assert(sizeof steps / sizeof steps[0] == HILO_SCHEMA_VERSION - HILO_SCHEMA_OLDEST,
               "one migration step per schema version (hilo/schema.h)");

/* The stored version: >= 1, 0 = no key, -1 = unreadable; with no key, whether there is hilo
 * data (SCAN, stopping at the first key). HILO_EXIT_OK or HILO_EXIT_REDIS. */
static int read_state(hilo_cli_t *cli, long *stored, bool *data) {
    redisReply *r = hilo_cli_cmd(cli, "HGET %s version", HILO_KEY_SCHEMA);
    if (!r) return HILO_EXIT_REDIS;
    *stored = r->type == REDIS_REPLY_NIL ? 0 : r->type == REDIS_REPLY_STRING ? hilo_schema_parse(r->str, r->len) : -1;
    freeReplyObject(r);
    *data = false;
    if (*stored != 0) return HILO_EXIT_OK;
    char cursor[32] = "0";
    do {
        r = hilo_cli_cmd(cli, "SCAN %s MATCH %s COUNT 1000", cursor, HILO_SCHEMA_SCAN_MATCH);
        if (!r) return HILO_EXIT_REDIS;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "hilo: unexpected reply to SCAN\n");
            freeReplyObject(r);
            return HILO_EXIT_REDIS;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements && !*data; i++) {
            const redisReply *k = r->element[1]->element[i];
            *data = k->type == REDIS_REPLY_STRING && hilo_schema_is_data_key(k->str, k->len);
        }
        freeReplyObject(r);
    } while (!*data && strcmp(cursor, "0") != 0);
    return HILO_EXIT_OK;
}

/* Writes version `to` if the key still holds `from` (0 = no key): schema_stamp.lua; `who` is the
 * command, for the key's `by`. */
static int stamp(hilo_cli_t *cli, const char *who, long from, int to) {
    char f[16] = "", t[16], host[64] = "?", by[160];
    if (from > 0) snprintf(f, sizeof f, "%ld", from);
    snprintf(t, sizeof t, "%d", to);
    gethostname(host, sizeof host - 1);
    snprintf(by, sizeof by, "hilo %s %s on %s", who, HILO_VERSION, host);
    const char *argv[] = {"EVAL", hilo_script_schema_stamp, "1", HILO_KEY_SCHEMA, f, t, by};
    size_t lens[7];
    for (int i = 0; i < 7; i++) lens[i] = strlen(argv[i]);
    redisReply *r = hilo_cli_cmdv(cli, 7, argv, lens);
    if (!r) return HILO_EXIT_REDIS;
    bool done = r->type == REDIS_REPLY_STRING && strcmp(r->str, t) == 0;
    if (!done)
        fprintf(stderr, "hilo: the schema version changed during the migration (now '%s'): run hilo migrate again\n",
                r->type == REDIS_REPLY_STRING ? r->str : "?");
    freeReplyObject(r);
    return done ? HILO_EXIT_OK : HILO_EXIT_DATA;
}

/* also_current: run step `also_current` even when the data is at its version already (the
 * migrate-addresses alias). */
static int migrate(hilo_cli_t *cli, bool dry, int also_current) {
    long stored;
    bool data;
    int rc = read_state(cli, &stored, &data);
    if (rc != HILO_EXIT_OK) return rc;
    hilo_schema_state_t st = hilo_schema_judge(stored, data);
    if (st == HILO_SCHEMA_NEWER || st == HILO_SCHEMA_BROKEN) {
        char why[400];
        hilo_schema_refusal(why, sizeof why, stored);
        fprintf(stderr, "hilo: %s; nothing changed\n", why);
        return HILO_EXIT_SCHEMA;
    }
    if (dry) printf("dry run: nothing is written\n");
    if (st == HILO_SCHEMA_FRESH) {
        if (dry) {
            printf("a fresh Redis (no hilo data): would stamp schema version %d, nothing to migrate\n",
                   HILO_SCHEMA_VERSION);
            return HILO_EXIT_OK;
        }
        rc = stamp(cli, "migrate", 0, HILO_SCHEMA_VERSION);
        if (rc == HILO_EXIT_OK)
            printf("a fresh Redis (no hilo data): schema version %d stamped, nothing to migrate\n", HILO_SCHEMA_VERSION);
        return rc;
    }
    long from = stored ? stored : HILO_SCHEMA_OLDEST;
    printf("schema version in Redis: %ld%s; this hilo: %d\n", from, stored ? "" : " (hilo data written before schema versions)",
           HILO_SCHEMA_VERSION);
    if (st == HILO_SCHEMA_CURRENT && !also_current) {
        printf("up to date: nothing to migrate\n");
        return HILO_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const step_t *s = &steps[i];
        bool pending = s->to > from;
        if (!pending && s->to != also_current) continue;
        printf("step %d -> %d: %s%s\n", s->to - 1, s->to, s->what, pending ? "" : " (again: already at its version)");
        rc = s->run(cli, dry);
        if (rc != HILO_EXIT_OK && dry) {
            fprintf(stderr, "hilo: step %d -> %d would stop at what it reported: settle it, then run hilo migrate\n",
                    s->to - 1, s->to);
            return rc;
        }
        if (rc != HILO_EXIT_OK) {
            fprintf(stderr, "hilo: step %d -> %d did not finish: the data stays at schema version %ld; settle what "
                            "it reported and run hilo migrate again\n",
                    s->to - 1, s->to, from);
            return rc;
        }
        if (!pending) continue;
        if (dry) {
            printf("would stamp schema version %d\n", s->to);
            if (s->to < HILO_SCHEMA_VERSION)
                printf("(the next step is shown on the data as it is now, not as this step would leave it)\n");
            continue;
        }
        rc = stamp(cli, "migrate", stored, s->to); /* stored 0: no key yet */
        if (rc != HILO_EXIT_OK) return rc;
        printf("schema version %d stamped\n", s->to);
        from = s->to;
        stored = s->to;
    }
    if (!dry) printf("up to date: schema version %d\n", HILO_SCHEMA_VERSION);
    return HILO_EXIT_OK;
}

int hilo_migrate_stamp_fresh(hilo_cli_t *cli, const char *who) {
    long stored;
    bool data;
    int rc = read_state(cli, &stored, &data);
    if (rc != HILO_EXIT_OK) return rc;
    hilo_schema_state_t st = hilo_schema_judge(stored, data);
    if (st == HILO_SCHEMA_NEWER || st == HILO_SCHEMA_BROKEN) {
        char why[400];
        hilo_schema_refusal(why, sizeof why, stored);
        fprintf(stderr, "hilo: %s; nothing written\n", why);
        return HILO_EXIT_SCHEMA;
    }
    return st == HILO_SCHEMA_FRESH ? stamp(cli, who, 0, HILO_SCHEMA_VERSION) : HILO_EXIT_OK;
}

/* Options of both names (`cmd`): --dry-run. HILO_EXIT_OK, or HILO_EXIT_USAGE after printing. */
static int parse(const char *cmd, int argc, char **argv, bool *dry) {
    static const struct option longopts[] = {{"dry-run", no_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
    bool bad = false;
    *dry = false;
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next(cmd, argc, argv, "", longopts)) != -1;) {
        if (c == 'n')
            *dry = true;
        else
            bad = true;
    }
    if (bad || optind != argc) {
        fprintf(stderr, "usage: hilo %s [--dry-run]%s\n", cmd,
                strcmp(cmd, "migrate") == 0 ? "" : "   (the old name of hilo migrate)");
        return HILO_EXIT_USAGE;
    }
    return HILO_EXIT_OK;
}

int hilo_cmd_migrate(hilo_cli_t *cli, int argc, char **argv) {
    bool dry;
    int rc = parse("migrate", argc, argv, &dry);
    return rc == HILO_EXIT_OK ? migrate(cli, dry, 0) : rc;
}

/* The old name: `hilo migrate`, which also runs the identity step on data already at version 2
 * (stray keys of the old form, from a program that was not upgraded, are then still found). */
int hilo_cmd_migrate_addresses(hilo_cli_t *cli, int argc, char **argv) {
    bool dry;
    int rc = parse("migrate-addresses", argc, argv, &dry);
    return rc == HILO_EXIT_OK ? migrate(cli, dry, 2) : rc;
}
