/* lines.c — comment-stripping line reader with file:line errors (see lines.h). */
#include "lines.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hilo/common.h"

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

int hilo_lines_each(const char *path, int (*fn)(char *line, void *arg, char *why, size_t whylen),
                    void *arg, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
        return HILO_ERR;
    }
    char buf[HILO_LINE_MAX + 2], why[256];
    int lineno = 0, rc = HILO_OK;
    while (fgets(buf, sizeof buf, f)) {
        lineno++;
        if (!strchr(buf, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, lineno, HILO_LINE_MAX);
            rc = HILO_ERR;
            break;
        }
        /* A comment starts at '#' at the beginning of the line or after a blank, so that a value
         * may still contain '#' inside a word. */
        for (char *s = buf; *s; s++)
            if (*s == '#' && (s == buf || *(s - 1) == ' ' || *(s - 1) == '\t')) {
                *s = '\0';
                break;
            }
        char *line = trim(buf);
        if (!*line) continue;
        why[0] = '\0';
        if (fn(line, arg, why, sizeof why) != HILO_OK) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why[0] ? why : "invalid line");
            rc = HILO_ERR;
            break;
        }
    }
    if (rc == HILO_OK && ferror(f)) {
        snprintf(err, errlen, "%s:%d: read error", path, lineno);
        rc = HILO_ERR;
    }
    fclose(f);
    return rc;
}

int hilo_lines_kv(char *line, char **key, char **value) {
    char *eq = strchr(line, '=');
    if (!eq) return HILO_ERR;
    *eq = '\0';
    *key = trim(line);
    *value = trim(eq + 1);
    return **key ? HILO_OK : HILO_ERR;
}

void hilo_lines_printable(char *dst, size_t n, const char *src) {
    size_t i = 0;
    for (; src && src[i] && i + 1 < n; i++) dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
    if (n) dst[i] = '\0';
}

char *hilo_lines_section(char *line) {
    size_t n = strlen(line);
    if (n < 2 || line[0] != '[' || line[n - 1] != ']') return NULL;
    line[n - 1] = '\0';
    return trim(line + 1);
}
