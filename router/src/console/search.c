/* search.c — the console's search box ({"t":"search"}) and the floor's "any conversation" box
 * ({"t":"find"}): a debtor by id, by phone in any spelling (libphonenumber's E.164, hilo/phone.h)
 * or by the words of the name, case- and accent-insensitive (hilo/name_index.h).
 *
 * Two reads. The first gathers candidates: for a supervisor (who may see everyone) the id
 * itself, the identity map's answer for the phone, and the name index's prefix ranges, each
 * partition of each word read with a bound; for an agent only their own conversations, offers
 * and the conversations they closed lately (what views.c lets them read), so nothing they may
 * not open is ever looked up for them. The second reads each candidate's conversation and record
 * and keeps those the user may read whose id, phone or name really matches: a stale word left
 * in the index (a crash between a record and its index step) finds nothing. Both are bounded,
 * whatever the portfolio's size: SEARCH_CANDIDATES candidates, SEARCH_RESULTS results. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"
#include "hilo/common.h"
#include "hilo/keys.h"
#include "hilo/name_index.h"
#include "hilo/phone.h"

#define SEARCH_QUERY_MAX 96    /* bytes of a query */
#define SEARCH_WORDS_READ 2    /* query words read from the index (the longest); all are checked */
#define SEARCH_PER_PARTITION 200 /* members of one word's range read per partition */
#define SEARCH_CANDIDATES 30   /* candidates checked (two commands each: within one batch) */
#define SEARCH_RESULTS 20      /* results answered */

typedef enum { BY_NONE = 0, BY_ID, BY_PHONE, BY_NAME } by_t;
static const char *const by_names[] = {"", "id", "phone", "name"};

typedef struct {
    json_t *rid;
    bool find;                        /* the floor's box: one debtor, supervisors only */
    char asked[SEARCH_QUERY_MAX];     /* what was typed, trimmed */
    char id[CONSOLE_ID_MAX + 32];     /* the query as a debtor id ("" = not one) */
    char e164[HILO_PHONE_MAX];        /* the query as a phone ("" = not one) */
    hilo_name_words_t words;          /* the query as name words (n = 0: not a name) */
    json_t *cands;                    /* candidate debtor ids, distinct, best first */
    bool more;                        /* a bound cut the candidates: there may be more */
} search_t;

static void search_free(void *arg) {
    search_t *s = arg;
    json_decref(s->rid);
    json_decref(s->cands);
    free(s);
}

static void add_cand(search_t *s, const char *d) {
    if (!d || !console_debtor_ok(d)) return;
    size_t i;
    json_t *v;
    json_array_foreach(s->cands, i, v) if (strcmp(json_string_value(v), d) == 0) return;
    if (json_array_size(s->cands) >= SEARCH_CANDIDATES) {
        s->more = true;
        return;
    }
    json_array_append_new(s->cands, json_string(d));
}

static const char *const conv_fields[] = {"state", "agent", "offer_agent", "last_agent", "addr:whatsapp", "addr:sms",
                                          "addr:voice", NULL};

/* Whether one of the debtor's known numbers is s->e164. */
static bool phone_matches(const hilo_console_t *k, const search_t *s, const char *debtor, const char *phones,
                          const json_t *conv) {
    if (!s->e164[0]) return false;
    if (strncmp(debtor, "u:", 2) == 0 && strcmp(debtor + 2, s->e164) == 0) return true;
    for (const char *p = phones; p && *p;) {
        size_t n = strcspn(p, ";");
        if (n == strlen(s->e164) && strncmp(p, s->e164, n) == 0) return true;
        p += n + (p[n] == ';');
    }
    for (int i = 4; conv_fields[i]; i++) { /* where the debtor last wrote from, as the provider spelt it */
        const char *a = jstr(conv, conv_fields[i]);
        char e[HILO_PHONE_MAX];
        const char *why;
        if (a && hilo_phone_normalize(a, k->cfg->default_cc, e, sizeof e, &why) == HILO_OK && strcmp(e, s->e164) == 0)
            return true;
    }
    return false;
}

static by_t match(const hilo_console_t *k, const search_t *s, const char *debtor, const char *name, const char *phones,
                  const json_t *conv) {
    if (s->id[0] && strcmp(debtor, s->id) == 0) return BY_ID;
    if (phone_matches(k, s, debtor, phones, conv)) return BY_PHONE;
    if (s->words.n && name) {
        hilo_name_words_t nw;
        hilo_name_words(name, &nw);
        if (hilo_name_matches(&s->words, &nw)) return BY_NAME;
    }
    return BY_NONE;
}

