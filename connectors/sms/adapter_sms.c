/* adapter_sms.c — the Twilio Programmable Messaging adapter (table hilo_sms_adapter): signed
 * webhooks for inbound SMS/MMS (/webhooks/twilio/sms) and delivery status
 * (/webhooks/twilio/sms/status); sends through Messages.json, one call per part of a long text.
 * Provider knowledge lives in connectors/providers (twilio.h, twiml.h, signature.h).
 *
 * Config section [sms] (secrets from the environment, e.g. HILO_SMS_AUTH_TOKEN):
 *   account_sid           AC… (required)
 *   auth_token            signs Twilio's webhooks; also the REST password without an API key (required)
 *   api_key_sid, api_key_secret   optional REST credentials instead of the auth token
 *   from                  default sender (E.164); or
 *   messaging_service_sid MG…: Twilio picks the sender (one of the two is required)
 *   public_url            the base URL Twilio calls, e.g. https://hilo.example.com: signatures
 *                         cover the full public URL, which a proxy hides from us (required)
 *   api_base              default https://api.twilio.com
 *   max_parts             parts a text over 1600 characters may become, 1..8, default 3
 *                         (1 = refuse such texts)
 *   status_callback       ask Twilio for delivery status webhooks, default true */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/adapter.h"
#include "hilo/adapter_provider.h"
#include "hilo/form.h"
#include "hilo/log.h"
#include "hilo/signature.h"
#include "hilo/twilio.h"
#include "hilo/twiml.h"

#define MOD "sms"
#define STATUS_PATH "/webhooks/twilio/sms/status"

enum { ROUTE_INBOUND = 0, ROUTE_STATUS };

static const hilo_adapter_route_t ROUTES[] = {
    {"/webhooks/twilio/sms", HILO_HTTP_POST},
    {STATUS_PATH, HILO_HTTP_POST},
    {NULL, 0},
};

typedef struct {
    char *account_sid;
    char *auth_token;
    char *api_key_sid;    /* "" = use account_sid / auth_token for REST */
    char *api_key_secret;
    char *from;
    char *messaging_service_sid;
    char *public_url;     /* no trailing '/' */
    char *api_base;       /* no trailing '/' */
    char *status_url;     /* public_url + STATUS_PATH, or "" when status callbacks are off */
    long long max_parts;
} sms_state_t;

static void sms_destroy(hilo_adapter_t *self) {
    sms_state_t *st = self->state;
    if (!st) return;
    free(st->account_sid);
    free(st->auth_token);
    free(st->api_key_sid);
    free(st->api_key_secret);
    free(st->from);
    free(st->messaging_service_sid);
    free(st->public_url);
    free(st->api_base);
    free(st->status_url);
    free(st);
    self->state = NULL;
}

static int sms_configure(hilo_adapter_t *self, hilo_config_t *cfg, const char *section, char *err, size_t errlen) {
    sms_state_t *st = hilo_xcalloc(1, sizeof *st);
    self->state = st;
    bool status_cb = true;
    if (hilo_adapter_config_str(cfg, section, "account_sid", NULL, true, &st->account_sid, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "auth_token", NULL, true, &st->auth_token, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "api_key_sid", "", false, &st->api_key_sid, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "api_key_secret", "", false, &st->api_key_secret, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "from", "", false, &st->from, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "messaging_service_sid", "", false, &st->messaging_service_sid, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "public_url", NULL, true, &st->public_url, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "api_base", "https://api.twilio.com", true, &st->api_base, err, errlen) ||
        hilo_config_int(cfg, section, "max_parts", 3, 1, HILO_SEND_MAX_CALLS, &st->max_parts) ||
        hilo_config_bool(cfg, section, "status_callback", true, &status_cb))
        return HILO_ERR;
    if (hilo_adapter_config_url(cfg, st->public_url, section, "public_url") ||
        hilo_adapter_config_url(cfg, st->api_base, section, "api_base"))
        return HILO_ERR;
    if (!st->from[0] && !st->messaging_service_sid[0]) {
        snprintf(err, errlen, "[%s] from: set from or messaging_service_sid", section);
        return HILO_ERR;
    }
    if (!st->api_key_sid[0] != !st->api_key_secret[0]) {
        snprintf(err, errlen, "[%s] api_key_sid: set both api_key_sid and api_key_secret, or neither", section);
        return HILO_ERR;
    }
    size_t n = strlen(st->public_url) + sizeof STATUS_PATH;
    st->status_url = hilo_xmalloc(n);
    snprintf(st->status_url, n, "%s%s", status_cb ? st->public_url : "", status_cb ? STATUS_PATH : "");
    return HILO_OK;
}

/* ---- webhooks --------------------------------------------------------------------------------- */

/* Decodes the form body and checks X-Twilio-Signature over public_url + uri and the params.
 * On failure answers the webhook itself (400 unreadable, 403 bad signature) and returns NULL. */
