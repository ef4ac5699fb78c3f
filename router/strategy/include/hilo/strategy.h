/* strategy.h — outbound strategies as data: the .strategy files of deploy/strategies/ (format:
 * docs/strategies.md), checked and planned. Who calls it: `hilo strategy check|plan` today, the
 * strategy runtime (scheduler, sending) next. What it owns: a set of loaded strategies, immutable
 * after load; every pointer into it stays valid until the set is destroyed (a reload builds a new
 * set and only then drops the old one).
 * Pure: no Redis, no clock. The caller passes the debtor's records through a field getter
 * (hilo_fact_fn, as the compliance gate takes them) and "now"; matching and rendering do no I/O. */
#ifndef HILO_STRATEGY_H
#define HILO_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hilo/compliance.h"
#include "hilo/tz.h"
#include "hilo/verdict.h"

#define HILO_STRATEGY_FILE_MAX (1024 * 1024) /* largest strategy file, bytes */
#define HILO_STRATEGY_NAME_MAX 64            /* strategy, segment, step and variant names */

typedef struct hilo_strategy_set hilo_strategy_set_t;
typedef struct hilo_strategy hilo_strategy_t;
typedef struct hilo_strategy_segment hilo_strategy_segment_t;
typedef struct hilo_strategy_step hilo_strategy_step_t;

/* ---- Fields the strategies read and define on a debtor's keys -------------------------------- */

/* hilo:{d:<id>}:consent — HASH, one field per channel and phone: "<channel>:<E.164>" ->
 * "granted|<unix ms>|<source>" or "revoked|<unix ms>|<source>" (source: "import", "import:<text>",
 * "conversation", "agent:<id>"). Written by `hilo import-debtors` (consent_<channel> columns)
 * and, later, by the runtime from a conversation. Read by hilo_strategy_channel_usable(). */
#define HILO_KEY_CONSENT "consent"
/* conv fields the strategies read besides the gate's (dnc, optout:<channel>):
 * state (queued/assigned = an agent holds it), verified_ms, broken_promises, esc_reason,
 * disposition (JSON, "code"), and these, written by whoever records the event: */
#define HILO_CONV_DISPUTE "dispute_ms"       /* the debtor disputes the debt (sticky) */
#define HILO_CONV_HARDSHIP "hardship_ms"     /* the debtor declared hardship (sticky) */
#define HILO_CONV_CEASE "cease_ms"           /* written request to cease contact (sticky) */
#define HILO_CONV_WRONG_PREFIX "wrong:"      /* "wrong:<E.164>" = ms: a wrong or reassigned number */
#define HILO_CONV_LAST_RESULT "strat_result" /* the last strategy step's result (result name) */
#define HILO_CONV_VARIANT "strat_variant"    /* "<strategy>|<variant>" once assigned (kept) */

/* ---- Results and transitions ---------------------------------------------------------------- */

typedef enum {
    HILO_RESULT_SENT = 0,  /* "sent": handed to the provider */
    HILO_RESULT_DELIVERED, /* "delivered" */
    HILO_RESULT_READ,      /* "read" */
    HILO_RESULT_FAILED,    /* "failed": the provider failed it, or the step could not be sent */
    HILO_RESULT_REPLIED,   /* "replied": the debtor wrote back */
    HILO_RESULT_TIMEOUT,   /* "timeout": no transition fired within the step's `within` */
    HILO_RESULT_MACHINE,   /* "machine": a call answered by a machine (also delivered; voice steps) */
    HILO_RESULT_COUNT
} hilo_strategy_result_t;

const char *hilo_strategy_result_name(hilo_strategy_result_t r);
/* -1 when unknown. */
int hilo_strategy_result_parse(const char *name);

/* Why a debtor is not (or no longer) contacted by a strategy. Names are stable (plan --json,
 * metrics): add at the end, never rename. */
