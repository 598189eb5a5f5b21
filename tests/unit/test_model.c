/* Model core: Keras 2/3 JSON -> graph, forward pass against an independent float64 computation,
 * memory planning, binding from TF checkpoints in both layouts, and the errors users meet. */
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
#include "sidecar/model.h"

/* Keras 2.15 to_json() of Sequential([Input(4), Dense(3, relu), Dropout(.5), Dense(2, softmax)]) */
static const char *k2_seq =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"dtype\": "
    "\"float32\", \"sparse\": false, \"ragged\": false, \"name\": \"dense_input\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"trainable\": true, \"dtype\": "
    "\"float32\", \"units\": 3, \"activation\": \"relu\", \"use_bias\": true}},"
    "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"dropout\", \"rate\": 0.5}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"units\": 2, \"activation\": "
    "\"softmax\"}}]}, \"keras_version\": \"2.15.0\", \"backend\": \"tensorflow\"}";

/* Keras 3 Functional: two Dense layers, keras_tensor references, DTypePolicy objects. */
static const char *k3_func =
    "{\"module\": \"keras.src.models.functional\", \"class_name\": \"Functional\", \"config\": {"
    "\"name\": \"functional\", \"trainable\": true, \"layers\": ["
    "{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": "
    "[null, 4], \"dtype\": \"float32\", \"sparse\": false, \"name\": \"input_layer\"}, "
    "\"registered_name\": null, \"name\": \"input_layer\", \"inbound_nodes\": []},"
    "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", "
    "\"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": "
    "\"float32\"}, \"registered_name\": null}, \"units\": 3, \"activation\": \"relu\", "
    "\"use_bias\": "
    "true}, \"registered_name\": null, \"build_config\": {\"input_shape\": [null, 4]}, \"name\": "
    "\"dense\", \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": "
    "{\"shape\": [null, 4], \"dtype\": \"float32\", \"keras_history\": [\"input_layer\", 0, 0]}}], "
    "\"kwargs\": {}}]},"
    "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", "
    "\"units\": 2, \"activation\": \"softmax\"}, \"name\": \"dense_1\", \"inbound_nodes\": "
    "[{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 3], "
    "\"keras_history\": [\"dense\", 0, 0]}}], \"kwargs\": {}}]}],"
    "\"input_layers\": [\"input_layer\", 0, 0], \"output_layers\": [\"dense_1\", 0, 0]}}";

static const float W0[4 * 3] = {0.5f,  -0.2f, 0.1f, 0.3f,  0.8f,  -0.5f,
                                -0.7f, 0.2f,  0.4f, 0.05f, -0.1f, 0.9f};
static const float B0[3] = {0.1f, -0.05f, 0.2f};
static const float W1[3 * 2] = {1.0f, -1.0f, 0.5f, 0.25f, -0.3f, 0.7f};
static const float B1[2] = {0.01f, -0.02f};
static const float X[2 * 4] = {1.0f, 2.0f, -1.0f, 0.5f, -0.3f, 0.0f, 2.5f, 1.5f};

/* The same network in float64, written out longhand. */
static void reference(const float *x, double *y) {
    for (int b = 0; b < 2; b++) {
        double h[3], z[2];
        for (int j = 0; j < 3; j++) {
            double s = B0[j];
            for (int i = 0; i < 4; i++) s += (double)x[b * 4 + i] * W0[i * 3 + j];
            h[j] = s > 0 ? s : 0;
        }
        for (int j = 0; j < 2; j++) {
            double s = B1[j];
            for (int i = 0; i < 3; i++) s += h[i] * W1[i * 2 + j];
            z[j] = s;
        }
        double m = fmax(z[0], z[1]), e0 = exp(z[0] - m), e1 = exp(z[1] - m);
        y[b * 2] = e0 / (e0 + e1);
        y[b * 2 + 1] = e1 / (e0 + e1);
    }
}

static void set_weights(sc_model *m) {
    memcpy(sc_model_find_variable(m, "dense", "kernel")->data, W0, sizeof W0);
    memcpy(sc_model_find_variable(m, "dense", "bias")->data, B0, sizeof B0);
    memcpy(sc_model_find_variable(m, "dense_1", "kernel")->data, W1, sizeof W1);
    memcpy(sc_model_find_variable(m, "dense_1", "bias")->data, B1, sizeof B1);
}