static void answer_find(conn_t *c, search_t *s, json_t *results) {
    json_t *best = NULL;
    int nname = 0;
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r) {
        const char *by = jstr(r, "by");
        if (strcmp(by, "name") == 0) nname++;
        else if (!best || (strcmp(by, "id") == 0 && strcmp(jstr(best, "by"), "id") != 0)) best = r;
    }
    if (!best && nname == 1) best = json_array_get(results, 0);
    if (best) {
        json_t *ok = json_pack("{s:O,s:O}", "debtor", json_object_get(best, "debtor"), "by", json_object_get(best, "by"));
        if (strcmp(jstr(best, "by"), "phone") == 0) json_object_set_new(ok, "phone", json_string(s->e164));
        conn_ok(c, s->rid, ok);
        return;
    }
    char text[200];
    if (nname > 1)
        snprintf(text, sizeof text, "%d%s debtors' names match \"%s\": type more of the name, or search in the workspace",
                 nname, s->more ? " or more" : "", s->asked);
    else if (s->e164[0])
        snprintf(text, sizeof text, "no debtor or conversation has the number %s", s->e164);
    else if (s->words.n)
        snprintf(text, sizeof text, "no debtor has the id or a name like \"%s\"", s->asked);
    else
        snprintf(text, sizeof text, "no debtor has the id \"%s\"", s->asked);
    conn_error(c, s->rid, nname > 1 ? "ambiguous" : "not_found", text);
}

static void on_rows(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    search_t *s = arg;
    if (!conn_alive(c)) goto out;
    for (int i = 0; i < n; i++)
        if (!res_ok(res[i])) {
            conn_error(c, s->rid, "unavailable", "try again");
            goto out;
        }
    json_t *results = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(s->cands, i, d) {
        if ((int)(2 * i + 1) >= n) break;
        const char *debtor = json_string_value(d);
        json_t *conv = json_object(), *f = res[2 * i], *rec = res[2 * i + 1];
        for (size_t j = 0; conv_fields[j]; j++) {
            json_t *v = json_array_get(f, j);
            if (json_is_string(v)) json_object_set(conv, conv_fields[j], v);
        }
        const char *name = json_string_value(json_array_get(rec, 0)), *phones = json_string_value(json_array_get(rec, 1));
        bool exists = json_object_size(conv) > 0 || name || phones;
        by_t by = exists && console_may_read(c, conv) ? match(k, s, debtor, name, phones, conv) : BY_NONE;
        if (by != BY_NONE) {
            if (json_array_size(results) < SEARCH_RESULTS) {
                json_t *e = json_pack("{s:s,s:s}", "debtor", debtor, "by", by_names[by]);
                if (name) json_object_set_new(e, "name", json_string(name));
                if (jstr(conv, "state")) json_object_set(e, "state", json_object_get(conv, "state"));
                if (jstr(conv, "agent")) json_object_set(e, "agent", json_object_get(conv, "agent"));
                json_array_append_new(results, e);
            } else {
                s->more = true;
            }
        }
        json_decref(conv);
    }
    if (s->find) answer_find(c, s, results);
    else conn_ok(c, s->rid, json_pack("{s:s,s:O,s:b}", "query", s->asked, "results", results, "more", s->more));
    json_decref(results);
out:
    search_free(s);
}

/* The candidates' conversations and records. */
static void read_rows(hilo_console_t *k, conn_t *c, search_t *s) {
    batch_t *b = batch_new(k, c, on_rows, s, search_free);
    size_t i;
    json_t *d;
    json_array_foreach(s->cands, i, d) {
        char ck[HILO_KEY_MAX], dk[HILO_KEY_MAX];
        hilo_key_debtor(ck, sizeof ck, json_string_value(d), HILO_KEY_CONV);
        hilo_key_debtor(dk, sizeof dk, json_string_value(d), HILO_KEY_DEBTOR);
        batch_cmd(b, "HMGET %s state agent offer_agent last_agent addr:whatsapp addr:sms addr:voice", ck);
        batch_cmd(b, "HMGET %s full_name phones", dk);
    }
    batch_run(b);
}

/* Debtors in every one of the word ranges read (one per word and partition, words outer):
 * a name matches only if each query word begins one of its words. */
static void add_name_cands(search_t *s, json_t **res, int nwords) {
    for (int p = 0; p < HILO_NAME_PARTITIONS; p++) {
        const json_t *first = res[p];
        for (int w = 0; w < nwords; w++)
            if (json_array_size(res[w * HILO_NAME_PARTITIONS + p]) >= SEARCH_PER_PARTITION) s->more = true;
        size_t i;
        json_t *m;
        json_array_foreach(first, i, m) {
            const char *bar = json_is_string(m) ? strrchr(json_string_value(m), '|') : NULL;
            if (!bar) continue;
            bool in_all = true;
            for (int w = 1; w < nwords && in_all; w++) {
                const json_t *other = res[w * HILO_NAME_PARTITIONS + p];
                size_t j;
                json_t *o;
                in_all = false;
                json_array_foreach(other, j, o) {
                    const char *ob = json_is_string(o) ? strrchr(json_string_value(o), '|') : NULL;
                    if (ob && strcmp(ob, bar) == 0) {
                        in_all = true;
                        break;
                    }
                }
            }
            if (in_all) add_cand(s, bar + 1);
        }
    }
}

