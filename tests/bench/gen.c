/* gen.c — deterministic benchmark workload (see gen.h). */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/frame.h"

/* splitmix64: a good 64-bit mix of (seed, i, stream); every field of a message draws from its
 * own stream so that changing one rule (say the text) does not reshuffle the debtors. */
static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t draw(const bench_gen_t *g, uint64_t i, uint64_t stream) {
    return mix64(g->seed ^ mix64(i * 8 + stream));
}

/* What debtors write to a collections line, in the two languages the bot speaks. Accented
 * words keep the UTF-8 check and the JSON encoder honest. */
static const char *const words[] = {
    "hola",      "buenas",    "tardes",    "quiero",   "pagar",     "mañana",    "el",
    "saldo",     "de",        "mi",        "cuenta",   "no",        "puedo",     "este",
    "mes",       "porque",    "perdí",     "trabajo",  "podría",    "hacer",     "un",
    "plan",      "pagos",     "cuánto",    "debo",     "exactamente", "ya",      "pagué",
    "la",        "cuota",     "anterior",  "envío",    "comprobante", "por",     "favor",
    "llámenme",  "después",   "las",       "cinco",    "gracias",   "hello",     "I",
    "want",      "to",        "pay",       "my",       "balance",   "next",      "Friday",
    "can",       "you",       "send",      "me",       "the",       "payment",   "link",
    "please",    "already",   "paid",      "last",     "week",      "this",      "is",
    "not",       "debt",      "wrong",     "number",   "dispute",   "call",      "after",
    "6pm",       "$150",      "$75.50",    "15/12",    "ref",       "#88231",    "sí",
    "acepto",    "promesa",   "quincena",  "atención", "señora",    "teléfono",  "correo",
};

void bench_gen_defaults(bench_gen_t *g) {
    g->seed = 20261122;
    g->debtors = 10000;
    g->tag = 1;
    g->unknown_pm = 0;
    g->wa_weight = 60;
    g->sms_weight = 40;
    g->assign = BENCH_ASSIGN_RANDOM;
}

void bench_debtor_id(uint32_t d, char *buf, size_t n) { snprintf(buf, n, "D%07u", d); }

void bench_debtor_phone(uint32_t d, char *buf, size_t n) { snprintf(buf, n, "+1555%07u", d % 10000000u); }

void bench_gen_message(const bench_gen_t *g, uint64_t i, bench_msg_t *m) {
    uint32_t k = g->debtors ? g->debtors : 1;
    m->debtor = g->assign == BENCH_ASSIGN_ROUND_ROBIN ? (uint32_t)(i % k) : (uint32_t)(draw(g, i, 0) % k);
    m->known = !(g->unknown_pm && draw(g, i, 1) % 1000 < g->unknown_pm);
    uint32_t w = g->wa_weight + g->sms_weight;
    m->channel = (w == 0 || draw(g, i, 2) % w < g->wa_weight) ? HILO_CHANNEL_WHATSAPP : HILO_CHANNEL_SMS;
    if (m->known)
        bench_debtor_phone(m->debtor, m->e164, sizeof m->e164);
    else
        snprintf(m->e164, sizeof m->e164, "+15559%06u", m->debtor % 1000000u);
    if (m->channel == HILO_CHANNEL_WHATSAPP) {
        snprintf(m->from, sizeof m->from, "%s", m->e164 + 1); /* a wa_id has no '+' */
        m->to = "15550100001";
        /* WhatsApp ids look like wamid.HBgL<base64…>; the length is what matters here. */
        snprintf(m->pmid, sizeof m->pmid, "wamid.HBgL%08X%016llXAA", (unsigned)g->tag,
                 (unsigned long long)mix64(i ^ ((uint64_t)g->tag << 40)));
    } else {
        snprintf(m->from, sizeof m->from, "%s", m->e164);
        m->to = "+15550100002";
        /* Twilio MessageSid: "SM" + 32 hex digits. */
        snprintf(m->pmid, sizeof m->pmid, "SM%08x%08x%016llx", (unsigned)g->tag, (unsigned)(i >> 32),
                 (unsigned long long)(i ^ mix64(g->seed)));
    }
    /* Text: whole words until a target length drawn uniformly in 60..200 bytes. */
    uint64_t r = draw(g, i, 3);
    size_t target = 60 + (size_t)(r % 141);
    size_t len = 0;
    uint64_t s = draw(g, i, 4);
    while (len < target) {
        s = mix64(s);
        const char *wd = words[s % HILO_ARRAY_LEN(words)];
        size_t wl = strlen(wd);
        if (len + wl + 1 > 200) {
            if (len >= 60) break;
            wd = "ok";
            wl = 2;
        }
        if (len) m->text[len++] = ' ';
        memcpy(m->text + len, wd, wl);
        len += wl;
    }
    m->text[len] = '\0';
    m->text_len = len;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int64_t bench_percentile(const int64_t *sorted, size_t n, double p) {
    if (n == 0) return 0;
    /* Nearest rank: the smallest sample with at least p% of samples at or below it. */
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

void bench_latency_json(int64_t *samples, size_t n, char *buf, size_t len) {
    qsort(samples, n, sizeof *samples, cmp_i64);
    double sum = 0;
    for (size_t k = 0; k < n; k++) sum += (double)samples[k];
    snprintf(buf, len,
             "{\"n\":%zu,\"p50\":%lld,\"p90\":%lld,\"p99\":%lld,\"p999\":%lld,\"max\":%lld,\"mean\":%.1f}", n,
             (long long)bench_percentile(samples, n, 50), (long long)bench_percentile(samples, n, 90),
             (long long)bench_percentile(samples, n, 99), (long long)bench_percentile(samples, n, 99.9),
             (long long)(n ? samples[n - 1] : 0), n ? sum / (double)n : 0.0);
}
