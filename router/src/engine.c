/* engine.c — one conversation turn: load, decide (keywords, bot), gate, apply, answer.
 * Turns are durable (docs/architecture.md, "Durable turns"): commit_inbound.lua records each
 * one pending with its message, engine_apply.lua applies its effects and removes it in one
 * step, and a turn that cannot be applied now (Redis error, NOSCRIPT, the conversation
 * changing under it) is tried again with bounded backoff, then left pending for the sweep
 * (turns.c), which hands it back here (hilo_engine_resume) on any router. */
#include "engine.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "calls.h"
#include "console/console.h"
#include "dispatch.h"
#include "engine_indexes.h"
#include "promise_ledger.h"
#include "hilo/bot.h"
#include "hilo/common.h"
#include "hilo/compliance.h"
#include "hilo/freq_cap.h"
#include "hilo/keys.h"
#include "hilo/log.h"
#include "hilo/optout.h"
#include "hilo/outbound_record.h"
#include "hilo/phone.h"
#include "hilo/strategy.h" /* HILO_KEY_CONSENT */
#include "hilo/tz.h"
#include "strategy_run.h"
#include "turns.h"

/* A turn that fails (Redis error, NOSCRIPT, the conversation moved on) is tried again after
 * 0, 25, 50, ... ms, doubling up to RETRY_MAX_MS, at most MAX_ATTEMPTS times (about 9 s in
 * all); then it is left pending and a sweep resumes it ([engine] turn_resume_ms after its
 * commit, on whichever router sweeps first). Bounded so that a fault that lasts costs a few
 * commands a second, not a busy loop, and the router's other debtors go on. */
#define MAX_ATTEMPTS 12
#define RETRY_MIN_MS 25
#define RETRY_MAX_MS 2000
#define MAX_REPLIES 8        /* replies one turn may send */
#define PRIORITY_MINUTE_MS 60000 /* one priority point = one minute of waiting in the queue */

#define BUSY_BUCKETS 1024  /* hash buckets of debtors with a turn running */

typedef struct turn turn_t;

/* A debtor with a turn running, and the turns waiting behind it. One turn at a time per
 * debtor keeps the bot answering messages in the order they were committed (the rev check
 * alone keeps the state right, not the order). Other routers may still interleave; that is
 * rare and the state stays consistent. */
typedef struct busy {
    char debtor[HILO_DEBTOR_ID_MAX + 32];
    turn_t *running;                     /* the turn in progress (maybe waiting for a retry) */
    turn_t *waiting_head, *waiting_tail; /* queued turns, oldest first */
    struct busy *next;                   /* bucket chain */
} busy_t;

struct hilo_engine {
    hilo_router_ctx_t *ctx;
    hilo_flow_t *flow;
    hilo_compliance_t *gate;
    hilo_tzdb_t *tz;                /* for the debtor's "today" */
    busy_t *busy[BUSY_BUCKETS];     /* debtors with a turn running */
    uv_timer_t retry_timer;         /* fires at the earliest retry */
    turn_t *retries;                /* turns waiting for their retry, unordered */
};

/* A hash read with HGETALL, copied out of the reply (replies die with their callback). */
typedef struct {
    char **kv;                /* key, value, key, value… */
    size_t n;                 /* number of strings (2 per field) */
} fields_t;

/* One reply being prepared. */
typedef struct {
    hilo_outbound_record_t *rec;
    hilo_verdict_t verdict;
} reply_t;

struct turn {
    turn_t *next_waiting;               /* in the debtor's queue (busy_t) */
    hilo_engine_t *eng;
    hilo_peer_ref_t peer;               /* the connector that sent the envelope */
    hilo_frame_t *frame;                /* owned */
    char debtor[HILO_DEBTOR_ID_MAX + 32];
    char addr[HILO_REPLY_ADDR_MAX];     /* where to reply: the debtor's address as received */
    bool unidentified;
    char turn[HILO_TURN_KEY_MAX];       /* the turn's key among the debtor's pending turns */
    int64_t in_ms;                      /* when its message was committed (the engine's clock) */
    bool live;                          /* the envelope came in now: its connector may wait for a voice answer */
    bool stored;                        /* resumed: the envelope comes from the pending record */
    bool dropped;                       /* the pending record is unreadable: applied as a removal */
    int attempts;                       /* failed tries so far */
    int waiting;                        /* load replies outstanding */
    bool load_failed;
    bool pending;                       /* the load found the turn still pending */
    bool requeued;                      /* AGENT_NO_ANSWER: the conversation queued again (calls.h) */
    char *record;                       /* stored: the pending record read (malloc'd) */
    size_t record_len;
    uint64_t retry_at;                  /* uv_now() of the next try, while on the retry list */
    turn_t *next_retry;
    fields_t debtor_f, conv_f;
    int64_t committed_cents;            /* the ledger's pending promises in the balance's currency */
    int64_t now_ms;
    /* decision */
    json_t *effects;
    reply_t replies[MAX_REPLIES];
    size_t nreplies;
    bool voice_reply;                   /* answer the waiting voice connector directly */
    hilo_buf_t voice_text;              /* allowed voice texts, joined */
    int voice_kind;                     /* HILO_VOICE_ACTION_* */
    unsigned voice_keys;                /* SAY_GATHER: keys per answer (the bot's keys), 0 = until '#' */
    char voice_target[96];
    char rev[24];
};

static const char *get(const fields_t *f, const char *key) {
    for (size_t i = 0; i + 1 < f->n; i += 2)
        if (strcmp(f->kv[i], key) == 0) return f->kv[i + 1];
    return NULL;
}

static const char *fields_get(const void *f, const char *key) { return get(f, key); }

static void fields_free(fields_t *f) {
    for (size_t i = 0; i < f->n; i++) free(f->kv[i]);
    free(f->kv);
    f->kv = NULL;
    f->n = 0;
}

static void fields_copy(fields_t *f, const redisReply *r) {
    fields_free(f);
    if (r->type != REDIS_REPLY_ARRAY) return;
    f->kv = hilo_xcalloc(r->elements, sizeof *f->kv);
    for (size_t i = 0; i < r->elements; i++)
        f->kv[f->n++] = hilo_xstrndup(r->element[i]->str ? r->element[i]->str : "", r->element[i]->len);
}

static void reset_decision(turn_t *t) {
    json_decref(t->effects);
    t->effects = NULL;
    for (size_t i = 0; i < t->nreplies; i++) hilo_outbound_record_destroy(&t->replies[i].rec);
    t->nreplies = 0;
    t->voice_reply = false;
    hilo_buf_free(&t->voice_text);
}

static void turn_free(turn_t *t) {
    reset_decision(t);
    fields_free(&t->debtor_f);
    fields_free(&t->conv_f);
    hilo_frame_free(&t->frame);
    free(t->record);
    free(t);
}

static void load(turn_t *t);

static busy_t **busy_slot(hilo_engine_t *eng, const char *debtor) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = debtor; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    busy_t **pp = &eng->busy[h % BUSY_BUCKETS];
    while (*pp && strcmp((*pp)->debtor, debtor) != 0) pp = &(*pp)->next;
    return pp; /* points at the entry, or at the NULL where it would go */
}

/* The turn is over here (applied, found applied, or left pending for a sweep): free it and
 * start the debtor's next turn, if any. */
static void turn_end(turn_t *t) {
    hilo_engine_t *eng = t->eng;
    busy_t **pp = busy_slot(eng, t->debtor);
    turn_free(t);
    busy_t *b = *pp;
    if (!b) return;
    b->running = NULL;
    if (eng->ctx->closing) return; /* destroy frees what still waits */
    turn_t *next = b->waiting_head;
    if (!next) {
        *pp = b->next;
        free(b);
        return;
    }
    b->waiting_head = next->next_waiting;
    if (!b->waiting_head) b->waiting_tail = NULL;
    next->next_waiting = NULL;
    b->running = next;
    load(next);
}

/* Starts `t` now, or queues it behind the debtor's turn in progress. */
static void turn_start(hilo_engine_t *eng, turn_t *t) {
    busy_t **pp = busy_slot(eng, t->debtor);
    if (*pp) { /* a turn of this debtor is running: wait behind it */
        busy_t *b = *pp;
        if (b->waiting_tail) b->waiting_tail->next_waiting = t; else b->waiting_head = t;
        b->waiting_tail = t;
        return;
    }
    busy_t *b = hilo_xcalloc(1, sizeof *b);
    snprintf(b->debtor, sizeof b->debtor, "%s", t->debtor);
    b->running = t;
    *pp = b;
    load(t);
}