static void check_forward(sc_model *m) {
    sc_runner *r;
    sc_error err;
    assert_int_equal(sc_runner_create(m, 2, &r, &err), SC_OK);
    const float *in[1] = {X};
    assert_int_equal(sc_runner_run(r, 2, in, &err), SC_OK);
    double want[4];
    reference(X, want);
    const float *y = sc_runner_output(r, 0);
    for (int i = 0; i < 4; i++) assert_true(fabs(y[i] - want[i]) <= 1e-6 * fabs(want[i]) + 1e-7);
    /* The softmax output keeps its logits for the loss' logits shortcut. */
    const float *lg = sc_runner_output_logits(r, 0);
    assert_non_null(lg);
    double e0 = exp(lg[0]), e1 = exp(lg[1]);
    assert_true(fabs(e0 / (e0 + e1) - y[0]) < 1e-6);
    /* A batch of one gives the first row again. */
    assert_int_equal(sc_runner_run(r, 1, in, &err), SC_OK);
    assert_true(fabs(sc_runner_output(r, 0)[1] - want[1]) < 1e-6);
    assert_int_equal(sc_runner_run(r, 3, in, &err), SC_INVALID_ARGUMENT);
    sc_runner_free(r);
}

static void test_keras2_sequential(void **state) {
    (void)state;
    sc_model *m;
    sc_error err;
    assert_int_equal(sc_model_load_keras_json(k2_seq, strlen(k2_seq), "k2.json", &m, &err), SC_OK);
    assert_int_equal(sc_model_num_inputs(m), 1);
    assert_string_equal(sc_model_input_name(m, 0), "dense_input");
    assert_int_equal(sc_model_input_shape(m, 0).dims[0], 4);
    assert_int_equal(sc_model_output_shape(m, 0).dims[0], 2);
    assert_string_equal(sc_model_output_activation(m, 0), "softmax");
    assert_int_equal(sc_model_num_variables(m), 4);
    assert_int_equal(sc_model_find_variable(m, "dense_1", "kernel")->layer_with_weights, 1);
    set_weights(m);
    check_forward(m);
    sc_model_free(m);
}

static void test_keras3_functional(void **state) {
    (void)state;
    sc_model *m;
    sc_error err;
    assert_int_equal(sc_model_load_keras_json(k3_func, strlen(k3_func), "k3.json", &m, &err),
                     SC_OK);
    assert_string_equal(sc_model_input_name(m, 0), "input_layer");
    assert_string_equal(sc_model_output_name(m, 0), "dense_1");
    set_weights(m);
    check_forward(m);
    sc_model_free(m);
}

static void test_errors(void **state) {
    (void)state;
    sc_model *m;
    sc_error err;
    const char *unknown =
        "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
        "\"InputLayer\", "
        "\"config\": {\"batch_input_shape\": [null, 4], \"name\": \"in\"}}, {\"class_name\": "
        "\"FancyAttention\", \"config\": {\"name\": \"fa\"}}]}}";
    assert_int_equal(sc_model_load_keras_json(unknown, strlen(unknown), "u.json", &m, &err),
                     SC_UNIMPLEMENTED);
    assert_null(m);
    assert_non_null(strstr(err.message, "'fa'"));
    assert_non_null(strstr(err.message, "FancyAttention"));
    assert_non_null(strstr(err.message, "sc_model_create_custom"));
    const char *cf =
        "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
        "\"InputLayer\", "
        "\"config\": {\"batch_input_shape\": [null, 4, 4, 1], \"name\": \"in\"}}, {\"class_name\": "
        "\"Flatten\", \"config\": {\"name\": \"flat\", \"data_format\": \"channels_first\"}}]}}";
    assert_int_equal(sc_model_load_keras_json(cf, strlen(cf), "cf.json", &m, &err),
                     SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "channels_first"));
    assert_non_null(strstr(err.message, "'flat'"));
    assert_int_equal(sc_model_load_keras_json("{", 1, "bad.json", &m, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "bad.json"));
    const char *act = "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
                      "\"Dense\", \"config\": {\"name\": \"d\", \"units\": 2, \"activation\": "
                      "\"wiggle\", \"batch_input_shape\": [null, 3]}}]}}";
    assert_int_equal(sc_model_load_keras_json(act, strlen(act), "a.json", &m, &err),
                     SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "wiggle"));
}

/* A Sequential over [5, 3] sequences with one layer (JSON text of its class_name/config). */
static sc_status load_seq_layer(const char *layer, sc_model **m, sc_error *err) {
    char json[2048];
    snprintf(
        json, sizeof json,
        "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": "
        "\"InputLayer\", \"config\": {\"batch_input_shape\": [null, 5, 3], \"name\": \"in\"}}, "
        "%s]}}",
        layer);
    return sc_model_load_keras_json(json, strlen(json), "rnn.json", m, err);
}

