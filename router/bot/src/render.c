/* render.c — template compilation and rendering, money and date formatting. */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "hilo/common.h"

static const struct {
    const char *name;
    int scope; /* BOT_SCOPE_* where it may appear */
} VARS[BOT_V__COUNT] = {
    [BOT_V_NAME] = {"name", BOT_SCOPE_REPLY},
    [BOT_V_FIRST_NAME] = {"first_name", BOT_SCOPE_REPLY},
    [BOT_V_BALANCE] = {"balance", BOT_SCOPE_REPLY},
    [BOT_V_DAYS_PAST_DUE] = {"days_past_due", BOT_SCOPE_REPLY},
    [BOT_V_AMOUNT] = {"amount", BOT_SCOPE_REPLY},
    [BOT_V_DATE] = {"date", BOT_SCOPE_REPLY},
    [BOT_V_TOTAL] = {"total", BOT_SCOPE_REPLY},
    [BOT_V_MIN_AMOUNT] = {"min_amount", BOT_SCOPE_REPLY}, /* can reveal a small balance */
    [BOT_V_PLAN_OPTIONS] = {"plan_options", BOT_SCOPE_REPLY},
    [BOT_V_PAYMENT_LINK] = {"payment_link", BOT_SCOPE_REPLY},
    [BOT_V_OPEN_BALANCE] = {"open_balance", BOT_SCOPE_REPLY}, /* the balance less pending promises */
    [BOT_V_COMMITTED] = {"committed", BOT_SCOPE_REPLY},       /* what pending promises commit */
    [BOT_V_CURRENCY] = {"currency", BOT_SCOPE_REPLY | BOT_SCOPE_LINK},
    [BOT_V_N] = {"n", BOT_SCOPE_REPLY},
    [BOT_V_OPTION] = {"option", BOT_SCOPE_REPLY},
    [BOT_V_DISCOUNT] = {"discount", BOT_SCOPE_REPLY},
    [BOT_V_MAX_DATE] = {"max_date", BOT_SCOPE_REPLY},
    [BOT_V_MAX_DAYS] = {"max_days", BOT_SCOPE_REPLY},
    [BOT_V_ATTEMPTS_LEFT] = {"attempts_left", BOT_SCOPE_REPLY},
    [BOT_V_MENU] = {"menu", BOT_SCOPE_REPLY},
    [BOT_V_DIGIT] = {"digit", BOT_SCOPE_REPLY},
    [BOT_V_LABEL] = {"label", BOT_SCOPE_REPLY},
    [BOT_V_COMPANY] = {"company", BOT_SCOPE_REPLY},
    [BOT_V_DEBTOR_ID] = {"debtor_id", BOT_SCOPE_LINK},
    [BOT_V_TOKEN] = {"token", BOT_SCOPE_LINK},
    [BOT_V_AMOUNT_CENTS] = {"amount_cents", BOT_SCOPE_LINK},
};

const char *bot_var_name(int var) { return var >= 0 && var < BOT_V__COUNT ? VARS[var].name : "?"; }

/* ---- a growing string ---- */

typedef struct {
    char *p;
    size_t n, cap;
} sb_t;

static void sb_addn(sb_t *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = hilo_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_add(sb_t *b, const char *s) { sb_addn(b, s, strlen(s)); }

static char *sb_take(sb_t *b) {
    if (!b->p) return hilo_xstrdup("");
    char *p = b->p;
    b->p = NULL;
    b->n = b->cap = 0;
    return p;
}

/* ---- compiling ---- */

static void push_part(bot_tpl_text_t *t, bool is_var, int var, sb_t *lit) {
    if (!is_var && lit->n == 0) return;
    t->parts = hilo_xrealloc(t->parts, (size_t)(t->n + 1) * sizeof *t->parts);
    t->parts[t->n++] = (bot_tpl_part_t){is_var, var, is_var ? NULL : sb_take(lit)};
}

bot_tpl_text_t *bot_tpl_compile(const char *src, int scope, uint64_t *uses, char *why, size_t whylen) {
    bot_tpl_text_t *t = hilo_xcalloc(1, sizeof *t);
    sb_t lit = {0};
    const char *p = src;
    while (*p) {
        if (p[0] == '\\' && (p[1] == 'n' || p[1] == '\\')) {
            sb_addn(&lit, p[1] == 'n' ? "\n" : "\\", 1);
            p += 2;
        } else if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            sb_addn(&lit, p, 1);
            p += 2;
        } else if (*p == '}') {
            snprintf(why, whylen, "stray '}' (write '}}' for a brace)");
            goto fail;
        } else if (*p == '{') {
            const char *close = strchr(p + 1, '}');
            if (!close) {
                snprintf(why, whylen, "unclosed '{' (write '{{' for a brace)");
                goto fail;
            }
            int len = (int)(close - p - 1), var = -1;
            for (int v = 0; v < BOT_V__COUNT; v++)
                if ((VARS[v].scope & scope) && (int)strlen(VARS[v].name) == len &&
                    strncmp(VARS[v].name, p + 1, (size_t)len) == 0)
                    var = v;
            if (var < 0) {
                snprintf(why, whylen, "unknown variable {%.*s}", len > 40 ? 40 : len, p + 1);
                goto fail;
            }
            push_part(t, false, 0, &lit);
            push_part(t, true, var, &lit);
            *uses |= BOT_VAR_BIT(var);
            p = close + 1;
        } else {
            sb_addn(&lit, p++, 1);
        }
    }
    push_part(t, false, 0, &lit);
    return t;
fail:
    free(lit.p);
    bot_tpl_free(t);
    return NULL;
}

