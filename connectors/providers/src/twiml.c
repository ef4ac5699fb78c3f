/* twiml.c — TwiML rendering for voice turns, the voice fallback and SMS replies. */
#include "hilo/twiml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hilo/common.h"
#include "hilo/form.h"
#include "hilo/utf8.h"

#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define TWILIO_DEFAULT_LANGUAGE "en-US" /* what <Say> speaks without a language attribute */

typedef struct {
    char *tag;    /* BCP 47 tag or primary subtag, e.g. "es" */
    char *twilio; /* Twilio code, e.g. "es-MX" */
} lang_entry_t;

struct hilo_twiml {
    lang_entry_t *langs;      /* the language map, in configuration order */
    size_t n_langs;
    char *default_language;   /* BCP 47 */
    char *gather_action;      /* URL */
    unsigned gather_timeout_s;
    char *enqueue_wait_url;   /* NULL = none */
    char *dial_queue_url;     /* NULL = none */
    char *fallback_queue;     /* NULL = hang up */
};

/* Phrases we say on our own, per primary language (the router writes everything else). */
typedef struct {
    const char *lang;
    const char *no_input;       /* after a <Gather> that heard nothing */
    const char *sorry_transfer; /* fallback, then <Enqueue> */
    const char *sorry_hangup;   /* fallback, then <Hangup/> */
} phrases_t;

static const phrases_t PHRASES[] = {
    {"en", "We did not receive any input. Goodbye.",
     "We are sorry, we are having technical difficulties. Please hold for an agent.",
     "We are sorry, we are having technical difficulties. Please call again later. Goodbye."},
    {"es", "No recibimos ninguna respuesta. Hasta luego.",
     "Lo sentimos, tenemos dificultades técnicas. Por favor espere en línea a un agente.",
     "Lo sentimos, tenemos dificultades técnicas. Por favor llame más tarde. Hasta luego."},
};

static const phrases_t *phrases_for(const char *twilio_lang) {
    for (size_t i = 0; i < HILO_ARRAY_LEN(PHRASES); i++)
        if (strncasecmp(twilio_lang, PHRASES[i].lang, 2) == 0) return &PHRASES[i];
    return &PHRASES[0];
}

static char *dup_or_null(const char *s) {
    return s && *s ? hilo_xstrdup(s) : NULL;
}

static int parse_map(hilo_twiml_t *self, const char *map, char *err, size_t errlen) {
    char *copy = hilo_xstrdup(map), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        char *k = item, *v = eq ? eq + 1 : NULL;
        if (eq) *eq = '\0';
        while (k && (*k == ' ' || *k == '\t')) k++;
        while (v && (*v == ' ' || *v == '\t')) v++;
        for (char *p = k + strlen(k); p > k && (p[-1] == ' ' || p[-1] == '\t'); p--) p[-1] = '\0';
        if (v)
            for (char *p = v + strlen(v); p > v && (p[-1] == ' ' || p[-1] == '\t'); p--) p[-1] = '\0';
        if (!v || !*k || !*v || strchr(v, '"') || strchr(v, '<') || strchr(v, '&')) {
            snprintf(err, errlen, "language_map: bad entry \"%s\" (want tag=code, e.g. es=es-MX)", item);
            free(copy);
            return HILO_ERR;
        }
        self->langs = hilo_xrealloc(self->langs, (self->n_langs + 1) * sizeof *self->langs);
        self->langs[self->n_langs].tag = hilo_xstrdup(k);
        self->langs[self->n_langs].twilio = hilo_xstrdup(v);
        self->n_langs++;
    }
    free(copy);
    return HILO_OK;
}

hilo_twiml_t *hilo_twiml_new(const hilo_twiml_opts_t *opts, char *err, size_t errlen) {
    if (!opts->gather_action || !*opts->gather_action) {
        snprintf(err, errlen, "gather_action is required");
        return NULL;
    }
    hilo_twiml_t *self = hilo_xcalloc(1, sizeof *self);
    if (parse_map(self, opts->language_map ? opts->language_map : "es=es-MX,en=en-US", err, errlen) != HILO_OK) {
        hilo_twiml_destroy(&self);
        return NULL;
    }
    self->default_language = hilo_xstrdup(opts->default_language && *opts->default_language ? opts->default_language : "es");
    self->gather_action = hilo_xstrdup(opts->gather_action);
    self->gather_timeout_s = opts->gather_timeout_s ? opts->gather_timeout_s : 5;
    self->enqueue_wait_url = dup_or_null(opts->enqueue_wait_url);
    self->dial_queue_url = dup_or_null(opts->dial_queue_url);
    self->fallback_queue = dup_or_null(opts->fallback_queue);
    return self;
}

