/* test_spool.c — unit tests of the durable spool (hilo/spool.h): records come back in the order
 * written, also from a spool opened again (a restart); removal; the count bound refuses and the
 * age bound drops (by the time passed in: no clock read); damaged files (truncated, garbage,
 * checksum, empty) are set aside as *.bad and never stop the good ones; a temporary file left by
 * a crash mid-write is removed. Files in a fresh temp directory per test. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hilo/common.h"
#include "hilo/spool.h"

#define T0 1700000000000LL /* a wall-clock time, Unix ms */

typedef struct {
    char dir[256];
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/hilo-spool-test-XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    strcat(fx->dir, "/spool"); /* open() creates it */
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    DIR *d = opendir(fx->dir);
    if (d) {
        struct dirent *e;
        char p[600];
        while ((e = readdir(d)))
            if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))) {
                snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(fx->dir);
    *strrchr(fx->dir, '/') = '\0';
    rmdir(fx->dir);
    free(fx);
    return 0;
}

typedef struct {
    char seen[16][32];
    uint64_t ids[16];
    int64_t written[16];
    int n;
} got_t;

static void collect(void *arg, uint64_t id, const uint8_t *data, size_t len, int64_t written_ms) {
    got_t *g = arg;
    assert_true(g->n < 16);
    assert_true(len < sizeof g->seen[0]);
    memcpy(g->seen[g->n], data, len);
    g->seen[g->n][len] = '\0';
    g->ids[g->n] = id;
    g->written[g->n] = written_ms;
    g->n++;
}

static uint64_t put(hilo_spool_t *s, const char *text, int64_t now) {
    uint64_t id = 0;
    assert_int_equal(hilo_spool_put(s, (const uint8_t *)text, strlen(text), now, &id), HILO_OK);
    assert_true(id > 0);
    return id;
}

static void write_file(const char *dir, const char *name, const void *data, size_t len) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static bool exists(const char *dir, const char *name) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void test_order_restart_and_remove(void **state) {
    fx_t *fx = *state;
    char err[256];
    hilo_spool_t *s = hilo_spool_open(fx->dir, 100, 0, err, sizeof err);
    assert_non_null(s);
    uint64_t a = put(s, "first", T0), b = put(s, "second", T0 + 1), c = put(s, "third", T0 + 2);
    assert_true(a < b && b < c);
    hilo_spool_close(&s);
    assert_null(s);

    /* A restart: a new spool object over the same directory gets them back in order. */
    s = hilo_spool_open(fx->dir, 100, 0, err, sizeof err);
    assert_non_null(s);
    hilo_spool_stats_t st;
    hilo_spool_stats(s, &st);
    assert_int_equal(st.count, 3);
    got_t g = {0};
    assert_int_equal(hilo_spool_scan(s, T0 + 10, collect, &g), 3);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.seen[0], "first");
    assert_string_equal(g.seen[1], "second");
    assert_string_equal(g.seen[2], "third");
    assert_int_equal(g.written[1], T0 + 1);
    /* New ids keep growing past what is on disk. */
    uint64_t d = put(s, "fourth", T0 + 3);
    assert_true(d > c);

    /* Acked: removed, and not read again. */
    assert_int_equal(hilo_spool_remove(s, b), HILO_OK);
    assert_int_equal(hilo_spool_remove(s, b), HILO_ERR);
    memset(&g, 0, sizeof g);
    assert_int_equal(hilo_spool_scan(s, T0 + 10, collect, &g), 3);
    assert_string_equal(g.seen[0], "first");
    assert_string_equal(g.seen[1], "third");
    assert_string_equal(g.seen[2], "fourth");
    hilo_spool_stats(s, &st);
    assert_int_equal(st.written, 1);
    assert_int_equal(st.removed, 1);
    assert_int_equal(st.count, 3);
    /* Refused for good: removed too, counted apart. */
    assert_int_equal(hilo_spool_discard(s, d), HILO_OK);
    hilo_spool_stats(s, &st);
    assert_int_equal(st.removed, 1);
    assert_int_equal(st.discarded, 1);
    assert_int_equal(st.count, 2);
    hilo_spool_close(&s);
}

