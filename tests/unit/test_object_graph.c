/* TrackableObjectGraph decoding (FORMATS §3.2): a graph built with the pb writer, malformed
 * and mutated bytes, and (when ../shared/fixtures exists) the graphs of real checkpoints. */
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

/* ---- building graphs ----------------------------------------------------------------------- */

static void put_child(sc_pb_buf *b, int64_t id, const char *name) {
    size_t m = sc_pb_begin_sub(b, 1);
    if (id) sc_pb_put_int(b, 1, id);
    sc_pb_put_str(b, 2, name);
    sc_pb_end_sub(b, m);
}

static void put_var(sc_pb_buf *b, const char *full_name, const char *key) {
    size_t m = sc_pb_begin_sub(b, 2);
    sc_pb_put_str(b, 1, "VARIABLE_VALUE");
    sc_pb_put_str(b, 2, full_name);
    sc_pb_put_str(b, 3, key);
    sc_pb_end_sub(b, m);
}

/* root -(layer_with_weights-0, layer-0)-> dense(1) -(kernel)-> 3
 * root -(optimizer)-> opt(2) -(iter)-> 4, slot (3, "m", 5); node 5 is the slot variable.
 * Unknown fields of every wire type are sprinkled in; they must be skipped. */
static sc_pb_buf build_graph(void) {
    sc_pb_buf b = {0};
    size_t n = sc_pb_begin_sub(&b, 1); /* node 0 */
    put_child(&b, 0, "root");          /* newer TF: a (0, 'root') self edge; id 0 is omitted */
    put_child(&b, 1, "layer_with_weights-0");
    put_child(&b, 1, "layer-0");
    put_child(&b, 2, "optimizer");
    sc_pb_put_uint(&b, 15, 7); /* unknown varint */
    sc_pb_put_key(&b, 16, SC_PB_I64);
    sc_pb_put_fixed64(&b, 0x1122334455667788u);
    sc_pb_end_sub(&b, n);

    n = sc_pb_begin_sub(&b, 1); /* node 1 */
    put_child(&b, 3, "kernel");
    sc_pb_end_sub(&b, n);

    n = sc_pb_begin_sub(&b, 1); /* node 2: the optimizer */
    put_child(&b, 4, "iter");
    size_t s = sc_pb_begin_sub(&b, 3);
    sc_pb_put_int(&b, 1, 3);
    sc_pb_put_str(&b, 2, "m");
    sc_pb_put_int(&b, 3, 5);
    sc_pb_end_sub(&b, s);
    sc_pb_end_sub(&b, n);

    n = sc_pb_begin_sub(&b, 1); /* node 3 */
    put_var(&b, "dense/kernel", "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE");
    size_t h = sc_pb_begin_sub(&b, 5); /* has_checkpoint_values { value: true } */
    sc_pb_put_uint(&b, 1, 1);
    sc_pb_end_sub(&b, h);
    sc_pb_end_sub(&b, n);

    n = sc_pb_begin_sub(&b, 1); /* node 4 */
    size_t a = sc_pb_begin_sub(&b, 2);
    sc_pb_put_str(&b, 1, "VARIABLE_VALUE");
    sc_pb_put_str(&b, 3, "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE");
    sc_pb_put_uint(&b, 4, 1); /* optional_restore */
    sc_pb_put_key(&b, 9, SC_PB_I32);
    sc_pb_put_fixed32(&b, 0xdeadbeef);
    sc_pb_end_sub(&b, a);
    size_t r = sc_pb_begin_sub(&b, 4); /* registered_saver */
    sc_pb_put_str(&b, 1, "tf.saver");
    sc_pb_put_str(&b, 2, "obj");
    sc_pb_end_sub(&b, r);
    sc_pb_end_sub(&b, n);

    n = sc_pb_begin_sub(&b, 1); /* node 5 */
    put_var(&b, "Adam/m",
            "layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/"
            "VARIABLE_VALUE");
    h = sc_pb_begin_sub(&b, 5); /* has_checkpoint_values {} : false */
    sc_pb_end_sub(&b, h);
    sc_pb_end_sub(&b, n);
    sc_pb_put_lenfield(&b, 2, "junk", 4); /* unknown top-level field */
    assert_false(b.failed);
    return b;
}

