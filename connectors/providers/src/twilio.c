/* twilio.c — Twilio SMS and voice: webhook forms → envelopes, REST requests and results. */
#include "hilo/twilio.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/utf8.h"

/* ---- webhook helpers ------------------------------------------------------------------------ */

/* Every value Twilio sent must be UTF-8: we sign it, store it and show it to agents. */
static int form_utf8(const hilo_form_t *form, hilo_provider_error_t *e) {
    for (size_t i = 0; i < hilo_form_size(form); i++) {
        const hilo_form_field_t *f = hilo_form_at(form, i);
        if (!hilo_utf8_valid(f->name, strlen(f->name)) || !hilo_utf8_valid(f->value, strlen(f->value)))
            return hilo_provider_fail(e, "invalid_utf8", "form field %zu is not valid UTF-8", i + 1);
    }
    return HILO_OK;
}

/* A field that must be present and non-empty. */
static const char *need(const hilo_form_t *form, const char *name, hilo_provider_error_t *e) {
    const char *v = hilo_form_get(form, name);
    if (!v || !*v) hilo_provider_fail(e, "missing_field", "%s missing", name);
    return v && *v ? v : NULL;
}

/* Twilio's From/To seen from the debtor: for calls we placed, From is our own number. */
static void set_parties(hilo_envelope_t *env, const hilo_form_t *form) {
    const char *dir = hilo_form_get(form, "Direction");
    bool ours = dir && strncmp(dir, "outbound", 8) == 0;
    hilo_provider_set(&env->from, hilo_form_get(form, ours ? "To" : "From"));
    hilo_provider_set(&env->to, hilo_form_get(form, ours ? "From" : "To"));
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out) {
    if (!s || !*s) return HILO_ERR;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return HILO_ERR;
    errno = 0;
    unsigned long v = strtoul(s, NULL, 10);
    if (errno || v > max) return HILO_ERR;
    *out = v;
    return HILO_OK;
}

/* ---- SMS webhooks --------------------------------------------------------------------------- */

int hilo_twilio_sms_inbound(const hilo_form_t *form, hilo_provider_envs_t *out, hilo_provider_error_t *e) {
    if (form_utf8(form, e) != HILO_OK) return HILO_ERR;
    const char *sid = hilo_form_get(form, "MessageSid") ? hilo_form_get(form, "MessageSid")
                                                        : hilo_form_get(form, "SmsSid");
    if (!sid || !*sid) return hilo_provider_fail(e, "missing_field", "MessageSid missing");
    if (!need(form, "From", e) || !need(form, "To", e)) return HILO_ERR;
    unsigned long nmedia = 0;
    const char *num = hilo_form_get(form, "NumMedia");
    if (num && *num && parse_uint(num, HILO_TWILIO_MAX_MEDIA, &nmedia) != HILO_OK)
        return hilo_provider_fail(e, "bad_field", "NumMedia is not 0..%d", HILO_TWILIO_MAX_MEDIA);
    for (unsigned long i = 0; i < nmedia; i++) {
        char key[48];
        snprintf(key, sizeof key, "MediaUrl%lu", i);
        if (!need(form, key, e)) return HILO_ERR;
    }
    hilo_envelope_t *env = hilo_provider_envs_add(out, HILO_CHANNEL_SMS);
    hilo_provider_set(&env->provider_message_id, sid);
    hilo_provider_set(&env->from, hilo_form_get(form, "From"));
    hilo_provider_set(&env->to, hilo_form_get(form, "To"));
    hilo_provider_set(&env->text, hilo_form_get(form, "Body"));
    hilo_provider_set(&env->contact_name, hilo_form_get(form, "ProfileName")); /* WhatsApp via Twilio */
    for (unsigned long i = 0; i < nmedia; i++) {
        char key[48];
        hilo_media_t *m = hilo_provider_env_add_media(env);
        snprintf(key, sizeof key, "MediaUrl%lu", i);
        hilo_provider_set(&m->url, hilo_form_get(form, key));
        snprintf(key, sizeof key, "MediaContentType%lu", i);
        hilo_provider_set(&m->mime_type, hilo_form_get(form, key));
    }
    return HILO_OK;
}

