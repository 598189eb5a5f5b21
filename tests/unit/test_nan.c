/* NaN propagates as in TensorFlow's CPU kernels: a NaN input gives a NaN output through every
 * max/clip-based activation and layer, and a NaN prediction gives a NaN loss (Keras' epsilon
 * clipping is tf.clip_by_value, which keeps NaN). Tested through the public model API (load
 * JSON, sc_runner_run), so it holds whichever engine runs a layer. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/metrics.h"
#include "sidecar/model.h"
#include "unit/metrics_testutil.h"

/* A Sequential model: Input(shape) -> layer. Runs it on x (one example) and returns the number
 * of NaN outputs; *n_out gets the output size. */
static size_t nan_outputs(const char *shape, const char *layer, const float *x, size_t *n_out) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, %s], "
             "\"name\": \"in\"}}, %s]}}",
             shape, layer);
    sc_model *m = NULL;
    sc_runner *r = NULL;
    sc_error err;
    if (sc_model_load_keras_json(json, strlen(json), "nan.json", &m, &err) != SC_OK)
        fail_msg("%s: %s", layer, err.message);
    if (sc_runner_create(m, 1, &r, &err) != SC_OK) fail_msg("%s: %s", layer, err.message);
    const float *in[1] = {x};
    if (sc_runner_run(r, 1, in, &err) != SC_OK) fail_msg("%s: %s", layer, err.message);
    sc_shape s = sc_model_output_shape(m, 0);
    size_t n = 1;
    for (int d = 0; d < s.rank; d++) n *= (size_t)s.dims[d];
    const float *y = sc_runner_output(r, 0);
    size_t nans = 0;
    for (size_t i = 0; i < n; i++) nans += isnan(y[i]) != 0;
    *n_out = n;
    sc_runner_free(r);
    sc_model_free(m);
    return nans;
}

static void test_activations(void **state) {
    (void)state;
    static const char *const acts[] = {"relu",      "relu6",   "leaky_relu",  "elu",
                                       "selu",      "softmax", "log_softmax", "hard_sigmoid",
                                       "hard_silu", "sigmoid", "tanh",        "softplus",
                                       "gelu",      "swish",   "mish",        "exponential"};
    const float x[4] = {NAN, NAN, NAN, NAN};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        char layer[256];
        snprintf(layer, sizeof layer,
                 "{\"class_name\": \"Activation\", \"config\": {\"name\": "
                 "\"a\", \"activation\": \"%s\"}}",
                 acts[i]);
        size_t n, nans = nan_outputs("4", layer, x, &n);
        if (nans != n)
            fail_msg("activation %s: %zu of %zu outputs NaN for NaN input", acts[i], nans, n);
    }
    /* One NaN among finite values: element-wise activations keep it in its own cell. */
    const float mixed[4] = {-1.0f, NAN, 2.0f, 7.0f};
    size_t n;
    assert_int_equal(nan_outputs("4",
                                 "{\"class_name\": \"Activation\", \"config\": {\"name\": \"a\", "
                                 "\"activation\": \"relu\"}}",
                                 mixed, &n),
                     1);
    assert_int_equal(nan_outputs("4",
                                 "{\"class_name\": \"Activation\", \"config\": {\"name\": \"a\", "
                                 "\"activation\": \"relu6\"}}",
                                 mixed, &n),
                     1);
    /* Softmax: the whole row is NaN (TF: exp(x - max) with a NaN max). */
    assert_int_equal(
        nan_outputs("4", "{\"class_name\": \"Softmax\", \"config\": {\"name\": \"a\"}}", mixed, &n),
        4);
}

static void test_layers(void **state) {
    (void)state;
    static const char *const layers[] = {
        "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"a\"}}",
        "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"a\", \"max_value\": 6.0}}",
        "{\"class_name\": \"LeakyReLU\", \"config\": {\"name\": \"a\", \"alpha\": 0.1}}",
        "{\"class_name\": \"ELU\", \"config\": {\"name\": \"a\"}}",
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"a\", \"units\": 2, \"activation\": "
        "\"relu\"}}",
    };
    const float x[4] = {NAN, NAN, NAN, NAN};
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        size_t n, nans = nan_outputs("4", layers[i], x, &n);
        if (nans != n) fail_msg("%s: %zu of %zu outputs NaN", layers[i], nans, n);
    }
    /* Max pooling: a NaN anywhere in the window (not only first) makes the cell NaN. */
    const float img[8] = {1.0f, 2.0f, NAN, 3.0f, 0.5f, 0.25f, 4.0f, 5.0f}; /* 1 x 8 x 1 */
    size_t n;
    assert_int_equal(nan_outputs("8, 1",
                                 "{\"class_name\": \"MaxPooling1D\", \"config\": {\"name\": "
                                 "\"p\", \"pool_size\": [4], \"strides\": [4]}}",
                                 img, &n),
                     1);
    assert_int_equal(n, 2);
    assert_int_equal(nan_outputs("8, 1",
                                 "{\"class_name\": \"GlobalMaxPooling1D\", \"config\": "
                                 "{\"name\": \"p\"}}",
                                 img, &n),
                     1);
    const float img2[16] = {1, 2, 3, 4, 5, NAN, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}; /* 4x4x1 */
    assert_int_equal(nan_outputs("4, 4, 1",
                                 "{\"class_name\": \"MaxPooling2D\", \"config\": "
                                 "{\"name\": \"p\", \"pool_size\": [2, 2]}}",
                                 img2, &n),
                     1);
    assert_int_equal(n, 4);
}

