/* credit.c — what the optimizer learns from: decisions and debtor-weeks counted on their cell,
 * results credited to the decision that preceded them (each kind once, within the window, then
 * the credit expires), the reward, and the fixed layouts of a cell (<= 1 KB) and of a debtor's
 * credit (16 bytes) for Redis (hilo/optimizer.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hilo/optimizer.h"

#define CELL_FLOATS ((int)(sizeof(hilo_opt_cell_t) / sizeof(float)))
_Static_assert(sizeof(hilo_opt_cell_t) == CELL_FLOATS * sizeof(float), "a cell is floats only");
_Static_assert(4 + CELL_FLOATS * 4 == HILO_OPT_CELL_BYTES, "HILO_OPT_CELL_BYTES follows the cell");
_Static_assert(HILO_OPT_CELL_BYTES <= 1024, "a cell's state stays within 1 KB");
_Static_assert(HILO_OPT_ARMS <= 32, "an allowed-set is a 32-bit mask");
#define CELL_VERSION 1
#define CREDIT_VERSION 1

void hilo_opt_record_decision(hilo_opt_cell_t *cell, uint32_t cell_id, const hilo_opt_decision_t *d, int nth,
                              int64_t now_ms, hilo_opt_credit_t *credit) {
    if (d->arm < 0 || d->arm >= HILO_OPT_ARMS) return; /* no contact: nothing to credit */
    if (nth < 1) nth = 1;
    if (nth >= HILO_OPT_LEVELS) nth = HILO_OPT_LEVELS - 1;
    cell->arm[d->arm].n += 1;
    cell->level[nth].n += 1;
    credit->nth = (uint8_t)nth;
    credit->cell_id = cell_id;
    credit->decided_s = (uint32_t)(now_ms / 1000);
    credit->arm = (int8_t)d->arm;
    credit->flags &= (uint8_t)~(HILO_OPT_CR_PAY | HILO_OPT_CR_REPLY | HILO_OPT_CR_BAD);
}

void hilo_opt_record_week(hilo_opt_cell_t *cell, uint32_t cell_id, int level, int holdout, int64_t now_ms,
                          hilo_opt_credit_t *credit) {
    if (level < 0) level = 0;
    if (level >= HILO_OPT_LEVELS) level = HILO_OPT_LEVELS - 1;
    if (holdout) cell->hold.n += 1;
    else cell->treat.n += 1;
    credit->cell_id = cell_id;
    credit->week_s = (uint32_t)(now_ms / 1000);
    credit->level = (uint8_t)level;
    credit->flags = (uint8_t)((credit->flags & (HILO_OPT_CR_PAY | HILO_OPT_CR_REPLY | HILO_OPT_CR_BAD)) |
                              (holdout ? HILO_OPT_CR_HOLD : 0));
    if (holdout) credit->arm = -1; /* the fixed cadence's sends are no arm's */
}

static void bump(hilo_opt_stat_t *s, int kind) {
    if (kind == HILO_OPT_CR_PAY) s->pay += 1;
    else if (kind == HILO_OPT_CR_REPLY) s->reply += 1;
    else s->bad += 1;
}

static int within(uint32_t start_s, int64_t now_ms, int days) {
    int64_t now_s = now_ms / 1000;
    return start_s != 0 && now_s >= start_s && now_s - start_s <= (int64_t)days * 86400;
}

int hilo_opt_credit(const hilo_opt_config_t *cfg, hilo_opt_cell_t *cell, hilo_opt_credit_t *credit,
                    hilo_opt_event_t ev, double amount, int64_t now_ms) {
    int kind = ev == HILO_OPT_EV_PAY || ev == HILO_OPT_EV_PROMISE ? HILO_OPT_CR_PAY
               : ev == HILO_OPT_EV_REPLY                         ? HILO_OPT_CR_REPLY
                                                                 : HILO_OPT_CR_BAD;
    int wkind = kind << 3, done = 0;
    if (credit->arm >= 0 && credit->arm < HILO_OPT_ARMS && !(credit->flags & kind) &&
        within(credit->decided_s, now_ms, cfg->window_days)) {
        bump(&cell->arm[credit->arm], kind);
        bump(&cell->level[credit->nth >= 1 && credit->nth < HILO_OPT_LEVELS ? credit->nth : 1], kind);
        done |= kind;
    }
    if (!(credit->flags & wkind) && within(credit->week_s, now_ms, 7)) {
        bump(credit->flags & HILO_OPT_CR_HOLD ? &cell->hold : &cell->treat, kind);
        done |= wkind;
    }
    if (done && kind == HILO_OPT_CR_PAY && amount > 0 && isfinite(amount)) {
        cell->amount_n += 1;
        cell->amount_sum += (float)amount;
    }
    credit->flags |= (uint8_t)done;
    return done;
}

