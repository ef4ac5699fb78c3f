/* load.c — strategy files: from sections (hilo/sections.h) to the loaded form (strategy_int.h),
 * with every syntax and reference error as FILE:LINE: reason. The checks that need the rule
 * packs or look across steps (privacy, notices) are check.c's. */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/sections.h"
#include "strategy_int.h"

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
    hilo_strategy_t *st;
    hilo_sect_doc_t doc;
} ld_t;

__attribute__((format(printf, 3, 4))) static int fail(ld_t *L, int line, const char *fmt, ...) {
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(L->err, L->errlen, "%s:%d: %s", L->file, line, why);
    return HILO_ERR;
}

static hilo_sect_kv_t *kv_get(hilo_sect_t *s, const char *key) {
    hilo_sect_kv_t *found = NULL;
    for (int i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0) {
            s->kv[i].used = true;
            if (!found) found = &s->kv[i];
        }
    return found;
}

/* ---- values ------------------------------------------------------------------------------- */

static bool name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > HILO_STRATEGY_NAME_MAX) return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_' && *s != '-') return false;
    return true;
}

static void words_free(st_words_t *w) {
    for (int i = 0; i < w->n; i++) free(w->v[i]);
    free(w->v);
    memset(w, 0, sizeof *w);
}

bool st_words_has(const st_words_t *w, const char *s) {
    for (int i = 0; s && i < w->n; i++)
        if (strcmp(w->v[i], s) == 0) return true;
    return false;
}

/* Blank- or comma-separated words; duplicates refused. */
static int parse_words(ld_t *L, const hilo_sect_kv_t *kv, st_words_t *out) {
    words_free(out);
    char *copy = hilo_xstrdup(kv->value), *save = NULL;
    for (char *t = strtok_r(copy, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
        if (st_words_has(out, t)) {
            free(copy);
            return fail(L, kv->line, "%s: '%s' given twice", kv->key, t);
        }
        out->v = hilo_xrealloc(out->v, (size_t)(out->n + 1) * sizeof *out->v);
        out->v[out->n++] = hilo_xstrdup(t);
    }
    free(copy);
    if (out->n == 0) return fail(L, kv->line, "%s: empty list", kv->key);
    return HILO_OK;
}

/* "0", or a number with ms, s, m, h or d (at most a year). */
static int parse_duration(ld_t *L, const hilo_sect_kv_t *kv, bool zero_ok, int64_t *ms) {
    const char *s = kv->value;
    if (zero_ok && strcmp(s, "0") == 0) {
        *ms = 0;
        return HILO_OK;
    }
    char *end;
    long long v = isdigit((unsigned char)*s) ? strtoll(s, &end, 10) : -1;
    int64_t unit = 0;
    if (v >= 0) {
        if (strcmp(end, "ms") == 0) unit = 1;
        else if (strcmp(end, "s") == 0) unit = 1000;
        else if (strcmp(end, "m") == 0) unit = 60000;
        else if (strcmp(end, "h") == 0) unit = 3600000;
        else if (strcmp(end, "d") == 0) unit = 86400000;
    }
    if (!unit || v <= 0 || v > 366LL * 86400000 / unit)
        return fail(L, kv->line, "%s: bad duration '%s' (a positive number with ms, s, m, h or d, at most a year%s)",
                    kv->key, s, zero_ok ? "; or 0" : "");
    *ms = v * unit;
    return HILO_OK;
}

static int parse_long(ld_t *L, const hilo_sect_kv_t *kv, long min, long max, long *out) {
    char *end;
    long v = isdigit((unsigned char)kv->value[0]) ? strtol(kv->value, &end, 10) : min - 1;
    if (v < min || v > max || *end)
        return fail(L, kv->line, "%s: want a whole number from %ld to %ld, got '%s'", kv->key, min, max, kv->value);
    *out = v;
    return HILO_OK;
}

/* "12.50" -> 1250 (at most 2 decimals), or -1. */
static int64_t parse_money(const char *s, size_t n) {
    int64_t v = 0;
    size_t i = 0;
    if (n == 0 || n > 15) return -1;
    for (; i < n && isdigit((unsigned char)s[i]); i++) v = v * 10 + (s[i] - '0');
    if (i == 0) return -1;
    int dec = 0;
    if (i < n && s[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)s[i]) && dec < 2; i++, dec++) v = v * 10 + (s[i] - '0');
        if (dec == 0) return -1;
    }
    if (i != n) return -1;
    for (; dec < 2; dec++) v *= 10;
    return v;
}

