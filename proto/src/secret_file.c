/* secret_file.c — one secret from a file of mode 0600 (or stricter). */
#include "hilo/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hilo/common.h"

int hilo_secret_file_read(const char *path, char *buf, size_t n, char *err, size_t errlen) {
    /* No O_NOFOLLOW: /etc/hilo/keys entries may well be symlinks into a secrets mount; the mode
     * checked is the target's, the one that matters. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open the secret file: %s", path, strerror(errno));
        return HILO_ERR;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return HILO_ERR;
    }
    if (st.st_mode & 077) {
        /* A secret that anyone else on the host may read is no secret: refuse, and say how. */
        snprintf(err, errlen, "%s: the secret file has mode %04o: group and others must have no access (chmod 600 %s)",
                 path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return HILO_ERR;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return HILO_ERR;
    }
    char line[1024];
    int found = 0;
    const char *why = "no value in it";
    while (found >= 0 && fgets(line, sizeof line, f)) {
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        size_t len = strlen(s);
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
            s[--len] = '\0';
        if (!len || *s == '#') continue;
        if (found) {
            why = "more than one value line";
            found = -1;
        } else if (len >= n) {
            why = "the value is too long";
            found = -1;
        } else {
            memcpy(buf, s, len + 1);
            found = 1;
        }
    }
    memset(line, 0, sizeof line);
    fclose(f);
    if (found != 1) {
        if (n) memset(buf, 0, n);
        snprintf(err, errlen, "%s: %s", path, why);
        return HILO_ERR;
    }
    return HILO_OK;
}
