/* tests/corrupt/test_corrupt_data.c — damaged data files: every part of a TFRecord record
 * flipped, files cut at every byte, broken gzip/zlib streams, lying lengths, damaged NPY/NPZ
 * and CSV. Each case must give the right status and a message that locates the damage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <zlib.h>

#include "core/crc32c.h"
#include "core/record.h"
#include "sidecar/data.h"
#include "unit/data_testutil.h"

static char *g_dir;
static char g_path[600];
static const size_t SIZES[3] = {10, 20, 30}; /* record k starts at 0, 26, 62; file is 108 */
static const uint64_t STARTS[4] = {0, 26, 62, 108};

static int setup(void **state) {
    (void)state;
    g_dir = tu_mkdtemp();
    if (!g_dir) return -1;
    tu_path(g_path, sizeof g_path, g_dir, "d.tfrecord");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tu_rmdir(g_dir);
    return 0;
}

/* The three standard records, as a byte image of a plain file (108 bytes) or written with c. */
static void write_three(const char *path, sc_compression c) {
    sc_tfrecord_writer *w;
    sc_error err;
    uint8_t payload[30];
    assert_int_equal(sc_tfrecord_writer_create(path, c, &w, &err), SC_OK);
    for (int k = 0; k < 3; k++) {
        memset(payload, 'a' + k, sizeof payload);
        assert_int_equal(sc_tfrecord_writer_write(w, payload, SIZES[k], &err), SC_OK);
    }
    assert_int_equal(sc_tfrecord_writer_close(w, &err), SC_OK);
    sc_tfrecord_writer_free(w);
}

/* Reads all records; returns the status of the first failure (or SC_OK) and the count read. */
static sc_status read_all(const char *path, const sc_tfrecord_params *p, size_t *count,
                          sc_error *err) {
    sc_tfrecord_reader *r;
    sc_status s = sc_tfrecord_reader_create(path, p, &r, err);
    *count = 0;
    if (s != SC_OK) return s;
    const uint8_t *rec;
    size_t len;
    while ((s = sc_tfrecord_reader_next(r, &rec, &len, err)) == SC_OK && rec) ++*count;
    sc_tfrecord_reader_free(r);
    return s;
}

static void test_flipped_bytes(void **state) {
    (void)state;
    write_three(g_path, SC_COMPRESSION_NONE);
    size_t n = 0, count;
    uint8_t *orig = tu_read(g_path, &n);
    assert_non_null(orig);
    assert_int_equal(n, 108);
    sc_error err;
    char want[800];
    for (uint64_t off = STARTS[1]; off < STARTS[2]; off++) {
        orig[off] ^= 0x04;
        assert_int_equal(tu_write(g_path, orig, n), 0);
        orig[off] ^= 0x04;
        int in_header = off < STARTS[1] + 12; /* length or its CRC */
        assert_int_equal(read_all(g_path, NULL, &count, &err), SC_DATA_LOSS);
        assert_int_equal(count, 1); /* record 0 still came out */
        snprintf(want, sizeof want, "%s: record 1 at byte 26: %s CRC mismatch", g_path,
                 in_header ? "length" : "data");
        assert_string_equal(err.message, want);
        /* Without data CRC checks a damaged payload or footer goes through. */
        sc_tfrecord_params p = sc_tfrecord_default_params();
        p.verify_data_crc = 0;
        assert_int_equal(read_all(g_path, &p, &count, &err), in_header ? SC_DATA_LOSS : SC_OK);
    }
    free(orig);
}

static void test_truncated_everywhere(void **state) {
    (void)state;
    write_three(g_path, SC_COMPRESSION_NONE);
    size_t n = 0, count;
    uint8_t *orig = tu_read(g_path, &n);
    assert_non_null(orig);
    sc_error err;
    char want[800];
    for (uint64_t cut = 0; cut < n; cut++) {
        assert_int_equal(tu_write(g_path, orig, cut), 0);
        int k = 0;
        while (STARTS[k + 1] <= cut) k++; /* record k is the one cut (or starts at cut) */
        sc_status s = read_all(g_path, NULL, &count, &err);
        assert_int_equal(count, (size_t)k);
        if (cut == STARTS[k]) { /* a clean record boundary */
            assert_int_equal(s, SC_OK);
            continue;
        }
        assert_int_equal(s, SC_DATA_LOSS);
        uint64_t needs = cut < STARTS[k] + 12 ? STARTS[k] + 12 : STARTS[k + 1];
        snprintf(want, sizeof want,
                 "%s: record %d at byte %llu: truncated record (file ends at byte %llu, record "
                 "needs %llu)",
                 g_path, k, (unsigned long long)STARTS[k], (unsigned long long)cut,
                 (unsigned long long)needs);
        assert_string_equal(err.message, want);
    }
    free(orig);
}

