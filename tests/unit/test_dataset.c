/* tests/unit/test_dataset.c — sc_dataset: batches equal the source rows for NPZ, TFRecord (glob
 * over plain/GZIP/ZLIB files, raw bytes features) and CSV; partial last batch, steps, rewind,
 * sample weights, several inputs, and identical batches with and without the reader thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>

#include "sidecar/tensor.h"
#include "unit/data_testutil.h"
#include "unit/dataset_testutil.h"
#include "support/ckpt_fixture.h"

static int setup(void **state) {
    *state = tu_mkdtemp();
    return *state ? 0 : -1;
}

static int teardown(void **state) {
    tu_rmdir(*state);
    return 0;
}

/* x: float64 (n, 2, 2) = xval(i, e); y: int64 (n,) = i % 7; w: float32 (n,) = wval(i). */
static void write_npz(const char *path, uint64_t n, const char *xname) {
    double *x = malloc(n * DT_X * sizeof *x);
    int64_t *y = malloc(n * sizeof *y);
    float *w = malloc(n * sizeof *w);
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(w);
    for (uint64_t i = 0; i < n; i++) {
        for (size_t e = 0; e < DT_X; e++) x[i * DT_X + e] = dt_xval(i, e);
        y[i] = (int64_t)(i % 7);
        w[i] = dt_wval(i);
    }
    sc_npz_writer *zw;
    int64_t xs[3] = {(int64_t)n, 2, 2}, ys[1] = {(int64_t)n};
    assert_int_equal(sc_npz_writer_create(path, 0, &zw, NULL), SC_OK);
    assert_int_equal(sc_npz_writer_add(zw, xname, SC_DT_DOUBLE, 3, xs, x, n * DT_X * 8, NULL),
                     SC_OK);
    assert_int_equal(sc_npz_writer_add(zw, "y", SC_DT_INT64, 1, ys, y, n * 8, NULL), SC_OK);
    assert_int_equal(sc_npz_writer_add(zw, "w", SC_DT_FLOAT, 1, ys, w, n * 4, NULL), SC_OK);
    assert_int_equal(sc_npz_writer_close(zw, NULL), SC_OK);
    sc_npz_writer_free(zw);
    free(x);
    free(y);
    free(w);
}

/* The pass must hold exactly examples [0, n) of the generator. */
static void check_rows(const float *xs, const float *ys, const float *ws, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        for (size_t e = 0; e < DT_X; e++) assert_true(xs[i * DT_X + e] == dt_xval(i, e));
        if (ys) assert_true(ys[i] == dt_yval(i));
        if (ws) assert_true(ws[i] == dt_wval(i));
    }
}

/* Reads one pass and checks it against the generator: n examples in ceil(n / bs) batches. */
static void expect_pass(sc_dataset *ds, size_t bs, uint64_t n, int weights) {
    float *xs = calloc(n * DT_X + 1, sizeof *xs), *ys = calloc(n + 1, 4), *ws = calloc(n + 1, 4);
    assert_non_null(xs);
    assert_non_null(ys);
    assert_non_null(ws);
    dt_pass r = dt_read_pass(ds, bs, DT_X, n, xs, ys, weights ? ws : NULL);
    assert_int_equal(r.status, SC_OK);
    assert_false(r.bad_invariant);
    assert_int_equal(r.examples, n);
    assert_int_equal(r.batches, (n + bs - 1) / bs);
    if (n % bs) assert_int_equal(r.last_n, n % bs);
    check_rows(xs, ys, weights ? ws : NULL, n);
    free(xs);
    free(ys);
    free(ws);
}