/* Short texts for the delivery errors an agent most often needs explained. */
static const char *sms_error_text(const char *code) {
    static const struct {
        const char *code, *text;
    } known[] = {
        {"21610", "recipient has opted out (STOP)"},
        {"30003", "unreachable destination handset"},
        {"30004", "message blocked"},
        {"30005", "unknown destination handset"},
        {"30006", "landline or unreachable carrier"},
        {"30007", "message filtered by the carrier"},
        {"30008", "unknown error"},
    };
    for (size_t i = 0; i < HILO_ARRAY_LEN(known); i++)
        if (strcmp(known[i].code, code) == 0) return known[i].text;
    return NULL;
}

static int sms_state(const char *status) {
    if (strcmp(status, "sent") == 0) return HILO_DELIVERY_SENT;
    if (strcmp(status, "delivered") == 0) return HILO_DELIVERY_DELIVERED;
    if (strcmp(status, "read") == 0) return HILO_DELIVERY_READ;
    if (strcmp(status, "undelivered") == 0 || strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0)
        return HILO_DELIVERY_FAILED;
    return 0; /* queued, accepted, scheduled, sending, receiving, received, ... */
}

/* What our StatusCallback URL says about the message (add_status_callback writes it). */
typedef struct {
    const char *outbound_id, *debtor_id; /* borrowed from the query; NULL when absent */
    uint32_t part, parts;                /* 0, 0 when the message went out whole */
} callback_query_t;

/* A value we wrote ourselves comes back signed; still, it goes on the link and into logs and
 * Redis keys: non-empty, short, valid UTF-8 without control characters. */
static const char *query_id(const hilo_form_t *query, const char *name, bool *bad) {
    const char *v = query ? hilo_form_get(query, name) : NULL;
    if (!v) return NULL;
    size_t n = strlen(v);
    bool ok = n > 0 && n <= HILO_TWILIO_QUERY_ID_MAX && hilo_utf8_valid(v, n);
    for (const unsigned char *p = (const unsigned char *)v; ok && *p; p++)
        if (*p < 0x20 || *p == 0x7F) ok = false;
    if (!ok) *bad = true;
    return ok ? v : NULL;
}

/* Old callback URLs carry only "ob" (the router matches the rest by the provider id); ours
 * carry "ob", "d" and, for a message sent in parts, "part" and "parts". A parameter that is
 * there but malformed is refused ("bad_query") rather than half-used: a part's report read as
 * the whole message's would settle it wrongly. */
static int read_callback_query(const hilo_form_t *query, callback_query_t *cb, hilo_provider_error_t *e) {
    memset(cb, 0, sizeof *cb);
    bool bad = false;
    cb->outbound_id = query_id(query, HILO_TWILIO_QUERY_OUTBOUND, &bad);
    cb->debtor_id = query_id(query, HILO_TWILIO_QUERY_DEBTOR, &bad);
    if (bad) return hilo_provider_fail(e, "bad_query", "malformed ?%s= or ?%s= in the callback URL",
                                       HILO_TWILIO_QUERY_OUTBOUND, HILO_TWILIO_QUERY_DEBTOR);
    const char *part = query ? hilo_form_get(query, HILO_TWILIO_QUERY_PART) : NULL;
    const char *parts = query ? hilo_form_get(query, HILO_TWILIO_QUERY_PARTS) : NULL;
    if (!part && !parts) return HILO_OK;
    unsigned long k = 0, n = 0;
    if (parse_uint(part, HILO_TWILIO_PARTS_MAX, &k) != HILO_OK || parse_uint(parts, HILO_TWILIO_PARTS_MAX, &n) != HILO_OK ||
        k < 1 || k > n)
        return hilo_provider_fail(e, "bad_query", "?%s= and ?%s= must be 1 <= part <= parts <= %d",
                                  HILO_TWILIO_QUERY_PART, HILO_TWILIO_QUERY_PARTS, HILO_TWILIO_PARTS_MAX);
    cb->part = (uint32_t)k;
    cb->parts = (uint32_t)n;
    return HILO_OK;
}

/* The delivery report of a status callback about something we sent (a message, a call): the
 * envelope is "<sid>:<status>", from the debtor (Twilio's To), naming our outbound. */