void hilo_twiml_destroy(hilo_twiml_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_twiml_t *self = *self_p;
    for (size_t i = 0; i < self->n_langs; i++) {
        free(self->langs[i].tag);
        free(self->langs[i].twilio);
    }
    free(self->langs);
    free(self->default_language);
    free(self->gather_action);
    free(self->enqueue_wait_url);
    free(self->dial_queue_url);
    free(self->fallback_queue);
    free(self);
    *self_p = NULL;
}

static const char *map_lookup(const hilo_twiml_t *self, const char *tag, size_t len) {
    for (size_t i = 0; i < self->n_langs; i++)
        if (strlen(self->langs[i].tag) == len && strncasecmp(self->langs[i].tag, tag, len) == 0)
            return self->langs[i].twilio;
    return NULL;
}

/* A tag we may pass through: letters, digits and '-' only (it lands in an attribute). */
static bool plain_tag(const char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return false;
    return true;
}

static const char *resolve(const hilo_twiml_t *self, const char *tag) {
    if (!tag || !*tag) return NULL;
    const char *hit = map_lookup(self, tag, strlen(tag));
    if (hit) return hit;
    size_t primary = strcspn(tag, "-_");
    if ((hit = map_lookup(self, tag, primary))) return hit;
    if (tag[primary] && plain_tag(tag)) return tag;
    return NULL;
}

const char *hilo_twiml_language(const hilo_twiml_t *self, const char *bcp47) {
    const char *lang = resolve(self, bcp47);
    if (!lang) lang = resolve(self, self->default_language);
    return lang ? lang : TWILIO_DEFAULT_LANGUAGE;
}

void hilo_twiml_escape(hilo_provider_buf_t *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': hilo_provider_buf_adds(b, "&amp;"); break;
        case '<': hilo_provider_buf_adds(b, "&lt;"); break;
        case '>': hilo_provider_buf_adds(b, "&gt;"); break;
        case '"': hilo_provider_buf_adds(b, "&quot;"); break;
        case '\'': hilo_provider_buf_adds(b, "&apos;"); break;
        default:
            /* XML 1.0 forbids most C0 controls even escaped; a tab or newline reads as a pause. */
            if ((unsigned char)*s < 0x20 || *s == 0x7F)
                hilo_provider_buf_add(b, " ", 1);
            else
                hilo_provider_buf_add(b, s, 1);
        }
    }
}

/* <Say> in `lang`; the attribute is left out for Twilio's default unless `always` (a document
 * in several languages names each one). */
static void say_in(hilo_provider_buf_t *b, const char *lang, const char *text, bool always) {
    if (!always && strcmp(lang, TWILIO_DEFAULT_LANGUAGE) == 0) {
        hilo_provider_buf_adds(b, "<Say>");
    } else {
        hilo_provider_buf_adds(b, "<Say language=\"");
        hilo_twiml_escape(b, lang);
        hilo_provider_buf_adds(b, "\">");
    }
    hilo_twiml_escape(b, text);
    hilo_provider_buf_adds(b, "</Say>");
}

static void say(hilo_provider_buf_t *b, const char *lang, const char *text) { say_in(b, lang, text, false); }

static void enqueue(const hilo_twiml_t *self, hilo_provider_buf_t *b, const char *queue) {
    hilo_provider_buf_adds(b, "<Enqueue");
    if (self->enqueue_wait_url) {
        hilo_provider_buf_adds(b, " waitUrl=\"");
        hilo_twiml_escape(b, self->enqueue_wait_url);
        hilo_provider_buf_adds(b, "\"");
    }
    hilo_provider_buf_adds(b, ">");
    hilo_twiml_escape(b, queue);
    hilo_provider_buf_adds(b, "</Enqueue>");
}

static void dial(const hilo_twiml_t *self, hilo_provider_buf_t *b, const char *target) {
    hilo_provider_buf_adds(b, "<Dial>");
    if (strncasecmp(target, "sip:", 4) == 0 || strncasecmp(target, "sips:", 5) == 0) {
        hilo_provider_buf_adds(b, "<Sip>");
        hilo_twiml_escape(b, target);
        hilo_provider_buf_adds(b, "</Sip>");
    } else if (strncmp(target, "queue:", 6) == 0) {
        hilo_provider_buf_adds(b, "<Queue");
        if (self->dial_queue_url) {
            hilo_provider_buf_adds(b, " url=\"");
            hilo_twiml_escape(b, self->dial_queue_url);
            hilo_provider_buf_adds(b, "\"");
        }
        hilo_provider_buf_adds(b, ">");
        hilo_twiml_escape(b, target + 6);
        hilo_provider_buf_adds(b, "</Queue>");
    } else {
        hilo_twiml_escape(b, target);
    }
    hilo_provider_buf_adds(b, "</Dial>");
}

