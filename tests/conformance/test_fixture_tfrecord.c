/* tests/conformance/test_fixture_tfrecord.c — real TFRecord files written by
 * tf.io.TFRecordWriter (shared/fixtures/08_titanic_tfrecord_examples), cross-checked record by
 * record against the CSV files they were made from, read with the project's CSV reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sidecar/data.h"
#include "unit/data_testutil.h"
#include "support/ckpt_fixture.h"

static char g_dir[1024];

static int fixture_dir(void) {
    const char *root = ckf_fixtures();
    if (!root) return 0;
    char *dir = ckf_fixture(root, "08_titanic_tfrecord_examples");
    snprintf(g_dir, sizeof g_dir, "%s", dir);
    free(dir);
    return 1;
}

static int64_t get_i64(const sc_example *ex, const char *name) {
    int64_t v = -12345;
    sc_error err;
    sc_status s = sc_example_get_int64s(ex, name, &v, 1, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    return v;
}

static float get_f32(const sc_example *ex, const char *name) {
    float v = -1;
    sc_error err;
    sc_status s = sc_example_get_floats(ex, name, &v, 1, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    return v;
}

/* Reads file.tfrecord and file.csv side by side. */
static void cross_check(const char *stem, size_t expected, int has_label, int64_t first_id,
                        size_t expected_missing_fares) {
    char path[1200], csv_path[1200];
    snprintf(path, sizeof path, "%s/%s.tfrecord", g_dir, stem);
    snprintf(csv_path, sizeof csv_path, "%s/%s.csv", g_dir, stem);
    static const char *const cols[] = {"PassengerId", "Pclass", "Fare"};
    sc_csv_params cp = sc_csv_default_params();
    cp.columns = cols;
    cp.num_columns = 3;
    cp.label_column = has_label ? "Survived" : NULL;
    cp.allow_empty = 1; /* test.csv has one passenger without a fare */
    sc_csv_reader *csv;
    sc_tfrecord_reader *r;
    sc_error err;
    assert_int_equal(sc_csv_reader_create(csv_path, &cp, &csv, &err), SC_OK);
    assert_int_equal(sc_tfrecord_reader_create(path, NULL, &r, &err), SC_OK);
    assert_int_equal(sc_tfrecord_reader_compression(r), SC_COMPRESSION_NONE);
    const uint8_t *p;
    size_t len, n = 0, missing_fares = 0;
    uint64_t bytes = 0;
    for (;;) {
        sc_status s = sc_tfrecord_reader_next(r, &p, &len, &err);
        if (s != SC_OK) fail_msg("%s", err.message);
        const double *row;
        double label = -1;
        sc_status cs = sc_csv_reader_next(csv, &row, &label, &err);
        if (cs != SC_OK) fail_msg("%s", err.message);
        if (!p) {
            assert_null(row); /* both end together */
            break;
        }
        assert_non_null(row);
        bytes += 16 + len;
        sc_example ex = {p, len, path, n};
        int64_t id = get_i64(&ex, "pass_id");
        if (n == 0) assert_int_equal(id, first_id);
        assert_int_equal(id, (int64_t)row[0]);
        assert_int_equal(get_i64(&ex, "pclass"), (int64_t)row[1]);
        float fare = get_f32(&ex, "fare");
        if (isnan(row[2]))
            missing_fares++;
        else
            assert_true(fare == (float)row[2]);
        sc_feature f;
        int found = -1;
        assert_int_equal(sc_example_find(&ex, "label", &f, &found, &err), SC_OK);
        assert_int_equal(found, has_label);
        if (has_label) assert_int_equal(get_i64(&ex, "label"), (int64_t)label);
        n++;
    }
    assert_int_equal(n, expected);
    assert_int_equal(missing_fares, expected_missing_fares);
    /* sum(16 + len) is the file size: nothing skipped, nothing left over. */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(bytes, (uint64_t)st.st_size);
    sc_csv_reader_free(csv);
    sc_tfrecord_reader_free(r);
}

