/* Inputs with free dimensions (batch_input_shape [null, null], text and sequence models): the
 * model reports them as -1, takes the data's sizes through sc_model_set_input_shapes, the
 * runner re-plans for the new shapes, and outputs equal the same network computed here at every
 * length. A shape that does not fit names the input layer. */
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

/* Allocation counter (test_free_dims.cmake wraps the allocator at link time). */
static size_t g_allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t k);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n) {
    g_allocs++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t k) {
    g_allocs++;
    return __real_calloc(n, k);
}
void *__wrap_realloc(void *p, size_t n) {
    g_allocs++;
    return __real_realloc(p, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n) {
    g_allocs++;
    return __real_aligned_alloc(a, n);
}

/* tokens [null] -> Embedding(6, 2) -> Conv1D(3, kernel 2, relu) -> GlobalMaxPooling1D ->
 * Dense(2, softmax) */
static const char *k_text =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"text\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, null], "
    "\"dtype\": \"int32\", \"name\": \"tokens\"}},"
    "{\"class_name\": \"Embedding\", \"config\": {\"name\": \"emb\", \"input_dim\": 6, "
    "\"output_dim\": 2}},"
    "{\"class_name\": \"Conv1D\", \"config\": {\"name\": \"conv\", \"filters\": 3, "
    "\"kernel_size\": [2], "
    "\"strides\": [1], \"padding\": \"valid\", \"dilation_rate\": [1], \"activation\": \"relu\"}},"
    "{\"class_name\": \"GlobalMaxPooling1D\", \"config\": {\"name\": \"pool\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 2, \"activation\": "
    "\"softmax\"}}"
    "]}, \"keras_version\": \"2.15.0\"}";

static void fill(sc_model *m) {
    for (size_t i = 0; i < sc_model_num_variables(m); i++) {
        sc_variable *v = sc_model_variable(m, i);
        for (int64_t k = 0; k < v->num_elements; k++)
            v->data[k] = (float)(((int64_t)i * 7 + k * 5) % 11 - 5) / 8.0f;
    }
}

/* The same network in double. */
static void reference(sc_model *m, const float *tok, int T, double out[2]) {
    const float *E = sc_model_find_variable(m, "emb", "embeddings")->data; /* [6, 2] */
    const float *K = sc_model_find_variable(m, "conv", "kernel")->data;    /* [2, 2, 3] */
    const float *cb = sc_model_find_variable(m, "conv", "bias")->data;
    const float *D = sc_model_find_variable(m, "out", "kernel")->data; /* [3, 2] */
    const float *db = sc_model_find_variable(m, "out", "bias")->data;
    double pool[3] = {-1e300, -1e300, -1e300};
    for (int t = 0; t + 1 < T; t++)
        for (int f = 0; f < 3; f++) {
            double s = cb[f];
            for (int k = 0; k < 2; k++)
                for (int c = 0; c < 2; c++)
                    s += (double)E[(int)tok[t + k] * 2 + c] * K[(k * 2 + c) * 3 + f];
            s = s > 0 ? s : 0;
            if (s > pool[f]) pool[f] = s;
        }
    double z[2];
    for (int j = 0; j < 2; j++) {
        z[j] = db[j];
        for (int f = 0; f < 3; f++) z[j] += pool[f] * D[f * 2 + j];
    }
    double mx = z[0] > z[1] ? z[0] : z[1], e0 = exp(z[0] - mx), e1 = exp(z[1] - mx);
    out[0] = e0 / (e0 + e1);
    out[1] = e1 / (e0 + e1);
}

static void run_at(sc_model *m, sc_runner *r, int T) {
    float tok[2 * 16];
    for (int i = 0; i < 2 * T; i++) tok[i] = (float)((i * 3 + T) % 6);
    sc_shape s = {1, {T}};
    sc_error err;
    if (sc_model_set_input_shapes(m, &s, &err) != SC_OK) fail_msg("%s", err.message);
    sc_shape o = sc_model_output_shape(m, 0);
    assert_int_equal(o.rank, 1);
    assert_int_equal(o.dims[0], 2);
    const float *in[1] = {tok};
    if (sc_runner_run(r, 2, in, &err) != SC_OK) fail_msg("%s", err.message);
    const float *y = sc_runner_output(r, 0);
    for (int e = 0; e < 2; e++) {
        double ref[2];
        reference(m, tok + e * T, T, ref);
        for (int j = 0; j < 2; j++) assert_true(fabs(y[e * 2 + j] - ref[j]) < 1e-6);
    }
}

static void test_sequence_lengths(void **state) {
    (void)state;
    sc_model *m;
    sc_error err;
    if (sc_model_load_keras_json(k_text, strlen(k_text), "text.json", &m, &err) != SC_OK)
        fail_msg("%s", err.message);
    assert_true(sc_model_has_free_dims(m));
    sc_shape in = sc_model_input_shape(m, 0);
    assert_int_equal(in.rank, 1);
    assert_int_equal(in.dims[0], -1);
    assert_int_equal(sc_model_find_variable(m, "conv", "kernel")->shape.dims[1], 2);
    fill(m);
    sc_shape s5 = {1, {5}};
    assert_int_equal(sc_model_set_input_shapes(m, &s5, &err), SC_OK);
    sc_runner *r;
    assert_int_equal(sc_runner_create(m, 2, &r, &err), SC_OK);
    size_t a5 = sc_runner_arena_bytes(r);
    run_at(m, r, 5);
    assert_int_equal(sc_runner_arena_bytes(r), a5);
    /* The same shape again: no re-plan, not one allocation in set_input_shapes or the runs. */
    float tok[10] = {1, 2, 3, 4, 5, 0, 1, 2, 3, 4};
    const float *x5[1] = {tok};
    size_t before = g_allocs;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sc_model_set_input_shapes(m, &s5, &err), SC_OK);
        assert_int_equal(sc_runner_run(r, 2, x5, &err), SC_OK);
    }
    assert_int_equal(g_allocs, before);
    /* A new length allocates (the re-plan grows the arena); the counter sees it. */
    sc_shape s9 = {1, {9}};
    float tok9[18] = {0};
    const float *in9[1] = {tok9};
    assert_int_equal(sc_model_set_input_shapes(m, &s9, &err), SC_OK);
    assert_int_equal(sc_runner_run(r, 2, in9, &err), SC_OK);
    assert_true(g_allocs > before);
    assert_true(sc_runner_arena_bytes(r) > a5);
    before = g_allocs;
    assert_int_equal(sc_runner_run(r, 2, in9, &err), SC_OK);
    assert_int_equal(g_allocs, before);
    run_at(m, r, 12); /* longer: the runner re-plans a bigger arena */
    size_t a12 = sc_runner_arena_bytes(r);
    assert_true(a12 > a5);
    run_at(m, r, 3);
    assert_true(sc_runner_arena_bytes(r) < a12);
    run_at(m, r, 5);
    assert_int_equal(sc_runner_arena_bytes(r), a5);

    /* Too short for the convolution: refused naming the layer, the previous shapes stay. */
    sc_shape s1 = {1, {1}};
    assert_int_not_equal(sc_model_set_input_shapes(m, &s1, &err), SC_OK);
    assert_non_null(strstr(err.message, "conv"));
    run_at(m, r, 5);
    /* Wrong rank: refused naming the input layer. */
    sc_shape bad = {2, {5, 1}};
    assert_int_equal(sc_model_set_input_shapes(m, &bad, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "'tokens'"));
    assert_non_null(strstr(err.message, "(None,)"));
    sc_runner_free(r);
    sc_model_free(m);
}

