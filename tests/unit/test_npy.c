/* tests/unit/test_npy.c — .npy round trips for every dtype and header version, hand-written
 * headers as older NumPy versions wrote them, and .npz archives stored and deflated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <zip.h>

#include "data/npy.h"
#include "sidecar/data.h"
#include "unit/data_testutil.h"

static const sc_dtype DTYPES[] = {SC_DT_HALF,   SC_DT_FLOAT,  SC_DT_DOUBLE, SC_DT_INT8,
                                  SC_DT_INT16,  SC_DT_INT32,  SC_DT_INT64,  SC_DT_UINT8,
                                  SC_DT_UINT16, SC_DT_UINT32, SC_DT_UINT64, SC_DT_BOOL};
static const char *const DESCRS[] = {"<f2", "<f4", "<f8", "|i1", "<i2", "<i4",
                                     "<i8", "|u1", "<u2", "<u4", "<u8", "|b1"};

static void fill(uint8_t *buf, size_t n, uint64_t seed, int is_bool) {
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(tu_rand(&seed) >> 56);
    if (is_bool)
        for (size_t i = 0; i < n; i++) buf[i] &= 1;
}

static void test_all_dtypes_and_versions(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), path[600];
    assert_non_null(dir);
    tu_path(path, sizeof path, dir, "a.npy");
    const int64_t shape[3] = {2, 3, 5};
    uint8_t data[2 * 3 * 5 * 8];
    sc_error err;
    for (size_t d = 0; d < sizeof DTYPES / sizeof DTYPES[0]; d++) {
        size_t nbytes = 30 * sc_dtype_size(DTYPES[d]);
        fill(data, nbytes, d + 1, DTYPES[d] == SC_DT_BOOL);
        for (int version = 1; version <= 3; version++) {
            sc_npy_write_params wp = {version};
            assert_int_equal(sc_npy_save(path, DTYPES[d], 3, shape, data, nbytes, &wp, &err),
                             SC_OK);
            /* The header is exactly what NumPy writes. */
            size_t n;
            uint8_t *raw = tu_read(path, &n);
            assert_non_null(raw);
            size_t prefix = version == 1 ? 10 : 12;
            size_t hlen =
                version == 1
                    ? (size_t)(raw[8] | raw[9] << 8)
                    : (size_t)(raw[8] | raw[9] << 8 | raw[10] << 16 | (size_t)raw[11] << 24);
            assert_memory_equal(raw, "\x93NUMPY", 6);
            assert_int_equal(raw[6], version);
            assert_int_equal(raw[7], 0);
            assert_int_equal((prefix + hlen) % 64, 0);
            assert_int_equal(raw[prefix + hlen - 1], '\n');
            assert_int_equal(n, prefix + hlen + nbytes);
            char want[128];
            snprintf(want, sizeof want,
                     "{'descr': '%s', 'fortran_order': False, 'shape': (2, 3, 5), }", DESCRS[d]);
            assert_memory_equal(raw + prefix, want, strlen(want));
            free(raw);

            sc_array *a;
            assert_int_equal(sc_npy_load(path, &a, &err), SC_OK);
            const sc_array_info *info = sc_array_get_info(a);
            assert_int_equal(info->dtype, DTYPES[d]);
            assert_int_equal(info->rank, 3);
            assert_int_equal(info->shape[0], 2);
            assert_int_equal(info->shape[2], 5);
            assert_int_equal(info->num_elements, 30);
            assert_int_equal(info->nbytes, nbytes);
            assert_memory_equal(sc_array_data(a), data, nbytes);
            assert_int_equal((uintptr_t)sc_array_data(a) % info->elem_size, 0);
            assert_int_equal(sc_array_num_rows(a), 2);
            const void *row;
            size_t row_bytes;
            assert_int_equal(sc_array_row(a, 1, &row, &row_bytes, &err), SC_OK);
            assert_int_equal(row_bytes, nbytes / 2);
            assert_memory_equal(row, data + nbytes / 2, nbytes / 2);
            assert_int_equal(sc_array_row(a, 2, &row, &row_bytes, &err), SC_INVALID_ARGUMENT);
            sc_array_free(a);
        }
    }
    sc_array_free(NULL);
    tu_rmdir(dir);
}

