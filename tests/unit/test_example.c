/* tests/unit/test_example.c — tf.train.Example decoding: FORMATS §5 vectors, packed and
 * unpacked lists, merge rules, and the messages for missing / mistyped features. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/pb.h"
#include "sidecar/data.h"

/* FORMATS §5, byte for byte. */
static const uint8_t EX_LABEL[] = {0x0a, 0x10, 0x0a, 0x0e, 0x0a, 0x05, 'l',  'a',  'b',
                                   'e',  'l',  0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0x03};
static const uint8_t EX_X[] = {0x0a, 0x13, 0x0a, 0x11, 0x0a, 0x01, 'x',  0x12, 0x0c, 0x12, 0x0a,
                               0x0a, 0x08, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0x40};
static const uint8_t EX_S[] = {0x0a, 0x0d, 0x0a, 0x0b, 0x0a, 0x01, 's', 0x12,
                               0x06, 0x0a, 0x04, 0x0a, 0x02, 0x61, 0x62};
static const uint8_t EX_N[] = {0x0a, 0x15, 0x0a, 0x13, 0x0a, 0x01, 'n',  0x12,
                               0x0e, 0x1a, 0x0c, 0x0a, 0x0a, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};

static sc_example ex_of(const uint8_t *data, size_t size) {
    sc_example ex = {data, size, "mem.tfrecord", 7};
    return ex;
}

static void test_format_vectors(void **state) {
    (void)state;
    sc_error err;
    int64_t i64;
    float f[2];
    sc_bytes b;
    sc_example ex = ex_of(EX_LABEL, sizeof EX_LABEL);
    assert_int_equal(sc_example_get_int64s(&ex, "label", &i64, 1, &err), SC_OK);
    assert_int_equal(i64, 3);
    ex = ex_of(EX_X, sizeof EX_X);
    assert_int_equal(sc_example_get_floats(&ex, "x", f, 2, &err), SC_OK);
    assert_true(f[0] == 1.5f && f[1] == 2.0f);
    ex = ex_of(EX_S, sizeof EX_S);
    assert_int_equal(sc_example_get_bytes(&ex, "s", &b, 1, &err), SC_OK);
    assert_int_equal(b.size, 2);
    assert_memory_equal(b.data, "ab", 2);
    assert_ptr_equal(b.data, EX_S + 13); /* a view, not a copy */
    ex = ex_of(EX_N, sizeof EX_N);
    assert_int_equal(sc_example_get_int64s(&ex, "n", &i64, 1, &err), SC_OK);
    assert_int_equal(i64, -1);
}

/* Builds Examples with the project's protobuf writer: a feature is (name, kind, list bytes). */
typedef struct feat {
    const char *name;
    int kind;            /* Feature field: 1 bytes, 2 float, 3 int64; 0 = unset kind */
    const uint8_t *list; /* serialized list message */
    size_t list_len;
} feat;

static void put_example(sc_pb_buf *b, const feat *fs, size_t n) {
    size_t ex = sc_pb_begin_sub(b, 1);
    for (size_t i = 0; i < n; i++) {
        size_t entry = sc_pb_begin_sub(b, 1);
        sc_pb_put_str(b, 1, fs[i].name);
        size_t feature = sc_pb_begin_sub(b, 2);
        if (fs[i].kind) sc_pb_put_lenfield(b, (uint32_t)fs[i].kind, fs[i].list, fs[i].list_len);
        sc_pb_end_sub(b, feature);
        sc_pb_end_sub(b, entry);
    }
    sc_pb_end_sub(b, ex);
}

static void test_encoder_matches_vectors(void **state) {
    (void)state;
    /* The test encoder reproduces §5's bytes, so the Examples built below are well-formed. */
    const uint8_t label_list[] = {0x0a, 0x01, 0x03};
    feat f = {"label", 3, label_list, sizeof label_list};
    sc_pb_buf b = {0};
    put_example(&b, &f, 1);
    assert_false(b.failed);
    assert_int_equal(b.len, sizeof EX_LABEL);
    assert_memory_equal(b.data, EX_LABEL, sizeof EX_LABEL);
    sc_pb_buf_free(&b);
}

