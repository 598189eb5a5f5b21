/* Metrics: hand-derived values (the arithmetic is in the comments), several batches with a short
 * last one, sample weights, error statuses, compile-string resolution and log names, and a
 * float64 re-computation of every mean-type metric on seeded random data. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/metrics.h"
#include "unit/metrics_testutil.h"

static sc_metric *make(sc_metric_spec s) {
    sc_metric *m = NULL;
    sc_error e;
    if (sc_metric_create(&s, &m, &e) != SC_OK) fail_msg("create %s: %s", s.class_name, e.message);
    return m;
}

static void update(sc_metric *m, tbatch *t) {
    sc_error e;
    if (sc_metric_update(m, &t->b, &e) != SC_OK) fail_msg("update: %s", e.message);
}

static double result(const sc_metric *m) {
    double v;
    assert_int_equal(sc_metric_result(m, &v, NULL), SC_OK);
    return v;
}

/* Feeds n samples in batches of bs (the last one short); per-sample sizes ys/ps floats. */
static void feed(sc_metric *m, size_t n, size_t bs, const float *y, int yr, int64_t yd,
                 const float *p, int pr, int64_t pd, const float *w) {
    size_t ys = yr ? (size_t)yd : 1, ps = pr ? (size_t)pd : 1;
    for (size_t i = 0; i < n; i += bs) {
        size_t k = n - i < bs ? n - i : bs;
        tbatch t;
        tb_init(&t, k, y + i * ys, yr, yd, 0, p + i * ps, pr, pd, 0, w ? w + i : NULL);
        update(m, &t);
    }
}

static void test_binary_accuracy_batches(void **state) {
    (void)state;
    /* p > .5: 1,0,0 | 1,0,1 | 1,0 vs y 1,0,1 | 0,0,1 | 1,0 -> matches 1,1,0,0,1,1,1,1 = 6/8.
     * Weights 1,2,1,1,1,1,3,.5: matched weight 1+2+1+1+3+.5 = 8.5 of 10.5. */
    const float y[] = {1, 0, 1, 0, 0, 1, 1, 0},
                p[] = {0.7f, 0.5f, 0.2f, 0.6f, 0.1f, 0.9f, 0.51f, 0.49f};
    const float w[] = {1, 2, 1, 1, 1, 1, 3, 0.5f};
    sc_metric *m = make(sc_metric_default_spec("BinaryAccuracy"));
    feed(m, 8, 3, y, 1, 1, p, 1, 1, NULL);
    assert_near(result(m), 0.75, 1e-7);
    sc_metric_reset(m);
    assert_near(result(m), 0.0, 0); /* count 0 -> 0 */
    feed(m, 8, 3, y, 1, 1, p, 1, 1, w);
    assert_near(result(m), 8.5 / 10.5, 1e-7);
    sc_metric_free(m);
    /* Soft labels never match: y .9 against p .95 (-> 1). */
    const float ys[] = {0.9f}, pss[] = {0.95f};
    m = make(sc_metric_default_spec("BinaryAccuracy"));
    feed(m, 1, 1, ys, 1, 1, pss, 1, 1, NULL);
    assert_near(result(m), 0.0, 0);
    sc_metric_free(m);
}

static void test_mse_rows_and_rmse(void **state) {
    (void)state;
    /* rows (0+1)/2 = .5, (4+9)/2 = 6.5, (4+4)/2 = 4: mean 11/3; weights 1,0,2: 8.5/3. */
    const float y[] = {1, 2, 3, 4, 0, 0}, p[] = {1, 1, 1, 1, 2, 2}, w[] = {1, 0, 2};
    sc_metric *m = make(sc_metric_default_spec("MeanSquaredError"));
    sc_metric *r = make(sc_metric_default_spec("RootMeanSquaredError"));
    feed(m, 3, 2, y, 1, 2, p, 1, 2, NULL);
    feed(r, 3, 2, y, 1, 2, p, 1, 2, w);
    assert_near(result(m), 11.0 / 3.0, 1e-7);
    assert_near(result(r), sqrt(8.5 / 3.0), 1e-7);
    sc_metric_free(m);
    sc_metric_free(r);
}

