/* provider.h — the few types the provider modules (whatsapp, twilio, twiml) share: a list of
 * heap-built Envelopes, one outgoing HTTP request described as data, and the classified
 * result of a send. Used by those modules and by the connector adapters; knows nothing of the
 * router, the event loop or HTTP clients. Every string here is heap-allocated and owned by the
 * struct that holds it; the _clear() functions free everything and leave the struct reusable. */
#ifndef HILO_PROVIDER_H
#define HILO_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "hilo/common.h"
#include "hilo/frame.h"

/* ---- envelopes ------------------------------------------------------------------------- */

/* Envelopes built here are ordinary protobuf-c messages whose every string, sub-message and
 * array is malloc'd, so protobuf_c_message_free_unpacked(m, NULL) frees them completely (that
 * is what hilo_provider_envelope_free() does). Unset string fields keep the generated default
 * (protobuf-c's shared empty string), which that function knows not to free. */
typedef struct {
    hilo_envelope_t **items; /* owned; count valid entries */
    size_t count;            /* number of envelopes */
    size_t cap;              /* allocated slots */
} hilo_provider_envs_t;

#define HILO_PROVIDER_ENVS_INIT {NULL, 0, 0}

/* Appends a new, zero-initialised envelope of `channel` and returns it (owned by the list). */
hilo_envelope_t *hilo_provider_envs_add(hilo_provider_envs_t *self, int channel);
/* Removes item i from the list and hands it to the caller (free with hilo_provider_envelope_free). */
hilo_envelope_t *hilo_provider_envs_take(hilo_provider_envs_t *self, size_t i);
/* Frees every envelope and the array. */
void hilo_provider_envs_clear(hilo_provider_envs_t *self);
/* Frees one envelope built by these modules (or unpacked by protobuf-c); accepts NULL. */
void hilo_provider_envelope_free(hilo_envelope_t **env_p);

/* Replaces the string field *field with a copy of s (NULL = the empty default). */
void hilo_provider_set(char **field, const char *s);
/* Same, from printf-style arguments. */
void hilo_provider_setf(char **field, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Attach (and return) a fresh sub-message; each may be called once per envelope. */
hilo_delivery_t *hilo_provider_env_delivery(hilo_envelope_t *env);
hilo_voice_event_t *hilo_provider_env_voice(hilo_envelope_t *env);
hilo_button_t *hilo_provider_env_button(hilo_envelope_t *env);
hilo_media_t *hilo_provider_env_add_media(hilo_envelope_t *env);

/* ---- outgoing HTTP requests ---------------------------------------------------------------- */

/* One provider API call, described as data; the connector runtime performs it. */
typedef struct {
    char *method;       /* "POST" */
    char *url;          /* full URL */
    char *content_type; /* "application/json", "application/x-www-form-urlencoded" */
    char *body;         /* request body, NUL-terminated for convenience */
    size_t body_len;    /* body length in bytes */
    char *bearer;       /* "Authorization: Bearer <bearer>" when not NULL */
    char *basic_user;   /* HTTP basic auth user when not NULL (Twilio AccountSid / API key) */
    char *basic_pass;   /* HTTP basic auth password (Twilio auth token / API secret) */
} hilo_provider_request_t;

void hilo_provider_request_clear(hilo_provider_request_t *self);

/* ---- send results -------------------------------------------------------------------------- */

typedef enum {
    HILO_PROVIDER_SENT = 0, /* the provider accepted the message */
    HILO_PROVIDER_RETRY,    /* not accepted now; the same request may succeed later (429, 5xx, network) */
    HILO_PROVIDER_FINAL     /* refused for good (bad number, bad template, too long...) */
} hilo_provider_outcome_t;

typedef struct {
    hilo_provider_outcome_t outcome;
    long http_status;             /* as given by the caller (0 = no HTTP response) */
    char provider_message_id[256]; /* wamid / MessageSid when SENT ("" if the body did not say) */
    char error_code[32];           /* provider error code ("130429", "21211"), "" if none */
    char error_message[256];       /* provider error text (truncated), "" if none */
} hilo_provider_result_t;

/* Why a module refused to build something (an outbound it cannot send, a payload it cannot
 * read): a short machine code ("too_long", "bad_json") and a human text. */
typedef struct {
    char code[64];     /* stable, snake_case */
    char message[256]; /* detail for logs and DeliveryReport.error_message; never message bodies */
} hilo_provider_error_t;

/* Fills e (when not NULL) and returns HILO_ERR, so that a failure is one line. */
int hilo_provider_fail(hilo_provider_error_t *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- small text helpers shared by the modules ------------------------------------------------ */

/* Number of Unicode code points in valid UTF-8 text. */
size_t hilo_provider_utf8_chars(const char *s, size_t len);
/* Growable string buffer (always NUL-terminated). */
typedef struct {
    char *data;  /* owned; NUL-terminated */
    size_t len;  /* bytes used, excluding the NUL */
    size_t cap;  /* bytes allocated */
} hilo_provider_buf_t;

#define HILO_PROVIDER_BUF_INIT {NULL, 0, 0}

void hilo_provider_buf_add(hilo_provider_buf_t *b, const char *s, size_t n);
void hilo_provider_buf_adds(hilo_provider_buf_t *b, const char *s);
void hilo_provider_buf_addf(hilo_provider_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string to the caller (never NULL) and resets the buffer. */
char *hilo_provider_buf_take(hilo_provider_buf_t *b);
void hilo_provider_buf_free(hilo_provider_buf_t *b);

#endif
