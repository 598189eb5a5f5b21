/* core/crc32c.c — CRC-32C, portable (slicing-by-8) and SSE4.2 (three interleaved streams).
 *
 * The crc32 instruction has a latency of 3 cycles and a throughput of 1 per cycle, so a single
 * dependency chain runs at a third of the machine's speed. The hardware path therefore splits
 * long inputs into three equal streams, runs them in parallel and joins them with a
 * "shift by N zero bytes" operator: reg(A ++ B) = shift(reg(A), |B|) ^ reg_from_zero(B), which
 * holds because the CRC register update is linear over GF(2). The operator for a fixed length is
 * a 4x256 table built once at start-up.
 *
 * Where the CPU has AVX-512 with VPCLMULQDQ, long inputs are first folded with carry-less
 * multiplies, 256 bytes per step in four 512-bit accumulators (the method of Intel's "Fast CRC
 * Computation Using PCLMULQDQ"), and the folded 128-bit remainder is finished with the crc32
 * instruction. Folding a 128-bit lane forward by D bits multiplies its low half by x^(D+32) and
 * its high half by x^(D-32) mod P, bit-reflected and shifted left by one; the constants are
 * computed at start-up and the result is checked against the table path in the tests.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "core/crc32c.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <nmmintrin.h>
#define SC_HAVE_X86 1
#endif

#define POLY        0x82f63b78u /* reflected Castagnoli polynomial */
#define LONG_BLOCK  8192        /* bytes per stream in the long loop (a power of two) */
#define SHORT_BLOCK 256         /* bytes per stream in the short loop (a power of two) */

static uint32_t g_table[8][256];       /* slicing-by-8 */
static uint32_t g_long_shift[4][256];  /* shift a register over LONG_BLOCK zero bytes */
static uint32_t g_short_shift[4][256]; /* ... over SHORT_BLOCK zero bytes */
static int g_hw;
static int g_vpclmul;
/* Fold constants {low half, high half} for the distances of k_fold_dist (bits). */
enum { FOLD_2048, FOLD_512, FOLD_384, FOLD_256, FOLD_128, FOLD_COUNT };
static const int k_fold_dist[FOLD_COUNT] = {2048, 512, 384, 256, 128};
static uint64_t g_fold[FOLD_COUNT][2];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* 32x32 matrices over GF(2): mat[i] is the image of bit i. */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    for (int i = 0; vec; i++, vec >>= 1)
        if (vec & 1) sum ^= mat[i];
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat) {
    for (int i = 0; i < 32; i++) square[i] = gf2_times(mat, mat[i]);
}

/* Operator that advances a register over len zero bytes; len must be a power of two. */
static void zeros_op(uint32_t *even, size_t len) {
    uint32_t odd[32];
    odd[0] = POLY; /* one zero bit: reg' = (reg >> 1) ^ (reg & 1 ? POLY : 0) */
    for (int i = 1; i < 32; i++) odd[i] = 1u << (i - 1);
    gf2_square(even, odd); /* 2 bits */
    gf2_square(odd, even); /* 4 bits */
    for (;;) {
        gf2_square(even, odd); /* 8 bits, 32, ... */
        len >>= 1;
        if (len == 0) return;
        gf2_square(odd, even); /* 16 bits, 64, ... */
        len >>= 1;
        if (len == 0) {
            memcpy(even, odd, sizeof odd);
            return;
        }
    }
}

static void zeros_table(uint32_t table[4][256], size_t len) {
    uint32_t op[32];
    zeros_op(op, len);
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 0; k < 4; k++) table[k][n] = gf2_times(op, n << (8 * k));
}

static inline uint32_t shift(uint32_t table[4][256], uint32_t reg) {
    return table[0][reg & 0xff] ^ table[1][(reg >> 8) & 0xff] ^ table[2][(reg >> 16) & 0xff]
           ^ table[3][reg >> 24];
}

