/* tests/conformance/test_fixture_config.c — the model a real checkpoint carries (shared/fixtures
 * cases 02, 05, 11, 12, 14): Keras 2 SavedModel metadata (keras_metadata.pb, Keras 2.10; and
 * inside saved_model.pb, TF 2.3), Keras 3's legacy model.save("m.h5"), a genuine Keras 2.0.5
 * save_weights .h5 bound by name, and a SavedModel whose root is no Keras model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sidecar/ckpt_ref.h"
#include "sidecar/compile.h"
#include "sidecar/keras_weights.h"
#include "sidecar/model.h"
#include "support/ckpt_fixture.h"

static const char *g_root;

static int have_fixtures(void) { return (g_root = ckf_fixtures()) != NULL; }
static char *fixture(const char *rel) { return ckf_fixture(g_root, rel); }

/* The config of ref loads as a model whose variables have these shapes ({rows, cols}; cols 0
 * for a bias), and its compile config gives this loss class and this one metric name. */
static sc_model *expect_config(const sc_ckpt_ref *ref, const int64_t (*shapes)[2], size_t n,
                               const char *loss_class, const char *metric, int pred_last) {
    sc_keras_config kc;
    sc_error err;
    if (sc_ckpt_keras_config(ref, &kc, &err)) fail_msg("%s", err.message);
    sc_model *m;
    if (sc_model_load_keras_json(kc.model_json, strlen(kc.model_json), kc.source, &m, &err))
        fail_msg("%s", err.message);
    assert_int_equal(sc_model_num_variables(m), n);
    for (size_t i = 0; i < n; i++) {
        const sc_variable *v = sc_model_variable(m, i);
        assert_int_equal(v->shape.rank, shapes[i][1] ? 2 : 1);
        assert_int_equal(v->shape.dims[0], shapes[i][0]);
        if (shapes[i][1]) assert_int_equal(v->shape.dims[1], shapes[i][1]);
    }
    assert_non_null(kc.compile_json);
    sc_compile_shapes cs = {.pred_rank = 2,
                            .pred_last_dim = pred_last,
                            .true_rank = 1,
                            .true_last_dim = 1,
                            .keras_version = sc_model_keras_version(m)};
    sc_compiled c;
    if (sc_compile_from_json(kc.compile_json, strlen(kc.compile_json), kc.source, &cs, &c, &err))
        fail_msg("%s", err.message);
    assert_string_equal(sc_loss_class_name(c.loss), loss_class);
    assert_int_equal(c.num_metrics, 1);
    assert_string_equal(sc_metric_name(c.metrics[0]), metric);
    sc_compiled_clear(&c);
    sc_keras_config_clear(&kc);
    return m;
}

/* Case 02: Keras 2.10 keras_metadata.pb (the SavedModel's saved_model.pb is not in the
 * snapshot): Sequential Dense(512) -> Dropout -> Dense(10), SparseCategoricalCrossentropy
 * (from_logits) and SparseCategoricalAccuracy, objects carrying shared_object_id. */
static void test_case02_keras_metadata(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char *dir = fixture("02_nighthawks_tf_tutorial_cp_epoch/saved_model/my_model");
    sc_ckpt_ref ref;
    sc_error err;
    if (sc_ckpt_ref_resolve(dir, &ref, &err)) fail_msg("%s", err.message);
    assert_int_equal(ref.kind, SC_CKPT_SAVED_MODEL);
    const int64_t shapes[][2] = {{784, 512}, {512, 0}, {512, 10}, {10, 0}};
    sc_model *m = expect_config(&ref, shapes, 4, "SparseCategoricalCrossentropy",
                                "sparse_categorical_accuracy", 10);
    sc_shape in = sc_model_input_shape(m, 0);
    assert_int_equal(in.rank, 1);
    assert_int_equal(in.dims[0], 784);
    sc_model_free(m);
    sc_ckpt_ref_clear(&ref);
    free(dir);
}

/* Case 14: TF 2.3 wrote no keras_metadata.pb; the metadata is in saved_model.pb's object graph
 * (tuples serialized as __tuple__). Dense(5) x2 -> Dense(1), binary_crossentropy, accuracy.
 * The variables bind and the step is optimizer/iter = 1 (MANIFEST). */
static void test_case14_saved_model_pb_metadata(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char *dir = fixture("14_tf_rust_examples_keras_savedmodels/keras_single_input_saved_model");
    sc_ckpt_ref ref;
    sc_error err;
    if (sc_ckpt_ref_resolve(dir, &ref, &err)) fail_msg("%s", err.message);
    assert_int_equal(ref.kind, SC_CKPT_SAVED_MODEL);
    const int64_t shapes[][2] = {{5, 5}, {5, 0}, {5, 5}, {5, 0}, {5, 1}, {1, 0}};
    sc_model *m = expect_config(&ref, shapes, 6, "BinaryCrossentropy", "accuracy", 1);
    char *prefix;
    assert_int_equal(sc_ckpt_ref_bundle_prefix(&ref, &prefix, &err), SC_OK);
    sc_bundle *b;
    if (sc_bundle_open(prefix, &b, &err)) fail_msg("%s", err.message);
    if (sc_model_bind_bundle(m, b, NULL, &err)) fail_msg("%s", err.message);
    sc_ckpt_info info;
    assert_int_equal(sc_ckpt_describe(b, &info, &err), SC_OK);
    assert_int_equal(info.step, 1);
    sc_bundle_free(b);
    free(prefix);
    sc_model_free(m);
    sc_ckpt_ref_clear(&ref);
    free(dir);
}

