/* match.c — who is in which strategy, segment and variant, and who is stopped and why (see
 * strategy.h). Facts come through the caller's field getter: no I/O here. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hilo/common.h"
#include "strategy_int.h"

static const char *fact(const hilo_strategy_facts_t *f, const void *rec, const char *field) {
    return rec ? f->get(rec, field) : NULL;
}

/* A flag field is set when present, non-empty and not "0". */
static bool flag(const char *v) { return v && *v && strcmp(v, "0") != 0; }

/* ---- the ledger ------------------------------------------------------------------------------ */

void hilo_strategy_ledger_promise(hilo_strategy_ledger_t *l, const char *json, size_t len) {
    json_t *j = json_loadb(json, len, 0, NULL);
    if (!json_is_object(j)) goto out;
    const char *kind = json_string_value(json_object_get(j, "kind"));
    const char *state = json_string_value(json_object_get(j, "state"));
    if (!kind || strcmp(kind, "promise") != 0 || !state) goto out; /* a plan counts by its instalments */
    if (strcmp(state, "pending") == 0) {
        l->pending++;
        const char *due = json_string_value(json_object_get(j, "due"));
        if (due && strlen(due) == 10 && (!l->next_due[0] || strcmp(due, l->next_due) < 0)) {
            memcpy(l->next_due, due, 11);
            l->next_amount_cents = json_integer_value(json_object_get(j, "amount_cents"));
        }
    } else if (strcmp(state, "broken") == 0) {
        l->broken++;
    }
out:
    json_decref(j);
}

void hilo_strategy_ledger_payment(hilo_strategy_ledger_t *l, const char *json, size_t len, const char *currency,
                                  int64_t since_ms) {
    json_t *j = json_loadb(json, len, 0, NULL);
    const char *cur = json_string_value(json_object_get(j, "currency"));
    json_int_t amount = json_integer_value(json_object_get(j, "amount_cents"));
    json_int_t imported = json_integer_value(json_object_get(j, "imported_ms"));
    if (cur && currency && strcmp(cur, currency) == 0 && amount > 0 && imported > since_ms)
        l->paid_cents += amount;
    json_decref(j);
}

/* ---- conditions ------------------------------------------------------------------------------ */

/* "1250.50" -> cents; false when not a plain decimal. */
static bool money_cents(const char *s, int64_t *out) {
    if (!s || !*s) return false;
    bool neg = *s == '-';
    if (neg) s++;
    int64_t v = 0;
    int dec = -1;
    for (; *s; s++) {
        if (*s == '.' && dec < 0) dec = 0;
        else if (isdigit((unsigned char)*s) && dec < 2 && v < INT64_MAX / 100) {
            v = v * 10 + (*s - '0');
            if (dec >= 0) dec++;
        } else return false;
    }
    for (; dec < 2; dec = dec < 0 ? 1 : dec + 1) v *= 10;
    *out = neg ? -v : v;
    return true;
}

static bool int_of(const char *s, int64_t *out) {
    if (!s || !isdigit((unsigned char)*s)) return false;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end) return false;
    *out = v;
    return true;
}

static bool in_ranges(const st_ranges_t *r, int64_t v) {
    for (int i = 0; i < r->n; i++)
        if (v >= r->lo[i] && v <= r->hi[i]) return true;
    return false;
}

static const char *debtor_attr(const hilo_strategy_facts_t *f, const char *name) {
    char field[160];
    snprintf(field, sizeof field, "attr:%s", name);
    return fact(f, f->debtor, field);
}

static int promise_state(const hilo_strategy_facts_t *f) {
    if (f->ledger.pending) return ST_PROMISE_ACTIVE;
    int64_t broken = 0;
    if ((int_of(fact(f, f->conv, "broken_promises"), &broken) && broken > 0) || f->ledger.broken) return ST_PROMISE_BROKEN;
    return ST_PROMISE_NONE;
}

static bool verified(const hilo_strategy_facts_t *f) { return flag(fact(f, f->conv, "verified_ms")); }

