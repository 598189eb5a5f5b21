/* Golden values for metrics and losses, from two sources:
 *  1. the standalone-usage examples of the tf.keras 2.15 docstrings (the numbers Keras itself
 *     printed), each re-derived by hand in the comment so that a reviewer can check both.
 *     Losses documented to 3 decimals are compared at 5e-4; metrics with float32 digits at 1e-6;
 *  2. the JSON cases in tests/golden/data_metrics, written by scripts/metrics-golden (TensorFlow.js 4.22.0
 *     per-row values aggregated as Keras does, and float64 re-implementations for what tfjs
 *     lacks): 37 seeded samples with sample weights fed in batches of 8 (the last one short),
 *     compared at each case's stated relative tolerance. */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/metrics.h"

typedef struct shape {
    int rank;
    int64_t d[2];
} shape;
#define S0    ((shape){0, {0}})
#define S1(a) ((shape){1, {a}})

static sc_metric_batch mk(size_t b, const float *y, shape ys, const float *p, shape ps,
                          const float *w) {
    static shape keep_y, keep_p; /* dims must outlive the call */
    keep_y = ys;
    keep_p = ps;
    return (sc_metric_batch){.batch = b,
                             .y_true = y,
                             .true_rank = keep_y.rank,
                             .true_dims = keep_y.d,
                             .y_pred = p,
                             .pred_rank = keep_p.rank,
                             .pred_dims = keep_p.d,
                             .sample_weight = w};
}

static double metric(sc_metric_spec s, size_t b, const float *y, shape ys, const float *p, shape ps,
                     const float *w) {
    sc_metric *m = NULL;
    sc_error e;
    assert_int_equal(sc_metric_create(&s, &m, &e), SC_OK);
    sc_metric_batch bt = mk(b, y, ys, p, ps, w);
    assert_int_equal(sc_metric_update(m, &bt, &e), SC_OK);
    double v = NAN;
    assert_int_equal(sc_metric_result(m, &v, &e), SC_OK);
    sc_metric_free(m);
    return v;
}

static double loss(sc_loss_spec s, size_t b, const float *y, shape ys, const float *p, shape ps,
                   const float *w) {
    sc_loss *l = NULL;
    sc_error e;
    assert_int_equal(sc_loss_create(&s, &l, &e), SC_OK);
    sc_metric_batch bt = mk(b, y, ys, p, ps, w);
    float v = NAN;
    assert_int_equal(sc_loss_compute(l, &bt, &v, &e), SC_OK);
    sc_loss_free(l);
    return v;
}

#define NEAR(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))
#define SPEC(c)         sc_metric_default_spec(c)

/* [[0,1],[0,0]] against [[0.6,0.4],[0.4,0.6]] and against [[1,1],[0,0]]: the docstrings' pairs. */
static const float Y01[] = {0, 1, 0, 0}, P64[] = {0.6f, 0.4f, 0.4f, 0.6f}, P11[] = {1, 1, 0, 0};
static const float W10[] = {1, 0};

