/* name_index.c — the words of a debtor's name as the search index keeps them (hilo/name_index.h).
 * The index holds words, not whole names, so that "rojas" finds "Camila Rojas Pérez"; a query
 * word matches any word it begins ("cam" finds Camila), and every word typed must match. */
#include "hilo/name_index.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hilo/textnorm.h"

#define FOLD_MAX 512 /* bytes of folded text looked at: far more than 8 words of a name */

int hilo_name_partition(const char *debtor_id) {
    uint32_t h = 2166136261u;
    for (const unsigned char *s = (const unsigned char *)debtor_id; *s; s++) h = (h ^ *s) * 16777619u;
    return (int)(h % HILO_NAME_PARTITIONS);
}

int hilo_key_names(char *buf, size_t n, int partition) {
    int r = snprintf(buf, n, "hilo:{p:%d}:names", partition);
    return r < 0 || (size_t)r >= n ? -1 : r;
}

int hilo_name_member(char *buf, size_t n, const char *word, const char *debtor_id) {
    int r = snprintf(buf, n, "%s|%s", word, debtor_id);
    return r < 0 || (size_t)r >= n ? -1 : r;
}

/* Length of the first `max` bytes of a UTF-8 word that end on a character boundary. */
static size_t cut_at_char(const char *w, size_t len, size_t max) {
    if (len <= max) return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)w[n] & 0xC0) == 0x80) n--; /* w[n] continues a character */
    return n;
}

void hilo_name_words(const char *text, hilo_name_words_t *out) {
    char folded[FOLD_MAX];
    out->n = 0;
    if (!text) return;
    size_t len = hilo_textnorm_fold(text, strlen(text), folded, sizeof folded, NULL, NULL);
    size_t i = 0;
    while (i < len && out->n < HILO_NAME_WORDS_MAX) {
        size_t wl = strcspn(folded + i, " ");
        size_t keep = cut_at_char(folded + i, wl, HILO_NAME_WORD_MAX);
        char word[HILO_NAME_WORD_MAX + 1];
        memcpy(word, folded + i, keep);
        word[keep] = '\0';
        bool seen = keep == 0;
        for (int k = 0; k < out->n && !seen; k++) seen = strcmp(out->w[k], word) == 0;
        if (!seen) memcpy(out->w[out->n++], word, keep + 1);
        i += wl + 1;
    }
}

bool hilo_name_matches(const hilo_name_words_t *query, const hilo_name_words_t *name) {
    if (query->n == 0) return false;
    for (int q = 0; q < query->n; q++) {
        size_t ql = strlen(query->w[q]);
        bool found = false;
        for (int k = 0; k < name->n && !found; k++) found = strncmp(name->w[k], query->w[q], ql) == 0;
        if (!found) return false;
    }
    return true;
}
