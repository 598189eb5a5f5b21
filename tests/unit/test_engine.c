/* The oneDNN engine path of the runner: Conv2D -> Conv2D edges kept in oneDNN's blocked layout
 * (Winograd where 3x3/1 and the CPU has it), a valid Conv2D, Flatten and Dense, checked against
 * a float64 reference written here; a short batch on the same runner; weights rewritten between
 * passes (the reorder must be redone); Winograd off; one thread; NaN in, NaN out, also
 * around a relu fused into the primitive. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/activations.h"
#include "sidecar/engine.h"
#include "sidecar/model.h"

#define B   4
#define H   8
#define CIN 3

#define CONV(name, f, pad, act)                                                                    \
    "{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"" name "\",\"filters\":" #f                 \
    ",\"kernel_size\":[3,3],\"strides\":[1,1],\"padding\":\"" pad "\",\"data_format\":"            \
    "\"channels_last\",\"dilation_rate\":[1,1],\"activation\":\"" act "\",\"use_bias\":true}}"

/* c1, c2: 3x3 same (16 filters, activation %s), c3: 3x3 valid (32), Flatten, Dense(5). */
static const char *model_json(int relu) {
    static char buf[2048];
    snprintf(
        buf, sizeof buf,
        "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
        "{\"class_name\":\"InputLayer\",\"config\":{\"batch_input_shape\":[null,8,8,3],"
        "\"dtype\":\"float32\",\"name\":\"in\"}}," CONV("c1", 16, "same", "%s") "," CONV(
            "c2", 16, "same",
            "%s") "," CONV("c3", 32, "valid",
                           "linear") ","
                                     "{\"class_name\":\"Flatten\",\"config\":{\"name\":\"f\"}},"
                                     "{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\","
                                     "\"units\":5,\"activation\":"
                                     "\"linear\",\"use_bias\":true}}]},\"keras_version\":\"2.15."
                                     "0\",\"backend\":\"tensorflow\"}",
        relu ? "relu" : "linear", relu ? "relu" : "linear");
    return buf;
}

static uint64_t g_rng = 88172645463325252ull;
static float urand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((g_rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static sc_model *make(int relu) {
    sc_model *m = NULL;
    sc_error err;
    const char *j = model_json(relu);
    assert_int_equal(sc_model_load_keras_json(j, strlen(j), "engine.json", &m, &err), SC_OK);
    for (size_t i = 0; i < sc_model_num_variables(m); i++) {
        sc_variable *v = sc_model_variable(m, i);
        for (int64_t k = 0; k < v->num_elements; k++) v->data[k] = 0.3f * urand();
    }
    return m;
}

/* NHWC 3x3 convolution, stride 1, 'same' (pad 1) or 'valid', in double. */
static void conv_ref(const double *x, int h, int cin, const float *k, const float *bias, int f,
                     int same, int relu, double *y, int *oh_out) {
    int oh = same ? h : h - 2, off = same ? -1 : 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < oh; j++)
                for (int o = 0; o < f; o++) {
                    double s = bias[o];
                    for (int di = 0; di < 3; di++)
                        for (int dj = 0; dj < 3; dj++) {
                            int ii = i + di + off, jj = j + dj + off;
                            if (ii < 0 || jj < 0 || ii >= h || jj >= h) continue;
                            for (int c = 0; c < cin; c++)
                                s += x[((b * h + ii) * h + jj) * cin + c]
                                     * k[((di * 3 + dj) * cin + c) * f + o];
                        }
                    if (relu && s < 0) s = 0;
                    y[((b * oh + i) * oh + j) * f + o] = s;
                }
    *oh_out = oh;
}

static void reference(sc_model *m, const float *x, int relu, double *out) {
    static double a[B * H * H * 32], t[B * H * H * 32];
    for (int i = 0; i < B * H * H * CIN; i++) a[i] = x[i];
    int oh;
    const float *v[8];
    for (int i = 0; i < 8; i++) v[i] = sc_model_variable(m, (size_t)i)->data;
    conv_ref(a, H, CIN, v[0], v[1], 16, 1, relu, t, &oh);
    conv_ref(t, oh, 16, v[2], v[3], 16, 1, relu, a, &oh);
    conv_ref(a, oh, 16, v[4], v[5], 32, 0, 0, t, &oh);
    int K = oh * oh * 32;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < 5; o++) {
            double s = v[7][o];
            for (int k = 0; k < K; k++) s += t[b * K + k] * v[6][k * 5 + o];
            out[b * 5 + o] = s;
        }
}

