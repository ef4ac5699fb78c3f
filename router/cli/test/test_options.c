/* test_options.c — the commands' option parsing (options.c): both forms of a value, operands
 * moved after the options or ending them ('+'), the messages for an unknown option, a missing
 * value and a value given to a flag, and a fresh start for each parse even when the previous
 * one stopped inside a cluster of short options (main.c parses, then the command). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

static const struct option opts[] = {
    {"limit", required_argument, NULL, 'n'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

typedef struct {
    long limit;
    int json;
    int bad;
    char err[512]; /* what was printed on stderr */
    char operands[256];
} parsed_t;

/* Parses argv (NULL-terminated, argv[0] the command) as a command would, capturing stderr. */
static parsed_t parse(const char *shortopts, char **argv) {
    parsed_t p = {.limit = -1};
    int argc = 0;
    while (argv[argc]) argc++;
    fflush(stderr);
    int saved = dup(2);
    FILE *cap = tmpfile();
    assert_non_null(cap);
    dup2(fileno(cap), 2);
    hilo_opts_begin();
    for (int c; (c = hilo_opts_next("cmd", argc, argv, shortopts, opts)) != -1;) {
        if (c == 'n') p.limit = strtol(optarg, NULL, 10);
        else if (c == 'j') p.json++;
        else {
            p.bad++;
            break; /* as the commands do: the usage, exit 64 */
        }
    }
    for (int i = optind; i < argc; i++) {
        strcat(p.operands, argv[i]);
        strcat(p.operands, ";");
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(cap);
    size_t n = fread(p.err, 1, sizeof p.err - 1, cap);
    p.err[n] = '\0';
    fclose(cap);
    return p;
}

static void test_value_forms(void **state) {
    (void)state;
    char *a[] = {"cmd", "--limit=5", NULL}, *b[] = {"cmd", "--limit", "7", "--json", NULL};
    parsed_t p = parse("", a);
    assert_int_equal(p.limit, 5);
    assert_int_equal(p.bad, 0);
    p = parse("", b);
    assert_int_equal(p.limit, 7);
    assert_int_equal(p.json, 1);
    char *c[] = {"cmd", "--lim=3", NULL}; /* a unique prefix */
    assert_int_equal(parse("", c).limit, 3);
}

static void test_operands(void **state) {
    (void)state;
    char *a[] = {"cmd", "D1", "--json", "x", NULL};
    parsed_t p = parse("", a); /* GNU: operands move after the options */
    assert_int_equal(p.json, 1);
    assert_string_equal(p.operands, "D1;x;");
    char *b[] = {"cmd", "D1", "--json", NULL};
    p = parse("+", b); /* '+': the first operand ends the options */
    assert_int_equal(p.json, 0);
    assert_string_equal(p.operands, "D1;--json;");
    char *c[] = {"cmd", "--json", "--", "-5", "-", NULL};
    p = parse("", c);
    assert_int_equal(p.json, 1);
    assert_string_equal(p.operands, "-5;-;");
}

static void test_messages(void **state) {
    (void)state;
    char *a[] = {"cmd", "--bogus=1", NULL};
    parsed_t p = parse("", a);
    assert_int_equal(p.bad, 1);
    assert_string_equal(p.err, "hilo cmd: unknown option '--bogus'\n");
    char *b[] = {"cmd", "--limit", NULL};
    p = parse("", b);
    assert_int_equal(p.bad, 1);
    assert_string_equal(p.err, "hilo cmd: option '--limit' needs a value\n");
    char *c[] = {"cmd", "--json=yes", NULL};
    p = parse("", c);
    assert_string_equal(p.err, "hilo cmd: option '--json' takes no value\n");
    char *d[] = {"cmd", "-q", NULL};
    p = parse("", d);
    assert_string_equal(p.err, "hilo cmd: unknown option '-q'\n");
    char *e[] = {"cmd", "--json", "-n", NULL};
    p = parse("n:", e);
    assert_string_equal(p.err, "hilo cmd: option '-n' needs a value\n");
    long v = 0;
    assert_true(hilo_opts_long("cmd", "--limit", "12", 1, 100, &v));
    assert_int_equal(v, 12);
    assert_false(hilo_opts_long("cmd", "--limit", "12x", 1, 100, &v));
    assert_false(hilo_opts_long("cmd", "--limit", "0", 1, 100, &v));
    assert_false(hilo_opts_long("cmd", "--limit", "", 1, 100, &v));
}

/* A parse that stopped inside "-jq" (q unknown) leaves getopt pointing into that word; the next
 * parse, of another argv, must start afresh rather than go on with "q" or skip its argv[1]. */
static void test_each_parse_starts_afresh(void **state) {
    (void)state;
    char *a[] = {"cmd", "-jqj", NULL};
    parsed_t p = parse("j", a);
    assert_int_equal(p.bad, 1);
    assert_string_equal(p.err, "hilo cmd: unknown option '-q'\n");
    char *b[] = {"cmd", "--limit=9", "D2", NULL};
    p = parse("", b);
    assert_int_equal(p.bad, 0);
    assert_int_equal(p.limit, 9);
    assert_string_equal(p.operands, "D2;");
    assert_string_equal(p.err, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_forms),
        cmocka_unit_test(test_operands),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_each_parse_starts_afresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
