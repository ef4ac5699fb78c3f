/* twilio.h — Twilio wire formats for SMS and voice: decoded webhook forms become Envelopes
 * (inbound SMS, SMS status, call start, gather turn, call end), an Outbound becomes REST calls
 * (Messages.json, one per part; Calls.json), and the REST answer a classified result. Called
 * by the SMS and voice adapters, which check X-Twilio-Signature first (signature.h). Pure:
 * no I/O. Envelopes go into a caller's hilo_provider_envs_t; requests are the caller's. */
#ifndef HILO_TWILIO_H
#define HILO_TWILIO_H

#include <stdbool.h>
#include <stddef.h>

#include "hilo/form.h"
#include "hilo/frame.h"
#include "hilo/provider.h"

#define HILO_TWILIO_SMS_MAX 1600      /* Body limit of one Messages.json call, in characters */
#define HILO_TWILIO_MAX_MEDIA 10      /* MMS attachments Twilio delivers (NumMedia ≤ 10) */
#define HILO_TWILIO_QUERY_OUTBOUND "ob" /* StatusCallback query parameter naming our outbound */
#define HILO_TWILIO_QUERY_DEBTOR "d"    /* ... its debtor (Outbound.debtor_id; SMS) */
#define HILO_TWILIO_QUERY_PART "part"   /* ... which part of a multi-part SMS, 1-based */
#define HILO_TWILIO_QUERY_PARTS "parts" /* ... how many parts that SMS has */
#define HILO_TWILIO_QUERY_ID_MAX 200    /* longest "ob" / "d" value read back */
#define HILO_TWILIO_PARTS_MAX 100       /* largest "part" / "parts" read back */
#define HILO_TWILIO_QUERY_TURN "turn" /* gather action query parameter naming the voice turn */

/* The account and sender an outbound goes out with. Strings are borrowed. */
typedef struct {
    const char *api_base;              /* "https://api.twilio.com" */
    const char *account_sid;           /* AC…, in the URL path */
    const char *auth_user;             /* basic auth user: the AccountSid, or an API key SID (SK…) */
    const char *auth_secret;           /* the auth token, or the API key secret */
    const char *from;                  /* default sender (E.164) when the outbound has none */
    const char *messaging_service_sid; /* MG…: sent instead of From when set (and ob->from empty) */
    const char *status_callback;       /* public URL of our status webhook; NULL/"" = none */
    unsigned max_parts;                /* SMS: parts one outbound may become (1 = refuse > 1600) */
} hilo_twilio_account_t;

/* ---- webhooks → envelopes (each function adds 0 or 1 envelope to `out`) ---------------------
 * Every form value must be valid UTF-8 ("invalid_utf8" otherwise); a missing required field is
 * "missing_field". For a call we placed (Direction outbound-api/outbound-dial), Twilio's From
 * is our number: the envelope's from is always the debtor, to always our number. */

/* Inbound SMS/MMS: MessageSid, From, To, Body, NumMedia + MediaUrlN / MediaContentTypeN.
 * provider_message_id = MessageSid. */
int hilo_twilio_sms_inbound(const hilo_form_t *form, hilo_provider_envs_t *out, hilo_provider_error_t *e);

/* SMS status callback (MessageSid, MessageStatus, ErrorCode). sent → SENT, delivered →
 * DELIVERED, read → READ, undelivered / failed / canceled → FAILED (with ErrorCode and a short
 * text for well-known codes); queued, accepted, scheduled, sending and any other status add no
 * envelope (the runtime reports SENT from the API's answer already). The envelope's
 * provider_message_id is "<MessageSid>:<status>". `query` (the callback URL's query, may be
 * NULL) is what hilo_twilio_build_sms put there: "ob" → outbound_id, "d" → debtor_id, "part"
 * and "parts" → part, parts (a report about that part alone). A URL with "ob" only (older
 * ones) gives outbound_id only: the router then matches the report by its provider id. Any of
 * the four present but malformed (empty, over HILO_TWILIO_QUERY_ID_MAX bytes, not UTF-8, a
 * control character; not 1 <= part <= parts <= HILO_TWILIO_PARTS_MAX) is "bad_query". */
int hilo_twilio_sms_status(const hilo_form_t *form, const hilo_form_t *query, hilo_provider_envs_t *out,
                           hilo_provider_error_t *e);

/* Voice call webhook (CallSid, From, To, CallStatus): VoiceEvent CALL_START, id
 * "<CallSid>:start", wants_reply = true (the router's answer becomes the TwiML). */
int hilo_twilio_voice_start(const hilo_form_t *form, hilo_provider_envs_t *out, hilo_provider_error_t *e);

/* Gather action (Digits, SpeechResult, Confidence). Twilio does not number turns, so the
 * <Gather action> URL we render carries "?turn=<token>" and the envelope id is
 * "<CallSid>:gather:<token>": a retried request repeats the id, the next prompt has a new one.
 * The token is the outbound_id of the prompt being answered (twiml.h). No token =
 * "missing_turn". wants_reply = true. */
int hilo_twilio_voice_gather(const hilo_form_t *form, const hilo_form_t *query, hilo_provider_envs_t *out,
                             hilo_provider_error_t *e);

/* Call status callback: completed, busy, no-answer, failed, canceled → CALL_END
 * "<CallSid>:end" with call_status and duration_s (CallDuration); other statuses (ringing,
 * in-progress, ...) add no envelope. */
int hilo_twilio_voice_status(const hilo_form_t *form, hilo_provider_envs_t *out, hilo_provider_error_t *e);