static void test_train_record0(void **state) {
    (void)state;
    if (!fixture_dir()) skip();
    char path[1200];
    snprintf(path, sizeof path, "%s/train.tfrecord", g_dir);
    sc_tfrecord_reader *r;
    sc_error err;
    const uint8_t *p;
    size_t len;
    assert_int_equal(sc_tfrecord_reader_create(path, NULL, &r, &err), SC_OK);
    assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
    assert_int_equal(len, 199);
    sc_example ex = {p, len, path, 0};
    assert_int_equal(get_i64(&ex, "pass_id"), 1);
    assert_int_equal(get_i64(&ex, "label"), 0);
    assert_int_equal(get_i64(&ex, "pclass"), 3);
    assert_int_equal(get_i64(&ex, "sibsp"), 1);
    assert_int_equal(get_i64(&ex, "parch"), 0);
    assert_int_equal(get_i64(&ex, "ticket"), 21171);
    assert_true(get_f32(&ex, "fare") == 7.25f);
    assert_int_equal(get_i64(&ex, "embarked"), 1);
    assert_int_equal(get_i64(&ex, "gender"), 0);
    /* The first record lengths from the MANIFEST. */
    static const size_t lens[] = {199, 200, 199, 199};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
        assert_int_equal(len, lens[i]);
    }
    /* A missing feature names the file, the record and what is there. */
    float f;
    ex = (sc_example){p, len, path, 4};
    assert_int_equal(sc_example_get_floats(&ex, "age", &f, 1, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "train.tfrecord: record 4: no feature 'age'"));
    assert_non_null(strstr(err.message, "pass_id"));
    assert_non_null(strstr(err.message, "cabin_type"));
    sc_tfrecord_reader_free(r);
}

static void test_train_against_csv(void **state) {
    (void)state;
    if (!fixture_dir()) skip();
    cross_check("train", 891, 1, 1, 0);
}

static void test_test_against_csv(void **state) {
    (void)state;
    if (!fixture_dir()) skip();
    cross_check("test", 418, 0, 892, 1); /* PassengerId 1044 */
}

static void test_recompressed_copy(void **state) {
    (void)state;
    if (!fixture_dir()) skip();
    /* Our GZIP/ZLIB writers wrap the real records; reading back gives the same payloads. */
    char path[1200], copy[1200];
    snprintf(path, sizeof path, "%s/train.tfrecord", g_dir);
    char *dir = tu_mkdtemp();
    assert_non_null(dir);
    static const sc_compression modes[] = {SC_COMPRESSION_ZLIB, SC_COMPRESSION_GZIP};
    for (int m = 0; m < 2; m++) {
        tu_path(copy, sizeof copy, dir, "copy.tfrecord");
        sc_tfrecord_reader *r, *c;
        sc_tfrecord_writer *w;
        sc_error err;
        const uint8_t *p, *q;
        size_t len, qlen, n = 0;
        assert_int_equal(sc_tfrecord_reader_create(path, NULL, &r, &err), SC_OK);
        assert_int_equal(sc_tfrecord_writer_create(copy, modes[m], &w, &err), SC_OK);
        while (sc_tfrecord_reader_next(r, &p, &len, &err) == SC_OK && p)
            assert_int_equal(sc_tfrecord_writer_write(w, p, len, &err), SC_OK);
        assert_int_equal(sc_tfrecord_writer_close(w, &err), SC_OK);
        sc_tfrecord_writer_free(w);
        assert_int_equal(sc_tfrecord_reader_rewind(r, &err), SC_OK);
        assert_int_equal(sc_tfrecord_reader_create(copy, NULL, &c, &err), SC_OK);
        assert_int_equal(sc_tfrecord_reader_compression(c), modes[m]);
        for (;;) {
            assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
            assert_int_equal(sc_tfrecord_reader_next(c, &q, &qlen, &err), SC_OK);
            if (!p) break;
            assert_non_null(q);
            assert_int_equal(len, qlen);
            assert_memory_equal(p, q, len);
            n++;
        }
        assert_null(q);
        assert_int_equal(n, 891);
        sc_tfrecord_reader_free(r);
        sc_tfrecord_reader_free(c);
    }
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_record0),
        cmocka_unit_test(test_train_against_csv),
        cmocka_unit_test(test_test_against_csv),
        cmocka_unit_test(test_recompressed_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