static void test_npz_batches(void **state) {
    char path[512];
    tu_path(path, sizeof path, *state, "eval.npz");
    write_npz(path, 10, "x");
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        sc_dataset_params p = sc_dataset_default_params();
        p.path = path;
        p.batch_size = 4;
        p.prefetch = prefetch;
        p.sample_weight = "w";
        sc_dataset *ds;
        sc_error err;
        assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
        assert_int_equal(sc_dataset_format(ds), SC_DATA_FORMAT_NPZ);
        assert_int_equal(sc_dataset_num_examples(ds), 10);
        const sc_dataset_shape *xs = sc_dataset_input_shape(ds, 0);
        assert_int_equal(xs->rank, 2);
        assert_int_equal(xs->dims[0], 2);
        assert_int_equal(xs->dims[1], 2);
        assert_int_equal(sc_dataset_label_shape(ds, 0)->rank, 0);
        expect_pass(ds, 4, 10, 1);
        assert_false(sc_dataset_ran_out(ds));
        /* The end is sticky; rewind replays the same batches. */
        sc_batch b;
        assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
        assert_int_equal(b.n, 0);
        assert_int_equal(sc_dataset_rewind(ds, &err), SC_OK);
        expect_pass(ds, 4, 10, 1);
        /* Rewind in the middle of a pass, with the reader holding a prefetched batch. */
        assert_int_equal(sc_dataset_rewind(ds, &err), SC_OK);
        assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
        assert_int_equal(b.n, 4);
        assert_int_equal(b.source_record, 0);
        assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
        assert_int_equal(b.source_record, 4);
        assert_string_equal(b.source, path);
        assert_int_equal(sc_dataset_rewind(ds, &err), SC_OK);
        expect_pass(ds, 4, 10, 1);
        sc_dataset_free(ds);
    }
}

static void test_steps(void **state) {
    char path[512];
    tu_path(path, sizeof path, *state, "eval.npz");
    write_npz(path, 10, "x"); /* batches of 4: 4, 4, 2 */
    const struct {
        uint64_t steps;
        size_t batches, examples;
        int ran_out;
    } cases[] = {{2, 2, 8, 0}, {3, 3, 10, 0}, {5, 3, 10, 1}, {0, 3, 10, 0}};
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            sc_dataset_params p = sc_dataset_default_params();
            p.path = path;
            p.batch_size = 4;
            p.steps = cases[c].steps;
            p.prefetch = prefetch;
            sc_dataset *ds;
            assert_int_equal(sc_dataset_open(&p, &ds, NULL), SC_OK);
            for (int pass = 0; pass < 2; pass++) {
                float xs[10 * DT_X], ys[10];
                dt_pass r = dt_read_pass(ds, 4, DT_X, 10, xs, ys, NULL);
                assert_int_equal(r.status, SC_OK);
                assert_false(r.bad_invariant);
                assert_int_equal(r.batches, cases[c].batches);
                assert_int_equal(r.examples, cases[c].examples);
                assert_int_equal(sc_dataset_ran_out(ds), cases[c].ran_out);
                check_rows(xs, ys, NULL, r.examples);
                assert_int_equal(sc_dataset_rewind(ds, NULL), SC_OK);
                assert_false(sc_dataset_ran_out(ds));
            }
            sc_dataset_free(ds);
        }
    }
}