/* Case 05: a tf.Module SavedModel (TF 2.14): no Keras model at the root, said so. */
static void test_case05_not_keras(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char *dir =
        fixture("05_tf_serving_testdata_savedmodels/saved_model_half_plus_two_tf2_cpu/00000123");
    sc_ckpt_ref ref;
    sc_error err;
    if (sc_ckpt_ref_resolve(dir, &ref, &err)) fail_msg("%s", err.message);
    assert_int_equal(ref.kind, SC_CKPT_SAVED_MODEL);
    sc_keras_config kc;
    assert_int_equal(sc_ckpt_keras_config(&ref, &kc, &err), SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "give --model"));
    assert_null(kc.model_json);
    sc_ckpt_ref_clear(&ref);
    free(dir);
}

/* Case 11: Keras 3.11.1's legacy model.save("model.h5"): model_config and training_config at
 * the root, weights as model_weights/dense_3/sequential_1/dense_3/kernel, the step at
 * optimizer_weights/adam/iteration = 3750. Every variable binds; spot values from the dump. */
static void test_case11_legacy_h5(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char *path = fixture("11_aamaninamdar_keras_zip_and_legacy_h5/model.h5");
    sc_ckpt_ref ref;
    sc_error err;
    if (sc_ckpt_ref_resolve(path, &ref, &err)) fail_msg("%s", err.message);
    assert_int_equal(ref.kind, SC_CKPT_LEGACY_H5);
    const int64_t shapes[][2] = {{12, 64}, {64, 0}, {64, 32}, {32, 0}, {32, 1}, {1, 0}};
    sc_model *m = expect_config(&ref, shapes, 6, "BinaryCrossentropy", "accuracy", 1);
    sc_h5weights *h;
    if (sc_h5weights_open(path, &h, &err)) fail_msg("%s", err.message);
    assert_int_equal(sc_h5weights_is_legacy(h), 1);
    int64_t step = 0;
    const char *key = NULL;
    assert_int_equal(sc_h5weights_legacy_step(h, &step, &key, &err), SC_OK);
    assert_int_equal(step, 3750);
    assert_string_equal(key, "optimizer_weights/adam/iteration");
    sc_bind_report rep;
    if (sc_model_bind_h5legacy(m, h, &rep, &err)) fail_msg("%s", err.message);
    assert_int_equal(rep.num_entries, 6);
    assert_int_equal(rep.num_unused, 0);
    assert_string_equal(rep.entries[0].key, "model_weights/dense_3/sequential_1/dense_3/kernel");
    sc_bind_report_clear(&rep);
    sc_variable *k0 = sc_model_find_variable(m, "dense_3", "kernel");
    sc_variable *b0 = sc_model_find_variable(m, "dense_3", "bias");
    assert_non_null(k0);
    assert_non_null(b0);
    assert_true(fabsf(k0->data[1] - -0.125788f) < 1e-6f); /* (0,1) in DECODED_model.h5.h5dump */
    assert_true(fabsf(b0->data[0] - 0.186449f) < 1e-6f);
    sc_h5weights_free(h);
    sc_model_free(m);
    sc_ckpt_ref_clear(&ref);
    free(path);
}

/* Case 12: genuine Keras 2.0.5 save_weights("model.h5") with its model.json: layer groups at
 * the root (dense_1/dense_1/kernel:0), NUL-padded fixed-length layer_names, no optimizer. */
static void test_case12_keras205_weights(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char *json = fixture("12_0xdaksh_keras2_h5_json_and_tf1_events/model.json");
    char *path = fixture("12_0xdaksh_keras2_h5_json_and_tf1_events/model.h5");
    sc_model *m;
    sc_error err;
    if (sc_model_load_keras(json, &m, &err)) fail_msg("%s", err.message);
    sc_h5weights *h;
    if (sc_h5weights_open(path, &h, &err)) fail_msg("%s", err.message);
    assert_int_equal(sc_h5weights_is_legacy(h), 1);
    int64_t step;
    assert_int_equal(sc_h5weights_legacy_step(h, &step, NULL, &err), SC_NOT_FOUND);
    if (sc_model_bind_h5legacy(m, h, NULL, &err)) fail_msg("%s", err.message);
    sc_variable *b5 = sc_model_find_variable(m, "dense_5", "bias");
    assert_non_null(b5);
    assert_true(fabsf(b5->data[0] - 1.55324f) < 1e-5f);
    sc_ckpt_ref ref;
    if (sc_ckpt_ref_resolve(path, &ref, &err)) fail_msg("%s", err.message);
    sc_keras_config kc;
    assert_int_equal(sc_ckpt_keras_config(&ref, &kc, &err), SC_NOT_FOUND); /* weights only */
    assert_non_null(strstr(err.message, "model_config"));
    sc_ckpt_ref_clear(&ref);
    sc_h5weights_free(h);
    sc_model_free(m);
    free(path);
    free(json);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case02_keras_metadata),
        cmocka_unit_test(test_case14_saved_model_pb_metadata),
        cmocka_unit_test(test_case05_not_keras),
        cmocka_unit_test(test_case11_legacy_h5),
        cmocka_unit_test(test_case12_keras205_weights),
    };
    return cmocka_run_group_tests_name("fixture_config", tests, NULL, NULL);
}
