/* fuzz_file.h — for targets whose parser takes a path: each input is written to one file in a
 * per-process directory on tmpfs ($SC_FUZZ_TMPDIR, else /dev/shm, else /tmp), removed at exit.
 * Header-only so each target stays one translation unit. */
#ifndef SC_FUZZ_FILE_H
#define SC_FUZZ_FILE_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_fz_dir[256], g_fz_path[320];

static inline void fz_cleanup(void) {
    unlink(g_fz_path);
    rmdir(g_fz_dir);
}

/* Writes data to "<dir>/<name>" and returns that path. */
static inline const char *fz_file(const char *name, const uint8_t *data, size_t n) {
    if (!g_fz_dir[0]) {
        const char *base = getenv("SC_FUZZ_TMPDIR");
        if (!base || !*base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(g_fz_dir, sizeof g_fz_dir, "%s/sc-fuzz-%ld-XXXXXX", base, (long)getpid());
        if (!mkdtemp(g_fz_dir)) {
            fprintf(stderr, "fuzz: cannot create a directory under %s: %s\n", base,
                    strerror(errno));
            abort();
        }
        atexit(fz_cleanup);
    }
    if (g_fz_path[0]) unlink(g_fz_path);
    snprintf(g_fz_path, sizeof g_fz_path, "%s/%s", g_fz_dir, name);
    int fd = open(g_fz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) abort();
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, data + off, n - off);
        if (w <= 0) abort();
        off += (size_t)w;
    }
    close(fd);
    return g_fz_path;
}

/* Reads tensors up to this size (inputs are small; bigger sizes must be rejected at open). */
#define FZ_MAX_BYTES ((uint64_t)1 << 20)

#endif