/* Writes magic + version + header text (padded to align) + data. */
static void write_npy(const char *path, int version, const char *dict, size_t align,
                      const void *data, size_t nbytes) {
    size_t prefix = version == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (prefix + dl + 1 + align - 1) / align * align, hlen = total - prefix;
    uint8_t *buf = calloc(1, total + nbytes);
    assert_non_null(buf);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)version;
    for (size_t i = 0; i < prefix - 8; i++) buf[8 + i] = (uint8_t)(hlen >> (8 * i));
    memcpy(buf + prefix, dict, dl);
    memset(buf + prefix + dl, ' ', hlen - dl - 1);
    buf[total - 1] = '\n';
    if (nbytes) memcpy(buf + total, data, nbytes);
    assert_int_equal(tu_write(path, buf, total + nbytes), 0);
    free(buf);
}

static void test_header_variants(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), path[600];
    assert_non_null(dir);
    tu_path(path, sizeof path, dir, "v.npy");
    const double d[4] = {1.5, -2.25, 3e10, 0.0};
    sc_error err;
    sc_array *a;
    /* NumPy < 1.20 padded to 16 bytes; 2-byte alignment here leaves the data misaligned in the
     * file, and the reader must still hand out aligned doubles. */
    static const char *const dicts[] = {
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }",
        "{'shape': (2, 2), 'fortran_order': False, 'descr': '<f8'}",
        "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (4L,)}",
    };
    static const size_t aligns[] = {16, 2, 64};
    static const int ranks[] = {1, 2, 1};
    for (int i = 0; i < 3; i++) {
        write_npy(path, 1, dicts[i], aligns[i], d, sizeof d);
        assert_int_equal(sc_npy_load(path, &a, &err), SC_OK);
        const sc_array_info *info = sc_array_get_info(a);
        assert_int_equal(info->rank, ranks[i]);
        assert_int_equal(info->num_elements, 4);
        assert_int_equal((uintptr_t)sc_array_data(a) % 8, 0);
        assert_memory_equal(sc_array_data(a), d, sizeof d);
        sc_array_free(a);
    }
    /* Scalars and empty arrays. */
    write_npy(path, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 64, d, 8);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_OK);
    assert_int_equal(sc_array_get_info(a)->rank, 0);
    assert_int_equal(sc_array_get_info(a)->num_elements, 1);
    assert_int_equal(sc_array_num_rows(a), 1);
    sc_array_free(a);
    write_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1000000), }", 64,
              NULL, 0);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_OK);
    assert_int_equal(sc_array_get_info(a)->num_elements, 0);
    assert_int_equal(sc_array_num_rows(a), 0);
    sc_array_free(a);
    /* Fortran order is the same bytes for one dimension. */
    write_npy(path, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (4,), }", 64, d, sizeof d);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_OK);
    sc_array_free(a);
    tu_rmdir(dir);
}

static void test_unsupported(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), path[600];
    assert_non_null(dir);
    tu_path(path, sizeof path, dir, "weights.npy");
    const uint8_t d[16] = {0};
    sc_error err;
    sc_array *a = (sc_array *)1;
    write_npy(path, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", 64, d, 16);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_UNIMPLEMENTED);
    assert_null(a);
    assert_non_null(strstr(err.message, "weights.npy: array 'weights': big-endian dtype '>f4'"));
    write_npy(path, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 64, d, 16);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "weights.npy: array 'weights': Fortran-order"));
    write_npy(path, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 64, d, 16);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "dtype '<c8' is not supported"));
    write_npy(path, 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 64, d,
              8);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_UNIMPLEMENTED);
    /* A one-byte type may carry any order character. */
    write_npy(path, 1, "{'descr': '>u1', 'fortran_order': False, 'shape': (16,), }", 64, d, 16);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_OK);
    assert_int_equal(sc_array_get_info(a)->dtype, SC_DT_UINT8);
    sc_array_free(a);
    /* Writers refuse what the format cannot say. */
    const int64_t shape[1] = {1};
    assert_int_equal(sc_npy_save(path, SC_DT_STRING, 1, shape, d, 1, NULL, &err), SC_UNIMPLEMENTED);
    assert_int_equal(sc_npy_save(path, SC_DT_FLOAT, 1, shape, d, 8, NULL, &err),
                     SC_INVALID_ARGUMENT);
    tu_path(path, sizeof path, dir, "missing.npy");
    assert_int_equal(sc_npy_load(path, &a, &err), SC_NOT_FOUND);
    tu_rmdir(dir);
}

