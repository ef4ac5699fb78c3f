/* cmd_payments.c — `hilo import-payments FILE.csv`: reads a payments file (RFC 4180, header row
 * with debtor_id, amount, currency, paid_at, reference in any order; other columns ignored),
 * checks each row and applies each good one with payment_apply.lua: recorded once per
 * reference, and the debtor's promises to pay it covers become kept (docs/promises.md).
 * A bad row is reported as FILE:LINE: reason and skipped; a summary ends the run. The rows go
 * to Redis in batches (below, BATCH_MAX), reported in the file's order. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "commands.h"
#include "options.h"
#include "csv.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/scripts.h"
#include "hilo/utf8.h"

#define REFERENCE_MAX 128          /* longest payment reference accepted (bytes) */
#define AMOUNT_WHOLE_DIGITS_MAX 13 /* cents stay exact in Lua's doubles (< 2^53) */

enum { COL_DEBTOR, COL_AMOUNT, COL_CURRENCY, COL_PAID_AT, COL_REFERENCE, NCOLS };
static const char *const col_names[NCOLS] = {"debtor_id", "amount", "currency", "paid_at", "reference"};

/* One checked row (values trimmed). */
typedef struct {
    char debtor[HILO_DEBTOR_ID_MAX + 1];
    char amount[40];
    char currency[4];
    char paid_at[48];
    char reference[REFERENCE_MAX + 1];
    int64_t amount_cents;
    int64_t paid_ms;   /* a date alone: 00:00 UTC of that day */
    bool date_only;
} payment_t;

typedef struct {
    long applied, duplicates, rejected, kept;
} tally_t;

/* Field i of the current record, without surrounding blanks, into buf. NULL when it fits,
 * else the reason. */
static const char *field(hilo_csv_t *csv, size_t i, char *buf, size_t n, const char *name) {
    static char why[96];
    size_t len;
    const char *s = hilo_csv_field(csv, i, &len);
    if (memchr(s, '\0', len)) {
        snprintf(why, sizeof why, "%s contains a NUL byte", name);
        return why;
    }
    while (len && (*s == ' ' || *s == '\t')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    if (len >= n) {
        snprintf(why, sizeof why, "%s is too long (at most %zu bytes)", name, n - 1);
        return why;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return NULL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* Exactly n digits at s into *out. */
static bool digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "YYYY-MM-DD", or ISO 8601 "YYYY-MM-DDTHH:MM[:SS[.fff…]]" + "Z" or "±HH:MM" / "±HHMM" ('T'
 * or a blank between date and time). A time without a zone is refused: which day a payment
 * was made must not depend on where the file is imported. */
static const char *parse_paid_at(const char *s, int64_t *ms, bool *date_only) {
    int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0, off_min = 0;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d))
        return "paid_at must be YYYY-MM-DD or ISO 8601 (YYYY-MM-DDTHH:MM:SSZ)";
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return "paid_at is not a real date";
    const char *p = s + 10;
    *date_only = *p == '\0';
    if (!*date_only) {
        if ((*p != 'T' && *p != 't' && *p != ' ') || !digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi))
            return "paid_at: expected THH:MM after the date";
        p += 6;
        if (*p == ':') {
            if (!digits(p + 1, 2, &sec)) return "paid_at: bad seconds";
            p += 3;
            if (*p == '.' || *p == ',') {
                int n = 0;
                for (p++; isdigit((unsigned char)*p); p++, n++)
                    if (n < 3) frac_ms = frac_ms * 10 + (*p - '0');
                if (n == 0) return "paid_at: bad fraction of a second";
                for (; n < 3; n++) frac_ms *= 10;
            }
        }
        if (h > 23 || mi > 59 || sec > 59) return "paid_at: time out of range";
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            int sign = *p == '-' ? -1 : 1;
            if (!digits(p + 1, 2, &oh)) return "paid_at: bad UTC offset";
            p += 3;
            if (*p == ':') p++;
            if (!digits(p, 2, &om) || oh > 18 || om > 59) return "paid_at: bad UTC offset";
            p += 2;
            off_min = sign * (oh * 60 + om);
        } else {
            return "paid_at: a time needs Z or a UTC offset (e.g. 2026-11-20T15:04:05-05:00)";
        }
        if (*p) return "paid_at: unexpected text after the time";
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off_min * 60;
    *ms = secs * 1000 + frac_ms;
    return NULL;
}

