/* whatsapp.c — WhatsApp Cloud API: webhook parsing, send requests, send results, handshake. */
#include "hilo/whatsapp.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/utf8.h"

/* ---- small jansson helpers --------------------------------------------------------------- */

/* obj[key] when it is a non-empty string, else NULL. */
static const char *jstr(const json_t *obj, const char *key) {
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    return s && *s ? s : NULL;
}

/* Meta sends timestamps as decimal strings of Unix seconds; accept a number too. 0 = unknown. */
static int64_t jtime_ms(const json_t *obj, const char *key) {
    const json_t *v = json_object_get(obj, key);
    long long t;
    if (json_is_integer(v)) {
        t = json_integer_value(v);
    } else {
        const char *s = jstr(obj, key);
        if (!s) return 0;
        char *end;
        errno = 0;
        t = strtoll(s, &end, 10);
        if (errno || *end) return 0;
    }
    if (t < 0 || t > 100000000000LL) return 0; /* before 1970 or after the year 5138: unknown */
    return (int64_t)t * 1000;
}

/* ---- webhook parsing ------------------------------------------------------------------------- */

static int fail(hilo_whatsapp_webhook_t *out, const char *fmt, const char *arg) {
    snprintf(out->err, sizeof out->err, fmt, arg ? arg : "");
    return HILO_ERR;
}

static void add_note(hilo_whatsapp_webhook_t *out, long code, const char *title, const char *message,
                     const char *details) {
    out->notes = hilo_xrealloc(out->notes, (out->n_notes + 1) * sizeof *out->notes);
    hilo_whatsapp_note_t *n = &out->notes[out->n_notes++];
    n->code = code;
    n->title = hilo_xstrdup(title ? title : "");
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&b, message ? message : "");
    if (details && (!message || strcmp(details, message) != 0))
        hilo_provider_buf_addf(&b, "%s%s", b.len ? ": " : "", details);
    n->message = hilo_provider_buf_take(&b);
}

void hilo_whatsapp_webhook_clear(hilo_whatsapp_webhook_t *w) {
    hilo_provider_envs_clear(&w->envs);
    for (size_t i = 0; i < w->n_notes; i++) {
        free(w->notes[i].title);
        free(w->notes[i].message);
    }
    free(w->notes);
    memset(w, 0, sizeof *w);
}

/* The profile name of the contact whose wa_id is `from` (or of the only contact). */
static const char *contact_name(const json_t *contacts, const char *from) {
    size_t i;
    json_t *c;
    json_array_foreach(contacts, i, c) {
        const char *wa_id = jstr(c, "wa_id");
        if (wa_id && strcmp(wa_id, from) == 0) return jstr(json_object_get(c, "profile"), "name");
    }
    if (json_array_size(contacts) == 1) return jstr(json_object_get(json_array_get(contacts, 0), "profile"), "name");
    return NULL;
}

static bool is_media_type(const char *type) {
    static const char *const kinds[] = {"image", "audio", "document", "video", "sticker"};
    for (size_t i = 0; i < HILO_ARRAY_LEN(kinds); i++)
        if (strcmp(type, kinds[i]) == 0) return true;
    return false;
}

static void set_unsupported(hilo_envelope_t *env, const char *type, const char *sub) {
    if (sub)
        hilo_provider_setf(&env->text, "[unsupported: %s.%s]", type, sub);
    else
        hilo_provider_setf(&env->text, "[unsupported: %s]", type);
}

/* Fills the content of `env` from message `m` of type `type`. */
static void message_content(hilo_envelope_t *env, const json_t *m, const char *type) {
    const json_t *part = json_object_get(m, type);
    if (strcmp(type, "text") == 0) {
        hilo_provider_set(&env->text, jstr(part, "body"));
    } else if (strcmp(type, "interactive") == 0) {
        const char *itype = jstr(part, "type");
        const json_t *reply = NULL;
        if (itype && (strcmp(itype, "button_reply") == 0 || strcmp(itype, "list_reply") == 0))
            reply = json_object_get(part, itype);
        if (json_is_object(reply)) {
            hilo_button_t *b = hilo_provider_env_button(env);
            hilo_provider_set(&b->payload, jstr(reply, "id"));
            hilo_provider_set(&b->title, jstr(reply, "title"));
        } else {
            set_unsupported(env, type, itype ? itype : "?");
        }
    } else if (strcmp(type, "button") == 0) { /* template quick reply */
        hilo_button_t *b = hilo_provider_env_button(env);
        hilo_provider_set(&b->payload, jstr(part, "payload"));
        hilo_provider_set(&b->title, jstr(part, "text"));
    } else if (is_media_type(type) && json_is_object(part)) {
        hilo_media_t *md = hilo_provider_env_add_media(env);
        hilo_provider_set(&md->id, jstr(part, "id"));
        hilo_provider_set(&md->mime_type, jstr(part, "mime_type"));
        hilo_provider_set(&md->caption, jstr(part, "caption"));
        hilo_provider_set(&md->filename, jstr(part, "filename"));
    } else {
        set_unsupported(env, type, NULL);
    }
}