static void init_once(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        g_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 1; k < 8; k++)
            g_table[k][n] = (g_table[k - 1][n] >> 8) ^ g_table[0][g_table[k - 1][n] & 0xff];
    zeros_table(g_long_shift, LONG_BLOCK);
    zeros_table(g_short_shift, SHORT_BLOCK);
    /* x^e mod P, reflected: bit 31 holds the coefficient of x^0. */
    for (int i = 0; i < FOLD_COUNT; i++)
        for (int half = 0; half < 2; half++) {
            int e = k_fold_dist[i] + (half ? -32 : 32);
            uint32_t r = 0x80000000u;
            while (e--) r = (r & 1) ? (r >> 1) ^ POLY : r >> 1;
            g_fold[i][half] = (uint64_t)r << 1;
        }
#ifdef SC_HAVE_X86
    __builtin_cpu_init();
    g_hw = __builtin_cpu_supports("sse4.2");
    g_vpclmul = g_hw && __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("avx512f")
                && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("pclmul");
    if (getenv("SC_CRC32C_NO_VPCLMUL")) g_vpclmul = 0; /* to measure or test the other path */
#endif
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian hosts only, like the formats we read */
    return v;
}

uint32_t sc_crc32c_extend_portable(uint32_t crc, const void *data, size_t n) {
    pthread_once(&g_once, init_once);
    const uint8_t *p = data;
    uint32_t reg = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        reg = (reg >> 8) ^ g_table[0][(reg ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint64_t w = load64(p) ^ reg;
        reg = g_table[7][w & 0xff] ^ g_table[6][(w >> 8) & 0xff] ^ g_table[5][(w >> 16) & 0xff]
              ^ g_table[4][(w >> 24) & 0xff] ^ g_table[3][(w >> 32) & 0xff]
              ^ g_table[2][(w >> 40) & 0xff] ^ g_table[1][(w >> 48) & 0xff] ^ g_table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) reg = (reg >> 8) ^ g_table[0][(reg ^ *p++) & 0xff];
    return ~reg;
}

#ifdef SC_HAVE_X86
__attribute__((target("sse4.2"))) static uint32_t
hw_streams(uint32_t reg, const uint8_t **pp, size_t *np, size_t block, uint32_t table[4][256]) {
    const uint8_t *p = *pp;
    size_t n = *np;
    while (n >= 3 * block) {
        uint64_t a = reg, b = 0, c = 0;
        const uint8_t *end = p + block;
        do {
            a = _mm_crc32_u64(a, load64(p));
            b = _mm_crc32_u64(b, load64(p + block));
            c = _mm_crc32_u64(c, load64(p + 2 * block));
            p += 8;
        } while (p < end);
        reg = shift(table, (uint32_t)a) ^ (uint32_t)b;
        reg = shift(table, reg) ^ (uint32_t)c;
        p += 2 * block;
        n -= 3 * block;
    }
    *pp = p;
    *np = n;
    return reg;
}

#define VP_TARGET __attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.2")))

VP_TARGET static inline __m512i fold512(__m512i x, __m512i k) {
    return _mm512_xor_si512(_mm512_clmulepi64_epi128(x, k, 0x00),
                            _mm512_clmulepi64_epi128(x, k, 0x11));
}

VP_TARGET static inline __m128i fold128(__m128i x, const uint64_t k[2]) {
    __m128i kk = _mm_set_epi64x((long long)k[1], (long long)k[0]);
    return _mm_xor_si128(_mm_clmulepi64_si128(x, kk, 0x00), _mm_clmulepi64_si128(x, kk, 0x11));
}

/* Folds *np >= 256 bytes (all full 16-byte blocks of them) into the register; the caller
 * finishes the tail. reg is the raw register (not inverted). */
VP_TARGET static uint32_t vp_fold(uint32_t reg, const uint8_t **pp, size_t *np) {
    const uint8_t *p = *pp;
    size_t n = *np;
    __m512i k2048 = _mm512_broadcast_i32x4(
        _mm_set_epi64x((long long)g_fold[FOLD_2048][1], (long long)g_fold[FOLD_2048][0]));
    __m512i k512 = _mm512_broadcast_i32x4(
        _mm_set_epi64x((long long)g_fold[FOLD_512][1], (long long)g_fold[FOLD_512][0]));
    __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p),
                                  _mm512_castsi128_si512(_mm_cvtsi32_si128((int)reg)));
    __m512i x1 = _mm512_loadu_si512(p + 64), x2 = _mm512_loadu_si512(p + 128),
            x3 = _mm512_loadu_si512(p + 192);
    p += 256;
    n -= 256;
    while (n >= 256) {
        x0 = _mm512_xor_si512(fold512(x0, k2048), _mm512_loadu_si512(p));
        x1 = _mm512_xor_si512(fold512(x1, k2048), _mm512_loadu_si512(p + 64));
        x2 = _mm512_xor_si512(fold512(x2, k2048), _mm512_loadu_si512(p + 128));
        x3 = _mm512_xor_si512(fold512(x3, k2048), _mm512_loadu_si512(p + 192));
        p += 256;
        n -= 256;
    }
    x1 = _mm512_xor_si512(fold512(x0, k512), x1);
    x2 = _mm512_xor_si512(fold512(x1, k512), x2);
    x3 = _mm512_xor_si512(fold512(x2, k512), x3);
    while (n >= 64) {
        x3 = _mm512_xor_si512(fold512(x3, k512), _mm512_loadu_si512(p));
        p += 64;
        n -= 64;
    }
    /* Four lanes, earliest first, into one: fold by 384, 256 and 128 bits. */
    __m128i a = fold128(_mm512_extracti32x4_epi32(x3, 0), g_fold[FOLD_384]);
    a = _mm_xor_si128(a, fold128(_mm512_extracti32x4_epi32(x3, 1), g_fold[FOLD_256]));
    a = _mm_xor_si128(a, fold128(_mm512_extracti32x4_epi32(x3, 2), g_fold[FOLD_128]));
    a = _mm_xor_si128(a, _mm512_extracti32x4_epi32(x3, 3));
    while (n >= 16) {
        a = _mm_xor_si128(fold128(a, g_fold[FOLD_128]), _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(a));
    c = _mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(a, 1));
    *pp = p;
    *np = n;
    return (uint32_t)c;
}

