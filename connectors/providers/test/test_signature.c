/* test_signature.c — every vector of meta_x_hub_signature_256_vectors.txt and
 * twilio_x_twilio_signature_vectors.txt, parsed from the fixture files themselves, plus
 * tampered bodies, URLs, params and keys that must fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/signature.h"
#include "testutil.h"

/* ---- a tiny parser for the "[section]" / "key: value" vector files ----------------------- */

#define MAX_KEYS 16
typedef struct {
    char title[128];
    char *keys[MAX_KEYS];
    char *vals[MAX_KEYS];
    int n;
} vector_t;

static int parse_vectors(char *text, vector_t *out, int max) {
    int count = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || line[0] == '\0') continue;
        if (line[0] == '[') {
            if (++count >= max) fail_msg("too many vectors");
            memset(&out[count], 0, sizeof out[count]);
            snprintf(out[count].title, sizeof out[count].title, "%s", line);
            continue;
        }
        if (count < 0) continue;
        char *colon = strstr(line, ": ");
        if (!colon) continue;
        *colon = '\0';
        vector_t *v = &out[count];
        assert_true(v->n < MAX_KEYS);
        v->keys[v->n] = line;
        v->vals[v->n] = colon + 2;
        v->n++;
    }
    return count + 1;
}

/* The value of the first key starting with `prefix` ("body" matches "body (4 bytes...)"). */
static const char *get(const vector_t *v, const char *prefix) {
    for (int i = 0; i < v->n; i++)
        if (strncmp(v->keys[i], prefix, strlen(prefix)) == 0) return v->vals[i];
    return NULL;
}

/* ---- Meta ---------------------------------------------------------------------------------- */

static void test_meta_vectors(void **state) {
    char *text = fixture("meta_x_hub_signature_256_vectors.txt", NULL);
    vector_t v[4];
    int n = parse_vectors(text, v, 4);
    assert_int_equal(n, 1);
    for (int i = 0; i < n; i++) {
        const char *secret = get(&v[i], "app_secret"), *body = get(&v[i], "body");
        const char *hex = get(&v[i], "hex_digest"), *header = get(&v[i], "header");
        assert_non_null(secret);
        assert_non_null(body);
        assert_non_null(hex);
        assert_non_null(header);
        assert_string_equal(body, "test");
        const char *hv = strstr(header, "sha256=");
        assert_non_null(hv);

        char sig[HILO_SIGNATURE_META_LEN];
        hilo_signature_meta_compute(secret, body, strlen(body), sig);
        assert_string_equal(sig + 7, hex);
        assert_string_equal(sig, hv);
        assert_true(hilo_signature_meta_valid(secret, body, strlen(body), hv));

        /* Uppercase hex is the same signature. */
        char upper[HILO_SIGNATURE_META_LEN];
        strcpy(upper, hv);
        for (char *p = upper + 7; *p; p++)
            if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 32);
        assert_true(hilo_signature_meta_valid(secret, body, strlen(body), upper));

        /* Tampering. */
        assert_false(hilo_signature_meta_valid(secret, "tesT", 4, hv));
        assert_false(hilo_signature_meta_valid(secret, "test ", 5, hv));
        assert_false(hilo_signature_meta_valid(secret, body, 3, hv));
        assert_false(hilo_signature_meta_valid("TEST_APP_SECRET_", body, 4, hv));
        assert_false(hilo_signature_meta_valid("", body, 4, hv));
        assert_false(hilo_signature_meta_valid(secret, body, 4, hex)); /* no "sha256=" */
        assert_false(hilo_signature_meta_valid(secret, body, 4, NULL));
        assert_false(hilo_signature_meta_valid(secret, body, 4, "sha256="));
        assert_false(hilo_signature_meta_valid(secret, body, 4, "sha1=0c61947b610d4f45e65f3d680e26027121ec2413"));
        char flipped[HILO_SIGNATURE_META_LEN];
        strcpy(flipped, hv);
        flipped[20] = flipped[20] == '0' ? '1' : '0';
        assert_false(hilo_signature_meta_valid(secret, body, 4, flipped));
        char longer[HILO_SIGNATURE_META_LEN + 2];
        snprintf(longer, sizeof longer, "%s00", hv);
        assert_false(hilo_signature_meta_valid(secret, body, 4, longer));
    }
    free(text);
}

static void test_meta_fixture_body(void **state) {
    /* A real webhook body: signing and checking the raw bytes round-trips, one byte off fails. */
    size_t len;
    char *body = fixture("wa_inbound_text.min.json", &len);
    assert_int_equal(len, 499);
    char sig[HILO_SIGNATURE_META_LEN];
    hilo_signature_meta_compute("app-secret", body, len, sig);
    assert_true(hilo_signature_meta_valid("app-secret", body, len, sig));
    body[100] ^= 1;
    assert_false(hilo_signature_meta_valid("app-secret", body, len, sig));
    free(body);
}

/* ---- Twilio -------------------------------------------------------------------------------- */