/* A fixed dim next to a free one must match; the free one takes any size. */
static void test_fixed_and_free(void **state) {
    (void)state;
    const char *json =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"seq\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, null, 3], "
        "\"name\": \"frames\"}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2}},"
        "{\"class_name\": \"GlobalAveragePooling1D\", \"config\": {\"name\": \"g\"}}]}}";
    sc_model *m;
    sc_error err;
    if (sc_model_load_keras_json(json, strlen(json), "seq.json", &m, &err) != SC_OK)
        fail_msg("%s", err.message);
    sc_shape ok = {2, {7, 3}}, bad = {2, {7, 4}};
    assert_int_equal(sc_model_set_input_shapes(m, &ok, &err), SC_OK);
    assert_int_equal(sc_model_set_input_shapes(m, &bad, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "input layer 'frames'"));
    assert_non_null(strstr(err.message, "(None, 3)"));
    assert_non_null(strstr(err.message, "(7, 4)"));
    sc_model_free(m);
    /* A negative size is still refused at load. */
    const char *neg = "{\"class_name\": \"Sequential\", \"config\": {\"layers\": ["
                      "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, "
                      "-2], \"name\": \"i\"}},"
                      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2}}]}}";
    assert_int_not_equal(sc_model_load_keras_json(neg, strlen(neg), "neg.json", &m, &err), SC_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_lengths),
        cmocka_unit_test(test_fixed_and_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
