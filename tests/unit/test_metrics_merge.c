/* Merging: for every metric class (and the option variants that change the state), seeded data
 * split into k = 1..5 shards, each shard fed in batches of 8 (so shards end in short batches),
 * the shard states merged: the result equals the single pass. Weights are multiples of 1/2, so
 * counting states add exactly in float32 and their results must be bit-identical; sums of
 * non-integers are compared at 1e-6 relative. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/metrics.h"
#include "unit/metrics_testutil.h"

enum { N = 61, BS = 8, MAXC = 5 };
typedef enum { BIN, CAT, SPARSE, REG, INT } kind;
static const int COLS[] = {3, 5, 5, 3, 2}; /* prediction columns per kind */

typedef struct mcase {
    const char *cls;
    kind k;
    int exact;
    void (*tweak)(sc_metric_spec *);
} mcase;

static const float THR[] = {0.2f, 0.5f, 0.9f};
static void t_auc_pr(sc_metric_spec *s) { s->curve = SC_AUC_PR; }
static void t_auc_ml(sc_metric_spec *s) {
    s->multi_label = 1;
    s->num_labels = 3;
}
static void t_thr(sc_metric_spec *s) {
    s->thresholds = THR;
    s->num_threshold_values = 3;
}
static void t_auc_thr_ml(sc_metric_spec *s) {
    t_thr(s);
    t_auc_ml(s);
}
static void t_topk(sc_metric_spec *s) { s->top_k = 2; }
static void t_cls(sc_metric_spec *s) { s->class_id = 1; }
static void t_target(sc_metric_spec *s) { s->target = 0.6f; }
static void t_k2(sc_metric_spec *s) { s->k = 2; }
static void t_c3(sc_metric_spec *s) { s->num_classes = 3; }
static void t_f1m(sc_metric_spec *s) {
    s->num_classes = 3;
    s->average = SC_F_AVERAGE_MACRO;
    s->threshold = 0.5f;
}
static void t_fbw(sc_metric_spec *s) {
    s->num_classes = 3;
    s->average = SC_F_AVERAGE_WEIGHTED;
    s->beta = 2;
}
static void t_iou5(sc_metric_spec *s) {
    s->num_classes = 5;
    s->sparse_y_pred = 0;
}
static void t_iou3(sc_metric_spec *s) { s->num_classes = 3; }

static const mcase CASES[] = {
    {"Accuracy", INT, 1, NULL},
    {"BinaryAccuracy", BIN, 0, NULL} /* row means of thirds */,
    {"CategoricalAccuracy", CAT, 1, NULL},
    {"SparseCategoricalAccuracy", SPARSE, 1, NULL},
    {"TopKCategoricalAccuracy", CAT, 1, t_k2},
    {"SparseTopKCategoricalAccuracy", SPARSE, 1, t_k2},
    {"BinaryCrossentropy", BIN, 0, NULL},
    {"CategoricalCrossentropy", CAT, 0, NULL},
    {"SparseCategoricalCrossentropy", SPARSE, 0, NULL},
    {"MeanSquaredError", REG, 0, NULL},
    {"MeanAbsoluteError", REG, 0, NULL},
    {"MeanAbsolutePercentageError", REG, 0, NULL},
    {"MeanSquaredLogarithmicError", REG, 0, NULL},
    {"RootMeanSquaredError", REG, 0, NULL},
    {"R2Score", REG, 0, t_c3},
    {"LogCoshError", REG, 0, NULL},
    {"Hinge", BIN, 0, NULL},
    {"SquaredHinge", BIN, 0, NULL},
    {"CategoricalHinge", CAT, 0, NULL},
    {"KLDivergence", CAT, 0, NULL},
    {"Poisson", REG, 0, NULL},
    {"CosineSimilarity", CAT, 0, NULL},
    {"AUC", BIN, 1, NULL},
    {"AUC", BIN, 1, t_auc_pr},
    {"AUC", BIN, 1, t_auc_ml},
    {"AUC", BIN, 1, t_auc_thr_ml},
    {"Precision", BIN, 1, NULL},
    {"Precision", BIN, 1, t_thr},
    {"Precision", BIN, 1, t_topk},
    {"Recall", BIN, 1, t_cls},
    {"Recall", BIN, 1, NULL},
    {"TruePositives", BIN, 1, NULL},
    {"FalsePositives", BIN, 1, t_thr},
    {"TrueNegatives", BIN, 1, NULL},
    {"FalseNegatives", BIN, 1, NULL},
    {"PrecisionAtRecall", BIN, 1, t_target},
    {"RecallAtPrecision", BIN, 1, t_target},
    {"SensitivityAtSpecificity", BIN, 1, t_target},
    {"SpecificityAtSensitivity", BIN, 1, t_target},
    {"F1Score", BIN, 1, t_c3},
    {"F1Score", BIN, 1, t_f1m},
    {"FBetaScore", BIN, 1, t_fbw},
    {"MeanIoU", SPARSE, 1, t_iou5},
    {"MeanIoU", INT, 1, t_iou3},
    {"Mean", REG, 0, NULL},
};

static float Y[N * MAXC], P[N * MAXC], W[N];