static turn_t *turn_new(hilo_engine_t *eng, const char *debtor, const char *turn) {
    turn_t *t = hilo_xcalloc(1, sizeof *t);
    t->eng = eng;
    snprintf(t->debtor, sizeof t->debtor, "%s", debtor);
    snprintf(t->turn, sizeof t->turn, "%s", turn);
    return t;
}

/* --- retries -------------------------------------------------------------------------- */

static void on_retry_timer(uv_timer_t *h);

static void arm_retry_timer(hilo_engine_t *eng) {
    if (!eng->retries) {
        uv_timer_stop(&eng->retry_timer);
        return;
    }
    uint64_t first = eng->retries->retry_at;
    for (turn_t *r = eng->retries->next_retry; r; r = r->next_retry)
        if (r->retry_at < first) first = r->retry_at;
    uint64_t now = uv_now(eng->ctx->loop);
    uv_timer_start(&eng->retry_timer, on_retry_timer, first > now ? first - now : 0, 0);
}

static void on_retry_timer(uv_timer_t *h) {
    hilo_engine_t *eng = h->data;
    uint64_t now = uv_now(eng->ctx->loop);
    turn_t *due = NULL, **pp = &eng->retries;
    while (*pp) { /* take the due ones off first: load() may put a turn back on the list */
        turn_t *r = *pp;
        if (r->retry_at <= now) {
            *pp = r->next_retry;
            r->next_retry = due;
            due = r;
        } else {
            pp = &r->next_retry;
        }
    }
    while (due) {
        turn_t *r = due;
        due = r->next_retry;
        r->next_retry = NULL;
        load(r);
    }
    arm_retry_timer(eng);
}

/* The turn is left pending in Redis: a sweep resumes it (turns.c). Nothing is lost. */
static void defer(turn_t *t, const char *why) {
    hilo_router_ctx_t *ctx = t->eng->ctx;
    ctx->metrics.turns_deferred++;
    hilo_log_warn("engine", "event=turn_deferred debtor=%s turn=%s attempts=%d reason=\"%s\" resume=\"sweep\"",
                  t->debtor, t->turn, t->attempts, why);
    turn_end(t);
}

/* The try failed (`why`): tries again later with backoff, or leaves the turn to a sweep. */
static void retry(turn_t *t, const char *why) {
    hilo_engine_t *eng = t->eng;
    if (eng->ctx->closing) {
        turn_end(t);
        return;
    }
    reset_decision(t);
    if (++t->attempts >= MAX_ATTEMPTS) {
        defer(t, why);
        return;
    }
    eng->ctx->metrics.turn_retries++;
    uint64_t delay = 0;
    if (t->attempts > 1) {
        delay = (uint64_t)RETRY_MIN_MS << (t->attempts - 2 < 16 ? t->attempts - 2 : 16);
        if (delay > RETRY_MAX_MS) delay = RETRY_MAX_MS;
    }
    hilo_log_info("engine", "event=turn_retry debtor=%s turn=%s attempt=%d delay_ms=%llu reason=\"%s\"", t->debtor,
                  t->turn, t->attempts, (unsigned long long)delay, why);
    t->retry_at = uv_now(eng->ctx->loop) + delay;
    t->next_retry = eng->retries;
    eng->retries = t;
    arm_retry_timer(eng);
}

/* Another router (or this one, earlier) applied the turn already: nothing to do again. */
static void already_applied(turn_t *t) {
    hilo_router_ctx_t *ctx = t->eng->ctx;
    ctx->metrics.turns_already_applied++;
    hilo_log_info("engine", "event=turn_already_applied debtor=%s turn=%s", t->debtor, t->turn);
    hilo_turns_unindex(ctx, t->debtor, t->turn);
    turn_end(t);
}

/* An older turn of the debtor is still pending (`head`): it goes first, then this one again.
 * Turns of one debtor take effect in the order their messages were committed. */
static void yield_to(turn_t *t, const char *head) {
    hilo_engine_t *eng = t->eng;
    if (++t->attempts >= MAX_ATTEMPTS) {
        defer(t, "older turns still pending");
        return;
    }
    reset_decision(t);
    busy_t *b = *busy_slot(eng, t->debtor);
    turn_t *h = turn_new(eng, t->debtor, head);
    h->stored = true;
    hilo_log_info("engine", "event=turn_waits_for_older debtor=%s turn=%s older=%s", t->debtor, t->turn, head);
    t->next_waiting = b->waiting_head; /* back at the front, behind the older one */
    b->waiting_head = t;
    if (!b->waiting_tail) b->waiting_tail = t;
    b->running = h;
    load(h);
}

/* --- effects helpers ------------------------------------------------------------------ */

static json_t *obj(json_t *parent, const char *key) {
    json_t *o = json_object_get(parent, key);
    if (!o) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

static json_t *arr(json_t *parent, const char *key) {
    json_t *a = json_object_get(parent, key);
    if (!a) {
        a = json_array();
        json_object_set_new(parent, key, a);
    }
    return a;
}

static void set_field(turn_t *t, const char *field, const char *value) {
    json_object_set_new(obj(t->effects, "set"), field, json_string(value));
}

static void set_field_ms(turn_t *t, const char *field, int64_t ms) {
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)ms);
    set_field(t, field, v);
}

/* Appends an audit entry; takes ownership of `j`. */
static void audit(turn_t *t, const char *ev, json_t *j) {
    json_t *a = json_object();
    char *s = json_dumps(j, JSON_COMPACT);
    json_object_set_new(a, "ev", json_string(ev));
    json_object_set_new(a, "j", json_string(s));
    json_array_append_new(arr(t->effects, "audit"), a);
    free(s);
    json_decref(j);
}