static void test_decode_built_graph(void **state) {
    (void)state;
    sc_pb_buf b = build_graph();
    sc_object_graph *g = NULL;
    sc_error err;
    assert_int_equal(sc_object_graph_parse(b.data, b.len, "built", &g, &err), SC_OK);
    assert_int_equal(sc_object_graph_num_nodes(g), 6);

    const sc_og_node *root = sc_object_graph_node(g, 0);
    assert_int_equal(root->num_children, 4);
    assert_int_equal(root->children[0].node_id, 0);
    assert_string_equal(root->children[0].local_name, "root");
    assert_int_equal(root->children[1].node_id, 1);
    assert_string_equal(root->children[1].local_name, "layer_with_weights-0");
    assert_int_equal(root->children[1].local_name_len, strlen("layer_with_weights-0"));
    assert_int_equal(root->children[3].node_id, 2);
    assert_int_equal(root->num_attributes, 0);
    assert_int_equal(root->has_checkpoint_values, -1);

    const sc_og_node *opt = sc_object_graph_node(g, 2);
    assert_int_equal(opt->num_slot_variables, 1);
    assert_int_equal(opt->slot_variables[0].original_variable_node_id, 3);
    assert_string_equal(opt->slot_variables[0].slot_name, "m");
    assert_int_equal(opt->slot_variables[0].slot_variable_node_id, 5);

    const sc_og_node *kernel = sc_object_graph_node(g, 3);
    assert_int_equal(kernel->num_attributes, 1);
    assert_string_equal(kernel->attributes[0].name, "VARIABLE_VALUE");
    assert_string_equal(kernel->attributes[0].full_name, "dense/kernel");
    assert_string_equal(kernel->attributes[0].checkpoint_key,
                        "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE");
    assert_int_equal(kernel->attributes[0].optional_restore, 0);
    assert_int_equal(kernel->has_checkpoint_values, 1);

    const sc_og_node *iter = sc_object_graph_node(g, 4);
    assert_string_equal(iter->attributes[0].full_name, ""); /* absent: "" */
    assert_int_equal(iter->attributes[0].optional_restore, 1);
    assert_string_equal(iter->registered_saver_name, "tf.saver");
    assert_int_equal(sc_object_graph_node(g, 5)->has_checkpoint_values, 0);

    assert_int_equal(sc_object_graph_lookup(g, ""), 0);
    assert_int_equal(sc_object_graph_lookup(g, "optimizer/iter"), 4);
    assert_int_equal(sc_object_graph_lookup(g, "layer-0/kernel"), 3);
    assert_int_equal(sc_object_graph_lookup(g, "root/root/optimizer"), 2);
    assert_int_equal(sc_object_graph_lookup(g, "optimizer/nope"), -1);
    assert_int_equal(sc_object_graph_lookup(g, "layer-"), -1); /* prefixes do not match */
    assert_int_equal(sc_object_graph_child(g, 1, "kernel"), 3);
    assert_int_equal(sc_object_graph_child(g, 1, "bias"), -1);
    sc_object_graph_free(g);
    sc_pb_buf_free(&b);
    sc_object_graph_free(NULL);
}

/* A local_name with an embedded NUL keeps its full length. */
static void test_embedded_nul(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    size_t n = sc_pb_begin_sub(&b, 1);
    size_t c = sc_pb_begin_sub(&b, 1);
    sc_pb_put_lenfield(&b, 2, "a\0b", 3);
    sc_pb_end_sub(&b, c);
    sc_pb_end_sub(&b, n);
    sc_object_graph *g = NULL;
    assert_int_equal(sc_object_graph_parse(b.data, b.len, NULL, &g, NULL), SC_OK);
    const sc_og_child *ch = &sc_object_graph_node(g, 0)->children[0];
    assert_int_equal(ch->local_name_len, 3);
    assert_memory_equal(ch->local_name, "a\0b", 4);
    assert_int_equal(sc_object_graph_child(g, 0, "a"), -1);
    sc_object_graph_free(g);
    sc_pb_buf_free(&b);
}

static void expect_bad(const sc_pb_buf *b, const char *needle) {
    sc_object_graph *g = (sc_object_graph *)1;
    sc_error err;
    assert_int_equal(sc_object_graph_parse(b->data, b->len, "bad.index", &g, &err), SC_DATA_LOSS);
    assert_null(g);
    if (!strstr(err.message, needle)) fail_msg("message '%s' lacks '%s'", err.message, needle);
}

