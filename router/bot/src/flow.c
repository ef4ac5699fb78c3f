/* flow.c — giving a flow file's sections their meaning (docs/bot-flow.md): names resolved to
 * indexes, phrases folded, templates compiled, and every rule that keeps a conversation safe
 * checked before the flow is accepted. The checks that matter most for privacy: a template
 * that can be said before verification (escalation replies, public step prompts, the fixed
 * "not understood"/"waiting"/... texts) may not use a debt or identity variable. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "flow_int.h"
#include "flow_read.h"
#include "hilo/bot_flow.h"
#include "hilo/common.h"
#include "hilo/utf8.h"
#include "render.h"

#define FLOW_FILE_MAX (1024 * 1024)
#define LINE_BUF 4200 /* a line is at most 4096 bytes (hilo/sections.h) */

typedef struct {
    hilo_flow_t *f;
    bot_doc_t doc;
    const char *path;
    char *err;
    size_t errlen;
    bot_sect_t *flow_sect;  /* [flow] */
    bot_sect_t *rules_sect; /* [rules], NULL when absent */
} ld_t;

__attribute__((format(printf, 3, 4))) static int fail(ld_t *L, int line, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(L->err, L->errlen, "%s:%d: %s", L->path, line, msg);
    return -1;
}

static bot_kv_t *kv_get(bot_sect_t *s, const char *key) {
    if (!s) return NULL;
    for (int i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0) {
            s->kv[i].used = true;
            return &s->kv[i];
        }
    return NULL;
}

#define FIND_BY_NAME(fn, arr, count)                                                              \
    static int fn(const hilo_flow_t *f, const char *name) {                                       \
        for (int i = 0; i < f->count; i++)                                                        \
            if (strcmp(f->arr[i].name, name) == 0) return i;                                      \
        return -1;                                                                                \
    }
FIND_BY_NAME(find_tpl, tpls, ntpls)
FIND_BY_NAME(find_intent, intents, nintents)
FIND_BY_NAME(find_step, steps, nsteps)
FIND_BY_NAME(find_esc, escs, nescs)

static int find_lang(const hilo_flow_t *f, const char *code) {
    for (int i = 0; i < f->nlangs; i++)
        if (strcmp(f->langs[i].code, code) == 0) return i;
    return -1;
}

static int parse_int(ld_t *L, const bot_kv_t *kv, long min, long max, int *out) {
    char *end;
    errno = 0;
    long v = strtol(kv->value, &end, 10);
    if (!kv->value[0] || *end || errno || v < min || v > max)
        return fail(L, kv->line, "%s: expected a whole number from %ld to %ld, got '%s'", kv->key, min, max,
                    kv->value);
    *out = (int)v;
    return 0;
}

static int parse_money(ld_t *L, const bot_kv_t *kv, int64_t *out) {
    if (bot_money_parse(kv->value, out) != 0)
        return fail(L, kv->line, "%s: expected an amount like 10.00, got '%s'", kv->key, kv->value);
    return 0;
}

static int parse_bool(ld_t *L, const bot_kv_t *kv, bool *out) {
    if (strcmp(kv->value, "yes") == 0 || strcmp(kv->value, "true") == 0)
        *out = true;
    else if (strcmp(kv->value, "no") == 0 || strcmp(kv->value, "false") == 0)
        *out = false;
    else
        return fail(L, kv->line, "%s: expected yes or no, got '%s'", kv->key, kv->value);
    return 0;
}

#define REF(fn, finder, what)                                                                     \
    static int fn(ld_t *L, const bot_kv_t *kv, int *out) {                                        \
        int i = finder(L->f, kv->value);                                                          \
        if (i < 0) return fail(L, kv->line, "%s: unknown " what " '%s'", kv->key, kv->value);     \
        *out = i;                                                                                 \
        return 0;                                                                                 \
    }
REF(ref_step, find_step, "step")
REF(ref_tpl, find_tpl, "template")

static const char *private_why(const bot_template_t *t, char *buf, size_t len) {
    if (t->private_var < 0)
        snprintf(buf, len, "is marked private");
    else
        snprintf(buf, len, "uses {%s}", bot_var_name(t->private_var));
    return buf;
}

/* A template said where the debtor may not be verified yet must not be private. */
static int must_be_public(ld_t *L, int line, int tpl, const char *where) {
    const bot_template_t *t = &L->f->tpls[tpl];
    char why[64];
    if (t->private_)
        return fail(L, line, "template '%s' %s, but %s can be said before verification: debt and identity "
                    "details need a verified debtor", t->name, private_why(t, why, sizeof why), where);
    return 0;
}

/* ---- sections and names ---------------------------------------------------------------- */

static const char *const TYPES[] = {"flow", "rules", "language", "intent", "template", "step",
                                    "escalation", "portfolio_rule", NULL};