static void test_npz_multi_input(void **state) {
    char path[512];
    tu_path(path, sizeof path, *state, "multi.npz");
    float img[3 * 2 * 2], meta[3], y[3] = {0, 1, 2};
    uint8_t mask[3 * 2] = {1, 0, 0, 1, 1, 1};
    for (int i = 0; i < 12; i++) img[i] = (float)i;
    for (int i = 0; i < 3; i++) meta[i] = 10.0f + (float)i;
    int64_t s_img[3] = {3, 2, 2}, s_meta[2] = {3, 1}, s_mask[2] = {3, 2}, s_y[1] = {3};
    sc_npz_writer *zw;
    assert_int_equal(sc_npz_writer_create(path, 1, &zw, NULL), SC_OK);
    assert_int_equal(sc_npz_writer_add(zw, "meta", SC_DT_FLOAT, 2, s_meta, meta, 12, NULL), SC_OK);
    assert_int_equal(sc_npz_writer_add(zw, "image", SC_DT_FLOAT, 3, s_img, img, 48, NULL), SC_OK);
    assert_int_equal(sc_npz_writer_add(zw, "mask", SC_DT_BOOL, 2, s_mask, mask, 6, NULL), SC_OK);
    assert_int_equal(sc_npz_writer_add(zw, "y", SC_DT_FLOAT, 1, s_y, y, 12, NULL), SC_OK);
    assert_int_equal(sc_npz_writer_close(zw, NULL), SC_OK);
    sc_npz_writer_free(zw);

    sc_dataset_params p = sc_dataset_default_params();
    p.path = path;
    p.batch_size = 2;
    p.num_inputs = 3;
    p.inputs[0].name = "image";
    p.inputs[0].shape = (sc_dataset_shape){2, {2, -1}}; /* a None dim comes from the data */
    p.inputs[1].name = "mask";
    p.inputs[2].name = "meta";
    p.outputs[0].shape = (sc_dataset_shape){1, {1}}; /* y (n,) against an (n, 1) output */
    sc_dataset *ds;
    sc_error err;
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
    assert_int_equal(sc_dataset_input_shape(ds, 0)->dims[1], 2);
    sc_batch b;
    assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.num_inputs, 3);
    for (int i = 0; i < 8; i++) assert_true(b.inputs[0][i] == (float)i);
    const float mask_f[4] = {1, 0, 0, 1};
    assert_memory_equal(b.inputs[1], mask_f, sizeof mask_f);
    assert_true(b.inputs[2][0] == 10.0f && b.inputs[2][1] == 11.0f);
    assert_true(b.labels[0][0] == 0.0f && b.labels[0][1] == 1.0f);
    assert_null(b.weights);
    assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
    assert_int_equal(b.n, 1);
    for (int i = 0; i < 4; i++) assert_true(b.inputs[0][i] == (float)(8 + i));
    assert_true(b.inputs[1][0] == 1.0f && b.inputs[1][1] == 1.0f);
    assert_true(b.inputs[2][0] == 12.0f && b.labels[0][0] == 2.0f);
    assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
    assert_int_equal(b.n, 0);
    sc_dataset_free(ds);

    /* Two outputs: labels by array name, each with its own shape. */
    p.num_inputs = 1;
    p.inputs[0].shape.rank = -1;
    p.inputs[0].name = "image";
    p.num_outputs = 2;
    p.outputs[0].label = "y";
    p.outputs[1].label = "mask";
    p.outputs[1].shape = (sc_dataset_shape){-1, {0}};
    p.batch_size = 3;
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
    assert_int_equal(sc_dataset_label_shape(ds, 1)->rank, 1);
    assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.num_outputs, 2);
    assert_true(b.labels[0][2] == 2.0f);
    for (int i = 0; i < 6; i++) assert_true(b.labels[1][i] == (float)mask[i]);
    sc_dataset_free(ds);

    /* A single input takes `x`, else the array named after the input. */
    p = sc_dataset_default_params();
    p.path = path;
    p.inputs[0].name = "meta";
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
    assert_int_equal(sc_dataset_input_shape(ds, 0)->rank, 1);
    sc_dataset_free(ds);
}

/* Three files, plain, GZIP and ZLIB, named so that sorted order is example order. */
static void write_three(const char *dir, uint64_t per_file[3]) {
    char path[512];
    const sc_compression comp[3] = {SC_COMPRESSION_NONE, SC_COMPRESSION_GZIP, SC_COMPRESSION_ZLIB};
    const char *names[3] = {"eval-00.tfrecord", "eval-01.tfrecord", "eval-02.tfrecord"};
    uint64_t first = 0;
    /* Written out of order, so that only sorting puts them right. */
    for (int k = 2; k >= 0; k--) {
        first = 0;
        for (int j = 0; j < k; j++) first += per_file[j];
        tu_path(path, sizeof path, dir, names[k]);
        assert_int_equal(dt_write_tfrecord(path, comp[k], first, per_file[k], UINT64_MAX), 0);
    }
}

