/* adapter_whatsapp.c — the WhatsApp Cloud API adapter (table hilo_whatsapp_adapter): the GET
 * verification handshake and signed POST webhooks on /webhooks/whatsapp, sends through
 * POST {api_base}/{version}/{phone_number_id}/messages. Provider knowledge lives in
 * connectors/providers (whatsapp.h, signature.h); this file only wires it to adapter.h.
 *
 * Config section [whatsapp] (secrets from the environment, e.g. HILO_WHATSAPP_APP_SECRET):
 *   app_secret        Meta app secret: X-Hub-Signature-256 key (required)
 *   verify_token      the token typed into Meta's webhook settings (required)
 *   access_token      Graph API token for sending (required)
 *   phone_number_id   the sending business number's id (required)
 *   display_phone_number  the same number as digits (optional; an Outbound.from equal to it or
 *                     to phone_number_id sends from phone_number_id)
 *   api_base          default https://graph.facebook.com
 *   api_version       default v26.0
 *   preview_url       link previews in text messages, default false */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/adapter.h"
#include "hilo/adapter_provider.h"
#include "hilo/form.h"
#include "hilo/log.h"
#include "hilo/signature.h"
#include "hilo/whatsapp.h"

#define MOD "whatsapp"

enum { ROUTE_WEBHOOK = 0 };

static const hilo_adapter_route_t ROUTES[] = {
    {"/webhooks/whatsapp", HILO_HTTP_GET | HILO_HTTP_POST},
    {NULL, 0},
};

typedef struct {
    char *app_secret;
    char *verify_token;
    char *access_token;
    char *phone_number_id;
    char *display_phone_number; /* "" when not configured */
    char *api_base;
    char *api_version;
    bool preview_url;
} wa_state_t;

static void wa_destroy(hilo_adapter_t *self) {
    wa_state_t *st = self->state;
    if (!st) return;
    free(st->app_secret);
    free(st->verify_token);
    free(st->access_token);
    free(st->phone_number_id);
    free(st->display_phone_number);
    free(st->api_base);
    free(st->api_version);
    free(st);
    self->state = NULL;
}

static int wa_configure(hilo_adapter_t *self, hilo_config_t *cfg, const char *section, char *err, size_t errlen) {
    wa_state_t *st = hilo_xcalloc(1, sizeof *st);
    self->state = st;
    if (hilo_adapter_config_str(cfg, section, "app_secret", NULL, true, &st->app_secret, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "verify_token", NULL, true, &st->verify_token, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "access_token", NULL, true, &st->access_token, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "phone_number_id", NULL, true, &st->phone_number_id, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "display_phone_number", "", false, &st->display_phone_number, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "api_base", "https://graph.facebook.com", true, &st->api_base, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "api_version", "v26.0", true, &st->api_version, err, errlen) ||
        hilo_config_bool(cfg, section, "preview_url", false, &st->preview_url))
        return HILO_ERR;
    size_t n = strlen(st->api_base);
    while (n && st->api_base[n - 1] == '/') st->api_base[--n] = '\0';
    if (strncmp(st->api_base, "https://", 8) != 0 && strncmp(st->api_base, "http://", 7) != 0) {
        snprintf(err, errlen, "[%s] api_base: must start with https://", section);
        return HILO_ERR;
    }
    return HILO_OK;
}

/* ---- webhooks --------------------------------------------------------------------------------- */

static int handshake(wa_state_t *st, const hilo_http_request_t *req, hilo_webhook_result_t *out) {
    char err[128];
    hilo_form_t *query = hilo_form_parse(req->query, strlen(req->query), err, sizeof err);
    const char *challenge = query ? hilo_whatsapp_verify(query, st->verify_token) : NULL;
    if (challenge) {
        hilo_log_info(MOD, "event=verify_ok remote=%s", req->remote_addr);
        hilo_webhook_answer_now(out, 200, "text/plain", challenge, "verify");
    } else {
        hilo_log_warn(MOD, "event=verify_refused remote=%s", req->remote_addr);
        hilo_webhook_answer_now(out, 403, "text/plain", "verification refused\n", "verify_refused");
    }
    hilo_form_destroy(&query);
    return HILO_OK;
}