/* Appends the webhook's own query (as received, still encoded) without its `turn` parameters
 * (ours, one per turn), each kept parameter followed by '&'. Twilio calls the action URL as we
 * write it and signs that URL, so whatever the operator put in the number's webhook URL
 * (?tenant=a) stays on every later turn of the call. */
static void keep_query(hilo_provider_buf_t *b, const char *query) {
    for (const char *p = query ? query : ""; *p;) {
        size_t n = strcspn(p, "&");
        size_t name = strcspn(p, "=&");
        bool ours = name == 4 && strncmp(p, "turn", 4) == 0;
        if (n && !ours) {
            hilo_provider_buf_add(b, p, n);
            hilo_provider_buf_adds(b, "&");
        }
        p += n;
        if (*p == '&') p++;
    }
}

static void gather(const hilo_twiml_t *self, hilo_provider_buf_t *b, const hilo_outbound_t *ob, const char *lang,
                   const char *query) {
    const hilo_voice_action_t *va = ob->voice;
    hilo_provider_buf_t action = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&action, self->gather_action);
    hilo_provider_buf_adds(&action, strchr(self->gather_action, '?') ? "&" : "?");
    keep_query(&action, query);
    hilo_provider_buf_adds(&action, "turn=");
    hilo_form_encode(&action, ob->outbound_id);
    hilo_provider_buf_adds(b, "<Gather input=\"speech dtmf\" action=\"");
    hilo_twiml_escape(b, action.data);
    hilo_provider_buf_free(&action);
    hilo_provider_buf_adds(b, "\" method=\"POST\"");
    if (va && va->num_digits) hilo_provider_buf_addf(b, " numDigits=\"%u\"", va->num_digits);
    hilo_provider_buf_addf(b, " timeout=\"%u\"", va && va->timeout_s ? va->timeout_s : self->gather_timeout_s);
    hilo_provider_buf_adds(b, " speechTimeout=\"auto\" language=\"");
    hilo_twiml_escape(b, lang);
    hilo_provider_buf_adds(b, "\" actionOnEmptyResult=\"true\">");
    if (*ob->text) say(b, lang, ob->text);
    hilo_provider_buf_adds(b, "</Gather>");
    /* With actionOnEmptyResult Twilio calls the action even on silence; this tail only runs if
     * that request fails, and then ending the call politely is the best we can do. */
    say(b, lang, phrases_for(lang)->no_input);
    hilo_provider_buf_adds(b, "<Hangup/>");
}

char *hilo_twiml_render(const hilo_twiml_t *self, const hilo_outbound_t *ob, hilo_provider_error_t *e) {
    return hilo_twiml_render_turn(self, ob, NULL, e);
}

char *hilo_twiml_render_turn(const hilo_twiml_t *self, const hilo_outbound_t *ob, const char *query,
                             hilo_provider_error_t *e) {
    if (!hilo_utf8_valid(ob->text, strlen(ob->text))) {
        hilo_provider_fail(e, "invalid_utf8", "text is not valid UTF-8");
        return NULL;
    }
    const char *lang = hilo_twiml_language(self, ob->language);
    int kind = ob->voice ? (int)ob->voice->kind : 0;
    const char *target = ob->voice ? ob->voice->target : "";
    if (!hilo_utf8_valid(target, strlen(target))) {
        hilo_provider_fail(e, "invalid_utf8", "target is not valid UTF-8");
        return NULL;
    }
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&b, XML_HEAD "<Response>");
    switch (kind) {
    case HILO_VOICE_ACTION_SAY_HANGUP:
        if (*ob->text) say(&b, lang, ob->text);
        hilo_provider_buf_adds(&b, "<Hangup/>");
        break;
    case HILO_VOICE_ACTION_DIAL:
        if (!*target) {
            hilo_provider_buf_free(&b);
            hilo_provider_fail(e, "no_target", "DIAL without a target");
            return NULL;
        }
        if (*ob->text) say(&b, lang, ob->text);
        dial(self, &b, target);
        break;
    case HILO_VOICE_ACTION_ENQUEUE:
        if (!*target) target = self->fallback_queue ? self->fallback_queue : "";
        if (!*target) {
            hilo_provider_buf_free(&b);
            hilo_provider_fail(e, "no_target", "ENQUEUE without a queue");
            return NULL;
        }
        if (*ob->text) say(&b, lang, ob->text);
        enqueue(self, &b, target);
        break;
    default: /* SAY_GATHER, or no action at all: keep the conversation going */
        if (!ob->outbound_id || !*ob->outbound_id) {
            hilo_provider_buf_free(&b);
            hilo_provider_fail(e, "no_outbound_id", "a gather needs the outbound_id as its turn token");
            return NULL;
        }
        gather(self, &b, ob, lang, query);
        break;
    }
    hilo_provider_buf_adds(&b, "</Response>");
    return hilo_provider_buf_take(&b);
}

