/* Losses: Keras 2 vs Keras 3 clipping, the TensorFlow logits shortcut, label smoothing,
 * ignore_class, reductions, the evaluate "loss" aggregation over a short last batch, and a
 * float64 re-computation on seeded data. Hand arithmetic is in the comments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/metrics.h"
#include "unit/metrics_testutil.h"

static double lossv(sc_loss_spec s, tbatch *t) {
    sc_loss *l = NULL;
    sc_error e;
    if (sc_loss_create(&s, &l, &e) != SC_OK) fail_msg("create %s: %s", s.class_name, e.message);
    float v = NAN;
    if (sc_loss_compute(l, &t->b, &v, &e) != SC_OK) fail_msg("%s: %s", s.class_name, e.message);
    sc_loss_free(l);
    return v;
}

static sc_loss_spec spec(const char *cls, int kv) {
    sc_loss_spec s = sc_loss_default_spec(cls);
    s.keras_version = kv;
    return s;
}

static void test_bce_clipping(void **state) {
    (void)state;
    /* y 0, p 1: q = 1 - 1e-7 in float32 = 1 - 2^-23 (0.99999988). Keras 2 adds 1e-7 inside the
     * log: -ln(2^-23 + 1e-7) = 15.33335; Keras 3: -ln(2^-23) = 23 ln 2 = 15.942385.
     * y 1, p 0: q = 1e-7: Keras 2 -ln(2e-7) = 15.424949, Keras 3 -ln(1e-7) = 16.118096. */
    const float y[] = {0, 1}, p[] = {1, 0};
    tbatch t;
    tb_init(&t, 1, y, 0, 0, 0, p, 0, 0, 0, NULL);
    assert_near(lossv(spec("binary_crossentropy", 2), &t), -log(1.1920929e-7 + 1e-7), 1e-6);
    assert_near(lossv(spec("binary_crossentropy", 3), &t), 23 * log(2.0), 1e-6);
    tb_init(&t, 1, y + 1, 0, 0, 0, p + 1, 0, 0, 0, NULL);
    assert_near(lossv(spec("binary_crossentropy", 2), &t), -log(2e-7), 1e-6);
    assert_near(lossv(spec("binary_crossentropy", 3), &t), -log(1e-7), 1e-6);
}

static void test_logits_shortcut(void **state) {
    (void)state;
    /* A sigmoid output of z = 20 is 1.0f: from probabilities the loss saturates at 15.33 (as
     * above); from the logits TF gets 20 + ln(1 + e^-20) = 20.000000002. */
    const float y0[] = {0}, z[] = {20}, pz[] = {1};
    tbatch t;
    tb_init(&t, 1, y0, 0, 0, 0, pz, 0, 0, 0, NULL);
    assert_near(lossv(spec("BinaryCrossentropy", 2), &t), 15.33335, 1e-5);
    t.b.logits = z;
    assert_near(lossv(spec("BinaryCrossentropy", 2), &t), 20.0, 1e-6);
    /* Softmax of [0, 30] is [9.4e-14, 1]: label 0 clips to -ln 1e-7 = 16.118096; the logits
     * give logsumexp - z_0 = 30 + ln(1 + e^-30) = 30. Same for the sparse form, whose TF
     * clipped path is ln(sum q) - ln q_0 = ln(1e-7 + 1 - 2^-23) - ln 1e-7. */
    const float oh[] = {1, 0}, sp[] = {0}, zz[] = {0, 30}, pp[] = {9.357623e-14f, 1.0f};
    tb_init(&t, 1, oh, 1, 2, 0, pp, 1, 2, 0, NULL);
    assert_near(lossv(spec("CategoricalCrossentropy", 2), &t), -log(1e-7), 1e-5);
    t.b.logits = zz;
    assert_near(lossv(spec("CategoricalCrossentropy", 2), &t), 30.0, 1e-6);
    tb_init(&t, 1, sp, 0, 0, 0, pp, 1, 2, 0, NULL);
    assert_near(lossv(spec("SparseCategoricalCrossentropy", 2), &t),
                log(1e-7 + 1 - 1.1920929e-7) - log(1e-7), 1e-5);
    t.b.logits = zz;
    assert_near(lossv(spec("SparseCategoricalCrossentropy", 2), &t), 30.0, 1e-6);
    /* The crossentropy metrics take the same shortcut. */
    sc_metric_spec ms = sc_metric_default_spec("SparseCategoricalCrossentropy");
    sc_metric *m = NULL;
    assert_int_equal(sc_metric_create(&ms, &m, NULL), SC_OK);
    assert_int_equal(sc_metric_update(m, &t.b, NULL), SC_OK);
    double v;
    assert_int_equal(sc_metric_result(m, &v, NULL), SC_OK);
    assert_near(v, 30.0, 1e-6);
    sc_metric_free(m);
}

