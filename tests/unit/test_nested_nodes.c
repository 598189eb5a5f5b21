/* Nested models as Keras' to_json() numbers their calls (functional.py get_config: node
 * reindexing, _should_skip_first_node): a nested Functional model built on an Input owns node 0
 * (its own construction), so the outer model calls it as node 1, 2, ...; Keras 2's Sequential is
 * a Functional and does the same when built with an input shape; Keras 3's Sequential is not and
 * its first call is node 0. Outputs are checked against the same network computed here. */
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

#define Q "\""
/* inner: Input(4) -> Dense "d"(3, relu), a Keras 2 Functional as to_json() writes it. */
#define INNER_K2                                                                                   \
    "{" Q "class_name" Q ": " Q "Functional" Q ", " Q "name" Q ": " Q "inner" Q ", " Q "config" Q  \
    ": {" Q "name" Q ": " Q "inner" Q ", " Q "layers" Q ": ["                                      \
    "{" Q "class_name" Q ": " Q "InputLayer" Q ", " Q "config" Q ": {" Q "batch_input_shape" Q     \
    ": [null, 4], " Q "name" Q ": " Q "ii" Q "}, " Q "name" Q ": " Q "ii" Q ", " Q                 \
    "inbound_nodes" Q ": []},"                                                                     \
    "{" Q "class_name" Q ": " Q "Dense" Q ", " Q "config" Q ": {" Q "name" Q ": " Q "d" Q ", " Q   \
    "units" Q ": 3, " Q "activation" Q ": " Q "relu" Q "}, " Q "name" Q ": " Q "d" Q ", " Q        \
    "inbound_nodes" Q ": [[[" Q "ii" Q ", 0, 0, {}]]]}]," Q "input_layers" Q ": [[" Q "ii" Q       \
    ", 0, 0]], " Q "output_layers" Q ": [[" Q "d" Q ", 0, 0]]}, "

static const float W[12] = {0.5f, -1, 0.25f, 1, 0.5f, -0.5f, -0.25f, 2, 1, 0.75f, -1, 0.5f};
static const float B[3] = {0.1f, -0.2f, 0.3f};

static void set_inner(sc_model *m) {
    sc_variable *k = sc_model_find_variable(m, "d", "kernel"),
                *b = sc_model_find_variable(m, "d", "bias");
    assert_non_null(k);
    assert_non_null(b);
    memcpy(k->data, W, sizeof W);
    memcpy(b->data, B, sizeof B);
}

/* relu(x W + B) */
static void inner_ref(const float *x, double *out) {
    for (int j = 0; j < 3; j++) {
        double s = B[j];
        for (int i = 0; i < 4; i++) s += (double)x[i] * W[i * 3 + j];
        out[j] = s > 0 ? s : 0;
    }
}

static sc_model *load(const char *json) {
    sc_model *m = NULL;
    sc_error err;
    if (sc_model_load_keras_json(json, strlen(json), "nested.json", &m, &err) != SC_OK)
        fail_msg("%s", err.message);
    return m;
}

static const float *run(sc_model *m, sc_runner **r, const float *const *inputs) {
    sc_error err;
    if (sc_runner_create(m, 2, r, &err) != SC_OK) fail_msg("%s", err.message);
    if (sc_runner_run(*r, 2, inputs, &err) != SC_OK) fail_msg("%s", err.message);
    return sc_runner_output(*r, 0);
}

static const float X[8] = {1, 2, 3, 4, -1, 0.5f, 2, -3};
static const float Y[8] = {0, 1, -2, 1, 3, -1, 0.5f, 0.25f};

/* A sub-model called once: ["inner", 1, 0]. */
static void test_called_once(void **state) {
    (void)state;
    const char *json =
        "{" Q "class_name" Q ": " Q "Functional" Q ", " Q "config" Q ": {" Q "name" Q ": " Q
        "outer" Q ", " Q "layers" Q ": ["
        "{" Q "class_name" Q ": " Q "InputLayer" Q ", " Q "config" Q ": {" Q "batch_input_shape" Q
        ": [null, 4], " Q "name" Q ": " Q "a" Q "}, " Q "name" Q ": " Q "a" Q ", " Q
        "inbound_nodes" Q ": []}," INNER_K2 Q "inbound_nodes" Q ": [[[" Q "a" Q ", 0, 0, {}]]]}"
        "], " Q "input_layers" Q ": [[" Q "a" Q ", 0, 0]], " Q "output_layers" Q ": [[" Q "inner" Q
        ", 1, 0]]}, " Q "keras_version" Q ": " Q "2.15.0" Q ", " Q "backend" Q ": " Q "tensorflow" Q
        "}";
    sc_model *m = load(json);
    set_inner(m);
    sc_runner *r;
    const float *in[1] = {X};
    const float *out = run(m, &r, in);
    for (int e = 0; e < 2; e++) {
        double ref[3];
        inner_ref(X + 4 * e, ref);
        for (int j = 0; j < 3; j++) assert_true(fabs(out[e * 3 + j] - ref[j]) < 1e-6);
    }
    sc_runner_free(r);
    sc_model_free(m);
    /* Node 0 is the nested model's construction, never a call in the outer model. */
    char *bad = strdup(json);
    char *p = strstr(bad, "[[\"inner\", 1, 0]]");
    assert_non_null(p);
    p[11] = '0';
    sc_model *m2 = NULL;
    sc_error err;
    assert_int_not_equal(sc_model_load_keras_json(bad, strlen(bad), "bad.json", &m2, &err), SC_OK);
    assert_null(m2);
    free(bad);
}