static void check(const float *got, const double *want, int batch) {
    double maxw = 0, maxd = 0;
    for (int i = 0; i < batch * 5; i++) {
        maxw = fmax(maxw, fabs(want[i]));
        maxd = fmax(maxd, fabs(got[i] - want[i]));
    }
    if (maxd > 1e-5 * fmax(maxw, 1.0)) fail_msg("max |diff| %g (max |ref| %g)", maxd, maxw);
}

static void fill_x(float *x) {
    for (int i = 0; i < B * H * H * CIN; i++) x[i] = urand();
}

static void test_blocked_chain_matches_reference(void **state) {
    (void)state;
    sc_model *m = make(1);
    static float x[B * H * H * CIN];
    double want[B * 5];
    fill_x(x);
    sc_runner *r;
    sc_error err;
    assert_int_equal(sc_runner_create(m, B, &r, &err), SC_OK);
    const float *in = x;
    assert_int_equal(sc_runner_run(r, B, &in, &err), SC_OK);
    reference(m, x, 1, want);
    check(sc_runner_output(r, 0), want, B);

    sc_runner_stats st;
    sc_runner_stats_get(r, &st);
    assert_int_equal(st.engine_nodes, 4);  /* three convolutions and the Dense */
    assert_int_equal(st.blocked_edges, 2); /* c1 -> c2 -> c3 */
    assert_true(st.cold_primitives >= 4);
    assert_true(st.cold_reorders >= 1);

    /* A short batch on the same runner: a second primitive per node, same numbers. */
    assert_int_equal(sc_runner_run(r, B - 1, &in, &err), SC_OK);
    check(sc_runner_output(r, 0), want, B - 1);

    /* New weights (as a bind does): the reordered copies must follow. */
    sc_variable *k2 = sc_model_find_variable(m, "c2", "kernel");
    for (int64_t i = 0; i < k2->num_elements; i++) k2->data[i] = 0.3f * urand();
    assert_int_equal(sc_runner_run(r, B, &in, &err), SC_OK);
    sc_runner_stats_get(r, &st);
    assert_true(st.cold_reorders >= 1);
    reference(m, x, 1, want);
    check(sc_runner_output(r, 0), want, B);

    /* One thread, then the default again. */
    sc_engine_set_threads(1);
    assert_int_equal(sc_engine_threads(), 1);
    assert_int_equal(sc_runner_run(r, B, &in, &err), SC_OK);
    check(sc_runner_output(r, 0), want, B);
    sc_engine_set_threads(0);
    sc_runner_free(r);

    /* Without Winograd: direct convolutions on the same blocked edges. */
    sc_engine_set_winograd(0);
    assert_int_equal(sc_runner_create(m, B, &r, &err), SC_OK);
    assert_int_equal(sc_runner_run(r, B, &in, &err), SC_OK);
    sc_runner_stats_get(r, &st);
    assert_int_equal(st.winograd_nodes, 0);
    check(sc_runner_output(r, 0), want, B);
    sc_engine_set_winograd(1);
    sc_runner_free(r);
    sc_model_free(m);
}

/* NaN in one example's input reaches every output of that example (convolutions and Dense on
 * oneDNN mix every input pixel into the Dense), and no other example's. Linear activations:
 * relu's NaN handling is the activation code's business. */
static void test_nan_propagates(void **state) {
    (void)state;
    sc_model *m = make(0);
    static float x[B * H * H * CIN];
    fill_x(x);
    x[1 * H * H * CIN + 5] = NAN; /* example 1 */
    sc_runner *r;
    sc_error err;
    assert_int_equal(sc_runner_create(m, B, &r, &err), SC_OK);
    const float *in = x;
    assert_int_equal(sc_runner_run(r, B, &in, &err), SC_OK);
    const float *y = sc_runner_output(r, 0);
    for (int b = 0; b < B; b++)
        for (int o = 0; o < 5; o++) {
            if (b == 1)
                assert_true(isnan(y[b * 5 + o]));
            else
                assert_false(isnan(y[b * 5 + o]));
        }
    sc_runner_free(r);
    sc_model_free(m);
}

/* A Conv2D with relu on plain NHWC edges runs with relu fused into the primitive, which
 * would turn NaN into 0: a batch with a NaN input, or weights with a NaN, must take the path
 * whose relu is the runner's (what sc_activation_apply does to NaN is what comes out). */
