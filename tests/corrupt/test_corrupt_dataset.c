/* tests/corrupt/test_corrupt_dataset.c — sc_dataset on bad data: missing arrays / features /
 * columns (the message lists what is there), shape mismatches (both shapes named), a flipped
 * byte in the 1000th record and a truncated file (file and record named, raised at the batch
 * holding the record, with and without the reader thread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "unit/data_testutil.h"
#include "unit/dataset_testutil.h"

static int setup(void **state) {
    *state = tu_mkdtemp();
    return *state ? 0 : -1;
}

static int teardown(void **state) {
    tu_rmdir(*state);
    return 0;
}

#define assert_has(msg, s)                                                                         \
    do {                                                                                           \
        if (!strstr((msg), (s))) fail_msg("message '%s' lacks '%s'", (msg), (s));                  \
    } while (0)

static void write_npz(const char *path) {
    float x[6] = {0, 1, 2, 3, 4, 5}, y[3] = {0, 1, 0};
    int64_t xs[3] = {3, 1, 2}, ys[1] = {3};
    sc_npz_writer *w;
    assert_int_equal(sc_npz_writer_create(path, 0, &w, NULL), SC_OK);
    assert_int_equal(sc_npz_writer_add(w, "features", SC_DT_FLOAT, 3, xs, x, sizeof x, NULL),
                     SC_OK);
    assert_int_equal(sc_npz_writer_add(w, "y", SC_DT_FLOAT, 1, ys, y, sizeof y, NULL), SC_OK);
    int64_t s2[1] = {2};
    assert_int_equal(sc_npz_writer_add(w, "two", SC_DT_FLOAT, 1, s2, y, 8, NULL), SC_OK);
    assert_int_equal(sc_npz_writer_close(w, NULL), SC_OK);
    sc_npz_writer_free(w);
}

static void test_npz_missing_and_shapes(void **state) {
    char path[512];
    sc_error err;
    sc_dataset *ds;
    write_npz(tu_path(path, sizeof path, *state, "bad.npz"));
    sc_dataset_params p = sc_dataset_default_params();
    p.path = path;
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_null(ds);
    assert_has(err.message, path);
    assert_has(err.message, "no array 'x' for input");
    assert_has(err.message, "arrays present: features, y, two");
    p.inputs[0].name = "pixels";
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, "no array 'x' or 'pixels' for input layer 'pixels'");

    p.num_inputs = 2;
    p.inputs[0].name = "features";
    p.inputs[1].name = "extra";
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, "no array 'extra' for input layer 'extra'");

    p.num_inputs = 1;
    p.inputs[0].shape = (sc_dataset_shape){1, {2}};
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, path);
    assert_has(err.message, "input layer 'features'");
    assert_has(err.message, "(1, 2)");
    assert_has(err.message, "(2,)");

    p.inputs[0].shape.rank = -1;
    p.outputs[0].shape = (sc_dataset_shape){1, {3}}; /* y holds one value per example */
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, "label 'y'");

    p.outputs[0].shape.rank = -1;
    p.sample_weight = "two"; /* 2 rows against 3 */
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, "'two'");
    assert_has(err.message, "2 rows");
}

static void test_tfrecord_missing_and_shapes(void **state) {
    char path[512];
    sc_error err;
    sc_dataset *ds;
    tu_path(path, sizeof path, *state, "m.tfrecord");
    assert_int_equal(dt_write_tfrecord(path, SC_COMPRESSION_NONE, 0, 200, 130), 0);
    sc_dataset_params p = sc_dataset_default_params();
    p.path = path;
    p.batch_size = 64;
    p.inputs[0].name = "pixels"; /* feature "pixels" is absent from every record */
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, path);
    assert_has(err.message, "record 0: no feature 'pixels' for input layer 'pixels'");
    assert_has(err.message, "features present: x, y, w");

    p.inputs[0].feature = "x";
    p.inputs[0].shape = (sc_dataset_shape){2, {3, -1}};
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, "4 values do not fit the shape (3, None)");
    p.inputs[0].shape = (sc_dataset_shape){1, {5}};
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, "input layer 'pixels'");
    assert_has(err.message, "4 values per example");
    assert_has(err.message, "(5,)");

    /* Record 130 lacks x: batches 0 and 1 are fine, batch 2 (examples 128..191) fails. */
    p.inputs[0].shape.rank = -1;
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        p.prefetch = prefetch;
        assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
        for (int pass = 0; pass < 2; pass++) {
            dt_pass r = dt_read_pass(ds, 64, DT_X, 200, NULL, NULL, NULL);
            assert_int_equal(r.status, SC_INVALID_ARGUMENT);
            assert_int_equal(r.batches, 2);
            assert_has(r.err.message, path);
            assert_has(r.err.message, "record 130: no feature 'x' for input layer 'pixels'");
            assert_has(r.err.message, "features present: y, w");
            sc_batch b;
            assert_int_equal(sc_dataset_next(ds, &b, &err), SC_INVALID_ARGUMENT); /* sticky */
            assert_int_equal(b.n, 0);
            assert_int_equal(sc_dataset_rewind(ds, &err), SC_OK);
        }
        sc_dataset_free(ds);
    }
}

