/* adapter_voice.c — the Twilio Programmable Voice adapter (table hilo_voice_adapter): signed
 * webhooks for the call start (/webhooks/twilio/voice), each answered prompt
 * (/webhooks/twilio/voice/gather?turn=<token>) and the call's end (/webhooks/twilio/voice/status).
 * A start or a gather is one turn: its envelope wants a reply, and the router's Outbound is
 * rendered as the TwiML answer (render_reply), or the fallback when none comes in time.
 * An Outbound that is not a turn reply places a call (Calls.json) saying its text, then
 * running the IVR from its start (a <Redirect> to the start route: an answered call is a turn of
 * the debtor's thread like an inbound one; a machine is hung up on there), with
 * answering-machine detection; that call's status callbacks (STATUS_PATH?ob=<outbound id>) come
 * back as delivery reports (hilo_twilio_call_status).
 * A connect order (protocol 1.4, VoiceAction CONNECT) updates a live call (Calls/<sid>.json) to
 * <Dial> an agent; the agent leg's callbacks (AGENT_PATH) and the Dial's action (DIALED_PATH)
 * come back as call events: ringing, connected, no answer (the caller then waits in the queue
 * again). docs/providers.md, "Connecting a caller".
 * Provider knowledge lives in connectors/providers (twilio.h, twiml.h, signature.h).
 *
 * Config section [voice] (secrets from the environment, e.g. HILO_VOICE_AUTH_TOKEN):
 *   account_sid, auth_token (required), api_key_sid + api_key_secret (optional REST credentials)
 *   public_url        the base URL Twilio calls, e.g. https://hilo.example.com (required; no query:
 *                     a query belongs in the number's webhook URL, and later turns keep it)
 *   from              caller id for calls we place (optional: without it such outbounds are refused)
 *   api_base          default https://api.twilio.com
 *   language_map      BCP 47 → Twilio language, default "es=es-MX,en=en-US"
 *   default_language  default "es" (outbounds without a language, and the fallback)
 *   gather_timeout_s  default 5
 *   enqueue_wait_url, dial_queue_url   optional TwiML attributes (twiml.h)
 *   fallback_queue    where the fallback puts the caller (an agent queue); "" = apologize and hang up
 *   fallback_languages  what the fallback speaks when the call's language is not known yet,
 *                     in order (default "es,en": both, Spanish first)
 *   fallback_by_number  per called number: "+15005550006=en; +525512345678=es,en" (overrides
 *                     fallback_languages for calls to that number)
 * A caller whose id is withheld ("anonymous", no digit at all) gets the fallback at once and
 * nothing goes to the router: it cannot be filed under a phone number. */
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

#define MOD "voice"
#define GATHER_PATH "/webhooks/twilio/voice/gather"
#define STATUS_PATH "/webhooks/twilio/voice/status"
#define AGENT_PATH "/webhooks/twilio/voice/agent"
#define DIALED_PATH "/webhooks/twilio/voice/dialed"

enum { ROUTE_START = 0, ROUTE_GATHER, ROUTE_STATUS, ROUTE_AGENT, ROUTE_DIALED };

#define CALL_LANG_SLOTS 512 /* calls remembered for the fallback's language */
#define FALLBACK_NUMBERS_MAX 64

/* fallback_by_number: the languages the fallback speaks on calls to one of our numbers. */
typedef struct {
    char number[20]; /* E.164, as Twilio sends To */
    char *languages; /* "en,es" */
} fallback_number_t;

static const hilo_adapter_route_t ROUTES[] = {
    {"/webhooks/twilio/voice", HILO_HTTP_POST},
    {GATHER_PATH, HILO_HTTP_POST},
    {STATUS_PATH, HILO_HTTP_POST},
    {AGENT_PATH, HILO_HTTP_POST},
    {DIALED_PATH, HILO_HTTP_POST},
    {NULL, 0},
};

