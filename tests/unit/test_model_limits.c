/* Untrusted model JSON: huge dimensions, kernel sizes, reshape targets and repeat factors fail
 * with INVALID_ARGUMENT naming the layer (checked arithmetic, no signed overflow: this suite
 * runs under UBSan in the sanitizer build), and input_layers naming an input twice or a tensor
 * that is not an input is refused by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/model.h"

static void expect_refused(const char *json, const char *must_name) {
    sc_model *m = NULL;
    sc_error err;
    sc_status s = sc_model_load_keras_json(json, strlen(json), "limits.json", &m, &err);
    if (s == SC_OK) {
        sc_model_free(m);
        fail_msg("accepted: %s", json);
    }
    if (s != SC_INVALID_ARGUMENT) fail_msg("status %d (%s) for %s", s, err.message, json);
    if (!strstr(err.message, must_name))
        fail_msg("'%s' does not name '%s'", err.message, must_name);
}

static void seq(char *buf, size_t cap, const char *shape, const char *layer) {
    snprintf(buf, cap,
             "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, %s], "
             "\"name\": \"in\"}}, %s]}}",
             shape, layer);
}

static void test_huge_sizes(void **state) {
    (void)state;
    char j[2048];
    static const struct {
        const char *shape, *layer, *name;
    } cases[] = {
        {"4",
         "{\"class_name\": \"Dense\", \"config\": {\"name\": \"big\", \"units\": 1099511627776}}",
         "big"},
        {"4",
         "{\"class_name\": \"Dense\", \"config\": {\"name\": \"neg\", \"units\": "
         "-9223372036854775807}}",
         "neg"},
        {"1073741824",
         "{\"class_name\": \"Dense\", \"config\": {\"name\": \"wide\", \"units\": 1073741824}}",
         "wide"},
        {"9223372036854775807", "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"f\"}}",
         "in"},
        {"1073741824, 1073741824, 1073741824",
         "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"f\"}}", "in"},
        {"8",
         "{\"class_name\": \"Reshape\", \"config\": {\"name\": \"rs\", \"target_shape\": "
         "[1073741824, 1073741824, 1073741824, 1073741824]}}",
         "rs"},
        {"8",
         "{\"class_name\": \"Reshape\", \"config\": {\"name\": \"rs2\", \"target_shape\": "
         "[-1, 4611686018427387904]}}",
         "rs2"},
        {"8, 8, 1",
         "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"cv\", \"filters\": 1, "
         "\"kernel_size\": [4611686018427387904, 3], \"dilation_rate\": [4611686018427387904, 1]}}",
         "cv"},
        {"8, 8, 1",
         "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"cv2\", \"filters\": 1, "
         "\"kernel_size\": [3, 3], \"dilation_rate\": [2147483647, 1]}}",
         "cv2"},
        {"8, 8, 1",
         "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"mp\", \"pool_size\": "
         "[2, 2], \"strides\": [2147483648, 1]}}",
         "mp"},
        {"4, 4, 1",
         "{\"class_name\": \"UpSampling2D\", \"config\": {\"name\": \"up\", \"size\": "
         "[2147483647, 2147483647]}}",
         "up"},
        {"4, 4, 1",
         "{\"class_name\": \"ZeroPadding2D\", \"config\": {\"name\": \"zp\", \"padding\": "
         "[[2147483647, 2147483647], [1, 1]]}}",
         "zp"},
        {"1024",
         "{\"class_name\": \"RepeatVector\", \"config\": {\"name\": \"rv\", \"n\": 2147483647}}",
         "rv"},
        {"4",
         "{\"class_name\": \"Embedding\", \"config\": {\"name\": \"emb\", \"input_dim\": "
         "2147483647, \"output_dim\": 2147483647}}",
         "emb"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        seq(j, sizeof j, cases[i].shape, cases[i].layer);
        expect_refused(j, cases[i].name);
    }
}

static void functional(char *buf, size_t cap, const char *input_layers) {
    snprintf(
        buf, cap,
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"name\": \"a\", \"config\": {\"batch_input_shape\": "
        "[null, 2], \"name\": \"a\"}, \"inbound_nodes\": []},"
        "{\"class_name\": \"InputLayer\", \"name\": \"b\", \"config\": {\"batch_input_shape\": "
        "[null, 2], \"name\": \"b\"}, \"inbound_nodes\": []},"
        "{\"class_name\": \"Dense\", \"name\": \"d\", \"config\": {\"name\": \"d\", \"units\": 2}, "
        "\"inbound_nodes\": [[[\"a\", 0, 0, {}]]]},"
        "{\"class_name\": \"Add\", \"name\": \"sum\", \"config\": {\"name\": \"sum\"}, "
        "\"inbound_nodes\": [[[\"d\", 0, 0, {}], [\"b\", 0, 0, {}]]]}],"
        "\"input_layers\": %s, \"output_layers\": [[\"sum\", 0, 0]]}}",
        input_layers);
}

static void test_input_layers(void **state) {
    (void)state;
    char j[4096];
    functional(j, sizeof j, "[[\"a\", 0, 0], [\"a\", 0, 0]]");
    expect_refused(j, "'a' twice");
    functional(j, sizeof j, "[[\"a\", 0, 0], [\"d\", 0, 0]]");
    expect_refused(j, "'d', which is not an InputLayer");
    functional(j, sizeof j, "[[\"a\", 0, 0], [\"nope\", 0, 0]]");
    expect_refused(j, "nope");
    /* The right lists load, in either order. */
    sc_model *m = NULL;
    sc_error err;
    functional(j, sizeof j, "[[\"b\", 0, 0], [\"a\", 0, 0]]");
    assert_int_equal(sc_model_load_keras_json(j, strlen(j), "ok.json", &m, &err), SC_OK);
    assert_string_equal(sc_model_input_name(m, 0), "b");
    sc_model_free(m);
}

/* Layers that work on the last axis, given a batch of scalars (input shape (None,)), are refused
 * by name: they read that axis at dims[-1] (UBSan: index -1). Masking was found by
 * fuzz_model_json (crashes/fuzz_model_json/masking-scalar-input.json), the others by trying
 * every layer on such an input. */
static void test_feature_layers_on_scalars(void **state) {
    (void)state;
    static const char *const classes[] = {"Masking", "BatchNormalization", "LayerNormalization",
                                          "Normalization"};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        char j[1024];
        snprintf(j, sizeof j,
                 "{\"class_name\": \"Functional\", \"config\": {\"name\": \"f\", \"layers\": ["
                 "{\"class_name\": \"InputLayer\", \"name\": \"b\", \"config\": "
                 "{\"batch_input_shape\": [null], \"name\": \"b\"}, \"inbound_nodes\": []}, "
                 "{\"class_name\": \"%s\", \"name\": \"scalar_%s\", \"config\": {\"name\": "
                 "\"scalar_%s\"}, \"inbound_nodes\": [[[\"b\", 0, 0, {}]]]}], "
                 "\"input_layers\": [[\"b\", 0, 0]], \"output_layers\": [[\"scalar_%s\", 0, 0]]}}",
                 classes[i], classes[i], classes[i], classes[i]);
        char name[64];
        snprintf(name, sizeof name, "scalar_%s", classes[i]);
        expect_refused(j, name);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_sizes),
        cmocka_unit_test(test_input_layers),
        cmocka_unit_test(test_feature_layers_on_scalars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