static void test_fused_relu_keeps_runner_nan_semantics(void **state) {
    (void)state;
    static const char j[] =
        "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
        "{\"class_name\":\"InputLayer\",\"config\":{\"batch_input_shape\":[null,8,8,3],"
        "\"dtype\":\"float32\",\"name\":\"in\"}}," CONV(
            "c", 8, "valid", "relu") "]},\"keras_version\":\"2.15.0\",\"backend\":\"tensorflow\"}";
    sc_model *m = NULL;
    sc_error err;
    assert_int_equal(sc_model_load_keras_json(j, strlen(j), "relu.json", &m, &err), SC_OK);
    sc_variable *k = sc_model_variable(m, 0);
    for (int64_t i = 0; i < k->num_elements; i++) k->data[i] = 0.3f * urand();
    float relu_nan = NAN;
    sc_activation_apply(SC_ACT_RELU, &relu_nan, 1, 1);
    static float x[B * H * H * CIN];
    fill_x(x);
    sc_runner *r;
    assert_int_equal(sc_runner_create(m, B, &r, &err), SC_OK);
    const float *in = x;
    assert_int_equal(sc_runner_run(r, B, &in, &err), SC_OK); /* finite: fused */
    sc_runner_stats st;
    sc_runner_stats_get(r, &st);
    assert_int_equal(st.fused_activations, 1);
    x[0] = NAN; /* example 0, pixel (0, 0): output (0, 0) of every filter reads it */
    assert_int_equal(sc_runner_run(r, B, &in, &err), SC_OK);
    const float *y = sc_runner_output(r, 0);
    for (int o = 0; o < 8; o++) assert_int_equal(!!isnan(y[o]), !!isnan(relu_nan));
    for (int i = 6 * 6 * 8; i < B * 6 * 6 * 8; i++) assert_false(isnan(y[i]));
    x[0] = 0.5f;
    k = sc_model_variable(m, 0);
    k->data[0] = NAN; /* filter 0 */
    assert_int_equal(sc_runner_run(r, B, &in, &err), SC_OK);
    y = sc_runner_output(r, 0);
    for (int i = 0; i < B * 6 * 6; i++) {
        assert_int_equal(!!isnan(y[i * 8]), !!isnan(relu_nan));
        assert_false(isnan(y[i * 8 + 1]));
    }
    sc_runner_free(r);
    sc_model_free(m);
}

/* ---- depthwise, separable, pooling, folding (issue 10 part 2) ---- */

#define LAYER(cls, cfg) "{\"class_name\":\"" cls "\",\"config\":{" cfg "}}"
#define BN(name)        LAYER("BatchNormalization", "\"name\":\"" name "\",\"axis\":[3],\"epsilon\":0.001")
#define SEQ(input, layers)                                                                         \
    "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["                       \
    "{\"class_name\":\"InputLayer\",\"config\":{\"batch_input_shape\":[null," input "],"           \
    "\"dtype\":\"float32\",\"name\":\"in\"}}," layers                                              \
    "]},\"keras_version\":\"2.15.0\",\"backend\":\"tensorflow\"}"

/* MobileNet-like: Conv2D (no bias) - BN - ReLU(6), DepthwiseConv2D - BN - relu, MaxPool,
 * SeparableConv2D (relu), DepthwiseConv2D (dm 2, stride 2, relu6) - BN, AveragePooling 'same'
 * (padding excluded), GlobalAveragePooling2D, Dense - BN. */
static const char
    k_mobile
        [] = SEQ("12,12,16",
                 LAYER(
                     "Conv2D",
                     "\"name\":\"c\",\"filters\":32,\"kernel_size\":[3,3],\"padding\":\"same\","
                     "\"activation\":\"linear\",\"use_bias\":false") "," BN("bn1") "," LAYER("ReLU",
                                                                                             "\"nam"
                                                                                             "e\":"
                                                                                             "\"r1"
                                                                                             "\","
                                                                                             "\"max"
                                                                                             "_valu"
                                                                                             "e\":"
                                                                                             "6.0") "," LAYER("DepthwiseConv2D", "\"name\":\"dw\",\"kernel_size\":[3,3],\"padding\":\"same\","
                                                                                                                                 "\"activation\":\"linear\",\"use_bias\":true") "," BN("bn2") "," LAYER("Activation",
                                                                                                                                                                                                        "\"name\":\"a2\",\"activation\":\"relu\"") "," LAYER("MaxPooling2D", "\"name\":\"mp\",\"pool_size\":[2,2],\"padding\":\"valid\"") "," LAYER("SeparableConv2D", "\"name\":\"sep\",\"filters\":32,\"kernel_size\":[3,3],"
                                                                                                                                                                                                                                                                                                                                                                       "\"padding\":\"same\",\"activation\":\"relu\",\"use_bias\":true") "," LAYER("DepthwiseConv2D", "\"name\":\"dw2\",\"kernel_size\":[3,3],\"strides\":[2,2],"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                      "\"depth_multiplier\":2,\"padding\":\"same\","
                                                                                                                                                                                                                                                                                                                                                                                                                                                                      "\"activation\":\"linear\",\"use_bias\":false") "," BN("bn3") "," LAYER("AveragePooling2D",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                              "\"name\":\"ap\",\"pool_size\":[2,2],\"strides\":[2,2],"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                              "\"padding\":\"same\"") "," LAYER("GlobalAveragePooling2D", "\"name\":\"gap\"") "," LAYER("Dense",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                        "\"name\":\"d\",\"units\":7,\"activation\":\"linear\",\"use_bias\":true") "," LAYER("BatchNormalization",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                            "\"name\":\"bn4\",\"axis\":-1"));