void bot_tpl_free(bot_tpl_text_t *t) {
    if (!t) return;
    for (int i = 0; i < t->n; i++) free(t->parts[i].lit);
    free(t->parts);
    free(t);
}

/* ---- formatting ---- */

void bot_money_format(int64_t cents, const bot_lang_t *lang, char *out, size_t len) {
    uint64_t v = cents < 0 ? (uint64_t)(-(cents + 1)) + 1 : (uint64_t)cents;
    char units[24], buf[64];
    snprintf(units, sizeof units, "%llu", (unsigned long long)(v / 100));
    size_t o = 0, nd = strlen(units);
    if (cents < 0) buf[o++] = '-';
    for (size_t i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0 && lang->thousands) buf[o++] = lang->thousands;
        buf[o++] = units[i];
    }
    buf[o++] = lang->decimal ? lang->decimal : '.';
    buf[o++] = (char)('0' + (v % 100) / 10);
    buf[o++] = (char)('0' + v % 10);
    buf[o] = '\0';
    snprintf(out, len, "%s", buf);
}

void bot_date_format(int32_t days, const char *lang, char *out, size_t len) {
    int y, m, d;
    bot_civil_from_days(days, &y, &m, &d);
    const char *month = bot_month_name(lang, m);
    if (month && strcmp(lang, "es") == 0)
        snprintf(out, len, "%d de %s de %d", d, month, y);
    else if (month)
        snprintf(out, len, "%s %d, %d", month, d, y);
    else
        bot_date_iso(days, out);
}

static void percent_format(int bp, const bot_lang_t *lang, char *out, size_t len) {
    if (bp % 100 == 0)
        snprintf(out, len, "%d", bp / 100);
    else if (bp % 10 == 0)
        snprintf(out, len, "%d%c%d", bp / 100, lang->decimal, (bp % 100) / 10);
    else
        snprintf(out, len, "%d%c%02d", bp / 100, lang->decimal, bp % 100);
}

static void url_escape(sb_t *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            sb_addn(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            sb_addn(b, e, 3);
        }
    }
}

/* ---- rendering ---- */

static bool render_tpl(const bot_render_ctx_t *c, int tpl, sb_t *b);

static const char *sep_for(const bot_render_ctx_t *c) { return c->variant == BOT_VARIANT_VOICE ? " " : "\n"; }

