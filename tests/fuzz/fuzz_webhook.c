/* fuzz_webhook.c — libFuzzer target for the connectors' webhook parsers: one input is one
 * webhook request handed to a provider adapter (connectors/{whatsapp,sms,voice}/adapter_*.c)
 * exactly as the connector runtime hands it over, so the whole path is covered: form decoding
 * (form.c), signature checks (signature.c), WhatsApp JSON (whatsapp.c), Twilio forms (twilio.c),
 * envelope packing (adapter.c) and the voice fallback TwiML (twiml.c). Also the providers'
 * answers to our sends (parse_send_result), which come from the network too.
 *
 * Input layout (tests/fuzz/corpus/fuzz_webhook/ holds real examples):
 *   byte 0      which request: (byte & 0x7f) % N_KINDS indexes KINDS below; bit 0x80 sends the
 *               Twilio ones as Content-Type application/json, unsigned (the SMS adapter checks
 *               such a body's bodySHA256 signature and refuses it; voice refuses it unsigned)
 *   the rest    the body; for the kinds marked `query`, the query string comes first and ends at
 *               the first '\n' (no '\n': all of it is the body). The WhatsApp GET has only a query.
 * Each request is signed with the configured secret, as the provider would sign it: the harness
 * wants the parsers behind the signature check, which a forged request never reaches. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_adapters.h"
#include "hilo/adapter.h"
#include "hilo/common.h"
#include "hilo/form.h"
#include "hilo/frame.h"
#include "hilo/signature.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef enum { K_WEBHOOK = 0, K_SEND_RESULT } kind_type_t;

typedef struct {
    kind_type_t type;
    int adapter;       /* FUZZ_WHATSAPP, FUZZ_SMS, FUZZ_VOICE */
    int route;         /* index in the adapter's routes */
    unsigned method;   /* HILO_HTTP_GET / POST */
    const char *path;
    bool query;        /* the input carries a query line */
} kind_t;

static const kind_t KINDS[] = {
    {K_WEBHOOK, FUZZ_WHATSAPP, 0, HILO_HTTP_POST, "/webhooks/whatsapp", false},
    {K_WEBHOOK, FUZZ_WHATSAPP, 0, HILO_HTTP_GET, "/webhooks/whatsapp", true},
    {K_WEBHOOK, FUZZ_SMS, 0, HILO_HTTP_POST, "/webhooks/twilio/sms", false},
    {K_WEBHOOK, FUZZ_SMS, 1, HILO_HTTP_POST, "/webhooks/twilio/sms/status", true},
    {K_WEBHOOK, FUZZ_VOICE, 0, HILO_HTTP_POST, "/webhooks/twilio/voice", false},
    {K_WEBHOOK, FUZZ_VOICE, 1, HILO_HTTP_POST, "/webhooks/twilio/voice/gather", true},
    {K_WEBHOOK, FUZZ_VOICE, 2, HILO_HTTP_POST, "/webhooks/twilio/voice/status", false},
    /* A send's answer: the first body byte picks the HTTP status. */
    {K_SEND_RESULT, FUZZ_WHATSAPP, 0, 0, NULL, false},
    {K_SEND_RESULT, FUZZ_SMS, 0, 0, NULL, false},
};
#define N_KINDS (sizeof KINDS / sizeof KINDS[0])

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_adapters_init();
    return 0;
}

/* What the runtime does with a result: unpack each envelope it would submit and, for a voice
 * turn that never gets the router's answer, render the fallback for it. */
static void consume(hilo_adapter_t *a, hilo_webhook_result_t *out) {
    /* Every answer but a voice turn's (rendered later) carries a status. */
    if (out->answer != HILO_ANSWER_REPLY && (out->response.status < 100 || out->response.status > 599)) abort();
    for (size_t i = 0; i < out->n_envelopes; i++) {
        hilo_envelope_t *e = hilo__link__v1__envelope__unpack(NULL, out->env_len[i], out->env_buf[i]);
        if (!e) abort(); /* we packed it ourselves */
        if ((int)e->channel != a->ops->channel) abort();
        if (out->answer == HILO_ANSWER_REPLY && (int)i == out->reply_index) {
            hilo_http_response_t resp = {0};
            if (hilo_adapter_render_reply(a, NULL, e, NULL, &resp) != HILO_OK || resp.status != 200) abort();
            hilo_http_response_clear(&resp);
        }
        hilo__link__v1__envelope__free_unpacked(e, NULL);
    }
}