char *hilo_twiml_render_call(const hilo_twiml_t *self, const hilo_outbound_t *ob, const char *ivr_url,
                             hilo_provider_error_t *e) {
    int kind = ob->voice ? (int)ob->voice->kind : 0;
    if (kind != 0 && kind != HILO_VOICE_ACTION_SAY_GATHER) return hilo_twiml_render_turn(self, ob, NULL, e);
    if (!hilo_utf8_valid(ob->text, strlen(ob->text))) {
        hilo_provider_fail(e, "invalid_utf8", "text is not valid UTF-8");
        return NULL;
    }
    /* Not a <Gather> of our own: whoever answers hears the message, then the IVR's first turn
     * (greeting, verification) exactly as an inbound caller does, in the debtor's thread. */
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&b, XML_HEAD "<Response>");
    if (*ob->text) say(&b, hilo_twiml_language(self, ob->language), ob->text);
    hilo_provider_buf_adds(&b, "<Redirect method=\"POST\">");
    hilo_twiml_escape(&b, ivr_url);
    hilo_provider_buf_adds(&b, "</Redirect></Response>");
    return hilo_provider_buf_take(&b);
}

char *hilo_twiml_fallback(const hilo_twiml_t *self, const char *languages) {
    /* One apology per language of the list, each Twilio language once ("es,es-419" is one). */
    const char *said[HILO_TWIML_FALLBACK_LANGS];
    size_t nsaid = 0;
    char *copy = hilo_xstrdup(languages ? languages : ""), *save = NULL;
    for (char *tag = strtok_r(copy, ", ", &save); tag && nsaid < HILO_TWIML_FALLBACK_LANGS;
         tag = strtok_r(NULL, ", ", &save)) {
        const char *lang = hilo_twiml_language(self, tag);
        bool dup = false;
        for (size_t i = 0; i < nsaid; i++) dup = dup || strcmp(said[i], lang) == 0;
        if (!dup) said[nsaid++] = lang; /* may point into copy (a tag passed through as is) */
    }
    if (!nsaid) said[nsaid++] = hilo_twiml_language(self, NULL); /* none given: the default language */
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&b, XML_HEAD "<Response>");
    for (size_t i = 0; i < nsaid; i++) {
        const phrases_t *p = phrases_for(said[i]);
        say_in(&b, said[i], self->fallback_queue ? p->sorry_transfer : p->sorry_hangup, nsaid > 1);
    }
    if (self->fallback_queue)
        enqueue(self, &b, self->fallback_queue);
    else
        hilo_provider_buf_adds(&b, "<Hangup/>");
    hilo_provider_buf_adds(&b, "</Response>");
    free(copy);
    return hilo_provider_buf_take(&b);
}

const char *hilo_twiml_sms_empty(void) {
    return XML_HEAD "<Response/>";
}

char *hilo_twiml_sms_message(const char *text) {
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&b, XML_HEAD "<Response><Message>");
    hilo_twiml_escape(&b, text);
    hilo_provider_buf_adds(&b, "</Message></Response>");
    return hilo_provider_buf_take(&b);
}

/* ---- calls in progress (protocol 1.4) ------------------------------------------------------- */

/* "<url>?<name>=<value>&..." with each value form-encoded; pairs end with a NULL name. */
static void url_with_query(hilo_provider_buf_t *b, const char *url, const char *const *pairs) {
    hilo_provider_buf_t q = HILO_PROVIDER_BUF_INIT; /* (encode_pair puts the '&' between pairs) */
    for (size_t i = 0; pairs[i]; i += 2) hilo_form_encode_pair(&q, pairs[i], pairs[i + 1] ? pairs[i + 1] : "");
    char *s = hilo_provider_buf_take(&q);
    hilo_twiml_escape(b, url);
    hilo_provider_buf_adds(b, "?");
    hilo_twiml_escape(b, s ? s : "");
    free(s);
}