/* What the recurrent layers refuse, each by layer name and option. */
static void test_recurrent_refusals(void **state) {
    (void)state;
    static const struct {
        const char *layer, *want;
    } cases[] = {
        {"{\"class_name\": \"LSTM\", \"config\": {\"name\": \"l\", \"units\": 4, \"stateful\": "
         "true}}",
         "stateful=True"},
        {"{\"class_name\": \"SimpleRNN\", \"config\": {\"name\": \"l\", \"units\": 4, "
         "\"recurrent_activation\": \"wiggle\"}}",
         "recurrent_activation 'wiggle'"},
        {"{\"class_name\": \"Bidirectional\", \"config\": {\"name\": \"l\", "
         "\"layer\": {\"class_name\": \"ConvLSTM2D\", \"config\": {\"name\": \"x\"}}}}",
         "ConvLSTM2D"},
        {"{\"class_name\": \"TimeDistributed\", \"config\": {\"name\": \"l\", "
         "\"layer\": {\"class_name\": \"LSTM\", \"config\": {\"name\": \"x\", \"units\": 4}}}}",
         "wrapped class 'LSTM'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sc_model *m = NULL;
        sc_error err;
        assert_int_equal(load_seq_layer(cases[i].layer, &m, &err), SC_UNIMPLEMENTED);
        assert_null(m);
        if (!strstr(err.message, cases[i].want) || !strstr(err.message, "'l'"))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.message, cases[i].want);
    }
    /* A layer with several outputs in a Sequential model: refused as Keras refuses it. */
    sc_model *m;
    sc_error err;
    static const char *const multi[] = {
        "{\"class_name\": \"GRU\", \"config\": {\"name\": \"l\", \"units\": 4, \"return_state\": "
        "true}}",
        "{\"class_name\": \"Bidirectional\", \"config\": {\"name\": \"l\", \"merge_mode\": null, "
        "\"layer\": {\"class_name\": \"LSTM\", \"config\": {\"name\": \"x\", \"units\": 4}}}}"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(load_seq_layer(multi[i], &m, &err), SC_INVALID_ARGUMENT);
        if (!strstr(err.message, "'l'") || !strstr(err.message, "Sequential"))
            fail_msg("multi %zu: message '%s'", i, err.message);
    }
    /* Variables of wrappers are named by their checkpoint path below the layer. */
    assert_int_equal(
        load_seq_layer("{\"class_name\": \"Bidirectional\", \"config\": {\"name\": \"b\", "
                       "\"layer\": {\"class_name\": \"GRU\", \"config\": {\"name\": \"g\", "
                       "\"units\": 2, \"return_sequences\": true}}}}",
                       &m, &err),
        SC_OK);
    assert_int_equal(sc_model_num_variables(m), 6);
    assert_string_equal(sc_model_variable(m, 3)->name, "backward_layer/cell/kernel");
    assert_string_equal(sc_model_variable(m, 5)->h5_sub, "backward_layer/cell");
    assert_int_equal(sc_model_variable(m, 5)->h5_index, 2);
    assert_int_equal(sc_model_variable(m, 5)->shape.dims[0], 2); /* reset_after: [2, 3u] */
    assert_int_equal(sc_model_output_shape(m, 0).dims[1], 4);    /* concat */
    sc_model_free(m);
}

/* Keras 3 form of several outputs per call: keras_history [name, node, tensor_index] in
 * inbound nodes and output_layers; output names made unique as Keras does; a tensor index the
 * call does not have is refused naming the layer. */
static const char *lstm3_json(const char *dense_ref, char *buf, size_t cap) {
#define KT(ref) "{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": " ref "}}"
    snprintf(buf, cap,
             "{\"module\": \"keras\", \"class_name\": \"Functional\", \"config\": {\"name\": "
             "\"m\", \"layers\": ["
             "{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"config\": "
             "{\"batch_shape\": [null, 3, 2], \"name\": \"x\"}, \"name\": \"x\", "
             "\"inbound_nodes\": []},"
             "{\"module\": \"keras.layers\", \"class_name\": \"LSTM\", \"config\": {\"name\": "
             "\"lstm\", \"units\": 2, \"return_state\": true}, \"name\": \"lstm\", "
             "\"inbound_nodes\": [{\"args\": [" KT("[\"x\", 0, 0]") "], \"kwargs\": {}}]},"
             "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": "
             "\"dense\", \"units\": 1}, \"name\": \"dense\", \"inbound_nodes\": [{\"args\": "
             "[{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": %s}}], "
             "\"kwargs\": {}}]}],"
             "\"input_layers\": [[\"x\", 0, 0]], \"output_layers\": [[\"lstm\", 0, 0], "
             "[\"lstm\", 0, 2], [\"dense\", 0, 0], [\"lstm\", 0, 1]]}}",
             dense_ref);
#undef KT
    return buf;
}