/* A decimal amount > 0 with at most 2 decimals ("150", "150.5", "1250.00") into cents. No sign,
 * no thousands separator (as in the portfolio import: "1,250" is read differently by country). */
static const char *parse_amount(const char *s, int64_t *cents) {
    int64_t whole = 0, frac = 0;
    int nwhole = 0, nfrac = 0;
    const char *p = s;
    for (; isdigit((unsigned char)*p); p++, nwhole++)
        if (nwhole < AMOUNT_WHOLE_DIGITS_MAX) whole = whole * 10 + (*p - '0');
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++, nfrac++)
            if (nfrac < 2) frac = frac * 10 + (*p - '0');
    if (*p || nwhole == 0 || (s[nwhole] == '.' && nfrac == 0))
        return "amount must be a decimal number like 150 or 150.25 (no sign, no thousands separator)";
    if (nwhole > AMOUNT_WHOLE_DIGITS_MAX) return "amount is too large";
    if (nfrac > 2) return "amount has more than 2 decimals";
    if (nfrac == 1) frac *= 10;
    *cents = whole * 100 + frac;
    if (*cents <= 0) return "amount must be greater than 0";
    return NULL;
}

static bool currency_ok(const char *v) {
    if (strlen(v) != 3) return false;
    for (; *v; v++)
        if (*v < 'A' || *v > 'Z') return false;
    return true;
}

static const char *check_reference(const char *v) {
    size_t n = strlen(v);
    if (n == 0) return "reference is empty (it is what makes a re-import safe)";
    if (n > REFERENCE_MAX) return "reference is longer than 128 bytes";
    if (!hilo_utf8_valid(v, n)) return "reference is not valid UTF-8";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return "reference contains a control character";
    return NULL;
}

/* Checks the current record into *pm; NULL when good, else the reason. */
static const char *check_row(hilo_csv_t *csv, const int *col, payment_t *pm) {
    struct {
        char *buf;
        size_t n;
    } dst[NCOLS] = {{pm->debtor, sizeof pm->debtor},
                    {pm->amount, sizeof pm->amount},
                    {pm->currency, sizeof pm->currency},
                    {pm->paid_at, sizeof pm->paid_at},
                    {pm->reference, sizeof pm->reference}};
    const char *why;
    size_t n = hilo_csv_count(csv);
    for (int c = 0; c < NCOLS; c++) {
        if ((size_t)col[c] >= n) return "too few fields";
        if ((why = field(csv, (size_t)col[c], dst[c].buf, dst[c].n, col_names[c]))) return why;
    }
    if (!hilo_debtor_id_valid(pm->debtor)) return "debtor_id is not a valid debtor id";
    if ((why = parse_amount(pm->amount, &pm->amount_cents))) return why;
    if (!currency_ok(pm->currency)) return "currency is not 3 uppercase letters (ISO 4217, e.g. USD)";
    if ((why = parse_paid_at(pm->paid_at, &pm->paid_ms, &pm->date_only))) return why;
    if ((why = check_reference(pm->reference))) return why;
    return NULL;
}

/* Payments go to Redis in batches, one round trip each: the EVALSHAs of up to BATCH_MAX rows,
 * written at once and answered in order. One payment_apply.lua per row is what the import pays
 * in Redis either way; sending them one by one added two round trips per row (EVALSHA, then the
 * kick), which at 100,000 rows was most of the import's time (docs/performance.md, "Payments
 * cancel pending steps"). Redis runs a connection's commands in the order they were sent, so two
 * rows with the same reference in one batch meet as they would one by one: the second is a
 * duplicate or a conflict. Rows refused before Redis wait in the batch too, so every report
 * comes out in the file's order. */
#define BATCH_MAX 1000

/* One row of the batch: a payment to apply, or a row already refused (reported in its turn). */
typedef struct {
    long line;
    char *refused;  /* the reason a refused row is reported with (owned), or NULL: a payment */
    payment_t pm;   /* the checked payment (refused == NULL) */
    int64_t now_ms; /* the import time it is recorded with */
} row_t;

typedef struct {
    row_t rows[BATCH_MAX];
    size_t n;          /* rows waiting */
    size_t payments;   /* of which payments */
    char sha[41];      /* payment_apply.lua's SHA, "" until the first batch loads it */
} batch_t;

