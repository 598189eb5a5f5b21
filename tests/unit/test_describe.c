/* Layout and training-step detection (FORMATS §3.3-3.5, §10.4) on bundles written with the
 * project's bundle writer, and (when ../shared/fixtures exists) on real checkpoints. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "sidecar/checkpoint.h"
#include "sidecar/object_graph.h"
#include "core/pb.h"
#include "support/ckpt_fixture.h"

#define VV "/.ATTRIBUTES/VARIABLE_VALUE"

/* ---- helpers ------------------------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state) {
    char tmpl[] = "/tmp/sc_test_describe.XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d) return -1;
    *state = strdup(d);
    return *state ? 0 : -1;
}

static int teardown(void **state) {
    int rc = nftw(*state, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return rc;
}

typedef struct spec {
    const char *key;
    sc_dtype dtype;
    int rank; /* 0 or 1 */
    int64_t dim;
    const void *data;
    size_t size;
} spec;

static const float KERNEL[4] = {1, 2, 3, 4};
static const int64_t ONE = 1;

/* A small valid TrackableObjectGraph: a root with one child. */
static sc_pb_buf tiny_graph(void) {
    sc_pb_buf g = {0};
    size_t n = sc_pb_begin_sub(&g, 1);
    size_t c = sc_pb_begin_sub(&g, 1);
    sc_pb_put_int(&g, 1, 1);
    sc_pb_put_str(&g, 2, "optimizer");
    sc_pb_end_sub(&g, c);
    sc_pb_end_sub(&g, n);
    n = sc_pb_begin_sub(&g, 1);
    sc_pb_end_sub(&g, n);
    assert_false(g.failed);
    return g;
}

/* Writes <dir>/<name> with the given tensors and, when graph is non-NULL, an object graph
 * entry holding those bytes. Returns the open bundle. */
static sc_bundle *make_bundle(const char *dir, const char *name, const spec *s, size_t n,
                              const sc_pb_buf *graph) {
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/%s", dir, name);
    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    sc_bundle_writer *w = NULL;
    sc_error err;
    if (sc_bundle_writer_create(prefix, &p, &w, &err) != SC_OK) fail_msg("%s", err.message);
    for (size_t i = 0; i < n; i++) {
        int64_t shape[1] = {s[i].dim};
        if (sc_bundle_writer_add(w, s[i].key, s[i].dtype, s[i].rank, shape, s[i].data, s[i].size, 0,
                                 &err)
            != SC_OK)
            fail_msg("%s", err.message);
    }
    if (graph) {
        sc_bytes item = {graph->data ? graph->data : (const uint8_t *)"", graph->len};
        if (sc_bundle_writer_add_strings(w, SC_OBJECT_GRAPH_KEY, 0, NULL, &item, 0, &err) != SC_OK)
            fail_msg("%s", err.message);
    }
    if (sc_bundle_writer_finish(w, &err) != SC_OK) fail_msg("%s", err.message);
    sc_bundle_writer_free(w);
    sc_bundle *b = NULL;
    if (sc_bundle_open(prefix, &b, &err) != SC_OK) fail_msg("%s", err.message);
    return b;
}

static sc_ckpt_info describe_ok(sc_bundle *b) {
    sc_ckpt_info info;
    sc_error err;
    if (sc_ckpt_describe(b, &info, &err) != SC_OK) fail_msg("%s", err.message);
    return info;
}

/* ---- synthetic layouts ---------------------------------------------------------------------- */

static void test_checkpoint_manager(void **state) {
    const int64_t iters = 1234, counter = 3;
    const spec s[] = {
        {"model/layer_with_weights-0/kernel" VV, SC_DT_FLOAT, 1, 4, KERNEL, sizeof KERNEL},
        {"optimizer/_iterations" VV, SC_DT_INT64, 0, 0, &iters, 8},
        {"save_counter" VV, SC_DT_INT64, 0, 0, &counter, 8},
    };
    sc_pb_buf g = tiny_graph();
    sc_bundle *b = make_bundle(*state, "ckpt-3", s, 3, &g);
    sc_ckpt_info info = describe_ok(b);
    assert_int_equal(info.layout, SC_LAYOUT_CHECKPOINT_MANAGER);
    assert_string_equal(sc_ckpt_layout_name(info.layout), "checkpoint_manager");
    assert_int_equal(info.step, 1234);
    assert_int_equal(info.step_source, SC_STEP_OPTIMIZER_ITERATIONS);
    assert_string_equal(info.step_key, "optimizer/_iterations" VV);
    assert_int_equal(info.save_counter, 3);
    assert_int_equal(info.file_number, 3);
    assert_int_equal(info.has_object_graph, 1);
    sc_bundle_free(b);
    sc_pb_buf_free(&g);
}