char *hilo_twiml_connect(const hilo_outbound_t *ob, const char *dialed_url, const char *agent_url,
                         hilo_provider_error_t *e) {
    const hilo_voice_action_t *va = ob->voice;
    if (!va || va->kind != HILO_VOICE_ACTION_CONNECT || !va->target || !*va->target || !va->call_id ||
        !*va->call_id) {
        hilo_provider_fail(e, "missing_target", "a connect order needs call_id and target");
        return NULL;
    }
    if (!hilo_utf8_valid(va->target, strlen(va->target)) || !hilo_utf8_valid(ob->to ? ob->to : "", strlen(ob->to ? ob->to : "")) ||
        !hilo_utf8_valid(va->queue ? va->queue : "", strlen(va->queue ? va->queue : ""))) {
        hilo_provider_fail(e, "invalid_utf8", "a connect order's strings must be UTF-8");
        return NULL;
    }
    unsigned ring = va->timeout_s ? va->timeout_s : 20;
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_addf(&b, XML_HEAD "<Response><Dial timeout=\"%u\" action=\"", ring);
    const char *dq[] = {HILO_TWIML_QUERY_QUEUE, va->queue, NULL};
    url_with_query(&b, dialed_url, dq);
    /* The agent's leg reports its ringing and its answer; its callbacks are about another call
     * (the agent's), so they carry the caller's call and number. */
    bool sip = strncasecmp(va->target, "sip:", 4) == 0 || strncasecmp(va->target, "sips:", 5) == 0;
    hilo_provider_buf_adds(&b, sip ? "\" method=\"POST\"><Sip" : "\" method=\"POST\"><Number");
    hilo_provider_buf_adds(&b, " statusCallbackEvent=\"ringing answered\" statusCallback=\"");
    const char *aq[] = {HILO_TWIML_QUERY_CALL, va->call_id, HILO_TWIML_QUERY_CALLER, ob->to, NULL};
    url_with_query(&b, agent_url, aq);
    hilo_provider_buf_adds(&b, "\">");
    hilo_twiml_escape(&b, va->target);
    hilo_provider_buf_adds(&b, sip ? "</Sip></Dial></Response>" : "</Number></Dial></Response>");
    return hilo_provider_buf_take(&b);
}

char *hilo_twiml_bridge(const hilo_outbound_t *ob, const char *caller_id, const char *dialed_url,
                        hilo_provider_error_t *e) {
    if (!ob->to || !*ob->to || !hilo_utf8_valid(ob->to, strlen(ob->to))) {
        hilo_provider_fail(e, "invalid_address", "no valid debtor to dial");
        return NULL;
    }
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&b, XML_HEAD "<Response><Dial timeout=\"30\"");
    if (caller_id && *caller_id && hilo_utf8_valid(caller_id, strlen(caller_id))) {
        hilo_provider_buf_adds(&b, " callerId=\"");
        hilo_twiml_escape(&b, caller_id);
        hilo_provider_buf_adds(&b, "\"");
    }
    if (dialed_url && *dialed_url) {
        hilo_provider_buf_adds(&b, " action=\"");
        /* "ob" and "d" as in a status callback (twilio.h): the debtor's leg is the attempt's result. */
        const char *dq[] = {HILO_TWIML_QUERY_DEBTOR, ob->to, "ob", ob->outbound_id, "d", ob->debtor_id, NULL};
        url_with_query(&b, dialed_url, dq);
        hilo_provider_buf_adds(&b, "\" method=\"POST\"");
    }
    hilo_provider_buf_adds(&b, "><Number>");
    hilo_twiml_escape(&b, ob->to);
    hilo_provider_buf_adds(&b, "</Number></Dial></Response>");
    return hilo_provider_buf_take(&b);
}

char *hilo_twiml_after_dial(const hilo_twiml_t *self, bool answered, const char *queue) {
    hilo_provider_buf_t b = HILO_PROVIDER_BUF_INIT;
    hilo_provider_buf_adds(&b, XML_HEAD "<Response>");
    const char *q = queue && *queue ? queue : self->fallback_queue;
    if (answered || !q)
        hilo_provider_buf_adds(&b, "<Hangup/>");
    else
        enqueue(self, &b, q);
    hilo_provider_buf_adds(&b, "</Response>");
    return hilo_provider_buf_take(&b);
}
