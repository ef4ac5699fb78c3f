/* config.c — INI reader with env overrides and file:line errors. */
#include "hilo/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hilo/common.h"

typedef struct {
    char *section; /* section name, "" before the first [section] */
    char *key;
    char *value;
    int line;      /* line in the file */
    bool used;     /* a getter asked for it */
} entry_t;

struct hilo_config {
    char *path;         /* file name for messages, "(none)" when empty */
    entry_t *entries;   /* in file order */
    size_t n, cap;
    char **sections;    /* distinct section names, file order */
    int *section_lines; /* the line of each one's first header */
    size_t nsections;
    char **env_values;  /* strings returned from the environment, owned here */
    size_t nenv;
    char err[512];      /* last error */
};

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static bool valid_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-') return false;
    return true;
}

static void add_section(hilo_config_t *c, const char *name, int line) {
    for (size_t i = 0; i < c->nsections; i++)
        if (strcmp(c->sections[i], name) == 0) return;
    c->sections = hilo_xrealloc(c->sections, (c->nsections + 1) * sizeof *c->sections);
    c->section_lines = hilo_xrealloc(c->section_lines, (c->nsections + 1) * sizeof *c->section_lines);
    c->section_lines[c->nsections] = line;
    c->sections[c->nsections++] = hilo_xstrdup(name);
}

hilo_config_t *hilo_config_load(const char *path, char *err, size_t errlen) {
    hilo_config_t *c = hilo_xcalloc(1, sizeof *c);
    c->path = hilo_xstrdup(path ? path : "(none)");
    if (!path) return c;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
        hilo_config_destroy(&c);
        return NULL;
    }
    char buf[4096], section[128] = "";
    int lineno = 0;
    while (fgets(buf, sizeof buf, f)) {
        lineno++;
        if (!strchr(buf, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line longer than %zu bytes", path, lineno, sizeof buf - 2);
            goto fail;
        }
        char *s = trim(buf);
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || trim(close + 1)[0] != '\0') {
                snprintf(err, errlen, "%s:%d: malformed section header", path, lineno);
                goto fail;
            }
            *close = '\0';
            char *name = trim(s + 1);
            if (!valid_name(name) || strlen(name) >= sizeof section) {
                snprintf(err, errlen, "%s:%d: invalid section name '%s'", path, lineno, name);
                goto fail;
            }
            strcpy(section, name);
            add_section(c, section, lineno);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value' or '[section]'", path, lineno);
            goto fail;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (!valid_name(key)) {
            snprintf(err, errlen, "%s:%d: invalid key name '%s'", path, lineno, key);
            goto fail;
        }
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') { /* "quoted # value" */
            value[vlen - 1] = '\0';
            value++;
        }
        for (size_t i = 0; i < c->n; i++)
            if (strcmp(c->entries[i].section, section) == 0 && strcmp(c->entries[i].key, key) == 0) {
                snprintf(err, errlen, "%s:%d: [%s] %s: duplicate key (first at line %d)", path, lineno,
                         section, key, c->entries[i].line);
                goto fail;
            }
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 32;
            c->entries = hilo_xrealloc(c->entries, c->cap * sizeof *c->entries);
        }
        c->entries[c->n++] = (entry_t){hilo_xstrdup(section), hilo_xstrdup(key), hilo_xstrdup(value),
                                       lineno, false};
    }
    fclose(f);
    return c;
fail:
    fclose(f);
    hilo_config_destroy(&c);
    return NULL;
}

void hilo_config_destroy(hilo_config_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_config_t *c = *self_p;
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].section);
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    for (size_t i = 0; i < c->nsections; i++) free(c->sections[i]);
    for (size_t i = 0; i < c->nenv; i++) free(c->env_values[i]);
    free(c->entries);
    free(c->sections);
    free(c->section_lines);
    free(c->env_values);
    free(c->path);
    free(c);
    *self_p = NULL;
}

const char *hilo_config_error(const hilo_config_t *self) { return self->err; }

