/* strategy.c — accessors, variants, transitions and the allowed-time window (see strategy.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/mix64.h"
#include "strategy_int.h"

static const char *const result_names[HILO_RESULT_COUNT] = {"sent",   "delivered", "read",
                                                            "failed", "replied",   "timeout", "machine"};

const char *hilo_strategy_result_name(hilo_strategy_result_t r) {
    return r >= 0 && r < HILO_RESULT_COUNT ? result_names[r] : "unknown";
}

int hilo_strategy_result_parse(const char *name) {
    for (int i = 0; name && i < HILO_RESULT_COUNT; i++)
        if (strcmp(name, result_names[i]) == 0) return i;
    return -1;
}

static const char *const excl_names[HILO_EXCL_COUNT] = {
    "",          "no_segment",   "paid",      "promise",   "dispute",    "hardship",
    "cease_contact", "wrong_number", "agent_conversation", "attribute", "opted_out", "no_consent",
    "no_phone",  "gate",         "no_window", "render",    "daily_budget", "paused"};

const char *hilo_strategy_excl_name(hilo_strategy_excl_t e) {
    return e >= 0 && e < HILO_EXCL_COUNT ? excl_names[e] : "unknown";
}

size_t hilo_strategy_set_count(const hilo_strategy_set_t *s) { return s->n; }
const hilo_strategy_t *hilo_strategy_set_get(const hilo_strategy_set_t *s, size_t i) {
    return i < s->n ? s->st[i] : NULL;
}
const hilo_strategy_t *hilo_strategy_set_find(const hilo_strategy_set_t *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->st[i]->name, name) == 0) return s->st[i];
    return NULL;
}

const char *hilo_strategy_name(const hilo_strategy_t *st) { return st->name; }
const char *hilo_strategy_path(const hilo_strategy_t *st) { return st->path; }
int hilo_strategy_priority(const hilo_strategy_t *st) { return st->priority; }
hilo_strategy_state_t hilo_strategy_state(const hilo_strategy_t *st) { return st->state; }
hilo_cap_t hilo_strategy_cap(const hilo_strategy_t *st, int ch) {
    return ch >= 0 && ch < HILO_CHANNEL_MAX ? st->caps[ch] : (hilo_cap_t){0, 0};
}
long hilo_strategy_daily_budget(const hilo_strategy_t *st) { return st->daily_budget; }
int64_t hilo_strategy_attribution_ms(const hilo_strategy_t *st) { return st->attribution_ms; }
int hilo_strategy_variant_count(const hilo_strategy_t *st) { return st->nvariants; }
const char *hilo_strategy_variant_name(const hilo_strategy_t *st, int v) {
    return v >= 0 && v < st->nvariants ? st->variants[v].name : NULL;
}
int hilo_strategy_variant_share(const hilo_strategy_t *st, int v) {
    return v >= 0 && v < st->nvariants ? st->variants[v].share : 0;
}
int hilo_strategy_segment_count(const hilo_strategy_t *st) { return st->nsegments; }
const hilo_strategy_segment_t *hilo_strategy_segment(const hilo_strategy_t *st, int i) {
    return i >= 0 && i < st->nsegments ? &st->segments[i] : NULL;
}
const char *hilo_strategy_segment_name(const hilo_strategy_segment_t *seg) { return seg->name; }
const hilo_strategy_segment_t *hilo_strategy_segment_find(const hilo_strategy_t *st, const char *name) {
    for (int i = 0; i < st->nsegments; i++)
        if (strcmp(st->segments[i].name, name) == 0) return &st->segments[i];
    return NULL;
}

const char *hilo_strategy_step_name(const hilo_strategy_step_t *p) { return p->name; }
int hilo_strategy_step_channel(const hilo_strategy_step_t *p) { return p->channel; }
const char *hilo_strategy_step_template(const hilo_strategy_step_t *p) { return p->template_name; }
int64_t hilo_strategy_step_wait_ms(const hilo_strategy_step_t *p) { return p->wait_ms; }
int64_t hilo_strategy_step_within_ms(const hilo_strategy_step_t *p) { return p->within_ms; }

const hilo_strategy_step_t *hilo_strategy_step_find(const hilo_strategy_segment_t *seg, int variant,
                                                    const char *name) {
    if (variant < 0 || variant >= seg->st->nvariants) variant = 0;
    for (int i = 0; name && i < seg->nsteps[variant]; i++) {
        const hilo_strategy_step_t *p = &seg->st->steps[seg->steps[variant][i]];
        if (strcmp(p->name, name) == 0) return p;
    }
    return NULL;
}

int hilo_strategy_segment_step_count(const hilo_strategy_segment_t *seg, int variant) {
    if (variant < 0 || variant >= seg->st->nvariants) variant = 0;
    return seg->nsteps[variant];
}

const hilo_strategy_step_t *hilo_strategy_segment_step(const hilo_strategy_segment_t *seg, int variant, int i) {
    if (variant < 0 || variant >= seg->st->nvariants) variant = 0;
    return i >= 0 && i < seg->nsteps[variant] ? &seg->st->steps[seg->steps[variant][i]] : NULL;
}

const hilo_strategy_step_t *hilo_strategy_first_step(const hilo_strategy_segment_t *seg, int variant) {
    if (variant < 0 || variant >= seg->st->nvariants) variant = 0;
    return &seg->st->steps[seg->steps[variant][0]];
}

void hilo_strategy_next(const hilo_strategy_segment_t *seg, int variant, const hilo_strategy_step_t *step,
                        hilo_strategy_result_t result, int64_t result_ms, hilo_strategy_next_t *out) {
    memset(out, 0, sizeof *out);
    if (variant < 0 || variant >= seg->st->nvariants) variant = 0;
    if (result < 0 || result >= HILO_RESULT_COUNT) return;
    const st_on_t *on = &step->on[result];
    const hilo_strategy_step_t *to = NULL;
    if (on->kind == ST_ON_NONE) return;
    if (on->kind == ST_ON_END) {
        out->kind = HILO_NEXT_END;
        return;
    }
    if (on->kind == ST_ON_STEP) {
        to = &seg->st->steps[on->target];
    } else { /* next in this variant's list; a step missing from it (another variant's) ends */
        int n = seg->nsteps[variant];
        for (int i = 0; i + 1 < n && !to; i++)
            if (seg->steps[variant][i] == step->index) to = &seg->st->steps[seg->steps[variant][i + 1]];
    }
    if (!to) {
        out->kind = HILO_NEXT_END;
        return;
    }
    out->kind = HILO_NEXT_STEP;
    out->step = to;
    out->at_ms = result_ms + to->wait_ms;
}

