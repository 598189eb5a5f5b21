/* bench_ckpt_load — loading a >= 1 GiB checkpoint against plain read() of its data file.
 *
 *   bench_ckpt_load [DIR]       DIR for the temporary checkpoint; default $TMPDIR or /tmp
 *
 * Writes with sc_bundle_writer 16 float32 tensors of 64 MiB ([4096, 4096]) and 48 small ones
 * (biases, step counters, a string tensor) into a fresh directory, then, best of 5 runs each,
 * with the data in the page cache (read once to warm it):
 *   (a) read() of the whole data file into one buffer                     (the reference)
 *   (c) read() in 1 MiB chunks + sc_crc32c over each chunk                 (the floor for b)
 *   (b) sc_bundle_open + sc_bundle_read of every tensor, CRC verified, into the same buffer
 * and prints GB/s of each and the ratios b/a (target >= 0.5) and b/c. Times are this thread's
 * CPU time (wall time is printed too): the machine is shared, and with the page cache warm the
 * work is all CPU. Every destination page is faulted in before timing. The checkpoint is removed at
 * the end. Needs about 1.1 GiB free in DIR (checked first) and 1.1 GiB of memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bench_util.h"
#include "core/crc32c.h"
#include "sidecar/checkpoint.h"

#define RUNS    5
#define BIG     16
#define BIG_DIM 4096 /* [4096, 4096] float32 = 64 MiB */
#define SMALL   48
#define CHUNK   ((size_t)1 << 20)
#define ATTR    ".ATTRIBUTES/VARIABLE_VALUE"

static char g_prefix[4200];

static void remove_checkpoint(const char *dir) {
    char path[4300];
    snprintf(path, sizeof path, "%s.index", g_prefix);
    unlink(path);
    snprintf(path, sizeof path, "%s.data-00000-of-00001", g_prefix);
    unlink(path);
    if (rmdir(dir) != 0)
        fprintf(stderr, "bench_ckpt_load: %s left behind: %s\n", dir, strerror(errno));
}

static int write_checkpoint(uint64_t *total) {
    sc_bundle_writer *w = NULL;
    sc_error err;
    size_t big = (size_t)BIG_DIM * BIG_DIM * sizeof(float);
    float *src = malloc(big);
    int rc = -1;
    if (!src) {
        fprintf(stderr, "bench_ckpt_load: cannot allocate %zu bytes\n", big);
        goto done;
    }
    bench_fill(src, big, 7);
    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    if (sc_bundle_writer_create(g_prefix, &p, &w, &err) != SC_OK) goto fail;
    *total = 0;
    for (int i = 0; i < BIG + SMALL; i++) {
        char key[128];
        int64_t shape[2] = {BIG_DIM, BIG_DIM};
        if (i < BIG) {
            snprintf(key, sizeof key, "model/layer_with_weights-%d/kernel/%s", i, ATTR);
            src[0] = (float)i; /* distinct payloads, distinct CRCs */
            if (sc_bundle_writer_add(w, key, SC_DT_FLOAT, 2, shape, src, big, 0, &err) != SC_OK)
                goto fail;
            *total += big;
        } else if (i < BIG + SMALL - 2) {
            snprintf(key, sizeof key, "model/layer_with_weights-%d/bias/%s", i - BIG, ATTR);
            if (sc_bundle_writer_add(w, key, SC_DT_FLOAT, 1, shape, src, BIG_DIM * sizeof(float), 0,
                                     &err)
                != SC_OK)
                goto fail;
            *total += BIG_DIM * sizeof(float);
        } else if (i == BIG + SMALL - 2) {
            int64_t step = 123456;
            if (sc_bundle_writer_add(w, "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE",
                                     SC_DT_INT64, 0, NULL, &step, 8, 0, &err)
                != SC_OK)
                goto fail;
            *total += 8;
        } else {
            sc_bytes s = {(const uint8_t *)"placeholder object graph", 24};
            int64_t one = 1;
            if (sc_bundle_writer_add_strings(w, "_CHECKPOINTABLE_OBJECT_GRAPH", 1, &one, &s, 0,
                                             &err)
                != SC_OK)
                goto fail;
            *total += 1 + 4 + 24;
        }
    }
    if (sc_bundle_writer_finish(w, &err) != SC_OK) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "bench_ckpt_load: writing the checkpoint: %s\n", err.message);
done:
    sc_bundle_writer_free(w);
    free(src);
    return rc;
}

/* (a) and (c): read() of the data file, whole or in chunks with a CRC per chunk. */
static int read_plain(const char *path, uint8_t *buf, size_t n, int crc_chunks) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t done = 0;
    uint32_t crc = 0;
    while (done < n) {
        size_t want = crc_chunks && n - done > CHUNK ? CHUNK : n - done;
        ssize_t r = read(fd, buf + done, want);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (crc_chunks) crc = sc_crc32c_extend(crc, buf + done, (size_t)r);
        done += (size_t)r;
    }
    close(fd);
    bench_keep(crc);
    return done == n ? 0 : -1;
}