/* "A=1, B=+2" -> form fields with these (already decoded) values; "(none)" -> empty. */
static hilo_form_t *params_from(const char *list) {
    hilo_form_t *f = hilo_form_new();
    if (!list || strcmp(list, "(none)") == 0) return f;
    char *copy = strdup(list);
    for (char *item = strtok(copy, ","); item; item = strtok(NULL, ",")) {
        while (*item == ' ') item++;
        char *eq = strchr(item, '=');
        assert_non_null(eq);
        *eq = '\0';
        hilo_form_add(f, item, eq + 1);
    }
    free(copy);
    return f;
}

/* The same params as the body Twilio would POST, decoded by our form parser. */
static hilo_form_t *params_via_body(const hilo_form_t *p) {
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    for (size_t i = 0; i < hilo_form_size(p); i++)
        hilo_form_encode_pair(&b, hilo_form_at(p, i)->name, hilo_form_at(p, i)->value);
    char err[64];
    hilo_form_t *f = hilo_form_parse(b.data ? b.data : "", b.len, err, sizeof err);
    assert_non_null(f);
    hilo_provider_buf_free(&b);
    return f;
}

/* Base64 HMAC-SHA1 straight from libcrypto: checks the vector file's own "data:" lines. */
static void raw_sign(const char *key, const char *data, char out[HILO_SIGNATURE_TWILIO_LEN]) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)data, strlen(data), mac, &n);
    EVP_EncodeBlock((unsigned char *)out, mac, (int)n);
}

static void tamper_checks(const char *token, const char *url, const hilo_form_t *params, const char *sig) {
    /* altered URL */
    char url2[512];
    snprintf(url2, sizeof url2, "%s", url);
    char *php = strstr(url2, "myapp.php");
    assert_non_null(php);
    php[0] = 'M';
    assert_false(hilo_signature_twilio_valid(token, url2, params, sig));
    snprintf(url2, sizeof url2, "%s&x=1", url);
    assert_false(hilo_signature_twilio_valid(token, url2, params, sig));
    /* altered key */
    assert_false(hilo_signature_twilio_valid("12346", url, params, sig));
    assert_false(hilo_signature_twilio_valid("", url, params, sig));
    /* altered, added, removed parameter */
    size_t n = hilo_form_size(params);
    for (size_t skip = 0; skip < n; skip++) {
        hilo_form_t *changed = hilo_form_new(), *removed = hilo_form_new();
        for (size_t i = 0; i < n; i++) {
            const hilo_form_field_t *fl = hilo_form_at(params, i);
            hilo_form_add(changed, fl->name, i == skip ? "9" : fl->value);
            if (i != skip) hilo_form_add(removed, fl->name, fl->value);
        }
        assert_false(hilo_signature_twilio_valid(token, url, changed, sig));
        assert_false(hilo_signature_twilio_valid(token, url, removed, sig));
        hilo_form_destroy(&changed);
        hilo_form_destroy(&removed);
    }
    hilo_form_t *added = hilo_form_new();
    for (size_t i = 0; i < n; i++) hilo_form_add(added, hilo_form_at(params, i)->name, hilo_form_at(params, i)->value);
    hilo_form_add(added, "ApiVersion", "2010-04-01");
    assert_false(hilo_signature_twilio_valid(token, url, added, sig));
    hilo_form_destroy(&added);
    /* altered signature */
    char sig2[HILO_SIGNATURE_TWILIO_LEN];
    strcpy(sig2, sig);
    sig2[3] = sig2[3] == 'A' ? 'B' : 'A';
    assert_false(hilo_signature_twilio_valid(token, url, params, sig2));
    assert_false(hilo_signature_twilio_valid(token, url, params, ""));
    assert_false(hilo_signature_twilio_valid(token, url, params, NULL));
}

