/* whatsapp.h — the WhatsApp Cloud API wire formats: a webhook body becomes Envelopes (inbound
 * messages and delivery statuses), an Outbound becomes a send request, the send response a
 * classified result; plus the GET verification handshake. Called by the WhatsApp adapter.
 * Pure: jansson only, no I/O. A parsed webhook owns its envelopes and error notes until
 * hilo_whatsapp_webhook_clear(); a built request is the caller's (hilo_provider_request_clear). */
#ifndef HILO_WHATSAPP_H
#define HILO_WHATSAPP_H

#include <stdbool.h>
#include <stddef.h>

#include "hilo/form.h"
#include "hilo/frame.h"
#include "hilo/provider.h"

/* Cloud API limits we enforce before sending (the API would refuse them anyway). */
#define HILO_WHATSAPP_TEXT_MAX 4096       /* text.body, characters */
#define HILO_WHATSAPP_BUTTON_BODY_MAX 1024 /* interactive body.text, characters */
#define HILO_WHATSAPP_BUTTONS_MAX 3       /* reply buttons per message */
#define HILO_WHATSAPP_BUTTON_TITLE_MAX 20 /* reply.title, characters */
#define HILO_WHATSAPP_BUTTON_ID_MAX 256   /* reply.id, characters */
#define HILO_WHATSAPP_OPAQUE_MAX 512      /* biz_opaque_callback_data, characters */

/* Something in a webhook that is not an envelope but deserves a log line: an entry of
 * value.errors[] (e.g. 130429 rate limit) or a status we do not map. */
typedef struct {
    long code;     /* Meta error code, 0 for our own notes */
    char *title;   /* owned */
    char *message; /* owned; includes error_data.details when present */
} hilo_whatsapp_note_t;

typedef struct {
    hilo_provider_envs_t envs;   /* inbound messages and delivery reports, in payload order */
    hilo_whatsapp_note_t *notes; /* owned */
    size_t n_notes;
    size_t n_ignored;            /* changes whose field is not "messages" */
    char err[256];               /* why parsing failed */
} hilo_whatsapp_webhook_t;

/* Parses a webhook POST body into `out` (which must be zeroed or cleared). Every entry, change
 * and message/status is taken, several per payload. Mapping (docs/providers.md has the table):
 *  - messages[]: provider_message_id = id (wamid), from = wa_id, to = display_phone_number (or
 *    phone_number_id), sent_at_ms = timestamp * 1000, contact_name from contacts[].profile.name.
 *    text → text; interactive button_reply / list_reply and template quick replies (type
 *    "button") → Button{payload, title}; image/audio/document/video/sticker → Media{id,
 *    mime_type, caption, filename}. Any other type (location, contacts, reaction, order,
 *    unsupported, types Meta adds later) becomes text "[unsupported: <type>]": the debtor did
 *    write to us, and dropping it silently would hide that.
 *  - statuses[]: a DeliveryReport (sent/delivered/read/failed with errors[0]); the envelope's
 *    provider_message_id is "<wamid>:<status>" so each state is delivered once, and
 *    biz_opaque_callback_data (set by hilo_whatsapp_build_send) comes back as outbound_id and
 *    debtor_id ("<outbound id>|<debtor id>"; an outbound id alone is read as one).
 *    Other statuses become notes.
 *  - value.errors[]: notes, no envelope.
 * Returns HILO_OK, or HILO_ERR with out->err set: invalid UTF-8, not JSON, not a
 * whatsapp_business_account object, or a message/status without its required fields (the whole
 * body is refused: the provider retries it, and a half-read batch would hide the fault). */
int hilo_whatsapp_parse_webhook(const char *body, size_t len, hilo_whatsapp_webhook_t *out);
void hilo_whatsapp_webhook_clear(hilo_whatsapp_webhook_t *w);

/* The business account an outbound is sent from. Strings are borrowed. */
typedef struct {
    const char *api_base;        /* "https://graph.facebook.com" */
    const char *api_version;     /* "v26.0" */
    const char *phone_number_id; /* sender: POST {api_base}/{version}/{phone_number_id}/messages */
    const char *access_token;    /* system user token, sent as Bearer */
    bool preview_url;            /* text messages: ask WhatsApp to render link previews */
} hilo_whatsapp_account_t;

/* The JSON body of a send (malloc'd), or NULL with `e` set when the outbound cannot be sent:
 *  - template.name set → a template message (language: template.language, else ob->language,
 *    "es-MX" written "es_MX"; body parameters in order);
 *  - else buttons → interactive reply buttons (at most 3, title ≤ 20 characters, id = payload
 *    or the title when empty ≤ 256, text required ≤ 1024);
 *  - else text (≤ 4096 characters, never truncated).
 * When ob->outbound_id is set it travels as biz_opaque_callback_data, with ob->debtor_id after a
 * '|', so that status webhooks name our outbound without a lookup table. */
char *hilo_whatsapp_send_body(const hilo_whatsapp_account_t *acct, const hilo_outbound_t *ob,
                              hilo_provider_error_t *e);
/* The whole request (URL, Bearer token, JSON body). HILO_OK or HILO_ERR with `e`. */
int hilo_whatsapp_build_send(const hilo_whatsapp_account_t *acct, const hilo_outbound_t *ob,
                             hilo_provider_request_t *req, hilo_provider_error_t *e);

/* Reads the API's answer to a send. 2xx with messages[0].id → SENT (a 2xx without an id is
 * still SENT, with an empty id and a note in error_message: sending again could reach the
 * debtor twice). Errors: error.code / error.message. RETRY for HTTP 429, 5xx, no response
 * (status 0) and the throttling / temporary codes (1, 2, 4, 80007, 130429, 131000, 131016,
 * 131056); FINAL for the rest. */
void hilo_whatsapp_parse_send_result(long http_status, const char *body, size_t len, hilo_provider_result_t *res);

/* The GET handshake: returns hub.challenge (borrowed from `query`) when hub.mode is
 * "subscribe" and hub.verify_token equals `verify_token` (constant time), NULL otherwise (and
 * for an empty configured token, or a challenge that is not 1–128 printable ASCII characters). */
const char *hilo_whatsapp_verify(const hilo_form_t *query, const char *verify_token);

#endif