static int register_sections(ld_t *L) {
    hilo_flow_t *f = L->f;
    for (int i = 0; i < L->doc.n; i++) {
        bot_sect_t *s = &L->doc.s[i];
        bool known = false;
        for (const char *const *t = TYPES; *t; t++) known |= strcmp(*t, s->type) == 0;
        if (!known)
            return fail(L, s->line, "unknown section [%s] (expected flow, rules, language, intent, template, "
                        "step, escalation or portfolio_rule)", s->type);
        bool single = strcmp(s->type, "flow") == 0 || strcmp(s->type, "rules") == 0;
        if (single && s->name[0]) return fail(L, s->line, "[%s] takes no name", s->type);
        if (!single && !s->name[0]) return fail(L, s->line, "[%s] needs a name: [%s <name>]", s->type, s->type);
        if (strlen(s->name) > BOT_NAME_MAX) return fail(L, s->line, "name longer than %d characters", BOT_NAME_MAX);
        for (int j = 0; j < i; j++)
            if (strcmp(L->doc.s[j].type, s->type) == 0 && strcmp(L->doc.s[j].name, s->name) == 0)
                return fail(L, s->line, "duplicate [%s%s%s] (first at line %d)", s->type, s->name[0] ? " " : "",
                            s->name, L->doc.s[j].line);
        /* Every key but an intent's phrases appears once. */
        bool intent = strcmp(s->type, "intent") == 0;
        for (int k = 0; k < s->nkv; k++)
            for (int j = 0; j < k; j++)
                if (strcmp(s->kv[j].key, s->kv[k].key) == 0 && !(intent && !strchr(s->kv[k].key, '.') &&
                                                                 strcmp(s->kv[k].key, "do") != 0))
                    return fail(L, s->kv[k].line, "duplicate key '%s' (first at line %d)", s->kv[k].key,
                                s->kv[j].line);
        if (strcmp(s->type, "flow") == 0) L->flow_sect = s;
        if (strcmp(s->type, "rules") == 0) L->rules_sect = s;
#define ADD(arr, count)                                                                           \
    do {                                                                                          \
        f->arr = hilo_xrealloc(f->arr, (size_t)(f->count + 1) * sizeof *f->arr);                  \
        memset(&f->arr[f->count], 0, sizeof *f->arr);                                             \
        f->arr[f->count].name = hilo_xstrdup(s->name);                                            \
        f->arr[f->count++].line = s->line;                                                        \
    } while (0)
        if (strcmp(s->type, "template") == 0) ADD(tpls, ntpls);
        if (intent) ADD(intents, nintents);
        if (strcmp(s->type, "step") == 0) ADD(steps, nsteps);
        if (strcmp(s->type, "escalation") == 0) ADD(escs, nescs);
        if (strcmp(s->type, "portfolio_rule") == 0) ADD(pfrules, npfrules);
#undef ADD
    }
    if (!L->flow_sect) return fail(L, 1, "no [flow] section");
    return 0;
}

/* ---- [flow] languages and [language xx] ------------------------------------------------- */

