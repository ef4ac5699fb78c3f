/* paths.h — where an installed hilo finds its read-only files (console assets, bot flows,
 * compliance rule packs, strategies): the defaults of the config keys that name them. The
 * router and the CLI call it once at start; the config may name other paths. */
#ifndef HILO_PATHS_H
#define HILO_PATHS_H

#include <stddef.h>

/* The data directory: <the running binary's directory>/HILO_BIN_TO_DATADIR when it exists (an
 * install under any prefix or DESTDIR finds its own files), else HILO_INSTALL_DATADIR. Computed
 * once; the string lives as long as the process. */
const char *hilo_paths_datadir(void);

/* "<data directory>/<rel>" into buf (truncated to n); returns buf. */
const char *hilo_paths_data(const char *rel, char *buf, size_t n);

#endif