static void webhook(const kind_t *k, bool json, const uint8_t *data, size_t size) {
    /* The query comes from the webhook server as a C string (raw, as received): it ends at a NUL. */
    size_t qlen = 0, skip = 0;
    if (k->method == HILO_HTTP_GET) {
        qlen = skip = size;
    } else if (k->query) {
        const uint8_t *nl = memchr(data, '\n', size);
        if (nl) {
            qlen = (size_t)(nl - data);
            skip = qlen + 1;
        }
    }
    char *query = hilo_xmalloc(qlen + 1);
    memcpy(query, data, qlen);
    query[qlen] = '\0';
    /* The runtime's body is always followed by a '\0' not counted in body_len. */
    size_t blen = size - skip;
    uint8_t *body = hilo_xmalloc(blen + 1);
    memcpy(body, data + skip, blen);
    body[blen] = '\0';
    size_t ulen = strlen(k->path) + strlen(query) + 2;
    char *uri = hilo_xmalloc(ulen);
    snprintf(uri, ulen, "%s%s%s", k->path, *query ? "?" : "", query);

    hilo_http_request_t req = {
        .route = k->route, .method = k->method, .path = k->path, .query = query, .uri = uri,
        .body = body, .body_len = blen,
        .content_type = json ? "application/json" : "application/x-www-form-urlencoded",
        .host = "hilo.example.com", .x_hub_signature_256 = "", .x_twilio_signature = "",
        .remote_addr = "127.0.0.1",
    };
    char meta_sig[HILO_SIGNATURE_META_LEN], twilio_sig[HILO_SIGNATURE_TWILIO_LEN] = "";
    hilo_adapter_t *a = fuzz_adapter(k->adapter);
    if (k->adapter == FUZZ_WHATSAPP) {
        req.content_type = "application/json";
        hilo_signature_meta_compute(FUZZ_META_SECRET, body, blen, meta_sig);
        req.x_hub_signature_256 = meta_sig;
    } else if (!json) {
        char err[128], url[2048];
        hilo_form_t *f = hilo_form_parse((const char *)body, blen, err, sizeof err);
        if (f && snprintf(url, sizeof url, "%s%s", FUZZ_PUBLIC_URL, uri) < (int)sizeof url) {
            hilo_signature_twilio_compute(FUZZ_TWILIO_TOKEN, url, f, twilio_sig);
            req.x_twilio_signature = twilio_sig;
        }
        hilo_form_destroy(&f);
    }
    hilo_webhook_result_t out;
    hilo_webhook_result_init(&out);
    if (hilo_adapter_handle_webhook(a, &req, &out) == HILO_OK) consume(a, &out);
    hilo_webhook_result_release(&out);
    free(uri);
    free(body);
    free(query);
}

static void send_result(const kind_t *k, const uint8_t *data, size_t size) {
    static const int statuses[] = {0, 200, 201, 400, 401, 404, 429, 500, 503};
    int status = size ? statuses[data[0] % (sizeof statuses / sizeof statuses[0])] : 200;
    size_t blen = size ? size - 1 : 0;
    char *body = hilo_xmalloc(blen + 1);
    if (blen) memcpy(body, data + 1, blen);
    body[blen] = '\0';
    hilo_send_result_t res;
    hilo_adapter_parse_send_result(fuzz_adapter(k->adapter), status, body, blen, &res);
    if (res.ok && res.retryable) abort();
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const kind_t *k = &KINDS[(data[0] & 0x7f) % N_KINDS];
    if (k->type == K_SEND_RESULT) send_result(k, data + 1, size - 1);
    else webhook(k, (data[0] & 0x80) != 0, data + 1, size - 1);
    return 0;
}