/* zlib/gzip image of data[0..n) (windowBits 15 or 31); malloc'd. */
static uint8_t *zcompress(const uint8_t *data, size_t n, int bits, size_t *out_len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

/* A record header claiming `len` bytes, with a valid length CRC, followed by 16 bytes. */
static void lying_header(uint8_t buf[28], uint64_t len) {
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(len >> (8 * i));
    uint32_t m = sc_crc32c_mask(sc_crc32c(buf, 8));
    for (int i = 0; i < 4; i++) buf[8 + i] = (uint8_t)(m >> (8 * i));
    memset(buf + 12, 'z', 16);
}

static void test_giant_length(void **state) {
    (void)state;
    /* A length of 2^40 with a valid CRC must not be allocated: the file is 28 bytes. */
    uint8_t buf[28];
    uint64_t len;
    lying_header(buf, (uint64_t)1 << 40);
    assert_int_equal(sc_record_parse_header(buf, &len), 0);
    assert_int_equal(tu_write(g_path, buf, sizeof buf), 0);
    sc_error err;
    size_t count;
    char want[800];
    assert_int_equal(read_all(g_path, NULL, &count, &err), SC_DATA_LOSS);
    snprintf(want, sizeof want,
             "%s: record 0 at byte 0: truncated record (file ends at byte 28, record needs "
             "1099511627792)",
             g_path);
    assert_string_equal(err.message, want);

    /* Compressed, the file size bounds nothing: the record size cap refuses it. */
    size_t zn;
    uint8_t *z = zcompress(buf, sizeof buf, 31, &zn);
    assert_int_equal(tu_write(g_path, z, zn), 0);
    free(z);
    assert_int_equal(read_all(g_path, NULL, &count, &err), SC_UNIMPLEMENTED);
    snprintf(want, sizeof want,
             "%s: record 0 at byte 0 of the inflated stream: length 1099511627776 exceeds the "
             "maximum record size 1073741824",
             g_path);
    assert_string_equal(err.message, want);

    /* A plain record above the cap but inside the file is refused too. */
    sc_tfrecord_params p = sc_tfrecord_default_params();
    p.max_record_size = 1000;
    uint8_t big[12 + 2000 + 4];
    memset(big + 12, 'q', 2000);
    sc_record_frame(big, big + 12 + 2000, big + 12, 2000);
    assert_int_equal(tu_write(g_path, big, sizeof big), 0);
    assert_int_equal(read_all(g_path, &p, &count, &err), SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "length 2000 exceeds the maximum record size 1000"));
}

static void test_bad_compressed_streams(void **state) {
    (void)state;
    sc_error err;
    size_t n = 0, count;
    char want[800];
    for (int gzip = 0; gzip < 2; gzip++) {
        write_three(g_path, gzip ? SC_COMPRESSION_GZIP : SC_COMPRESSION_ZLIB);
        uint8_t *orig = tu_read(g_path, &n);
        assert_non_null(orig);
        assert_int_equal(read_all(g_path, NULL, &count, &err), SC_OK);
        assert_int_equal(count, 3);
        /* Damaged checksum trailer (gzip: CRC-32 then size; zlib: Adler-32). */
        size_t at = gzip ? n - 8 : n - 4;
        orig[at] ^= 0x10;
        assert_int_equal(tu_write(g_path, orig, n), 0);
        orig[at] ^= 0x10;
        assert_int_equal(read_all(g_path, NULL, &count, &err), SC_DATA_LOSS);
        snprintf(want, sizeof want, "%s: corrupt %s stream near compressed byte", g_path,
                 gzip ? "gzip" : "zlib");
        assert_non_null(strstr(err.message, want));
        assert_non_null(strstr(err.message, "incorrect data check"));
        /* Damaged header. */
        orig[gzip ? 3 : 1] ^= 0xe0;
        assert_int_equal(tu_write(g_path, orig, n), 0);
        orig[gzip ? 3 : 1] ^= 0xe0;
        sc_tfrecord_params p = sc_tfrecord_default_params();
        p.compression = gzip ? SC_COMPRESSION_GZIP : SC_COMPRESSION_ZLIB;
        assert_int_equal(read_all(g_path, &p, &count, &err), SC_DATA_LOSS);
        assert_int_equal(count, 0);
        /* Cut short at several points. */
        for (size_t cut = 1; cut < n; cut += (cut < 20 ? 1 : 7)) {
            assert_int_equal(tu_write(g_path, orig, cut), 0);
            assert_int_equal(read_all(g_path, &p, &count, &err), SC_DATA_LOSS);
            assert_true(count <= 3);
        }
        assert_int_equal(tu_write(g_path, orig, n - 1), 0);
        assert_int_equal(read_all(g_path, &p, &count, &err), SC_DATA_LOSS);
        snprintf(want, sizeof want, "%s: %s stream truncated (file ends at byte %zu", g_path,
                 gzip ? "gzip" : "zlib", n - 1);
        assert_non_null(strstr(err.message, want));
        /* Garbage after the stream is not another member. */
        uint8_t *more = malloc(n + 4);
        assert_non_null(more);
        memcpy(more, orig, n);
        memcpy(more + n, "junk", 4);
        assert_int_equal(tu_write(g_path, more, n + 4), 0);
        assert_int_equal(read_all(g_path, &p, &count, &err), SC_DATA_LOSS);
        assert_int_equal(count, 3);
        free(more);
        free(orig);
    }
    /* AUTO on bytes that are neither. */
    assert_int_equal(tu_write(g_path, "this is not a tfrecord file", 27), 0);
    assert_int_equal(read_all(g_path, NULL, &count, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "not a TFRecord file"));
    /* A plain file read as GZIP. */
    write_three(g_path, SC_COMPRESSION_NONE);
    sc_tfrecord_params p = sc_tfrecord_default_params();
    p.compression = SC_COMPRESSION_GZIP;
    assert_int_equal(read_all(g_path, &p, &count, &err), SC_DATA_LOSS);
}

