/* paths.c — the installed data directory, found from the running binary (see hilo/paths.h). */
#include "hilo/paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hilo/build_info.h"

const char *hilo_paths_datadir(void) {
    static char dir[PATH_MAX];
    if (dir[0]) return dir;
    char exe[PATH_MAX], candidate[2 * PATH_MAX], real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = '\0';
        snprintf(candidate, sizeof candidate, "%s/%s", exe, HILO_BIN_TO_DATADIR);
        if (realpath(candidate, real)) {
            snprintf(dir, sizeof dir, "%s", real);
            return dir;
        }
    }
    snprintf(dir, sizeof dir, "%s", HILO_INSTALL_DATADIR);
    return dir;
}

const char *hilo_paths_data(const char *rel, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", hilo_paths_datadir(), rel);
    return buf;
}
