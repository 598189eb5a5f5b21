/* bench_util.h — timing helpers shared by the benchmarks (header-only: each bench is one
 * executable built from one bench_*.c). Benchmarks print ratios against a reference measured
 * in the same run; absolute figures are printed for the record only. */
#ifndef SC_BENCH_UTIL_H
#define SC_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

#endif