static void test_accuracy_family(void **state) {
    (void)state;
    /* Accuracy: 3 of 4 equal -> 0.75; weights 1,1,0,0 keep (1 vs 0: no),(2: yes) -> 0.5. */
    const float ya[] = {1, 2, 3, 4}, pa[] = {0, 2, 3, 4}, wa[] = {1, 1, 0, 0};
    NEAR(metric(SPEC("Accuracy"), 4, ya, S1(1), pa, S1(1), NULL), 0.75, 1e-7);
    NEAR(metric(SPEC("Accuracy"), 4, ya, S1(1), pa, S1(1), wa), 0.5, 1e-7);
    /* BinaryAccuracy: p>0.5 -> 1,1,0,1 vs 1,1,0,0 -> 0.75; weights 1,0,0,1 -> (1+0)/2 = 0.5. */
    const float yb[] = {1, 1, 0, 0}, pb[] = {0.98f, 1, 0, 0.6f}, wb[] = {1, 0, 0, 1};
    NEAR(metric(SPEC("BinaryAccuracy"), 4, yb, S1(1), pb, S1(1), NULL), 0.75, 1e-7);
    NEAR(metric(SPEC("BinaryAccuracy"), 4, yb, S1(1), pb, S1(1), wb), 0.5, 1e-7);
    /* Categorical: argmax y = 2,1; argmax p = 1,1 -> 0.5; weights .7,.3 -> .3. */
    const float yc[] = {0, 0, 1, 0, 1, 0}, pc[] = {0.1f, 0.9f, 0.8f, 0.05f, 0.95f, 0},
                wc[] = {0.7f, 0.3f};
    NEAR(metric(SPEC("CategoricalAccuracy"), 2, yc, S1(3), pc, S1(3), NULL), 0.5, 1e-7);
    NEAR(metric(SPEC("CategoricalAccuracy"), 2, yc, S1(3), pc, S1(3), wc), 0.3, 1e-7);
    /* Sparse: labels [[2],[1]], argmax p = 1,1 -> 0.5 / 0.3. */
    const float ys[] = {2, 1}, ps[] = {0.1f, 0.6f, 0.3f, 0.05f, 0.95f, 0};
    NEAR(metric(SPEC("SparseCategoricalAccuracy"), 2, ys, S1(1), ps, S1(3), NULL), 0.5, 1e-7);
    NEAR(metric(SPEC("SparseCategoricalAccuracy"), 2, ys, S1(1), ps, S1(3), wc), 0.3, 1e-7);
    /* Top-1: target 2 has 0.8 < 0.9 (one greater: not < 1); target 1 has the max -> 0.5 / 0.3. */
    sc_metric_spec k1 = SPEC("TopKCategoricalAccuracy");
    k1.k = 1;
    NEAR(metric(k1, 2, yc, S1(3), pc, S1(3), NULL), 0.5, 1e-7);
    NEAR(metric(k1, 2, yc, S1(3), pc, S1(3), wc), 0.3, 1e-7);
    k1.class_name = "SparseTopKCategoricalAccuracy";
    NEAR(metric(k1, 2, ys, S0, pc, S1(3), NULL), 0.5, 1e-7);
    NEAR(metric(k1, 2, ys, S0, pc, S1(3), wc), 0.3, 1e-7);
}

static void test_crossentropy_metrics(void **state) {
    (void)state;
    /* BCE rows: (-ln .4 - ln .4)/2 = .9163, (-ln .6 - ln .4)/2 = .7136 -> .81492; w 1,0 -> .9163 */
    NEAR(metric(SPEC("BinaryCrossentropy"), 2, Y01, S1(2), P64, S1(2), NULL), 0.81492424, 2e-6);
    NEAR(metric(SPEC("BinaryCrossentropy"), 2, Y01, S1(2), P64, S1(2), W10), 0.9162905, 2e-6);
    /* CCE rows: -ln .95 = .0513, -ln .1 = 2.3026 -> 1.17694; w .3,.7 -> 1.62720. */
    const float yc[] = {0, 1, 0, 0, 0, 1}, pc[] = {0.05f, 0.95f, 0, 0.1f, 0.8f, 0.1f},
                wc[] = {0.3f, 0.7f}, ys[] = {1, 2};
    NEAR(metric(SPEC("CategoricalCrossentropy"), 2, yc, S1(3), pc, S1(3), NULL), 1.1769392, 2e-6);
    NEAR(metric(SPEC("CategoricalCrossentropy"), 2, yc, S1(3), pc, S1(3), wc), 1.6271976, 2e-6);
    NEAR(metric(SPEC("SparseCategoricalCrossentropy"), 2, ys, S0, pc, S1(3), NULL), 1.1769392,
         2e-6);
    NEAR(metric(SPEC("SparseCategoricalCrossentropy"), 2, ys, S0, pc, S1(3), wc), 1.6271976, 2e-6);
}