static void random_hex(char *out, size_t nbytes) {
    unsigned char b[16];
    if (nbytes > sizeof b) nbytes = sizeof b;
    if (getrandom(b, nbytes, 0) != (ssize_t)nbytes)
        for (size_t i = 0; i < nbytes; i++) b[i] = (unsigned char)(hilo_mono_us() >> (i % 8));
    for (size_t i = 0; i < nbytes; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* --- the decision --------------------------------------------------------------------- */

/* The language of what the router writes in this conversation (docs/bot-flow.md, "Languages"):
 * the conversation's own — the language the bot holds it in, which starts as the portfolio
 * record's and changes only when the debtor asks ("in english") — else the record's, else the
 * flow's default. The bot chooses the same way (hilo_bot_turn), so the debtor never gets a
 * confirmation in one language and the bot's next answer in another. */
static const char *conv_lang(const turn_t *t) {
    const char *l = get(&t->conv_f, "language");
    if (!l || !*l) l = get(&t->debtor_f, "language");
    return l && *l ? l : hilo_flow_language(t->eng->flow, NULL);
}

/* Queues one reply text through the gate. Blocked replies are recorded, never sent. */
static void add_reply(turn_t *t, const char *text, hilo_msg_kind_t kind, const hilo_bot_result_t *res, bool last) {
    hilo_engine_t *eng = t->eng;
    const hilo_envelope_t *e = t->frame->envelope;
    if (t->nreplies == MAX_REPLIES || !text || !*text) return;
    reply_t *r = &t->replies[t->nreplies];
    hilo_attempt_t a;
    hilo_attempt_load_facts(&a, fields_get, &t->debtor_f, &t->conv_f);
    /* This turn's own inbound is committed, but the conv fields were read after it: make
     * sure the window check sees it even if the read raced. Its commit time, not "now": a
     * turn resumed late (turns.c) answers a message that old, and the gate must see that
     * (the WhatsApp window, the hours exemption of replies). */
    if (a.last_in_ms[e->channel] < t->in_ms) a.last_in_ms[e->channel] = t->in_ms;
    /* The gate judges the conversation as this turn leaves it: an opt-out this turn records
     * already counts (so its confirmation is allowed, and nothing else), an opt-in this turn
     * records has already lifted it. */
    char optf[32];
    snprintf(optf, sizeof optf, "optout:%s", hilo_channel_name(e->channel));
    if (json_object_get(json_object_get(t->effects, "set"), optf)) a.optout_ms[e->channel] = t->in_ms;
    size_t di;
    json_t *dv;
    json_array_foreach(json_object_get(t->effects, "del"), di, dv) {
        if (strcmp(json_string_value(dv), optf) == 0) a.optout_ms[e->channel] = 0;
    }
    a.channel = e->channel;
    a.kind = kind;
    a.reply = true;
    a.bot = true; /* the flow's own answer: the only sender the hours exemption covers */
    a.now_ms = t->now_ms;
    hilo_compliance_check(eng->gate, &a, &r->verdict);
    if (!r->verdict.allowed) {
        json_t *j = json_object();
        json_object_set_new(j, "channel", json_string(hilo_channel_name(e->channel)));
        json_object_set_new(j, "reason", json_string(hilo_reason_name(r->verdict.reason)));
        json_object_set_new(j, "text", json_string(r->verdict.text));
        json_object_set_new(j, "by", json_string("bot"));
        audit(t, "blocked", j);
        hilo_log_info("engine", "event=reply_blocked debtor=%s channel=%s reason=%s", t->debtor,
                      hilo_channel_name(e->channel), hilo_reason_name(r->verdict.reason));
        return;
    }
    if (e->channel == HILO_CHANNEL_VOICE) {
        /* A live call gets one spoken answer: the texts are joined, and the record is made
         * once the decision is complete (make_voice_reply). */
        if (t->voice_text.len) hilo_buf_append(&t->voice_text, " ", 1);
        hilo_buf_append(&t->voice_text, text, strlen(text));
        return;
    }
    const char *ids[3], *titles[3];
    size_t nb = 0;
    if (last && res && e->channel == HILO_CHANNEL_WHATSAPP)
        for (; nb < res->nbuttons && nb < 3; nb++) {
            ids[nb] = res->buttons[nb].id;
            titles[nb] = res->buttons[nb].title;
        }
    hilo_outbound_spec_t spec = {
        .debtor_id = t->debtor,
        .channel = e->channel,
        .to = t->addr,
        .text = text,
        .by = "bot",
        .language = res && res->language ? res->language : conv_lang(t),
        .button_ids = ids,
        .button_titles = titles,
        .nbuttons = nb,
        .reply = true,
        .optout_confirm = kind == HILO_MSG_OPTOUT_CONFIRM,
    };
    r->rec = hilo_outbound_record_new(&spec, t->now_ms, eng->ctx->cfg->history_max,
                                      hilo_store_sha(eng->ctx->store, HILO_SCRIPT_COMMIT_OUTBOUND));
    if (r->rec) t->nreplies++;
}

static void decide_escalation(turn_t *t, const hilo_bot_action_t *a) {
    set_field(t, "state", "queued");
    set_field(t, "esc_reason", a->reason ? a->reason : "requested_agent");
    set_field(t, "esc_detail", a->detail ? a->detail : "");
    set_field(t, "esc_topic", a->topic ? a->topic : "");
    set_field(t, "esc_skill", a->skill ? a->skill : "");
    set_field(t, "esc_segment", a->segment ? a->segment : "");
    char prio[16];
    snprintf(prio, sizeof prio, "%d", a->priority);
    set_field(t, "esc_priority", prio);
    set_field_ms(t, "esc_ms", t->now_ms);
    set_field(t, "queue", a->skill ? a->skill : "");
    json_t *q = obj(t->effects, "queue");
    char score[24];
    snprintf(score, sizeof score, "%lld", (long long)(t->now_ms - (int64_t)a->priority * PRIORITY_MINUTE_MS));
    json_object_set_new(q, "skill", json_string(a->skill ? a->skill : ""));
    json_object_set_new(q, "score", json_string(score));
    /* The consoles hear of it (event `queue`): the floor, and the debtor's waiting message when
     * nobody of that queue can answer (console/system_msg.c). */
    json_object_set_new(t->effects, "notify", json_string(""));
    json_object_set_new(t->effects, "notify_kind", json_string("queue"));
    json_t *j = json_object();
    json_object_set_new(j, "reason", json_string(a->reason ? a->reason : ""));
    json_object_set_new(j, "detail", json_string(a->detail ? a->detail : ""));
    json_object_set_new(j, "skill", json_string(a->skill ? a->skill : ""));
    json_object_set_new(j, "priority", json_integer(a->priority));
    json_object_set_new(j, "channel", json_string(hilo_channel_name(t->frame->envelope->channel)));
    audit(t, "escalated", j);
    t->voice_kind = HILO_VOICE_ACTION_ENQUEUE;
    snprintf(t->voice_target, sizeof t->voice_target, "%s", a->skill ? a->skill : "agents");
    hilo_log_info("engine", "event=escalated debtor=%s reason=%s skill=%s priority=%d", t->debtor,
                  a->reason ? a->reason : "", a->skill ? a->skill : "", a->priority);
}

/* A person holds the conversation (queued or assigned) and the debtor names a reason of their
 * own — a legal threat, a complaint. Priority says which reason is stronger (docs/bot-flow.md,
 * "The stronger reason"): a stronger one becomes the conversation's reason, detail, topic and
 * priority, so the agent sees it and nothing hides it behind the rule or request that escalated
 * first. Still queued, the conversation moves to that reason's queue, keeping the time it has
 * waited (the score counts from the first esc_ms); assigned, it stays with its agent, who may
 * transfer it. A reason that is not stronger is only recorded (audit `escalation_kept`). */
/* The caller hung up while waiting for an agent: the conversation leaves the queue (the
 * routing pass takes it out, counts it abandoned and withdraws an offer made meanwhile:
 * route_offer.lua), so no agent is offered a call nobody is on. The thread keeps the call. */
static void decide_caller_gone(turn_t *t) {
    const char *queue = get(&t->conv_f, "queue"), *since = get(&t->conv_f, "esc_ms");
    set_field(t, "state", "open");
    json_t *j = json_pack("{s:s,s:I}", "queue", queue ? queue : "", "waited_ms",
                          (json_int_t)(since ? t->now_ms - strtoll(since, NULL, 10) : 0));
    audit(t, "caller_hung_up", j);
    hilo_log_info("engine", "event=caller_hung_up debtor=%s queue=%s", t->debtor, queue ? queue : "");
}

static void decide_stronger_reason(turn_t *t, bool queued) {
    const hilo_envelope_t *e = t->frame->envelope;
    const char *text = *e->text ? e->text : (e->voice && *e->voice->speech ? e->voice->speech : NULL);
    hilo_bot_named_escalation_t n;
    if (!text || !hilo_bot_escalation_named(t->eng->flow, text, &n)) return;
    const char *cur_reason = get(&t->conv_f, "esc_reason"), *cur_prio = get(&t->conv_f, "esc_priority");
    int prio = cur_prio ? atoi(cur_prio) : 0;
    json_t *j = json_pack("{s:s,s:s,s:i,s:s,s:i}", "reason", n.reason, "detail", n.detail, "priority", n.priority,
                          "previous", cur_reason ? cur_reason : "", "previous_priority", prio);
    if (n.priority <= prio) {
        audit(t, "escalation_kept", j);
        return;
    }
    set_field(t, "esc_reason", n.reason);
    set_field(t, "esc_detail", n.detail);
    set_field(t, "esc_topic", n.topic);
    char v[24];
    snprintf(v, sizeof v, "%d", n.priority);
    set_field(t, "esc_priority", v);
    const char *agent = get(&t->conv_f, queued ? "offer_agent" : "agent");
    json_object_set_new(t->effects, "notify", json_string(agent ? agent : ""));
    if (queued) {
        /* The queue's language: the one the conversation was queued in ("es.high_balance"). */
        const char *skill = get(&t->conv_f, "esc_skill"), *dot = skill ? strchr(skill, '.') : NULL;
        char nskill[96];
        if (dot && dot > skill)
            snprintf(nskill, sizeof nskill, "%.*s.%s", (int)(dot - skill), skill, n.topic);
        else
            snprintf(nskill, sizeof nskill, "%s.%s", conv_lang(t), n.topic);
        set_field(t, "esc_skill", nskill);
        set_field(t, "queue", nskill);
        const char *old = get(&t->conv_f, "queue"), *since = get(&t->conv_f, "esc_ms");
        int64_t esc_ms = since ? strtoll(since, NULL, 10) : t->now_ms;
        snprintf(v, sizeof v, "%lld", (long long)(esc_ms - (int64_t)n.priority * PRIORITY_MINUTE_MS));
        json_object_set_new(t->effects, "queue", json_pack("{s:s,s:s}", "skill", nskill, "score", v));
        if (old && *old && strcmp(old, nskill) != 0) json_object_set_new(t->effects, "unqueue", json_string(old));
        json_object_set_new(j, "skill", json_string(nskill));
        snprintf(t->voice_target, sizeof t->voice_target, "%s", nskill);
    }
    audit(t, "escalated", j);
    hilo_log_info("engine", "event=escalation_raised debtor=%s reason=%s priority=%d previous=%s", t->debtor, n.reason,
                  n.priority, cur_reason ? hilo_log_value(cur_reason) : "");
}

/* The promise ledger's view of this turn (promise_ledger.h). */
static hilo_promise_ledger_t ledger_of(turn_t *t) {
    const char *zone_name = get(&t->debtor_f, "timezone");
    char err[128];
    const hilo_tz_t *tz = zone_name && *zone_name ? hilo_tzdb_get(t->eng->tz, zone_name, err, sizeof err) : NULL;
    return (hilo_promise_ledger_t){t->effects, t->now_ms, hilo_channel_name(t->frame->envelope->channel), tz};
}

/* A turn that commits money says what the ledger committed when it was read: engine_apply.lua
 * applies it only if the ledger still says so (else the turn is decided again on the fresh
 * ledger), so two commitments made at once never add up past the balance. */
static void committed(turn_t *t) {
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)t->committed_cents);
    json_object_set_new(t->effects, "committed", json_string(s));
    const char *currency = get(&t->debtor_f, "currency");
    json_object_set_new(t->effects, "currency", json_string(currency ? currency : ""));
}

