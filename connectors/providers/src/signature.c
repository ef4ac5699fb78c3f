/* signature.c — X-Hub-Signature-256 and X-Twilio-Signature. */
#include "hilo/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"

static const char HEX[] = "0123456789abcdef";

static void to_hex(const unsigned char *d, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[d[i] >> 4];
        out[2 * i + 1] = HEX[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parses exactly 2*n hex digits into out; false on anything else. */
static bool from_hex(const char *s, unsigned char *out, size_t n) {
    if (strlen(s) != 2 * n) return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return true;
}

/* ---- Meta ---------------------------------------------------------------------------------- */

static void meta_mac(const char *secret, const void *body, size_t len, unsigned char mac[32]) {
    unsigned int mlen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &mlen);
}

void hilo_signature_meta_compute(const char *app_secret, const void *body, size_t len,
                                 char out[HILO_SIGNATURE_META_LEN]) {
    unsigned char mac[32];
    meta_mac(app_secret, body, len, mac);
    memcpy(out, "sha256=", 7);
    to_hex(mac, sizeof mac, out + 7);
}

bool hilo_signature_meta_valid(const char *app_secret, const void *body, size_t len, const char *header) {
    if (!app_secret || !*app_secret || !header || strncmp(header, "sha256=", 7) != 0) return false;
    unsigned char want[32], got[32];
    if (!from_hex(header + 7, got, sizeof got)) return false;
    meta_mac(app_secret, body, len, want);
    return CRYPTO_memcmp(want, got, sizeof want) == 0;
}

/* ---- Twilio -------------------------------------------------------------------------------- */

static int field_cmp(const void *a, const void *b) {
    const hilo_form_field_t *x = *(const hilo_form_field_t *const *)a, *y = *(const hilo_form_field_t *const *)b;
    int c = strcmp(x->name, y->name); /* strcmp orders by unsigned byte value: what Twilio sorts by */
    return c ? c : strcmp(x->value, y->value);
}

void hilo_signature_twilio_compute(const char *auth_token, const char *url, const hilo_form_t *params,
                                   char out[HILO_SIGNATURE_TWILIO_LEN]) {
    hilo_provider_buf_t data = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&data, url);
    size_t n = params ? hilo_form_size(params) : 0;
    if (n) {
        const hilo_form_field_t **sorted = hilo_xmalloc(n * sizeof *sorted);
        for (size_t i = 0; i < n; i++) sorted[i] = hilo_form_at(params, i);
        qsort(sorted, n, sizeof *sorted, field_cmp);
        for (size_t i = 0; i < n; i++) {
            hilo_provider_buf_adds(&data, sorted[i]->name);
            hilo_provider_buf_adds(&data, sorted[i]->value);
        }
        free(sorted);
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    HMAC(EVP_sha1(), auth_token, (int)strlen(auth_token), (const unsigned char *)(data.data ? data.data : ""),
         data.len, mac, &mlen);
    EVP_EncodeBlock((unsigned char *)out, mac, (int)mlen); /* 20 bytes -> 28 chars + NUL */
    hilo_provider_buf_free(&data);
}

/* The two spellings of `url` twilio's validators accept: without an explicit port, and with
 * one (the scheme's default added when absent). Either may equal `url` itself. */
static void url_variants(const char *url, char **without, char **with) {
    const char *sep = strstr(url, "://");
    if (!sep) {
        *without = hilo_xstrdup(url);
        *with = hilo_xstrdup(url);
        return;
    }
    const char *auth = sep + 3;
    const char *end = auth + strcspn(auth, "/?#");
    const char *host = auth; /* skip userinfo: the port follows the last '@' */
    for (const char *p = auth; p < end; p++)
        if (*p == '@') host = p + 1;
    const char *colon = NULL; /* ':' that starts the port, outside an IPv6 literal */
    const char *scan = host;
    if (*scan == '[') {
        const char *rb = memchr(scan, ']', (size_t)(end - scan));
        scan = rb ? rb + 1 : end;
    }
    for (const char *p = scan; p < end; p++)
        if (*p == ':') colon = p;
    bool https = (size_t)(sep - url) == 5 && strncasecmp(url, "https", 5) == 0;
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    if (colon) {
        hilo_provider_buf_add(&b, url, (size_t)(colon - url));
        hilo_provider_buf_adds(&b, end);
        *without = hilo_provider_buf_take(&b);
        *with = hilo_xstrdup(url);
    } else {
        *without = hilo_xstrdup(url);
        hilo_provider_buf_add(&b, url, (size_t)(end - url));
        hilo_provider_buf_adds(&b, https ? ":443" : ":80");
        hilo_provider_buf_adds(&b, end);
        *with = hilo_provider_buf_take(&b);
    }
}

static bool sig_equal(const char *a, const char *b) {
    size_t n = strlen(a);
    return strlen(b) == n && CRYPTO_memcmp(a, b, n) == 0;
}

bool hilo_signature_twilio_valid(const char *auth_token, const char *url, const hilo_form_t *params,
                                 const char *header) {
    if (!auth_token || !*auth_token || !url || !header) return false;
    char *without, *with;
    url_variants(url, &without, &with);
    char sig1[HILO_SIGNATURE_TWILIO_LEN], sig2[HILO_SIGNATURE_TWILIO_LEN];
    hilo_signature_twilio_compute(auth_token, without, params, sig1);
    hilo_signature_twilio_compute(auth_token, with, params, sig2);
    free(without);
    free(with);
    /* Both comparisons always run: which form matched is not worth a timing signal. */
    bool ok1 = sig_equal(sig1, header), ok2 = sig_equal(sig2, header);
    return ok1 || ok2;
}

bool hilo_signature_twilio_json_valid(const char *auth_token, const char *url, const void *body, size_t len,
                                      const char *header) {
    if (!auth_token || !*auth_token || !url || !header) return false;
    const char *q = strchr(url, '?');
    if (!q) return false;
    q++;
    char err[64];
    hilo_form_t *query = hilo_form_parse(q, strcspn(q, "#"), err, sizeof err);
    if (!query) return false;
    const char *claimed = hilo_form_get(query, "bodySHA256");
    unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
    bool hash_ok = false;
    if (claimed && from_hex(claimed, got, sizeof got)) {
        SHA256(body, len, want);
        hash_ok = CRYPTO_memcmp(want, got, sizeof want) == 0;
    }
    hilo_form_destroy(&query);
    bool sig_ok = hilo_signature_twilio_valid(auth_token, url, NULL, header);
    return hash_ok && sig_ok;
}