static void test_sparse_accuracy_sequence(void **state) {
    (void)state;
    /* [B=2, T=3] labels against [2, 3, 2] scores. Sample 0: argmax 0,1,0 vs 0,1,1 -> 2/3.
     * Sample 1: argmax 1, 0 (tie .5/.5 -> first), 1 vs 0,0,0 -> 1/3. Mean 3/6; weights 2,1:
     * (2 x 2 + 1 x 1) / (3 x 2 + 3 x 1) = 5/9. */
    const float y[] = {0, 1, 1, 0, 0, 0};
    const float p[] = {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f, 0.3f, 0.7f, 0.5f, 0.5f, 0.1f, 0.9f};
    const float w[] = {2, 1};
    sc_metric *m = make(sc_metric_default_spec("SparseCategoricalAccuracy"));
    tbatch t;
    tb_init(&t, 2, y, 1, 3, 0, p, 2, 3, 2, NULL);
    update(m, &t);
    assert_near(result(m), 0.5, 1e-7);
    sc_metric_reset(m);
    t.b.sample_weight = w;
    update(m, &t);
    assert_near(result(m), 5.0 / 9.0, 1e-7);
    sc_metric_free(m);
}

static void test_top_k_ties_and_nan(void **state) {
    (void)state;
    /* Target 0 scores .3; one class (.4) is strictly greater: in top 2, not in top 1. Row 2 has
     * a NaN: never in the top k (tf.math.in_top_k). */
    const float y[] = {0, 1}, p[] = {0.3f, 0.3f, 0.4f, 0.9f, NAN, 0.1f};
    sc_metric_spec s = sc_metric_default_spec("SparseTopKCategoricalAccuracy");
    s.k = 2;
    sc_metric *m = make(s);
    feed(m, 2, 2, y, 0, 0, p, 1, 3, NULL);
    assert_near(result(m), 0.5, 0);
    sc_metric_free(m);
    s.k = 1;
    m = make(s);
    feed(m, 1, 1, y, 0, 0, p, 1, 3, NULL);
    assert_near(result(m), 0.0, 0);
    sc_metric_free(m);
    /* Categorical accuracy: tie .4/.4 resolves to index 0, the label is 1. */
    const float yc[] = {0, 1, 0}, pc[] = {0.4f, 0.4f, 0.2f};
    m = make(sc_metric_default_spec("CategoricalAccuracy"));
    feed(m, 1, 1, yc, 1, 3, pc, 1, 3, NULL);
    assert_near(result(m), 0.0, 0);
    sc_metric_free(m);
}

static void test_precision_recall_options(void **state) {
    (void)state;
    /* class_id 1: column y 0,1,1 / p .8,.2,.7 -> predicted 1,0,1: tp 1, fp 1, fn 1. */
    const float y[] = {1, 0, 0, 1, 1, 1}, p[] = {0.6f, 0.8f, 0.9f, 0.2f, 0.2f, 0.7f};
    sc_metric_spec s = sc_metric_default_spec("Precision");
    s.class_id = 1;
    sc_metric *m = make(s);
    feed(m, 3, 2, y, 1, 2, p, 1, 2, NULL);
    assert_near(result(m), 0.5, 1e-7);
    sc_metric_free(m);
    /* Thresholds .3 and .7 over all six: predicted .6,.8,.9,.7 / .8,.9 (strict >, .7 is not).
     * labels at those: 1,0,0,1 -> tp 2 fp 2 (.5); .8,.9 -> labels 0,0 -> 0. */
    const float thr[] = {0.3f, 0.7f};
    s = sc_metric_default_spec("Precision");
    s.thresholds = thr;
    s.num_threshold_values = 2;
    m = make(s);
    feed(m, 3, 3, y, 1, 2, p, 1, 2, NULL);
    assert_int_equal(sc_metric_result_size(m), 2);
    double v[2], one;
    sc_metric_result_vector(m, v);
    assert_near(v[0], 0.5, 1e-7);
    assert_near(v[1], 0.0, 0);
    assert_int_equal(sc_metric_result(m, &one, NULL), SC_INVALID_ARGUMENT);
    /* Keras 2 asserts predictions in [0, 1]; the state stays as it was. */
    const float bad[] = {0.5f, 1.5f};
    tbatch t;
    tb_init(&t, 1, y, 1, 2, 0, bad, 1, 2, 0, NULL);
    sc_error e;
    assert_int_equal(sc_metric_update(m, &t.b, &e), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(e.message, "outside [0, 1]"));
    sc_metric_result_vector(m, v);
    assert_near(v[0], 0.5, 1e-7);
    sc_metric_free(m);
    /* Recall, top_k 1 over rows: kept .8 (label 0), .9 (label 0), .7 (label 1): tp 1 of 4. */
    s = sc_metric_default_spec("Recall");
    s.top_k = 1;
    m = make(s);
    feed(m, 3, 3, y, 1, 2, p, 1, 2, NULL);
    assert_near(result(m), 0.25, 1e-7);
    sc_metric_free(m);
}

