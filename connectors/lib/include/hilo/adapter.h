/* adapter.h — the provider adapter interface: what a channel connector (WhatsApp, Twilio SMS,
 * Twilio voice, ...) must provide so that the connector runtime (connectors/lib) can serve its
 * webhooks and call its API. The runtime owns the loop, the router link, the HTTP server and
 * client, retries, rate limits and dedupe; the adapter is pure provider knowledge.
 * An adapter is a table of function pointers (hilo_adapter_ops_t) called through the static
 * inline wrappers below. Ownership: everything passed in is borrowed for the call only; what the
 * adapter hands back goes through the setter functions, which copy. */
#ifndef HILO_ADAPTER_H
#define HILO_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo/common.h"
#include "hilo/config.h"
#include "hilo/frame.h"

/* ---------------------------------------------------------------------------------------------
 * Configuration keys.
 * A connector reads ONE config section, named by ops->name ("whatsapp", "sms", "voice"; the
 * command line can pick another: -s whatsapp-2). The runtime reads these keys from it; the
 * adapter must not read them, and reads its own provider keys (app_secret, account_sid, ...)
 * from the same section in configure(). Secrets come from the environment:
 * HILO_<SECTION>_<KEY> (config.h does it), e.g. HILO_WHATSAPP_APP_SECRET.
 *   link_connect, instance, http_port, http_bind, metrics_bind, metrics_port, max_body,
 *   max_header, max_buffered, request_timeout_ms, ack_timeout_ms, max_inflight,
 *   webhook_deadline_ms, voice_reply_deadline_ms, max_pending, max_outbound, envelope_ttl_ms,
 *   rate_per_s, rate_burst, send_timeout_ms, retry_min_ms, retry_max_ms, retry_give_up_ms,
 *   dedupe_size, stop_grace_ms, log_level, dead_letter_file, spool_dir, spool_max_events,
 *   spool_max_age_ms   (meanings and defaults: docs/connectors.md)
 * ------------------------------------------------------------------------------------------- */

/* ----- HTTP request (webhook in) ----------------------------------------------------------- */

#define HILO_HTTP_GET 0x1u
#define HILO_HTTP_POST 0x2u

/* A webhook path the adapter serves. ops->routes is an array ending with {NULL, 0}. The match is
 * exact on the path (no query). Anything else gets 404 (405 for a served path and another
 * method) from the runtime without calling the adapter. */
typedef struct {
    const char *path;  /* e.g. "/webhooks/whatsapp" */
    unsigned methods;  /* HILO_HTTP_GET | HILO_HTTP_POST */
} hilo_adapter_route_t;

/* One webhook request, complete (the body is all there). Valid only during handle_webhook(). */
typedef struct {
    int route;                     /* index in ops->routes of the matched path */
    unsigned method;               /* HILO_HTTP_GET or HILO_HTTP_POST */
    const char *path;              /* "/webhooks/twilio/sms" */
    const char *query;             /* query string without '?', "" when none, exactly as received
                                    * (still percent-encoded: hilo_form_parse() decodes it) */
    const char *uri;               /* the request-target exactly as received (path, then "?" and
                                    * the query when there is one): append it to the configured
                                    * public base URL to get the URL Twilio signed */
    const uint8_t *body;           /* raw body bytes exactly as received (sign over these);
                                    * always followed by a '\0' not counted in body_len */
    size_t body_len;
    const char *content_type;      /* Content-Type header, "" when absent */
    const char *host;              /* Host header, "" when absent */
    const char *x_hub_signature_256; /* X-Hub-Signature-256 (Meta), "" when absent */
    const char *x_twilio_signature;  /* X-Twilio-Signature, "" when absent */
    const char *remote_addr;       /* peer IP, for logs */
    int listener;                  /* the runtime's: 0 the webhook port, 1 the metrics port */
} hilo_http_request_t;

/* Returns a query parameter's value, decoded ('%XX' and '+'), copied into buf; NULL when absent,
 * when it does not fit or when it is badly escaped. For GET verification handshakes (hub.mode,
 * hub.challenge...). */
const char *hilo_http_query_param(const hilo_http_request_t *req, const char *name, char *buf,
                                  size_t buflen);

/* ----- HTTP response ----------------------------------------------------------------------- */

/* What the runtime writes back to the provider. Fill it with hilo_http_response_set(). */
typedef struct {
    int status;             /* HTTP status, 0 = not set */
    char content_type[64];  /* e.g. "text/xml", "text/plain"; "" sends none */
    char *body;             /* owned by the response (malloc'd copy) */
    size_t body_len;
} hilo_http_response_t;