typedef enum {
    HILO_EXCL_NONE = 0,     /* "" */
    HILO_EXCL_NO_SEGMENT,   /* "no_segment": matches no segment of any strategy */
    HILO_EXCL_PAID,         /* "paid": paid in full */
    HILO_EXCL_PROMISE,      /* "promise": an active (pending) promise to pay */
    HILO_EXCL_DISPUTE,      /* "dispute" */
    HILO_EXCL_HARDSHIP,     /* "hardship" */
    HILO_EXCL_CEASE,        /* "cease_contact": do-not-contact or a cease request */
    HILO_EXCL_WRONG_NUMBER, /* "wrong_number": wrong party, or every phone marked wrong */
    HILO_EXCL_AGENT,        /* "agent_conversation": an agent holds the conversation */
    HILO_EXCL_ATTRIBUTE,    /* "attribute": an attribute the strategy stops on (detail: its name) */
    HILO_EXCL_OPTED_OUT,    /* "opted_out": opted out of every channel the segment uses */
    HILO_EXCL_NO_CONSENT,   /* "no_consent": no usable channel has the consent it needs */
    HILO_EXCL_NO_PHONE,     /* "no_phone": no phone to write to */
    HILO_EXCL_GATE,         /* "gate": the compliance gate refuses every time (detail: reason) */
    HILO_EXCL_NO_WINDOW,    /* "no_window": no allowed time within 15 days */
    HILO_EXCL_RENDER,       /* "render": the text cannot be made (a variable without value) */
    HILO_EXCL_BUDGET,       /* "daily_budget": over the strategy's daily budget that day */
    HILO_EXCL_PAUSED,       /* "paused": the strategy is paused */
    HILO_EXCL_COUNT
} hilo_strategy_excl_t;

const char *hilo_strategy_excl_name(hilo_strategy_excl_t e);

/* ---- Loading -------------------------------------------------------------------------------- */

/* Loads every <dir>/ *.strategy (name order). NULL on the first bad file, with
 * "FILE:LINE: reason" in err. A set may be empty (a directory without strategies). */
hilo_strategy_set_t *hilo_strategy_set_load_dir(const char *dir, char *err, size_t errlen);
/* The same for an explicit list of files (`hilo strategy check|plan FILE...`). */
hilo_strategy_set_t *hilo_strategy_set_load_files(const char *const *paths, size_t n, char *err, size_t errlen);
/* Parses one file's text (tests, tools); `name` is used in messages. */
hilo_strategy_set_t *hilo_strategy_set_parse(const char *name, const char *text, size_t len, char *err,
                                             size_t errlen);
/* Parses one more file's text into set, refused like a file of load_files (a name or priority
 * already in the set): HILO_ERR with "NAME:LINE: reason" in err, the set unchanged. */
int hilo_strategy_set_add_text(hilo_strategy_set_t *set, const char *name, const char *text, size_t len, char *err,
                               size_t errlen);
/* Reload (SIGHUP): loads dir and, only when that succeeds, destroys *set_p and puts the new set
 * there. On failure *set_p is untouched (the old strategies keep running) and err says why. */
int hilo_strategy_set_reload(hilo_strategy_set_t **set_p, const char *dir, char *err, size_t errlen);
void hilo_strategy_set_destroy(hilo_strategy_set_t **self_p);

/* Strategies in priority order (highest first). */
size_t hilo_strategy_set_count(const hilo_strategy_set_t *self);
const hilo_strategy_t *hilo_strategy_set_get(const hilo_strategy_set_t *self, size_t i);
const hilo_strategy_t *hilo_strategy_set_find(const hilo_strategy_set_t *self, const char *name);

/* ---- A strategy ----------------------------------------------------------------------------- */

typedef enum { HILO_STRATEGY_ACTIVE = 0, HILO_STRATEGY_PAUSED, HILO_STRATEGY_DRAFT } hilo_strategy_state_t;

const char *hilo_strategy_name(const hilo_strategy_t *st);
const char *hilo_strategy_path(const hilo_strategy_t *st);
int hilo_strategy_priority(const hilo_strategy_t *st);
/* The state the file gives; `draft` strategies are loaded and checked but match nobody. */
hilo_strategy_state_t hilo_strategy_state(const hilo_strategy_t *st);
/* Per-debtor cap of this strategy's sends, on top of the legal ones: channel 0 = all channels
 * together; limit 0 = none. */
