/* lines.h — the line reader behind the compliance data files (rule packs, holiday calendars,
 * compliance.conf). Private to router/compliance. It strips comments and blank lines and turns
 * a callback's complaint into "path:line: reason", so every data error names its place. */
#ifndef HILO_COMPLIANCE_LINES_H
#define HILO_COMPLIANCE_LINES_H

#include <stddef.h>

#define HILO_LINE_MAX 1024 /* longest accepted line, in bytes */

/* fn gets each line with comments ('#' at the start or after a blank) and surrounding blanks
 * removed, never an empty one. It returns HILO_OK, or HILO_ERR after writing the reason
 * (without file or line) into why. Returns HILO_OK, or HILO_ERR with "path:line: reason" in err
 * (line 0 when the file cannot be opened). */
int hilo_lines_each(const char *path, int (*fn)(char *line, void *arg, char *why, size_t whylen),
                    void *arg, char *err, size_t errlen);

/* Splits "key = value" in place; returns HILO_ERR when there is no '=' or the key is empty. */
int hilo_lines_kv(char *line, char **key, char **value);

/* "[name]" -> name (in place), NULL when the line is not a section header. */
char *hilo_lines_section(char *line);

/* Copies at most n-1 bytes of untrusted text (portfolio values) for a message: printable ASCII
 * is kept, anything else becomes '?', so reasons stay valid UTF-8 and free of control bytes. */
void hilo_lines_printable(char *dst, size_t n, const char *src);

#endif