static void test_tfrecord_glob(void **state) {
    uint64_t per_file[3] = {7, 0, 13}; /* an empty GZIP file in the middle */
    write_three(*state, per_file);
    char pattern[512], list[1600], a[512], b2[512], c[512];
    tu_path(pattern, sizeof pattern, *state, "eval-*.tfrecord");
    /* The comma-separated form, given out of order. */
    snprintf(list, sizeof list, "%s,%s,%s", tu_path(c, sizeof c, *state, "eval-02.tfrecord"),
             tu_path(a, sizeof a, *state, "eval-00.tfrecord"),
             tu_path(b2, sizeof b2, *state, "eval-01.tfrecord"));
    const char *paths[2] = {pattern, list};
    for (int k = 0; k < 2; k++) {
        for (int prefetch = 0; prefetch < 2; prefetch++) {
            sc_dataset_params p = sc_dataset_default_params();
            p.path = paths[k];
            p.batch_size = 6;
            p.sample_weight = "w";
            p.prefetch = prefetch;
            p.inputs[0].shape = (sc_dataset_shape){2, {2, -1}};
            sc_dataset *ds;
            sc_error err;
            assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
            assert_int_equal(sc_dataset_format(ds), SC_DATA_FORMAT_TFRECORD);
            assert_int_equal(sc_dataset_input_shape(ds, 0)->dims[1], 2);
            assert_int_equal(sc_dataset_num_examples(ds), -1);
            expect_pass(ds, 6, 20, 1);
            assert_int_equal(sc_dataset_num_examples(ds), 20);
            assert_int_equal(sc_dataset_rewind(ds, &err), SC_OK);
            sc_batch b;
            assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
            assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
            /* Batch 1 starts at example 6 of the first file. */
            assert_int_equal(b.source_record, 6);
            assert_string_equal(b.source, a);
            assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
            assert_int_equal(b.source_record, 5); /* example 12 = record 5 of eval-02 */
            assert_string_equal(b.source, c);
            assert_int_equal(sc_dataset_rewind(ds, &err), SC_OK);
            expect_pass(ds, 6, 20, 1);
            sc_dataset_free(ds);
        }
    }
}

static void test_tfrecord_bytes_feature(void **state) {
    char path[512];
    tu_path(path, sizeof path, *state, "raw.tfrecord");
    sc_tfrecord_writer *w;
    sc_pb_buf b = {0};
    assert_int_equal(sc_tfrecord_writer_create(path, SC_COMPRESSION_NONE, &w, NULL), SC_OK);
    for (int i = 0; i < 5; i++) {
        float img[6];
        uint8_t pix[3] = {(uint8_t)i, 128, 255};
        for (int e = 0; e < 6; e++) img[e] = (float)i - 0.5f * (float)e;
        int64_t label = i;
        b.len = 0;
        size_t features = sc_pb_begin_sub(&b, 1);
        dt_put_bytes(&b, "img", img, sizeof img); /* tf.io: tensor.numpy().tobytes() */
        dt_put_bytes(&b, "pix", pix, sizeof pix);
        dt_put_int64s(&b, "label", &label, 1);
        sc_pb_end_sub(&b, features);
        assert_false(b.failed);
        assert_int_equal(sc_tfrecord_writer_write(w, b.data, b.len, NULL), SC_OK);
    }
    assert_int_equal(sc_tfrecord_writer_close(w, NULL), SC_OK);
    sc_tfrecord_writer_free(w);
    sc_pb_buf_free(&b);

    sc_dataset_params p = sc_dataset_default_params();
    p.path = path;
    p.format = SC_DATA_FORMAT_TFRECORD;
    p.batch_size = 3;
    p.num_inputs = 2;
    p.inputs[0] = (sc_dataset_input){"image", {2, {2, 3}}, "img", SC_DT_FLOAT};
    p.inputs[1] = (sc_dataset_input){"pixels", {-1, {0}}, "pix", SC_DT_UINT8};
    p.outputs[0].label = "label";
    sc_dataset *ds;
    sc_error err;
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
    assert_int_equal(sc_dataset_input_shape(ds, 1)->rank, 1);
    assert_int_equal(sc_dataset_input_shape(ds, 1)->dims[0], 3);
    sc_batch bt;
    int seen = 0;
    while (sc_dataset_next(ds, &bt, &err) == SC_OK && bt.n) {
        for (size_t k = 0; k < bt.n; k++, seen++) {
            for (int e = 0; e < 6; e++)
                assert_true(bt.inputs[0][k * 6 + e] == (float)seen - 0.5f * (float)e);
            assert_true(bt.inputs[1][k * 3] == (float)seen);
            assert_true(bt.inputs[1][k * 3 + 1] == 128.0f && bt.inputs[1][k * 3 + 2] == 255.0f);
            assert_true(bt.labels[0][k] == (float)seen);
        }
    }
    assert_int_equal(err.status, SC_OK);
    assert_int_equal(seen, 5);
    sc_dataset_free(ds);
}

