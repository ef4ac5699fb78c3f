/* optout.c — opt-out / opt-in keyword detection (see optout.h, docs/compliance.md).
 *
 * Why whole-message matching for most keywords: in collections Spanish, "cancelar" is also "to
 * pay off" ("quiero cancelar la deuda" = "I want to pay off the debt") and "baja" is also
 * "lower" ("baja la cuota"), so a first-word rule would opt out debtors who are trying to pay.
 * Only words that mean nothing but "opt out" (STOP, STOPALL, UNSUBSCRIBE) match as a first word.
 * Longer phrasings ("please stop texting me") are the bot's opt-out intent, not a keyword. */
#include "hilo/optout.h"

#include <string.h>
#include <strings.h>

#include "hilo/frame.h"
#include "hilo/textnorm.h"

#define NORM_MAX 96   /* folded bytes kept; a longer message is never a whole keyword */
#define WORDS_MAX 12  /* words kept */

typedef struct {
    const char *word; /* upper-case ASCII, single spaces; compared with folded (lower-case) text */
    hilo_keyword_kind_t kind;
    const char *lang;
    bool first_word;  /* also matches as the first word of a longer text message */
} keyword_t;

static const keyword_t keywords[] = {
    {"STOP", HILO_KEYWORD_OPTOUT, "en", true},
    {"STOPALL", HILO_KEYWORD_OPTOUT, "en", true},
    {"UNSUBSCRIBE", HILO_KEYWORD_OPTOUT, "en", true},
    {"CANCEL", HILO_KEYWORD_OPTOUT, "en", false},
    {"END", HILO_KEYWORD_OPTOUT, "en", false},
    {"QUIT", HILO_KEYWORD_OPTOUT, "en", false},
    {"REVOKE", HILO_KEYWORD_OPTOUT, "en", false},
    {"OPT OUT", HILO_KEYWORD_OPTOUT, "en", false},
    {"OPTOUT", HILO_KEYWORD_OPTOUT, "en", false},
    {"BAJA", HILO_KEYWORD_OPTOUT, "es", false},
    {"DAR DE BAJA", HILO_KEYWORD_OPTOUT, "es", false},
    {"DARME DE BAJA", HILO_KEYWORD_OPTOUT, "es", false},
    {"ALTO", HILO_KEYWORD_OPTOUT, "es", false},
    {"CANCELAR", HILO_KEYWORD_OPTOUT, "es", false},
    {"PARAR", HILO_KEYWORD_OPTOUT, "es", false},
    {"DETENER", HILO_KEYWORD_OPTOUT, "es", false},
    {"NO MAS", HILO_KEYWORD_OPTOUT, "es", false},
    {"START", HILO_KEYWORD_OPTIN, "en", false},
    {"UNSTOP", HILO_KEYWORD_OPTIN, "en", false},
    {"ALTA", HILO_KEYWORD_OPTIN, "es", false},
};

/* Courtesy words dropped at either end: "baja por favor", "STOP please", "no más, gracias". */
static const char *const courtesy[] = {"POR FAVOR", "PORFAVOR", "PORFA", "GRACIAS", "PLEASE", "PLS",
                                       "THANKS", "THANK YOU"};

typedef struct {
    char buf[NORM_MAX + 1];
    const char *word[WORDS_MAX]; /* into buf, NUL-terminated each */
    int n;
    bool truncated;              /* more text than kept: no whole-message match */
} words_t;

/* Folds with the one text normaliser (the bot's too, so both read a message alike), then
 * splits into words. */
static void split(const char *text, size_t len, words_t *w) {
    memset(w, 0, sizeof *w);
    hilo_textnorm_fold(text, len, w->buf, sizeof w->buf, NULL, &w->truncated);
    for (char *s = w->buf; *s;) {
        if (w->n == WORDS_MAX) {
            w->truncated = true;
            break;
        }
        w->word[w->n++] = s;
        char *sp = strchr(s, ' ');
        if (!sp) break;
        *sp = '\0';
        s = sp + 1;
    }
}

/* Does the phrase (space-separated) equal words [at, at + k)? Returns k or 0. */
static int phrase_at(const words_t *w, int at, const char *phrase) {
    int k = 0;
    for (const char *p = phrase; *p;) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        if (at + k >= w->n || strlen(w->word[at + k]) != n || strncasecmp(w->word[at + k], p, n) != 0) return 0;
        k++;
        p += n + (sp ? 1 : 0);
    }
    return k;
}

static const keyword_t *whole(const words_t *w, int from, int to) {
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (phrase_at(w, from, keywords[i].word) == to - from) return &keywords[i];
    return NULL;
}

bool hilo_optout_detect(const char *text, size_t len, int channel, hilo_keyword_t *out) {
    *out = (hilo_keyword_t){HILO_KEYWORD_NONE, NULL, NULL};
    if (!text) return false;
    words_t w;
    split(text, len, &w);
    if (w.n == 0) return false;
    const keyword_t *k = NULL;
    if (!w.truncated) {
        int from = 0, to = w.n;
        for (bool again = true; again && from < to;) { /* strip courtesy phrases at both ends */
            again = false;
            for (size_t i = 0; i < sizeof courtesy / sizeof *courtesy; i++) {
                int n = phrase_at(&w, from, courtesy[i]);
                if (n && from + n < to) from += n, again = true;
                for (int s = to - 1; s > from; s--) {
                    n = phrase_at(&w, s, courtesy[i]);
                    if (n && s + n == to) {
                        to = s;
                        again = true;
                        break;
                    }
                }
            }
        }
        k = whole(&w, from, to);
    }
    if (!k && (channel == HILO_CHANNEL_SMS || channel == HILO_CHANNEL_WHATSAPP))
        for (size_t i = 0; i < sizeof keywords / sizeof *keywords && !k; i++)
            if (keywords[i].first_word && strcasecmp(w.word[0], keywords[i].word) == 0) k = &keywords[i];
    if (!k) return false;
    *out = (hilo_keyword_t){k->kind, k->word, k->lang};
    return true;
}