static double auc_of(sc_metric_spec s, const float *y, const float *p, size_t n, int c) {
    sc_metric *m = make(s);
    feed(m, n, 3, y, c ? 1 : 0, c, p, c ? 1 : 0, c, NULL);
    double v = result(m);
    sc_metric_free(m);
    return v;
}

static void test_auc_curves(void **state) {
    (void)state;
    /* Scores .9(+) .8(-) .7(+) .1(-) fall in buckets 179, 159, 139, 19 of 200.
     * ROC: pairs pos > neg: 3 of 4 = .75 under every summation method.
     * PR, Davis-Goadrich: interval 179/180: slope 1, intercept 0 -> 1/2; interval 139/140:
     * P 3 -> 2, slope 1, intercept 1 - 2 = -1: (1 - ln 1.5)/2 = .29726745; total .79726745.
     * PR minoring: recall drops .5 at 139/140 (precision 2/3 -> 1/2) and .5 at 179/180
     * (precision 1 -> 0): .5 x .5 + .5 x 0 = .25; majoring .5 x 2/3 + .5 x 1 = .8333333. */
    const float y[] = {1, 0, 1, 0}, p[] = {0.9f, 0.8f, 0.7f, 0.1f};
    sc_metric_spec s = sc_metric_default_spec("AUC");
    assert_near(auc_of(s, y, p, 4, 0), 0.75, 1e-7);
    s.summation_method = SC_AUC_MAJORING;
    assert_near(auc_of(s, y, p, 4, 0), 0.75, 1e-7);
    s.curve = SC_AUC_PR;
    assert_near(auc_of(s, y, p, 4, 0), 0.5 * 2.0 / 3.0 + 0.5, 1e-6);
    s.summation_method = SC_AUC_MINORING;
    assert_near(auc_of(s, y, p, 4, 0), 0.25, 1e-7);
    s.summation_method = SC_AUC_INTERPOLATION;
    assert_near(auc_of(s, y, p, 4, 0), 0.5 + (1.0 - log(1.5)) / 2.0, 1e-6);
    /* from_logits: sigmoid keeps the order, so ROC stays .75 (logit(.9) etc.). */
    const float z[] = {2.1972246f, 1.3862944f, 0.8472979f, -2.1972246f};
    s = sc_metric_default_spec("AUC");
    s.from_logits = 1;
    assert_near(auc_of(s, y, z, 4, 0), 0.75, 1e-7);
    /* Two labels: column 0 as above (.75); column 1 y 1,1,0,0 with .9,.2,.3,.25: pairs
     * .9 > both, .2 > neither -> .5. multi_label mean .625; label weights 1,3 -> .5625.
     * Flattened (multi_label off): 12 of 16 pairs -> .75. */
    const float y2[] = {1, 1, 0, 1, 1, 0, 0, 0},
                p2[] = {0.9f, 0.9f, 0.8f, 0.2f, 0.7f, 0.3f, 0.1f, 0.25f};
    const float lw[] = {1, 3};
    s = sc_metric_default_spec("AUC");
    assert_near(auc_of(s, y2, p2, 4, 2), 0.75, 1e-7);
    s.multi_label = 1;
    s.num_labels = 2;
    assert_near(auc_of(s, y2, p2, 4, 2), 0.625, 1e-7);
    s.label_weights = lw;
    assert_near(auc_of(s, y2, p2, 4, 2), 0.5625, 1e-7);
    /* Explicit thresholds take the plain "p > t" path: {.5} is the 3-threshold grid of the
     * golden docstring case, and the inner 198 grid points reproduce the bucket path. */
    const float half = 0.5f;
    s = sc_metric_default_spec("AUC");
    s.thresholds = &half;
    s.num_threshold_values = 1;
    const float yd[] = {0, 0, 1, 1}, pd[] = {0, 0.5f, 0.3f, 0.9f};
    assert_near(auc_of(s, yd, pd, 4, 0), 0.75, 1e-7);
    float grid[198];
    for (int i = 0; i < 198; i++) grid[i] = (float)((i + 1) / 199.0);
    s.thresholds = grid;
    s.num_threshold_values = 198;
    s.multi_label = 1;
    s.num_labels = 2;
    s.label_weights = lw;
    assert_near(auc_of(s, y2, p2, 4, 2), 0.5625, 1e-7);
    s.multi_label = 0;
    s.curve = SC_AUC_PR;
    sc_metric_spec even = sc_metric_default_spec("AUC");
    even.curve = SC_AUC_PR;
    even.num_labels = 2;
    even.label_weights = lw;
    assert_near(auc_of(s, y2, p2, 4, 2), auc_of(even, y2, p2, 4, 2), 1e-7);
}