hilo_cap_t hilo_strategy_cap(const hilo_strategy_t *st, int channel);
/* Sends per day (in UTC days) for the whole strategy; 0 = unlimited. */
long hilo_strategy_daily_budget(const hilo_strategy_t *st);
/* A payment this long after a step counts as that step's (and variant's) result. */
int64_t hilo_strategy_attribution_ms(const hilo_strategy_t *st);

/* Variants: at least one ("default", share 100, when the file names none). */
int hilo_strategy_variant_count(const hilo_strategy_t *st);
const char *hilo_strategy_variant_name(const hilo_strategy_t *st, int variant);
int hilo_strategy_variant_share(const hilo_strategy_t *st, int variant); /* percent */
/* The variant of a debtor: `stored` (a variant name already assigned, e.g. from conv
 * strat_variant) when it still exists; otherwise weighted rendezvous hashing of the strategy's
 * name, each variant's name and the debtor id — deterministic, and when shares change a debtor
 * only moves into a variant whose share grew or out of one whose share shrank. */
int hilo_strategy_variant_of(const hilo_strategy_t *st, const char *debtor_id, const char *stored);

int hilo_strategy_segment_count(const hilo_strategy_t *st);
const hilo_strategy_segment_t *hilo_strategy_segment(const hilo_strategy_t *st, int i);
const char *hilo_strategy_segment_name(const hilo_strategy_segment_t *seg);
const hilo_strategy_segment_t *hilo_strategy_segment_find(const hilo_strategy_t *st, const char *name);

/* ---- Steps ---------------------------------------------------------------------------------- */

const char *hilo_strategy_step_name(const hilo_strategy_step_t *step);
int hilo_strategy_step_channel(const hilo_strategy_step_t *step);       /* HILO_CHANNEL_* */
/* What a step leaves to the contact optimizer (docs/optimizer.md): `channel = best` (among
 * hilo_strategy_step_channels, bit 1 << HILO_CHANNEL_*; step_channel is then the first, the
 * fixed cadence's) and `hours = best` (the step's hours are then the fallback window). */
#define HILO_STRATEGY_OPT_CHANNEL 1u
#define HILO_STRATEGY_OPT_HOURS 2u
unsigned hilo_strategy_step_optimize(const hilo_strategy_step_t *step);
unsigned hilo_strategy_step_channels(const hilo_strategy_step_t *step);
/* The approved WhatsApp template name; NULL for an SMS step. */
const char *hilo_strategy_step_template(const hilo_strategy_step_t *step);
/* How long after the event that leads to the step (the previous step's send, or the result
 * that chose it; for a first step, entering the segment) it is due. */
int64_t hilo_strategy_step_wait_ms(const hilo_strategy_step_t *step);
/* How long after its send the step waits for a result before its `timeout` transition;
 * 0 = no timeout. */
int64_t hilo_strategy_step_within_ms(const hilo_strategy_step_t *step);
/* The step called `name` in the segment's steps for `variant`; NULL when absent. The reload rule
 * (docs/strategies.md): a debtor keeps its position when its step's name still exists in its
 * segment, otherwise it restarts at hilo_strategy_first_step(). */
const hilo_strategy_step_t *hilo_strategy_step_find(const hilo_strategy_segment_t *seg, int variant,
                                                    const char *name);
/* The segment's steps for `variant` in their listed order (the supervisor console's funnel
 * rows): how many, and the i-th (NULL outside 0..count-1). */
int hilo_strategy_segment_step_count(const hilo_strategy_segment_t *seg, int variant);
const hilo_strategy_step_t *hilo_strategy_segment_step(const hilo_strategy_segment_t *seg, int variant, int i);
/* The segment's first step for `variant`. Never NULL (a segment has at least one step). */
const hilo_strategy_step_t *hilo_strategy_first_step(const hilo_strategy_segment_t *seg, int variant);