static void batch_refuse(batch_t *b, long line, const char *why) {
    row_t *row = &b->rows[b->n++];
    row->line = line;
    row->refused = hilo_xstrdup(why);
}

/* Appends row's EVALSHA to the output buffer (nothing is sent yet). */
static bool append_apply(hilo_cli_t *cli, const char *sha, const row_t *row) {
    const payment_t *pm = &row->pm;
    char kdebtor[HILO_KEY_MAX], kpay[HILO_KEY_MAX], kprom[HILO_KEY_MAX], kconv[HILO_KEY_MAX], kaudit[HILO_KEY_MAX];
    hilo_key_debtor(kdebtor, sizeof kdebtor, pm->debtor, HILO_KEY_DEBTOR);
    hilo_key_debtor(kpay, sizeof kpay, pm->debtor, HILO_KEY_PAYMENTS);
    hilo_key_debtor(kprom, sizeof kprom, pm->debtor, HILO_KEY_PROMISES);
    hilo_key_debtor(kconv, sizeof kconv, pm->debtor, HILO_KEY_CONV);
    hilo_key_debtor(kaudit, sizeof kaudit, pm->debtor, HILO_KEY_AUDIT);
    char amount[24], paid_ms[24], now[24];
    snprintf(amount, sizeof amount, "%" PRId64, pm->amount_cents);
    snprintf(paid_ms, sizeof paid_ms, "%" PRId64, pm->paid_ms);
    snprintf(now, sizeof now, "%" PRId64, row->now_ms);
    const char *argv[] = {"EVALSHA", sha, "5", kdebtor, kpay, kprom, kconv, kaudit, pm->debtor, pm->reference, amount, pm->currency, pm->paid_at, paid_ms,
                          pm->date_only ? "1" : "0", now};
    size_t lens[HILO_ARRAY_LEN(argv)];
    for (size_t i = 0; i < HILO_ARRAY_LEN(argv); i++) lens[i] = strlen(argv[i]);
    return hilo_cli_append(cli, (int)HILO_ARRAY_LEN(argv), argv, lens);
}

static bool is_noscript(const redisReply *r) {
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* Sends the batch's payments and reads their replies into rep[i] (one per row; NULL for a
 * refused row). A NOSCRIPT answer (SCRIPT FLUSH since the load) loads the script again and
 * sends those rows again, once. Rows that ran before the flush are not sent twice: resending
 * them would turn their result into "duplicate". (Should another client load the script again
 * between two of our rows, a later row of the batch can run before an earlier one sent again;
 * that reorders two rows only when they share a debtor, and takes a SCRIPT FLUSH during the
 * import to happen.) Returns false after printing why (Redis unreachable or gone). */
static bool batch_send(hilo_cli_t *cli, batch_t *b, redisReply **rep) {
    if (!b->sha[0] && !hilo_cli_script_load(cli, hilo_script_payment_apply, b->sha)) return false;
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t n = 0;
        for (size_t i = 0; i < b->n; i++) {
            if (b->rows[i].refused || (attempt > 0 && !is_noscript(rep[i]))) continue;
            if (!append_apply(cli, b->sha, &b->rows[i])) return false;
            n++;
        }
        if (n == 0) return true;
        redisReply **got = hilo_cli_flush(cli) ? hilo_cli_recv(cli, n) : NULL;
        if (!got) return false;
        bool noscript = false;
        for (size_t i = 0, k = 0; i < b->n; i++) {
            if (b->rows[i].refused || (attempt > 0 && !is_noscript(rep[i]))) continue;
            if (rep[i]) freeReplyObject(rep[i]);
            rep[i] = got[k++];
            noscript = noscript || is_noscript(rep[i]);
        }
        free(got); /* the replies now belong to rep */
        if (!noscript) return true;
        if (attempt == 0 && !hilo_cli_script_load(cli, hilo_script_payment_apply, b->sha)) return false;
    }
    return true; /* NOSCRIPT again right after a load: reported as Redis's refusal below */
}

/* Prints why a payment failed, once per batch (the import stops after it): an OOM or a missing
 * script answers every row of the batch the same. */
static void failed(bool *failed_p, const char *fmt, const char *a) {
    if (!*failed_p) fprintf(stderr, fmt, a);
    *failed_p = true;
}