static void test_damaged_example(void **state) {
    (void)state;
    /* A record whose payload is not an Example: the message names file and record. */
    sc_tfrecord_writer *w;
    sc_tfrecord_reader *r;
    sc_error err;
    const uint8_t bad[] = {0x0a, 0x7f, 0x0a}; /* features field claims 127 bytes */
    assert_int_equal(sc_tfrecord_writer_create(g_path, SC_COMPRESSION_NONE, &w, &err), SC_OK);
    assert_int_equal(sc_tfrecord_writer_write(w, "", 0, &err), SC_OK);
    assert_int_equal(sc_tfrecord_writer_write(w, bad, sizeof bad, &err), SC_OK);
    assert_int_equal(sc_tfrecord_writer_close(w, &err), SC_OK);
    sc_tfrecord_writer_free(w);
    assert_int_equal(sc_tfrecord_reader_create(g_path, NULL, &r, &err), SC_OK);
    const uint8_t *p;
    size_t len;
    assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
    assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
    sc_example ex = {p, len, g_path, sc_tfrecord_reader_index(r) - 1};
    float f;
    assert_int_equal(sc_example_get_floats(&ex, "x", &f, 1, &err), SC_DATA_LOSS);
    char want[800];
    snprintf(want, sizeof want, "%s: record 1: malformed tf.train.Example", g_path);
    assert_non_null(strstr(err.message, want));
    sc_tfrecord_reader_free(r);
}

static void write_npy(const char *path, const char *dict, const void *data, size_t nbytes) {
    size_t dl = strlen(dict), total = (10 + dl + 1 + 63) / 64 * 64, hlen = total - 10;
    uint8_t *buf = calloc(1, total + nbytes + 1);
    assert_non_null(buf);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)hlen;
    buf[9] = (uint8_t)(hlen >> 8);
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, ' ', hlen - dl - 1);
    buf[total - 1] = '\n';
    if (nbytes) memcpy(buf + total, data, nbytes);
    assert_int_equal(tu_write(path, buf, total + nbytes), 0);
    free(buf);
}

