/* text.h — folding and phrase matching for the bot (internal to router/bot).
 * What a debtor wrote and the flow's phrases are compared after folding both the same way,
 * with the one text normaliser (hilo/textnorm.h) the opt-out keywords also use: Unicode
 * compatibility forms (full-width, ligatures), case, accents (precomposed or not) and
 * apostrophes (don't→dont) folded away, any other punctuation a space. Used by the flow
 * loader (patterns) and the turn engine (matching). */
#ifndef HILO_BOT_TEXT_H
#define HILO_BOT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOT_TEXT_MAX 1024 /* longer input is cut: a turn is a message, not a document */
#define BOT_WORDS_MAX 200

typedef struct {
    char buf[BOT_TEXT_MAX + 1]; /* the folded text, words NUL-separated */
    char *w[BOT_WORDS_MAX];     /* the words, pointing into buf */
    int n;                      /* number of words */
} bot_words_t;

/* Folds `in` into out (always NUL-terminated) with hilo_textnorm_fold(). ASCII characters
 * listed in `keep` survive (the extractor keeps "/.,-$" for dates and amounts); other
 * punctuation becomes one space. Returns the folded length. */
size_t bot_fold(const char *in, char *out, size_t outlen, const char *keep);

/* Folds and splits into words. */
void bot_words(const char *in, const char *keep, bot_words_t *w);

/* A phrase: words that must appear in order and next to each other. "pag*" matches any word
 * starting with "pag"; "..." lets up to 3 words sit between its neighbours; a leading '='
 * ("=alto") matches only a message that is exactly the phrase. */
enum { BOT_PAT_WORD = 0, BOT_PAT_PREFIX, BOT_PAT_GAP };
#define BOT_PAT_GAP_MAX 3

typedef struct {
    char **tok;    /* folded words */
    uint8_t *kind; /* BOT_PAT_* per word */
    int n;         /* number of words */
    bool whole;    /* the whole message must be the phrase */
    int lang;      /* the flow language it was declared for */
    int line;      /* where in the flow file */
} bot_pattern_t;

/* Returns 0, or -1 with a reason in why. */
int bot_pattern_compile(const char *src, bot_pattern_t *p, char *why, size_t whylen);
void bot_pattern_free(bot_pattern_t *p);
bool bot_pattern_match(const bot_pattern_t *p, const bot_words_t *w);

/* "cuatro"/"four" → 4 … "doce"/"twelve" → 12; ordinals "segunda"/"second" → 2 (up to 5);
 * -1 for anything else. */
int bot_number_word(const char *w);

/* Only the cardinals 0..9 ("cuatro", "four"), for spoken digits; -1 otherwise. */
int bot_digit_word(const char *w);

/* True when every character of s is an ASCII digit (and s is not empty). */
bool bot_all_digits(const char *s);

#endif