static int64_t parse_int_part(const char *s, size_t n) {
    if (n == 0 || n > 9) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "1-30 61-90", "180-" (open end), "0" (one value); money: "50-5000.00". */
static int parse_ranges(ld_t *L, const hilo_sect_kv_t *kv, bool money, st_ranges_t *out) {
    memset(out, 0, sizeof *out);
    char *copy = hilo_xstrdup(kv->value), *save = NULL;
    int rc = HILO_OK;
    for (char *t = strtok_r(copy, " ,\t", &save); t && rc == HILO_OK; t = strtok_r(NULL, " ,\t", &save)) {
        char *dash = strchr(t, '-');
        size_t la = dash ? (size_t)(dash - t) : strlen(t);
        int64_t lo = money ? parse_money(t, la) : parse_int_part(t, la);
        int64_t hi = lo;
        if (dash) hi = dash[1] ? (money ? parse_money(dash + 1, strlen(dash + 1)) : parse_int_part(dash + 1, strlen(dash + 1)))
                               : INT64_MAX;
        if (lo < 0 || hi < 0 || hi < lo)
            rc = fail(L, kv->line, "%s: bad range '%s' (want N, N-M or N-, e.g. %s)", kv->key, t,
                      money ? "50-5000.00" : "1-30 or 181-");
        else if (out->n == ST_RANGES)
            rc = fail(L, kv->line, "%s: more than %d ranges", kv->key, ST_RANGES);
        else {
            out->lo[out->n] = lo;
            out->hi[out->n++] = hi;
        }
    }
    free(copy);
    if (rc == HILO_OK && out->n == 0) rc = fail(L, kv->line, "%s: empty", kv->key);
    return rc;
}

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int day_index(const char *s, size_t n) {
    for (int i = 0; i < 7; i++)
        if (n == 3 && strncmp(s, day_names[i], 3) == 0) return i;
    return -1;
}

/* "mon-fri sat" -> bits (bit 0 = Sunday); a range runs Monday-first ("sat-sun" works). */
static int parse_days(ld_t *L, const hilo_sect_kv_t *kv, uint8_t *out) {
    static const int order[7] = {1, 2, 3, 4, 5, 6, 0}; /* Monday first */
    unsigned mask = 0;
    char *copy = hilo_xstrdup(kv->value), *save = NULL;
    int rc = HILO_OK;
    for (char *t = strtok_r(copy, " ,\t", &save); t && rc == HILO_OK; t = strtok_r(NULL, " ,\t", &save)) {
        char *dash = strchr(t, '-');
        int a = day_index(t, dash ? (size_t)(dash - t) : strlen(t)), b = dash ? day_index(dash + 1, strlen(dash + 1)) : a;
        int ia = -1, ib = -1;
        for (int i = 0; i < 7; i++) {
            if (order[i] == a) ia = i;
            if (order[i] == b) ib = i;
        }
        if (ia < 0 || ib < ia) {
            rc = fail(L, kv->line, "days: bad '%s' (mon, tue, ..., sun, or a range such as mon-fri)", t);
            break;
        }
        for (int i = ia; i <= ib; i++) mask |= 1u << order[i];
    }
    free(copy);
    if (rc == HILO_OK && !mask) rc = fail(L, kv->line, "days: empty");
    *out = (uint8_t)mask;
    return rc;
}


/* "09:00-12:00, 14:00-19:00". */
static int parse_hours(ld_t *L, const hilo_sect_kv_t *kv, hilo_strategy_step_t *step) {
    step->nspans = 0;
    char *copy = hilo_xstrdup(kv->value), *save = NULL;
    int rc = HILO_OK;
    for (char *t = strtok_r(copy, " ,\t", &save); t && rc == HILO_OK; t = strtok_r(NULL, " ,\t", &save)) {
        char *dash = strchr(t, '-');
        int from = dash ? hilo_tz_minutes(t, (size_t)(dash - t)) : -1;
        int to = from >= 0 ? hilo_tz_minutes(dash + 1, strlen(dash + 1)) : -1;
        if (from < 0 || to <= from || from >= 1440)
            rc = fail(L, kv->line, "hours: bad '%s' (want HH:MM-HH:MM, start before end, e.g. 09:00-19:00)", t);
        else if (step->nspans == ST_SPANS)
            rc = fail(L, kv->line, "hours: more than %d ranges", ST_SPANS);
        else if (step->nspans && from < step->spans[step->nspans - 1].to)
            rc = fail(L, kv->line, "hours: ranges overlap or are out of order");
        else
            step->spans[step->nspans++] = (st_span_t){(int16_t)from, (int16_t)to};
    }
    free(copy);
    if (rc == HILO_OK && step->nspans == 0) rc = fail(L, kv->line, "hours: empty");
    return rc;
}

static int parse_cap(ld_t *L, const hilo_sect_kv_t *kv, hilo_cap_t *cap) {
    if (strcmp(kv->value, "none") == 0) {
        *cap = (hilo_cap_t){0, 0};
        return HILO_OK;
    }
    char *end;
    long n = isdigit((unsigned char)kv->value[0]) ? strtol(kv->value, &end, 10) : 0;
    if (n < 1 || n > 1000 || *end != '/')
        return fail(L, kv->line, "%s: bad cap '%s' (want <sends>/<window>, e.g. 3/7d, or none)", kv->key, kv->value);
    hilo_sect_kv_t w = {.key = kv->key, .value = end + 1, .line = kv->line};
    cap->limit = (int)n;
    return parse_duration(L, &w, false, &cap->window_ms);
}

/* ---- templates ---------------------------------------------------------------------------- */

static bool var_name_ok(const char *s) {
    if (strncmp(s, "attr.", 5) == 0) {
        s += 5;
        if (!*s) return false;
        for (; *s; s++)
            if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return false;
        return true;
    }
    for (size_t i = 0; i < hilo_strategy_nvars; i++)
        if (strcmp(hilo_strategy_vars[i].name, s) == 0) return true;
    return false;
}

static void add_part(st_text_t *t, bool var, const char *s, size_t n) {
    if (!var && n == 0) return;
    t->parts = hilo_xrealloc(t->parts, (size_t)(t->nparts + 1) * sizeof *t->parts);
    t->parts[t->nparts++] = (st_part_t){var, hilo_xstrndup(s, n)};
}

/* Literal text and {variables}; "{{" and "}}" are braces, "\n" a new line. */
static int compile_text(ld_t *L, const hilo_sect_kv_t *kv, st_text_t *t) {
    const char *s = kv->value;
    char *lit = hilo_xmalloc(strlen(s) + 1);
    size_t nl = 0;
    int rc = HILO_OK;
    if (!*s) rc = fail(L, kv->line, "%s: empty text", kv->key);
    for (size_t i = 0; s[i] && rc == HILO_OK; i++) {
        if ((s[i] == '{' && s[i + 1] == '{') || (s[i] == '}' && s[i + 1] == '}')) {
            lit[nl++] = s[i++];
        } else if (s[i] == '\\' && s[i + 1] == 'n') {
            lit[nl++] = '\n';
            i++;
        } else if (s[i] == '{') {
            const char *close = strchr(s + i, '}');
            char name[80];
            size_t vn = close ? (size_t)(close - s - i - 1) : 0;
            if (!close || vn == 0 || vn >= sizeof name) {
                rc = fail(L, kv->line, "%s: '{' without a variable name and '}' (write {{ for a brace)", kv->key);
                break;
            }
            memcpy(name, s + i + 1, vn);
            name[vn] = '\0';
            if (!var_name_ok(name)) {
                rc = fail(L, kv->line, "%s: unknown variable {%s} (docs/strategies.md lists them)", kv->key, name);
                break;
            }
            add_part(t, false, lit, nl);
            nl = 0;
            add_part(t, true, name, vn);
            if (hilo_strategy_var_disclosure(name)) t->disclosure = true;
            i += vn + 1;
        } else if (s[i] == '}') {
            rc = fail(L, kv->line, "%s: '}' without '{' (write }} for a brace)", kv->key);
        } else {
            lit[nl++] = s[i];
        }
    }
    if (rc == HILO_OK) add_part(t, false, lit, nl);
    free(lit);
    return rc;
}

/* ---- sections ----------------------------------------------------------------------------- */

static int find_variant(const hilo_strategy_t *st, const char *name) {
    for (int i = 0; i < st->nvariants; i++)
        if (strcmp(st->variants[i].name, name) == 0) return i;
    return -1;
}

static int find_step(const hilo_strategy_t *st, const char *name) {
    for (int i = 0; i < st->nsteps; i++)
        if (strcmp(st->steps[i].name, name) == 0) return i;
    return -1;
}

static int load_strategy(ld_t *L, hilo_sect_t *s) {
    hilo_strategy_t *st = L->st;
    hilo_sect_kv_t *kv;
    st->line = s->line;
    if (!(kv = kv_get(s, "name")) || !name_ok(kv->value))
        return fail(L, kv ? kv->line : s->line, "[strategy] needs name = <lower-case letters, digits, '_', '-'>");
    st->name = hilo_xstrdup(kv->value);
    long v;
    if (!(kv = kv_get(s, "priority"))) return fail(L, s->line, "[strategy] needs priority = 1..1000 (highest first)");
    if (parse_long(L, kv, 1, 1000, &v)) return HILO_ERR;
    st->priority = (int)v;
    st->state = HILO_STRATEGY_PAUSED;
    if ((kv = kv_get(s, "state"))) {
        if (strcmp(kv->value, "active") == 0) st->state = HILO_STRATEGY_ACTIVE;
        else if (strcmp(kv->value, "paused") == 0) st->state = HILO_STRATEGY_PAUSED;
        else if (strcmp(kv->value, "draft") == 0) st->state = HILO_STRATEGY_DRAFT;
        else return fail(L, kv->line, "state: want active, paused or draft, got '%s'", kv->value);
    }
    if (!(kv = kv_get(s, "languages"))) return fail(L, s->line, "[strategy] needs languages = es en ...");
    if (parse_words(L, kv, &st->languages)) return HILO_ERR;
    for (int i = 0; i < st->languages.n; i++) {
        size_t n = strlen(st->languages.v[i]);
        if (n < 2 || n > 7) return fail(L, kv->line, "languages: '%s' is not a language code", st->languages.v[i]);
    }
    st->default_language = hilo_xstrdup(st->languages.v[0]);
    if ((kv = kv_get(s, "default_language"))) {
        if (!st_words_has(&st->languages, kv->value))
            return fail(L, kv->line, "default_language '%s' is not one of languages", kv->value);
        free(st->default_language);
        st->default_language = hilo_xstrdup(kv->value);
    }
    if ((kv = kv_get(s, "company"))) st->company = hilo_xstrdup(kv->value);
    if ((kv = kv_get(s, "callback_phone"))) st->callback_phone = hilo_xstrdup(kv->value);
    if ((kv = kv_get(s, "payment_link"))) st->payment_link = hilo_xstrdup(kv->value);
    if ((kv = kv_get(s, "cap")) && parse_cap(L, kv, &st->caps[0])) return HILO_ERR;
    for (int ch = 1; ch < HILO_CHANNEL_MAX; ch++) {
        char key[32], ckey[32];
        snprintf(key, sizeof key, "cap.%s", hilo_channel_name(ch));
        if ((kv = kv_get(s, key)) && parse_cap(L, kv, &st->caps[ch])) return HILO_ERR;
        snprintf(ckey, sizeof ckey, "consent.%s", hilo_channel_name(ch));
        if ((kv = kv_get(s, ckey))) {
            if (strcmp(kv->value, "required") == 0) st->consent[ch] = true;
            else if (strcmp(kv->value, "none") != 0) return fail(L, kv->line, "%s: want required or none", ckey);
        }
    }
    if ((kv = kv_get(s, "daily_budget")) && parse_long(L, kv, 0, 100000000, &st->daily_budget)) return HILO_ERR;
    st->attribution_ms = 3LL * 86400000;
    if ((kv = kv_get(s, "attribution_window")) && parse_duration(L, kv, false, &st->attribution_ms)) return HILO_ERR;
    if ((kv = kv_get(s, "stop_attributes")) && parse_words(L, kv, &st->stop_attrs)) return HILO_ERR;
    return HILO_OK;
}

static int load_variant(ld_t *L, hilo_sect_t *s) {
    hilo_strategy_t *st = L->st;
    if (!name_ok(s->name)) return fail(L, s->line, "[variant NAME]: a name of lower-case letters, digits, '_', '-'");
    if (find_variant(st, s->name) >= 0) return fail(L, s->line, "variant '%s' defined twice", s->name);
    hilo_sect_kv_t *kv = kv_get(s, "share");
    long share;
    if (!kv) return fail(L, s->line, "[variant %s] needs share = 0..100 (percent)", s->name);
    if (parse_long(L, kv, 0, 100, &share)) return HILO_ERR;
    st->variants = hilo_xrealloc(st->variants, (size_t)(st->nvariants + 1) * sizeof *st->variants);
    st->variants[st->nvariants++] = (st_variant_t){hilo_xstrdup(s->name), (int)share, s->line};
    return HILO_OK;
}

static int load_step(ld_t *L, hilo_sect_t *s, hilo_strategy_step_t *step) {
    hilo_strategy_t *st = L->st;
    hilo_sect_kv_t *kv;
    step->segment = -1;
    step->days = 0x7f;
    step->spans[0] = (st_span_t){0, 1440};
    step->nspans = 1;
    step->st = st;
    if (!(kv = kv_get(s, "channel")))
        return fail(L, s->line, "[step %s] needs channel = whatsapp, sms or voice", s->name);
    hilo_sect_kv_t *cands = kv_get(s, "channels");
    if (strcmp(kv->value, "best") == 0) { /* the contact optimizer chooses among `channels` (best.c) */
        char why[160];
        if (!cands) return fail(L, kv->line, "channel = best needs channels = <two or more of whatsapp sms voice>");
        if (st_best_channels(cands->value, &step->channels, &step->channel, why, sizeof why))
            return fail(L, cands->line, "%s", why);
        step->optimize |= HILO_STRATEGY_OPT_CHANNEL;
    } else {
        step->channel = hilo_channel_parse(kv->value);
        /* voice: a call we place, saying the step's text, then the IVR (docs/strategies.md, "Calls"). */
        if (step->channel == HILO_CHANNEL_UNSPECIFIED)
            return fail(L, kv->line, "channel: want whatsapp, sms, voice or best, got '%s'", kv->value);
        if (cands) return fail(L, cands->line, "channels: only with channel = best");
        step->channels = 1u << step->channel;
    }
    kv = kv_get(s, "template");
    if (step->channels & (1u << HILO_CHANNEL_WHATSAPP)) {
        /* Outside the 24-hour window only an approved template may go out, and a strategy's
         * message is collector-initiated: every WhatsApp step names its template. */
        if (!kv) return fail(L, s->line, "[step %s] channel whatsapp needs template = <approved template name>", s->name);
        for (const char *c = kv->value; *c; c++)
            if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
                return fail(L, kv->line, "template: WhatsApp template names are lower-case letters, digits and '_'");
        if (!*kv->value || strlen(kv->value) > 512) return fail(L, kv->line, "template: empty or too long");
        step->template_name = hilo_xstrdup(kv->value);
    } else if (kv) {
        return fail(L, kv->line, "template: only WhatsApp steps have an approved template");
    }
    if ((kv = kv_get(s, "wait")) && parse_duration(L, kv, true, &step->wait_ms)) return HILO_ERR;
    if ((kv = kv_get(s, "within")) && parse_duration(L, kv, false, &step->within_ms)) return HILO_ERR;
    if ((kv = kv_get(s, "days")) && parse_days(L, kv, &step->days)) return HILO_ERR;
    if ((kv = kv_get(s, "hours"))) {
        bool best;
        hilo_sect_kv_t ranges = *kv;
        ranges.value = (char *)st_best_hours(kv->value, &best);
        if (best) step->optimize |= HILO_STRATEGY_OPT_HOURS;
        if (parse_hours(L, &ranges, step)) return HILO_ERR;
    }
    /* text.<lang> and text.<lang>.<variant>; on.<result>. */
    for (int i = 0; i < s->nkv; i++) {
        hilo_sect_kv_t *k = &s->kv[i];
        if (strncmp(k->key, "text.", 5) == 0) {
            k->used = true;
            char lang[16] = "", var[80] = "";
            const char *rest = k->key + 5, *dot = strchr(rest, '.');
            snprintf(lang, sizeof lang, "%.*s", dot ? (int)(dot - rest) : (int)strlen(rest), rest);
            if (dot) snprintf(var, sizeof var, "%s", dot + 1);
            if (!st_words_has(&st->languages, lang))
                return fail(L, k->line, "%s: '%s' is not one of the strategy's languages", k->key, lang);
            int v = -1;
            if (dot && (v = find_variant(st, var)) < 0)
                return fail(L, k->line, "%s: no [variant %s]", k->key, var);
            for (int j = 0; j < step->ntexts; j++)
                if (strcmp(step->texts[j].lang, lang) == 0 && step->texts[j].variant == v)
                    return fail(L, k->line, "%s given twice", k->key);
            step->texts = hilo_xrealloc(step->texts, (size_t)(step->ntexts + 1) * sizeof *step->texts);
            st_text_t *t = &step->texts[step->ntexts++];
            memset(t, 0, sizeof *t);
            snprintf(t->lang, sizeof t->lang, "%s", lang);
            t->variant = v;
            t->line = k->line;
            t->src = hilo_xstrdup(k->value);
            if (compile_text(L, k, t)) return HILO_ERR;
        } else if (strncmp(k->key, "on.", 3) == 0) {
            k->used = true;
            int r = hilo_strategy_result_parse(k->key + 3);
            if (r < 0)
                return fail(L, k->line, "%s: unknown result (sent, delivered, read, failed, replied, timeout, machine)",
                            k->key);
            if (r == HILO_RESULT_MACHINE && !(step->channels & (1u << HILO_CHANNEL_VOICE)))
                return fail(L, k->line, "%s: only a call (channel = voice) reaches a machine", k->key);
            if (step->on[r].kind != ST_ON_NONE) return fail(L, k->line, "%s given twice", k->key);
            step->on[r].line = k->line;
            if (strcmp(k->value, "next") == 0) step->on[r].kind = ST_ON_NEXT;
            else if (strcmp(k->value, "end") == 0) step->on[r].kind = ST_ON_END;
            else {
                step->on[r].kind = ST_ON_STEP;
                step->on[r].target = -1; /* resolved once every step is known */
            }
        }
    }
    if (step->ntexts == 0) return fail(L, s->line, "[step %s] has no text.<language> = ...", s->name);
    for (int i = 0; i < st->languages.n; i++) {
        bool found = false;
        for (int j = 0; j < step->ntexts && !found; j++)
            found = step->texts[j].variant < 0 && strcmp(step->texts[j].lang, st->languages.v[i]) == 0;
        if (!found) return fail(L, s->line, "[step %s] has no text.%s (every language of the strategy)", s->name,
                                st->languages.v[i]);
    }
    if (step->on[HILO_RESULT_TIMEOUT].kind != ST_ON_NONE && step->within_ms == 0)
        return fail(L, step->on[HILO_RESULT_TIMEOUT].line, "on.timeout needs within = <duration> in the step");
    if (step->within_ms && step->on[HILO_RESULT_TIMEOUT].kind == ST_ON_NONE)
        return fail(L, s->line, "[step %s] has within but no on.timeout", s->name);
    /* A step with no way forward would hold its debtors for ever: without any transition, it
     * goes on to the next step once sent (a plain cadence). */
    bool any = false;
    for (int r = 0; r < HILO_RESULT_COUNT; r++) any |= step->on[r].kind != ST_ON_NONE;
    if (!any) step->on[HILO_RESULT_SENT] = (st_on_t){ST_ON_NEXT, 0, s->line};
    return HILO_OK;
}

/* Step lists and transition targets, once every step is known. */
static int resolve_steps(ld_t *L, hilo_sect_t *s, hilo_strategy_segment_t *seg, hilo_sect_kv_t *kv, int v) {
    hilo_strategy_t *st = L->st;
    st_words_t w = {0};
    if (parse_words(L, kv, &w)) return HILO_ERR;
    seg->steps[v] = hilo_xcalloc((size_t)w.n, sizeof **seg->steps);
    seg->nsteps[v] = w.n;
    int rc = HILO_OK;
    for (int i = 0; i < w.n && rc == HILO_OK; i++) {
        int idx = find_step(st, w.v[i]);
        if (idx < 0) {
            rc = fail(L, kv->line, "%s: no [step %s]", kv->key, w.v[i]);
        } else if (st->steps[idx].segment >= 0 && st->steps[idx].segment != seg->index) {
            rc = fail(L, kv->line, "%s: step '%s' already belongs to segment '%s' (a step belongs to one segment)",
                      kv->key, w.v[i], st->segments[st->steps[idx].segment].name);
        } else {
            st->steps[idx].segment = seg->index;
            seg->steps[v][i] = idx;
        }
    }
    (void)s;
    words_free(&w);
    return rc;
}

static int load_segment(ld_t *L, hilo_sect_t *s, hilo_strategy_segment_t *seg) {
    hilo_strategy_t *st = L->st;
    hilo_sect_kv_t *kv;
    seg->verified = -1;
    seg->st = st;
    if ((kv = kv_get(s, "days_past_due")) && parse_ranges(L, kv, false, &seg->dpd)) return HILO_ERR;
    if ((kv = kv_get(s, "broken_promises")) && parse_ranges(L, kv, false, &seg->broken)) return HILO_ERR;
    if ((kv = kv_get(s, "product")) && parse_words(L, kv, &seg->product)) return HILO_ERR;
    if ((kv = kv_get(s, "country")) && parse_words(L, kv, &seg->country)) return HILO_ERR;
    for (int i = 0; i < seg->country.n; i++) {
        char *c = seg->country.v[i];
        if (strlen(c) != 2 || !isupper((unsigned char)c[0]) || !isupper((unsigned char)c[1]))
            return fail(L, kv->line, "country: '%s' is not an ISO 3166-1 alpha-2 code (US, CO, ...)", c);
    }
    if ((kv = kv_get(s, "language")) && parse_words(L, kv, &seg->language)) return HILO_ERR;
    if ((kv = kv_get(s, "last_result"))) {
        if (parse_words(L, kv, &seg->last_result)) return HILO_ERR;
        for (int i = 0; i < seg->last_result.n; i++)
            if (strcmp(seg->last_result.v[i], "none") != 0 && hilo_strategy_result_parse(seg->last_result.v[i]) < 0)
                return fail(L, kv->line, "last_result: '%s' (none, sent, delivered, read, failed, replied, timeout, machine)",
                            seg->last_result.v[i]);
    }
    if ((kv = kv_get(s, "promise"))) {
        st_words_t w = {0};
        if (parse_words(L, kv, &w)) return HILO_ERR;
        for (int i = 0; i < w.n; i++) {
            if (strcmp(w.v[i], "none") == 0) seg->promise |= ST_PROMISE_NONE;
            else if (strcmp(w.v[i], "active") == 0) seg->promise |= ST_PROMISE_ACTIVE;
            else if (strcmp(w.v[i], "broken") == 0) seg->promise |= ST_PROMISE_BROKEN;
            else {
                int line = kv->line;
                words_free(&w);
                return fail(L, line, "promise: want none, active or broken");
            }
        }
        words_free(&w);
    }
    if ((kv = kv_get(s, "verified"))) {
        if (strcmp(kv->value, "yes") == 0) seg->verified = 1;
        else if (strcmp(kv->value, "no") == 0) seg->verified = 0;
        else if (strcmp(kv->value, "any") != 0) return fail(L, kv->line, "verified: want yes, no or any");
    }
    for (int i = 0; i < s->nkv; i++) {
        hilo_sect_kv_t *k = &s->kv[i];
        if (strncmp(k->key, "balance.", 8) == 0) {
            k->used = true;
            const char *cur = k->key + 8;
            if (strlen(cur) != 3 || !isupper((unsigned char)cur[0]) || !isupper((unsigned char)cur[1]) ||
                !isupper((unsigned char)cur[2]))
                return fail(L, k->line, "%s: want balance.<ISO 4217 currency>, e.g. balance.USD", k->key);
            for (int j = 0; j < seg->nbalance; j++)
                if (strcmp(seg->balance[j].cur, cur) == 0) return fail(L, k->line, "%s given twice", k->key);
            seg->balance = hilo_xrealloc(seg->balance, (size_t)(seg->nbalance + 1) * sizeof *seg->balance);
            st_balance_t *b = &seg->balance[seg->nbalance++];
            memset(b, 0, sizeof *b);
            memcpy(b->cur, cur, 4);
            if (parse_ranges(L, k, true, &b->cents)) return HILO_ERR;
        } else if (strncmp(k->key, "attr.", 5) == 0) {
            k->used = true;
            if (!k->key[5]) return fail(L, k->line, "attr.<name> = values");
            for (int j = 0; j < seg->nattrs; j++)
                if (strcmp(seg->attrs[j].name, k->key + 5) == 0) return fail(L, k->line, "%s given twice", k->key);
            seg->attrs = hilo_xrealloc(seg->attrs, (size_t)(seg->nattrs + 1) * sizeof *seg->attrs);
            st_attr_t *a = &seg->attrs[seg->nattrs++];
            memset(a, 0, sizeof *a);
            a->name = hilo_xstrdup(k->key + 5);
            if (parse_words(L, k, &a->values)) return HILO_ERR;
        }
    }
    seg->steps = hilo_xcalloc((size_t)st->nvariants, sizeof *seg->steps);
    seg->nsteps = hilo_xcalloc((size_t)st->nvariants, sizeof *seg->nsteps);
    if (!(kv = kv_get(s, "steps"))) return fail(L, s->line, "[segment %s] needs steps = <step> <step> ...", s->name);
    seg->steps_line = kv->line;
    for (int v = 0; v < st->nvariants; v++) {
        char key[100];
        snprintf(key, sizeof key, "steps.%s", st->variants[v].name);
        hilo_sect_kv_t *vk = kv_get(s, key);
        if (resolve_steps(L, s, seg, vk ? vk : kv, v)) return HILO_ERR;
    }
    for (int i = 0; i < s->nkv; i++)
        if (strncmp(s->kv[i].key, "steps.", 6) == 0 && !s->kv[i].used)
            return fail(L, s->kv[i].line, "%s: no [variant %s]", s->kv[i].key, s->kv[i].key + 6);
    return HILO_OK;
}

static int load_doc(ld_t *L) {
    hilo_strategy_t *st = L->st;
    hilo_sect_t *strat = NULL;
    int nseg = 0, nstep = 0;
    for (int i = 0; i < L->doc.n; i++) {
        hilo_sect_t *s = &L->doc.s[i];
        if (strcmp(s->type, "strategy") == 0) {
            if (strat) return fail(L, s->line, "a second [strategy] (one strategy per file)");
            if (*s->name) return fail(L, s->line, "[strategy] takes no name in the header (name = ... inside)");
            strat = s;
        } else if (strcmp(s->type, "segment") == 0 || strcmp(s->type, "step") == 0) {
            if (!name_ok(s->name))
                return fail(L, s->line, "[%s NAME]: a name of lower-case letters, digits, '_', '-'", s->type);
            for (int j = 0; j < i; j++)
                if (strcmp(L->doc.s[j].type, s->type) == 0 && strcmp(L->doc.s[j].name, s->name) == 0)
                    return fail(L, s->line, "[%s %s] defined twice (line %d)", s->type, s->name, L->doc.s[j].line);
            if (s->type[1] == 'e') nseg++;
            else nstep++;
        } else if (strcmp(s->type, "variant") != 0) {
            return fail(L, s->line, "unknown section [%s] (strategy, variant, segment, step)", s->type);
        }
    }
    if (!strat) return fail(L, 1, "no [strategy] section");
    if (load_strategy(L, strat)) return HILO_ERR;
    for (int i = 0; i < L->doc.n; i++)
        if (strcmp(L->doc.s[i].type, "variant") == 0 && load_variant(L, &L->doc.s[i])) return HILO_ERR;
    if (st->nvariants == 0) {
        st->variants = hilo_xcalloc(1, sizeof *st->variants);
        st->variants[0] = (st_variant_t){hilo_xstrdup("default"), 100, strat->line};
        st->nvariants = 1;
    } else {
        int sum = 0;
        for (int v = 0; v < st->nvariants; v++) sum += st->variants[v].share;
        if (sum != 100) return fail(L, st->variants[0].line, "variant shares add up to %d, not 100", sum);
    }
    if (nseg == 0) return fail(L, strat->line, "no [segment NAME] section (who the strategy contacts)");
    st->steps = hilo_xcalloc((size_t)(nstep ? nstep : 1), sizeof *st->steps);
    st->segments = hilo_xcalloc((size_t)nseg, sizeof *st->segments);
    for (int i = 0; i < L->doc.n; i++) {
        hilo_sect_t *s = &L->doc.s[i];
        if (strcmp(s->type, "step") != 0) continue;
        hilo_strategy_step_t *step = &st->steps[st->nsteps];
        step->name = hilo_xstrdup(s->name);
        step->line = s->line;
        step->index = st->nsteps++;
        if (load_step(L, s, step)) return HILO_ERR;
    }
    for (int i = 0; i < L->doc.n; i++) {
        hilo_sect_t *s = &L->doc.s[i];
        if (strcmp(s->type, "segment") != 0) continue;
        hilo_strategy_segment_t *seg = &st->segments[st->nsegments];
        seg->name = hilo_xstrdup(s->name);
        seg->line = s->line;
        seg->index = st->nsegments++;
        if (load_segment(L, s, seg)) return HILO_ERR;
    }
    /* Transition targets: a step of the same segment. */
    for (int i = 0; i < L->doc.n; i++) {
        hilo_sect_t *s = &L->doc.s[i];
        if (strcmp(s->type, "step") != 0) continue;
        int idx = find_step(st, s->name);
        hilo_strategy_step_t *step = &st->steps[idx];
        if (step->segment < 0)
            return fail(L, s->line, "[step %s] is in no segment's steps (unreachable)", s->name);
        for (int r = 0; r < HILO_RESULT_COUNT; r++) {
            if (step->on[r].kind != ST_ON_STEP) continue;
            char key[32];
            snprintf(key, sizeof key, "on.%s", hilo_strategy_result_name((hilo_strategy_result_t)r));
            hilo_sect_kv_t *kv = kv_get(s, key);
            int t = find_step(st, kv->value);
            if (t < 0) return fail(L, kv->line, "%s: no [step %s] (or next, end)", key, kv->value);
            if (st->steps[t].segment != step->segment)
                return fail(L, kv->line, "%s: step '%s' is in another segment", key, kv->value);
            step->on[r].target = t;
        }
    }
    /* Whatever no loader read is a mistake: a typo must not silently change a cadence. */
    for (int i = 0; i < L->doc.n; i++)
        for (int j = 0; j < L->doc.s[i].nkv; j++)
            if (!L->doc.s[i].kv[j].used)
                return fail(L, L->doc.s[i].kv[j].line, "unknown key '%s' in [%s%s%s]", L->doc.s[i].kv[j].key,
                            L->doc.s[i].type, *L->doc.s[i].name ? " " : "", L->doc.s[i].name);
    for (int i = 0; i < L->doc.n; i++) /* duplicates of known keys (kv_get takes the first) */
        for (int j = 0; j < L->doc.s[i].nkv; j++)
            for (int k = 0; k < j; k++)
                if (strcmp(L->doc.s[i].kv[j].key, L->doc.s[i].kv[k].key) == 0)
                    return fail(L, L->doc.s[i].kv[j].line, "'%s' given twice (line %d)", L->doc.s[i].kv[j].key,
                                L->doc.s[i].kv[k].line);
    return HILO_OK;
}

static hilo_strategy_t *parse_one(const char *name, const char *text, size_t len, char *err, size_t errlen) {
    ld_t L = {.file = name, .err = err, .errlen = errlen};
    if (hilo_sections_parse(name, text, len, &L.doc, err, errlen) != 0) return NULL;
    L.st = hilo_xcalloc(1, sizeof *L.st);
    L.st->path = hilo_xstrdup(name);
    int rc = load_doc(&L);
    hilo_sections_free(&L.doc);
    if (rc != HILO_OK) {
        st_strategy_free(L.st);
        return NULL;
    }
    return L.st;
}

void st_strategy_free(hilo_strategy_t *st) {
    if (!st) return;
    for (int i = 0; i < st->nsteps; i++) {
        hilo_strategy_step_t *p = &st->steps[i];
        for (int j = 0; j < p->ntexts; j++) {
            for (int k = 0; k < p->texts[j].nparts; k++) free(p->texts[j].parts[k].s);
            free(p->texts[j].parts);
            free(p->texts[j].src);
        }
        free(p->texts);
        free(p->template_name);
        free(p->name);
    }
    free(st->steps);
    for (int i = 0; i < st->nsegments; i++) {
        hilo_strategy_segment_t *g = &st->segments[i];
        free(g->name);
        free(g->balance);
        words_free(&g->product);
        words_free(&g->country);
        words_free(&g->language);
        words_free(&g->last_result);
        for (int j = 0; j < g->nattrs; j++) {
            free(g->attrs[j].name);
            words_free(&g->attrs[j].values);
        }
        free(g->attrs);
        for (int v = 0; g->steps && v < st->nvariants; v++) free(g->steps[v]);
        free(g->steps);
        free(g->nsteps);
    }
    free(st->segments);
    for (int i = 0; i < st->nvariants; i++) free(st->variants[i].name);
    free(st->variants);
    words_free(&st->languages);
    words_free(&st->stop_attrs);
    free(st->default_language);
    free(st->company);
    free(st->callback_phone);
    free(st->payment_link);
    free(st->name);
    free(st->path);
    free(st);
}

/* ---- sets ----------------------------------------------------------------------------------- */

static int cmp_priority(const void *a, const void *b) {
    const hilo_strategy_t *x = *(hilo_strategy_t *const *)a, *y = *(hilo_strategy_t *const *)b;
    return y->priority - x->priority;
}

/* Adds st to set; refuses a second strategy with the same name or priority (which one runs
 * first must never depend on file order). */
static int set_add(hilo_strategy_set_t *set, hilo_strategy_t *st, char *err, size_t errlen) {
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->st[i]->name, st->name) == 0) {
            snprintf(err, errlen, "%s:%d: strategy name '%s' is also used by %s", st->path, st->line, st->name,
                     set->st[i]->path);
            return HILO_ERR;
        }
        if (set->st[i]->priority == st->priority) {
            snprintf(err, errlen, "%s:%d: priority %d is also %s's (%s): priorities must differ", st->path,
                     st->line, st->priority, set->st[i]->name, set->st[i]->path);
            return HILO_ERR;
        }
    }
    set->st = hilo_xrealloc(set->st, (set->n + 1) * sizeof *set->st);
    set->st[set->n++] = st;
    qsort(set->st, set->n, sizeof *set->st, cmp_priority);
    return HILO_OK;
}

