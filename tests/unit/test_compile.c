/* Compile configs -> loss and metric objects: the DESIGN §4 example, Keras 3 envelopes and the
 * old {"class_name", "config"} form, "accuracy" resolution by shapes, names (auc, auc_1,
 * weighted_), config.json with compile_config (also the real .keras fixture), and errors. Values
 * are checked end to end on small batches, with the arithmetic in the comments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "sidecar/compile.h"
#include "sidecar/keras_weights.h"
#include "unit/metrics_testutil.h"
#include "support/ckpt_fixture.h"

/* 4 samples, 3 classes. argmax: 1, 0, 2, 1. */
static const float P3[] = {0.1f, 0.6f, 0.3f, 0.5f, 0.2f, 0.3f, 0.2f, 0.3f, 0.5f, 0.3f, 0.4f, 0.3f};
static const float YS[] = {2, 0, 0, 0};                         /* sparse labels */
static const float YM[] = {0, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0}; /* multi-hot */

static const sc_compile_shapes SPARSE3 = {2, 3, 1, 1, 3, SC_BACKEND_TENSORFLOW};
static const sc_compile_shapes DENSE3 = {2, 3, 2, 3, 3, SC_BACKEND_TENSORFLOW};

static sc_compiled compile_ok(const char *json, const sc_compile_shapes *sh) {
    sc_compiled c;
    sc_error err;
    if (sc_compile_from_json(json, strlen(json), "t.json", sh, &c, &err) != SC_OK)
        fail_msg("compile: %s", err.message);
    return c;
}

/* Compiles a config expected to fail; returns the status and checks *out is left empty. */
static sc_status compile_err(const char *json, const sc_compile_shapes *sh, sc_error *err) {
    sc_compiled c;
    memset(&c, 0xAB, sizeof c);
    sc_status st = sc_compile_from_json(json, strlen(json), "t.json", sh, &c, err);
    assert_int_not_equal(st, SC_OK);
    assert_null(c.loss);
    assert_null(c.metrics);
    assert_int_equal(c.num_metrics, 0);
    return st;
}

static double value_on(sc_metric *m, tbatch *t) {
    sc_error err;
    sc_metric_reset(m);
    if (sc_metric_update(m, &t->b, &err) != SC_OK)
        fail_msg("%s: %s", sc_metric_name(m), err.message);
    double v = NAN;
    if (sc_metric_result(m, &v, &err) != SC_OK) fail_msg("%s: %s", sc_metric_name(m), err.message);
    return v;
}

static double spec_value(const sc_metric_spec *s, tbatch *t) {
    sc_metric *m = NULL;
    sc_error err;
    if (sc_metric_create(s, &m, &err) != SC_OK) fail_msg("%s", err.message);
    double v = value_on(m, t);
    sc_metric_free(m);
    return v;
}

