/* extract.c — amounts, dates, digits and options from free text (es and en). */
#include "extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "text.h"

/* ---- civil dates ----------------------------------------------------------------------
 * Days from/to (y, m, d) with 400-year eras (the classic civil-calendar algorithm): exact for
 * any year, no tables, no time zone — the caller's "today" already is the debtor's day. */

int32_t bot_days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153u * (unsigned)(m > 2 ? m - 3 : m + 9) + 2u) / 5u + (unsigned)d - 1u;
    unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void bot_civil_from_days(int32_t days, int *y, int *m, int *d) {
    int z = (int)days + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    unsigned doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
    unsigned mp = (5u * doy + 2u) / 153u;
    *d = (int)(doy - (153u * mp + 2u) / 5u + 1u);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)yoe + era * 400 + (*m <= 2);
}

int bot_days_in_month(int y, int m) {
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12) return 0;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return dim[m - 1] + (m == 2 && leap);
}

bool bot_date_valid(int y, int m, int d) {
    return y >= 1970 && y <= 9999 && d >= 1 && d <= bot_days_in_month(y, m);
}

int bot_weekday(int32_t days) { return (int)(((days % 7) + 7 + 3) % 7); } /* 1970-01-01: Thursday */

int bot_date_parse(const char *iso, int32_t *days) {
    if (!iso || strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-') return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (iso[i] < '0' || iso[i] > '9')) return -1;
    int y = atoi(iso), m = atoi(iso + 5), d = atoi(iso + 8);
    if (!bot_date_valid(y, m, d)) return -1;
    *days = bot_days_from_civil(y, m, d);
    return 0;
}

void bot_date_iso(int32_t days, char out[11]) {
    int y, m, d;
    bot_civil_from_days(days, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y % 10000, m, d);
}

static const char *const MONTHS_ES[12] = {"enero",  "febrero", "marzo",      "abril",
                                          "mayo",   "junio",   "julio",      "agosto",
                                          "septiembre", "octubre", "noviembre", "diciembre"};
static const char *const MONTHS_EN[12] = {"January", "February", "March",     "April",
                                          "May",     "June",     "July",      "August",
                                          "September", "October", "November", "December"};
static const char *const MONTHS_EN_LOWER[12] = {"january", "february", "march",     "april",
                                                "may",     "june",     "july",      "august",
                                                "september", "october", "november", "december"};
static const char *const MONTHS_ES_ABBR[12] = {"ene", "feb", "mar", "abr", "may", "jun",
                                               "jul", "ago", "sep", "oct", "nov", "dic"};
static const char *const MONTHS_EN_ABBR[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                               "jul", "aug", "sep", "oct", "nov", "dec"};

const char *bot_month_name(const char *lang, int month) {
    if (month < 1 || month > 12) return NULL;
    if (strcmp(lang, "es") == 0) return MONTHS_ES[month - 1];
    if (strcmp(lang, "en") == 0) return MONTHS_EN[month - 1];
    return NULL;
}

/* 1..12 for a month name or abbreviation in es or en (folded), else -1. */
static int month_of(const char *w) {
    for (int i = 0; i < 12; i++) {
        if (strcmp(w, MONTHS_ES[i]) == 0 || strcmp(w, MONTHS_ES_ABBR[i]) == 0 ||
            strcmp(w, MONTHS_EN_ABBR[i]) == 0 || strcmp(w, MONTHS_EN_LOWER[i]) == 0)
            return i + 1;
    }
    if (strcmp(w, "setiembre") == 0 || strcmp(w, "set") == 0 || strcmp(w, "sept") == 0) return 9;
    return -1;
}

static const char *const WEEKDAYS_ES[7] = {"lunes",   "martes", "miercoles", "jueves",
                                           "viernes", "sabado", "domingo"};
static const char *const WEEKDAYS_EN[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                           "friday", "saturday", "sunday"};

static bool in_list(const char *w, const char *const *list) {
    for (; *list; list++)
        if (strcmp(w, *list) == 0) return true;
    return false;
}

/* ---- amounts ---------------------------------------------------------------------------- */

int bot_money_parse(const char *s, int64_t *cents) {
    size_t len = strlen(s);
    if (len == 0 || s[0] < '0' || s[0] > '9') return -1;
    long last_sep = -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') continue;
        if (s[i] != '.' && s[i] != ',') return -1;
        if (last_sep == (long)i - 1) return -1; /* "1..5" */
        last_sep = (long)i;
    }
    if (last_sep == (long)len - 1) return -1; /* "150." was stripped by the caller if wanted */
    size_t after = last_sep >= 0 ? len - (size_t)last_sep - 1 : 0;
    bool decimal = last_sep >= 0 && after <= 2;
    if (last_sep >= 0 && !decimal && after != 3) return -1; /* "12.3456" */
    int64_t units = 0;
    int ndigits = 0;
    size_t end = decimal ? (size_t)last_sep : len;
    for (size_t i = 0; i < end; i++) {
        if (s[i] < '0' || s[i] > '9') continue;
        if (++ndigits > 13) return -1; /* ten trillion: not an amount anyone owes */
        units = units * 10 + (s[i] - '0');
    }
    int frac = 0;
    if (decimal) frac = after == 1 ? (s[len - 1] - '0') * 10 : (s[len - 2] - '0') * 10 + (s[len - 1] - '0');
    *cents = units * 100 + frac;
    return 0;
}