/* The debtor's own word on consent (docs/strategies.md, "Consent"): an opt-out revokes, an opt-in
 * (START) grants, for this channel and the phone they wrote from (canonical E.164, as the
 * portfolio's phones and the consent records are), from when they said it. An import never
 * overwrites it (cmd_import.c): the debtor's word is newer than any file. */
static void record_consent(turn_t *t, bool granted) {
    const hilo_envelope_t *e = t->frame->envelope;
    char e164[HILO_PHONE_MAX], field[64], value[64];
    const char *why = NULL;
    unsigned flags = e->channel == HILO_CHANNEL_WHATSAPP ? HILO_PHONE_WA_ID : 0;
    if (t->unidentified ||
        hilo_phone_parse(e->from, NULL, t->eng->ctx->cfg->default_cc, flags, e164, sizeof e164, &why) != HILO_OK)
        return;
    snprintf(field, sizeof field, "%s:%s", hilo_channel_name(e->channel), e164);
    snprintf(value, sizeof value, "%s|%lld|conversation", granted ? "granted" : "revoked", (long long)t->in_ms);
    json_t *c = json_object_get(t->effects, "consent");
    if (!c) {
        c = json_object();
        json_object_set_new(t->effects, "consent", c);
    }
    json_object_set_new(c, field, json_string(value));
}

/* Opt-out / opt-in keywords are handled before the bot: they are the debtor's right, not a
 * conversation step. Returns true when the message was one. */
static bool decide_keyword(turn_t *t) {
    const hilo_envelope_t *e = t->frame->envelope;
    hilo_keyword_t kw;
    /* The text the bot would read: typed text, else a call's speech transcript ("no más" said
     * on a call is an opt-out as it is in an SMS; docs/compliance.md). */
    const char *text = *e->text ? e->text : (e->voice && *e->voice->speech ? e->voice->speech : "");
    if (!*text || !hilo_optout_detect(text, strlen(text), e->channel, &kw)) return false;
    char field[32];
    snprintf(field, sizeof field, "optout:%s", hilo_channel_name(e->channel));
    json_t *j = json_object();
    json_object_set_new(j, "channel", json_string(hilo_channel_name(e->channel)));
    json_object_set_new(j, "keyword", json_string(kw.keyword));
    if (kw.kind == HILO_KEYWORD_OPTOUT) {
        /* When the debtor said it, also when the turn is resumed late: the opt-out held from then. */
        set_field_ms(t, field, t->in_ms);
        audit(t, "optout", j);
    } else {
        json_array_append_new(arr(t->effects, "del"), json_string(field));
        audit(t, "optin", j);
    }
    record_consent(t, kw.kind != HILO_KEYWORD_OPTOUT);
    /* The confirmation is in the conversation's language, not the keyword's: a Spanish debtor
     * may well type STOP. The opt-in confirmation is an ordinary reply: there is no opt-out
     * left to confirm. */
    char *confirm = hilo_bot_text(t->eng->flow,
                                  kw.kind == HILO_KEYWORD_OPTOUT ? HILO_BOT_TEXT_OPTOUT_KEYWORD : HILO_BOT_TEXT_OPTIN_KEYWORD,
                                  conv_lang(t), hilo_bot_channel_parse(hilo_channel_name(e->channel)));
    add_reply(t, confirm, kw.kind == HILO_KEYWORD_OPTOUT ? HILO_MSG_OPTOUT_CONFIRM : HILO_MSG_FREEFORM, NULL, true);
    free(confirm);
    t->voice_kind = HILO_VOICE_ACTION_SAY_HANGUP;
    return true;
}