static void test_model_checkpoint(void **state) {
    const int64_t iter = 77;
    const spec s[] = {
        {"layer_with_weights-0/kernel" VV, SC_DT_FLOAT, 1, 4, KERNEL, sizeof KERNEL},
        {"layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m" VV, SC_DT_FLOAT, 1, 4, KERNEL,
         sizeof KERNEL},
        {"optimizer/iter" VV, SC_DT_INT64, 0, 0, &iter, 8},
    };
    sc_pb_buf g = tiny_graph();
    sc_bundle *b = make_bundle(*state, "ckpt-5", s, 3, &g);
    sc_ckpt_info info = describe_ok(b);
    assert_int_equal(info.layout, SC_LAYOUT_KERAS_WEIGHTS);
    assert_int_equal(info.step, 77);
    assert_int_equal(info.step_source, SC_STEP_OPTIMIZER_ITER);
    assert_string_equal(sc_step_source_name(info.step_source), "optimizer/iter");
    assert_int_equal(info.save_counter, -1);
    assert_int_equal(info.file_number, 5);
    sc_bundle_free(b);
    sc_pb_buf_free(&g);
}

/* Which step key wins, int32 steps, and the fallbacks. */
static void test_step_sources(void **state) {
    const int64_t a = 10, bb = 20, counter = 4, neg = -1;
    const int32_t i32 = 7;
    sc_pb_buf g = tiny_graph();

    const spec both[] = {
        {"optimizer/_iterations" VV, SC_DT_INT64, 0, 0, &bb, 8},
        {"optimizer/iter" VV, SC_DT_INT64, 0, 0, &a, 8},
        {"model/optimizer/iter" VV, SC_DT_INT64, 0, 0, &counter, 8},
    };
    sc_bundle *b = make_bundle(*state, "both-1", both, 3, &g);
    sc_ckpt_info info = describe_ok(b);
    assert_int_equal(info.step, 10);
    assert_int_equal(info.step_source, SC_STEP_OPTIMIZER_ITER);
    assert_int_equal(info.layout, SC_LAYOUT_CHECKPOINT_MANAGER);
    sc_bundle_free(b);

    const spec nested[] = {
        {"model/layer-0/x" VV, SC_DT_INT64, 0, 0, &a, 8},
        {"model/optimizer/_iterations" VV, SC_DT_INT32, 0, 0, &i32, 4},
    };
    b = make_bundle(*state, "nested", nested, 2, &g);
    info = describe_ok(b);
    assert_int_equal(info.step, 7);
    assert_int_equal(info.step_source, SC_STEP_OPTIMIZER_ITERATIONS);
    assert_string_equal(info.step_key, "model/optimizer/_iterations" VV);
    sc_bundle_free(b);

    /* SidecarEvaluator's placeholder value -1 is reported as read. */
    const spec placeholder[] = {{"optimizer/iter" VV, SC_DT_INT64, 0, 0, &neg, 8}};
    b = make_bundle(*state, "ph", placeholder, 1, &g);
    info = describe_ok(b);
    assert_int_equal(info.step, -1);
    assert_int_equal(info.step_source, SC_STEP_OPTIMIZER_ITER);
    sc_bundle_free(b);

    const spec counter_only[] = {
        {"model/dense/kernel" VV, SC_DT_FLOAT, 1, 4, KERNEL, sizeof KERNEL},
        {"save_counter" VV, SC_DT_INT64, 0, 0, &counter, 8},
    };
    b = make_bundle(*state, "ckpt-9", counter_only, 2, &g);
    info = describe_ok(b);
    assert_int_equal(info.step, 4); /* save_counter beats the file number */
    assert_int_equal(info.step_source, SC_STEP_SAVE_COUNTER);
    assert_string_equal(sc_step_source_name(info.step_source), "save_counter (fallback)");
    assert_int_equal(info.file_number, 9);
    sc_bundle_free(b);

    const spec weights_only[] = {{"layer-0/kernel" VV, SC_DT_FLOAT, 1, 4, KERNEL, sizeof KERNEL}};
    b = make_bundle(*state, "w-17", weights_only, 1, &g);
    info = describe_ok(b);
    assert_int_equal(info.layout, SC_LAYOUT_KERAS_WEIGHTS);
    assert_int_equal(info.step, 17);
    assert_int_equal(info.step_source, SC_STEP_FILE_NAME);
    assert_null(info.step_key);
    sc_bundle_free(b);

    b = make_bundle(*state, "weights", weights_only, 1, &g);
    info = describe_ok(b);
    assert_int_equal(info.step, -1);
    assert_int_equal(info.step_source, SC_STEP_NONE);
    assert_string_equal(sc_step_source_name(info.step_source), "none");
    sc_bundle_free(b);
    sc_pb_buf_free(&g);
}

