/* spool.c — the durable spool of events answered before their ack (spool.h).
 *
 * One record per file, "<id as 20 digits>.ev", so that removing an acked record is one unlink
 * and a damaged file costs one record, never the ones after it. A record is
 *     "HILOSPL1"  8 bytes magic (and format version)
 *     u64 LE      written_ms, wall clock (ages survive a restart, unlike the loop's clock)
 *     u32 LE      payload length
 *     u32 LE      FNV-1a 32 of the payload
 *     payload     the packed Envelope
 * Written as ".<id>.tmp", fsync'ed, renamed, then the directory fsync'ed: after put() returns the
 * record survives a crash or a power cut, and a crash mid-write leaves only a temporary file,
 * which the next scan removes (its webhook was never answered: the provider retries). */
#include "hilo/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hilo/common.h"
#include "hilo/log.h"

#define MOD "spool"
#define MAGIC "HILOSPL1"
#define HEAD_LEN 24
#define MAX_RECORD (64u << 20) /* larger than any envelope the link takes */
#define ID_DIGITS 20

struct hilo_spool {
    char *dir;              /* as given */
    int dir_fd;             /* for fsync after rename and unlink */
    size_t max_events;      /* put() refuses past it */
    int64_t max_age_ms;     /* 0 = none */
    uint64_t next_id;       /* greater than every id on disk */
    hilo_spool_stats_t st;  /* counters, count = records held */
};

static uint32_t fnv1a(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static void put_le(uint8_t *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* "00000000000000000042.ev" → 42; 0 when the name is not a record's. */
static uint64_t record_id(const char *name) {
    if (strlen(name) != ID_DIGITS + 3 || strcmp(name + ID_DIGITS, ".ev") != 0) return 0;
    uint64_t id = 0;
    for (int i = 0; i < ID_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        id = id * 10 + (uint64_t)(name[i] - '0');
    }
    return id;
}

static bool temp_name(const char *name) {
    size_t n = strlen(name);
    return n > 5 && name[0] == '.' && strcmp(name + n - 4, ".tmp") == 0;
}

static void name_of(char *buf, size_t n, uint64_t id) { snprintf(buf, n, "%020" PRIu64 ".ev", id); }

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The record ids in the directory, sorted; temporary files removed when `clean`. */
static uint64_t *list_ids(hilo_spool_t *self, size_t *n, bool clean) {
    *n = 0;
    DIR *d = opendir(self->dir);
    if (!d) return NULL;
    uint64_t *ids = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t id = record_id(e->d_name);
        if (id) {
            if (*n == cap) ids = hilo_xrealloc(ids, (cap = cap ? cap * 2 : 64) * sizeof *ids);
            ids[(*n)++] = id;
        } else if (clean && temp_name(e->d_name)) {
            if (unlinkat(self->dir_fd, e->d_name, 0) == 0)
                hilo_log_warn(MOD, "event=spool_partial_removed file=%s dir=\"%s\" msg=\"a write cut short by a "
                              "crash; its webhook was not answered\"", e->d_name, self->dir);
        }
    }
    closedir(d);
    if (*n) qsort(ids, *n, sizeof *ids, cmp_u64);
    return ids;
}

hilo_spool_t *hilo_spool_open(const char *dir, size_t max_events, int64_t max_age_ms, char *err, size_t errlen) {
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
        snprintf(err, errlen, "spool directory %s is not writable: %s", dir, strerror(errno));
        close(fd);
        return NULL;
    }
    hilo_spool_t *self = hilo_xcalloc(1, sizeof *self);
    self->dir = hilo_xstrdup(dir);
    self->dir_fd = fd;
    self->max_events = max_events ? max_events : 1;
    self->max_age_ms = max_age_ms;
    size_t n;
    uint64_t *ids = list_ids(self, &n, false);
    self->next_id = n ? ids[n - 1] + 1 : 1;
    self->st.count = n;
    free(ids);
    return self;
}

