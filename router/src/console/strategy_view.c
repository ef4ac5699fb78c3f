/* strategy_view.c — the JSON the console shows of the outbound strategies (strategy_view.h):
 * the supervisor panel's description and funnel of a strategy, and the agent's view of one
 * debtor's place. Everything here reads values the strategy runner wrote (router/src/
 * strategy_run.c) and a supervisor or agent will read: a malformed value is left out, never
 * guessed at, and never stops the rest from being shown. */
#include "strategy_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/frame.h"

#define STRAT_FIELDS 12

/* Copies [p, p+len) into dst (size n) when it fits; false otherwise. */
static bool copy_field(char *dst, size_t n, const char *p, size_t len) {
    if (len >= n) return false;
    memcpy(dst, p, len);
    dst[len] = '\0';
    return true;
}

/* A non-negative decimal (empty = 0), at most 18 digits. */
static bool parse_ms(const char *p, size_t len, int64_t *out) {
    if (len > 18 || strspn(p, "0123456789") < len) return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) v = v * 10 + (p[i] - '0');
    *out = v;
    return true;
}

bool console_strat_parse(const char *s, console_strat_t *out) {
    if (!s) return false;
    memset(out, 0, sizeof *out);
    const char *f[STRAT_FIELDS];
    size_t len[STRAT_FIELDS];
    int nf = 0;
    for (const char *p = s;; nf++) {
        const char *bar = strchr(p, '|');
        if (nf == STRAT_FIELDS) return false; /* more than 12 fields */
        f[nf] = p;
        len[nf] = bar ? (size_t)(bar - p) : strlen(p);
        if (!bar) {
            nf++;
            break;
        }
        p = bar + 1;
    }
    if (nf != STRAT_FIELDS) return false;
    /* The state: a lower-case word (the runner's five today; a new one is shown as it is). */
    if (len[0] == 0 || strspn(f[0], "abcdefghijklmnopqrstuvwxyz") < len[0]) return false;
    int64_t rev = 0;
    bool ok = copy_field(out->state, sizeof out->state, f[0], len[0]) &&
              copy_field(out->strategy, sizeof out->strategy, f[1], len[1]) && len[1] > 0 &&
              copy_field(out->segment, sizeof out->segment, f[2], len[2]) &&
              copy_field(out->variant, sizeof out->variant, f[3], len[3]) &&
              copy_field(out->step, sizeof out->step, f[4], len[4]) &&
              copy_field(out->last, sizeof out->last, f[5], len[5]) && parse_ms(f[6], len[6], &out->at_ms) &&
              parse_ms(f[7], len[7], &out->sent_ms) && copy_field(out->oid, sizeof out->oid, f[8], len[8]) &&
              copy_field(out->why, sizeof out->why, f[9], len[9]) &&
              copy_field(out->prev, sizeof out->prev, f[10], len[10]) && parse_ms(f[11], len[11], &rev);
    out->rev = (long)rev;
    return ok;
}

static const char *file_state_name(hilo_strategy_state_t s) {
    switch (s) {
    case HILO_STRATEGY_ACTIVE: return "active";
    case HILO_STRATEGY_PAUSED: return "paused";
    case HILO_STRATEGY_DRAFT: return "draft";
    }
    return "unknown";
}

json_t *console_strategy_describe(const hilo_strategy_t *st) {
    json_t *variants = json_array();
    for (int v = 0; v < hilo_strategy_variant_count(st); v++) {
        json_t *steps = json_array();
        for (int s = 0; s < hilo_strategy_segment_count(st); s++) {
            const hilo_strategy_segment_t *seg = hilo_strategy_segment(st, s);
            for (int i = 0; i < hilo_strategy_segment_step_count(seg, v); i++) {
                const hilo_strategy_step_t *step = hilo_strategy_segment_step(seg, v, i);
                const char *ch = hilo_channel_name(hilo_strategy_step_channel(step));
                json_array_append_new(steps, json_pack("{s:s,s:s,s:s}", "name", hilo_strategy_step_name(step),
                                                       "channel", ch ? ch : "", "segment",
                                                       hilo_strategy_segment_name(seg)));
            }
        }
        json_array_append_new(variants, json_pack("{s:s,s:i,s:o}", "name", hilo_strategy_variant_name(st, v), "share",
                                                  hilo_strategy_variant_share(st, v), "steps", steps));
    }
    return json_pack("{s:s,s:i,s:s,s:o}", "name", hilo_strategy_name(st), "priority", hilo_strategy_priority(st),
                     "file_state", file_state_name(hilo_strategy_state(st)), "variants", variants);
}

/* A count as Redis keeps it (a decimal string, possibly negative after a manual fix). */
static bool count_of(const json_t *v, json_int_t *out) {
    const char *s = json_string_value(v);
    if (!s || !*s) return false;
    char *end;
    long long n = strtoll(s, &end, 10);
    if (*end) return false;
    *out = (json_int_t)n;
    return true;
}