static void test_prefetch_identical(void **state) {
    char path[512];
    tu_path(path, sizeof path, *state, "big.tfrecord.gz");
    const uint64_t n = 3001;
    assert_int_equal(dt_write_tfrecord(path, SC_COMPRESSION_GZIP, 0, n, UINT64_MAX), 0);
    float *xs[2], *ys[2], *ws[2];
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        xs[prefetch] = malloc(n * DT_X * sizeof(float));
        ys[prefetch] = malloc(n * sizeof(float));
        ws[prefetch] = malloc(n * sizeof(float));
        sc_dataset_params p = sc_dataset_default_params();
        p.path = path;
        p.batch_size = 64;
        p.sample_weight = "w";
        p.prefetch = prefetch;
        sc_dataset *ds;
        assert_int_equal(sc_dataset_open(&p, &ds, NULL), SC_OK);
        for (int pass = 0; pass < 3; pass++) { /* also stresses rewind against the reader */
            dt_pass r = dt_read_pass(ds, 64, DT_X, n, xs[prefetch], ys[prefetch], ws[prefetch]);
            assert_int_equal(r.status, SC_OK);
            assert_int_equal(r.examples, n);
            assert_int_equal(r.batches, (n + 63) / 64);
            assert_int_equal(sc_dataset_rewind(ds, NULL), SC_OK);
        }
        sc_dataset_free(ds);
    }
    assert_memory_equal(xs[0], xs[1], n * DT_X * sizeof(float));
    assert_memory_equal(ys[0], ys[1], n * sizeof(float));
    assert_memory_equal(ws[0], ws[1], n * sizeof(float));
    check_rows(xs[1], ys[1], ws[1], n);
    for (int k = 0; k < 2; k++) {
        free(xs[k]);
        free(ys[k]);
        free(ws[k]);
    }
}

static void test_csv(void **state) {
    char path[512], text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "w,a,y,b,c,d\n");
    for (uint64_t i = 0; i < 9; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%g,%g,%g,%g,%g,%g\n", dt_wval(i),
                                dt_xval(i, 0), dt_yval(i), dt_xval(i, 1), dt_xval(i, 2),
                                dt_xval(i, 3));
    tu_path(path, sizeof path, *state, "eval.csv");
    assert_int_equal(tu_write(path, text, len), 0);
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        sc_dataset_params p = sc_dataset_default_params();
        p.path = path;
        p.batch_size = 4;
        p.sample_weight = "w";
        p.prefetch = prefetch;
        sc_dataset *ds;
        sc_error err;
        assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
        assert_int_equal(sc_dataset_format(ds), SC_DATA_FORMAT_CSV);
        assert_int_equal(sc_dataset_input_shape(ds, 0)->dims[0], 4); /* a, b, c, d */
        assert_int_equal(sc_dataset_num_examples(ds), -1);
        expect_pass(ds, 4, 9, 1);
        assert_int_equal(sc_dataset_num_examples(ds), 9);
        assert_int_equal(sc_dataset_rewind(ds, &err), SC_OK);
        expect_pass(ds, 4, 9, 1);
        sc_dataset_free(ds);
    }
    /* Explicit columns feeding two inputs, no weight: a,b -> in1 (2,), c,d -> in2 (1, 2). */
    const char *cols[4] = {"a", "b", "c", "d"};
    sc_dataset_params p = sc_dataset_default_params();
    p.path = path;
    p.csv_columns = cols;
    p.num_csv_columns = 4;
    p.num_inputs = 2;
    p.inputs[0] = (sc_dataset_input){"in1", {1, {2}}, NULL, SC_DT_INVALID};
    p.inputs[1] = (sc_dataset_input){"in2", {2, {1, 2}}, NULL, SC_DT_INVALID};
    sc_dataset *ds;
    sc_batch b;
    sc_error err;
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_OK);
    assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
    assert_int_equal(b.n, 9);
    assert_null(b.weights);
    for (uint64_t i = 0; i < 9; i++) {
        assert_true(b.inputs[0][2 * i] == dt_xval(i, 0) && b.inputs[0][2 * i + 1] == dt_xval(i, 1));
        assert_true(b.inputs[1][2 * i] == dt_xval(i, 2) && b.inputs[1][2 * i + 1] == dt_xval(i, 3));
        assert_true(b.labels[0][i] == dt_yval(i));
    }
    sc_dataset_free(ds);
}