static void test_unpacked_and_chunks(void **state) {
    (void)state;
    /* float_list: unpacked 1.0, a packed chunk [2.0, 3.0], unpacked 4.0 */
    sc_pb_buf fl = {0};
    sc_pb_put_float(&fl, 1, 1.0f);
    const uint8_t chunk[] = {0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40};
    sc_pb_put_lenfield(&fl, 1, chunk, sizeof chunk);
    sc_pb_put_float(&fl, 1, 4.0f);
    /* int64_list: packed [5, -2], unpacked 300, packed [] */
    sc_pb_buf il = {0}, packed = {0};
    sc_pb_put_varint(&packed, 5);
    sc_pb_put_varint(&packed, (uint64_t)-2);
    sc_pb_put_lenfield(&il, 1, packed.data, packed.len);
    sc_pb_put_int(&il, 1, 300);
    sc_pb_put_lenfield(&il, 1, "", 0);
    sc_pb_put_uint(&il, 9, 77); /* an unknown field: skipped */
    /* bytes_list: three items, one empty */
    sc_pb_buf bl = {0};
    sc_pb_put_lenfield(&bl, 1, "one", 3);
    sc_pb_put_lenfield(&bl, 1, "", 0);
    sc_pb_put_lenfield(&bl, 1, "three", 5);
    feat fs[] = {{"f", 2, fl.data, fl.len},
                 {"i", 3, il.data, il.len},
                 {"b", 1, bl.data, bl.len},
                 {"unset", 0, NULL, 0}};
    sc_pb_buf b = {0};
    put_example(&b, fs, 4);
    assert_false(b.failed || fl.failed || il.failed || bl.failed);
    sc_example ex = ex_of(b.data, b.len);
    sc_error err;
    float f[4];
    assert_int_equal(sc_example_get_floats(&ex, "f", f, 4, &err), SC_OK);
    assert_true(f[0] == 1.0f && f[1] == 2.0f && f[2] == 3.0f && f[3] == 4.0f);
    int64_t i[3];
    assert_int_equal(sc_example_get_int64s(&ex, "i", i, 3, &err), SC_OK);
    assert_true(i[0] == 5 && i[1] == -2 && i[2] == 300);
    sc_bytes items[3];
    assert_int_equal(sc_example_get_bytes(&ex, "b", items, 3, &err), SC_OK);
    assert_int_equal(items[0].size, 3);
    assert_memory_equal(items[0].data, "one", 3);
    assert_int_equal(items[1].size, 0);
    assert_int_equal(items[2].size, 5);
    assert_memory_equal(items[2].data, "three", 5);

    /* An unset kind is an empty list of any type. */
    assert_int_equal(sc_example_get_floats(&ex, "unset", f, 0, &err), SC_OK);
    assert_int_equal(sc_example_get_floats(&ex, "unset", f, 1, &err), SC_INVALID_ARGUMENT);
    assert_string_equal(err.message,
                        "mem.tfrecord: record 7: feature 'unset' has 0 values, expected 1");

    /* Variable-length access with a cap below the count. */
    sc_feature feature;
    int found;
    size_t n;
    assert_int_equal(sc_example_find(&ex, "f", &feature, &found, &err), SC_OK);
    assert_true(found);
    assert_int_equal(feature.kind, SC_FEATURE_FLOAT);
    assert_int_equal(feature.count, 4);
    float two[2] = {0, 0};
    assert_int_equal(sc_feature_floats(&ex, &feature, two, 2, &n, &err), SC_OK);
    assert_int_equal(n, 2);
    assert_true(two[0] == 1.0f && two[1] == 2.0f);
    assert_int_equal(sc_feature_int64s(&ex, &feature, i, 3, &n, &err), SC_INVALID_ARGUMENT);
    assert_int_equal(sc_example_find(&ex, "nope", &feature, &found, &err), SC_OK);
    assert_false(found);
    sc_pb_buf_free(&b);
    sc_pb_buf_free(&fl);
    sc_pb_buf_free(&il);
    sc_pb_buf_free(&bl);
    sc_pb_buf_free(&packed);
}

static void test_merge_rules(void **state) {
    (void)state;
    const uint8_t one[] = {0x0a, 0x01, 0x01}, two[] = {0x0a, 0x01, 0x02};
    const uint8_t flt[] = {0x0a, 0x04, 0x00, 0x00, 0x80, 0x3f}; /* [1.0] */
    /* Duplicate key: the last entry wins. Several `features` fields: maps merge. */
    feat first[] = {{"k", 3, one, sizeof one}};
    feat second[] = {{"k", 3, two, sizeof two}, {"other", 2, flt, sizeof flt}};
    sc_pb_buf b = {0};
    put_example(&b, first, 1);
    put_example(&b, second, 2);
    sc_example ex = ex_of(b.data, b.len);
    sc_error err;
    int64_t v;
    assert_int_equal(sc_example_get_int64s(&ex, "k", &v, 1, &err), SC_OK);
    assert_int_equal(v, 2);
    float f;
    assert_int_equal(sc_example_get_floats(&ex, "other", &f, 1, &err), SC_OK);
    assert_true(f == 1.0f);
    sc_pb_buf_free(&b);

    /* One Feature with int64_list then float_list: the oneof keeps the last kind. Two
     * int64_list fields merge by appending. */
    sc_pb_buf feature = {0};
    sc_pb_put_lenfield(&feature, 3, one, sizeof one);
    sc_pb_put_lenfield(&feature, 3, two, sizeof two);
    sc_pb_buf e = {0};
    size_t exm = sc_pb_begin_sub(&e, 1), entry = sc_pb_begin_sub(&e, 1);
    sc_pb_put_str(&e, 1, "m");
    sc_pb_put_lenfield(&e, 2, feature.data, feature.len);
    sc_pb_end_sub(&e, entry);
    sc_pb_end_sub(&e, exm);
    ex = ex_of(e.data, e.len);
    int64_t pair[2];
    assert_int_equal(sc_example_get_int64s(&ex, "m", pair, 2, &err), SC_OK);
    assert_true(pair[0] == 1 && pair[1] == 2);
    sc_pb_put_lenfield(&feature, 2, flt, sizeof flt);
    sc_pb_buf_free(&e);
    e = (sc_pb_buf){0};
    exm = sc_pb_begin_sub(&e, 1);
    entry = sc_pb_begin_sub(&e, 1);
    sc_pb_put_str(&e, 1, "m");
    sc_pb_put_lenfield(&e, 2, feature.data, feature.len);
    sc_pb_end_sub(&e, entry);
    sc_pb_end_sub(&e, exm);
    ex = ex_of(e.data, e.len);
    assert_int_equal(sc_example_get_floats(&ex, "m", &f, 1, &err), SC_OK);
    assert_true(f == 1.0f);
    sc_pb_buf_free(&e);
    sc_pb_buf_free(&feature);
}

