/* secret_file.h — reads a secret (a password, a key) from a file that only its owner may read:
 * the one way secrets reach hilo's processes besides the environment (docs/security.md).
 * Used by the router, the connectors and the CLI. */
#ifndef HILO_SECRET_FILE_H
#define HILO_SECRET_FILE_H

#include <stddef.h>

/* The first line of `path` that is neither blank nor a '#' comment, trimmed, into buf (size n).
 * Refuses (HILO_ERR, the reason naming the file in err) a file group or others may read or
 * write ("chmod 600"), one that is not a regular file, an empty one, one with a second value
 * line, or a value that does not fit. */
int hilo_secret_file_read(const char *path, char *buf, size_t n, char *err, size_t errlen);

#endif
