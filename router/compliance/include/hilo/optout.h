/* optout.h — opt-out and opt-in keywords in an inbound message (STOP, BAJA, NO MÁS, START,
 * ALTA, ...). The router runs hilo_optout_detect() on every inbound text before the bot sees it
 * and records "optout:<channel>" on a match; the confirmation it answers with is the bot flow's
 * (hilo_bot_text(), in the debtor's language). Pure functions over static tables: nothing to
 * own, thread-safe. Matching rules: docs/compliance.md. */
#ifndef HILO_OPTOUT_H
#define HILO_OPTOUT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    HILO_KEYWORD_NONE = 0, /* not a keyword: the bot handles the message */
    HILO_KEYWORD_OPTOUT,   /* stop contacting on this channel */
    HILO_KEYWORD_OPTIN     /* resume contact on this channel */
} hilo_keyword_kind_t;

typedef struct {
    hilo_keyword_kind_t kind;
    const char *keyword; /* canonical form, static: "STOP", "NO MAS", "ALTA" */
    const char *lang;    /* language of the keyword, static: "en" or "es" (not the reply's language) */
} hilo_keyword_t;

/* Looks for a keyword in `text` (UTF-8, `len` bytes) received on `channel` (HILO_CHANNEL_*).
 * The text is folded by the one normaliser (hilo/textnorm.h), as the bot folds it: case,
 * accents (precomposed or decomposed) and compatibility forms are ignored ("No más" = "NO MAS",
 * "ＳＴＯＰ" = "STOP"), as are punctuation, emoji and courtesy words ("Baja, por favor"). A keyword must be the whole message, except that on text channels
 * (sms, whatsapp) a message whose first word is STOP, STOPALL or UNSUBSCRIBE is an opt-out too.
 * Returns true and fills *out on a match; false (out->kind NONE) otherwise. */
bool hilo_optout_detect(const char *text, size_t len, int channel, hilo_keyword_t *out);

#endif