static bool render_var(const bot_render_ctx_t *c, int var, sb_t *b) {
    /* The second lock: even a template wrongly marked public cannot show a private value. */
    if (var < BOT_V_PRIVATE_END && !c->verified) return false;
    const hilo_flow_t *f = c->flow;
    const hilo_bot_debtor_t *d = c->debtor;
    const bot_lang_t *lang = &f->langs[c->lang];
    char buf[96] = "";
    switch (var) {
    case BOT_V_NAME:
        sb_add(b, d->full_name ? d->full_name : "");
        return true;
    case BOT_V_FIRST_NAME: {
        const char *n = d->full_name ? d->full_name : "";
        while (*n == ' ') n++;
        sb_addn(b, n, strcspn(n, " "));
        return true;
    }
    case BOT_V_BALANCE:
        bot_money_format(d->balance_cents, lang, buf, sizeof buf);
        break;
    case BOT_V_DAYS_PAST_DUE:
        snprintf(buf, sizeof buf, "%d", d->days_past_due);
        break;
    case BOT_V_AMOUNT:
        if (c->has_amount) bot_money_format(c->amount_cents, lang, buf, sizeof buf);
        break;
    case BOT_V_DATE:
        if (c->has_date) bot_date_format(c->date, lang->code, buf, sizeof buf);
        break;
    case BOT_V_TOTAL:
        bot_money_format(c->total_cents, lang, buf, sizeof buf);
        break;
    case BOT_V_MIN_AMOUNT:
        bot_money_format(bot_promise_min(&f->rules, bot_open_cents(d->balance_cents, d->committed_cents)), lang, buf,
                         sizeof buf);
        break;
    case BOT_V_OPEN_BALANCE:
        bot_money_format(bot_open_cents(d->balance_cents, d->committed_cents), lang, buf, sizeof buf);
        break;
    case BOT_V_COMMITTED:
        bot_money_format(d->committed_cents > 0 ? d->committed_cents : 0, lang, buf, sizeof buf);
        break;
    case BOT_V_PLAN_OPTIONS:
        for (int i = 0; i < c->nplan; i++) {
            bot_render_ctx_t sub = *c;
            const bot_plan_option_t *o = &c->plan[i];
            sub.option = i + 1;
            sub.n = o->n;
            sub.has_amount = true;
            sub.amount_cents = o->instalment_cents;
            sub.total_cents = o->total_cents;
            sub.discount_bp = o->discount_bp;
            int tpl = o->discount_bp > 0 && o->n == 1 ? f->tpl[BT_PLAN_LINE_LUMP] : f->tpl[BT_PLAN_LINE];
            if (i > 0) sb_add(b, sep_for(c));
            if (tpl < 0 || !render_tpl(&sub, tpl, b)) return false;
        }
        return true;
    case BOT_V_PAYMENT_LINK: {
        char *url = bot_render_link(c);
        if (!url) return false;
        sb_add(b, url);
        free(url);
        return true;
    }
    case BOT_V_CURRENCY:
        sb_add(b, d->currency ? d->currency : "");
        return true;
    case BOT_V_N:
        snprintf(buf, sizeof buf, "%d", c->n);
        break;
    case BOT_V_OPTION:
        snprintf(buf, sizeof buf, "%d", c->option);
        break;
    case BOT_V_DISCOUNT:
        percent_format(c->discount_bp, lang, buf, sizeof buf);
        break;
    case BOT_V_MAX_DATE:
        bot_date_format(c->today + f->rules.promise_max_days, lang->code, buf, sizeof buf);
        break;
    case BOT_V_MAX_DAYS:
        snprintf(buf, sizeof buf, "%d", f->rules.promise_max_days);
        break;
    case BOT_V_ATTEMPTS_LEFT:
        snprintf(buf, sizeof buf, "%d", c->attempts_left);
        break;
    case BOT_V_MENU: {
        if (c->step < 0 || f->tpl[BT_MENU_ITEM] < 0) return true;
        const bot_step_t *s = &f->steps[c->step];
        for (const char *dg = s->digit_order; *dg; dg++) {
            const bot_intent_t *in = &f->intents[s->digit_intent[bot_digit_slot(*dg)]];
            char digit[2] = {*dg, '\0'};
            bot_render_ctx_t sub = *c;
            sub.digit = digit;
            sub.label = in->label[c->lang] ? in->label[c->lang] : in->name;
            if (dg > s->digit_order) sb_add(b, sep_for(c));
            if (!render_tpl(&sub, f->tpl[BT_MENU_ITEM], b)) return false;
        }
        return true;
    }
    case BOT_V_DIGIT:
        sb_add(b, c->digit ? c->digit : "");
        return true;
    case BOT_V_LABEL:
        sb_add(b, c->label ? c->label : "");
        return true;
    case BOT_V_COMPANY:
        sb_add(b, f->company ? f->company : "");
        return true;
    default:
        return false; /* link-only variables never reach a reply (the loader refuses them) */
    }
    sb_add(b, buf);
    return true;
}

static bool render_tpl(const bot_render_ctx_t *c, int tpl, sb_t *b) {
    const bot_template_t *t = &c->flow->tpls[tpl];
    if (t->private_ && !c->verified) return false; /* the first lock */
    const bot_tpl_text_t *tt = t->text[c->lang][c->variant];
    if (!tt) tt = t->text[c->lang][BOT_VARIANT_TEXT];
    for (int i = 0; i < tt->n; i++) {
        const bot_tpl_part_t *p = &tt->parts[i];
        if (!p->is_var)
            sb_add(b, p->lit);
        else if (!render_var(c, p->var, b))
            return false;
    }
    return true;
}

char *bot_render(const bot_render_ctx_t *ctx, int tpl) {
    if (tpl < 0 || tpl >= ctx->flow->ntpls) return NULL;
    sb_t b = {0};
    if (!render_tpl(ctx, tpl, &b)) {
        free(b.p);
        return NULL;
    }
    return sb_take(&b);
}

char *bot_render_link(const bot_render_ctx_t *c) {
    const bot_tpl_text_t *t = c->flow->rules.payment_link;
    if (!t || !c->verified) return NULL;
    sb_t b = {0};
    char num[32];
    for (int i = 0; i < t->n; i++) {
        const bot_tpl_part_t *p = &t->parts[i];
        if (!p->is_var) {
            sb_add(&b, p->lit);
            continue;
        }
        switch (p->var) {
        case BOT_V_DEBTOR_ID:
            url_escape(&b, c->debtor->debtor_id);
            break;
        case BOT_V_TOKEN:
            url_escape(&b, c->debtor->payment_token);
            break;
        case BOT_V_CURRENCY:
            url_escape(&b, c->debtor->currency);
            break;
        case BOT_V_AMOUNT_CENTS:
            snprintf(num, sizeof num, "%lld",
                     (long long)(c->has_amount ? c->amount_cents : c->debtor->balance_cents));
            sb_add(&b, num);
            break;
        default:
            break;
        }
    }
    return sb_take(&b);
}

char *hilo_bot_payment_link(const hilo_flow_t *flow, const hilo_bot_debtor_t *debtor, int64_t amount_cents) {
    if (!flow || !debtor) return NULL;
    bot_render_ctx_t c = {.flow = flow, .verified = true, .debtor = debtor, .step = -1,
                          .has_amount = amount_cents > 0, .amount_cents = amount_cents};
    return bot_render_link(&c);
}