/* Random weights; BatchNormalization statistics of a trained model's sort (variance > 0). */
static sc_model *make_json(const char *j) {
    sc_model *m = NULL;
    sc_error err;
    assert_int_equal(sc_model_load_keras_json(j, strlen(j), "mobile.json", &m, &err), SC_OK);
    for (size_t i = 0; i < sc_model_num_variables(m); i++) {
        sc_variable *v = sc_model_variable(m, i);
        int var = strcmp(v->name, "moving_variance") == 0, gamma = strcmp(v->name, "gamma") == 0;
        for (int64_t k = 0; k < v->num_elements; k++)
            v->data[k] = var     ? 0.2f + fabsf(urand())
                         : gamma ? 1.0f + 0.5f * urand()
                                 : 0.4f * urand();
    }
    return m;
}

/* Runs the model once with the current engine settings; the output copied into out. */
static void run_once(sc_model *m, const float *x, int batch, float *out, size_t n,
                     sc_runner_stats *st) {
    sc_runner *r;
    sc_error err;
    assert_int_equal(sc_runner_create(m, batch, &r, &err), SC_OK);
    const float *in = x;
    assert_int_equal(sc_runner_run(r, batch, &in, &err), SC_OK);
    memcpy(out, sc_runner_output(r, 0), n * sizeof(float));
    if (st) sc_runner_stats_get(r, st);
    sc_runner_free(r);
}

static double max_rel(const float *a, const float *b, size_t n) {
    double maxw = 0, maxd = 0;
    for (size_t i = 0; i < n; i++) {
        maxw = fmax(maxw, fabs(b[i]));
        maxd = fmax(maxd, fabs((double)a[i] - b[i]));
    }
    return maxd / fmax(maxw, 1e-30);
}

/* The engine with every fold against the same model on the layers' own C code, and with
 * folding off; then NaN in one example stays in that example. */
static void test_mobile_chain_matches_c_layers(void **state) {
    (void)state;
    enum { MB = 3, N_IN = MB * 12 * 12 * 16, N_OUT = MB * 7 };
    sc_model *m = make_json(k_mobile);
    static float x[N_IN];
    for (int i = 0; i < N_IN; i++) x[i] = urand();
    float ref[N_OUT], got[N_OUT], unfolded[N_OUT];
    sc_runner_stats st;
    sc_engine_set_layers(0);
    run_once(m, x, MB, ref, N_OUT, &st);
    assert_int_equal(st.engine_nodes, 0);
    sc_engine_set_layers(1);
    run_once(m, x, MB, got, N_OUT, &st);
    /* c, dw, mp, sep, dw2, ap, gap, d: every layer but the four BNs and two activations */
    assert_int_equal(st.engine_nodes, 8);
    assert_int_equal(st.folded_norms, 4);
    assert_true(st.blocked_edges >= 4); /* c -> dw -> mp -> sep -> dw2 -> ap */
    double e_fold = max_rel(got, ref, N_OUT);
    sc_engine_set_fold(0);
    run_once(m, x, MB, unfolded, N_OUT, &st);
    sc_engine_set_fold(1);
    assert_int_equal(st.folded_norms, 0);
    double e_plain = max_rel(unfolded, ref, N_OUT);
    print_message("mobile chain vs C layers: max rel error folded %.2e, unfolded %.2e\n", e_fold,
                  e_plain);
    assert_true(e_fold <= 1e-5);
    assert_true(e_plain <= 1e-5);

    /* NaN in example 1: its outputs all NaN, the others finite, as on the C path. */
    x[1 * 12 * 12 * 16 + 100] = NAN;
    sc_engine_set_layers(0);
    run_once(m, x, MB, ref, N_OUT, NULL);
    sc_engine_set_layers(1);
    run_once(m, x, MB, got, N_OUT, NULL);
    for (int i = 0; i < N_OUT; i++) assert_int_equal(!!isnan(got[i]), !!isnan(ref[i]));
    for (int o = 0; o < 7; o++) assert_true(isnan(got[7 + o]));
    assert_false(isnan(got[0]));
    sc_model_free(m);
}

