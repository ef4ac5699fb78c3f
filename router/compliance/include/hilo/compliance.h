/* compliance.h — the compliance gate: one allow/block decision for one outbound attempt (bot,
 * agent, CLI, campaign), from the debtor's and the conversation's facts. The router calls
 * hilo_compliance_check() before committing an outbound message, then, when the verdict carries
 * a cap, runs freq_cap.lua (freq_cap.h) as the last step. The gate never reads the clock or
 * Redis: the caller passes `now` and the facts. It owns the rule packs, holiday calendars, zone
 * cache and policy loaded from a directory like deploy/compliance/ (docs/compliance.md). */
#ifndef HILO_COMPLIANCE_H
#define HILO_COMPLIANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo/frame.h"
#include "hilo/hours.h"
#include "hilo/verdict.h"

#define HILO_WHATSAPP_WINDOW_MS (24LL * 3600 * 1000) /* WhatsApp customer-service window */
/* How far a debtor's last inbound may lie in the gate's future and still count as "now": the
 * message was stamped by another router, whose clock may differ from this one's. Every router
 * warns when it is more than 1 s off Redis's clock (router/src/clock_check.h), so two routers
 * that are both in sync differ by at most 2 s. A last inbound further in the future than this is
 * not trusted as recent (docs/compliance.md, "Replies"). */
#define HILO_CLOCK_SKEW_MS 2000LL
/* Conv hash field: Unix ms of the debtor's last phone conversation with us — the last turn of a
 * call in which the debtor answered a prompt (digits or speech), written by the engine with the
 * turn's effects (router/src/engine.c). Read by the pause after a phone conversation. */
#define HILO_FACT_TALK "talk:voice"

typedef struct hilo_compliance hilo_compliance_t;

typedef enum {
    HILO_MSG_FREEFORM = 0,   /* anything composed by the bot or an agent (text, media, a call) */
    HILO_MSG_TEMPLATE,       /* a pre-approved WhatsApp template: allowed outside the 24 h window */
    HILO_MSG_OPTOUT_CONFIRM  /* the confirmation of an opt-out just received on this channel */
} hilo_msg_kind_t;

typedef struct {
    /* The debtor (portfolio record). */
    const char *country;                  /* ISO 3166-1 alpha-2; NULL or "" when unknown */
    const char *timezone;                 /* IANA zone name; NULL or "" when unknown */
    /* The conversation (conv hash). */
    bool dnc;                             /* "dnc" flag: no contact on any channel */
    int64_t optout_ms[HILO_CHANNEL_MAX];  /* "optout:<channel>" = when; 0 = not opted out */
    int64_t last_in_ms[HILO_CHANNEL_MAX]; /* last inbound message per channel; 0 = never */
    int64_t talk_ms;                      /* "talk:voice" = the last phone conversation (a call in
                                             which the debtor answered a prompt); 0 = never */
    /* The attempt. */
    int channel;                          /* HILO_CHANNEL_WHATSAPP, _SMS or _VOICE */
    hilo_msg_kind_t kind;
    bool reply;                           /* answers the debtor's own message on this channel */
    bool bot;                             /* composed by the bot (not an agent or an operator) */
    int64_t now_ms;                       /* the caller's clock, Unix ms (injectable) */
} hilo_attempt_t;

/* Reads one field of a record ("country", "optout:sms", ...); NULL when absent. */
typedef const char *(*hilo_fact_fn)(const void *record, const char *field);

/* Zeroes *a and fills the debtor's and the conversation's facts from their records as the
 * router stores them: debtor hash `country`, `timezone`; conv hash `dnc`, `optout:<channel>`,
 * `last_in:<channel>` and `talk:voice` (Unix ms). The caller then sets channel, kind, reply and now_ms.
 * `get` reads a field from either record (a hiredis reply, a JSON object, ...). */
void hilo_attempt_load_facts(hilo_attempt_t *a, hilo_fact_fn get, const void *debtor, const void *conv);

/* Loads <dir>/compliance.conf, <dir>/<id>.pack and <dir>/holidays/<CC>.txt; zoneinfo_dir NULL =
 * /usr/share/zoneinfo. NULL on failure with "file:line: reason" in err. */
hilo_compliance_t *hilo_compliance_new(const char *dir, const char *zoneinfo_dir, char *err, size_t errlen);
void hilo_compliance_destroy(hilo_compliance_t **self_p);

/* The decision, in this order: invalid input, dnc, opt-out, WhatsApp window, contact hours,
 * the pause after a phone conversation (calls only), then the cap. An attempt marked `reply` is one only when the debtor's last inbound on the
 * channel is at most reply_window old (hilo_inbound_age); a reply is not counted by the cap, and
 * a reply by the bot (`bot`) may also go out outside contact hours where the pack allows it. Returns out->allowed. When allowed and out->cap.limit > 0, the message is
 * collector-initiated and the caller must still run the frequency cap (freq_cap.h) and send
 * only if that allows too; cap.limit == 0 means send now. Thread-safe. */
bool hilo_compliance_check(const hilo_compliance_t *self, const hilo_attempt_t *a, hilo_verdict_t *out);

/* The contact-hours part alone (owned by the gate). */
const hilo_hours_t *hilo_compliance_hours(const hilo_compliance_t *self);

/* How long ago the debtor's last inbound (last_in_ms, 0 = never) was, as the gate counts it:
 * a last inbound up to HILO_CLOCK_SKEW_MS in the future is "just now" (age 0); further in the
 * future, or never, there is no usable last inbound and the answer is -1. */
int64_t hilo_inbound_age(int64_t last_in_ms, int64_t now_ms);

/* WhatsApp: free-form only within 24 h of the debtor's last inbound WhatsApp message
 * (last_in_ms, 0 = never; its age as hilo_inbound_age counts it); a template at any time. */
bool hilo_whatsapp_may_send(int64_t last_in_ms, int64_t now_ms, bool is_template);

/* What a country's rule pack asks of the content and channels of collector-initiated messages
 * (pack keys optout_notice, first_contact_disclosure[.<lang>], consent.<channel>;
 * docs/compliance.md, "Content and consent"). The gate does not read message text: these are
 * for whoever writes automated messages ahead of time (router/strategy/ checks them). Strings
 * belong to the gate. */
typedef struct {
    const char *pack_id;           /* "us_reg_f" */
    const char *optout_notice;     /* "STOP | BAJA": one of these words must be in every electronic
                                      message; NULL when the pack asks for none */
    bool consent[HILO_CHANNEL_MAX]; /* the channel needs the debtor's recorded consent */
} hilo_pack_rules_t;

/* The rules of the pack for `country`; false when the country is blocked (no pack). */
bool hilo_compliance_pack_rules(const hilo_compliance_t *self, const char *country, hilo_pack_rules_t *out);
/* The phrase the first communication must carry in `lang` ("es"): the pack's
 * first_contact_disclosure.<lang>, else its first_contact_disclosure, else NULL (none asked). */
const char *hilo_compliance_disclosure(const hilo_compliance_t *self, const char *country, const char *lang);
/* Calls fn for each country compliance.conf maps, with its pack id (NULL when blocked). */
void hilo_compliance_each_country(const hilo_compliance_t *self,
                                  void (*fn)(const char *country, const char *pack_id, void *arg), void *arg);

#endif
