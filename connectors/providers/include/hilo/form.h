/* form.h — application/x-www-form-urlencoded: strict decoding of Twilio webhook bodies and of
 * URL query strings ('+' is a space, %XX a byte, repeated names kept in arrival order), and
 * encoding of the form bodies we POST to Twilio. Used by the signature and twilio modules and
 * by the adapters. A decoded form owns copies of every name and value. */
#ifndef HILO_FORM_H
#define HILO_FORM_H

#include <stddef.h>

#include "hilo/provider.h"

typedef struct {
    char *name;  /* decoded, NUL-terminated */
    char *value; /* decoded, NUL-terminated ("" when the pair had no '=') */
} hilo_form_field_t;

typedef struct hilo_form hilo_form_t;

/* Decodes `len` bytes of `s` (a body, or a query string without its '?'). Empty segments
 * ("a=1&&b=2") are skipped. A '%' not followed by two hex digits, or %00 (a NUL would cut the
 * C string short and so change what the signature covers), is an error: returns NULL with the
 * reason in err. */
hilo_form_t *hilo_form_parse(const char *s, size_t len, char *err, size_t errlen);
/* An empty form (nothing parsed), e.g. for a GET without a query. */
hilo_form_t *hilo_form_new(void);
void hilo_form_destroy(hilo_form_t **self_p);

size_t hilo_form_size(const hilo_form_t *self);
/* Field i in arrival order; NULL when out of range. Valid until destroy. */
const hilo_form_field_t *hilo_form_at(const hilo_form_t *self, size_t i);
/* Value of the first field called `name`, or NULL. Valid until destroy. */
const char *hilo_form_get(const hilo_form_t *self, const char *name);
/* Appends a field (copies both strings). */
void hilo_form_add(hilo_form_t *self, const char *name, const char *value);

/* Appends `s` percent-encoded for a form body or query: unreserved bytes (A-Z a-z 0-9 - . _ ~)
 * as they are, space as '+', everything else %XX. */
void hilo_form_encode(hilo_provider_buf_t *out, const char *s);
/* Appends "name=value" (encoded), preceded by '&' unless `out` is empty. */
void hilo_form_encode_pair(hilo_provider_buf_t *out, const char *name, const char *value);

#endif
