/* Sharded datasets (num_shards / shard_index, dataset.h): over every shard of a group, each
 * example is read exactly once; global batches are dealt round-robin with their one-process
 * indices; `steps` counts global batches; TFRecord with at least N files is split by file;
 * NPZ/NPY shards hold only their own batches' rows in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "data/npy.h"
#include "unit/data_testutil.h"
#include "unit/dataset_testutil.h"

#define N_EX 50

static int setup(void **state) {
    *state = tu_mkdtemp();
    return *state ? 0 : -1;
}
static int teardown(void **state) {
    tu_rmdir(*state);
    return 0;
}

/* Reads every shard of `path` split n ways; counts how often each example (x[0] = i * 0.5) is
 * seen. by_file: the TFRecord file split is expected (local batch indices). */
static void read_shards(const char *path, size_t n, size_t bs, uint64_t steps, int by_file,
                        int seen[N_EX]) {
    memset(seen, 0, N_EX * sizeof *seen);
    for (size_t k = 0; k < n; k++) {
        sc_dataset_params p = sc_dataset_default_params();
        p.path = path;
        p.batch_size = bs;
        p.steps = steps;
        p.num_shards = n;
        p.shard_index = k;
        p.inputs[0].shape.rank = 1;
        p.inputs[0].shape.dims[0] = DT_X;
        sc_dataset *ds = NULL;
        sc_error err;
        assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
        for (int pass = 0; pass < 2; pass++) { /* a rewind gives the same shard again */
            assert_int_equal(sc_dataset_rewind(ds, &err), SC_OK);
            sc_batch b;
            int64_t local = 0;
            while (sc_dataset_next(ds, &b, &err) == SC_OK && b.n > 0) {
                if (by_file)
                    assert_int_equal(b.index, local);
                else
                    assert_int_equal((size_t)b.index % n, k);
                local++;
                for (size_t e = 0; e < b.n; e++) {
                    float x = b.inputs[0][e * DT_X];
                    int i = (int)(x / 0.5f);
                    assert_true(i >= 0 && i < N_EX);
                    assert_float_equal(b.labels[0][e], (float)(i % 7), 0);
                    if (!by_file) /* the example sits where the one-process pass puts it */
                        assert_int_equal((size_t)i / bs, (size_t)b.index);
                    if (pass == 0) seen[i]++;
                }
            }
        }
        sc_dataset_free(ds);
    }
}

static void expect_first(const int seen[N_EX], int first) {
    for (int i = 0; i < N_EX; i++) assert_int_equal(seen[i], i < first ? 1 : 0);
}

static void test_tfrecord_by_index(void **state) {
    char path[600];
    tu_path(path, sizeof path, *state, "one.tfrecord");
    assert_int_equal(dt_write_tfrecord(path, SC_COMPRESSION_NONE, 0, N_EX, UINT64_MAX), 0);
    int seen[N_EX];
    for (size_t n = 1; n <= 4; n++) {
        read_shards(path, n, 4, 0, 0, seen);
        expect_first(seen, N_EX);
        read_shards(path, n, 4, 5, 0, seen); /* steps = 5 global batches: the first 20 */
        expect_first(seen, 20);
        read_shards(path, n, 7, 0, 0, seen); /* a partial last batch */
        expect_first(seen, N_EX);
    }
}

static void test_tfrecord_by_file(void **state) {
    char a[600], b[600], c[600], glob[600];
    tu_path(a, sizeof a, *state, "part-0.tfrecord");
    tu_path(b, sizeof b, *state, "part-1.tfrecord");
    tu_path(c, sizeof c, *state, "part-2.tfrecord");
    tu_path(glob, sizeof glob, *state, "part-*.tfrecord");
    assert_int_equal(dt_write_tfrecord(a, SC_COMPRESSION_NONE, 0, 17, UINT64_MAX), 0);
    assert_int_equal(dt_write_tfrecord(b, SC_COMPRESSION_NONE, 17, 17, UINT64_MAX), 0);
    assert_int_equal(dt_write_tfrecord(c, SC_COMPRESSION_NONE, 34, N_EX - 34, UINT64_MAX), 0);
    int seen[N_EX];
    read_shards(glob, 2, 4, 0, 1, seen); /* 3 files, 2 shards: by file */
    expect_first(seen, N_EX);
    read_shards(glob, 3, 4, 0, 1, seen);
    expect_first(seen, N_EX);
    read_shards(glob, 4, 4, 0, 0, seen); /* fewer files than shards: by index */
    expect_first(seen, N_EX);
    read_shards(glob, 2, 4, 6, 0, seen); /* steps: by index, the first 6 global batches */
    expect_first(seen, 24);
}

static void test_csv_by_rows(void **state) {
    char path[600], text[8192];
    size_t len = (size_t)snprintf(text, sizeof text, "a,b,c,d,y\n");
    for (int i = 0; i < N_EX; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%g,%g,%g,%g,%d\n",
                                dt_xval((uint64_t)i, 0), dt_xval((uint64_t)i, 1),
                                dt_xval((uint64_t)i, 2), dt_xval((uint64_t)i, 3), i % 7);
    tu_path(path, sizeof path, *state, "eval.csv");
    assert_int_equal(tu_write(path, text, len), 0);
    int seen[N_EX];
    for (size_t n = 1; n <= 3; n++) {
        read_shards(path, n, 5, 0, 0, seen);
        expect_first(seen, N_EX);
        read_shards(path, n, 5, 3, 0, seen);
        expect_first(seen, 15);
    }
}