static void decide_bot(turn_t *t) {
    hilo_engine_t *eng = t->eng;
    const hilo_envelope_t *e = t->frame->envelope;
    hilo_bot_debtor_t d;
    memset(&d, 0, sizeof d);
    hilo_bot_debtor_t *dp = NULL;
    if (!t->unidentified && get(&t->debtor_f, "full_name")) {
        d.debtor_id = t->debtor;
        d.full_name = get(&t->debtor_f, "full_name");
        d.document_last4 = get(&t->debtor_f, "document_last4");
        const char *bal = get(&t->debtor_f, "balance");
        if (!bal || hilo_bot_parse_amount(bal, &d.balance_cents) != HILO_OK) d.balance_cents = 0;
        d.currency = get(&t->debtor_f, "currency");
        const char *dpd = get(&t->debtor_f, "days_past_due");
        d.days_past_due = dpd ? atoi(dpd) : 0;
        d.language = get(&t->debtor_f, "language");
        const char *bp = get(&t->conv_f, "broken_promises");
        d.broken_promises = bp ? atoi(bp) : 0;
        d.committed_cents = t->committed_cents;
        d.segment = get(&t->debtor_f, "attr:segment");
        d.payment_token = get(&t->debtor_f, "attr:payment_token");
        dp = &d;
    }
    char today[16] = "";
    const char *zone_name = get(&t->debtor_f, "timezone");
    if (zone_name && *zone_name) {
        char err[128];
        const hilo_tz_t *tz = hilo_tzdb_get(eng->tz, zone_name, err, sizeof err);
        if (tz) {
            hilo_tm_t tm;
            hilo_tz_local(tz, t->now_ms / 1000, &tm);
            snprintf(today, sizeof today, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
        }
    }
    hilo_bot_input_t in = {
        .channel = hilo_bot_channel_parse(hilo_channel_name(e->channel)),
        .text = *e->text ? e->text : (e->voice && *e->voice->speech ? e->voice->speech : NULL),
        .digits = e->voice && *e->voice->digits ? e->voice->digits : NULL,
        .button = e->button && *e->button->payload ? e->button->payload : NULL,
        .now_ms = t->now_ms,
        .today = *today ? today : NULL,
    };
    hilo_bot_result_t *res = hilo_bot_turn(eng->flow, dp, get(&t->conv_f, "bot"), &in);
    if (res->state_reset) hilo_log_warn("engine", "event=bot_state_reset debtor=%s", t->debtor);
    set_field(t, "bot", res->state);
    if (res->language) set_field(t, "language", res->language);
    if (res->step) set_field(t, "step", res->step);
    t->voice_kind = HILO_VOICE_ACTION_SAY_GATHER;
    t->voice_keys = res->keys > 0 ? (unsigned)res->keys : 0;
    bool optout = false; /* the bot's opt-out intent: its reply is the opt-out's confirmation */
    for (size_t i = 0; i < res->nactions; i++) {
        const hilo_bot_action_t *a = &res->actions[i];
        json_t *j = json_object();
        switch (a->kind) {
        case HILO_BOT_VERIFIED:
            set_field_ms(t, "verified_ms", t->now_ms);
            json_object_set_new(j, "channel", json_string(hilo_channel_name(e->channel)));
            audit(t, "verified", j);
            break;
        case HILO_BOT_VERIFY_FAILED_ATTEMPT:
            json_object_set_new(j, "attempt", json_integer(a->attempt));
            json_object_set_new(j, "max", json_integer(a->max_attempts));
            audit(t, "verify_failed", j);
            break;
        case HILO_BOT_PROMISE:
            json_decref(j);
            committed(t);
            {
                hilo_promise_ledger_t l = ledger_of(t);
                hilo_promise_ledger_promise(&l, a);
            }
            break;
        case HILO_BOT_PLAN_ACCEPTED:
            json_decref(j);
            committed(t);
            {
                hilo_promise_ledger_t l = ledger_of(t);
                hilo_promise_ledger_plan(&l, a);
            }
            break;
        case HILO_BOT_ESCALATE:
            json_decref(j);
            decide_escalation(t, a);
            break;
        case HILO_BOT_OPTOUT: {
            char field[32];
            snprintf(field, sizeof field, "optout:%s", hilo_channel_name(e->channel));
            set_field_ms(t, field, t->in_ms);
            optout = true;
            json_object_set_new(j, "channel", json_string(hilo_channel_name(e->channel)));
            json_object_set_new(j, "keyword", json_string("(bot intent)"));
            audit(t, "optout", j);
            record_consent(t, false);
            break;
        }
        case HILO_BOT_PAYMENT_LINK:
            json_object_set_new(j, "url", json_string(a->url ? a->url : ""));
            audit(t, "payment_link", j);
            break;
        default:
            json_decref(j);
        }
    }
    json_t *bj = json_object();
    json_object_set_new(bj, "step", json_string(res->step ? res->step : ""));
    json_object_set_new(bj, "replies", json_integer((json_int_t)res->nreplies));
    json_object_set_new(bj, "verified", json_boolean(res->verified));
    json_object_set_new(bj, "handoff", json_boolean(res->handoff));
    audit(t, "bot", bj);
    for (size_t i = 0; i < res->nreplies; i++)
        add_reply(t, res->replies[i], optout ? HILO_MSG_OPTOUT_CONFIRM : HILO_MSG_FREEFORM, res,
                  i + 1 == res->nreplies);
    hilo_bot_result_destroy(&res);
}

static void apply(turn_t *t);
static void finish_turn(turn_t *t);

/* The one record of a voice turn, answering the envelope that waits for it. */
static void make_voice_reply(turn_t *t) {
    const hilo_envelope_t *e = t->frame->envelope;
    if (!t->voice_text.len || t->nreplies) return;
    hilo_outbound_spec_t spec = {
        .debtor_id = t->debtor,
        .channel = e->channel,
        .to = t->addr,
        .text = t->voice_text.data,
        .by = "bot",
        .language = conv_lang(t),
        .reply_to_seq = e->seq,
        .reply = true,
    };
    t->replies[0].rec = hilo_outbound_record_new(&spec, t->now_ms, t->eng->ctx->cfg->history_max,
                                                 hilo_store_sha(t->eng->ctx->store, HILO_SCRIPT_COMMIT_OUTBOUND));
    hilo_verdict_allow(&t->replies[0].verdict);
    if (t->replies[0].rec) t->nreplies = 1;
}

/* The frequency cap, for replies the gate says are collector-initiated. */
static void on_cap(redisReply *r, void *arg) {
    turn_t *t = arg;
    if (t->eng->ctx->closing) {
        turn_end(t);
        return;
    }
    /* Redis unreachable or its scripts flushed: the turn is tried again (the cap then
     * checked), rather than its replies refused for a fault of ours. */
    if (!r || (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)) {
        if (r) hilo_store_reset(t->eng->ctx->store, "script cache flushed");
        retry(t, r ? "NOSCRIPT (frequency cap)" : "storage connection lost (frequency cap)");
        return;
    }
    reply_t *rp = &t->replies[0];
    hilo_freq_cap_verdict(r, t->frame->envelope->channel, rp->verdict.cap, &rp->verdict);
    if (!rp->verdict.allowed) {
        json_t *j = json_object();
        json_object_set_new(j, "channel", json_string(hilo_channel_name(t->frame->envelope->channel)));
        json_object_set_new(j, "reason", json_string(hilo_reason_name(rp->verdict.reason)));
        json_object_set_new(j, "text", json_string(rp->verdict.text));
        json_object_set_new(j, "by", json_string("bot"));
        audit(t, "blocked", j);
        for (size_t i = 0; i < t->nreplies; i++) hilo_outbound_record_destroy(&t->replies[i].rec);
        t->nreplies = 0;
    }
    apply(t);
}

static void decide(turn_t *t) {
    hilo_router_ctx_t *ctx = t->eng->ctx;
    const hilo_envelope_t *e = t->frame->envelope;
    t->effects = json_object();
    json_object_set_new(t->effects, "debtor", json_string(t->debtor));
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)t->now_ms);
    json_object_set_new(t->effects, "now", json_string(s));
    snprintf(s, sizeof s, "%ld", ctx->cfg->history_max);
    json_object_set_new(t->effects, "hist_max", json_string(s));
    const char *rev = get(&t->conv_f, "rev");
    snprintf(t->rev, sizeof t->rev, "%s", rev ? rev : "0");
    /* Our address the debtor wrote to: replies and later messages on the channel go out from
     * it when connectors announce their senders (protocol 1.3, dispatch.c). Written only when
     * it changes. */
    if (e->to && *e->to && strlen(e->to) < HILO_LINK_SENDER_MAX) {
        char field[16];
        snprintf(field, sizeof field, "via:%s", hilo_channel_name(e->channel));
        const char *via = get(&t->conv_f, field);
        if (!via || strcmp(via, e->to) != 0) set_field(t, field, e->to);
    }
    /* A phone conversation: the debtor answered one of our prompts on a call (digits or
     * speech), inbound or one we placed. Its time holds our next call for the pack's pause
     * (Reg F 1006.14(b)(2)(ii); docs/compliance.md, "Phone conversations"), recorded with the
     * turn's effects so that it and the turn are one step. */
    if (e->voice && e->voice->kind == HILO_VOICE_GATHER && (*e->voice->digits || *e->voice->speech))
        set_field_ms(t, HILO_FACT_TALK, t->now_ms);
    /* A call is live from its start to its end ("" then): the supervisor's calls view tells a
     * voice conversation on a live call from one whose call is over (console/drill.c). */
    if (e->voice && e->voice->kind == HILO_VOICE_CALL_START) {
        set_field(t, "call_live", e->voice->call_id);
        set_field(t, "call_from", t->addr); /* where a connect order rings from (console/routing.c) */
    }
    if (e->voice && e->voice->kind == HILO_VOICE_CALL_END) set_field(t, "call_live", "");
    const char *state = get(&t->conv_f, "state");
    /* A human owns it while queued or assigned, and also just after an agent closed it: a
     * message within the reopen window goes back to that agent (console/routing.c reopens
     * it), so the bot must not answer in between. */
    const char *closed_ms = get(&t->conv_f, "closed_ms");
    int64_t reopen_ms = (int64_t)ctx->cfg->console_reopen_window_s * 1000;
    /* Real time, not the test clock: closed_ms and the message's commit are both real. */
    bool recently_closed = state && strcmp(state, "closed") == 0 && closed_ms && reopen_ms > 0 &&
                           hilo_now_ms() - strtoll(closed_ms, NULL, 10) <= reopen_ms;
    bool human = state && (strcmp(state, "queued") == 0 || strcmp(state, "assigned") == 0 || recently_closed);
    bool call_end = e->voice && e->voice->kind == HILO_VOICE_CALL_END;
    if (decide_keyword(t)) {
        /* handled */
    } else if (human || call_end) {
        /* A human owns the conversation (or the call is over): the bot stays silent. The
         * agent sees the message in the thread. */
        t->voice_kind = HILO_VOICE_ACTION_ENQUEUE;
        snprintf(t->voice_target, sizeof t->voice_target, "%s", get(&t->conv_f, "queue") ? get(&t->conv_f, "queue") : "agents");
        if (call_end && state && strcmp(state, "queued") == 0) decide_caller_gone(t);
        else if (human && !recently_closed) decide_stronger_reason(t, strcmp(state, "queued") == 0);
        /* The agent holding it hears of the message (their list's unread count and preview),
         * whether or not the conversation is open on their screen. */
        const char *holder = get(&t->conv_f, "agent");
        bool agent_leg = e->voice && e->voice->kind >= HILO_VOICE_AGENT_RINGING; /* the agent knows */
        if (human && !call_end && !agent_leg && strcmp(state, "assigned") == 0 && holder &&
            !json_object_get(t->effects, "notify")) {
            json_object_set_new(t->effects, "notify", json_string(holder));
            json_object_set_new(t->effects, "notify_kind", json_string("message"));
        }
    } else {
        decide_bot(t);
    }
    /* Nobody listens to a voice reply outside a live turn (e.g. a call-end event, or a turn
     * resumed from its pending record: the call it answered is over). */
    t->voice_reply = e->channel == HILO_CHANNEL_VOICE && e->wants_reply && t->live;
    if (t->voice_reply) make_voice_reply(t);
    if (t->nreplies && t->replies[0].verdict.cap.limit > 0) {
        hilo_freq_cap_cmd_t cmd;
        char err[128];
        if (hilo_freq_cap_command(&cmd, hilo_store_sha(ctx->store, HILO_SCRIPT_FREQ_CAP), t->debtor, e->channel,
                                  t->replies[0].verdict.cap, t->now_ms,
                                  hilo_outbound_record_id(t->replies[0].rec), err, sizeof err) == HILO_OK &&
            hilo_store_argv(ctx->store, on_cap, t, cmd.argc, cmd.argv, cmd.argvlen) == HILO_OK)
            return;
        hilo_log_error("engine", "event=cap_check_unavailable debtor=%s err=\"%s\"", t->debtor, err);
        for (size_t i = 0; i < t->nreplies; i++) hilo_outbound_record_destroy(&t->replies[i].rec);
        t->nreplies = 0; /* fail closed */
    }
    apply(t);
}

