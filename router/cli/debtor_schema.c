/* debtor_schema.c — header mapping and row validation for the portfolio CSV. */
#include "debtor_schema.h"

#include <assert.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/phone.h"
#include "hilo/utf8.h"
#include "text.h"

typedef enum {
    COL_ID,
    COL_NAME,
    COL_PHONES,
    COL_EMAIL,
    COL_DOC4,
    COL_BALANCE,
    COL_CURRENCY,
    COL_DPD,
    COL_TZ,
    COL_LANGUAGE,
    COL_COUNTRY,
    COL_ATTR, /* any other column: kept as attr:<name> */
} col_kind_t;

/* Indexed by col_kind_t up to COL_ATTR. */
const char *const hilo_debtor_columns[] = {"debtor_id", "full_name", "phones", "email", "document_last4",
                                           "balance", "currency", "days_past_due", "timezone", "language",
                                           "country", NULL};

struct hilo_debtor_schema {
    size_t n;            /* columns */
    char **field;        /* hash field per column: the known name, or "attr:<name>" */
    col_kind_t *kind;    /* what each column is */
    size_t id_col;       /* where debtor_id is */
    long country_col;    /* where country is, -1 when the file has none */
    char *default_cc;    /* for national phone numbers of rows without a country, may be NULL */
    char *zoneinfo;      /* time zone database directory */
    char err[256];       /* why the last row was refused */
    char err_id[96];     /* that row's debtor id, printable */
};

static const char *trim_ws(const char *s, size_t *len) {
    while (*len && (*s == ' ' || *s == '\t')) {
        s++;
        (*len)--;
    }
    while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t')) (*len)--;
    return s;
}

hilo_debtor_schema_t *hilo_debtor_schema_new(const char *const *names, const size_t *lens, size_t n,
                                             const char *default_cc, const char *zoneinfo_dir, char *err,
                                             size_t errlen) {
    hilo_debtor_schema_t *s = hilo_xcalloc(1, sizeof *s);
    s->n = n;
    s->field = hilo_xcalloc(n, sizeof *s->field);
    s->kind = hilo_xcalloc(n, sizeof *s->kind);
    s->country_col = -1;
    s->default_cc = default_cc ? hilo_xstrdup(default_cc) : NULL;
    s->zoneinfo = hilo_xstrdup(zoneinfo_dir ? zoneinfo_dir : HILO_ZONEINFO_DIR);
    bool have_id = false, have_name = false;
    for (size_t i = 0; i < n; i++) {
        size_t len = lens[i];
        const char *name = trim_ws(names[i], &len);
        if (len == 0) {
            snprintf(err, errlen, "column %zu has no name", i + 1);
            goto fail;
        }
        if (memchr(name, '\0', len) || !hilo_utf8_valid(name, len)) {
            snprintf(err, errlen, "column %zu: name is not valid UTF-8", i + 1);
            goto fail;
        }
        s->kind[i] = COL_ATTR;
        for (int k = 0; k < COL_ATTR; k++)
            if (strlen(hilo_debtor_columns[k]) == len && strncasecmp(name, hilo_debtor_columns[k], len) == 0) {
                s->kind[i] = (col_kind_t)k;
                s->field[i] = hilo_xstrdup(hilo_debtor_columns[k]);
            }
        if (s->kind[i] == COL_ATTR) {
            s->field[i] = hilo_xmalloc(len + 6);
            memcpy(s->field[i], "attr:", 5);
            memcpy(s->field[i] + 5, name, len);
            s->field[i][len + 5] = '\0';
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->field[j], s->field[i]) == 0) {
                char *shown = hilo_text_printable(name, len, 40);
                snprintf(err, errlen, "duplicate column '%s' (columns %zu and %zu)", shown, j + 1, i + 1);
                free(shown);
                goto fail;
            }
        if (s->kind[i] == COL_ID) {
            have_id = true;
            s->id_col = i;
        }
        if (s->kind[i] == COL_NAME) have_name = true;
        if (s->kind[i] == COL_COUNTRY) s->country_col = (long)i;
    }
    if (!have_id || !have_name) {
        snprintf(err, errlen, "missing required column %s", have_id ? "full_name" : "debtor_id");
        goto fail;
    }
    return s;