static void test_other_layouts(void **state) {
    sc_pb_buf g = tiny_graph();
    const spec tf1[] = {{"dense/kernel", SC_DT_FLOAT, 1, 4, KERNEL, sizeof KERNEL},
                        {"global_step", SC_DT_INT64, 0, 0, &ONE, 8}};
    sc_bundle *b = make_bundle(*state, "model.ckpt-100", tf1, 2, NULL);
    sc_ckpt_info info = describe_ok(b);
    assert_int_equal(info.layout, SC_LAYOUT_NAME_BASED);
    assert_int_equal(info.has_object_graph, 0);
    assert_int_equal(info.step_source, SC_STEP_FILE_NAME);
    assert_int_equal(info.step, 100);
    sc_bundle_free(b);

    const spec subclassed[] = {{"dense1/kernel" VV, SC_DT_FLOAT, 1, 4, KERNEL, sizeof KERNEL}};
    b = make_bundle(*state, "sub", subclassed, 1, &g);
    info = describe_ok(b);
    assert_int_equal(info.layout, SC_LAYOUT_UNKNOWN);
    assert_int_equal(info.has_object_graph, 1);
    sc_bundle_free(b);

    /* A SavedModel is recognised by its path even with Keras keys. */
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/variables", (char *)*state);
    assert_int_equal(mkdir(sub, 0700), 0);
    const spec keras[] = {
        {"layer_with_weights-0/kernel" VV, SC_DT_FLOAT, 1, 4, KERNEL, sizeof KERNEL}};
    b = make_bundle(*state, "variables/variables", keras, 1, &g);
    info = describe_ok(b);
    assert_int_equal(info.layout, SC_LAYOUT_SAVED_MODEL);
    assert_string_equal(sc_ckpt_layout_name(info.layout), "saved_model");
    sc_bundle_free(b);
    /* ... but only as a whole path component. */
    snprintf(sub, sizeof sub, "%s/myvariables", (char *)*state);
    assert_int_equal(mkdir(sub, 0700), 0);
    b = make_bundle(*state, "myvariables/variables", keras, 1, &g);
    info = describe_ok(b);
    assert_int_equal(info.layout, SC_LAYOUT_KERAS_WEIGHTS);
    sc_bundle_free(b);
    sc_pb_buf_free(&g);

    assert_string_equal(sc_ckpt_layout_name(SC_LAYOUT_KERAS_WEIGHTS), "keras_weights");
    assert_string_equal(sc_ckpt_layout_name(SC_LAYOUT_NAME_BASED), "name_based");
    assert_string_equal(sc_ckpt_layout_name(SC_LAYOUT_UNKNOWN), "unknown");
    assert_string_equal(sc_ckpt_layout_name((sc_ckpt_layout)42), "unknown");
    assert_string_equal(sc_step_source_name(SC_STEP_OPTIMIZER_ITERATIONS), "optimizer/_iterations");
    assert_string_equal(sc_step_source_name(SC_STEP_FILE_NAME), "file name (fallback)");
    assert_string_equal(sc_step_source_name((sc_step_source)-3), "none");
}

static void test_errors(void **state) {
    char want[4400];
    sc_error err;
    sc_ckpt_info info;
    /* A corrupt object graph: a node whose length runs past the end. */
    sc_pb_buf bad = {0};
    const uint8_t junk[] = {0x0a, 0x09, 0x0a, 0x01};
    sc_pb_put_bytes(&bad, junk, sizeof junk);
    const spec s[] = {{"layer_with_weights-0/kernel" VV, SC_DT_FLOAT, 1, 4, KERNEL, sizeof KERNEL}};
    sc_bundle *b = make_bundle(*state, "corrupt-1", s, 1, &bad);
    assert_int_equal(sc_ckpt_describe(b, &info, &err), SC_DATA_LOSS);
    snprintf(want, sizeof want, "%s/corrupt-1: tensor '_CHECKPOINTABLE_OBJECT_GRAPH': node 0",
             (char *)*state);
    if (!strstr(err.message, want)) fail_msg("message '%s' lacks '%s'", err.message, want);
    sc_bundle_free(b);
    sc_pb_buf_free(&bad);

    /* A step that is not an integer scalar. */
    const float f = 3.0f;
    const spec fstep[] = {{"optimizer/iter" VV, SC_DT_FLOAT, 0, 0, &f, 4}};
    b = make_bundle(*state, "fstep", fstep, 1, NULL);
    assert_int_equal(sc_ckpt_describe(b, &info, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "tensor 'optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE': "
                                        "expected an int64 or int32 scalar, found float32"));
    sc_bundle_free(b);
    const int64_t two[2] = {1, 2};
    const spec vstep[] = {{"save_counter" VV, SC_DT_INT64, 1, 2, two, 16}};
    b = make_bundle(*state, "vstep", vstep, 1, NULL);
    assert_int_equal(sc_ckpt_describe(b, &info, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "rank 1 with 2 elements"));
    sc_bundle_free(b);
}

