/* adapter.c — the helpers adapters call to fill their results (adapter.h): webhook answers,
 * envelope copies, HTTP responses, send plans, query parameters. */
#include "hilo/adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* ----- responses ----- */

void hilo_http_response_set(hilo_http_response_t *r, int status, const char *content_type,
                            const char *body, size_t len) {
    free(r->body);
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "%s", content_type ? content_type : "");
    if (body && len == (size_t)-1) len = strlen(body);
    if (!body) len = 0;
    r->body = hilo_xmalloc(len + 1);
    if (len) memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->body_len = len;
}

void hilo_http_response_clear(hilo_http_response_t *r) {
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ----- webhook results ----- */

void hilo_webhook_result_init(hilo_webhook_result_t *out) {
    memset(out, 0, sizeof *out);
    out->answer = HILO_ANSWER_NOW;
    out->why = "unset";
    out->reply_index = -1;
}

static void drop_envelopes(hilo_webhook_result_t *out) {
    for (size_t i = 0; i < out->n_envelopes; i++) free(out->env_buf[i]);
    out->n_envelopes = 0;
    out->reply_index = -1;
}

void hilo_webhook_result_release(hilo_webhook_result_t *out) {
    drop_envelopes(out);
    hilo_http_response_clear(&out->response);
}

void hilo_webhook_answer_now(hilo_webhook_result_t *out, int status, const char *content_type,
                             const char *body, const char *why) {
    out->answer = HILO_ANSWER_NOW;
    out->why = why ? why : "none";
    hilo_http_response_set(&out->response, status, content_type, body, (size_t)-1);
}

void hilo_webhook_answer_after_ack(hilo_webhook_result_t *out, int status, const char *content_type,
                                   const char *body, const char *why) {
    out->answer = HILO_ANSWER_AFTER_ACK;
    out->why = why ? why : "ok";
    hilo_http_response_set(&out->response, status, content_type, body, (size_t)-1);
}

void hilo_webhook_answer_reply(hilo_webhook_result_t *out, const char *why) {
    out->answer = HILO_ANSWER_REPLY;
    out->why = why ? why : "turn";
}

int hilo_webhook_add_envelope(hilo_webhook_result_t *out, const hilo_envelope_t *env) {
    if (out->n_envelopes >= HILO_WEBHOOK_MAX_ENVELOPES) return HILO_ERR;
    if (env->wants_reply && out->reply_index >= 0) return HILO_ERR;
    /* Deep copy by serialization: the adapter's envelope (and its strings) can go away now. */
    size_t len = hilo__link__v1__envelope__get_packed_size(env);
    uint8_t *buf = hilo_xmalloc(len ? len : 1);
    hilo__link__v1__envelope__pack(env, buf);
    if (env->wants_reply) out->reply_index = (int)out->n_envelopes;
    out->env_buf[out->n_envelopes] = buf;
    out->env_len[out->n_envelopes] = len;
    out->n_envelopes++;
    return HILO_OK;
}

/* ----- query parameters ----- */

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

const char *hilo_http_query_param(const hilo_http_request_t *req, const char *name, char *buf,
                                  size_t buflen) {
    if (!req->query || !buflen) return NULL;
    size_t nlen = strlen(name);
    const char *p = req->query;
    while (*p) {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', plen);
        size_t klen = eq ? (size_t)(eq - p) : plen;
        if (klen == nlen && memcmp(p, name, nlen) == 0) {
            size_t vlen = eq ? plen - klen - 1 : 0, o = 0;
            const char *v = eq ? eq + 1 : p + plen;
            for (size_t i = 0; i < vlen; i++, o++) {
                if (o + 1 >= buflen) return NULL;
                if (v[i] == '+') {
                    buf[o] = ' ';
                } else if (v[i] == '%') {
                    int hi = i + 2 < vlen ? hex_digit(v[i + 1]) : -1, lo = hi >= 0 ? hex_digit(v[i + 2]) : -1;
                    if (lo < 0) return NULL;
                    buf[o] = (char)(hi << 4 | lo);
                    i += 2;
                } else {
                    buf[o] = v[i];
                }
            }
            buf[o] = '\0';
            return buf;
        }
        if (!end) break;
        p = end + 1;
    }
    return NULL;
}

/* ----- send plans ----- */

void hilo_send_plan_init(hilo_send_plan_t *p) { memset(p, 0, sizeof *p); }

void hilo_send_plan_release(hilo_send_plan_t *p) {
    for (size_t i = 0; i < p->n_calls; i++) {
        hilo_http_call_t *c = &p->calls[i];
        free(c->url);
        free(c->body);
        for (size_t h = 0; h < c->n_headers; h++) free(c->headers[h]);
    }
    memset(p, 0, sizeof *p);
}

hilo_http_call_t *hilo_send_plan_add_call(hilo_send_plan_t *p, const char *method, const char *url) {
    if (p->n_calls >= HILO_SEND_MAX_CALLS) return NULL;
    hilo_http_call_t *c = &p->calls[p->n_calls++];
    memset(c, 0, sizeof *c);
    snprintf(c->method, sizeof c->method, "%s", method ? method : "POST");
    c->url = hilo_xstrdup(url ? url : "");
    return c;
}

int hilo_http_call_add_header(hilo_http_call_t *c, const char *name, const char *value) {
    if (c->n_headers >= HILO_SEND_MAX_HEADERS) return HILO_ERR;
    size_t len = strlen(name) + strlen(value) + 3;
    char *h = hilo_xmalloc(len);
    snprintf(h, len, "%s: %s", name, value);
    c->headers[c->n_headers++] = h;
    return HILO_OK;
}

int hilo_http_call_basic_auth(hilo_http_call_t *c, const char *user, const char *password) {
    size_t ulen = strlen(user), plen = strlen(password), n = ulen + 1 + plen;
    unsigned char *raw = hilo_xmalloc(n + 1);
    memcpy(raw, user, ulen);
    raw[ulen] = ':';
    memcpy(raw + ulen + 1, password, plen);
    size_t enc_len = 4 * ((n + 2) / 3) + 1;
    char *val = hilo_xmalloc(enc_len + 6);
    memcpy(val, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)val + 6, raw, (int)n);
    int rc = hilo_http_call_add_header(c, "Authorization", val);
    /* The credentials must not linger in freed memory longer than needed. */
    memset(raw, 0, n);
    memset(val, 0, enc_len + 6);
    free(raw);
    free(val);
    return rc;
}