/* ---- tokens for amounts and dates -------------------------------------------------------- */

#define XT_MAX 64

typedef struct {
    char s[40];      /* folded word, currency marks and edge punctuation stripped */
    bool num;        /* a number (amount or day) */
    bool ordinal;    /* 3rd, 15th, 1ro, 1er: a day of the month */
    bool money;      /* a currency mark or word touches it */
    bool currency;   /* the word itself is a currency ("pesos", "$") */
    bool slash;      /* d/m, d/m/y, y-m-d */
    bool used;       /* consumed by the date */
    int64_t cents;   /* num: the value as an amount */
    long ival;       /* num: the value when written as plain digits (≤ 9), else -1 */
    int part[3];     /* slash: the numbers */
    int plen[3];     /* slash: how many digits each had */
    int nparts;      /* slash: 2 or 3 */
} xtok_t;

typedef struct {
    xtok_t t[XT_MAX];
    int n;
} xtoks_t;

static const char *const CURRENCY_WORDS[] = {
    "$",     "usd",   "us",        "dolar",  "dolares", "dollar",  "dollars",  "bucks",
    "peso",  "pesos", "mxn",       "cop",    "clp",     "ars",     "pen",      "sol",
    "soles", "eur",   "euro",      "euros",  "gtq",     "quetzal", "quetzales", "lempira",
    "lempiras", "colon", "colones", "bs",    "reales",  "brl",     "dop",      NULL};
static const char *const ORDINAL_SUFFIXES[] = {"st", "nd", "rd", "th", "ro", "do", "to",
                                               "vo", "er", "o",  "mo", "no", NULL};
static const char *const THOUSANDS[] = {"mil", "thousand", "k", NULL};

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static void strip_edges(char *s, const char *chars) {
    size_t len = strlen(s), a = 0;
    while (a < len && strchr(chars, s[a])) a++;
    while (len > a && strchr(chars, s[len - 1])) len--;
    memmove(s, s + a, len - a);
    s[len - a] = '\0';
}

static bool strip_prefix(char *s, const char *prefix) {
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0) return false;
    memmove(s, s + n, strlen(s + n) + 1);
    return true;
}

