/* bench_util.h — timing helpers shared by the benchmarks (header-only: each bench is one
 * executable built from one bench_*.c). Benchmarks print ratios against a reference measured
 * in the same run; absolute figures are printed for the record only. */
#ifndef SC_BENCH_UTIL_H
#define SC_BENCH_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Wall-clock seconds. */
static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of the calling thread (user + system, so read()'s copy from the page cache
 * counts). For single-threaded benchmarks on a shared machine (other builds, fuzzers), where
 * wall time mostly measures the scheduler. Not for multi-threaded work, and it does not count
 * time spent waiting (warm the page cache before timing I/O). */
static inline double bench_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Deterministic filler (xorshift64*): benchmarks must not depend on the clock or on rand(). */
static inline void bench_fill(void *buf, size_t n, uint64_t seed) {
    uint8_t *p = buf;
    uint64_t x = seed ? seed : 1;
    for (size_t i = 0; i < n; i += 8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t v = x * UINT64_C(2685821657736338717);
        for (size_t k = 0; k < 8 && i + k < n; k++) p[i + k] = (uint8_t)(v >> (8 * k));
    }
}

/* Uniform floats in [lo, hi) from bench_fill: each random 32-bit word becomes the float stored in
 * its place (24 random bits). */
static inline void bench_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi) {
    bench_fill(x, n * sizeof *x, seed);
    for (size_t i = 0; i < n; i++) {
        uint32_t w;
        memcpy(&w, &x[i], sizeof w);
        x[i] = lo + (hi - lo) * (float)(w >> 8) * (1.0f / 16777216.0f);
    }
}

static inline double bench_gbps(double bytes, double seconds) { return bytes / seconds / 1e9; }

/* Keeps a result alive so the compiler cannot drop the work that produced it. */
static inline void bench_keep(uint64_t v) {
    static volatile uint64_t sink;
    sink ^= v;
}

/* dir/stem.npy: NPY v1.0, float32, C order, the data 64-byte aligned in the file (as numpy.save
 * pads). Returns 0, or -1 when the file cannot be written. */
static inline int bench_write_npy(const char *dir, const char *stem, int rank, const int64_t *dims,
                                  const float *data) {
    char path[4400], dict[256];
    snprintf(path, sizeof path, "%s/%s.npy", dir, stem);
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t elems = 1;
    for (int i = 0; i < rank && len < (int)sizeof dict; i++) {
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld, ", (long long)dims[i]);
        elems *= (size_t)dims[i];
    }
    if (len < (int)sizeof dict) len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    if (len >= (int)sizeof dict) return -1;
    size_t hlen = (10 + (size_t)len + 1 + 63) / 64 * 64 - 10;
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)len, f) == (size_t)len;
    for (size_t i = (size_t)len; ok && i + 1 < hlen; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(data, sizeof(float), elems, f) == elems;
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}

/* Removes a flat temporary directory and the files in it (best effort). */
static inline void bench_remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4400];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d) closedir(d);
    rmdir(dir);
}

#endif