/* Finds the raw value and where it came from; *line = 0 for the environment or a default. */
void hilo_config_env_name(const char *section, const char *key, char *env, size_t size) {
    size_t n = 0;
    if (size < 2) {
        if (size) env[0] = '\0';
        return;
    }
    for (const char *s = "HILO_"; *s && n < size - 1; s++) env[n++] = *s;
    for (const char *parts[2] = {section, key}, **p = parts; p < parts + 2; p++) {
        for (const char *s = *p; *s && n < size - 1; s++)
            env[n++] = isalnum((unsigned char)*s) ? (char)toupper((unsigned char)*s) : '_';
        if (p == parts && n < size - 1) env[n++] = '_';
    }
    env[n] = '\0';
}

static const char *lookup(hilo_config_t *c, const char *section, const char *key, int *line) {
    char env[256];
    hilo_config_env_name(section, key, env, sizeof env);
    *line = 0;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].section, section) == 0 && strcmp(c->entries[i].key, key) == 0) {
            c->entries[i].used = true;
            *line = c->entries[i].line;
            const char *ev = getenv(env);
            return ev ? ev : c->entries[i].value;
        }
    return getenv(env);
}

static int fail(hilo_config_t *c, int line, const char *section, const char *key, const char *why,
                const char *value) {
    if (line)
        snprintf(c->err, sizeof c->err, "%s:%d: [%s] %s: %s (got '%s')", c->path, line, section, key, why,
                 value);
    else
        snprintf(c->err, sizeof c->err, "%s: [%s] %s (from environment): %s (got '%s')", c->path, section,
                 key, why, value);
    return HILO_ERR;
}

int hilo_config_str(hilo_config_t *c, const char *section, const char *key, const char *def,
                    const char **out) {
    int line;
    const char *v = lookup(c, section, key, &line);
    *out = v ? v : def;
    return HILO_OK;
}

int hilo_config_int(hilo_config_t *c, const char *section, const char *key, long long def, long long min,
                    long long max, long long *out) {
    int line;
    const char *v = lookup(c, section, key, &line);
    if (!v) {
        *out = def;
        return HILO_OK;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *trim(end) != '\0') return fail(c, line, section, key, "not an integer", v);
    if (x < min || x > max) {
        char why[96];
        snprintf(why, sizeof why, "out of range %lld..%lld", min, max);
        return fail(c, line, section, key, why, v);
    }
    *out = x;
    return HILO_OK;
}

int hilo_config_bool(hilo_config_t *c, const char *section, const char *key, bool def, bool *out) {
    int line;
    const char *v = lookup(c, section, key, &line);
    if (!v) {
        *out = def;
        return HILO_OK;
    }
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
        *out = true;
    else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0"))
        *out = false;
    else
        return fail(c, line, section, key, "not a boolean (true/false)", v);
    return HILO_OK;
}

int hilo_config_reject(hilo_config_t *c, const char *section, const char *key, const char *why) {
    int line;
    const char *v = lookup(c, section, key, &line);
    return fail(c, line, section, key, why, v ? v : "");
}

void hilo_config_each_section(const hilo_config_t *c, const char *prefix,
                              void (*fn)(const char *section, void *arg), void *arg) {
    for (size_t i = 0; i < c->nsections; i++)
        if (strncmp(c->sections[i], prefix, strlen(prefix)) == 0) fn(c->sections[i], arg);
}

void hilo_config_each_key(const hilo_config_t *c, const char *section, void (*fn)(const char *key, void *arg),
                          void *arg) {
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].section, section) == 0) fn(c->entries[i].key, arg);
}

int hilo_config_check_unused(hilo_config_t *c, const char *prefix) {
    for (size_t i = 0; i < c->n; i++) {
        entry_t *e = &c->entries[i];
        if (!e->used && strncmp(e->section, prefix, strlen(prefix)) == 0) {
            snprintf(c->err, sizeof c->err, "%s:%d: [%s] %s: unknown key", c->path, e->line, e->section,
                     e->key);
            return HILO_ERR;
        }
    }
    return HILO_OK;
}

/* Every section some hilo program reads: the router's, the CLI's, and one per connector channel.
 * A new section goes here too, or every program refuses it. */
static const char *const known_sections[] = {"redis",   "identity", "router", "engine", "console", "strategies",
                                             "pacing",  "costs",    "sla",    "reports", "messages", "cli",   "whatsapp", "sms",   "voice"};