static void test_fscore_average_and_iou(void **state) {
    (void)state;
    /* The F1Score docstring data; per class (tp,fp,fn) = (1,0,2), (2,1,0), (1,1,0), label
     * mass 3, 2, 1. macro (.5+.8+2/3)/3; weighted (.5x3 + .8x2 + 2/3)/6; micro tp 4 fp 2 fn 2
     * -> 2/3. Threshold None (row maxima, ties kept): class 0 never predicted -> 0; class 1
     * (1,1,1) -> .5; class 2 (1,1,0) -> 2/3. */
    const float y[] = {1, 1, 1, 1, 0, 0, 1, 1, 0};
    const float p[] = {0.2f, 0.6f, 0.7f, 0.2f, 0.6f, 0.6f, 0.6f, 0.8f, 0.0f};
    const sc_f_average avg[] = {SC_F_AVERAGE_MACRO, SC_F_AVERAGE_WEIGHTED, SC_F_AVERAGE_MICRO};
    const double want[] = {(0.5 + 0.8 + 2.0 / 3.0) / 3.0, (1.5 + 1.6 + 2.0 / 3.0) / 6.0, 2.0 / 3.0};
    for (int i = 0; i < 3; i++) {
        sc_metric_spec s = sc_metric_default_spec("F1Score");
        s.num_classes = 3;
        s.threshold = 0.5f;
        s.average = avg[i];
        sc_metric *m = make(s);
        feed(m, 3, 2, y, 1, 3, p, 1, 3, NULL);
        assert_near(result(m), want[i], 1e-6);
        sc_metric_free(m);
    }
    sc_metric_spec s = sc_metric_default_spec("F1Score");
    s.num_classes = 3;
    sc_metric *m = make(s);
    feed(m, 3, 3, y, 1, 3, p, 1, 3, NULL);
    double v[3];
    sc_metric_result_vector(m, v);
    assert_near(v[0], 0.0, 0);
    assert_near(v[1], 0.5, 1e-7);
    assert_near(v[2], 2.0 / 3.0, 1e-7);
    sc_metric_free(m);

    /* MeanIoU, weights .3,.3,.3,.6: cm [[.3,.3],[.3,.6]]: .3/.9 and .6/1.2 -> (1/3 + 1/2)/2.
     * With 3 classes, class 2 has an empty denominator and is left out of the mean. The
     * ignored label 255 is dropped before the range check. */
    const float yi[] = {0, 0, 1, 1, 255}, pi[] = {0, 1, 0, 1, 0},
                wi[] = {0.3f, 0.3f, 0.3f, 0.6f, 1};
    s = sc_metric_default_spec("MeanIoU");
    s.num_classes = 2;
    m = make(s);
    feed(m, 4, 3, yi, 0, 0, pi, 0, 0, wi);
    assert_near(result(m), (1.0 / 3.0 + 0.5) / 2.0, 1e-7);
    tbatch t;
    tb_init(&t, 5, yi, 0, 0, 0, pi, 0, 0, 0, NULL);
    assert_int_equal(sc_metric_update(m, &t.b, NULL), SC_INVALID_ARGUMENT); /* 255 >= 2 */
    sc_metric_free(m);
    s.num_classes = 3;
    s.has_ignore_class = 1;
    s.ignore_class = 255;
    m = make(s);
    feed(m, 5, 5, yi, 0, 0, pi, 0, 0, NULL);
    assert_near(result(m), 1.0 / 3.0, 1e-7);
    sc_metric_free(m);
    /* sparse_y_pred off: argmax of [.9,.1],[.2,.8],[.6,.4],[.3,.7] = 0,1,0,1, as above. */
    const float pp[] = {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f, 0.3f, 0.7f};
    s = sc_metric_default_spec("MeanIoU");
    s.num_classes = 2;
    s.sparse_y_pred = 0;
    m = make(s);
    feed(m, 4, 4, yi, 0, 0, pp, 1, 2, NULL);
    assert_near(result(m), 1.0 / 3.0, 1e-7);
    sc_metric_free(m);
}