fail:
    hilo_debtor_schema_destroy(&s);
    return NULL;
}

void hilo_debtor_schema_destroy(hilo_debtor_schema_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_debtor_schema_t *s = *self_p;
    for (size_t i = 0; i < s->n; i++) free(s->field[i]);
    free(s->field);
    free(s->kind);
    free(s->default_cc);
    free(s->zoneinfo);
    free(s);
    *self_p = NULL;
}

const char *hilo_debtor_schema_error(const hilo_debtor_schema_t *s) { return s->err; }
const char *hilo_debtor_schema_error_id(const hilo_debtor_schema_t *s) { return s->err_id; }

static void refuse(hilo_debtor_schema_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(hilo_debtor_schema_t *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
}

/* ---- one value at a time; each returns true when the (trimmed, non-empty) value is good ---- */

static bool all_digits(const char *v) {
    if (!*v) return false;
    for (; *v; v++)
        if (*v < '0' || *v > '9') return false;
    return true;
}

/* A decimal number >= 0: digits, optionally '.' and digits ("1250", "1250.00"). No sign, no
 * exponent, no thousands separator: "1,250" means different things in Bogotá and New York. */
static bool balance_ok(const char *v) {
    const char *dot = strchr(v, '.');
    if (strlen(v) > 24) return false;
    if (!dot) return all_digits(v);
    char whole[32];
    size_t n = (size_t)(dot - v);
    memcpy(whole, v, n);
    whole[n] = '\0';
    return all_digits(whole) && all_digits(dot + 1);
}

static bool days_ok(const char *v) { return all_digits(v) && strlen(v) <= 9; }

static bool doc4_ok(const char *v) { return strlen(v) == 4 && all_digits(v); }

static bool currency_ok(const char *v) {
    if (strlen(v) != 3) return false;
    for (; *v; v++)
        if (*v < 'A' || *v > 'Z') return false;
    return true;
}

static bool language_ok(const char *v) {
    return strlen(v) == 2 && v[0] >= 'a' && v[0] <= 'z' && v[1] >= 'a' && v[1] <= 'z';
}

/* An IANA zone name ("America/Bogota") naming a TZif file under the zoneinfo directory. The name
 * is checked before it touches the file system: no absolute path, no "." or ".." component. */
static bool timezone_ok(const hilo_debtor_schema_t *s, const char *v) {
    size_t len = strlen(v);
    if (len == 0 || len > 64 || v[0] == '/' || v[len - 1] == '/') return false;
    for (const char *p = v; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
              c == '_' || c == '-' || c == '+'))
            return false;
    }
    if (strstr(v, "//")) return false;
    /* '.' is not allowed above, so "." and ".." components cannot occur. */
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s->zoneinfo, v);
    int fd = open(path, O_RDONLY | O_CLOEXEC); /* symlinks (US/Eastern) are fine: the name was checked */
    if (fd < 0) return false;
    struct stat st;
    char magic[4] = {0};
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4 &&
              memcmp(magic, "TZif", 4) == 0; /* not zone.tab, tzdata.zi and friends */
    close(fd);
    return ok;
}

/* ---- the row ---- */

typedef struct { /* growable string list */
    char **v;
    size_t n;
} list_t;

static void list_add(list_t *l, char *s) {
    l->v = hilo_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = s;
}