static hilo_delivery_t *status_report(const hilo_form_t *form, int channel, const char *sid, const char *status,
                                      int state, const callback_query_t *cb, hilo_provider_envs_t *out) {
    hilo_envelope_t *env = hilo_provider_envs_add(out, channel);
    hilo_provider_setf(&env->provider_message_id, "%s:%s", sid, status);
    hilo_provider_set(&env->from, hilo_form_get(form, "To"));
    hilo_provider_set(&env->to, hilo_form_get(form, "From"));
    hilo_delivery_t *d = hilo_provider_env_delivery(env);
    d->state = state;
    hilo_provider_set(&d->provider_message_id, sid);
    hilo_provider_set(&d->outbound_id, cb->outbound_id);
    hilo_provider_set(&d->debtor_id, cb->debtor_id);
    return d;
}

int hilo_twilio_sms_status(const hilo_form_t *form, const hilo_form_t *query, hilo_provider_envs_t *out,
                           hilo_provider_error_t *e) {
    if (form_utf8(form, e) != HILO_OK) return HILO_ERR;
    const char *sid = need(form, "MessageSid", e);
    const char *status = sid ? need(form, "MessageStatus", e) : NULL;
    if (!sid || !status) return HILO_ERR;
    callback_query_t cb;
    if (read_callback_query(query, &cb, e) != HILO_OK) return HILO_ERR;
    int state = sms_state(status);
    if (!state) return HILO_OK;
    hilo_delivery_t *d = status_report(form, HILO_CHANNEL_SMS, sid, status, state, &cb, out);
    d->part = cb.part;
    d->parts = cb.parts;
    const char *code = hilo_form_get(form, "ErrorCode");
    if (code && *code && strcmp(code, "0") != 0) {
        hilo_provider_set(&d->error_code, code);
        const char *msg = hilo_form_get(form, "ErrorMessage");
        hilo_provider_set(&d->error_message, msg && *msg ? msg : sms_error_text(code));
    }
    return HILO_OK;
}

/* ---- voice webhooks ------------------------------------------------------------------------- */

static hilo_envelope_t *voice_env(const hilo_form_t *form, const char *sid, int kind, hilo_provider_envs_t *out) {
    hilo_envelope_t *env = hilo_provider_envs_add(out, HILO_CHANNEL_VOICE);
    set_parties(env, form);
    hilo_provider_set(&env->contact_name, hilo_form_get(form, "CallerName"));
    hilo_voice_event_t *v = hilo_provider_env_voice(env);
    v->kind = kind;
    hilo_provider_set(&v->call_id, sid);
    return env;
}

int hilo_twilio_voice_start(const hilo_form_t *form, hilo_provider_envs_t *out, hilo_provider_error_t *e) {
    if (form_utf8(form, e) != HILO_OK) return HILO_ERR;
    const char *sid = need(form, "CallSid", e);
    if (!sid || !need(form, "From", e) || !need(form, "To", e)) return HILO_ERR;
    hilo_envelope_t *env = voice_env(form, sid, HILO_VOICE_CALL_START, out);
    hilo_provider_setf(&env->provider_message_id, "%s:start", sid);
    hilo_provider_set(&env->voice->call_status, hilo_form_get(form, "CallStatus"));
    env->wants_reply = true;
    return HILO_OK;
}

int hilo_twilio_voice_gather(const hilo_form_t *form, const hilo_form_t *query, hilo_provider_envs_t *out,
                             hilo_provider_error_t *e) {
    if (form_utf8(form, e) != HILO_OK) return HILO_ERR;
    const char *sid = need(form, "CallSid", e);
    if (!sid) return HILO_ERR;
    const char *turn = query ? hilo_form_get(query, HILO_TWILIO_QUERY_TURN) : NULL;
    if (!turn || !*turn || !hilo_utf8_valid(turn, strlen(turn)))
        return hilo_provider_fail(e, "missing_turn", "gather callback without ?%s=", HILO_TWILIO_QUERY_TURN);
    hilo_envelope_t *env = voice_env(form, sid, HILO_VOICE_GATHER, out);
    hilo_provider_setf(&env->provider_message_id, "%s:gather:%s", sid, turn);
    hilo_voice_event_t *v = env->voice;
    hilo_provider_set(&v->digits, hilo_form_get(form, "Digits"));
    hilo_provider_set(&v->speech, hilo_form_get(form, "SpeechResult"));
    const char *conf = hilo_form_get(form, "Confidence");
    if (conf && *conf) {
        char *end;
        double c = strtod(conf, &end);
        if (*end == '\0' && c >= 0.0 && c <= 1.0) v->confidence = (float)c;
    }
    env->wants_reply = true;
    return HILO_OK;
}