/* Record 70 holds 3 values of x instead of 4. */
static void test_tfrecord_value_count(void **state) {
    char path[512];
    tu_path(path, sizeof path, *state, "v.tfrecord");
    sc_tfrecord_writer *w;
    sc_pb_buf b = {0};
    assert_int_equal(sc_tfrecord_writer_create(path, SC_COMPRESSION_NONE, &w, NULL), SC_OK);
    for (uint64_t i = 0; i < 100; i++) {
        const float x[DT_X] = {1, 2, 3, 4};
        int64_t y = 1;
        b.len = 0;
        size_t features = sc_pb_begin_sub(&b, 1);
        dt_put_floats(&b, "x", x, i == 70 ? 3 : DT_X);
        dt_put_int64s(&b, "y", &y, 1);
        sc_pb_end_sub(&b, features);
        assert_int_equal(sc_tfrecord_writer_write(w, b.data, b.len, NULL), SC_OK);
    }
    assert_int_equal(sc_tfrecord_writer_close(w, NULL), SC_OK);
    sc_tfrecord_writer_free(w);
    sc_pb_buf_free(&b);
    sc_dataset_params p = sc_dataset_default_params();
    p.path = path;
    p.batch_size = 32;
    p.inputs[0].shape = (sc_dataset_shape){2, {2, 2}};
    sc_dataset *ds;
    sc_error err;
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
    dt_pass r = dt_read_pass(ds, 32, DT_X, 100, NULL, NULL, NULL);
    assert_int_equal(r.status, SC_INVALID_ARGUMENT);
    assert_int_equal(r.batches, 2);
    assert_has(r.err.message, "record 70: feature 'x' (input layer 'x') has 3 values, expected shape "
                              "(2, 2) (4 values)");
    sc_dataset_free(ds);
}

static void test_csv_missing_column(void **state) {
    char path[512];
    const char text[] = "a,b,label\n1,2,0\n3,4,1\n";
    tu_path(path, sizeof path, *state, "t.csv");
    assert_int_equal(tu_write(path, text, sizeof text - 1), 0);
    sc_dataset_params p = sc_dataset_default_params();
    p.path = path;
    sc_dataset *ds;
    sc_error err;
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, path);
    assert_has(err.message, "no column 'y' for the label (columns present: a, b, label)");
    p.outputs[0].label = "label";
    p.sample_weight = "weight";
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, "no column 'weight' for the sample weight");
    p.sample_weight = NULL;
    p.inputs[0].shape = (sc_dataset_shape){1, {3}};
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_has(err.message, "2 values per example");
    assert_has(err.message, "(3,)");
}

static uint64_t record_offset(const char *path, uint64_t index) {
    sc_tfrecord_reader *r;
    const uint8_t *payload;
    size_t len;
    assert_int_equal(sc_tfrecord_reader_create(path, NULL, &r, NULL), SC_OK);
    for (uint64_t i = 0; i < index; i++)
        assert_int_equal(sc_tfrecord_reader_next(r, &payload, &len, NULL), SC_OK);
    uint64_t off = sc_tfrecord_reader_offset(r);
    sc_tfrecord_reader_free(r);
    return off;
}

static void flip_byte(const char *path, uint64_t off) {
    size_t n = 0;
    uint8_t *data = tu_read(path, &n);
    assert_non_null(data);
    assert_true(off < n);
    data[off] ^= 0x40;
    assert_int_equal(tu_write(path, data, n), 0);
    free(data);
}

/* Reads passes over path and expects `good` full batches of 64, then `status` naming the file
 * and `what`; rewinding replays the same. */
static void expect_failure_at(const char *path, size_t good, sc_status status, const char *what) {
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        sc_dataset_params p = sc_dataset_default_params();
        p.path = path;
        p.batch_size = 64;
        p.prefetch = prefetch;
        sc_dataset *ds;
        sc_error err;
        assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
        for (int pass = 0; pass < 2; pass++) {
            float *xs = malloc(good * 64 * DT_X * sizeof *xs);
            assert_non_null(xs);
            dt_pass r = dt_read_pass(ds, 64, DT_X, good * 64, xs, NULL, NULL);
            assert_int_equal(r.status, status);
            assert_int_equal(r.batches, good);
            assert_false(r.bad_invariant);
            for (size_t i = 0; i < good * 64; i++) assert_true(xs[i * DT_X] == dt_xval(i, 0));
            assert_has(r.err.message, path);
            assert_has(r.err.message, what);
            free(xs);
            assert_int_equal(sc_dataset_rewind(ds, &err), SC_OK);
        }
        sc_dataset_free(ds);
    }
}

static void test_flipped_byte_record_1000(void **state) {
    char path[512];
    tu_path(path, sizeof path, *state, "flip.tfrecord");
    assert_int_equal(dt_write_tfrecord(path, SC_COMPRESSION_NONE, 0, 1500, UINT64_MAX), 0);
    /* In the payload: the data CRC fails. Record 999 is in batch 15 (examples 960..1023). */
    flip_byte(path, record_offset(path, 999) + 12 + 9);
    expect_failure_at(path, 15, SC_DATA_LOSS, "record 999");
    /* In the length: the length CRC fails. */
    assert_int_equal(dt_write_tfrecord(path, SC_COMPRESSION_NONE, 0, 1500, UINT64_MAX), 0);
    flip_byte(path, record_offset(path, 999) + 1);
    expect_failure_at(path, 15, SC_DATA_LOSS, "record 999");
}

static void test_truncated(void **state) {
    char path[512];
    tu_path(path, sizeof path, *state, "cut.tfrecord");
    assert_int_equal(dt_write_tfrecord(path, SC_COMPRESSION_NONE, 0, 300, UINT64_MAX), 0);
    uint64_t off = record_offset(path, 200);
    assert_int_equal(truncate(path, (off_t)off + 20), 0); /* record 200 cut inside its payload */
    expect_failure_at(path, 3, SC_DATA_LOSS, "record 200");
    assert_int_equal(truncate(path, (off_t)off + 5), 0); /* inside its length */
    expect_failure_at(path, 3, SC_DATA_LOSS, "record 200");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_npz_missing_and_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tfrecord_missing_and_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tfrecord_value_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_missing_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_record_1000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
