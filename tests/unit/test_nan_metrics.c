/* NaN predictions in the argmax-, top-k-, max- and threshold-based metrics, as TensorFlow 2.15
 * on CPU computes them (issue 8). Each case cites the source it follows:
 *
 * - argmax (categorical / sparse categorical accuracy, MeanIoU on scores): Keras 2.15
 *   metrics_utils.sparse_categorical_matches calls tf.math.argmax; its CPU kernel
 *   (tensorflow/core/kernels/argmax_op.h: `output.device(d) = input.argmax(dimension)`) is Eigen's
 *   ArgMaxPairReducer (unsupported/Eigen/CXX11/src/Tensor/TensorFunctors.h): starting from
 *   (index 0, lowest()), `if (t.second < accum->second) return; else if (t.second >
 *   accum->second || accum->first > t.first) *accum = t;`, scanned in index order. A NaN never
 *   compares greater: it is skipped; a row without anything above -FLT_MAX gives index 0.
 * - top-k: Keras' sparse_top_k_categorical_matches calls tf.math.in_top_k, whose CPU functor
 *   (tensorflow/core/kernels/in_topk_op.h) sets `cannot_say = !FastBoundsCheck(target,
 *   num_classes) || !std::isfinite(predictions(b, target))` and also when any prediction of the
 *   row is not finite; `output = cannot_say ? false : more_probable_classes < k`.
 * - F1Score(threshold=None): `y_pred >= tf.reduce_max(y_pred, axis=-1, keepdims=True)`, and
 *   reduction_ops_max.cc registers MaxReducer<T, Eigen::PropagateNaN>: a NaN row predicts
 *   nothing.
 * - Precision / Recall / AUC / TP..FN / *At* metrics, Keras 2: update_confusion_matrix_variables
 *   runs `assert_greater_equal(y_pred, 0, message='predictions must be >= 0')` and
 *   `assert_less_equal(y_pred, 1, ...)` on every prediction (after the sigmoid for
 *   AUC(from_logits=True)); NaN fails both, so model.evaluate raises InvalidArgumentError.
 *   sidecar refuses the batch naming the sample.
 * - The same metrics, Keras 3 (no assertion): the explicit-threshold path compares
 *   `ops.greater(preds, thresholds)`, false for NaN, so a NaN is a negative prediction at every
 *   threshold; the evenly-spaced bucket path (AUC's default) agrees on TF-CPU (clip keeps NaN,
 *   the int32 cast gives INT_MIN on x86, unsorted_segment_sum skips negative ids). */
#include <float.h>
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

/* One batch of n samples: labels of yc values per sample (0: a scalar), predictions of pc
 * (1: a scalar). */
static double eval_once(sc_metric_spec s, size_t n, const float *y, size_t yc, const float *p,
                        size_t pc) {
    sc_metric *m = make(s);
    tbatch t;
    tb_init(&t, n, y, yc ? 1 : 0, (int64_t)yc, 0, p, pc > 1 ? 1 : 0, pc > 1 ? (int64_t)pc : 0, 0,
            NULL);
    sc_error e;
    if (sc_metric_update(m, &t.b, &e) != SC_OK) fail_msg("%s: %s", s.class_name, e.message);
    double v;
    assert_int_equal(sc_metric_result(m, &v, NULL), SC_OK);
    sc_metric_free(m);
    return v;
}

static double categorical_accuracy_row(const float *y, const float *p, size_t c) {
    return eval_once(sc_metric_default_spec("CategoricalAccuracy"), 1, y, c, p, c);
}