static void test_return_state_keras3(void **state) {
    (void)state;
    char json[4096];
    sc_model *m;
    sc_error err;
    lstm3_json("[\"lstm\", 0, 1]", json, sizeof json);
    if (sc_model_load_keras_json(json, strlen(json), "k3.json", &m, &err) != SC_OK)
        fail_msg("%s", err.message);
    assert_int_equal(sc_model_num_outputs(m), 4);
    const char *names[] = {"lstm", "lstm_1", "dense", "lstm_2"};
    for (size_t i = 0; i < 4; i++) assert_string_equal(sc_model_output_name(m, i), names[i]);
    for (size_t v = 0; v < sc_model_num_variables(m); v++) {
        sc_variable *var = sc_model_variable(m, v);
        for (int64_t k = 0; k < var->num_elements; k++)
            var->data[k] = 0.1f * (float)((k * 7 + (int64_t)v) % 11) - 0.5f;
    }
    sc_runner *r;
    assert_int_equal(sc_runner_create(m, 2, &r, &err), SC_OK);
    const float x[12] = {1, -1, 0.5f, 2, -0.3f, 0.7f, 0, 1, -2, 0.1f, 0.4f, -0.6f};
    const float *in = x;
    assert_int_equal(sc_runner_run(r, 2, &in, &err), SC_OK);
    /* return_sequences=False: the output is the last h (output 0 == state h, output 3) */
    const float *y = sc_runner_output(r, 0), *h = sc_runner_output(r, 3), *c = sc_runner_output(r, 1);
    for (int i = 0; i < 4; i++) assert_true(y[i] == h[i]);
    int differ = 0;
    for (int i = 0; i < 4; i++) differ |= c[i] != h[i];
    assert_true(differ); /* output 1 is the cell state, not h */
    /* dense reads h: its output is h . kernel + bias */
    const sc_variable *dk = sc_model_find_variable(m, "dense", "kernel");
    const sc_variable *db = sc_model_find_variable(m, "dense", "bias");
    for (int b = 0; b < 2; b++)
        assert_float_equal(sc_runner_output(r, 2)[b],
                           h[b * 2] * dk->data[0] + h[b * 2 + 1] * dk->data[1] + db->data[0], 1e-6);
    sc_runner_free(r);
    sc_model_free(m);
    /* tensor 3 of a call that has 3 */
    lstm3_json("[\"lstm\", 0, 3]", json, sizeof json);
    assert_int_equal(sc_model_load_keras_json(json, strlen(json), "k3.json", &m, &err),
                     SC_INVALID_ARGUMENT);
    if (!strstr(err.message, "index of 'lstm'")) fail_msg("message: %s", err.message);
}

/* Keras 2 mask semantics on hand-checkable numbers (the tfjs goldens cover what tfjs computes as
 * Keras does; these cover where it does not). Embedding(mask_zero) rows are (i, 10 i) and
 * (i) below; a linear SimpleRNN with kernel 1, recurrent kernel 1 and no bias is a running sum. */
static sc_model *masked_model(const char *tail) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"class_name\": \"Functional\", \"config\": {\"name\": \"model\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], "
             "\"name\": \"ids\"}, \"name\": \"ids\", \"inbound_nodes\": []},"
             "{\"class_name\": \"Embedding\", \"config\": {\"name\": \"emb\", \"input_dim\": 4, "
             "\"output_dim\": %d, \"mask_zero\": true}, \"name\": \"emb\", "
             "\"inbound_nodes\": [[[\"ids\", 0, 0, {}]]]}, %s], "
             "\"input_layers\": [[\"ids\", 0, 0]], \"output_layers\": [[\"out\", 0, 0]]}}",
             strstr(tail, "SimpleRNN") ? 1 : 2, tail);
    sc_model *m;
    sc_error err;
    if (sc_model_load_keras_json(json, strlen(json), "masked.json", &m, &err) != SC_OK)
        fail_msg("%s", err.message);
    sc_variable *t = sc_model_find_variable(m, "emb", "embeddings");
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < t->shape.dims[1]; j++)
            t->data[i * t->shape.dims[1] + j] = (float)(i * (j ? 10 : 1));
    for (size_t v = 0; v < sc_model_num_variables(m); v++)
        if (strstr(sc_model_variable(m, v)->name, "kernel"))
            sc_model_variable(m, v)->data[0] = 1.0f;
    return m;
}

static const float *run1(sc_model *m, sc_runner **r, const float *ids, int batch) {
    sc_error err;
    assert_int_equal(sc_runner_create(m, batch, r, &err), SC_OK);
    const float *in[1] = {ids};
    if (sc_runner_run(*r, batch, in, &err) != SC_OK) fail_msg("%s", err.message);
    return sc_runner_output(*r, 0);
}