/* --- apply and answer ----------------------------------------------------------------- */

static void on_applied(redisReply *r, void *arg) {
    turn_t *t = arg;
    hilo_router_ctx_t *ctx = t->eng->ctx;
    if (ctx->closing) {
        turn_end(t);
        return;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER) {
        const char *why = r && r->type == REDIS_REPLY_ERROR ? r->str : r ? "unexpected reply" : "no reply";
        hilo_log_error("engine", "event=apply_failed debtor=%s turn=%s reply=\"%s\"", t->debtor, t->turn, why);
        if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
            hilo_store_reset(ctx->store, "script cache flushed");
        retry(t, r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 ? "NOSCRIPT"
                 : r ? "apply refused" : "storage connection lost");
        return;
    }
    switch (r->element[0]->integer) {
    case 1:
        hilo_turns_unindex(ctx, t->debtor, t->turn);
        hilo_engine_indexes_after(ctx, t->effects);
        /* The turn may have held a pending strategy step (engine_apply.lua): decide now. */
        hilo_strategy_run_kick(ctx, t->debtor);
        if (t->dropped) {
            ctx->metrics.turns_dropped++;
            turn_end(t);
            return;
        }
        ctx->metrics.turns_applied++;
        finish_turn(t);
        return;
    case 2:
        already_applied(t);
        return;
    case 3:
        if (r->element[1]->type == REDIS_REPLY_STRING && r->element[1]->len > 0 &&
            r->element[1]->len < HILO_TURN_KEY_MAX) {
            yield_to(t, r->element[1]->str);
            return;
        }
        retry(t, "unexpected older turn");
        return;
    default:
        retry(t, "conversation changed meanwhile"); /* decide again on fresh state */
        return;
    }
}

static void apply(turn_t *t) {
    hilo_router_ctx_t *ctx = t->eng->ctx;
    json_t *obs = arr(t->effects, "outbound");
    /* (A dropped record has no envelope and no replies: its outbox key is declared, unused.) */
    const char *chname = hilo_channel_name(t->frame ? (int)t->frame->envelope->channel : HILO_CHANNEL_UNSPECIFIED);
    json_object_set_new(t->effects, "turn", json_string(t->turn));
    for (size_t i = 0; i < t->nreplies; i++) {
        hilo_outbound_record_t *rec = t->replies[i].rec;
        json_t *o = json_object();
        json_object_set_new(o, "oid", json_string(hilo_outbound_record_id(rec)));
        json_object_set_new(o, "ch", json_string(chname));
        json_object_set_new(o, "by", json_string("bot"));
        json_object_set_new(o, "item", json_string(hilo_outbound_record_item(rec)));
        /* Voice replies are answered to the waiting connector, not dispatched later. */
        json_object_set_new(o, "pending", json_string(t->voice_reply ? "0" : "1"));
        json_object_set_new(o, "dispatch", json_string(t->voice_reply ? "0" : "1"));
        json_object_set_new(o, "disp", json_string(hilo_outbound_record_dispatch(rec)));
        json_array_append_new(obs, o);
    }
    char *effects = json_dumps(t->effects, JSON_COMPACT);
    char kconv[HILO_KEY_MAX], khist[HILO_KEY_MAX], kout[HILO_KEY_MAX], kaudit[HILO_KEY_MAX], kprom[HILO_KEY_MAX],
        koq[HILO_KEY_MAX], kodisp[HILO_KEY_MAX], kturnq[HILO_KEY_MAX], kturns[HILO_KEY_MAX];
    hilo_key_debtor(kconv, sizeof kconv, t->debtor, HILO_KEY_CONV);
    hilo_key_debtor(khist, sizeof khist, t->debtor, HILO_KEY_HIST);
    hilo_key_debtor(kout, sizeof kout, t->debtor, HILO_KEY_OUT);
    hilo_key_debtor(kaudit, sizeof kaudit, t->debtor, HILO_KEY_AUDIT);
    hilo_key_debtor(kprom, sizeof kprom, t->debtor, HILO_KEY_PROMISES);
    hilo_key_debtor_channel(koq, sizeof koq, t->debtor, HILO_KEY_OQ, chname);
    hilo_key_debtor(kodisp, sizeof kodisp, t->debtor, HILO_KEY_ODISP);
    hilo_key_debtor(kturnq, sizeof kturnq, t->debtor, HILO_KEY_TURNQ);
    hilo_key_debtor(kturns, sizeof kturns, t->debtor, HILO_KEY_TURNS);
    if (t->nreplies && !t->voice_reply) {
        /* The mark in the dispatch index first (lib/outbox.lua): pipelined ahead of the apply. */
        int iargc;
        const char **iargv;
        const size_t *ilens;
        hilo_outbound_record_index_argv(t->replies[0].rec, &iargc, &iargv, &ilens);
        hilo_store_argv(ctx->store, NULL, NULL, iargc, iargv, ilens);
    }
    /* The queue's and the promises' index entries, each on its own slot, ahead of the script. */
    if (hilo_engine_indexes_before(ctx, t->effects) != HILO_OK) {
        free(effects);
        hilo_log_warn("engine", "event=apply_unavailable debtor=%s turn=%s", t->debtor, t->turn);
        retry(t, "storage unavailable");
        return;
    }
    const char *argv[20 + MAX_REPLIES];
    size_t lens[20 + MAX_REPLIES];
    int argc = 0;
    char kconsent[HILO_KEY_MAX];
    hilo_key_debtor(kconsent, sizeof kconsent, t->debtor, HILO_KEY_CONSENT);
    const char *fixed[] = {"EVALSHA", hilo_store_sha(ctx->store, HILO_SCRIPT_ENGINE_APPLY), "10", kconv, khist, kout,
                           kaudit, kprom, koq, kturnq, kturns, kodisp, kconsent, t->rev, effects};
    for (size_t i = 0; i < HILO_ARRAY_LEN(fixed); i++) {
        argv[argc] = fixed[i];
        lens[argc++] = strlen(fixed[i]);
    }
    for (size_t i = 0; i < t->nreplies; i++) {
        size_t len;
        argv[argc] = (const char *)hilo_outbound_record_payload(t->replies[i].rec, &len);
        lens[argc++] = len;
    }
    int rc = hilo_store_argv(ctx->store, on_applied, t, argc, argv, lens);
    free(effects);
    if (rc != HILO_OK) {
        hilo_log_warn("engine", "event=apply_unavailable debtor=%s turn=%s", t->debtor, t->turn);
        retry(t, "storage unavailable");
    }
}

