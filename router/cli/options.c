/* options.c — getopt_long with the CLI's messages (see options.h). */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hilo_opts_begin(void) {
    /* GNU: 0 (not 1) also resets getopt's internal state — the position inside a cluster of
     * short options and the permutation — left over from the previous parse. */
    optind = 0;
    opterr = 0;
}

/* The option that failed, as the user wrote it: the long option of argv[optind - 1] ("--limit"
 * of "--limit=x"), else the short option character. */
static void bad_option(char *buf, size_t n, int argc, char **argv, const struct option *longopts) {
    const char *elem = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    bool is_long = strncmp(elem, "--", 2) == 0 && elem[2];
    if (is_long && optopt != 0) { /* a long option's error sets optopt to its val: is it this one? */
        is_long = false;
        size_t len = strcspn(elem + 2, "=");
        for (const struct option *o = longopts; o && o->name; o++)
            if (o->val == optopt && strncmp(o->name, elem + 2, len) == 0) is_long = true;
    }
    if (is_long)
        snprintf(buf, n, "%.*s", (int)strcspn(elem, "="), elem);
    else
        snprintf(buf, n, "-%c", optopt);
}

int hilo_opts_next(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts) {
    /* A leading ':' (after GNU's '+') makes getopt tell a missing value (':') from an unknown
     * option ('?'), and print nothing. */
    char spec[128];
    bool in_order = shortopts[0] == '+';
    snprintf(spec, sizeof spec, "%s:%s", in_order ? "+" : "", shortopts + in_order);
    static const struct option none[] = {{NULL, 0, NULL, 0}};
    int c = getopt_long(argc, argv, spec, longopts ? longopts : none, NULL);
    if (c != '?' && c != ':') return c;
    char name[80];
    bad_option(name, sizeof name, argc, argv, longopts);
    const char *elem = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    const char *sep = *cmd ? " " : ""; /* main.c's own options: "hilo: ..." */
    if (c == ':')
        fprintf(stderr, "hilo%s%s: option '%s' needs a value\n", sep, cmd, name);
    else if (optopt != 0 && strncmp(elem, "--", 2) == 0 && strchr(elem, '='))
        fprintf(stderr, "hilo%s%s: option '%s' takes no value\n", sep, cmd, name);
    else
        fprintf(stderr, "hilo%s%s: unknown option '%s'\n", sep, cmd, name);
    return '?';
}

bool hilo_opts_long(const char *cmd, const char *option, const char *value, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < min || v > max) {
        fprintf(stderr, "hilo %s: %s wants a whole number from %ld to %ld, not '%s'\n", cmd, option, min, max, value);
        return false;
    }
    *out = v;
    return true;
}