static void test_regression_metrics(void **state) {
    (void)state;
    /* Against [[1,1],[0,0]] the rows differ by (1,0) and (0,0). */
    NEAR(metric(SPEC("MeanSquaredError"), 2, Y01, S1(2), P11, S1(2), NULL), 0.25, 1e-7);
    NEAR(metric(SPEC("MeanSquaredError"), 2, Y01, S1(2), P11, S1(2), W10), 0.5, 1e-7);
    NEAR(metric(SPEC("MeanAbsoluteError"), 2, Y01, S1(2), P11, S1(2), NULL), 0.25, 1e-7);
    NEAR(metric(SPEC("MeanAbsoluteError"), 2, Y01, S1(2), P11, S1(2), W10), 0.5, 1e-7);
    /* MAPE: |0-1|/max(0, 1e-7) = 1e7 -> row 5e6 x 100 = 5e8; mean 2.5e8. */
    NEAR(metric(SPEC("MeanAbsolutePercentageError"), 2, Y01, S1(2), P11, S1(2), NULL), 2.5e8, 64);
    NEAR(metric(SPEC("MeanAbsolutePercentageError"), 2, Y01, S1(2), P11, S1(2), W10), 5e8, 64);
    /* MSLE: (ln 2 - ln 1)^2 / 2 = .24023 for row 1 -> .12011. */
    NEAR(metric(SPEC("MeanSquaredLogarithmicError"), 2, Y01, S1(2), P11, S1(2), NULL), 0.12011322,
         1e-6);
    NEAR(metric(SPEC("MeanSquaredLogarithmicError"), 2, Y01, S1(2), P11, S1(2), W10), 0.24022643,
         1e-6);
    /* RMSE: sqrt(.25) = .5, sqrt(.5) = .70711. */
    NEAR(metric(SPEC("RootMeanSquaredError"), 2, Y01, S1(2), P11, S1(2), NULL), 0.5, 1e-7);
    NEAR(metric(SPEC("RootMeanSquaredError"), 2, Y01, S1(2), P11, S1(2), W10), 0.70710677, 1e-7);
    /* log cosh(1) = .43378 / 2 = .21689 -> .10845. */
    NEAR(metric(SPEC("LogCoshError"), 2, Y01, S1(2), P11, S1(2), NULL), 0.10844523, 1e-6);
    NEAR(metric(SPEC("LogCoshError"), 2, Y01, S1(2), P11, S1(2), W10), 0.21689045, 1e-6);
    /* Poisson: row 1 (1 - 0) + (1 - ln(1+1e-7)) over 2 = 1; row 2 0 -> .5. */
    NEAR(metric(SPEC("Poisson"), 2, Y01, S1(2), P11, S1(2), NULL), 0.49999997, 1e-6);
    NEAR(metric(SPEC("Poisson"), 2, Y01, S1(2), P11, S1(2), W10), 0.99999994, 1e-6);
    /* Hinge, labels to -1/1: rows (1.6 + .6)/2 = 1.1, (1.4 + 1.6)/2 = 1.5 -> 1.3. */
    NEAR(metric(SPEC("Hinge"), 2, Y01, S1(2), P64, S1(2), NULL), 1.3, 1e-6);
    NEAR(metric(SPEC("Hinge"), 2, Y01, S1(2), P64, S1(2), W10), 1.1, 1e-6);
    /* squared: (2.56 + .36)/2 = 1.46, (1.96 + 2.56)/2 = 2.26 -> 1.86. */
    NEAR(metric(SPEC("SquaredHinge"), 2, Y01, S1(2), P64, S1(2), NULL), 1.86, 1e-6);
    NEAR(metric(SPEC("SquaredHinge"), 2, Y01, S1(2), P64, S1(2), W10), 1.46, 1e-6);
    /* categorical: max(.6 - .4 + 1, 0) = 1.2, max(.6 - 0 + 1, 0) = 1.6 -> 1.4. */
    NEAR(metric(SPEC("CategoricalHinge"), 2, Y01, S1(2), P64, S1(2), NULL), 1.4000001, 1e-6);
    NEAR(metric(SPEC("CategoricalHinge"), 2, Y01, S1(2), P64, S1(2), W10), 1.2, 1e-6);
    /* KLD: row 1 ln(1/.4) + 1e-7 ln(1e-7/.6) = .91629; row 2 ~ -3e-6 -> .45814. */
    NEAR(metric(SPEC("KLDivergence"), 2, Y01, S1(2), P64, S1(2), NULL), 0.45814306, 1e-6);
    NEAR(metric(SPEC("KLDivergence"), 2, Y01, S1(2), P64, S1(2), W10), 0.9162892, 1e-6);
    /* cosine: rows 0 and 1 -> .5; weights .3,.7 -> .7. */
    const float yc[] = {0, 1, 1, 1}, pc[] = {1, 0, 1, 1}, wc[] = {0.3f, 0.7f};
    NEAR(metric(SPEC("CosineSimilarity"), 2, yc, S1(2), pc, S1(2), NULL), 0.49999997, 1e-6);
    NEAR(metric(SPEC("CosineSimilarity"), 2, yc, S1(2), pc, S1(2), wc), 0.6999999, 1e-6);
    /* R2: mean y 8/3, SS_tot 26 - 64/3 = 14/3, SS_res 2 -> 1 - 6/14 = .571429. */
    sc_metric_spec r2 = SPEC("R2Score");
    r2.num_classes = 1;
    const float yr[] = {1, 4, 3}, pr[] = {2, 4, 4};
    NEAR(metric(r2, 3, yr, S1(1), pr, S1(1), NULL), 0.57142854, 1e-6);
}