/* d/m, d-m, d/m/y, y-m-d: 2 or 3 groups of digits joined by one kind of separator. */
static bool parse_slash(xtok_t *t) {
    const char *p = t->s;
    char sep = 0;
    t->nparts = 0;
    while (*p) {
        if (t->nparts == 3 || !is_digit(*p)) return false;
        int v = 0, len = 0;
        while (is_digit(*p)) {
            if (++len > 4) return false;
            v = v * 10 + (*p++ - '0');
        }
        t->part[t->nparts] = v;
        t->plen[t->nparts++] = len;
        if (!*p) break;
        if ((*p != '/' && *p != '-') || (sep && *p != sep)) return false;
        sep = *p++;
        if (!*p) return false;
    }
    if (t->nparts == 2) return t->plen[0] <= 2 && t->plen[1] <= 2;
    if (t->nparts != 3) return false;
    if (t->plen[0] == 4) return t->plen[1] <= 2 && t->plen[2] <= 2;
    return t->plen[0] <= 2 && t->plen[1] <= 2 && (t->plen[2] == 2 || t->plen[2] == 4);
}

static void classify(xtok_t *t, const char *raw) {
    memset(t, 0, sizeof *t);
    t->ival = -1;
    snprintf(t->s, sizeof t->s, "%s", raw);
    if (strcmp(t->s, "s/") == 0 || strcmp(t->s, "us$") == 0) strcpy(t->s, "$");
    if (strcmp(t->s, "$") == 0) {
        t->currency = true;
        return;
    }
    strip_edges(t->s, ".,-/");
    if (strip_prefix(t->s, "us$") || strip_prefix(t->s, "$") || strip_prefix(t->s, "s/")) t->money = true;
    size_t len = strlen(t->s);
    if (len && t->s[len - 1] == '$') {
        t->s[--len] = '\0';
        t->money = true;
    }
    strip_edges(t->s, ".,-/");
    if (!is_digit(t->s[0])) {
        t->currency = in_list(t->s, CURRENCY_WORDS);
        return;
    }
    if (strpbrk(t->s, "/-")) {
        t->slash = parse_slash(t);
        return;
    }
    char numpart[40];
    size_t n = 0;
    while (t->s[n] && (is_digit(t->s[n]) || t->s[n] == '.' || t->s[n] == ',')) n++;
    memcpy(numpart, t->s, n);
    numpart[n] = '\0';
    strip_edges(numpart, ".,");
    const char *suffix = t->s + n;
    bool thousands = in_list(suffix, THOUSANDS);
    bool ordinal = in_list(suffix, ORDINAL_SUFFIXES);
    bool cur = in_list(suffix, CURRENCY_WORDS);
    if (*suffix && !thousands && !ordinal && !cur) return; /* "4g", "10am": not ours */
    if (bot_money_parse(numpart, &t->cents) != 0) return;
    t->num = true;
    if (bot_all_digits(numpart) && strlen(numpart) <= 9) t->ival = atol(numpart);
    if (cur) t->money = true;
    if (thousands) {
        t->cents *= 1000;
        t->ival = -1;
    }
    if (ordinal) t->ordinal = t->ival >= 1 && t->ival <= 31;
    if (ordinal && !t->ordinal) t->num = false; /* "45th": neither a day nor an amount */
}

static void tokenize(const char *text, xtoks_t *x) {
    bot_words_t w;
    bot_words(text, "/.,-$", &w);
    x->n = 0;
    for (int i = 0; i < w.n && x->n < XT_MAX; i++) {
        xtok_t *t = &x->t[x->n];
        classify(t, w.w[i]);
        if (t->s[0] || t->currency) x->n++;
    }
    /* A currency word next to a number makes it money ("200 pesos", "USD 150");
     * "mil"/"thousand" after one multiplies it ("2 mil"). */
    for (int i = 0; i < x->n; i++) {
        xtok_t *t = &x->t[i];
        if (!t->num) continue;
        if ((i > 0 && x->t[i - 1].currency) || (i + 1 < x->n && x->t[i + 1].currency)) t->money = true;
        if (i + 1 < x->n && in_list(x->t[i + 1].s, THOUSANDS)) {
            t->cents *= 1000;
            t->ival = -1;
            if (i + 2 < x->n && x->t[i + 2].currency) t->money = true;
        }
    }
}