static json_t *child(json_t *parent, const char *key, size_t keylen) {
    json_t *o = json_object_getn(parent, key, keylen);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_setn_new(parent, key, keylen, o);
    }
    return o;
}

void console_strategy_complete(json_t *desc, const json_t *control, const json_t *funnel) {
    const char *ctl = json_string_value(control);
    if (ctl && strcmp(ctl, "running") != 0 && strcmp(ctl, "paused") != 0) ctl = NULL; /* as the runner reads it */
    const char *file = json_string_value(json_object_get(desc, "file_state"));
    bool draft = file && strcmp(file, "draft") == 0;
    const char *state = ctl && !draft ? ctl : draft ? "draft" : file && strcmp(file, "active") == 0 ? "running" : "paused";
    json_object_set_new(desc, "control", ctl ? json_string(ctl) : json_null());
    json_object_set_new(desc, "state", json_string(state));
    json_object_set_new(desc, "state_from", json_string(ctl && !draft ? "control" : "file"));
    json_t *out = json_object();
    for (size_t i = 0; json_is_array(funnel) && i + 1 < json_array_size(funnel); i += 2) {
        const char *f = json_string_value(json_array_get(funnel, i));
        const char *b1 = f ? strchr(f, '|') : NULL, *b2 = b1 ? strchr(b1 + 1, '|') : NULL;
        json_int_t n;
        if (!b2 || !b2[1] || !count_of(json_array_get(funnel, i + 1), &n)) continue;
        json_t *steps = child(out, f, (size_t)(b1 - f));
        json_t *metrics = child(steps, b1 + 1, (size_t)(b2 - b1 - 1));
        json_object_set_new(metrics, b2 + 1, json_integer(n));
    }
    json_object_set_new(desc, "funnel", out);
}

static int variant_index(const hilo_strategy_t *st, const char *name) {
    for (int v = 0; v < hilo_strategy_variant_count(st); v++)
        if (strcmp(hilo_strategy_variant_name(st, v), name) == 0) return v;
    return -1;
}

/* The loaded step of a debtor's place, or NULL (strategy, segment, variant or step gone). */
static const hilo_strategy_step_t *step_of(const hilo_strategy_set_t *set, const console_strat_t *p) {
    const hilo_strategy_t *st = set && *p->step ? hilo_strategy_set_find(set, p->strategy) : NULL;
    const hilo_strategy_segment_t *seg = st ? hilo_strategy_segment_find(st, p->segment) : NULL;
    int v = st ? variant_index(st, p->variant) : -1;
    return seg && v >= 0 ? hilo_strategy_step_find(seg, v, p->step) : NULL;
}

static json_t *current_of(const hilo_strategy_set_t *set, const console_strat_t *p) {
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "state", p->state, "strategy", p->strategy,
                          "segment", p->segment, "variant", p->variant, "step", p->step, "last", p->last, "at_ms",
                          (json_int_t)p->at_ms, "sent_ms", (json_int_t)p->sent_ms, "why", p->why, "prev", p->prev);
    const hilo_strategy_step_t *step = step_of(set, p);
    if (step) {
        const char *ch = hilo_channel_name(hilo_strategy_step_channel(step));
        const char *tpl = hilo_strategy_step_template(step);
        if (ch) json_object_set_new(o, "channel", json_string(ch));
        if (tpl) json_object_set_new(o, "template", json_string(tpl));
    }
    return o;
}

json_t *console_strategy_debtor(const hilo_strategy_set_t *set, const char *strat, const json_t *audit,
                                int max_events) {
    console_strat_t p;
    json_t *current = console_strat_parse(strat, &p) ? current_of(set, &p) : NULL;
    json_t *events = json_array();
    for (size_t i = 0; json_is_array(audit) && i < json_array_size(audit); i++) {
        if ((int)json_array_size(events) >= max_events) break;
        /* [id, [field, value, ...]] */
        const json_t *e = json_array_get(audit, i);
        const char *id = json_string_value(json_array_get(e, 0));
        const json_t *kv = json_array_get(e, 1);
        const char *ev = NULL, *j = NULL;
        for (size_t k = 0; json_is_array(kv) && k + 1 < json_array_size(kv); k += 2) {
            const char *f = json_string_value(json_array_get(kv, k));
            const char *v = json_string_value(json_array_get(kv, k + 1));
            if (f && strcmp(f, "ev") == 0) ev = v;
            else if (f && strcmp(f, "j") == 0) j = v;
        }
        if (!id || !ev || strcmp(ev, "strategy") != 0 || !j) continue;
        json_t *o = json_loads(j, 0, NULL);
        if (json_is_object(o) && json_is_string(json_object_get(o, "event"))) {
            json_object_set_new(o, "id", json_string(id));
            json_array_append(events, o);
        }
        json_decref(o);
    }
    if (!current && json_array_size(events) == 0) {
        json_decref(events);
        return NULL;
    }
    return json_pack("{s:o,s:o}", "current", current ? current : json_null(), "events", events);
}