static void on_cands(hilo_console_t *k, conn_t *c, json_t **res, int n, void *arg) {
    search_t *s = arg;
    if (!conn_alive(c)) goto fail;
    for (int i = 0; i < n; i++)
        if (!res_ok(res[i])) {
            conn_error(c, s->rid, "unavailable", "try again");
            goto fail;
        }
    int r = 0;
    if (!c->supervisor) { /* SMEMBERS convs, SMEMBERS offers, ZREVRANGE closed */
        for (; r < 3 && r < n; r++) {
            size_t i;
            json_t *d;
            json_array_foreach(res[r], i, d) add_cand(s, json_string_value(d));
        }
    } else {
        if (s->id[0]) add_cand(s, s->id);
        if (s->e164[0] && r < n) { /* GET hilo:addr:<E.164>, then the unidentified contact */
            char u[HILO_PHONE_MAX + 2];
            add_cand(s, json_string_value(res[r++]));
            snprintf(u, sizeof u, "u:%s", s->e164);
            add_cand(s, u);
        }
        int nwords = (n - r) / HILO_NAME_PARTITIONS;
        if (nwords > 0) add_name_cands(s, res + r, nwords);
    }
    read_rows(k, c, s);
    return;
fail:
    search_free(s);
}

/* The query's words that go to the index: the longest (fewest matches), at most
 * SEARCH_WORDS_READ, indexes into s->words.w. */
static int index_words(const search_t *s, int *pick) {
    int n = 0;
    bool used[HILO_NAME_WORDS_MAX] = {false};
    while (n < SEARCH_WORDS_READ && n < s->words.n) {
        int best = -1;
        for (int i = 0; i < s->words.n; i++)
            if (!used[i] && (best < 0 || strlen(s->words.w[i]) > strlen(s->words.w[best]))) best = i;
        used[best] = true;
        pick[n++] = best;
    }
    return n;
}

static void search_start(conn_t *c, json_t *rid, const char *query, bool find) {
    size_t len = query ? strlen(query) : 0;
    while (len && isspace((unsigned char)query[len - 1])) len--;
    while (len && isspace((unsigned char)*query)) query++, len--;
    if (len == 0 || len >= SEARCH_QUERY_MAX) {
        conn_error(c, rid, "bad_request", "type a name, a debtor id or a phone number");
        return;
    }
    search_t *s = hilo_xcalloc(1, sizeof *s);
    s->rid = json_incref(rid);
    s->find = find;
    s->cands = json_array();
    snprintf(s->asked, sizeof s->asked, "%.*s", (int)len, query);
    if (console_debtor_ok(s->asked)) snprintf(s->id, sizeof s->id, "%s", s->asked);
    const char *why = NULL;
    /* A phone in any spelling (+57 300 123 4567, 0057..., (650) 555-1234 with the configured
     * country code): libphonenumber's canonical form. */
    if (strcspn(s->asked, "0123456789") < len &&
        hilo_phone_normalize(s->asked, c->console->cfg->default_cc, s->e164, sizeof s->e164, &why) != HILO_OK)
        s->e164[0] = '\0';
    /* A name has a letter: "300 123" that is not a phone is no name either. */
    if (!s->e164[0] && strspn(s->asked, "0123456789 +-().") < len) hilo_name_words(s->asked, &s->words);
    if (!s->id[0] && !s->e164[0] && s->words.n == 0) {
        conn_error(c, rid, "bad_request", why ? why : "not a name, a debtor id or a phone number");
        search_free(s);
        return;
    }
    batch_t *b = batch_new(c->console, c, on_cands, s, search_free);
    if (!c->supervisor) {
        batch_cmd(b, "SMEMBERS hilo:agent:%s:convs", c->agent);
        batch_cmd(b, "SMEMBERS hilo:agent:%s:offers", c->agent);
        char closed[HILO_KEY_MAX];
        snprintf(closed, sizeof closed, "hilo:{a:%s}:closed", c->agent);
        batch_cmd(b, "ZREVRANGE %s 0 %lld", closed, (long long)(SEARCH_CANDIDATES - 1));
    } else {
        if (s->e164[0]) batch_cmd(b, "GET " HILO_KEY_ADDR_PREFIX "%s", s->e164);
        int pick[SEARCH_WORDS_READ];
        int nw = index_words(s, pick);
        for (int w = 0; w < nw; w++)
            for (int p = 0; p < HILO_NAME_PARTITIONS; p++) {
                char key[HILO_KEY_MAX];
                hilo_key_names(key, sizeof key, p);
                /* Every member that begins with the word: "[w" up to "[w\xff" (0xFF is never in
                 * UTF-8, so nothing that begins with w sorts after it). */
                batch_cmd(b, "ZRANGEBYLEX %s [%s [%s\xff LIMIT 0 %lld", key, s->words.w[pick[w]], s->words.w[pick[w]],
                          (long long)SEARCH_PER_PARTITION);
            }
    }
    batch_run(b);
}

void console_search(conn_t *c, json_t *rid, const char *query) { search_start(c, rid, query, false); }

void console_find(conn_t *c, json_t *rid, const char *query) {
    if (!c->supervisor) {
        conn_error(c, rid, "forbidden", "supervisors only");
        return;
    }
    search_start(c, rid, query, true);
}