static void test_masks(void **state) {
    (void)state;
    sc_runner *r;
    /* GlobalAveragePooling1D: sum(x * mask) / sum(mask); a fully masked row is 0/0 = NaN. */
    sc_model *m =
        masked_model("{\"class_name\": \"GlobalAveragePooling1D\", \"config\": {\"name\": "
                     "\"out\"}, \"name\": \"out\", \"inbound_nodes\": [[[\"emb\", 0, 0, {}]]]}");
    const float ids[8] = {1, 2, 0, 3, 0, 0, 0, 0};
    const float *y = run1(m, &r, ids, 2);
    assert_true(fabsf(y[0] - 2.0f) < 1e-6f && fabsf(y[1] - 20.0f) < 1e-5f); /* not 1.5, 15 */
    assert_true(isnan(y[2]) && isnan(y[3]));
    sc_runner_free(r);
    sc_model_free(m);
    /* GlobalMaxPooling1D ignores the mask in Keras 2 (its call takes none). */
    m = masked_model("{\"class_name\": \"GlobalMaxPooling1D\", \"config\": {\"name\": \"out\"}, "
                     "\"name\": \"out\", \"inbound_nodes\": [[[\"emb\", 0, 0, {}]]]}");
    const float ids2[4] = {1, 0, 0, 0};
    y = run1(m, &r, ids2, 1);
    assert_true(y[0] == 1.0f && y[1] == 10.0f);
    sc_runner_free(r);
    sc_model_free(m);
    const char *rnn =
        "\"class_name\": \"SimpleRNN\", \"config\": {\"name\": \"%s\", \"units\": 1, "
        "\"activation\": \"linear\", \"use_bias\": false, \"return_sequences\": true}";
    char tail[1024], layer[512];
    /* A lone RNN repeats its previous output at a masked step: ids 2 0 3 1 -> 2 2 5 6. */
    snprintf(layer, sizeof layer, rnn, "out");
    snprintf(tail, sizeof tail,
             "{%s, \"name\": \"out\", \"inbound_nodes\": [[[\"emb\", 0, 0, {}]]]}", layer);
    m = masked_model(tail);
    const float ids3[4] = {2, 0, 3, 1};
    y = run1(m, &r, ids3, 1);
    const float lone[4] = {2, 2, 5, 6};
    for (int t = 0; t < 4; t++) assert_true(y[t] == lone[t]);
    sc_runner_free(r);
    sc_model_free(m);
    /* Bidirectional forces zero_output_for_mask when returning sequences: forward 2 0 5 6,
     * backward (reversed back) 6 0 4 1. */
    snprintf(layer, sizeof layer, rnn, "r");
    snprintf(tail, sizeof tail,
             "{\"class_name\": \"Bidirectional\", \"config\": {\"name\": \"out\", "
             "\"layer\": {%s}}, \"name\": \"out\", \"inbound_nodes\": [[[\"emb\", 0, 0, {}]]]}",
             layer);
    m = masked_model(tail);
    y = run1(m, &r, ids3, 1);
    const float bi[8] = {2, 6, 0, 0, 5, 4, 6, 1};
    for (int i = 0; i < 8; i++)
        if (y[i] != bi[i]) fail_msg("bidirectional[%d] = %g, want %g", i, y[i], bi[i]);
    sc_runner_free(r);
    sc_model_free(m);
}

/* A call argument that changes the numbers and is not implemented is refused by name. */
static void test_call_kwargs(void **state) {
    (void)state;
    const char *json =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3, 2], "
        "\"name\": \"q\"}, "
        "\"name\": \"q\", \"inbound_nodes\": []},"
        "{\"class_name\": \"Attention\", \"config\": {\"name\": \"att\"}, \"name\": \"att\", "
        "\"inbound_nodes\": [[[\"q\", 0, 0, {\"use_causal_mask\": true}], [\"q\", 0, 0, "
        "{\"use_causal_mask\": true}]]]}],"
        "\"input_layers\": [[\"q\", 0, 0]], \"output_layers\": [[\"att\", 0, 0]]}}";
    sc_model *m = NULL;
    sc_error err;
    assert_int_equal(sc_model_load_keras_json(json, strlen(json), "kw.json", &m, &err),
                     SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "use_causal_mask"));
    assert_non_null(strstr(err.message, "'att'"));
}

/* Keras 2 Functional with a shared layer: one Dense called on two inputs (two nodes, one set of
 * variables), then Add. */
static void test_shared_layer(void **state) {
    (void)state;
    const char *json =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"model\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": "
        "\"a\"}, "
        "\"name\": \"a\", \"inbound_nodes\": []},"
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": "
        "\"b\"}, "
        "\"name\": \"b\", \"inbound_nodes\": []},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 3, "
        "\"activation\": \"relu\"}, "
        "\"name\": \"dense\", \"inbound_nodes\": [[[\"a\", 0, 0, {}]], [[\"b\", 0, 0, {}]]]},"
        "{\"class_name\": \"Add\", \"config\": {\"name\": \"add\"}, \"name\": \"add\", "
        "\"inbound_nodes\": [[[\"dense\", 0, 0, {}], [\"dense\", 1, 0, {}]]]}],"
        "\"input_layers\": [[\"a\", 0, 0], [\"b\", 0, 0]], \"output_layers\": [[\"add\", 0, 0]]},"
        "\"keras_version\": \"2.15.0\"}";
    sc_model *m;
    sc_error err;
    if (sc_model_load_keras_json(json, strlen(json), "shared.json", &m, &err) != SC_OK)
        fail_msg("%s", err.message);
    assert_int_equal(sc_model_num_inputs(m), 2);
    assert_int_equal(sc_model_num_variables(m), 2); /* one kernel, one bias */
    memcpy(sc_model_find_variable(m, "dense", "kernel")->data, W0, sizeof W0);
    memcpy(sc_model_find_variable(m, "dense", "bias")->data, B0, sizeof B0);
    sc_runner *r;
    assert_int_equal(sc_runner_create(m, 2, &r, &err), SC_OK);
    const float *in[2] = {X, X + 4}; /* a = row 0 of X, b = row 1 (batch 1) */
    assert_int_equal(sc_runner_run(r, 1, in, &err), SC_OK);
    const float *y = sc_runner_output(r, 0);
    for (int j = 0; j < 3; j++) {
        double ha = B0[j], hb = B0[j];
        for (int i = 0; i < 4; i++) {
            ha += (double)X[i] * W0[i * 3 + j];
            hb += (double)X[4 + i] * W0[i * 3 + j];
        }
        double want = (ha > 0 ? ha : 0) + (hb > 0 ? hb : 0);
        assert_true(fabs(y[j] - want) < 1e-5);
    }
    sc_runner_free(r);
    sc_model_free(m);
}