/* Maximum / Minimum of two inputs, NaN in either position. */
static void test_maximum_minimum(void **state) {
    (void)state;
    static const char *const ops[] = {"Maximum", "Minimum"};
    for (int k = 0; k < 2; k++) {
        char json[2048];
        snprintf(
            json, sizeof json,
            "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
            "{\"class_name\": \"InputLayer\", \"name\": \"a\", \"config\": {\"batch_input_shape\": "
            "[null, 2], \"name\": \"a\"}, \"inbound_nodes\": []},"
            "{\"class_name\": \"InputLayer\", \"name\": \"b\", \"config\": {\"batch_input_shape\": "
            "[null, 2], \"name\": \"b\"}, \"inbound_nodes\": []},"
            "{\"class_name\": \"%s\", \"name\": \"m\", \"config\": {\"name\": \"m\"}, "
            "\"inbound_nodes\": [[[\"a\", 0, 0, {}], [\"b\", 0, 0, {}]]]}],"
            "\"input_layers\": [[\"a\", 0, 0], [\"b\", 0, 0]], \"output_layers\": [[\"m\", 0, "
            "0]]}}",
            ops[k]);
        sc_model *m = NULL;
        sc_runner *r = NULL;
        sc_error err;
        if (sc_model_load_keras_json(json, strlen(json), "mm.json", &m, &err) != SC_OK)
            fail_msg("%s: %s", ops[k], err.message);
        assert_int_equal(sc_runner_create(m, 1, &r, &err), SC_OK);
        const float a[2] = {NAN, 1.0f}, b[2] = {0.0f, NAN};
        const float *in[2] = {a, b};
        assert_int_equal(sc_runner_run(r, 1, in, &err), SC_OK);
        const float *y = sc_runner_output(r, 0);
        if (!isnan(y[0]) || !isnan(y[1]))
            fail_msg("%s(NaN, 0), (1, NaN) = %g, %g", ops[k], y[0], y[1]);
        sc_runner_free(r);
        sc_model_free(m);
    }
}

/* A NaN prediction gives a NaN loss through every clip (Keras' epsilon clipping). */
static void test_loss_clipping(void **state) {
    (void)state;
    static const char *const losses[] = {"binary_crossentropy",
                                         "categorical_crossentropy",
                                         "kl_divergence",
                                         "mean_squared_logarithmic_error",
                                         "hinge",
                                         "squared_hinge",
                                         "categorical_hinge",
                                         "mean_absolute_percentage_error",
                                         "cosine_similarity",
                                         "mse",
                                         "mae",
                                         "poisson",
                                         "huber",
                                         "log_cosh"};
    const float y[2] = {0.0f, 1.0f}, p[2] = {NAN, NAN};
    for (size_t i = 0; i < sizeof losses / sizeof losses[0]; i++)
        for (int kv = 2; kv <= 3; kv++) {
            tbatch t;
            tb_init(&t, 1, y, 1, 2, 0, p, 1, 2, 0, NULL);
            sc_loss_spec s = sc_loss_default_spec(losses[i]);
            s.keras_version = kv;
            sc_loss *l = NULL;
            sc_error e;
            if (sc_loss_create(&s, &l, &e) != SC_OK)
                fail_msg("create %s: %s", losses[i], e.message);
            float v = 0.0f;
            if (sc_loss_compute(l, &t.b, &v, &e) != SC_OK) fail_msg("%s: %s", losses[i], e.message);
            sc_loss_free(l);
            if (!isnan(v))
                fail_msg("%s (Keras %d): NaN predictions gave loss %g", losses[i], kv, v);
        }
    /* Sparse: label 1 of 2 classes. */
    const float ys[1] = {1.0f};
    for (int kv = 2; kv <= 3; kv++) {
        tbatch t;
        tb_init(&t, 1, ys, 0, 0, 0, p, 1, 2, 0, NULL);
        sc_loss_spec s = sc_loss_default_spec("sparse_categorical_crossentropy");
        s.keras_version = kv;
        sc_loss *l = NULL;
        sc_error e;
        assert_int_equal(sc_loss_create(&s, &l, &e), SC_OK);
        float v = 0.0f;
        assert_int_equal(sc_loss_compute(l, &t.b, &v, &e), SC_OK);
        sc_loss_free(l);
        if (!isnan(v)) fail_msg("sparse_categorical_crossentropy (Keras %d): loss %g", kv, v);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_layers),
        cmocka_unit_test(test_maximum_minimum),
        cmocka_unit_test(test_loss_clipping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