static void check_npz(const char *path, int compressed) {
    sc_error err;
    sc_npz *z;
    assert_int_equal(sc_npz_open(path, &z, &err), SC_OK);
    assert_int_equal(sc_npz_num_arrays(z), 2);
    assert_string_equal(sc_npz_array_name(z, 0), "x");
    assert_string_equal(sc_npz_array_name(z, 1), "y");
    assert_null(sc_npz_array_name(z, 2));
    sc_array *x, *y;
    assert_int_equal(sc_npz_load(z, "x", &x, &err), SC_OK);
    assert_int_equal(sc_npz_load(z, "y", &y, &err), SC_OK);
    const sc_array_info *xi = sc_array_get_info(x), *yi = sc_array_get_info(y);
    assert_int_equal(xi->dtype, SC_DT_FLOAT);
    assert_int_equal(xi->rank, 3);
    assert_int_equal(xi->shape[1], 28);
    assert_int_equal(yi->dtype, SC_DT_INT64);
    assert_int_equal(yi->shape[0], 100);
    const float *xv = sc_array_data(x);
    const int64_t *yv = sc_array_data(y);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(yv[i], i % 10);
        assert_true(xv[i * 784 + 5] == (float)i * 0.5f);
    }
    char src[700];
    snprintf(src, sizeof src, "%s:x", path);
    assert_string_equal(sc_array_source(x), src);
    sc_array_free(x);
    sc_array_free(y);
    assert_int_equal(sc_npz_load(z, "z", &x, &err), SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "no array 'z' (arrays present: x, y)"));
    sc_npz_free(z);
    /* The layout np.savez / np.savez_compressed use: members stored or deflated. */
    int code;
    zip_t *za = zip_open(path, ZIP_RDONLY, &code);
    assert_non_null(za);
    zip_stat_t st;
    assert_int_equal(zip_stat(za, "x.npy", 0, &st), 0);
    assert_int_equal(st.comp_method, compressed ? ZIP_CM_DEFLATE : ZIP_CM_STORE);
    if (compressed) assert_true(st.comp_size < st.size);
    zip_discard(za);
}

static void test_npz(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), path[600];
    assert_non_null(dir);
    float *x = calloc(100 * 784, sizeof *x);
    int64_t y[100];
    assert_non_null(x);
    for (int i = 0; i < 100; i++) {
        y[i] = i % 10;
        x[i * 784 + 5] = (float)i * 0.5f;
    }
    const int64_t xs[3] = {100, 28, 28}, ys[1] = {100};
    for (int compressed = 0; compressed < 2; compressed++) {
        tu_path(path, sizeof path, dir, compressed ? "c.npz" : "s.npz");
        sc_npz_writer *w;
        sc_error err;
        assert_int_equal(sc_npz_writer_create(path, compressed, &w, &err), SC_OK);
        assert_int_equal(sc_npz_writer_add(w, "x", SC_DT_FLOAT, 3, xs, x, 100 * 784 * 4, &err),
                         SC_OK);
        assert_int_equal(sc_npz_writer_add(w, "y", SC_DT_INT64, 1, ys, y, sizeof y, &err), SC_OK);
        assert_int_equal(sc_npz_writer_add(w, "y", SC_DT_INT64, 1, ys, y, sizeof y, &err),
                         SC_INVALID_ARGUMENT);
        assert_int_equal(sc_npz_writer_close(w, &err), SC_OK);
        sc_npz_writer_free(w);
        check_npz(path, compressed);
    }
    sc_npz_writer_free(NULL);
    sc_npz_free(NULL);
    free(x);
    tu_rmdir(dir);
}

/* What NumPy 1.24 writes for np.savez(f, x=np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5,
 * y=np.array([1, -2, 3])) and the same with np.savez_compressed: Python's zipfile with
 * force_zip64, so every local header carries a zip64 extra field. Generated with NumPy, not
 * taken from shared/fixtures. */