static void test_malformed(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    expect_bad(&b, "bad.index: object graph has no nodes");

    /* child id beyond the node count, and a negative id (10-byte varint). */
    size_t n = sc_pb_begin_sub(&b, 1);
    put_child(&b, 1, "x");
    sc_pb_end_sub(&b, n);
    expect_bad(&b, "bad.index: node 0: child reference to a node id out of range");
    sc_pb_buf_free(&b);
    n = sc_pb_begin_sub(&b, 1);
    size_t s = sc_pb_begin_sub(&b, 3);
    sc_pb_put_int(&b, 3, -1);
    sc_pb_end_sub(&b, s);
    sc_pb_end_sub(&b, n);
    expect_bad(&b, "node 0: slot variable refers to a node id out of range");
    sc_pb_buf_free(&b);

    /* Known fields with the wrong wire type. */
    sc_pb_put_uint(&b, 1, 5);
    expect_bad(&b, "node 0: malformed or truncated node");
    sc_pb_buf_free(&b);
    n = sc_pb_begin_sub(&b, 1);
    sc_pb_put_uint(&b, 2, 1);
    sc_pb_end_sub(&b, n);
    expect_bad(&b, "node 0: field has the wrong wire type");
    sc_pb_buf_free(&b);

    /* A second node whose attribute length runs past its node. */
    n = sc_pb_begin_sub(&b, 1);
    sc_pb_end_sub(&b, n);
    n = sc_pb_begin_sub(&b, 1);
    const uint8_t attr[] = {0x12, 0x05, 0x0a, 0x01, 'x'};
    sc_pb_put_bytes(&b, attr, sizeof attr);
    sc_pb_end_sub(&b, n);
    expect_bad(&b, "bad.index: node 1: truncated field");
    sc_pb_buf_free(&b);

    /* A group (wire type 3) key. */
    const uint8_t group[] = {0x0a, 0x01, 0x0b};
    sc_pb_put_bytes(&b, group, sizeof group);
    expect_bad(&b, "node 0: malformed field key");
    sc_pb_buf_free(&b);
}

/* Every truncation and every single-byte change either decodes or is SC_DATA_LOSS (and, under
 * ASan, touches nothing it should not). */
static void test_mutations(void **state) {
    (void)state;
    sc_pb_buf b = build_graph();
    uint8_t *copy = malloc(b.len);
    assert_non_null(copy);
    size_t losses = 0;
    for (size_t cut = 0; cut < b.len; cut++) {
        sc_object_graph *g = NULL;
        sc_status st = sc_object_graph_parse(b.data, cut, "cut", &g, NULL);
        assert_true(st == SC_OK || st == SC_DATA_LOSS);
        losses += st == SC_DATA_LOSS;
        sc_object_graph_free(g);
    }
    assert_true(losses > b.len / 2); /* most cuts land inside a node */
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    for (size_t i = 0; i < b.len; i++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(copy, b.data, b.len);
            copy[i] = vals[v];
            sc_object_graph *g = NULL;
            sc_status st = sc_object_graph_parse(copy, b.len, "flip", &g, NULL);
            assert_true(st == SC_OK || st == SC_DATA_LOSS);
            if (st == SC_OK) {
                /* Ids handed out must index the node array. */
                size_t nn = sc_object_graph_num_nodes(g);
                for (size_t k = 0; k < nn; k++) {
                    const sc_og_node *nd = sc_object_graph_node(g, k);
                    for (size_t c = 0; c < nd->num_children; c++)
                        assert_true(nd->children[c].node_id >= 0
                                    && (size_t)nd->children[c].node_id < nn);
                }
            }
            sc_object_graph_free(g);
        }
    }
    free(copy);
    sc_pb_buf_free(&b);
}

/* ---- real graphs --------------------------------------------------------------------------- */

static sc_object_graph *read_fixture_graph(const char *fx, const char *rel) {
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/%s", fx, rel);
    sc_bundle *b = NULL;
    sc_error err;
    if (sc_bundle_open(prefix, &b, &err) != SC_OK) fail_msg("%s", err.message);
    sc_object_graph *g = NULL;
    if (sc_object_graph_read(b, &g, &err) != SC_OK) fail_msg("%s", err.message);
    sc_bundle_free(b);
    return g;
}