static void test_twilio_vectors(void **state) {
    char *text = fixture("twilio_x_twilio_signature_vectors.txt", NULL);
    vector_t v[10];
    int n = parse_vectors(text, v, 10);
    assert_int_equal(n, 7);
    const char *token = NULL, *params_list = NULL, *t1_params = NULL, *t1_url = NULL, *t1_sig = NULL;
    int checked = 0;
    for (int i = 0; i < n; i++) {
        if (get(&v[i], "auth_token")) token = get(&v[i], "auth_token");
        /* "same params as T1": a vector without its own params uses T1's list. */
        const char *plist = NULL;
        params_list = t1_params;
        for (int k = 0; k < v[i].n; k++)
            if (strcmp(v[i].keys[k], "params") == 0) params_list = v[i].vals[k];
        if (i == 0) t1_params = params_list;
        const char *expected = get(&v[i], "expected");
        assert_non_null(token);
        assert_non_null(expected);
        char sig[HILO_SIGNATURE_TWILIO_LEN];

        if (get(&v[i], "body")) { /* T6: JSON body, bodySHA256 in the URL */
            const char *body = get(&v[i], "body"), *url = get(&v[i], "url signed");
            const char *sha = get(&v[i], "bodySHA256");
            assert_non_null(url);
            assert_non_null(sha);
            assert_int_equal(strlen(body), 38);
            unsigned char d[SHA256_DIGEST_LENGTH];
            SHA256((const unsigned char *)body, strlen(body), d);
            char hex[65];
            for (int k = 0; k < 32; k++) snprintf(hex + 2 * k, 3, "%02x", d[k]);
            assert_string_equal(hex, sha);
            assert_non_null(strstr(url, sha));
            hilo_signature_twilio_compute(token, url, NULL, sig);
            assert_string_equal(sig, expected);
            assert_true(hilo_signature_twilio_json_valid(token, url, body, strlen(body), expected));
            /* altered body, altered URL, altered signature, missing bodySHA256 */
            assert_false(hilo_signature_twilio_json_valid(token, url, "{\"property\": \"value\", \"boolean\": false}",
                                                          38, expected));
            char url2[512];
            snprintf(url2, sizeof url2, "%s", url);
            strstr(url2, "foo=1")[4] = '2';
            assert_false(hilo_signature_twilio_json_valid(token, url2, body, strlen(body), expected));
            assert_false(hilo_signature_twilio_json_valid(token, "https://mycompany.com/myapp.php?foo=1&bar=2", body,
                                                          strlen(body), expected));
            assert_false(hilo_signature_twilio_json_valid("54321", url, body, strlen(body), expected));
            checked++;
            continue;
        }

        const char *url = get(&v[i], "url") ? get(&v[i], "url") : t1_url; /* T7 reuses T1's URL */
        assert_non_null(url);
        bool as_received = false;
        for (int k = 0; k < v[i].n; k++)
            if (strcmp(v[i].keys[k], "params (as received)") == 0) {
                plist = v[i].vals[k];
                as_received = true;
            }
        hilo_form_t *params = params_from(as_received ? plist : params_list);
        hilo_signature_twilio_compute(token, url, params, sig);
        assert_string_equal(sig, expected);
        if (get(&v[i], "data")) { /* the file's own data line signs to the same value */
            char raw[HILO_SIGNATURE_TWILIO_LEN];
            raw_sign(token, get(&v[i], "data"), raw);
            assert_string_equal(raw, expected);
        }
        assert_true(hilo_signature_twilio_valid(token, url, params, expected));
        hilo_form_t *decoded = params_via_body(params); /* through a real urlencoded body */
        assert_true(hilo_signature_twilio_valid(token, url, decoded, expected));
        hilo_form_destroy(&decoded);
        tamper_checks(token, url, params, expected);

        if (i == 0) {
            t1_url = url;
            t1_sig = expected;
        }
        if (strstr(url, ":443")) {
            /* T3: the :443 form and the bare form validate each other's signature. */
            assert_true(hilo_signature_twilio_valid(token, url, params, t1_sig));
            assert_true(hilo_signature_twilio_valid(token, t1_url, params, expected));
        }
        if (strstr(url, ":80/")) { /* T4: the bare http URL validates with the :80 signature */
            assert_true(hilo_signature_twilio_valid(token, "http://mycompany.com/myapp.php?foo=1&bar=2", params,
                                                    expected));
        }
        if (strstr(url, ":1234")) { /* T5: a non-default port is not interchangeable with :80 */
            assert_false(hilo_signature_twilio_valid(token, "http://mycompany.com:80/myapp.php?foo=1&bar=2", params,
                                                     expected));
        }
        if (as_received) { /* T7: arrival order does not matter, the sort does */
            hilo_form_t *rev = hilo_form_new();
            for (size_t k = hilo_form_size(params); k-- > 0;)
                hilo_form_add(rev, hilo_form_at(params, k)->name, hilo_form_at(params, k)->value);
            assert_true(hilo_signature_twilio_valid(token, url, rev, expected));
            hilo_form_destroy(&rev);
        }
        hilo_form_destroy(&params);
        checked++;
    }
    assert_int_equal(checked, 7);
    free(text);
}

static void test_twilio_url_variants_edge_cases(void **state) {
    hilo_form_t *p = hilo_form_new();
    hilo_form_add(p, "CallSid", "CA1");
    char sig[HILO_SIGNATURE_TWILIO_LEN];
    /* userinfo and IPv6 literal: the port is found after them */
    hilo_signature_twilio_compute("tok", "https://u:p@example.com:443/x", p, sig);
    assert_true(hilo_signature_twilio_valid("tok", "https://u:p@example.com/x", p, sig));
    hilo_signature_twilio_compute("tok", "https://[::1]/x?y=1", p, sig);
    assert_true(hilo_signature_twilio_valid("tok", "https://[::1]:443/x?y=1", p, sig));
    /* no path at all */
    hilo_signature_twilio_compute("tok", "https://example.com", p, sig);
    assert_true(hilo_signature_twilio_valid("tok", "https://example.com:443", p, sig));
    assert_false(hilo_signature_twilio_valid("tok", "http://example.com", p, sig));
    hilo_form_destroy(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_vectors),
        cmocka_unit_test(test_meta_fixture_body),
        cmocka_unit_test(test_twilio_vectors),
        cmocka_unit_test(test_twilio_url_variants_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
