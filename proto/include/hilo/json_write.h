/* json_write.h — JSON objects written straight into a hilo_buf_t, for the hot paths (the
 * history item of every inbound message) where building a jansson tree only to print it
 * costs more than the message's own Redis work. The text is what jansson's
 * json_dumps(..., JSON_COMPACT) prints for the same fields added in the same order: keys in
 * that order; strings escaped like jansson ('"', '\\', control characters; UTF-8 passed
 * through: callers hand in valid UTF-8); reals as "%.17g" with ".0" added to a whole number and
 * the exponent's '+' and leading zeros dropped (jansson refuses a non-finite real; here it is
 * written as null: callers check).
 *
 *   hilo_jobj_t o;
 *   hilo_jobj_begin(&o, &buf);
 *   hilo_jobj_str(&o, "ch", "sms");
 *   hilo_jobj_int(&o, "sent_ms", 1795400000000);
 *   hilo_jobj_end(&o);
 *
 * A nested object or array is written after hilo_jobj_key() with another hilo_jobj_t (or by
 * hand for an array). */
#ifndef HILO_JSON_WRITE_H
#define HILO_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo/buf.h"

typedef struct {
    hilo_buf_t *b;
    bool first; /* no member written yet */
} hilo_jobj_t;

/* A JSON string of the n bytes at s, quoted and escaped. */
void hilo_json_string(hilo_buf_t *b, const char *s, size_t n);

void hilo_jobj_begin(hilo_jobj_t *o, hilo_buf_t *b);
/* The member's key and ':' (its value follows, written by the caller). */
void hilo_jobj_key(hilo_jobj_t *o, const char *key);
void hilo_jobj_str(hilo_jobj_t *o, const char *key, const char *value);
void hilo_jobj_strn(hilo_jobj_t *o, const char *key, const char *value, size_t n);
/* Only when value is non-NULL and not empty. */
void hilo_jobj_str_opt(hilo_jobj_t *o, const char *key, const char *value);
void hilo_jobj_int(hilo_jobj_t *o, const char *key, int64_t value);
void hilo_jobj_real(hilo_jobj_t *o, const char *key, double value);
void hilo_jobj_end(hilo_jobj_t *o);

#endif
