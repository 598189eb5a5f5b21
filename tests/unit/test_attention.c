/* tests/unit/test_attention.c — MultiHeadAttention and EinsumDense beyond the goldens
 * (tests/golden/data_mha): what is refused by name, the weight keys of the other writers
 * (Keras 2 legacy HDF5, Keras 3 .weights.h5 without the query_dense properties, Keras 3 TF
 * checkpoints), and the vectorized attention softmax against libm. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sidecar/checkpoint.h"
#include "sidecar/keras_weights.h"
#include "sidecar/model.h"
#include "tensor/softmax.h"

/* A Keras 2 Functional model: query [3, 4] (and a second input [5, 6] as value when cross),
 * one MultiHeadAttention(2 heads, key_dim 2) called with `kwargs` as its call arguments. */
static sc_status load_mha(const char *cfg_extra, const char *kwargs_extra, sc_model **m,
                          sc_error *err) {
    char json[4096];
    snprintf(json, sizeof json,
             "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"name\": \"q\", \"config\": {\"name\": \"q\", "
             "\"batch_input_shape\": [null, 3, 4]}, \"inbound_nodes\": []},"
             "{\"class_name\": \"MultiHeadAttention\", \"name\": \"mha\", \"config\": "
             "{\"name\": \"mha\", \"num_heads\": 2, \"key_dim\": 2%s}, \"inbound_nodes\": "
             "[[[\"q\", 0, 0, {\"value\": [\"q\", 0, 0]%s}]]]}],"
             "\"input_layers\": [[\"q\", 0, 0]], \"output_layers\": [[\"mha\", 0, 0]]}}",
             cfg_extra, kwargs_extra);
    return sc_model_load_keras_json(json, strlen(json), "mha.json", m, err);
}

static void expect_refused(const char *cfg_extra, const char *kwargs_extra, const char *needle) {
    sc_model *m = NULL;
    sc_error err;
    sc_status s = load_mha(cfg_extra, kwargs_extra, &m, &err);
    if (s != SC_UNIMPLEMENTED) fail_msg("status %d for %s%s", s, cfg_extra, kwargs_extra);
    if (!strstr(err.message, needle)) fail_msg("'%s' not in: %s", needle, err.message);
    assert_null(m);
}

static void test_mha_refusals(void **state) {
    (void)state;
    expect_refused("", ", \"return_attention_scores\": true", "return_attention_scores");
    expect_refused("", ", \"attention_mask\": [\"q\", 0, 0]", "attention_mask");
    expect_refused(", \"attention_axes\": [2]", "", "attention_axes");
    /* the default written out, and use_causal_mask, are accepted */
    sc_model *m = NULL;
    sc_error err;
    assert_int_equal(load_mha(", \"attention_axes\": [1]", ", \"use_causal_mask\": true", &m, &err),
                     SC_OK);
    /* q, k, v kernels [4, 2, 2] and biases [2, 2]; output kernel [2, 2, 4], bias [4] */
    assert_int_equal(sc_model_num_variables(m), 8);
    sc_variable *ok = sc_model_find_variable(m, "mha", "_output_dense/kernel");
    assert_non_null(ok);
    assert_int_equal(ok->shape.rank, 3);
    assert_int_equal(ok->shape.dims[2], 4);
    assert_string_equal(ok->h5_sub, "output_dense");
    sc_model_free(m);
}

/* A call without a value (a Keras 3 node with only the query in args) is self-attention: the
 * same numbers as value = query, for the same weights. */