/* x (N_EX x DT_X float32, x[i][0] = i * 0.5) and y (int64, i % 7). */
static void make_xy(float *x, int64_t *y) {
    for (int i = 0; i < N_EX; i++) {
        for (size_t e = 0; e < DT_X; e++) x[i * DT_X + e] = dt_xval((uint64_t)i, e);
        y[i] = i % 7;
    }
}

static void write_npz(const char *path, int compressed) {
    float x[N_EX * DT_X];
    int64_t y[N_EX], xs[2] = {N_EX, DT_X}, ys[1] = {N_EX};
    make_xy(x, y);
    sc_npz_writer *w = NULL;
    sc_error err;
    assert_int_equal(sc_npz_writer_create(path, compressed, &w, &err), SC_OK);
    assert_int_equal(sc_npz_writer_add(w, "x", SC_DT_FLOAT, 2, xs, x, sizeof x, &err), SC_OK);
    assert_int_equal(sc_npz_writer_add(w, "y", SC_DT_INT64, 1, ys, y, sizeof y, &err), SC_OK);
    assert_int_equal(sc_npz_writer_close(w, &err), SC_OK);
    sc_npz_writer_free(w);
}

/* Each shard of a stored and a deflated .npz holds exactly its batches' rows. */
static void test_npz_by_rows(void **state) {
    for (int compressed = 0; compressed <= 1; compressed++) {
        char path[600];
        tu_path(path, sizeof path, *state, compressed ? "z.npz" : "s.npz");
        write_npz(path, compressed);
        int seen[N_EX];
        for (size_t n = 1; n <= 4; n++) {
            read_shards(path, n, 4, 0, 0, seen);
            expect_first(seen, N_EX);
            read_shards(path, n, 7, 0, 0, seen); /* a partial last batch */
            expect_first(seen, N_EX);
            read_shards(path, n, 4, 5, 0, seen); /* steps = 5 global batches */
            expect_first(seen, 20);
        }
        /* Memory: shard k of 3 (batch 7: 8 batches, the last of 1 row) keeps only its rows. */
        const uint64_t want[3] = {7 + 7 + 7, 7 + 7 + 1, 7 + 7};
        for (uint64_t k = 0; k < 3; k++) {
            sc_npz *z = NULL;
            sc_array *a = NULL;
            sc_error err;
            uint64_t total = 0;
            sc_npy_rows sel = {7, 3, k, 0};
            assert_int_equal(sc_npz_open(path, &z, &err), SC_OK);
            assert_int_equal(sc_npz_load_rows(z, "x", &sel, &a, &total, &err), SC_OK);
            assert_int_equal(total, N_EX);
            assert_int_equal(sc_array_num_rows(a), want[k]);
            assert_int_equal(sc_npy_rows_kept(&sel, N_EX), want[k]);
            assert_int_equal(sc_array_get_info(a)->nbytes, want[k] * DT_X * sizeof(float));
            /* the first row held is global batch k's first */
            assert_float_equal(((const float *)sc_array_data(a))[0], dt_xval(k * 7, 0), 0);
            sc_array_free(a);
            sc_npz_free(z);
        }
    }
}

/* x.npy with its labels in y.npy beside it, by rows; a cut-off file is named. */
static void test_npy_by_rows(void **state) {
    float x[N_EX * DT_X];
    int64_t y[N_EX], xs[2] = {N_EX, DT_X}, ys[1] = {N_EX};
    make_xy(x, y);
    char px[600], py[600];
    sc_error err;
    tu_path(px, sizeof px, *state, "x.npy");
    tu_path(py, sizeof py, *state, "y.npy");
    assert_int_equal(sc_npy_save(px, SC_DT_FLOAT, 2, xs, x, sizeof x, NULL, &err), SC_OK);
    assert_int_equal(sc_npy_save(py, SC_DT_INT64, 1, ys, y, sizeof y, NULL, &err), SC_OK);
    int seen[N_EX];
    for (size_t n = 1; n <= 3; n++) {
        read_shards(px, n, 6, 0, 0, seen);
        expect_first(seen, N_EX);
        read_shards(px, n, 6, 4, 0, seen);
        expect_first(seen, 24);
    }
    sc_npy_rows sel = {6, 2, 1, 0};
    sc_array *a = NULL;
    uint64_t total = 0;
    assert_int_equal(sc_npy_load_rows(px, &sel, &a, &total, &err), SC_OK);
    assert_int_equal(sc_array_num_rows(a), 24); /* batches 1, 3, 5, 7 of 9 */
    sc_array_free(a);
    assert_int_equal(truncate(px, 200), 0);
    assert_int_equal(sc_npy_load_rows(px, &sel, &a, &total, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "truncated"));
}

static void test_bad_shard(void **state) {
    (void)state;
    sc_dataset_params p = sc_dataset_default_params();
    p.path = "unused.tfrecord";
    p.num_shards = 2;
    p.shard_index = 2;
    sc_dataset *ds = NULL;
    sc_error err;
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "shard 2 of 2"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tfrecord_by_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tfrecord_by_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_by_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npz_by_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npy_by_rows, setup, teardown),
        cmocka_unit_test(test_bad_shard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