/* (b): the library path, each tensor into its place in buf (its offset in the shard). */
static int read_bundle(uint8_t *buf, size_t n) {
    sc_bundle *b = NULL;
    sc_error err;
    int rc = -1;
    if (sc_bundle_open(g_prefix, &b, &err) != SC_OK) goto done;
    for (size_t i = 0; i < sc_bundle_num_tensors(b); i++) {
        const sc_tensor_info *t = sc_bundle_tensor(b, i);
        if (t->offset > n || t->size > n - t->offset) {
            snprintf(err.message, sizeof err.message, "tensor %s outside the data file", t->key);
            goto done;
        }
        if (sc_bundle_read(b, t, buf + t->offset, (size_t)t->size, &err) != SC_OK) goto done;
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "bench_ckpt_load: %s\n", err.message);
    sc_bundle_free(b);
    return rc;
}

int main(int argc, char **argv) {
    const char *base = argc > 1 ? argv[1] : getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    uint64_t need = (uint64_t)(BIG + 1) * BIG_DIM * BIG_DIM * sizeof(float); /* + margin */
    struct statvfs vfs;
    if (statvfs(base, &vfs) != 0) {
        fprintf(stderr, "bench_ckpt_load: %s: %s\n", base, strerror(errno));
        return 1;
    }
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    printf("bench_ckpt_load: %s has %.1f GiB free, the checkpoint needs %.2f GiB\n", base,
           (double)avail / (1u << 30), (double)need / (1u << 30));
    if (avail < need) {
        printf("bench_ckpt_load: SKIPPED: not enough free space in %s (pass another DIR)\n", base);
        return 0;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sc-bench-ckpt-XXXXXX", base);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_ckpt_load: mkdtemp in %s: %s\n", base, strerror(errno));
        return 1;
    }
    snprintf(g_prefix, sizeof g_prefix, "%s/ckpt-1", dir);
    int rc = 1;
    uint8_t *buf = NULL;
    uint64_t total = 0;
    double t0 = bench_now();
    if (write_checkpoint(&total) != 0) goto done;
    double t_write = bench_now() - t0;

    char data_path[4300];
    snprintf(data_path, sizeof data_path, "%s.data-00000-of-00001", g_prefix);
    struct stat st;
    if (stat(data_path, &st) != 0 || (uint64_t)st.st_size != total) {
        fprintf(stderr, "bench_ckpt_load: %s: expected %llu bytes of payloads\n", data_path,
                (unsigned long long)total);
        goto done;
    }
    size_t n = (size_t)total; /* payloads are packed back to back (data_alignment 1) */
    buf = malloc(n);
    if (!buf) {
        fprintf(stderr, "bench_ckpt_load: cannot allocate %zu bytes\n", n);
        goto done;
    }
    memset(buf, 0, n);
    if (read_plain(data_path, buf, n, 0) != 0) { /* warms the page cache */
        fprintf(stderr, "bench_ckpt_load: %s is not %zu bytes long\n", data_path, n);
        goto done;
    }
    /* Best of RUNS by this thread's CPU time (the machine is shared; with the page cache warm
     * the work is all CPU: copying out of the cache, CRCs, decoding), wall time for the record. */
    double cpu[3] = {1e30, 1e30, 1e30}, wall[3] = {1e30, 1e30, 1e30};
    for (int r = 0; r < RUNS; r++) {
        for (int k = 0; k < 3; k++) {
            double c0 = bench_cpu_now(), w0 = bench_now();
            int bad = k == 0   ? read_plain(data_path, buf, n, 0)
                      : k == 1 ? read_plain(data_path, buf, n, 1)
                               : read_bundle(buf, n);
            double dc = bench_cpu_now() - c0, dw = bench_now() - w0;
            if (bad) goto done;
            if (dc < cpu[k]) cpu[k] = dc;
            if (dw < wall[k]) wall[k] = dw;
        }
    }
    static const char *what[3] = {"(a) read() whole file (reference) ",
                                  "(c) read() 1 MiB chunks + crc32c  ",
                                  "(b) sc_bundle_open + sc_bundle_read"};
    printf("bench_ckpt_load: %d tensors, %.2f GiB of data (written in %.1f s), best of %d, "
           "page cache warm, CRC: %s\n",
           BIG + SMALL, (double)n / (1u << 30), t_write, RUNS, sc_crc32c_impl_name());
    for (int k = 0; k < 3; k++)
        printf("  %s %6.2f GB/s CPU time  (%6.2f GB/s wall)\n", what[k],
               bench_gbps((double)n, cpu[k]), bench_gbps((double)n, wall[k]));
    double ba = cpu[0] / cpu[2];
    printf("  ratio b/a %.2f (target >= 0.5: %s; wall-time ratio %.2f)\n", ba,
           ba >= 0.5 ? "met" : "NOT met", wall[0] / wall[2]);
    printf("  ratio b/c %.2f (the library against read + crc32c by hand)\n", cpu[1] / cpu[2]);
    rc = 0;
done:
    free(buf);
    remove_checkpoint(dir);
    return rc;
}