/* A chain of 12 Dense(64) layers needs a few activations of memory, not twelve. */
static void test_arena_reuse(void **state) {
    (void)state;
    char json[8192];
    size_t pos =
        (size_t)snprintf(json, sizeof json,
                         "{\"class_name\": \"Sequential\", \"config\": {\"layers\": "
                         "[{\"class_name\": \"InputLayer\", "
                         "\"config\": {\"batch_input_shape\": [null, 64], \"name\": \"in\"}}");
    for (int i = 0; i < 12; i++)
        pos += (size_t)snprintf(json + pos, sizeof json - pos,
                                ", {\"class_name\": \"Dense\", \"config\": {\"name\": \"d%d\", "
                                "\"units\": 64, \"activation\": \"tanh\"}}",
                                i);
    snprintf(json + pos, sizeof json - pos, "]}}");
    sc_model *m;
    sc_runner *r;
    assert_int_equal(sc_model_load_keras_json(json, strlen(json), "chain", &m, NULL), SC_OK);
    assert_int_equal(sc_runner_create(m, 32, &r, NULL), SC_OK);
    size_t one = 32 * 64 * sizeof(float);
    assert_true(sc_runner_arena_bytes(r) <= 2 * one);
    assert_true(sc_runner_arena_bytes(r) >= 2 * one); /* input and output of a layer both live */
    sc_runner_free(r);
    sc_model_free(m);
}