static void test_mha_value_defaults_to_query(void **state) {
    (void)state;
    static const char k3[] =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"name\": \"q\", \"config\": {\"name\": \"q\", "
        "\"batch_shape\": [null, 3, 4]}, \"inbound_nodes\": []},"
        "{\"class_name\": \"MultiHeadAttention\", \"name\": \"mha\", \"config\": "
        "{\"name\": \"mha\", \"num_heads\": 2, \"key_dim\": 2}, \"inbound_nodes\": "
        "[{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": "
        "[null, 3, 4], \"keras_history\": [\"q\", 0, 0]}}], \"kwargs\": {}}]}],"
        "\"input_layers\": [[\"q\", 0, 0]], \"output_layers\": [[\"mha\", 0, 0]]}}";
    sc_model *one = NULL, *two = NULL;
    sc_error err;
    if (sc_model_load_keras_json(k3, strlen(k3), "k3.json", &one, &err) != SC_OK)
        fail_msg("%s", err.message);
    assert_int_equal(load_mha("", "", &two, &err), SC_OK);
    assert_int_equal(sc_model_num_variables(one), sc_model_num_variables(two));
    uint32_t seed = 7;
    for (size_t i = 0; i < sc_model_num_variables(one); i++) {
        sc_variable *a = sc_model_variable(one, i), *b = sc_model_variable(two, i);
        assert_int_equal(a->num_elements, b->num_elements);
        for (int64_t k = 0; k < a->num_elements; k++) {
            seed = seed * 1664525u + 1013904223u;
            a->data[k] = b->data[k] = (float)(seed >> 8) / 16777216.0f - 0.5f;
        }
    }
    float x[2 * 3 * 4];
    for (size_t k = 0; k < sizeof x / sizeof x[0]; k++) x[k] = (float)k / 7.0f - 1.5f;
    const float *in[1] = {x};
    sc_runner *r1, *r2;
    assert_int_equal(sc_runner_create(one, 2, &r1, &err), SC_OK);
    assert_int_equal(sc_runner_create(two, 2, &r2, &err), SC_OK);
    assert_int_equal(sc_runner_run(r1, 2, in, &err), SC_OK);
    assert_int_equal(sc_runner_run(r2, 2, in, &err), SC_OK);
    const float *y1 = sc_runner_output(r1, 0), *y2 = sc_runner_output(r2, 0);
    int nonzero = 0;
    for (int k = 0; k < 2 * 3 * 4; k++) {
        assert_true(y1[k] == y2[k]);
        nonzero |= y1[k] != 0.0f;
    }
    assert_true(nonzero);
    sc_runner_free(r1);
    sc_runner_free(r2);
    sc_model_free(one);
    sc_model_free(two);
}

static void test_einsum_refusals(void **state) {
    (void)state;
    static const char *const bad[] = {"ab,bc->ca", "abc,bcd->abd", "abc,cd->ad", "ab...,bc->ac..."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[2048];
        snprintf(json, sizeof json,
                 "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
                 "{\"class_name\": \"EinsumDense\", \"config\": {\"name\": \"e\", "
                 "\"equation\": \"%s\", \"output_shape\": [4], \"batch_input_shape\": "
                 "[null, 3, 5]}}]}}",
                 bad[i]);
        sc_model *m = NULL;
        sc_error err;
        sc_status s = sc_model_load_keras_json(json, strlen(json), "e.json", &m, &err);
        if (s == SC_OK) fail_msg("%s accepted", bad[i]);
        assert_non_null(strstr(err.message, bad[i]));
        assert_null(m);
    }
}

/* Binds the MHA model from an .h5 written with the given key for every variable (the variable
 * number i goes in as value i + 1), through the legacy (Keras 2) or Keras 3 reader. */
