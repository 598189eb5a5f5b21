/* A model written in C plugs into the same interface as a Keras-config model: binding from a TF
 * checkpoint keyed by attribute path (with and without model/), from safetensors, the runner
 * (softmax applied by the engine, logits kept), and the evaluator with a loss and a metric. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/eval.h"
#include "support/ckpt_fixture.h"

#define IN  3
#define OUT 2

/* logits = x @ W + b, written the way a user would. */
static sc_status linear_forward(void *user, int batch, const float *const *in,
                                const float *const *vars, float *out, float *scratch,
                                sc_error *err) {
    (void)scratch;
    (void)err;
    int *calls = user;
    (*calls)++;
    const float *w = vars[0], *b = vars[1];
    for (int i = 0; i < batch; i++)
        for (int j = 0; j < OUT; j++) {
            float s = b[j];
            for (int k = 0; k < IN; k++) s += in[0][i * IN + k] * w[k * OUT + j];
            out[i * OUT + j] = s;
        }
    return SC_OK;
}

static const float W[IN * OUT] = {1.0f, -1.0f, 0.5f, 0.25f, -2.0f, 1.0f};
static const float B[OUT] = {0.1f, -0.1f};

static sc_model *make(int *calls) {
    const char *names[2] = {"linear/kernel", "linear/bias"};
    sc_shape shapes[2] = {{2, {IN, OUT}}, {1, {OUT}}};
    sc_shape in_shape = {1, {IN}};
    sc_custom_model_params p;
    memset(&p, 0, sizeof p);
    p.name = "my_linear";
    p.num_inputs = 1;
    p.input_shapes = &in_shape;
    p.output_shape = (sc_shape){1, {OUT}};
    p.output_activation = "softmax";
    p.num_variables = 2;
    p.variable_names = names;
    p.variable_shapes = shapes;
    p.forward = linear_forward;
    p.user = calls;
    sc_model *m;
    sc_error err;
    if (sc_model_create_custom(&p, &m, &err) != SC_OK) fail_msg("%s", err.message);
    return m;
}

