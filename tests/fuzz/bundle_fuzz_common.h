/* bundle_fuzz_common.h — shared by fuzz_bundle.c and fuzz_bundle_shard.c (header-only, so each
 * target stays one translation unit as CMake builds them).
 *
 * sc_bundle_open takes a prefix, not bytes, so each input is written to a file in a per-process
 * directory on tmpfs: $SC_FUZZ_TMPDIR when set (scripts/fuzz sets it and removes it at the end),
 * else /dev/shm. The directory is made once and removed at exit.
 *
 * check_bundle() asserts the contracts of include/sidecar/checkpoint.h on whatever the reader
 * accepted; check_status() asserts the error contract of status.h on whatever it rejected. A
 * violated contract aborts, which libFuzzer reports as a crash with the input saved.
 */
#ifndef SC_FUZZ_BUNDLE_FUZZ_COMMON_H
#define SC_FUZZ_BUNDLE_FUZZ_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "sidecar/checkpoint.h"

/* Tensors larger than this are not read (the inputs are a few KiB; the reader must reject
 * such a size against the file length, which smaller sizes exercise equally). */
#define FUZZ_MAX_TENSOR_BYTES ((uint64_t)1 << 20)

static char g_dir[256];
static char g_prefix[300];

static inline void fuzz_dir_cleanup(void) {
    /* Only the names this process creates live there: "b.index" and "b.data-*". */
    char path[600];
    snprintf(path, sizeof path, "%s/b.index", g_dir);
    unlink(path);
    for (int n = 1; n <= 4; n++) {
        snprintf(path, sizeof path, "%s/b.data-00000-of-%05d", g_dir, n);
        unlink(path);
    }
    rmdir(g_dir);
}

static inline void fuzz_dir_init(void) {
    const char *base = getenv("SC_FUZZ_TMPDIR");
    if (!base || !*base) base = "/dev/shm";
    snprintf(g_dir, sizeof g_dir, "%s/sc-fuzz-%ld-XXXXXX", base, (long)getpid());
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "fuzz: cannot create a temporary directory under %s: %s\n", base,
                strerror(errno));
        abort();
    }
    snprintf(g_prefix, sizeof g_prefix, "%s/b", g_dir);
    atexit(fuzz_dir_cleanup);
}

/* Writes data[0..n) to "<g_prefix><suffix>", replacing it. An OS failure is the harness's
 * problem, not a finding: abort with a message. */
static inline void fuzz_write(const char *suffix, const uint8_t *data, size_t n) {
    char path[600];
    snprintf(path, sizeof path, "%s%s", g_prefix, suffix);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) goto fail;
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) goto fail;
        data += w;
        n -= (size_t)w;
    }
    if (close(fd) != 0) goto fail;
    return;
fail:
    fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
    abort();
}

static inline void fuzz_remove(const char *suffix) {
    char path[600];
    snprintf(path, sizeof path, "%s%s", g_prefix, suffix);
    unlink(path);
}

/* A failing call must say why: status in range, recorded in err, and a message. */
static inline void check_status(sc_status s, const sc_error *err) {
    if (s == SC_OK) return;
    if ((int)s < 0 || s > SC_ABORTED || err->status != s || err->message[0] == '\0'
        || memchr(err->message, '\0', sizeof err->message) == NULL)
        abort();
}

/* The invariants the header promises for an opened bundle. */
static inline void check_bundle(const sc_bundle *b) {
    size_t n = sc_bundle_num_tensors(b);
    if (sc_bundle_num_shards(b) < 0 || sc_bundle_tensor(b, n) != NULL) abort();
    const sc_tensor_info *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const sc_tensor_info *t = sc_bundle_tensor(b, i);
        if (!t || !t->key || t->key[t->key_len] != '\0' || t->rank < 0 || (t->rank > 0 && !t->shape)
            || t->num_slices < 0)
            abort();
        /* num_elements is the product of the shape, computed without overflow. */
        int64_t elems = 1;
        for (int d = 0; d < t->rank; d++) {
            if (t->shape[d] < 0 || __builtin_mul_overflow(elems, t->shape[d], &elems)) abort();
        }
        if (elems != t->num_elements) abort();
        if (t->num_slices == 0 && (t->shard_id < 0 || t->shard_id >= sc_bundle_num_shards(b)))
            abort();
        /* Keys come out strictly increasing (bytewise) and the empty header key is not one. */
        if (t->key_len == 0) abort();
        if (prev) {
            size_t m = prev->key_len < t->key_len ? prev->key_len : t->key_len;
            int c = memcmp(prev->key, t->key, m);
            if (c > 0 || (c == 0 && prev->key_len >= t->key_len)) abort();
        }
        /* Lookup finds every key that a C string can name. */
        if (strlen(t->key) == t->key_len && sc_bundle_find(b, t->key) != t) abort();
        prev = t;
    }
}

/* Reads every tensor the way a caller would; on success checks what the header promises about
 * the bytes. Strings are split and their items must lie inside the payload. */
static inline void read_all(sc_bundle *b) {
    size_t n = sc_bundle_num_tensors(b);
    for (size_t i = 0; i < n; i++) {
        const sc_tensor_info *t = sc_bundle_tensor(b, i);
        if (t->size > FUZZ_MAX_TENSOR_BYTES) continue;
        size_t cap = (size_t)t->size;
        uint8_t *buf = malloc(cap ? cap : 1); /* exact size: ASan sees any overrun */
        if (!buf) abort();
        sc_error err;
        sc_status s = sc_bundle_read(b, t, buf, cap, &err);
        check_status(s, &err);
        if (s == SC_OK) {
            if (t->num_slices > 0) abort(); /* sliced tensors are UNIMPLEMENTED when read */
            size_t esize = sc_dtype_size(t->dtype);
            if (esize && (uint64_t)t->num_elements * esize != t->size) abort();
            if (t->dtype != SC_DT_STRING && sc_crc32c_mask(sc_crc32c(buf, cap)) != t->masked_crc32c)
                abort();
            if (t->dtype == SC_DT_STRING && t->num_elements <= 4096) {
                size_t ne = (size_t)t->num_elements;
                sc_bytes *items = calloc(ne ? ne : 1, sizeof *items);
                if (!items) abort();
                s = sc_bundle_decode_strings(t, buf, cap, items, &err);
                check_status(s, &err);
                if (s != SC_OK) abort(); /* sc_bundle_read already validated the layout */
                size_t total = 0;
                for (size_t k = 0; k < ne; k++) {
                    if (items[k].size > cap || items[k].data < buf
                        || items[k].data + items[k].size > buf + cap)
                        abort();
                    total += items[k].size;
                }
                if (total > cap) abort();
                free(items);
            }
        }
        free(buf);
    }
}

#endif