static bool word_is(const xtoks_t *x, int i, const char *w) {
    return i >= 0 && i < x->n && strcmp(x->t[i].s, w) == 0;
}

/* A day of the month: 1..31 written plainly or as an ordinal, not money. */
static bool day_tok(const xtoks_t *x, int i) {
    if (i < 0 || i >= x->n) return false;
    const xtok_t *t = &x->t[i];
    return t->num && !t->money && !t->used && (t->ordinal || (t->ival >= 1 && t->ival <= 31));
}

/* ---- dates ------------------------------------------------------------------------------- */

static void set_ymd(bot_promise_text_t *out, int y, int m, int d) {
    if (y < 100) y += 2000;
    if (bot_date_valid(y, m, d)) {
        out->has_date = true;
        out->date = bot_days_from_civil(y, m, d);
    } else {
        out->bad_date = true;
    }
}

/* A day and month without a year: this year's, unless that is more than half a year ago —
 * "15/12" said on 20 December is a date in the past (the debtor is told so), "05/01" said on
 * 20 December is next January. */
static void set_md(bot_promise_text_t *out, int32_t today, int m, int d) {
    int ty, tm, td;
    bot_civil_from_days(today, &ty, &tm, &td);
    for (int y = ty; y <= ty + 4; y++) { /* 29/02 waits for a leap year, at most 4 away */
        if (!bot_date_valid(y, m, d)) {
            if (m == 2 && d == 29) continue;
            break;
        }
        int32_t days = bot_days_from_civil(y, m, d);
        if (days >= today - 183) {
            out->has_date = true;
            out->date = days;
            return;
        }
    }
    out->bad_date = true;
}

/* "el 15": this month's 15th if it has not passed, else next month's. */
static void set_day(bot_promise_text_t *out, int32_t today, int d) {
    int y, m, td;
    bot_civil_from_days(today, &y, &m, &td);
    if (d < td) {
        if (++m == 13) {
            m = 1;
            y++;
        }
    }
    set_ymd(out, y, m, d);
}

static bool find_slash(xtoks_t *x, bot_date_order_t order, int32_t today, bot_promise_text_t *out) {
    for (int i = 0; i < x->n; i++) {
        xtok_t *t = &x->t[i];
        if (!t->slash) continue;
        t->used = true;
        if (t->nparts == 3 && t->plen[0] == 4) {
            set_ymd(out, t->part[0], t->part[1], t->part[2]);
            return true;
        }
        int a = t->part[0], b = t->part[1], d, m;
        if (a > 12 || (b <= 12 && order == BOT_DMY)) {
            d = a;
            m = b;
        } else {
            m = a;
            d = b;
        }
        if (t->nparts == 3)
            set_ymd(out, t->part[2], m, d);
        else if (m >= 1 && m <= 12)
            set_md(out, today, m, d);
        else
            out->bad_date = true;
        return true;
    }
    return false;
}

/* "3 de diciembre", "December 3rd, 2024", "3 dic", "the 3rd of December". A month name with
 * no day next to it is not a date ("I may pay"). */
static bool find_month(xtoks_t *x, int32_t today, bot_promise_text_t *out) {
    for (int i = 0; i < x->n; i++) {
        int m = month_of(x->t[i].s);
        if (m < 0) continue;
        int di = -1;
        int j = i + 1;
        if (word_is(x, j, "the") || word_is(x, j, "el")) j++;
        if (day_tok(x, j)) {
            di = j;
        } else {
            j = i - 1;
            if (word_is(x, j, "de") || word_is(x, j, "of")) j--;
            if (day_tok(x, j)) di = j;
        }
        if (di < 0) continue;
        x->t[i].used = x->t[di].used = true;
        int k = (di > i ? di : i) + 1;
        if (word_is(x, k, "de") || word_is(x, k, "del")) k++;
        if (k < x->n && x->t[k].ival >= 2000 && x->t[k].ival <= 2100 && !x->t[k].money) {
            x->t[k].used = true;
            set_ymd(out, (int)x->t[k].ival, m, (int)x->t[di].ival);
        } else {
            set_md(out, today, m, (int)x->t[di].ival);
        }
        return true;
    }
    return false;
}