static void test_argmax_skips_nan(void **state) {
    (void)state;
    const float y2[] = {0, 0, 1}, y0[] = {1, 0, 0}, y1[] = {0, 1, 0};
    /* NaN first: argmax is the largest of the rest (a plain x[j] > x[best] scan from index 0
     * would stay on the NaN). */
    const float a[] = {NAN, 0.3f, 0.7f};
    assert_near(categorical_accuracy_row(y2, a, 3), 1.0, 0);
    assert_near(categorical_accuracy_row(y0, a, 3), 0.0, 0);
    /* NaN in the middle: skipped. */
    const float b[] = {0.2f, NAN, 0.1f};
    assert_near(categorical_accuracy_row(y0, b, 3), 1.0, 0);
    /* All NaN: index 0 (the reducer's initial pair). */
    const float c[] = {NAN, NAN, NAN};
    assert_near(categorical_accuracy_row(y0, c, 3), 1.0, 0);
    assert_near(categorical_accuracy_row(y1, c, 3), 0.0, 0);
    /* Nothing above lowest(): -FLT_MAX is not greater than the initial -FLT_MAX, so index 0. */
    const float d[] = {-INFINITY, -FLT_MAX, -INFINITY};
    assert_near(categorical_accuracy_row(y0, d, 3), 1.0, 0);
    assert_near(categorical_accuracy_row(y1, d, 3), 0.0, 0);
    const float e[] = {-INFINITY, -FLT_MAX, 5.0f};
    assert_near(categorical_accuracy_row(y2, e, 3), 1.0, 0);
    /* Ties: the first. */
    const float f[] = {NAN, 0.5f, 0.5f};
    assert_near(categorical_accuracy_row(y1, f, 3), 1.0, 0);

    /* Sparse: the same argmax of the predictions against the class id. */
    const float ys[] = {2, 0, 1}, ps[] = {NAN, 0.3f, 0.7f, NAN, NAN, NAN, 0.9f, NAN, 0.1f};
    assert_near(eval_once(sc_metric_default_spec("SparseCategoricalAccuracy"), 3, ys, 0, ps, 3),
                2.0 / 3.0, 1e-7); /* rows 0 and 1 match, row 2 (argmax 0) does not */
}

static void test_top_k_not_finite(void **state) {
    (void)state;
    /* k = 3 covers every class, yet a NaN or an infinity anywhere in the row, or a target
     * outside the row, is "not in the top k". */
    const float y[] = {2, 2, 0, 7, 1};
    const float p[] = {NAN,  0.3f, 0.7f,     /* NaN elsewhere in the row: 0 */
                       0.1f, 0.2f, INFINITY, /* an infinite target: 0 */
                       0.5f, 0.2f, 0.3f,     /* finite, in the top 3: 1 */
                       0.5f, 0.2f, 0.3f,     /* target 7 outside [0, 3): 0, not an error */
                       0.5f, 0.2f, -INFINITY};
    sc_metric_spec s = sc_metric_default_spec("SparseTopKCategoricalAccuracy");
    s.k = 3;
    assert_near(eval_once(s, 5, y, 0, p, 3), 1.0 / 5.0, 1e-7);

    /* One-hot labels: argmax of the labels, then the same kernel. */
    const float yc[] = {0, 0, 1}, pc[] = {NAN, 0.3f, 0.7f};
    s = sc_metric_default_spec("TopKCategoricalAccuracy");
    s.k = 2;
    assert_near(eval_once(s, 1, yc, 3, pc, 3), 0.0, 0);
    const float pf[] = {0.1f, 0.3f, 0.7f};
    assert_near(eval_once(s, 1, yc, 3, pf, 3), 1.0, 0);
}

static void test_f1_none_threshold_nan_row(void **state) {
    (void)state;
    /* Row 0 holds a NaN: reduce_max is NaN, nothing predicted (fn 1 for class 0). Row 1: class
     * 1 predicted and right. Class 0: tp 0 fn 1 -> 0; class 1: tp 1 -> 1; class 2: nothing ->
     * 0. (Taking the maximum of the finite entries would predict class 0 in row 0: F1 1.) */
    const float y[] = {1, 0, 0, 0, 1, 0};
    const float p[] = {0.9f, NAN, 0.1f, 0.2f, 0.7f, 0.1f};
    sc_metric_spec s = sc_metric_default_spec("F1Score");
    s.num_classes = 3;
    sc_metric *m = make(s);
    tbatch t;
    tb_init(&t, 2, y, 1, 3, 0, p, 1, 3, 0, NULL);
    sc_error err;
    assert_int_equal(sc_metric_update(m, &t.b, &err), SC_OK);
    double v[3];
    sc_metric_result_vector(m, v);
    assert_near(v[0], 0.0, 0);
    assert_near(v[1], 1.0, 1e-7);
    assert_near(v[2], 0.0, 0);
    sc_metric_free(m);
}

