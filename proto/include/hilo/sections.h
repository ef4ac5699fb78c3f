/* sections.h — the text format shared by hilo's data files that describe behaviour: bot flows
 * (deploy/flows/<name>.flow) and outbound strategies (deploy/strategies/<name>.strategy). "[type name]"
 * sections of "key = value" lines and '#' comment lines (only at the start of a line, so a
 * value may contain '#'); every item remembers its line so that loaders can say FILE:LINE.
 * Syntax only: each loader gives the sections their meaning. The document owns its strings. */
#ifndef HILO_SECTIONS_H
#define HILO_SECTIONS_H

#include <stdbool.h>
#include <stddef.h>

#define HILO_SECTIONS_LINE_MAX 4096 /* longest accepted line, bytes */

typedef struct {
    char *key;
    char *value; /* trimmed; may be empty */
    int line;
    bool used;   /* the loader read it: what is left unused is an unknown key */
} hilo_sect_kv_t;

typedef struct {
    char *type; /* "step" */
    char *name; /* "menu", or "" for a section without a name ([flow]) */
    int line;
    hilo_sect_kv_t *kv;
    int nkv;
} hilo_sect_t;

typedef struct {
    hilo_sect_t *s;
    int n;
} hilo_sect_doc_t;

/* Splits `text` (len bytes; `name` is the file name for messages) into sections. Section types
 * and names are letters, digits, '_' and '-'; keys may also hold '.'. Lines must be valid UTF-8
 * and at most HILO_SECTIONS_LINE_MAX bytes. Returns 0, or -1 with "name:line: reason" in err
 * (doc is then empty). */
int hilo_sections_parse(const char *name, const char *text, size_t len, hilo_sect_doc_t *doc, char *err,
                        size_t errlen);
void hilo_sections_free(hilo_sect_doc_t *doc);

/* Reads a whole file (at most max_bytes) into a NUL-terminated buffer the caller frees.
 * NULL with "path:0: reason" in err. */
char *hilo_sections_read_file(const char *path, size_t max_bytes, size_t *len, char *err, size_t errlen);

#endif