static int parse_message(hilo_whatsapp_webhook_t *out, const json_t *m, const char *to, const json_t *contacts) {
    const char *id = jstr(m, "id"), *from = jstr(m, "from"), *type = jstr(m, "type");
    if (!id) return fail(out, "message without id%s", NULL);
    if (!from) return fail(out, "message %s without from", id);
    if (!type) return fail(out, "message %s without type", id);
    hilo_envelope_t *env = hilo_provider_envs_add(&out->envs, HILO_CHANNEL_WHATSAPP);
    hilo_provider_set(&env->provider_message_id, id);
    hilo_provider_set(&env->from, from);
    hilo_provider_set(&env->to, to);
    env->sent_at_ms = jtime_ms(m, "timestamp");
    hilo_provider_set(&env->contact_name, contact_name(contacts, from));
    message_content(env, m, type);
    return HILO_OK;
}

static int delivery_state(const char *status) {
    if (strcmp(status, "sent") == 0) return HILO_DELIVERY_SENT;
    if (strcmp(status, "delivered") == 0) return HILO_DELIVERY_DELIVERED;
    if (strcmp(status, "read") == 0) return HILO_DELIVERY_READ;
    if (strcmp(status, "failed") == 0) return HILO_DELIVERY_FAILED;
    return 0;
}

static int parse_status(hilo_whatsapp_webhook_t *out, const json_t *s, const char *to) {
    const char *id = jstr(s, "id"), *status = jstr(s, "status");
    if (!id) return fail(out, "status without id%s", NULL);
    if (!status) return fail(out, "status %s without status", id);
    int state = delivery_state(status);
    if (!state) { /* e.g. "deleted", "warning": nothing the router settles on */
        add_note(out, 0, "unmapped status", status, NULL);
        return HILO_OK;
    }
    hilo_envelope_t *env = hilo_provider_envs_add(&out->envs, HILO_CHANNEL_WHATSAPP);
    hilo_provider_setf(&env->provider_message_id, "%s:%s", id, status);
    hilo_provider_set(&env->from, jstr(s, "recipient_id"));
    hilo_provider_set(&env->to, to);
    env->sent_at_ms = jtime_ms(s, "timestamp");
    hilo_delivery_t *d = hilo_provider_env_delivery(env);
    d->state = state;
    hilo_provider_set(&d->provider_message_id, id);
    /* "<outbound id>|<debtor id>" (hilo_whatsapp_send_body; '|' is in neither), or an outbound
     * id alone from a connector before 1.3. */
    const char *opaque = jstr(s, "biz_opaque_callback_data");
    const char *bar = opaque ? strchr(opaque, '|') : NULL;
    if (bar) {
        hilo_provider_setf(&d->outbound_id, "%.*s", (int)(bar - opaque), opaque);
        hilo_provider_set(&d->debtor_id, bar + 1);
    } else {
        hilo_provider_set(&d->outbound_id, opaque);
    }
    const json_t *e0 = json_array_get(json_object_get(s, "errors"), 0);
    if (json_is_object(e0)) {
        const json_t *code = json_object_get(e0, "code");
        if (json_is_integer(code)) hilo_provider_setf(&d->error_code, "%lld", (long long)json_integer_value(code));
        const char *msg = jstr(e0, "message") ? jstr(e0, "message") : jstr(e0, "title");
        const char *details = jstr(json_object_get(e0, "error_data"), "details");
        if (msg && details && strcmp(msg, details) != 0)
            hilo_provider_setf(&d->error_message, "%s: %s", msg, details);
        else
            hilo_provider_set(&d->error_message, msg ? msg : details);
    }
    return HILO_OK;
}

