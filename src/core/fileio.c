/* core/fileio.c — careful file helpers. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/mem.h"

sc_status sc_read_file(const char *path, uint8_t **data, size_t *len, sc_error *err) {
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sc_error_set(err, errno == ENOENT ? SC_NOT_FOUND : SC_IO, "%s: cannot open: %s",
                            path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sc_error_set(err, SC_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: is a directory, expected a file", path);
    }
    /* The size may change under us (a file being written); read until EOF, growing as needed. */
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
    uint8_t *buf = sc_mem_alloc_large(cap);
    if (!buf) {
        close(fd);
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory reading %zu bytes", path, cap);
    }
    for (;;) {
        if (n + 1 >= cap) {
            uint8_t *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                close(fd);
                return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            close(fd);
            return sc_error_set(err, SC_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return SC_OK;
}

sc_status sc_pread_full(int fd, const char *path, void *buf, size_t n, uint64_t off,
                        sc_error *err) {
    uint8_t *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, p + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return sc_error_set(err, SC_IO, "%s: read of %zu bytes at offset %llu failed: %s", path,
                                n, (unsigned long long)off, strerror(errno));
        }
        if (r == 0)
            return sc_error_set(err, SC_UNAVAILABLE,
                                "%s: file ends at byte %llu, expected at least %llu bytes "
                                "(still being written, or cut short)",
                                path, (unsigned long long)(off + done),
                                (unsigned long long)(off + n));
        done += (size_t)r;
    }
    return SC_OK;
}

/* Atomics: writers in several threads (one evaluator each) stay race-free. */
static _Atomic uint64_t g_writes, g_fail_at;
static _Atomic int g_fault_mode;

uint64_t sc_fault_inject_write(uint64_t n, sc_fault_mode mode) {
    uint64_t now = atomic_load(&g_writes);
    atomic_store(&g_fault_mode, (int)mode);
    atomic_store(&g_fail_at, n ? now + n : 0);
    return now;
}

sc_status sc_write_full(int fd, const char *path, const void *buf, size_t n, sc_error *err) {
    const uint8_t *p = buf;
    uint64_t nth = atomic_fetch_add(&g_writes, 1) + 1;
    if (nth == atomic_load(&g_fail_at)) {
        atomic_store(&g_fail_at, 0);
        size_t half = n / 2;
        if (half && write(fd, p, half) < 0) { /* the torn part; its own failure changes nothing */
        }
        if (atomic_load(&g_fault_mode) == SC_FAULT_CRASH) raise(SIGKILL); /* as kill -9 */
        return sc_error_set(err, SC_IO, "%s: write failed: no space left on device (injected)",
                            path);
    }
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOSPC)
                return sc_error_set(err, SC_IO, "%s: write failed: no space left on device", path);
            return sc_error_set(err, SC_IO, "%s: write failed: %s", path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return SC_OK;
}

static void fsync_parent(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* best effort: some filesystems refuse fsync on directories */
        close(dfd);
    }
    free(copy);
}

sc_status sc_write_file_atomic(const char *path, const void *data, size_t n, sc_error *err) {
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    snprintf(tmp, len, "%s.tmp%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        sc_status s = sc_error_set(err, SC_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return s;
    }
    sc_status s = sc_write_full(fd, tmp, data, n, err);
    if (s == SC_OK && fsync(fd) != 0)
        s = sc_error_set(err, SC_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && s == SC_OK)
        s = sc_error_set(err, SC_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (s == SC_OK && rename(tmp, path) != 0)
        s = sc_error_set(err, SC_IO, "%s: rename to %s failed: %s", tmp, path, strerror(errno));
    if (s != SC_OK)
        unlink(tmp);
    else
        fsync_parent(path);
    free(tmp);
    return s;
}

char *sc_path_join(const char *dir, const char *name) {
    if (name[0] == '/' || dir[0] == '\0') return strdup(name);
    size_t dl = strlen(dir), nl = strlen(name);
    int slash = dir[dl - 1] != '/';
    char *out = malloc(dl + slash + nl + 1);
    if (!out) return NULL;
    memcpy(out, dir, dl);
    if (slash) out[dl] = '/';
    memcpy(out + dl + slash, name, nl + 1);
    return out;
}

int sc_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int sc_path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

sc_status sc_mkdir_p(const char *dir, sc_error *err) {
    char *copy = strdup(dir);
    if (!copy) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", dir);
    sc_status s = SC_OK;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
            s = sc_error_set(err, SC_IO, "%s: cannot create directory: %s", copy, strerror(errno));
            break;
        }
        *p = saved;
        if (saved == '\0') break;
    }
    if (s == SC_OK && !sc_path_is_dir(dir))
        s = sc_error_set(err, SC_IO, "%s: exists but is not a directory", dir);
    free(copy);
    return s;
}