__attribute__((target("sse4.2"))) uint32_t sc_crc32c_extend_hw(uint32_t crc, const void *data,
                                                               size_t n) {
    pthread_once(&g_once, init_once);
    const uint8_t *p = data;
    uint32_t reg = ~crc;
    if (g_vpclmul && n >= 256) reg = vp_fold(reg, &p, &n);
    while (n && ((uintptr_t)p & 7)) {
        reg = _mm_crc32_u8(reg, *p++);
        n--;
    }
    reg = hw_streams(reg, &p, &n, LONG_BLOCK, g_long_shift);
    reg = hw_streams(reg, &p, &n, SHORT_BLOCK, g_short_shift);
    uint64_t r64 = reg;
    while (n >= 8) {
        r64 = _mm_crc32_u64(r64, load64(p));
        p += 8;
        n -= 8;
    }
    reg = (uint32_t)r64;
    while (n--) reg = _mm_crc32_u8(reg, *p++);
    return ~reg;
}
#else
uint32_t sc_crc32c_extend_hw(uint32_t crc, const void *data, size_t n) {
    return sc_crc32c_extend_portable(crc, data, n);
}
#endif

int sc_crc32c_hw_available(void) {
    pthread_once(&g_once, init_once);
    return g_hw;
}

const char *sc_crc32c_impl_name(void) {
    if (!sc_crc32c_hw_available()) return "portable";
    return g_vpclmul ? "avx512-vpclmulqdq+sse4.2" : "sse4.2";
}

uint32_t sc_crc32c_extend(uint32_t crc, const void *data, size_t n) {
    pthread_once(&g_once, init_once);
    return g_hw ? sc_crc32c_extend_hw(crc, data, n) : sc_crc32c_extend_portable(crc, data, n);
}