/* Sets status, content type and a copy of the body (body may be NULL for an empty body;
 * len (size_t)-1 = strlen(body)). Replaces what was there. */
void hilo_http_response_set(hilo_http_response_t *r, int status, const char *content_type,
                            const char *body, size_t len);
void hilo_http_response_clear(hilo_http_response_t *r);

/* ----- Webhook result ------------------------------------------------------------------------
 * handle_webhook() tells the runtime which envelopes to submit to the router and how to answer:
 *
 *  HILO_ANSWER_NOW        answer `response` right away; no envelope is submitted (GET verify
 *                         challenge, 401/403 bad signature, 400 bad body, 200 for an event the
 *                         adapter ignores). Envelopes added before are dropped.
 *  HILO_ANSWER_AFTER_ACK  submit the envelopes (zero or more) and answer `response` only once the
 *                         router has acked every one of them (an ack with duplicate = true counts).
 *                         If the router refuses one, the pending queue is full, or the webhook
 *                         deadline passes first, the runtime answers 503 (refused: 500) instead,
 *                         so the provider retries: a webhook is never answered 2xx before it is
 *                         durable.
 *  HILO_ANSWER_REPLY      (voice turns) submit the envelopes, exactly one of them with
 *                         wants_reply = true; once it is acked, wait for the router's Outbound with
 *                         reply_to_seq = its seq and answer render_reply(outbound, turn). If the
 *                         reply does not come within voice_reply_deadline_ms (or the envelope is
 *                         refused or times out), answer render_reply(NULL, turn): the adapter's
 *                         fallback (e.g. "one moment" + redirect to the same URL). `turn` is the
 *                         envelope that waits (seq set), for call context. `response` is unused.
 *
 * Envelope rules: set channel, provider_message_id, from, to, content; leave seq = 0 (the runtime
 * assigns it). hilo_webhook_add_envelope() deep-copies the envelope, so it may live on the stack
 * and its strings may be freed right after the call.
 * ------------------------------------------------------------------------------------------- */
typedef enum {
    HILO_ANSWER_NOW = 0,
    HILO_ANSWER_AFTER_ACK,
    HILO_ANSWER_REPLY,
} hilo_answer_t;

#define HILO_WEBHOOK_MAX_ENVELOPES 64 /* a WhatsApp batch rarely holds more than a few */

typedef struct {
    hilo_answer_t answer;           /* how to answer, see above; set it with the setters */
    hilo_http_response_t response;  /* the answer (NOW and AFTER_ACK) */
    const char *why;                /* short static label for logs and metrics: "ok",
                                     * "verify", "bad_signature", "bad_body", "ignored", ... */
    uint8_t *env_buf[HILO_WEBHOOK_MAX_ENVELOPES]; /* packed envelopes (runtime internal) */
    size_t env_len[HILO_WEBHOOK_MAX_ENVELOPES];
    size_t n_envelopes;
    int reply_index;                /* which envelope wants a reply, -1 = none (internal) */
} hilo_webhook_result_t;

/* Answer now, submitting nothing. `why` must be a static string (metric label). */
void hilo_webhook_answer_now(hilo_webhook_result_t *out, int status, const char *content_type,
                             const char *body, const char *why);
/* Answer this once every envelope added is acked (status is usually 200; body may be NULL). */
void hilo_webhook_answer_after_ack(hilo_webhook_result_t *out, int status, const char *content_type,
                                   const char *body, const char *why);
/* Answer with render_reply() once the router replies to the envelope that has wants_reply. */
void hilo_webhook_answer_reply(hilo_webhook_result_t *out, const char *why);
/* Copies `env` into the result (seq is ignored). HILO_ERR when more than
 * HILO_WEBHOOK_MAX_ENVELOPES, or a second envelope with wants_reply. */
int hilo_webhook_add_envelope(hilo_webhook_result_t *out, const hilo_envelope_t *env);

/* Runtime internal: init before the call, release after. */
void hilo_webhook_result_init(hilo_webhook_result_t *out);
void hilo_webhook_result_release(hilo_webhook_result_t *out);

/* ----- Outbound send plan (provider API calls) -----------------------------------------------
 * build_send() turns one Outbound into one or more HTTP calls (several for an SMS split into
 * parts), made in order. Each successful call gives a provider message id (parse_send_result);
 * the runtime never repeats a call that succeeded. Or it refuses the outbound (bad address,
 * nothing the provider can send): the runtime then reports STATE_FAILED with that code/message.
 * ------------------------------------------------------------------------------------------- */
#define HILO_SEND_MAX_CALLS 8
#define HILO_SEND_MAX_HEADERS 12

