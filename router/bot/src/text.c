/* text.c — word splitting and phrase matching over the one text normaliser (textnorm.h). */
#include "text.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/textnorm.h"

size_t bot_fold(const char *in, char *out, size_t outlen, const char *keep) {
    assert(out && outlen > 0);
    return hilo_textnorm_fold(in, in ? strlen(in) : 0, out, outlen, keep, NULL);
}

void bot_words(const char *in, const char *keep, bot_words_t *w) {
    bot_fold(in, w->buf, sizeof w->buf, keep);
    w->n = 0;
    char *s = w->buf;
    while (*s && w->n < BOT_WORDS_MAX) {
        w->w[w->n++] = s;
        char *sp = strchr(s, ' ');
        if (!sp) break;
        *sp = '\0';
        s = sp + 1;
    }
}

static void pat_push(bot_pattern_t *p, const char *tok, uint8_t kind) {
    p->tok = hilo_xrealloc(p->tok, (size_t)(p->n + 1) * sizeof *p->tok);
    p->kind = hilo_xrealloc(p->kind, (size_t)(p->n + 1) * sizeof *p->kind);
    p->tok[p->n] = hilo_xstrdup(tok);
    p->kind[p->n] = kind;
    p->n++;
}

int bot_pattern_compile(const char *src, bot_pattern_t *p, char *why, size_t whylen) {
    memset(p, 0, sizeof *p);
    char raw[512];
    size_t len = strlen(src);
    if (len >= sizeof raw) {
        snprintf(why, whylen, "phrase longer than %zu bytes", sizeof raw - 1);
        return -1;
    }
    memcpy(raw, src, len + 1);
    char *start = raw;
    while (*start == ' ' || *start == '\t') start++;
    bool whole = *start == '=';
    if (whole) *start = ' ';
    for (char *save = NULL, *t = strtok_r(raw, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (strcmp(t, "...") == 0) {
            if (p->n == 0 || p->kind[p->n - 1] == BOT_PAT_GAP) {
                snprintf(why, whylen, "phrase '%s': '...' must sit between words", src);
                goto fail;
            }
            pat_push(p, "...", BOT_PAT_GAP);
            continue;
        }
        size_t tl = strlen(t);
        bool prefix = tl > 1 && t[tl - 1] == '*';
        if (prefix) t[tl - 1] = '\0';
        if (strchr(t, '*')) {
            snprintf(why, whylen, "phrase '%s': '*' may only end a word", src);
            goto fail;
        }
        bot_words_t w;
        bot_words(t, NULL, &w);
        if (w.n == 0) {
            snprintf(why, whylen, "phrase '%s': '%s' has no letters or digits", src, t);
            goto fail;
        }
        for (int i = 0; i < w.n; i++)
            pat_push(p, w.w[i], (prefix && i == w.n - 1) ? BOT_PAT_PREFIX : BOT_PAT_WORD);
    }
    if (p->n == 0) {
        snprintf(why, whylen, "empty phrase");
        goto fail;
    }
    if (p->kind[p->n - 1] == BOT_PAT_GAP) {
        snprintf(why, whylen, "phrase '%s': '...' must sit between words", src);
        goto fail;
    }
    for (int i = 0; whole && i < p->n; i++)
        if (p->kind[i] == BOT_PAT_GAP) {
            snprintf(why, whylen, "phrase '%s': an exact ('=') phrase cannot hold '...'", src);
            goto fail;
        }
    p->whole = whole;
    return 0;
fail:
    bot_pattern_free(p);
    return -1;
}

void bot_pattern_free(bot_pattern_t *p) {
    for (int i = 0; i < p->n; i++) free(p->tok[i]);
    free(p->tok);
    free(p->kind);
    memset(p, 0, sizeof *p);
}

static bool word_eq(const bot_pattern_t *p, int pi, const char *w) {
    if (p->kind[pi] == BOT_PAT_PREFIX) return strncmp(w, p->tok[pi], strlen(p->tok[pi])) == 0;
    return strcmp(w, p->tok[pi]) == 0;
}

static bool match_at(const bot_pattern_t *p, int pi, const bot_words_t *w, int wi) {
    if (pi == p->n) return true;
    if (p->kind[pi] == BOT_PAT_GAP) {
        for (int skip = 0; skip <= BOT_PAT_GAP_MAX && wi + skip <= w->n; skip++)
            if (match_at(p, pi + 1, w, wi + skip)) return true;
        return false;
    }
    if (wi >= w->n || !word_eq(p, pi, w->w[wi])) return false;
    return match_at(p, pi + 1, w, wi + 1);
}

bool bot_pattern_match(const bot_pattern_t *p, const bot_words_t *w) {
    if (p->whole) return w->n == p->n && match_at(p, 0, w, 0); /* no gaps: refused at compile */
    for (int i = 0; i < w->n; i++)
        if (match_at(p, 0, w, i)) return true;
    return false;
}

static const struct {
    const char *w;
    int v;
} NUMBER_WORDS[] = {
    {"cero", 0},     {"zero", 0},    {"uno", 1},     {"one", 1},     {"dos", 2},      {"two", 2},
    {"tres", 3},     {"three", 3},   {"cuatro", 4},  {"four", 4},    {"cinco", 5},    {"five", 5},
    {"seis", 6},     {"six", 6},     {"siete", 7},   {"seven", 7},   {"ocho", 8},     {"eight", 8},
    {"nueve", 9},    {"nine", 9},    {"diez", 10},   {"ten", 10},    {"once", 11},    {"eleven", 11},
    {"doce", 12},    {"twelve", 12}, {"primera", 1}, {"primero", 1}, {"first", 1},    {"segunda", 2},
    {"segundo", 2},  {"second", 2},  {"tercera", 3}, {"tercero", 3}, {"third", 3},    {"cuarta", 4},
    {"cuarto", 4},   {"fourth", 4},  {"quinta", 5},  {"quinto", 5},  {"fifth", 5},
};

int bot_number_word(const char *w) {
    for (size_t i = 0; i < HILO_ARRAY_LEN(NUMBER_WORDS); i++)
        if (strcmp(w, NUMBER_WORDS[i].w) == 0) return NUMBER_WORDS[i].v;
    return -1;
}

int bot_digit_word(const char *w) {
    for (size_t i = 0; i < 20; i++) /* the first 20 entries: the cardinals 0..9 in es and en */
        if (strcmp(w, NUMBER_WORDS[i].w) == 0) return NUMBER_WORDS[i].v;
    return -1;
}

bool bot_all_digits(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}