static void test_confusion_metrics(void **state) {
    (void)state;
    const float y[] = {0, 1, 1, 1}, p[] = {1, 0, 1, 1}, w[] = {0, 0, 1, 0};
    /* tp = 2 (idx 2,3), fp = 1 (idx 0), fn = 1 (idx 1). */
    NEAR(metric(SPEC("Precision"), 4, y, S0, p, S0, NULL), 0.6666667, 1e-7);
    NEAR(metric(SPEC("Precision"), 4, y, S0, p, S0, w), 1.0, 1e-7);
    NEAR(metric(SPEC("Recall"), 4, y, S0, p, S0, NULL), 0.6666667, 1e-7);
    NEAR(metric(SPEC("Recall"), 4, y, S0, p, S0, w), 1.0, 1e-7);
    NEAR(metric(SPEC("TruePositives"), 4, y, S0, p, S0, NULL), 2.0, 0);
    NEAR(metric(SPEC("TruePositives"), 4, y, S0, p, S0, w), 1.0, 0);
    const float y2[] = {0, 1, 0, 0}, p2[] = {0, 0, 1, 1}, p3[] = {1, 1, 0, 0}, p4[] = {0, 1, 0, 0};
    NEAR(metric(SPEC("FalsePositives"), 4, y2, S0, p2, S0, NULL), 2.0, 0);
    NEAR(metric(SPEC("FalsePositives"), 4, y2, S0, p2, S0, w), 1.0, 0);
    NEAR(metric(SPEC("TrueNegatives"), 4, y2, S0, p3, S0, NULL), 2.0, 0);
    NEAR(metric(SPEC("TrueNegatives"), 4, y2, S0, p3, S0, w), 1.0, 0);
    NEAR(metric(SPEC("FalseNegatives"), 4, y, S0, p4, S0, NULL), 2.0, 0);
    NEAR(metric(SPEC("FalseNegatives"), 4, y, S0, p4, S0, w), 1.0, 0);
    /* top_k over one row of four ties: tf.nn.top_k keeps the first indices (labels 0, 0). */
    const float yk[] = {0, 0, 1, 1}, pk[] = {1, 1, 1, 1};
    sc_metric_spec pt = SPEC("Precision");
    pt.top_k = 2;
    NEAR(metric(pt, 1, yk, S1(4), pk, S1(4), NULL), 0.0, 0);
    pt.top_k = 4;
    NEAR(metric(pt, 1, yk, S1(4), pk, S1(4), NULL), 0.5, 1e-7);
}