static void parse_errors(hilo_whatsapp_webhook_t *out, const json_t *errors) {
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        const json_t *code = json_object_get(e, "code");
        add_note(out, json_is_integer(code) ? (long)json_integer_value(code) : 0, jstr(e, "title"),
                 jstr(e, "message"), jstr(json_object_get(e, "error_data"), "details"));
    }
}

static int parse_value(hilo_whatsapp_webhook_t *out, const json_t *value) {
    if (!json_is_object(value)) return fail(out, "change without value%s", NULL);
    const json_t *meta = json_object_get(value, "metadata");
    const char *to = jstr(meta, "display_phone_number") ? jstr(meta, "display_phone_number")
                                                        : jstr(meta, "phone_number_id");
    const json_t *contacts = json_object_get(value, "contacts");
    const json_t *messages = json_object_get(value, "messages");
    const json_t *statuses = json_object_get(value, "statuses");
    size_t i;
    json_t *item;
    if (messages && !json_is_array(messages)) return fail(out, "messages is not an array%s", NULL);
    if (statuses && !json_is_array(statuses)) return fail(out, "statuses is not an array%s", NULL);
    if ((messages || statuses) && !to) return fail(out, "change without metadata phone number%s", NULL);
    json_array_foreach(messages, i, item) {
        if (parse_message(out, item, to, contacts) != HILO_OK) return HILO_ERR;
    }
    json_array_foreach(statuses, i, item) {
        if (parse_status(out, item, to) != HILO_OK) return HILO_ERR;
    }
    if (json_is_array(json_object_get(value, "errors"))) parse_errors(out, json_object_get(value, "errors"));
    return HILO_OK;
}

int hilo_whatsapp_parse_webhook(const char *body, size_t len, hilo_whatsapp_webhook_t *out) {
    if (!hilo_utf8_valid(body, len)) return fail(out, "body is not valid UTF-8%s", NULL);
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root) {
        snprintf(out->err, sizeof out->err, "bad JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return HILO_ERR;
    }
    int rc = HILO_OK;
    const char *object = jstr(root, "object");
    const json_t *entries = json_object_get(root, "entry");
    if (!object || strcmp(object, "whatsapp_business_account") != 0) {
        rc = fail(out, "object is not whatsapp_business_account%s", NULL);
    } else if (!json_is_array(entries)) {
        rc = fail(out, "no entry array%s", NULL);
    } else {
        size_t i, j;
        json_t *entry, *change;
        json_array_foreach(entries, i, entry) {
            const json_t *changes = json_object_get(entry, "changes");
            if (!json_is_array(changes)) {
                rc = fail(out, "entry without changes array%s", NULL);
                break;
            }
            json_array_foreach(changes, j, change) {
                const char *field = jstr(change, "field");
                if (!field || strcmp(field, "messages") != 0) { /* account_update, templates, ... */
                    out->n_ignored++;
                    continue;
                }
                if ((rc = parse_value(out, json_object_get(change, "value"))) != HILO_OK) break;
            }
            if (rc != HILO_OK) break;
        }
    }
    json_decref(root);
    if (rc != HILO_OK) hilo_provider_envs_clear(&out->envs);
    return rc;
}

/* ---- sending --------------------------------------------------------------------------------- */

static size_t chars(const char *s) {
    return hilo_provider_utf8_chars(s, strlen(s));
}

static int check_text(const char *what, const char *s, size_t max, hilo_provider_error_t *e) {
    if (!hilo_utf8_valid(s, strlen(s))) return hilo_provider_fail(e, "invalid_utf8", "%s is not valid UTF-8", what);
    size_t n = chars(s);
    if (n > max) return hilo_provider_fail(e, "too_long", "%s has %zu characters, the limit is %zu", what, n, max);
    return HILO_OK;
}

static json_t *template_json(const hilo_outbound_t *ob, hilo_provider_error_t *e) {
    const hilo_template_t *t = ob->template_;
    const char *lang = t->language && *t->language ? t->language : ob->language;
    if (!lang || !*lang) {
        hilo_provider_fail(e, "no_language", "template %s without a language", t->name);
        return NULL;
    }
    char code[32]; /* Meta writes locales with '_' ("es_MX") */
    snprintf(code, sizeof code, "%s", lang);
    for (char *p = code; *p; p++)
        if (*p == '-') *p = '_';
    json_t *tpl = json_pack("{s:s, s:{s:s}}", "name", t->name, "language", "code", code);
    if (t->n_parameters) {
        json_t *params = json_array();
        for (size_t i = 0; i < t->n_parameters; i++) {
            if (check_text("template parameter", t->parameters[i], HILO_WHATSAPP_TEXT_MAX, e) != HILO_OK) {
                json_decref(params);
                json_decref(tpl);
                return NULL;
            }
            json_array_append_new(params, json_pack("{s:s, s:s}", "type", "text", "text", t->parameters[i]));
        }
        json_t *components = json_array();
        json_array_append_new(components, json_pack("{s:s, s:o}", "type", "body", "parameters", params));
        json_object_set_new(tpl, "components", components);
    }
    return tpl;
}