hilo_strategy_set_t *hilo_strategy_set_parse(const char *name, const char *text, size_t len, char *err,
                                             size_t errlen) {
    hilo_strategy_t *st = parse_one(name, text, len, err, errlen);
    if (!st) return NULL;
    hilo_strategy_set_t *set = hilo_xcalloc(1, sizeof *set);
    set_add(set, st, err, errlen);
    return set;
}

int hilo_strategy_set_add_text(hilo_strategy_set_t *set, const char *name, const char *text, size_t len, char *err,
                               size_t errlen) {
    hilo_strategy_t *st = parse_one(name, text, len, err, errlen);
    if (!st || set_add(set, st, err, errlen) != HILO_OK) {
        st_strategy_free(st);
        return HILO_ERR;
    }
    return HILO_OK;
}

hilo_strategy_set_t *hilo_strategy_set_load_files(const char *const *paths, size_t n, char *err, size_t errlen) {
    hilo_strategy_set_t *set = hilo_xcalloc(1, sizeof *set);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *text = hilo_sections_read_file(paths[i], HILO_STRATEGY_FILE_MAX, &len, err, errlen);
        int rc = text ? hilo_strategy_set_add_text(set, paths[i], text, len, err, errlen) : HILO_ERR;
        free(text);
        if (rc != HILO_OK) {
            hilo_strategy_set_destroy(&set);
            return NULL;
        }
    }
    return set;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