typedef struct {
    char method[8];                        /* "POST", "GET" */
    char *url;                             /* full URL (owned) */
    char *headers[HILO_SEND_MAX_HEADERS];  /* "Name: value" lines (owned) */
    size_t n_headers;
    char *body;                            /* request body (owned), NULL = none */
    size_t body_len;
} hilo_http_call_t;

typedef struct {
    hilo_http_call_t calls[HILO_SEND_MAX_CALLS];
    size_t n_calls;
    char rate_key[64];         /* which sender the rate limit counts against (business number,
                                * phone_number_id); "" = the outbound's `from`, or "default" */
    bool refused;              /* set by hilo_send_plan_refuse() */
    char error_code[64];       /* refusal code, e.g. "invalid_address" */
    char error_message[256];   /* refusal text */
} hilo_send_plan_t;

/* Adds a call; NULL when HILO_SEND_MAX_CALLS are used. */
hilo_http_call_t *hilo_send_plan_add_call(hilo_send_plan_t *p, const char *method, const char *url);
/* Adds a "Name: value" header. HILO_ERR when full. */
int hilo_http_call_add_header(hilo_http_call_t *c, const char *name, const char *value);
/* Adds "Authorization: Basic base64(user:password)" (Twilio). */
int hilo_http_call_basic_auth(hilo_http_call_t *c, const char *user, const char *password);
/* Sets (copies) the body; len (size_t)-1 = strlen(body). */
void hilo_http_call_set_body(hilo_http_call_t *c, const char *body, size_t len);
/* Refuses the outbound: no call is made; it is reported FAILED with code/message. */
void hilo_send_plan_refuse(hilo_send_plan_t *p, const char *code, const char *message);

void hilo_send_plan_init(hilo_send_plan_t *p);
void hilo_send_plan_release(hilo_send_plan_t *p);

/* ----- Send result ----------------------------------------------------------------------------
 * parse_send_result() reads the provider's answer to one call. Guidance: 2xx with an id →
 * ok = true; 429 and 5xx → retryable = true; other 4xx → final failure with the provider's error
 * code and message. Network errors and timeouts never reach the adapter: the runtime retries.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    bool ok;                          /* the provider accepted the message */
    bool retryable;                   /* not ok, but trying again later may work */
    char provider_message_id[256];    /* ok: wamid / MessageSid */
    char error_code[64];              /* not ok: provider's code ("131047", "21211") or "http_<status>" */
    char error_message[256];          /* not ok: provider's text (no message bodies) */
} hilo_send_result_t;

/* ----- The adapter ---------------------------------------------------------------------------- */
typedef struct hilo_adapter hilo_adapter_t;

#define HILO_SIGNED_NONE 0
#define HILO_SIGNED_META 1   /* X-Hub-Signature-256 */
#define HILO_SIGNED_TWILIO 2 /* X-Twilio-Signature */

typedef struct hilo_adapter_ops {
    const char *name;             /* "whatsapp": default config section, logs, metrics */
    int channel;                  /* HILO_CHANNEL_* sent in Hello and checked on envelopes */
    int default_http_port;        /* whatsapp 8081, sms 8082, voice 8083 */
    double default_rate_per_s;    /* per-sender send rate (token bucket); 0 = unlimited */
    const hilo_adapter_route_t *routes; /* webhook paths, ending with {NULL, 0} */
    /* Which signature header every POST to a route must carry. A POST without it is answered
     * `unsigned_status` from its head alone, its body never read (docs/security.md); one with
     * it still goes through handle_webhook's full check. HILO_SIGNED_NONE: no such check. */
    int signed_by;                /* HILO_SIGNED_* */
    int unsigned_status;          /* 401 (Meta's habit), 403 (Twilio's) */

    /* Reads the adapter's keys from `section` and sets self->state. HILO_OK, or HILO_ERR with
     * either the config error set (hilo_config_error(cfg), when a getter failed) or a reason in
     * err ("[sms] public_url: must start with https://"). Required. */
    int (*configure)(hilo_adapter_t *self, hilo_config_t *cfg, const char *section, char *err,
                     size_t errlen);
    /* Frees self->state (may be NULL when configure failed half-way). Required. */
    void (*destroy)(hilo_adapter_t *self);
    /* One complete webhook request → answer and envelopes (see the result rules above). Must
     * always set an answer; HILO_ERR = internal error, answered 500. Required. */
    int (*handle_webhook)(hilo_adapter_t *self, const hilo_http_request_t *req,
                          hilo_webhook_result_t *out);
    /* Outbound → provider API calls, or a refusal. Outbounds that answer a voice turn
     * (reply_to_seq with a webhook still waiting) go to render_reply instead; a late one
     * (its webhook already answered) comes here: update the live call, or refuse it.
     * HILO_ERR = refused with "internal". Required. */
    int (*build_send)(hilo_adapter_t *self, const hilo_outbound_t *ob, hilo_send_plan_t *plan);
    /* The provider's answer to one call of the plan → result. Required. */
    int (*parse_send_result)(hilo_adapter_t *self, int http_status, const char *body, size_t len,
                             hilo_send_result_t *res);
    /* Voice: the webhook answer for a turn: TwiML for `ob`, or the fallback when ob == NULL.
     * `turn` is the envelope that waits for it (seq set; borrowed; NULL when unknown): the
     * call's context (call id) for the fallback. `query` is that webhook's query as received
     * (hilo_http_request_t.query; "" when none, NULL when unknown): URLs the answer gives the
     * provider for the next turn keep it. Optional (NULL for channels without
     * HILO_ANSWER_REPLY). */
    int (*render_reply)(hilo_adapter_t *self, const hilo_outbound_t *ob, const hilo_envelope_t *turn,
                        const char *query, hilo_http_response_t *resp);
} hilo_adapter_ops_t;