static void test_r2_outputs(void **state) {
    (void)state;
    /* Output 0: y 1,2,3 mean 2, SS_tot 2, SS_res 1 -> .5. Output 1: y 2,4,9 mean 5, SS_tot 26,
     * SS_res 1 + 0 + 9 -> 8/13. Uniform (.5 + 8/13)/2; variance weighted (1 + 16)/28.
     * Adjusted with one regressor, n = tf.size(y) = 6: 1 - (1 - r2) x 5 / 4. */
    const float y[] = {1, 2, 2, 4, 3, 9}, p[] = {1, 3, 3, 4, 3, 6};
    double uni = (0.5 + 8.0 / 13.0) / 2.0;
    sc_metric_spec s = sc_metric_default_spec("R2Score");
    s.num_classes = 2;
    sc_metric *m = make(s);
    feed(m, 3, 2, y, 1, 2, p, 1, 2, NULL);
    assert_near(result(m), uni, 1e-6);
    sc_metric_free(m);
    s.class_aggregation = SC_R2_VARIANCE_WEIGHTED_AVERAGE;
    m = make(s);
    feed(m, 3, 2, y, 1, 2, p, 1, 2, NULL);
    assert_near(result(m), 17.0 / 28.0, 1e-6);
    sc_metric_free(m);
    s.class_aggregation = SC_R2_UNIFORM_AVERAGE;
    s.num_regressors = 1;
    m = make(s);
    feed(m, 3, 1, y, 1, 2, p, 1, 2, NULL);
    assert_near(result(m), 1.0 - (1.0 - uni) * 5.0 / 4.0, 1e-6);
    sc_metric_free(m);
}

