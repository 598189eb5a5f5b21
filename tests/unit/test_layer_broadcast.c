/* Element-wise merges that broadcast (Keras 2 _Merge: lower-rank inputs get 1s after the batch
 * axis, then NumPy broadcasting) and Rescaling with per-channel scale/offset lists, against
 * values computed here element by element. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/model.h"

/* A Keras 2 Functional with inputs a, b of the given shapes (JSON lists after the batch) and
 * one layer `cls` with `config` on [a, b] (or [a] when b is NULL). */
static sc_status load(const char *cls, const char *config, const char *a, const char *b,
                      sc_model **m, sc_error *err) {
    char json[4096];
    snprintf(json, sizeof json,
             "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, %s], "
             "\"name\": \"a\"}, \"name\": \"a\", \"inbound_nodes\": []},"
             "%s%s%s"
             "{\"class_name\": \"%s\", \"config\": {\"name\": \"op\"%s}, \"name\": \"op\", "
             "\"inbound_nodes\": [[[\"a\", 0, 0, {}]%s]]}],"
             "\"input_layers\": [[\"a\", 0, 0]%s], \"output_layers\": [[\"op\", 0, 0]]}}",
             a, b ? "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, "
                  : "",
             b ? b : "", b ? "], \"name\": \"b\"}, \"name\": \"b\", \"inbound_nodes\": []}," : "",
             cls, config, b ? ", [\"b\", 0, 0, {}]" : "", b ? ", [\"b\", 0, 0]" : "");
    return sc_model_load_keras_json(json, strlen(json), "bc.json", m, err);
}

static float fill(int k, size_t i) { return (float)(k ? 0.5 + 0.25 * (double)i : 1.0 + (double)i); }

/* Runs the model on a batch of 2 and checks out[b][i] = f(a[b][ia(i)], b[b][ib(i)]). */
static void check(const char *cls, const char *a, const char *b, size_t na, size_t nb, size_t no,
                  const int64_t *oshape, int orank, size_t (*ia)(size_t), size_t (*ib)(size_t),
                  double (*f)(double, double)) {
    sc_model *m;
    sc_error err;
    if (load(cls, "", a, b, &m, &err) != SC_OK) fail_msg("%s", err.message);
    sc_shape os = sc_model_output_shape(m, 0);
    assert_int_equal(os.rank, orank);
    for (int d = 0; d < orank; d++) assert_int_equal(os.dims[d], oshape[d]);
    float *xa = malloc(2 * na * sizeof(float)), *xb = malloc(2 * nb * sizeof(float));
    assert_true(xa && xb);
    for (size_t i = 0; i < 2 * na; i++) xa[i] = fill(0, i);
    for (size_t i = 0; i < 2 * nb; i++) xb[i] = fill(1, i);
    sc_runner *r;
    assert_int_equal(sc_runner_create(m, 2, &r, &err), SC_OK);
    const float *in[2] = {xa, xb};
    assert_int_equal(sc_runner_run(r, 2, in, &err), SC_OK);
    const float *y = sc_runner_output(r, 0);
    for (size_t bt = 0; bt < 2; bt++)
        for (size_t i = 0; i < no; i++) {
            double want = f(xa[bt * na + ia(i)], xb[bt * nb + ib(i)]);
            if (fabs(y[bt * no + i] - want) > 1e-6 * fmax(1, fabs(want)))
                fail_msg("%s %s,%s: out[%zu][%zu] = %g, want %g", cls, a, b, bt, i,
                         y[bt * no + i], want);
        }
    sc_runner_free(r);
    sc_model_free(m);
    free(xa);
    free(xb);
}

static double mul(double x, double y) { return x * y; }
static double add(double x, double y) { return x + y; }
static double sub(double x, double y) { return x - y; }
static double avg(double x, double y) { return (x + y) / 2; }
static double mx(double x, double y) { return x > y ? x : y; }

/* [2,3,4] * [1,1,4] (squeeze-excite): out (h,w,c) takes a[h,w,c] and b[c]. */
static size_t se_a(size_t i) { return i; }
static size_t se_b(size_t i) { return i % 4; }
/* [3,4] + [4] (rank 1 gets a 1 after the batch: [1,4]). */
static size_t rk_b(size_t i) { return i % 4; }
/* [2,1] - [1,3] -> [2,3]: a[h], b[w]. */
static size_t two_a(size_t i) { return i / 3; }
static size_t two_b(size_t i) { return i % 3; }

static void test_merges_broadcast(void **state) {
    (void)state;
    const int64_t s234[3] = {2, 3, 4}, s34[2] = {3, 4}, s23[2] = {2, 3};
    check("Multiply", "2, 3, 4", "1, 1, 4", 24, 4, 24, s234, 3, se_a, se_b, mul);
    check("Add", "3, 4", "4", 12, 4, 12, s34, 2, se_a, rk_b, add);
    check("Subtract", "2, 1", "1, 3", 2, 3, 6, s23, 2, two_a, two_b, sub);
    check("Average", "2, 3, 4", "1, 1, 4", 24, 4, 24, s234, 3, se_a, se_b, avg);
    check("Maximum", "2, 3, 4", "1, 1, 4", 24, 4, 24, s234, 3, se_a, se_b, mx);
    sc_model *m = NULL;
    sc_error err;
    assert_int_equal(load("Add", "", "3", "4", &m, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "do not broadcast"));
    assert_non_null(strstr(err.message, "'op'"));
}

static void test_rescaling_lists(void **state) {
    (void)state;
    sc_model *m;
    sc_error err;
    if (load("Rescaling", ", \"scale\": [2.0, -1.0, 0.5], \"offset\": 0.25", "2, 2, 3", NULL, &m,
             &err)
        != SC_OK)
        fail_msg("%s", err.message);
    float x[2 * 12];
    for (int i = 0; i < 24; i++) x[i] = (float)i - 7.5f;
    sc_runner *r;
    assert_int_equal(sc_runner_create(m, 2, &r, &err), SC_OK);
    const float *in[1] = {x};
    assert_int_equal(sc_runner_run(r, 2, in, &err), SC_OK);
    const float *y = sc_runner_output(r, 0);
    static const double sc[3] = {2.0, -1.0, 0.5};
    for (int i = 0; i < 24; i++) assert_true(fabs(y[i] - (x[i] * sc[i % 3] + 0.25)) < 1e-6);
    sc_runner_free(r);
    sc_model_free(m);
    /* A list that matches neither 1 nor the channel count. */
    assert_int_equal(load("Rescaling", ", \"scale\": [1.0, 2.0], \"offset\": [0.0, 1.0, 2.0]",
                          "2, 2, 3", NULL, &m, &err),
                     SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "2 scales and 3 offsets"));
    assert_int_equal(load("Rescaling", ", \"scale\": [[1.0]]", "3", NULL, &m, &err),
                     SC_UNIMPLEMENTED);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_merges_broadcast),
                                       cmocka_unit_test(test_rescaling_lists)};
    return cmocka_run_group_tests_name("layer_broadcast", tests, NULL, NULL);
}