hilo_strategy_set_t *hilo_strategy_set_load_dir(const char *dir, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s:0: cannot open the strategies directory", dir);
        return NULL;
    }
    char **paths = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 9 && e->d_name[0] != '.' && strcmp(e->d_name + len - 9, ".strategy") == 0) {
            paths = hilo_xrealloc(paths, (n + 1) * sizeof *paths);
            size_t plen = strlen(dir) + len + 2;
            paths[n] = hilo_xmalloc(plen);
            snprintf(paths[n++], plen, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    if (n > 1) qsort(paths, n, sizeof *paths, cmp_str);
    hilo_strategy_set_t *set = hilo_strategy_set_load_files((const char *const *)paths, n, err, errlen);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    return set;
}

int hilo_strategy_set_reload(hilo_strategy_set_t **set_p, const char *dir, char *err, size_t errlen) {
    hilo_strategy_set_t *fresh = hilo_strategy_set_load_dir(dir, err, errlen);
    if (!fresh) return HILO_ERR;
    hilo_strategy_set_destroy(set_p);
    *set_p = fresh;
    return HILO_OK;
}

void hilo_strategy_set_destroy(hilo_strategy_set_t **self_p) {
    if (!self_p || !*self_p) return;
    for (size_t i = 0; i < (*self_p)->n; i++) st_strategy_free((*self_p)->st[i]);
    free((*self_p)->st);
    free(*self_p);
    *self_p = NULL;
}
