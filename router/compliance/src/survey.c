/* survey.c — a rule-pack directory pack by pack, going on past broken files (pack_survey.h). */
#include "hilo/pack_survey.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hilo/common.h"
#include "lines.h"
#include "pack.h"

typedef struct {
    char section[32];
    char **keys, **values; /* [countries] entries, in file order */
    size_t n;
} countries_t;

/* compliance.conf's [countries] lines. Lenient: the gate's loader is the judge of the file (a
 * broken line there stops the router with its FILE:LINE); here a line that is not "key = value"
 * is just not a mapping. */
static int conf_line(char *line, void *arg, char *why, size_t whylen) {
    (void)why;
    (void)whylen;
    countries_t *c = arg;
    char *name = hilo_lines_section(line), *key, *value;
    if (name) {
        snprintf(c->section, sizeof c->section, "%s", name);
    } else if (strcmp(c->section, "countries") == 0 && hilo_lines_kv(line, &key, &value) == HILO_OK) {
        c->keys = hilo_xrealloc(c->keys, (c->n + 1) * sizeof *c->keys);
        c->values = hilo_xrealloc(c->values, (c->n + 1) * sizeof *c->values);
        c->keys[c->n] = hilo_xstrdup(key);
        c->values[c->n] = hilo_xstrdup(value);
        c->n++;
    }
    return HILO_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The *.pack names of dir, sorted; NULL (n = 0) when there are none. -1 when dir cannot be read. */
static int pack_names(const char *dir, char ***names, size_t *n) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    *names = NULL;
    *n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".pack") == 0) {
            *names = hilo_xrealloc(*names, (*n + 1) * sizeof **names);
            (*names)[(*n)++] = hilo_xstrdup(e->d_name);
        }
    }
    closedir(d);
    if (*n > 1) qsort(*names, *n, sizeof **names, cmp_str);
    return 0;
}

int hilo_pack_survey_each(const char *dir, void (*fn)(const hilo_pack_survey_t *pack, void *arg), void *arg,
                          char *err, size_t errlen) {
    char **names;
    size_t n;
    if (pack_names(dir, &names, &n) < 0) {
        snprintf(err, errlen, "%s:0: cannot open the rule pack directory: %s", dir, strerror(errno));
        return -1;
    }
    if (n == 0) {
        snprintf(err, errlen, "%s:0: no rule packs (*.pack files)", dir);
        return -1;
    }
    countries_t conf = {{0}, NULL, NULL, 0};
    char path[1024], why[1200];
    snprintf(path, sizeof path, "%s/compliance.conf", dir);
    (void)hilo_lines_each(path, conf_line, &conf, why, sizeof why); /* a missing file maps nothing */
    hilo_tzdb_t *tzdb = hilo_tzdb_new(NULL);
    for (size_t i = 0; i < n; i++) {
        char id[80], countries[256] = "", cal_path[1024] = "", pack_err[1200], cal_err[1200];
        snprintf(id, sizeof id, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
        for (size_t k = 0; k < conf.n; k++)
            if (strcmp(conf.values[k], id) == 0) {
                size_t used = strlen(countries);
                snprintf(countries + used, sizeof countries - used, "%s%s", used ? " " : "", conf.keys[k]);
            }
        hilo_pack_survey_t s = {.pack_id = id, .countries = countries, .calendar = "", .calendar_path = cal_path};
        hilo_pack_t p;
        hilo_calendar_t c;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (hilo_pack_parse(path, id, tzdb, &p, pack_err, sizeof pack_err) != HILO_OK) {
            s.error = pack_err;
            fn(&s, arg);
            continue;
        }
        s.name = p.name;
        s.calendar = p.holidays_cc;
        if (p.holidays_cc[0]) {
            snprintf(cal_path, sizeof cal_path, "%s/holidays/%s.txt", dir, p.holidays_cc);
            if (hilo_calendar_parse(cal_path, p.holidays_cc, &c, cal_err, sizeof cal_err) == HILO_OK) {
                s.first_year = c.first_year;
                s.last_year = c.last_year;
                hilo_calendar_clear(&c);
            } else {
                s.missing = access(cal_path, F_OK) != 0;
                s.error = cal_err;
            }
        }
        fn(&s, arg);
        hilo_pack_clear(&p);
    }
    hilo_tzdb_destroy(&tzdb);
    for (size_t k = 0; k < conf.n; k++) {
        free(conf.keys[k]);
        free(conf.values[k]);
    }
    free(conf.keys);
    free(conf.values);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return (int)n;
}
