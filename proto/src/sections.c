/* sections.c — splitting a flow or strategy file into sections and key = value lines
 * (see hilo/sections.h). */
#include "hilo/sections.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hilo/common.h"
#include "hilo/utf8.h"

#define LINE_MAX_BYTES HILO_SECTIONS_LINE_MAX

static bool name_char(char c, bool key) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || (key && c == '.');
}

static bool valid_name(const char *s, bool key) {
    if (!*s) return false;
    for (; *s; s++)
        if (!name_char(*s, key)) return false;
    return true;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
    return s;
}

int hilo_sections_parse(const char *name, const char *text, size_t len, hilo_sect_doc_t *doc, char *err,
                        size_t errlen) {
    memset(doc, 0, sizeof *doc);
    char *buf = hilo_xmalloc(LINE_MAX_BYTES + 1);
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (llen > LINE_MAX_BYTES) {
            snprintf(err, errlen, "%s:%d: line longer than %d bytes", name, lineno, LINE_MAX_BYTES);
            goto fail;
        }
        memcpy(buf, text + pos, llen);
        buf[llen] = '\0';
        pos += llen + (nl ? 1 : 0);
        if (llen && buf[llen - 1] == '\r') buf[--llen] = '\0';
        if (memchr(buf, '\0', llen) || !hilo_utf8_valid(buf, llen)) {
            snprintf(err, errlen, "%s:%d: not valid UTF-8 text", name, lineno);
            goto fail;
        }
        char *s = trim(buf);
        if (!*s || *s == '#') continue;
        if (*s == '[') {
            size_t sl = strlen(s);
            if (s[sl - 1] != ']') {
                snprintf(err, errlen, "%s:%d: a section header must end with ']'", name, lineno);
                goto fail;
            }
            s[sl - 1] = '\0';
            char *inner = trim(s + 1), *type = inner, *sname = "";
            char *sp = strpbrk(inner, " \t");
            if (sp) {
                *sp = '\0';
                sname = trim(sp + 1);
            }
            if (!valid_name(type, false) || (*sname && !valid_name(sname, false))) {
                snprintf(err, errlen, "%s:%d: malformed section header (expected [type] or [type name], "
                         "names of letters, digits, '_' and '-')", name, lineno);
                goto fail;
            }
            doc->s = hilo_xrealloc(doc->s, (size_t)(doc->n + 1) * sizeof *doc->s);
            doc->s[doc->n++] = (hilo_sect_t){hilo_xstrdup(type), hilo_xstrdup(sname), lineno, NULL, 0};
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value' or '[section]'", name, lineno);
            goto fail;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (!valid_name(key, true)) {
            snprintf(err, errlen, "%s:%d: invalid key '%s'", name, lineno, key);
            goto fail;
        }
        if (doc->n == 0) {
            snprintf(err, errlen, "%s:%d: '%s = …' before any [section]", name, lineno, key);
            goto fail;
        }
        hilo_sect_t *sec = &doc->s[doc->n - 1];
        sec->kv = hilo_xrealloc(sec->kv, (size_t)(sec->nkv + 1) * sizeof *sec->kv);
        sec->kv[sec->nkv++] = (hilo_sect_kv_t){hilo_xstrdup(key), hilo_xstrdup(value), lineno, false};
    }
    free(buf);
    return 0;
fail:
    free(buf);
    hilo_sections_free(doc);
    return -1;
}

void hilo_sections_free(hilo_sect_doc_t *doc) {
    for (int i = 0; i < doc->n; i++) {
        hilo_sect_t *s = &doc->s[i];
        for (int j = 0; j < s->nkv; j++) {
            free(s->kv[j].key);
            free(s->kv[j].value);
        }
        free(s->kv);
        free(s->type);
        free(s->name);
    }
    free(doc->s);
    memset(doc, 0, sizeof *doc);
}

char *hilo_sections_read_file(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = hilo_xmalloc(max_bytes + 2);
    size_t n = fread(buf, 1, max_bytes + 1, fp);
    bool bad = ferror(fp);
    fclose(fp);
    if (bad || n > max_bytes) {
        if (bad) snprintf(err, errlen, "%s:0: cannot read", path);
        else snprintf(err, errlen, "%s:0: larger than %zu bytes", path, max_bytes);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
