/* Vectorised sigmoid and tanh for the recurrence (rnn_cell.c): in an LSTM or GRU the gate
 * activations, not the GEMMs, take most of the time when computed one libm call at a time
 * (perf on bench_rnn: expf, expm1f and tanhf were 60% of an LSTM(256) forward pass).
 *
 * exp is Cephes' expf (range reduction by ln 2 in two parts, degree-6 polynomial, 2^n through
 * the exponent bits): relative error below 2e-7 on the clamped range; tanh is Cephes' tanhf
 * (odd polynomial below |x| = 0.625, 1 - 2 / (exp(2|x|) + 1) above). Both stay within a few
 * float32 ulps of libm's sigmoidf/tanhf, far inside the 1e-5 tolerance of the goldens. NaN in
 * gives NaN out, as TensorFlow's kernels (the clamps below would otherwise replace it).
 * AVX2 + FMA, chosen at run time; other CPUs keep the scalar libm path. */
#include <stdint.h>

#include "model/layers/rnn_cell.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))

TGT static inline __m256 exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-88.3762626647949f);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

TGT static inline __m256 keep_nan(__m256 x, __m256 y) {
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

TGT static inline __m256 sigmoid8(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return keep_nan(x, _mm256_div_ps(one, _mm256_add_ps(one, e)));
}

TGT static inline __m256 tanh8(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    /* |x| >= 0.625: 1 - 2 / (exp(2|x|) + 1), sign restored */
    __m256 e = exp8(_mm256_add_ps(ax, ax));
    __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    big = _mm256_or_ps(big, _mm256_and_ps(x, sign));
    /* |x| < 0.625: x + x z P(z), z = x^2 */
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-5.70498872745E-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954E-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531E-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036E-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422E-1f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    small = _mm256_or_ps(_mm256_andnot_ps(sign, small), _mm256_and_ps(x, sign)); /* tanh(-0) */
    __m256 r = _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
    return keep_nan(x, r);
}

TGT static void apply_avx2(int tanh_, float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(x + i, tanh_ ? tanh8(v) : sigmoid8(v));
    }
    if (i < n) { /* the tail through a padded vector, so every element gets the same formula */
        float buf[8] = {0};
        for (size_t k = i; k < n; k++) buf[k - i] = x[k];
        __m256 v = _mm256_loadu_ps(buf);
        _mm256_storeu_ps(buf, tanh_ ? tanh8(v) : sigmoid8(v));
        for (size_t k = i; k < n; k++) x[k] = buf[k - i];
    }
}

static int have_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

void sc_rnn_act(sc_activation a, float *x, size_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
    if ((a == SC_ACT_SIGMOID || a == SC_ACT_TANH) && have_avx2()) {
        apply_avx2(a == SC_ACT_TANH, x, n);
        return;
    }
#endif
    if (a != SC_ACT_LINEAR) sc_activation_apply(a, x, 1, n);
}