static void set_days(bot_promise_text_t *out, int32_t days) {
    out->has_date = true;
    out->date = days;
}

/* hoy/today, mañana/tomorrow, pasado mañana, next week, fin de mes, en 5 días. */
static bool find_relative(xtoks_t *x, int32_t today, bot_promise_text_t *out) {
    static const char *const TODAY[] = {"hoy", "today", "tonight", NULL};
    static const char *const TOMORROW[] = {"manana", "tomorrow", "tmrw", "tmr", NULL};
    static const char *const DAYS[] = {"dia", "dias", "day", "days", NULL};
    static const char *const WEEKS[] = {"semana", "semanas", "week", "weeks", NULL};
    static const char *const WITHIN[] = {"en", "in", "de", "within", NULL};
    for (int i = 0; i < x->n; i++) {
        const char *w = x->t[i].s;
        if (in_list(w, TODAY)) {
            set_days(out, today);
            return true;
        }
        if (in_list(w, TOMORROW)) {
            if (word_is(x, i - 1, "la")) continue; /* "por la mañana": the morning */
            bool after = word_is(x, i - 1, "pasado") || (word_is(x, i - 1, "after") && word_is(x, i - 2, "day"));
            set_days(out, today + (after ? 2 : 1));
            return true;
        }
        bool days = in_list(w, DAYS), weeks = in_list(w, WEEKS);
        if ((days || weeks) && i > 0 && x->t[i - 1].ival >= 1 && x->t[i - 1].ival <= 366 &&
            (in_list(i >= 2 ? x->t[i - 2].s : "", WITHIN) || word_is(x, i + 1, "from") || word_is(x, i + 1, "mas"))) {
            x->t[i - 1].used = true;
            set_days(out, today + (int32_t)x->t[i - 1].ival * (weeks ? 7 : 1));
            return true;
        }
        if (weeks && (word_is(x, i - 1, "proxima") || word_is(x, i - 1, "next") ||
                      (word_is(x, i + 1, "que") && word_is(x, i + 2, "viene")))) {
            set_days(out, today + 7);
            return true;
        }
        if ((strcmp(w, "mes") == 0 || strcmp(w, "month") == 0) &&
            (word_is(x, i - 2, "fin") || word_is(x, i - 3, "fin") || word_is(x, i - 2, "end") ||
             word_is(x, i - 3, "end"))) {
            int y, m, d;
            bot_civil_from_days(today, &y, &m, &d);
            set_ymd(out, y, m, bot_days_in_month(y, m));
            return true;
        }
    }
    return false;
}

/* "el viernes", "on Friday": the next one after today. */
static bool find_weekday(xtoks_t *x, int32_t today, bot_promise_text_t *out) {
    for (int i = 0; i < x->n; i++)
        for (int wd = 0; wd < 7; wd++)
            if (strcmp(x->t[i].s, WEEKDAYS_ES[wd]) == 0 || strcmp(x->t[i].s, WEEKDAYS_EN[wd]) == 0) {
                int delta = (wd - bot_weekday(today) + 7) % 7;
                set_days(out, today + (delta ? delta : 7));
                return true;
            }
    return false;
}

/* "el 15", "el día 15", "the 15th", "on the 3rd", "15th". */
static bool find_day(xtoks_t *x, int32_t today, bot_promise_text_t *out) {
    static const char *const BEFORE_DAY[] = {"el", "dia", "the", "on", "day", NULL};
    for (int i = 0; i < x->n; i++) {
        if (!day_tok(x, i)) continue;
        if (!x->t[i].ordinal && !(i > 0 && in_list(x->t[i - 1].s, BEFORE_DAY))) continue;
        x->t[i].used = true;
        set_day(out, today, (int)x->t[i].ival);
        return true;
    }
    return false;
}

