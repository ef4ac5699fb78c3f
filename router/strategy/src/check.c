/* check.c — what `hilo strategy check` asks beyond syntax (see strategy.h, docs/strategies.md):
 * privacy, the packs' opt-out notice and first-contact disclosure, the strategy keys templates
 * need, and that every listed step can be reached. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hilo/common.h"
#include "hilo/textnorm.h"
#include "strategy_int.h"

/* text folded by the one normaliser (textnorm.h) that reads debtors' replies, with a space at
 * either end so that " word " finds whole words; the caller frees. A template's notice is
 * then found however it is written (accents, full-width letters, case). */
static char *folded(const char *text) {
    size_t len = strlen(text), size = 3 * len + 3;
    char *out = hilo_xmalloc(size);
    out[0] = ' ';
    size_t n = hilo_textnorm_fold(text, len, out + 1, size - 2, NULL, NULL);
    out[n + 1] = ' ';
    out[n + 2] = '\0';
    return out;
}

bool st_has_word(const char *text, const char *word) {
    char *t = folded(text), *w = folded(word);
    bool has = strlen(w) > 2 && strstr(t, w) != NULL;
    free(t);
    free(w);
    return has;
}

bool st_has_phrase(const char *text, const char *phrase) {
    char *t = folded(text), *p = folded(phrase);
    size_t n = strlen(p);
    p[n - 1] = '\0'; /* a substring: its end need not close a word */
    bool has = n > 2 && strstr(t, p + 1) != NULL;
    free(t);
    free(p);
    return has;
}

/* "STOP | BAJA": is one of the words in text? */
static bool has_notice(const char *text, const char *notice) {
    char copy[256];
    snprintf(copy, sizeof copy, "%s", notice);
    char *save = NULL;
    for (char *w = strtok_r(copy, " |", &save); w; w = strtok_r(NULL, " |", &save))
        if (st_has_word(text, w)) return true;
    return false;
}

typedef struct {
    const hilo_strategy_t *st;
    void (*fn)(const char *problem, void *arg);
    void *arg;
    int count;
} ck_t;

__attribute__((format(printf, 3, 4))) static void problem(ck_t *c, int line, const char *fmt, ...) {
    char why[600], msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s:%d: %s", c->st->path, line, why);
    c->fn(msg, c->arg);
    c->count++;
}

typedef struct {
    char cc[256][3];
    int n;
} countries_t;

static void add_country(const char *cc, const char *pack_id, void *arg) {
    countries_t *c = arg;
    if (pack_id && c->n < (int)HILO_ARRAY_LEN(c->cc)) snprintf(c->cc[c->n++], 3, "%s", cc);
}

/* The countries a segment reaches: its `country` list, else every country with a pack. */
static void segment_countries(ck_t *c, const hilo_strategy_segment_t *g, const hilo_compliance_t *gate,
                              countries_t *out) {
    out->n = 0;
    if (!g->country.n) {
        hilo_compliance_each_country(gate, add_country, out);
        return;
    }
    for (int i = 0; i < g->country.n; i++) {
        hilo_pack_rules_t r;
        if (hilo_compliance_pack_rules(gate, g->country.v[i], &r)) add_country(g->country.v[i], r.pack_id, out);
        else problem(c, g->line, "segment %s: country %s has no rule pack, the gate blocks every message to it",
                     g->name, g->country.v[i]);
    }
}

static bool in_segment(const hilo_strategy_segment_t *g, int step) {
    for (int v = 0; v < g->st->nvariants; v++)
        for (int i = 0; i < g->nsteps[v]; i++)
            if (g->steps[v][i] == step) return true;
    return false;
}

static bool is_first(const hilo_strategy_segment_t *g, int step) {
    for (int v = 0; v < g->st->nvariants; v++)
        if (g->nsteps[v] && g->steps[v][0] == step) return true;
    return false;
}

/* Marks every step reachable from the first step of variant v. */
static void reach(const hilo_strategy_segment_t *g, int v, int step, bool *seen) {
    if (seen[step]) return;
    seen[step] = true;
    const hilo_strategy_step_t *p = &g->st->steps[step];
    for (int r = 0; r < HILO_RESULT_COUNT; r++) {
        if (p->on[r].kind == ST_ON_STEP) reach(g, v, p->on[r].target, seen);
        if (p->on[r].kind == ST_ON_NEXT)
            for (int i = 0; i + 1 < g->nsteps[v]; i++)
                if (g->steps[v][i] == step) reach(g, v, g->steps[v][i + 1], seen);
    }
}

static bool uses_var(const st_text_t *t, const char *name) {
    for (int i = 0; i < t->nparts; i++)
        if (t->parts[i].var && strcmp(t->parts[i].s, name) == 0) return true;
    return false;
}