static void test_damaged_npy(void **state) {
    (void)state;
    char path[700], want[900];
    tu_path(path, sizeof path, g_dir, "x.npy");
    const float d[4] = {1, 2, 3, 4};
    sc_error err;
    sc_array *a;
    const char *f4_3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    write_npy(path, f4_3, d, 8);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_DATA_LOSS);
    snprintf(want, sizeof want,
             "%s: array 'x': truncated: 8 data bytes after the header, the shape and dtype need 12",
             path);
    assert_string_equal(err.message, want);
    write_npy(path, f4_3, d, 16);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "size mismatch: 16 data bytes after the header"));
    /* Cut at every byte: always DATA_LOSS, never a crash. */
    write_npy(path, f4_3, d, 12);
    size_t n = 0;
    uint8_t *orig = tu_read(path, &n);
    assert_non_null(orig);
    assert_int_equal(n, 128 + 12); /* 10 + 57-byte dict + newline, padded to 64 */
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(tu_write(path, orig, cut), 0);
        assert_int_equal(sc_npy_load(path, &a, &err), SC_DATA_LOSS);
    }
    orig[0] = 'X';
    assert_int_equal(tu_write(path, orig, n), 0);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "not an NPY file"));
    orig[0] = 0x93;
    orig[6] = 4;
    assert_int_equal(tu_write(path, orig, n), 0);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "NPY format version 4.0"));
    orig[6] = 1;
    orig[8] = 0xff; /* header length beyond the file */
    assert_int_equal(tu_write(path, orig, n), 0);
    assert_int_equal(sc_npy_load(path, &a, &err), SC_DATA_LOSS);
    free(orig);
    static const char *const bad[] = {
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3, }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}",
        "{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}",
        "['descr', '<f4']",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_npy(path, bad[i], d, 12);
        assert_int_equal(sc_npy_load(path, &a, &err), SC_DATA_LOSS);
        assert_non_null(strstr(err.message, "array 'x': malformed NPY header"));
    }
}

static void test_damaged_npz(void **state) {
    (void)state;
    char path[700];
    tu_path(path, sizeof path, g_dir, "d.npz");
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = (float)i + 0.25f;
    const int64_t shape[1] = {64};
    sc_npz_writer *w;
    sc_error err;
    assert_int_equal(sc_npz_writer_create(path, 0, &w, &err), SC_OK);
    assert_int_equal(sc_npz_writer_add(w, "x", SC_DT_FLOAT, 1, shape, x, sizeof x, &err), SC_OK);
    assert_int_equal(sc_npz_writer_close(w, &err), SC_OK);
    sc_npz_writer_free(w);
    size_t n = 0;
    uint8_t *orig = tu_read(path, &n);
    assert_non_null(orig);
    /* Find the stored data and damage one value: the zip CRC catches it. */
    size_t at = 0;
    while (at + sizeof x <= n && memcmp(orig + at, x, sizeof x) != 0) at++;
    assert_true(at + sizeof x <= n);
    if (at + 17 < n) orig[at + 17] ^= 1; /* always true after the assert; tells gcc -O2 too */
    assert_int_equal(tu_write(path, orig, n), 0);
    sc_npz *z;
    sc_array *a;
    assert_int_equal(sc_npz_open(path, &z, &err), SC_OK);
    assert_int_equal(sc_npz_load(z, "x", &a, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "d.npz: array 'x'"));
    sc_npz_free(z);
    /* Not a zip at all; a zip cut in half. */
    assert_int_equal(tu_write(path, "PK\x03\x04 not really", 16), 0);
    assert_int_equal(sc_npz_open(path, &z, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "d.npz: cannot open as an .npz (zip) archive"));
    assert_int_equal(tu_write(path, orig, n / 2), 0);
    assert_int_equal(sc_npz_open(path, &z, &err), SC_DATA_LOSS);
    free(orig);
}

static void test_bad_csv_cell(void **state) {
    (void)state;
    char path[700], want[900];
    tu_path(path, sizeof path, g_dir, "bad.csv");
    const char *text = "PassengerId,Fare\n1,7.25\n2,7,25\n3,\"8.o5\"\n";
    assert_int_equal(tu_write(path, text, strlen(text)), 0);
    sc_csv_reader *r;
    sc_error err;
    const double *v;
    assert_int_equal(sc_csv_reader_create(path, NULL, &r, &err), SC_OK);
    assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_OK);
    assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "line 3 has 3 fields, the header has 2"));
    assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_INVALID_ARGUMENT);
    snprintf(want, sizeof want, "%s: line 4, column 'Fare': expected a number, found '8.o5'", path);
    assert_string_equal(err.message, want);
    sc_csv_reader_free(r);
    /* Binary junk is not a table. */
    assert_int_equal(tu_write(path, "a,b\n1,\"2\0\"\n", 10), 0);
    assert_int_equal(sc_csv_reader_create(path, NULL, &r, &err), SC_OK);
    assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "line 2: NUL byte"));
    sc_csv_reader_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flipped_bytes),   cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_giant_length),    cmocka_unit_test(test_bad_compressed_streams),
        cmocka_unit_test(test_damaged_example), cmocka_unit_test(test_damaged_npy),
        cmocka_unit_test(test_damaged_npz),     cmocka_unit_test(test_bad_csv_cell),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
