/* name_index.h — the index of debtors by the words of their names, for the console's search
 * box. Bookworm's Redis 7.0 has no search module, so the index is plain sorted sets read by
 * prefix (ZRANGEBYLEX): members "<word>|<debtor id>" with score 0, one key per partition
 * "hilo:{p:<n>}:names" (its own hash slot, ../shared/DESIGN.md "Keys on a Redis Cluster").
 * Written by the CLI's import (router/cli/cmd_import.c), read by the console
 * (router/src/console/search.c). Words are folded by the one text normaliser (hilo/textnorm.h):
 * "María José" and "MARIA JOSE" index and match alike. Pure: no Redis, no router. */
#ifndef HILO_NAME_INDEX_H
#define HILO_NAME_INDEX_H

#include <stdbool.h>
#include <stddef.h>

/* Partitions of the index. A constant: changing it strands the entries of the partitions that
 * go away (a re-import writes them again). */
#define HILO_NAME_PARTITIONS 16
#define HILO_NAME_WORD_MAX 32   /* bytes of a word kept; a longer one is cut at a character boundary */
#define HILO_NAME_WORDS_MAX 8   /* words of one name indexed (and of one query used) */

typedef struct {
    char w[HILO_NAME_WORDS_MAX][HILO_NAME_WORD_MAX + 1]; /* folded words, distinct, in order */
    int n;                                               /* how many */
} hilo_name_words_t;

/* The partition of a debtor's entries (FNV-1a of the id, like the turns' index). */
int hilo_name_partition(const char *debtor_id);
/* "hilo:{p:<n>}:names"; returns the length, or -1 when it does not fit. */
int hilo_key_names(char *buf, size_t n, int partition);
/* The folded words of `text` (a name, or what someone typed in the search box). */
void hilo_name_words(const char *text, hilo_name_words_t *out);
/* "<word>|<debtor id>"; -1 when it does not fit. */
int hilo_name_member(char *buf, size_t n, const char *word, const char *debtor_id);
/* Whether `name` has a word that starts with each word of `query` (and query has one). */
bool hilo_name_matches(const hilo_name_words_t *query, const hilo_name_words_t *name);

#endif
