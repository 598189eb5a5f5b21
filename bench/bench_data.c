/* bench_data.c — TFRecord -> batches throughput of sc_dataset against a plain read() of the same
 * files in the same run, for plain and GZIP files.
 *
 *   bench_data [examples]      (default 200000 Examples: "x" 784 floats, "y" int64)
 *
 * The data looks like MNIST (mostly zero pixels, the rest k/255), so GZIP has something to do.
 * Each figure is the best of three passes over warm page-cache files. Times are the process's
 * CPU time (all threads, user + system, so read()'s copy counts), which a shared machine does
 * not distort the way it distorts wall time; wall-clock figures are printed for the record.
 * The ratio is read() time / dataset time (1.0 = as cheap as reading the bytes). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "core/pb.h"
#include "sidecar/data.h"
#include "sidecar/dataset.h"

#define NX     784
#define NFILES 4
#define PASSES 3

typedef struct span {
    double cpu, wall;
} span;

static double process_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static span span_start(void) { return (span){process_cpu(), bench_now()}; }
static span span_end(span t0) { return (span){process_cpu() - t0.cpu, bench_now() - t0.wall}; }

static void encode(sc_pb_buf *b, uint64_t i, uint64_t *seed) {
    float x[NX];
    for (size_t e = 0; e < NX; e++) {
        *seed ^= *seed >> 12;
        *seed ^= *seed << 25;
        *seed ^= *seed >> 27;
        uint64_t r = *seed * UINT64_C(2685821657736338717);
        x[e] = (r >> 60) < 12 ? 0.0f : (float)((r >> 8) & 0xff) / 255.0f;
    }
    sc_pb_buf list = {0}, packed = {0};
    b->len = 0;
    size_t features = sc_pb_begin_sub(b, 1);
    size_t entry = sc_pb_begin_sub(b, 1);
    sc_pb_put_str(b, 1, "x");
    size_t feature = sc_pb_begin_sub(b, 2);
    sc_pb_put_lenfield(&list, 1, x, sizeof x);
    sc_pb_put_lenfield(b, 2, list.data, list.len);
    sc_pb_end_sub(b, feature);
    sc_pb_end_sub(b, entry);
    entry = sc_pb_begin_sub(b, 1);
    sc_pb_put_str(b, 1, "y");
    feature = sc_pb_begin_sub(b, 2);
    list.len = 0;
    sc_pb_put_varint(&packed, i % 10);
    sc_pb_put_lenfield(&list, 1, packed.data, packed.len);
    sc_pb_put_lenfield(b, 3, list.data, list.len);
    sc_pb_end_sub(b, feature);
    sc_pb_end_sub(b, entry);
    sc_pb_end_sub(b, features);
    sc_pb_buf_free(&list);
    sc_pb_buf_free(&packed);
}

static int write_files(const char *dir, const char *ext, sc_compression c, uint64_t n,
                       double *bytes) {
    sc_pb_buf b = {0};
    uint64_t seed = 42;
    char path[1024];
    *bytes = 0;
    for (int f = 0; f < NFILES; f++) {
        sc_tfrecord_writer *w;
        sc_error err;
        snprintf(path, sizeof path, "%s/eval-%02d.%s", dir, f, ext);
        if (sc_tfrecord_writer_create(path, c, &w, &err) != SC_OK) goto fail;
        for (uint64_t i = n * (uint64_t)f / NFILES; i < n * (uint64_t)(f + 1) / NFILES; i++) {
            encode(&b, i, &seed);
            if (b.failed || sc_tfrecord_writer_write(w, b.data, b.len, &err) != SC_OK) {
                sc_tfrecord_writer_free(w);
                goto fail;
            }
        }
        sc_status st = sc_tfrecord_writer_close(w, &err);
        sc_tfrecord_writer_free(w);
        if (st != SC_OK) goto fail;
        FILE *fp = fopen(path, "rb");
        if (!fp || fseek(fp, 0, SEEK_END) != 0) goto fail;
        *bytes += (double)ftell(fp);
        fclose(fp);
    }
    sc_pb_buf_free(&b);
    return 0;
fail:
    fprintf(stderr, "bench_data: cannot write %s\n", path);
    sc_pb_buf_free(&b);
    return -1;
}

/* Time for read() of every file in 256 KiB chunks; cpu < 0 on error. */
static span time_read(const char *dir, const char *ext) {
    static uint8_t buf[256 << 10];
    char path[1024];
    uint64_t sum = 0;
    span t0 = span_start();
    for (int f = 0; f < NFILES; f++) {
        snprintf(path, sizeof path, "%s/eval-%02d.%s", dir, f, ext);
        int fd = open(path, O_RDONLY);
        if (fd < 0) return (span){-1, -1};
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0) sum += buf[r - 1];
        close(fd);
    }
    span t = span_end(t0);
    bench_keep(sum);
    return t;
}