static void bind_h5(const char *const *keys, int legacy) {
    sc_model *m = NULL;
    sc_error err;
    assert_int_equal(load_mha("", "", &m, &err), SC_OK);
    size_t n = sc_model_num_variables(m);
    sc_h5weights_entry e[8];
    float *bufs[8];
    for (size_t i = 0; i < n; i++) {
        const sc_variable *v = sc_model_variable(m, i);
        bufs[i] = malloc((size_t)v->num_elements * sizeof(float));
        for (int64_t k = 0; k < v->num_elements; k++) bufs[i][k] = (float)(i + 1);
        e[i] = (sc_h5weights_entry){keys[i],       SC_DT_FLOAT,
                                    v->shape.rank, v->shape.dims,
                                    bufs[i],       (size_t)v->num_elements * sizeof(float)};
    }
    char path[] = "/tmp/sc_attn_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sc_h5weights_write(path, e, n, NULL, 0, &err), SC_OK);
    sc_h5weights *h;
    assert_int_equal(sc_h5weights_open(path, &h, &err), SC_OK);
    sc_bind_report rep;
    sc_status s = legacy ? sc_model_bind_h5legacy(m, h, &rep, &err)
                         : sc_model_bind_h5weights(m, h, &rep, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(rep.num_unused, 0);
    for (size_t i = 0; i < n; i++) assert_true(sc_model_variable(m, i)->data[0] == (float)(i + 1));
    sc_bind_report_clear(&rep);
    sc_h5weights_free(h);
    unlink(path);
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    sc_model_free(m);
}

static void test_mha_keys_h5(void **state) {
    (void)state;
    /* tf.keras 2.15 save_weights("w.h5"): <layer>/<weight.name>, sublayers named query, key,
     * value and attention_output inside the layer's name scope */
    static const char *const legacy[] = {"mha/mha/query/kernel:0",
                                         "mha/mha/query/bias:0",
                                         "mha/mha/key/kernel:0",
                                         "mha/mha/key/bias:0",
                                         "mha/mha/value/kernel:0",
                                         "mha/mha/value/bias:0",
                                         "mha/mha/attention_output/kernel:0",
                                         "mha/mha/attention_output/bias:0"};
    bind_h5(legacy, 1);
    /* Keras 3 .weights.h5 from a version without the query_dense properties: the private
     * attribute names */
    static const char *const k3[] = {"layers/multi_head_attention/_query_dense/vars/0",
                                     "layers/multi_head_attention/_query_dense/vars/1",
                                     "layers/multi_head_attention/_key_dense/vars/0",
                                     "layers/multi_head_attention/_key_dense/vars/1",
                                     "layers/multi_head_attention/_value_dense/vars/0",
                                     "layers/multi_head_attention/_value_dense/vars/1",
                                     "layers/multi_head_attention/_output_dense/vars/0",
                                     "layers/multi_head_attention/_output_dense/vars/1"};
    bind_h5(k3, 0);
}

/* Keras 3 with the TF backend: `_operations/<n>/<attribute path>`, EinsumDense's kernel as
 * `_kernel` (FORMATS §3.4/§3.6). */
static void test_mha_keys_keras3_ckpt(void **state) {
    (void)state;
    sc_model *m = NULL;
    sc_error err;
    assert_int_equal(load_mha("", "", &m, &err), SC_OK);
    char prefix[] = "/tmp/sc_attn_ckpt_XXXXXX";
    assert_non_null(mkdtemp(prefix));
    char p[128];
    snprintf(p, sizeof p, "%s/ckpt", prefix);
    sc_bundle_writer *w;
    assert_int_equal(sc_bundle_writer_create(p, NULL, &w, &err), SC_OK);
    static const char *const subs[] = {"_query_dense", "_key_dense", "_value_dense",
                                       "_output_dense"};
    float buf[64];
    for (size_t i = 0; i < sc_model_num_variables(m); i++) {
        const sc_variable *v = sc_model_variable(m, i);
        char key[200];
        snprintf(key, sizeof key, "_operations/1/%s/%s/.ATTRIBUTES/VARIABLE_VALUE", subs[i / 2],
                 i % 2 ? "bias" : "_kernel");
        for (int k = 0; k < 64; k++) buf[k] = (float)(10 + i);
        assert_int_equal(sc_bundle_writer_add(w, key, SC_DT_FLOAT, v->shape.rank, v->shape.dims,
                                              buf, (size_t)v->num_elements * sizeof(float), 0,
                                              &err),
                         SC_OK);
    }
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
    sc_bundle *b;
    assert_int_equal(sc_bundle_open(p, &b, &err), SC_OK);
    sc_bind_report rep;
    if (sc_model_bind_bundle(m, b, &rep, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(rep.num_unused, 0);
    for (size_t i = 0; i < sc_model_num_variables(m); i++)
        assert_true(sc_model_variable(m, i)->data[0] == (float)(10 + i));
    sc_bind_report_clear(&rep);
    sc_bundle_free(b);
    sc_model_free(m);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", prefix);
    assert_int_equal(system(cmd), 0);
}

/* Rows of 1 to 40 columns (the 16-lane path, its tail, and both), scores spread over [-30, 30]
 * plus Keras' -1e9 for masked entries, against double-precision exp: within 2e-6 relative. */
static void test_softmax(void **state) {
    (void)state;
    float x[40];
    double want[40];
    uint32_t seed = 12345;
    for (size_t cols = 1; cols <= 40; cols++)
        for (int rep = 0; rep < 20; rep++) {
            for (size_t i = 0; i < cols; i++) {
                seed = seed * 1664525u + 1013904223u;
                x[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 60.0f;
                if (rep % 3 == 1 && i % 4 == 2) x[i] += -1e9f;
                if (rep == 5) x[i] = -1e9f; /* a fully masked row: uniform */
            }
            float mx = x[0];
            double s = 0;
            for (size_t i = 0; i < cols; i++) mx = x[i] > mx ? x[i] : mx;
            /* the difference rounded to float as any float32 softmax has it (Keras' too) */
            for (size_t i = 0; i < cols; i++) s += want[i] = exp((double)(float)(x[i] - mx));
            sc_softmax_rows_f32(x, 1, cols, cols);
            for (size_t i = 0; i < cols; i++) {
                double w = want[i] / s;
                if (!(fabs(x[i] - w) <= 2e-6 * w + 1e-37))
                    fail_msg("cols %zu rep %d [%zu]: %.9g, want %.9g", cols, rep, i, x[i], w);
            }
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mha_refusals),
        cmocka_unit_test(test_mha_value_defaults_to_query),
        cmocka_unit_test(test_einsum_refusals),
        cmocka_unit_test(test_mha_keys_h5),
        cmocka_unit_test(test_mha_keys_keras3_ckpt),
        cmocka_unit_test(test_softmax),
    };
    return cmocka_run_group_tests_name("attention", tests, NULL, NULL);
}