/* ---- real checkpoints ---------------------------------------------------------------------- */

static sc_status describe_fixture(const char *fx, const char *rel, sc_ckpt_info *info,
                                  sc_error *err) {
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/%s", fx, rel);
    sc_bundle *b = NULL;
    if (sc_bundle_open(prefix, &b, err) != SC_OK) fail_msg("%s", err->message);
    sc_status st = sc_ckpt_describe(b, info, err);
    /* step_key points into the bundle: compare it before freeing. */
    if (st == SC_OK && info->step_key) assert_string_equal(info->step_key, "optimizer/iter" VV);
    info->step_key = NULL;
    sc_bundle_free(b);
    return st;
}

static void test_fixtures(void **state) {
    (void)state;
    const char *fx = ckf_fixtures();
    if (!fx) skip();
    sc_ckpt_info info;
    sc_error err;

    /* 01: ModelCheckpoint(save_weights_only=True), legacy Adam: optimizer/iter = 2300. */
    assert_int_equal(
        describe_fixture(fx, "01_spd3_titanic_cp_ckpt/training_1/cp.ckpt", &info, &err), SC_OK);
    assert_int_equal(info.layout, SC_LAYOUT_KERAS_WEIGHTS);
    assert_int_equal(info.step, 2300);
    assert_int_equal(info.step_source, SC_STEP_OPTIMIZER_ITER);
    assert_int_equal(info.save_counter, -1);
    assert_int_equal(info.file_number, -1);
    assert_int_equal(info.has_object_graph, 1);

    /* 02 cp-0000.ckpt: weights saved before fit, no optimizer variables, no save_counter; the
     * number rule gives -1 for "cp-0000.ckpt" (what follows the last '-' is "0000.ckpt"), so no
     * step at all. */
    assert_int_equal(describe_fixture(fx,
                                      "02_nighthawks_tf_tutorial_cp_epoch/training_2/"
                                      "cp-0000.ckpt",
                                      &info, &err),
                     SC_OK);
    assert_int_equal(info.layout, SC_LAYOUT_KERAS_WEIGHTS);
    assert_int_equal(info.file_number, -1);
    assert_int_equal(info.step_source, SC_STEP_NONE);
    assert_int_equal(info.step, -1);
    assert_int_equal(info.has_object_graph, 1);

    /* 02 cp-0050.ckpt: index only; the graph lives in the absent data file. */
    assert_int_equal(describe_fixture(fx,
                                      "02_nighthawks_tf_tutorial_cp_epoch/training_2/"
                                      "cp-0050.ckpt",
                                      &info, &err),
                     SC_UNAVAILABLE);

    /* 06: two shards, the graph in shard 0. */
    assert_int_equal(describe_fixture(fx,
                                      "06_byeongjuncho_two_shard_cp_epoch/training_2/"
                                      "cp-0000.ckpt",
                                      &info, &err),
                     SC_OK);
    assert_int_equal(info.layout, SC_LAYOUT_KERAS_WEIGHTS);
    assert_int_equal(info.has_object_graph, 1);

    /* 05: SavedModels, TF2 (object graph, no step) and TF1 (name-based keys, no graph). */
    assert_int_equal(describe_fixture(fx,
                                      "05_tf_serving_testdata_savedmodels/"
                                      "saved_model_half_plus_two_tf2_cpu/00000123/variables/"
                                      "variables",
                                      &info, &err),
                     SC_OK);
    assert_int_equal(info.layout, SC_LAYOUT_SAVED_MODEL);
    assert_int_equal(info.step_source, SC_STEP_NONE);
    assert_int_equal(info.has_object_graph, 1);
    assert_int_equal(describe_fixture(fx,
                                      "05_tf_serving_testdata_savedmodels/"
                                      "saved_model_half_plus_two_cpu/00000123/variables/"
                                      "variables",
                                      &info, &err),
                     SC_OK);
    assert_int_equal(info.layout, SC_LAYOUT_SAVED_MODEL);
    assert_int_equal(info.has_object_graph, 0);

    /* 14: a Keras SavedModel after one Adam step. */
    assert_int_equal(describe_fixture(fx,
                                      "14_tf_rust_examples_keras_savedmodels/"
                                      "keras_single_input_saved_model/variables/variables",
                                      &info, &err),
                     SC_OK);
    assert_int_equal(info.layout, SC_LAYOUT_SAVED_MODEL);
    assert_int_equal(info.step, 1);
    assert_int_equal(info.step_source, SC_STEP_OPTIMIZER_ITER);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checkpoint_manager, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