static void test_errors(void **state) {
    (void)state;
    sc_metric *m = NULL;
    sc_error e;
    sc_metric_spec s = sc_metric_default_spec("NoSuchMetric");
    assert_int_equal(sc_metric_create(&s, &m, &e), SC_INVALID_ARGUMENT);
    assert_null(m);
    assert_non_null(strstr(e.message, "NoSuchMetric"));
    s = sc_metric_default_spec("F1Score"); /* num_classes missing */
    assert_int_equal(sc_metric_create(&s, &m, &e), SC_INVALID_ARGUMENT);
    s = sc_metric_default_spec("PrecisionAtRecall");
    s.target = 1.5f;
    assert_int_equal(sc_metric_create(&s, &m, &e), SC_INVALID_ARGUMENT);
    /* Shapes that do not align leave the state unchanged. */
    m = make(sc_metric_default_spec("MeanSquaredError"));
    const float y[] = {1, 1, 1}, p[] = {0, 0};
    tbatch t;
    tb_init(&t, 1, y, 1, 3, 0, p, 1, 2, 0, NULL);
    assert_int_equal(sc_metric_update(m, &t.b, &e), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(e.message, "[B, 3]"));
    tb_init(&t, 1, y, 1, 2, 0, p, 1, 2, 0, NULL);
    update(m, &t);
    assert_near(result(m), 1.0, 0);
    sc_metric_free(m);
    /* Sparse CE labels must be class ids in range. */
    m = make(sc_metric_default_spec("SparseCategoricalCrossentropy"));
    const float lab[] = {2}, pr[] = {0.5f, 0.5f};
    tb_init(&t, 1, lab, 0, 0, 0, pr, 1, 2, 0, NULL);
    assert_int_equal(sc_metric_update(m, &t.b, &e), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(e.message, "outside [0, 2)"));
    const float odd[] = {NAN, 1e30f, -1.5f};
    for (int i = 0; i < 3; i++) { /* not class ids; converting them must not be undefined */
        tb_init(&t, 1, odd + i, 0, 0, 0, pr, 1, 2, 0, NULL);
        assert_int_equal(sc_metric_update(m, &t.b, NULL), SC_INVALID_ARGUMENT);
    }
    const float trunc[] = {1.7f}; /* tf.cast to int64 truncates: class 1, -ln .5 */
    tb_init(&t, 1, trunc, 0, 0, 0, pr, 1, 2, 0, NULL);
    update(m, &t);
    assert_near(result(m), log(2.0), 1e-6);
    sc_metric_free(m);
}

static void expect_resolved(const char *id, sc_metric_shapes sh, const char *loss, int kv,
                            const char *cls, const char *name) {
    sc_metric *m = NULL;
    sc_error e;
    if (sc_metric_from_string(id, &sh, loss, kv, &m, &e) != SC_OK)
        fail_msg("%s: %s", id, e.message);
    assert_string_equal(sc_metric_class_name(m), cls);
    assert_string_equal(sc_metric_name(m), name);
    sc_metric_free(m);
}