typedef struct {
    char *account_sid;
    char *auth_token;
    char *api_key_sid;    /* "" = account_sid / auth_token for REST */
    char *api_key_secret;
    char *from;
    char *public_url;     /* no trailing '/' */
    char *api_base;       /* no trailing '/' */
    char *status_url;     /* public_url + STATUS_PATH */
    char *ivr_url;        /* public_url + the start route: where an answered placed call goes on */
    char *agent_url;      /* public_url + AGENT_PATH: the agent leg's status callbacks */
    char *dialed_url;     /* public_url + DIALED_PATH: the Dial action of a connect order */
    char *default_language;
    char *fallback_languages;    /* when the call's language is unknown; "es,en" */
    fallback_number_t fallback_by_number[FALLBACK_NUMBERS_MAX];
    size_t n_fallback_by_number;
    hilo_twiml_t *twiml;
    /* The language each recent call was last answered in (call id -> Outbound.language), so
     * that a fallback speaks the caller's language, not default_language. A small ring:
     * recent calls only, oldest overwritten; a miss falls back to default_language. */
    struct {
        char call_id[64];
        char language[24];
    } call_lang[CALL_LANG_SLOTS];
    unsigned call_lang_next;
} voice_state_t;

static void voice_destroy(hilo_adapter_t *self) {
    voice_state_t *st = self->state;
    if (!st) return;
    free(st->account_sid);
    free(st->auth_token);
    free(st->api_key_sid);
    free(st->api_key_secret);
    free(st->from);
    free(st->public_url);
    free(st->api_base);
    free(st->status_url);
    free(st->ivr_url);
    free(st->agent_url);
    free(st->dialed_url);
    free(st->default_language);
    free(st->fallback_languages);
    for (size_t i = 0; i < st->n_fallback_by_number; i++) free(st->fallback_by_number[i].languages);
    hilo_twiml_destroy(&st->twiml);
    free(st);
    self->state = NULL;
}

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = hilo_xmalloc(n);
    snprintf(s, n, "%s%s", a, b);
    return s;
}

/* A language list: BCP 47-looking tags (letters, digits, '-') separated by commas. */
static bool language_list_valid(const char *s) {
    size_t tags = 0, len = 0;
    for (;; s++) {
        if (*s == ',' || *s == ' ' || !*s) {
            tags += len > 0;
            len = 0;
            if (!*s) break;
        } else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-') {
            len++;
        } else {
            return false;
        }
    }
    return tags > 0 && tags <= HILO_TWIML_FALLBACK_LANGS;
}

/* "+15005550006=en; +525512345678=es,en" into st->fallback_by_number. */
static int parse_fallback_numbers(voice_state_t *st, hilo_config_t *cfg, const char *section, const char *spec) {
    char *copy = hilo_xstrdup(spec), *save = NULL;
    int rc = HILO_OK;
    for (char *item = strtok_r(copy, ";", &save); item && rc == HILO_OK; item = strtok_r(NULL, ";", &save)) {
        while (*item == ' ' || *item == '\t') item++;
        if (!*item) continue;
        char *eq = strchr(item, '=');
        char *num = item, *langs = eq ? eq + 1 : NULL;
        if (eq) *eq = '\0';
        for (char *p = num + strlen(num); p > num && (p[-1] == ' ' || p[-1] == '\t'); p--) p[-1] = '\0';
        while (langs && (*langs == ' ' || *langs == '\t')) langs++;
        bool e164 = num[0] == '+' && strlen(num) >= 4 && strlen(num) <= 16 && strspn(num + 1, "0123456789") == strlen(num) - 1;
        if (!e164 || !langs || !language_list_valid(langs)) {
            rc = hilo_config_reject(cfg, section, "fallback_by_number",
                                    "want '+E164=lang[,lang...]' entries separated by ';', e.g. "
                                    "\"+15005550006=en; +525512345678=es,en\" (at most 4 languages each)");
        } else if (st->n_fallback_by_number == FALLBACK_NUMBERS_MAX) {
            rc = hilo_config_reject(cfg, section, "fallback_by_number", "more than 64 numbers");
        } else {
            fallback_number_t *f = &st->fallback_by_number[st->n_fallback_by_number++];
            snprintf(f->number, sizeof f->number, "%s", num);
            f->languages = hilo_xstrdup(langs);
        }
    }
    free(copy);
    return rc;
}

/* What the fallback speaks on a call to `to` (our number) whose language is not known. */
static const char *fallback_languages(const voice_state_t *st, const char *to) {
    for (size_t i = 0; to && i < st->n_fallback_by_number; i++)
        if (strcmp(st->fallback_by_number[i].number, to) == 0) return st->fallback_by_number[i].languages;
    return st->fallback_languages;
}