static void test_auc_and_at(void **state) {
    (void)state;
    /* num_thresholds 3: buckets ceil(2p)-1 (>= 0) = 0,0,0,1; TP = [2,1,0], FP = [2,0,0];
     * TPR = [1,.5,0], FPR = [1,0,0] -> (1-0)(1+.5)/2 = .75. Weights 1,0,0,1 -> 1. */
    const float y[] = {0, 0, 1, 1}, p[] = {0, 0.5f, 0.3f, 0.9f}, w[] = {1, 0, 0, 1};
    sc_metric_spec a = SPEC("AUC");
    a.num_thresholds = 3;
    NEAR(metric(a, 4, y, S0, p, S0, NULL), 0.75, 1e-7);
    NEAR(metric(a, 4, y, S0, p, S0, w), 1.0, 1e-7);
    /* RecallAtPrecision(.8): only t >= .5 gives precision 1 (p .9), recall .5. */
    sc_metric_spec r = SPEC("RecallAtPrecision");
    r.target = 0.8f;
    NEAR(metric(r, 4, y, S0, p, S0, NULL), 0.5, 1e-7);
    NEAR(metric(r, 4, y, S0, p, S0, w), 1.0, 1e-7);
    /* Five samples, negatives at 0, .3, .8 and positives at .3, .8. */
    const float y5[] = {0, 0, 0, 1, 1}, p5[] = {0, 0.3f, 0.8f, 0.3f, 0.8f};
    const float wa[] = {2, 2, 2, 1, 1}, wb[] = {1, 1, 2, 2, 1}, wc[] = {1, 1, 2, 2, 2};
    sc_metric_spec s = SPEC("PrecisionAtRecall");
    s.target = 0.5f; /* precision is .5 everywhere recall >= .5; weighted: 1/3 */
    NEAR(metric(s, 5, y5, S0, p5, S0, NULL), 0.5, 1e-7);
    NEAR(metric(s, 5, y5, S0, p5, S0, wa), 0.33333333, 1e-7);
    s.class_name = "SensitivityAtSpecificity"; /* t in [.3,.8): spec 2/3, sens .5 */
    NEAR(metric(s, 5, y5, S0, p5, S0, NULL), 0.5, 1e-7);
    NEAR(metric(s, 5, y5, S0, p5, S0, wb), 0.33333333, 1e-7);
    s.class_name = "SpecificityAtSensitivity"; /* t in [.3,.8): sens .5, spec 2/3 */
    NEAR(metric(s, 5, y5, S0, p5, S0, NULL), 0.66666667, 1e-7);
    NEAR(metric(s, 5, y5, S0, p5, S0, wc), 0.5, 1e-7);
}

static void test_fscore_iou_mean(void **state) {
    (void)state;
    /* Binarized at .5: [[0,1,1],[0,1,1],[1,1,0]]; per class (tp,fp,fn) = (1,0,2), (2,1,0),
     * (1,1,0): F1 = .5, .8, 2/3; F2 = 5pr/(4p+r) = 5/13, 10/11, 5/6. */
    const float y[] = {1, 1, 1, 1, 0, 0, 1, 1, 0},
                p[] = {0.2f, 0.6f, 0.7f, 0.2f, 0.6f, 0.6f, 0.6f, 0.8f, 0.0f};
    sc_metric_spec f = SPEC("F1Score");
    f.threshold = 0.5f;
    f.num_classes = 3;
    sc_metric *m = NULL;
    assert_int_equal(sc_metric_create(&f, &m, NULL), SC_OK);
    sc_metric_batch b = mk(3, y, S1(3), p, S1(3), NULL);
    assert_int_equal(sc_metric_update(m, &b, NULL), SC_OK);
    assert_int_equal(sc_metric_result_size(m), 3);
    double v[3];
    sc_metric_result_vector(m, v);
    NEAR(v[0], 0.5, 1e-7);
    NEAR(v[1], 0.8, 1e-7);
    NEAR(v[2], 0.6666667, 1e-7);
    sc_metric_free(m);
    f.class_name = "FBetaScore";
    f.beta = 2.0f;
    assert_int_equal(sc_metric_create(&f, &m, NULL), SC_OK);
    assert_int_equal(sc_metric_update(m, &b, NULL), SC_OK);
    sc_metric_result_vector(m, v);
    NEAR(v[0], 0.3846154, 1e-7);
    NEAR(v[1], 0.90909094, 1e-7);
    NEAR(v[2], 0.8333334, 1e-7);
    sc_metric_free(m);
    /* MeanIoU: cm [[1,1],[1,1]] -> (1/3 + 1/3)/2. */
    sc_metric_spec iou = SPEC("MeanIoU");
    iou.num_classes = 2;
    const float yi[] = {0, 0, 1, 1}, pi[] = {0, 1, 0, 1};
    NEAR(metric(iou, 4, yi, S0, pi, S0, NULL), 0.33333334, 1e-7);
    /* Mean of 1,3,5,7 = 4; weights 1,1,0,0 -> 2. */
    const float mv[] = {1, 3, 5, 7}, mw[] = {1, 1, 0, 0};
    NEAR(metric(SPEC("Mean"), 4, NULL, S0, mv, S0, NULL), 4.0, 0);
    NEAR(metric(SPEC("Mean"), 4, NULL, S0, mv, S0, mw), 2.0, 0);
}

