/* population.c — reading and checking a simulator population file (population.h). Every value
 * is checked (type, range) and an error names the file and the JSON path of the bad value. */
#include "population.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
    int failed;
} ctx_t;

static void fail(ctx_t *c, const char *where, const char *why) {
    if (!c->failed) snprintf(c->err, c->errlen, "%s: %s: %s", c->file, where, why);
    c->failed = 1;
}

/* A number in [lo, hi]; `def` when absent and def is not NAN. */
static double num(ctx_t *c, json_t *obj, const char *key, const char *where, double lo, double hi, double def) {
    char path[160];
    snprintf(path, sizeof path, "%s.%s", where, key);
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (isnan(def)) fail(c, path, "missing");
        return def;
    }
    if (!json_is_number(v)) {
        fail(c, path, "expected a number");
        return lo;
    }
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) {
        char why[96];
        snprintf(why, sizeof why, "%g is outside %g..%g", x, lo, hi);
        fail(c, path, why);
        return lo;
    }
    return x;
}

static void str(ctx_t *c, json_t *obj, const char *key, const char *where, char *out, size_t len) {
    json_t *v = json_object_get(obj, key);
    char path[160];
    snprintf(path, sizeof path, "%s.%s", where, key);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= len) {
        fail(c, path, "expected a non-empty string (short)");
        out[0] = 0;
        return;
    }
    snprintf(out, len, "%s", json_string_value(v));
}

static int channel_index(const char *name) {
    for (int ch = 0; ch < HILO_OPT_CHANNELS; ch++)
        if (!strcmp(name, hilo_opt_channel_name(ch))) return ch;
    return -1;
}

/* {"sms": x, "whatsapp": y, "voice": z}: every channel, probabilities. */
static void per_channel(ctx_t *c, json_t *obj, const char *key, const char *where, double out[HILO_OPT_CHANNELS]) {
    char path[160];
    snprintf(path, sizeof path, "%s.%s", where, key);
    json_t *v = json_object_get(obj, key);
    if (!json_is_object(v)) return fail(c, path, "expected an object with sms, whatsapp and voice");
    for (int ch = 0; ch < HILO_OPT_CHANNELS; ch++) out[ch] = num(c, v, hilo_opt_channel_name(ch), path, 0, 1, NAN);
    if (json_object_size(v) != HILO_OPT_CHANNELS) fail(c, path, "unknown channel (sms, whatsapp, voice)");
}

/* {"sms": [4 rates], ...}: per channel, per hour bucket. */
static void per_channel_hour(ctx_t *c, json_t *obj, const char *key, const char *where,
                             double out[HILO_OPT_CHANNELS][HILO_OPT_HOURS]) {
    char path[160];
    snprintf(path, sizeof path, "%s.%s", where, key);
    json_t *v = json_object_get(obj, key);
    if (!json_is_object(v)) return fail(c, path, "expected an object with sms, whatsapp and voice");
    for (int ch = 0; ch < HILO_OPT_CHANNELS; ch++) {
        char p2[200];
        snprintf(p2, sizeof p2, "%s.%s", path, hilo_opt_channel_name(ch));
        json_t *a = json_object_get(v, hilo_opt_channel_name(ch));
        if (!json_is_array(a) || json_array_size(a) != HILO_OPT_HOURS) {
            fail(c, p2, "expected 4 rates, one per hour bucket 08-11 11-14 14-17 17-21");
            continue;
        }
        for (int h = 0; h < HILO_OPT_HOURS; h++) {
            json_t *x = json_array_get(a, (size_t)h);
            double r = json_is_number(x) ? json_number_value(x) : -1;
            if (!(r >= 0 && r <= 1)) fail(c, p2, "a rate is not a number in 0..1");
            out[ch][h] = r;
        }
    }
    if (json_object_size(v) != HILO_OPT_CHANNELS) fail(c, path, "unknown channel (sms, whatsapp, voice)");
}

