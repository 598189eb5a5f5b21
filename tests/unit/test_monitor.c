/* The direction of --monitor for --export-best (eval/monitor.h): --mode auto maximises names
 * holding acc, auc, precision, recall, f1/fbeta, iou, top_k or r2 and minimises the rest;
 * --mode min and max override the name either way. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "eval/monitor.h"

/* Keras metric and loss names as they appear in logs (val_ prefixes, output_ prefixes, numbered
 * duplicates as Keras makes them). */
static const char *const k_max[] = {"accuracy",
                                    "val_accuracy",
                                    "acc",
                                    "val_acc",
                                    "binary_accuracy",
                                    "sparse_categorical_accuracy",
                                    "auc",
                                    "val_auc",
                                    "pr_auc",
                                    "precision",
                                    "precision_1",
                                    "val_precision",
                                    "recall",
                                    "recall_2",
                                    "f1_score",
                                    "fbeta_score",
                                    "val_f1_score",
                                    "mean_io_u",
                                    "iou",
                                    "io_u",
                                    "binary_io_u",
                                    "one_hot_mean_io_u",
                                    "binary_iou",
                                    "one_hot_mean_iou",
                                    "sparse_top_k_categorical_accuracy",
                                    "top_k_categorical_accuracy",
                                    "r2_score",
                                    "val_r2_score",
                                    "fmeasure",
                                    "output_1_accuracy"};
static const char *const k_min[] = {"loss",
                                    "val_loss",
                                    "mse",
                                    "mae",
                                    "mean_squared_error",
                                    "mean_absolute_error",
                                    "val_mean_absolute_error",
                                    "mean_absolute_percentage_error",
                                    "categorical_crossentropy",
                                    "sparse_categorical_crossentropy",
                                    "binary_crossentropy",
                                    "output_1_loss",
                                    "hinge",
                                    "kl_divergence",
                                    "log_cosh_error",
                                    "root_mean_squared_error"};

#define N(a) (sizeof a / sizeof a[0])

static void test_auto(void **state) {
    (void)state;
    for (size_t i = 0; i < N(k_max); i++) {
        if (sc_eval_higher_is_better(k_max[i], SC_EXPORT_AUTO) != 1)
            fail_msg("auto: '%s' should be maximised", k_max[i]);
    }
    for (size_t i = 0; i < N(k_min); i++) {
        if (sc_eval_higher_is_better(k_min[i], SC_EXPORT_AUTO) != 0)
            fail_msg("auto: '%s' should be minimised", k_min[i]);
    }
    /* The evaluator's default monitor is "loss"; a missing one is treated the same. */
    assert_int_equal(sc_eval_higher_is_better(NULL, SC_EXPORT_AUTO), 0);
}

static void test_mode_overrides(void **state) {
    (void)state;
    for (size_t i = 0; i < N(k_max); i++) {
        assert_int_equal(sc_eval_higher_is_better(k_max[i], SC_EXPORT_MIN), 0);
        assert_int_equal(sc_eval_higher_is_better(k_max[i], SC_EXPORT_MAX), 1);
    }
    for (size_t i = 0; i < N(k_min); i++) {
        assert_int_equal(sc_eval_higher_is_better(k_min[i], SC_EXPORT_MIN), 0);
        assert_int_equal(sc_eval_higher_is_better(k_min[i], SC_EXPORT_MAX), 1);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_auto),
                                       cmocka_unit_test(test_mode_overrides)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