static void test_confusion_keras2_refuses_nan(void **state) {
    (void)state;
    static const char *const classes[] = {"AUC", "Precision", "Recall", "TruePositives",
                                          "SensitivityAtSpecificity"};
    const float y[] = {1, 0, 1, 0};
    /* The NaN is in a column class_id would not read: Keras asserts on all of y_pred. */
    const float p[] = {0.8f, 0.1f, 0.4f, NAN};
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        sc_metric_spec s = sc_metric_default_spec(classes[i]);
        if (strcmp(classes[i], "Precision") == 0) s.class_id = 0;
        sc_metric *m = make(s);
        tbatch t;
        tb_init(&t, 2, y, 1, 2, 0, p, 1, 2, 0, NULL);
        sc_error err;
        if (sc_metric_update(m, &t.b, &err) != SC_INVALID_ARGUMENT)
            fail_msg("%s: a NaN prediction was accepted with keras_version 2", classes[i]);
        assert_non_null(strstr(err.message, "sample 1"));
        assert_non_null(strstr(err.message, "outside [0, 1]"));
        sc_metric_free(m);
    }
    /* from_logits: sigmoid(NaN) is NaN, refused the same way. */
    sc_metric_spec s = sc_metric_default_spec("AUC");
    s.from_logits = 1;
    sc_metric *m = make(s);
    tbatch t;
    const float yl[] = {1, 0}, pl[] = {3.0f, NAN};
    tb_init(&t, 2, yl, 0, 0, 0, pl, 0, 0, 0, NULL);
    assert_int_equal(sc_metric_update(m, &t.b, NULL), SC_INVALID_ARGUMENT);
    sc_metric_free(m);
}

static void test_confusion_keras3_nan_negative(void **state) {
    (void)state;
    /* y 1,1,0,0; p .9, NaN, .2, NaN; thresholds -eps, .5, 1+eps. NaN negative everywhere:
     * TPR .5 .5 0, FPR .5 0 0 -> ROC AUC (trapezoids) .5 x (.5 + .5) / 2 = .25. (A NaN clipped
     * to 0 would be positive at -eps: TPR 1, FPR 1 there, AUC .75.) */
    const float y[] = {1, 1, 0, 0}, p[] = {0.9f, NAN, 0.2f, NAN};
    sc_metric_spec even = sc_metric_default_spec("AUC");
    even.keras_version = 3;
    even.num_thresholds = 3; /* evenly spaced: the bucket path */
    assert_near(eval_once(even, 4, y, 0, p, 1), 0.25, 1e-7);
    sc_metric_spec expl = even;
    const float inner[] = {0.5f};
    expl.thresholds = inner; /* explicit: the compare-every-threshold path */
    expl.num_threshold_values = 1;
    assert_near(eval_once(expl, 4, y, 0, p, 1), 0.25, 1e-7);
    /* Recall at .5: tp 1 (.9), fn 1 (the NaN positive). Precision: tp 1, fp 0. */
    sc_metric_spec r = sc_metric_default_spec("Recall");
    r.keras_version = 3;
    assert_near(eval_once(r, 4, y, 0, p, 1), 0.5, 1e-7);
    sc_metric_spec pr = sc_metric_default_spec("Precision");
    pr.keras_version = 3;
    assert_near(eval_once(pr, 4, y, 0, p, 1), 1.0, 1e-7);
    /* FalseNegatives at 0: the NaN positive is not above it. */
    sc_metric_spec fnm = sc_metric_default_spec("FalseNegatives");
    fnm.keras_version = 3;
    const float zero[] = {0.0f};
    fnm.thresholds = zero;
    fnm.num_threshold_values = 1;
    assert_near(eval_once(fnm, 4, y, 0, p, 1), 1.0, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argmax_skips_nan),
        cmocka_unit_test(test_top_k_not_finite),
        cmocka_unit_test(test_f1_none_threshold_nan_row),
        cmocka_unit_test(test_confusion_keras2_refuses_nan),
        cmocka_unit_test(test_confusion_keras3_nan_negative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
