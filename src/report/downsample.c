/* report/downsample.c — reservoir downsampling (see downsample.h). */
#include <stdlib.h>

#include "report/downsample.h"

/* splitmix64: small, fast, and identical on every platform. */
static uint64_t next(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) without modulo bias worth noticing (bound < 2^32 here in practice;
 * Lemire's multiply-shift keeps it exact enough for sampling and fast). */
static uint64_t below(uint64_t *x, uint64_t bound) {
    return (uint64_t)(((unsigned __int128)next(x) * bound) >> 64);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

size_t sc_downsample(size_t n, size_t k, uint64_t seed, size_t *idx) {
    if (n <= k || n <= 2) {
        for (size_t i = 0; i < n; i++) idx[i] = i;
        return n;
    }
    if (k < 2) k = 2;
    size_t m = k - 2; /* the reservoir over indices 1 .. n-2 */
    uint64_t st = seed;
    size_t *res = idx + 1;
    for (size_t i = 0; i < m; i++) res[i] = i + 1;
    for (size_t i = m; i < n - 2; i++) {
        uint64_t r = below(&st, (uint64_t)i + 1); /* i items seen before this one */
        if (r < m) res[r] = i + 1;
    }
    qsort(res, m, sizeof *res, cmp_size);
    idx[0] = 0;
    idx[k - 1] = n - 1;
    return k;
}