static json_t *buttons_json(const hilo_outbound_t *ob, hilo_provider_error_t *e) {
    if (ob->n_buttons > HILO_WHATSAPP_BUTTONS_MAX) {
        hilo_provider_fail(e, "too_many_buttons", "%zu reply buttons, the limit is %d", ob->n_buttons,
                           HILO_WHATSAPP_BUTTONS_MAX);
        return NULL;
    }
    if (!*ob->text) {
        hilo_provider_fail(e, "empty", "reply buttons need a text");
        return NULL;
    }
    if (check_text("text", ob->text, HILO_WHATSAPP_BUTTON_BODY_MAX, e) != HILO_OK) return NULL;
    json_t *list = json_array();
    for (size_t i = 0; i < ob->n_buttons; i++) {
        const hilo_button_t *b = ob->buttons[i];
        const char *id = b->payload && *b->payload ? b->payload : b->title;
        if (!b->title || !*b->title) {
            json_decref(list);
            hilo_provider_fail(e, "empty", "button %zu has no title", i + 1);
            return NULL;
        }
        if (check_text("button title", b->title, HILO_WHATSAPP_BUTTON_TITLE_MAX, e) != HILO_OK ||
            check_text("button payload", id, HILO_WHATSAPP_BUTTON_ID_MAX, e) != HILO_OK) {
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, json_pack("{s:s, s:{s:s, s:s}}", "type", "reply", "reply", "id", id, "title",
                                              b->title));
    }
    return json_pack("{s:s, s:{s:s}, s:{s:o}}", "type", "button", "body", "text", ob->text, "action", "buttons", list);
}

char *hilo_whatsapp_send_body(const hilo_whatsapp_account_t *acct, const hilo_outbound_t *ob,
                              hilo_provider_error_t *e) {
    if (!ob->to || !*ob->to) {
        hilo_provider_fail(e, "invalid_address", "no recipient");
        return NULL;
    }
    json_t *root = json_pack("{s:s, s:s, s:s}", "messaging_product", "whatsapp", "recipient_type", "individual",
                             "to", ob->to);
    if (!root) { /* jansson refuses invalid UTF-8 */
        hilo_provider_fail(e, "invalid_address", "recipient is not valid UTF-8");
        return NULL;
    }
    json_t *content = NULL;
    const char *type;
    if (ob->template_ && ob->template_->name && *ob->template_->name) {
        type = "template";
        content = template_json(ob, e);
    } else if (ob->n_buttons) {
        type = "interactive";
        content = buttons_json(ob, e);
    } else {
        type = "text";
        if (!*ob->text)
            hilo_provider_fail(e, "empty", "nothing to send: no text, buttons or template");
        else if (check_text("text", ob->text, HILO_WHATSAPP_TEXT_MAX, e) == HILO_OK)
            content = json_pack("{s:b, s:s}", "preview_url", acct->preview_url, "body", ob->text);
    }
    if (!content) {
        json_decref(root);
        return NULL;
    }
    json_object_set_new(root, "type", json_string(type));
    json_object_set_new(root, type, content);
    if (ob->outbound_id && *ob->outbound_id) {
        /* The debtor's id rides along: a status webhook then names our outbound fully
         * (outbound_id + debtor_id, docs/protocol.md §9) even when the router never learned the
         * provider's id (the SENT report was lost with a crash). */
        char opaque[HILO_WHATSAPP_OPAQUE_MAX * 4 + 1];
        bool debtor = ob->debtor_id && *ob->debtor_id && !strchr(ob->debtor_id, '|') && !strchr(ob->outbound_id, '|');
        int n = snprintf(opaque, sizeof opaque, debtor ? "%s|%s" : "%s", ob->outbound_id, debtor ? ob->debtor_id : "");
        if (n < 0 || (size_t)n >= sizeof opaque || chars(opaque) > HILO_WHATSAPP_OPAQUE_MAX ||
            !hilo_utf8_valid(opaque, (size_t)n)) {
            json_decref(root);
            hilo_provider_fail(e, "invalid_outbound_id", "outbound_id does not fit biz_opaque_callback_data");
            return NULL;
        }
        json_object_set_new(root, "biz_opaque_callback_data", json_string(opaque));
    }
    char *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!out) hilo_provider_fail(e, "internal", "cannot serialize the request");
    return out;
}