void bot_extract_promise(const char *text, bot_date_order_t order, int32_t today,
                         bot_promise_text_t *out) {
    static const char *const FULL[] = {"todo", "total", "totalidad", "completo", "full", "everything",
                                       "entire", NULL};
    memset(out, 0, sizeof *out);
    xtoks_t *x = hilo_xmalloc(sizeof *x);
    tokenize(text, x);
    /* Most specific first: "el 3 de diciembre" is a month date, not "el 3". */
    if (!find_slash(x, order, today, out) && !find_month(x, today, out) && !find_relative(x, today, out) &&
        !find_weekday(x, today, out))
        find_day(x, today, out);
    int best = -1;
    for (int i = 0; i < x->n; i++) {
        const xtok_t *t = &x->t[i];
        if (!t->num || t->used || t->ordinal) continue;
        if (t->money) {
            best = i;
            break;
        }
        if (best < 0) best = i;
    }
    if (best >= 0) {
        out->has_amount = true;
        out->amount_cents = x->t[best].cents;
    } else {
        for (int i = 0; i < x->n; i++)
            if (in_list(x->t[i].s, FULL)) out->full = true;
    }
    free(x);
}

/* ---- digits and options ---------------------------------------------------------------- */

int bot_extract_digits(const char *text, char *out, size_t outlen) {
    bot_words_t *w = hilo_xmalloc(sizeof *w);
    bot_words(text, NULL, w);
    int count = 0;
    size_t o = 0;
    for (int i = 0; i < w->n; i++) {
        if (bot_all_digits(w->w[i])) {
            for (const char *p = w->w[i]; *p; p++, count++)
                if (o + 1 < outlen) out[o++] = *p;
            continue;
        }
        int d = bot_digit_word(w->w[i]);
        if (d >= 0) {
            if (o + 1 < outlen) out[o++] = (char)('0' + d);
            count++;
        }
    }
    if (outlen) out[o] = '\0';
    free(w);
    return count;
}

static const char *const OPTION_FILLERS[] = {
    "opcion", "option", "opt",    "numero", "number", "num",   "nro",   "el",      "la",     "lo",
    "the",    "quiero", "want",   "i",      "id",     "like",  "would", "elijo",   "escojo", "prefiero",
    "tomo",   "choose", "pick",   "take",   "press",  "marco", "marque", "digito", "plan",   "por",
    "favor",  "please", "pls",    "porfa",  "de",     "a",     "an",    "me",      "interesa", "ok",
    "go",     "with",   "con",    "yo",     "my",     "mi",    "es",    "is",      "para",   "no",
    "si",     "mejor",  "better", "instead", "rather", "then", "entonces", "pues", NULL};

int bot_extract_option(const char *text) {
    bot_words_t *w = hilo_xmalloc(sizeof *w);
    bot_words(text, NULL, w);
    int val = -1;
    for (int i = 0; i < w->n; i++) {
        if (in_list(w->w[i], OPTION_FILLERS)) continue;
        int v = -1;
        if (bot_all_digits(w->w[i]) && strlen(w->w[i]) <= 2)
            v = atoi(w->w[i]);
        else
            v = bot_number_word(w->w[i]);
        if (v < 0 || val >= 0) {
            val = -1;
            break;
        }
        val = v;
    }
    free(w);
    return val;
}

int bot_extract_count(const char *text) {
    static const char *const UNITS[] = {"cuotas", "cuota", "meses", "mensualidades", "pagos",
                                        "parcialidades", "abonos", "instalments", "installments",
                                        "payments", "months", NULL};
    bot_words_t *w = hilo_xmalloc(sizeof *w);
    bot_words(text, NULL, w);
    int val = -1;
    for (int i = 0; i + 1 < w->n && val < 0; i++) {
        if (!in_list(w->w[i + 1], UNITS)) continue;
        if (bot_all_digits(w->w[i]) && strlen(w->w[i]) <= 3)
            val = atoi(w->w[i]);
        else
            val = bot_number_word(w->w[i]);
    }
    free(w);
    return val;
}