static int count_keys(const uint8_t *key, size_t len, void *user) {
    (void)key;
    (void)len;
    ++*(int *)user;
    return 0;
}

static void test_errors(void **state) {
    (void)state;
    sc_error err;
    float f[2];
    int64_t v;
    sc_example ex = ex_of(EX_LABEL, sizeof EX_LABEL);
    assert_int_equal(sc_example_get_floats(&ex, "label", f, 1, &err), SC_INVALID_ARGUMENT);
    assert_string_equal(
        err.message, "mem.tfrecord: record 7: feature 'label' is int64_list, expected float_list");
    assert_int_equal(sc_example_get_int64s(&ex, "label", &v, 2, &err), SC_INVALID_ARGUMENT);
    assert_string_equal(err.message,
                        "mem.tfrecord: record 7: feature 'label' has 1 values, expected 2");
    assert_int_equal(sc_example_get_int64s(&ex, "pass_id", &v, 1, &err), SC_INVALID_ARGUMENT);
    assert_string_equal(err.message,
                        "mem.tfrecord: record 7: no feature 'pass_id' (features present: label)");

    /* Every prefix of a valid Example is malformed (DATA_LOSS) or, when empty, has no features. */
    for (size_t cut = 0; cut < sizeof EX_X; cut++) {
        ex = ex_of(cut ? EX_X : NULL, cut);
        sc_status s = sc_example_get_floats(&ex, "x", f, 2, &err);
        assert_int_equal(s, cut == 0 ? SC_INVALID_ARGUMENT : SC_DATA_LOSS);
        if (cut)
            assert_non_null(strstr(err.message, "malformed tf.train.Example"));
        else
            assert_non_null(strstr(err.message, "(features present: none)"));
    }
    /* A packed float chunk whose length is not a multiple of 4. */
    uint8_t bad[sizeof EX_X];
    memcpy(bad, EX_X, sizeof bad);
    bad[12] = 0x07; /* FloatList chunk length 8 -> 7 */
    ex = ex_of(bad, sizeof bad);
    assert_int_equal(sc_example_get_floats(&ex, "x", f, 2, &err), SC_DATA_LOSS);
    /* A wrong wire type for the features field. */
    const uint8_t wrong[] = {0x08, 0x01};
    ex = ex_of(wrong, sizeof wrong);
    int n = 0;
    assert_int_equal(sc_example_foreach_key(&ex, count_keys, &n, &err), SC_DATA_LOSS);
    ex = ex_of(EX_LABEL, sizeof EX_LABEL);
    assert_int_equal(sc_example_foreach_key(&ex, count_keys, &n, &err), SC_OK);
    assert_int_equal(n, 1);
    ex.file = NULL;
    assert_int_equal(sc_example_get_floats(&ex, "nope", f, 1, &err), SC_INVALID_ARGUMENT);
    assert_string_equal(err.message,
                        "example: record 7: no feature 'nope' (features present: label)");
    assert_string_equal(sc_feature_kind_name(SC_FEATURE_BYTES), "bytes_list");
}

static void test_long_key_list(void **state) {
    (void)state;
    /* Many features: the "features present" list is cut with "..." and stays in bounds. */
    const uint8_t one[] = {0x0a, 0x01, 0x01};
    feat fs[60];
    char names[60][16];
    for (int i = 0; i < 60; i++) {
        snprintf(names[i], sizeof names[i], "feature_%02d", i);
        fs[i] = (feat){names[i], 3, one, sizeof one};
    }
    sc_pb_buf b = {0};
    put_example(&b, fs, 60);
    sc_example ex = ex_of(b.data, b.len);
    sc_error err;
    float f;
    assert_int_equal(sc_example_get_floats(&ex, "missing", &f, 1, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "feature_00, feature_01"));
    assert_non_null(strstr(err.message, ", ...)"));
    assert_null(strstr(err.message, "feature_59"));
    sc_pb_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_vectors),
        cmocka_unit_test(test_encoder_matches_vectors),
        cmocka_unit_test(test_unpacked_and_chunks),
        cmocka_unit_test(test_merge_rules),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_long_key_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