static bool segment_matches(const hilo_strategy_segment_t *g, const hilo_strategy_facts_t *f) {
    int64_t v;
    if (g->dpd.n && !(int_of(fact(f, f->debtor, "days_past_due"), &v) && in_ranges(&g->dpd, v))) return false;
    if (g->nbalance) {
        const char *cur = fact(f, f->debtor, "currency");
        bool ok = false;
        for (int i = 0; cur && i < g->nbalance && !ok; i++)
            ok = strcmp(g->balance[i].cur, cur) == 0 && money_cents(fact(f, f->debtor, "balance"), &v) &&
                 in_ranges(&g->balance[i].cents, v);
        if (!ok) return false;
    }
    if (g->product.n) {
        const char *p = fact(f, f->debtor, "product");
        if (!p) p = debtor_attr(f, "product");
        if (!st_words_has(&g->product, p)) return false;
    }
    if (g->country.n) {
        const char *c = fact(f, f->debtor, "country");
        char cc[3] = "";
        if (c && strlen(c) == 2) cc[0] = (char)toupper((unsigned char)c[0]), cc[1] = (char)toupper((unsigned char)c[1]);
        if (!st_words_has(&g->country, cc)) return false;
    }
    if (g->language.n) {
        const char *l = fact(f, f->debtor, "language");
        char lang[16] = "";
        if (l) snprintf(lang, sizeof lang, "%.*s", (int)strcspn(l, "-_"), l);
        if (!st_words_has(&g->language, lang)) return false;
    }
    for (int i = 0; i < g->nattrs; i++) {
        const char *a = debtor_attr(f, g->attrs[i].name);
        bool empty = !a || !*a;
        const st_words_t *w = &g->attrs[i].values;
        if (!(empty ? st_words_has(w, "-") : st_words_has(w, "*") || st_words_has(w, a))) return false;
    }
    if (g->promise && !(g->promise & (unsigned)promise_state(f))) return false;
    if (g->broken.n) {
        int64_t b = 0;
        if (!int_of(fact(f, f->conv, "broken_promises"), &b)) b = f->ledger.broken;
        if (!in_ranges(&g->broken, b)) return false;
    }
    if (g->last_result.n) {
        const char *r = fact(f, f->conv, HILO_CONV_LAST_RESULT);
        if (!st_words_has(&g->last_result, r && *r ? r : "none")) return false;
    }
    if (g->verified >= 0 && verified(f) != (g->verified == 1)) return false;
    return true;
}

/* ---- stops ----------------------------------------------------------------------------------- */

/* The code of the conversation's last disposition (conv `disposition`, JSON), into buf. */
static const char *disposition_code(const hilo_strategy_facts_t *f, char *buf, size_t n) {
    const char *d = fact(f, f->conv, "disposition");
    buf[0] = '\0';
    if (!d || !*d) return buf;
    json_t *j = json_loads(d, 0, NULL);
    const char *code = json_string_value(json_object_get(j, "code"));
    if (code) snprintf(buf, n, "%s", code);
    json_decref(j);
    return buf;
}

static hilo_strategy_excl_t universal_stop(const hilo_strategy_facts_t *f) {
    int64_t balance;
    if (money_cents(fact(f, f->debtor, "balance"), &balance) && (balance <= 0 || f->ledger.paid_cents >= balance))
        return HILO_EXCL_PAID;
    if (f->ledger.pending) return HILO_EXCL_PROMISE; /* resumes once the promise breaks */
    char code[32];
    disposition_code(f, code, sizeof code);
    const char *esc = fact(f, f->conv, "esc_reason");
    if (flag(fact(f, f->conv, HILO_CONV_DISPUTE)) || (esc && strcmp(esc, "dispute") == 0) || strcmp(code, "dispute") == 0)
        return HILO_EXCL_DISPUTE;
    if (flag(fact(f, f->conv, HILO_CONV_HARDSHIP)) || (esc && strcmp(esc, "hardship") == 0)) return HILO_EXCL_HARDSHIP;
    if (flag(fact(f, f->conv, "dnc")) || flag(fact(f, f->conv, HILO_CONV_CEASE))) return HILO_EXCL_CEASE;
    if ((esc && strcmp(esc, "wrong_number") == 0) || strcmp(code, "wrong_party") == 0) return HILO_EXCL_WRONG_NUMBER;
    const char *state = fact(f, f->conv, "state");
    if (state && (strcmp(state, "queued") == 0 || strcmp(state, "assigned") == 0)) return HILO_EXCL_AGENT;
    return HILO_EXCL_NONE;
}