static bool call_ended(const char *status) {
    static const char *const ends[] = {"completed", "busy", "no-answer", "failed", "canceled"};
    for (size_t i = 0; i < HILO_ARRAY_LEN(ends); i++)
        if (strcmp(status, ends[i]) == 0) return true;
    return false;
}

int hilo_twilio_voice_status(const hilo_form_t *form, hilo_provider_envs_t *out, hilo_provider_error_t *e) {
    if (form_utf8(form, e) != HILO_OK) return HILO_ERR;
    const char *sid = need(form, "CallSid", e);
    const char *status = sid ? need(form, "CallStatus", e) : NULL;
    if (!sid || !status) return HILO_ERR;
    if (!call_ended(status)) return HILO_OK;
    hilo_envelope_t *env = voice_env(form, sid, HILO_VOICE_CALL_END, out);
    hilo_provider_setf(&env->provider_message_id, "%s:end", sid);
    hilo_provider_set(&env->voice->call_status, status);
    unsigned long d = 0;
    if (parse_uint(hilo_form_get(form, "CallDuration"), 7 * 86400, &d) == HILO_OK) env->voice->duration_s = (uint32_t)d;
    return HILO_OK;
}

/* What a placed call's status says for the strategy's next step (docs/providers.md). */
int hilo_twilio_call_status(const hilo_form_t *form, const hilo_form_t *query, hilo_provider_envs_t *out,
                            hilo_provider_error_t *e) {
    if (form_utf8(form, e) != HILO_OK) return HILO_ERR;
    const char *sid = need(form, "CallSid", e);
    const char *status = sid ? need(form, "CallStatus", e) : NULL;
    if (!sid || !status) return HILO_ERR;
    callback_query_t cb;
    if (read_callback_query(query, &cb, e) != HILO_OK) return HILO_ERR;
    int state = 0;
    const char *code = NULL;
    if (strcmp(status, "in-progress") == 0 || strcmp(status, "completed") == 0) {
        state = HILO_DELIVERY_DELIVERED;
        const char *by = hilo_form_get(form, "AnsweredBy");
        if (by && strncmp(by, "machine", 7) == 0) code = "machine";
        else if (by && strcmp(by, "fax") == 0) code = "fax";
    } else if (strcmp(status, "busy") == 0 || strcmp(status, "no-answer") == 0 || strcmp(status, "failed") == 0 ||
               strcmp(status, "canceled") == 0) {
        state = HILO_DELIVERY_FAILED;
        code = status;
    }
    if (!state) return HILO_OK; /* queued, initiated, ringing */
    hilo_delivery_t *d = status_report(form, HILO_CHANNEL_VOICE, sid, status, state, &cb, out);
    if (code) hilo_provider_set(&d->error_code, code);
    const char *ecode = hilo_form_get(form, "ErrorCode");
    if (state == HILO_DELIVERY_FAILED && ecode && *ecode && strcmp(ecode, "0") != 0)
        hilo_provider_setf(&d->error_message, "Twilio error %s", ecode);
    return HILO_OK;
}

/* ---- SMS text and the 1600-character limit ---------------------------------------------------- */

char *hilo_twilio_sms_text(const hilo_outbound_t *ob, hilo_provider_error_t *e) {
    if (!*ob->text) {
        if (ob->template_ && ob->template_->name && *ob->template_->name)
            hilo_provider_fail(e, "template_unsupported", "SMS has no templates and the outbound has no text");
        else
            hilo_provider_fail(e, "empty", "nothing to send");
        return NULL;
    }
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&b, ob->text);
    for (size_t i = 0; i < ob->n_buttons; i++)
        if (ob->buttons[i]->title && *ob->buttons[i]->title)
            hilo_provider_buf_addf(&b, "%s%zu. %s", i == 0 ? "\n\n" : "\n", i + 1, ob->buttons[i]->title);
    if (!hilo_utf8_valid(b.data, b.len)) {
        hilo_provider_buf_free(&b);
        hilo_provider_fail(e, "invalid_utf8", "text is not valid UTF-8");
        return NULL;
    }
    return hilo_provider_buf_take(&b);
}