/* Relu on blocked edges, max pooling on blocked edges: where a NaN sits, which outputs are NaN
 * must be exactly the C layers' (TensorFlow's: NaN wins the max, relu keeps it). */
static const char k_nanpool[] = SEQ(
    "8,8,16",
    LAYER(
        "Conv2D",
        "\"name\":\"c\",\"filters\":16,\"kernel_size\":[1,1],\"padding\":\"valid\","
        "\"activation\":\"relu\",\"use_bias\":true") "," LAYER("MaxPooling2D",
                                                               "\"name\":\"mp\",\"pool_size\":[3,3]"
                                                               ",\"strides\":[2,2],"
                                                               "\"padding\":\"same\"") "," LAYER("D"
                                                                                                 "e"
                                                                                                 "p"
                                                                                                 "t"
                                                                                                 "h"
                                                                                                 "w"
                                                                                                 "i"
                                                                                                 "s"
                                                                                                 "e"
                                                                                                 "C"
                                                                                                 "o"
                                                                                                 "n"
                                                                                                 "v"
                                                                                                 "2"
                                                                                                 "D",
                                                                                                 "\"name\":\"dw\",\"kernel_size\":[1,1],\"padding\":\"valid\","
                                                                                                 "\"activation\":\"relu6\",\"use_bias\":true") "," LAYER("MaxPooling2D",
                                                                                                                                                         "\"name\":\"mp2\",\"pool_size\":[2,2],\"padding\":\"valid\""));

static void test_blocked_pool_nan_pattern(void **state) {
    (void)state;
    enum { MB = 2, N_IN = MB * 8 * 8 * 16, N_OUT = MB * 2 * 2 * 16 };
    sc_model *m = make_json(k_nanpool);
    static float x[N_IN];
    float ref[N_OUT], got[N_OUT];
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < N_IN; i++) x[i] = urand();
        if (pass >= 1) x[(3 * 8 + 5) * 16 + 4] = NAN; /* example 0, (3, 5), channel 4 */
        if (pass == 2) x[8 * 8 * 16 + (7 * 8 + 7) * 16 + 15] = NAN; /* example 1, corner */
        sc_engine_set_layers(0);
        run_once(m, x, MB, ref, N_OUT, NULL);
        sc_engine_set_layers(1);
        sc_runner_stats st;
        run_once(m, x, MB, got, N_OUT, &st);
        assert_int_equal(st.engine_nodes, 4);
        assert_int_equal(st.blocked_edges, 3); /* c -> mp -> dw -> mp2 */
        int nans = 0;
        for (int i = 0; i < N_OUT; i++) {
            assert_int_equal(!!isnan(got[i]), !!isnan(ref[i]));
            nans += !!isnan(got[i]);
            if (!isnan(ref[i])) assert_true(fabsf(got[i] - ref[i]) <= 1e-5f * (1 + fabsf(ref[i])));
        }
        assert_int_equal(nans > 0, pass >= 1);
    }
    /* NaN in the weights of the first convolution (filter 3): the fused relu must not hide it. */
    for (int i = 0; i < N_IN; i++) x[i] = urand();
    sc_model_find_variable(m, "c", "kernel")->data[3] = NAN;
    sc_engine_set_layers(0);
    run_once(m, x, MB, ref, N_OUT, NULL);
    sc_engine_set_layers(1);
    run_once(m, x, MB, got, N_OUT, NULL);
    for (int i = 0; i < N_OUT; i++) assert_int_equal(!!isnan(got[i]), !!isnan(ref[i]));
    assert_true(isnan(got[3]));
    sc_model_free(m);
}

static void test_describe(void **state) {
    (void)state;
    char buf[160];
    sc_engine_describe(buf, sizeof buf);
    assert_non_null(strstr(buf, "oneDNN "));
    assert_non_null(strstr(buf, "ISA "));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocked_chain_matches_reference),
        cmocka_unit_test(test_nan_propagates),
        cmocka_unit_test(test_fused_relu_keeps_runner_nan_semantics),
        cmocka_unit_test(test_mobile_chain_matches_c_layers),
        cmocka_unit_test(test_blocked_pool_nan_pattern),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