static void test_count_bound_refuses(void **state) {
    fx_t *fx = *state;
    char err[256];
    hilo_spool_t *s = hilo_spool_open(fx->dir, 2, 0, err, sizeof err);
    assert_non_null(s);
    uint64_t a = put(s, "a", T0);
    put(s, "b", T0);
    uint64_t id = 0;
    assert_int_equal(hilo_spool_put(s, (const uint8_t *)"c", 1, T0, &id), HILO_AGAIN);
    hilo_spool_stats_t st;
    hilo_spool_stats(s, &st);
    assert_int_equal(st.full, 1);
    assert_int_equal(st.count, 2);
    /* Room again once one is acked. */
    assert_int_equal(hilo_spool_remove(s, a), HILO_OK);
    put(s, "c", T0);
    got_t g = {0};
    hilo_spool_scan(s, T0, collect, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.seen[0], "b");
    assert_string_equal(g.seen[1], "c");
    hilo_spool_close(&s);
}

static void test_age_bound_drops(void **state) {
    fx_t *fx = *state;
    char err[256];
    hilo_spool_t *s = hilo_spool_open(fx->dir, 10, 60000, err, sizeof err);
    assert_non_null(s);
    put(s, "old", T0);
    put(s, "young", T0 + 50000);
    got_t g = {0};
    assert_int_equal(hilo_spool_scan(s, T0 + 60000, collect, &g), 2); /* at the bound: kept */
    memset(&g, 0, sizeof g);
    assert_int_equal(hilo_spool_scan(s, T0 + 60001, collect, &g), 1);
    assert_string_equal(g.seen[0], "young");
    hilo_spool_stats_t st;
    hilo_spool_stats(s, &st);
    assert_int_equal(st.expired, 1);
    assert_int_equal(st.count, 1);
    hilo_spool_close(&s);
}

static void test_bad_files_are_set_aside(void **state) {
    fx_t *fx = *state;
    char err[256];
    hilo_spool_t *s = hilo_spool_open(fx->dir, 100, 0, err, sizeof err);
    assert_non_null(s);
    put(s, "good-1", T0);                   /* id 1 */
    uint64_t two = put(s, "will-be-cut", T0); /* id 2: truncated below */
    uint64_t three = put(s, "will-be-flipped", T0);
    put(s, "good-4", T0);
    hilo_spool_close(&s);
    assert_int_equal(two, 2);
    assert_int_equal(three, 3);
    char p[600];
    snprintf(p, sizeof p, "%s/%020d.ev", fx->dir, 2);
    assert_int_equal(truncate(p, 30), 0); /* header whole, payload cut */
    snprintf(p, sizeof p, "%s/%020d.ev", fx->dir, 3);
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 26), 1); /* payload byte changed: checksum */
    close(fd);
    write_file(fx->dir, "00000000000000000005.ev", "garbage, not a record at all", 28);
    write_file(fx->dir, "00000000000000000006.ev", "", 0);
    write_file(fx->dir, ".00000000000000000007.tmp", "HILOSPL1", 8); /* a crash mid-write */
    write_file(fx->dir, "notes.txt", "an operator's file", 18);   /* not ours: left alone */

    s = hilo_spool_open(fx->dir, 100, 0, err, sizeof err);
    assert_non_null(s);
    got_t g = {0};
    assert_int_equal(hilo_spool_scan(s, T0, collect, &g), 2);
    assert_string_equal(g.seen[0], "good-1");
    assert_string_equal(g.seen[1], "good-4");
    hilo_spool_stats_t st;
    hilo_spool_stats(s, &st);
    assert_int_equal(st.bad, 4);
    assert_int_equal(st.count, 2);
    assert_true(exists(fx->dir, "00000000000000000002.ev.bad"));
    assert_true(exists(fx->dir, "00000000000000000003.ev.bad"));
    assert_true(exists(fx->dir, "00000000000000000005.ev.bad"));
    assert_true(exists(fx->dir, "00000000000000000006.ev.bad"));
    assert_false(exists(fx->dir, "00000000000000000002.ev"));
    assert_false(exists(fx->dir, ".00000000000000000007.tmp"));
    assert_true(exists(fx->dir, "notes.txt"));
    /* Set aside once: a second scan finds only the good ones, and nothing new is bad. */
    memset(&g, 0, sizeof g);
    assert_int_equal(hilo_spool_scan(s, T0, collect, &g), 2);
    hilo_spool_stats(s, &st);
    assert_int_equal(st.bad, 4);
    /* New records do not reuse a bad file's id. */
    uint64_t id = put(s, "after", T0);
    assert_true(id > 6);
    hilo_spool_close(&s);
}

static void test_unwritable_dir_is_an_error(void **state) {
    fx_t *fx = *state;
    char err[256] = "";
    char p[600];
    snprintf(p, sizeof p, "%s/missing/deeper", fx->dir);
    assert_null(hilo_spool_open(p, 10, 0, err, sizeof err));
    assert_non_null(strstr(err, "cannot create spool directory"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_restart_and_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_bound_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_age_bound_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_are_set_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_dir_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