double hilo_opt_reward(const hilo_opt_config_t *cfg, hilo_opt_event_t ev, double amount) {
    switch (ev) {
    case HILO_OPT_EV_PAY:
    case HILO_OPT_EV_PROMISE: return cfg->w_amount * amount + cfg->w_success;
    case HILO_OPT_EV_REPLY: return cfg->w_reply;
    case HILO_OPT_EV_OPTOUT:
    case HILO_OPT_EV_COMPLAINT:
    case HILO_OPT_EV_DISPUTE: return -cfg->penalty;
    }
    return 0;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void hilo_opt_cell_pack(const hilo_opt_cell_t *cell, uint8_t out[HILO_OPT_CELL_BYTES]) {
    const float *f = (const float *)cell;
    out[0] = 'H', out[1] = 'O', out[2] = CELL_VERSION, out[3] = 0;
    for (int i = 0; i < CELL_FLOATS; i++) {
        uint32_t v;
        memcpy(&v, &f[i], 4);
        put32(out + 4 + 4 * i, v);
    }
}

static int stat_ok(const hilo_opt_stat_t *s) {
    /* float sums drift by rounding: allow a hair over n */
    float lim = s->n * 1.0001f + 0.01f;
    return s->pay <= lim && s->reply <= lim && s->bad <= lim;
}

int hilo_opt_cell_unpack(const uint8_t *in, size_t len, hilo_opt_cell_t *cell, char *err, size_t errlen) {
    if (len != HILO_OPT_CELL_BYTES) {
        snprintf(err, errlen, "optimizer cell: %zu bytes, expected %d", len, HILO_OPT_CELL_BYTES);
        return -1;
    }
    if (in[0] != 'H' || in[1] != 'O' || in[2] != CELL_VERSION) {
        snprintf(err, errlen, "optimizer cell: not a version %d cell", CELL_VERSION);
        return -1;
    }
    hilo_opt_cell_t c;
    float *f = (float *)&c;
    for (int i = 0; i < CELL_FLOATS; i++) {
        uint32_t v = get32(in + 4 + 4 * i);
        memcpy(&f[i], &v, 4);
        if (!isfinite(f[i]) || f[i] < 0) {
            snprintf(err, errlen, "optimizer cell: count %d is negative or not a number", i);
            return -1;
        }
    }
    int ok = stat_ok(&c.treat) && stat_ok(&c.hold);
    for (int a = 0; ok && a < HILO_OPT_ARMS; a++) ok = stat_ok(&c.arm[a]);
    for (int l = 0; ok && l < HILO_OPT_LEVELS; l++) ok = stat_ok(&c.level[l]);
    if (!ok) {
        snprintf(err, errlen, "optimizer cell: more results than decisions");
        return -1;
    }
    *cell = c;
    return 0;
}

void hilo_opt_credit_pack(const hilo_opt_credit_t *c, uint8_t out[HILO_OPT_CREDIT_BYTES]) {
    put32(out, c->cell_id);
    put32(out + 4, c->decided_s);
    put32(out + 8, c->week_s);
    /* byte 12: the arm + 1 (0: none) in the low 5 bits, the decision's n-th of the week above */
    out[12] = (uint8_t)((c->arm + 1) | (c->nth & 7) << 5);
    out[13] = c->level, out[14] = c->flags, out[15] = CREDIT_VERSION;
}

int hilo_opt_credit_unpack(const uint8_t *in, size_t len, hilo_opt_credit_t *c, char *err, size_t errlen) {
    if (len != HILO_OPT_CREDIT_BYTES || in[15] != CREDIT_VERSION) {
        snprintf(err, errlen, "optimizer credit: not a %d-byte version %d record", HILO_OPT_CREDIT_BYTES,
                 CREDIT_VERSION);
        return -1;
    }
    int arm = (in[12] & 31) - 1;
    if (arm >= HILO_OPT_ARMS || in[13] >= HILO_OPT_LEVELS || in[14] > 127) {
        snprintf(err, errlen, "optimizer credit: arm %d, level %u or flags %u out of range", arm, in[13], in[14]);
        return -1;
    }
    *c = (hilo_opt_credit_t){.cell_id = get32(in), .decided_s = get32(in + 4), .week_s = get32(in + 8),
                             .arm = (int8_t)arm, .nth = (uint8_t)(in[12] >> 5), .level = in[13],
                             .flags = in[14]};
    return 0;
}