static const char *const channel_sections[] = {"whatsapp", "sms", "voice"};
#define NKNOWN (sizeof known_sections / sizeof *known_sections)
#define NCHANNELS (sizeof channel_sections / sizeof *channel_sections)

/* The instance suffix of a connector section: "-2" for "sms-2" and channel "sms"; NULL when
 * `name` is not channel-<letters, digits, '_' or '-'>. */
static const char *instance_suffix(const char *name, const char *channel) {
    size_t n = strlen(channel);
    if (strncmp(name, channel, n) != 0 || name[n] != '-' || !name[n + 1]) return NULL;
    for (const char *s = name + n + 1; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return NULL;
    return name + n;
}

bool hilo_config_connector_section(const char *name, const char *channel) {
    return strcmp(name, channel) == 0 || instance_suffix(name, channel) != NULL;
}

bool hilo_config_known_section(const char *name) {
    for (size_t i = 0; i < NKNOWN; i++)
        if (strcmp(name, known_sections[i]) == 0) return true;
    for (size_t i = 0; i < NCHANNELS; i++)
        if (instance_suffix(name, channel_sections[i])) return true;
    return false;
}

/* Edit distance (insertions, deletions, substitutions, swaps of neighbours) between two short
 * names; names longer than 63 bytes count as far. */
static size_t distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 64;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* The known name closest to `name` (at most 2 edits, and fewer than half its letters), written
 * into buf; "" when none is. An instance section's channel is matched on its own ([smss-2] ->
 * [sms-2]). */
static void suggest(const char *name, char *buf, size_t n) {
    size_t best = 3;
    buf[0] = '\0';
    char head[64];
    const char *dash = strchr(name, '-');
    snprintf(head, sizeof head, "%.*s", dash ? (int)(dash - name) : (int)strlen(name), name);
    for (size_t i = 0; i < NKNOWN; i++) {
        const char *k = known_sections[i];
        size_t d = distance(name, k);
        const char *suffix = "";
        for (size_t j = 0; dash && j < NCHANNELS; j++)
            if (strcmp(k, channel_sections[j]) == 0 && distance(head, k) < d) {
                d = distance(head, k);
                suffix = dash;
            }
        if (d < best && d * 2 < strlen(k)) {
            best = d;
            snprintf(buf, n, "%s%s", k, suffix);
        }
    }
}

int hilo_config_check_sections(hilo_config_t *c, const char *own_channel) {
    for (size_t i = 0; i < c->nsections; i++) {
        const char *name = c->sections[i];
        if (!*name || hilo_config_known_section(name)) continue;
        if (own_channel && hilo_config_connector_section(name, own_channel)) continue;
        char near[96];
        suggest(name, near, sizeof near);
        if (near[0])
            snprintf(c->err, sizeof c->err, "%s:%d: [%s]: unknown section (did you mean [%s]?)", c->path,
                     c->section_lines[i], name, near);
        else
            snprintf(c->err, sizeof c->err, "%s:%d: [%s]: unknown section (no hilo program reads it)", c->path,
                     c->section_lines[i], name);
        return HILO_ERR;
    }
    return HILO_OK;
}

bool hilo_config_test_clock_allowed(void) {
#ifdef HILO_TEST_CLOCK
    return true;
#else
    return false;
#endif
}

int hilo_config_test_clock(hilo_config_t *self, bool *out) {
    if (hilo_config_bool(self, "engine", "test_clock", false, out) != HILO_OK) return HILO_ERR;
    if (*out && !hilo_config_test_clock_allowed()) {
        *out = false;
        return hilo_config_reject(self, "engine", "test_clock",
                                  "this build cannot move its clock (only a test build, configured with "
                                  "-DHILO_TEST_CLOCK=ON, accepts it)");
    }
    return HILO_OK;
}

const char *hilo_config_path_of(const hilo_config_t *c, const char *path, char *buf, size_t n) {
    const char *slash = c->path ? strrchr(c->path, '/') : NULL;
    if (path[0] == '/' || !slash)
        snprintf(buf, n, "%s", path);
    else
        snprintf(buf, n, "%.*s/%s", (int)(slash - c->path), c->path, path);
    return buf;
}