/* Length in bytes of the UTF-8 sequence starting with c (valid input assumed). */
static size_t seq_len(unsigned char c) {
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

size_t hilo_twilio_sms_chars(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p += seq_len(*p)) n += seq_len(*p) == 4 ? 2 : 1;
    return n;
}

static bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

size_t hilo_twilio_sms_split(const char *text, size_t max, char ***parts) {
    size_t n = 0, cap = 4;
    char **out = hilo_xmalloc(cap * sizeof *out);
    const char *p = text;
    while (*p) {
        /* Walk as far as `max` characters reach; remember the last whitespace seen. */
        const char *q = p, *last_space = NULL;
        size_t used = 0;
        while (*q) {
            size_t units = seq_len((unsigned char)*q) == 4 ? 2 : 1;
            if (used + units > max) break;
            if (is_space(*q)) last_space = q;
            used += units;
            q += seq_len((unsigned char)*q);
        }
        if (q == p) q += seq_len((unsigned char)*q); /* max below one character: take it anyway */
        const char *cut = q, *next = q;
        if (*q && last_space && last_space > p) { /* break at a word boundary */
            cut = last_space;
            next = last_space;
        }
        while (cut > p && is_space(cut[-1])) cut--; /* no trailing blanks in a part */
        while (*next && is_space(*next)) next++;   /* nor leading ones in the next */
        if (cut > p) {
            if (n == cap) out = hilo_xrealloc(out, (cap *= 2) * sizeof *out);
            out[n++] = hilo_xstrndup(p, (size_t)(cut - p));
        }
        p = next;
    }
    *parts = out;
    return n;
}

size_t hilo_twilio_sms_parts(const char *text) {
    if (hilo_twilio_sms_chars(text) <= HILO_TWILIO_SMS_MAX) return 1;
    char **parts = NULL;
    size_t n = hilo_twilio_sms_split(text, HILO_TWILIO_SMS_MAX, &parts);
    for (size_t i = 0; i < n; i++) free(parts[i]);
    free(parts);
    return n;
}

/* ---- REST requests --------------------------------------------------------------------------- */

static void base_request(const hilo_twilio_account_t *acct, const char *resource, hilo_provider_request_t *req) {
    memset(req, 0, sizeof *req);
    req->method = hilo_xstrdup("POST");
    hilo_provider_buf_t url = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_addf(&url, "%s/2010-04-01/Accounts/", acct->api_base);
    hilo_form_encode(&url, acct->account_sid);
    hilo_provider_buf_addf(&url, "/%s.json", resource);
    req->url = hilo_provider_buf_take(&url);
    req->content_type = hilo_xstrdup("application/x-www-form-urlencoded");
    req->basic_user = hilo_xstrdup(acct->auth_user && *acct->auth_user ? acct->auth_user : acct->account_sid);
    req->basic_pass = hilo_xstrdup(acct->auth_secret ? acct->auth_secret : "");
}

/* From (the outbound's, else the account's) or MessagingServiceSid. */
static int add_sender(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, bool calls,
                      hilo_provider_buf_t *body, hilo_provider_error_t *e) {
    if (ob->from && *ob->from)
        hilo_form_encode_pair(body, "From", ob->from);
    else if (!calls && acct->messaging_service_sid && *acct->messaging_service_sid)
        hilo_form_encode_pair(body, "MessagingServiceSid", acct->messaging_service_sid);
    else if (acct->from && *acct->from)
        hilo_form_encode_pair(body, "From", acct->from);
    else
        return hilo_provider_fail(e, "no_sender", "no From number configured");
    return HILO_OK;
}

/* Appends "?name=value" (or "&name=value" when the URL has a query already). */
static void add_query(hilo_provider_buf_t *url, const char *name, const char *value) {
    hilo_provider_buf_adds(url, memchr(url->data, '?', url->len) ? "&" : "?");
    hilo_provider_buf_adds(url, name);
    hilo_provider_buf_adds(url, "=");
    hilo_form_encode(url, value);
}

/* The StatusCallback URL names our outbound ("ob"), so that Twilio's callbacks find it. For an
 * SMS it also names the debtor ("d") and, when the text went out in parts, which part this call
 * sent ("part", 1-based, of "parts"): each part has its own MessageSid and its own callbacks,
 * which then settle that part directly, whatever order they come in (hilo_twilio_sms_status).
 * part = 0: the message goes out whole. */
