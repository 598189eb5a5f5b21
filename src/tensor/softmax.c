/* Row softmax with a vectorized exp (tensor/softmax.h). GCC vector extensions, 16 lanes: the
 * avx512f variant maps them to one zmm register, avx2 to two ymm, the default to four xmm (the
 * auto-vectorizer at -O2 leaves a loop calling a polynomial exp scalar). The variant is chosen
 * at run time from cpuid (explicit variants rather than target_clones, which clang 14 does not
 * link in C). */
#include "tensor/softmax.h"

#include <stdint.h>
#include <string.h>

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
#define LANES 16

/* exp(x) for x <= 0 (a score less its row's maximum): 2^n p(r), x = n ln2 + r, |r| <= ln2/2,
 * p Cephes' expf polynomial; exactly 0 below -87.3, where expf is 0 or subnormal. */
static inline __attribute__((always_inline)) void exp_nonpos(vf *xp) {
    const vf x = *xp, lo = (vf){0} - 87.0f;
    const vi small = x < -87.0f;
    const vf xc = (vf)(((vi)lo & small) | ((vi)x & ~small));
    /* n = rint(x log2 e) by the 1.5 * 2^23 trick (no fast-math: the adds are kept) */
    const vf t = xc * 1.44269504088896341f;
    const vf n = (t + 12582912.0f) - 12582912.0f;
    const vf r = xc - n * 0.693359375f - n * -2.12194440e-4f;
    vf p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const vi bits = (__builtin_convertvector(n, vi) + 127) << 23;
    const vf y = p * (vf)bits;
    *xp = (vf)((vi)y & (x >= -87.3f));
}

static inline float exp_scalar(float x) {
    vf v = {x};
    exp_nonpos(&v);
    return v[0];
}

static inline __attribute__((always_inline)) void softmax_rows(float *x, size_t rows, size_t cols,
                                                               size_t ld) {
    const size_t nv = cols / LANES * LANES;
    for (size_t r = 0; r < rows; r++) {
        float *v = x + r * ld, m = v[0], s = 0.0f;
        if (nv) {
            vf mv;
            memcpy(&mv, v, sizeof mv);
            for (size_t i = LANES; i < nv; i += LANES) {
                vf a;
                memcpy(&a, v + i, sizeof a);
                vi gt = a > mv;
                mv = (vf)(((vi)a & gt) | ((vi)mv & ~gt));
            }
            for (size_t k = 0; k < LANES; k++) m = mv[k] > m ? mv[k] : m;
        }
        for (size_t i = nv; i < cols; i++) m = v[i] > m ? v[i] : m;
        vf acc = {0};
        for (size_t i = 0; i < nv; i += LANES) {
            vf a;
            memcpy(&a, v + i, sizeof a);
            a -= m;
            exp_nonpos(&a);
            memcpy(v + i, &a, sizeof a);
            acc += a;
        }
        for (size_t k = 0; k < LANES; k++) s += acc[k];
        for (size_t i = nv; i < cols; i++) {
            v[i] = exp_scalar(v[i] - m);
            s += v[i];
        }
        const float inv = 1.0f / s;
        for (size_t i = 0; i < nv; i += LANES) {
            vf a;
            memcpy(&a, v + i, sizeof a);
            a *= inv;
            memcpy(v + i, &a, sizeof a);
        }
        for (size_t i = nv; i < cols; i++) v[i] *= inv;
    }
}

__attribute__((target("avx512f"))) static void softmax_avx512(float *x, size_t rows, size_t cols,
                                                              size_t ld) {
    softmax_rows(x, rows, cols, ld);
}

__attribute__((target("avx2"))) static void softmax_avx2(float *x, size_t rows, size_t cols,
                                                         size_t ld) {
    softmax_rows(x, rows, cols, ld);
}

static void softmax_default(float *x, size_t rows, size_t cols, size_t ld) {
    softmax_rows(x, rows, cols, ld);
}

void sc_softmax_rows_f32(float *x, size_t rows, size_t cols, size_t ld) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f")) {
        softmax_avx512(x, rows, cols, ld);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        softmax_avx2(x, rows, cols, ld);
        return;
    }
#endif
    softmax_default(x, rows, cols, ld);
}