static void finish_turn(turn_t *t) {
    hilo_router_ctx_t *ctx = t->eng->ctx;
    const hilo_envelope_t *e = t->frame->envelope;
    if (t->voice_reply) {
        /* One Outbound answers the waiting webhook: the text (maybe empty when blocked or a
         * human owns the call) and what to do next. */
        hilo_outbound_t ob = HILO_OUTBOUND_INIT;
        hilo_voice_action_t va = HILO_VOICE_ACTION_INIT;
        hilo_outbound_t *packed = NULL;
        if (t->nreplies) {
            size_t len;
            const uint8_t *p = hilo_outbound_record_payload(t->replies[0].rec, &len);
            packed = hilo__link__v1__outbound__unpack(NULL, len, p);
        }
        hilo_outbound_t *msg = packed ? packed : &ob;
        if (!packed) {
            ob.channel = e->channel;
            ob.to = t->addr;
            ob.debtor_id = t->debtor;
            ob.reply_to_seq = e->seq;
            ob.language = (char *)conv_lang(t);
        }
        /* Every Outbound has an id, also a text-less answer (connectors dedupe on it):
         * "v" + ms + random, in the same shape as recorded outbound ids. */
        char vid[40];
        if (!packed) {
            snprintf(vid, sizeof vid, "v%013lld-", (long long)t->now_ms);
            random_hex(vid + strlen(vid), 6);
            ob.outbound_id = vid;
        }
        va.kind = t->voice_kind ? t->voice_kind : HILO_VOICE_ACTION_SAY_GATHER;
        va.target = t->voice_target;
        va.timeout_s = 6;
        if (va.kind == HILO_VOICE_ACTION_SAY_GATHER) va.num_digits = t->voice_keys; /* a one-key menu ends on the key */
        msg->voice = &va;
        msg->attempt = 1;
        hilo_link_server_send_outbound(ctx->link, &t->peer, msg);
        ctx->metrics.outbound_sent[e->channel]++;
        msg->voice = NULL;
        if (packed) hilo__link__v1__outbound__free_unpacked(packed, NULL);
    } else if (t->nreplies) {
        /* The debtor's mark in the dispatch index again, now that the replies are in its queue:
         * a sweep that found the queue empty between the first mark and the apply may have
         * removed the first one (lib/outbox.lua). */
        int iargc;
        const char **iargv;
        const size_t *ilens;
        hilo_outbound_record_index_argv(t->replies[0].rec, &iargc, &iargv, &ilens);
        hilo_store_argv(ctx->store, NULL, NULL, iargc, iargv, ilens);
        hilo_dispatch_kick_debtor(ctx->dispatch, e->channel, t->debtor);
    }
    ctx->metrics.outbound_committed[e->channel] += t->nreplies;
    turn_end(t);
}

/* --- load ----------------------------------------------------------------------------- */

/* A resumed turn's envelope and facts, from its pending record
 * "<in ms>|<history id>|<unidentified>|<address>|<Frame>" (commit_inbound.lua). */
static int parse_record(turn_t *t) {
    const char *p = t->record, *end = t->record + t->record_len;
    const char *f[4];
    size_t flen[4];
    for (int i = 0; i < 4; i++) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        if (!bar) return HILO_ERR;
        f[i] = p;
        flen[i] = (size_t)(bar - p);
        p = bar + 1;
    }
    if (flen[3] == 0 || flen[3] >= sizeof t->addr) return HILO_ERR;
    t->in_ms = strtoll(f[0], NULL, 10);
    t->unidentified = flen[2] == 1 && f[2][0] == '1';
    memcpy(t->addr, f[3], flen[3]);
    t->addr[flen[3]] = '\0';
    hilo_frame_t *frame = hilo_frame_unpack((const uint8_t *)p, (size_t)(end - p));
    if (!frame || frame->body_case != HILO_FRAME_ENVELOPE || !frame->envelope) {
        hilo_frame_free(&frame);
        return HILO_ERR;
    }
    t->frame = frame;
    return HILO_OK;
}

/* A pending record that cannot be read is removed (with an audit entry saying so), not left
 * to block the debtor's later turns forever. */
static void drop_record(turn_t *t) {
    hilo_log_error("engine", "event=turn_record_unreadable debtor=%s turn=%s bytes=%zu", t->debtor, t->turn,
                   t->record_len);
    t->dropped = true;
    t->effects = json_object();
    json_object_set_new(t->effects, "debtor", json_string(t->debtor));
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)t->now_ms);
    json_object_set_new(t->effects, "now", json_string(s));
    snprintf(s, sizeof s, "%ld", t->eng->ctx->cfg->history_max);
    json_object_set_new(t->effects, "hist_max", json_string(s));
    const char *rev = get(&t->conv_f, "rev");
    snprintf(t->rev, sizeof t->rev, "%s", rev ? rev : "0");
    json_t *j = json_object();
    json_object_set_new(j, "turn", json_string(t->turn));
    json_object_set_new(j, "reason", json_string("pending turn record unreadable"));
    audit(t, "turn_dropped", j);
    apply(t);
}

static void on_requeued(void *arg, int rc) {
    turn_t *t = arg;
    if (rc == HILO_ERR) {
        turn_end(t); /* closing: the turn stays pending for a sweep */
    } else if (rc != HILO_OK) {
        retry(t, "call requeue unavailable");
    } else {
        t->requeued = true;
        load(t);
    }
}

static void loaded(turn_t *t) {
    if (t->load_failed) {
        retry(t, "storage unavailable");
        return;
    }
    if (!t->pending) { /* applied meanwhile, maybe by another router's sweep */
        already_applied(t);
        return;
    }
    if (!t->now_ms) t->now_ms = hilo_now_ms();
    if (t->stored && !t->frame && parse_record(t) != HILO_OK) {
        drop_record(t);
        return;
    }
    if (!t->in_ms) t->in_ms = t->now_ms;
    /* The agent's phone did not answer: the conversation is queued again before this turn
     * applies (calls.h says why that order), then the turn reads it again. */
    if (!t->requeued && hilo_calls_unanswered(t->eng->ctx, t->debtor, t->turn, t->frame->envelope, on_requeued, t))
        return;
    decide(t);
}

static void load_step(turn_t *t) {
    if (--t->waiting == 0) {
        if (t->eng->ctx->closing) {
            turn_end(t);
            return;
        }
        loaded(t);
    }
}

static void on_load(redisReply *r, void *arg, fields_t *into) {
    turn_t *t = arg;
    if (!r || r->type == REDIS_REPLY_ERROR || t->eng->ctx->closing)
        t->load_failed = true;
    else if (into)
        fields_copy(into, r);
    else if (r->type == REDIS_REPLY_STRING)
        t->now_ms = strtoll(r->str, NULL, 10); /* the test clock */
    load_step(t);
}

static void on_debtor(redisReply *r, void *arg) { on_load(r, arg, &((turn_t *)arg)->debtor_f); }

/* The ledger (HVALS): what its pending promises commit of the balance, in the balance's
 * currency (the debtor's record was read first: replies come in order). The same sum as
 * ledger_committed() in lua/lib/ledger.lua, which engine_apply.lua compares it with. */
static void on_promises(redisReply *r, void *arg) {
    turn_t *t = arg;
    t->committed_cents = 0;
    const char *currency = get(&t->debtor_f, "currency");
    if (!currency) currency = "";
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING) continue;
        json_t *p = json_loadb(r->element[i]->str, r->element[i]->len, 0, NULL);
        const char *kind = json_string_value(json_object_get(p, "kind"));
        const char *state = json_string_value(json_object_get(p, "state"));
        const char *cur = json_string_value(json_object_get(p, "currency"));
        json_t *amount = json_object_get(p, "amount_cents");
        if (kind && strcmp(kind, "promise") == 0 && state && strcmp(state, "pending") == 0 && cur &&
            strcmp(cur, currency) == 0 && json_is_number(amount) && json_number_value(amount) == floor(json_number_value(amount)))
            t->committed_cents += (int64_t)json_number_value(amount);
        json_decref(p);
    }
    on_load(r, arg, NULL);
}
static void on_conv(redisReply *r, void *arg) { on_load(r, arg, &((turn_t *)arg)->conv_f); }
static void on_clock(redisReply *r, void *arg) { on_load(r, arg, NULL); }

