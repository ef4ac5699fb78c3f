/* textnorm.h — the one text normaliser: what a person typed, folded so that two spellings of
 * the same words compare equal. Used wherever text is matched rather than shown: the bot's
 * intents and extractors (router/bot), the opt-out keywords (router/compliance), the strategy
 * checker's notice words (router/strategy); and the display width of text (the CLI's columns). A small library of its own (hilo_textnorm): it
 * knows nothing of the router, reads characters with utf8.h and takes Unicode's tables from
 * utf8proc (docs/architecture.md, "Libraries and why"). */
#ifndef HILO_TEXTNORM_H
#define HILO_TEXTNORM_H

#include <stdbool.h>
#include <stddef.h>

/* Folds `len` bytes of `in` into out (outlen bytes, always NUL-terminated when outlen > 0).
 * Character by character:
 *   - compatibility decomposition (NFKD): full-width "ＳＴＯＰ" → "STOP", the ligature "ﬁ" → "fi",
 *     "²" → "2", "ª" → "a";
 *   - Unicode case folding (not the locale's): "DEBO" → "debo", "ß" → "ss", "İ" → "i";
 *   - combining marks removed, whether the accent came precomposed ("á") or decomposed
 *     ("a" + U+0301): "á" → "a", "ñ" → "n"; invisible format characters (soft hyphen,
 *     zero-width joiner) are dropped;
 *   - apostrophes (' ` ‘ ’ ʼ) removed: "don't" → "dont";
 *   - letters and digits of every script kept (lower case); ASCII characters listed in `keep`
 *     kept; everything else (punctuation, symbols, emoji, spaces, controls) is a separator;
 *   - separators collapse to one space, none at either end.
 * Bytes that are not valid UTF-8 are separators, one per byte: never a crash, never two words
 * glued together. The output is cut at a character boundary when it does not fit; *cut (may be
 * NULL) says whether it was. Returns the length written. */
size_t hilo_textnorm_fold(const char *in, size_t len, char *out, size_t outlen, const char *keep, bool *cut);

/* The columns `len` bytes of `in` take on a terminal, by Unicode's widths (utf8proc): a
 * combining mark or a zero-width character takes none, an East Asian wide or full-width
 * character two, others one. A byte that is not valid UTF-8 counts one (printed as '?' by the
 * CLI). For lining up columns of names (`hilo agent list`). */
size_t hilo_textnorm_width(const char *in, size_t len);

#endif
