/* link_keys.c — CURVE key pairs, secret-key files and the router's allowlist of connector keys. */
#define _POSIX_C_SOURCE 200809L
#include "hilo/link_keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "hilo/common.h"
#include "hilo/frame.h"
#include "hilo/secret_file.h"

static const char Z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool hilo_link_key_valid(const char *s) {
    return s && strlen(s) == HILO_LINK_KEY_Z85 && strspn(s, Z85) == HILO_LINK_KEY_Z85;
}

int hilo_link_keypair(char public_z85[41], char secret_z85[41]) {
    if (!zmq_has("curve") || zmq_curve_keypair(public_z85, secret_z85) != 0) return HILO_ERR;
    return HILO_OK;
}

int hilo_link_public_of(const char *secret_z85, char public_z85[41]) {
    if (!hilo_link_key_valid(secret_z85) || zmq_curve_public(public_z85, secret_z85) != 0) return HILO_ERR;
    return HILO_OK;
}

/* Strips a line of its end-of-line and surrounding blanks, in place. */
static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

int hilo_link_read_secret_file(const char *path, char secret_z85[41], char *err, size_t errlen) {
    char v[64];
    if (hilo_secret_file_read(path, v, sizeof v, err, errlen) != HILO_OK) return HILO_ERR;
    bool ok = hilo_link_key_valid(v);
    if (ok) memcpy(secret_z85, v, 41);
    memset(v, 0, sizeof v);
    if (!ok) {
        snprintf(err, errlen, "%s: expected a Z85 secret key of 40 characters (hilo link keygen)", path);
        return HILO_ERR;
    }
    return HILO_OK;
}

int hilo_link_write_secret_file(const char *path, const char *name, const char *public_z85, const char *secret_z85,
                                char *err, size_t errlen) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, errno == EEXIST ? "exists already (not overwritten)" : strerror(errno));
        return HILO_ERR;
    }
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "# hilo link secret key of %s (keep it secret: mode 0600)\n# public key: %s\n%s\n", name,
                     public_z85, secret_z85);
    bool ok = n > 0 && (size_t)n < sizeof buf && write(fd, buf, (size_t)n) == (ssize_t)n && fsync(fd) == 0;
    memset(buf, 0, sizeof buf);
    if (close(fd) != 0) ok = false;
    if (!ok) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        unlink(path);
        return HILO_ERR;
    }
    return HILO_OK;
}

/* --- the allowlist ------------------------------------------------------------------- */

typedef struct {
    char key[41];
    char name[HILO_LINK_NAME_MAX];
    unsigned channels;
} allow_entry_t;

struct hilo_link_allow {
    allow_entry_t *e;
    int n, cap;
};

const char *hilo_link_allow_find(const hilo_link_allow_t *a, const char *public_z85, unsigned *channels) {
    if (!a || !public_z85) return NULL;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->e[i].key, public_z85) == 0) {
            if (channels) *channels = a->e[i].channels;
            return a->e[i].name;
        }
    return NULL;
}

int hilo_link_allow_count(const hilo_link_allow_t *a) { return a ? a->n : 0; }

static bool name_ok(const char *s) {
    size_t n = strlen(s);
    return n >= 1 && n < HILO_LINK_NAME_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int load_file(hilo_link_allow_t *a, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return HILO_ERR;
    }
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *save = NULL, *key = strtok_r(s, " \t", &save), *chans = strtok_r(NULL, " \t", &save),
             *name = strtok_r(NULL, " \t", &save), *extra = strtok_r(NULL, " \t", &save);
        const char *why = NULL;
        unsigned mask = 0;
        if (!key || !chans || !name || extra)
            why = "expected \"<z85 public key> <channel>[,<channel>] <name>\"";
        else if (!hilo_link_key_valid(key))
            why = "the key is not a Z85 public key of 40 characters";
        else if (!name_ok(name))
            why = "the name must be 1-63 characters of letters, digits, '.', '_' and '-'";
        else if (hilo_link_allow_find(a, key, NULL))
            why = "this key is listed already";
        for (char *c = why ? NULL : chans; c && *c;) {
            size_t n = strcspn(c, ",");
            char one[16];
            snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), c);
            int ch = n < sizeof one ? hilo_channel_parse(one) : HILO_CHANNEL_UNSPECIFIED;
            if (ch == HILO_CHANNEL_UNSPECIFIED) {
                why = "unknown channel (whatsapp, sms, voice)";
                break;
            }
            mask |= 1u << ch;
            c += n;
            if (*c == ',') c++;
        }
        if (why) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            fclose(f);
            return HILO_ERR;
        }
        if (a->n == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 16;
            a->e = hilo_xrealloc(a->e, (size_t)a->cap * sizeof *a->e);
        }
        allow_entry_t *e = &a->e[a->n++];
        snprintf(e->key, sizeof e->key, "%s", key);
        snprintf(e->name, sizeof e->name, "%s", name);
        e->channels = mask;
    }
    fclose(f);
    return HILO_OK;
}

static int by_name(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

hilo_link_allow_t *hilo_link_allow_load(const char *path, char *err, size_t errlen) {
    hilo_link_allow_t *a = hilo_xcalloc(1, sizeof *a);
    struct stat st;
    int rc = HILO_OK;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = HILO_ERR;
    } else if (S_ISDIR(st.st_mode)) {
        /* Every file of the directory, in name order (one file per connector is the usual way:
         * adding or removing a connector is adding or removing a file). */
        DIR *d = opendir(path);
        char **names = NULL;
        size_t n = 0, cap = 0;
        for (struct dirent *de; d && (de = readdir(d));) {
            if (de->d_name[0] == '.') continue;
            if (n == cap) names = hilo_xrealloc(names, (cap = cap ? cap * 2 : 16) * sizeof *names);
            names[n++] = hilo_xstrdup(de->d_name);
        }
        if (!d) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            rc = HILO_ERR;
        } else {
            closedir(d);
        }
        if (n) qsort(names, n, sizeof *names, by_name);
        for (size_t i = 0; i < n; i++) {
            char full[4096];
            snprintf(full, sizeof full, "%s/%s", path, names[i]);
            struct stat fs;
            if (rc == HILO_OK && stat(full, &fs) == 0 && S_ISREG(fs.st_mode)) rc = load_file(a, full, err, errlen);
            free(names[i]);
        }
        free(names);
    } else {
        rc = load_file(a, path, err, errlen);
    }
    if (rc != HILO_OK) {
        hilo_link_allow_destroy(&a);
        return NULL;
    }
    return a;
}

void hilo_link_allow_destroy(hilo_link_allow_t **self_p) {
    if (!self_p || !*self_p) return;
    free((*self_p)->e);
    free(*self_p);
    *self_p = NULL;
}