/* Whether the turn is still pending: HEXISTS for a turn that has its envelope, HGET of the
 * record for a resumed one. */
static void on_pending(redisReply *r, void *arg) {
    turn_t *t = arg;
    if (!r || r->type == REDIS_REPLY_ERROR || t->eng->ctx->closing) {
        t->load_failed = true;
    } else if (r->type == REDIS_REPLY_INTEGER) {
        t->pending = r->integer == 1;
    } else if (r->type == REDIS_REPLY_STRING) {
        t->pending = true;
        if (!t->frame && !t->record) {
            t->record = hilo_xmalloc(r->len + 1);
            memcpy(t->record, r->str, r->len);
            t->record[r->len] = '\0';
            t->record_len = r->len;
        }
    } else {
        t->pending = false; /* nil: no such turn pending */
    }
    load_step(t);
}

static void load(turn_t *t) {
    hilo_router_ctx_t *ctx = t->eng->ctx;
    char kd[HILO_KEY_MAX], kc[HILO_KEY_MAX], kt[HILO_KEY_MAX];
    hilo_key_debtor(kd, sizeof kd, t->debtor, HILO_KEY_DEBTOR);
    hilo_key_debtor(kc, sizeof kc, t->debtor, HILO_KEY_CONV);
    hilo_key_debtor(kt, sizeof kt, t->debtor, HILO_KEY_TURNS);
    t->now_ms = 0;
    t->load_failed = false;
    t->pending = false;
    /* Pipelined; replies come back in order and never before this function returns, so the
     * count can be set after queuing. The last reply decides. */
    char kp[HILO_KEY_MAX];
    hilo_key_debtor(kp, sizeof kp, t->debtor, HILO_KEY_PROMISES);
    int n = 0, want = ctx->cfg->test_clock ? 5 : 4;
    n += hilo_store_command(ctx->store, on_debtor, t, "HGETALL %s", kd) == HILO_OK;
    n += hilo_store_command(ctx->store, on_promises, t, "HVALS %s", kp) == HILO_OK;
    n += hilo_store_command(ctx->store, on_conv, t, "HGETALL %s", kc) == HILO_OK;
    if (ctx->cfg->test_clock) n += hilo_store_command(ctx->store, on_clock, t, "GET " HILO_KEY_TEST_CLOCK) == HILO_OK;
    n += hilo_store_command(ctx->store, on_pending, t, t->frame ? "HEXISTS %s %s" : "HGET %s %s", kt, t->turn) ==
         HILO_OK;
    if (n < want) t->load_failed = true;
    t->waiting = n;
    if (n == 0) loaded(t);
}

void hilo_engine_turn(hilo_engine_t *eng, const hilo_peer_ref_t *peer, hilo_frame_t *frame, const char *debtor,
                      bool unidentified, const char *addr, const char *turn, int64_t in_ms) {
    turn_t *t = turn_new(eng, debtor, turn);
    t->peer = *peer;
    t->frame = frame;
    t->unidentified = unidentified;
    t->live = true;
    t->in_ms = in_ms;
    snprintf(t->addr, sizeof t->addr, "%s", addr);
    turn_start(eng, t);
}

void hilo_engine_resume(hilo_engine_t *eng, const char *debtor, const char *turn) {
    busy_t *b = *busy_slot(eng, debtor);
    if (b) { /* already in hand here (running, waiting for a retry, or queued)? */
        if (b->running && strcmp(b->running->turn, turn) == 0) return;
        for (turn_t *w = b->waiting_head; w; w = w->next_waiting)
            if (strcmp(w->turn, turn) == 0) return;
    }
    turn_t *t = turn_new(eng, debtor, turn);
    t->stored = true;
    eng->ctx->metrics.turns_resumed++;
    hilo_log_info("engine", "event=turn_resumed debtor=%s turn=%s", debtor, turn);
    turn_start(eng, t);
}

/* --- lifecycle ------------------------------------------------------------------------ */

/* The flow and the compliance rule packs the config names; -1 (nothing kept) with the
 * reason in err when either is bad. */
static int load_files(const hilo_router_config_t *cfg, hilo_flow_t **flow, hilo_compliance_t **gate, char *err,
                      size_t errlen) {
    char path[600];
    *flow = hilo_flow_load(hilo_router_config_path(cfg, cfg->flow_path, path, sizeof path), err, errlen);
    if (!*flow) return -1;
    *gate = hilo_compliance_new(hilo_router_config_path(cfg, cfg->compliance_dir, path, sizeof path), NULL, err, errlen);
    if (!*gate) {
        hilo_flow_destroy(flow);
        return -1;
    }
    return 0;
}

hilo_engine_t *hilo_engine_new(hilo_router_ctx_t *ctx, char *err, size_t errlen) {
    hilo_engine_t *eng = hilo_xcalloc(1, sizeof *eng);
    eng->ctx = ctx;
    uv_timer_init(ctx->loop, &eng->retry_timer);
    eng->retry_timer.data = eng;
    if (load_files(ctx->cfg, &eng->flow, &eng->gate, err, errlen) != 0) {
        hilo_engine_destroy(&eng);
        return NULL;
    }
    eng->tz = hilo_tzdb_new(NULL);
    hilo_log_info("engine", "event=ready flow=%s test_clock=%d", ctx->cfg->flow_path, ctx->cfg->test_clock);
    return eng;
}

int hilo_engine_check_files(const hilo_router_config_t *cfg, char *err, size_t errlen) {
    hilo_flow_t *flow;
    hilo_compliance_t *gate;
    if (load_files(cfg, &flow, &gate, err, errlen) != 0) return -1;
    hilo_flow_destroy(&flow);
    hilo_compliance_destroy(&gate);
    return 0;
}

const hilo_compliance_t *hilo_engine_gate(const hilo_engine_t *eng) { return eng->gate; }

int hilo_engine_reload(hilo_engine_t *eng, char *err, size_t errlen) {
    hilo_flow_t *flow;
    hilo_compliance_t *gate;
    if (load_files(eng->ctx->cfg, &flow, &gate, err, errlen) != 0) return -1;
    /* The flow and the gate are read only inside one callback (decide): no turn waiting on
     * Redis holds a pointer into them, so the old ones can go now. A conversation in a step the
     * new flow no longer has starts again at the flow's start (bot.c). */
    hilo_flow_destroy(&eng->flow);
    hilo_compliance_destroy(&eng->gate);
    eng->flow = flow;
    eng->gate = gate;
    return 0;
}

void hilo_engine_queues(const hilo_engine_t *self, void (*fn)(const char *queue, const char *escalation, void *arg),
                        void *arg) {
    if (self) hilo_flow_queues(self->flow, fn, arg);
}

char *hilo_engine_payment_link(const hilo_engine_t *self, const hilo_bot_debtor_t *debtor, int64_t amount_cents) {
    return self ? hilo_bot_payment_link(self->flow, debtor, amount_cents) : NULL;
}

static void on_timer_closed(uv_handle_t *h) { free(h->data); }

void hilo_engine_destroy(hilo_engine_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_engine_t *eng = *self_p;
    hilo_flow_destroy(&eng->flow);
    hilo_compliance_destroy(&eng->gate);
    hilo_tzdb_destroy(&eng->tz);
    /* The store is gone (router.c destroys it first): no turn waits on Redis any more; the
     * running ones left wait for a retry. Their records stay pending in Redis for a sweep. */
    eng->retries = NULL;
    for (int i = 0; i < BUSY_BUCKETS; i++)
        while (eng->busy[i]) {
            busy_t *b = eng->busy[i];
            eng->busy[i] = b->next;
            if (b->running) turn_free(b->running);
            while (b->waiting_head) {
                turn_t *t = b->waiting_head;
                b->waiting_head = t->next_waiting;
                turn_free(t);
            }
            free(b);
        }
    uv_timer_stop(&eng->retry_timer);
    uv_close((uv_handle_t *)&eng->retry_timer, on_timer_closed);
    *self_p = NULL;
}