static void cadence(ctx_t *c, json_t *v, const char *where, sim_cadence_t *out, int cap) {
    if (!json_is_object(v)) return fail(c, where, "expected {channel, hour, variant, per_week}");
    char ch[16];
    str(c, v, "channel", where, ch, sizeof ch);
    out->channel = channel_index(ch);
    if (!c->failed && out->channel < 0) fail(c, where, "channel is not sms, whatsapp or voice");
    out->hour = (int)num(c, v, "hour", where, 0, HILO_OPT_HOURS - 1, NAN);
    out->variant = (int)num(c, v, "variant", where, 0, HILO_OPT_VARIANTS - 1, 0);
    out->per_week = (int)num(c, v, "per_week", where, 1, cap, NAN);
}

/* A key the format does not know is refused: a misspelt optional key would silently default. */
static void known_keys(ctx_t *c, json_t *obj, const char *where, const char *const *known, size_t n) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (size_t k = 0; k < n; k++) ok |= !strcmp(key, known[k]);
        if (!ok) {
            char path[200];
            snprintf(path, sizeof path, "%s%s%s", where, *where ? "." : "", key);
            fail(c, path, "unknown key");
        }
    }
}

static void segment(ctx_t *c, json_t *s, const char *where, json_t *hours, double scale, sim_segment_t *g) {
    if (!json_is_object(s)) return fail(c, where, "expected an object");
    static const char *const seg_keys[] = {"name", "size", "dpd", "balance", "country", "language", "product",
                                           "never_pay", "amount_mean", "amount_sd", "consent", "pay", "reply",
                                           "optout", "complaint", "variant_lift", "fatigue", "delay_days"};
    known_keys(c, s, where, seg_keys, sizeof seg_keys / sizeof *seg_keys);
    str(c, s, "name", where, g->name, sizeof g->name);
    g->size = (int)lround(num(c, s, "size", where, 1, 1e7, NAN) * scale);
    if (g->size < 1) g->size = 1;
    str(c, s, "dpd", where, g->dpd, sizeof g->dpd);
    str(c, s, "balance", where, g->balance, sizeof g->balance);
    str(c, s, "country", where, g->country, sizeof g->country);
    str(c, s, "language", where, g->language, sizeof g->language);
    str(c, s, "product", where, g->product, sizeof g->product);
    g->never_pay = num(c, s, "never_pay", where, 0, 1, NAN);
    g->amount_mean = num(c, s, "amount_mean", where, 0.01, 1e7, NAN);
    g->amount_sd = num(c, s, "amount_sd", where, 0, 3, 0.5);
    per_channel(c, s, "consent", where, g->consent);
    per_channel_hour(c, s, "pay", where, g->pay);
    per_channel_hour(c, s, "reply", where, g->reply);
    per_channel(c, s, "optout", where, g->optout);
    g->complaint = num(c, s, "complaint", where, 0, 1, NAN);
    json_t *lift = json_object_get(s, "variant_lift");
    char path[160];
    snprintf(path, sizeof path, "%s.variant_lift", where);
    if (!json_is_array(lift) || json_array_size(lift) != HILO_OPT_VARIANTS) fail(c, path, "expected 2 numbers");
    else
        for (int v = 0; v < HILO_OPT_VARIANTS; v++) {
            json_t *x = json_array_get(lift, (size_t)v);
            g->variant_lift[v] = json_is_number(x) ? json_number_value(x) : -1;
            if (!(g->variant_lift[v] >= 0 && g->variant_lift[v] <= 5)) fail(c, path, "a lift is not in 0..5");
        }
    json_t *f = json_object_get(s, "fatigue");
    snprintf(path, sizeof path, "%s.fatigue", where);
    if (!json_is_object(f)) fail(c, path, "expected {free, factor, optout_growth}");
    static const char *const fatigue_keys[] = {"free", "factor", "optout_growth"};
    known_keys(c, f, path, fatigue_keys, 3);
    g->fatigue_free = (int)num(c, f, "free", path, 0, 7, NAN);
    g->fatigue_factor = num(c, f, "factor", path, 0, 1, NAN);
    g->fatigue_optout = num(c, f, "optout_growth", path, 0, 100, NAN);
    g->delay_days = (int)num(c, s, "delay_days", where, 0, 6, 2);
    if (c->failed) return;
    json_t *mask = json_object_get(hours, g->country);
    snprintf(path, sizeof path, "hours_allowed.%s", g->country);
    if (!json_is_array(mask)) return fail(c, path, "missing: every segment's country needs its allowed hour buckets");
    g->hours_mask = 0;
    size_t i;
    json_t *x;
    json_array_foreach(mask, i, x) {
        int h = json_is_integer(x) ? (int)json_integer_value(x) : -1;
        if (h < 0 || h >= HILO_OPT_HOURS) return fail(c, path, "an hour bucket is not 0..3");
        g->hours_mask |= 1u << h;
    }
}

