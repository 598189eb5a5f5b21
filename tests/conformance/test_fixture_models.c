/* Real Keras files load and bind (issue 3): case 10 (Keras 3 model.to_json() + model.weights.h5,
 * Sequential 8-12-8-1), case 11 (a Keras 3.11 .keras archive: config, weights, compile config),
 * case 18 (a subclassed model: refused with a clear message, not misread). Forward passes are
 * checked against a float64 recomputation from the same weights read independently. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "sidecar/keras_weights.h"
#include "sidecar/model.h"
#include "support/ckpt_fixture.h"

static char g_fx[1024];

static int have_fixtures(void) {
    const char *f = ckf_fixtures();
    if (f) snprintf(g_fx, sizeof g_fx, "%s", f);
    return f != NULL;
}

static float *read_all(sc_h5weights *h, const char *key, int64_t *n) {
    const sc_tensor_info *t = sc_h5weights_find(h, key);
    if (!t) fail_msg("%s: no dataset %s", sc_h5weights_path(h), key);
    assert_int_equal(t->dtype, SC_DT_FLOAT);
    float *buf = malloc(t->size);
    assert_int_equal(sc_h5weights_read(h, t, buf, t->size, NULL), SC_OK);
    *n = t->num_elements;
    return buf;
}

/* A dense stack recomputed in float64 from the h5 datasets themselves. */
static void reference_mlp(sc_h5weights *h, const char *const *groups, const char *const *acts,
                          int n, const float *x, int in, double *y) {
    double cur[256], nxt[256];
    for (int i = 0; i < in; i++) cur[i] = x[i];
    int width = in;
    for (int l = 0; l < n; l++) {
        char key[128];
        int64_t nk, nb;
        snprintf(key, sizeof key, "layers/%s/vars/0", groups[l]);
        float *k = read_all(h, key, &nk);
        snprintf(key, sizeof key, "layers/%s/vars/1", groups[l]);
        float *b = read_all(h, key, &nb);
        int out = (int)nb;
        assert_int_equal(nk, (int64_t)width * out);
        for (int j = 0; j < out; j++) {
            double s = b[j];
            for (int i = 0; i < width; i++) s += cur[i] * k[i * out + j];
            nxt[j] = !strcmp(acts[l], "relu") ? (s > 0 ? s : 0) : 1.0 / (1.0 + exp(-s));
        }
        memcpy(cur, nxt, sizeof(double) * (size_t)out);
        width = out;
        free(k);
        free(b);
    }
    for (int i = 0; i < width; i++) y[i] = cur[i];
}

static void check_forward(sc_model *m, sc_h5weights *h, const char *const *groups,
                          const char *const *acts, int n) {
    int in = (int)sc_model_input_shape(m, 0).dims[0];
    float x[4 * 64];
    for (int i = 0; i < 4 * in; i++) x[i] = (float)sin(0.37 * i) * 1.5f;
    sc_runner *r;
    assert_int_equal(sc_runner_create(m, 4, &r, NULL), SC_OK);
    const float *inputs[1] = {x};
    assert_int_equal(sc_runner_run(r, 4, inputs, NULL), SC_OK);
    const float *y = sc_runner_output(r, 0);
    for (int b = 0; b < 4; b++) {
        double want[256];
        reference_mlp(h, groups, acts, n, x + b * in, in, want);
        assert_true(fabs(y[b] - want[0]) <= 1e-5 * fabs(want[0]) + 1e-6);
    }
    sc_runner_free(r);
}

static void test_case10_json_and_weights_h5(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char p[1200];
    sc_model *m;
    sc_h5weights *h;
    sc_bind_report rep;
    sc_error err;
    snprintf(p, sizeof p, "%s/10_shivaspark_keras3_weights_h5_with_json/model.json", g_fx);
    if (sc_model_load_keras(p, &m, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(sc_model_keras_version(m), 3);
    assert_int_equal(sc_model_input_shape(m, 0).dims[0], 8);
    snprintf(p, sizeof p, "%s/10_shivaspark_keras3_weights_h5_with_json/model.weights.h5", g_fx);
    assert_int_equal(sc_h5weights_open(p, &h, &err), SC_OK);
    if (sc_model_bind_h5weights(m, h, &rep, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(rep.num_entries, 6);
    assert_string_equal(rep.entries[5].key, "layers/dense_2/vars/1");
    assert_int_equal(rep.num_unused, 0);
    sc_bind_report_clear(&rep);
    /* MANIFEST: dense/vars/1 starts 0.472743; dense_2/vars/1 = -0.707221 */
    assert_true(fabsf(sc_model_find_variable(m, "dense", "bias")->data[0] - 0.472743f) < 1e-6f);
    const char *groups[3] = {"dense", "dense_1", "dense_2"}, *acts[3] = {"relu", "relu", "sigmoid"};
    check_forward(m, h, groups, acts, 3);
    sc_h5weights_free(h);
    sc_model_free(m);
}

static void test_case11_keras_archive(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char p[1200];
    sc_model *m;
    sc_keras_archive *ar;
    sc_bind_report rep;
    sc_error err;
    snprintf(p, sizeof p, "%s/11_aamaninamdar_keras_zip_and_legacy_h5/my_model.keras", g_fx);
    if (sc_model_load_keras(p, &m, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(sc_model_input_shape(m, 0).dims[0], 12);
    assert_int_equal(sc_keras_archive_open(p, &ar, &err), SC_OK);
    /* Layers are named dense_6..8 in the config, but their weights live at layers/dense... */
    if (sc_model_bind_h5weights(m, sc_keras_archive_weights(ar), &rep, &err) != SC_OK)
        fail_msg("%s", err.message);
    assert_string_equal(rep.entries[0].variable, "dense_6/kernel");
    assert_string_equal(rep.entries[0].key, "layers/dense/vars/0");
    assert_int_equal(rep.num_unused, 0);
    sc_bind_report_clear(&rep);
    const char *groups[3] = {"dense", "dense_1", "dense_2"}, *acts[3] = {"relu", "relu", "sigmoid"};
    check_forward(m, sc_keras_archive_weights(ar), groups, acts, 3);
    sc_keras_archive_free(ar);
    sc_model_free(m);
}

static void test_case18_subclassed_refused(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char p[1200];
    sc_model *m = NULL;
    sc_error err;
    snprintf(p, sizeof p,
             "%s/18_keras3_testdata_nested_container_keras/pre_pr22362_nested_container.keras",
             g_fx);
    assert_int_equal(sc_model_load_keras(p, &m, &err), SC_UNIMPLEMENTED);
    assert_null(m);
    assert_non_null(strstr(err.message, "NestedDenseModel"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case10_json_and_weights_h5),
        cmocka_unit_test(test_case11_keras_archive),
        cmocka_unit_test(test_case18_subclassed_refused),
    };
    return cmocka_run_group_tests_name("fixture_models", tests, NULL, NULL);
}