static void test_strings_and_names(void **state) {
    (void)state;
    sc_metric_shapes bin = {2, 1, 2, 1}, sparse = {2, 10, 1, 0}, sparse1 = {2, 10, 2, 1},
                     cat = {2, 10, 2, 10}, none = {0, 0, 0, 0};
    expect_resolved("accuracy", bin, NULL, 2, "BinaryAccuracy", "accuracy");
    expect_resolved("acc", sparse, NULL, 2, "SparseCategoricalAccuracy", "acc");
    expect_resolved("accuracy", sparse1, NULL, 3, "SparseCategoricalAccuracy", "accuracy");
    expect_resolved("accuracy", cat, NULL, 2, "CategoricalAccuracy", "accuracy");
    expect_resolved("accuracy", none, "sparse_categorical_crossentropy", 2,
                    "SparseCategoricalAccuracy", "accuracy");
    expect_resolved("ce", cat, NULL, 2, "CategoricalCrossentropy", "ce");
    expect_resolved("mse", none, NULL, 2, "MeanSquaredError", "mse");
    expect_resolved("MeanSquaredError", none, NULL, 2, "MeanSquaredError", "mean_squared_error");
    expect_resolved("KLDivergence", none, NULL, 2, "KLDivergence", "kullback_leibler_divergence");
    expect_resolved("KLDivergence", none, NULL, 3, "KLDivergence", "kl_divergence");
    expect_resolved("auc", none, NULL, 2, "AUC", "auc");
    expect_resolved("f1_score", cat, NULL, 2, "F1Score", "f1_score");
    sc_metric *m = NULL;
    assert_int_equal(sc_metric_from_string("ce", &cat, NULL, 3, &m, NULL), SC_INVALID_ARGUMENT);
    assert_int_equal(sc_metric_from_string("PrecisionAtRecall", &cat, NULL, 2, &m, NULL),
                     SC_INVALID_ARGUMENT);
    assert_int_equal(sc_metric_from_string("accuracy", &none, NULL, 2, &m, NULL),
                     SC_INVALID_ARGUMENT);
    assert_null(m);

    char names[5][SC_METRIC_NAME_MAX] = {"loss", "auc", "auc_1", "auc", "auc"};
    assert_int_equal(sc_metric_names_uniquify(names, 5, NULL), SC_OK);
    assert_string_equal(names[2], "auc_1");
    assert_string_equal(names[3], "auc_2");
    assert_string_equal(names[4], "auc_3");
    char longn[2][SC_METRIC_NAME_MAX];
    memset(longn, 'a', sizeof longn);
    longn[0][SC_METRIC_NAME_MAX - 1] = longn[1][SC_METRIC_NAME_MAX - 1] = '\0';
    assert_int_equal(sc_metric_names_uniquify(longn, 2, NULL), SC_INVALID_ARGUMENT);
}

/* ---- float64 re-computation on seeded data ------------------------------------------------ */

enum { N = 50, BS = 7, C = 5 };

static double ref_row(const char *cls, const float *y, const float *p, int c) {
    double s = 0, a = 0, b = 0;
    const double eps = 1e-7;
    if (!strcmp(cls, "CategoricalCrossentropy")) {
        for (int j = 0; j < c; j++) a += p[j];
        for (int j = 0; j < c; j++) s -= y[j] * log(fmin(fmax(p[j] / a, eps), 1 - eps));
        return s;
    }
    if (!strcmp(cls, "SparseCategoricalCrossentropy")) {
        for (int j = 0; j < c; j++) a += p[j];
        return log(a) - log(p[(int)y[0]]);
    }
    if (!strcmp(cls, "CategoricalHinge")) {
        double neg = -INFINITY;
        for (int j = 0; j < c; j++) {
            a += (double)y[j] * p[j];
            neg = fmax(neg, (1.0 - y[j]) * p[j]);
        }
        return fmax(neg - a + 1, 0);
    }
    if (!strcmp(cls, "KLDivergence")) {
        for (int j = 0; j < c; j++) {
            double yc = fmax(y[j], eps), pc = fmax(p[j], eps);
            s += yc * log(yc / pc);
        }
        return s;
    }
    if (!strcmp(cls, "CosineSimilarity")) {
        for (int j = 0; j < c; j++) {
            a += (double)y[j] * y[j];
            b += (double)p[j] * p[j];
            s += (double)y[j] * p[j];
        }
        return s / sqrt(a) / sqrt(b);
    }
    for (int j = 0; j < c; j++) {
        double yj = y[j], pj = p[j], d = pj - yj;
        if (!strcmp(cls, "BinaryCrossentropy"))
            s -= yj * log(pj + eps) + (1 - yj) * log(1 - pj + eps);
        else if (!strcmp(cls, "MeanSquaredError") || !strcmp(cls, "RootMeanSquaredError"))
            s += d * d;
        else if (!strcmp(cls, "MeanAbsoluteError"))
            s += fabs(d);
        else if (!strcmp(cls, "MeanAbsolutePercentageError"))
            s += 100 * fabs(d / yj);
        else if (!strcmp(cls, "MeanSquaredLogarithmicError"))
            s += pow(log1p(pj) - log1p(yj), 2);
        else if (!strcmp(cls, "LogCoshError"))
            s += log(cosh(d));
        else if (!strcmp(cls, "Hinge"))
            s += fmax(1 - (2 * yj - 1) * pj, 0);
        else if (!strcmp(cls, "SquaredHinge"))
            s += pow(fmax(1 - (2 * yj - 1) * pj, 0), 2);
        else if (!strcmp(cls, "Poisson"))
            s += pj - yj * log(pj + eps);
        else if (!strcmp(cls, "BinaryAccuracy"))
            s += yj == (pj > 0.5);
        else
            fail_msg("no reference for %s", cls);
    }
    return s / c;
}