void hilo_spool_close(hilo_spool_t **self_p) {
    if (!self_p || !*self_p) return;
    hilo_spool_t *self = *self_p;
    close(self->dir_fd);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int hilo_spool_put(hilo_spool_t *self, const uint8_t *data, size_t len, int64_t now_ms, uint64_t *id) {
    if (self->st.count >= self->max_events) {
        self->st.full++;
        return HILO_AGAIN;
    }
    if (len > MAX_RECORD) {
        self->st.write_failures++;
        hilo_log_error(MOD, "event=spool_write_failed reason=\"record of %zu bytes\"", len);
        return HILO_ERR;
    }
    uint64_t n = self->next_id;
    char tmp[64], final[64];
    snprintf(tmp, sizeof tmp, ".%020" PRIu64 ".tmp", n);
    name_of(final, sizeof final, n);
    uint8_t head[HEAD_LEN];
    memcpy(head, MAGIC, 8);
    put_le(head + 8, (uint64_t)now_ms, 8);
    put_le(head + 16, len, 4);
    put_le(head + 20, fnv1a(data, len), 4);
    int fd = openat(self->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const char *step = "open";
    if (fd >= 0) {
        step = "write";
        if (write_all(fd, head, sizeof head) == 0 && write_all(fd, data, len) == 0) {
            step = "fsync";
            if (fsync(fd) == 0) step = NULL;
        }
        int saved = errno;
        close(fd);
        errno = saved;
    }
    if (!step) {
        step = "rename";
        if (renameat(self->dir_fd, tmp, self->dir_fd, final) == 0) step = fsync(self->dir_fd) == 0 ? NULL : "fsync dir";
    }
    if (step) {
        int saved = errno;
        unlinkat(self->dir_fd, tmp, 0);
        self->st.write_failures++;
        hilo_log_error(MOD, "event=spool_write_failed dir=\"%s\" step=\"%s\" errno=%d reason=\"%s\"", self->dir, step,
                       saved, strerror(saved));
        return HILO_ERR;
    }
    self->next_id++;
    self->st.written++;
    self->st.count++;
    *id = n;
    return HILO_OK;
}

static int remove_record(hilo_spool_t *self, uint64_t id) {
    char name[64];
    name_of(name, sizeof name, id);
    if (unlinkat(self->dir_fd, name, 0) != 0) return HILO_ERR;
    fsync(self->dir_fd); /* a record back after a crash is only replayed again: deduped */
    if (self->st.count) self->st.count--;
    return HILO_OK;
}

int hilo_spool_remove(hilo_spool_t *self, uint64_t id) {
    if (remove_record(self, id) != HILO_OK) return HILO_ERR;
    self->st.removed++;
    return HILO_OK;
}

int hilo_spool_discard(hilo_spool_t *self, uint64_t id) {
    if (remove_record(self, id) != HILO_OK) return HILO_ERR;
    self->st.discarded++;
    return HILO_OK;
}

/* Reads record `id` into a malloc'd buffer; NULL with the reason in why when it is not whole. */
static uint8_t *read_record(hilo_spool_t *self, uint64_t id, size_t *len, int64_t *written_ms, char *why, size_t n) {
    char name[64];
    name_of(name, sizeof name, id);
    int fd = openat(self->dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, n, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat sb;
    uint8_t head[HEAD_LEN];
    uint8_t *data = NULL;
    if (fstat(fd, &sb) != 0 || sb.st_size < HEAD_LEN) {
        snprintf(why, n, "truncated header (%lld bytes)", (long long)sb.st_size);
    } else if (read(fd, head, HEAD_LEN) != HEAD_LEN || memcmp(head, MAGIC, 8) != 0) {
        snprintf(why, n, "not a spool record (bad magic)");
    } else {
        size_t want = (size_t)get_le(head + 16, 4);
        if (want > MAX_RECORD || (off_t)(HEAD_LEN + want) != sb.st_size) {
            snprintf(why, n, "length %zu does not match the file's %lld bytes (truncated or garbage)", want,
                     (long long)sb.st_size);
        } else {
            data = hilo_xmalloc(want ? want : 1);
            ssize_t got = want ? read(fd, data, want) : 0;
            if (got != (ssize_t)want || fnv1a(data, want) != (uint32_t)get_le(head + 20, 4)) {
                snprintf(why, n, "checksum mismatch (damaged payload)");
                free(data);
                data = NULL;
            } else {
                *len = want;
                *written_ms = (int64_t)get_le(head + 8, 8);
            }
        }
    }
    close(fd);
    return data;
}

size_t hilo_spool_scan(hilo_spool_t *self, int64_t now_ms, hilo_spool_record_fn *fn, void *arg) {
    size_t n, good = 0;
    uint64_t *ids = list_ids(self, &n, true);
    self->st.count = n;
    for (size_t i = 0; i < n; i++) {
        char why[160], name[64];
        size_t len = 0;
        int64_t written = 0;
        name_of(name, sizeof name, ids[i]);
        if (ids[i] >= self->next_id) self->next_id = ids[i] + 1;
        uint8_t *data = read_record(self, ids[i], &len, &written, why, sizeof why);
        if (!data) {
            char bad[80];
            snprintf(bad, sizeof bad, "%s.bad", name);
            int moved = renameat(self->dir_fd, name, self->dir_fd, bad);
            self->st.bad++;
            if (self->st.count) self->st.count--;
            hilo_log_error(MOD, "event=spool_bad_record file=%s dir=\"%s\" reason=\"%s\" kept_as=%s", name, self->dir,
                           why, moved == 0 ? bad : "-");
            continue;
        }
        if (self->max_age_ms > 0 && now_ms - written > self->max_age_ms) {
            remove_record(self, ids[i]);
            self->st.expired++;
            hilo_log_error(MOD, "event=spool_expired file=%s age_ms=%lld max_age_ms=%lld msg=\"dropped: never acked by "
                           "the router in time\"", name, (long long)(now_ms - written), (long long)self->max_age_ms);
            free(data);
            continue;
        }
        good++;
        fn(arg, ids[i], data, len, written);
        free(data);
    }
    free(ids);
    return good;
}

void hilo_spool_stats(const hilo_spool_t *self, hilo_spool_stats_t *out) { *out = self->st; }

const char *hilo_spool_dir(const hilo_spool_t *self) { return self->dir; }