/* A shared sub-model called twice: nodes 1 and 2, summed by an Add. */
static void test_called_twice(void **state) {
    (void)state;
    const char *json =
        "{" Q "class_name" Q ": " Q "Functional" Q ", " Q "config" Q ": {" Q "name" Q ": " Q
        "outer" Q ", " Q "layers" Q ": ["
        "{" Q "class_name" Q ": " Q "InputLayer" Q ", " Q "config" Q ": {" Q "batch_input_shape" Q
        ": [null, 4], " Q "name" Q ": " Q "a" Q "}, " Q "name" Q ": " Q "a" Q ", " Q
        "inbound_nodes" Q ": []},"
        "{" Q "class_name" Q ": " Q "InputLayer" Q ", " Q "config" Q ": {" Q "batch_input_shape" Q
        ": [null, 4], " Q "name" Q ": " Q "b" Q "}, " Q "name" Q ": " Q "b" Q ", " Q
        "inbound_nodes" Q ": []}," INNER_K2 Q "inbound_nodes" Q ": [[[" Q "a" Q ", 0, 0, {}]], [[" Q
        "b" Q ", 0, 0, {}]]]},"
        "{" Q "class_name" Q ": " Q "Add" Q ", " Q "config" Q ": {" Q "name" Q ": " Q "add" Q
        "}, " Q "name" Q ": " Q "add" Q ", " Q "inbound_nodes" Q ": [[[" Q "inner" Q
        ", 1, 0, {}], [" Q "inner" Q ", 2, 0, {}]]]}"
        "], " Q "input_layers" Q ": [[" Q "a" Q ", 0, 0], [" Q "b" Q ", 0, 0]], " Q
        "output_layers" Q ": [[" Q "add" Q ", 0, 0]]}, " Q "keras_version" Q ": " Q "2.15.0" Q "}";
    sc_model *m = load(json);
    assert_int_equal(sc_model_num_inputs(m), 2);
    assert_int_equal(sc_model_num_variables(m), 2); /* shared: one set of weights */
    set_inner(m);
    sc_runner *r;
    const float *in[2] = {X, Y};
    const float *out = run(m, &r, in);
    for (int e = 0; e < 2; e++) {
        double ra[3], rb[3];
        inner_ref(X + 4 * e, ra);
        inner_ref(Y + 4 * e, rb);
        for (int j = 0; j < 3; j++) assert_true(fabs(out[e * 3 + j] - (ra[j] + rb[j])) < 1e-6);
    }
    sc_runner_free(r);
    sc_model_free(m);
}

/* Keras 3: a nested Sequential is not a Functional, its first call is node 0. */
static void test_keras3_sequential_node0(void **state) {
    (void)state;
    const char *json =
        "{" Q "module" Q ": " Q "keras" Q ", " Q "class_name" Q ": " Q "Functional" Q ", " Q
        "config" Q ": {" Q "name" Q ": " Q "outer" Q ", " Q "layers" Q ": ["
        "{" Q "module" Q ": " Q "keras.layers" Q ", " Q "class_name" Q ": " Q "InputLayer" Q ", " Q
        "config" Q ": {" Q "batch_shape" Q ": [null, 4], " Q "name" Q ": " Q "a" Q "}, " Q "name" Q
        ": " Q "a" Q ", " Q "inbound_nodes" Q ": []},"
        "{" Q "module" Q ": " Q "keras" Q ", " Q "class_name" Q ": " Q "Sequential" Q ", " Q
        "config" Q ": {" Q "name" Q ": " Q "seq" Q ", " Q "layers" Q ": ["
        "{" Q "module" Q ": " Q "keras.layers" Q ", " Q "class_name" Q ": " Q "InputLayer" Q ", " Q
        "config" Q ": {" Q "batch_shape" Q ": [null, 4], " Q "name" Q ": " Q "si" Q "}},"
        "{" Q "module" Q ": " Q "keras.layers" Q ", " Q "class_name" Q ": " Q "Dense" Q ", " Q
        "config" Q ": {" Q "name" Q ": " Q "d" Q ", " Q "units" Q ": 3, " Q "activation" Q ": " Q
        "relu" Q "}}]}, " Q "name" Q ": " Q "seq" Q ", " Q "inbound_nodes" Q ": [{" Q "args" Q
        ": [{" Q "class_name" Q ": " Q "__keras_tensor__" Q ", " Q "config" Q ": {" Q "shape" Q
        ": [null, 4], " Q "dtype" Q ": " Q "float32" Q ", " Q "keras_history" Q ": [" Q "a" Q
        ", 0, 0]}}], " Q "kwargs" Q ": {}}]}"
        "], " Q "input_layers" Q ": [[" Q "a" Q ", 0, 0]], " Q "output_layers" Q ": [[" Q "seq" Q
        ", 0, 0]]}}";
    sc_model *m = load(json);
    set_inner(m);
    sc_runner *r;
    const float *in[1] = {X};
    const float *out = run(m, &r, in);
    double ref[3];
    inner_ref(X, ref);
    for (int j = 0; j < 3; j++) assert_true(fabs(out[j] - ref[j]) < 1e-6);
    sc_runner_free(r);
    sc_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_called_once),
        cmocka_unit_test(test_called_twice),
        cmocka_unit_test(test_keras3_sequential_node0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