static int voice_configure(hilo_adapter_t *self, hilo_config_t *cfg, const char *section, char *err, size_t errlen) {
    voice_state_t *st = hilo_xcalloc(1, sizeof *st);
    self->state = st;
    char *language_map = NULL, *wait_url = NULL, *queue_url = NULL, *fallback_queue = NULL, *by_number = NULL;
    long long timeout = 5;
    int rc = HILO_ERR;
    if (hilo_adapter_config_str(cfg, section, "account_sid", NULL, true, &st->account_sid, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "auth_token", NULL, true, &st->auth_token, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "api_key_sid", "", false, &st->api_key_sid, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "api_key_secret", "", false, &st->api_key_secret, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "from", "", false, &st->from, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "public_url", NULL, true, &st->public_url, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "api_base", "https://api.twilio.com", true, &st->api_base, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "language_map", "es=es-MX,en=en-US", true, &language_map, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "default_language", "es", true, &st->default_language, err, errlen) ||
        hilo_config_int(cfg, section, "gather_timeout_s", 5, 1, 60, &timeout) ||
        hilo_adapter_config_str(cfg, section, "enqueue_wait_url", "", false, &wait_url, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "dial_queue_url", "", false, &queue_url, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "fallback_queue", "", false, &fallback_queue, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "fallback_languages", "es,en", true, &st->fallback_languages, err, errlen) ||
        hilo_adapter_config_str(cfg, section, "fallback_by_number", "", false, &by_number, err, errlen))
        goto out;
    if (hilo_adapter_config_url(cfg, st->public_url, section, "public_url") ||
        hilo_adapter_config_url(cfg, st->api_base, section, "api_base"))
        goto out;
    if (!language_list_valid(st->fallback_languages)) {
        hilo_config_reject(cfg, section, "fallback_languages",
                           "want 1 to 4 language tags separated by commas, e.g. es,en");
        goto out;
    }
    if (parse_fallback_numbers(st, cfg, section, by_number) != HILO_OK) goto out;
    if (!st->api_key_sid[0] != !st->api_key_secret[0]) {
        snprintf(err, errlen, "[%s] api_key_sid: set both api_key_sid and api_key_secret, or neither", section);
        goto out;
    }
    st->status_url = join(st->public_url, STATUS_PATH);
    st->ivr_url = join(st->public_url, ROUTES[ROUTE_START].path);
    st->agent_url = join(st->public_url, AGENT_PATH);
    st->dialed_url = join(st->public_url, DIALED_PATH);
    char *gather_url = join(st->public_url, GATHER_PATH);
    hilo_twiml_opts_t o = {
        .language_map = language_map,
        .default_language = st->default_language,
        .gather_action = gather_url,
        .gather_timeout_s = (unsigned)timeout,
        .enqueue_wait_url = wait_url,
        .dial_queue_url = queue_url,
        .fallback_queue = fallback_queue,
    };
    char terr[160];
    st->twiml = hilo_twiml_new(&o, terr, sizeof terr);
    free(gather_url);
    if (!st->twiml) {
        snprintf(err, errlen, "[%s] %s", section, terr);
        goto out;
    }
    rc = HILO_OK;
out:
    free(language_map);
    free(wait_url);
    free(queue_url);
    free(fallback_queue);
    free(by_number);
    return rc;
}

/* ---- webhooks --------------------------------------------------------------------------------- */

/* Decodes the form body and checks X-Twilio-Signature over public_url + uri and the params.
 * On failure answers the webhook itself (400 unreadable, 403 bad signature) and returns NULL. */