/* Real data: the Titanic TFRecord written by tf.io.TFRecordWriter (map order varies between
 * records) against the CSV it was made from, row by row. */
static void test_fixture_titanic(void **state) {
    (void)state;
    const char *root = ckf_fixtures();
    if (!root) skip();
    char dir[512], tfr[600], csv[600];
    snprintf(dir, sizeof dir, "%s/08_titanic_tfrecord_examples", root);
    snprintf(tfr, sizeof tfr, "%s/train.tfrecord", dir);
    snprintf(csv, sizeof csv, "%s/train.csv", dir);
    const char *feats[5] = {"pass_id", "pclass", "sibsp", "parch", "fare"};
    const char *cols[5] = {"PassengerId", "Pclass", "SibSp", "Parch", "Fare"};
    sc_dataset_params pt = sc_dataset_default_params(), pc = sc_dataset_default_params();
    pt.path = tfr;
    pt.batch_size = pc.batch_size = 50;
    pt.num_inputs = 5;
    for (int i = 0; i < 5; i++)
        pt.inputs[i] = (sc_dataset_input){feats[i], {1, {1}}, NULL, SC_DT_INVALID};
    pt.outputs[0].label = "label";
    pc.path = csv;
    pc.csv_columns = cols;
    pc.num_csv_columns = 5;
    pc.outputs[0].label = "Survived";
    pc.prefetch = 0;
    sc_dataset *dt, *dc;
    sc_error err;
    assert_int_equal(sc_dataset_open(&pt, &dt, &err), SC_OK);
    assert_int_equal(sc_dataset_open(&pc, &dc, &err), SC_OK);
    sc_batch bt, bc;
    size_t total = 0, batches = 0;
    for (;;) {
        assert_int_equal(sc_dataset_next(dt, &bt, &err), SC_OK);
        assert_int_equal(sc_dataset_next(dc, &bc, &err), SC_OK);
        assert_int_equal(bt.n, bc.n);
        if (!bt.n) break;
        for (size_t k = 0; k < bt.n; k++) {
            for (int i = 0; i < 5; i++) assert_true(bt.inputs[i][k] == bc.inputs[0][k * 5 + i]);
            assert_true(bt.labels[0][k] == bc.labels[0][k]);
        }
        if (total == 0) /* record 0: pass_id 1, pclass 3, sibsp 1, parch 0, fare 7.25, label 0 */
            assert_true(bt.inputs[0][0] == 1 && bt.inputs[1][0] == 3 && bt.inputs[2][0] == 1
                        && bt.inputs[3][0] == 0 && bt.inputs[4][0] == 7.25f
                        && bt.labels[0][0] == 0);
        total += bt.n;
        batches++;
    }
    assert_int_equal(total, 891);
    assert_int_equal(batches, 18); /* 17 x 50 + 41 */
    assert_int_equal(sc_dataset_num_examples(dt), 891);
    assert_int_equal(sc_dataset_num_examples(dc), 891);
    sc_dataset_free(dt);
    sc_dataset_free(dc);
}

/* Inputs and labels in two .npy files (np.save(x), np.save(y)): the sibling rule and an
 * explicit labels file, with int64 labels converted. */