/* Applies the batch and reports every row in order. Returns HILO_EXIT_OK (counted in *t) or
 * HILO_EXIT_REDIS. What Redis answered is reported and counted, rows after a refused command
 * included (Redis ran them), and the import stops after the batch. When the connection broke,
 * which payments of the batch ran is unknown: only its rows refused before Redis are reported
 * (re-running the file is safe: what ran comes back as duplicates). */
static int batch_run(hilo_cli_t *cli, const char *path, batch_t *b, tally_t *t) {
    bool broken = false, refused = false;
    redisReply **rep = hilo_xcalloc(b->n ? b->n : 1, sizeof *rep);
    if (b->payments > 0 && !batch_send(cli, b, rep)) broken = true;
    /* payment_apply.lua held each applied debtor's pending strategy step; a kick (ZADD XX 0 in
     * the debtor's schedule partition) makes the runners decide again now (router/src/
     * strategy_run.c: paid in full stops the strategy). Only applied payments kick, as they
     * always did: a re-imported file must not wake every debtor in it. The kicks go in one
     * round trip after the batch's replies, which say which payments were applied, with the ZREMs
     * of the kept promises' due members (hilo:promises:due: another slot than the debtor's). */
    size_t kicks = 0;
    for (size_t i = 0; i < b->n; i++) {
        const row_t *row = &b->rows[i];
        const payment_t *pm = &row->pm;
        if (row->refused) {
            fprintf(stderr, "%s:%ld: %s\n", path, row->line, row->refused);
            t->rejected++;
            continue;
        }
        redisReply *r = rep[i];
        if (broken) continue;
        if (r->type == REDIS_REPLY_ERROR) {
            failed(&refused, "hilo: Redis refused EVALSHA: %s\n", r->str);
            continue;
        }
        long long code = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                                 r->element[0]->type == REDIS_REPLY_INTEGER
                             ? r->element[0]->integer
                             : -100;
        if (code == 1) {
            t->applied++;
            char sched[HILO_KEY_MAX];
            hilo_key_sched(sched, sizeof sched, hilo_outbox_partition(pm->debtor));
            const char *argv[] = {"ZADD", sched, "XX", "0", pm->debtor};
            size_t lens[HILO_ARRAY_LEN(argv)];
            for (size_t k = 0; k < HILO_ARRAY_LEN(argv); k++) lens[k] = strlen(argv[k]);
            if (hilo_cli_append(cli, (int)HILO_ARRAY_LEN(argv), argv, lens)) kicks++;
            for (size_t k = 1; k < r->elements; k++) {
                t->kept++;
                printf("%s: promise %s kept\n", pm->debtor, r->element[k]->str ? r->element[k]->str : "?");
                /* The kept promise leaves the due index: a step of its own, on the index's slot. */
                if (!r->element[k]->str) continue;
                char member[HILO_KEY_MAX];
                snprintf(member, sizeof member, "%s|%s", pm->debtor, r->element[k]->str);
                const char *zrem[] = {"ZREM", HILO_KEY_PROMISES_DUE, member};
                size_t zlens[HILO_ARRAY_LEN(zrem)];
                for (size_t z = 0; z < HILO_ARRAY_LEN(zrem); z++) zlens[z] = strlen(zrem[z]);
                if (hilo_cli_append(cli, (int)HILO_ARRAY_LEN(zrem), zrem, zlens)) kicks++;
            }
        } else if (code == 0) {
            t->duplicates++;
        } else if (code == -1) {
            fprintf(stderr, "%s:%ld: payment %s: unknown debtor %s (import the portfolio first)\n", path,
                    row->line, pm->reference, pm->debtor);
            t->rejected++;
        } else if (code == -2) {
            fprintf(stderr, "%s:%ld: payment %s: reference already imported for debtor %s with another amount, "
                            "currency or date: %s\n",
                    path, row->line, pm->reference, pm->debtor,
                    r->elements > 1 && r->element[1]->str ? r->element[1]->str : "?");
            t->rejected++;
        } else {
            failed(&refused, "hilo: unexpected reply from payment_apply.lua for %s\n", pm->reference);
        }
    }
    if (kicks > 0) {
        redisReply **k = hilo_cli_flush(cli) ? hilo_cli_recv(cli, kicks) : NULL;
        if (!k) broken = true;
        for (size_t i = 0; k && i < kicks; i++)
            if (k[i]->type == REDIS_REPLY_ERROR) failed(&refused, "hilo: Redis refused ZADD/ZREM: %s\n", k[i]->str);
        hilo_cli_replies_free(k, kicks);
    }
    for (size_t i = 0; i < b->n; i++) {
        free(b->rows[i].refused);
        if (rep[i]) freeReplyObject(rep[i]);
    }
    free(rep);
    b->n = b->payments = 0;
    return broken || refused ? HILO_EXIT_REDIS : HILO_EXIT_OK;
}