static void test_sparse_backends_and_ignore(void **state) {
    (void)state;
    /* p = [1e-9, .5], label 0. TF: q = [1e-7, .5]: ln(.5000001) - ln(1e-7) = 15.424949.
     * Keras 3 JAX: p / sum = [2e-9, 1] -> clip 1e-7 -> 16.118096. */
    const float lab[] = {0}, p[] = {1e-9f, 0.5f};
    tbatch t;
    tb_init(&t, 1, lab, 0, 0, 0, p, 1, 2, 0, NULL);
    assert_near(lossv(spec("sparse_categorical_crossentropy", 3), &t), log(0.5000001) - log(1e-7),
                1e-6);
    sc_loss_spec j = spec("sparse_categorical_crossentropy", 3);
    j.backend = SC_BACKEND_JAX;
    assert_near(lossv(j, &t), -log(1e-7), 1e-6);
    /* ignore_class 255: rows -ln .8 and -ln .7 remain, divided by the 2 valid rows. */
    const float labs[] = {0, 255, 1}, ps[] = {0.8f, 0.2f, 0.5f, 0.5f, 0.3f, 0.7f};
    sc_loss_spec ig = spec("SparseCategoricalCrossentropy", 2);
    ig.has_ignore_class = 1;
    ig.ignore_class = 255;
    tb_init(&t, 3, labs, 0, 0, 0, ps, 1, 2, 0, NULL);
    assert_near(lossv(ig, &t), (-log(0.8) - log(0.7)) / 2, 1e-6);
    /* Every label ignored: Keras 2.15's apply_valid_mask divides by 0 valid rows, 0 * inf = NaN
     * (not 0, which --export-best would take as the best loss). */
    const float all_ignored[] = {255, 255};
    tb_init(&t, 2, all_ignored, 0, 0, 0, ps, 1, 2, 0, NULL);
    assert_true(isnan(lossv(ig, &t)));
    tb_init(&t, 3, labs, 0, 0, 0, ps, 1, 2, 0, NULL);
    sc_loss *l = NULL;
    sc_error e;
    sc_loss_spec plain = spec("SparseCategoricalCrossentropy", 2);
    assert_int_equal(sc_loss_create(&plain, &l, NULL), SC_OK);
    float v;
    assert_int_equal(sc_loss_compute(l, &t.b, &v, &e), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(e.message, "label 255"));
    sc_loss_free(l);
}

static void test_smoothing_hinge_huber(void **state) {
    (void)state;
    /* CCE, smoothing .1 over 2 classes: y [1,0] -> [.95,.05]; p [.8,.2]:
     * -(.95 ln .8 + .05 ln .2) = .2119863 + .0804719. */
    const float y[] = {1, 0}, p[] = {0.8f, 0.2f};
    tbatch t;
    tb_init(&t, 1, y, 1, 2, 0, p, 1, 2, 0, NULL);
    sc_loss_spec s = spec("CategoricalCrossentropy", 2);
    s.label_smoothing = 0.1f;
    assert_near(lossv(s, &t), -(0.95 * log(0.8) + 0.05 * log(0.2)), 1e-6);
    /* BCE, smoothing .2 on one element: y 1 -> .9, p .8: -(.9 ln(.8+1e-7) + .1 ln(.2+1e-7)). */
    tb_init(&t, 1, y, 0, 0, 0, p, 0, 0, 0, NULL);
    s = spec("BinaryCrossentropy", 2);
    s.label_smoothing = 0.2f;
    assert_near(lossv(s, &t), -(0.9 * log(0.8 + 1e-7) + 0.1 * log(0.2 + 1e-7)), 1e-6);
    /* Hinge with -1/1 labels is not converted: max(1 + .3, 0), max(1 - .4, 0) -> .95. */
    const float yh[] = {-1, 1}, ph[] = {0.3f, 0.4f};
    tb_init(&t, 1, yh, 1, 2, 0, ph, 1, 2, 0, NULL);
    assert_near(lossv(spec("hinge", 2), &t), 0.95, 1e-6);
    /* Huber, delta .5: |e| = .6 > .5: .5 x .6 - .5 x .25 = .175; |e| = .2: .5 x .04 = .02. */
    const float yu[] = {0, 0}, pu[] = {0.6f, -0.2f};
    tb_init(&t, 1, yu, 1, 2, 0, pu, 1, 2, 0, NULL);
    s = spec("huber", 2);
    s.delta = 0.5f;
    assert_near(lossv(s, &t), (0.175 + 0.02) / 2, 1e-6);
}