static void list_free(list_t *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Splits "a; b;c" on ';', parses each phone as a number of `country` (ISO 3166-1 alpha-2, ""
 * = none: the default country code's), drops duplicates. A number that is not valid (not only
 * impossible: in no range its country assigned) goes to `bad` with its reason; the others load.
 * Why valid and not only possible: a portfolio's number becomes an identity key, and a typo that
 * still has the right length would name nobody, or somebody else. */
static void parse_phones(hilo_debtor_schema_t *s, const char *v, const char *country, list_t *out, list_t *bad) {
    char *copy = hilo_xstrdup(v), *save = NULL;
    for (char *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
        size_t len = strlen(tok);
        const char *t = trim_ws(tok, &len);
        if (len == 0) continue;
        char *one = hilo_xstrndup(t, len), e164[HILO_PHONE_MAX];
        const char *why = NULL;
        if (hilo_phone_parse(one, country, s->default_cc, HILO_PHONE_VALID, e164, sizeof e164, &why) != HILO_OK) {
            char *shown = hilo_text_printable(one, len, 40), msg[256];
            if (*country)
                snprintf(msg, sizeof msg, "phone '%s' (country %s): %s", shown, country, why);
            else
                snprintf(msg, sizeof msg, "phone '%s': %s", shown, why);
            list_add(bad, hilo_xstrdup(msg));
            free(shown);
            free(one);
            continue;
        }
        free(one);
        bool dup = false;
        for (size_t i = 0; i < out->n; i++) dup = dup || strcmp(out->v[i], e164) == 0;
        if (!dup) list_add(out, hilo_xstrdup(e164));
    }
    free(copy);
}

/* The row's country for its phones: the `country` column, trimmed and upper-cased; "" when
 * absent or empty; "?" when it is not two ASCII letters (the phone parser then refuses national
 * numbers as of no known country, phone by phone, and international ones still load). */
static void row_country(const hilo_debtor_schema_t *s, const char *const *fields, const size_t *lens, char out[3]) {
    out[0] = '\0';
    if (s->country_col < 0) return;
    size_t len = lens[s->country_col];
    const char *c = trim_ws(fields[s->country_col], &len);
    if (len == 0) return;
    for (size_t i = 0; i < 2 && i < len; i++) out[i] = (c[i] >= 'a' && c[i] <= 'z') ? (char)(c[i] - 'a' + 'A') : c[i];
    out[2] = '\0';
    if (len != 2 || out[0] < 'A' || out[0] > 'Z' || out[1] < 'A' || out[1] > 'Z') {
        out[0] = '?';
        out[1] = '\0';
    }
}

static char *join(const list_t *l, char sep) {
    size_t total = 1;
    for (size_t i = 0; i < l->n; i++) total += strlen(l->v[i]) + 1;
    char *s = hilo_xmalloc(total), *p = s;
    for (size_t i = 0; i < l->n; i++) {
        if (i) *p++ = sep;
        size_t n = strlen(l->v[i]);
        memcpy(p, l->v[i], n);
        p += n;
    }
    *p = '\0';
    return s;
}

/* Checks one known column's trimmed, non-empty value. */
static bool value_ok(hilo_debtor_schema_t *s, col_kind_t kind, const char *v, const char *country, list_t *phones,
                     list_t *bad) {
    const char *what = NULL;
    switch (kind) {
    case COL_PHONES:
        parse_phones(s, v, country, phones, bad);
        return true;
    case COL_BALANCE:
        if (!balance_ok(v)) what = "is not a decimal number >= 0";
        break;
    case COL_DPD:
        if (!days_ok(v)) what = "is not an integer >= 0";
        break;
    case COL_DOC4:
        if (!doc4_ok(v)) what = "is not exactly 4 digits";
        break;
    case COL_CURRENCY:
        if (!currency_ok(v)) what = "is not 3 uppercase letters (ISO 4217, e.g. USD)";
        break;
    case COL_TZ:
        if (!timezone_ok(s, v)) what = "is not a known time zone (e.g. America/Bogota)";
        break;
    case COL_LANGUAGE:
        if (!language_ok(v)) what = "is not a 2-letter language code (e.g. es, en)";
        break;
    default:
        break;
    }
    if (!what) return true;
    char *shown = hilo_text_printable(v, strlen(v), 40);
    refuse(s, "%s '%s' %s", hilo_debtor_columns[kind], shown, what);
    free(shown);
    return false;
}

hilo_debtor_row_t *hilo_debtor_schema_row(hilo_debtor_schema_t *s, const char *const *fields,
                                          const size_t *lens, size_t n) {
    s->err[0] = '\0';
    snprintf(s->err_id, sizeof s->err_id, "(empty)");
    if (s->id_col < n) {
        size_t len = lens[s->id_col];
        const char *id = trim_ws(fields[s->id_col], &len);
        if (len) {
            char *shown = hilo_text_printable(id, len, HILO_DEBTOR_ID_MAX + 1);
            snprintf(s->err_id, sizeof s->err_id, "%s", shown);
            free(shown);
        }
    }
    if (n != s->n) {
        refuse(s, "row has %zu fields, the header has %zu", n, s->n);
        return NULL;
    }

    hilo_debtor_row_t *row = hilo_xcalloc(1, sizeof *row);
    list_t set_f = {0}, set_v = {0}, clear = {0}, phones = {0}, bad = {0};
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) { /* encoding first: nothing below looks at bad bytes */
        if (memchr(fields[i], '\0', lens[i])) {
            refuse(s, "%s contains a NUL byte", s->field[i]);
            ok = false;
        } else if (!hilo_utf8_valid(fields[i], lens[i])) {
            refuse(s, "%s is not valid UTF-8", s->field[i]);
            ok = false;
        }
    }
    char country[3] = ""; /* the phones' country: the row's own before the default */
    if (ok) row_country(s, fields, lens, country);
    for (size_t i = 0; i < n && ok; i++) {
        size_t len = lens[i];
        const char *t = trim_ws(fields[i], &len);
        char *v = hilo_xstrndup(t, len);
        col_kind_t kind = s->kind[i];
        if (kind == COL_ID) {
            if (!*v) {
                refuse(s, "missing debtor_id");
                ok = false;
            } else if (!hilo_debtor_id_valid(v)) {
                refuse(s, "invalid debtor_id (1-%d of A-Z a-z 0-9 . _ : + -, not starting with u:)",
                       HILO_DEBTOR_ID_MAX);
                ok = false;
            } else {
                row->id = hilo_xstrdup(v);
            }
        } else if (kind == COL_NAME && !*v) {
            refuse(s, "missing full_name");
            ok = false;
        } else if (*v && !value_ok(s, kind, v, country, &phones, &bad)) {
            ok = false;
        }
        if (ok && *v && kind == COL_PHONES) {
            list_add(&set_f, hilo_xstrdup(s->field[i]));
            list_add(&set_v, phones.n ? join(&phones, ';') : hilo_xstrdup(""));
            if (!phones.n) { /* only separators: no phone after all */
                free(set_v.v[--set_v.n]);
                free(set_f.v[--set_f.n]);
                list_add(&clear, hilo_xstrdup(s->field[i]));
            }
        } else if (ok && *v) {
            list_add(&set_f, hilo_xstrdup(s->field[i]));
            list_add(&set_v, hilo_xstrdup(v));
        } else if (ok) {
            list_add(&clear, hilo_xstrdup(s->field[i]));
        }
        free(v);
    }
    row->nset = set_f.n;
    row->set_field = set_f.v;
    row->set_value = set_v.v;
    row->nclear = clear.n;
    row->clear_field = clear.v;
    row->nphones = phones.n;
    row->phones = phones.v;
    row->nbad = bad.n;
    row->bad = bad.v;
    if (!ok) {
        hilo_debtor_row_destroy(&row);
        return NULL;
    }
    return row;
}

void hilo_debtor_row_destroy(hilo_debtor_row_t **row_p) {
    if (!row_p || !*row_p) return;
    hilo_debtor_row_t *r = *row_p;
    list_t l;
    l = (list_t){r->set_field, r->nset};
    list_free(&l);
    l = (list_t){r->set_value, r->nset};
    list_free(&l);
    l = (list_t){r->clear_field, r->nclear};
    list_free(&l);
    l = (list_t){r->phones, r->nphones};
    list_free(&l);
    l = (list_t){r->bad, r->nbad};
    list_free(&l);
    free(r->id);
    free(r);
    *row_p = NULL;
}