/* kind 0: y in {0,1}, p in (0,1); 1: one-hot y, p in [.05, .95); 2: y and p in [.5, 2.5). */
static void gen(uint64_t *rs, int kind, float *y, float *p) {
    for (int i = 0; i < N; i++) {
        int hot = rng_int(rs, C);
        for (int j = 0; j < C; j++) {
            float *yy = y + i * C + j, *pp = p + i * C + j;
            if (kind == 0) {
                *yy = (float)rng_int(rs, 2);
                *pp = 0.01f + 0.98f * rng_unit(rs);
            } else if (kind == 1) {
                *yy = j == hot ? 1.0f : 0.0f;
                *pp = 0.05f + 0.9f * rng_unit(rs);
            } else {
                *yy = 0.5f + 2 * rng_unit(rs);
                *pp = 0.5f + 2 * rng_unit(rs);
            }
        }
    }
}

static void test_float64_crosscheck(void **state) {
    (void)state;
    static const struct {
        const char *cls;
        int kind;
    } cases[] = {
        {"BinaryAccuracy", 0},
        {"BinaryCrossentropy", 0},
        {"Hinge", 0},
        {"SquaredHinge", 0},
        {"CategoricalCrossentropy", 1},
        {"SparseCategoricalCrossentropy", 1},
        {"CategoricalHinge", 1},
        {"KLDivergence", 1},
        {"CosineSimilarity", 1},
        {"MeanSquaredError", 2},
        {"MeanAbsoluteError", 2},
        {"MeanAbsolutePercentageError", 2},
        {"MeanSquaredLogarithmicError", 2},
        {"LogCoshError", 2},
        {"Poisson", 2},
        {"RootMeanSquaredError", 2},
    };
    float y[N * C], p[N * C], w[N], ys[N];
    uint64_t rs = 0x5eed1234abcdull;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gen(&rs, cases[c].kind, y, p);
        for (int i = 0; i < N; i++) {
            w[i] = rng_unit(&rs) * 2.0f;
            ys[i] = 0;
            for (int j = 0; j < C; j++)
                if (y[i * C + j] == 1.0f) ys[i] = (float)j;
        }
        int sparse = strstr(cases[c].cls, "Sparse") != NULL;
        sc_metric *m = make(sc_metric_default_spec(cases[c].cls));
        feed(m, N, BS, sparse ? ys : y, sparse ? 0 : 1, C, p, 1, C, w);
        double tot = 0, cnt = 0;
        for (int i = 0; i < N; i++) {
            tot += w[i] * ref_row(cases[c].cls, sparse ? ys + i : y + i * C, p + i * C, C);
            cnt += w[i];
        }
        double want = tot / cnt;
        if (!strcmp(cases[c].cls, "RootMeanSquaredError")) want = sqrt(want);
        double got = result(m);
        if (!near_rel(got, want, 1e-6)) fail_msg("%s: %.9g, float64 %.9g", cases[c].cls, got, want);
        sc_metric_free(m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_accuracy_batches),
        cmocka_unit_test(test_mse_rows_and_rmse),
        cmocka_unit_test(test_sparse_accuracy_sequence),
        cmocka_unit_test(test_top_k_ties_and_nan),
        cmocka_unit_test(test_precision_recall_options),
        cmocka_unit_test(test_auc_curves),
        cmocka_unit_test(test_fscore_average_and_iou),
        cmocka_unit_test(test_r2_outputs),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_strings_and_names),
        cmocka_unit_test(test_float64_crosscheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