int sim_population_load(const char *path, double scale, sim_population_t *pop, char *err, size_t errlen) {
    ctx_t c = {.file = path, .err = err, .errlen = errlen};
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return -1;
    }
    memset(pop, 0, sizeof *pop);
    if (!json_is_object(root)) fail(&c, "(top)", "expected an object");
    else {
        str(&c, root, "name", "(top)", pop->name, sizeof pop->name);
        pop->cap_per_week = (int)num(&c, root, "cap_per_week", "(top)", 1, HILO_OPT_LEVELS - 1, NAN);
        cadence(&c, json_object_get(root, "fixed_cadence"), "fixed_cadence", &pop->fixed, pop->cap_per_week);
        json_t *fam = json_object_get(root, "cadences");
        if (fam) {
            if (!json_is_array(fam) || json_array_size(fam) == 0 || json_array_size(fam) > SIM_MAX_CADENCES)
                fail(&c, "cadences", "expected a list of 1..128 cadences");
            for (size_t i = 0; !c.failed && i < json_array_size(fam); i++) {
                char where[32];
                snprintf(where, sizeof where, "cadences[%zu]", i);
                cadence(&c, json_array_get(fam, i), where, &pop->cadences[pop->n_cadences++], pop->cap_per_week);
            }
        } else /* the default family: every channel and hour, 1..cap a week, variant a */
            for (int ch = 0; ch < HILO_OPT_CHANNELS; ch++)
                for (int h = 0; h < HILO_OPT_HOURS; h++)
                    for (int k = 1; k <= pop->cap_per_week && pop->n_cadences < SIM_MAX_CADENCES; k++)
                        pop->cadences[pop->n_cadences++] = (sim_cadence_t){ch, h, 0, k};
        json_t *hours = json_object_get(root, "hours_allowed");
        if (!c.failed && !json_is_object(hours)) fail(&c, "hours_allowed", "expected {country: [hour buckets]}");
        json_t *segs = json_object_get(root, "segments");
        if (!c.failed && (!json_is_array(segs) || json_array_size(segs) == 0 || json_array_size(segs) > SIM_MAX_SEGMENTS))
            fail(&c, "segments", "expected a list of 1..32 segments");
        for (size_t i = 0; !c.failed && i < json_array_size(segs); i++) {
            char where[32];
            snprintf(where, sizeof where, "segments[%zu]", i);
            sim_segment_t *g = &pop->seg[pop->n_segments++];
            segment(&c, json_array_get(segs, i), where, hours, scale, g);
            pop->total += g->size;
        }
        static const char *const top_keys[] = {"name", "cap_per_week", "fixed_cadence", "cadences",
                                               "hours_allowed", "segments", "note"};
        known_keys(&c, root, "", top_keys, sizeof top_keys / sizeof *top_keys);
    }
    json_decref(root);
    return c.failed ? -1 : 0;
}