/* Binding from checkpoints written by our own writer, in both Keras 2 layouts. */
static void write_ckpt(const char *prefix, const char *root, int bad_shape, int drop_bias) {
    sc_bundle_writer *w;
    sc_error err;
    assert_int_equal(sc_bundle_writer_create(prefix, NULL, &w, &err), SC_OK);
    char key[256];
    int64_t s0[2] = {4, bad_shape ? 5 : 3}, s1[1] = {3}, s2[2] = {3, 2}, s3[1] = {2};
    float big[20] = {0};
    snprintf(key, sizeof key, "%slayer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", root);
    assert_int_equal(sc_bundle_writer_add(w, key, SC_DT_FLOAT, 2, s0, bad_shape ? big : W0,
                                          bad_shape ? sizeof big : sizeof W0, 0, &err),
                     SC_OK);
    snprintf(key, sizeof key, "%slayer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE", root);
    assert_int_equal(sc_bundle_writer_add(w, key, SC_DT_FLOAT, 1, s1, B0, sizeof B0, 0, &err),
                     SC_OK);
    /* dense_1's kernel stored as float64: converted on bind. */
    double w1d[6];
    for (int i = 0; i < 6; i++) w1d[i] = W1[i];
    snprintf(key, sizeof key, "%slayer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE", root);
    assert_int_equal(sc_bundle_writer_add(w, key, SC_DT_DOUBLE, 2, s2, w1d, sizeof w1d, 0, &err),
                     SC_OK);
    if (!drop_bias) {
        snprintf(key, sizeof key, "%slayer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE", root);
        assert_int_equal(sc_bundle_writer_add(w, key, SC_DT_FLOAT, 1, s3, B1, sizeof B1, 0, &err),
                         SC_OK);
    }
    snprintf(key, sizeof key,
             "%slayer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE",
             root);
    assert_int_equal(sc_bundle_writer_add(w, key, SC_DT_FLOAT, 2, s0, bad_shape ? big : W0,
                                          bad_shape ? sizeof big : sizeof W0, 0, &err),
                     SC_OK);
    int64_t it = 32;
    assert_int_equal(sc_bundle_writer_add(w, "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE",
                                          SC_DT_INT64, 0, NULL, &it, 8, 0, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
}

static void test_bind(void **state) {
    (void)state;
    char dir[] = "/tmp/sc_model_XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *roots[2] = {"model/", ""};
    for (int k = 0; k < 2; k++) {
        char prefix[256];
        snprintf(prefix, sizeof prefix, "%s/ckpt-%d", dir, k + 1);
        write_ckpt(prefix, roots[k], 0, 0);
        sc_model *m;
        sc_bundle *b;
        sc_error err;
        sc_bind_report rep;
        assert_int_equal(sc_model_load_keras_json(k2_seq, strlen(k2_seq), "k2", &m, &err), SC_OK);
        assert_int_equal(sc_bundle_open(prefix, &b, &err), SC_OK);
        assert_int_equal(sc_model_bind_bundle(m, b, &rep, &err), SC_OK);
        assert_int_equal(rep.layout,
                         k == 0 ? SC_LAYOUT_CHECKPOINT_MANAGER : SC_LAYOUT_KERAS_WEIGHTS);
        assert_int_equal(rep.num_entries, 4);
        assert_non_null(strstr(rep.entries[2].key, "layer_with_weights-1/kernel"));
        assert_int_equal(rep.num_unused, 0); /* optimizer slots are not "unused" */
        sc_bind_report_clear(&rep);
        check_forward(m);
        sc_bundle_free(b);
        sc_model_free(m);
    }
    /* Shape mismatch names the layer, the variable and both shapes. */
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s/bad-3", dir);
    write_ckpt(prefix, "model/", 1, 0);
    sc_model *m;
    sc_bundle *b;
    sc_error err;
    assert_int_equal(sc_model_load_keras_json(k2_seq, strlen(k2_seq), "k2", &m, &err), SC_OK);
    assert_int_equal(sc_bundle_open(prefix, &b, &err), SC_OK);
    assert_int_equal(sc_model_bind_bundle(m, b, NULL, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "'dense'"));
    assert_non_null(strstr(err.message, "'kernel'"));
    assert_non_null(strstr(err.message, "[4,5]"));
    assert_non_null(strstr(err.message, "[4,3]"));
    sc_bundle_free(b);
    /* A missing variable is NOT_FOUND naming it. */
    snprintf(prefix, sizeof prefix, "%s/nobias-4", dir);
    write_ckpt(prefix, "", 0, 1);
    assert_int_equal(sc_bundle_open(prefix, &b, &err), SC_OK);
    assert_int_equal(sc_model_bind_bundle(m, b, NULL, &err), SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "'dense_1'"));
    assert_non_null(strstr(err.message, "'bias'"));
    sc_bundle_free(b);
    sc_model_free(m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Keras 3 TF-backend keys (FORMATS §3.4, UNCONFIRMED there: built here from that description):
 * a Functional model's layers under model/_operations/<n>/ with InputLayers counted, Dense kernels
 * as _kernel. */
static void test_bind_keras3_tf_keys(void **state) {
    (void)state;
    char dir[] = "/tmp/sc_model_k3_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s/ckpt-1", dir);
    sc_bundle_writer *w;
    sc_error err;
    const int64_t s0[2] = {4, 3}, s1[1] = {3}, s2[2] = {3, 2}, s3[1] = {2};
    int64_t it = 5;
    assert_int_equal(sc_bundle_writer_create(prefix, NULL, &w, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_add(w,
                                          "model/_operations/1/_kernel/.ATTRIBUTES/VARIABLE_VALUE",
                                          SC_DT_FLOAT, 2, s0, W0, sizeof W0, 0, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_writer_add(w, "model/_operations/1/bias/.ATTRIBUTES/VARIABLE_VALUE",
                                          SC_DT_FLOAT, 1, s1, B0, sizeof B0, 0, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_writer_add(w,
                                          "model/_operations/2/_kernel/.ATTRIBUTES/VARIABLE_VALUE",
                                          SC_DT_FLOAT, 2, s2, W1, sizeof W1, 0, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_writer_add(w, "model/_operations/2/bias/.ATTRIBUTES/VARIABLE_VALUE",
                                          SC_DT_FLOAT, 1, s3, B1, sizeof B1, 0, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_writer_add(w, "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE",
                                          SC_DT_INT64, 0, NULL, &it, 8, 0, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
    sc_model *m;
    sc_bundle *b;
    sc_bind_report rep;
    assert_int_equal(sc_model_load_keras_json(k3_func, strlen(k3_func), "k3.json", &m, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_open(prefix, &b, &err), SC_OK);
    if (sc_model_bind_bundle(m, b, &rep, &err) != SC_OK) fail_msg("%s", err.message);
    assert_string_equal(rep.entries[0].key,
                        "model/_operations/1/_kernel/.ATTRIBUTES/VARIABLE_VALUE");
    assert_int_equal(rep.num_unused, 0);
    sc_bind_report_clear(&rep);
    check_forward(m);
    sc_bundle_free(b);
    sc_model_free(m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* A Sequential model nested in a Functional one (Keras 2 JSON, as to_json() writes it: the
 * nested model built on an InputLayer has node 0 of its own, so its call is ["backbone", 1, 0]):
 * its layers run inline; its
 * variables are keyed below it, layer_with_weights-0/layer_with_weights-J/... in a TF checkpoint
 * and layers/sequential/layers/dense[_1]/vars/i in a .weights.h5. */
static void test_nested_sequential(void **state) {
    (void)state;
    const char *json =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"outer\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": "
        "\"in\"}, "
        "\"name\": \"in\", \"inbound_nodes\": []},"
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"backbone\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": "
        "\"bin\"}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d1\", \"units\": 3, \"activation\": "
        "\"relu\"}},"
        "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"drop\", \"rate\": 0.5}}]},"
        "\"name\": \"backbone\", \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"head\", \"units\": 2, "
        "\"activation\": \"softmax\"}, "
        "\"name\": \"head\", \"inbound_nodes\": [[[\"backbone\", 1, 0, {}]]]}],"
        "\"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"head\", 0, 0]]},"
        "\"keras_version\": \"2.15.0\"}";
    sc_model *m;
    sc_error err;
    if (sc_model_load_keras_json(json, strlen(json), "nested.json", &m, &err) != SC_OK)
        fail_msg("%s", err.message);
    /* Same weights as the flat model: d1 = dense, head = dense_1 of the reference. */
    char dir[] = "/tmp/sc_model_nested_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s/ckpt-1", dir);
    sc_bundle_writer *w;
    const int64_t s0[2] = {4, 3}, s1[1] = {3}, s2[2] = {3, 2}, s3[1] = {2};
    assert_int_equal(sc_bundle_writer_create(prefix, NULL, &w, &err), SC_OK);
    assert_int_equal(
        sc_bundle_writer_add(
            w, "model/layer_with_weights-0/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
            SC_DT_FLOAT, 2, s0, W0, sizeof W0, 0, &err),
        SC_OK);
    assert_int_equal(
        sc_bundle_writer_add(
            w, "model/layer_with_weights-0/layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE",
            SC_DT_FLOAT, 1, s1, B0, sizeof B0, 0, &err),
        SC_OK);
    assert_int_equal(
        sc_bundle_writer_add(w, "model/layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE",
                             SC_DT_FLOAT, 2, s2, W1, sizeof W1, 0, &err),
        SC_OK);
    assert_int_equal(
        sc_bundle_writer_add(w, "model/layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE",
                             SC_DT_FLOAT, 1, s3, B1, sizeof B1, 0, &err),
        SC_OK);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
    sc_bundle *b;
    sc_bind_report rep;
    assert_int_equal(sc_bundle_open(prefix, &b, &err), SC_OK);
    if (sc_model_bind_bundle(m, b, &rep, &err) != SC_OK) fail_msg("%s", err.message);
    assert_string_equal(rep.entries[0].variable, "d1/kernel");
    assert_string_equal(
        rep.entries[0].key,
        "model/layer_with_weights-0/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE");
    assert_int_equal(rep.num_unused, 0);
    sc_bind_report_clear(&rep);
    assert_string_equal(sc_model_find_variable(m, "d1", "kernel")->h5_group,
                        "sequential/layers/dense");
    assert_string_equal(sc_model_find_variable(m, "head", "kernel")->h5_group, "dense");
    check_forward(m);
    sc_bundle_free(b);
    sc_model_free(m);
    /* A Functional model nested in a Sequential one, called on the outer input: the same
     * network, keyed layer_with_weights-0/layer_with_weights-0/... for its Dense. */
    const char *nf =
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"outer\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": "
        "\"i\"}},"
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"inner\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": "
        "\"ii\"}, "
        "\"name\": \"ii\", \"inbound_nodes\": []},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d1\", \"units\": 3, \"activation\": "
        "\"relu\"}, "
        "\"name\": \"d1\", \"inbound_nodes\": [[[\"ii\", 0, 0, {}]]]}],"
        "\"input_layers\": [[\"ii\", 0, 0]], \"output_layers\": [[\"d1\", 0, 0]]}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"head\", \"units\": 2, "
        "\"activation\": \"softmax\"}}]},"
        "\"keras_version\": \"2.15.0\"}";
    if (sc_model_load_keras_json(nf, strlen(nf), "nf.json", &m, &err) != SC_OK)
        fail_msg("%s", err.message);
    assert_int_equal(sc_bundle_open(prefix, &b, &err), SC_OK);
    if (sc_model_bind_bundle(m, b, &rep, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(rep.num_unused, 0);
    sc_bind_report_clear(&rep);
    assert_string_equal(sc_model_find_variable(m, "d1", "kernel")->h5_group,
                        "functional/layers/dense");
    check_forward(m);
    sc_bundle_free(b);
    sc_model_free(m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keras2_sequential),
        cmocka_unit_test(test_keras3_functional),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_shared_layer),
        cmocka_unit_test(test_recurrent_refusals),
        cmocka_unit_test(test_return_state_keras3),
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_call_kwargs),
        cmocka_unit_test(test_nested_sequential),
        cmocka_unit_test(test_arena_reuse),
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_bind_keras3_tf_keys),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