static const uint8_t NUMPY_SAVEZ[538] = {
    0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x0b, 0xc0,
    0xb0, 0x76, 0x98, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x78, 0x2e,
    0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76,
    0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27,
    0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72,
    0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65,
    0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20, 0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x00,
    0x00, 0x80, 0x3f, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x20, 0x40, 0x50,
    0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x74, 0xa8, 0xf3,
    0x30, 0x98, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x79, 0x2e, 0x6e,
    0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00,
    0x7b, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x69, 0x38, 0x27, 0x2c,
    0x20, 0x27, 0x66, 0x6f, 0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27,
    0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27,
    0x3a, 0x20, 0x28, 0x33, 0x2c, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfe, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x4b,
    0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x0b, 0xc0,
    0xb0, 0x76, 0x98, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x78, 0x2e, 0x6e, 0x70,
    0x79, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21,
    0x00, 0x74, 0xa8, 0xf3, 0x30, 0x98, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0xcf, 0x00, 0x00, 0x00, 0x79,
    0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x02, 0x00,
    0x66, 0x00, 0x00, 0x00, 0x9e, 0x01, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t NUMPY_SAVEZ_COMPRESSED[399] = {
    0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x0b, 0xc0,
    0xb0, 0x76, 0x57, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x78, 0x2e,
    0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x57,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50,
    0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93, 0x66, 0xa2,
    0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a,
    0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9, 0x1a,
    0x46, 0x3a, 0x0a, 0xc6, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e, 0x06, 0x08, 0xb0, 0x67,
    0x60, 0x68, 0x00, 0xe2, 0x03, 0x40, 0xcc, 0xe0, 0xc0, 0xc0, 0xa0, 0xe0, 0x00, 0x00, 0x50, 0x4b,
    0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x74, 0xa8, 0xf3, 0x30,
    0x4e, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x79, 0x2e, 0x6e, 0x70,
    0x79, 0x01, 0x00, 0x10, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4e, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50, 0xc6, 0x50,
    0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93, 0x69, 0xa1, 0xae, 0xa3,
    0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a, 0x12, 0x77,
    0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9, 0x1a, 0xc6, 0x3a,
    0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x14, 0x00, 0x2e, 0x46, 0x06, 0x08, 0xf8, 0xf7, 0x1f, 0x02, 0x98,
    0xa1, 0x7c, 0x00, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,
    0x00, 0x21, 0x00, 0x0b, 0xc0, 0xb0, 0x76, 0x57, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x05,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x78, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0x74, 0xa8, 0xf3, 0x30, 0x4e, 0x00, 0x00, 0x00, 0x98, 0x00,
    0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01,
    0x8e, 0x00, 0x00, 0x00, 0x79, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00,
    0x00, 0x02, 0x00, 0x02, 0x00, 0x66, 0x00, 0x00, 0x00, 0x13, 0x01, 0x00, 0x00, 0x00, 0x00,
};

static void test_numpy_written_npz(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), path[600];
    assert_non_null(dir);
    tu_path(path, sizeof path, dir, "np.npz");
    for (int compressed = 0; compressed < 2; compressed++) {
        if (compressed)
            assert_int_equal(tu_write(path, NUMPY_SAVEZ_COMPRESSED, sizeof NUMPY_SAVEZ_COMPRESSED),
                             0);
        else
            assert_int_equal(tu_write(path, NUMPY_SAVEZ, sizeof NUMPY_SAVEZ), 0);
        sc_npz *z;
        sc_array *x, *y;
        sc_error err;
        assert_int_equal(sc_npz_open(path, &z, &err), SC_OK);
        assert_int_equal(sc_npz_num_arrays(z), 2);
        assert_int_equal(sc_npz_load(z, "x", &x, &err), SC_OK);
        assert_int_equal(sc_npz_load(z, "y", &y, &err), SC_OK);
        const sc_array_info *xi = sc_array_get_info(x), *yi = sc_array_get_info(y);
        assert_int_equal(xi->dtype, SC_DT_FLOAT);
        assert_int_equal(xi->rank, 2);
        assert_int_equal(xi->shape[0], 2);
        assert_int_equal(xi->shape[1], 3);
        assert_int_equal(yi->dtype, SC_DT_INT64);
        assert_int_equal(yi->num_elements, 3);
        const float *xv = sc_array_data(x);
        for (int i = 0; i < 6; i++) assert_true(xv[i] == (float)i * 0.5f);
        const int64_t *yv = sc_array_data(y);
        assert_true(yv[0] == 1 && yv[1] == -2 && yv[2] == 3);
        sc_array_free(x);
        sc_array_free(y);
        sc_npz_free(z);
    }
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_dtypes_and_versions),
        cmocka_unit_test(test_header_variants),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_npz),
        cmocka_unit_test(test_numpy_written_npz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
