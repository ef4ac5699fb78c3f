/* debtor_schema.h — the portfolio CSV's columns and the rules each row must meet before it is
 * imported: header mapping (known columns, the rest kept as attr:<name>) and row validation
 * (debtor id, phones parsed in the row's own country and formatted E.164 by libphonenumber
 * (phone.h), amounts, codes, time zone, UTF-8).
 * Used by `hilo import-debtors`; pure apart from reading the zoneinfo directory. The schema owns
 * its copies of the header; a row it returns is owned by the caller (hilo_debtor_row_destroy). */
#ifndef HILO_DEBTOR_SCHEMA_H
#define HILO_DEBTOR_SCHEMA_H

#include <stddef.h>

#define HILO_ZONEINFO_DIR "/usr/share/zoneinfo"

/* One valid row, ready to be written as the hilo:{d:ID}:debtor hash. */
typedef struct {
    char *id;            /* debtor id */
    size_t nset;         /* fields to set, in column order (values trimmed; phones normalized) */
    char **set_field;    /* "full_name", "phones", "attr:segment", ... */
    char **set_value;
    size_t nclear;       /* columns present in the file but empty in this row: to delete */
    char **clear_field;
    size_t nphones;      /* the phones, E.164, file order, no duplicates */
    char **phones;
    size_t nbad;         /* phones refused ("phone 'X': reason"): the row loads without them */
    char **bad;
} hilo_debtor_row_t;

typedef struct hilo_debtor_schema hilo_debtor_schema_t;

/* Maps a header row. Column names are trimmed; known names match case-insensitively. Fails
 * (NULL, reason in err) on an empty or duplicate name, invalid UTF-8, or a missing debtor_id or
 * full_name column. default_cc: country calling code for national phone numbers of rows with no
 * `country` (may be NULL; a row's own country, ISO 3166-1 alpha-2, always comes first);
 * zoneinfo_dir: where time zones are looked up (NULL = HILO_ZONEINFO_DIR). */
hilo_debtor_schema_t *hilo_debtor_schema_new(const char *const *names, const size_t *lens, size_t n,
                                             const char *default_cc, const char *zoneinfo_dir, char *err,
                                             size_t errlen);
void hilo_debtor_schema_destroy(hilo_debtor_schema_t **self_p);

/* Validates one record (fields with their lengths, as the CSV reader gives them). Returns a new
 * row, or NULL with the reason in hilo_debtor_schema_error() and the row's debtor id, made
 * printable, in hilo_debtor_schema_error_id() ("(empty)" when it has none). A phone that is not
 * a valid number does not refuse the row: it is left out and named in row->bad. */
hilo_debtor_row_t *hilo_debtor_schema_row(hilo_debtor_schema_t *self, const char *const *fields,
                                          const size_t *lens, size_t n);
const char *hilo_debtor_schema_error(const hilo_debtor_schema_t *self);
const char *hilo_debtor_schema_error_id(const hilo_debtor_schema_t *self);

void hilo_debtor_row_destroy(hilo_debtor_row_t **row_p);

/* The known columns in their canonical order (for display); NULL-terminated. */
extern const char *const hilo_debtor_columns[];

#endif