void hilo_http_call_set_body(hilo_http_call_t *c, const char *body, size_t len) {
    free(c->body);
    c->body = NULL;
    c->body_len = 0;
    if (!body) return;
    if (len == (size_t)-1) len = strlen(body);
    c->body = hilo_xmalloc(len + 1);
    memcpy(c->body, body, len);
    c->body[len] = '\0';
    c->body_len = len;
}

void hilo_send_plan_refuse(hilo_send_plan_t *p, const char *code, const char *message) {
    p->refused = true;
    snprintf(p->error_code, sizeof p->error_code, "%s", code ? code : "refused");
    snprintf(p->error_message, sizeof p->error_message, "%s", message ? message : "");
}

int hilo_adapter_config_str(hilo_config_t *cfg, const char *section, const char *key, const char *def,
                            bool required, char **dst, char *err, size_t errlen) {
    const char *v = NULL;
    if (hilo_config_str(cfg, section, key, def, &v) != HILO_OK) return HILO_ERR;
    if (required && (!v || !*v)) {
        char env[128];
        hilo_config_env_name(section, key, env, sizeof env);
        snprintf(err, errlen, "[%s] %s: required (or set %s in the environment)", section, key, env);
        return HILO_ERR;
    }
    *dst = hilo_xstrdup(v ? v : "");
    return HILO_OK;
}

int hilo_adapter_config_url(hilo_config_t *cfg, char *url, const char *section, const char *key) {
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return hilo_config_reject(cfg, section, key, "must start with https:// (or http:// for tests)");
    /* A base URL gets paths appended (public_url + "/webhooks/..."): a query or fragment in it
     * would land before the path, and Twilio would sign a URL we never rebuild, so every
     * genuine webhook would fail its signature check (403). Refused here, not at the first call. */
    if (strpbrk(url, "?#"))
        return hilo_config_reject(cfg, section, key,
                                  "must be a base URL without a query or fragment ('?', '#'): paths are appended "
                                  "to it; put a query in the provider's webhook URL instead, it is kept");
    size_t n = strlen(url);
    while (n && url[n - 1] == '/') url[--n] = '\0';
    return HILO_OK;
}
