/* signature.h — webhook authenticity checks: Meta's X-Hub-Signature-256 and Twilio's
 * X-Twilio-Signature (form and JSON bodies). Called by the adapters before anything else looks
 * at a webhook; pure computation over the raw bytes as received (libcrypto HMAC), every
 * comparison in constant time. Owns nothing: results go into caller buffers. */
#ifndef HILO_SIGNATURE_H
#define HILO_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>

#include "hilo/form.h"

/* "sha256=" + 64 hex digits + NUL */
#define HILO_SIGNATURE_META_LEN 72
/* base64 of a 20-byte SHA-1 digest + NUL */
#define HILO_SIGNATURE_TWILIO_LEN 29

/* Writes "sha256=<lowercase hex HMAC-SHA256(app_secret, body)>" into out. */
void hilo_signature_meta_compute(const char *app_secret, const void *body, size_t len,
                                 char out[HILO_SIGNATURE_META_LEN]);
/* True when `header` (the X-Hub-Signature-256 value; hex digits of either case) is the HMAC of
 * the raw body. NULL or malformed header = false. An empty secret never validates. */
bool hilo_signature_meta_valid(const char *app_secret, const void *body, size_t len, const char *header);

/* Writes base64(HMAC-SHA1(auth_token, url + name1 + value1 + ...)) into out, the params taken
 * in byte order of name, then of value (duplicate names). params may be NULL (GET, JSON body). */
void hilo_signature_twilio_compute(const char *auth_token, const char *url, const hilo_form_t *params,
                                   char out[HILO_SIGNATURE_TWILIO_LEN]);
/* True when `header` matches the signature of `url` (the full public URL Twilio requested,
 * query included) and the decoded POST params. As twilio's own validators do, the URL is tried
 * twice: with any explicit port removed, and with the scheme's default port (443/80) added when
 * it has none — so a proxy that adds or drops ":443" does not break validation. */
bool hilo_signature_twilio_valid(const char *auth_token, const char *url, const hilo_form_t *params,
                                 const char *header);
/* JSON-body webhooks: the URL carries ?bodySHA256=<hex sha256 of the raw body>. True when the
 * URL (no params) is signed as above AND that hash matches the body. */
bool hilo_signature_twilio_json_valid(const char *auth_token, const char *url, const void *body, size_t len,
                                      const char *header);

#endif