static void test_losses(void **state) {
    (void)state;
    sc_loss_spec s = sc_loss_default_spec("BinaryCrossentropy");
    NEAR(loss(s, 2, Y01, S1(2), P64, S1(2), NULL), 0.815, 5e-4);
    NEAR(loss(s, 2, Y01, S1(2), P64, S1(2), W10), 0.458, 5e-4); /* .9163 / 2 */
    /* from_logits: (ln(1+e^-.51) + 2.94 + ln(1+e^-2.94) + ~0)/4 = .865 */
    const float yl[] = {0, 1, 0, 0}, zl[] = {-18.6f, 0.51f, 2.94f, -12.8f};
    s.from_logits = 1;
    NEAR(loss(s, 1, yl, S1(4), zl, S1(4), NULL), 0.865, 5e-4);
    const float yc[] = {0, 1, 0, 0, 0, 1}, pc[] = {0.05f, 0.95f, 0, 0.1f, 0.8f, 0.1f},
                wc[] = {0.3f, 0.7f}, ys[] = {1, 2};
    s = sc_loss_default_spec("CategoricalCrossentropy");
    NEAR(loss(s, 2, yc, S1(3), pc, S1(3), NULL), 1.177, 5e-4);
    NEAR(loss(s, 2, yc, S1(3), pc, S1(3), wc), 0.814, 5e-4); /* (.3 x .0513 + .7 x 2.3026)/2 */
    s = sc_loss_default_spec("SparseCategoricalCrossentropy");
    NEAR(loss(s, 2, ys, S0, pc, S1(3), NULL), 1.177, 5e-4);
    NEAR(loss(s, 2, ys, S0, pc, S1(3), wc), 0.814, 5e-4);
    const float p10[] = {1, 1, 1, 0};
    NEAR(loss(sc_loss_default_spec("MeanSquaredError"), 2, Y01, S1(2), p10, S1(2), NULL), 0.5,
         1e-7);
    NEAR(loss(sc_loss_default_spec("MeanAbsoluteError"), 2, Y01, S1(2), p10, S1(2), NULL), 0.5,
         1e-7);
    const float ym[] = {2, 1, 2, 3}; /* rows (.5 + 0)/2, (.5 + 1)/2 -> .5 x 100 */
    NEAR(loss(sc_loss_default_spec("MeanAbsolutePercentageError"), 2, ym, S1(2), p10, S1(2), NULL),
         50.0, 1e-4);
    NEAR(loss(sc_loss_default_spec("MeanSquaredLogarithmicError"), 2, Y01, S1(2), p10, S1(2), NULL),
         0.240, 5e-4);
    /* Huber: rows (.18 + .18)/2, (.08 + .18)/2 -> .155 */
    NEAR(loss(sc_loss_default_spec("Huber"), 2, Y01, S1(2), P64, S1(2), NULL), 0.155, 5e-4);
    NEAR(loss(sc_loss_default_spec("LogCosh"), 2, Y01, S1(2), P11, S1(2), NULL), 0.108, 5e-4);
    NEAR(loss(sc_loss_default_spec("Hinge"), 2, Y01, S1(2), P64, S1(2), NULL), 1.3, 1e-6);
    NEAR(loss(sc_loss_default_spec("SquaredHinge"), 2, Y01, S1(2), P64, S1(2), NULL), 1.86, 1e-6);
    NEAR(loss(sc_loss_default_spec("CategoricalHinge"), 2, Y01, S1(2), P64, S1(2), NULL), 1.4,
         1e-6);
    NEAR(loss(sc_loss_default_spec("KLDivergence"), 2, Y01, S1(2), P64, S1(2), NULL), 0.458, 5e-4);
    NEAR(loss(sc_loss_default_spec("Poisson"), 2, Y01, S1(2), P11, S1(2), NULL), 0.5, 1e-6);
    const float ycs[] = {0, 1, 1, 1}, pcs[] = {1, 0, 1, 1};
    NEAR(loss(sc_loss_default_spec("CosineSimilarity"), 2, ycs, S1(2), pcs, S1(2), NULL), -0.5,
         1e-6);
}