static int wa_handle_webhook(hilo_adapter_t *self, const hilo_http_request_t *req, hilo_webhook_result_t *out) {
    wa_state_t *st = self->state;
    if (req->method == HILO_HTTP_GET) return handshake(st, req, out);

    /* Authenticity first, over the raw bytes, before any parsing. */
    if (!hilo_signature_meta_valid(st->app_secret, req->body, req->body_len, req->x_hub_signature_256)) {
        hilo_log_warn(MOD, "event=bad_signature remote=%s has_header=%d bytes=%zu", req->remote_addr,
                      req->x_hub_signature_256[0] != '\0', req->body_len);
        hilo_webhook_answer_now(out, 401, "text/plain", "bad signature\n", "bad_signature");
        return HILO_OK;
    }
    hilo_whatsapp_webhook_t w;
    memset(&w, 0, sizeof w);
    if (hilo_whatsapp_parse_webhook((const char *)req->body, req->body_len, &w) != HILO_OK) {
        hilo_log_warn(MOD, "event=bad_body remote=%s reason=%s", req->remote_addr, hilo_log_value(w.err));
        hilo_webhook_answer_now(out, 400, "text/plain", "bad body\n", "bad_body");
        hilo_whatsapp_webhook_clear(&w);
        return HILO_OK;
    }
    for (size_t i = 0; i < w.n_notes; i++) /* value.errors[]: Meta telling us something went wrong */
        hilo_log_warn(MOD, "event=provider_error code=%ld title=%s message=%s", w.notes[i].code,
                      hilo_log_value(w.notes[i].title), hilo_log_value(w.notes[i].message));
    int rc = HILO_OK;
    if (w.envs.count == 0) {
        hilo_webhook_answer_now(out, 200, "text/plain", NULL, w.n_notes ? "errors_only" : "ignored");
    } else {
        for (size_t i = 0; i < w.envs.count && rc == HILO_OK; i++) rc = hilo_webhook_add_envelope(out, w.envs.items[i]);
        if (rc == HILO_OK) {
            hilo_webhook_answer_after_ack(out, 200, "text/plain", NULL, "ok");
        } else { /* more than HILO_WEBHOOK_MAX_ENVELOPES: Meta never batches that many */
            hilo_log_error(MOD, "event=too_many_envelopes count=%zu max=%d", w.envs.count, HILO_WEBHOOK_MAX_ENVELOPES);
            hilo_webhook_answer_now(out, 500, "text/plain", "too many events\n", "too_many");
            rc = HILO_OK;
        }
    }
    hilo_whatsapp_webhook_clear(&w);
    return rc;
}

/* ---- sending ----------------------------------------------------------------------------------- */

/* The phone_number_id to send from: ours, unless the outbound names another id (digits). */
static const char *sender_id(const wa_state_t *st, const hilo_outbound_t *ob) {
    const char *from = ob->from ? ob->from : "";
    if (!*from || strcmp(from, st->phone_number_id) == 0 ||
        (st->display_phone_number[0] && strcmp(from, st->display_phone_number) == 0) ||
        strspn(from, "0123456789") != strlen(from))
        return st->phone_number_id;
    return from;
}

static int wa_build_send(hilo_adapter_t *self, const hilo_outbound_t *ob, hilo_send_plan_t *plan) {
    wa_state_t *st = self->state;
    hilo_whatsapp_account_t acct = {
        .api_base = st->api_base,
        .api_version = st->api_version,
        .phone_number_id = sender_id(st, ob),
        .access_token = st->access_token,
        .preview_url = st->preview_url,
    };
    hilo_provider_request_t req;
    hilo_provider_error_t e;
    if (hilo_whatsapp_build_send(&acct, ob, &req, &e) != HILO_OK) {
        hilo_send_plan_refuse(plan, e.code, e.message);
        return HILO_OK;
    }
    snprintf(plan->rate_key, sizeof plan->rate_key, "%s", acct.phone_number_id);
    hilo_http_call_t *c = hilo_send_plan_add_call(plan, req.method, req.url);
    int rc = c ? HILO_OK : HILO_ERR;
    if (c) {
        size_t n = strlen(req.bearer) + 8;
        char *auth = hilo_xmalloc(n);
        snprintf(auth, n, "Bearer %s", req.bearer);
        if (hilo_http_call_add_header(c, "Authorization", auth) != HILO_OK ||
            hilo_http_call_add_header(c, "Content-Type", req.content_type) != HILO_OK)
            rc = HILO_ERR;
        memset(auth, 0, n);
        free(auth);
        hilo_http_call_set_body(c, req.body, req.body_len);
    }
    hilo_provider_request_clear(&req);
    return rc;
}

static int wa_parse_send_result(hilo_adapter_t *self, int http_status, const char *body, size_t len,
                                hilo_send_result_t *res) {
    hilo_provider_result_t r;
    hilo_whatsapp_parse_send_result(http_status, body, len, &r);
    hilo_send_result_from_provider(&r, res);
    if (res->ok && !r.provider_message_id[0])
        hilo_log_warn(MOD, "event=sent_without_id status=%d", http_status);
    return HILO_OK;
}

const hilo_adapter_ops_t hilo_whatsapp_adapter = {
    .name = "whatsapp",
    .channel = HILO_CHANNEL_WHATSAPP,
    .default_http_port = 8081,
    .default_rate_per_s = 80.0, /* Cloud API default throughput per business number */
    .routes = ROUTES,
    .signed_by = HILO_SIGNED_META,
    .unsigned_status = 401,
    .configure = wa_configure,
    .destroy = wa_destroy,
    .handle_webhook = wa_handle_webhook,
    .build_send = wa_build_send,
    .parse_send_result = wa_parse_send_result,
    .render_reply = NULL,
};