static void add_status_callback(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, bool sms, size_t part,
                                size_t parts, hilo_provider_buf_t *body) {
    if (!acct->status_callback || !*acct->status_callback) return;
    hilo_provider_buf_t url = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&url, acct->status_callback);
    if (ob->outbound_id && *ob->outbound_id) {
        add_query(&url, HILO_TWILIO_QUERY_OUTBOUND, ob->outbound_id);
        if (ob->debtor_id && *ob->debtor_id) add_query(&url, HILO_TWILIO_QUERY_DEBTOR, ob->debtor_id);
        if (sms && part > 0) {
            char num[24];
            snprintf(num, sizeof num, "%zu", part);
            add_query(&url, HILO_TWILIO_QUERY_PART, num);
            snprintf(num, sizeof num, "%zu", parts);
            add_query(&url, HILO_TWILIO_QUERY_PARTS, num);
        }
    }
    hilo_form_encode_pair(body, "StatusCallback", url.data);
    hilo_provider_buf_free(&url);
}

int hilo_twilio_build_sms(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, hilo_provider_request_t *reqs,
                          size_t max_reqs, size_t *n, hilo_provider_error_t *e) {
    *n = 0;
    if (!ob->to || !*ob->to) return hilo_provider_fail(e, "invalid_address", "no recipient");
    if (!hilo_utf8_valid(ob->to, strlen(ob->to))) return hilo_provider_fail(e, "invalid_address", "recipient is not UTF-8");
    char *text = hilo_twilio_sms_text(ob, e);
    if (!text) return HILO_ERR;
    size_t limit = acct->max_parts ? acct->max_parts : 1;
    if (limit > max_reqs) limit = max_reqs;
    char **parts = NULL;
    size_t nparts = 1;
    size_t chars = hilo_twilio_sms_chars(text);
    if (chars > HILO_TWILIO_SMS_MAX) {
        nparts = hilo_twilio_sms_split(text, HILO_TWILIO_SMS_MAX, &parts);
        if (nparts > limit || nparts == 0) {
            for (size_t i = 0; i < nparts; i++) free(parts[i]);
            free(parts);
            free(text);
            if (nparts == 0) return hilo_provider_fail(e, "empty", "only whitespace to send");
            return hilo_provider_fail(e, "too_long", "%zu characters need %zu SMS parts, at most %zu allowed", chars,
                                      nparts, limit);
        }
    }
    for (size_t i = 0; i < nparts; i++) {
        hilo_provider_buf_t body = HILO_PROVIDER_BUF_INIT;
        hilo_form_encode_pair(&body, "To", ob->to);
        if (add_sender(acct, ob, false, &body, e) != HILO_OK) {
            hilo_provider_buf_free(&body);
            for (size_t k = 0; k < *n; k++) hilo_provider_request_clear(&reqs[k]);
            *n = 0;
            break;
        }
        hilo_form_encode_pair(&body, "Body", parts ? parts[i] : text);
        add_status_callback(acct, ob, true, nparts > 1 ? i + 1 : 0, nparts, &body);
        base_request(acct, "Messages", &reqs[i]);
        reqs[i].body_len = body.len;
        reqs[i].body = hilo_provider_buf_take(&body);
        (*n)++;
    }
    if (parts) {
        for (size_t i = 0; i < nparts; i++) free(parts[i]);
        free(parts);
    }
    free(text);
    return *n ? HILO_OK : HILO_ERR;
}

/* Calls.json to `to`: a call we place (to the debtor, with answering-machine detection) or a
 * click-to-call's first leg (to the agent, without). */
