/* csv.h — a streaming RFC 4180 reader: quoted fields, "" escapes, commas and line breaks inside
 * quotes, CRLF or LF (or a lone CR) line ends, an optional UTF-8 byte order mark.
 * Used by `hilo import-debtors`. It borrows the FILE and owns the current record's fields,
 * which stay valid until the next hilo_csv_next(). It knows nothing of debtors. */
#ifndef HILO_CSV_H
#define HILO_CSV_H

#include <stddef.h>
#include <stdio.h>

#define HILO_CSV_RECORD 1      /* a record was read */
#define HILO_CSV_END 0         /* no more records */
#define HILO_CSV_BAD 2         /* a malformed record was skipped; hilo_csv_error() says why */
#define HILO_CSV_RECORD_MAX (1u << 20) /* longest record accepted (bytes) ... */
#define HILO_CSV_FIELDS_MAX 4096u      /* ... and most fields in one record */

typedef struct hilo_csv hilo_csv_t;

/* Reads from `f` (borrowed, must outlive the reader). */
hilo_csv_t *hilo_csv_new(FILE *f);
void hilo_csv_destroy(hilo_csv_t **self_p);

/* Reads the next record. Blank lines between records are skipped. Returns HILO_CSV_RECORD,
 * HILO_CSV_END, HILO_CSV_BAD (the reader has moved past the bad record: keep calling), or
 * HILO_ERR on a read error (error set).
 * Leniency, on purpose: a '"' inside an unquoted field is kept as a character (spreadsheets
 * write 12" screen), but text after a closing quote other than ',' or a line end is an error,
 * since the field's end is then ambiguous. */
int hilo_csv_next(hilo_csv_t *self);

/* The current record (after HILO_CSV_RECORD). Fields are NUL-terminated; *len (when not NULL)
 * is the true length, which is larger than strlen() when the data holds a NUL byte. */
size_t hilo_csv_count(const hilo_csv_t *self);
const char *hilo_csv_field(const hilo_csv_t *self, size_t i, size_t *len);

/* Physical line (1-based) where the current or last bad record starts. */
long hilo_csv_line(const hilo_csv_t *self);

/* Why the last call returned HILO_CSV_BAD or HILO_ERR; "" otherwise. */
const char *hilo_csv_error(const hilo_csv_t *self);

#endif