typedef enum {
    HILO_NEXT_WAIT = 0, /* no transition on this result: keep waiting (another result, the timeout) */
    HILO_NEXT_STEP,     /* go to `step`, due at `at_ms` */
    HILO_NEXT_END       /* the debtor's run of the strategy ends */
} hilo_strategy_next_kind_t;

typedef struct {
    hilo_strategy_next_kind_t kind;
    const hilo_strategy_step_t *step; /* HILO_NEXT_STEP */
    int64_t at_ms;                    /* result_ms + the step's wait */
} hilo_strategy_next_t;

/* What follows `result` (arrived at result_ms) of `step`, for the debtor's segment and variant
 * (`next` means the next step of that variant's list; after the last one, the end). */
void hilo_strategy_next(const hilo_strategy_segment_t *seg, int variant, const hilo_strategy_step_t *step,
                        hilo_strategy_result_t result, int64_t result_ms, hilo_strategy_next_t *out);

/* The earliest instant >= from_ms inside the step's allowed weekdays and local hours in zone tz
 * (the gate's hours apply on top: the caller asks the gate at that instant). -1 when there is
 * none within 15 days. */
int64_t hilo_strategy_window_next(const hilo_strategy_step_t *step, const hilo_tz_t *tz, int64_t from_ms);

/* ---- The debtor's facts --------------------------------------------------------------------- */

/* The promise ledger and payments, folded (hilo_strategy_ledger_*). */
typedef struct {
    int pending;                /* promises (kind promise) pending */
    int broken;                 /* promises broken (and not kept since) */
    char next_due[11];          /* the earliest pending promise's due date, "" when none */
    int64_t next_amount_cents;  /* ... and its amount */
    int64_t paid_cents;         /* payments counted against the balance (see _payment) */
} hilo_strategy_ledger_t;

/* Adds one promise ledger entry (a value of hilo:{d:ID}:promises, JSON). Malformed: ignored. */
void hilo_strategy_ledger_promise(hilo_strategy_ledger_t *l, const char *json, size_t len);
/* Adds one payment (a value of hilo:{d:ID}:payments) when it is in `currency` and was imported
 * after `since_ms` (the debtor record's imported_ms: the portfolio balance already reflects
 * earlier payments). */
void hilo_strategy_ledger_payment(hilo_strategy_ledger_t *l, const char *json, size_t len, const char *currency,
                                  int64_t since_ms);

typedef struct {
    const char *debtor_id;
    hilo_fact_fn get;          /* reads a field of one of the records below; NULL when absent */
    const void *debtor;        /* hilo:{d:ID}:debtor */
    const void *conv;          /* hilo:{d:ID}:conv (get must accept NULL: no conversation) */
    const void *consent;       /* hilo:{d:ID}:consent (same) */
    hilo_strategy_ledger_t ledger;
    int64_t now_ms;
} hilo_strategy_facts_t;

/* ---- When a step can go out ------------------------------------------------------------------ */

/* The earliest instant >= due_ms at which `step` may be sent to the debtor of `f` in zone tz:
 * the due time moved into the step's window, then the compliance gate asked at that instant; a
 * refusal that time lifts (hours, a closed day, a holiday, a cap) moves it to the gate's next
 * allowed time and into the window again. The gate decides again at hand-off: this is when to
 * try. -1 when there is none: *why is HILO_EXCL_GATE (detail: the gate's reason name) or
 * HILO_EXCL_NO_WINDOW. Used by `hilo strategy plan` and the router's strategy runner. */
int64_t hilo_strategy_send_time(const hilo_compliance_t *gate, const hilo_strategy_facts_t *f, const hilo_tz_t *tz,
                                const hilo_strategy_step_t *step, int64_t due_ms, hilo_strategy_excl_t *why,
                                char *detail, size_t detaillen);
/* The same on `channel` instead of the step's own: a `channel = best` step's candidates (the
 * contact optimizer's allowed set, router/src/strategy_optimize.c). */
int64_t hilo_strategy_send_time_on(const hilo_compliance_t *gate, const hilo_strategy_facts_t *f, const hilo_tz_t *tz,
                                   const hilo_strategy_step_t *step, int channel, int64_t due_ms,
                                   hilo_strategy_excl_t *why, char *detail, size_t detaillen);