/* Time for one pass of batches (open included); cpu < 0 on error. */
static span time_dataset(const char *pattern, int prefetch, uint64_t n) {
    sc_dataset_params p = sc_dataset_default_params();
    p.path = pattern;
    p.prefetch = prefetch;
    p.batch_size = 32;
    p.inputs[0].shape = (sc_dataset_shape){1, {NX}};
    p.outputs[0].shape = (sc_dataset_shape){0, {0}};
    sc_dataset *ds;
    sc_error err;
    sc_batch b;
    span t0 = span_start();
    if (sc_dataset_open(&p, &ds, &err) != SC_OK) {
        fprintf(stderr, "bench_data: %s\n", err.message);
        return (span){-1, -1};
    }
    uint64_t seen = 0, sum = 0;
    sc_status st;
    while ((st = sc_dataset_next(ds, &b, &err)) == SC_OK && b.n) {
        seen += b.n;
        sum += (uint64_t)b.labels[0][b.n - 1] + (uint64_t)(b.inputs[0][NX - 1] * 255.0f);
    }
    span t = span_end(t0);
    sc_dataset_free(ds);
    bench_keep(sum);
    if (st != SC_OK || seen != n) {
        fprintf(stderr, "bench_data: %s (%llu of %llu examples)\n", err.message,
                (unsigned long long)seen, (unsigned long long)n);
        return (span){-1, -1};
    }
    return t;
}

static void keep_best(span *best, span t) {
    if (best->cpu < 0 || t.cpu < best->cpu) best->cpu = t.cpu;
    if (best->wall < 0 || t.wall < best->wall) best->wall = t.wall;
}

static void report(const char *what, double mb, double stream_mb, uint64_t n, span t, span ref) {
    printf("  %-19s %8.1f MB/s %9.0f examples/s  ratio to read() %.3f   (wall %8.1f MB/s)\n", what,
           mb / t.cpu, (double)n / t.cpu, ref.cpu / t.cpu, mb / t.wall);
    if (stream_mb > 0) printf("  %-19s %8.1f MB/s of inflated records\n", "", stream_mb / t.cpu);
}

/* stream_bytes: size of the uncompressed record stream (0 for plain files). *bytes_out: the
 * files' size. */
static int run(const char *dir, const char *ext, sc_compression c, uint64_t n, double stream_bytes,
               double *bytes_out) {
    double bytes;
    span t_read = {-1, -1}, t_sync = {-1, -1}, t_pre = {-1, -1};
    char pattern[1024];
    if (write_files(dir, ext, c, n, &bytes) != 0) return -1;
    snprintf(pattern, sizeof pattern, "%s/eval-*.%s", dir, ext);
    time_read(dir, ext); /* warm the page cache */
    for (int k = 0; k < PASSES; k++) {
        span r = time_read(dir, ext), s = time_dataset(pattern, 0, n),
             q = time_dataset(pattern, 1, n);
        if (r.cpu < 0 || s.cpu < 0 || q.cpu < 0) return -1;
        keep_best(&t_read, r);
        keep_best(&t_sync, s);
        keep_best(&t_pre, q);
    }
    double mb = bytes / 1e6;
    printf("%s: %.1f MB in %d files, %llu examples (784 floats + int64 label)\n", ext, mb, NFILES,
           (unsigned long long)n);
    printf("  %-19s %8.1f MB/s %30s (wall %8.1f MB/s)\n", "read()", mb / t_read.cpu, "",
           mb / t_read.wall);
    report("dataset prefetch=0", mb, stream_bytes / 1e6, n, t_sync, t_read);
    report("dataset prefetch=1", mb, stream_bytes / 1e6, n, t_pre, t_read);
    *bytes_out = bytes;
    for (int f = 0; f < NFILES; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/eval-%02d.%s", dir, f, ext);
        unlink(path);
    }
    return 0;
}

int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    if (n == 0) {
        fprintf(stderr, "usage: bench_data [examples]\n");
        return 2;
    }
    const char *base = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/sc_bench_data_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("bench_data: mkdtemp");
        return 1;
    }
    double plain = 0, gz = 0;
    int rc = run(dir, "tfrecord", SC_COMPRESSION_NONE, n, 0, &plain) == 0
                     && run(dir, "gz", SC_COMPRESSION_GZIP, n, plain, &gz) == 0
                 ? 0
                 : 1;
    rmdir(dir);
    return rc;
}