struct hilo_adapter {
    const hilo_adapter_ops_t *ops; /* the table */
    void *state;                   /* the adapter's own data, set by configure() */
    const char *section;           /* config section in use (owned by the runtime) */
};

static inline int hilo_adapter_configure(hilo_adapter_t *a, hilo_config_t *cfg, const char *section,
                                         char *err, size_t errlen) {
    return a->ops->configure(a, cfg, section, err, errlen);
}
static inline void hilo_adapter_destroy_state(hilo_adapter_t *a) {
    if (a->ops->destroy) a->ops->destroy(a);
    a->state = NULL;
}
static inline int hilo_adapter_handle_webhook(hilo_adapter_t *a, const hilo_http_request_t *req,
                                              hilo_webhook_result_t *out) {
    return a->ops->handle_webhook(a, req, out);
}
static inline int hilo_adapter_build_send(hilo_adapter_t *a, const hilo_outbound_t *ob,
                                          hilo_send_plan_t *plan) {
    return a->ops->build_send(a, ob, plan);
}
static inline int hilo_adapter_parse_send_result(hilo_adapter_t *a, int status, const char *body,
                                                 size_t len, hilo_send_result_t *res) {
    return a->ops->parse_send_result(a, status, body, len, res);
}
static inline int hilo_adapter_render_reply(hilo_adapter_t *a, const hilo_outbound_t *ob,
                                            const hilo_envelope_t *turn, const char *query,
                                            hilo_http_response_t *resp) {
    if (!a->ops->render_reply) return HILO_ERR;
    return a->ops->render_reply(a, ob, turn, query, resp);
}

/* ----- The executable ----------------------------------------------------------------------
 * A connector's main.c is only:
 *     extern const hilo_adapter_ops_t hilo_whatsapp_adapter;   (defined in adapter_whatsapp.c)
 *     int main(int argc, char **argv) { return hilo_connector_main(&hilo_whatsapp_adapter, argc, argv); }
 * The tables the reference connectors' main.c files expect (non-static, const):
 *     hilo_whatsapp_adapter (connectors/whatsapp/adapter_*.c), hilo_sms_adapter
 *     (connectors/sms/adapter_*.c), hilo_voice_adapter (connectors/voice/adapter_*.c).
 * Options: -c FILE (config), -s SECTION (ops->name, or ops->name-<suffix>), -l LEVEL (log level),
 * --check-config, --version, -h (connectors/lib/src/options.c).
 * Exit codes: 0 clean stop (SIGTERM/SIGINT), 2 bad config or usage, 1 runtime failure.
 * ------------------------------------------------------------------------------------------- */
/* Config helpers for adapters' configure(). */
/* Reads [section] key into *dst (a malloc'd copy; "" when absent and not required). A required
 * key that is empty gives HILO_ERR with "[section] key: required (or set HILO_... in the
 * environment)" in err. */
int hilo_adapter_config_str(hilo_config_t *cfg, const char *section, const char *key, const char *def,
                            bool required, char **dst, char *err, size_t errlen);
/* Checks a base URL read with the above: http(s)://…, no query or fragment; drops trailing
 * slashes in place. HILO_ERR with the config error set ("FILE:LINE: [section] key: reason"). */
int hilo_adapter_config_url(hilo_config_t *cfg, char *url, const char *section, const char *key);

int hilo_connector_main(const hilo_adapter_ops_t *ops, int argc, char **argv);

#endif
