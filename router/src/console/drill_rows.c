/* drill_rows.c — conversations read for the drill-down and the alerts (drill_rows.h). A batch
 * holds at most 64 commands, so the rows are read in chunks of DRILL_CHUNK debtors (two commands
 * each), sent together; the caller is called once every chunk has answered. */
#include <stdlib.h>
#include <string.h>

#include "drill_rows.h"
#include "hilo/common.h"
#include "hilo/keys.h"

#define DRILL_CHUNK 30

static const char *const conv_fields[] = {"state",  "last_channel", "esc_reason", "esc_detail", "esc_ms",
                                          "queue",  "offer_agent",  "offer_ch",   "offer_ms",   "agent",
                                          "agent_ch", "assigned_ms", "resp_ms",   "esc_priority", "call_live"};
#define CONV_NFIELDS (sizeof conv_fields / sizeof conv_fields[0])

typedef struct {
    json_t *rows;                   /* one object per debtor, filled as the chunks answer */
    int pending;                    /* chunks not answered yet */
    bool failed;                    /* a chunk found Redis failing */
    bool closing;                   /* a chunk was dropped: the router is closing */
    drill_rows_fn fn;
    void *arg;
    void (*free_arg)(void *);
} rows_t;

typedef struct {
    rows_t *r;
    size_t from, n;                 /* the rows this chunk reads */
} chunk_t;

static void rows_done(hilo_console_t *k, rows_t *r) {
    if (--r->pending > 0) return;
    if (r->closing) {
        if (r->free_arg) r->free_arg(r->arg);
    } else {
        r->fn(k, r->failed ? NULL : r->rows, r->arg);
    }
    json_decref(r->rows);
    free(r);
}

static void on_chunk(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    (void)c;
    chunk_t *ch = arg;
    rows_t *r = ch->r;
    for (size_t i = 0; i < ch->n; i++) {
        json_t *row = json_array_get(r->rows, ch->from + i);
        json_t *f = (int)(2 * i + 1) < n ? res[2 * i] : NULL, *name = (int)(2 * i + 1) < n ? res[2 * i + 1] : NULL;
        if (!json_is_array(f) || !res_ok(name)) {
            r->failed = true;
            continue;
        }
        for (size_t j = 0; j < CONV_NFIELDS; j++) {
            json_t *v = json_array_get(f, j);
            json_object_set(row, conv_fields[j], json_is_string(v) ? v : json_null());
        }
        json_object_set(row, "name", json_is_string(name) ? name : json_null());
    }
    free(ch);
    rows_done(k, r);
}

static void chunk_dropped(void *arg) {
    chunk_t *ch = arg;
    ch->r->closing = true;
    rows_t *r = ch->r;
    free(ch);
    rows_done(NULL, r);
}

void drill_rows_read(hilo_console_t *k, const json_t *debtors, drill_rows_fn fn, void *arg, void (*free_arg)(void *)) {
    rows_t *r = hilo_xcalloc(1, sizeof *r);
    r->rows = json_array();
    r->fn = fn, r->arg = arg, r->free_arg = free_arg;
    size_t total = json_array_size(debtors);
    if (total > DRILL_ROWS_MAX) total = DRILL_ROWS_MAX;
    for (size_t i = 0; i < total; i++)
        json_array_append_new(r->rows, json_pack("{s:O}", "debtor", json_array_get(debtors, i)));
    r->pending = 1; /* held until every chunk is sent */
    for (size_t from = 0; from < total; from += DRILL_CHUNK) {
        chunk_t *ch = hilo_xcalloc(1, sizeof *ch);
        ch->r = r, ch->from = from, ch->n = total - from < DRILL_CHUNK ? total - from : DRILL_CHUNK;
        batch_t *b = batch_new(k, NULL, on_chunk, ch, chunk_dropped);
        for (size_t i = 0; i < ch->n; i++) {
            const char *d = json_string_value(json_array_get(debtors, from + i));
            char ck[HILO_KEY_MAX], dk[HILO_KEY_MAX];
            if (!d || hilo_key_debtor(ck, sizeof ck, d, HILO_KEY_CONV) < 0 ||
                hilo_key_debtor(dk, sizeof dk, d, HILO_KEY_DEBTOR) < 0) {
                /* Not a debtor id (a stray member): read nothing real, keep the pairing. */
                batch_cmd(b, "HMGET hilo:none state");
                batch_cmd(b, "GET hilo:none");
                continue;
            }
            const char *argv[2 + CONV_NFIELDS];
            argv[0] = "HMGET", argv[1] = ck;
            for (size_t j = 0; j < CONV_NFIELDS; j++) argv[2 + j] = conv_fields[j];
            batch_argv(b, (int)(2 + CONV_NFIELDS), argv, NULL);
            batch_cmd(b, "HGET %s full_name", dk);
        }
        r->pending++;
        batch_run(b);
    }
    rows_done(k, r);
}

int64_t drill_row_ms(const json_t *row, const char *field) {
    const char *v = jstr(row, field);
    return v ? strtoll(v, NULL, 10) : 0;
}