static int build_calls(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, const char *to, bool amd,
                       const char *twiml, hilo_provider_request_t *req, hilo_provider_error_t *e) {
    if (!to || !*to || !hilo_utf8_valid(to, strlen(to)))
        return hilo_provider_fail(e, "invalid_address", "no valid recipient");
    hilo_provider_buf_t body = HILO_PROVIDER_BUF_INIT;
    hilo_form_encode_pair(&body, "To", to);
    if (add_sender(acct, ob, true, &body, e) != HILO_OK) {
        hilo_provider_buf_free(&body);
        return HILO_ERR;
    }
    hilo_form_encode_pair(&body, "Twiml", twiml);
    add_status_callback(acct, ob, false, 0, 0, &body);
    if (acct->status_callback && *acct->status_callback) {
        /* Without events Twilio calls back only when the call ends; "answered" tells a person
         * (or a machine) picked up while the call still runs. */
        static const char *const events[] = {"initiated", "ringing", "answered", "completed"};
        for (size_t i = 0; i < HILO_ARRAY_LEN(events); i++) hilo_form_encode_pair(&body, "StatusCallbackEvent", events[i]);
    }
    /* Answering-machine detection: the status callbacks then carry AnsweredBy (human,
     * machine_start, machine_end_beep, ..., fax, unknown). */
    if (amd) hilo_form_encode_pair(&body, "MachineDetection", "Enable");
    base_request(acct, "Calls", req);
    req->body_len = body.len;
    req->body = hilo_provider_buf_take(&body);
    return HILO_OK;
}

int hilo_twilio_build_call(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, const char *twiml,
                           hilo_provider_request_t *req, hilo_provider_error_t *e) {
    return build_calls(acct, ob, ob->to, true, twiml, req, e);
}

int hilo_twilio_build_bridge(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, const char *twiml,
                             hilo_provider_request_t *req, hilo_provider_error_t *e) {
    return build_calls(acct, ob, ob->voice ? ob->voice->target : NULL, false, twiml, req, e);
}

void hilo_twilio_parse_send_result(long http_status, const char *body, size_t len, hilo_provider_result_t *res) {
    memset(res, 0, sizeof *res);
    res->http_status = http_status;
    json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const json_t *sid = json_object_get(root, "sid");
    if (http_status >= 200 && http_status < 300) {
        res->outcome = HILO_PROVIDER_SENT;
        if (json_is_string(sid))
            snprintf(res->provider_message_id, sizeof res->provider_message_id, "%s", json_string_value(sid));
        else
            snprintf(res->error_message, sizeof res->error_message, "accepted without sid");
        json_decref(root);
        return;
    }
    const json_t *code = json_object_get(root, "code");
    const json_t *msg = json_object_get(root, "message");
    long c = json_is_integer(code) ? (long)json_integer_value(code) : 0;
    if (c)
        snprintf(res->error_code, sizeof res->error_code, "%ld", c);
    else
        snprintf(res->error_code, sizeof res->error_code, "http_%ld", http_status);
    if (json_is_string(msg))
        snprintf(res->error_message, sizeof res->error_message, "%s", json_string_value(msg));
    else
        snprintf(res->error_message, sizeof res->error_message, "HTTP %ld", http_status);
    bool retry = http_status == 0 || http_status == 429 || http_status >= 500 || c == 20429;
    res->outcome = retry ? HILO_PROVIDER_RETRY : HILO_PROVIDER_FINAL;
    json_decref(root);
}

/* ---- calls in progress (protocol 1.4) ------------------------------------------------------- */

/* A CallSid goes into a URL path: letters and digits only. */
static bool sid_ok(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))) return false;
    return true;
}

int hilo_twilio_build_connect(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, const char *twiml,
                              hilo_provider_request_t *req, hilo_provider_error_t *e) {
    const char *sid = ob->voice ? ob->voice->call_id : NULL;
    if (!sid_ok(sid)) return hilo_provider_fail(e, "invalid_call", "call_id is not a call sid");
    char resource[80];
    snprintf(resource, sizeof resource, "Calls/%s", sid);
    hilo_provider_buf_t body = HILO_PROVIDER_BUF_INIT;
    hilo_form_encode_pair(&body, "Twiml", twiml);
    base_request(acct, resource, req);
    req->body_len = body.len;
    req->body = hilo_provider_buf_take(&body);
    return HILO_OK;
}

/* An agent event about the caller's call `call` from the debtor `caller`. */
static hilo_envelope_t *agent_env(const char *call, const char *caller, const char *leg, int kind, const char *step,
                                  const char *status, hilo_provider_envs_t *out) {
    hilo_envelope_t *env = hilo_provider_envs_add(out, HILO_CHANNEL_VOICE);
    hilo_provider_set(&env->from, caller);
    hilo_voice_event_t *v = hilo_provider_env_voice(env);
    v->kind = kind;
    hilo_provider_set(&v->call_id, call);
    hilo_provider_set(&v->call_status, status);
    /* One event per agent leg and step: a retried callback repeats the id, a second agent's
     * leg (another connect order) has its own. */
    hilo_provider_setf(&env->provider_message_id, "%s:%s", leg, step);
    return env;
}