static hilo_form_t *verified_form(const sms_state_t *st, const hilo_http_request_t *req, hilo_webhook_result_t *out) {
    size_t n = strlen(st->public_url) + strlen(req->uri) + 1;
    char *url = hilo_xmalloc(n);
    snprintf(url, n, "%s%s", st->public_url, req->uri);
    char err[128];
    hilo_form_t *form = NULL;
    if (strncmp(req->content_type, "application/json", 16) == 0) {
        /* Twilio signs JSON bodies differently (bodySHA256); we have no JSON SMS webhooks. */
        bool ok = hilo_signature_twilio_json_valid(st->auth_token, url, req->body, req->body_len, req->x_twilio_signature);
        hilo_log_warn(MOD, "event=json_webhook path=%s signature_ok=%d", hilo_log_value(req->path), ok);
        if (ok)
            hilo_webhook_answer_now(out, 415, "text/plain", "form bodies only\n", "unsupported_type");
        else
            hilo_webhook_answer_now(out, 403, "text/plain", "bad signature\n", "bad_signature");
    } else if (!(form = hilo_form_parse((const char *)req->body, req->body_len, err, sizeof err))) {
        hilo_log_warn(MOD, "event=bad_body path=%s remote=%s reason=%s", hilo_log_value(req->path), req->remote_addr,
                      hilo_log_value(err));
        hilo_webhook_answer_now(out, 400, "text/plain", "bad body\n", "bad_body");
    } else if (!hilo_signature_twilio_valid(st->auth_token, url, form, req->x_twilio_signature)) {
        hilo_log_warn(MOD, "event=bad_signature path=%s remote=%s has_header=%d", hilo_log_value(req->path), req->remote_addr,
                      req->x_twilio_signature[0] != '\0');
        hilo_webhook_answer_now(out, 403, "text/plain", "bad signature\n", "bad_signature");
        hilo_form_destroy(&form);
    }
    free(url);
    return form;
}

static int sms_handle_webhook(hilo_adapter_t *self, const hilo_http_request_t *req, hilo_webhook_result_t *out) {
    sms_state_t *st = self->state;
    hilo_form_t *form = verified_form(st, req, out);
    if (!form) return HILO_OK;
    hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
    hilo_provider_error_t e = {"", ""};
    hilo_form_t *query = NULL;
    int rc, result = HILO_OK;
    if (req->route == ROUTE_INBOUND) {
        rc = hilo_twilio_sms_inbound(form, &envs, &e);
    } else {
        char err[128];
        query = hilo_form_parse(req->query, strlen(req->query), err, sizeof err);
        rc = query ? hilo_twilio_sms_status(form, query, &envs, &e) : hilo_provider_fail(&e, "bad_query", "%s", err);
    }
    if (rc != HILO_OK) {
        hilo_log_warn(MOD, "event=bad_body path=%s code=%s reason=%s", hilo_log_value(req->path), e.code,
                      hilo_log_value(e.message));
        hilo_webhook_answer_now(out, 400, "text/plain", "bad body\n", "bad_body");
    } else if (envs.count == 0) { /* a status that settles nothing (queued, sending, ...) */
        hilo_webhook_answer_now(out, 200, "text/xml", hilo_twiml_sms_empty(), "ignored");
    } else if (hilo_webhook_add_envelope(out, envs.items[0]) != HILO_OK) {
        result = HILO_ERR; /* cannot happen with one envelope; the runtime answers 500 */
    } else {
        /* The empty <Response/> once the router holds it: replies go out through the REST API. */
        hilo_webhook_answer_after_ack(out, 200, "text/xml", hilo_twiml_sms_empty(),
                                      req->route == ROUTE_INBOUND ? "ok" : "status");
    }
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&query);
    hilo_form_destroy(&form);
    return result;
}

/* ---- sending ----------------------------------------------------------------------------------- */

static int add_call(hilo_send_plan_t *plan, const hilo_provider_request_t *req) {
    hilo_http_call_t *c = hilo_send_plan_add_call(plan, req->method, req->url);
    if (!c || hilo_http_call_basic_auth(c, req->basic_user, req->basic_pass) != HILO_OK ||
        hilo_http_call_add_header(c, "Content-Type", req->content_type) != HILO_OK)
        return HILO_ERR;
    hilo_http_call_set_body(c, req->body, req->body_len);
    return HILO_OK;
}

static int sms_build_send(hilo_adapter_t *self, const hilo_outbound_t *ob, hilo_send_plan_t *plan) {
    sms_state_t *st = self->state;
    hilo_twilio_account_t acct = {
        .api_base = st->api_base,
        .account_sid = st->account_sid,
        .auth_user = st->api_key_sid[0] ? st->api_key_sid : st->account_sid,
        .auth_secret = st->api_key_sid[0] ? st->api_key_secret : st->auth_token,
        .from = st->from,
        .messaging_service_sid = st->messaging_service_sid,
        .status_callback = st->status_url,
        .max_parts = (unsigned)st->max_parts,
    };
    hilo_provider_request_t reqs[HILO_SEND_MAX_CALLS];
    size_t n = 0;
    hilo_provider_error_t e;
    if (hilo_twilio_build_sms(&acct, ob, reqs, HILO_SEND_MAX_CALLS, &n, &e) != HILO_OK) {
        hilo_send_plan_refuse(plan, e.code, e.message);
        return HILO_OK;
    }
    const char *key = ob->from && *ob->from ? ob->from : st->from[0] ? st->from : st->messaging_service_sid;
    snprintf(plan->rate_key, sizeof plan->rate_key, "%s", key);
    int rc = HILO_OK;
    for (size_t i = 0; i < n; i++) {
        if (rc == HILO_OK) rc = add_call(plan, &reqs[i]);
        hilo_provider_request_clear(&reqs[i]);
    }
    if (n > 1) hilo_log_info(MOD, "event=split outbound_id=%s parts=%zu", ob->outbound_id, n);
    return rc;
}

const hilo_adapter_ops_t hilo_sms_adapter = {
    .name = "sms",
    .channel = HILO_CHANNEL_SMS,
    .default_http_port = 8082,
    .default_rate_per_s = 1.0, /* one message/s per long code; raise for short codes or services */
    .routes = ROUTES,
    .signed_by = HILO_SIGNED_TWILIO,
    .unsigned_status = 403,
    .configure = sms_configure,
    .destroy = sms_destroy,
    .handle_webhook = sms_handle_webhook,
    .build_send = sms_build_send,
    .parse_send_result = hilo_twilio_adapter_parse_send_result,
    .render_reply = NULL,
};