/* ---- tests/golden/data_metrics ------------------------------------------------------------ */

typedef struct gcase {
    float *y, *p, *w;
    int64_t ys[4], ps[4];
    int yr, pr;
} gcase;

static float *floats(json_t *a, size_t want) {
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), want);
    float *v = malloc((want ? want : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < want; i++) v[i] = (float)json_number_value(json_array_get(a, i));
    return v;
}

static size_t load_shape(json_t *a, int64_t *d, int *rank) {
    assert_true(json_is_array(a) && json_array_size(a) >= 1 && json_array_size(a) <= 4);
    size_t n = 1;
    *rank = (int)json_array_size(a) - 1; /* without the batch dim */
    for (size_t i = 0; i < json_array_size(a); i++) {
        int64_t v = json_integer_value(json_array_get(a, i));
        if (i) d[i - 1] = v;
        n *= (size_t)v;
    }
    return n;
}

static int opt_int(json_t *o, const char *k, int dflt) {
    json_t *v = json_object_get(o, k);
    return v ? (int)json_integer_value(v) : dflt;
}

static void golden_case(const char *dir, const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) fail_msg("%s: %s", path, je.text);
    const char *id = json_string_value(json_object_get(root, "id"));
    const char *what = json_string_value(json_object_get(root, "what"));
    const char *cls = json_string_value(json_object_get(root, "class_name"));
    json_t *o = json_object_get(root, "options");
    gcase g;
    size_t ny = load_shape(json_object_get(root, "y_shape"), g.ys, &g.yr);
    size_t np = load_shape(json_object_get(root, "p_shape"), g.ps, &g.pr);
    size_t n = (size_t)json_integer_value(json_array_get(json_object_get(root, "y_shape"), 0));
    g.y = floats(json_object_get(root, "y"), ny);
    g.p = floats(json_object_get(root, "p"), np);
    g.w = floats(json_object_get(root, "w"), n);
    size_t bs = (size_t)json_integer_value(json_object_get(root, "batch_size"));
    int kv = (int)json_integer_value(json_object_get(root, "keras_version"));
    double tol = json_number_value(json_object_get(root, "tolerance"));
    json_t *exp = json_object_get(root, "expected");
    size_t ysz = ny / n, psz = np / n;
    double got[8];
    size_t ngot = 0;
    sc_error e;

    if (strcmp(what, "loss") == 0) {
        sc_loss_spec ls = sc_loss_default_spec(cls);
        ls.keras_version = kv;
        ls.from_logits = opt_int(o, "from_logits", 0);
        json_t *sm = json_object_get(o, "label_smoothing");
        if (sm) ls.label_smoothing = (float)json_number_value(sm);
        sc_loss *l = NULL;
        if (sc_loss_create(&ls, &l, &e) != SC_OK) fail_msg("%s: %s", id, e.message);
        sc_metric_spec ms = sc_metric_default_spec("Mean");
        ms.name = "loss";
        sc_metric *agg = NULL;
        assert_int_equal(sc_metric_create(&ms, &agg, NULL), SC_OK);
        for (size_t i = 0; i < n; i += bs) {
            size_t k = n - i < bs ? n - i : bs;
            sc_metric_batch b = {.batch = k,
                                 .y_true = g.y + i * ysz,
                                 .true_rank = g.yr,
                                 .true_dims = g.ys,
                                 .y_pred = g.p + i * psz,
                                 .pred_rank = g.pr,
                                 .pred_dims = g.ps,
                                 .sample_weight = g.w + i};
            float lb, fk = (float)k;
            if (sc_loss_compute(l, &b, &lb, &e) != SC_OK) fail_msg("%s: %s", id, e.message);
            assert_int_equal(sc_metric_update_values(agg, &lb, &fk, 1, NULL), SC_OK);
        }
        assert_int_equal(sc_metric_result(agg, &got[0], NULL), SC_OK);
        ngot = 1;
        sc_metric_free(agg);
        sc_loss_free(l);
    } else {
        sc_metric_spec s = sc_metric_default_spec(cls);
        s.keras_version = kv;
        s.k = opt_int(o, "k", s.k);
        s.top_k = opt_int(o, "top_k", 0);
        s.class_id = opt_int(o, "class_id", -1);
        s.num_thresholds = opt_int(o, "num_thresholds", s.num_thresholds);
        s.multi_label = opt_int(o, "multi_label", 0);
        s.num_labels = opt_int(o, "num_labels", 0);
        s.num_classes = opt_int(o, "num_classes", 0);
        json_t *curve = json_object_get(o, "curve");
        if (curve && strcmp(json_string_value(curve), "PR") == 0) s.curve = SC_AUC_PR;
        json_t *thr = json_object_get(o, "thresholds");
        float *tv = NULL;
        if (thr) {
            tv = floats(thr, json_array_size(thr));
            s.thresholds = tv;
            s.num_threshold_values = json_array_size(thr);
        }
        sc_metric *m = NULL;
        if (sc_metric_create(&s, &m, &e) != SC_OK) fail_msg("%s: %s", id, e.message);
        for (size_t i = 0; i < n; i += bs) {
            size_t k = n - i < bs ? n - i : bs;
            sc_metric_batch b = {.batch = k,
                                 .y_true = g.y + i * ysz,
                                 .true_rank = g.yr,
                                 .true_dims = g.ys,
                                 .y_pred = g.p + i * psz,
                                 .pred_rank = g.pr,
                                 .pred_dims = g.ps,
                                 .sample_weight = g.w + i};
            if (sc_metric_update(m, &b, &e) != SC_OK) fail_msg("%s: %s", id, e.message);
        }
        ngot = sc_metric_result_size(m);
        assert_true(ngot <= 8);
        sc_metric_result_vector(m, got);
        sc_metric_free(m);
        free(tv);
    }
    if (ngot != json_array_size(exp))
        fail_msg("%s: %zu values, golden has %zu", id, ngot, json_array_size(exp));
    for (size_t i = 0; i < ngot; i++) {
        double want = json_number_value(json_array_get(exp, i));
        if (!(fabs(got[i] - want) <= tol * fmax(1.0, fabs(want))))
            fail_msg("%s [%zu]: got %.9g, golden %.9g (tolerance %g)", id, i, got[i], want, tol);
    }
    free(g.y);
    free(g.p);
    free(g.w);
    json_decref(root);
}

static void test_tfjs_goldens(void **state) {
    (void)state;
    const char *dir = SC_METRICS_GOLDEN_DIR;
    char manifest[1024], line[256];
    snprintf(manifest, sizeof manifest, "%s/MANIFEST", dir);
    FILE *f = fopen(manifest, "r");
    if (!f) fail_msg("%s: cannot open (run scripts/metrics-golden)", manifest);
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!*line) continue;
        golden_case(dir, line);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 40);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accuracy_family),
        cmocka_unit_test(test_crossentropy_metrics),
        cmocka_unit_test(test_regression_metrics),
        cmocka_unit_test(test_confusion_metrics),
        cmocka_unit_test(test_auc_and_at),
        cmocka_unit_test(test_fscore_iou_mean),
        cmocka_unit_test(test_losses),
        cmocka_unit_test(test_tfjs_goldens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