static const char *first_disclosure_var(const st_text_t *t) {
    for (int i = 0; i < t->nparts; i++)
        if (t->parts[i].var && hilo_strategy_var_disclosure(t->parts[i].s)) return t->parts[i].s;
    return NULL;
}

static void text_key(const hilo_strategy_t *st, const st_text_t *t, char *buf, size_t n) {
    if (t->variant < 0) snprintf(buf, n, "text.%s", t->lang);
    else snprintf(buf, n, "text.%s.%s", t->lang, st->variants[t->variant].name);
}

int hilo_strategy_check(const hilo_strategy_t *st, const hilo_compliance_t *gate,
                        void (*fn)(const char *problem, void *arg), void *arg) {
    ck_t c = {st, fn, arg, 0};
    /* Keys a variable takes its value from. */
    for (int s = 0; s < st->nsteps; s++)
        for (int i = 0; i < st->steps[s].ntexts; i++) {
            const st_text_t *t = &st->steps[s].texts[i];
            static const char *const need[][2] = {
                {"company", "company"}, {"callback_phone", "callback_phone"}, {"payment_link", "payment_link"}};
            for (size_t k = 0; k < HILO_ARRAY_LEN(need); k++) {
                const char *have = k == 0 ? st->company : k == 1 ? st->callback_phone : st->payment_link;
                if (uses_var(t, need[k][0]) && !have)
                    problem(&c, t->line, "{%s} needs %s = ... in [strategy]", need[k][0], need[k][1]);
            }
        }
    bool seen[st->nsteps > 0 ? st->nsteps : 1];
    for (int g = 0; g < st->nsegments; g++) {
        const hilo_strategy_segment_t *seg = &st->segments[g];
        memset(seen, 0, sizeof seen);
        for (int v = 0; v < st->nvariants; v++)
            if (seg->nsteps[v]) reach(seg, v, seg->steps[v][0], seen);
        for (int s = 0; s < st->nsteps; s++)
            if (in_segment(seg, s) && !seen[s])
                problem(&c, st->steps[s].line, "step %s is never reached from segment %s's first step", st->steps[s].name,
                        seg->name);
        countries_t cs = {.n = 0};
        if (gate) segment_countries(&c, seg, gate, &cs);
        bool unverified = seg->verified != 1;
        for (int s = 0; s < st->nsteps; s++) {
            if (!in_segment(seg, s)) continue;
            const hilo_strategy_step_t *p = &st->steps[s];
            for (int i = 0; i < p->ntexts; i++) {
                const st_text_t *t = &p->texts[i];
                char key[120];
                text_key(st, t, key, sizeof key);
                const char *dv = first_disclosure_var(t);
                /* Privacy: a debtor not (yet) verified may be anyone holding the phone. */
                if (unverified && dv)
                    problem(&c, t->line,
                            "step %s %s uses {%s}, a disclosure variable, and unverified debtors reach it "
                            "(segment %s: verified = %s): limited content only before verification",
                            p->name, key, dv, seg->name, seg->verified == 0 ? "no" : "any");
                for (int k = 0; k < cs.n; k++) {
                    hilo_pack_rules_t r;
                    if (!hilo_compliance_pack_rules(gate, cs.cc[k], &r)) continue;
                    /* Reg F 1006.6(e): the opt-out notice is for electronic communications;
                     * a call is not one. */
                    if (r.optout_notice && (p->channels & ~(1u << HILO_CHANNEL_VOICE)) &&
                        !has_notice(t->src, r.optout_notice))
                        problem(&c, t->line,
                                "step %s %s lacks the opt-out notice pack %s requires for %s (one of: %s)", p->name,
                                key, r.pack_id, cs.cc[k], r.optout_notice);
                    const char *disc = hilo_compliance_disclosure(gate, cs.cc[k], t->lang);
                    if (!disc) continue;
                    bool has = st_has_phrase(t->src, disc);
                    if (unverified && has)
                        problem(&c, t->line,
                                "step %s %s carries the debt-collection disclosure \"%s\" and unverified debtors "
                                "reach it: that tells whoever holds the phone about the debt", p->name, key, disc);
                    else if (!unverified && !has && (dv || is_first(seg, s)))
                        problem(&c, t->line,
                                "step %s %s is %s of segment %s and lacks the disclosure pack %s requires for %s: "
                                "\"%s\"", p->name, key,
                                is_first(seg, s) ? "the first communication" : "a disclosing message", seg->name,
                                r.pack_id, cs.cc[k], disc);
                }
            }
        }
    }
    return c.count;
}
