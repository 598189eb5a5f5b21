/* In-memory arrays as a dataset (sc_dataset_open_arrays): batches are views into the caller's
 * arrays (no copy), shapes are checked, steps and rewind behave as for files; and the
 * evaluator's promise (eval.h) that a dataset must match the model's inputs: a mismatch is
 * refused at create instead of read out of bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sidecar/dataset.h"
#include "sidecar/eval.h"
#include "sidecar/model.h"

enum { N = 10, H = 2, W = 3 };
static float g_x[N][H][W], g_y[N], g_w[N];

static sc_dataset_params params(size_t batch) {
    sc_dataset_params p = sc_dataset_default_params();
    p.batch_size = batch;
    return p;
}

static sc_dataset_arrays arrays(void) {
    sc_dataset_arrays a;
    memset(&a, 0, sizeof a);
    a.num_examples = N;
    a.inputs[0] = (sc_dataset_array){&g_x[0][0][0], 2, {H, W}};
    a.labels[0] = (sc_dataset_array){g_y, 0, {0}};
    a.sample_weight = g_w;
    return a;
}

static void test_views_without_copy(void **state) {
    (void)state;
    sc_dataset_params p = params(4);
    sc_dataset_arrays a = arrays();
    sc_dataset *ds;
    sc_error err;
    assert_int_equal(sc_dataset_open_arrays(&p, &a, &ds, &err), SC_OK);
    assert_int_equal(sc_dataset_format(ds), SC_DATA_FORMAT_ARRAYS);
    assert_string_equal(sc_data_format_name(SC_DATA_FORMAT_ARRAYS), "arrays");
    assert_int_equal(sc_dataset_num_examples(ds), N);
    assert_int_equal(sc_dataset_num_batches(ds), 3);
    assert_int_equal(sc_dataset_input_shape(ds, 0)->rank, 2);
    for (int pass = 0; pass < 2; pass++) {
        size_t seen = 0;
        sc_batch b;
        while (sc_dataset_next(ds, &b, &err) == SC_OK && b.n > 0) {
            assert_ptr_equal(b.inputs[0], &g_x[seen][0][0]);
            assert_ptr_equal(b.labels[0], &g_y[seen]);
            assert_ptr_equal(b.weights, &g_w[seen]);
            assert_int_equal(b.source_record, seen);
            assert_int_equal(b.n, seen + 4 <= N ? 4 : N - seen);
            seen += b.n;
        }
        assert_int_equal(seen, N);
        assert_int_equal(sc_dataset_ran_out(ds), 0);
        assert_int_equal(sc_dataset_rewind(ds, &err), SC_OK);
    }
    sc_dataset_free(ds);
}

static void test_steps_and_ran_out(void **state) {
    (void)state;
    sc_dataset_arrays a = arrays();
    a.sample_weight = NULL;
    sc_error err;
    sc_batch b;
    for (int steps = 2; steps <= 5; steps += 3) {
        sc_dataset_params p = params(4);
        p.steps = (uint64_t)steps;
        sc_dataset *ds;
        assert_int_equal(sc_dataset_open_arrays(&p, &a, &ds, &err), SC_OK);
        int batches = 0;
        while (sc_dataset_next(ds, &b, &err) == SC_OK && b.n > 0) {
            assert_null(b.weights);
            batches++;
        }
        assert_int_equal(batches, steps == 2 ? 2 : 3);
        assert_int_equal(sc_dataset_ran_out(ds), steps == 5);
        sc_dataset_free(ds);
    }
}

static void test_shape_mismatch_and_null(void **state) {
    (void)state;
    sc_dataset_params p = params(4);
    p.inputs[0].shape = (sc_dataset_shape){2, {W, H}};
    sc_dataset_arrays a = arrays();
    sc_dataset *ds = (sc_dataset *)1;
    sc_error err;
    assert_int_equal(sc_dataset_open_arrays(&p, &a, &ds, &err), SC_INVALID_ARGUMENT);
    assert_null(ds);
    assert_non_null(strstr(err.message, "(2, 3)"));
    assert_non_null(strstr(err.message, "(3, 2)"));
    p = params(4);
    a.labels[0].data = NULL;
    assert_int_equal(sc_dataset_open_arrays(&p, &a, &ds, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "label 'y'"));
    a = arrays();
    a.inputs[0].dims[0] = -1;
    assert_int_equal(sc_dataset_open_arrays(&p, &a, &ds, &err), SC_INVALID_ARGUMENT);
}

/* The demo trainer's model: one input of shape (16,). */
static sc_model *demo_model(char *dir) {
    const char *build = getenv("SC_BUILD_DIR");
    if (!build) fail_msg("SC_BUILD_DIR is not set (run through ctest)");
    char cmd[8400], path[4096];
    snprintf(path, sizeof path, "%s/model.json", dir);
    snprintf(cmd, sizeof cmd, "'%s/sc_demo_trainer' --write-model '%s' > /dev/null", build, path);
    assert_int_equal(system(cmd), 0);
    sc_model *m;
    sc_error err;
    assert_int_equal(sc_model_load_keras(path, &m, &err), SC_OK);
    return m;
}

static void test_evaluator_checks_inputs(void **state) {
    (void)state;
    char dir[] = "/tmp/sc_arrays_XXXXXX";
    assert_non_null(mkdtemp(dir));
    sc_model *m = demo_model(dir);
    assert_int_equal(sc_model_input_shape(m, 0).rank, 1);
    assert_int_equal(sc_model_input_shape(m, 0).dims[0], 16);
    static float x[4][16], y[4];
    sc_error err;
    for (int c = 0; c < 3; c++) { /* 0: (15,), 1: two inputs, 2: (16,) matches */
        sc_dataset_params p = params(2);
        sc_dataset_arrays a;
        memset(&a, 0, sizeof a);
        a.num_examples = 4;
        a.inputs[0] = (sc_dataset_array){&x[0][0], 1, {c == 0 ? 15 : 16}};
        a.labels[0] = (sc_dataset_array){y, 0, {0}};
        if (c == 1) {
            p.num_inputs = 2;
            p.inputs[0].name = "a";
            p.inputs[1].name = "b";
            a.inputs[1] = a.inputs[0];
        }
        sc_dataset *ds;
        assert_int_equal(sc_dataset_open_arrays(&p, &a, &ds, &err), SC_OK);
        sc_eval_dataset ed = {.name = "val", .data = ds};
        sc_evaluator_params ep = sc_evaluator_default_params();
        ep.model = m;
        ep.checkpoint_dir = dir;
        ep.datasets = &ed;
        ep.num_datasets = 1;
        ep.max_batch = 2;
        sc_evaluator *ev = NULL;
        sc_status s = sc_evaluator_create(&ep, &ev, &err);
        if (c == 2) {
            assert_int_equal(s, SC_OK);
        } else {
            assert_int_equal(s, SC_INVALID_ARGUMENT);
            assert_null(ev);
            assert_non_null(strstr(err.message, c == 0 ? "(15,)" : "has 2 inputs"));
        }
        sc_evaluator_free(ev);
        sc_dataset_free(ds);
    }
    sc_model_free(m);
    char rm[4200];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_views_without_copy),
        cmocka_unit_test(test_steps_and_ran_out),
        cmocka_unit_test(test_shape_mismatch_and_null),
        cmocka_unit_test(test_evaluator_checks_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