/* Status callback of a call we placed (its StatusCallback names the outbound: "?ob=<id>&d=<debtor>";
 * docs/providers.md, "Placed calls"): one DeliveryReport per outcome, envelope id
 * "<CallSid>:<CallStatus>":
 *   in-progress (answered), completed  → DELIVERED; error_code "machine" when AnsweredBy is
 *                                         machine_* (answering-machine detection), "fax" for fax
 *   busy, no-answer, failed, canceled  → FAILED with error_code "busy", "no-answer", "failed",
 *                                         "canceled" (Twilio's ErrorCode, if any, in error_message)
 * queued, initiated, ringing add no envelope. A malformed ?ob=/?d= is "bad_query". */
int hilo_twilio_call_status(const hilo_form_t *form, const hilo_form_t *query, hilo_provider_envs_t *out,
                            hilo_provider_error_t *e);

/* ---- outbound --------------------------------------------------------------------------------- */

/* The SMS text of an outbound: its text, then its buttons as numbered options ("\n1. Pay now").
 * Malloc'd, or NULL with `e` ("empty": nothing to say; "template_unsupported": a WhatsApp
 * template without text; "invalid_utf8"). */
char *hilo_twilio_sms_text(const hilo_outbound_t *ob, hilo_provider_error_t *e);

/* Characters as Twilio's 1600 limit counts them, conservatively: UTF-16 code units (an emoji
 * outside the BMP counts 2), never bytes. `s` must be valid UTF-8. */
size_t hilo_twilio_sms_chars(const char *s);

/* Splits `text` into parts of at most `max` characters (hilo_twilio_sms_chars), cutting after
 * the last whitespace that fits (the whitespace is dropped), or mid-word at a character
 * boundary when a single word is longer than `max`. Returns the number of parts and a malloc'd
 * array of malloc'd strings in *parts. */
size_t hilo_twilio_sms_split(const char *text, size_t max, char ***parts);

/* How many Messages.json calls `text` (valid UTF-8) becomes: 1 up to 1600 characters, else
 * the parts hilo_twilio_sms_split cuts it into (0 when it is all whitespace). What `hilo send`
 * checks against the SMS connector's max_parts before committing a message. */
size_t hilo_twilio_sms_parts(const char *text);

/* One Messages.json call per part: POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json,
 * basic auth, form To, From (or MessagingServiceSid), Body, StatusCallback with
 * "?ob=<outbound id>&d=<debtor id>" (d when ob->debtor_id is set) and, when the text is sent in
 * n > 1 parts, "&part=<i>&parts=<n>" on part i's call (docs/providers.md).
 * Longer than 1600: split into at most acct->max_parts parts, else refused "too_long".
 * Fills reqs[0..*n); returns HILO_OK, or HILO_ERR with `e` (nothing to free then). */
int hilo_twilio_build_sms(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, hilo_provider_request_t *reqs,
                          size_t max_reqs, size_t *n, hilo_provider_error_t *e);

/* Places a call running `twiml`: POST …/Calls.json with To, From, Twiml, StatusCallback
 * ("?ob=<outbound id>&d=<debtor id>"), StatusCallbackEvent initiated, ringing, answered and
 * completed, and MachineDetection=Enable (AnsweredBy then says human or machine_*). */
int hilo_twilio_build_call(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, const char *twiml,
                           hilo_provider_request_t *req, hilo_provider_error_t *e);

/* Reads a REST answer: 2xx with "sid" → SENT; else "code" / "message". RETRY for no response
 * (0), 429, 5xx and code 20429 (too many requests); FINAL otherwise (21211 invalid To, 21610
 * opted out, ...). */
void hilo_twilio_parse_send_result(long http_status, const char *body, size_t len, hilo_provider_result_t *res);

/* ---- calls in progress (protocol 1.4; docs/providers.md, "Connecting a caller") ------------- */

/* Click-to-call (VoiceAction BRIDGE): as hilo_twilio_build_call, but the call goes to the agent
 * (ob->voice->target) and without answering-machine detection; `twiml` dials the debtor. */
int hilo_twilio_build_bridge(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, const char *twiml,
                             hilo_provider_request_t *req, hilo_provider_error_t *e);
/* A connect order: POST …/Calls/{ob->voice->call_id}.json with Twiml (hilo_twiml_connect), which
 * replaces what the live call is doing (waiting in a queue) with the <Dial>. "invalid_call"
 * when call_id is not a sid (letters and digits). */
int hilo_twilio_build_connect(const hilo_twilio_account_t *acct, const hilo_outbound_t *ob, const char *twiml,
                              hilo_provider_request_t *req, hilo_provider_error_t *e);
/* The agent leg's status callback ("?call=<caller's CallSid>&caller=<debtor>", twiml.h):
 * ringing → AGENT_RINGING "<leg sid>:ringing", in-progress/answered → AGENT_CONNECTED
 * "<leg sid>:answered", both from the caller; other statuses add nothing. */
int hilo_twilio_agent_status(const hilo_form_t *form, const hilo_form_t *query, hilo_provider_envs_t *out,
                             hilo_provider_error_t *e);
/* The Dial action (CallSid = the caller's call, DialCallStatus, DialCallSid): completed sets
 * *answered and adds nothing; no-answer, busy, failed, canceled add AGENT_NO_ANSWER
 * "<DialCallSid>:dial:<status>" with call_status. A click-to-call's ("?debtor=<number>",
 * twiml.h hilo_twiml_bridge) adds DEBTOR_DIALED "<DialCallSid>:debtor" from the debtor, whatever
 * the status (call_status; duration_s when answered), then, with "&ob=&d=", the outbound's
 * delivery report "<DialCallSid>:debtor:<status>" (DELIVERED answered, else FAILED + status). */
int hilo_twilio_dial_action(const hilo_form_t *form, const hilo_form_t *query, hilo_provider_envs_t *out,
                            bool *answered, hilo_provider_error_t *e);

#endif