static void test_reductions(void **state) {
    (void)state;
    /* MSE rows .5, 6.5, 4 with weights 1,0,1: sum 4.5; over 3 rows 1.5; over sum(w) 2.25. */
    const float y[] = {1, 2, 3, 4, 0, 0}, p[] = {1, 1, 1, 1, 2, 2}, w[] = {1, 0, 1};
    tbatch t;
    tb_init(&t, 3, y, 1, 2, 0, p, 1, 2, 0, w);
    sc_loss_spec s = spec("mse", 2);
    assert_near(lossv(s, &t), 1.5, 1e-7);
    s.reduction = SC_REDUCTION_SUM;
    assert_near(lossv(s, &t), 4.5, 1e-7);
    s.reduction = SC_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT;
    assert_near(lossv(s, &t), 2.25, 1e-7);
    sc_loss *l = NULL;
    s = sc_loss_default_spec("NoSuchLoss");
    assert_int_equal(sc_loss_create(&s, &l, NULL), SC_INVALID_ARGUMENT);
    assert_null(l);
}

enum { N = 23, BS = 5, C = 4 };

static double ref_loss_row(int which, const float *y, const float *p) {
    double s = 0, a = 0;
    if (which == 0) { /* sparse CE (TF, unclipped range) */
        for (int j = 0; j < C; j++) a += p[j];
        return log(a) - log(p[(int)y[0]]);
    }
    for (int j = 0; j < C; j++) {
        double d = (double)p[j] - y[j];
        if (which == 1)
            s += d * d;
        else if (which == 2)
            s += fabs(d) <= 1 ? 0.5 * d * d : fabs(d) - 0.5;
        else
            s -= y[j] * log(p[j] + 1e-7) + (1 - y[j]) * log(1 - p[j] + 1e-7);
    }
    return s / C;
}

/* The evaluate loss: a Mean named "loss" fed the batch loss with weight = batch size, over
 * batches of 5, 5, 5, 5, 3; equals the float64 weighted mean of the per-batch losses. */
static void test_evaluate_aggregation_and_float64(void **state) {
    (void)state;
    static const char *names[] = {"sparse_categorical_crossentropy", "mse", "huber",
                                  "binary_crossentropy"};
    float y[N * C], p[N * C], w[N], ys[N];
    uint64_t rs = 0xfeedbeef42ull;
    for (int which = 0; which < 4; which++) {
        for (int i = 0; i < N; i++) {
            ys[i] = (float)rng_int(&rs, C);
            w[i] = rng_unit(&rs) * 3.0f;
            for (int j = 0; j < C; j++) {
                y[i * C + j] = which == 3 ? (float)rng_int(&rs, 2) : rng_unit(&rs) * 2;
                p[i * C + j] = 0.02f + 0.96f * rng_unit(&rs);
            }
        }
        sc_loss *l = NULL;
        sc_loss_spec s = sc_loss_default_spec(names[which]);
        assert_int_equal(sc_loss_create(&s, &l, NULL), SC_OK);
        sc_metric_spec ms = sc_metric_default_spec("Mean");
        ms.name = "loss";
        sc_metric *agg = NULL;
        assert_int_equal(sc_metric_create(&ms, &agg, NULL), SC_OK);
        assert_string_equal(sc_metric_name(agg), "loss");
        double num = 0, den = 0;
        for (int i = 0; i < N; i += BS) {
            int k = N - i < BS ? N - i : BS;
            tbatch t;
            if (which == 0)
                tb_init(&t, (size_t)k, ys + i, 0, 0, 0, p + i * C, 1, C, 0, w + i);
            else
                tb_init(&t, (size_t)k, y + i * C, 1, C, 0, p + i * C, 1, C, 0, w + i);
            float lb;
            assert_int_equal(sc_loss_compute(l, &t.b, &lb, NULL), SC_OK);
            double ref = 0;
            for (int r = 0; r < k; r++)
                ref += w[i + r]
                       * ref_loss_row(which, which ? y + (i + r) * C : ys + i + r, p + (i + r) * C);
            ref /= k; /* sum_over_batch_size: divided by the rows, not by sum(w) */
            assert_near(lb, ref, 1e-6);
            float n = (float)k;
            assert_int_equal(sc_metric_update_values(agg, &lb, &n, 1, NULL), SC_OK);
            num += ref * k;
            den += k;
        }
        double v;
        assert_int_equal(sc_metric_result(agg, &v, NULL), SC_OK);
        assert_near(v, num / den, 1e-6);
        sc_metric_free(agg);
        sc_loss_free(l);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bce_clipping),
        cmocka_unit_test(test_logits_shortcut),
        cmocka_unit_test(test_sparse_backends_and_ignore),
        cmocka_unit_test(test_smoothing_hinge_huber),
        cmocka_unit_test(test_reductions),
        cmocka_unit_test(test_evaluate_aggregation_and_float64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