static int build_languages(ld_t *L) {
    hilo_flow_t *f = L->f;
    bot_kv_t *kv = kv_get(L->flow_sect, "languages");
    if (!kv) return fail(L, L->flow_sect->line, "[flow] needs 'languages = es en'");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", kv->value);
    for (char *save = NULL, *t = strtok_r(buf, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
        size_t tl = strlen(t);
        bool ok = tl >= 2 && tl <= 3;
        for (size_t i = 0; i < tl; i++) ok &= t[i] >= 'a' && t[i] <= 'z';
        if (!ok) return fail(L, kv->line, "languages: '%s' is not a language code like es or en", t);
        if (find_lang(f, t) >= 0) return fail(L, kv->line, "languages: '%s' is listed twice", t);
        if (f->nlangs == BOT_LANG_MAX) return fail(L, kv->line, "languages: at most %d", BOT_LANG_MAX);
        bot_lang_t *l = &f->langs[f->nlangs++];
        snprintf(l->code, sizeof l->code, "%s", t);
        bool es = strcmp(t, "en") != 0; /* Spanish-style numbers for all but English by default */
        l->decimal = es ? ',' : '.';
        l->thousands = es ? '.' : ',';
        l->mdy = strcmp(t, "en") == 0;
    }
    if (f->nlangs == 0) return fail(L, kv->line, "languages: none given");
    f->default_lang = 0;
    if ((kv = kv_get(L->flow_sect, "default_language")) && (f->default_lang = find_lang(f, kv->value)) < 0)
        return fail(L, kv->line, "default_language: '%s' is not in languages", kv->value);
    if ((kv = kv_get(L->flow_sect, "company"))) f->company = hilo_xstrdup(kv->value);
    for (int i = 0; i < L->doc.n; i++) {
        bot_sect_t *s = &L->doc.s[i];
        if (strcmp(s->type, "language") != 0) continue;
        int li = find_lang(f, s->name);
        if (li < 0) return fail(L, s->line, "language '%s' is not in [flow] languages", s->name);
        bot_lang_t *l = &f->langs[li];
        if ((kv = kv_get(s, "decimal"))) {
            if (strlen(kv->value) != 1 || !strchr(".,", kv->value[0]))
                return fail(L, kv->line, "decimal: expected . or ,");
            l->decimal = kv->value[0];
        }
        if ((kv = kv_get(s, "thousands"))) {
            if (strcmp(kv->value, "none") == 0)
                l->thousands = 0;
            else if (strcmp(kv->value, "space") == 0)
                l->thousands = ' ';
            else if (strlen(kv->value) == 1 && strchr(".,'", kv->value[0]))
                l->thousands = kv->value[0];
            else
                return fail(L, kv->line, "thousands: expected . , ' space or none");
        }
        if (l->thousands == l->decimal) return fail(L, s->line, "decimal and thousands separators are the same");
        if ((kv = kv_get(s, "date_order"))) {
            if (strcmp(kv->value, "dmy") != 0 && strcmp(kv->value, "mdy") != 0)
                return fail(L, kv->line, "date_order: expected dmy or mdy");
            l->mdy = kv->value[0] == 'm';
        }
    }
    return 0;
}

/* ---- [rules] ------------------------------------------------------------------------------ */

static int build_rules(ld_t *L) {
    bot_rules_t *r = &L->f->rules;
    *r = (bot_rules_t){.verify_attempts = 3, .verify_ttl_min = 60, .session_timeout_min = 1440,
                       .not_understood_max = 3, .promise_min_cents = 100, .promise_max_days = 30,
                       .plan_n = {3, 6, 12}, .nplan_n = 3, .plan_first_due_days = 7};
    bot_sect_t *s = L->rules_sect;
    bot_kv_t *kv;
    if ((kv = kv_get(s, "verify_attempts")) && parse_int(L, kv, 1, 10, &r->verify_attempts)) return -1;
    if ((kv = kv_get(s, "verify_ttl_minutes")) && parse_int(L, kv, 0, 7 * 24 * 60, &r->verify_ttl_min)) return -1;
    if ((kv = kv_get(s, "session_timeout_minutes")) && parse_int(L, kv, 0, 30 * 24 * 60, &r->session_timeout_min))
        return -1;
    if ((kv = kv_get(s, "not_understood_max")) && parse_int(L, kv, 1, 10, &r->not_understood_max)) return -1;
    if ((kv = kv_get(s, "promise_min"))) {
        if (parse_money(L, kv, &r->promise_min_cents)) return -1;
        if (r->promise_min_cents <= 0) return fail(L, kv->line, "promise_min: must be more than 0");
    }
    if ((kv = kv_get(s, "promise_max_days")) && parse_int(L, kv, 0, 365, &r->promise_max_days)) return -1;
    if ((kv = kv_get(s, "plan_instalments"))) {
        r->nplan_n = 0;
        char buf[256];
        snprintf(buf, sizeof buf, "%s", kv->value);
        for (char *save = NULL, *t = strtok_r(buf, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
            char *end;
            long n = strtol(t, &end, 10);
            if (*end || n < 2 || n > 120) return fail(L, kv->line, "plan_instalments: '%s' is not a count from 2 to 120", t);
            if (r->nplan_n == BOT_PLAN_N_MAX) return fail(L, kv->line, "plan_instalments: at most %d counts", BOT_PLAN_N_MAX);
            for (int i = 0; i < r->nplan_n; i++)
                if (r->plan_n[i] == n) return fail(L, kv->line, "plan_instalments: %ld is listed twice", n);
            r->plan_n[r->nplan_n++] = (int)n;
        }
    }
    if ((kv = kv_get(s, "plan_min_instalment")) && parse_money(L, kv, &r->plan_min_instalment_cents)) return -1;
    if ((kv = kv_get(s, "plan_first_due_days")) && parse_int(L, kv, 0, 60, &r->plan_first_due_days)) return -1;
    if ((kv = kv_get(s, "lump_sum_discount_percent"))) {
        int64_t bp; /* "12.5" read as an amount is 1250 hundredths: basis points */
        if (bot_money_parse(kv->value, &bp) != 0 || bp > 9000)
            return fail(L, kv->line, "lump_sum_discount_percent: expected a percent from 0 to 90, got '%s'", kv->value);
        r->lump_discount_bp = (int)bp;
    }
    if ((kv = kv_get(s, "payment_link"))) {
        char why[200];
        uint64_t uses = 0;
        if (strncmp(kv->value, "https://", 8) != 0 && strncmp(kv->value, "http://", 7) != 0)
            return fail(L, kv->line, "payment_link: expected an http(s):// URL template");
        if (!(r->payment_link = bot_tpl_compile(kv->value, BOT_SCOPE_LINK, &uses, why, sizeof why)))
            return fail(L, kv->line, "payment_link: %s (known: {debtor_id}, {token}, {amount_cents}, {currency})", why);
    }
    return 0;
}

/* ---- [template name] ------------------------------------------------------------------- */

static int build_templates(ld_t *L) {
    static const char *const VARIANTS[BOT_VARIANT_N] = {"", "whatsapp", "sms", "voice"};
    hilo_flow_t *f = L->f;
    int ti = 0;
    for (int i = 0; i < L->doc.n; i++) {
        bot_sect_t *s = &L->doc.s[i];
        if (strcmp(s->type, "template") != 0) continue;
        bot_template_t *t = &f->tpls[ti++];
        bool marked = false;
        for (int k = 0; k < s->nkv; k++) {
            bot_kv_t *kv = &s->kv[k];
            kv->used = true;
            if (strcmp(kv->key, "private") == 0) {
                if (parse_bool(L, kv, &marked)) return -1;
                continue;
            }
            char lang[16];
            snprintf(lang, sizeof lang, "%s", kv->key);
            char *dot = strchr(lang, '.');
            int variant = BOT_VARIANT_TEXT;
            if (dot) {
                *dot = '\0';
                variant = -1;
                for (int v = 1; v < BOT_VARIANT_N; v++)
                    if (strcmp(dot + 1, VARIANTS[v]) == 0) variant = v;
            }
            int li = find_lang(f, lang);
            if (li < 0 || variant < 0)
                return fail(L, kv->line, "template '%s': unknown key '%s' (expected a language of [flow] "
                            "languages, optionally with .whatsapp, .sms or .voice, or private)", t->name, kv->key);
            char why[200];
            if (!(t->text[li][variant] = bot_tpl_compile(kv->value, BOT_SCOPE_REPLY, &t->uses, why, sizeof why)))
                return fail(L, kv->line, "template '%s': %s", t->name, why);
        }
        for (int li = 0; li < f->nlangs; li++)
            if (!t->text[li][BOT_VARIANT_TEXT])
                return fail(L, s->line, "template '%s' has no '%s' text", t->name, f->langs[li].code);
        uint64_t priv = t->uses & BOT_PRIVATE_VARS;
        t->private_ = marked || priv;
        t->private_var = -1;
        for (int v = 0; v < BOT_V_PRIVATE_END; v++)
            if (priv & BOT_VAR_BIT(v)) {
                t->private_var = v;
                break;
            }
        if ((t->uses & BOT_VAR_BIT(BOT_V_PAYMENT_LINK)) && !f->rules.payment_link)
            return fail(L, s->line, "template '%s' uses {payment_link} but [rules] has no payment_link", t->name);
    }
    return 0;
}

/* ---- [intent name] ------------------------------------------------------------------------ */

static int parse_do(ld_t *L, bot_intent_t *in, const bot_kv_t *kv) {
    char verb[32] = "", arg[64] = "", extra[8] = "";
    int n = sscanf(kv->value, "%31s %63s %7s", verb, arg, extra);
    hilo_flow_t *f = L->f;
    if (n == 2 && strcmp(verb, "goto") == 0) {
        in->act = BOT_DO_GOTO;
        if ((in->target = find_step(f, arg)) < 0) return fail(L, kv->line, "intent '%s': unknown step '%s'", in->name, arg);
    } else if (n == 2 && strcmp(verb, "escalate") == 0) {
        in->act = BOT_DO_ESCALATE;
        if ((in->target = find_esc(f, arg)) < 0)
            return fail(L, kv->line, "intent '%s': unknown escalation '%s'", in->name, arg);
    } else if (n == 1 && strcmp(verb, "optout") == 0) {
        in->act = BOT_DO_OPTOUT;
    } else if (n == 2 && strcmp(verb, "language") == 0) {
        in->act = BOT_DO_LANGUAGE;
        if ((in->target = find_lang(f, arg)) < 0)
            return fail(L, kv->line, "intent '%s': language '%s' is not in [flow] languages", in->name, arg);
    } else {
        return fail(L, kv->line, "intent '%s': do: expected 'goto <step>', 'escalate <escalation>', 'optout' "
                    "or 'language <code>'", in->name);
    }
    return 0;
}

static int build_intents(ld_t *L) {
    hilo_flow_t *f = L->f;
    int ii = 0;
    for (int i = 0; i < L->doc.n; i++) {
        bot_sect_t *s = &L->doc.s[i];
        if (strcmp(s->type, "intent") != 0) continue;
        bot_intent_t *in = &f->intents[ii++];
        for (int k = 0; k < s->nkv; k++) {
            bot_kv_t *kv = &s->kv[k];
            kv->used = true;
            if (strcmp(kv->key, "do") == 0) {
                if (parse_do(L, in, kv)) return -1;
                continue;
            }
            if (strncmp(kv->key, "label.", 6) == 0) {
                int li = find_lang(f, kv->key + 6);
                if (li < 0) return fail(L, kv->line, "intent '%s': unknown key '%s'", in->name, kv->key);
                if (!kv->value[0]) return fail(L, kv->line, "intent '%s': empty label", in->name);
                in->label[li] = hilo_xstrdup(kv->value);
                continue;
            }
            int li = find_lang(f, kv->key);
            if (li < 0)
                return fail(L, kv->line, "intent '%s': unknown key '%s' (expected a language of [flow] languages, "
                            "label.<language> or do)", in->name, kv->key);
            if (!kv->value[0]) return fail(L, kv->line, "intent '%s': no phrases after '%s ='", in->name, kv->key);
            char buf[LINE_BUF];
            snprintf(buf, sizeof buf, "%s", kv->value);
            for (char *save = NULL, *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
                bot_pattern_t p;
                char why[200];
                if (bot_pattern_compile(t, &p, why, sizeof why) != 0)
                    return fail(L, kv->line, "intent '%s': %s", in->name, why);
                p.lang = li;
                p.line = kv->line;
                in->pats = hilo_xrealloc(in->pats, (size_t)(in->npats + 1) * sizeof *in->pats);
                in->pats[in->npats++] = p;
            }
        }
    }
    f->intent_yes = find_intent(f, "yes");
    f->intent_no = find_intent(f, "no");
    return 0;
}

/* ---- [step name] --------------------------------------------------------------------------- */

static const char *const KINDS[] = {[BOT_STEP_MENU] = "menu",       [BOT_STEP_VERIFY] = "verify",
                                    [BOT_STEP_SAY] = "say",         [BOT_STEP_END] = "end",
                                    [BOT_STEP_PROMISE] = "promise", [BOT_STEP_PLAN] = "plan",
                                    [BOT_STEP_CONFIRM] = "confirm"};

/* Menus and buttons show an intent's label in every language. */
static int need_labels(ld_t *L, const bot_kv_t *kv, int intent, bool button) {
    const bot_intent_t *in = &L->f->intents[intent];
    for (int li = 0; li < L->f->nlangs; li++) {
        if (!in->label[li])
            return fail(L, kv->line, "%s: intent '%s' has no label.%s", kv->key, in->name, L->f->langs[li].code);
        if (button && hilo_utf8_chars(in->label[li]) > BOT_BUTTON_TITLE_MAX)
            return fail(L, kv->line, "%s: label.%s of intent '%s' is longer than %d characters (a button title)",
                        kv->key, L->f->langs[li].code, in->name, BOT_BUTTON_TITLE_MAX);
    }
    return 0;
}

static int parse_digits(ld_t *L, bot_step_t *st, const bot_kv_t *kv) {
    char buf[LINE_BUF];
    snprintf(buf, sizeof buf, "%s", kv->value);
    for (char *save = NULL, *t = strtok_r(buf, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
        int slot = bot_digit_slot(t[0]);
        if (slot < 0 || t[1] != ':')
            return fail(L, kv->line, "digits: expected pairs like '1:balance', got '%s'", t);
        int intent = find_intent(L->f, t + 2);
        if (intent < 0) return fail(L, kv->line, "digits: unknown intent '%s'", t + 2);
        if (st->digit_intent[slot] >= 0) return fail(L, kv->line, "digits: '%c' is mapped twice", t[0]);
        if (need_labels(L, kv, intent, false)) return -1;
        st->digit_intent[slot] = intent;
        size_t n = strlen(st->digit_order);
        st->digit_order[n] = t[0];
        st->digit_order[n + 1] = '\0';
    }
    return 0;
}

static int parse_buttons(ld_t *L, bot_step_t *st, const bot_kv_t *kv) {
    char buf[LINE_BUF];
    snprintf(buf, sizeof buf, "%s", kv->value);
    for (char *save = NULL, *t = strtok_r(buf, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
        if (st->nbuttons == BOT_BUTTONS_MAX) return fail(L, kv->line, "buttons: at most %d", BOT_BUTTONS_MAX);
        int intent = find_intent(L->f, t);
        if (intent < 0) return fail(L, kv->line, "buttons: unknown intent '%s'", t);
        if (need_labels(L, kv, intent, true)) return -1;
        st->buttons[st->nbuttons++] = intent;
    }
    return 0;
}

static int build_steps(ld_t *L) {
    hilo_flow_t *f = L->f;
    int si = 0;
    for (int i = 0; i < L->doc.n; i++) {
        bot_sect_t *s = &L->doc.s[i];
        if (strcmp(s->type, "step") != 0) continue;
        bot_step_t *st = &f->steps[si++];
        st->next = st->confirm = st->yes = st->no = -1;
        for (int d = 0; d < BOT_DIGIT_SLOTS; d++) st->digit_intent[d] = -1;
        bot_kv_t *kv = kv_get(s, "kind");
        if (!kv) return fail(L, s->line, "step '%s' has no kind (menu, verify, say, end, promise, plan, confirm)", st->name);
        int kind = -1;
        for (int k = 0; k < (int)HILO_ARRAY_LEN(KINDS); k++)
            if (strcmp(kv->value, KINDS[k]) == 0) kind = k;
        if (kind < 0)
            return fail(L, kv->line, "kind: unknown '%s' (menu, verify, say, end, promise, plan, confirm)", kv->value);
        st->kind = (bot_step_kind_t)kind;
        if (!(kv = kv_get(s, "prompt"))) return fail(L, s->line, "step '%s' has no prompt", st->name);
        if (ref_tpl(L, kv, &st->prompt)) return -1;
        if ((kv = kv_get(s, "public")) && parse_bool(L, kv, &st->public_)) return -1;
        if (st->kind == BOT_STEP_VERIFY) st->public_ = true;
        if ((kv = kv_get(s, "digits")) && parse_digits(L, st, kv)) return -1;
        if ((kv = kv_get(s, "buttons")) && parse_buttons(L, st, kv)) return -1;
        bool wants_next = st->kind == BOT_STEP_SAY || st->kind == BOT_STEP_END || st->kind == BOT_STEP_PROMISE ||
                          st->kind == BOT_STEP_PLAN;
        if (wants_next && (kv = kv_get(s, "next")) && ref_step(L, kv, &st->next)) return -1;
        if (wants_next && st->kind != BOT_STEP_END && st->next < 0)
            return fail(L, s->line, "%s step '%s' needs next = <step>", KINDS[st->kind], st->name);
        if (st->kind == BOT_STEP_PROMISE || st->kind == BOT_STEP_PLAN) {
            if ((kv = kv_get(s, "confirm"))) {
                if (ref_step(L, kv, &st->confirm)) return -1;
                st->confirm_line = kv->line; /* its kind is checked once every step has one */
            }
        }
        if (st->kind == BOT_STEP_CONFIRM) {
            if (!(kv = kv_get(s, "yes")) || ref_step(L, kv, &st->yes))
                return kv ? -1 : fail(L, s->line, "confirm step '%s' needs yes = <step>", st->name);
            if (!(kv = kv_get(s, "no")) || ref_step(L, kv, &st->no))
                return kv ? -1 : fail(L, s->line, "confirm step '%s' needs no = <step>", st->name);
        }
        if (st->public_ && must_be_public(L, s->line, st->prompt, "the public step's prompt")) return -1;
        if (st->kind == BOT_STEP_PROMISE && f->promise_step < 0) f->promise_step = si - 1;
    }
    for (int i = 0; i < f->nsteps; i++) {
        const bot_step_t *st = &f->steps[i];
        if (st->confirm >= 0 && f->steps[st->confirm].kind != BOT_STEP_CONFIRM)
            return fail(L, st->confirm_line, "confirm: step '%s' is not a confirm step", f->steps[st->confirm].name);
    }
    return 0;
}

/* ---- [escalation name] and [portfolio_rule name] ------------------------------------------ */

/* A balance means nothing without its currency: 5000 is a large USD debt and a small COP one.
 * So a rule's balance condition is one threshold per currency, `balance_min.USD = 5000.00`,
 * and a bare `balance_min` is refused rather than compared with every currency's numbers. A
 * debtor whose currency has no threshold does not meet the condition (docs/bot-flow.md). */
static int balance_thresholds(ld_t *L, bot_sect_t *s, bot_escalation_t *e) {
    for (int i = 0; i < s->nkv; i++) {
        bot_kv_t *kv = &s->kv[i];
        if (strcmp(kv->key, "balance_min") == 0)
            return fail(L, kv->line, "balance_min: say the currency, one line per currency: balance_min.USD = %s, "
                        "balance_min.COP = ... (a balance compared whatever its currency sends every peso "
                        "debtor to a person)", kv->value);
        if (strncmp(kv->key, "balance_min.", 12) != 0) continue;
        kv->used = true;
        const char *code = kv->key + 12;
        bool ok = strlen(code) == 3;
        for (int k = 0; ok && k < 3; k++) ok = code[k] >= 'A' && code[k] <= 'Z';
        if (!ok)
            return fail(L, kv->line, "%s: '%s' is not a currency code like USD or COP (ISO 4217, capitals)", kv->key,
                        code);
        if (e->nbalance_min == BOT_CURRENCIES_MAX)
            return fail(L, kv->line, "%s: at most %d currencies in one rule", kv->key, BOT_CURRENCIES_MAX);
        bot_money_min_t *m = &e->balance_min[e->nbalance_min++];
        snprintf(m->code, sizeof m->code, "%s", code);
        if (parse_money(L, kv, &m->min_cents)) return -1;
    }
    return 0;
}

static int build_escalation(ld_t *L, bot_sect_t *s, bot_escalation_t *e, bool rule) {
    bot_kv_t *kv;
    e->priority = 50;
    if (rule) {
        e->reason = hilo_xstrdup("portfolio_rule");
    } else {
        kv = kv_get(s, "reason");
        e->reason = hilo_xstrdup(kv ? kv->value : e->name);
        if (!e->reason[0]) return fail(L, kv->line, "reason: empty");
    }
    if (!(kv = kv_get(s, "topic")) || !kv->value[0]) return fail(L, kv ? kv->line : s->line, "[%s %s] needs topic = <skill topic>", s->type, e->name);
    e->topic = hilo_xstrdup(kv->value);
    if ((kv = kv_get(s, "priority")) && parse_int(L, kv, 0, 100, &e->priority)) return -1;
    if (!(kv = kv_get(s, "reply"))) return fail(L, s->line, "[%s %s] needs reply = <template>", s->type, e->name);
    if (ref_tpl(L, kv, &e->reply) || must_be_public(L, kv->line, e->reply, "an escalation's reply")) return -1;
    if (!rule) return 0;
    if (balance_thresholds(L, s, e)) return -1;
    if ((kv = kv_get(s, "days_past_due_min"))) {
        if (parse_int(L, kv, 0, 100000, &e->dpd_min)) return -1;
        e->has_dpd = true;
    }
    if ((kv = kv_get(s, "broken_promises_min"))) {
        if (parse_int(L, kv, 1, 1000, &e->broken_min)) return -1;
        e->has_broken = true;
    }
    if (!e->nbalance_min && !e->has_dpd && !e->has_broken)
        return fail(L, s->line, "portfolio rule '%s' needs balance_min.<currency>, days_past_due_min or broken_promises_min",
                    e->name);
    return 0;
}

static int build_escalations(ld_t *L) {
    int ei = 0, ri = 0;
    for (int i = 0; i < L->doc.n; i++) {
        bot_sect_t *s = &L->doc.s[i];
        if (strcmp(s->type, "escalation") == 0 && build_escalation(L, s, &L->f->escs[ei++], false)) return -1;
        if (strcmp(s->type, "portfolio_rule") == 0 && build_escalation(L, s, &L->f->pfrules[ri++], true)) return -1;
    }
    return 0;
}

/* ---- [flow] references and whole-flow checks ----------------------------------------------- */

static int flow_step(ld_t *L, const char *key, int *out) {
    bot_kv_t *kv = kv_get(L->flow_sect, key);
    if (!kv) return fail(L, L->flow_sect->line, "[flow] needs %s = <step>", key);
    return ref_step(L, kv, out);
}

static int build_flow_refs(ld_t *L) {
    hilo_flow_t *f = L->f;
    bot_kv_t *kv;
    if (flow_step(L, "start", &f->start) || flow_step(L, "after_verify", &f->after_verify) ||
        flow_step(L, "verify", &f->verify))
        return -1;
    if (f->steps[f->verify].kind != BOT_STEP_VERIFY)
        return fail(L, kv_get(L->flow_sect, "verify")->line, "verify: step '%s' is not a verify step",
                    f->steps[f->verify].name);
    f->unidentified = f->unidentified_escalation = -1;
    if (!(kv = kv_get(L->flow_sect, "unidentified")))
        return fail(L, L->flow_sect->line, "[flow] needs unidentified = <step> or escalate <escalation>");
    char arg[64];
    if (sscanf(kv->value, "escalate %63s", arg) == 1) {
        if ((f->unidentified_escalation = find_esc(f, arg)) < 0)
            return fail(L, kv->line, "unidentified: unknown escalation '%s'", arg);
    } else {
        if (ref_step(L, kv, &f->unidentified)) return -1;
        const bot_step_t *st = &f->steps[f->unidentified];
        if (!st->public_ || st->kind != BOT_STEP_MENU)
            return fail(L, kv->line, "unidentified: step '%s' must be a public menu step (the sender can never "
                        "be verified)", st->name);
    }
    if ((f->esc_verification_failed = find_esc(f, "verification_failed")) < 0)
        return fail(L, L->flow_sect->line, "the flow needs an [escalation verification_failed]");
    if ((f->esc_bot_failure = find_esc(f, "bot_failure")) < 0)
        return fail(L, L->flow_sect->line, "the flow needs an [escalation bot_failure]");
    for (int i = 0; i < f->nsteps; i++)
        if (f->steps[i].kind == BOT_STEP_CONFIRM && (f->intent_yes < 0 || f->intent_no < 0))
            return fail(L, f->steps[i].line, "confirm step '%s' needs [intent yes] and [intent no]", f->steps[i].name);
    return 0;
}

enum { NEED_OPTIONAL = 0, NEED_ALWAYS, NEED_PROMISE, NEED_PLAN, NEED_LUMP, NEED_MENU };

static const struct {
    const char *name;
    int need;
    bool public_; /* said where the debtor may not be verified */
} WELL_KNOWN[BT__N] = {
    [BT_NOT_UNDERSTOOD] = {"not_understood", NEED_ALWAYS, true},
    [BT_WAITING] = {"waiting", NEED_ALWAYS, true},
    [BT_OPTOUT] = {"optout", NEED_ALWAYS, true},
    [BT_LANGUAGE] = {"language", NEED_ALWAYS, true},
    [BT_NEEDS_VERIFICATION] = {"needs_verification", NEED_OPTIONAL, true},
    [BT_VERIFY_OK] = {"verify_ok", NEED_OPTIONAL, false},
    [BT_VERIFY_RETRY] = {"verify_retry", NEED_ALWAYS, true},
    [BT_VERIFY_FORMAT] = {"verify_format", NEED_ALWAYS, true},
    [BT_PROMISE_NEED_AMOUNT] = {"promise_need_amount", NEED_PROMISE, false},
    [BT_PROMISE_NEED_DATE] = {"promise_need_date", NEED_PROMISE, false},
    [BT_PROMISE_AMOUNT_LOW] = {"promise_amount_low", NEED_PROMISE, false},
    [BT_PROMISE_AMOUNT_HIGH] = {"promise_amount_high", NEED_PROMISE, false},
    [BT_PROMISE_DATE_PAST] = {"promise_date_past", NEED_PROMISE, false},
    [BT_PROMISE_DATE_FAR] = {"promise_date_far", NEED_PROMISE, false},
    [BT_PROMISE_DATE_INVALID] = {"promise_date_invalid", NEED_PROMISE, false},
    [BT_PLAN_LINE] = {"plan_line", NEED_PLAN, false},
    [BT_PLAN_LINE_LUMP] = {"plan_line_lump", NEED_LUMP, false},
    [BT_PLAN_NONE] = {"plan_none", NEED_PLAN, false},
    [BT_ALL_COMMITTED] = {"all_committed", NEED_OPTIONAL, false},
    [BT_MENU_ITEM] = {"menu_item", NEED_MENU, true},
    [BT_WELCOME] = {"welcome", NEED_OPTIONAL, true},
    [BT_OPTOUT_KEYWORD] = {"optout_keyword", NEED_ALWAYS, true},
    [BT_OPTIN_KEYWORD] = {"optin_keyword", NEED_ALWAYS, true},
};

static int first_step_of(const hilo_flow_t *f, bot_step_kind_t kind) {
    for (int i = 0; i < f->nsteps; i++)
        if (f->steps[i].kind == kind) return i;
    return -1;
}

static int check_templates(ld_t *L) {
    hilo_flow_t *f = L->f;
    int promise = first_step_of(f, BOT_STEP_PROMISE), plan = first_step_of(f, BOT_STEP_PLAN), menu_user = -1;
    for (int i = 0; i < f->ntpls && menu_user < 0; i++)
        if (f->tpls[i].uses & BOT_VAR_BIT(BOT_V_MENU)) menu_user = i;
    for (int b = 0; b < BT__N; b++) {
        int t = f->tpl[b] = find_tpl(f, WELL_KNOWN[b].name);
        int need = WELL_KNOWN[b].need, line = -1;
        if (need == NEED_ALWAYS) line = L->flow_sect->line;
        if (need == NEED_PROMISE && promise >= 0) line = f->steps[promise].line;
        if ((need == NEED_PLAN || (need == NEED_LUMP && f->rules.lump_discount_bp > 0)) && plan >= 0)
            line = f->steps[plan].line;
        if (need == NEED_MENU && menu_user >= 0) line = f->tpls[menu_user].line;
        if (t < 0 && line >= 0) return fail(L, line, "the flow needs a [template %s]", WELL_KNOWN[b].name);
        if (t >= 0 && WELL_KNOWN[b].public_ && must_be_public(L, f->tpls[t].line, t, "it")) return -1;
        const uint64_t lists = BOT_VAR_BIT(BOT_V_MENU) | BOT_VAR_BIT(BOT_V_PLAN_OPTIONS);
        if (t >= 0 && (b == BT_MENU_ITEM || b == BT_PLAN_LINE || b == BT_PLAN_LINE_LUMP) && (f->tpls[t].uses & lists))
            return fail(L, f->tpls[t].line, "template '%s' is one line of a list: it may not use {menu} or "
                        "{plan_options}", f->tpls[t].name);
    }
    return 0;
}

/* say steps go straight on to their next step: a loop of them would never wait for the debtor. */
static int check_chains(ld_t *L) {
    const hilo_flow_t *f = L->f;
    for (int i = 0; i < f->nsteps; i++) {
        int s = i, hops = 0;
        while (f->steps[s].kind == BOT_STEP_SAY) {
            s = f->steps[s].next;
            if (++hops > f->nsteps)
                return fail(L, f->steps[i].line, "step '%s': say steps loop without ever waiting for the debtor",
                            f->steps[i].name);
        }
    }
    return 0;
}

static int check_unused(ld_t *L) {
    for (int i = 0; i < L->doc.n; i++) {
        bot_sect_t *s = &L->doc.s[i];
        if (strcmp(s->type, "step") == 0 || strcmp(s->type, "flow") == 0 || strcmp(s->type, "rules") == 0 ||
            strcmp(s->type, "language") == 0 || strcmp(s->type, "escalation") == 0 ||
            strcmp(s->type, "portfolio_rule") == 0)
            for (int k = 0; k < s->nkv; k++)
                if (!s->kv[k].used) {
                    if (strcmp(s->type, "step") == 0)
                        return fail(L, s->kv[k].line, "unknown key '%s' for a %s step", s->kv[k].key,
                                    KINDS[L->f->steps[find_step(L->f, s->name)].kind]);
                    return fail(L, s->kv[k].line, "unknown key '%s' in [%s%s%s]", s->kv[k].key, s->type,
                                s->name[0] ? " " : "", s->name);
                }
    }
    return 0;
}

/* ---- public API -------------------------------------------------------------------------- */

hilo_flow_t *hilo_flow_parse(const char *name, const char *text, size_t len, char *err, size_t errlen) {
    ld_t L = {.path = name, .err = err, .errlen = errlen};
    if (bot_doc_parse(name, text, len, &L.doc, err, errlen) != 0) return NULL;
    hilo_flow_t *f = L.f = hilo_xcalloc(1, sizeof *f);
    f->path = hilo_xstrdup(name);
    f->promise_step = -1;
    if (register_sections(&L) || build_languages(&L) || build_rules(&L) || build_templates(&L) ||
        build_intents(&L) || build_steps(&L) || build_escalations(&L) || build_flow_refs(&L) ||
        check_templates(&L) || check_chains(&L) || check_unused(&L)) {
        hilo_flow_destroy(&f);
    }
    bot_doc_free(&L.doc);
    return f;
}

hilo_flow_t *hilo_flow_load(const char *path, char *err, size_t errlen) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = hilo_xmalloc(FLOW_FILE_MAX + 1);
    size_t n = fread(buf, 1, FLOW_FILE_MAX + 1, fp);
    bool bad = ferror(fp);
    fclose(fp);
    hilo_flow_t *f = NULL;
    if (bad)
        snprintf(err, errlen, "%s:0: cannot read", path);
    else if (n > FLOW_FILE_MAX)
        snprintf(err, errlen, "%s:0: larger than %d bytes", path, FLOW_FILE_MAX);
    else
        f = hilo_flow_parse(path, buf, n, err, errlen);
    free(buf);
    return f;
}

static void free_escalations(bot_escalation_t *e, int n) {
    for (int i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].reason);
        free(e[i].topic);
    }
    free(e);
}

void hilo_flow_destroy(hilo_flow_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_flow_t *f = *self_p;
    for (int i = 0; i < f->ntpls; i++) {
        for (int l = 0; l < BOT_LANG_MAX; l++)
            for (int v = 0; v < BOT_VARIANT_N; v++) bot_tpl_free(f->tpls[i].text[l][v]);
        free(f->tpls[i].name);
    }
    for (int i = 0; i < f->nintents; i++) {
        bot_intent_t *in = &f->intents[i];
        for (int p = 0; p < in->npats; p++) bot_pattern_free(&in->pats[p]);
        for (int l = 0; l < BOT_LANG_MAX; l++) free(in->label[l]);
        free(in->pats);
        free(in->name);
    }
    for (int i = 0; i < f->nsteps; i++) free(f->steps[i].name);
    free_escalations(f->escs, f->nescs);
    free_escalations(f->pfrules, f->npfrules);
    bot_tpl_free(f->rules.payment_link);
    free(f->tpls);
    free(f->intents);
    free(f->steps);
    free(f->company);
    free(f->path);
    free(f);
    *self_p = NULL;
}
