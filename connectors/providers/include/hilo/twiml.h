/* twiml.h — renders the TwiML documents hilo answers Twilio with: a voice turn from an Outbound
 * (say + gather, say + hang up, dial an agent / SIP address / queue, enqueue), a safe fallback
 * when the router does not answer in time, and the SMS webhook replies. Called by the voice and
 * SMS adapters. Pure. A hilo_twiml_t owns copies of its options; rendered documents are
 * malloc'd and belong to the caller. */
#ifndef HILO_TWIML_H
#define HILO_TWIML_H

#include <stddef.h>

#include "hilo/frame.h"
#include "hilo/provider.h"

typedef struct {
    const char *language_map;     /* "es=es-MX,en=en-US": BCP 47 tag or primary subtag → Twilio
                                   * language code for <Say> and <Gather>; NULL = that default */
    const char *default_language; /* when the outbound has none, and for the fallback; NULL = "es" */
    const char *gather_action;    /* <Gather action>; "?turn=<outbound_id>" is appended. Required. */
    unsigned gather_timeout_s;    /* when VoiceAction.timeout_s is 0; 0 = 5 s */
    const char *enqueue_wait_url; /* <Enqueue waitUrl>, NULL = Twilio's hold music */
    const char *dial_queue_url;   /* <Queue url> when dialing "queue:<name>", NULL = none */
    const char *fallback_queue;   /* fallback and ENQUEUE without target: <Enqueue> into this
                                   * queue; NULL = the fallback hangs up */
} hilo_twiml_opts_t;

typedef struct hilo_twiml hilo_twiml_t;

/* NULL with err set when the options are unusable (no gather_action, bad language_map). */
hilo_twiml_t *hilo_twiml_new(const hilo_twiml_opts_t *opts, char *err, size_t errlen);
void hilo_twiml_destroy(hilo_twiml_t **self_p);

/* The Twilio language for a BCP 47 tag: the map's entry for the whole tag, else for its primary
 * subtag ("es-419" → "es" → "es-MX"), else a tag with a region as it is ("en-GB"), else the
 * default language's entry, else "en-US". Valid until destroy. */
const char *hilo_twiml_language(const hilo_twiml_t *self, const char *bcp47);

/* The voice document for `ob` (in ob->language), by ob->voice->kind:
 *  SAY_GATHER (also when ob->voice is NULL): <Gather input="speech dtmf" action="…?turn=<id>"
 *    method="POST" numDigits timeout speechTimeout="auto" language actionOnEmptyResult="true">
 *    <Say>text</Say></Gather>, then a no-input goodbye and <Hangup/>. Needs ob->outbound_id
 *    (the turn token, see twilio.h).
 *  SAY_HANGUP: <Say>text</Say><Hangup/>.
 *  DIAL: [<Say>text</Say>]<Dial>target</Dial>; "sip:…" → <Sip>, "queue:<name>" → <Queue>.
 *  ENQUEUE: [<Say>text</Say>]<Enqueue waitUrl>target</Enqueue> (fallback_queue when empty).
 * <Say> carries language= unless it is en-US, Twilio's default. Text is XML-escaped; control
 * characters become spaces. NULL with `e` on invalid UTF-8 or a missing target / id. */
char *hilo_twiml_render(const hilo_twiml_t *self, const hilo_outbound_t *ob, hilo_provider_error_t *e);
/* The same for the answer to a webhook whose query (without '?', as received, NULL = none) is
 * `query`: a gather's action keeps that query's parameters, but `turn`, before its own
 * "turn=<outbound_id>" (…/gather?tenant=a&turn=<id>), so a call keeps what its number's webhook
 * URL carried on every turn. */
char *hilo_twiml_render_turn(const hilo_twiml_t *self, const hilo_outbound_t *ob, const char *query,
                             hilo_provider_error_t *e);

/* The document a call we place runs when it is answered (docs/providers.md, "Placed calls"):
 * SAY_GATHER, or no action: [<Say>text</Say>]<Redirect method="POST">ivr_url</Redirect> — the
 * message, then the IVR from its start, through the same webhook as an inbound call (ivr_url is
 * our voice webhook, e.g. {public_url}/webhooks/twilio/voice). Every other kind renders as
 * hilo_twiml_render() does. NULL with `e` as there. */
char *hilo_twiml_render_call(const hilo_twiml_t *self, const hilo_outbound_t *ob, const char *ivr_url,
                             hilo_provider_error_t *e);

/* The document for when there is no answer to give: an apology in each language of
 * `languages` ("es,en": BCP 47 tags separated by commas or spaces, in the order said, each
 * Twilio language once, at most HILO_TWIML_FALLBACK_LANGS; NULL or "" = the default language),
 * then <Enqueue>fallback_queue</Enqueue> or <Hangup/>. Never fails. */
#define HILO_TWIML_FALLBACK_LANGS 4
char *hilo_twiml_fallback(const hilo_twiml_t *self, const char *languages);

/* SMS webhook replies: the empty <Response/> (we reply through the REST API, never here), and
 * a one-<Message> document. */
const char *hilo_twiml_sms_empty(void);
char *hilo_twiml_sms_message(const char *text);

/* Appends `s` XML-escaped (& < > " ') to b, control characters as spaces. */
void hilo_twiml_escape(hilo_provider_buf_t *b, const char *s);

/* ---- calls in progress (protocol 1.4; docs/providers.md, "Connecting a caller") ------------- */
#define HILO_TWIML_QUERY_QUEUE "q"       /* Dial action: the queue the caller goes back to */
#define HILO_TWIML_QUERY_CALL "call"     /* agent leg's status callback: the caller's CallSid */
#define HILO_TWIML_QUERY_CALLER "caller" /* ... and the caller's number (the debtor) */
#define HILO_TWIML_QUERY_DEBTOR "debtor" /* click-to-call's Dial action: the debtor dialled */

/* The document a connect order (VoiceAction CONNECT) updates the live call with:
 * <Dial timeout action="dialed_url?q=<queue>"><Number statusCallbackEvent="ringing answered"
 * statusCallback="agent_url?call=<call_id>&caller=<ob->to>">target</Number></Dial> (<Sip> for a
 * sip: target). timeout = VoiceAction.timeout_s, 20 s when 0. NULL with `e` without call_id or
 * target, or on invalid UTF-8. */
char *hilo_twiml_connect(const hilo_outbound_t *ob, const char *dialed_url, const char *agent_url,
                         hilo_provider_error_t *e);
/* Click-to-call (VoiceAction BRIDGE): what the agent's answered call runs — <Dial timeout="30"
 * callerId="caller_id" action="dialed_url?debtor=<ob->to>&ob=<id>&d=<debtor id>"><Number>ob->to</Number></Dial>, the
 * debtor (the action reports the debtor's leg: twilio.h hilo_twilio_dial_action). NULL with `e`
 * without `to`. */
char *hilo_twiml_bridge(const hilo_outbound_t *ob, const char *caller_id, const char *dialed_url,
                        hilo_provider_error_t *e);
/* The answer to the Dial action: <Hangup/> after the agent talked to the caller (answered),
 * else <Enqueue> back into `queue` (fallback_queue when empty; <Hangup/> when neither). */
char *hilo_twiml_after_dial(const hilo_twiml_t *self, bool answered, const char *queue);

#endif