/* ---- Matching ------------------------------------------------------------------------------- */

typedef struct {
    const hilo_strategy_t *strategy;        /* NULL when no strategy's segment matches */
    const hilo_strategy_segment_t *segment;
    int variant;
    hilo_strategy_excl_t excluded;          /* HILO_EXCL_NONE: the debtor is in */
    char detail[80];                        /* the attribute's name, ... ("" when none) */
} hilo_strategy_match_t;

/* Which strategy, segment and variant a debtor is in, or why none contacts it: the strategies in
 * priority order (drafts skipped), the first matching segment of each; then the stops (paid,
 * promise, dispute, hardship, cease, wrong number, agent, the strategy's stop attributes); then
 * the channels (a debtor opted out of, or without consent for, every channel its segment uses is
 * excluded). `gate` gives the packs' consent rules (NULL: packs ask for no consent).
 * Returns true when the debtor is in (out->excluded == HILO_EXCL_NONE). */
bool hilo_strategy_match(const hilo_strategy_set_t *set, const hilo_compliance_t *gate,
                         const hilo_strategy_facts_t *f, hilo_strategy_match_t *out);

/* May the debtor be written to on `channel` by strategy st? A phone not marked wrong, no
 * opt-out on the channel, and the consent the pack (for the debtor's country) or the strategy
 * requires, recorded as granted for that phone. On true *phone (when not NULL) points to the
 * phone to use (inside the debtor record, valid as long as it); on false *why says why. */
bool hilo_strategy_channel_usable(const hilo_strategy_t *st, const hilo_compliance_t *gate,
                                  const hilo_strategy_facts_t *f, int channel, hilo_strategy_excl_t *why,
                                  char *phone, size_t phonelen);

/* ---- Rendering ------------------------------------------------------------------------------ */

/* The variables a template may use. Disclosure variables (the debt or the debtor's identity:
 * balance, amounts, dates, names, product, link, every attr.<name>) may not appear in any step an
 * unverified debtor can reach; this table is the one list (docs/strategies.md prints it). */
typedef struct {
    const char *name;  /* "balance"; "attr." is the prefix of attr.<name> */
    bool disclosure;
    const char *what;  /* one line for docs and messages */
} hilo_strategy_var_t;
extern const hilo_strategy_var_t hilo_strategy_vars[];
extern const size_t hilo_strategy_nvars;
/* Is {name} a disclosure variable? (Unknown names: true.) */
bool hilo_strategy_var_disclosure(const char *name);

/* The step's text in the debtor's language (the strategy's default language when the step has
 * none in it) for `variant`, with its variables filled from the facts. HILO_OK with a malloc'd
 * text in *out; HILO_ERR with why set when a variable has no value, or when the template uses a
 * disclosure variable and the debtor is not verified (the check refuses such files; this is the
 * last guard). */
int hilo_strategy_render(const hilo_strategy_t *st, const hilo_strategy_step_t *step, int variant,
                         const hilo_strategy_facts_t *f, char **out, char *why, size_t whylen);

/* The language of the text hilo_strategy_render() picks for the debtor ("es"; NULL when the
 * step has no text): the Outbound's language, and a WhatsApp template's. */
const char *hilo_strategy_text_language(const hilo_strategy_t *st, const hilo_strategy_step_t *step, int variant,
                                        const hilo_strategy_facts_t *f);

/* ---- Checking ------------------------------------------------------------------------------- */

/* The checks beyond syntax (docs/strategies.md, "check"): privacy (no disclosure variable in a
 * step an unverified debtor can reach), the opt-out notice and the first-contact disclosure each
 * reachable country's pack asks for (gate NULL: those two are skipped), the reachability of
 * every step. Calls fn once per problem with "FILE:LINE: reason"; returns how many. */
int hilo_strategy_check(const hilo_strategy_t *st, const hilo_compliance_t *gate,
                        void (*fn)(const char *problem, void *arg), void *arg);

#endif
