/* csv.c — streaming RFC 4180 reader. One character of look-ahead; every line break (LF, CRLF,
 * lone CR) is read as one NL token so that line numbers count physical lines the way an editor
 * shows them, also inside quoted fields. */
#include "csv.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"

#define NL 256 /* token for a line break; EOF stays EOF */

struct hilo_csv {
    FILE *f;            /* borrowed input */
    int push[4];        /* pushed-back raw bytes (BOM check, CR look-ahead) */
    int npush;
    bool started;       /* the BOM check has run */
    const char *nl;     /* the bytes of the last NL token: "\n", "\r\n" or "\r" */
    long line;          /* physical line of the next character, 1-based */
    long rec_line;      /* line where the current record starts */
    char *buf;          /* the record's fields, each NUL-terminated, back to back */
    size_t len, cap;
    size_t *offs;       /* field i starts at buf + offs[i] ... */
    size_t *lens;       /* ... and is lens[i] bytes long */
    size_t n, ncap;
    bool too_long;      /* the record passed HILO_CSV_RECORD_MAX: bytes are dropped, record refused */
    char err[160];
};

hilo_csv_t *hilo_csv_new(FILE *f) {
    assert(f);
    hilo_csv_t *c = hilo_xcalloc(1, sizeof *c);
    c->f = f;
    c->line = 1;
    return c;
}

void hilo_csv_destroy(hilo_csv_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_csv_t *c = *self_p;
    free(c->buf);
    free(c->offs);
    free(c->lens);
    free(c);
    *self_p = NULL;
}

static int raw(hilo_csv_t *c) { return c->npush ? c->push[--c->npush] : getc(c->f); }

static void push(hilo_csv_t *c, int ch) {
    if (ch == EOF) return;
    assert(c->npush < (int)HILO_ARRAY_LEN(c->push));
    c->push[c->npush++] = ch;
}

/* Next token: a byte, NL or EOF. */
static int get(hilo_csv_t *c) {
    int ch = raw(c);
    if (ch == '\n' || ch == '\r') {
        c->nl = "\n";
        if (ch == '\r') {
            int next = raw(c);
            if (next == '\n') {
                c->nl = "\r\n";
            } else {
                push(c, next);
                c->nl = "\r";
            }
        }
        c->line++;
        return NL;
    }
    return ch;
}

static void put(hilo_csv_t *c, char ch) {
    if (c->too_long) return;
    if (c->len + 2 > HILO_CSV_RECORD_MAX) { /* keep room for the field's NUL */
        c->too_long = true;
        return;
    }
    if (c->len + 2 > c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->buf = hilo_xrealloc(c->buf, c->cap);
    }
    c->buf[c->len++] = ch;
}

static void begin_field(hilo_csv_t *c) {
    if (c->too_long) return;
    if (c->n == HILO_CSV_FIELDS_MAX) {
        c->too_long = true;
        return;
    }
    if (c->n == c->ncap) {
        c->ncap = c->ncap ? c->ncap * 2 : 16;
        c->offs = hilo_xrealloc(c->offs, c->ncap * sizeof *c->offs);
        c->lens = hilo_xrealloc(c->lens, c->ncap * sizeof *c->lens);
    }
    c->offs[c->n] = c->len;
}

static void end_field(hilo_csv_t *c) {
    if (c->too_long) return; /* the record is refused: its fields no longer matter */
    c->lens[c->n] = c->len - c->offs[c->n];
    if (c->len + 1 > c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->buf = hilo_xrealloc(c->buf, c->cap);
    }
    c->buf[c->len++] = '\0';
    c->n++;
}

static int read_error(hilo_csv_t *c) {
    snprintf(c->err, sizeof c->err, "read error");
    return HILO_ERR;
}

/* Skips the leading UTF-8 byte order mark (EF BB BF) that spreadsheet exports often write. */
static void skip_bom(hilo_csv_t *c) {
    c->started = true;
    int b[3], n = 0;
    static const int bom[3] = {0xEF, 0xBB, 0xBF};
    while (n < 3) {
        b[n] = getc(c->f);
        if (b[n] != bom[n]) {
            for (int i = n; i >= 0; i--) push(c, b[i]); /* pushed in reverse: read back in order */
            return;
        }
        n++;
    }
}

int hilo_csv_next(hilo_csv_t *c) {
    if (!c->started) skip_bom(c);
    c->len = 0;
    c->n = 0;
    c->too_long = false;
    c->err[0] = '\0';

    int ch;
    do { /* blank lines between records are not records */
        ch = get(c);
    } while (ch == NL);
    if (ch == EOF) return ferror(c->f) ? read_error(c) : HILO_CSV_END;
    c->rec_line = c->line;

    for (;;) { /* one field per turn; ch is its first token */
        begin_field(c);
        if (ch == '"') {
            long open_line = c->line;
            for (;;) {
                ch = get(c);
                if (ch == EOF) {
                    if (ferror(c->f)) return read_error(c);
                    snprintf(c->err, sizeof c->err, "unterminated quoted field (quote opened on line %ld)",
                             open_line);
                    return HILO_CSV_BAD;
                }
                if (ch == NL) {
                    for (const char *s = c->nl; *s; s++) put(c, *s);
                } else if (ch == '"') {
                    ch = get(c);
                    if (ch != '"') break; /* the closing quote; ch is what follows it */
                    put(c, '"');
                } else {
                    put(c, (char)ch);
                }
            }
            if (ch != ',' && ch != NL && ch != EOF) {
                while (ch != NL && ch != EOF) ch = get(c); /* resynchronize at the next line */
                snprintf(c->err, sizeof c->err, "unexpected text after a closing quote");
                return ferror(c->f) ? read_error(c) : HILO_CSV_BAD;
            }
        } else {
            while (ch != ',' && ch != NL && ch != EOF) {
                put(c, (char)ch);
                ch = get(c);
            }
        }
        end_field(c);
        if (ch != ',') break;
        ch = get(c);
    }
    if (ch == EOF && ferror(c->f)) return read_error(c);
    if (c->too_long) {
        snprintf(c->err, sizeof c->err, "record longer than %u bytes or %u fields", HILO_CSV_RECORD_MAX,
                 HILO_CSV_FIELDS_MAX);
        return HILO_CSV_BAD;
    }
    return HILO_CSV_RECORD;
}

size_t hilo_csv_count(const hilo_csv_t *c) { return c->n; }

const char *hilo_csv_field(const hilo_csv_t *c, size_t i, size_t *len) {
    assert(i < c->n);
    if (len) *len = c->lens[i];
    return c->buf + c->offs[i];
}

long hilo_csv_line(const hilo_csv_t *c) { return c->rec_line; }

const char *hilo_csv_error(const hilo_csv_t *c) { return c->err; }