static void assert_names(const sc_compiled *c, const char *const *names, size_t n) {
    assert_int_equal(c->num_metrics, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(sc_metric_name(c->metrics[i]), names[i]);
}

static void assert_msg_has(const sc_error *err, const char *part) {
    if (!strstr(err->message, part)) fail_msg("message '%s' lacks '%s'", err->message, part);
}

/* DESIGN §4's example, in the old {"class_name", "config"} form, beside a string. */
static void test_design_example(void **state) {
    (void)state;
    sc_compiled c = compile_ok(
        "{\"optimizer\": \"adam\", \"loss\": \"sparse_categorical_crossentropy\", \"metrics\": ["
        "{\"class_name\": \"AUC\", \"config\": {\"name\": \"pr_auc\", \"curve\": \"PR\","
        " \"num_thresholds\": 200}}, \"accuracy\"]}",
        &SPARSE3);
    assert_non_null(c.loss);
    assert_string_equal(sc_loss_class_name(c.loss), "SparseCategoricalCrossentropy");
    const char *names[] = {"pr_auc", "accuracy"};
    assert_names(&c, names, 2);
    assert_string_equal(sc_metric_class_name(c.metrics[0]), "AUC");
    assert_string_equal(sc_metric_class_name(c.metrics[1]), "SparseCategoricalAccuracy");
    assert_int_equal(c.weighted[0] + c.weighted[1], 0);
    /* "accuracy" on sparse labels: only sample 1 (label 0, argmax 0) matches: 1/4. */
    tbatch t;
    tb_init(&t, 4, YS, 0, 0, 0, P3, 1, 3, 0, NULL);
    assert_near(value_on(c.metrics[1], &t), 0.25, 1e-7);
    /* The PR curve reached the metric: a binary batch where ROC and PR AUC differ. */
    const float yb[] = {1, 0, 1, 0}, pb[] = {0.9f, 0.8f, 0.3f, 0.1f};
    tb_init(&t, 4, yb, 1, 1, 0, pb, 1, 1, 0, NULL);
    sc_metric_spec pr = sc_metric_default_spec("AUC"), roc = pr;
    pr.curve = SC_AUC_PR;
    double want = spec_value(&pr, &t);
    assert_near(value_on(c.metrics[0], &t), want, 1e-7);
    assert_true(fabs(want - spec_value(&roc, &t)) > 1e-3);
    sc_compiled_clear(&c);
    assert_null(c.metrics);
    sc_compiled_clear(&c); /* twice is fine */
}

/* The issue's metrics as Keras 3 get_compile_config() writes them. */
static void test_issue_envelopes(void **state) {
    (void)state;
    sc_compiled c = compile_ok(
        "{\"loss\": {\"module\": \"keras.losses\", \"class_name\": \"BinaryCrossentropy\","
        " \"config\": {\"name\": \"binary_crossentropy\", \"reduction\": \"sum_over_batch_size\","
        " \"from_logits\": false, \"label_smoothing\": 0.0, \"axis\": -1},"
        " \"registered_name\": null},"
        " \"metrics\": ["
        "{\"module\": \"keras.metrics\", \"class_name\": \"AUC\", \"config\": {\"name\": \"auc\","
        " \"dtype\": \"float32\", \"num_thresholds\": 200, \"curve\": \"PR\", \"summation_method\":"
        " \"interpolation\", \"multi_label\": true, \"num_labels\": 3, \"label_weights\": null,"
        " \"from_logits\": false}, \"registered_name\": null},"
        "{\"module\": \"keras.metrics\", \"class_name\": \"Precision\", \"config\": {\"name\":"
        " \"precision\", \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\","
        " \"config\": {\"name\": \"float32\"}, \"registered_name\": null}, \"thresholds\": null,"
        " \"top_k\": 1, \"class_id\": null}, \"registered_name\": null}]}",
        &DENSE3);
    const char *names[] = {"auc", "precision"};
    assert_names(&c, names, 2);
    tbatch t;
    tb_init(&t, 4, YM, 1, 3, 0, P3, 1, 3, 0, NULL);
    /* Precision(top_k=1): the argmax of each row is the only positive prediction; the labels
     * there are 0, 1, 1, 1: TP 3, FP 1 -> 0.75. (Without top_k, p > 0.5 is 0.6 only, a FP: 0.) */
    assert_near(value_on(c.metrics[1], &t), 0.75, 1e-7);
    sc_metric_spec s = sc_metric_default_spec("AUC"), flat = s;
    s.curve = SC_AUC_PR;
    s.multi_label = 1;
    s.num_labels = 3;
    flat.curve = SC_AUC_PR;
    double want = spec_value(&s, &t);
    assert_near(value_on(c.metrics[0], &t), want, 1e-7);
    assert_true(fabs(want - spec_value(&flat, &t)) > 1e-4); /* multi_label mattered */
    sc_compiled_clear(&c);

    /* SparseTopKCategoricalAccuracy(k=2, name='top2'): target score strictly beaten by fewer
     * than 2 classes: rows 0 (0.3 < 0.6 only), 1 (none), 3 (0.3 < 0.4; the tie 0.3 does not
     * beat it) match; row 2 (0.2 < 0.3, 0.5) does not: 3/4. With k = 5 (default) it would be 1. */
    c = compile_ok("{\"metrics\": [{\"class_name\": \"SparseTopKCategoricalAccuracy\","
                   " \"config\": {\"name\": \"top2\", \"dtype\": \"float32\", \"k\": 2}}]}",
                   &SPARSE3);
    assert_null(c.loss);
    const char *top[] = {"top2"};
    assert_names(&c, top, 1);
    tb_init(&t, 4, YS, 0, 0, 0, P3, 1, 3, 0, NULL);
    assert_near(value_on(c.metrics[0], &t), 0.75, 1e-7);
    sc_compiled_clear(&c);
}

/* "accuracy"/"acc" by shapes (FORMATS §9.2), named by the string. */
static void test_accuracy_resolution(void **state) {
    (void)state;
    const char *json = "{\"loss\": null, \"metrics\": [\"accuracy\", \"acc\"]}";
    sc_compiled c = compile_ok(json, &SPARSE3);
    const char *names[] = {"accuracy", "acc"};
    assert_names(&c, names, 2);
    assert_string_equal(sc_metric_class_name(c.metrics[0]), "SparseCategoricalAccuracy");
    assert_string_equal(sc_metric_class_name(c.metrics[1]), "SparseCategoricalAccuracy");
    sc_compiled_clear(&c);
    c = compile_ok(json, &DENSE3);
    assert_string_equal(sc_metric_class_name(c.metrics[0]), "CategoricalAccuracy");
    sc_compiled_clear(&c);
    sc_compile_shapes bin = {2, 1, 2, 1, 2, SC_BACKEND_TENSORFLOW};
    c = compile_ok(json, &bin);
    assert_string_equal(sc_metric_class_name(c.metrics[0]), "BinaryAccuracy");
    sc_compiled_clear(&c);
    /* Unknown shapes: the loss decides. */
    sc_compile_shapes none = {0, 0, 0, 0, 2, SC_BACKEND_TENSORFLOW};
    c = compile_ok("{\"loss\": \"binary_crossentropy\", \"metrics\": [\"accuracy\"]}", &none);
    assert_string_equal(sc_metric_class_name(c.metrics[0]), "BinaryAccuracy");
    sc_compiled_clear(&c);
}

/* Duplicates get _1, _2; a weighted metric whose name is taken becomes weighted_<name>. */
static void test_names(void **state) {
    (void)state;
    sc_compiled c = compile_ok("{\"metrics\": [\"auc\", {\"class_name\": \"AUC\", \"config\":"
                               " {\"name\": \"auc\"}}, \"AUC\"]}",
                               &DENSE3);
    const char *n1[] = {"auc", "auc_1", "auc_2"};
    assert_names(&c, n1, 3);
    sc_compiled_clear(&c);

    c = compile_ok("{\"metrics\": [\"accuracy\", \"mae\"], \"weighted_metrics\": [\"accuracy\","
                   " \"mse\", \"accuracy\"]}",
                   &SPARSE3);
    const char *n2[] = {"accuracy", "mae", "weighted_accuracy", "mse", "weighted_accuracy_1"};
    assert_names(&c, n2, 5);
    const unsigned char w[] = {0, 0, 1, 1, 1};
    assert_memory_equal(c.weighted, w, 5);
    sc_compiled_clear(&c);

    /* Keras 3's per-output forms for one output, and a function envelope. */
    c = compile_ok("{\"metrics\": [[\"mae\", null, {\"module\": \"keras.metrics\", \"class_name\":"
                   " \"function\", \"config\": \"mean_squared_error\", \"registered_name\":"
                   " \"mean_squared_error\"}]], \"weighted_metrics\": {\"dense_1\": \"mse\"}}",
                   &DENSE3);
    const char *n3[] = {"mae", "mean_squared_error", "mse"};
    assert_names(&c, n3, 3);
    assert_string_equal(sc_metric_class_name(c.metrics[1]), "MeanSquaredError");
    sc_compiled_clear(&c);
}

/* Config keys reach the spec: each result differs from the class default's on this batch. */
static void test_config_keys(void **state) {
    (void)state;
    sc_compiled c = compile_ok(
        "{\"metrics\": ["
        "{\"class_name\": \"BinaryAccuracy\", \"config\": {\"threshold\": 0.7}},"
        "{\"class_name\": \"Recall\", \"config\": {\"thresholds\": 0.55, \"class_id\": 1}},"
        "{\"class_name\": \"F1Score\", \"config\": {\"average\": \"macro\", \"threshold\": 0.45}},"
        "{\"class_name\": \"Precision\", \"config\": {\"thresholds\": [0.25, 0.45]}},"
        "{\"class_name\": \"MeanIoU\", \"config\": {\"num_classes\": 3, \"sparse_y_true\": false,"
        " \"sparse_y_pred\": false, \"ignore_class\": null, \"axis\": -1}}]}",
        &DENSE3);
    tbatch t;
    tb_init(&t, 4, YM, 1, 3, 0, P3, 1, 3, 0, NULL);
    /* BinaryAccuracy at 0.7: every prediction is 0 and 6 of the 12 labels are 0: 0.5. At the
     * default 0.5, the 0.6 of row 0 (label 0) turns positive: 5/12. */
    assert_near(value_on(c.metrics[0], &t), 0.5, 1e-7);
    /* Recall of class 1 at 0.55: positives in column 1 are row 3 only (p 0.4): 0. */
    assert_near(value_on(c.metrics[1], &t), 0.0, 1e-7);
    sc_metric_spec r = sc_metric_default_spec("Recall");
    r.class_id = 1;
    r.thresholds = (const float[]){0.35f};
    r.num_threshold_values = 1;
    assert_near(spec_value(&r, &t), 1.0, 1e-7); /* sanity: the threshold decides */
    /* F1 macro at 0.45 (p > 0.45 is positive: r0c1 (y 0), r1c0 (y 1), r2c2 (y 1)): class 0
     * TP 1 FN 2 -> P 1, R 1/3, F1 1/2; class 1 FP 1 -> 0; class 2 TP 1 FN 1 -> F1 2/3. Macro
     * 7/18 (Keras' epsilons move it by ~1e-7). The default (no average) is a vector of 3. */
    assert_int_equal(sc_metric_result_size(c.metrics[2]), 1);
    assert_near(value_on(c.metrics[2], &t), 7.0 / 18.0, 1e-6);
    /* Precision at two thresholds: a vector of 2. p > 0.25: 9 predictions, of which r0c2, r1c0,
     * r2c2, r3c0, r3c1 are labelled 1: 5/9. p > 0.45: r0c1 (0), r1c0 (1), r2c2 (1): 2/3. */
    assert_int_equal(sc_metric_result_size(c.metrics[3]), 2);
    double pv[2];
    sc_metric_reset(c.metrics[3]);
    sc_error err;
    assert_int_equal(sc_metric_update(c.metrics[3], &t.b, &err), SC_OK);
    sc_metric_result_vector(c.metrics[3], pv);
    assert_near(pv[0], 5.0 / 9.0, 1e-6);
    assert_near(pv[1], 2.0 / 3.0, 1e-6);
    /* MeanIoU on one-hot inputs (argmax of both): true 2,0,0,0 vs pred 1,0,2,1. IoU class 0:
     * 1 / (3 + 1 - 1) = 1/3; classes 1 and 2: 0. Mean 1/9. */
    assert_near(value_on(c.metrics[4], &t), 1.0 / 9.0, 1e-6);
    sc_compiled_clear(&c);
}

/* Loss envelopes: from_logits and reduction reach the loss. */
static void test_loss_mapping(void **state) {
    (void)state;
    /* Logits all 0: each sample's loss is ln 3; reduction sum over 2 samples: 2 ln 3. */
    sc_compiled c = compile_ok(
        "{\"loss\": [{\"module\": \"keras.losses\","
        " \"class_name\": \"SparseCategoricalCrossentropy\","
        " \"config\": {\"name\": \"scce\", \"reduction\": \"sum\", \"from_logits\": true,"
        " \"ignore_class\": null, \"fn\": \"sparse_categorical_crossentropy\"},"
        " \"registered_name\": null}], \"loss_weights\": [1.0]}",
        &SPARSE3);
    const float z[] = {0, 0, 0, 0, 0, 0}, y[] = {0, 2};
    tbatch t;
    tb_init(&t, 2, y, 0, 0, 0, z, 1, 3, 0, NULL);
    float v = 0;
    sc_error err;
    assert_int_equal(sc_loss_compute(c.loss, &t.b, &v, &err), SC_OK);
    assert_near(v, 2 * log(3.0), 1e-6);
    assert_int_equal(c.num_metrics, 0);
    sc_compiled_clear(&c);
    /* Keras 2.15's form: reduction "auto", Huber's delta. |e| = 3 > delta 2: 2*3 - 2 = 4
     * (delta 1 would give 2.5). */
    c = compile_ok("{\"loss\": {\"module\": \"keras.losses\", \"class_name\": \"Huber\","
                   " \"config\": {\"reduction\": \"auto\", \"name\": \"huber_loss\","
                   " \"delta\": 2.0},"
                   " \"registered_name\": null}}",
                   &SPARSE3);
    const float y1[] = {0}, p1[] = {3};
    tb_init(&t, 1, y1, 1, 1, 0, p1, 1, 1, 0, NULL);
    assert_int_equal(sc_loss_compute(c.loss, &t.b, &v, &err), SC_OK);
    assert_near(v, 4.0, 1e-6);
    sc_compiled_clear(&c);
    /* Keras 3 "ce" resolves by the shapes; a function envelope names the function. */
    sc_compile_shapes bin = {2, 1, 2, 1, 3, SC_BACKEND_TENSORFLOW};
    c = compile_ok("{\"loss\": \"ce\"}", &bin);
    assert_string_equal(sc_loss_class_name(c.loss), "BinaryCrossentropy");
    sc_compiled_clear(&c);
    c = compile_ok("{\"loss\": {\"module\": \"keras.losses\", \"class_name\": \"function\","
                   " \"config\": \"mean_squared_error\", \"registered_name\":"
                   " \"mean_squared_error\"}}",
                   &bin);
    assert_string_equal(sc_loss_class_name(c.loss), "MeanSquaredError");
    sc_compiled_clear(&c);
}

/* A Keras 3 config.json holding compile_config (the shape of the .keras fixture's). */
static void test_config_json(void **state) {
    (void)state;
    sc_compile_shapes bin = {2, 1, 2, 1, 3, SC_BACKEND_TENSORFLOW};
    sc_compiled c = compile_ok(
        "{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": \"s\","
        " \"layers\": []}, \"registered_name\": null,"
        " \"build_config\": {\"input_shape\": [null, 12]},"
        " \"compile_config\": {\"optimizer\": {\"module\": \"keras.optimizers\", \"class_name\":"
        " \"Adam\", \"config\": {\"name\": \"adam\", \"learning_rate\": 0.01}, \"registered_name\":"
        " null}, \"loss\": \"binary_crossentropy\", \"loss_weights\": null, \"metrics\":"
        " [\"accuracy\"], \"weighted_metrics\": null, \"run_eagerly\": false,"
        " \"steps_per_execution\": 1, \"jit_compile\": false}}",
        &bin);
    assert_string_equal(sc_loss_class_name(c.loss), "BinaryCrossentropy");
    const char *names[] = {"accuracy"};
    assert_names(&c, names, 1);
    assert_string_equal(sc_metric_class_name(c.metrics[0]), "BinaryAccuracy");
    /* y 1, 0, 1; p 0.9, 0.4, 0.5 -> matches 1, 1, 0 (0.5 is not > 0.5): 2/3. */
    const float y[] = {1, 0, 1}, p[] = {0.9f, 0.4f, 0.5f};
    tbatch t;
    tb_init(&t, 3, y, 1, 1, 0, p, 1, 1, 0, NULL);
    assert_near(value_on(c.metrics[0], &t), 2.0 / 3.0, 1e-7);
    sc_compiled_clear(&c);

    sc_error err;
    assert_int_equal(compile_err("{\"class_name\": \"Sequential\", \"config\": {},"
                                 " \"compile_config\": {}}",
                                 &bin, &err),
                     SC_NOT_FOUND);
    assert_int_equal(compile_err("{\"class_name\": \"Sequential\", \"config\": {}}", &bin, &err),
                     SC_NOT_FOUND);
    assert_msg_has(&err, "t.json");
}

/* The real Keras 3.11 archive: compiled with loss "binary_crossentropy", metrics ["accuracy"]. */
static void test_fixture_archive(void **state) {
    (void)state;
    const char *fx = ckf_fixtures();
    if (!fx) skip();
    char path[4096];
    snprintf(path, sizeof path, "%s/11_aamaninamdar_keras_zip_and_legacy_h5/my_model.keras", fx);
    sc_keras_archive *ar = NULL;
    sc_error err;
    if (sc_keras_archive_open(path, &ar, &err) != SC_OK) fail_msg("%s", err.message);
    size_t len = 0;
    const char *json = sc_keras_archive_config(ar, &len);
    sc_compile_shapes bin = {2, 1, 2, 1, 3, SC_BACKEND_TENSORFLOW};
    sc_compiled c;
    if (sc_compile_from_json(json, len, path, &bin, &c, &err) != SC_OK) fail_msg("%s", err.message);
    assert_string_equal(sc_loss_class_name(c.loss), "BinaryCrossentropy");
    const char *names[] = {"accuracy"};
    assert_names(&c, names, 1);
    assert_string_equal(sc_metric_class_name(c.metrics[0]), "BinaryAccuracy");
    sc_compiled_clear(&c);
    sc_keras_archive_free(ar);
}

static void expect_err(const char *json, sc_status want, const char *part1, const char *part2) {
    sc_error err;
    sc_status st = compile_err(json, &DENSE3, &err);
    if (st != want) fail_msg("%s: got %s (%s)", json, sc_status_name(st), err.message);
    assert_msg_has(&err, "t.json");
    if (part1) assert_msg_has(&err, part1);
    if (part2) assert_msg_has(&err, part2);
}

static void test_errors(void **state) {
    (void)state;
    expect_err("{\"metrics\": [\"mae\", {\"class_name\": \"BinaryIoU\", \"config\": {}}]}",
               SC_UNIMPLEMENTED, "metrics[1] (BinaryIoU)", NULL);
    expect_err("{\"metrics\": [\"mae\", {\"class_name\": \"AUC\", \"config\": {\"num_thresholds\":"
               " \"200\"}}]}",
               SC_INVALID_ARGUMENT, "metrics[1] (AUC)", "'num_thresholds'");
    expect_err("{\"metrics\": [{\"class_name\": \"AUC\", \"config\": {\"curve\": \"XY\"}}]}",
               SC_INVALID_ARGUMENT, "\"XY\"", "'curve'");
    expect_err("{\"metrics\": [{\"class_name\": \"AUC\", \"config\": {\"frobnicate\": 1}}]}",
               SC_UNIMPLEMENTED, "metrics[0] (AUC)", "'frobnicate'");
    expect_err("{\"metrics\": [{\"class_name\": \"Precision\", \"config\": {\"k\": 2}}]}",
               SC_UNIMPLEMENTED, "'k'", NULL); /* a key of another class */
    expect_err("{\"weighted_metrics\": [{\"class_name\": \"MeanSquaredError\", \"config\":"
               " {\"dtype\": \"float16\"}}]}",
               SC_UNIMPLEMENTED, "weighted_metrics[0]", "dtype");
    expect_err("{\"metrics\": [{\"class_name\": \"CategoricalCrossentropy\", \"config\":"
               " {\"axis\": 1}}]}",
               SC_UNIMPLEMENTED, "'axis'", NULL);
    expect_err("{\"metrics\": [{\"module\": \"__main__\", \"class_name\": \"MyMetric\","
               " \"config\": {}, \"registered_name\": \"MyMetric\"}]}",
               SC_UNIMPLEMENTED, "custom object", NULL);
    expect_err("{\"metrics\": [{\"class_name\": \"PrecisionAtRecall\", \"config\": {}}]}",
               SC_INVALID_ARGUMENT, "'recall'", "required");
    /* num_labels after label_weights, and fewer weights than labels. */
    expect_err("{\"metrics\": [{\"class_name\": \"AUC\", \"config\": {\"label_weights\":"
               " [1, 2], \"multi_label\": true, \"num_labels\": 3}}]}",
               SC_INVALID_ARGUMENT, "'label_weights'", "num_labels 3");
    expect_err("{\"loss\": {\"out_a\": \"mse\", \"out_b\": \"mae\"}}", SC_UNIMPLEMENTED,
               "multi-output", NULL);
    expect_err("{\"loss\": [\"mse\", \"mae\"]}", SC_UNIMPLEMENTED, "multi-output", NULL);
    expect_err("{\"loss\": {\"class_name\": \"MeanSquaredError\", \"config\": {\"reduction\":"
               " null}}}",
               SC_UNIMPLEMENTED, "'reduction'", NULL);
    expect_err("{\"loss\": {\"class_name\": \"BinaryFocalCrossentropy\", \"config\": {}}}",
               SC_UNIMPLEMENTED, "BinaryFocalCrossentropy", NULL);
    expect_err("{\"loss\": \"mse\", \"loss_weights\": 0.5}", SC_UNIMPLEMENTED, "loss_weights",
               NULL);
    expect_err("{\"loss\": \"mse\", \"metrics\": {\"a\": [\"mae\"], \"b\": [\"mae\"]}}",
               SC_UNIMPLEMENTED, "metrics", "multi-output");
    expect_err("{\"loss\": \"mse\", \"metrics\": [\"no_such_metric\"]}", SC_INVALID_ARGUMENT,
               "metrics[0]", "no_such_metric");
    expect_err("{\"loss\": \"mse\", \"sample_weight_mode\": \"temporal\"}", SC_UNIMPLEMENTED,
               "sample_weight_mode", NULL);
    expect_err("{\"loss\": \"mse\",", SC_INVALID_ARGUMENT, "t.json:1:", "not valid JSON");
    expect_err("[\"mse\"]", SC_INVALID_ARGUMENT, "expected a JSON object", NULL);
}

static void test_from_names(void **state) {
    (void)state;
    sc_compiled c;
    sc_error err;
    assert_int_equal(sc_compile_from_names("sparse_categorical_crossentropy",
                                           " accuracy, sparse_top_k_categorical_accuracy ,auc,auc",
                                           &SPARSE3, &c, &err),
                     SC_OK);
    assert_string_equal(sc_loss_class_name(c.loss), "SparseCategoricalCrossentropy");
    const char *names[] = {"accuracy", "sparse_top_k_categorical_accuracy", "auc", "auc_1"};
    assert_names(&c, names, 4);
    tbatch t;
    tb_init(&t, 4, YS, 0, 0, 0, P3, 1, 3, 0, NULL);
    assert_near(value_on(c.metrics[0], &t), 0.25, 1e-7);
    assert_near(value_on(c.metrics[1], &t), 1.0, 1e-7); /* k = 5 >= 3 classes */
    sc_compiled_clear(&c);

    assert_int_equal(sc_compile_from_names(NULL, "  ", &SPARSE3, &c, &err), SC_OK);
    assert_null(c.loss);
    assert_int_equal(c.num_metrics, 0);
    assert_int_equal(sc_compile_from_names("mse", "acc,,mse", &SPARSE3, &c, &err),
                     SC_INVALID_ARGUMENT);
    assert_msg_has(&err, "--metrics");
    assert_null(c.loss);
    assert_int_equal(c.num_metrics, 0);
    assert_int_not_equal(sc_compile_from_names("no_such_loss", NULL, &SPARSE3, &c, &err), SC_OK);
    assert_msg_has(&err, "--loss");
    sc_compile_shapes bad = SPARSE3;
    bad.keras_version = 4;
    assert_int_equal(sc_compile_from_names("mse", NULL, &bad, &c, &err), SC_INVALID_ARGUMENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_design_example),
        cmocka_unit_test(test_issue_envelopes),
        cmocka_unit_test(test_accuracy_resolution),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_loss_mapping),
        cmocka_unit_test(test_config_json),
        cmocka_unit_test(test_fixture_archive),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_from_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