static void test_fixture_01(void **state) {
    (void)state;
    const char *fx = ckf_fixtures();
    if (!fx) skip();
    sc_object_graph *g = read_fixture_graph(fx, "01_spd3_titanic_cp_ckpt/training_1/cp.ckpt");
    assert_int_equal(sc_object_graph_num_nodes(g), 36);
    /* DECODED.txt: node 0 children (1,'layer-0') ... (6,'optimizer'). */
    const sc_og_node *root = sc_object_graph_node(g, 0);
    assert_int_equal(root->num_children, 10);
    assert_string_equal(root->children[0].local_name, "layer-0");
    assert_int_equal(root->children[0].node_id, 1);
    assert_string_equal(root->children[9].local_name, "optimizer");
    assert_int_equal(root->children[9].node_id, 6);
    /* node 6: 16 slots, the first (7,'m',20), the ninth (7,'v',28), the last (14,'v',35). */
    const sc_og_node *opt = sc_object_graph_node(g, 6);
    assert_int_equal(opt->num_children, 5);
    assert_string_equal(opt->children[0].local_name, "iter");
    assert_int_equal(opt->num_slot_variables, 16);
    assert_int_equal(opt->slot_variables[0].original_variable_node_id, 7);
    assert_string_equal(opt->slot_variables[0].slot_name, "m");
    assert_int_equal(opt->slot_variables[0].slot_variable_node_id, 20);
    assert_int_equal(opt->slot_variables[8].original_variable_node_id, 7);
    assert_string_equal(opt->slot_variables[8].slot_name, "v");
    assert_int_equal(opt->slot_variables[8].slot_variable_node_id, 28);
    assert_int_equal(opt->slot_variables[15].original_variable_node_id, 14);
    assert_int_equal(opt->slot_variables[15].slot_variable_node_id, 35);
    /* Walking edges reaches the key TF wrote. */
    int32_t it = sc_object_graph_lookup(g, "optimizer/iter");
    assert_int_equal(it, 15);
    assert_string_equal(sc_object_graph_node(g, (size_t)it)->attributes[0].checkpoint_key,
                        "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE");
    int32_t k = sc_object_graph_lookup(g, "layer_with_weights-3/bias");
    assert_int_equal(k, 14);
    assert_string_equal(sc_object_graph_node(g, (size_t)k)->attributes[0].checkpoint_key,
                        "layer_with_weights-3/bias/.ATTRIBUTES/VARIABLE_VALUE");
    sc_object_graph_free(g);
}

static void test_fixture_others(void **state) {
    (void)state;
    const char *fx = ckf_fixtures();
    if (!fx) skip();
    sc_object_graph *g = read_fixture_graph(
        fx, "05_tf_serving_testdata_savedmodels/saved_model_half_plus_two_tf2_cpu/00000123/"
            "variables/variables");
    assert_int_equal(sc_object_graph_num_nodes(g), 24);
    int32_t a = sc_object_graph_lookup(g, "a");
    assert_true(a > 0);
    assert_string_equal(sc_object_graph_node(g, (size_t)a)->attributes[0].checkpoint_key,
                        "a/.ATTRIBUTES/VARIABLE_VALUE");
    sc_object_graph_free(g);

    g = read_fixture_graph(fx, "14_tf_rust_examples_keras_savedmodels/"
                               "keras_single_input_saved_model/variables/variables");
    assert_int_equal(sc_object_graph_num_nodes(g), 76);
    assert_int_equal(sc_object_graph_lookup(g, "optimizer"), 4);
    sc_object_graph_free(g);

    /* 02 cp-0000: saved before fit; node 0 has a (0, 'root') self edge, the optimizer has no
     * children. Its graph lives in shard 0 of a complete checkpoint. */
    g = read_fixture_graph(fx, "02_nighthawks_tf_tutorial_cp_epoch/training_2/cp-0000.ckpt");
    assert_int_equal(sc_object_graph_child(g, 0, "root"), 0);
    int32_t opt = sc_object_graph_lookup(g, "optimizer");
    assert_true(opt > 0);
    assert_int_equal(sc_object_graph_node(g, (size_t)opt)->num_children, 0);
    sc_object_graph_free(g);

    /* A name-based (TF1) checkpoint has no graph. */
    char prefix[4096];
    snprintf(prefix, sizeof prefix,
             "%s/05_tf_serving_testdata_savedmodels/"
             "saved_model_half_plus_two_cpu/00000123/variables/variables",
             fx);
    sc_bundle *b = NULL;
    sc_error err;
    assert_int_equal(sc_bundle_open(prefix, &b, &err), SC_OK);
    g = (sc_object_graph *)1;
    assert_int_equal(sc_object_graph_read(b, &g, &err), SC_NOT_FOUND);
    assert_null(g);
    assert_non_null(strstr(err.message, "no _CHECKPOINTABLE_OBJECT_GRAPH entry"));
    sc_bundle_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_built_graph), cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_malformed),          cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_fixture_01),         cmocka_unit_test(test_fixture_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