static hilo_form_t *verified_form(const voice_state_t *st, const hilo_http_request_t *req, hilo_webhook_result_t *out) {
    char *url = join(st->public_url, req->uri);
    char err[128];
    hilo_form_t *form = hilo_form_parse((const char *)req->body, req->body_len, err, sizeof err);
    if (!form) {
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

/* A live call must hear something sane even when its webhook makes no sense to us. */
static void answer_fallback(voice_state_t *st, const hilo_form_t *form, hilo_webhook_result_t *out, const char *why) {
    char *xml = hilo_twiml_fallback(st->twiml, fallback_languages(st, hilo_form_get(form, "To")));
    hilo_webhook_answer_now(out, 200, "text/xml", xml, why);
    free(xml);
}

/* A withheld caller id ("anonymous", "restricted", "unknown", "client:Anonymous"): Twilio passes
 * the caller's alpha string, which is no phone number. The router would refuse such an envelope
 * for good (docs/protocol.md §8), so the call is answered here without one. An address with a
 * digit goes to the router, which files it or says why not. */
static bool withheld_caller(const char *address) {
    for (const char *p = address ? address : ""; *p; p++)
        if (*p >= '0' && *p <= '9') return false;
    return true;
}

#define HANGUP_TWIML "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Hangup/></Response>"

/* AnsweredBy of a call we placed with MachineDetection: machine_start, machine_end_*, fax. */
static bool answered_by_machine(const hilo_form_t *form) {
    const char *by = hilo_form_get(form, "AnsweredBy");
    return by && (strncmp(by, "machine", 7) == 0 || strcmp(by, "fax") == 0);
}

static int voice_handle_webhook(hilo_adapter_t *self, const hilo_http_request_t *req, hilo_webhook_result_t *out) {
    voice_state_t *st = self->state;
    hilo_form_t *form = verified_form(st, req, out);
    if (!form) return HILO_OK;
    hilo_provider_envs_t envs = HILO_PROVIDER_ENVS_INIT;
    hilo_provider_error_t e = {"", ""};
    hilo_form_t *query = NULL;
    char err[128];
    int rc;
    bool answered = false;
    switch (req->route) {
    case ROUTE_START:
        if (answered_by_machine(form)) {
            /* A call we placed reached a voicemail (answering-machine detection): it has heard
             * the message; the IVR is for people. Nothing goes to the router: the call's outcome
             * comes as its delivery report (error_code "machine"). */
            hilo_log_info(MOD, "event=machine_answered answered_by=%s", hilo_log_value(hilo_form_get(form, "AnsweredBy")));
            hilo_webhook_answer_now(out, 200, "text/xml", HANGUP_TWIML, "machine");
            hilo_form_destroy(&form);
            return HILO_OK;
        }
        rc = hilo_twilio_voice_start(form, &envs, &e);
        break;
    case ROUTE_GATHER:
        query = hilo_form_parse(req->query, strlen(req->query), err, sizeof err);
        rc = query ? hilo_twilio_voice_gather(form, query, &envs, &e) : hilo_provider_fail(&e, "bad_query", "%s", err);
        break;
    case ROUTE_AGENT:
        query = hilo_form_parse(req->query, strlen(req->query), err, sizeof err);
        rc = query ? hilo_twilio_agent_status(form, query, &envs, &e) : hilo_provider_fail(&e, "bad_query", "%s", err);
        break;
    case ROUTE_DIALED:
        query = hilo_form_parse(req->query, strlen(req->query), err, sizeof err);
        rc = query ? hilo_twilio_dial_action(form, query, &envs, &answered, &e)
                   : hilo_provider_fail(&e, "bad_query", "%s", err);
        break;
    default:
        /* A call we placed names its outbound in the StatusCallback: its outcome is a delivery
         * report. An inbound call's end (the number's own status URL) is a call event. */
        query = hilo_form_parse(req->query, strlen(req->query), err, sizeof err);
        if (!query)
            rc = hilo_provider_fail(&e, "bad_query", "%s", err);
        else if (hilo_form_get(query, HILO_TWILIO_QUERY_OUTBOUND))
            rc = hilo_twilio_call_status(form, query, &envs, &e);
        else
            rc = hilo_twilio_voice_status(form, &envs, &e);
        break;
    }
    int result = HILO_OK;
    if (rc == HILO_OK && req->route == ROUTE_DIALED) {
        /* The caller is still on the line: after a conversation, the end; after no answer,
         * the queue again — once the router has the event (a retried action repeats it). */
        /* After a click-to-call's debtor leg (answered or not) the agent's call ends. */
        bool bridged = hilo_form_get(query, HILO_TWIML_QUERY_DEBTOR) != NULL;
        char *xml = hilo_twiml_after_dial(st->twiml, answered || bridged, hilo_form_get(query, HILO_TWIML_QUERY_QUEUE));
        for (size_t i = 0; i < envs.count && result == HILO_OK; i++) /* a click-to-call's: event + report */
            if (hilo_webhook_add_envelope(out, envs.items[i]) != HILO_OK) result = HILO_ERR;
        if (envs.count == 0)
            hilo_webhook_answer_now(out, 200, "text/xml", xml, "dial_answered");
        else if (result == HILO_OK)
            hilo_webhook_answer_after_ack(out, 200, "text/xml", xml, bridged ? "dial_bridged" : "dial_no_answer");
        free(xml);
        hilo_provider_envs_clear(&envs);
        hilo_form_destroy(&query);
        hilo_form_destroy(&form);
        return result;
    }
    if (rc != HILO_OK) {
        hilo_log_warn(MOD, "event=bad_body path=%s code=%s reason=%s", hilo_log_value(req->path), e.code,
                      hilo_log_value(e.message));
        if (req->route == ROUTE_START || req->route == ROUTE_GATHER)
            answer_fallback(st, form, out, "bad_body");
        else
            hilo_webhook_answer_now(out, 400, "text/plain", "bad body\n", "bad_body");
    } else if (envs.count == 0) { /* ringing, in-progress, ...: nothing ended */
        hilo_webhook_answer_now(out, 200, "text/xml", hilo_twiml_sms_empty(), "ignored");
    } else if (withheld_caller(envs.items[0]->from)) {
        /* No thread to file it in: the caller gets the fallback (an agent queue when
         * fallback_queue is set), its call's end is only acknowledged. */
        hilo_log_info(MOD, "event=withheld_caller_id path=%s", hilo_log_value(req->path));
        if (req->route == ROUTE_STATUS)
            hilo_webhook_answer_now(out, 200, "text/xml", hilo_twiml_sms_empty(), "withheld_caller_id");
        else
            answer_fallback(st, form, out, "withheld_caller_id");
    } else if (hilo_webhook_add_envelope(out, envs.items[0]) != HILO_OK) {
        result = HILO_ERR; /* cannot happen with one envelope; the runtime answers 500 */
    } else if (envs.items[0]->wants_reply) {
        hilo_webhook_answer_reply(out, req->route == ROUTE_START ? "call_start" : "gather");
    } else {
        hilo_webhook_answer_after_ack(out, 200, "text/xml", hilo_twiml_sms_empty(),
                                      envs.items[0]->delivery       ? "call_status"
                                      : req->route == ROUTE_AGENT ? "agent_status"
                                                                  : "call_end");
    }
    hilo_provider_envs_clear(&envs);
    hilo_form_destroy(&query);
    hilo_form_destroy(&form);
    return result;
}

static const char *turn_call_id(const hilo_envelope_t *turn) {
    return turn && turn->voice && turn->voice->call_id ? turn->voice->call_id : "";
}

static const char *call_language(const voice_state_t *st, const char *call_id) {
    if (!*call_id) return NULL;
    for (unsigned i = 0; i < CALL_LANG_SLOTS; i++)
        if (strcmp(st->call_lang[i].call_id, call_id) == 0) return st->call_lang[i].language;
    return NULL;
}

static void remember_language(voice_state_t *st, const char *call_id, const char *language) {
    if (!*call_id || !language || !*language || strlen(call_id) >= sizeof st->call_lang[0].call_id) return;
    for (unsigned i = 0; i < CALL_LANG_SLOTS; i++)
        if (strcmp(st->call_lang[i].call_id, call_id) == 0) {
            snprintf(st->call_lang[i].language, sizeof st->call_lang[i].language, "%s", language);
            return;
        }
    unsigned i = st->call_lang_next++ % CALL_LANG_SLOTS;
    snprintf(st->call_lang[i].call_id, sizeof st->call_lang[i].call_id, "%s", call_id);
    snprintf(st->call_lang[i].language, sizeof st->call_lang[i].language, "%s", language);
}

/* The TwiML answer to a turn: the router's Outbound, or (ob == NULL: no answer in time,
 * refused, link down) the fallback. The fallback speaks the language this call was last
 * answered in (turn's call id); a call start has no history: then every language of the
 * called number's list (fallback_by_number, else fallback_languages: Spanish and English). */
static int voice_render_reply(hilo_adapter_t *self, const hilo_outbound_t *ob, const hilo_envelope_t *turn,
                              const char *query, hilo_http_response_t *resp) {
    voice_state_t *st = self->state;
    char *xml = NULL;
    if (ob) {
        hilo_provider_error_t e;
        xml = hilo_twiml_render_turn(st->twiml, ob, query, &e);
        if (!xml)
            hilo_log_error(MOD, "event=render_refused outbound_id=%s code=%s reason=\"%s\"", ob->outbound_id, e.code,
                           e.message);
        else
            remember_language(st, turn_call_id(turn), ob->language);
    }
    if (!xml) {
        const char *lang = ob && ob->language && *ob->language ? ob->language : call_language(st, turn_call_id(turn));
        xml = hilo_twiml_fallback(st->twiml, lang ? lang : fallback_languages(st, turn ? turn->to : NULL));
    }
    hilo_http_response_set(resp, 200, "text/xml", xml, (size_t)-1);
    free(xml);
    return HILO_OK;
}

/* ---- sending ----------------------------------------------------------------------------------- */

static int voice_build_send(hilo_adapter_t *self, const hilo_outbound_t *ob, hilo_send_plan_t *plan) {
    voice_state_t *st = self->state;
    if (ob->reply_to_seq) {
        /* Its turn was answered already (fallback): the call has moved on, and without the
         * CallSid in the Outbound we cannot redirect it. */
        hilo_send_plan_refuse(plan, "turn_expired", "the voice turn was answered before this reply arrived");
        return HILO_OK;
    }
    hilo_provider_error_t e;
    bool connect = ob->voice && ob->voice->kind == HILO_VOICE_ACTION_CONNECT;
    bool bridge = ob->voice && ob->voice->kind == HILO_VOICE_ACTION_BRIDGE;
    char *xml = connect  ? hilo_twiml_connect(ob, st->dialed_url, st->agent_url, &e)
                : bridge ? hilo_twiml_bridge(ob, ob->from && *ob->from ? ob->from : st->from, st->dialed_url, &e)
                         : hilo_twiml_render_call(st->twiml, ob, st->ivr_url, &e);
    if (!xml) {
        hilo_send_plan_refuse(plan, e.code, e.message);
        return HILO_OK;
    }
    hilo_twilio_account_t acct = {
        .api_base = st->api_base,
        .account_sid = st->account_sid,
        .auth_user = st->api_key_sid[0] ? st->api_key_sid : st->account_sid,
        .auth_secret = st->api_key_sid[0] ? st->api_key_secret : st->auth_token,
        .from = st->from,
        .status_callback = st->status_url,
        .max_parts = 1,
    };
    hilo_provider_request_t req;
    int rc = connect  ? hilo_twilio_build_connect(&acct, ob, xml, &req, &e)
             : bridge ? hilo_twilio_build_bridge(&acct, ob, xml, &req, &e)
                      : hilo_twilio_build_call(&acct, ob, xml, &req, &e);
    free(xml);
    if (rc != HILO_OK) {
        hilo_send_plan_refuse(plan, e.code, e.message);
        return HILO_OK;
    }
    snprintf(plan->rate_key, sizeof plan->rate_key, "%s", ob->from && *ob->from ? ob->from : st->from);
    hilo_http_call_t *c = hilo_send_plan_add_call(plan, req.method, req.url);
    rc = HILO_ERR;
    if (c && hilo_http_call_basic_auth(c, req.basic_user, req.basic_pass) == HILO_OK &&
        hilo_http_call_add_header(c, "Content-Type", req.content_type) == HILO_OK) {
        hilo_http_call_set_body(c, req.body, req.body_len);
        rc = HILO_OK;
    }
    hilo_provider_request_clear(&req);
    return rc;
}

const hilo_adapter_ops_t hilo_voice_adapter = {
    .name = "voice",
    .channel = HILO_CHANNEL_VOICE,
    .default_http_port = 8083,
    .default_rate_per_s = 1.0, /* Twilio's default: one new outbound call per second */
    .routes = ROUTES,
    .signed_by = HILO_SIGNED_TWILIO,
    .unsigned_status = 403,
    .configure = voice_configure,
    .destroy = voice_destroy,
    .handle_webhook = voice_handle_webhook,
    .build_send = voice_build_send,
    .parse_send_result = hilo_twilio_adapter_parse_send_result,
    .render_reply = voice_render_reply,
};