static void write_ckpt(const char *prefix, const char *root) {
    sc_bundle_writer *w;
    sc_error err;
    char k0[128], k1[128];
    snprintf(k0, sizeof k0, "%slinear/kernel/.ATTRIBUTES/VARIABLE_VALUE", root);
    snprintf(k1, sizeof k1, "%slinear/bias/.ATTRIBUTES/VARIABLE_VALUE", root);
    const int64_t s0[2] = {IN, OUT}, s1[1] = {OUT};
    int64_t step = 7;
    assert_int_equal(sc_bundle_writer_create(prefix, NULL, &w, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_add(w, k0, SC_DT_FLOAT, 2, s0, W, sizeof W, 0, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_add(w, k1, SC_DT_FLOAT, 1, s1, B, sizeof B, 0, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_add(w, "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE",
                                          SC_DT_INT64, 0, NULL, &step, 8, 0, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
}

static void test_bind_and_run(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp();
    const char *roots[2] = {"model/", ""};
    for (int r = 0; r < 2; r++) {
        int calls = 0;
        sc_model *m = make(&calls);
        char *prefix = ckf_join(dir, r ? "plain-1" : "mgr-1");
        write_ckpt(prefix, roots[r]);
        sc_bundle *b;
        sc_bind_report rep;
        sc_error err;
        assert_int_equal(sc_bundle_open(prefix, &b, &err), SC_OK);
        if (sc_model_bind_bundle(m, b, &rep, &err) != SC_OK) fail_msg("%s", err.message);
        assert_string_equal(rep.entries[0].key,
                            r ? "linear/kernel/.ATTRIBUTES/VARIABLE_VALUE"
                              : "model/linear/kernel/.ATTRIBUTES/VARIABLE_VALUE");
        assert_int_equal(rep.num_unused, 0);
        sc_bind_report_clear(&rep);
        sc_runner *run;
        assert_int_equal(sc_runner_create(m, 4, &run, &err), SC_OK);
        const float x[2 * IN] = {1, 2, 3, -1, 0.5f, 0};
        const float *in[1] = {x};
        assert_int_equal(sc_runner_run(run, 2, in, &err), SC_OK);
        assert_int_equal(calls, 1);
        const float *y = sc_runner_output(run, 0), *lg = sc_runner_output_logits(run, 0);
        assert_non_null(lg);
        for (int i = 0; i < 2; i++) {
            double z[OUT];
            for (int j = 0; j < OUT; j++) {
                z[j] = B[j];
                for (int k = 0; k < IN; k++) z[j] += (double)x[i * IN + k] * W[k * OUT + j];
                assert_true(fabs(lg[i * OUT + j] - z[j]) < 1e-6);
            }
            double e0 = exp(z[0]), e1 = exp(z[1]);
            assert_true(fabs(y[i * OUT] - e0 / (e0 + e1)) < 1e-6);
        }
        /* A shape mismatch is named like any model's. */
        sc_runner_free(run);
        sc_bundle_free(b);
        sc_model_free(m);
        free(prefix);
    }
    ckf_rmtree(dir);
}

static double g_loss = -1;
static int on_end(void *user, const sc_eval_logs *logs) {
    (void)user;
    for (size_t i = 0; i < logs->num; i++)
        if (!strcmp(logs->names[i], "loss")) g_loss = logs->values[i];
    return 0;
}

static void test_in_evaluator(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp();
    char *ck = ckf_join(dir, "ckpt-1");
    write_ckpt(ck, "model/");
    char *npz = ckf_join(dir, "eval.npz");
    sc_npz_writer *zw;
    sc_error err;
    const float x[4 * IN] = {1, 2, 3, -1, 0.5f, 0, 0, 0, 1, 2, -2, 0.5f};
    const int64_t y[4] = {1, 0, 1, 0};
    const int64_t xs[2] = {4, IN}, ys[1] = {4};
    assert_int_equal(sc_npz_writer_create(npz, 0, &zw, &err), SC_OK);
    assert_int_equal(sc_npz_writer_add(zw, "x", SC_DT_FLOAT, 2, xs, x, sizeof x, &err), SC_OK);
    assert_int_equal(sc_npz_writer_add(zw, "y", SC_DT_INT64, 1, ys, y, sizeof y, &err), SC_OK);
    assert_int_equal(sc_npz_writer_close(zw, &err), SC_OK);
    sc_npz_writer_free(zw);
    int calls = 0;
    sc_model *m = make(&calls);
    sc_dataset_params dp = sc_dataset_default_params();
    dp.path = npz;
    dp.batch_size = 3; /* a full batch and a partial one */
    sc_dataset *ds;
    assert_int_equal(sc_dataset_open(&dp, &ds, &err), SC_OK);
    sc_loss_spec ls = sc_loss_default_spec("sparse_categorical_crossentropy");
    sc_loss *loss;
    assert_int_equal(sc_loss_create(&ls, &loss, &err), SC_OK);
    sc_metric_shapes ms = {2, OUT, 1, 1};
    sc_metric *acc;
    assert_int_equal(sc_metric_from_string("accuracy", &ms, NULL, 2, &acc, &err), SC_OK);
    sc_eval_dataset eds = {.data = ds, .loss = loss, .metrics = &acc, .num_metrics = 1};
    sc_evaluator_params p = sc_evaluator_default_params();
    p.model = m;
    p.checkpoint_dir = dir;
    p.datasets = &eds;
    p.num_datasets = 1;
    p.max_batch = 3;
    p.log = NULL;
    sc_callback cb = {NULL, NULL, NULL, NULL, on_end};
    p.callbacks = &cb;
    p.num_callbacks = 1;
    sc_evaluator *ev;
    assert_int_equal(sc_evaluator_create(&p, &ev, &err), SC_OK);
    if (sc_evaluator_evaluate(ev, ck, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(calls, 2);
    /* Accuracy by hand: logits class 1 wins for rows where x@W+b favours it. */
    int correct = 0;
    double loss_sum = 0;
    for (int i = 0; i < 4; i++) {
        double z[OUT];
        for (int j = 0; j < OUT; j++) {
            z[j] = B[j];
            for (int k = 0; k < IN; k++) z[j] += (double)x[i * IN + k] * W[k * OUT + j];
        }
        correct += (z[1] > z[0]) == (y[i] == 1);
        double mx = fmax(z[0], z[1]);
        loss_sum += -(z[y[i]] - mx - log(exp(z[0] - mx) + exp(z[1] - mx)));
    }
    double a;
    assert_int_equal(sc_metric_result(acc, &a, &err), SC_OK);
    assert_true(fabs(a - correct / 4.0) < 1e-6);
    /* evaluate's loss: batch losses (3 rows, then 1) weighted by batch size = the mean. */
    assert_true(fabs(g_loss - loss_sum / 4.0) < 1e-6);
    sc_evaluator_free(ev);
    sc_metric_free(acc);
    sc_loss_free(loss);
    sc_dataset_free(ds);
    sc_model_free(m);
    free(ck);
    free(npz);
    ckf_rmtree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_and_run),
        cmocka_unit_test(test_in_evaluator),
    };
    return cmocka_run_group_tests_name("custom_model", tests, NULL, NULL);
}