static void test_npy_pair(void **state) {
    char xp[512], yp[512], lp[512];
    float x[5 * 3];
    int64_t y[5], yy[5];
    for (int i = 0; i < 15; i++) x[i] = (float)i * 0.5f;
    for (int i = 0; i < 5; i++) y[i] = i % 2, yy[i] = 10 + i;
    int64_t xs[2] = {5, 3}, ys[1] = {5};
    assert_int_equal(sc_npy_save(tu_path(xp, sizeof xp, *state, "x_val.npy"), SC_DT_FLOAT, 2, xs, x,
                                 sizeof x, NULL, NULL),
                     SC_OK);
    assert_int_equal(sc_npy_save(tu_path(yp, sizeof yp, *state, "y_val.npy"), SC_DT_INT64, 1, ys, y,
                                 sizeof y, NULL, NULL),
                     SC_OK);
    assert_int_equal(sc_npy_save(tu_path(lp, sizeof lp, *state, "other.npy"), SC_DT_INT64, 1, ys,
                                 yy, sizeof yy, NULL, NULL),
                     SC_OK);
    for (int explicit_label = 0; explicit_label < 2; explicit_label++) {
        sc_dataset_params p = sc_dataset_default_params();
        p.path = xp;
        p.batch_size = 4;
        if (explicit_label) p.outputs[0].label = "other.npy";
        sc_dataset *ds;
        sc_error err;
        if (sc_dataset_open(&p, &ds, &err) != SC_OK) fail_msg("%s", err.message);
        assert_int_equal(sc_dataset_format(ds), SC_DATA_FORMAT_NPY);
        assert_int_equal(sc_dataset_num_examples(ds), 5);
        sc_batch b;
        size_t seen = 0;
        for (;;) {
            assert_int_equal(sc_dataset_next(ds, &b, &err), SC_OK);
            if (b.n == 0) break;
            for (size_t i = 0; i < b.n; i++) {
                assert_true(b.inputs[0][i * 3 + 2] == x[(seen + i) * 3 + 2]);
                assert_true(b.labels[0][i] == (float)(explicit_label ? yy : y)[seen + i]);
            }
            seen += b.n;
        }
        assert_int_equal(seen, 5);
        sc_dataset_free(ds);
    }
}

static void test_params(void **state) {
    sc_dataset_params p = sc_dataset_default_params();
    assert_int_equal(p.batch_size, 32);
    assert_int_equal(p.prefetch, 1);
    assert_int_equal(p.steps, 0);
    assert_int_equal(p.num_inputs, 1);
    assert_int_equal(p.inputs[0].shape.rank, -1);
    char path[512], shape[64];
    sc_dataset *ds = (sc_dataset *)&p; /* must be reset to NULL on failure */
    sc_error err;
    p.path = tu_path(path, sizeof path, *state, "x.npy");
    float v[2] = {1, 2};
    int64_t s[1] = {2};
    assert_int_equal(sc_npy_save(path, SC_DT_FLOAT, 1, s, v, sizeof v, NULL, NULL), SC_OK);
    /* x.npy without its y.npy: NOT_FOUND naming the labels file it looked for */
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_NOT_FOUND);
    assert_null(ds);
    assert_non_null(strstr(err.message, "y.npy"));
    p.batch_size = 0;
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_INVALID_ARGUMENT);
    p.batch_size = 1;
    p.path = tu_path(path, sizeof path, *state, "absent.npz");
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_NOT_FOUND);
    p.path = tu_path(path, sizeof path, *state, "none-*.tfrecord");
    assert_int_equal(sc_dataset_open(&p, &ds, &err), SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "none-*.tfrecord"));
    sc_dataset_shape sh = {3, {28, 28, 1}}, one = {1, {5}}, scalar = {0, {0}};
    assert_string_equal(sc_dataset_shape_str(&sh, shape, sizeof shape), "(28, 28, 1)");
    assert_string_equal(sc_dataset_shape_str(&one, shape, sizeof shape), "(5,)");
    assert_string_equal(sc_dataset_shape_str(&scalar, shape, sizeof shape), "()");
    sc_dataset_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_npy_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npz_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npz_multi_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tfrecord_glob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tfrecord_bytes_feature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefetch_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_params, setup, teardown),
        cmocka_unit_test(test_fixture_titanic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