int hilo_whatsapp_build_send(const hilo_whatsapp_account_t *acct, const hilo_outbound_t *ob,
                             hilo_provider_request_t *req, hilo_provider_error_t *e) {
    char *body = hilo_whatsapp_send_body(acct, ob, e);
    if (!body) return HILO_ERR;
    memset(req, 0, sizeof *req);
    req->method = hilo_xstrdup("POST");
    hilo_provider_buf_t url = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_addf(&url, "%s/%s/%s/messages", acct->api_base, acct->api_version, acct->phone_number_id);
    req->url = hilo_provider_buf_take(&url);
    req->content_type = hilo_xstrdup("application/json");
    req->body_len = strlen(body);
    req->body = body;
    req->bearer = hilo_xstrdup(acct->access_token);
    return HILO_OK;
}

static bool retryable_code(long code) {
    /* 1 unknown/possible server error, 2 service temporarily unavailable, 4 app rate limit,
     * 80007 account rate limit, 130429 throughput, 131000 "something went wrong",
     * 131016 service unavailable, 131056 pair rate limit: all "try again later". */
    static const long codes[] = {1, 2, 4, 80007, 130429, 131000, 131016, 131056};
    for (size_t i = 0; i < HILO_ARRAY_LEN(codes); i++)
        if (codes[i] == code) return true;
    return false;
}

void hilo_whatsapp_parse_send_result(long http_status, const char *body, size_t len, hilo_provider_result_t *res) {
    memset(res, 0, sizeof *res);
    res->http_status = http_status;
    json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    if (http_status >= 200 && http_status < 300) {
        res->outcome = HILO_PROVIDER_SENT;
        const char *id = jstr(json_array_get(json_object_get(root, "messages"), 0), "id");
        if (id)
            snprintf(res->provider_message_id, sizeof res->provider_message_id, "%s", id);
        else
            snprintf(res->error_message, sizeof res->error_message, "accepted without messages[0].id");
        json_decref(root);
        return;
    }
    const json_t *err = json_object_get(root, "error");
    const json_t *code = json_object_get(err, "code");
    long c = json_is_integer(code) ? (long)json_integer_value(code) : 0;
    if (c)
        snprintf(res->error_code, sizeof res->error_code, "%ld", c);
    else
        snprintf(res->error_code, sizeof res->error_code, "http_%ld", http_status);
    const char *msg = jstr(err, "message");
    const char *details = jstr(json_object_get(err, "error_data"), "details");
    if (msg && details)
        snprintf(res->error_message, sizeof res->error_message, "%s: %s", msg, details);
    else if (msg || details)
        snprintf(res->error_message, sizeof res->error_message, "%s", msg ? msg : details);
    else
        snprintf(res->error_message, sizeof res->error_message, "HTTP %ld", http_status);
    bool retry = http_status == 0 || http_status == 429 || http_status >= 500 || retryable_code(c);
    res->outcome = retry ? HILO_PROVIDER_RETRY : HILO_PROVIDER_FINAL;
    json_decref(root);
}

/* ---- verification handshake ------------------------------------------------------------------ */

const char *hilo_whatsapp_verify(const hilo_form_t *query, const char *verify_token) {
    if (!verify_token || !*verify_token) return NULL;
    const char *mode = hilo_form_get(query, "hub.mode");
    const char *token = hilo_form_get(query, "hub.verify_token");
    const char *challenge = hilo_form_get(query, "hub.challenge");
    if (!mode || strcmp(mode, "subscribe") != 0 || !token || !challenge) return NULL;
    size_t n = strlen(verify_token);
    if (strlen(token) != n || CRYPTO_memcmp(token, verify_token, n) != 0) return NULL;
    size_t cl = strlen(challenge);
    if (cl == 0 || cl > 128) return NULL;
    for (const char *p = challenge; *p; p++)
        if (!isprint((unsigned char)*p)) return NULL;
    return challenge;
}
