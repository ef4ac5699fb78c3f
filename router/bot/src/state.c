/* state.c — the bot state and its JSON (jansson). */
#include "state.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "extract.h"
#include "hilo/common.h"

void bot_state_init(bot_state_t *st) {
    memset(st, 0, sizeof *st);
    st->plan_choice = -1;
}

char *bot_state_to_json(const bot_state_t *st) {
    json_t *o = json_object();
    json_object_set_new(o, "v", json_integer(BOT_STATE_VERSION));
    json_object_set_new(o, "step", json_string(st->step));
    json_object_set_new(o, "lang", json_string(st->lang));
    json_object_set_new(o, "verified", json_boolean(st->verified));
    json_object_set_new(o, "verified_ms", json_integer(st->verified_ms));
    json_object_set_new(o, "attempts", json_integer(st->attempts));
    json_object_set_new(o, "misses", json_integer(st->misses));
    json_object_set_new(o, "pending", json_string(st->pending));
    json_object_set_new(o, "subject", json_string(st->subject));
    if (st->promise_cents > 0 || st->has_promise_date) {
        json_t *p = json_object();
        if (st->promise_cents > 0) json_object_set_new(p, "amount_cents", json_integer(st->promise_cents));
        if (st->has_promise_date) {
            char iso[11];
            bot_date_iso(st->promise_date, iso);
            json_object_set_new(p, "date", json_string(iso));
        }
        json_object_set_new(o, "promise", p);
    }
    if (st->nplan > 0) {
        json_t *a = json_array();
        for (int i = 0; i < st->nplan; i++)
            json_array_append_new(a, json_pack("{s:i,s:I,s:I,s:i}", "n", st->plan[i].n, "instalment_cents",
                                               (json_int_t)st->plan[i].instalment_cents, "total_cents",
                                               (json_int_t)st->plan[i].total_cents, "discount_bp",
                                               st->plan[i].discount_bp));
        json_object_set_new(o, "plan", a);
        json_object_set_new(o, "plan_choice", json_integer(st->plan_choice));
    }
    json_object_set_new(o, "escalated", json_string(st->escalated));
    json_object_set_new(o, "turns", json_integer(st->turns));
    json_object_set_new(o, "created_ms", json_integer(st->created_ms));
    json_object_set_new(o, "updated_ms", json_integer(st->updated_ms));
    json_object_set_new(o, "channel", json_string(st->channel));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) return hilo_xstrdup("{}"); /* only on out-of-memory inside jansson */
    char *copy = hilo_xstrdup(s);      /* ours to free with free(), whatever jansson's allocator */
    free(s);
    return copy;
}

/* Readers: a missing field keeps the default; a field of the wrong type or size fails. */
static bool get_str(json_t *o, const char *key, char *out, size_t size) {
    json_t *v = json_object_get(o, key);
    if (!v) return true;
    if (!json_is_string(v) || json_string_length(v) >= size) return false;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

static bool get_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out) {
    json_t *v = json_object_get(o, key);
    if (!v) return true;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) return false;
    *out = json_integer_value(v);
    return true;
}

static bool get_small(json_t *o, const char *key, int min, int max, int *out) {
    int64_t v = *out;
    if (!get_int(o, key, min, max, &v)) return false;
    *out = (int)v;
    return true;
}

static bool read_plan(json_t *o, bot_state_t *st) {
    json_t *a = json_object_get(o, "plan");
    if (!a) return true;
    if (!json_is_array(a) || json_array_size(a) > BOT_PLAN_MAX) return false;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *e = json_array_get(a, i);
        bot_plan_option_t *p = &st->plan[i];
        if (!json_is_object(e) || !get_small(e, "n", 1, 1000, &p->n) ||
            !get_int(e, "instalment_cents", 1, INT64_MAX / 4, &p->instalment_cents) ||
            !get_int(e, "total_cents", 1, INT64_MAX / 4, &p->total_cents) ||
            !get_small(e, "discount_bp", 0, 10000, &p->discount_bp) || p->n == 0)
            return false;
    }
    st->nplan = (int)json_array_size(a);
    return get_small(o, "plan_choice", -1, st->nplan - 1, &st->plan_choice);
}

int bot_state_from_json(const char *json, bot_state_t *st) {
    bot_state_init(st);
    json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    int64_t version = 0;
    bool ok = o && json_is_object(o) && get_int(o, "v", 0, 1000, &version) && version == BOT_STATE_VERSION;
    ok = ok && get_str(o, "step", st->step, sizeof st->step) && get_str(o, "lang", st->lang, sizeof st->lang) &&
         get_str(o, "pending", st->pending, sizeof st->pending) &&
         get_str(o, "subject", st->subject, sizeof st->subject) &&
         get_str(o, "escalated", st->escalated, sizeof st->escalated) &&
         get_str(o, "channel", st->channel, sizeof st->channel) &&
         get_int(o, "verified_ms", 0, INT64_MAX, &st->verified_ms) &&
         get_small(o, "attempts", 0, 1000, &st->attempts) && get_small(o, "misses", 0, 1000, &st->misses) &&
         get_small(o, "turns", 0, 1 << 30, &st->turns) && get_int(o, "created_ms", 0, INT64_MAX, &st->created_ms) &&
         get_int(o, "updated_ms", 0, INT64_MAX, &st->updated_ms) && read_plan(o, st);
    if (ok) {
        json_t *v = json_object_get(o, "verified");
        if (v && !json_is_boolean(v)) ok = false;
        st->verified = v && json_is_true(v);
    }
    json_t *p = ok ? json_object_get(o, "promise") : NULL;
    if (p) {
        char iso[16] = "";
        ok = json_is_object(p) && get_int(p, "amount_cents", 1, INT64_MAX / 4, &st->promise_cents) &&
             get_str(p, "date", iso, sizeof iso);
        if (ok && iso[0]) {
            ok = bot_date_parse(iso, &st->promise_date) == 0;
            st->has_promise_date = ok;
        }
    }
    json_decref(o);
    if (!ok) {
        bot_state_init(st);
        return -1;
    }
    return 0;
}