/* Maps the header; returns false after printing why. */
static bool map_header(hilo_csv_t *csv, const char *path, int *col) {
    for (int c = 0; c < NCOLS; c++) col[c] = -1;
    for (size_t i = 0; i < hilo_csv_count(csv); i++) {
        char name[32];
        if (field(csv, i, name, sizeof name, "a column name")) continue; /* not one of ours */
        for (int c = 0; c < NCOLS; c++) {
            if (strcasecmp(name, col_names[c]) != 0) continue;
            if (col[c] >= 0) {
                fprintf(stderr, "%s:%ld: bad header: column %s appears twice\n", path, hilo_csv_line(csv),
                        col_names[c]);
                return false;
            }
            col[c] = (int)i;
        }
    }
    for (int c = 0; c < NCOLS; c++)
        if (col[c] < 0) {
            fprintf(stderr,
                    "%s:%ld: bad header: missing column %s (need debtor_id, amount, currency, paid_at, reference)\n",
                    path, hilo_csv_line(csv), col_names[c]);
            return false;
        }
    return true;
}

static int import_file(hilo_cli_t *cli, const char *path, FILE *f) {
    hilo_csv_t *csv = hilo_csv_new(f);
    int rc = HILO_EXIT_DATA, col[NCOLS];
    bool header = false;
    tally_t t = {0, 0, 0, 0};
    batch_t *b = NULL; /* the rows waiting for Redis */
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
    if (!(header = map_header(csv, path, col))) goto done;
    b = hilo_xcalloc(1, sizeof *b);
    while ((got = hilo_csv_next(csv)) != HILO_CSV_END) {
        long line = hilo_csv_line(csv);
        if (got == HILO_ERR) {
            int err = errno;
            /* The rows read before the error are applied and reported first, as they were
             * read; then the error (a broken Redis wins: exit 3). */
            if ((rc = batch_run(cli, path, b, &t)) == HILO_EXIT_OK) {
                fprintf(stderr, "%s: %s: %s\n", path, hilo_csv_error(csv), strerror(err));
                rc = HILO_EXIT_DATA;
            }
            goto done;
        }
        if (got == HILO_CSV_BAD) {
            batch_refuse(b, line, hilo_csv_error(csv));
        } else {
            row_t *row = &b->rows[b->n];
            const char *why = check_row(csv, col, &row->pm);
            if (why) {
                batch_refuse(b, line, why);
            } else {
                row->line = line;
                row->refused = NULL;
                row->now_ms = hilo_now_ms();
                b->n++;
                b->payments++;
            }
        }
        if (b->n == BATCH_MAX && (rc = batch_run(cli, path, b, &t)) != HILO_EXIT_OK) goto done;
    }
    rc = batch_run(cli, path, b, &t);
done:
    /* The summary also when Redis failed half-way: re-running the import is safe (references
     * are recorded once), and the operator sees how far it got. */
    if (header) printf("applied %ld, duplicates %ld, rejected %ld; promises kept %ld\n", t.applied, t.duplicates,
                       t.rejected, t.kept);
    free(b);
    hilo_csv_destroy(&csv);
    return rc;
}

int hilo_cmd_import_payments(hilo_cli_t *cli, int argc, char **argv) {
    hilo_opts_begin();
    if (hilo_opts_next("import-payments", argc, argv, "", NULL) != -1 || optind != argc - 1) {
        fprintf(stderr, "usage: hilo import-payments FILE.csv   (- is standard input)\n");
        return HILO_EXIT_USAGE;
    }
    const char *path = argv[optind];
    FILE *f = hilo_cli_open_input(path);
    if (!f) return HILO_EXIT_DATA;
    int rc = import_file(cli, hilo_cli_input_name(path), f);
    fclose(f);
    return rc;
}