/* ---- the allowed-time window ---------------------------------------------------------------- */

#define WINDOW_DAYS 15

int64_t hilo_strategy_window_next(const hilo_strategy_step_t *step, const hilo_tz_t *tz, int64_t from_ms) {
    int64_t t = from_ms / 1000; /* whole seconds; a start inside a second rounds up below */
    if (from_ms % 1000) t++;
    hilo_tm_t lt;
    hilo_tz_local(tz, t, &lt);
    int64_t day = hilo_days_from_civil(lt.year, lt.month, lt.day);
    int minute = lt.hour * 60 + lt.minute;
    for (int i = 0; i <= WINDOW_DAYS; i++, day++) {
        int wd = hilo_weekday(day);
        if (!(step->days & (1u << wd))) continue;
        int y, m, d;
        hilo_civil_from_days(day, &y, &m, &d);
        for (int k = 0; k < step->nspans; k++) {
            const st_span_t *sp = &step->spans[k];
            if (i == 0 && minute >= sp->to) continue;
            if (i == 0 && minute >= sp->from) return t * 1000; /* inside now */
            int64_t start = hilo_tz_utc(tz, y, m, d, sp->from / 60, sp->from % 60, 0);
            if (start * 1000 >= from_ms) return start * 1000;
        }
    }
    return -1;
}

/* ---- variants -------------------------------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return (h ^ 0xff) * 0x100000001b3ULL; /* a separator, so "ab"+"c" differs from "a"+"bc" */
}

/* Weighted rendezvous hashing: each variant draws u in (0,1) from a hash of (strategy, variant,
 * debtor); the debtor goes to the variant with the smallest -ln(u)/share. Why this and not a
 * cumulative split of one hash: with cumulative ranges, changing one share shifts every boundary
 * after it and moves debtors between variants whose shares did not change. Here a debtor's
 * scores for the other variants do not depend on the changed share, so it only moves into a
 * variant whose share grew or out of one whose share shrank (the minimum). */
int hilo_strategy_variant_of(const hilo_strategy_t *st, const char *debtor_id, const char *stored) {
    if (stored && *stored)
        for (int v = 0; v < st->nvariants; v++)
            if (strcmp(st->variants[v].name, stored) == 0) return v;
    int best = 0;
    double best_score = INFINITY;
    for (int v = 0; v < st->nvariants; v++) {
        if (st->variants[v].share <= 0) continue;
        uint64_t h = 0xcbf29ce484222325ULL;
        h = fnv1a(h, st->name);
        h = fnv1a(h, st->variants[v].name);
        h = fnv1a(h, debtor_id);
        double u = ((double)(hilo_mix64(h) >> 11) + 0.5) / 9007199254740992.0; /* (0,1) */
        double score = -log(u) / st->variants[v].share;
        if (score < best_score) {
            best_score = score;
            best = v;
        }
    }
    return best;
}
