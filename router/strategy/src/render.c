/* render.c — the variables a strategy template may use (the one list of disclosure variables)
 * and rendering a step's text for one debtor (see strategy.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/buf.h"
#include "hilo/common.h"
#include "strategy_int.h"

/* Disclosure = anything that tells a third party (a reassigned number's new owner, a relative
 * reading the phone) that this person owes money or who is being sought: the debt, its amounts
 * and dates, the product, the payment link, and the debtor's name (the bot's flow treats the
 * name as private too, docs/bot-flow.md). Imported attributes are unknown to us: disclosure. */
const hilo_strategy_var_t hilo_strategy_vars[] = {
    {"company", false, "[strategy] company: a business name that does not say debt collection"},
    {"callback_phone", false, "[strategy] callback_phone: the number to call back"},
    {"first_name", true, "the debtor's first name (first word of full_name)"},
    {"full_name", true, "the debtor's full name"},
    {"balance", true, "the balance with its currency, in the debtor's language's format"},
    {"currency", true, "the balance's currency (ISO 4217)"},
    {"days_past_due", true, "days past due"},
    {"product", true, "the product (portfolio column product)"},
    {"due_date", true, "the next pending promise's due date (YYYY-MM-DD), else attribute due_date"},
    {"promise_amount", true, "the next pending promise's amount with its currency"},
    {"payment_link", true, "[strategy] payment_link with {debtor_id} and {token} (attribute payment_token)"},
    {"attr.", true, "attr.<name>: any imported column kept as attribute <name>"},
};
const size_t hilo_strategy_nvars = HILO_ARRAY_LEN(hilo_strategy_vars);

bool hilo_strategy_var_disclosure(const char *name) {
    if (strncmp(name, "attr.", 5) == 0) return true;
    for (size_t i = 0; i < hilo_strategy_nvars; i++)
        if (strcmp(hilo_strategy_vars[i].name, name) == 0) return hilo_strategy_vars[i].disclosure;
    return true;
}

static const char *fact(const hilo_strategy_facts_t *f, const void *rec, const char *field) {
    return rec ? f->get(rec, field) : NULL;
}

/* 123456 -> "1,234.56" (en and others) or "1.234,56" (es). */
static void money(int64_t cents, const char *lang, char *out, size_t n) {
    bool es = lang && strncmp(lang, "es", 2) == 0;
    char sep = es ? '.' : ',', dec = es ? ',' : '.';
    bool neg = cents < 0;
    uint64_t v = neg ? (uint64_t)(-(cents + 1)) + 1 : (uint64_t)cents;
    char digits[32];
    int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)(v / 100));
    char body[48];
    int k = 0;
    for (int i = 0; i < nd; i++) {
        if (i && (nd - i) % 3 == 0) body[k++] = sep;
        body[k++] = digits[i];
    }
    body[k] = '\0';
    snprintf(out, n, "%s%s%c%02u", neg ? "-" : "", body, dec, (unsigned)(v % 100));
}

static int64_t cents_of(const char *s, bool *ok) {
    *ok = false;
    if (!s || !*s) return 0;
    int64_t v = 0;
    int dec = -1;
    for (const char *p = s; *p; p++) {
        if (*p == '.' && dec < 0) dec = 0;
        else if (isdigit((unsigned char)*p) && dec < 2 && v < INT64_MAX / 100) {
            v = v * 10 + (*p - '0');
            if (dec >= 0) dec++;
        } else return 0;
    }
    for (; dec < 2; dec = dec < 0 ? 1 : dec + 1) v *= 10;
    *ok = true;
    return v;
}

