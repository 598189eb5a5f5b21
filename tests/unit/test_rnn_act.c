/* The vectorised sigmoid and tanh of the recurrence (src/model/layers/rnn_simd.c) against
 * double-precision libm over a dense sweep of inputs: within 3e-7 absolute and 2e-6 relative
 * (a few float32 ulps), NaN in -> NaN out, the limits at +-inf, and every length of tail. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "model/layers/rnn_cell.h"

static double ref(sc_activation a, double x) {
    return a == SC_ACT_TANH ? tanh(x) : 1.0 / (1.0 + exp(-x));
}

static void sweep(sc_activation a) {
    enum { N = 200003 }; /* odd: a tail after the full vectors */
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (int i = 0; i < N; i++) x[i] = y[i] = -100.0f + 200.0f * (float)i / (N - 1);
    /* dense near 0 and around the 0.625 switch of tanh */
    for (int i = 0; i < 2000; i++) x[i] = y[i] = (float)(i - 1000) * 1e-3f;
    sc_rnn_act(a, y, N);
    double worst_abs = 0, worst_rel = 0;
    for (int i = 0; i < N; i++) {
        double want = ref(a, x[i]), d = fabs((double)y[i] - want);
        if (d > worst_abs) worst_abs = d;
        if (fabs(want) > 1e-3 && d / fabs(want) > worst_rel) worst_rel = d / fabs(want);
    }
    print_message("  %s: worst abs %.3g, rel %.3g\n", a == SC_ACT_TANH ? "tanh" : "sigmoid",
                  worst_abs, worst_rel);
    assert_true(worst_abs <= 3e-7);
    assert_true(worst_rel <= 2e-6);
    free(x);
    free(y);
}

static void test_sigmoid(void **state) {
    (void)state;
    sweep(SC_ACT_SIGMOID);
}

static void test_tanh(void **state) {
    (void)state;
    sweep(SC_ACT_TANH);
}

static void test_special_values(void **state) {
    (void)state;
    for (size_t n = 1; n <= 19; n++) { /* every tail length */
        float v[19];
        for (size_t i = 0; i < n; i++) v[i] = (float)i - 9.0f;
        v[n - 1] = NAN;
        if (n > 2) v[0] = INFINITY, v[1] = -INFINITY;
        float s[19], t[19];
        for (size_t i = 0; i < n; i++) s[i] = t[i] = v[i];
        sc_rnn_act(SC_ACT_SIGMOID, s, n);
        sc_rnn_act(SC_ACT_TANH, t, n);
        assert_true(isnan(s[n - 1]) && isnan(t[n - 1]));
        if (n > 2) {
            assert_true(s[0] == 1.0f && s[1] >= 0.0f && s[1] < 1e-37f); /* 0 to float32 */
            assert_true(t[0] == 1.0f && t[1] == -1.0f);
        }
        for (size_t i = 2; i + 1 < n; i++) {
            assert_true(fabs(s[i] - ref(SC_ACT_SIGMOID, v[i])) <= 3e-7);
            assert_true(fabs(t[i] - ref(SC_ACT_TANH, v[i])) <= 3e-7);
        }
    }
    /* tanh keeps the sign of zero and is odd */
    float z[2] = {-0.0f, 0.0f};
    sc_rnn_act(SC_ACT_TANH, z, 2);
    assert_true(signbit(z[0]) && !signbit(z[1]));
    /* other activations go through the scalar path */
    float r[3] = {-1.0f, 0.5f, 2.0f};
    sc_rnn_act(SC_ACT_RELU, r, 3);
    assert_true(r[0] == 0.0f && r[1] == 0.5f && r[2] == 2.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sigmoid), cmocka_unit_test(test_tanh),
                                       cmocka_unit_test(test_special_values)};
    return cmocka_run_group_tests_name("rnn_act", tests, NULL, NULL);
}