static void gen(kind k, uint64_t *rs) {
    int c = COLS[k];
    for (int i = 0; i < N; i++) {
        W[i] = 0.5f * (float)(1 + rng_int(rs, 4));
        int hot = rng_int(rs, c);
        for (int j = 0; j < c; j++) {
            float *y = Y + i * c + j, *p = P + i * c + j;
            switch (k) {
            case BIN:
                *y = (float)rng_int(rs, 2);
                *p = rng_unit(rs);
                break;
            case CAT:
                *y = j == hot;
                *p = 0.01f + rng_unit(rs);
                break;
            case SPARSE: *p = 0.01f + 0.98f * rng_unit(rs); break;
            case REG:
                *y = 0.5f + 2 * rng_unit(rs);
                *p = 0.5f + 2 * rng_unit(rs);
                break;
            case INT:
                *y = (float)rng_int(rs, 3);
                *p = (float)rng_int(rs, 3);
                break;
            }
        }
        if (k == SPARSE) Y[i] = (float)hot;
    }
}

static void feed(sc_metric *m, kind k, int from, int to) {
    int c = COLS[k], yc = k == SPARSE ? 1 : c;
    for (int i = from; i < to; i += BS) {
        int n = to - i < BS ? to - i : BS;
        tbatch t;
        tb_init(&t, (size_t)n, Y + i * yc, k == SPARSE ? 0 : 1, c, 0, P + i * c, 1, c, 0, W + i);
        sc_error e;
        if (sc_metric_update(m, &t.b, &e) != SC_OK)
            fail_msg("%s: %s", sc_metric_name(m), e.message);
    }
}

static sc_metric *make(const mcase *mc) {
    sc_metric_spec s = sc_metric_default_spec(mc->cls);
    if (mc->tweak) mc->tweak(&s);
    sc_metric *m = NULL;
    sc_error e;
    if (sc_metric_create(&s, &m, &e) != SC_OK) fail_msg("%s: %s", mc->cls, e.message);
    return m;
}

static void test_every_metric_merges(void **state) {
    (void)state;
    uint64_t rs = 0x0123456789abcdefull;
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        const mcase *mc = &CASES[c];
        gen(mc->k, &rs);
        sc_metric *single = make(mc);
        feed(single, mc->k, 0, N);
        size_t n = sc_metric_result_size(single);
        double want[MAXC], got[MAXC];
        assert_true(n <= MAXC);
        sc_metric_result_vector(single, want);
        for (int k = 1; k <= 5; k++) {
            sc_metric *sh[5];
            int cut[6];
            for (int s = 0; s <= k; s++) cut[s] = N * s / k + (s > 0 && s < k ? s : 0);
            for (int s = 0; s < k; s++) {
                sh[s] = make(mc);
                feed(sh[s], mc->k, cut[s], cut[s + 1]);
            }
            for (int s = 1; s < k; s++) {
                assert_int_equal(sc_metric_merge(sh[0], sh[s], NULL), SC_OK);
                sc_metric_free(sh[s]);
            }
            sc_metric_result_vector(sh[0], got);
            for (size_t i = 0; i < n; i++) {
                int ok = mc->exact ? got[i] == want[i] : near_rel(got[i], want[i], 1e-6);
                if (!ok)
                    fail_msg("%s (case %zu), %d shards, value %zu: %.9g vs single pass %.9g",
                             mc->cls, c, k, i, got[i], want[i]);
            }
            sc_metric_free(sh[0]);
        }
        /* Merging an empty state changes nothing; reset empties. */
        sc_metric *empty = make(mc);
        assert_int_equal(sc_metric_merge(single, empty, NULL), SC_OK);
        sc_metric_result_vector(single, got);
        for (size_t i = 0; i < n; i++) assert_true(got[i] == want[i]);
        sc_metric_reset(single);
        double z[MAXC], e0[MAXC];
        sc_metric_result_vector(single, z);
        sc_metric_result_vector(empty, e0);
        for (size_t i = 0; i < n; i++) assert_true(z[i] == e0[i] || (isnan(z[i]) && isnan(e0[i])));
        sc_metric_free(empty);
        sc_metric_free(single);
    }
}

static void test_merge_rejects_other_specs(void **state) {
    (void)state;
    sc_metric_spec a = sc_metric_default_spec("Precision"), b = a,
                   c = sc_metric_default_spec("Recall");
    b.thresholds = THR;
    b.num_threshold_values = 1; /* 0.2 instead of 0.5: same sizes, other meaning */
    sc_metric *ma, *mb, *mc;
    assert_int_equal(sc_metric_create(&a, &ma, NULL), SC_OK);
    assert_int_equal(sc_metric_create(&b, &mb, NULL), SC_OK);
    assert_int_equal(sc_metric_create(&c, &mc, NULL), SC_OK);
    sc_error e;
    assert_int_equal(sc_metric_merge(ma, mb, &e), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(e.message, "specs differ"));
    assert_int_equal(sc_metric_merge(ma, mc, &e), SC_INVALID_ARGUMENT);
    sc_metric_free(ma);
    sc_metric_free(mb);
    sc_metric_free(mc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_metric_merges),
        cmocka_unit_test(test_merge_rejects_other_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