int hilo_twilio_agent_status(const hilo_form_t *form, const hilo_form_t *query, hilo_provider_envs_t *out,
                             hilo_provider_error_t *e) {
    if (form_utf8(form, e) != HILO_OK) return HILO_ERR;
    const char *leg = need(form, "CallSid", e);
    const char *status = leg ? need(form, "CallStatus", e) : NULL;
    if (!leg || !status) return HILO_ERR;
    bool bad = false;
    const char *call = query_id(query, "call", &bad), *caller = query_id(query, "caller", &bad);
    if (bad || !call || !caller) return hilo_provider_fail(e, "bad_query", "the agent leg's callback needs ?call= and ?caller=");
    if (strcmp(status, "ringing") == 0)
        agent_env(call, caller, leg, HILO_VOICE_AGENT_RINGING, "ringing", status, out);
    else if (strcmp(status, "in-progress") == 0 || strcmp(status, "answered") == 0)
        agent_env(call, caller, leg, HILO_VOICE_AGENT_CONNECTED, "answered", status, out);
    return HILO_OK; /* initiated, completed...: the Dial action and the call's end say the rest */
}

int hilo_twilio_dial_action(const hilo_form_t *form, const hilo_form_t *query, hilo_provider_envs_t *out,
                            bool *answered, hilo_provider_error_t *e) {
    if (form_utf8(form, e) != HILO_OK) return HILO_ERR;
    const char *sid = need(form, "CallSid", e);
    const char *status = sid ? need(form, "DialCallStatus", e) : NULL;
    if (!sid || !status) return HILO_ERR;
    const char *leg = hilo_form_get(form, "DialCallSid");
    *answered = strcmp(status, "completed") == 0 || strcmp(status, "answered") == 0;
    bool bad = false;
    const char *debtor = query ? query_id(query, "debtor", &bad) /* twiml.h HILO_TWIML_QUERY_DEBTOR */ : NULL;
    if (bad) return hilo_provider_fail(e, "bad_query", "a click-to-call's Dial action needs a valid ?debtor=");
    if (debtor) {
        /* Click-to-call: the debtor's leg, dialled from the agent's call, answered or not. */
        const char *leg_id = leg && *leg ? leg : sid;
        hilo_envelope_t *env = agent_env(leg_id, debtor, leg_id, HILO_VOICE_DEBTOR_DIALED, "debtor", status, out);
        const char *dur = hilo_form_get(form, "DialCallDuration");
        if (*answered && dur) env->voice->duration_s = (uint32_t)strtoul(dur, NULL, 10);
        /* The contact attempt's result is the debtor's leg, not the agent's answer: a delivery
         * report of the outbound (DELIVERED answered, FAILED with the status; FAILED outranks
         * the agent leg's DELIVERED, router/lua/lib/delivery_state.lua). */
        callback_query_t cb;
        if (read_callback_query(query, &cb, e) != HILO_OK) return HILO_ERR;
        if (cb.outbound_id) {
            hilo_envelope_t *r = hilo_provider_envs_add(out, HILO_CHANNEL_VOICE);
            hilo_provider_setf(&r->provider_message_id, "%s:debtor:%s", leg_id, status);
            hilo_provider_set(&r->from, debtor);
            hilo_delivery_t *d = hilo_provider_env_delivery(r);
            d->state = *answered ? HILO_DELIVERY_DELIVERED : HILO_DELIVERY_FAILED;
            hilo_provider_set(&d->provider_message_id, leg_id);
            hilo_provider_set(&d->outbound_id, cb.outbound_id);
            hilo_provider_set(&d->debtor_id, cb.debtor_id);
            if (!*answered) hilo_provider_set(&d->error_code, status);
        }
        return HILO_OK;
    }
    if (*answered) return HILO_OK; /* the call's own end (CALL_END) follows */
    hilo_envelope_t *env = voice_env(form, sid, HILO_VOICE_AGENT_NO_ANSWER, out);
    hilo_provider_setf(&env->provider_message_id, "%s:dial:%s", leg && *leg ? leg : sid, status);
    hilo_provider_set(&env->voice->call_status, status);
    return HILO_OK;
}