/* The value of {name} into buf; false when it has none. */
static bool var_value(const hilo_strategy_t *st, const hilo_strategy_facts_t *f, const char *lang, const char *name,
                      hilo_buf_t *b) {
    const char *v = NULL;
    char tmp[96];
    if (strcmp(name, "company") == 0) v = st->company;
    else if (strcmp(name, "callback_phone") == 0) v = st->callback_phone;
    else if (strcmp(name, "full_name") == 0) v = fact(f, f->debtor, "full_name");
    else if (strcmp(name, "first_name") == 0) {
        const char *full = fact(f, f->debtor, "full_name");
        if (!full || !*full) return false;
        size_t n = strcspn(full, " \t");
        hilo_buf_append(b, full, n);
        return true;
    } else if (strcmp(name, "currency") == 0) v = fact(f, f->debtor, "currency");
    else if (strcmp(name, "days_past_due") == 0) v = fact(f, f->debtor, "days_past_due");
    else if (strcmp(name, "product") == 0) {
        v = fact(f, f->debtor, "product");
        if (!v) v = fact(f, f->debtor, "attr:product");
    } else if (strcmp(name, "balance") == 0 || strcmp(name, "promise_amount") == 0) {
        const char *cur = fact(f, f->debtor, "currency");
        bool ok = true;
        int64_t c = name[0] == 'b' ? cents_of(fact(f, f->debtor, "balance"), &ok) : f->ledger.next_amount_cents;
        if (!ok || !cur || (name[0] == 'p' && !f->ledger.next_due[0])) return false;
        money(c, lang, tmp, sizeof tmp);
        hilo_buf_printf(b, "%s %s", tmp, cur);
        return true;
    } else if (strcmp(name, "due_date") == 0) {
        v = f->ledger.next_due[0] ? f->ledger.next_due : fact(f, f->debtor, "attr:due_date");
    } else if (strcmp(name, "payment_link") == 0) {
        const char *tpl = st->payment_link, *token = fact(f, f->debtor, "attr:payment_token");
        if (!tpl) return false;
        for (const char *p = tpl; *p;) {
            if (strncmp(p, "{debtor_id}", 11) == 0) {
                if (!f->debtor_id) return false;
                hilo_buf_append(b, f->debtor_id, strlen(f->debtor_id));
                p += 11;
            } else if (strncmp(p, "{token}", 7) == 0) {
                if (!token || !*token) return false;
                hilo_buf_append(b, token, strlen(token));
                p += 7;
            } else {
                hilo_buf_append(b, p++, 1);
            }
        }
        return true;
    } else if (strncmp(name, "attr.", 5) == 0) {
        char field[160];
        snprintf(field, sizeof field, "attr:%s", name + 5);
        v = fact(f, f->debtor, field);
    }
    if (!v || !*v) return false;
    hilo_buf_append(b, v, strlen(v));
    return true;
}

/* The text for lang and variant: the variant's own, else the step's, else the default language's. */
static const st_text_t *pick_text(const hilo_strategy_t *st, const hilo_strategy_step_t *step, int variant,
                                  const char *lang) {
    const st_text_t *best = NULL;
    for (int pass = 0; pass < 2 && !best; pass++) {
        const char *l = pass == 0 ? lang : st->default_language;
        for (int i = 0; l && i < step->ntexts; i++) {
            const st_text_t *t = &step->texts[i];
            if (strcmp(t->lang, l) != 0) continue;
            if (t->variant == variant) return t;
            if (t->variant < 0) best = t;
        }
    }
    return best;
}

/* The text render() uses for the debtor: the debtor's language, else the default one. */
static const st_text_t *debtor_text(const hilo_strategy_t *st, const hilo_strategy_step_t *step, int variant,
                                    const hilo_strategy_facts_t *f) {
    const char *dl = fact(f, f->debtor, "language");
    char lang[16] = "";
    if (dl) snprintf(lang, sizeof lang, "%.*s", (int)strcspn(dl, "-_"), dl);
    return pick_text(st, step, variant, lang);
}

const char *hilo_strategy_text_language(const hilo_strategy_t *st, const hilo_strategy_step_t *step, int variant,
                                        const hilo_strategy_facts_t *f) {
    const st_text_t *t = debtor_text(st, step, variant, f);
    return t ? t->lang : NULL;
}

int hilo_strategy_render(const hilo_strategy_t *st, const hilo_strategy_step_t *step, int variant,
                         const hilo_strategy_facts_t *f, char **out, char *why, size_t whylen) {
    *out = NULL;
    const st_text_t *t = debtor_text(st, step, variant, f);
    if (!t) {
        snprintf(why, whylen, "step %s has no text", step->name);
        return HILO_ERR;
    }
    const char *vms = fact(f, f->conv, "verified_ms");
    if (t->disclosure && !(vms && *vms && strcmp(vms, "0") != 0)) {
        snprintf(why, whylen, "step %s discloses debt detail and the debtor is not verified", step->name);
        return HILO_ERR;
    }
    hilo_buf_t b = HILO_BUF_INIT;
    for (int i = 0; i < t->nparts; i++) {
        if (!t->parts[i].var) {
            hilo_buf_append(&b, t->parts[i].s, strlen(t->parts[i].s));
        } else if (!var_value(st, f, t->lang, t->parts[i].s, &b)) {
            snprintf(why, whylen, "step %s: no value for {%s}", step->name, t->parts[i].s);
            hilo_buf_free(&b);
            return HILO_ERR;
        }
    }
    *out = hilo_xstrndup(b.data ? b.data : "", b.len);
    hilo_buf_free(&b);
    return HILO_OK;
}