bool hilo_strategy_channel_usable(const hilo_strategy_t *st, const hilo_compliance_t *gate,
                                  const hilo_strategy_facts_t *f, int ch, hilo_strategy_excl_t *why, char *phone,
                                  size_t phonelen) {
    char field[128];
    snprintf(field, sizeof field, "optout:%s", hilo_channel_name(ch));
    if (flag(fact(f, f->conv, field))) {
        *why = HILO_EXCL_OPTED_OUT;
        return false;
    }
    bool need_consent = st->consent[ch];
    hilo_pack_rules_t rules;
    if (gate && hilo_compliance_pack_rules(gate, fact(f, f->debtor, "country"), &rules)) need_consent |= rules.consent[ch];
    const char *phones = fact(f, f->debtor, "phones");
    bool any = false, wrong = false, consent_missing = false;
    for (const char *p = phones; p && *p;) {
        size_t n = strcspn(p, ";");
        char ph[64];
        if (n > 0 && n < sizeof ph) {
            memcpy(ph, p, n);
            ph[n] = '\0';
            any = true;
            snprintf(field, sizeof field, HILO_CONV_WRONG_PREFIX "%s", ph);
            if (flag(fact(f, f->conv, field))) {
                wrong = true;
            } else {
                bool ok = true;
                if (need_consent) {
                    snprintf(field, sizeof field, "%s:%s", hilo_channel_name(ch), ph);
                    const char *c = fact(f, f->consent, field);
                    ok = c && strncmp(c, "granted|", 8) == 0;
                    consent_missing |= !ok;
                }
                if (ok) {
                    if (phone) snprintf(phone, phonelen, "%s", ph);
                    return true;
                }
            }
        }
        p += n;
        if (*p == ';') p++;
    }
    *why = consent_missing ? HILO_EXCL_NO_CONSENT : wrong ? HILO_EXCL_WRONG_NUMBER : HILO_EXCL_NO_PHONE;
    (void)any;
    return false;
}

static bool attr_set(const char *v) {
    return v && *v && strcmp(v, "0") != 0 && strcasecmp(v, "no") != 0 && strcasecmp(v, "false") != 0;
}

bool hilo_strategy_match(const hilo_strategy_set_t *set, const hilo_compliance_t *gate,
                         const hilo_strategy_facts_t *f, hilo_strategy_match_t *out) {
    memset(out, 0, sizeof *out);
    out->excluded = universal_stop(f);
    if (out->excluded != HILO_EXCL_NONE) return false;
    for (size_t i = 0; i < set->n && !out->strategy; i++) {
        const hilo_strategy_t *st = set->st[i];
        if (st->state == HILO_STRATEGY_DRAFT) continue;
        for (int g = 0; g < st->nsegments; g++)
            if (segment_matches(&st->segments[g], f)) {
                out->strategy = st;
                out->segment = &st->segments[g];
                break;
            }
    }
    if (!out->strategy) {
        out->excluded = HILO_EXCL_NO_SEGMENT;
        return false;
    }
    const hilo_strategy_t *st = out->strategy;
    const char *stored = fact(f, f->conv, HILO_CONV_VARIANT);
    char vname[HILO_STRATEGY_NAME_MAX + 1] = "";
    size_t sl = strlen(st->name);
    if (stored && strncmp(stored, st->name, sl) == 0 && stored[sl] == '|')
        snprintf(vname, sizeof vname, "%s", stored + sl + 1);
    out->variant = hilo_strategy_variant_of(st, f->debtor_id ? f->debtor_id : "", vname);
    for (int i = 0; i < st->stop_attrs.n; i++)
        if (attr_set(debtor_attr(f, st->stop_attrs.v[i]))) {
            out->excluded = HILO_EXCL_ATTRIBUTE;
            snprintf(out->detail, sizeof out->detail, "%s", st->stop_attrs.v[i]);
            return false;
        }
    /* The channels of the segment's steps (for the debtor's variant): one usable is enough. */
    const hilo_strategy_segment_t *g = out->segment;
    bool used[HILO_CHANNEL_MAX] = {false}, all_optout = true;
    hilo_strategy_excl_t first = HILO_EXCL_NONE;
    for (int i = 0; i < g->nsteps[out->variant]; i++) {
        const hilo_strategy_step_t *sp = &st->steps[g->steps[out->variant][i]];
        used[sp->channel] = true;
        for (int ch = 1; ch < HILO_CHANNEL_MAX; ch++) /* a `channel = best` step: every candidate */
            if ((sp->optimize & HILO_STRATEGY_OPT_CHANNEL) && (sp->channels & (1u << ch))) used[ch] = true;
    }
    for (int ch = 1; ch < HILO_CHANNEL_MAX; ch++) {
        if (!used[ch]) continue;
        hilo_strategy_excl_t why = HILO_EXCL_NONE;
        if (hilo_strategy_channel_usable(st, gate, f, ch, &why, NULL, 0)) {
            if (st->state == HILO_STRATEGY_PAUSED) {
                out->excluded = HILO_EXCL_PAUSED;
                return false;
            }
            return true;
        }
        all_optout &= why == HILO_EXCL_OPTED_OUT;
        if (first == HILO_EXCL_NONE || why == HILO_EXCL_NO_CONSENT) first = why;
    }
    out->excluded = all_optout ? HILO_EXCL_OPTED_OUT : first;
    return false;
}
