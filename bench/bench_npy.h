/* bench_npy.h — what a benchmark needs to hand its data to a Python reference (header-only,
 * like bench_util.h): seeded uniform floats, numpy.save's .npy files, a temporary directory.
 * bench_rnn uses it; bench_forward keeps its own copies (the same code) for now. */
#ifndef SC_BENCH_NPY_H
#define SC_BENCH_NPY_H

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

/* Uniform floats in [lo, hi) from bench_fill: each random 32-bit word becomes the float stored
 * in its place. */
static inline void bench_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi) {
    bench_fill(x, n * sizeof *x, seed);
    for (size_t i = 0; i < n; i++) {
        uint32_t w;
        memcpy(&w, &x[i], sizeof w);
        x[i] = lo + (hi - lo) * (float)(w >> 8) * (1.0f / 16777216.0f);
    }
}

/* dir/stem.npy: numpy.save's v1.0 format of a float32 C-order array of `rank` dims. */
static inline int bench_write_npy(const char *dir, const char *stem, const int64_t *dims, int rank,
                                  const float *data) {
    char path[4200], dict[512];
    snprintf(path, sizeof path, "%s/%s.npy", dir, stem);
    size_t len = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, "
                                                     "'shape': (");
    size_t elems = 1;
    for (int i = 0; i < rank && len < sizeof dict; i++) {
        len += (size_t)snprintf(dict + len, sizeof dict - len, "%lld, ", (long long)dims[i]);
        elems *= (size_t)dims[i];
    }
    if (len < sizeof dict) len += (size_t)snprintf(dict + len, sizeof dict - len, "), }");
    if (len >= sizeof dict) return -1;
    /* magic(6) + version(2) + length(2) + dict padded with spaces and '\n': data 64-aligned */
    size_t hlen = (10 + len + 1 + 63) / 64 * 64 - 10;
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fwrite(dict, 1, len, f) == len;
    for (size_t i = len; ok && i + 1 < hlen; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(data, sizeof(float), elems, f) == elems;
    if (fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "%s: write failed\n", path);
    return ok ? 0 : -1;
}

/* Removes dir and the files in it (a flat temporary directory). */
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
    if (rmdir(dir) != 0) fprintf(stderr, "%s left behind: %s\n", dir, strerror(errno));
}

#endif
